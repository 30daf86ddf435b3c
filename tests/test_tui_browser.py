"""The results browser (ResultsScreen) driven with Textual's Pilot on fixture run folders.

The fixture tree (tests/fixtures/browser_results, written by tests/fixtures/make_results.py)
is copied to tmp_path first: tests never touch committed files.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import DataTable, Log, Static, TabbedContent

from arz_tui.tui.browser import ResultsScreen, fmt_time
from arz_tui.tui.messages import ResumeRequested
from arz_tui.tui.widgets import Heatmap, SeriesPlot

FIXTURES = Path(__file__).parent / "fixtures" / "browser_results"
FAST = 0.1  # refresh interval of the live tests, s

EXPECTED = {  # name -> (status, table note)
    "riemann_quick": ("finished", ""),
    "lagos_production": ("interrupted", "resumable (r)"),
    # Killed before its first checkpoint: resumable from step 0 (the name is not lost).
    "simple_killed": ("interrupted", "from step 0 (r)"),
    "broken_run": ("unreadable", "bad config JSON"),
    "odd_events": ("unreadable", "corrupt run files"),
    "foreign_folder": ("unreadable", "not a run folder"),
    "stray.txt": ("unreadable", "a plain file"),
}


class BrowserApp(App):
    """The smallest host of a ResultsScreen; records resume requests and notifications."""

    TITLE = "arz-tui"

    def __init__(self, results_dir: Path, refresh_interval: float = 1.0) -> None:
        super().__init__()
        self.results_dir = results_dir
        self.refresh_interval = refresh_interval
        self.resumes: list[tuple[str, Path]] = []
        self.notes: list[str] = []

    def on_mount(self) -> None:
        self.push_screen(ResultsScreen(self.results_dir, refresh_interval=self.refresh_interval))

    def on_resume_requested(self, message: ResumeRequested) -> None:
        self.resumes.append((message.name, message.results_dir))

    def notify(self, message: str, **kwargs) -> None:
        self.notes.append(str(message))
        super().notify(message, **kwargs)


@pytest.fixture
def results(tmp_path: Path) -> Path:
    dest = tmp_path / "results"
    shutil.copytree(FIXTURES, dest)
    return dest


# ---------------------------------------------------------------------- helpers
def screen_of(app: App) -> ResultsScreen:
    assert isinstance(app.screen, ResultsScreen)
    return app.screen


def table_rows(screen: ResultsScreen) -> dict[str, list[str]]:
    table = screen.query_one("#runs", DataTable)
    rows = {}
    for row_key in table.rows:
        cells = [str(c) for c in table.get_row(row_key)]
        rows[row_key.value] = cells
    return rows


def text_of(static: Static) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(static.content)
    return console.export_text()


async def wait_for(pilot: Pilot, condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the browser"
        await pilot.pause(0.05)


async def go_to(pilot: Pilot, name: str) -> None:
    """Move the run list's cursor to `name` with the keyboard."""
    screen = screen_of(pilot.app)
    order = [r.name for r in screen.runs]
    table = screen.query_one("#runs", DataTable)
    steps = order.index(name) - table.cursor_row
    for _ in range(abs(steps)):
        await pilot.press("down" if steps > 0 else "up")
    await pilot.pause()
    assert screen.selected == name


def add_run(results: Path, name: str, events: list[dict]) -> Path:
    run = results / name
    (run / "logs").mkdir(parents=True)
    config = json.loads((results / "riemann_quick" / "training_config.json").read_text())
    config["training"]["experiment_name"] = name
    (run / "training_config.json").write_text(json.dumps(config))
    with open(run / "logs" / "metrics.jsonl", "w") as fh:
        for e in events:
            fh.write(json.dumps(e) + "\n")
    return run


def event(kind: str, step: int, t: float, **data) -> dict:
    return {"kind": kind, "step": step, "data": data, "time": t}


# ---------------------------------------------------------------------- tests
def test_dates_are_utc_whatever_the_local_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        assert fmt_time(1772460000.0) == "2026-03-02 14:00"
        assert fmt_time(None) == "-"
        assert fmt_time(float("nan")) == "-"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


@pytest.mark.asyncio
async def test_list_shows_every_run_with_its_status(results: Path) -> None:
    app = BrowserApp(results)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = screen_of(app)
        rows = table_rows(screen)
        assert set(rows) == set(EXPECTED)
        for name, (status, note) in EXPECTED.items():
            assert rows[name][6] == status, name
            assert rows[name][7] == note, name
        # Runs newest first (by their first event, in UTC), unreadable entries last.
        assert list(rows)[:3] == ["riemann_quick", "lagos_production", "simple_killed"]
        assert rows["riemann_quick"][5] == "2026-03-02 14:00"
        assert rows["riemann_quick"][3] == "5,000/5,000"
        assert rows["riemann_quick"][4] == "-3.00"
        assert rows["lagos_production"][1:4] == ["lagos", "production", "6,000/100,000"]
        # The reasons in full.
        assert screen.infos["broken_run"].reason == "training_config.json is not valid JSON"
        assert "wrong shape" in (screen.infos["odd_events"].reason or "")
        # The newest run is highlighted and shown.
        assert screen.selected == "riemann_quick"


@pytest.mark.asyncio
async def test_selecting_runs_shows_their_details(results: Path) -> None:
    app = BrowserApp(results)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = screen_of(app)
        config = text_of(screen.query_one("#config", Static))
        for expected in ("riemann", "quick", "5,000", "0.0005", "[64, 64]",
                         "queue", "2026-03-02 14:00 UTC"):
            assert expected in config
        assert "seed" in config and " 7" in config

        summary = screen.query_one("#summary", DataTable)
        assert [str(c) for c in summary.get_row("mean_delay_s")][:3] == [
            "mean delay (s/veh)", "70.0", "80.0"]
        assert [str(c) for c in summary.get_row("vehicles_served")][1:3] == ["425", "418"]
        assert str(summary.get_row("mean_delay_s")[3]) == "-12.5%"
        assert "summary.json" in str(screen.query_one("#summary-title", Static).content)

        reward = screen.query_one("#curve-reward", SeriesPlot)
        assert reward.points == 10 + 83  # evaluations + episodes
        assert screen.query_one("#curve-queue", SeriesPlot).points > 0
        rl = screen.query_one("#ts-rl", Heatmap).data
        fixed = screen.query_one("#ts-fixed", Heatmap).data
        assert rl is not None and rl.shape == (24, 32)
        assert fixed is not None and not np.array_equal(rl, fixed)
        checkpoints = screen.query_one("#checkpoints", DataTable)
        files = {str(checkpoints.get_row(k)[0]) for k in checkpoints.rows}
        assert "checkpoints/dqn_model_final.zip" in files
        assert "checkpoints/latest/replay_buffer_5000_steps.pkl" in files
        assert len(files) == 7
        log = screen.query_one("#log", Log)
        assert log.line_count > 10
        assert "run_finished finished at step 5000" in log.lines[-1]

        # The interrupted run: no summary.json, so the last evaluation during training.
        await go_to(pilot, "lagos_production")
        assert "last evaluation" in str(screen.query_one("#summary-title", Static).content)
        assert [str(c) for c in summary.get_row("mean_delay_s")][2] == "80.0"
        assert screen.query_one("#ts-rl", Heatmap).data.shape == (20, 48)
        assert screen.query_one("#curve-reward", SeriesPlot).points == 6 + 100
        header = text_of(screen.query_one("#detail-header", Static))
        assert "interrupted" in header and "6,000/100,000" in header
        assert "interrupted by Ctrl-C" in header

        # An unreadable entry: its reason, and nothing left over from the previous run.
        await go_to(pilot, "broken_run")
        assert "training_config.json is not valid JSON" in text_of(
            screen.query_one("#detail-header", Static))
        assert screen.query_one("#curve-reward", SeriesPlot).points == 0
        assert screen.query_one("#ts-rl", Heatmap).data is None
        assert screen.query_one("#summary", DataTable).row_count == 0

        # Tabs by number keys, and the tab bar shows them.
        for key, pane in zip("123456", ("overview", "curves", "timespace", "checkpoints", "log",
                                        "compare"), strict=True):
            await pilot.press(key)
            assert screen.query_one("#tabs", TabbedContent).active == f"pane-{pane}"


@pytest.mark.asyncio
async def test_resume_only_for_an_interrupted_run(results: Path) -> None:
    app = BrowserApp(results)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("r")  # riemann_quick: finished
        await pilot.pause()
        assert app.resumes == []
        assert any("riemann_quick" in n and "finished" in n for n in app.notes)

        await go_to(pilot, "broken_run")
        await pilot.press("r")
        await pilot.pause()
        assert app.resumes == []

        await go_to(pilot, "lagos_production")
        await pilot.press("r")
        await pilot.pause()
        assert app.resumes == [("lagos_production", results)]

        # Killed before its first checkpoint: resumes from step 0 (its name is not lost).
        await go_to(pilot, "simple_killed")
        await pilot.press("r")
        await pilot.pause()
        assert app.resumes[-1] == ("simple_killed", results)


@pytest.mark.asyncio
async def test_compare_overlays_two_marked_runs(results: Path) -> None:
    app = BrowserApp(results)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = screen_of(app)
        await pilot.press("c")  # nothing marked yet
        assert screen.compared is None
        assert any("mark two runs" in n for n in app.notes)

        await pilot.press("space")  # riemann_quick
        await go_to(pilot, "broken_run")
        await pilot.press("space")  # refused: unreadable
        assert screen.marked == ["riemann_quick"]
        await go_to(pilot, "lagos_production")
        await pilot.press("space")
        assert screen.marked == ["riemann_quick", "lagos_production"]
        assert table_rows(screen)["lagos_production"][0].startswith("●")

        await pilot.press("c")
        await pilot.pause()
        assert screen.query_one("#tabs", TabbedContent).active == "pane-compare"
        plot = screen.query_one("#compare-eval", SeriesPlot)
        assert [line.label for line in plot._lines] == ["riemann_quick", "lagos_production"]
        assert [len(line.series) for line in plot._lines] == [10, 6]
        episodes = screen.query_one("#compare-episodes", SeriesPlot)
        assert [line.label for line in episodes._lines] == ["riemann_quick", "lagos_production"]
        assert episodes.points == 83 + 100

        # Unmarking takes a run out again.
        await pilot.press("space")
        assert screen.marked == ["riemann_quick"]


@pytest.mark.asyncio
async def test_live_new_run_appears_and_its_curve_grows(results: Path) -> None:
    app = BrowserApp(results, refresh_interval=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = screen_of(app)
        t0 = 1772600000.0  # newer than every fixture run
        run = add_run(results, "live_run", [
            event("run_started", 0, t0, message="starting live_run", experiment="live_run",
                  mode="quick", scenario="riemann", total_timesteps=1000, pid=os.getpid()),
            event("eval", 100, t0 + 1, mean_reward=-20.0, mean_queue_veh=30.0),
        ])
        await wait_for(pilot, lambda: "live_run" in screen.infos)
        assert screen.infos["live_run"].status == "running"
        assert screen.runs[0].name == "live_run"
        assert screen.selected == "riemann_quick"  # the highlighted run stays highlighted

        await go_to(pilot, "live_run")
        plot = screen.query_one("#curve-reward", SeriesPlot)
        assert plot.points == 1

        metrics = run / "logs" / "metrics.jsonl"
        with open(metrics, "a") as fh:  # a half-written line waits for its end
            fh.write('{"kind": "eval", "step": 200, "data": {"mean_reward": -1')
        await pilot.pause(5 * FAST)
        assert plot.points == 1
        with open(metrics, "a") as fh:
            fh.write('5.0, "mean_queue_veh": 25.0}, "time": ' + str(t0 + 2) + "}\n")
            fh.write(json.dumps(event("episode", 240, t0 + 3, reward=-9.0)) + "\n")
        await wait_for(pilot, lambda: plot.points == 3)
        assert screen.state is not None and screen.state.eval_reward.y == [-20.0, -15.0]

        # The run finishes: its row and header follow.
        with open(metrics, "a") as fh:
            fh.write(json.dumps(event("run_finished", 1000, t0 + 9, message="done")) + "\n")
        await wait_for(pilot, lambda: table_rows(screen)["live_run"][6] == "finished")
        await wait_for(pilot, lambda: "done" in text_of(
            screen.query_one("#detail-header", Static)))

        # The selected run is deleted: the browser moves on.
        shutil.rmtree(run)
        await wait_for(pilot, lambda: "live_run" not in screen.infos)
        assert screen.selected in screen.infos


@pytest.mark.asyncio
async def test_unreadable_entries_never_crash(results: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    shutil.copytree(FIXTURES / "riemann_quick", outside / "secret_run")
    (outside / "secret.txt").write_text("private\n")
    (results / "link_out").symlink_to(outside / "secret_run")
    (results / "file_link_out").symlink_to(outside / "secret.txt")
    (results / "dangling").symlink_to(tmp_path / "nowhere")
    sneaky = results / "sneaky_run"
    shutil.copytree(FIXTURES / "riemann_quick", sneaky)
    (sneaky / "logs" / "metrics.jsonl").unlink()
    (sneaky / "logs" / "metrics.jsonl").symlink_to(
        outside / "secret_run" / "logs" / "metrics.jsonl")
    half = results / "half_written"
    (half / "logs").mkdir(parents=True)
    (half / "training_config.json").write_text('{"training": {"mode": "qu')
    (half / "logs" / "metrics.jsonl").write_text('{"kind": "run_started", "st')
    (results / ".hidden_run").mkdir()

    app = BrowserApp(results, refresh_interval=FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = screen_of(app)
        infos = screen.infos
        assert ".hidden_run" not in infos
        for name in ("link_out", "file_link_out"):
            assert infos[name].status == "unreadable"
            assert infos[name].reason == "points outside the results folder"
        assert infos["dangling"].status == "unreadable"
        assert infos["sneaky_run"].status == "unreadable"
        assert "outside" in (infos["sneaky_run"].reason or "")
        assert infos["half_written"].status == "unreadable"

        # Visit every entry at 80x24 (resume and mark refused on the unreadable ones), and
        # every tab of an unreadable entry and of a run.
        names = [r.name for r in screen.runs]
        for name in names:
            await go_to(pilot, name)
            await pilot.press("r", "space")
        for name in ("half_written", "lagos_production"):
            await go_to(pilot, name)
            for key in "123456":
                await pilot.press(key)
        await pilot.press("c")
        await pilot.pause()
        assert sorted(app.resumes) == [("lagos_production", results),
                                       ("simple_killed", results)]

        # Malformed events appended to the selected run are skipped.
        await go_to(pilot, "riemann_quick")
        plot = screen.query_one("#curve-reward", SeriesPlot)
        points = plot.points
        metrics = results / "riemann_quick" / "logs" / "metrics.jsonl"
        with open(metrics, "a") as fh:
            fh.write('{"kind": "eval", "step": 5000, "data": {"mean_reward": "high"}}\n')
            fh.write("\x00\x01 garbage\n[1, 2]\n")
        await pilot.pause(5 * FAST)
        assert plot.points == points
        assert screen.infos["riemann_quick"].status == "finished"
        # Events of the wrong shape are skipped by the run reader too: the run stays readable.
        with open(metrics, "a") as fh:
            fh.write('{"kind": "eval", "step": "soon", "data": [1], "time": "x"}\n')
        await pilot.pause(5 * FAST)
        assert screen.infos["riemann_quick"].status == "finished"
        assert plot.points == points

        # The results folder itself disappears.
        shutil.rmtree(results)
        await wait_for(pilot, lambda: not screen.runs)
        assert screen.selected is None
        assert app.is_running


def test_snapshot_of_the_browser(results: Path, monkeypatch: pytest.MonkeyPatch,
                                 snap_compare) -> None:
    # A relative results path, so the sub-title does not show tmp_path.
    monkeypatch.chdir(results.parent)
    async def listed(pilot: Pilot) -> None:  # the folder is read in a worker
        await wait_for(pilot, lambda: bool(screen_of(pilot.app).infos))
        await pilot.pause(0.3)

    assert snap_compare(BrowserApp(Path("results")), terminal_size=(120, 40),
                        run_before=listed)


async def test_seed_group_shows_aggregate_and_report(tmp_path: Path) -> None:
    results = tmp_path / "results"
    shutil.copytree(FIXTURES, results)
    group = results / "sweep"
    (group / "report").mkdir(parents=True)
    (group / "group.json").write_text(json.dumps(
        {"name": "sweep", "seeds": [0, 1], "members": ["sweep_s0", "sweep_s1"]}))
    stat = {"mean": 21.5, "ci95": 3.25, "n": 2}
    (group / "aggregate.json").write_text(json.dumps({
        "seeds": [0, 1], "members": ["sweep_s0", "sweep_s1"], "finished": ["sweep_s0"],
        "metrics": {"rl": {"mean_delay_s": stat}, "fixed_time": {"mean_delay_s": stat}}}))
    (group / "report" / "report.md").write_text("# arz-tui report: riemann\n\nRL beats "
                                                "fixed time on every level.\n")
    app = BrowserApp(results)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: "sweep" in screen.infos)
        assert screen.infos["sweep"].status == "group"
        await go_to(pilot, "sweep")
        config = text_of(screen.query_one("#config", Static))
        assert "seed group of 2 runs" in config and "21.5 ± 3.2" in config
        await pilot.press("7")
        await pilot.pause()
        report = screen.query_one("#report")
        assert "RL beats fixed time" in report.source
        # A run without a report says how to make one.
        await go_to(pilot, "riemann_quick")
        assert "arz-tui report riemann_quick" in screen.query_one("#report").source


@pytest.mark.asyncio
async def test_hostile_folder_stays_responsive_and_unreadable(tmp_path: Path) -> None:
    """FIFOs named like run files, markup and escape sequences in names, files linked out of
    the results folder, wrong-typed JSON, 1e400 and an .npy header claiming 72 TiB."""
    results = tmp_path / "results"
    shutil.copytree(FIXTURES / "riemann_quick", results / "riemann_quick")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "aggregate.json").write_text(json.dumps({"name": "secret", "seeds": [0],
                                                        "members": ["x"]}))
    (outside / "group.json").write_text(json.dumps({"name": "g", "seeds": [0, 1],
                                                    "members": ["a", "b"]}))
    fifo_run = shutil.copytree(FIXTURES / "riemann_quick", results / "fifo_run")
    for name in ("training_config.json", "logs/metrics.jsonl", "logs/training.log",
                 "eval/summary.json", "eval/timespace_rl.npy"):
        (fifo_run / name).unlink(missing_ok=True)
        os.mkfifo(fifo_run / name)
    marked = shutil.copytree(FIXTURES / "riemann_quick", results / "[bold red]x[link=evil]y")
    saved = json.loads((marked / "training_config.json").read_text())
    saved["env"]["scenario"] = "[/oops][blink]riemann"
    (marked / "training_config.json").write_text(json.dumps(saved))
    (results / "title\x1b]0;pwned\x07\x1b[2J").mkdir()
    linked = results / "linked_group"
    linked.mkdir()
    (linked / "group.json").symlink_to(outside / "group.json")
    (linked / "aggregate.json").symlink_to(outside / "aggregate.json")
    typed = shutil.copytree(FIXTURES / "riemann_quick", results / "wrong_types")
    (typed / "training_config.json").write_text(json.dumps(
        {"training": {"experiment_name": ["x"], "total_timesteps": "many"}, "env": 5}))
    huge = shutil.copytree(FIXTURES / "riemann_quick", results / "huge_numbers")
    with open(huge / "logs" / "metrics.jsonl", "a") as fh:
        fh.write('{"kind": "eval", "step": 1e400, "data": {"mean_reward": 1e400}}\n')
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (3000000, 3000000), }"
    header += b" " * (118 - len(header)) + b"\n"
    (huge / "eval" / "timespace_rl.npy").write_bytes(b"\x93NUMPY\x01\x00v\x00" + header)
    (huge / "eval" / "summary.json").write_text('{"step": 1, "rl": {"x": 1e400}}')

    app = BrowserApp(results, refresh_interval=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = screen_of(app)
        await wait_for(pilot, lambda: len(screen.infos) == 7, timeout=10)
        infos = screen.infos
        assert infos["fifo_run"].status == "unreadable"
        assert infos["linked_group"].status == "unreadable"
        assert "outside" in (infos["linked_group"].reason or "")
        assert infos["wrong_types"].status == "unreadable"
        assert "wrong shape" in (infos["wrong_types"].reason or "")
        assert infos["huge_numbers"].status == "finished"
        weird = [n for n in infos if "title" in n]
        assert weird and "\x1b" not in weird[0] and "\x07" not in weird[0]
        for name in list(infos):
            await go_to(pilot, name)
            await pilot.press("3", "4", "5", "1")
            await pilot.pause()
        # The screen drew every name literally (no markup parsed, no link made).
        await go_to(pilot, "[bold red]x[link=evil]y")
        assert "[bold red]x[link=evil]y" in text_of(screen.query_one("#detail-header", Static))
        assert table_rows(screen)["[bold red]x[link=evil]y"][1].startswith("[/oops]")
        await go_to(pilot, "huge_numbers")
        assert screen.query_one("#ts-rl", Heatmap).data is None  # 72 TiB header refused
        assert app.is_running
