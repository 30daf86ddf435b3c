"""The TUI driven through Textual's Pilot: launch form, a real training run, stop and resume,
quit confirmation, and snapshots of the launch form and a finished run."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from arz_tui.runstore import RunLayout
from arz_tui.runstore.checkpoints import list_checkpoints
from arz_tui.tui.app import ArzApp
from arz_tui.tui.confirm import ConfirmScreen
from arz_tui.tui.launch import LaunchScreen
from arz_tui.tui.run_view import RunScreen
from arz_tui.tui.widgets import Heatmap, SeriesPlot

SIZE = (120, 40)


@pytest.fixture(autouse=True)
def _no_cuda_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARZ_TUI_CUDA", "0")


async def _wait(pilot: Any, condition: Any, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the UI")
        await pilot.pause(0.2)


async def _set(pilot: Any, selector: str, text: str) -> None:
    widget = pilot.app.screen.query_one(selector)
    widget.value = text
    await pilot.pause()


# ---------------------------------------------------------------------- the launch form
async def test_launch_form_validates_as_you_type(tmp_path: Path) -> None:
    (tmp_path / "riemann_sanity").mkdir()  # an existing run without checkpoint
    app = ArzApp(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        form = app.screen
        assert isinstance(form, LaunchScreen)
        name = form.query_one("#name")
        assert name.value == "riemann_sanity_2"  # suggested around the existing run
        start = form.query_one("#start")
        assert not start.disabled
        await _wait(pilot, lambda: form.cuda is not None, 10)
        assert form.query_one("#device-cuda").disabled
        assert "no CUDA GPU" in str(form.query_one("#device-note").render())
        await _set(pilot, "#name", "bad name!")
        assert start.disabled
        assert "letters" in str(form.query_one("#name-note").render())
        await _set(pilot, "#name", "riemann_sanity")
        assert start.disabled and "exists" in str(form.query_one("#name-note").render())
        assert form.query_one("#resume").disabled  # nothing to resume there
        await _set(pilot, "#name", "fresh")
        await _set(pilot, "#timesteps", "250")
        effective = str(form.query_one("#effective").render())
        assert "250" in effective and "sanity" in effective
        await _set(pilot, "#timesteps", "0")
        assert start.disabled
        await _set(pilot, "#timesteps", "")
        assert "100 steps" in str(form.query_one("#timesteps-note").render())
        await pilot.click("#mode-production")
        assert "100,000" in str(form.query_one("#effective").render())
        form.query_one("#sanity").value = False
        await pilot.pause()
        assert "truncated actions" in str(form.query_one("#sanity-note").render())
        assert "OFF" in str(form.query_one("#effective").render())


# ---------------------------------------------------------------------- real training
async def test_sanity_run_from_the_form_to_the_results_browser(tmp_path: Path) -> None:
    app = ArzApp(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await _set(pilot, "#timesteps", "60")
        await pilot.click("#start")
        await pilot.pause()
        run = app.screen
        assert isinstance(run, RunScreen)
        await _wait(pilot, lambda: run.exit_code is not None)
        await pilot.pause(0.5)
        state = run.state
        assert run.exit_code == 0 and state.status == "finished" and state.step == 60
        sanity = run.query_one("#sanity")
        assert sanity.row_count == 6
        assert all(row["passed"] for row in state.sanity)
        assert all(p.points > 0 for p in run.query(SeriesPlot))
        checkpoint = str(run.query_one("#checkpoint").render())
        # The last checkpoint is at the end (a kill before the final model resumes to it).
        assert "checkpoint: step 60" in checkpoint and "best model" in checkpoint
        assert run.query_one("#ts-rl", Heatmap).data is not None
        assert run.query_one("#ts-fixed", Heatmap).data is not None
        assert run.query_one("#evals").row_count >= 2  # baseline and evaluations
        # The run shows up in the results browser, finished.
        await pilot.press("escape")
        await pilot.press("f3")
        await pilot.pause(0.5)
        from arz_tui.tui.browser import ResultsScreen

        assert isinstance(app.screen, ResultsScreen)
        table = app.screen.query_one("DataTable")
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert any("riemann_sanity" in str(r[0]) and "finished" in " ".join(map(str, r))
                   for r in rows)


async def test_stop_mid_run_and_resume_it(tmp_path: Path) -> None:
    app = ArzApp(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.click("#mode-quick")
        await _set(pilot, "#timesteps", "3000")
        await _set(pilot, "#name", "stopme")
        await pilot.click("#start")
        await pilot.pause()
        run = app.screen
        await _wait(pilot, lambda: run.state.checkpoints or run.exit_code is not None)
        assert run.exit_code is None, "finished before it could be stopped"
        await pilot.press("s")
        await _wait(pilot, lambda: run.exit_code is not None)
        await pilot.pause(0.3)
        assert run.exit_code == 130 and run.state.status == "interrupted"
        stopped = run.state.step
        lay = RunLayout(tmp_path / "stopme")
        assert list_checkpoints(lay)[-1].steps == stopped < 3000
        # Back to the form: the same name offers resume.
        await pilot.press("escape")
        form = app.screen
        assert isinstance(form, LaunchScreen)
        await pilot.click("#mode-quick")
        await _set(pilot, "#timesteps", "3000")
        await _set(pilot, "#name", "stopme")
        assert not form.query_one("#resume").disabled
        assert form.query_one("#start").disabled  # exists: resume or rename
        form.query_one("#resume").value = True
        await pilot.pause()
        assert not form.query_one("#start").disabled
        await pilot.click("#start")
        await pilot.pause()
        resumed = app.screen
        await _wait(pilot, lambda: resumed.exit_code is not None)
        assert resumed.exit_code == 0
        assert resumed.state.status == "finished" and resumed.state.step == 3000
        started = [json.loads(x) for x in lay.metrics.read_text().splitlines()
                   if '"run_started"' in x]
        assert started[-1]["data"]["resumed_from"] == stopped


async def test_quit_while_training_asks_first(tmp_path: Path) -> None:
    app = ArzApp(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.click("#mode-quick")
        await _set(pilot, "#timesteps", "100000")  # still training when we quit
        await _set(pilot, "#name", "quitter")
        await pilot.click("#start")
        await pilot.pause()
        run = app.screen
        await _wait(pilot, lambda: run.state.step > 0 or run.exit_code is not None)
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is run and run.process.running
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.click("#confirm")
        await _wait(pilot, lambda: run.exit_code is not None)
        assert run.exit_code == 130  # stopped politely, with a checkpoint
        assert list_checkpoints(RunLayout(tmp_path / "quitter"))


# ---------------------------------------------------------------------- snapshots
class ReplayProcess:
    """Stands in for the training child process: replays recorded events (fixed times)."""

    events: list[dict[str, Any]] = []

    def __init__(self, args: list[str], on_event: Any, on_exit: Any) -> None:
        self.on_event = on_event
        self.on_exit = on_exit
        self.running = False

    def start(self) -> None:
        for event in self.events:
            self.on_event(event)
        self.on_exit(0, "")

    def stop(self) -> None:
        pass


def _recorded_events(run_dir: Path) -> list[dict[str, Any]]:
    t0 = 1_800_000_000.0
    ev: list[dict[str, Any]] = [{"kind": "run_started", "step": 0, "time": t0, "data": {
        "message": "starting demo", "experiment": "demo", "mode": "quick",
        "scenario": "riemann", "device": "cpu", "total_timesteps": 5000}}]
    for k, (name, measured) in enumerate([
            ("action_mapping", "2/2 actions reach their phases"),
            ("flux_config", "inflow/initial inf (entries start empty)"),
            ("control_interval", "15 s"), ("device", "cpu (requested cpu)"),
            ("reward_variety", "65 distinct rewards in 100 random steps"),
            ("queue_formation", "max queue 136.0 veh")]):
        ev.append({"kind": "sanity_result", "step": 0, "time": t0 + k,
                   "data": {"name": name, "passed": True, "measured": measured,
                            "expected": "-", "fix": "-"}})
    ev.append({"kind": "sanity_report", "step": 0, "time": t0 + 7,
               "data": {"passed": True, "message": "all sanity checks passed"}})
    ev.append({"kind": "baseline", "step": 0, "time": t0 + 8, "data": {
        "controller": "fixed-time", "mean_reward": -0.19, "episode_reward": -11.6,
        "mean_queue_veh": 16.6, "mean_delay_s": 78.5}})
    for step in range(100, 5001, 100):
        ev.append({"kind": "progress", "step": step, "time": t0 + 10 + step / 1000, "data": {
            "total": 5000, "fps": 1800.0 + (step % 700), "epsilon": max(0.05, 1 - step / 1000),
            "queue_veh": 20 + 15 * np.sin(step / 300), "mean_episode_reward": -3 + step / 2500,
            "eta_s": (5000 - step) / 1800}})
        if step % 500 == 0:
            ev.append({"kind": "episode", "step": step, "time": t0 + 10 + step / 1000,
                       "data": {"reward": -6 + step / 1000, "length": 60,
                                "totals": {"mean_queue_veh": 30 - step / 250}}})
            ev.append({"kind": "checkpoint", "step": step, "time": t0 + 10 + step / 1000,
                       "data": {"files": [f"dqn_checkpoint_{step}_steps.zip",
                                          f"replay_buffer_{step}_steps.pkl"]}})
        if step % 1000 == 0:
            ev.append({"kind": "eval", "step": step, "time": t0 + 10 + step / 1000, "data": {
                "mean_reward": -5 + step / 1200, "mean_queue_veh": 25 - step / 250,
                "mean_delay_s": 90 - step / 100}})
    ev.append({"kind": "best_model", "step": 5000, "time": t0 + 20,
               "data": {"mean_reward": -0.83}})
    ev.append({"kind": "timespace", "step": 5000, "time": t0 + 20,
               "data": {"controller": "rl", "path": str(run_dir / "eval" / "timespace_rl.npy")}})
    ev.append({"kind": "run_finished", "step": 5000, "time": t0 + 21, "data": {
        "message": "finished at step 5000",
        "rl": {"mean_reward": -0.44, "mean_queue_veh": 2.5, "mean_delay_s": 39.2},
        "fixed_time": {"mean_reward": -0.19, "mean_queue_veh": 16.6, "mean_delay_s": 78.5}}})
    return ev


def _timespace(rows: int, cols: int, queue_at: int) -> np.ndarray:
    t = np.arange(rows)[:, None]
    x = np.arange(cols)[None, :]
    tail = queue_at - (t % 40) * 0.8
    return np.where((x > tail) & (x < queue_at), 190.0, 25.0 + 10 * np.sin(x / 5.0))


def test_snapshot_launch_form(snap_compare, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)

    async def ready(pilot: Any) -> None:
        await _wait(pilot, lambda: pilot.app.screen.cuda is not None, 10)
        await pilot.pause()

    assert snap_compare(ArzApp("results"), terminal_size=SIZE, run_before=ready)


def test_snapshot_finished_run(snap_compare, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    run_dir = tmp_path / "results" / "demo"
    (run_dir / "eval").mkdir(parents=True)
    np.save(run_dir / "eval" / "timespace_rl.npy", _timespace(60, 64, 40))
    np.save(run_dir / "eval" / "timespace_fixed_time.npy", _timespace(60, 64, 52))
    ReplayProcess.events = _recorded_events(Path("results") / "demo")

    async def show_run(pilot: Any) -> None:
        await pilot.app.push_screen(RunScreen([], "demo", Path("results"), ReplayProcess))
        await pilot.pause(0.5)

    assert snap_compare(ArzApp("results"), terminal_size=SIZE, run_before=show_run)
