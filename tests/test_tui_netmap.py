"""The network map in the TUI: live in the run dashboard (tab 6), replayed frame by frame in
the results browser (tab 8), one line for a missing or hostile stream, and 80x24 snapshots."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from textual.widgets import DataTable, Static
from tui_pilot import open_run, wait_until

from arz_tui.env import TrafficSignalEnv
from arz_tui.runstore import RunLayout
from arz_tui.runstore.netstate import NetFrame, NetHeader, NetStateWriter
from arz_tui.training.netstate_log import network_frame, network_header
from arz_tui.tui.app import ArzApp
from arz_tui.tui.run_view import TABS, RunScreen
from arz_tui.tui.widgets.netmap import MapPane, NetworkMap

STUDIES = Path(__file__).parent / "fixtures" / "browser_studies"
FRAMES = 12


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ARZ_TUI_CUDA", "0")
    monkeypatch.chdir(tmp_path)


_RECORDED: list[Any] = []


def _recorded() -> tuple[NetHeader, list[NetFrame]]:
    """grid4x4 under one fixed phase for 12 decisions: the north-south green lets the
    east-west approaches fill (computed once per test process)."""
    if not _RECORDED:
        env = TrafficSignalEnv(scenario="grid4x4", joint_action=False)
        env.reset(seed=0)
        frames = []
        for k in range(FRAMES):
            env.step(np.zeros(16, dtype=np.int64))
            frames.append(network_frame(env, 1600 * (k + 1)))
        _RECORDED.extend([network_header(env, stride=1600), frames])
    return _RECORDED[0], _RECORDED[1]


def _write(layout: RunLayout, frames: int = FRAMES) -> NetStateWriter:
    header, recorded = _recorded()
    writer = NetStateWriter(layout.netstate, header)
    for frame in recorded[:frames]:
        writer.append(frame)
    return writer


def _caption(pane: MapPane) -> str:
    return str(pane.query_one(".map-caption", Static).render())


# ---------------------------------------------------------------------- the dashboard
class _Finished:
    """Stands in for the training child: a run that has ended (no events)."""

    def __init__(self, args: list[str], on_event: Any, on_exit: Any) -> None:
        self.on_exit = on_exit
        self.running = False

    def start(self) -> None:
        self.on_exit(0, "")

    def stop(self) -> None:
        pass


async def test_dashboard_map_follows_the_stream(tmp_path: Path) -> None:
    layout = RunLayout(tmp_path / "results" / "demo")
    async with ArzApp("results").run_test(size=(100, 30)) as pilot:
        run = RunScreen([], "demo", Path("results"), _Finished)
        await pilot.app.push_screen(run)
        await pilot.press(str(TABS.index("map") + 1))
        pane = run.query_one("#map-pane", MapPane)
        await wait_until(pilot, lambda: "waiting for the first frame" in _caption(pane))
        writer = _write(layout, 5)
        await wait_until(pilot, lambda: pane.frame is not None and pane.frame.step == 5 * 1600)
        _, frames = _recorded()
        assert "live: step 8,000" in _caption(pane) and "(5 frames)" in _caption(pane)
        widget = pane.query_one(NetworkMap)
        assert np.allclose(widget.occupancy, frames[4].occupancy_fraction())
        table = pane.query_one(DataTable)
        assert table.row_count == 16
        queues = [float(table.get_row_at(i)[2]) for i in range(16)]
        assert queues == sorted(queues, reverse=True) and queues[0] > 0
        writer.append(frames[5])  # training goes on: the map follows
        await wait_until(pilot, lambda: pane.frame.step == 6 * 1600)
        assert "(6 frames)" in _caption(pane)
        writer.close()
        layout.netstate.write_bytes(b'{"kind": "header", "nodes": NaN}\n')
        await wait_until(pilot, lambda: "unreadable" in _caption(pane))
        assert "\n" not in _caption(pane) and pane.frame is None


# ---------------------------------------------------------------------- the browser
@pytest.fixture
def results(tmp_path: Path) -> Path:
    dest = tmp_path / "results"
    shutil.copytree(STUDIES, dest)
    return dest


async def test_browser_replays_the_map(results: Path) -> None:
    _write(RunLayout(results / "grp_s0")).close()
    async with ArzApp("results").run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, "grp_s0")
        assert screen.map_stream is None  # not read until the tab is open
        await pilot.press("8")
        pane = screen.query_one("#map-pane", MapPane)
        await wait_until(pilot, lambda: pane.frame is not None)
        assert screen.map_index == FRAMES - 1  # the latest frame first
        assert f"frame {FRAMES}/{FRAMES}" in _caption(pane)
        assert "step 19,200" in _caption(pane) and "t 180 s" in _caption(pane)
        _, frames = _recorded()
        widget = pane.query_one(NetworkMap)
        for key, index in (("left_square_bracket", FRAMES - 2), ("less_than_sign", 0),
                           ("right_square_bracket", 1), ("right_curly_bracket", 11),
                           ("left_curly_bracket", 1), ("greater_than_sign", FRAMES - 1)):
            await pilot.press(key)
            await pilot.pause()
            assert screen.map_index == index, key
            assert f"frame {index + 1}/{FRAMES}" in _caption(pane)
            assert np.allclose(widget.occupancy, frames[index].occupancy_fraction())
        # The queue of the east-west approaches grows in red over the replay.
        assert frames[-1].occupancy_fraction().max() > frames[0].occupancy_fraction().max()
        # The map keys belong to the map tab: elsewhere they do nothing.
        await pilot.press("1", "less_than_sign")
        assert screen.map_index == FRAMES - 1


@pytest.mark.parametrize(("content", "says"), [
    (None, "no network map in this run"),
    pytest.param(b"x" * 100 + b"\n", "network map unreadable", marks=pytest.mark.slow),
    pytest.param(b'{"kind": "header", "nodes": [], "links": ["a"], "link_ends": [], '
                 b'"signals": [], "signal_nodes": []}\n', "bad map header",
                 marks=pytest.mark.slow),
], ids=["missing", "garbage", "bad-header"])
async def test_browser_map_of_a_missing_or_hostile_stream(results: Path, content: bytes | None,
                                                          says: str) -> None:
    path = RunLayout(results / "grp_s0").netstate
    path.parent.mkdir(parents=True, exist_ok=True)
    if content is not None:
        path.write_bytes(content)
    async with ArzApp("results").run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, "grp_s0")
        await pilot.press("8")
        pane = screen.query_one("#map-pane", MapPane)
        await wait_until(pilot, lambda: says in _caption(pane))
        assert "\n" not in _caption(pane) and pane.header is None
        await pilot.press("left_square_bracket")  # nothing to move through: no error


@pytest.mark.slow  # a Pilot session (~8 s on a loaded machine); the reader's test is fast
async def test_browser_map_skips_a_torn_frame(results: Path) -> None:
    layout = RunLayout(results / "grp_s0")
    _write(layout, 3).close()
    with open(layout.netstate, "ab") as fh:
        fh.write(b'{"kind": "frame", "step": 99999, "t_s": 1')  # a kill mid-write
    async with ArzApp("results").run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, "grp_s0")
        await pilot.press("8")
        pane = screen.query_one("#map-pane", MapPane)
        await wait_until(pilot, lambda: pane.frame is not None)
        assert "frame 3/3" in _caption(pane) and "1 damaged lines skipped" in _caption(pane)


# ---------------------------------------------------------------------- snapshots
def test_snapshot_dashboard_map(snap_compare, tmp_path: Path) -> None:
    _write(RunLayout(tmp_path / "results" / "demo")).close()

    async def show(pilot: Any) -> None:
        run = RunScreen([], "demo", Path("results"), _Finished)
        await pilot.app.push_screen(run)
        await pilot.press(str(TABS.index("map") + 1))
        pane = run.query_one("#map-pane", MapPane)
        await wait_until(pilot, lambda: pane.frame is not None)
        await pilot.pause(0.3)

    assert snap_compare(ArzApp("results"), terminal_size=(80, 24), run_before=show)


def test_snapshot_browser_map(snap_compare, results: Path) -> None:
    _write(RunLayout(results / "grp_s0")).close()

    async def show(pilot: Any) -> None:
        screen = await open_run(pilot, "grp_s0")
        await pilot.press("8")
        pane = screen.query_one("#map-pane", MapPane)
        await wait_until(pilot, lambda: pane.frame is not None)
        await pilot.press("left_curly_bracket")
        await pilot.pause(0.3)

    assert snap_compare(ArzApp("results"), terminal_size=(80, 24), run_before=show)
