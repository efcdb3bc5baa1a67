"""`reportgen watch` in headless Chromium: the open page shows a saved template edit within seconds, and a broken
template's error in place of the report; Ctrl-C stops the command with one line.

The project is the small one of tests/reportgen/conftest.py (four quick experiments, three templates), built by a real
`python -m reportgen watch` process; the browser is driven as in tests/test_report_browser.py.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.reportgen.conftest import write_tiny_project
from tests.test_report_browser import CHROMIUM, DevTools, page_socket, start_chromium, stop

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium): "
                                                         "the browser test needs it")


def wait_for(what: str, check, timeout: float):
    """`check()`'s first truthy value, asked every 0.1 s; fails with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"{what}: not within {timeout} s")


def evaluate(tools: DevTools, expression: str):
    """The expression's value in the page, or None while the page is (re)loading."""
    try:
        result = tools.call("Runtime.evaluate", expression=expression, returnByValue=True)
    except RuntimeError:  # the page's context went away during a reload: ask again
        return None
    return result.get("result", {}).get("value")


def stopped(process: subprocess.Popen, log: Path, timeout: float = 20) -> int:
    """The process's exit code once it has stopped; fails with every thread's stack (faulthandler's, on SIGABRT)
    and the log's end when it is still running after `timeout` seconds."""
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        process.wait()
        pytest.fail(f"still running {timeout} s after Ctrl-C:\n{log.read_text()[-6000:]}")


@pytest.fixture
def watching(tmp_path: Path):
    """A running `reportgen watch --port 0` on a fresh small project: (project root, page address, process, log)."""
    root = tmp_path / "project"
    write_tiny_project(root, f"tinywatch_{os.getpid()}")
    log = tmp_path / "watch.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "PYTHONFAULTHANDLER": "1"}  # a hang's stacks, when `stopped` aborts it
    with open(log, "w") as out:
        # Ctrl-C as in a terminal, even where the test runner was started with SIGINT ignored (a background job,
        # whose children inherit it; Python then leaves SIGINT ignored)
        process = subprocess.Popen([sys.executable, "-m", "reportgen", "watch", "--port", "0"], cwd=root, env=env,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        wait_for("the first build and the watcher", lambda: "Ctrl-C stops" in log.read_text() or process.poll(), 120)
        assert process.poll() is None, log.read_text()
        address = re.search(r"serving the report at (http://\S+)", log.read_text())[1]
        yield root, address, process, log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_a_saved_edit_reloads_the_page_and_an_error_replaces_the_report(watching, tmp_path: Path) -> None:
    root, address, process, log = watching
    template = root / "tpl" / "main.html.j2"
    heading = "document.querySelector('h1') && document.querySelector('h1').textContent"
    browser = start_chromium(tmp_path / "profile")
    try:
        tools = DevTools(page_socket(tmp_path / "profile", browser))
        tools.call("Page.enable")
        tools.call("Page.navigate", url=address)
        assert wait_for("the report in the page", lambda: evaluate(tools, heading), 30) == "Tiny report"
        wait_for("the page's reload channel", lambda: evaluate(tools, "typeof arel_connect === 'function'"), 10)
        time.sleep(0.5)  # its websocket connected

        template.write_text(template.read_text().replace("<h1>{{ report.title }}</h1>",
                                                         "<h1>{{ report.title }}, edited live</h1>"))
        saved = time.monotonic()
        wait_for("the edit in the open page", lambda: evaluate(tools, heading) == "Tiny report, edited live", 10)
        print(f"\nthe saved edit showed in the page after {time.monotonic() - saved:.1f} s")

        template.write_text(template.read_text().replace("edited live", "{{ report.title(}}"))
        error = wait_for("the error in the page", lambda: evaluate(
            tools, "document.getElementById('reportgen-error') && "
                   "document.getElementById('reportgen-error').textContent"), 10)
        assert error.startswith("template error:") and "main.html.j2:5" in error
        assert evaluate(tools, heading) == "Rebuild failed"  # not the previous report

        template.write_text(template.read_text().replace("{{ report.title(}}", "fixed"))
        wait_for("the report back in the page", lambda: evaluate(tools, heading) == "Tiny report, fixed", 10)

        total = "document.querySelector('p.total').textContent"
        assert "12,000" in evaluate(tools, total)  # helpers.scale(4) * 1000
        experiment = next(root.glob("tinywatch_*/basic.py"))
        experiment.write_text(experiment.read_text().replace("n: int = 4", "n: int = 5"))
        wait_for("the experiment's new result in the page", lambda: "15,000" in (evaluate(tools, total) or ""), 20)
        tools.close()
    finally:
        stop(browser)
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in the terminal
    assert stopped(process, log) == 0
    text = log.read_text()
    assert text.rstrip().endswith("reportgen: stopped watching") and "Traceback" not in text
    assert "rebuild failed: template error:" in text
