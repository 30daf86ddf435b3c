"""`arz-tui serve` access control: foreign-Origin websockets refused (on loopback too), a
token off loopback, DNS-rebinding Hosts refused, bad --host/--port one line."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from arz_tui.tui.serve import allowed_hosts, guard

ROOT = Path(__file__).resolve().parent.parent


def request(path: str = "/ws", host: str = "127.0.0.1:8000", origin: str | None = None,
            token: str | None = None, cookie: str | None = None) -> SimpleNamespace:
    headers = {"Host": host}
    if origin is not None:
        headers["Origin"] = origin
    return SimpleNamespace(path=path, headers=headers,
                           query={"token": token} if token else {},
                           cookies={"arz_token": cookie} if cookie else {})


def test_guard_rules() -> None:
    hosts = allowed_hosts("127.0.0.1", 8000, loopback=True)
    assert guard(request(origin="http://127.0.0.1:8000"), None, hosts) is None
    assert guard(request(origin="http://localhost:8000", host="localhost:8000"), None,
                 hosts) is None
    assert guard(request(origin="http://localhost:8000"), None, hosts) is None
    assert "foreign Origin" in guard(request(origin="http://localhost:9999"), None, hosts)
    assert "foreign Origin" in guard(request(origin="http://evil.example"), None, hosts)
    assert "foreign Origin" in guard(request(origin="null"), None, hosts)
    assert "without Origin" in guard(request(), None, hosts)
    # DNS rebinding: evil.example resolving to 127.0.0.1 sends its own name as Host.
    assert "unknown Host" in guard(request(host="evil.example:8000",
                                           origin="http://evil.example:8000"), None, hosts)
    assert guard(request(path="/", host="127.0.0.1:8000"), None, hosts) is None
    # Off loopback: the token (query, or the cookie the index page sets) is required.
    assert "token" in guard(request(path="/", host="10.0.0.5:8000"), "s3cret", None)
    assert guard(request(path="/", host="10.0.0.5:8000", token="s3cret"), "s3cret",
                 None) is None
    assert guard(request(host="10.0.0.5:8000", origin="http://10.0.0.5:8000",
                         cookie="s3cret"), "s3cret", None) is None
    assert "token" in guard(request(host="10.0.0.5:8000", origin="http://10.0.0.5:8000",
                                    cookie="wrong"), "s3cret", None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_foreign_origin_websocket_is_refused_on_loopback(tmp_path: Path) -> None:
    import aiohttp

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "arz_tui.cli", "serve", "--port",
                               str(port), "--results-dir", str(tmp_path)], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)

        async def attempt(origin: str) -> int:
            async with aiohttp.ClientSession() as session:
                try:
                    async with session.ws_connect(f"http://127.0.0.1:{port}/ws",
                                                  headers={"Origin": origin}) as ws:
                        await ws.close()
                        return 101
                except aiohttp.WSServerHandshakeError as err:
                    return err.status

        assert asyncio.run(attempt("http://evil.example")) == 403
        assert asyncio.run(attempt(f"http://127.0.0.1:{port}")) == 101
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize("argv, words", [
    (["--host", "no-such-host.invalid"], "cannot be resolved"),
])
def test_bad_serve_flags_are_one_line(argv: list[str], words: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "arz_tui.cli", "serve", *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and words in proc.stderr


def test_busy_port_is_one_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = subprocess.run([sys.executable, "-m", "arz_tui.cli", "serve", "--port",
                               str(port)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "in use" in proc.stderr
