"""The one-key TensorBoard hint: the command that opens a run's logs (one logdir per run, so
the curves continue across resumes), or why there are none."""

from __future__ import annotations

import shlex
from pathlib import Path

from rich.markup import escape
from textual.app import App

from arz_tui.runstore import RunLayout


def tensorboard_hint(run: Path) -> tuple[str | None, str]:
    """(the command, or None when the run has no logs, and what to tell the user)."""
    logs = RunLayout(run).tensorboard
    if not logs.is_dir():
        return None, (f"no TensorBoard logs in {logs}: start a run with --tensorboard (the "
                      "form's TensorBoard box; needs pip install -e \".[tensorboard]\")")
    command = f"tensorboard --logdir {shlex.quote(str(logs))}"
    return command, command


def show_tensorboard_hint(app: App, run: Path) -> None:
    """Notify the command (and copy it to the clipboard), or why there is none."""
    command, text = tensorboard_hint(run)
    if command is None:
        app.notify(escape(text), severity="warning", timeout=10)
        return
    app.copy_to_clipboard(command)
    app.notify(escape(text), title="TensorBoard (command copied)", timeout=15)
