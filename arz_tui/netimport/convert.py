"""SUMO network (+ routes) -> scenario data that `sim.scenario` validates, and a report of
every simplification made on the way (docs/networks.md, "SUMO import")."""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arz_tui.netimport.errors import NetImportError
from arz_tui.netimport.routes import Demand, read_routes
from arz_tui.netimport.sumo_net import Connection, SumoNet, TrafficLight, read_net
from sim.scenario import Scenario, parse_scenario

DEFAULT_ENTRY_VEH_H_PER_LANE = 300.0
"""Demand without a route file: every entry link gets this flow per lane, flat, for an hour."""
DEFAULT_MOTO_SHARE = 0.5
"""Share of motorcycles in that default demand."""
DEFAULT_DURATION_S = 3600.0
DEMAND_BIN_S = 300.0
"""Route-file demand is counted in bins of this length (profile points at bin centres)."""
UNUSED_TURN_SHARE = 0.01
"""A movement no route uses keeps this share of its approach (the network stays connected)."""
KERB_OFFSET_M = 2.0
"""Sources and sinks are drawn this far to the right of their edge's end."""
GREEN, TRANSITION, ALL_RED = "green", "transition", "all-red"


@dataclass
class ImportResult:
    """The converted scenario, the data it was validated from, and the report."""

    scenario: Scenario
    data: dict[str, Any]
    report: list[str] = field(default_factory=list)
    signal_sources: dict[str, list[str]] = field(default_factory=dict)
    """Signal node -> the SUMO state strings of its green phases (for the file's comments)."""


@dataclass
class _Move:
    from_edge: str
    to_edge: str
    direction: str
    lanes: set[int]
    tls: str
    links: set[int]

    @property
    def key(self) -> str:
        return f"{self.from_edge}->{self.to_edge}"


def convert_net(net_path: str | Path, routes: str | Path | None = None,
                name: str | None = None, cell_length_m: float = 50.0) -> ImportResult:
    """Convert a SUMO network (and optionally its routes) into a validated scenario."""
    path = Path(net_path)
    net = read_net(path)
    report: list[str] = []
    moves = _movements(net, report)
    ends = _link_ends(net, moves)
    nodes = _nodes(net, ends)
    links = [{"id": e.id, "from": ends[e.id][0], "to": ends[e.id][1],
              "length_m": round(e.length_m, 3), "lanes": e.lanes,
              "speed_limit_kmh": min(round(e.speed_kmh, 2), 200.0)}
             for e in net.edges.values()]
    demand = read_routes(Path(routes), net) if routes is not None else None
    ratios = _turn_ratios(moves, demand, report)
    signals, sources = _signals(net, moves, report)
    yields = _permitted_lefts(net, moves, report)
    movements = [{"from": m.from_edge, "to": m.to_edge, "turn_ratio": ratios[m.key],
                  "priority": 2.0 if m.direction == "s" else 1.0,
                  **({"signalized": False} if not m.tls and _at_signal(net, m) else {}),
                  **({"yields_to": yields[m.key]} if m.key in yields else {})}
                 for m in moves]
    entry = {e: ends[e][0] for e in net.edges if ends[e][0].startswith("source:")}
    demand_data, duration = _demand(net, entry, demand, report)
    stem = path.name.removesuffix(".net.xml").removesuffix(".xml")
    data: dict[str, Any] = {
        "name": name or stem,
        "description": f"Imported from the SUMO network {path.name}"
                       + (f" with routes {Path(routes).name}" if routes else "")
                       + " by arz-tui import.",
        "duration_s": duration,
        "numerics": {"cell_length_m": cell_length_m, "cfl": 0.9, "queue_speed_kmh": 10.0},
        "nodes": nodes, "links": links, "movements": movements, "signals": signals,
        "demand": demand_data,
    }
    scenario = parse_scenario(data, f"converted {path.name}")
    _summary(net, scenario, report)
    return ImportResult(scenario, data, report, sources)


# ---------------------------------------------------------------------- topology
def _movements(net: SumoNet, report: list[str]) -> list[_Move]:
    grouped: dict[tuple[str, str], list[Connection]] = defaultdict(list)
    for c in net.connections:
        grouped[(c.from_edge, c.to_edge)].append(c)
    by_from: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key in grouped:
        by_from[key[0]].append(key)
    moves: list[_Move] = []
    u_turns = 0
    for (a, b), conns in grouped.items():
        direction = Counter(c.direction for c in conns).most_common(1)[0][0]
        if direction == "t" and len(by_from[a]) > 1:
            u_turns += 1
            continue
        tls = {c.tls for c in conns}
        if len(tls) > 1:
            raise NetImportError(f"<connection from={a!r} to={b!r}>: its lanes belong to "
                                 f"different traffic lights {sorted(tls)}")
        moves.append(_Move(a, b, direction, {c.from_lane for c in conns}, tls.pop(),
                           {c.link_index for c in conns if c.tls}))
    if u_turns:
        report.append(f"dropped {u_turns} U-turn movement(s) (not modelled)")
    return moves


def _link_ends(net: SumoNet, moves: list[_Move]) -> dict[str, tuple[str, str]]:
    """(upstream node, downstream node) of every link: the SUMO junction where movements
    join it, else a source/sink of its own."""
    fed = {m.to_edge for m in moves}
    feeding = {m.from_edge for m in moves}
    ends = {}
    for e in net.edges.values():
        up = e.from_node if e.id in fed else f"source:{e.id}"
        down = e.to_node if e.id in feeding else f"sink:{e.id}"
        ends[e.id] = (up, down)
    return ends


def _nodes(net: SumoNet, ends: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    junctions = sorted({n for up, down in ends.values() for n in (up, down)
                        if not n.startswith(("source:", "sink:"))})
    for j in junctions:
        if j.startswith(("source:", "sink:")):
            raise NetImportError(f"<junction id={j!r}>: ids starting with source:/sink: are "
                                 "reserved by the importer")
        x, y = net.nodes[j]
        out.append({"id": j, "kind": "junction", "x_m": round(x, 2), "y_m": round(y, 2)})
    for lid, (up, down) in ends.items():
        e = net.edges[lid]
        (x0, y0), (x1, y1) = net.nodes[e.from_node], net.nodes[e.to_node]
        dx, dy = x1 - x0, y1 - y0
        norm = math.hypot(dx, dy) or 1.0
        rx, ry = dy / norm * KERB_OFFSET_M, -dx / norm * KERB_OFFSET_M
        if up.startswith("source:"):
            out.append({"id": up, "kind": "source", "x_m": round(x0 + rx, 2) + 0.0,
                        "y_m": round(y0 + ry, 2) + 0.0})
        if down.startswith("sink:"):
            out.append({"id": down, "kind": "sink", "x_m": round(x1 + rx, 2) + 0.0,
                        "y_m": round(y1 + ry, 2) + 0.0})
    return out


def _at_signal(net: SumoNet, m: _Move) -> bool:
    node = net.edges[m.from_edge].to_node
    return any(net.edges[c.from_edge].to_node == node for c in net.connections if c.tls)


# ---------------------------------------------------------------------- turning ratios
def _turn_ratios(moves: list[_Move], demand: Demand | None,
                 report: list[str]) -> dict[str, float]:
    """From route counts where routes pass, else from lane counts: a lane serving k
    movements gives 1/k of itself to each, an approach's lanes count equally."""
    by_from: dict[str, list[_Move]] = defaultdict(list)
    for m in moves:
        by_from[m.from_edge].append(m)
    counts: defaultdict[tuple[str, str], float] = defaultdict(float)
    if demand is not None:
        for t in demand.travels:
            for a, b in itertools.pairwise(t.edges):
                counts[(a, b)] += t.vehicles
    ratios: dict[str, float] = {}
    from_routes = 0
    for _frm, group in by_from.items():
        total = sum(counts[(m.from_edge, m.to_edge)] for m in group)
        if total > 0:
            from_routes += 1
            raw = {m.key: max(counts[(m.from_edge, m.to_edge)] / total, UNUSED_TURN_SHARE)
                   for m in group}
        else:
            lanes = sorted({ln for m in group for ln in m.lanes})
            serving = {ln: sum(1 for m in group if ln in m.lanes) for ln in lanes}
            raw = {m.key: sum(1.0 / serving[ln] for ln in m.lanes) for m in group}
        s = sum(raw.values())
        for key, v in raw.items():
            ratios[key] = round(v / s, 6)
        # Rounding: make the approach sum to 1 exactly on its largest movement.
        big = max(raw, key=lambda k: raw[k])
        ratios[big] = round(ratios[big] + 1.0 - sum(ratios[m.key] for m in group), 6)
    if demand is not None:
        report.append(f"turning ratios: from route counts on {from_routes} approach(es), from "
                      f"lane counts on {len(by_from) - from_routes} (no route passes them); "
                      f"movements no route uses keep {UNUSED_TURN_SHARE:.0%}")
    else:
        report.append("turning ratios: from lane counts (no route file): a lane serving k "
                      "movements gives 1/k of its traffic to each")
    return ratios


# ---------------------------------------------------------------------- signals
def _classify(tl: TrafficLight, links: set[int], state_index: int) -> str:
    state = tl.phases[state_index].state
    chars = [state[i] for i in links if i < len(state)]
    if any(ch in "yYu" for ch in chars):
        return TRANSITION
    if any(ch in "Gg" for ch in chars):
        return GREEN
    return ALL_RED


def _signals(net: SumoNet, moves: list[_Move], report: list[str]
             ) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    signals: list[dict[str, Any]] = []
    sources: dict[str, list[str]] = {}
    notes: Counter = Counter()
    for tl in net.lights.values():
        own = [m for m in moves if m.tls == tl.id]
        if not own:
            notes["traffic lights controlling no car movement (dropped)"] += 1
            continue
        junctions = sorted({net.edges[m.from_edge].to_node for m in own})
        if len(junctions) > 1:
            raise NetImportError(
                f"<tlLogic id={tl.id!r}>: one program controls {len(junctions)} junctions "
                f"({', '.join(junctions[:4])}): joined traffic lights are not supported; "
                "re-run netconvert with --junctions.join or --tls.join false")
        width = max(len(p.state) for p in tl.phases)
        for m in own:
            if any(i >= width for i in m.links):
                raise NetImportError(f"<tlLogic id={tl.id!r}>: link index {max(m.links)} of "
                                     f"{m.key} is beyond its phase states ({width} signals)")
        links = {i for m in own for i in m.links}
        kinds = [_classify(tl, links, k) for k in range(len(tl.phases))]
        if GREEN not in kinds:
            raise NetImportError(f"<tlLogic id={tl.id!r}>: no phase gives green to a car "
                                 "movement")
        phases, states, changes = _green_phases(tl, own, kinds, notes)
        yellow = max(changes) if changes else 0.0
        if changes and max(changes) - min(changes) > 1e-6:
            notes[f"yellow/all-red times differ within a program (kept the longest, "
                  f"{yellow:g} s)"] += 1
        if any(ch == "s" for p in tl.phases for i in links for ch in p.state[i:i + 1]):
            notes["'s' (right turn on red after stopping) treated as red"] += 1
        if any(ch == "g" for p in tl.phases for i in links for ch in p.state[i:i + 1]):
            notes["'g' (green, must yield) treated as green"] += 1
        served = {k for ph in phases for k in ph["movements"]}
        never = [m.key for m in own if m.key not in served]
        if never:
            notes["signalised movements never green in the program"] += len(never)
        greens = [ph["duration_s"] for ph in phases]
        actuated = tl.program_type != "static"
        min_green = (min(p.min_dur_s for p, k in zip(tl.phases, kinds, strict=True)
                         if k == GREEN) if actuated else min(5.0, min(greens)))
        max_green = (max(p.max_dur_s for p, k in zip(tl.phases, kinds, strict=True)
                         if k == GREEN) if actuated else max(60.0, max(greens)))
        signals.append({"node": junctions[0], "phases": phases,
                        "yellow_s": round(min(yellow, 30.0), 3),
                        "min_green_s": round(min(min_green, 300.0), 3),
                        "max_green_s": round(min(max(max_green, min_green, 1.0), 600.0), 3)})
        sources[junctions[0]] = states
    for note, n in sorted(notes.items()):
        report.append(f"signals: {note}" + (f" ({n}x)" if n > 1 else ""))
    return signals, sources


def _permitted_lefts(net: SumoNet, moves: list[_Move], report: list[str]
                     ) -> dict[str, list[str]]:
    """Left turns shown 'g' (green, must yield) while straight or right-turning traffic from
    another approach of the junction has green: they yield to those movements (gap
    acceptance, docs/model.md). Under a protected left phase the opposing traffic is red and
    the cap never binds."""
    out: dict[str, set[str]] = defaultdict(set)
    for tl in net.lights.values():
        own = [m for m in moves if m.tls == tl.id]
        for p in tl.phases:
            def shown(m: _Move, p=p) -> set[str]:
                return {p.state[i] for i in m.links if i < len(p.state)}
            for m in own:
                if m.direction not in ("l", "L") or "g" not in shown(m):
                    continue
                for o in own:
                    if (o.from_edge != m.from_edge and o.direction in ("s", "r", "R")
                            and shown(o) & {"G", "g"}):
                        out[m.key].add(o.key)
    if out:
        report.append(f"junctions: {len(out)} permitted left turn(s) ('g' against straight "
                      "traffic) yield to the opposing flow by gap acceptance")
    return {k: sorted(v) for k, v in out.items()}


def _green_phases(tl: TrafficLight, own: list[_Move], kinds: list[str], notes: Counter
                  ) -> tuple[list[dict[str, Any]], list[str], list[float]]:
    """Green phases (movement sets) in program order: consecutive greens showing the same
    movements merge (e.g. a pedestrian split), a set seen before is not repeated; the
    yellow/all-red between two greens is the sum of the phases in between."""
    n = len(tl.phases)
    start = next(k for k in range(n) if kinds[k] == GREEN and kinds[k - 1] != GREEN) \
        if any(kinds[k - 1] != GREEN for k in range(n)) else 0
    order = [(start + k) % n for k in range(n)]
    phases: list[dict[str, Any]] = []
    states: list[str] = []
    seen: dict[frozenset[str], int] = {}
    changes: list[float] = []
    between = 0.0
    last_set: frozenset[str] | None = None
    for k in order:
        p = tl.phases[k]
        if kinds[k] != GREEN:
            between += p.duration_s
            continue
        green = frozenset(m.key for m in own if any(p.state[i] in "Gg" for i in m.links))
        if green == last_set and between == 0.0:
            phases[seen[green]]["duration_s"] = round(phases[seen[green]]["duration_s"]
                                                      + p.duration_s, 3)
            notes["consecutive green phases with the same car movements merged"] += 1
            continue
        if between > 0.0:
            changes.append(between)
        between = 0.0
        last_set = green
        if green in seen:
            notes["repeated green phases merged"] += 1
            continue
        seen[green] = len(phases)
        phases.append({"name": p.name or f"G{len(phases)}",
                       "movements": [m.key for m in own if m.key in green],
                       "duration_s": round(p.duration_s, 3)})
        states.append(p.state)
    if between > 0.0:
        changes.append(between)
    return phases, states, changes


# ---------------------------------------------------------------------- demand
def _demand(net: SumoNet, entry: dict[str, str], demand: Demand | None,
            report: list[str]) -> tuple[list[dict[str, Any]], float]:
    if demand is None:
        report.append(f"demand: no route file; every entry link gets "
                      f"{DEFAULT_ENTRY_VEH_H_PER_LANE:g} veh/h per lane for "
                      f"{DEFAULT_DURATION_S:g} s, {DEFAULT_MOTO_SHARE:.0%} motorcycles")
        out = []
        for edge, src in entry.items():
            q = DEFAULT_ENTRY_VEH_H_PER_LANE * net.edges[edge].lanes
            out.append({"node": src, "profile": [[0.0, round(q * DEFAULT_MOTO_SHARE, 3),
                                                  round(q * (1 - DEFAULT_MOTO_SHARE), 3)]]})
        return out, DEFAULT_DURATION_S
    ends = [t.end_s for t in demand.travels]
    horizon = max([*ends, 1.0])
    n_bins = max(1, math.ceil(horizon / DEMAND_BIN_S))
    duration = min(n_bins * DEMAND_BIN_S, 86_400.0)
    n_bins = int(duration / DEMAND_BIN_S)
    counts: dict[str, list[list[float]]] = {}
    inside = 0.0
    for t in demand.travels:
        first = t.edges[0]
        if first not in entry:
            inside += t.vehicles
            continue
        bins = counts.setdefault(entry[first], [[0.0, 0.0] for _ in range(n_bins)])
        cls = 0 if t.motorcycle else 1
        if t.end_s <= t.begin_s:
            b = min(int(t.begin_s // DEMAND_BIN_S), n_bins - 1)
            bins[b][cls] += t.vehicles
            continue
        for b in range(n_bins):
            lo, hi = b * DEMAND_BIN_S, (b + 1) * DEMAND_BIN_S
            overlap = max(0.0, min(hi, t.end_s) - max(lo, t.begin_s))
            bins[b][cls] += t.vehicles * overlap / (t.end_s - t.begin_s)
    if inside:
        report.append(f"demand: {inside:g} vehicle(s) start on an edge inside the network "
                      "(not at an entry) and are left out")
    for what, n in sorted(demand.skipped.items()):
        report.append(f"demand: left out {n} {what}")
    total = sum(sum(a + b for a, b in bins) for bins in counts.values())
    report.append(f"demand: {total:g} vehicles from the route file at {len(counts)} entries, "
                  f"counted in {DEMAND_BIN_S:g} s bins over {duration:g} s")
    scale = 3600.0 / DEMAND_BIN_S
    out = [{"node": src, "profile": [[round((b + 0.5) * DEMAND_BIN_S, 3),
                                      round(m * scale, 3), round(c * scale, 3)]
                                     for b, (m, c) in enumerate(bins)]}
           for src, bins in counts.items()]
    return out, duration


def _summary(net: SumoNet, scn: Scenario, report: list[str]) -> None:
    kinds = Counter(n.kind for n in scn.nodes)
    report.insert(0, f"kept {len(scn.links)} links (SUMO edges cars may use), "
                     f"{kinds['junction']} junctions, {len(scn.movements)} movements, "
                     f"{len(scn.signals)} signals; {kinds['source']} entries, "
                     f"{kinds['sink']} exits")
    for what, n in sorted(net.dropped.items()):
        report.insert(1, f"dropped {n} {what}")
    report.insert(1, "dropped internal edges (junction interiors: a movement crosses a node "
                     "instantly in this model)")
    shortest = min(lk.length_m for lk in scn.links)
    if shortest < scn.numerics.cell_length_m / 2:
        report.append(f"numerics: the shortest link is {shortest:g} m (one cell), which sets "
                      "the time step; merge short edges (netconvert --geometry.remove, "
                      "--junctions.join) for speed")
