"""Design demand of generated networks from a degree of saturation.

A builder's named demand levels are not vehicle counts copied from elsewhere: they load the
network to a stated degree of saturation in this model, so `heavy` means the same thing on a
1-lane 2x2 grid and a 3-lane 8x8 grid. With entry flows proportional to given weights, the
link flows f follow from the turning ratios (f = e + B f, solved exactly); a movement m from
link k is loaded at y_m = f_k / s_k (s_k the link's saturation flow for the class mix: in this
model a movement discharges its turning share of the approach's saturation flow) and, under
the reference plan (every phase shown 30 s including its yellow/all-red, start-up lost time
lost, i.e. equal split), it gets green g_m / C = n_m (30 - yellow - lost) / (30 P), n_m
being the number of the P phases that give it green. Its degree of saturation is
X_m = y_m / (g_m / C); the entry flows are scaled so that the busiest movement of the network
has X = HEAVY_X at the demand peak for `heavy`, and the level's multiplier times that
otherwise (the env's demand levels use the same multipliers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.exact import capacity
from sim.junction import permitted_capacity
from sim.params import KMH, ARZParams

HEAVY_X = 0.9
"""Degree of saturation of the busiest movement at the peak of a `heavy` network."""
LEVELS = {"light": 0.5, "moderate": 0.75, "heavy": 1.0, "saturated": 1.25}
"""Same multipliers as the env's demand levels (arz_tui.env.config.DEMAND_LEVELS)."""
PHASE_SHOWN_S = 30.0
"""Reference plan: every phase shown this long, yellow/all-red included."""
PEAK_SHAPE = ((0.0, 0.4), (1500.0 / 3600.0, 1.0), (2100.0 / 3600.0, 1.0), (1.0, 0.4))
"""Profile over the episode (fraction of duration, fraction of the peak): a 40 % shoulder
rising to a 10-minute plateau at mid-hour, the shape of RESCO's grid4x4 departures."""


def lane_saturation_flow(classes: Sequence[ARZParams], shares: Sequence[float],
                         speed_kmh: float | None) -> float:
    """veh/s per lane that a standing queue discharges for the vehicle mix `shares`: the
    harmonic mean of the pure classes' lane capacities at the link's free speed (as in
    arz_tui.baselines.base.saturation_flow, which works on a compiled network)."""
    inv = 0.0
    for p, x in zip(classes, shares, strict=True):
        if x <= 0.0:
            continue
        v = p.v_max if speed_kmh is None else min(p.v_max, speed_kmh * KMH)
        inv += x / capacity(p.model_copy(update={"v_max": v}))
    return 1.0 / inv


def link_flows(links: list[str], entry: dict[str, float],
               movements: Sequence[tuple[str, str, float]]) -> dict[str, float]:
    """Stationary flow on every link: the entry flow of its source plus the turning share of
    every upstream link's flow (exact linear solve; vehicles always leave a grid)."""
    idx = {lid: k for k, lid in enumerate(links)}
    n = len(links)
    b = np.zeros((n, n))
    for frm, to, ratio in movements:
        b[idx[to], idx[frm]] += ratio
    e = np.array([entry.get(lid, 0.0) for lid in links])
    f = np.linalg.solve(np.eye(n) - b, e)
    return {lid: float(f[k]) for lid, k in idx.items()}


@dataclass(frozen=True)
class Load:
    """A movement as the design sees it: its approach link, turning ratio, share of the
    cycle it is green (g / C), and, for a permitted left turn, the opposing movements it
    yields to while green, as (link, ratio, g / C)."""

    link: str
    ratio: float
    green: float
    opposing: tuple[tuple[str, float, float], ...] = ()


def degree(load: Load, flows: dict[str, float], saturation: dict[str, float],
           pcu_per_veh: float, t_c: float = 4.5, t_f: float = 2.5) -> float:
    """X_m = f_m / (capacity_m g_m / C). A permitted left turn's capacity is its share of
    the approach's saturation flow capped by the HCM permitted capacity (one lane) for the
    opposing flow during green, as the junction model applies it."""
    if load.green <= 0.0:
        return 0.0
    own = load.ratio * saturation[load.link]
    if load.opposing:
        v_o = sum(flows[k] * r / g for k, r, g in load.opposing if g > 0.0) * pcu_per_veh
        own = min(own, permitted_capacity(v_o, t_c, t_f) / pcu_per_veh)
    return load.ratio * flows[load.link] / (own * load.green)


def design_scale(loads: Sequence[Load], unit_flows: dict[str, float],
                 saturation: dict[str, float], pcu_per_veh: float, target: float) -> float:
    """Entry-flow scale at which the busiest movement reaches degree `target`: exact for
    protected movements (X is linear in the scale), bisection once permitted left turns
    (whose capacity falls as the opposing flow grows) are loaded."""
    def worst(scale: float) -> float:
        flows = {k: v * scale for k, v in unit_flows.items()}
        return max((degree(x, flows, saturation, pcu_per_veh) for x in loads), default=0.0)

    linear = max((degree(Load(x.link, x.ratio, x.green), unit_flows, saturation, pcu_per_veh)
                  for x in loads), default=0.0)
    hi = target / linear if linear > 0 else 0.0
    if worst(hi) <= target * (1 + 1e-12):
        return hi
    lo = 0.0
    for _ in range(60):  # 2^-60 of the bracket: far below any rounding of the flows
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if worst(mid) < target else (lo, mid)
    return 0.5 * (lo + hi)


def profile(peak_veh_h: float, moto_share: float, duration_s: float) -> list[list[float]]:
    """Demand profile points [t_s, motorcycles_veh_h, cars_veh_h] with the PEAK_SHAPE."""
    return [[round(a * duration_s, 3), round(peak_veh_h * f * moto_share, 3),
             round(peak_veh_h * f * (1.0 - moto_share), 3)] for a, f in PEAK_SHAPE]
