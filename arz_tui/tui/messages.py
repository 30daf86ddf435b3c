"""Messages screens send to the app."""

from __future__ import annotations

from pathlib import Path

from textual.message import Message


class ResumeRequested(Message):
    """The user asked to resume an interrupted run (from the results browser)."""

    def __init__(self, name: str, results_dir: Path) -> None:
        super().__init__()
        self.name = name
        self.results_dir = results_dir
