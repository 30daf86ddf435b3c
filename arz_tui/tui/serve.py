"""`arz-tui serve`: the same app in a browser through textual-serve (loopback by default)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path


def serve(host: str = "127.0.0.1", port: int = 8000, results_dir: Path | None = None) -> int:
    from textual_serve.server import Server

    command = [sys.executable, "-m", "arz_tui.tui"]
    if results_dir is not None:
        command += ["--results-dir", str(results_dir)]
    templates = Path(__file__).parent / "templates"  # absolute: textual-serve accepts it
    Server(shlex.join(command), host=host, port=port, title="arz-tui",
           templates_path=templates).serve()
    return 0
