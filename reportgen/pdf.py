"""The PDF, drawn by WeasyPrint in a process of its own.

A build that will write the PDF starts the process first: it imports WeasyPrint (0.4–0.5 s) on another core while
the build reads the results and renders the templates, then waits for the page. The build sends it the page's HTML
and its print stylesheet as JSON on its standard input; the process answers with the PDF's bytes on its standard
output, which the build writes (atomically, like every other output). No file is written by the process, and no
code is read from the message. `python -m reportgen.pdf` runs that side; this module imports nothing heavy at the
top, so that the process starts fast.
"""
from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from reportgen.errors import UserError

# -P: the process imports this copy of reportgen (PYTHONPATH below), not one found beside the current folder
COMMAND = (sys.executable, "-P", "-m", "reportgen.pdf")


class Printer:
    """A started WeasyPrint process, for one PDF: `pdf` sends it the page and returns the PDF's bytes. Leaving the
    `with` block ends the process when it is still running (the build failed or was interrupted before)."""

    def __init__(self, command: tuple[str, ...] = COMMAND) -> None:
        self._errors = tempfile.TemporaryFile()  # a file, not a pipe: a chatty process can never block on it
        package_root = str(Path(__file__).resolve().parent.parent)
        path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=self._errors, env={**os.environ, "PYTHONPATH": path})

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


def main() -> int:
    """The process's side: import WeasyPrint, then wait for the page (none: the build ended without a PDF)."""
    import weasyprint  # noqa: F401  (now, while the build renders the page)

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
