"""The PDF, drawn by WeasyPrint in a process of its own.

A build that will write the PDF starts the process first: it imports WeasyPrint (0.4–0.5 s) on another core while
the build reads the results and renders the templates, then waits for the page. The build sends it the page's HTML
and its print stylesheet as JSON on its standard input; the process answers with the PDF's bytes on its standard
output, which the build writes (atomically, like every other output). No file is written by the process, and no
code is read from the message. This file run as a script is that side: it imports nothing but the standard library
at the top, so that the process starts fast.
"""
from __future__ import annotations

import gc
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

# This file run as a script: the process imports no part of reportgen (and -P: nothing from beside this file)
COMMAND = (sys.executable, "-P", str(Path(__file__).resolve()))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Printer:
    """A started WeasyPrint process, for one PDF: `pdf` sends it the page and returns the PDF's bytes. Leaving the
    `with` block ends the process when it is still running (the build failed or was interrupted before)."""

    def __init__(self, command: tuple[str, ...] = COMMAND) -> None:
        self._errors = tempfile.TemporaryFile()  # a file, not a pipe: a chatty process can never block on it
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._errors)

    def pdf(self, html: str, base: Path, stylesheet: str = "") -> bytes:
        """The PDF of `html` (relative links from `base`; `stylesheet`: CSS of the user's origin)."""
        message = json.dumps({"html": html, "base": str(base), "stylesheet": stylesheet}).encode()
        process = self._process
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(message)
            process.stdin.close()
        except BrokenPipeError:  # it died before reading the page: its error says why
            pass
        pdf = process.stdout.read()
        code = process.wait()
        if code != 0 or not pdf.startswith(b"%PDF"):
            from reportgen.errors import UserError  # here: the process imports nothing of reportgen

            self._errors.seek(0)
            lines = self._errors.read().decode(errors="replace").strip().splitlines()
            raise UserError(f"report.pdf: WeasyPrint failed ({lines[-1] if lines else f'exit code {code}'}); "
                            "build with --no-pdf to write the HTML report without it")
        return pdf

    def __enter__(self) -> Printer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        for stream in (self._process.stdin, self._process.stdout, self._errors):
            if stream is not None:
                stream.close()


def pdf_bytes(html: str, base: Path, stylesheet: str = "") -> bytes:
    """HTML → PDF with WeasyPrint, in this process; `stylesheet`: CSS of the user's origin (its `!important` rules
    win over the templates' own)."""
    import logging

    import weasyprint  # slow to import: only when a PDF is asked for

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    sheets = [weasyprint.CSS(string=stylesheet)] if stylesheet else []
    with collector_paused():
        document = weasyprint.HTML(string=html, base_url=str(base)).render(stylesheets=sheets)
        for page in document.pages:  # the HTML's links to figure files would point into this machine's disk
            page.links = [link for link in page.links if not (link[0] == "external" and link[1].startswith("file:"))]
        return document.write_pdf()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block, as it was after it. WeasyPrint makes millions of
    objects while it lays a report out and keeps most of them to the end: the collections they trigger walk the
    ever larger box tree for little garbage (the full report: 0.3-0.4 s of a 2.3 s layout, for 12 MB more peak
    memory without them; benchmarks/render.py)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def png_data_as_stored(recompress: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    """WeasyPrint's `RasterImage._get_png_data` (`recompress`: it decodes a PNG and compresses its pixels again, to
    embed the IDAT data under the PDF's Flate filter with PNG predictors), taking the IDAT data as the PNG stores it
    instead when it holds exactly what would be embedded: 8 bits per channel, RGB or grey, not interlaced. For a
    PNG written by Pillow (the print versions, printing.py) the PDF is byte for byte the same, 0.25 s sooner for the
    full report's 11 plots; any other image goes to `recompress`."""

    def png_data(image: Any) -> bytes:
        stored = getattr(image, "fp", None)
        if getattr(image, "format", None) == "PNG" and isinstance(stored, io.BytesIO):
            data = _idat(stored.getvalue())
            if data is not None:
                return data
        return recompress(image)

    return png_data


def _idat(png: bytes) -> bytes | None:
    """The concatenated IDAT chunks of an 8-bit, non-interlaced RGB or grey PNG; None for any other PNG."""
    if len(png) < 33 or png[:8] != PNG_SIGNATURE or png[12:16] != b"IHDR" or png[24] != 8 or png[25] not in (0, 2) \
            or png[28] != 0:
        return None  # bit depth (24), colour type (25: 0 grey, 2 RGB) and interlace method (28) from the IHDR
    chunks, at = [], 8
    while at + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[at:at + 8])
        if kind == b"IDAT":
            chunks.append(png[at + 8:at + 8 + length])
        at += 12 + length
    return b"".join(chunks) or None


@contextmanager
def png_data_kept() -> Iterator[None]:
    """Inside the block, WeasyPrint embeds PNG data as stored where it can (`png_data_as_stored` around its
    `RasterImage._get_png_data`); as before after it. A WeasyPrint without that method embeds PNGs its own way."""
    from weasyprint.images import RasterImage

    stored = RasterImage.__dict__.get("_get_png_data")
    if stored is None:
        yield
        return
    RasterImage._get_png_data = staticmethod(png_data_as_stored(RasterImage._get_png_data))
    try:
        yield
    finally:
        RasterImage._get_png_data = stored


def main() -> int:
    """The process's side: import WeasyPrint, then wait for the page (none: the build ended without a PDF)."""
    with png_data_kept():  # imports WeasyPrint now, while the build renders the page
        message = sys.stdin.buffer.read()
        if not message:
            return 0
        try:
            page = json.loads(message)
            pdf = pdf_bytes(page["html"], Path(page["base"]), page["stylesheet"])
        except Exception as exc:  # the build reports it as one line
            print(f"{type(exc).__name__}: {exc}".replace("\n", " "), file=sys.stderr)
            return 1
    sys.stdout.buffer.write(pdf)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    # os._exit: no teardown of the laid-out document's millions of objects, which the build would wait for
    os._exit(main())
