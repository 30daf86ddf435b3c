"""Permitted left turns (gap acceptance at junctions): a left turn that yields to the
opposing through traffic discharges at the HCM permitted-left saturation flow
s = v_o e^{-v_o t_c/3600} / (1 - e^{-v_o t_f/3600}) for the opposing flow v_o, measured here
on a saturated left-turn queue against steady opposing flows; without opposing traffic or
without `yields_to` nothing changes; FIFO approaches are held back with their left turn."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from sim.junction import permitted_capacity
from sim.scenario import ScenarioError, parse_scenario
from sim.simulator import Simulator

T_C, T_F = 4.5, 2.5


def hcm(v_o: float, t_c: float = T_C, t_f: float = T_F) -> float:
    if v_o == 0:
        return 3600.0 / t_f
    return v_o * math.exp(-v_o * t_c / 3600) / (1 - math.exp(-v_o * t_f / 3600))


def crossing(opposing_veh_h: float, left_veh_h: float = 2500.0, yields: bool = True,
             fifo: bool = False, through_share: float = 0.0, lanes: int = 1) -> dict:
    """W approach turning left (north) against an E approach going straight (west); cars
    only (pce 1, so car-equivalents are vehicles, as in the HCM formula)."""
    left_ratio = 1.0 - through_share
    movements = [{"from": "w_in", "to": "n_out", "turn_ratio": left_ratio,
                  **({"yields_to": ["e_in->w_out"]} if yields else {})},
                 {"from": "e_in", "to": "w_out"}]
    if through_share:
        movements.append({"from": "w_in", "to": "e_out", "turn_ratio": through_share})
    nodes = [{"id": "C", "kind": "junction", "fifo": fifo},
             {"id": "W", "kind": "source"}, {"id": "E", "kind": "source"},
             {"id": "Nk", "kind": "sink"}, {"id": "Wk", "kind": "sink"}]
    links = [{"id": "w_in", "from": "W", "to": "C", "length_m": 300, "lanes": lanes},
             {"id": "e_in", "from": "E", "to": "C", "length_m": 300, "lanes": 2},
             {"id": "n_out", "from": "C", "to": "Nk", "length_m": 300, "lanes": 2},
             {"id": "w_out", "from": "C", "to": "Wk", "length_m": 300, "lanes": 2}]
    if through_share:
        nodes.append({"id": "Ek", "kind": "sink"})
        links.append({"id": "e_out", "from": "C", "to": "Ek", "length_m": 300, "lanes": 2})
    return {
        "name": "crossing", "duration_s": 3600,
        "numerics": {"cell_length_m": 25.0},
        "nodes": nodes,
        "links": links,
        "movements": movements,
        "demand": [{"node": "W", "profile": [[0, 0, left_veh_h]]},
                   {"node": "E", "profile": [[0, 0, opposing_veh_h]]}],
    }


def discharge(data: dict, link: str = "n_out", warm: float = 600.0,
              span: float = 1200.0) -> float:
    """veh/h entering `link` over `span` seconds after a warm-up (both classes)."""
    sim = Simulator(parse_scenario(data))
    sim.advance(warm)
    k = sim.net.link_index(link)
    before = float(sim.acc_in[:, k].sum())
    sim.advance(span)
    return (float(sim.acc_in[:, k].sum()) - before) * 3600.0 / span


def test_kernel_formula_is_hcm() -> None:
    for v in (0.0, 1e-9, 50.0, 400.0, 1200.0, 3000.0):
        assert permitted_capacity(v, T_C, T_F) == pytest.approx(hcm(v), rel=1e-6)
    # Decreasing in the opposing flow, 1440 veh/h with none.
    caps = [hcm(v) for v in range(0, 3000, 100)]
    assert caps[0] == pytest.approx(1440.0)
    assert all(b < a for a, b in itertools.pairwise(caps))


@pytest.mark.parametrize("v_o", [0.0, 300.0, 600.0, 1000.0, 1500.0])
def test_left_turn_discharge_matches_hcm(v_o: float) -> None:
    measured = discharge(crossing(v_o))
    opposing = discharge(crossing(v_o), link="w_out")
    assert opposing == pytest.approx(v_o, rel=0.01, abs=1.0)  # the opposing flow is free
    assert measured == pytest.approx(hcm(opposing), rel=0.02)


def test_two_yield_lanes_double_the_capacity() -> None:
    data = crossing(600.0, left_veh_h=4000.0, lanes=2)
    data["movements"][0]["yield_lanes"] = 2
    assert discharge(data) == pytest.approx(2 * hcm(600.0), rel=0.02)


def test_without_yielding_the_left_turn_runs_at_the_link_capacity() -> None:
    free = discharge(crossing(1000.0, yields=False))
    assert free > 1.25 * hcm(0.0)  # the model's saturation flow, well above 1440 veh/h
    assert discharge(crossing(1000.0)) == pytest.approx(hcm(1000.0), rel=0.02)


def test_fifo_approach_is_held_back_by_its_left_turn() -> None:
    """On a shared lane (FIFO) the through vehicles behind a waiting left turner wait too:
    the approach's through flow drops to the left turn's capped pace times its share."""
    shared = crossing(1200.0, fifo=True, through_share=0.5)
    own_lanes = crossing(1200.0, fifo=False, through_share=0.5)
    through_shared = discharge(shared, link="e_out")
    through_own = discharge(own_lanes, link="e_out")
    left_shared = discharge(shared)
    assert through_shared == pytest.approx(left_shared, rel=0.02)  # 50/50 in FIFO order
    assert through_shared < 0.6 * through_own


def test_yields_to_must_name_a_movement_of_the_same_junction() -> None:
    data = crossing(300.0)
    data["movements"][0]["yields_to"] = ["e_in->nowhere"]
    with pytest.raises(ScenarioError, match=r"yields_to: 'e_in->nowhere' is not another"):
        parse_scenario(data)
    data["movements"][0]["yields_to"] = ["w_in->n_out"]
    with pytest.raises(ScenarioError, match="yields_to"):
        parse_scenario(data)


def test_gap_acceptance_keeps_conservation() -> None:
    sim = Simulator(parse_scenario(crossing(800.0, through_share=0.3, fifo=True)))
    sim.advance(1800.0)
    inside = float((sim.rho * sim.net.cell_dx).sum())
    generated = float(sim.src_acc[0].sum())
    waiting = float(sim.src_queue.sum())
    out = sum(float(sim.acc_out[:, sim.net.link_index(k)].sum())
              for k in ("n_out", "w_out", "e_out"))
    assert generated == pytest.approx(inside + waiting + out, rel=1e-9, abs=1e-6)
    assert np.isfinite(sim.rho).all()


def test_network_without_gap_arrays_for_its_movements() -> None:
    """A network put together from another one (as batching replicas does) that left the
    gap-acceptance arrays behind: fine when nothing yields, an error when something does."""
    from dataclasses import replace

    from sim.network import compile_network

    plain = compile_network(parse_scenario(crossing(300.0, yields=False)))
    short = replace(plain, mov_gap=plain.mov_gap[:, :1], yield_ptr=plain.yield_ptr[:2])
    sim = Simulator(short)
    sim.advance(60.0)
    assert sim.net.mov_gap.shape[1] == plain.mov_i.shape[1]
    yielding = compile_network(parse_scenario(crossing(300.0)))
    broken = replace(yielding, mov_gap=yielding.mov_gap[:, :1])
    with pytest.raises(ValueError, match="replicate yield_ptr, yield_mov and mov_gap"):
        Simulator(broken)
