"""Shared builders of scenario dicts for the simulator tests.

The builders return plain dicts (the YAML schema of `sim.scenario`), so a test can tweak any
field before handing the dict to `make_sim`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from sim.flux import K_DROP, K_LAW, K_WAVE
from sim.params import Law
from sim.scenario import parse_scenario
from sim.simulator import Simulator

MOTO, CAR = 0, 1


def _seq(value: Any, n: int) -> list[Any]:
    """`value` repeated n times, or the sequence itself (checked to have n items)."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != n:
            raise ValueError(f"expected {n} values, got {len(value)}")
        return list(value)
    return [value] * n


def ring_scenario(
    lengths: Sequence[float] = (500.0, 300.0),
    cells: Sequence[int] | int = 10,
    lanes: Sequence[int] | int = 1,
    initial: Sequence[dict] = (),
    classes: dict | None = None,
    numerics: dict | None = None,
    name: str = "ring",
) -> dict:
    """A closed ring: junctions n0 .. n{N-1}, link `l{k}` from n{k} to n{k+1 mod N}, and the
    single movement l{k} -> l{k+1} at each junction. No sources or sinks."""
    n = len(lengths)
    if n < 2:
        raise ValueError("a ring needs at least two links")
    cells_, lanes_ = _seq(cells, n), _seq(lanes, n)
    data: dict = {
        "name": name,
        "nodes": [{"id": f"n{k}", "kind": "junction"} for k in range(n)],
        "links": [{"id": f"l{k}", "from": f"n{k}", "to": f"n{(k + 1) % n}",
                   "length_m": float(lengths[k]), "cells": int(cells_[k]),
                   "lanes": int(lanes_[k])} for k in range(n)],
        "movements": [{"from": f"l{k}", "to": f"l{(k + 1) % n}"} for k in range(n)],
        "initial": list(initial),
    }
    if classes is not None:
        data["classes"] = classes
    if numerics is not None:
        data["numerics"] = numerics
    return data


def corridor_scenario(
    lengths: Sequence[float] = (1000.0,),
    cells: Sequence[int] | int = 20,
    lanes: Sequence[int] | int = 1,
    demand: Sequence[Sequence[float]] | None = None,
    initial: Sequence[dict] = (),
    classes: dict | None = None,
    numerics: dict | None = None,
    fifo: bool = False,
    name: str = "corridor",
) -> dict:
    """An open corridor: source `src` -> l0 -> j1 -> l1 -> ... -> sink `dst`, with the movement
    l{k} -> l{k+1} at each junction. `demand` is the source's profile
    [(t_s, motorcycle_veh_per_h, car_veh_per_h), ...]."""
    n = len(lengths)
    cells_, lanes_ = _seq(cells, n), _seq(lanes, n)
    node_ids = ["src", *(f"j{k}" for k in range(1, n)), "dst"]
    nodes = [{"id": "src", "kind": "source"}]
    nodes += [{"id": nid, "kind": "junction", "fifo": fifo} for nid in node_ids[1:-1]]
    nodes.append({"id": "dst", "kind": "sink"})
    data: dict = {
        "name": name,
        "nodes": nodes,
        "links": [{"id": f"l{k}", "from": node_ids[k], "to": node_ids[k + 1],
                   "length_m": float(lengths[k]), "cells": int(cells_[k]),
                   "lanes": int(lanes_[k])} for k in range(n)],
        "movements": [{"from": f"l{k}", "to": f"l{k + 1}"} for k in range(n - 1)],
        "initial": list(initial),
    }
    if demand is not None:
        data["demand"] = [{"node": "src", "profile": [list(p) for p in demand]}]
    if classes is not None:
        data["classes"] = classes
    if numerics is not None:
        data["numerics"] = numerics
    return data


def diverge_merge_scenario(
    demand: Sequence[dict] | None = None,
    initial: Sequence[dict] | None = None,
    classes: dict | None = None,
) -> dict:
    """An open network with two sources and two sinks: s1 -> in -> J (FIFO diverge, 30/70)
    -> o1 -> t1 and -> o2 -> K; s2 -> side -> K (signalised merge, priorities 2:1, phases
    "main" = o2->down and "side" = side->down) -> down -> t2.

    By default the demand at s1 exceeds capacity for a while (its point queue grows and
    empties) and three links start partly loaded with both classes."""
    links = [("in", "s1", "J", 800.0, 16, 1), ("o1", "J", "t1", 400.0, 8, 1),
             ("o2", "J", "K", 600.0, 12, 1), ("side", "s2", "K", 500.0, 10, 1),
             ("down", "K", "t2", 700.0, 14, 1)]
    if demand is None:
        demand = [
            {"node": "s1", "profile": [[0, 2000, 800], [300, 6000, 2500], [900, 500, 300]]},
            {"node": "s2", "profile": [[0, 300, 400], [600, 1200, 200]]},
        ]
    if initial is None:
        initial = [
            {"link": "in", "end_m": 300.0, "motorcycle_veh_per_km_lane": 150.0,
             "car_veh_per_km_lane": 60.0},
            {"link": "down", "start_m": 350.0, "motorcycle_veh_per_km_lane": 200.0,
             "car_veh_per_km_lane": 120.0},
            {"link": "o1", "car_veh_per_km_lane": 20.0},
        ]
    data: dict = {
        "name": "diverge-merge",
        "numerics": {"demand_bin_s": 30.0},
        "nodes": [{"id": "s1", "kind": "source"}, {"id": "s2", "kind": "source"},
                  {"id": "J", "kind": "junction", "fifo": True},
                  {"id": "K", "kind": "junction"},
                  {"id": "t1", "kind": "sink"}, {"id": "t2", "kind": "sink"}],
        "links": [{"id": i, "from": u, "to": v, "length_m": length, "cells": n, "lanes": la}
                  for i, u, v, length, n, la in links],
        "movements": [
            {"from": "in", "to": "o1", "turn_ratio": 0.3},
            {"from": "in", "to": "o2", "turn_ratio": 0.7},
            {"from": "o2", "to": "down", "priority": 2.0},
            {"from": "side", "to": "down", "priority": 1.0},
        ],
        "signals": [{"node": "K", "yellow_s": 2.0, "min_green_s": 10.0,
                     "phases": [{"name": "main", "movements": ["o2->down"]},
                                {"name": "side", "movements": ["side->down"]}]}],
        "demand": [dict(d) for d in demand],
        "initial": [dict(seg) for seg in initial],
    }
    if classes is not None:
        data["classes"] = classes
    return data


def make_sim(data: dict) -> Simulator:
    """A simulator of a scenario dict (validated like a scenario file)."""
    return Simulator(parse_scenario(data, "test scenario"))


def run_substeps(
    sim: Simulator,
    min_substeps: int,
    interval: float,
    phases: Callable[[int], Sequence[int] | None] | None = None,
    check: Callable[[Simulator], None] | None = None,
) -> int:
    """Advance `sim` by intervals of `interval` seconds until at least `min_substeps` substeps
    were taken; `phases(call)` gives the phase requests of each call, `check(sim)` runs after
    each one. Returns the number of substeps taken."""
    steps = 0
    call = 0
    while steps < min_substeps:
        steps += sim.advance(interval, None if phases is None else phases(call))
        call += 1
        if check is not None:
            check(sim)
    return steps


def class_masses(sim: Simulator) -> np.ndarray:
    """Vehicles of each class on the network."""
    return sim.vehicles_on_links().sum(axis=1)


def occupancy(sim: Simulator) -> np.ndarray:
    """Car-equivalent density sum_i pce_i * rho_i of each cell, veh/m."""
    return (sim.net.pce[:, None] * sim.rho).sum(axis=0)


def equilibrium_speed(sim: Simulator) -> np.ndarray:
    """V_i(r) = v_max_i - P_i(r), clipped at 0, per class and cell (P_i of the class's law:
    v_max_i (r / R_i) ** gamma_i for the power law, the triangle of docs/model.md otherwise,
    written out here rather than taken from the kernels)."""
    net = sim.net
    r = occupancy(sim)[None, :]
    x = r / net.cell_jam
    vmax = net.cell_vmax
    power = vmax * x ** net.gamma[:, None]
    wave = net.classp[K_WAVE][:, None]
    drop = net.classp[K_DROP][:, None]
    xc = wave / (wave + (1.0 - drop) * vmax)
    with np.errstate(divide="ignore"):
        tri = np.where(x <= xc, drop * vmax * x / xc, vmax + wave - wave / x)
    law = net.classp[K_LAW][:, None]
    v = vmax - np.where(law == Law.TRIANGULAR, tri, power)
    return np.maximum(v, 0.0)
