"""Webster's fixed-time plan: optimal cycle and green splits from design flows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from arz_tui.baselines.base import design_link_flows, rounded_slots, saturation_flow
from arz_tui.baselines.fixed_time import FixedTime

if TYPE_CHECKING:
    from arz_tui.env.traffic_env import TrafficSignalEnv


@dataclass(frozen=True)
class WebsterPlan:
    """Webster's timing of one signal (seconds unless said otherwise)."""

    node: str
    flow_ratios: tuple[float, ...]
    """Critical flow ratio y = q / s of each phase: the largest over the phase's movements."""
    total_ratio: float
    """Y, the sum of the phases' critical flow ratios."""
    lost_s: float
    """L, lost time per cycle: (yellow/all-red + start-up lost time) per phase."""
    optimal_cycle_s: float
    """C0 = (1.5 L + 5) / (1 - Y), infinite when Y >= 1."""
    cycle_s: float
    """C0 clamped to [min_cycle_s, max_cycle_s] (max_cycle_s when Y >= max_ratio)."""
    effective_green_s: tuple[float, ...]
    """g_p = (C - L) y_p / Y (equal shares when Y = 0)."""
    phase_s: tuple[float, ...]
    """Slot of each phase in the cycle: g_p + yellow + start-up lost time (sums to C)."""
    design_time_s: float
    """Centre of the design period (peak window or, for mean flows, the episode's middle)."""


def webster_cycle(lost_s: float, total_ratio: float) -> float:
    """Webster's (1958) delay-minimising cycle C0 = (1.5 L + 5) / (1 - Y) (s); inf if Y >= 1."""
    if total_ratio >= 1.0:
        return float("inf")
    return (1.5 * lost_s + 5.0) / (1.0 - total_ratio)


def webster_plan(node: str, flow_ratios: Sequence[float], lost_per_phase_s: float,
                 min_cycle_s: float = 30.0, max_cycle_s: float = 120.0,
                 max_ratio: float = 0.95, design_time_s: float = 0.0) -> WebsterPlan:
    """Cycle and splits of one signal from its phases' critical flow ratios."""
    y = np.asarray(flow_ratios, dtype=np.float64)
    total = float(y.sum())
    lost = lost_per_phase_s * len(y)
    c0 = webster_cycle(lost, total)
    cycle = max_cycle_s if total >= max_ratio else float(np.clip(c0, min_cycle_s, max_cycle_s))
    cycle = max(cycle, lost + 1.0)
    share = y / total if total > 0 else np.full(len(y), 1.0 / len(y))
    green = (cycle - lost) * share
    return WebsterPlan(node=node, flow_ratios=tuple(float(v) for v in y), total_ratio=total,
                       lost_s=lost, optimal_cycle_s=c0, cycle_s=cycle,
                       effective_green_s=tuple(float(v) for v in green),
                       phase_s=tuple(float(v + lost_per_phase_s) for v in green),
                       design_time_s=design_time_s)


class Webster(FixedTime):
    """Fixed-time plan by Webster's method (Webster 1958, *Traffic signal settings*, Road
    Research Technical Paper 39; as in Roess, Prassas and McShane, *Traffic Engineering*).

    For every signal:

    1. Design flows q (veh/s per class) on every link: the scenario's demand profile times the
       episode's demand level (`env.demand_level`; the random per-episode noise is not known
       in advance and not used), propagated from the sources through the turning ratios.
    2. Saturation flow s of each approach from the model: the maximum equilibrium flow of the
       two-class mixture at the approach's design vehicle mix (`base.saturation_flow`,
       computed in passenger-car units: motorcycles count `pce`). A movement m with turning
       ratio beta gets q_m = beta q and s_m = beta s, so its flow ratio is the approach's
       y = q / s.
    3. Critical flow ratio of a phase y_p = max over its movements; Y = sum_p y_p.
    4. Lost time L = n_phases (yellow_s + startup_lost_s). The model inserts an all-red
       yellow at every change and discharges nothing during each signal's start-up lost
       time (`lost_time_s` of the scenario), so `startup_lost_s` defaults to that.
    5. Cycle C0 = (1.5 L + 5) / (1 - Y), clamped to [min_cycle_s, max_cycle_s]
       (default 30-120 s); when Y >= max_ratio (default 0.95; oversaturated) the formula is
       meaningless and max_cycle_s is used.
    6. Effective greens g_p = (C - L) y_p / Y; each phase's slot is g_p plus its yellow (and
       start-up lost time).

    Parameters:
        flows: "peak" (default): the design period is the `peak_window_s` window (default
            900 s, the HCM peak 15 minutes) with the largest Y at that signal, flows averaged
            over it; "mean": flows averaged over the whole episode.
        common_cycle: False (default): each signal runs its own optimal cycle; True: every
            signal gets the longest of their cycles (the critical junction sets the corridor's
            cycle, as for arterial coordination; splits keep each signal's y_p / Y). A common
            cycle pays only with coordinated offsets, which this baseline does not optimise:
            on lagos it is slightly worse (heavy demand: 16.9 s mean delay against 16.2 s).
        min_cycle_s, max_cycle_s, max_ratio, startup_lost_s, peak_window_s: as above.
        offsets_s: start of each signal's cycle (default 0, no coordination offsets).

    The plan is realised like any `FixedTime` plan, rounded to the decision interval (with
    15 s decisions a 72 s cycle runs as 75 s). `plans` holds the unrounded timing per signal
    after `reset`.
    """

    name = "webster"

    def __init__(self, flows: Literal["peak", "mean"] = "peak", common_cycle: bool = False,
                 min_cycle_s: float = 30.0, max_cycle_s: float = 120.0,
                 max_ratio: float = 0.95, startup_lost_s: float | None = None,
                 peak_window_s: float = 900.0, cycle_range: tuple[float, float] = (0.75, 1.5),
                 offsets_s: float | Sequence[float] = 0.0) -> None:
        if flows not in ("peak", "mean"):
            raise ValueError(f"flows must be 'peak' or 'mean', got {flows!r}")
        if not 0 < min_cycle_s <= max_cycle_s:
            raise ValueError(f"need 0 < min_cycle_s <= max_cycle_s, got {min_cycle_s}, "
                             f"{max_cycle_s}")
        if not 0 < max_ratio < 1:
            raise ValueError(f"max_ratio must lie in (0, 1), got {max_ratio}")
        super().__init__(offsets_s=offsets_s)
        self.flows = flows
        self.common_cycle = common_cycle
        self.min_cycle_s = min_cycle_s
        self.max_cycle_s = max_cycle_s
        self.max_ratio = max_ratio
        self.startup_lost_s = startup_lost_s
        self.peak_window_s = peak_window_s
        self.cycle_range = cycle_range
        self.plans: list[WebsterPlan] = []

    def __repr__(self) -> str:
        return (f"Webster(flows={self.flows!r}, common_cycle={self.common_cycle}, "
                f"cycle=[{self.min_cycle_s}, {self.max_cycle_s}])")

    # ------------------------------------------------------------------ flow ratios
    def flow_ratios(self, env: TrafficSignalEnv) -> tuple[list[np.ndarray], np.ndarray]:
        """Per signal, the critical flow ratio of every phase per design bin (phases, bins);
        and the bin centres (s)."""
        net = env.sim.net
        flows, centres = design_link_flows(env)  # (classes, links, bins)
        pce = net.pce
        mean_mix = flows.mean(axis=2)
        out = []
        for info in net.signals:
            cap: dict[int, float] = {}
            ratios = np.zeros((info.n_phases, flows.shape[2]))
            for p, movements in enumerate(info.phase_movements):
                for m in movements:
                    k = int(net.mov_from[m])
                    if k not in cap:
                        shares = mean_mix[:, k] if mean_mix[:, k].sum() > 0 else np.ones(len(pce))
                        cap[k] = saturation_flow(net, k, shares)[1]
                    q_pcu = (pce[:, None] * flows[:, k]).sum(axis=0)
                    np.maximum(ratios[p], q_pcu / cap[k], out=ratios[p])
            out.append(ratios)
        return out, centres

    def phase_durations(self, env: TrafficSignalEnv) -> list[list[float]]:
        net = env.sim.net
        ratios, centres = self.flow_ratios(env)
        bin_s = env.sim.demand_bin
        plans = []
        for info, y in zip(net.signals, ratios, strict=True):
            if self.flows == "mean":
                y_design, t_design = y.mean(axis=1), float(centres.mean())
            else:
                width = int(min(max(1, round(self.peak_window_s / bin_s)), y.shape[1]))
                kernel = np.ones(width) / width
                windows = np.array([np.convolve(row, kernel, mode="valid") for row in y])
                best = int(np.argmax(windows.sum(axis=0)))
                y_design = windows[:, best]
                t_design = float(centres[best:best + width].mean())
            startup = info.lost_time_s if self.startup_lost_s is None else self.startup_lost_s
            lost = info.yellow_s + startup
            plans.append(webster_plan(info.node, y_design, lost, self.min_cycle_s,
                                      self.max_cycle_s, self.max_ratio, t_design))
        if self.common_cycle and plans:
            cycle = max(p.cycle_s for p in plans)
            plans = [_with_cycle(p, cycle) for p in plans]
        self.plans = plans
        groups = [list(range(len(plans)))] if self.common_cycle else [[g] for g in
                                                                     range(len(plans))]
        realised: list[WebsterPlan | None] = [None] * len(plans)
        for group in groups:
            cycle = self.grid_cycle(env, [plans[g] for g in group])
            for g in group:
                realised[g] = _with_cycle(plans[g], cycle)
        return [list(p.phase_s) for p in realised if p is not None]

    def grid_cycle(self, env: TrafficSignalEnv, plans: list[WebsterPlan]) -> float:
        """The cycle (whole decision intervals) that realises `plans` (one shared cycle) best.

        Webster (1958) found the delay within 10-20 % of its minimum for cycles between 0.75
        and 1.5 times the optimum, so among those multiples of the interval (and within
        [min_cycle_s, max_cycle_s]) this takes the one whose rounded phase slots reproduce the
        planned green shares y_p / Y best (sum of absolute share errors over the signals),
        the one nearest the planned cycle on ties."""
        signals = env.sim.net.signals
        by_node = {s.node: s for s in signals}
        interval = self.interval
        cycle = plans[0].cycle_s
        lo = max(self.cycle_range[0] * cycle, self.min_cycle_s)
        hi = min(self.cycle_range[1] * cycle, self.max_cycle_s)
        candidates = list(range(max(1, math.ceil(lo / interval - 1e-9)),
                                math.floor(hi / interval + 1e-9) + 1))
        if not candidates:
            return max(1, round(cycle / interval)) * interval
        best, best_key = candidates[0], (math.inf, math.inf)
        for n in candidates:
            error = 0.0
            for plan in plans:
                info = by_node[plan.node]
                need = math.ceil((info.min_green_s + info.yellow_s) / interval - 1e-9)
                stretched = _with_cycle(plan, n * interval)
                slots = rounded_slots(stretched.phase_s, interval,
                                      [max(1, need)] * info.n_phases)
                lost = plan.lost_s / len(slots)
                green = np.maximum(np.array(slots) * interval - lost, 0.0)
                target = np.asarray(stretched.effective_green_s)
                error += float(np.abs(green / green.sum() - target / target.sum()).sum())
            key = (round(error, 9), abs(n * interval - cycle))
            if key < best_key:
                best, best_key = n, key
        return best * interval


def _with_cycle(plan: WebsterPlan, cycle: float) -> WebsterPlan:
    """`plan` stretched to `cycle` with the same split shares."""
    n = len(plan.flow_ratios)
    total = plan.total_ratio
    share = (np.asarray(plan.flow_ratios) / total) if total > 0 else np.full(n, 1.0 / n)
    green = (cycle - plan.lost_s) * share
    per_phase_lost = plan.lost_s / n
    return WebsterPlan(plan.node, plan.flow_ratios, total, plan.lost_s, plan.optimal_cycle_s,
                       cycle, tuple(float(v) for v in green),
                       tuple(float(v + per_phase_lost) for v in green), plan.design_time_s)
