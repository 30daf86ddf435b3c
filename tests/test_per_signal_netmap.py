"""The network map widget: geometry from node coordinates, occupancy colours, signals."""

from __future__ import annotations

import numpy as np
import pytest
from textual.app import App, ComposeResult

from arz_tui.env import TrafficSignalEnv
from arz_tui.training.netstate_log import network_frame, network_header
from arz_tui.tui.widgets.heatmap import colour
from arz_tui.tui.widgets.netmap import (
    MapGeometry,
    NetworkMap,
    rasterise,
    signal_queue_rows,
)


def _geometry(scenario: str = "grid4x4") -> tuple[TrafficSignalEnv, MapGeometry]:
    env = TrafficSignalEnv(scenario=scenario, joint_action=False)
    return env, MapGeometry.from_scenario(env.config.scenario_spec, env.sim.net.link_ids)


def test_links_follow_node_coordinates():
    env, geo = _geometry()
    assert len(geo.link_ends) == env.sim.net.n_links and len(geo.signal_nodes) == 16
    bits, value, signals = rasterise(geo, None, 60, 20)
    assert len(set(signals)) == 16  # every junction its own cell
    assert (bits > 0).sum() > 200 and np.all(value[bits > 0] == 0.0)
    # One link full: only cells it crosses (and shares) take its value.
    occ = np.zeros(len(geo.link_ends))
    occ[5] = 1.0
    _, value, _ = rasterise(geo, occ, 60, 20)
    assert 1 <= (value == 1.0).sum() < 15
    # A north-south link is drawn vertically: its full cells share (nearly) one column.
    a, b = geo.link_ends[5]
    dx, dy = geo.xy[b] - geo.xy[a]
    cols = np.nonzero(value == 1.0)[1]
    rows = np.nonzero(value == 1.0)[0]
    if abs(dy) > abs(dx):
        assert np.ptp(cols) <= 1 < np.ptp(rows) + 2
    else:
        assert np.ptp(rows) <= 1


def test_nodes_without_coordinates_are_placed():
    _, geo = _geometry("lagos")
    assert np.all(np.isfinite(geo.xy))
    assert len({tuple(p) for p in np.round(geo.xy, 6)}) == len(geo.node_ids)


def test_queue_table_sorted_fullest_first():
    env = TrafficSignalEnv(scenario="grid:2x2", joint_action=False)
    env.reset(seed=0)
    for _ in range(40):
        env.step(np.zeros(4, dtype=np.int64))
    header = network_header(env)
    frame = network_frame(env, 40)
    rows = signal_queue_rows(header, frame)
    assert [r[2] for r in rows] == sorted((r[2] for r in rows), reverse=True)
    # The queues shown are the env's per-signal queues (time means, vehicles), to 0.1.
    queues = env.last_metrics.signal_queue_veh
    assert sum(r[2] for r in rows) == pytest.approx(float(queues.sum()), abs=0.05 * len(rows))
    assert rows[0][2] > 0 and {r[0] for r in rows} == {s.node for s in env.sim.net.signals}
    occ = frame.occupancy_fraction()
    assert occ.shape == (env.sim.net.n_links,) and 0 <= occ.min() and occ.max() <= 1
    # The recorded header draws the same map as the scenario.
    geo = MapGeometry.from_header(header)
    ref = MapGeometry.from_scenario(env.config.scenario_spec, env.sim.net.link_ids)
    assert np.array_equal(geo.link_ends, ref.link_ends) and np.allclose(geo.xy, ref.xy)
    assert geo.signal_nodes == ref.signal_nodes


async def test_widget_draws_jams_in_the_jam_colour():
    _, geo = _geometry()
    occ = np.zeros(len(geo.link_ends))
    occ[5] = 1.0

    class MapApp(App):
        def compose(self) -> ComposeResult:
            yield NetworkMap(geo, id="map")

    app = MapApp()
    async with app.run_test(size=(60, 20)) as pilot:
        widget = app.query_one(NetworkMap)
        widget.set_occupancy(occ)
        await pilot.pause()
        jam = colour(1.0)
        colours = set()
        glyphs = 0
        for y in range(widget.size.height):
            for seg in widget.render_line(y):
                if seg.style is not None and seg.style.color is not None:
                    colours.add(seg.style.color.triplet)
                glyphs += seg.text.count("◆")
        assert jam.triplet in colours and colour(0.0).triplet in colours
        assert glyphs == 16


def test_report_signal_queues_are_vehicles_on_the_approaches():
    """The report's per-signal queue is the episode's time mean in vehicles: each signal's at
    most its approaches' storage, and all together at most the network's mean queue (the
    signals' approaches are some of its links)."""
    from arz_tui.baselines import make_controller, run_episode
    from arz_tui.report.evaluate import _SignalQueues

    env = TrafficSignalEnv(scenario="grid:2x2", joint_action=False, episode_s=600.0)
    count = _SignalQueues(4)
    totals = run_episode(env, make_controller("fixed-time"), seed=0, before_step=count)
    count.end(env)
    assert count.decisions == env.steps_per_episode
    queues = np.array(count.mean())
    storage = np.array([env.link_storage[list(s.incoming)].sum() for s in env.sim.net.signals])
    assert np.all(queues > 0) and np.all(queues <= storage)
    assert queues.sum() <= totals["mean_queue_veh"] + 1e-9
