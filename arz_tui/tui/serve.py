"""`arz-tui serve`: the same app in a browser through textual-serve (loopback by default).

Whoever reaches the websocket drives the app, and the app starts training: so every
websocket whose Origin is not this server's own page is refused (also on loopback, where any
web page the user opens could otherwise connect), the Host must be one this server answers to
(DNS rebinding), and on any non-loopback address a token is required (random and printed at
start, or --token), with a warning that training is exposed to the network.
"""

from __future__ import annotations

import errno
import hmac
import ipaddress
import secrets
import shlex
import socket
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from arz_tui.errors import ArzError

TOKEN_COOKIE = "arz_token"


def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` names; ArzError when it names none."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise ArzError(f"--host {host!r} cannot be resolved ({err}); give an address such as "
                       "127.0.0.1") from None
    return sorted({str(info[4][0]) for info in infos})


def is_loopback(addresses: list[str]) -> bool:
    try:
        return all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)
    except ValueError:
        return False


def check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise ArzError(f"--port {port} is in use on {host}; choose another --port") \
                    from None
            raise ArzError(f"cannot listen on {host}:{port} ({err.strerror or err})") from None


def allowed_hosts(host: str, port: int, loopback: bool) -> set[str]:
    """Host headers this server answers to (anything else is a rebinding attempt)."""
    names = {host, f"[{host}]" if ":" in host else host}
    if loopback:
        names |= {"localhost", "127.0.0.1", "[::1]"}
    else:
        names |= {socket.gethostname(), socket.getfqdn()}
    return {f"{n}:{port}" for n in names} | ({n for n in names} if port == 80 else set())


def guard(request: Any, token: str | None, hosts: set[str] | None) -> str | None:
    """Why a request is refused (None when it may pass)."""
    host = request.headers.get("Host", "")
    if hosts is not None and host not in hosts:
        return f"unknown Host {host!r}"
    if token is not None:
        given = request.query.get("token") or request.cookies.get(TOKEN_COOKIE) or ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            return "missing or wrong token"
    if request.path == "/ws":
        origin = request.headers.get("Origin")
        if origin is None:
            return "websocket without Origin"
        parts = urlsplit(origin)
        # The page may be opened as localhost while its script connects to 127.0.0.1 (the
        # server's public URL): any name of this server is its own origin.
        own = hosts if hosts is not None else {host}
        if parts.scheme not in ("http", "https") or parts.netloc not in own:
            return f"websocket from foreign Origin {origin!r}"
    return None


def make_server(command: str, host: str, port: int, token: str | None,
                hosts: set[str] | None, templates: Path) -> Any:
    from aiohttp import web
    from textual_serve.server import Server

    class GuardedServer(Server):
        async def _make_app(self) -> web.Application:
            app = await super()._make_app()

            @web.middleware
            async def check(request: web.Request, handler: Any) -> web.StreamResponse:
                why = guard(request, token, hosts)
                if why is not None:
                    return web.Response(status=403, text=f"forbidden: {why}\n")
                response = await handler(request)
                if token is not None and request.query.get("token") == token:
                    response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")
                return response

            app.middlewares.append(check)
            return app

    return GuardedServer(command, host=host, port=port, title="arz-tui",
                         templates_path=templates)


def serve(host: str = "127.0.0.1", port: int = 8000, results_dir: Path | None = None,
          token: str | None = None) -> int:
    addresses = resolve(host, port)
    loopback = is_loopback(addresses)
    check_port_free(host, port)
    if not loopback:
        token = token or secrets.token_urlsafe(18)
        print(f"warning: serving on {host} exposes arz-tui (which starts training and "
              "writes results) to the network; only people with the token can use it:\n"
              f"  http://{host}:{port}/?token={token}", file=sys.stderr)
    command = [sys.executable, "-m", "arz_tui.tui"]
    if results_dir is not None:
        command += ["--results-dir", str(results_dir)]
    templates = Path(__file__).parent / "templates"  # absolute: textual-serve accepts it
    make_server(shlex.join(command), host, port, token,
                allowed_hosts(host, port, loopback) if loopback else None,
                templates).serve()
    return 0
