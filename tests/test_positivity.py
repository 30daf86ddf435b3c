"""Positivity and bounds under random scenarios (hypothesis).

Random small networks (a diverge, a signalised merge, two sources, two sinks), random
geometry, class parameters, demand far above capacity, initial densities up to jam with
random non-equilibrium speeds, and random phase requests must never produce NaN, a negative
density, a class above its jam density, an occupancy above the largest jam occupancy, or a
speed outside [0, v_max]. Vehicles are also counted: positivity must not come from clipping
negative densities (that would break the entered - exited balance).
"""

from __future__ import annotations

import numpy as np
from conftest import class_masses, equilibrium_speed, make_sim, occupancy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.scenario import Classes
from sim.simulator import ACC_ENTERED, ACC_GENERATED

LINKS = ("in", "o1", "o2", "side", "down")
ENDS = {"in": ("s1", "J"), "o1": ("J", "t1"), "o2": ("J", "K"), "side": ("s2", "K"),
        "down": ("K", "t2")}
PRESENT = 1e-9
"""Density (veh/m) above which a class's marker y / rho is checked."""
REL = 1e-9
"""Relative slack on the upper bounds (roundoff of the density update)."""

flows = st.floats(0.0, 6000.0, allow_nan=False)


@st.composite
def class_specs(draw) -> dict:
    """Either the default classes (triangular law) or random ones: power law (gamma 1, 2 or in
    between) or triangular law (random backward wave and free-speed drop); tau on or off."""
    if draw(st.booleans()):
        return {}

    def one(jam_lo: float, jam_hi: float, pce: float | None) -> dict:
        spec = {
            "v_max_kmh": draw(st.floats(20.0, 100.0)),
            "jam_density_veh_per_km_lane": draw(st.floats(jam_lo, jam_hi)),
            "tau_s": draw(st.none() | st.floats(1.0, 30.0)),
        }
        if draw(st.booleans()):
            spec["gamma"] = draw(st.sampled_from([1.0, 2.0]) | st.floats(1.0, 3.0))
        else:
            spec["law"] = "triangular"
            spec["wave_speed_kmh"] = draw(st.floats(8.0, 25.0))
            spec["free_speed_drop"] = draw(st.floats(0.005, 0.05))
        spec["pce"] = draw(st.floats(0.1, 1.0)) if pce is None else pce
        return spec

    return {"classes": {"motorcycle": one(100.0, 1000.0, None), "car": one(60.0, 250.0, 1.0)}}


@st.composite
def scenarios(draw) -> tuple[dict, list, int, float]:
    """(scenario dict, per-interval phase requests, speed-perturbation seed, interval)."""
    links = []
    for lid in LINKS:
        length = draw(st.floats(50.0, 1000.0))
        links.append({
            "id": lid, "from": ENDS[lid][0], "to": ENDS[lid][1], "length_m": length,
            "cells": draw(st.integers(5, 30)), "lanes": draw(st.integers(1, 3)),
            "speed_limit_kmh": draw(st.none() | st.floats(20.0, 80.0)),
        })
    ratio = draw(st.floats(0.05, 0.95))
    demand = []
    for node in ("s1", "s2"):
        n_points = draw(st.integers(1, 3))
        times = sorted(draw(st.sets(st.floats(0.0, 300.0), min_size=n_points,
                                    max_size=n_points)))
        demand.append({"node": node, "profile": [[t, draw(flows), draw(flows)]
                                                 for t in times]})
    # Initial state: per link two segments with fractions of each class's jam density; they
    # are scaled below so the mixture never starts above jam (see `_scaled_initial`).
    initial = []
    for link in links:
        cut = draw(st.floats(0.05, 0.95)) * link["length_m"]
        for start, end in ((0.0, cut), (cut, None)):
            seg = {"link": link["id"], "start_m": start,
                   "fm": draw(st.floats(0.0, 1.0)), "fc": draw(st.floats(0.0, 1.0))}
            if end is not None:
                seg["end_m"] = end
            initial.append(seg)
    n_intervals = draw(st.integers(5, 20))
    phases = draw(st.lists(st.integers(-1, 1), min_size=n_intervals, max_size=n_intervals))
    data = {
        "name": "random",
        "numerics": {"demand_bin_s": draw(st.sampled_from([5.0, 20.0, 60.0])),
                     "cfl": draw(st.sampled_from([0.5, 0.9, 1.0]))},
        "nodes": [{"id": "s1", "kind": "source"}, {"id": "s2", "kind": "source"},
                  {"id": "J", "kind": "junction", "fifo": draw(st.booleans())},
                  {"id": "K", "kind": "junction", "fifo": draw(st.booleans())},
                  {"id": "t1", "kind": "sink"}, {"id": "t2", "kind": "sink"}],
        "links": links,
        "movements": [
            {"from": "in", "to": "o1", "turn_ratio": ratio},
            {"from": "in", "to": "o2", "turn_ratio": 1.0 - ratio},
            {"from": "o2", "to": "down", "priority": draw(st.floats(0.1, 10.0))},
            {"from": "side", "to": "down", "priority": draw(st.floats(0.1, 10.0)),
             "signalized": draw(st.booleans())},
        ],
        "signals": [{"node": "K", "yellow_s": draw(st.sampled_from([0.0, 2.0, 4.5])),
                     "min_green_s": draw(st.sampled_from([0.0, 5.0, 15.0])),
                     "phases": [{"name": "main", "movements": ["o2->down"]},
                                {"name": "side", "movements": ["side->down"]}]}],
        "demand": demand,
        "initial": initial,
        **draw(class_specs()),
    }
    interval = draw(st.sampled_from([3.0, 10.0, 20.0]))
    return data, phases, draw(st.integers(0, 2**32 - 1)), interval


def _scaled_initial(data: dict) -> dict:
    """Turn the fractions fm, fc of each segment into densities: each class at most its jam
    density, the mixture's occupancy at most the larger jam occupancy."""
    classes = data.get("classes", {})
    params = Classes(**classes).params()
    jam_m, jam_c = params[0].rho_max * 1000.0, params[1].rho_max * 1000.0
    occ_max = max(p.jam_occupancy for p in params) * 1000.0
    segs = []
    for seg in data["initial"]:
        seg = dict(seg)
        rm, rc = seg.pop("fm") * jam_m, seg.pop("fc") * jam_c
        occ = params[0].pce * rm + params[1].pce * rc
        scale = min(1.0, occ_max / occ) if occ > 0 else 1.0
        seg["motorcycle_veh_per_km_lane"] = rm * scale
        seg["car_veh_per_km_lane"] = rc * scale
        segs.append(seg)
    return {**data, "initial": segs}


def _check_bounds(sim) -> None:
    net = sim.net
    rho, y = sim.rho, sim.y
    assert np.isfinite(rho).all() and np.isfinite(y).all(), "NaN/inf in the state"
    assert (rho >= 0.0).all(), f"negative density {rho.min()}"
    class_jam = net.cell_jam / net.pce[:, None]
    ratio = rho / class_jam
    assert ratio.max() <= 1.0 + REL, f"class density {ratio.max()} x its jam density"
    occ_max = net.cell_jam.max(axis=0)
    occ_ratio = (occupancy(sim) / occ_max).max()
    assert occ_ratio <= 1.0 + REL, f"occupancy {occ_ratio} x the largest jam occupancy"
    present = rho > PRESENT
    w = np.where(present, y / np.where(present, rho, 1.0), 0.0)
    assert (w <= net.cell_vmax * (1.0 + REL)).all(), "marker above v_max"
    v = sim.speeds()
    assert np.isfinite(v).all()
    assert (v >= 0.0).all() and (v <= net.cell_vmax * (1.0 + REL)).all(), "speed out of range"
    assert np.isfinite(sim.src_queue).all() and (sim.src_queue >= 0.0).all()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_random_networks_stay_positive_and_bounded(case):
    data, phases, seed, interval = case
    sim = make_sim(_scaled_initial(data))
    rng = np.random.default_rng(seed)
    if rng.random() < 0.5:
        # Non-equilibrium start: each cell's speed a random fraction of its equilibrium speed.
        sim.set_state(sim.rho.copy(), equilibrium_speed(sim) * rng.random(sim.rho.shape))
    _check_bounds(sim)
    net = sim.net
    m0 = class_masses(sim)
    for request in phases:
        sim.advance(interval, [request])
        _check_bounds(sim)
    # No hidden clipping: vehicles are counted exactly.
    entered = sim.src_acc[ACC_ENTERED].sum(axis=1)
    exited = sim.acc_out[:, net.sink_link].sum(axis=1)
    scale = max(1.0, float(m0.sum()), float(entered.sum()))
    balance = class_masses(sim) - m0 - (entered - exited)
    assert np.abs(balance).max() <= 1e-9 * scale, balance
    gen_gap = sim.src_acc[ACC_GENERATED] - sim.src_acc[ACC_ENTERED] - sim.src_queue
    assert np.abs(gen_gap).max() <= 1e-9 * max(1.0, float(sim.src_acc[ACC_GENERATED].max()))
