"""Pilot tests of issue 12's items: layout from 80x24, the form's options and defaults,
discoverability (help, palette, tab keys, footer), time-space axes, readable sanity failures
and plain validation messages. Training is replayed (no child process) except where noted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError
from textual.command import CommandPalette
from textual.widgets import Input, OptionList, Select, TabbedContent
from tui_pilot import wait_until

from arz_tui.training.config import TrainingConfig
from arz_tui.tui.app import ArzApp, TooSmallScreen
from arz_tui.tui.commands import COMMANDS, available
from arz_tui.tui.help import HelpScreen, help_sections
from arz_tui.tui.launch import LaunchScreen, parse_seeds
from arz_tui.tui.run_view import RunScreen
from arz_tui.tui.validation import plain_problem
from arz_tui.tui.widgets import Heatmap, corridor_axis

SMALL, LARGE = (80, 24), (140, 45)


@pytest.fixture(autouse=True)
def _no_cuda_probe(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ARZ_TUI_CUDA", "0")
    monkeypatch.chdir(tmp_path)  # scenario files are looked for in the current folder


async def _form(pilot: Any) -> LaunchScreen:
    form = pilot.app.screen
    assert isinstance(form, LaunchScreen)
    await wait_until(pilot, lambda: form.scanned and form.cuda is not None)
    await pilot.pause()
    return form


def _text(widget: Any) -> str:
    return str(widget.render())


class Replay:
    """A training process stand-in: replays `events`, then exits with `code` (or keeps
    "running" when code is None)."""

    events: list[dict[str, Any]] = []
    code: int | None = 0
    stderr = ""

    def __init__(self, args: list[str], on_event: Any, on_exit: Any) -> None:
        self.on_event, self.on_exit = on_event, on_exit
        self.running = False
        self.stopped = False

    def start(self) -> None:
        self.running = True
        for event in self.events:
            self.on_event(event)
        if self.code is not None:
            self.running = False
            self.on_exit(self.code, self.stderr)

    def stop(self) -> None:
        self.stopped = True


def _started(scenario: str = "riemann") -> dict[str, Any]:
    return {"kind": "run_started", "step": 0, "time": 1.8e9, "data": {
        "message": "starting demo", "experiment": "demo", "mode": "quick",
        "scenario": scenario, "device": "cpu", "total_timesteps": 5000}}


def _sanity(name: str, passed: bool, **extra: Any) -> dict[str, Any]:
    return {"kind": "sanity_result", "step": 0, "time": 1.8e9,
            "data": {"name": name, "passed": passed, "measured": "m", "expected": "-",
                     "fix": "-", **extra}}


async def _show_run(pilot: Any, events: list[dict[str, Any]], code: int | None,
                    stderr: str = "") -> RunScreen:
    replay = type("ThisReplay", (Replay,), {"events": events, "code": code, "stderr": stderr})
    run = RunScreen([], "demo", Path("results"), replay)
    await pilot.app.push_screen(run)
    await pilot.pause(0.3)
    return run


# ---------------------------------------------------------------------- item 5: layout
@pytest.mark.parametrize("size", [SMALL, LARGE, (200, 60)])
async def test_every_form_field_is_readable(size: tuple[int, int]) -> None:
    app = ArzApp("results")
    async with app.run_test(size=size) as pilot:
        form = await _form(pilot)
        width = form.query_one("#scenario", Select).region.width
        longest = max(len(s) for s in form.scan.usable)
        assert width >= longest + 4, (width, form.scan.usable)  # names in full, plus arrow
        for field in form.query(".field"):
            assert field.region.width >= 40, field  # no "rie" in five columns
        for input_ in form.query(Input):
            assert input_.region.width >= 20
        effective = form.query_one("#effective-box")
        assert effective.display is (size[0] >= 110) or not effective.region.width


async def test_the_narrow_form_shows_its_configuration_on_f4() -> None:
    app = ArzApp("results")
    async with app.run_test(size=SMALL) as pilot:
        form = await _form(pilot)
        assert form.query_one("#effective-box").region.width == 0
        await pilot.press("f4")
        await pilot.pause()
        assert form.query_one("#effective-box").region.width >= 70
        assert "total steps" in _text(form.query_one("#effective"))
        await pilot.press("f4")
        await pilot.pause()
        assert form.query_one("#form").region.width >= 70


async def test_too_small_terminal_says_so_and_recovers() -> None:
    app = ArzApp("results")
    async with app.run_test(size=(70, 20)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, TooSmallScreen)
        assert "70x20" in _text(app.screen.query_one("#too-small"))
        assert "80x24" in _text(app.screen.query_one("#too-small"))
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert isinstance(app.screen, LaunchScreen)


@pytest.mark.parametrize("size", [SMALL, LARGE])
async def test_dashboard_adapts_side_panel_and_curves(size: tuple[int, int]) -> None:
    app = ArzApp("results")
    async with app.run_test(size=size) as pilot:
        run = await _show_run(pilot, [_started()], None)
        side = run.query_one("#side")
        tabs = run.query_one("#tabs", TabbedContent)
        if size == SMALL:
            assert side.region.width == 0 and run.has_class("-narrow")
            await pilot.press("5")
            await pilot.pause()
            assert tabs.active == "evals"
            assert run.query_one("#evals-tab").region.width >= 70
            assert run.query_one("#plot-eps").display is False or \
                run.query_one("#plot-eps").region.height == 0
        else:
            assert 40 <= side.region.width <= 64
            await pilot.press("5")
            await pilot.pause()
            assert tabs.active == "curves"  # the evaluations are beside, not in a tab


# ---------------------------------------------------------------------- item 10: the form
async def test_form_defaults_follow_the_cli() -> None:
    app = ArzApp("results")
    async with app.run_test(size=LARGE) as pilot:
        form = await _form(pilot)
        assert form.scenario == "lagos" and form.mode == "sanity" and form.device == "cpu"
        args, _ = form._validate()
        assert args is not None and args[args.index("--scenario") + 1] == "lagos"
        await pilot.click("#mode-kaggle")
        await pilot.pause(0.2)
        assert form.device == "auto"  # as `arz-tui run --mode kaggle`
        await pilot.click("#mode-sanity")
        await pilot.pause(0.2)
        assert form.device == "cpu"
        await pilot.click("#device-auto")  # the user's choice now sticks
        await pilot.click("#mode-quick")
        await pilot.pause(0.2)
        assert form.device == "auto" and form.device_touched


async def test_form_offers_every_batch_option(tmp_path: Path) -> None:
    config = tmp_path / "dqn.yaml"
    config.write_text("dqn_hyperparams: {learning_rate: 0.0005}\n")
    app = ArzApp("results")
    async with app.run_test(size=LARGE) as pilot:
        form = await _form(pilot)
        form.query_one("#demand", Select).value = "saturated"
        form.query_one("#max-hours", Input).value = "1.5"
        form.query_one("#seed", Input).value = "0-2"
        form.query_one("#jobs", Input).value = "2"
        form.query_one("#config", Input).value = str(config)
        await pilot.pause()
        args, text = form._validate()
        assert args is not None, text
        pairs = dict(zip(args[::2], args[1::2], strict=False))
        assert pairs["--demand-level"] == "saturated"
        assert pairs["--max-hours"] == "1.5"
        assert pairs["--seeds"] == "0,1,2" and pairs["--jobs"] == "2"
        assert pairs["--config"] == str(config)
        assert "--seed" not in args
        assert "lagos_sanity_s0 .. lagos_sanity_s2" in _text(form.query_one("#seed-note"))
        effective = _text(form.query_one("#effective"))
        assert "saturated" in effective and "1.5" in effective and "0, 1, 2" in effective
        # The same flags are what `arz-tui run` accepts.
        from arz_tui.training.train import build_parser, configs_from_args

        env, training = configs_from_args(build_parser().parse_args(args))
        assert env.demand_level == "saturated" and training.max_hours == 1.5
        assert training.dqn_hyperparams.learning_rate == 0.0005
        form.query_one("#config", Input).value = str(tmp_path / "missing.yaml")
        form.query_one("#seed", Input).value = "3-1"
        await pilot.pause()
        args, text = form._validate()
        assert args is None
        assert "does not exist" in _text(form.query_one("#config-note"))
        assert "ranges go upwards" in _text(form.query_one("#seed-note"))


def test_seed_lists() -> None:
    assert parse_seeds("0") == [0]
    assert parse_seeds("0-2,7, 5") == [0, 1, 2, 5, 7]
    for bad in ("", "a", "2-1", "-1", "0-100"):
        with pytest.raises(ValueError):
            parse_seeds(bad)


async def test_scenarios_are_rescanned_and_broken_files_shown(tmp_path: Path) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (tmp_path / "ci.yaml").write_text("jobs: {test: {runs-on: ubuntu}}\n")  # not a scenario
    (folder / "broken.yaml").write_text("name: broken\nnodes: []\nlinks: []\n")
    app = ArzApp("results")
    async with app.run_test(size=LARGE) as pilot:
        form = await _form(pilot)
        assert "ci.yaml" not in " ".join(form.scan.usable)
        broken = _text(form.query_one("#broken"))
        assert "scenarios/broken.yaml" in broken and "nodes" in broken
        good = Path("sim") / "scenarios"  # a copy of a built-in, under a new name
        source = Path(__file__).resolve().parent.parent / good / "riemann.yaml"
        (folder / "my_corridor.yaml").write_text(source.read_text())
        form.scanned = False
        await pilot.press("f5")
        await wait_until(pilot, lambda: form.scanned)
        assert "scenarios/my_corridor.yaml" in form.scan.usable
        form.query_one("#scenario", Select).value = "scenarios/my_corridor.yaml"
        await pilot.pause()
        assert form.query_one("#name", Input).value == "my_corridor_sanity"


# ---------------------------------------------------------------------- item 9: validation
def test_validation_names_the_field_in_plain_words() -> None:
    with pytest.raises(ValidationError) as err:
        TrainingConfig(experiment_name="x", total_timesteps=2_000_000_000)
    text = plain_problem(err.value)
    assert text == "Timesteps: at most 1,000,000,000 (got 2000000000)"
    with pytest.raises(ValidationError) as err:
        TrainingConfig(experiment_name="x", max_hours=-1)
    assert plain_problem(err.value).startswith("Max hours: more than 0")


async def test_form_never_shows_pydantic_text() -> None:
    app = ArzApp("results")
    async with app.run_test(size=LARGE) as pilot:
        form = await _form(pilot)
        form.query_one("#timesteps", Input).value = "2000000000"
        await pilot.pause()
        args, text = form._validate()
        assert args is None
        assert "Timesteps: at most 1,000,000,000" in text
        assert "validation error" not in text and "TrainingConfig" not in text
        assert form.query_one("#start").disabled


# ---------------------------------------------------------------------- item 6: discoverable
async def test_help_lists_the_keys_of_every_screen() -> None:
    app = ArzApp("results")
    async with app.run_test(size=SMALL) as pilot:
        await _form(pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        sections = dict(help_sections(app))
        assert set(sections) >= {"Launch form", "Run dashboard", "Results browser",
                                 "Everywhere"}
        text = "\n".join(f"{key} {what}" for rows in sections.values() for key, what in rows)
        for what in ("^s Start training with this form", "s Stop training, saving a checkpoint",
                     "1-6 Tabs: 1 curves", "6 The network map", "[ ] Map tab: the previous",
                     "y Copy the run folder's path", "f1 Every key",
                     "r ", "ctrl+p command palette"):
            assert what in text, what
        help_text = app.screen.query_one("#help-text")
        shown = [help_text.render_line(y).text for y in range(4)]
        assert "Launch form  (this screen)" in "".join(shown)  # this screen's keys first
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LaunchScreen)


async def test_palette_finds_results_and_offers_only_what_works() -> None:
    app = ArzApp("results")
    async with app.run_test(size=LARGE) as pilot:
        form = await _form(pilot)
        titles = {c.title for c in COMMANDS if available(c, form)}
        assert {"Results", "Start training", "Help: keys"} <= titles
        assert "Stop training" not in titles and "New run" not in titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"result")
        await pilot.pause(0.5)
        options = app.screen.query_one(OptionList)
        prompts = [str(options.get_option_at_index(i).prompt)
                   for i in range(options.option_count)]
        assert any("Results" in p for p in prompts), prompts
        await pilot.press("enter")
        await pilot.pause(0.5)
        from arz_tui.tui.browser import ResultsScreen

        assert isinstance(app.screen, ResultsScreen)


async def test_footer_offers_only_what_works_now() -> None:
    app = ArzApp("results")
    async with app.run_test(size=LARGE) as pilot:
        await _form(pilot)
        assert not app.check_action("launch", ())  # already here
        run = await _show_run(pilot, [_started()], None)  # still training
        assert run.check_action("stop", ()) and not run.check_action("back", ())
        assert not app.check_action("launch", ())
        bindings = {b.binding.action for b in app.active_bindings.values() if b.enabled}
        assert "back" not in bindings
        keys = [b.binding.description for b in app.active_bindings.values()
                if b.binding.show and b.enabled]
        assert keys.count("Quit") == 1  # not "q Quit ^q Quit"
        run.state.status = "finished"
        run.process.running = False
        run.refresh_bindings()
        assert not run.check_action("stop", ()) and run.check_action("back", ())


async def test_tabs_switch_from_the_keyboard() -> None:
    app = ArzApp("results")
    async with app.run_test(size=LARGE) as pilot:
        run = await _show_run(pilot, [_started()], 0)
        tabs = run.query_one("#tabs", TabbedContent)
        for key, tab in (("2", "timespace"), ("3", "sanity"), ("4", "log"), ("1", "curves")):
            await pilot.press(key)
            await pilot.pause()
            assert tabs.active == tab


async def test_copy_path_and_log_without_a_pager() -> None:
    app = ArzApp("results")
    async with app.run_test(size=LARGE) as pilot:
        run = await _show_run(pilot, [_started()], 0)
        log = run.layout_paths.training_log
        log.parent.mkdir(parents=True)
        log.write_text("line\n")
        await pilot.press("y")
        await pilot.pause()
        assert any(str(run.layout_paths.root.resolve()) in str(n.message)
                   for n in app._notifications)
        await pilot.press("l")  # the headless test driver cannot suspend: the Log tab shows
        await pilot.pause()
        assert run.query_one("#tabs", TabbedContent).active == "log"


# ---------------------------------------------------------------------- item 4: sanity
async def test_failed_sanity_check_shows_its_fix_in_full() -> None:
    fix = ("raise the demand or lower the initial density at the entries (rho_inflow >> "
           "rho_initial), as in the seed's 15:1 ratio")
    events = [_started(), _sanity("action_mapping", True),
              _sanity("flux_config", False, measured="inflow/initial 3.2", expected=">= 15",
                      fix=fix),
              {"kind": "sanity_report", "step": 0, "time": 1.8e9,
               "data": {"passed": False, "message": "1 sanity check failed"}},
              {"kind": "run_failed", "step": 0, "time": 1.8e9,
               "data": {"message": "sanity checks failed"}}]
    app = ArzApp("results")
    async with app.run_test(size=SMALL) as pilot:
        run = await _show_run(pilot, events, 2, "sanity checks failed (flux_config):\n...")
        await pilot.pause(0.3)
        assert run.state.status == "failed"
        assert "flux_config" in run.error and "Sanity tab" in run.error
        assert run.query_one("#tabs", TabbedContent).active == "sanity"
        lines = [run.query_one("#sanity-list").render_line(y).text
                 for y in range(run.query_one("#sanity-list").region.height)]
        shown = " ".join(" ".join(line.split("│")[-1].split()) for line in lines)
        assert " ".join(fix.split()) in shown, shown  # wrapped, never cut
        assert "expected: >= 15" in shown
        assert "FAILED" in _text(run.query_one("#progress-text"))


# ---------------------------------------------------------------------- item 2: time-space
def test_corridor_axis_of_a_scenario() -> None:
    axis = corridor_axis("riemann")
    assert axis is not None
    assert axis.length_m == pytest.approx(1600.0) and axis.n_cells == 64
    assert [(round(p), node, sig) for p, node, sig in axis.junctions] == [(1000, "J", True)]
    assert axis.duration_s == 900.0
    assert corridor_axis("no_such_scenario") is None


@pytest.mark.parametrize("size", [SMALL, LARGE])
async def test_time_space_side_by_side_with_axes(size: tuple[int, int]) -> None:
    run_dir = Path("results") / "demo" / "eval"
    run_dir.mkdir(parents=True)
    data = np.full((60, 64), 30.0)
    data[:, 30:40] = 190.0  # a queue upstream of the signal
    np.save(run_dir / "timespace_rl.npy", data)
    np.save(run_dir / "timespace_fixed_time.npy", data)
    events = [_started(), {"kind": "timespace", "step": 100, "time": 1.8e9,
                           "data": {"controller": "rl", "path": ""}}]
    app = ArzApp("results")
    async with app.run_test(size=size) as pilot:
        run = await _show_run(pilot, events, 0)
        await pilot.press("2")
        rl, fixed = run.query_one("#ts-rl", Heatmap), run.query_one("#ts-fixed", Heatmap)
        await wait_until(pilot, lambda: rl.axis is not None and fixed.axis is not None)
        await pilot.pause()
        assert rl.region.width >= 38 and fixed.region.width >= 38  # both, at 80 columns too
        assert rl.region.y == fixed.region.y and fixed.region.x > rl.region.x
        lines = [rl.render_line(y).text for y in range(rl.region.height)]
        assert lines[0].strip() == "RL policy"
        assert lines[1].lstrip().startswith("0m┤")  # time axis, minutes
        assert any("15m┤" in line or "13m┤" in line or "12m┤" in line for line in lines)
        assert "╂" in lines[-2]  # the signalised junction on the distance axis
        assert lines[-1].split()[0] == "0" and "J" in lines[-1] and "1.6 km" in lines[-1]
        scale = run.query_one("#ts-scale").render_line(0).text
        assert "veh/km/lane" in scale and "occupancy 0" in scale


# ---------------------------------------------------------------------- item 10: seed groups
@pytest.mark.slow
async def test_a_seed_group_from_the_form(tmp_path: Path) -> None:
    """Seeds 0-1 in the form train a seed group (real child processes); its dashboard shows
    the sweep's lines in the Log tab and the aggregate lands in the group folder."""
    app = ArzApp(tmp_path / "results")
    async with app.run_test(size=LARGE) as pilot:
        form = await _form(pilot)
        form.query_one("#scenario", Select).value = "riemann"
        await pilot.pause()  # the name follows the scenario until typed in
        form.query_one("#timesteps", Input).value = "30"
        form.query_one("#seed", Input).value = "0-1"
        form.query_one("#jobs", Input).value = "2"
        form.query_one("#name", Input).value = "grp"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        run = app.screen
        assert isinstance(run, RunScreen)
        assert run.query_one("#tabs", TabbedContent).active == "log"
        await wait_until(pilot, lambda: run.exit_code is not None, 300)
        await pilot.pause(0.3)
        assert run.exit_code == 0, run.error
        log = "\n".join(run.state.log)
        assert "seed 0: done" in log and "seed 1: done" in log, log
        assert f"aggregate in {tmp_path / 'results' / 'grp' / 'aggregate.json'}" in log, log
        assert (tmp_path / "results" / "grp" / "aggregate.json").is_file(), log
        assert (tmp_path / "results" / "grp_s1" / "training_config.json").is_file()
