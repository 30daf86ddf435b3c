"""Delay and queue read-outs that converge under grid refinement (docs/metrics.md).

* Vehicle-metres come from the fluxes through cell faces: once the network has emptied, every
  vehicle has been credited exactly the length of its route, at any cell size and with a red
  in between (density x speed credits a partly filled cell behind a red with distance nobody
  drove).
* Queued vehicles count the tail of a queue inside a cell: behind a red, the queue holds the
  vehicles between the stop line and the LWR shock, rho_max * |s| * t; the read-out must give
  that to a tenth of a cell's content at 50 m cells, where whole-cell counting is off by up to
  a whole cell (7.5 cars).
* The env's metrics are time means over every substep, and on lagos they agree between 50 m
  and 10 m cells (delay within 5 %, mean queue within 10 %).
"""

from __future__ import annotations

import numpy as np
import pytest
import test_signal_physics as red_light

from sim import exact
from sim.scenario import parse_scenario
from sim.simulator import ACC_GENERATED, Simulator

CAR = 1
L_UP, L_DOWN = 600.0, 300.0


def platoon_through_a_red(cells_per_100m: int) -> Simulator:
    """Cars arrive for 120 s at 1,200 veh/h at an approach whose signal is red for the first
    90 s, then green; after 600 s the network is empty again."""
    scn = parse_scenario({
        "name": "platoon",
        "nodes": [{"id": "in", "kind": "source"}, {"id": "side_in", "kind": "source"},
                  {"id": "J", "kind": "junction"}, {"id": "out", "kind": "sink"}],
        "links": [
            {"id": "up", "from": "in", "to": "J", "length_m": L_UP,
             "cells": 6 * cells_per_100m},
            {"id": "side", "from": "side_in", "to": "J", "length_m": 100.0, "cells": 2},
            {"id": "down", "from": "J", "to": "out", "length_m": L_DOWN,
             "cells": 3 * cells_per_100m},
        ],
        "movements": [{"from": "up", "to": "down"}, {"from": "side", "to": "down"}],
        "signals": [{"node": "J", "yellow_s": 0.0, "min_green_s": 0.0, "initial_phase": 1,
                     "phases": [{"name": "main", "movements": ["up->down"]},
                                {"name": "side", "movements": ["side->down"]}]}],
        "numerics": {"demand_bin_s": 30.0},
        "demand": [{"node": "in", "profile": [[0.0, 0.0, 1200.0], [119.0, 0.0, 1200.0],
                                              [121.0, 0.0, 0.0]]}],
    })
    sim = Simulator(scn)
    sim.advance(90.0, [1])
    sim.advance(600.0, [0])
    return sim


@pytest.mark.parametrize("cells_per_100m", [2, 10])
def test_distance_driven_is_route_length_per_vehicle(cells_per_100m: int) -> None:
    sim = platoon_through_a_red(cells_per_100m)
    up, down = sim.net.link_index("up"), sim.net.link_index("down")
    served = sim.acc_out[:, down].sum()
    assert served == pytest.approx(sim.src_acc[ACC_GENERATED].sum(), rel=1e-9)
    # Arrivals stop at the first substep starting after 120 s.
    assert served == pytest.approx(1200.0 / 3600.0 * 120.0, abs=1200.0 / 3600.0 * sim.net.dt_cfl)
    assert sim.total_mass() < 1e-6 * served
    metres = sim.vehicle_metres().sum(axis=0)
    # Every vehicle drove each link once: exactly its length (to round-off).
    assert metres[up] == pytest.approx(sim.acc_out[:, up].sum() * L_UP, rel=1e-9)
    assert metres[down] == pytest.approx(served * L_DOWN, rel=1e-9)
    # Delay = time in the network - free-flow time of the route, whatever the grid.
    delay = sim.vehicle_hours_delayed().sum() * 3600.0
    vmax = sim.net.link_vmax[CAR, up]
    assert delay == pytest.approx(sim.vehicle_seconds().sum() - served * (L_UP + L_DOWN) / vmax,
                                  rel=1e-9)


@pytest.mark.parametrize("cells", [40, 200])
def test_red_light_queue_counts_vehicles_behind_the_shock(cells: int,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setattr(red_light, "N_UP", cells)
    sim, params, _ = red_light.make()
    k = sim.net.link_index("up")
    s = exact.red_queue_tail_speed(red_light.Q_IN, params)
    dx = red_light.L_UP / cells
    errors = []
    for _ in range(60):  # 300 s of red
        sim.advance(5.0, [red_light.SIDE])
        errors.append(sim.queues()[0][k] - params.rho_max * -s * sim.t)
    # A tenth of what a cell holds at jam (7.5 cars at 50 m): the tail is resolved inside
    # the cell, not to whole cells.
    assert np.abs(errors).max() <= 0.1 * params.rho_max * dx
    # The accumulated time mean over every substep against the exact mean of a queue growing
    # linearly from 0.
    mean = sim.queued_vehicle_seconds()[:, k].sum() / sim.t
    assert mean == pytest.approx(params.rho_max * -s * sim.t / 2.0, abs=0.1 * params.rho_max * dx)
