"""`reportgen watch`: the editing loop. Rebuild when an experiment, a template or the configuration is saved, serve
build/report.html, and reload the open page once the rebuild is done; a failed rebuild shows its error in the page.

watchfiles watches the sources (in the main thread, so that Ctrl-C stops a rebuild as it stops a build); each
rebuild runs in this process, so that torch and the libraries are imported once and an edit costs only what it
changes. The page is served by uvicorn (Starlette) in a background thread; arel provides the page's script and the
websocket through which the open page is told to reload.
"""
from __future__ import annotations

import asyncio
import contextlib
import html
import importlib
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import arel
import uvicorn
import watchfiles
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from reportgen import build as build_
from reportgen.errors import UserError
from reportgen.project import Project
from reportgen.runner import one_line

NO_STORE = {"Cache-Control": "no-store"}  # a reload must fetch the new report, never the browser's copy
FAILED_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Rebuild failed</title></head>
<body style="font-family: sans-serif; margin: 3em">
<h1>Rebuild failed</h1>
<p id="reportgen-error" style="color: #a00; font-family: monospace; white-space: pre-wrap">{error}</p>
<p>Fix it and save: the page reloads when the report is rebuilt. The full message is in the terminal.</p>
</body></html>
"""
WAITING_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Building…</title></head>
<body><p>No report yet: the first build is running.</p></body></html>
"""


class Preview:
    """The served side: the last rebuild's error (None when it succeeded) and the channel that reloads pages."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.error: str | None = None
        self.hotreload = arel.HotReload(paths=[])  # no watching of its own: `watch` says when to reload
        self.loop: asyncio.AbstractEventLoop | None = None

    def app(self) -> Starlette:
        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette):
            self.loop = asyncio.get_running_loop()
            await self.hotreload.startup()
            yield
            await self.hotreload.shutdown()

        routes = [Route("/", self.page), Route("/report.html", self.page),
                  WebSocketRoute("/hot-reload", self.hotreload, name="hot-reload"),
                  Mount("/", StaticFiles(directory=self.folder, check_dir=False))]
        return Starlette(routes=routes, lifespan=lifespan)

    async def page(self, request: Request) -> HTMLResponse:
        """The report with the reload script, or the error of the last rebuild in its place."""
        report = self.folder / "report.html"
        if self.error is not None:
            text = FAILED_PAGE.format(error=html.escape(self.error))
        else:
            text = report.read_text(encoding="utf-8") if report.is_file() else WAITING_PAGE
        script = self.hotreload.script(str(request.url_for("hot-reload")))
        at = text.rfind("</body>")
        text = text[:at] + script + text[at:] if at >= 0 else text + script
        return HTMLResponse(text, headers=NO_STORE)

    def show(self, error: str | None) -> None:
        """Record the rebuild's outcome and reload every open page."""
        self.error = error
        if self.loop is not None:
            asyncio.run_coroutine_threadsafe(self.hotreload.notify.notify(), self.loop).result(timeout=10)


@contextlib.contextmanager
def serving(preview: Preview, host: str, port: int) -> Iterator[str]:
    """Serve the preview from a background thread for the block; yields its address."""
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        raise UserError(f"cannot serve on {host}:{port} ({exc.strerror}); choose another --port") from None
    server = uvicorn.Server(uvicorn.Config(preview.app(), log_level="warning", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    started = threading.Event()
    while not server.started and thread.is_alive():  # uvicorn says when it accepts connections
        started.wait(0.02)
    address = f"http://{host}:{listener.getsockname()[1]}/"
    try:
        yield address
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        listener.close()


def sources(project: Project, options: build_.Options) -> list[Path]:
    """What a rebuild follows: the experiments package, the templates and the configuration file."""
    found = [project.root / project.experiments.replace(".", "/"), project.templates]
    config = options.config or project.default_config
    return [p for p in [*found, config] if p is not None and Path(p).exists()]


def rebuild(project: Project, options: build_.Options, say: Callable[[str], None]) -> str | None:
    """One build in this process, with the project's modules imported afresh; the error in one line, or None."""
    for top in {*project.packages, (project.verdicts or "").split(".")[0]} - {""}:
        for name in [m for m in sys.modules if m == top or m.startswith(top + ".")]:
            del sys.modules[name]
    importlib.invalidate_caches()
    try:
        build_.build(project, options, say)  # an experiment that fails is shown in the report: not an error here
    except UserError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 — the loop goes on; the page says what broke
        return one_line(exc)
    return None


def watch(project: Project, options: build_.Options, host: str, port: int,
          say: Callable[[str], None]) -> int:
    """Build, serve, and rebuild on every save until Ctrl-C."""
    preview = Preview(project.build)
    paths = sources(project, options)
    with serving(preview, host, port) as address:
        say(f"serving the report at {address}")
        _rebuild_and_show(project, options, preview, say)
        say(f"watching {', '.join(map(str, paths))}; Ctrl-C stops")
        for changes in watchfiles.watch(*paths):
            saved = sorted({Path(path).name for _, path in changes if Path(path).exists()})  # not editors' temp files
            say(f"saved: {', '.join(saved) or 'a file removed'}; rebuilding")
            _rebuild_and_show(project, options, preview, say)
    return 0


def _rebuild_and_show(project: Project, options: build_.Options, preview: Preview, say: Callable[[str], None]
                      ) -> None:
    error = rebuild(project, options, say)
    if error:
        say(f"rebuild failed: {error}")
    preview.show(error)
