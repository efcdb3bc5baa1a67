"""The PDF as a grader holds it: every question in order, a contents whose page numbers are right, numbered
figures and tables, a title page, bookmarks, metadata and visible not-computed answers (pypdf text)."""
from __future__ import annotations

import re
import tomllib
from collections import defaultdict

import pytest

pypdf = pytest.importorskip("pypdf")

QUESTION_IDS = [f"{chapter}.Q{n}" for chapter in (1, 2) for n in range(1, 12)]
HEADING = re.compile(r"^(\d+\.Q\d+)(?!\d)")
CONTENTS_ENTRY = re.compile(r"^(\d+\.Q\d+)(?!\d).*\s(\d+)$")
CAPTION = re.compile(r"^(Figure|Table) ([0-9A-Z]+)\.(\d+)\.\s")
FOOTER = re.compile(r"^page (\d+) of (\d+)$")


def page_lines(page) -> list[str]:
    """The page's text as lines from top to bottom: fragments grouped by baseline, left to right."""
    fragments: list[tuple[float, float, str]] = []

    def visit(text: str, cm: list[float], tm: list[float], font, size) -> None:
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            fragments.append((round(y), x, text.strip()))

    page.extract_text(visitor_text=visit)
    lines: dict[float, list[tuple[float, str]]] = defaultdict(list)
    for y, x, text in fragments:
        lines[y].append((x, text))
    return [" ".join(t for _, t in sorted(parts)) for _, parts in sorted(lines.items(), key=lambda kv: -kv[0])]


@pytest.fixture(scope="module")
def reader(built_report):
    return pypdf.PdfReader(built_report.pdf)


@pytest.fixture(scope="module")
def pages(reader) -> list[list[str]]:
    """Lines of each page; lines[0] is the running header (the chapter), the last line the footer."""
    return [page_lines(page) for page in reader.pages]


def pages_headed(pages: list[list[str]], header: str) -> list[int]:
    """1-based numbers of the pages whose running header is `header`."""
    return [i for i, lines in enumerate(pages, 1) if lines and lines[0] == header]


def body_range(pages: list[list[str]]) -> range:
    """The chapters' pages: after the summary, before the provenance appendix."""
    start = max(pages_headed(pages, "Summary of answers")) + 1
    return range(start, min(pages_headed(pages, "A Provenance")))


def contents(pages: list[list[str]]) -> list[tuple[str, int]]:
    entries = []
    for number in pages_headed(pages, "Contents"):
        entries += [(m[1], int(m[2])) for m in map(CONTENTS_ENTRY.match, pages[number - 1]) if m]
    return entries


def test_contents_lists_every_question_in_order(pages) -> None:
    entries = contents(pages)
    assert [qid for qid, _ in entries] == QUESTION_IDS
    numbers = [page for _, page in entries]
    assert numbers == sorted(numbers)


def test_contents_page_numbers_are_the_pages_of_the_questions(pages) -> None:
    body = body_range(pages)
    for qid, number in contents(pages):
        first = next((n for n in body if any(HEADING.match(line) and HEADING.match(line)[1] == qid
                                             for line in pages[n - 1])), None)
        assert first == number, f"{qid}: the contents say page {number}, its heading is on page {first}"


def test_every_question_appears_once_in_the_chapters_in_order(pages) -> None:
    headings = [m[1] for n in body_range(pages) for m in map(HEADING.match, pages[n - 1]) if m]
    assert headings == QUESTION_IDS


def test_figures_and_tables_are_numbered_consecutively_per_chapter(pages) -> None:
    captions: dict[tuple[str, str], list[int]] = defaultdict(list)
    for lines in pages:
        chapter = lines[0].split(" ")[0] if lines else ""
        for m in filter(None, map(CAPTION.match, lines)):
            assert m[2] == chapter, f"{m[0]} sits in chapter {chapter}"
            captions[(m[1], m[2])].append(int(m[3]))
    assert captions[("Table", "1")], "the architecture table of 1.Q1 is missing"
    for (kind, chapter), numbers in captions.items():
        assert numbers == list(range(1, len(numbers) + 1)), f"{kind}s of chapter {chapter}: {numbers}"
    text = "\n".join(line for lines in pages for line in lines)
    assert "Figure ?" not in text and "Table ?" not in text  # every reference resolved


def test_title_page_metadata_and_page_numbers(built_report, reader, pages) -> None:
    report = tomllib.loads((built_report.root / "reportgen.toml").read_text(encoding="utf-8"))["report"]
    assert reader.metadata.title == report["title"]
    assert reader.metadata.author == ", ".join(report["authors"])
    title_page = " ".join(pages[0])
    for text in (report["course"], *report["authors"], "Networks and data"):
        assert text in title_page
    # what each network role resolved to: offline, with no practical's weights at hand, the stand-ins
    assert "networks.transfer" in title_page and "Stand-in networks" in title_page
    assert not any(FOOTER.match(line) for line in pages[0])  # no header or footer on the title page
    total = len(pages)
    for number, lines in enumerate(pages[1:], 2):
        assert lines[-1] == f"page {number} of {total}"


def test_bookmarks_follow_chapters_sections_and_questions(reader) -> None:
    def walk(items, depth: int = 0):
        for item in items:
            if isinstance(item, list):
                yield from walk(item, depth + 1)
            else:
                yield depth, item.title

    marks = list(walk(reader.outline))
    top = [title for depth, title in marks if depth == 0]
    assert top[:2] == ["Contents", "Summary of answers"] and top[-1] == "A Provenance"
    assert any(t.startswith("1 ") for t in top) and any(t.startswith("2 ") for t in top)
    assert any(depth == 1 and title.startswith("1.1 ") for depth, title in marks)
    questions = [(depth, m[1]) for depth, title in marks if (m := HEADING.match(title))]
    assert [qid for _, qid in questions] == QUESTION_IDS
    assert all(depth >= 2 for depth, _ in questions)  # under their chapter and section


def test_not_computed_answers_are_visible_and_counted(built_report, pages) -> None:
    questions = built_report.results()["questions"]
    missing = [qid for qid, q in questions.items() if q["status"] != "answered"]
    assert missing and len(missing) < len(questions)  # the cheap build answers some, not all
    text = "\n".join(line for lines in pages for line in lines)
    assert text.count("Not computed.") == len(missing)
    summary = "\n".join(pages[max(pages_headed(pages, "Summary of answers")) - 1])
    answered = len(questions) - len(missing)
    assert re.search(rf"{answered} of {len(questions)} questions answered\s*;\s*{len(missing)} not computed", summary)


def test_pdf_keeps_internal_links_and_drops_links_to_local_files(tmp_path) -> None:
    pytest.importorskip("weasyprint")
    from reportgen.pdf import pdf_bytes

    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "plot.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    html = ('<html><body><p id="top">top</p><a href="figures/plot.svg">figure file</a> '
            '<a href="#top">back</a> <a href="https://example.org/">web</a></body></html>')
    (tmp_path / "out.pdf").write_bytes(pdf_bytes(html, tmp_path))
    actions = [a.get_object().get("/A", {}) for page in pypdf.PdfReader(tmp_path / "out.pdf").pages
               for a in page.get("/Annots") or []]
    uris = [str(a["/URI"]) for a in actions if "/URI" in a]
    assert uris == ["https://example.org/"]
    assert len(actions) - len(uris) == 1  # the link to #top, inside the document
