"""Generated networks (sim.networks): names and options, topology and geometry of grids and
arterials, the RESCO-style built-ins, and the demand design checked against the model (an
independent flow propagation, and queues that stay bounded below saturation and grow above)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from arz_tui.baselines.base import propagate_flows, saturation_flow
from sim.network import compile_network
from sim.networks import BUILTIN_NETWORKS, arterial, grid, network
from sim.networks.builders import PHASE_SCHEMES
from sim.networks.demand import HEAVY_X, LEVELS, PHASE_SHOWN_S
from sim.scenario import Scenario, ScenarioError, load_scenario
from sim.simulator import Simulator


def _nodes(scn: Scenario) -> dict:
    return {n.id: n for n in scn.nodes}


def _heading(scn: Scenario, link_id: str) -> np.ndarray:
    nodes = _nodes(scn)
    lk = next(lk for lk in scn.links if lk.id == link_id)
    a, b = nodes[lk.from_node], nodes[lk.to_node]
    v = np.array([b.x_m - a.x_m, b.y_m - a.y_m])
    return v / np.linalg.norm(v)


# ---------------------------------------------------------------------- names and options
@pytest.mark.parametrize(("name", "rows", "cols"), [
    ("grid:1x1", 1, 1), ("grid:2x3", 2, 3), ("grid:4x4?lanes=1&length=200", 4, 4),
    ("arterial:5", 1, 5), ("arterial:2x3,side=0.5,phases=2", 2, 3)])
def test_topology_counts(name: str, rows: int, cols: int) -> None:
    scn = load_scenario(name)
    n_j = rows * cols
    kinds = [n.kind for n in scn.nodes]
    assert kinds.count("junction") == n_j
    boundary = 2 * (rows + cols)
    assert kinds.count("source") == kinds.count("sink") == boundary
    assert len(scn.links) == 2 * (rows * (cols - 1) + cols * (rows - 1)) + 2 * boundary
    assert len(scn.movements) == 12 * n_j  # 4 approaches x (through, left, right)
    assert len(scn.signals) == n_j
    assert all(n.x_m is not None and n.y_m is not None for n in scn.nodes)
    assert scn.corridor and scn.demand


def test_name_options_and_keywords_build_the_same_network() -> None:
    a = load_scenario("grid:3x2?lanes=1&length=250&phases=2&demand=moderate")
    b = grid(3, 2, lanes=1, length=250, phases=2, demand="moderate")
    c = load_scenario("grid:3x2,lanes=1,length=250,phases=2,demand=moderate")
    for other in (b, c):
        assert other.links == a.links and other.movements == a.movements
        assert other.signals == a.signals and other.demand == a.demand
    assert arterial(4).links == load_scenario("arterial:4").links
    assert arterial(3, rows=2).links == load_scenario("arterial:2x3").links


@pytest.mark.parametrize(("name", "fragment"), [
    ("grid:4y4", "expected KIND:DIMS"),
    ("road:3", "unknown kind 'road'"),
    ("grid:4x4?foo=1", "option foo: Extra inputs"),
    ("grid:4x4?lanes=0", "option lanes"),
    ("grid:4x4?lanes=1.5", "option lanes"),
    ("grid:4x4?lanes", "'lanes' must be key=value"),
    ("grid:4x4?lanes=1&lanes=2", "given twice"),
    ("grid:4x4?phases=5", "phases must be 2, 4 or 8"),
    ("arterial:4?phases=8", "phases must be 2, 4 or 5"),
    ("grid:4x4?left=0.6&right=0.5", "left + right must stay below 1"),
    ("grid:4x4?demand=huge", "demand must be light, moderate"),
    ("grid:4x4?demand=-3", "peak flow"),
    ("grid:4x4?length=nan", "option length"),
    ("grid:0x3", "at least one row"),
    ("grid:30x30", "at most 400"),
])
def test_bad_names_fail_with_one_line(name: str, fragment: str) -> None:
    with pytest.raises(ScenarioError) as err:
        load_scenario(name)
    message = str(err.value)
    assert fragment in message
    assert "\n" not in message


def test_sumo_file_in_the_core_names_the_converter() -> None:
    with pytest.raises(ScenarioError, match="arz-tui import"):
        load_scenario("city.net.xml")


# ---------------------------------------------------------------------- geometry and turns
def test_links_join_their_nodes_and_turns_follow_right_hand_traffic() -> None:
    scn = load_scenario("grid:3x3?length=250&entry=120")
    nodes = _nodes(scn)
    for lk in scn.links:
        a, b = nodes[lk.from_node], nodes[lk.to_node]
        dist = math.hypot(b.x_m - a.x_m, b.y_m - a.y_m)
        assert dist == pytest.approx(lk.length_m, abs=0.1), lk.id  # kerb offset of 4 m
    ratios = {"through": 1 - 0.17 - 0.19, "left": 0.17, "right": 0.19}
    for m in scn.movements:
        h_in, h_out = _heading(scn, m.from_link), _heading(scn, m.to_link)
        cross = h_in[0] * h_out[1] - h_in[1] * h_out[0]
        turn = "through" if abs(cross) < 0.1 else ("left" if cross > 0 else "right")
        assert float(h_in @ h_out) > -0.5, "no U-turns"
        assert m.turn_ratio == pytest.approx(ratios[turn]), (m.key, turn)
        assert m.priority == (2.0 if turn == "through" else 1.0)


@pytest.mark.parametrize("phases", sorted({2, 4, 8}))
def test_grid_phase_schemes(phases: int) -> None:
    scn = load_scenario(f"grid:2x2?phases={phases}")
    for sig in scn.signals:
        assert [p.name for p in sig.phases] == [g[0] for g in PHASE_SCHEMES[phases]]
        own = {m.key for m in scn.movements
               if next(lk for lk in scn.links if lk.id == m.from_link).to_node == sig.node}
        served = {k for p in sig.phases for k in p.movements}
        assert served == own, "every movement gets green in some phase"
        for p in sig.phases:
            # No phase gives green to crossing through movements of both axes.
            axes = {_axis(scn, key) for key in p.movements if _is_through(scn, key)}
            assert len(axes) <= 1, p.name


def _is_through(scn: Scenario, key: str) -> bool:
    a, b = key.split("->")
    return float(_heading(scn, a) @ _heading(scn, b)) > 0.9


def _axis(scn: Scenario, key: str) -> str:
    h = _heading(scn, key.split("->")[0])
    return "ew" if abs(h[0]) > abs(h[1]) else "ns"


# ---------------------------------------------------------------------- RESCO built-ins
def test_grid4x4_follows_resco() -> None:
    scn = network("grid4x4")
    assert load_scenario("grid4x4") == scn
    assert scn.name == "grid4x4" and "RESCO" in scn.description
    assert len(scn.signals) == 16
    assert {lk.lanes for lk in scn.links} == {3}
    assert {lk.speed_limit_kmh for lk in scn.links} == {50.0}
    assert {lk.length_m for lk in scn.links} == {300.0}
    for sig in scn.signals:
        assert len(sig.phases) == 8 and sig.yellow_s == 3.0


def test_arterial4x4_follows_resco() -> None:
    scn = network("arterial4x4")
    assert len(scn.signals) == 16
    for lk in scn.links:
        h = _heading(scn, lk.id)
        if abs(h[0]) > abs(h[1]):  # E-W arterial
            assert (lk.lanes, lk.speed_limit_kmh) == (2, 72.0)
        else:
            assert (lk.lanes, lk.speed_limit_kmh) == (1, 40.0)
        inner = not (lk.from_node.startswith("in_") or lk.to_node.startswith("out_"))
        assert lk.length_m == (200.0 if inner else 75.0)
    for sig in scn.signals:
        assert [p.name for p in sig.phases] == ["NS", "EW_left", "EW_straight", "E_all",
                                                "W_all"]
        assert sig.yellow_s == 2.0


def test_builtin_networks_are_listed_and_described() -> None:
    assert set(BUILTIN_NETWORKS) == {"grid4x4", "arterial4x4"}
    for name in BUILTIN_NETWORKS:
        assert network(name).description


# ---------------------------------------------------------------------- demand design
def _worst_degree(scn: Scenario, moto: float = 0.5) -> float:
    """Busiest movement's degree of saturation at the peak under equal split, computed with
    the baselines' flow propagation and saturation flow (independent of the builder)."""
    net = compile_network(scn)
    peak = {d.node: max(p[1] + p[2] for p in d.profile) for d in scn.demand}
    rates = np.zeros((len(net.source_nodes), 2))
    for s, node in enumerate(net.source_nodes):
        rates[s] = [peak.get(node, 0.0) * moto / 3600, peak.get(node, 0.0) * (1 - moto) / 3600]
    flows = propagate_flows(net, rates).sum(axis=0)
    sat = [saturation_flow(net, k, [moto, 1 - moto])[0] for k in range(net.n_links)]
    worst = 0.0
    for sig in net.signals:
        spec = scn.signal_by_node()[sig.node]
        effective = PHASE_SHOWN_S - spec.yellow_s - spec.lost_time_s
        cycle = PHASE_SHOWN_S * sig.n_phases
        green = {m: sum(m in ph for ph in sig.phase_movements) * effective / cycle
                 for ph in sig.phase_movements for m in ph}
        for m, g in green.items():
            k = int(net.mov_from[m])
            beta = float(net.mov_beta[0, m])
            capacity = beta * sat[k]
            opp = [int(o) for o in net.yield_mov[net.yield_ptr[m]:net.yield_ptr[m + 1]]]
            permitted = opp and all(any(o in ph for o in opp)
                                    for ph in sig.phase_movements if m in ph)
            if permitted:
                # Opposing flow while green, in car-equivalents (HCM permitted left, 1 lane).
                v_o = sum(flows[int(net.mov_from[o])] * float(net.mov_beta[0, o]) / green[o]
                          for o in opp) * (0.3 * moto + 1.0 * (1 - moto))
                cap = hcm_permitted(v_o * 3600.0) / 3600.0 / (0.3 * moto + (1 - moto))
                capacity = min(capacity, cap)
            worst = max(worst, beta * flows[k] / (capacity * g))
    return worst


def hcm_permitted(v_o: float, t_c: float = 4.5, t_f: float = 2.5) -> float:
    return 3600.0 / t_f if v_o == 0 else (
        v_o * math.exp(-v_o * t_c / 3600) / (1 - math.exp(-v_o * t_f / 3600)))


@pytest.mark.parametrize("name", ["grid:2x2", "grid:3x2?phases=8&lanes=2",
                                  "arterial:3?side=0.5", "grid:2x2?phases=2",
                                  "arterial:3?phases=2&side=1"])
@pytest.mark.parametrize("level", list(LEVELS))
def test_named_demand_reaches_its_degree_of_saturation(name: str, level: str) -> None:
    scn = load_scenario(name + ("&" if "?" in name else "?") + f"demand={level}")
    assert _worst_degree(scn) == pytest.approx(HEAVY_X * LEVELS[level], rel=1e-3)


@pytest.mark.parametrize("name", sorted(BUILTIN_NETWORKS))
def test_builtin_networks_are_heavy(name: str) -> None:
    assert _worst_degree(network(name)) == pytest.approx(HEAVY_X, rel=1e-3)


def test_numeric_demand_is_the_peak_entry_flow() -> None:
    scn = load_scenario("grid:2x2?demand=900&moto=0.25")
    for d in scn.demand:
        assert max(p[1] + p[2] for p in d.profile) == pytest.approx(900.0)
        assert d.profile[1][1] == pytest.approx(225.0)


def _vehicles_inside(name: str, flat_peak: bool) -> list[float]:
    """Vehicles in the network every 10 min under equal split (30 s per phase), with the
    demand held at its peak when flat_peak."""
    s = Simulator(name)
    if flat_peak:
        rates = s.profile_rates()
        s.set_demand(np.broadcast_to(rates.max(axis=2, keepdims=True), rates.shape).copy())
    out = []
    for k in range(120):
        s.advance(30.0, [(k + 1) % sig.n_phases for sig in s.net.signals])
        if (k + 1) % 20 == 0:
            out.append(float((s.rho * s.net.cell_dx).sum() + s.src_queue.sum()))
    return out


def test_heavy_peak_is_stable_and_saturated_peak_is_not() -> None:
    """Held at the peak for an hour, heavy demand (X = 0.9) settles to a steady load while
    saturated demand (X = 1.125) keeps piling up: the design's capacity is the model's."""
    heavy = _vehicles_inside("grid:2x2?lanes=1", flat_peak=True)
    over = _vehicles_inside("grid:2x2?lanes=1&demand=saturated", flat_peak=True)
    assert abs(heavy[-1] - heavy[-3]) < 0.05 * heavy[-1], heavy
    assert over[-1] - over[-3] > 0.2 * over[-3], over


# ---------------------------------------------------------------------- the joint env
def test_joint_env_runs_small_generated_networks_and_refuses_large_ones() -> None:
    from arz_tui.env import EnvConfigError, TrafficSignalEnv

    env = TrafficSignalEnv(scenario="grid:2x2?phases=2&lanes=1")
    assert env.action_space.n == 2 ** 4
    env.reset(seed=0)
    for a in range(8):
        _, reward, *_ = env.step(a)
        assert np.isfinite(reward)
    with pytest.raises(EnvConfigError, match="joint action space of its 16 signals") as err:
        TrafficSignalEnv(scenario="grid4x4")
    assert "\n" not in str(err.value)


def test_signal_neighbours_follow_the_grid() -> None:
    net = compile_network(load_scenario("grid:3x3"))
    index = {s.node: g for g, s in enumerate(net.signals)}
    neighbours = net.signal_neighbours()
    for s in net.signals:
        col, row = ord(s.node[0]) - ord("A"), int(s.node[1:])
        expected = sorted(index[f"{chr(ord('A') + c)}{r}"]
                          for c, r in ((col - 1, row), (col + 1, row), (col, row - 1),
                                       (col, row + 1)) if 0 <= c < 3 and 0 <= r < 3)
        assert list(neighbours[index[s.node]]) == expected
    assert len(neighbours[index["B1"]]) == 4 and len(neighbours[index["A0"]]) == 2


@pytest.mark.parametrize("name", [*sorted(BUILTIN_NETWORKS), "grid:8x8?lanes=1",
                                  "arterial:6?phases=2"])
def test_generated_networks_run_a_whole_episode(name: str) -> None:
    sim = Simulator(name)
    for k in range(int(sim.net.scenario.duration_s // 15)):
        sim.advance(15.0, [(k // 2 + 1) % s.n_phases for s in sim.net.signals])
    assert np.isfinite(sim.rho).all() and sim.rho.min() >= 0.0
    assert np.isfinite(sim.src_queue).all()
    assert sim.acc_out[:, sim.net.sink_link].sum() > 0
