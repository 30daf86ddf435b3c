"""Fixed-time (pre-timed) control: a cycle split between the phases, repeated all episode."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from arz_tui.baselines.base import (
    Controller,
    program_durations,
    program_phases,
    rounded_slots,
)

if TYPE_CHECKING:
    from arz_tui.env.traffic_env import TrafficSignalEnv


def _per_signal(value: Any, n: int, what: str) -> list[Any]:
    """`value` for every signal: a scalar/None repeated, or a sequence with one item each."""
    if value is None or isinstance(value, int | float):
        return [value] * n
    items = list(value)
    if len(items) != n:
        raise ValueError(f"{what}: need one entry per signal ({n}), got {len(items)}")
    return items


class FixedTime(Controller):
    """Pre-timed control (see e.g. Roess, Prassas and McShane, *Traffic Engineering*): every
    signal runs its phases in index order, starting with the phase it shows at t = 0, each for
    a fixed share of a fixed cycle.

    Parameters:
        cycle_s: cycle length in seconds, one number for all signals or one per signal
            (default 60 s). It includes the yellow/all-red of every phase change.
        splits: per signal, the share of the cycle of each phase (non-negative, normalised
            to sum 1; a zero share skips that phase, so ``[1, 0]`` holds phase 0 forever).
            None (default) or a None entry: the network's own program when the signal has
            one (`duration_s` of its phases; its cycle replaces cycle_s), else an equal split
            of cycle_s between the phases of `program_phases` (all of them, except phases
            whose movements the others already serve).
        offsets_s: start of each signal's cycle in seconds (default 0: all signals start
            their first phase together at t = 0).

    A phase's slot starts with the signal's yellow/all-red (the change is requested at its
    start), so its displayed green is slot - yellow. The env decides only every `interval`
    seconds, so the plan is realised on that grid: the cycle is rounded to whole intervals
    and the phase slots to whole intervals by largest remainder, each slot at least long
    enough for the signal's minimum green (a cycle that cannot hold these minimums is
    stretched). At every decision the controller requests the phase the rounded plan shows
    over the next interval; the realised phase sequence therefore has the period
    `plan_cycle_s`, the cycle rounded to the decision interval.
    """

    name = "fixed-time"

    def __init__(self, cycle_s: float | Sequence[float] = 60.0,
                 splits: Sequence[Sequence[float] | None] | None = None,
                 offsets_s: float | Sequence[float] = 0.0) -> None:
        self.cycle_s = cycle_s
        self.splits = splits
        self.offsets_s = offsets_s
        self.schedules: list[list[int]] = []

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(cycle_s={self.cycle_s!r}, splits={self.splits!r}, "
                f"offsets_s={self.offsets_s!r})")

    # ------------------------------------------------------------------ plan
    def phase_durations(self, env: TrafficSignalEnv) -> list[list[float]]:
        """Seconds of each phase slot (green + the yellow that starts it) per signal."""
        signals = env.sim.net.signals
        n = len(signals)
        cycles = _per_signal(self.cycle_s, n, "cycle_s")
        splits = [None] * n if self.splits is None else _per_signal(self.splits, n, "splits")
        programs = program_durations(env)
        out = []
        for g, info in enumerate(signals):
            cycle = float(cycles[g])
            if not (math.isfinite(cycle) and cycle > 0):
                raise ValueError(f"cycle_s must be > 0, got {cycle}")
            if splits[g] is None and programs[g] is not None:
                out.append(list(programs[g]))
                continue
            if splits[g] is None:
                share = np.zeros(info.n_phases)
                share[program_phases(info)] = 1.0
            else:
                share = np.asarray(splits[g], dtype=np.float64)
            if share.shape != (info.n_phases,) or np.any(share < 0) or share.sum() <= 0:
                raise ValueError(f"splits of signal {info.node!r}: need {info.n_phases} "
                                 f"non-negative shares with a positive sum, got {splits[g]}")
            out.append(list(cycle * share / share.sum()))
        return out

    def reset(self, env: TrafficSignalEnv) -> None:
        super().reset(env)
        signals = env.sim.net.signals
        offsets = _per_signal(self.offsets_s, len(signals), "offsets_s")
        interval = self.interval
        self.schedules = []
        self.offset_steps = []
        self.n_phases = [info.n_phases for info in signals]
        for g, (info, durations) in enumerate(zip(signals, self.phase_durations(env),
                                                  strict=True)):
            need = math.ceil((info.min_green_s + info.yellow_s) / interval - 1e-9)
            slots = rounded_slots(durations, interval, [max(1, need)] * info.n_phases)
            order = [(info.initial_phase + j) % info.n_phases for j in range(info.n_phases)]
            schedule = [p for p in order for _ in range(slots[p])]
            self.schedules.append(schedule)
            self.offset_steps.append(round(float(offsets[g]) / interval))

    @property
    def plan_cycle_s(self) -> list[float]:
        """Realised cycle per signal (s): whole decision intervals (after `reset`)."""
        return [len(s) * self.interval for s in self.schedules]

    def plan_green_s(self) -> list[list[float]]:
        """Realised slot length of each phase per signal, s (after `reset`)."""
        return [[sched.count(p) * self.interval for p in range(n)]
                for sched, n in zip(self.schedules, self.n_phases, strict=True)]

    def choose_phases(self, observation: Any, env: TrafficSignalEnv) -> list[int]:
        step = round(env.sim.t / self.interval)
        return [sched[(step - off) % len(sched)]
                for sched, off in zip(self.schedules, self.offset_steps, strict=True)]
