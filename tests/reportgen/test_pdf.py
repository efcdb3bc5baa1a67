"""The PDF's process: started before the page is rendered, sent the page, answering with the PDF's bytes; ended
whatever happens; its failure one line; the garbage collector paused while WeasyPrint runs."""
from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

import pytest

from reportgen import UserError
from reportgen.pdf import Printer, collector_paused, pdf_bytes

pypdf = pytest.importorskip("pypdf")


def _python(code: str) -> tuple[str, ...]:
    return (sys.executable, "-c", code)


def test_the_process_turns_the_page_into_the_pdf_with_its_figures_and_the_users_stylesheet(tmp_path: Path) -> None:
    pytest.importorskip("weasyprint")
    from PIL import Image

    Image.new("RGB", (40, 20), "red").save(tmp_path / "plot.png")
    html = '<h1>Results</h1><p class="x">hidden</p><img src="plot.png">'
    with Printer() as printer:
        data = printer.pdf(html, tmp_path, ".x { display: none }")
    (tmp_path / "out.pdf").write_bytes(data)
    page = pypdf.PdfReader(tmp_path / "out.pdf").pages[0]
    assert "Results" in page.extract_text() and "hidden" not in page.extract_text()
    assert [image.image.size for image in page.images] == [(40, 20)]


def test_a_failing_process_is_one_line_that_says_what_to_do() -> None:
    failing = _python("import sys; sys.stdin.read(); print('warning: noise', file=sys.stderr); "
                      "print('ValueError: no layout', file=sys.stderr); sys.exit(1)")
    with Printer(failing) as printer, pytest.raises(UserError) as raised:
        printer.pdf("<p>x</p>", Path("."))
    assert str(raised.value) == ("report.pdf: WeasyPrint failed (ValueError: no layout); build with --no-pdf to write "
                                 "the HTML report without it")
    killed = _python("import os, signal, sys; sys.stdin.read(); os.kill(os.getpid(), signal.SIGKILL)")
    with Printer(killed) as printer, pytest.raises(UserError, match=r"WeasyPrint failed \(exit code -9\)"):
        printer.pdf("<p>x</p>", Path("."))


def test_a_process_that_answers_no_pdf_is_an_error_not_a_report() -> None:
    with Printer(_python("import sys; sys.stdin.read(); print('not a pdf')")) as printer, \
            pytest.raises(UserError, match="WeasyPrint failed"):
        printer.pdf("<p>x</p>", Path("."))


def test_the_process_ends_with_the_block_when_the_build_stops_before_sending_the_page() -> None:
    with pytest.raises(KeyboardInterrupt), Printer(_python("import time; time.sleep(60)")) as printer:
        pid = printer._process.pid
        raise KeyboardInterrupt  # Ctrl-C while the templates render
    with pytest.raises(ProcessLookupError):  # killed and reaped: no process left behind
        os.kill(pid, 0)


def test_the_real_process_exits_quietly_when_no_page_comes() -> None:
    pytest.importorskip("weasyprint")
    with Printer() as printer:
        process = printer._process
        assert process.stdin is not None
        process.stdin.close()
        assert process.wait(timeout=60) == 0


def test_the_collector_is_paused_for_the_pdf_and_restored_after_even_on_error(monkeypatch) -> None:
    weasyprint = pytest.importorskip("weasyprint")
    assert gc.isenabled()
    seen = []
    render = weasyprint.HTML.render
    monkeypatch.setattr(weasyprint.HTML, "render", lambda self, **kw: seen.append(gc.isenabled()) or render(self, **kw))
    assert pdf_bytes("<p>one</p>", Path(".")).startswith(b"%PDF")
    assert seen == [False] and gc.isenabled()
    with pytest.raises(KeyboardInterrupt), collector_paused():
        raise KeyboardInterrupt
    assert gc.isenabled()
    gc.disable()  # a caller that turned it off itself keeps it off
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
