"""Rendering: strict, autoescaped templates whose errors name the line; figure numbers; figures published beside
the report; the previous report kept until a new one is complete."""
from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from reportgen import UserError, store
from reportgen.config import Settings
from reportgen.project import find_project
from reportgen.questions import answer
from reportgen.render import Numbering, publish_figures, render_html
from reportgen.report import template_context
from reportgen.verdicts import discover_verdicts, judge

ROOT = Path(__file__).resolve().parents[2]


def templates(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name.replace("__", ".")).write_text(text, encoding="utf-8")
    return folder


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


# --- Numbering ------------------------------------------------------------------------------------------------


def test_numbers_count_per_kind_and_restart_per_chapter() -> None:
    numbering = Numbering()
    numbering.chapter(1)
    assert [numbering.number("figure", "a"), numbering.number("figure", "b"), numbering.number("table", "t")] == \
        ["1.1", "1.2", "1.1"]
    numbering.chapter(2)
    assert [numbering.number("figure", "c"), numbering.number("table", "u")] == ["2.1", "2.1"]
    assert numbering.ref("figure", "b") == "1.2" and numbering.ref("table", "u") == "2.1"


def test_forward_reference_resolves_on_the_second_pass() -> None:
    numbering = Numbering()
    seen = []
    for _ in range(2):
        numbering.restart()
        numbering.chapter(1)
        seen.append(numbering.ref("figure", "later"))  # referenced before it is numbered
        numbering.number("figure", "first")
        numbering.number("figure", "later")
    assert seen == ["?", "1.2"]


def test_a_key_numbered_twice_is_an_error() -> None:
    numbering = Numbering()
    numbering.number("figure", "a")
    with pytest.raises(UserError, match="figure 'a' is numbered twice"):
        numbering.number("figure", "a")


# --- render_html ----------------------------------------------------------------------------------------------


def test_render_resolves_forward_references_and_numbers_per_chapter(tmp_path: Path) -> None:
    folder = templates(tmp_path, main__html__j2=(
        '{{ numbering.chapter(1) }}<p>See Figure {{ numbering.ref("figure", "b") }}.</p>'
        '<i>{{ numbering.number("figure", "a") }}</i><i>{{ numbering.number("figure", "b") }}</i>'
        '{{ numbering.chapter(2) }}<i>{{ numbering.number("figure", "c") }}</i>'))
    html = render_html(folder, "main.html.j2", {}, {})
    assert html == "<p>See Figure 1.2.</p><i>1.1</i><i>1.2</i><i>2.1</i>"


def test_missing_result_is_an_error_naming_the_template_line(tmp_path: Path) -> None:
    folder = templates(tmp_path, main__html__j2='{% include "part.html.j2" %}\n',
                      part__html__j2="<p>{{ results.numbers.total }}</p>\n<p>{{ results.numbers.totl }}</p>\n")
    with pytest.raises(UserError) as info:
        render_html(folder, "main.html.j2", {"results": {"numbers": {"total": 1}}}, {})
    message = str(info.value)
    assert message.startswith(f"template error: {folder / 'part.html.j2'}:2: ")
    assert "totl" in message


def test_missing_result_in_a_condition_is_an_error_too(tmp_path: Path) -> None:
    folder = templates(tmp_path, main__html__j2="{% if results.missing %}x{% endif %}")
    with pytest.raises(UserError, match=r"main\.html\.j2:1: .*missing"):
        render_html(folder, "main.html.j2", {"results": {}}, {})


def test_syntax_error_names_the_template_line(tmp_path: Path) -> None:
    folder = templates(tmp_path, main__html__j2="<p>ok</p>\n\n{% if x %}never closed\n")
    with pytest.raises(UserError, match=r"template error: .*main\.html\.j2:\d+: "):
        render_html(folder, "main.html.j2", {"x": 1}, {})


def test_filter_failure_names_the_template_line(tmp_path: Path) -> None:
    folder = templates(tmp_path, main__html__j2="<p>fine</p>\n<p>{{ label|thousands }}</p>\n")
    with pytest.raises(UserError, match=r"template error: .*main\.html\.j2:2: .*'four'"):
        render_html(folder, "main.html.j2", {"label": "four"}, {})


def test_values_are_autoescaped(tmp_path: Path) -> None:
    folder = templates(tmp_path, main__html__j2="<p>{{ label }}</p>")
    html = render_html(folder, "main.html.j2", {"label": '<script>alert("x")</script> & co'}, {})
    assert html == "<p>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co</p>"


def test_number_filters_are_available(tmp_path: Path) -> None:
    folder = templates(tmp_path, main__html__j2="{{ n|thousands }} {{ f|pct }} {{ f|num(3) }}")
    assert render_html(folder, "main.html.j2", {"n": 138357544, "f": 0.8936}, {}) == "138,357,544 89.4 % 0.894"


# --- figures --------------------------------------------------------------------------------------------------


def stored_figure(folder: Path, name: str, content: bytes) -> store.Figure:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    return store.Figure(folder / name, name)


def test_figures_are_copied_beside_the_report_with_relative_links(tmp_path: Path) -> None:
    plot = stored_figure(tmp_path / "cache/curve/k1", "result--plot.svg", b"<svg>1</svg>")
    sources = publish_figures({"curve": {"plot": plot, "list": [plot]}}, tmp_path / "build/figures", False)
    assert sources == {plot.path: "figures/curve--result--plot.svg"}
    assert (tmp_path / "build/figures/curve--result--plot.svg").read_bytes() == b"<svg>1</svg>"


def test_a_changed_figure_of_the_same_size_is_copied_again(tmp_path: Path) -> None:
    target = tmp_path / "build/figures/curve--result--plot.svg"
    old = stored_figure(tmp_path / "cache/curve/k1", "result--plot.svg", b"<svg>1</svg>")
    publish_figures({"curve": {"plot": old}}, target.parent, False)
    new = stored_figure(tmp_path / "cache/curve/k2", "result--plot.svg", b"<svg>2</svg>")
    publish_figures({"curve": {"plot": new}}, target.parent, False)
    assert target.read_bytes() == b"<svg>2</svg>"


def test_self_contained_figures_are_embedded(tmp_path: Path) -> None:
    png = stored_figure(tmp_path / "cache/p/k", "result--image.png", b"\x89PNG fake")
    sources = publish_figures({"p": {"image": png}}, tmp_path / "build/figures", True)
    assert sources == {png.path: "data:image/png;base64," + base64.b64encode(b"\x89PNG fake").decode()}
    assert not list((tmp_path / "build/figures").iterdir())


def test_self_contained_build_embeds_the_figures(tiny) -> None:
    tiny.build(self_contained=True)
    html = tiny.html()
    assert 'src="data:image/svg+xml;base64,' in html and 'src="data:image/png;base64,' in html
    assert 'src="figures/' not in html


def test_build_publishes_the_figures_and_numbers_them(tiny) -> None:
    tiny.build()
    html = tiny.html()
    assert '<img src="figures/curve--result--plot.svg" alt="Figure 1.1">' in html
    assert '<img src="figures/picture--result--image.png" alt="Figure 1.2">' in html
    assert 'As <a class="ref" href="#fig-curve">Figure 1.1</a> shows' in html  # a forward reference
    assert (tiny.build_dir / "figures/curve--result--plot.svg").is_file()
    assert (tiny.build_dir / "figures/picture--result--image.png").is_file()


def test_build_escapes_results(tiny) -> None:
    tiny.build('numbers.label="<b>bold</b>"')
    assert "label &lt;b&gt;bold&lt;/b&gt;." in tiny.html()


# --- the previous report is kept until the new one is complete --------------------------------------------------


def test_template_error_keeps_the_previous_report(tiny) -> None:
    tiny.build()
    report = tiny.build_dir / "report.html"
    before = report.read_bytes()
    chapter = tiny.root / "tpl/chapter.html.j2"
    tiny.edit(chapter, "label {{ results.numbers.label }}", "label {{ results.numbers.labl }}")
    with pytest.raises(UserError) as info:
        tiny.build()
    assert str(info.value).startswith(f"template error: {chapter}:{line_of(chapter, 'labl')}: ")
    assert report.read_bytes() == before
    tiny.edit(chapter, "results.numbers.labl", "results.numbers.label")
    tiny.edit(chapter, "Total:", "Sum:")
    run = tiny.build()
    assert run.code == 0 and run.ran == set()
    assert "Sum: 12,000" in tiny.html()


def test_report_title_comes_from_the_configuration(tiny) -> None:
    tiny.build('report.title="A <new> title"')
    assert "<title>A &lt;new&gt; title</title>" in tiny.html()


# --- the real templates, and the PDF --------------------------------------------------------------------------


def test_real_templates_render_the_slice_and_mark_every_other_question(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    project = find_project(ROOT)
    from experiments.results.ch1 import ArchitectureOutput, ArchitectureParams, Category, LayerParams

    fc = LayerParams("classifier.0", "fc", [4096], 102760448, 4096, 102764544, 25088, 4096)
    results = {
        "architecture_params": ArchitectureParams(
            layers=[LayerParams("features.0", "conv", [64, 224, 224], 1728, 64, 1792, 3, 64), fc],
            total=138357544, conv_total=14714688, conv_layers=1, other_total=0, fc_total=123642856,
            fc_weights_only=123633664, fc_share=123642856 / 138357544, fc_layers=[fc],
            estimate_error=(138357544 - 123633664) / 138357544),
        "architecture_output": ArchitectureOutput([1, 1000], 1000, 1000, [Category(0, "tench")]),
    }
    statuses = {name: ("cached", None) for name in results}
    questions = project.load_questions()
    answers = [answer(q, statuses, results) for q in questions]
    judged = judge(discover_verdicts(project.verdicts), Settings({}, "test"), results)
    context = template_context(project, Settings({}, "test"), {}, results, answers, False, judged)
    html = render_html(project.templates, project.main_template, context, {})
    assert "most parameters sit in the classifier" in html  # the verdict on fc_share
    for number in ("138,357,544", "123,642,856", "14,714,688", "89.4 %", "1×1000", "tench", "102,764,544"):
        assert number in html
    assert len(questions) == 22
    for q in questions:
        assert f'id="{q.anchor}"' in html
    assert html.count("Not computed.") == len(questions) - 2


def test_pdf_contains_the_numbers(tiny) -> None:
    pypdf = pytest.importorskip("pypdf")
    pytest.importorskip("weasyprint")
    tiny.edit(tiny.module("basic"), '"ratio": 0.25', '"ratio": 0.875')
    run = tiny.build(pdf=True)
    assert run.code == 0
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(tiny.build_dir / "report.pdf").pages)
    text = re.sub(r"\s+", " ", text)
    for expected in ("Tiny report", "Total: 12,000 (87.5 %)", "Figure 1.2", "Not computed."):
        assert expected in text
