"""Riemann problems of single-class ARZ on an open road, solved by the network kernels.

The road is one link from a source to a sink. The source feeds the left state's flux with the
left state's marker, and the sink offers the supply of the right state (a transmissive
boundary), so until waves reach the ends the numerical solution is that of the pure Riemann
problem. Motorcycles are absent, which reduces the two-class model to standard ARZ.
"""

from __future__ import annotations

import numpy as np

from sim.params import SINGLE_CLASS_CAR, ARZParams
from sim.scenario import ClassSpec, parse_scenario
from sim.simulator import Simulator

CAR = 1


def _pressure(rho: float, p: ARZParams) -> float:
    return float(p.pressure(rho))


def road_simulator(length: float, cells: int, params: ARZParams, cfl: float = 0.9) -> Simulator:
    """A one-lane road of `cells` cells between a source and a sink, both classes `params`."""
    spec = ClassSpec.from_params(params).model_dump()
    scn = parse_scenario({
        "name": "riemann-road",
        "classes": {"motorcycle": spec, "car": spec},
        "numerics": {"cfl": cfl},
        "nodes": [{"id": "in", "kind": "source"}, {"id": "out", "kind": "sink"}],
        "links": [{"id": "road", "from": "in", "to": "out", "length_m": length, "cells": cells}],
    }, "riemann road")
    sim = Simulator(scn)
    # A ClassSpec round trip goes through km/h; keep the caller's exact SI values.
    sim.net.cell_vmax[:] = params.v_max
    sim.net.link_vmax[:] = params.v_max
    sim.src_mark[:] = params.v_max
    return sim


def simulate(
    rho_l: float, v_l: float, rho_r: float, v_r: float, *,
    length: float = 1000.0, cells: int = 1000, t_end: float | None = None,
    params: ARZParams | None = None, cfl: float = 0.9,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Solve the Riemann problem with the discontinuity at length / 2.

    Densities in veh/m, speeds in m/s, `t_end` in s (default: a quarter of the road crossed
    at the fastest wave speed, so no wave reaches a boundary). Returns cell centres x (m),
    densities and speeds at t_end.
    """
    p = params or SINGLE_CLASS_CAR
    for name, rho, v in (("left", rho_l, v_l), ("right", rho_r, v_r)):
        if not 0.0 <= rho <= p.rho_max:
            raise ValueError(f"{name} density {rho} outside [0, rho_max={p.rho_max}]")
        if v < 0.0 or v + _pressure(rho, p) > p.v_max * (1 + 1e-12):
            raise ValueError(f"{name} state (rho={rho}, v={v}) has w = v + p(rho) outside "
                             f"[p(rho), v_max={p.v_max}]")
    if cells < 2:
        raise ValueError("cells must be >= 2")
    markers = [v + _pressure(rho, p) for rho, v in ((rho_l, v_l), (rho_r, v_r)) if rho > 0]
    wave = p.max_wave_speed(min(markers, default=p.v_max))
    horizon = 0.25 * length / wave if t_end is None else float(t_end)
    if horizon < 0:
        raise ValueError("t_end must be >= 0")

    sim = road_simulator(length, cells, p, cfl)
    x = sim.net.cell_centres(0)
    rho = np.zeros((2, cells))
    speed = np.zeros((2, cells))
    left = x < 0.5 * length
    rho[CAR] = np.where(left, rho_l, rho_r)
    speed[CAR] = np.where(left, v_l, v_r)
    speed[0] = speed[CAR]
    sim.set_state(rho, speed)
    rates = np.zeros((1, 2, 1))
    rates[0, CAR, 0] = rho_l * v_l
    sim.set_demand(rates)
    sim.src_mark[CAR, 0] = min(v_l + _pressure(rho_l, p), p.v_max) if rho_l > 0 else p.v_max
    sim.sink_ghost_speed[CAR, 0] = v_r
    sim.advance(horizon)
    return x, sim.rho[CAR].copy(), sim.speeds()[CAR].copy()
