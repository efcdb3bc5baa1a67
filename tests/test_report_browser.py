"""The HTML report in a real browser: headless Chromium opens build/report.html, every image loads, every
contents link of the sidebar brings its target to the top of the window, and a screenshot goes to the test log.

Chromium is driven through the DevTools protocol with the small websocket client below (no new dependency).
The test is skipped, with the reason, when Debian's `chromium` is not installed (`.ci/run` installs it).
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTH, HEIGHT = 1400, 1000
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium): "
                                                         "the browser test needs it")

CHECKS = """
(async () => {
  if (document.readyState !== "complete") { await new Promise(r => addEventListener("load", r)); }
  const images = [...document.images].map(i => ({src: i.getAttribute("src").slice(0, 80),
                                                  ok: i.complete && i.naturalWidth > 0}));
  const frame = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const links = [];
  for (const a of document.querySelectorAll("#sidebar a[href^='#']")) {
    window.scrollTo(0, 0);
    await frame();
    a.click();
    await frame();
    const target = document.getElementById(decodeURIComponent(a.hash.slice(1)));
    const root = document.scrollingElement;
    links.push({href: a.getAttribute("href"), hash: location.hash, found: target !== null,
                top: target ? target.getBoundingClientRect().top : null,
                height: target ? target.getBoundingClientRect().height : 0,
                scrolled: window.scrollY,
                atBottom: Math.ceil(window.scrollY + innerHeight) >= root.scrollHeight - 1,
                sidebarTop: document.getElementById("sidebar").getBoundingClientRect().top});
  }
  window.scrollTo(0, 0);
  await frame();
  return {images, links, innerHeight};
})()
"""


class DevTools:
    """A minimal websocket client (RFC 6455: masked text frames out, text frames in) speaking Chrome's
    DevTools protocol: call(method, **params) returns the result, skipping the events in between."""

    def __init__(self, url: str, timeout: float = 60):
        parsed = urlparse(url)
        self.sock = socket.create_connection((parsed.hostname, parsed.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {parsed.path} HTTP/1.1\r\nHost: {parsed.hostname}:{parsed.port}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        response = b""
        while b"\r\n\r\n" not in response:
            response += self.sock.recv(4096)
        assert response.startswith(b"HTTP/1.1 101"), response[:200]
        self.next_id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self._send(json.dumps({"id": self.next_id, "method": method, "params": params}).encode())
        while True:
            message = json.loads(self._receive())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def _send(self, payload: bytes) -> None:
        mask = os.urandom(4)
        n = len(payload)
        header = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                                  bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536 else
                                  bytes([0x80 | 127]) + struct.pack(">Q", n))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _receive(self) -> str:
        parts = []
        while True:
            first, second = self._exactly(2)
            n = second & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exactly(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exactly(8))[0]
            payload = self._exactly(n)
            opcode = first & 0x0F
            if opcode == 8:
                raise ConnectionError("Chromium closed the DevTools connection")
            if opcode in (0, 1):
                parts.append(payload)
                if first & 0x80:
                    return b"".join(parts).decode()

    def _exactly(self, n: int) -> bytes:
        data = bytearray()
        while len(data) < n:
            chunk = self.sock.recv(min(n - len(data), 1 << 20))
            if not chunk:
                raise ConnectionError("Chromium closed the DevTools connection")
            data += chunk
        return bytes(data)

    def close(self) -> None:
        self.sock.close()


def start_chromium(profile: Path) -> subprocess.Popen:
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run", "--no-default-browser-check",
               f"--user-data-dir={profile}", "--remote-debugging-port=0", f"--window-size={WIDTH},{HEIGHT}",
               "about:blank"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def page_socket(profile: Path, browser: subprocess.Popen, timeout: float = 30) -> str:
    """The websocket address of the browser's page, once Chromium has written its DevTools port."""
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if browser.poll() is not None:
            pytest.fail(f"chromium exited with {browser.returncode} before opening its DevTools port")
        if port_file.is_file() and port_file.read_text().strip():
            port = int(port_file.read_text().split()[0])
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
                pages = [t for t in json.load(response) if t.get("type") == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
        time.sleep(0.1)
    pytest.fail(f"chromium opened no DevTools port within {timeout} s")


def stop(browser: subprocess.Popen) -> None:
    """End the browser and the helper processes it started (its own process group)."""
    try:
        os.killpg(browser.pid, signal.SIGTERM)
        browser.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(browser.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def browser_run(built_report, tmp_path_factory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("browser")
    browser = start_chromium(folder / "profile")
    try:
        tools = DevTools(page_socket(folder / "profile", browser))
        tools.call("Page.enable")
        tools.call("Page.navigate", url=built_report.html.resolve().as_uri())
        result = tools.call("Runtime.evaluate", expression=CHECKS, awaitPromise=True, returnByValue=True,
                            timeout=60000)
        if "exceptionDetails" in result:
            pytest.fail(f"the checks failed in the page: {result['exceptionDetails']}")
        shot = folder / "report-top.png"
        shot.write_bytes(base64.b64decode(tools.call("Page.captureScreenshot", format="png")["data"]))
        tools.close()
    finally:
        stop(browser)
    print(f"\nscreenshot of build/report.html in Chromium: {shot}")
    return {**result["result"]["value"], "screenshot": shot}


def test_every_image_loaded(browser_run) -> None:
    broken = [i["src"] for i in browser_run["images"] if not i["ok"]]
    assert broken == []


def test_every_contents_link_brings_its_target_into_view(browser_run) -> None:
    links = browser_run["links"]
    assert len(links) >= 22 + 9  # every question and every chapter and section
    for link in links:
        assert link["found"], f"{link['href']}: no element has this id"
        assert link["hash"] == link["href"], f"{link['href']}: the click did not navigate"
        assert link["height"] > 0, f"{link['href']}: the target is not displayed"
        at_top = abs(link["top"]) <= 2
        as_far_as_possible = link["atBottom"] and 0 <= link["top"] < browser_run["innerHeight"]
        assert at_top or as_far_as_possible, f"{link['href']}: target at {link['top']} px after the click"
        assert link["sidebarTop"] == 0, "the contents sidebar scrolled away (it must stay in view)"
    assert any(link["scrolled"] > 0 for link in links)


def test_screenshot_saved(browser_run) -> None:
    shot: Path = browser_run["screenshot"]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
