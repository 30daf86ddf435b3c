"""The results browser's time-space tab (RL and fixed time side by side on physical axes with
a colour scale) and a seed group's time-space and log tabs (a member run's, `m` for the next),
and the report's timespace.png."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from textual.widgets import Log, Static
from tui_pilot import open_run, wait_until

from arz_tui.env.corridor import corridor_axis
from arz_tui.runstore import RunLayout
from arz_tui.tui.app import ArzApp
from arz_tui.tui.widgets import ColourScale, Heatmap

STUDIES = Path(__file__).parent / "fixtures" / "browser_studies"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ARZ_TUI_CUDA", "0")
    monkeypatch.chdir(tmp_path)


def _diagram(n_cells: int, level: float) -> np.ndarray:
    rows = np.linspace(0.0, 1.0, 40)[:, None]
    return level * rows * np.ones((1, n_cells))


@pytest.fixture
def results(tmp_path: Path) -> Path:
    dest = tmp_path / "results"
    shutil.copytree(STUDIES, dest)
    cells = corridor_axis("riemann").n_cells
    for k, member in enumerate(("grp_s0", "grp_s1")):
        lay = RunLayout(dest / member)
        lay.eval.mkdir(parents=True, exist_ok=True)
        np.save(lay.timespace("rl"), _diagram(cells, 50.0 + k))
        np.save(lay.timespace("fixed_time"), _diagram(cells, 150.0))
        lay.training_log.write_text(f"training log of {member}\n")
    return dest


def _lines(widget: Any) -> list[str]:
    return [widget.render_line(y).text for y in range(widget.size.height)]


async def test_run_time_space_has_axes_junctions_and_scale(results: Path) -> None:
    async with ArzApp("results").run_test(size=(140, 45)) as pilot:
        screen = await open_run(pilot, "grp_s0")
        await pilot.press("3")
        await pilot.pause(0.2)
        rl, fixed = screen.query_one("#ts-rl", Heatmap), screen.query_one("#ts-fixed", Heatmap)
        assert rl.data is not None and fixed.data is not None
        assert rl.axis is not None and fixed.axis is not None  # the scenario's distances
        # Side by side, each about half the width.
        assert rl.region.y == fixed.region.y and rl.region.x < fixed.region.x
        assert min(rl.size.width, fixed.size.width) >= 60
        text = "\n".join(_lines(rl))
        assert "min" in text  # time axis
        assert "J" in text and "km" in text  # junction mark and distance labels
        scale = screen.query_one("#ts-scale", ColourScale)
        assert "veh/km/lane" in scale.render_line(0).text


async def test_group_shows_a_member_and_m_switches(results: Path) -> None:
    async with ArzApp("results").run_test(size=(140, 45)) as pilot:
        screen = await open_run(pilot, "grp")
        await wait_until(pilot, lambda: screen.details.member is not None)
        assert screen.details.members == ["grp_s0", "grp_s1", "grp_s2"]
        first = screen.details.member
        assert first == "grp_s0"
        await pilot.press("3")
        await pilot.pause(0.2)
        assert screen.query_one("#ts-rl", Heatmap).data is not None
        assert screen.query_one("#ts-rl", Heatmap).axis is not None
        assert "grp_s0 (1 of 3)" in str(screen.query_one("#ts-member", Static).render())
        await pilot.press("5")
        log = screen.query_one("#log", Log)
        await wait_until(pilot, lambda: any("training log of grp_s0" in line for line in log.lines))
        await pilot.press("m")
        await wait_until(pilot, lambda: screen.details.member == "grp_s1")
        await wait_until(pilot, lambda: any("training log of grp_s1" in line for line in log.lines))
        assert not any("grp_s0" in line for line in log.lines)
        assert float(screen.query_one("#ts-rl", Heatmap).data.max()) == pytest.approx(51.0)


def test_report_png_has_both_diagrams_on_physical_axes(results: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from arz_tui.report.evaluate import PolicyGroup
    from arz_tui.report.timespace import plot_timespace, read_diagrams

    group = PolicyGroup("grp", [results / "grp_s0", results / "grp_s1"],
                        env={"scenario": "riemann"})
    diagrams = read_diagrams([group, PolicyGroup("none", [results / "grp_s2"])])
    assert [d.label for d in diagrams] == ["grp"]  # grp_s2 has no diagrams: left out
    assert diagrams[0].axis is not None

    import matplotlib.pyplot as plt

    figures: list[Any] = []
    real_close = plt.close
    plt.close = lambda fig=None: figures.append(fig)  # keep the figure to inspect it
    try:
        out = results / "out"
        out.mkdir()
        assert plot_timespace(diagrams, out) == "timespace.png"
    finally:
        plt.close = real_close
    assert (out / "timespace.png").stat().st_size > 10_000
    fig = figures[0]
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 2
    for ax in panels:
        assert ax.get_xlabel() == "distance along the corridor (km)"
        assert ax.get_ylabel() == "time (min)"
        # The whole corridor, in km (its links' lengths from the scenario).
        assert ax.get_xlim() == pytest.approx((0.0, diagrams[0].axis.length_m / 1000))
        assert any(line.get_xdata()[0] == pytest.approx(1.0) for line in ax.lines)  # J
    assert "RL (DQN)" in panels[0].get_title() and "fixed time" in panels[1].get_title()
    colorbar = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert colorbar and "veh/km/lane" in colorbar[0].get_ylabel()
    real_close(fig)
    os.remove(out / "timespace.png")


async def test_narrow_terminal_keeps_status_and_stacks_the_overview(results: Path) -> None:
    from textual.widgets import DataTable

    async with ArzApp("results").run_test(size=(80, 24)) as pilot:
        screen = await open_run(pilot, "grp_s0")
        table = screen.query_one("#runs", DataTable)
        keys = [str(k.value) for k in table.columns]
        assert keys == ["name", "steps", "best", "status", "note"]
        # Everything up to the status is on screen (a long note may scroll).
        widths = [c.get_render_width(table) for c in table.columns.values()]
        assert sum(widths[:4]) <= 78
        config = screen.query_one("#config-scroll")
        summary = screen.query_one("#summary-box")
        assert summary.region.y > config.region.y  # stacked, each the full width
        assert summary.region.width >= 76
        await pilot.resize_terminal(140, 45)
        await wait_until(pilot, lambda: len(table.columns) == 8)
        await pilot.pause(0.1)
        assert summary.region.y == config.region.y  # side by side again


@pytest.mark.parametrize("size", [(80, 24), (140, 45)], ids=["80x24", "140x45"])
def test_snapshot_group_time_space(snap_compare, results: Path, size: tuple[int, int]) -> None:
    for path in [results, *results.rglob("*")]:  # the table shows folder dates
        os.utime(path, (1_700_000_000, 1_700_000_000))

    async def show(pilot: Any) -> None:
        screen = await open_run(pilot, "grp")
        await wait_until(pilot, lambda: screen.details.member == "grp_s0")
        await pilot.press("3")
        await pilot.pause(0.3)

    assert snap_compare(ArzApp("results"), terminal_size=size, run_before=show)
