"""Runs of the validation scenarios through the env, so that what is validated is the env's own
read-out (`EpisodeTotals`), not a separate computation (docs/validation.md).

Signals follow a cyclic plan that gives each phase `slot_s` seconds (yellow/all-red included,
as `FixedTime` with an equal split does); `always_green` holds the initial phase.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

from arz_tui.env.metrics import EpisodeTotals
from arz_tui.env.traffic_env import TrafficSignalEnv
from sim.scenario import Scenario
from sim.simulator import ACC_WAITING
from sim.validation import scenario_yaml

DECISION_S = 15.0


@dataclass(frozen=True)
class PlanRun:
    """The env's episode totals, and the split of its mean queue."""

    totals: EpisodeTotals
    link_queue_veh: float
    """Time mean of queued vehicles on links."""
    entry_queue_veh: float
    """Time mean of vehicles waiting at the sources (the rest of totals.mean_queue_veh)."""


def run_plan(scn: Scenario, slot_s: float = 30.0, always_green: bool = False,
             episode_s: float | None = None) -> PlanRun:
    """One episode of `scn` (no demand noise, demand as written) under the cyclic plan."""
    slots = slot_s / DECISION_S
    if abs(slots - round(slots)) > 1e-9 or slots < 1:
        raise ValueError(f"slot_s must be a whole number of {DECISION_S:g} s decisions, "
                         f"got {slot_s:g}")
    with tempfile.TemporaryDirectory(prefix="arz-validation-") as folder:
        # The env takes scenarios by name or path; the file lives as long as the episode.
        path = Path(folder) / f"{scn.name}.yaml"
        path.write_text(scenario_yaml(scn), encoding="utf-8")
        env = TrafficSignalEnv(scenario=str(path), demand_noise=0.0, demand_level=1.0,
                               decision_interval_s=DECISION_S,
                               episode_s=episode_s or scn.duration_s)
        env.reset(seed=0)
        signals = env.sim.net.signals
        first = [s.initial_phase for s in signals]
        steps = math.ceil(env.config.episode_s / DECISION_S - 1e-9)
        for k in range(steps):
            if always_green:
                phases = first
            else:
                cycle = k // round(slots)
                phases = [(p + cycle) % s.n_phases for p, s in zip(first, signals, strict=True)]
            env.step(env.codec.encode(phases))
    sim = env.sim
    return PlanRun(env.episode_totals(), float(sim.cell_queue.sum()) / sim.t,
                   float(sim.src_acc[ACC_WAITING].sum()) / sim.t)
