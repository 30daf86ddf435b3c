"""SUMO import (`arz-tui import`, `--scenario NET.net.xml`): networks made by SUMO's own
netgenerate (grid of traffic lights with and without turn lanes) and netconvert (a
hand-written OpenStreetMap town) convert into valid scenarios whose links, lanes and signal
phases match the source read independently with sumolib; route files give demand and turning
ratios; unsupported constructs fail with one line naming the element."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

sumolib = pytest.importorskip("sumolib")

from arz_tui.env import EnvConfigError, TrafficSignalEnv  # noqa: E402
from arz_tui.netimport import NetImportError, convert_net  # noqa: E402
from arz_tui.netimport.cli import main as import_main  # noqa: E402
from sim.scenario import ScenarioError, load_scenario  # noqa: E402
from sim.simulator import Simulator  # noqa: E402

DATA = Path(__file__).parent / "data" / "sumo"
NETS = ("grid2x2", "turnlanes", "town")


def _sumo_reference(path: Path) -> tuple[dict, dict]:
    """Straight from sumolib: car edges (length, car lanes, speed) and, per traffic light
    controlling car movements, the distinct sets of (from, to) edge pairs with G/g."""
    net = sumolib.net.readNet(str(path), withPrograms=True)
    edges = {}
    for e in net.getEdges(withInternal=False):
        lanes = [ln for ln in e.getLanes() if ln.allows("passenger")]
        if e.getFunction() in ("", "normal") and lanes:
            edges[e.getID()] = (e.getLength(), len(lanes), max(ln.getSpeed() for ln in lanes))
    greens = {}
    for tls in net.getTrafficLights():
        links = defaultdict(set)
        for in_lane, out_lane, idx in tls.getConnections():
            a, b = in_lane.getEdge().getID(), out_lane.getEdge().getID()
            if a in edges and b in edges and in_lane.allows("passenger"):
                links[idx].add((a, b))
        if not links:
            continue
        program = tls.getPrograms()["0"]
        sets = set()
        for phase in program.getPhases():
            states = {i: phase.state[i] for i in links}
            if any(ch in "yu" for ch in states.values()):
                continue
            green = frozenset(pair for i, ch in states.items() if ch in "Gg" for pair in links[i])
            if green:
                sets.add(green)
        node = next(iter(links.values())).copy().pop()[0]
        greens[net.getEdge(node).getToNode().getID()] = sets
    return edges, greens


@pytest.mark.parametrize("name", NETS)
def test_converted_network_matches_the_source(name: str) -> None:
    path = DATA / f"{name}.net.xml"
    result = convert_net(path)
    scn = result.scenario
    edges, greens = _sumo_reference(path)
    links = {lk.id: lk for lk in scn.links}
    assert set(links) == set(edges)
    for lid, (length, lanes, speed) in edges.items():
        assert links[lid].length_m == pytest.approx(length, abs=1e-3)
        assert links[lid].lanes == lanes
        assert links[lid].speed_limit_kmh == pytest.approx(speed * 3.6, abs=0.01)
    signals = scn.signal_by_node()
    assert set(signals) == set(greens)
    for node, sets in greens.items():
        converted = {frozenset(tuple(k.split("->")) for k in ph.movements)
                     for ph in signals[node].phases}
        # U-turns are dropped by the converter; compare without them.
        kept = {m.key for m in scn.movements}
        expected = {frozenset(p for p in s if f"{p[0]}->{p[1]}" in kept) for s in sets}
        assert converted == expected
    nodes = {n.id: n for n in scn.nodes}
    net = sumolib.net.readNet(str(path))
    for n in scn.nodes:
        if n.kind == "junction":
            x, y = net.getNode(n.id).getCoord()[:2]
            assert (n.x_m, n.y_m) == pytest.approx((x, y), abs=0.01)
    assert all(nodes[lk.from_node].x_m is not None for lk in scn.links)


@pytest.mark.parametrize("name", NETS)
def test_permitted_lefts_yield_to_the_opposing_approach(name: str) -> None:
    path = DATA / f"{name}.net.xml"
    net = sumolib.net.readNet(str(path), withPrograms=True)
    direction = {}
    for e in net.getEdges(withInternal=False):
        for to, conns in e.getOutgoing().items():
            direction[f"{e.getID()}->{to.getID()}"] = conns[0].getDirection()
    scn = convert_net(path).scenario
    links = {lk.id: lk for lk in scn.links}
    yielding = [m for m in scn.movements if m.yields_to]
    assert yielding
    for m in yielding:
        assert direction[m.key] == "l"
        node = links[m.from_link].to_node
        for key in m.yields_to:
            frm, _ = key.split("->")
            assert links[frm].to_node == node and frm != m.from_link
            assert direction[key] in ("s", "r")
    # At the signals, every left turn yields (netgenerate's and netconvert's programs show
    # lefts 'g' with the opposing traffic), except turnlanes' protected lefts.
    signal_nodes = {s.node for s in scn.signals}
    lefts = [m for m in scn.movements
             if direction[m.key] == "l" and links[m.from_link].to_node in signal_nodes]
    assert lefts
    assert all(m.yields_to for m in lefts) or name == "turnlanes"


def test_program_timing_is_kept() -> None:
    scn = convert_net(DATA / "turnlanes.net.xml").scenario
    for sig in scn.signals:
        # netgenerate's program: 33 s straight, 3 s yellow, 6 s protected left, 3 s yellow.
        assert [ph.duration_s for ph in sig.phases] == [33.0, 6.0, 33.0, 6.0]
        assert sig.yellow_s == 3.0
        assert sig.min_green_s == 5.0


def test_pedestrian_parts_are_dropped_and_reported() -> None:
    result = convert_net(DATA / "town.net.xml")
    text = "\n".join(result.report)
    assert "pedestrian/bicycle/bus-only lanes" in text
    assert "highway.footway" in text and "highway.cycleway" in text
    assert "merged" in text  # the pedestrian split of each green
    for sig in result.scenario.signals:
        assert len(sig.phases) == 2
        assert [ph.duration_s for ph in sig.phases] == [42.0, 42.0]  # 37 + 5 s


def test_turn_ratios_from_lane_counts_sum_to_one() -> None:
    scn = convert_net(DATA / "turnlanes.net.xml").scenario
    by_from = defaultdict(float)
    for m in scn.movements:
        by_from[m.from_link] += m.turn_ratio
    assert all(v == pytest.approx(1.0, abs=1e-9) for v in by_from.values())


def test_routes_give_demand_and_turn_ratios() -> None:
    result = convert_net(DATA / "grid2x2.net.xml", DATA / "grid2x2.rou.xml")
    scn = result.scenario
    profiles = {d.node: d.profile for d in scn.demand}
    # Profile points are 300 s bin means: their sum times 300/3600 counts the vehicles.
    total = sum((p[1] + p[2]) * 300 / 3600 for prof in profiles.values() for p in prof)
    assert total == pytest.approx(180 + 360 + 60 + 2 + 1)
    moto = sum(p[1] * 300 / 3600 for p in profiles["source:left0A0"])
    assert moto == pytest.approx(180.0)
    assert profiles["source:left0A0"][6][1] == 0.0  # the flow ends at 1800 s
    ratio = {m.key: m.turn_ratio for m in scn.movements}
    # All traffic from the west goes straight on: unused movements keep 1 % each.
    assert ratio["left0A0->A0B0"] == pytest.approx(0.98 / 0.99 * 0.99 / 1.0, abs=2e-3)
    text = "\n".join(result.report)
    assert "start on an edge inside the network" in text
    assert "<person>" in text and "non-motor" in text


def test_written_file_is_commented_and_loads(tmp_path: Path) -> None:
    out = tmp_path / "grid.yaml"
    assert import_main([str(DATA / "grid2x2.net.xml"), "--routes",
                        str(DATA / "grid2x2.rou.xml"), "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# grid2x2: converted from grid2x2.net.xml")
    assert "# SUMO states of the green phases:" in text
    assert load_scenario(out) == convert_net(DATA / "grid2x2.net.xml",
                                             DATA / "grid2x2.rou.xml").scenario
    # No overwrite without --force; with it, the same file again.
    assert import_main([str(DATA / "grid2x2.net.xml"), "-o", str(out)]) == 2
    assert out.read_text(encoding="utf-8") == text


@pytest.mark.parametrize(("make", "fragment"), [
    (lambda d: DATA / "town.osm", "is an OpenStreetMap file: convert it first"),
    (lambda d: DATA / "joined.net.xml", "<tlLogic id='joinedS_A0_B0'>: one program controls"),
    (lambda d: _edited(d, "grid2x2", 'type="static"', 'type="NEMA"'),
     "<tlLogic id='A0' type='NEMA'>"),
    (lambda d: _write(d, "junk.net.xml", "<net><edge"), "is not valid XML"),
    (lambda d: _write(d, "none.net.xml", "<routes/>"), "root element is <routes>"),
    (lambda d: d / "missing.net.xml", "cannot be read"),
])
def test_unsupported_input_fails_with_one_line(tmp_path: Path, make, fragment: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = make(tmp_path)
    out = tmp_path / "out.yaml"
    assert import_main([str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert fragment in err
    assert err.count("\n") == 1 and err.startswith("arz-tui import: error: ")
    assert not out.exists()


def test_unsupported_route_element_is_named(tmp_path: Path) -> None:
    routes = _write(tmp_path, "r.rou.xml", '<routes><routeDistribution id="rd"/></routes>')
    with pytest.raises(NetImportError, match="<routeDistribution id='rd'> is not supported"):
        convert_net(DATA / "grid2x2.net.xml", routes)


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _edited(folder: Path, net: str, old: str, new: str) -> Path:
    text = (DATA / f"{net}.net.xml").read_text(encoding="utf-8")
    return _write(folder, f"{net}_edited.net.xml", text.replace(old, new, 1))


def test_scenario_option_converts_on_the_fly(tmp_path: Path) -> None:
    env = TrafficSignalEnv(scenario=str(DATA / "grid2x2.net.xml"))
    assert len(env.sim.net.signals) == 4
    env.reset(seed=0)
    _, reward, *_ = env.step(env.action_space.sample())
    assert np.isfinite(reward)
    osm = tmp_path / "town.net.xml"
    shutil.copy(DATA / "town.osm", osm)
    with pytest.raises(EnvConfigError, match="OpenStreetMap file: convert it first"):
        TrafficSignalEnv(scenario=str(osm))
    with pytest.raises(ScenarioError, match="arz-tui import"):
        load_scenario(str(osm))  # the simulator core names the converter


@pytest.mark.parametrize("name", NETS)
def test_imported_networks_run(name: str) -> None:
    sim = Simulator(convert_net(DATA / f"{name}.net.xml").scenario)
    for k in range(40):
        sim.advance(30.0, [(k + 1) % s.n_phases for s in sim.net.signals])
    assert sim.acc_out.sum() > 0
    assert (sim.rho >= 0).all()


@pytest.mark.skipif(shutil.which("netgenerate", path=str(Path(sys.executable).parent))
                    is None, reason="eclipse-sumo (netgenerate) not installed")
def test_shipped_networks_come_from_the_recorded_commands(tmp_path: Path) -> None:
    for f in ("regenerate.sh", "town.osm"):
        shutil.copy(DATA / f, tmp_path)
    subprocess.run(["sh", str(tmp_path / "regenerate.sh")], check=True, capture_output=True,
                   env={"SUMO_BIN": str(Path(sys.executable).parent), "PATH": "/usr/bin:/bin"},
                   timeout=300)
    for name in NETS:
        fresh = convert_net(tmp_path / f"{name}.net.xml").scenario
        assert fresh == convert_net(DATA / f"{name}.net.xml").scenario, name


@pytest.mark.slow
@pytest.mark.parametrize("name", ["grid2x2", "turnlanes", "town"])
def test_sanity_mode_runs_on_imported_networks(name: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "arz_tui.cli", "--batch", "--mode", "sanity", "--scenario",
         str(DATA / f"{name}.net.xml"), "--results-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / f"{name}.net_sanity" / "training_config.json").is_file()
