"""The PDF's process: started before the page is rendered, sent the page, answering with the PDF's bytes; ended
whatever happens; its failure one line; the garbage collector paused while WeasyPrint runs."""
from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

import pytest

from reportgen import UserError
from reportgen.pdf import Printer, _idat, collector_paused, pdf_bytes, png_data_kept

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


def _pngs(folder: Path) -> list[Path]:
    """One PNG of each kind: Pillow's RGB (as the print versions), grey, RGB compressed otherwise, paletted with a
    transparent colour, RGBA."""
    from PIL import Image, ImageDraw

    rgb = Image.new("RGB", (61, 23), "white")
    ImageDraw.Draw(rgb).line((0, 0, 60, 22), fill=(200, 30, 40), width=3)
    made = {"rgb.png": (rgb, {}), "grey.png": (rgb.convert("L"), {}), "fast.png": (rgb, {"compress_level": 1}),
            "palette.png": (rgb.convert("P"), {"transparency": 0}),
            "alpha.png": (rgb.convert("RGBA"), {})}
    for name, (image, options) in made.items():
        image.save(folder / name, **options)
    return sorted(folder.glob("*.png"))


def test_pngs_embedded_as_stored_are_the_same_pixels_and_pillows_the_same_pdf(tmp_path: Path) -> None:
    pytest.importorskip("weasyprint")
    from weasyprint.images import RasterImage

    def pdf_of(png: Path) -> tuple[bytes, bytes]:
        data = pdf_bytes(f'<img src="{png.name}">', tmp_path)
        (tmp_path / "out.pdf").write_bytes(data)
        [image] = pypdf.PdfReader(tmp_path / "out.pdf").pages[0].images
        return data, image.image.tobytes()

    pngs = _pngs(tmp_path)
    recompressed = {png.name: pdf_of(png) for png in pngs}
    with png_data_kept():
        as_stored = {png.name: pdf_of(png) for png in pngs}
    assert pdf_of(pngs[0]) == recompressed[pngs[0].name]  # WeasyPrint's own way again after the block
    assert "_get_png_data" in RasterImage.__dict__
    for name in recompressed:
        assert as_stored[name][1] == recompressed[name][1], name  # the pixels the PDF shows
    assert as_stored["fast.png"][0] != recompressed["fast.png"][0]  # its own compressed data, embedded as it is
    same = [name for name in recompressed if as_stored[name][0] == recompressed[name][0]]
    assert same == ["alpha.png", "grey.png", "palette.png", "rgb.png"]  # Pillow's, or recompressed


def test_only_an_8_bit_rgb_or_grey_png_not_interlaced_is_embedded_as_stored(tmp_path: Path) -> None:
    [rgb] = [p for p in _pngs(tmp_path) if p.name == "rgb.png"]
    png = rgb.read_bytes()
    assert _idat(png) and len(_idat(png) or b"") < len(png)
    deep = png[:24] + b"\x10" + png[25:]  # the IHDR's bit depth: 16
    interlaced = png[:28] + b"\x01" + png[29:]  # the IHDR's interlace method: Adam7
    assert _idat(deep) is _idat(interlaced) is _idat(b"GIF89a" + png[6:]) is None
    for name in ("palette.png", "alpha.png"):
        assert _idat((tmp_path / name).read_bytes()) is None, name
