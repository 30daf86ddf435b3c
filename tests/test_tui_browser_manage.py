"""Results browser: filter, sort, delete (asks first; never a running run), rename (the saved
config follows), report in the background with progress, the TensorBoard hint."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Static
from tui_pilot import wait_until

from arz_tui.runstore import RunLayout, claim_existing
from arz_tui.tui.app import ArzApp
from arz_tui.tui.browser import ResultsScreen
from arz_tui.tui.confirm import ConfirmScreen
from arz_tui.tui.prompt import PromptScreen

FIXTURES = Path(__file__).parent / "fixtures" / "browser_results"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ARZ_TUI_CUDA", "0")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def results(tmp_path: Path) -> Path:
    dest = tmp_path / "results"
    shutil.copytree(FIXTURES, dest)
    return dest


async def _browser(pilot: Any) -> ResultsScreen:
    await pilot.pause()
    await pilot.press("f3")
    screen = pilot.app.screen
    assert isinstance(screen, ResultsScreen)
    await wait_until(pilot, lambda: len(screen.all_runs) >= 7)
    return screen


def _names(screen: ResultsScreen) -> list[str]:
    table = screen.query_one("#runs", DataTable)
    return [str(table.get_row_at(i)[0]).strip(" ●") for i in range(table.row_count)]


async def _select(pilot: Any, screen: ResultsScreen, name: str) -> None:
    table = screen.query_one("#runs", DataTable)
    table.move_cursor(row=table.get_row_index(name))
    await wait_until(pilot, lambda: screen.selected == name)


async def test_filter_and_sort(results: Path) -> None:
    async with ArzApp(results).run_test(size=(140, 45)) as pilot:
        screen = await _browser(pilot)
        await pilot.press("slash")
        await pilot.pause()
        assert screen.query_one("#filter", Input).has_focus
        await pilot.press(*"lagos")
        await pilot.pause()
        assert _names(screen) == ["lagos_production"]
        await pilot.press("enter")  # keeps the filter, back to the table
        await pilot.pause()
        assert _names(screen) == ["lagos_production"]
        await pilot.press("escape")  # clears it (and stays on the browser)
        await pilot.pause()
        assert isinstance(pilot.app.screen, ResultsScreen) and len(_names(screen)) == 7
        await pilot.press("slash", *"interrupted")
        await pilot.pause()
        assert sorted(_names(screen)) == ["lagos_production", "simple_killed"]
        await pilot.press("escape", "o")  # sort by name
        await pilot.pause()
        assert screen.sort_key == "name"
        names = _names(screen)
        assert names == sorted(names, key=str.lower)


async def test_delete_asks_and_never_touches_a_running_run(results: Path) -> None:
    async with ArzApp(results).run_test(size=(140, 45)) as pilot:
        screen = await _browser(pilot)
        await _select(pilot, screen, "riemann_quick")
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
        question = str(pilot.app.screen.query_one(Static).render())
        assert "Delete run riemann_quick?" in question and "cannot be undone" in question
        await pilot.press("escape")
        await pilot.pause()
        assert (results / "riemann_quick").is_dir()
        # A run held by a live process (its lock) is refused, nothing deleted.
        claim = claim_existing(RunLayout(results / "riemann_quick"))
        try:
            await pilot.press("d")
            await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
            await pilot.press("y")
            await wait_until(pilot, lambda: any("cannot delete" in str(n.message)
                                           for n in pilot.app._notifications))
            assert (results / "riemann_quick" / "training_config.json").is_file()
        finally:
            claim.release()
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: not (results / "riemann_quick").exists())
        await wait_until(pilot, lambda: "riemann_quick" not in _names(screen))


async def test_rename_keeps_the_saved_config_in_step(results: Path) -> None:
    async with ArzApp(results).run_test(size=(140, 45)) as pilot:
        screen = await _browser(pilot)
        await _select(pilot, screen, "lagos_production")
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, PromptScreen))
        answer = pilot.app.screen.query_one(Input)
        answer.value = "bad name!"
        await pilot.press("enter")
        await wait_until(pilot, lambda: any("cannot rename" in str(n.message)
                                       for n in pilot.app._notifications))
        assert (results / "lagos_production").is_dir()
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, PromptScreen))
        pilot.app.screen.query_one(Input).value = "lagos_baseline_run"
        await pilot.press("enter")
        await wait_until(pilot, lambda: (results / "lagos_baseline_run").is_dir())
        assert not (results / "lagos_production").exists()
        saved = json.loads((results / "lagos_baseline_run" / "training_config.json")
                           .read_text(encoding="utf-8"))
        assert saved["training"]["experiment_name"] == "lagos_baseline_run"
        await wait_until(pilot, lambda: "lagos_baseline_run" in _names(screen))


async def test_tensorboard_hint(results: Path) -> None:
    logs = RunLayout(results / "riemann_quick").tensorboard
    async with ArzApp(results).run_test(size=(140, 45)) as pilot:
        screen = await _browser(pilot)
        await _select(pilot, screen, "riemann_quick")
        await pilot.press("t")
        await pilot.pause()
        assert any("--tensorboard" in str(n.message)
                   for n in pilot.app._notifications)
        logs.mkdir(parents=True)
        await pilot.press("t")
        await pilot.pause()
        assert any(f"tensorboard --logdir {logs}" in str(n.message)
                   for n in pilot.app._notifications)


async def test_report_failure_is_shown_not_swallowed(results: Path) -> None:
    """A report of a run without a model fails in its child process: its reason is shown in
    the Report tab (the success path runs in test_report_from_the_browser)."""
    async with ArzApp(results).run_test(size=(140, 45)) as pilot:
        screen = await _browser(pilot)
        await _select(pilot, screen, "riemann_quick")
        for model in RunLayout(results / "riemann_quick").root.rglob("*.zip"):
            model.unlink()
        await pilot.press("g")
        # The child may fail within a moment: wait for the outcome, not for the state between.
        await wait_until(pilot, lambda: "failed" in str(
            screen.query_one("#report-progress", Static).render()), 120)
        assert screen.reporting is None
        screen.reporting = "another"  # one report at a time
        assert not screen.check_action("report", ())
        screen.reporting = None
        progress = str(screen.query_one("#report-progress", Static).render())
        assert "failed" in progress and "riemann_quick" in progress


# ---------------------------------------------------------------------- groups and studies
STUDIES = Path(__file__).parent / "fixtures" / "browser_studies"
"""A real seed group (grp: 3 sanity runs of riemann) and a real tuning study (st: 3 trials,
2 pruned), model files left out."""
FIXED_MTIME = 1_800_000_000


@pytest.fixture
def studies(tmp_path: Path) -> Path:
    dest = tmp_path / "results"
    shutil.copytree(STUDIES, dest)
    for path in [dest, *dest.rglob("*")]:  # folder dates are shown for groups
        os.utime(path, (FIXED_MTIME, FIXED_MTIME))
    return dest


async def test_tuning_study_lists_trials_with_pruned_ones_labelled(studies: Path) -> None:
    async with ArzApp("results").run_test(size=(140, 45)) as pilot:
        screen = await _browser_of(pilot, 8)
        rows = {n: screen.infos[n] for n in _names(screen)}
        assert rows["tuning/st"].status == "study"
        assert "3 trials (1 complete, 2 pruned); best -0.648 (trial 0)" in rows["tuning/st"].reason
        assert rows["st/trial_1"].status == "pruned" and not rows["st/trial_1"].resumable
        assert rows["st/trial_1"].reason == "pruned at step 100"
        names = _names(screen)
        assert names.index("tuning/st") + 1 == names.index("st/trial_0")  # trials follow
        await _select(pilot, screen, "tuning/st")
        await wait_until(pilot, lambda: screen.details is not None and
                    screen.details.study is not None)
        config = str(screen.query_one("#config", Static).render())
        assert "best       trial 0: -0.6477" in config and "learning_rate" in config
        assert "arz-tui run --config results/tuning/st/best_config.json" in config
        table = screen.query_one("#summary", DataTable)
        assert [str(table.get_row_at(i)[1]) for i in range(table.row_count)] == \
            ["complete", "pruned at 100", "pruned at 100"]


async def _browser_of(pilot: Any, n: int) -> ResultsScreen:
    await pilot.pause()
    await pilot.press("f3")
    screen = pilot.app.screen
    assert isinstance(screen, ResultsScreen)
    await wait_until(pilot, lambda: len(screen.all_runs) >= n)
    return screen


@pytest.mark.parametrize("size", [(80, 24), (140, 45)], ids=["80x24", "140x45"])
@pytest.mark.parametrize("row", ["grp_s0", "grp", "tuning/st"], ids=["run", "group", "study"])
def test_snapshot_browser(snap_compare, studies: Path, size: tuple[int, int], row: str) -> None:
    async def show(pilot: Any) -> None:
        screen = await _browser_of(pilot, 8)
        await _select(pilot, screen, row)
        await wait_until(pilot, lambda: screen.details is not None and
                    screen.details.name == row)
        await pilot.pause(0.3)

    assert snap_compare(ArzApp("results"), terminal_size=size, run_before=show)
