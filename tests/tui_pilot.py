"""Pilot helpers the TUI tests share: wait for a condition, open a run in the browser."""

from __future__ import annotations

import time
from typing import Any

from textual.widgets import DataTable

from arz_tui.tui.browser import ResultsScreen


async def wait_until(pilot: Any, condition: Any, timeout: float = 30.0,
                     poll: float = 0.05) -> None:
    """Let the app run until `condition()` holds; AssertionError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the UI")
        await pilot.pause(poll)


async def open_run(pilot: Any, name: str) -> ResultsScreen:
    """The browser (F3) with run or group `name` selected and its details loaded."""
    await pilot.pause()
    await pilot.press("f3")
    screen = pilot.app.screen
    assert isinstance(screen, ResultsScreen)
    await wait_until(pilot, lambda: name in screen.infos)
    table = screen.query_one("#runs", DataTable)
    table.move_cursor(row=table.get_row_index(name))
    await wait_until(pilot, lambda: screen.details is not None and screen.details.name == name)
    return screen
