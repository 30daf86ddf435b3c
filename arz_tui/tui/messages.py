"""Messages screens send to the app."""

from __future__ import annotations

from pathlib import Path

from textual.message import Message


class ResumeRequested(Message):
    """The user asked to resume a run (results browser, or the form's Resume box); the app
    asks first, then trains it with its saved settings (and `timesteps`, when given)."""

    def __init__(self, name: str, results_dir: Path, timesteps: int | None = None) -> None:
        super().__init__()
        self.name = name
        self.results_dir = results_dir
        self.timesteps = timesteps
