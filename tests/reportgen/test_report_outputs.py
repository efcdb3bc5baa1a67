"""The report, its figures and results.json are replaced together or not at all; --no-pdf leaves no stale PDF."""
from __future__ import annotations

import re
import signal
from pathlib import Path
from urllib.parse import unquote

import pytest

from reportgen import UserError, pdf, store


def _snapshot(build: Path) -> dict[str, bytes]:
    names = ["report.html", "results.json", "report.pdf"] + [f"figures/{p.name}" for p in (build / "figures").iterdir()]
    return {name: (build / name).read_bytes() for name in names if (build / name).exists()}


class _FakePrinter(pdf.Printer):
    """WeasyPrint's process, without the process."""

    def __init__(self) -> None:
        pass

    def pdf(self, html: str, base: Path, stylesheet: str = "") -> bytes:
        linked = re.findall(r'<img src="file://([^"]+)"', html)
        assert linked and all(Path(unquote(src)).is_file() for src in linked)  # the PDF's figures are there
        return b"%PDF-1.7 fake " + str(len(html)).encode()

    def __exit__(self, *exc) -> None:
        pass


def test_a_template_error_leaves_the_previous_report_figures_and_results_as_they_were(tiny) -> None:
    assert tiny.build().code == 0
    before = _snapshot(tiny.build_dir)
    assert any(name.startswith("figures/curve") for name in before)
    tiny.edit(tiny.root / "tpl/chapter.html.j2", "{% call m.question(\"2.Q1\") %}",
              "{{ results.nosuch }}{% call m.question(\"2.Q1\") %}")
    with pytest.raises(UserError, match="template error"):
        tiny.build("numbers.n=7")  # new figures and numbers were computed, then the template failed
    assert _snapshot(tiny.build_dir) == before
    assert not list(tiny.build_dir.glob(".staging-*"))


def test_an_interrupt_while_writing_the_pdf_leaves_the_previous_set(tiny, monkeypatch) -> None:
    monkeypatch.setattr(pdf, "Printer", _FakePrinter)
    assert tiny.build(pdf=True).code == 0
    before = _snapshot(tiny.build_dir)
    assert "report.pdf" in before

    def interrupted(self, html: str, base: Path, stylesheet: str = "") -> bytes:
        raise KeyboardInterrupt

    monkeypatch.setattr(_FakePrinter, "pdf", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tiny.build("numbers.n=9", pdf=True)
    assert _snapshot(tiny.build_dir) == before
    assert not list(tiny.build_dir.glob(".staging-*"))


def test_no_pdf_removes_an_older_pdf_that_would_look_current(tiny, monkeypatch) -> None:
    monkeypatch.setattr(pdf, "Printer", _FakePrinter)
    assert tiny.build(pdf=True).code == 0 and (tiny.build_dir / "report.pdf").is_file()
    run = tiny.build("numbers.n=6")
    assert not (tiny.build_dir / "report.pdf").exists() and "--no-pdf removed the previous one" in run.text
    assert "18,000" in tiny.html()  # 3 × 6 × 1000: the new report


def test_a_figure_no_longer_in_the_report_goes_with_the_old_report(tiny) -> None:
    tiny.build()
    stale = tiny.build_dir / "figures" / "gone--result--plot.svg"
    stale.write_text("<svg/>")
    tiny.build("numbers.n=8")
    assert not stale.exists()


def test_ctrl_c_during_the_swap_waits_until_every_file_is_in_place(tmp_path: Path) -> None:
    staging, target = tmp_path / "new", tmp_path / "out"
    for folder, text in ((staging, "new"), (target, "old")):
        (folder / "figures").mkdir(parents=True)
        (folder / "figures" / "f.svg").write_text(text)
        (folder / "report.html").write_text(text)
    real_replace = store.os.replace
    calls = []

    def replace_then_interrupt(src, dst):
        real_replace(src, dst)
        calls.append(dst)
        if len(calls) == 1:
            signal.raise_signal(signal.SIGINT)  # Ctrl-C after the first rename

    store.os.replace = replace_then_interrupt
    # Ctrl-C as in a terminal, even where the test runner was started with SIGINT ignored (a background job)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            store.swap_in(staging, target, ("figures", "report.html"))
    finally:
        store.os.replace = real_replace
        signal.signal(signal.SIGINT, previous)
    assert (target / "figures" / "f.svg").read_text() == (target / "report.html").read_text() == "new"
