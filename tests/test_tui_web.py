"""`arz-tui serve` end to end: a real server, a real headless Chromium.

The browser loads the page, textual-serve's script opens its websocket, the server starts the
app (`python -m arz_tui.tui`) behind it, and the app's screen streams to the browser's
terminal. xterm.js draws that terminal on a canvas, so the test wraps the page's WebSocket
(via the DevTools protocol, before the page's scripts run) and reads the terminal bytes the
browser received: the launch form's text must be among them.

Also: `arz-tui serve` without --host listens on loopback only.

Skipped, with the reason, only when no Chromium is found (`apt-get install chromium`; .ci/run
installs it when it can).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable",
            "chrome", "headless_shell")
SERVER_TIMEOUT_S = 20.0
BROWSER_TIMEOUT_S = 20.0
APP_TIMEOUT_S = 30.0

# Runs in the page before its own scripts: keeps the text of every websocket message.
RECORD_WEBSOCKETS = r"""
(() => {
  window.__arzText = [];
  window.__arzSockets = 0;
  const Native = window.WebSocket;
  const decoder = new TextDecoder();
  const keep = (data) => {
    if (typeof data === "string") window.__arzText.push(data);
    else if (data instanceof ArrayBuffer) window.__arzText.push(decoder.decode(data));
    else if (data instanceof Blob) data.text().then((t) => window.__arzText.push(t));
  };
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      window.__arzSockets += 1;
      this.addEventListener("message", (event) => keep(event.data));
    }
  };
})();
"""

PAGE_STATE = """JSON.stringify({
  body: document.body ? document.body.className : "",
  text: document.body ? document.body.textContent : "",
  sockets: window.__arzSockets || 0,
  stream: (window.__arzText || []).join(""),
})"""

ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")


def find_browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def arz_tui() -> list[str]:
    script = Path(sys.executable).with_name("arz-tui")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "arz_tui.cli"]


def child_env() -> dict[str, str]:
    """No COLUMNS/LINES (pytest's process environment may hold some that os.environ does not
    show), no CUDA probe."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["ARZ_TUI_CUDA"] = "0"
    return env


def stop_group(proc: subprocess.Popen[Any]) -> None:
    """End a process started in its own session, with what it started (the served app)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait(timeout=5)


def wait_for_port(host: str, port: int, proc: subprocess.Popen[Any], log: Path) -> None:
    deadline = time.monotonic() + SERVER_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"arz-tui serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"arz-tui serve did not accept connections on {host}:{port} within "
                f"{SERVER_TIMEOUT_S:.0f} s:\n{log.read_text()}")


def start_server(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[bytes], int, Path]:
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*arz_tui(), "serve", *extra, "--port", str(port),
             "--results-dir", str(tmp_path / "results")],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=tmp_path,
            env=child_env(), start_new_session=True)
    return proc, port, log


@pytest.fixture
def servers() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for proc in started:
            stop_group(proc)


# ---------------------------------------------------------------------- DevTools protocol
class Page:
    """The smallest DevTools-protocol client: one page target over aiohttp's websocket."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.next_id = 0

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        await self.ws.send_json({"id": self.next_id, "method": method, "params": params})
        while True:
            reply = await asyncio.wait_for(self.ws.receive_json(), timeout=BROWSER_TIMEOUT_S)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    async def state(self) -> dict[str, Any]:
        result = await self.call("Runtime.evaluate", expression=PAGE_STATE, returnByValue=True)
        value = result.get("result", {}).get("value")
        return json.loads(value) if isinstance(value, str) else {}


def devtools_port(profile: Path, browser: subprocess.Popen[bytes], log: Path) -> int:
    """Chromium writes its DevTools port into the profile when started with port 0."""
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + BROWSER_TIMEOUT_S
    while time.monotonic() < deadline:
        if browser.poll() is not None:
            pytest.fail(f"chromium exited with {browser.returncode}:\n{log.read_text()[-3000:]}")
        try:
            return int(marker.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            time.sleep(0.1)
    pytest.fail(f"chromium did not open its DevTools port:\n{log.read_text()[-3000:]}")


async def load_app_page(devtools: int, url: str) -> dict[str, Any]:
    """Open `url`, and wait until the app's launch form reached the page's terminal."""
    import aiohttp  # textual-serve's own dependency

    targets = json.loads(urllib.request.urlopen(
        f"http://127.0.0.1:{devtools}/json/list", timeout=10).read())
    target = next(t for t in targets if t.get("type") == "page")
    async with aiohttp.ClientSession() as session, session.ws_connect(
            target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
        page = Page(ws)
        await page.call("Page.enable")
        await page.call("Page.addScriptToEvaluateOnNewDocument", source=RECORD_WEBSOCKETS)
        await page.call("Page.navigate", url=url)
        deadline = time.monotonic() + APP_TIMEOUT_S
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            state = await page.state()
            screen = ANSI.sub("", state.get("stream", ""))
            if "Start training" in screen and "Effective configuration" in screen:
                break
            await asyncio.sleep(0.2)
        state["screen"] = ANSI.sub("", state.get("stream", ""))
        return state


def test_browser_shows_the_app(tmp_path: Path, servers: list[subprocess.Popen[bytes]]) -> None:
    chromium = find_browser()
    if chromium is None:
        pytest.skip("no Chromium found (tried " + ", ".join(BROWSERS) + "); install it, e.g. "
                    "`apt-get install -y chromium`, to run the browser test")
    server, port, server_log = start_server(tmp_path, "--host", "127.0.0.1")
    servers.append(server)
    wait_for_port("127.0.0.1", port, server, server_log)

    profile = tmp_path / "chromium-profile"
    browser_log = tmp_path / "chromium.log"
    with browser_log.open("wb") as out:
        browser = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--disable-dev-shm-usage", "--window-size=1280,900",
             f"--user-data-dir={profile}", "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=0", "about:blank"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=child_env(), start_new_session=True)
    servers.append(browser)
    devtools = devtools_port(profile, browser, browser_log)

    state = asyncio.run(load_app_page(devtools, f"http://127.0.0.1:{port}/"))
    detail = (f"page state: body class={state.get('body')!r}, sockets={state.get('sockets')}, "
              f"terminal text:\n{state.get('screen', '')[-3000:]}\nserver log:\n"
              f"{server_log.read_text()[-3000:]}")
    # The page itself: textual-serve's template shows the title serve.py gives it.
    assert "arz-tui" in state.get("text", ""), detail
    # The app behind the websocket: its first bytes arrived and the launch form painted.
    assert state.get("sockets", 0) >= 1, detail
    assert "-first-byte" in state.get("body", ""), detail
    screen = state["screen"]
    assert "arz-tui" in screen, detail  # the app's header title
    assert "new training run" in screen, detail
    assert "Start training" in screen and "Effective configuration" in screen, detail


def listening_addresses(port: int) -> set[str]:
    """Local addresses of the listening TCP sockets on `port` (Linux /proc/net/tcp*)."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if fields[3] == "0A" and int(port_hex, 16) == port and len(address) == width:
                if width == 8:
                    found.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1]))
                else:
                    raw = b"".join(bytes.fromhex(address[i:i + 8])[::-1]
                                   for i in range(0, 32, 8))
                    found.add(socket.inet_ntop(socket.AF_INET6, raw))
    return found


def non_loopback_address() -> str | None:
    """An address of this machine other than loopback, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: a route lookup only
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_serve_listens_on_loopback_by_default(
        tmp_path: Path, servers: list[subprocess.Popen[bytes]]) -> None:
    server, port, server_log = start_server(tmp_path)  # no --host
    servers.append(server)
    wait_for_port("127.0.0.1", port, server, server_log)
    if Path("/proc/net/tcp").exists():
        assert listening_addresses(port) == {"127.0.0.1"}, server_log.read_text()
    other = non_loopback_address()
    if other is not None:
        with pytest.raises(OSError), socket.create_connection((other, port), timeout=2):
            pass
    assert f"http://127.0.0.1:{port}" in server_log.read_text()
