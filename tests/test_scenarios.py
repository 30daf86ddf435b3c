"""Built-in scenario files: they load, compile and run; their stated properties hold
(lagos saturates at its peak under equal-split fixed time, riemann starts as a Riemann
problem); malformed files fail with one clear line; users can add their own scenarios."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

import sim.scenario
from sim.scenario import ScenarioError, available_scenarios, load_scenario
from sim.simulator import Simulator

BUILT_INS = ("lagos", "riemann", "simple")
CELL_BUDGET = {"simple": 120, "lagos": 200, "riemann": 150}
"""Most cells a built-in may have (the RL environment's step budget); others get 2,000."""
STEP_S = 15.0
SWITCH_S = 30.0
REPORT_TIMES = (0, 600, 1200, 1800, 2100, 2400, 3000, 3600)
REQUIRED_FIELDS = {"name", "description", "duration_s", "numerics", "nodes", "links",
                   "movements", "signals", "demand", "corridor"}


def builtin_path(name: str) -> Path:
    return sim.scenario.SCENARIO_DIR / f"{name}.yaml"


def fixed_time_phases(step: int, sim_: Simulator) -> list[int]:
    """Equal-split fixed time: every signal switches to its next phase every 30 s."""
    k = step // round(SWITCH_S / STEP_S)
    return [k % info.n_phases for info in sim_.net.signals]


@functools.cache
def fixed_time_run(name: str) -> dict:
    """Run a built-in for its whole duration under `fixed_time_phases`, checking the state
    after every 15 s, and record queues and source point queues at `REPORT_TIMES`."""
    s = Simulator(name)
    duration = s.net.scenario.duration_s
    n_steps = int(np.ceil(duration / STEP_S - 1e-9))
    record: dict = {"cells": s.net.n_cells, "dt_cfl": s.net.dt_cfl, "t": [], "queue": [],
                    "src_queue": [], "bad": None}
    for step in range(n_steps + 1):
        if step:
            s.advance(min(STEP_S, duration - s.t), fixed_time_phases(step - 1, s))
        ok = (np.isfinite(s.rho).all() and np.isfinite(s.y).all() and s.rho.min() >= 0.0
              and np.isfinite(s.src_queue).all() and s.src_queue.min() >= 0.0)
        if not ok and record["bad"] is None:
            record["bad"] = s.t
        if any(abs(s.t - t) < 1e-6 for t in REPORT_TIMES) or step == n_steps:
            q, _ = s.queues()
            record["t"].append(round(s.t))
            record["queue"].append(q.copy())
            record["src_queue"].append(s.src_queue.sum(axis=0).copy())
    record["end"] = s.t
    record["sim"] = s
    return record


def queue_at(record: dict, t: int, links: list[int]) -> float:
    return float(record["queue"][record["t"].index(t)][links].sum())


def src_queue_at(record: dict, t: int, source: int) -> float:
    return float(record["src_queue"][record["t"].index(t)][source])


# ---------------------------------------------------------------------- every built-in
def test_built_ins_present() -> None:
    assert set(BUILT_INS) <= set(available_scenarios())


@pytest.mark.parametrize("name", available_scenarios())
def test_scenario_runs_whole_duration(name: str) -> None:
    rec = fixed_time_run(name)
    print(f"{name}: {rec['cells']} cells, dt_cfl {rec['dt_cfl']:.3f} s")
    assert rec["bad"] is None, f"NaN or negative state at t = {rec['bad']} s"
    assert rec["end"] == pytest.approx(rec["sim"].net.scenario.duration_s)
    assert rec["cells"] <= CELL_BUDGET.get(name, 2000)


@pytest.mark.parametrize("name", BUILT_INS)
def test_builtin_file_is_complete(name: str) -> None:
    """Built-ins spell out every section (the files double as examples) and draw."""
    raw = yaml.safe_load(builtin_path(name).read_text(encoding="utf-8"))
    assert REQUIRED_FIELDS <= set(raw), REQUIRED_FIELDS - set(raw)
    scn = load_scenario(name)
    assert scn.name == name
    assert scn.description
    assert scn.corridor
    assert all(n.x_m is not None and n.y_m is not None for n in scn.nodes)
    assert scn.signals and scn.demand
    for sig in scn.signals:
        assert len(sig.phases) == 2
        assert (sig.yellow_s, sig.min_green_s) == (3.0, 5.0)


def test_simple_layout() -> None:
    scn = load_scenario("simple")
    (sig,) = scn.signals
    assert [p.name for p in sig.phases] == ["NS", "EW"]
    approaches = {m.from_link for m in scn.movements}
    assert len(approaches) == 4
    for link in approaches:
        assert len([m for m in scn.movements if m.from_link == link]) == 3  # T, L, R
    assert scn.duration_s == 3600
    flows = np.array([[p[1] + p[2] for p in d.profile] for d in scn.demand])
    assert flows.max() > 1.5 * flows.min()  # asymmetric demand
    assert all(p[1] > 0 and p[2] > 0 for d in scn.demand for p in d.profile)


# ---------------------------------------------------------------------- lagos
def test_lagos_geometry_and_signals() -> None:
    scn = load_scenario("lagos")
    lengths = {lk.id: lk.length_m for lk in scn.links}
    assert sum(lengths[c] for c in scn.corridor) >= 1500.0
    assert len(scn.signals) >= 3
    assert int(np.prod([len(s.phases) for s in scn.signals])) == 8
    assert all(s.max_green_s == 60 for s in scn.signals)


def test_lagos_motorcycle_share() -> None:
    s = Simulator("lagos")
    rates = s.src_rates  # (sources, classes, bins), veh/s
    total = rates.sum(axis=(0, 2))
    assert 0.4 <= total[0] / total.sum() <= 0.6
    per_source = rates.sum(axis=2)
    shares = per_source[:, 0] / per_source.sum(axis=1)
    assert np.all((shares >= 0.4) & (shares <= 0.6)), shares


def test_lagos_eastbound_heavier_and_side_streets_light() -> None:
    s = Simulator("lagos")
    net = s.net
    per_source = s.src_rates.sum(axis=(1, 2))
    by_link = {net.link_ids[net.src_link[k]]: per_source[k] for k in range(len(per_source))}
    assert by_link["eb_1"] > 1.2 * by_link["wb_4"]
    side = [v for k, v in by_link.items() if k not in ("eb_1", "wb_4")]
    assert max(side) < 0.25 * by_link["wb_4"]


def test_lagos_saturates_at_peak_under_equal_split() -> None:
    rec = fixed_time_run("lagos")
    net = rec["sim"].net
    arterial = [k for k, lid in enumerate(net.link_ids) if lid.startswith(("eb_", "wb_"))]
    west = net.source_nodes.index("W")
    q600 = queue_at(rec, 600, arterial)
    q_peak = max(queue_at(rec, t, arterial) for t in (1800, 2100, 2400))
    print(f"lagos arterial queue (veh): t=600 {q600:.1f}, peak {q_peak:.1f}; "
          f"W point queue at 2400 s {src_queue_at(rec, 2400, west):.1f}")
    # At 600 s the arterial holds the red-light queues of a moderate demand (85-95 vehicles
    # at 50, 25 and 10 m cells: sim.queues counts the queue tails inside cells, which the
    # former whole-cell read-out showed as 0 at 50 m); at the peak they more than double.
    assert q_peak > 2.0 * q600 + 20.0
    # Demand exceeds what enters: the entry's point queue builds up at the peak ...
    assert max(src_queue_at(rec, t, west) for t in (1800, 2100, 2400)) > 20.0
    # ... but not before it.
    assert src_queue_at(rec, 600, west) == 0.0


# ---------------------------------------------------------------------- riemann
def test_riemann_initial_state() -> None:
    s = Simulator("riemann")
    q, length = s.queues()
    up, down = s.net.link_index("main_up"), s.net.link_index("main_down")
    on_links = s.vehicles_on_links().sum(axis=0)
    # The file's initial block, 600-1000 m of main_up (2 lanes) at 140 cars + 30 motorcycles
    # per km and lane: its mean speed (cars stopped, motorcycles creeping, ~3 km/h) is below
    # the 10 km/h queue speed, the block's ends fall on 25 m cell faces and the road behind it
    # is empty, so by the definition of docs/metrics.md the queue is exactly that block:
    # (140 + 30) * 0.4 * 2 = 136 vehicles over 400 m, and nothing else. Its length in metres
    # is the room those vehicles take at jam spacing (docs/metrics.md): 149 car-equivalents
    # per km and lane (140 cars + 30 motorcycles of pce 0.3) against the mix's jam occupancy,
    # the occupancy-weighted mean of the classes' (cars 150, motorcycles 0.3 * 675 = 202.5).
    (lanes,) = [lk.lanes for lk in s.net.scenario.links if lk.id == "main_up"]
    assert lanes == 2
    assert q[up] == pytest.approx((140.0 + 30.0) * 0.4 * lanes, rel=1e-9)
    occupancy = 140.0 + 0.3 * 30.0
    jam_of_mix = (140.0 * 150.0 + 0.3 * 30.0 * 0.3 * 675.0) / occupancy
    assert length[up] == pytest.approx(400.0 * occupancy / jam_of_mix, rel=1e-9)
    # Every vehicle on main_up is in it: the road behind the queue starts empty.
    assert q[up] == pytest.approx(on_links[up], rel=1e-9)
    assert on_links[down] == 0.0 and q[down] == 0.0
    assert s.net.scenario.duration_s <= 900
    assert [p.name for p in s.net.scenario.signals[0].phases] == ["main", "side"]


# ---------------------------------------------------------------------- malformed files
def _simple_data() -> dict:
    return yaml.safe_load(builtin_path("simple").read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: object, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _negative_length(d: dict) -> None:
    d["links"][0]["length_m"] = -300


def _unknown_node(d: dict) -> None:
    d["links"][0]["from"] = "Atlantis"


def _bad_ratios(d: dict) -> None:
    d["movements"][0]["turn_ratio"] = 0.5


def _ghost_movement(d: dict) -> None:
    d["signals"][0]["phases"][0]["movements"].append("n_in->n_out")


def _unknown_field(d: dict) -> None:
    d["colour"] = "red"


def _unknown_link_in_corridor(d: dict) -> None:
    d["corridor"] = ["w_in", "nowhere"]


@pytest.mark.parametrize(("mutate", "expected"), [
    (_negative_length, ["links[0].length_m", "greater than 0"]),
    (_unknown_node, ["links[0].from", "Atlantis"]),
    (_bad_ratios, ["turn_ratio", "w_in"]),
    (_ghost_movement, ["signals[0].phases[0].movements", "n_in->n_out"]),
    (_unknown_field, ["colour"]),
    (_unknown_link_in_corridor, ["corridor[1]", "nowhere"]),
])
def test_malformed_field_is_named(tmp_path: Path, mutate, expected: list[str]) -> None:
    data = _simple_data()
    mutate(data)
    path = _write(tmp_path, data)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert str(path) in msg
    for part in expected:
        assert part in msg, msg


@pytest.mark.parametrize(("text", "expected"), [
    ("name: [unclosed\nnodes: {\n", "cannot be read"),
    ("- just\n- a list\n", "mapping"),
    ("", "mapping"),
])
def test_malformed_file(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert expected in msg, msg


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(missing)
    msg = str(info.value)
    assert "\n" not in msg
    assert "not found" in msg and "nope.yaml" in msg


def test_unknown_name_lists_built_ins() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario("atlantis")
    msg = str(info.value)
    assert "\n" not in msg
    assert "atlantis" in msg
    for name in BUILT_INS:
        assert name in msg, msg


# ---------------------------------------------------------------------- user scenarios
def test_user_scenario_by_path(tmp_path: Path) -> None:
    data = _simple_data()
    data["name"] = "my-crossing"
    data["demand"][0]["profile"] = [[0, 1500, 1200]]
    path = _write(tmp_path, data, "my_crossing.yaml")
    scn = load_scenario(path)
    assert scn.name == "my-crossing"
    s = Simulator(path)
    s.advance(300.0)
    assert s.vehicles_on_links().sum() > 0.0
    # The heavier westbound demand shows up in what entered from the W source.
    entered = s.src_acc[2].sum(axis=0)
    assert entered[s.net.source_nodes.index("W_src")] == pytest.approx(
        (1500 + 1200) / 12.0, rel=0.05)


def test_user_scenario_dropped_next_to_built_ins(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    for name in BUILT_INS:
        shutil.copy(builtin_path(name), folder)
    data = _simple_data()
    data["name"] = "extra"
    data["duration_s"] = 600
    _write(folder, data, "extra.yaml")
    (folder / "notes.txt").write_text("not a scenario", encoding="utf-8")
    monkeypatch.setattr(sim.scenario, "SCENARIO_DIR", folder)
    assert available_scenarios() == sorted([*BUILT_INS, "extra"])
    assert load_scenario("extra").duration_s == 600
    assert Simulator("extra").net.n_cells == Simulator("simple").net.n_cells
    with pytest.raises(ScenarioError, match="extra"):
        load_scenario("nothing-here")


# ---------------------------------------------------------------------- pressure laws
def _classes_of(classes: dict) -> tuple:
    data = yaml.safe_load(builtin_path("simple").read_text())
    data["classes"] = classes
    return sim.scenario.parse_scenario(data).classes.params()


def test_pressure_law_defaults_keep_old_files_physics() -> None:
    """A class written before the triangular law (it gives gamma, no law) keeps the power law;
    one that gives neither gets the triangular default; `law` given explicitly wins. Omitted
    fields keep the built-in class's values."""
    moto, car = _classes_of({"car": {"v_max_kmh": 50, "jam_density_veh_per_km_lane": 150,
                                     "gamma": 2.0, "tau_s": 10}})
    assert car.law == "power" and car.gamma == 2.0
    assert moto.law == "triangular"  # the built-in motorcycle
    _, car = _classes_of({"car": {"v_max_kmh": 40}})
    assert car.law == "triangular" and car.rho_max == pytest.approx(0.15)
    _, car = _classes_of({"car": {"law": "power"}})
    assert car.law == "power" and car.gamma == 1.0
    _, car = _classes_of({"car": {"law": "triangular", "gamma": 2.0}})
    assert car.law == "triangular"
    riemann = load_scenario("riemann").classes.params()
    assert [p.law for p in riemann] == ["power", "power"]
    assert [p.law for p in load_scenario("lagos").classes.params()] == ["triangular"] * 2
    with pytest.raises(ScenarioError, match="law"):
        _classes_of({"car": {"law": "greenshields"}})
