"""The HTML page: valid structure (unique ids, every internal link resolves), the summary's numbers equal
results.json, and failed or not-computed answers are visible and counted."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote

import pytest

from reportgen import filters

QUESTION_IDS = [f"{chapter}.Q{n}" for chapter in (1, 2) for n in range(1, 12)]


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    classes: set[str]
    ancestors: list[Element]
    text: list[str] = field(default_factory=list)

    def inside(self, tag: str, cls: str | None = None) -> Element | None:
        """The nearest enclosing element with this tag (and class)."""
        return next((a for a in reversed(self.ancestors) if a.tag == tag and (cls is None or cls in a.classes)), None)


class Page(HTMLParser):
    """Every element with its attributes and text (text also counts for each open ancestor)."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        element = Element(tag, values, set(values.get("class", "").split()), list(self._open))
        self.elements.append(element)
        if tag not in self.VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i].tag == tag:
                del self._open[i:]
                return

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text.append(data)

    def find(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[Element]:
        return [e for e in self.elements if (tag is None or e.tag == tag) and (cls is None or cls in e.classes)
                and all(e.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())]


def text(element: Element) -> str:
    return " ".join("".join(element.text).split())


@pytest.fixture(scope="module")
def page(built_report) -> Page:
    return Page(built_report.html.read_text(encoding="utf-8"))


def test_every_id_is_unique(page) -> None:
    ids = [e.attrs["id"] for e in page.elements if "id" in e.attrs]
    assert len(ids) > 50
    assert sorted(i for i in set(ids) if ids.count(i) > 1) == []


def test_every_internal_link_resolves(page) -> None:
    ids = {e.attrs["id"] for e in page.elements if "id" in e.attrs}
    links = [e.attrs["href"] for e in page.find("a") if e.attrs.get("href", "").startswith("#")]
    assert len(links) > 50
    assert sorted({h for h in links if unquote(h[1:]) not in ids}) == []


def test_every_image_and_local_link_exists(built_report, page) -> None:
    for e in page.find("img"):
        src = e.attrs["src"]
        assert src.startswith("data:image/") or (built_report.build / unquote(src)).is_file(), src
    for e in page.find("a"):
        href = e.attrs.get("href", "")
        if href and not href.startswith(("#", "data:", "http:", "https:", "mailto:")):
            assert (built_report.build / unquote(href)).is_file(), href


def test_questions_in_order_each_with_number_label_and_anchor(page) -> None:
    titles = page.find("h4", "question-title")
    assert [text(t).split(" ")[0] for t in titles] == QUESTION_IDS
    assert [t.inside("section", "question").attrs["id"] for t in titles] == \
        ["q" + q.replace(".", "-").lower() for q in QUESTION_IDS]
    labels = {text(e) for t in titles for e in page.find("span", "qlabel") if t in e.ancestors}
    assert labels == {"★", "Bonus"}


def _same(shown: Any, expected: Any) -> bool:
    if isinstance(expected, float) or isinstance(shown, float):
        return expected is not None and shown is not None and math.isclose(shown, expected, rel_tol=1e-12)
    return shown == expected


def test_summary_numbers_equal_results_json(built_report, page) -> None:
    questions = built_report.results()["questions"]
    rows = [r for r in page.find("tr") if "data-qid" in r.attrs]
    assert [r.attrs["data-qid"] for r in rows] == list(questions) == QUESTION_IDS
    shown: dict[str, dict[str, tuple[Any, str]]] = {qid: {} for qid in questions}
    for kv in page.find("span", "kv"):
        qid = kv.inside("tr").attrs["data-qid"]
        shown[qid][kv.attrs["data-label"]] = (json.loads(kv.attrs["data-value"]), text(kv))
    for row in rows:
        qid = row.attrs["data-qid"]
        assert row.attrs["data-status"] == questions[qid]["status"], qid
        expected = questions[qid]["key_numbers"]
        assert set(shown[qid]) == set(expected), qid
        for label, (value, words) in shown[qid].items():
            assert _same(value, expected[label]), f"{qid} {label}: summary {value}, results.json {expected[label]}"
            assert words.startswith(label), words
    assert any(shown.values()), "the cheap build answers 1.Q1 and 1.Q2: the summary must show their numbers"


def test_summary_formats_numbers_with_the_filters(page) -> None:
    checked = 0
    for kv in page.find("span", "kv"):
        value = json.loads(kv.attrs["data-value"])
        if isinstance(value, int) and not isinstance(value, bool):
            assert text(kv).endswith(filters.thousands(value)), text(kv)
            checked += 1
        elif isinstance(value, float):
            assert text(kv).endswith((filters.pct(value), filters.sig(value))), text(kv)
            checked += 1
    assert checked >= 2


def test_not_computed_answers_are_visible_with_their_reason_and_counted(built_report, page) -> None:
    questions = built_report.results()["questions"]
    missing = [qid for qid, q in questions.items() if q["status"] != "answered"]
    assert missing
    boxes = [b for b in page.find("div", "not-computed") if text(b).startswith("Not computed.")]  # answers' boxes
    assert len(boxes) == len(missing)
    for box, qid in zip(boxes, missing):
        reason = questions[qid]["reason"]
        assert reason and text(box) == f"Not computed. {' '.join(reason.split())}"
    tally = page.find("p", "tally")[0]
    assert int(tally.attrs["data-missing"]) == len(missing)
    assert int(tally.attrs["data-answered"]) == len(questions) - len(missing)
    assert f"{len(missing)} not computed" in text(tally)


def test_each_answer_links_to_the_provenance_of_its_experiments(built_report, page) -> None:
    experiments = built_report.results()["experiments"]
    for name, experiment in experiments.items():
        body = page.find("tbody", id=f"exp-{name}")
        assert len(body) == 1, name
        row = text(body[0])
        assert experiment["cache_key"] in row and experiment["status"] in row
    computed = [n for n, e in experiments.items() if e["status"] in ("ran", "cached")]
    evidence_links = {e.attrs["href"] for e in page.find("a") if e.attrs.get("href", "").startswith("#exp-")}
    assert {f"#exp-{n}" for n in computed} <= evidence_links


def test_the_provenance_lists_each_verdicts_cut_offs_apart_from_the_settings(built_report) -> None:
    html = built_report.html.read_text(encoding="utf-8")
    row = html[html.index('id="exp-architecture_params"'):]
    row = row[:row.index("</tbody>")]
    assert "cut-offs of its verdict" in row and "<code>classifier_heavy_above=0.5</code>" in row
