"""Baselines per signal on networks of any size: the cycle's phases, the network's own
program, and every controller driving a 64-signal grid with one phase per signal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from arz_tui.baselines import CONTROLLERS, FixedTime, Webster, make_controller
from arz_tui.baselines.base import program_phases
from arz_tui.baselines.runner import run_episode
from arz_tui.env import TrafficSignalEnv

SUMO = Path(__file__).parent / "data" / "sumo"


def test_program_phases_cover_every_movement_once():
    env = TrafficSignalEnv(scenario="grid4x4", joint_action=False)
    for info in env.sim.net.signals:
        program = program_phases(info)
        served = set().union(*(info.phase_movements[p] for p in program))
        assert served == set().union(*info.phase_movements)
        # No phase of the cycle is redundant: each serves a movement no other one does.
        for p in program:
            others = set().union(*(info.phase_movements[q] for q in program if q != p))
            assert set(info.phase_movements[p]) - others
    # RESCO-style junctions: through and left per axis, not each approach alone again.
    names = env.sim.net.signals[0].phase_names
    assert [names[p] for p in program_phases(env.sim.net.signals[0])] == [
        "NS_straight", "NS_left", "EW_straight", "EW_left"]
    lagos = TrafficSignalEnv(scenario="lagos")
    for info in lagos.sim.net.signals:
        assert program_phases(info) == list(range(info.n_phases))


def test_fixed_time_runs_the_networks_own_program():
    env = TrafficSignalEnv(scenario=str(SUMO / "grid2x2.net.xml"), joint_action=False)
    env.reset(seed=0)
    ft = FixedTime()
    ft.reset(env)
    specs = {s.node: s for s in env.config.scenario_spec.signals}
    for info, green in zip(env.sim.net.signals, ft.plan_green_s(), strict=True):
        program = [p.duration_s + info.yellow_s for p in specs[info.node].phases]
        assert all(d is not None for d in program)
        # Realised on the 15 s decision grid: each slot within one interval of the program.
        assert np.allclose(green, program, atol=env.interval)
        assert sum(green) == pytest.approx(round(sum(program) / env.interval) * env.interval)


def test_webster_splits_only_the_cycle_phases():
    env = TrafficSignalEnv(scenario="grid4x4", joint_action=False)
    env.reset(seed=0)
    w = Webster()
    w.reset(env)
    for info, green in zip(env.sim.net.signals, w.plan_green_s(), strict=True):
        program = set(program_phases(info))
        assert all((g > 0) == (p in program) for p, g in enumerate(green))
        assert len(w.plans[0].flow_ratios) == 4


@pytest.mark.parametrize("name", list(CONTROLLERS))
def test_every_baseline_drives_a_64_signal_grid(name):
    env = TrafficSignalEnv(scenario="grid:8x8", joint_action=False, episode_s=300.0)
    requested: list[np.ndarray] = []
    result = run_episode(env, make_controller(name), seed=0,
                         before_step=lambda e, a: requested.append(np.asarray(a)))
    assert result["steps"] == 20 and result["vehicles_arrived"] > 0
    n_phases = np.array([s.n_phases for s in env.sim.net.signals])
    for phases in requested:
        assert phases.shape == (64,) and np.all((phases >= 0) & (phases < n_phases))
