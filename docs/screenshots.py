"""Regenerate the SVG screenshots of docs/tui.md from a real run.

    .venv/bin/python docs/screenshots.py

Trains a short quick-mode run of riemann (about a minute on one core) into a temporary
results folder, then drives the app headless (Textual's `run_test`) and saves each screen with
`save_screenshot`. The dashboard shots replay that run's own event log (`logs/metrics.jsonl`):
every number in them was measured by the run.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "screenshots"
SMALL, LARGE = (80, 24), (140, 45)


class Finished:
    """Stands in for the training child of a run that has already ended."""

    def __init__(self, args: list[str], on_event: Any, on_exit: Any) -> None:
        self.on_exit = on_exit
        self.running = False

    def start(self) -> None:
        self.on_exit(0, "")

    def stop(self) -> None:
        pass


async def _settle(pilot: Any, seconds: float = 1.0) -> None:
    await pilot.pause(seconds)


async def shoot(results: Path, work: Path) -> list[str]:
    from arz_tui.runstore.reader import load_events
    from arz_tui.tui.app import ArzApp
    from arz_tui.tui.run_view import RunScreen

    written: list[str] = []
    run = results / "riemann_quick"
    history = [e.model_dump(mode="json") for e in load_events(run, results)]

    async def launch(size: tuple[int, int], name: str, keys: tuple[str, ...] = ()) -> None:
        app = ArzApp(results)
        async with app.run_test(size=size) as pilot:
            await _settle(pilot, 2.0)
            for key in keys:
                await pilot.press(key)
                await _settle(pilot, 0.5)
            app.save_screenshot(str(OUT / name))
            written.append(name)

    async def dashboard(size: tuple[int, int], name: str, tab: str) -> None:
        app = ArzApp(results)
        async with app.run_test(size=size) as pilot:
            await _settle(pilot, 1.0)
            await app.push_screen(RunScreen([], "riemann_quick", results, Finished,
                                            history=history))
            await _settle(pilot, 1.0)
            await pilot.press(tab)
            await _settle(pilot, 2.0)
            app.save_screenshot(str(OUT / name))
            written.append(name)

    await launch(SMALL, "launch-80x24.svg")
    await launch(LARGE, "launch-140x45.svg")
    await launch(SMALL, "help-80x24.svg", ("f1",))
    await dashboard(LARGE, "dashboard-curves-140x45.svg", "1")
    await dashboard(LARGE, "dashboard-timespace-140x45.svg", "2")
    await dashboard(SMALL, "dashboard-timespace-80x24.svg", "2")
    await dashboard(SMALL, "dashboard-evaluations-80x24.svg", "5")
    await launch(LARGE, "browser-140x45.svg", ("f3",))
    await launch(LARGE, "palette-140x45.svg", ("ctrl+p", "r", "e", "s"))
    return written


def main() -> int:
    OUT.mkdir(exist_ok=True)
    os.environ.setdefault("ARZ_TUI_CUDA", "0")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results = work / "results"
        subprocess.run([sys.executable, "-m", "arz_tui.cli", "run", "--mode", "quick",
                        "--scenario", "riemann", "--timesteps", "3000", "--results-dir",
                        str(results)], check=True, cwd=work, stdout=subprocess.DEVNULL)
        os.chdir(work)  # the form scans ./ and ./scenarios
        written = asyncio.run(shoot(results, work))
    for name in written:
        svg = OUT / name
        # The temporary folder's path would change on every run: show it as ./results.
        svg.write_text(svg.read_text(encoding="utf-8").replace(str(results), "results"),
                       encoding="utf-8")
    print("\n".join(str(OUT / n) for n in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
