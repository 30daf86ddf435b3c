"""Read a SUMO `.net.xml` with sumolib into plain records the converter works on.

Only what the scenario can express is kept: edges that passenger cars may use (internal
edges, footways, cycleways, railways dropped; pedestrian and bicycle lanes not counted),
connections between kept edges grouped into movements (edge to edge), and the traffic-light
programs. Anything kept but not expressible raises `NetImportError` naming the element.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
import xml.sax
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from arz_tui.netimport.errors import NetImportError

VEHICLE_CLASS = "passenger"
"""Lanes and edges are kept when SUMO lets this class use them."""
SUPPORTED_TLS_TYPES = ("static", "actuated", "delay_based")
"""Programs whose phases are plain state strings in order (NEMA and custom ones are not)."""


@dataclass
class Edge:
    id: str
    from_node: str
    to_node: str
    length_m: float
    lanes: int
    speed_kmh: float
    dropped_lanes: int
    name: str = ""


@dataclass
class Connection:
    """A lane-to-lane connection between kept edges."""

    from_edge: str
    to_edge: str
    from_lane: int
    direction: str
    """SUMO's dir: s(traight), l(eft), r(ight), t(urn), L/R (partial), invalid."""
    tls: str
    link_index: int


@dataclass
class Phase:
    duration_s: float
    state: str
    min_dur_s: float
    max_dur_s: float
    name: str


@dataclass
class TrafficLight:
    id: str
    program_id: str
    program_type: str
    phases: list[Phase]


@dataclass
class SumoNet:
    path: Path
    nodes: dict[str, tuple[float, float]]
    node_types: dict[str, str]
    edges: dict[str, Edge]
    connections: list[Connection]
    lights: dict[str, TrafficLight]
    dropped: Counter = field(default_factory=Counter)
    """What was left out, by kind (for the import report)."""


def _read(path: Path):  # type: ignore[no-untyped-def]
    try:
        import sumolib
    except ImportError:
        raise NetImportError("SUMO import needs sumolib: pip install sumolib (or pip install "
                             "'arz-tui[sumo]')") from None
    if not path.is_file():
        raise NetImportError(f"SUMO network {str(path)!r} not found")
    try:
        return sumolib.net.readNet(str(path), withPrograms=True)
    except xml.sax.SAXParseException as err:
        raise NetImportError(f"SUMO network {str(path)!r} is not valid XML: "
                             f"{err.getMessage()} (line {err.getLineNumber()})") from None
    except (KeyError, ValueError, TypeError, AttributeError, IndexError) as err:
        raise NetImportError(f"SUMO network {str(path)!r} cannot be read: "
                             f"{type(err).__name__}: {err}") from None


def _check_root(path: Path) -> None:
    """A net file's root element is <net>; say so instead of importing nothing."""
    # A full parse first: sumolib's SAX reader half-builds a network from a truncated file.
    try:
        tag = ET.parse(path).getroot().tag
    except ET.ParseError as err:
        raise NetImportError(f"SUMO network {str(path)!r} is not valid XML: {err}") from None
    except OSError as err:
        raise NetImportError(f"SUMO network {str(path)!r} cannot be read: "
                             f"{err.strerror}") from None
    if tag == "osm":
        raise NetImportError(f"{str(path)!r} is an OpenStreetMap file: convert it first, e.g. "
                             f"netconvert --osm-files {path.name} -o {path.stem}.net.xml")
    if tag != "net":
        raise NetImportError(f"{str(path)!r} is not a SUMO network: its root element is "
                             f"<{tag or '?'}>, expected <net> (a .net.xml from netconvert or "
                             "netgenerate)")


def read_net(path: Path) -> SumoNet:
    """The kept parts of a SUMO network."""
    _check_root(path)
    net = _read(path)
    dropped: Counter = Counter()
    edges: dict[str, Edge] = {}
    for e in net.getEdges(withInternal=False):
        if e.getFunction() not in ("", "normal"):
            dropped[f"{e.getFunction()} edges"] += 1
            continue
        lanes = [ln for ln in e.getLanes() if ln.allows(VEHICLE_CLASS)]
        if not lanes:
            dropped[f"edges without car lanes ({e.getType() or 'untyped'})"] += 1
            continue
        if "->" in e.getID():
            raise NetImportError(f"<edge id={e.getID()!r}>: ids containing '->' cannot be "
                                 "used (it separates the ends of a movement)")
        speed = max(ln.getSpeed() for ln in lanes) * 3.6
        edges[e.getID()] = Edge(
            id=e.getID(), from_node=e.getFromNode().getID(), to_node=e.getToNode().getID(),
            length_m=max(float(e.getLength()), 0.1), lanes=len(lanes),
            speed_kmh=round(speed, 3), dropped_lanes=len(e.getLanes()) - len(lanes),
            name=e.getName() or "")
    if not edges:
        raise NetImportError(f"SUMO network {str(path)!r} has no edge that cars may use")
    for e in edges.values():
        if e.dropped_lanes:
            dropped["pedestrian/bicycle/bus-only lanes"] += e.dropped_lanes

    connections: list[Connection] = []
    for e in net.getEdges(withInternal=False):
        if e.getID() not in edges:
            continue
        for to_edge, conns in e.getOutgoing().items():
            if to_edge.getID() not in edges:
                dropped["connections to dropped edges"] += len(conns)
                continue
            for c in conns:
                if not (c.getFromLane().allows(VEHICLE_CLASS)
                        and c.getToLane().allows(VEHICLE_CLASS)):
                    dropped["connections of non-car lanes"] += 1
                    continue
                connections.append(Connection(
                    from_edge=e.getID(), to_edge=to_edge.getID(),
                    from_lane=c.getFromLane().getIndex(), direction=c.getDirection(),
                    tls=c.getTLSID() or "", link_index=int(c.getTLLinkIndex())))

    lights: dict[str, TrafficLight] = {}
    for tls in net.getTrafficLights():
        programs = tls.getPrograms()
        if not programs:
            continue
        pid = "0" if "0" in programs else sorted(programs)[0]
        if len(programs) > 1:
            dropped[f"extra programs of traffic light {tls.getID()!r} (kept {pid!r})"] += (
                len(programs) - 1)
        prog = programs[pid]
        kind = prog.getType() or "static"
        if kind not in SUPPORTED_TLS_TYPES:
            raise NetImportError(f"<tlLogic id={tls.getID()!r} type={kind!r}>: only "
                                 f"{', '.join(SUPPORTED_TLS_TYPES)} programs can be imported; "
                                 "convert it to a static program (netconvert "
                                 "--tls.default-type static)")
        phases = [Phase(duration_s=float(p.duration), state=p.state,
                        min_dur_s=float(p.minDur), max_dur_s=float(p.maxDur),
                        name=p.name or "") for p in prog.getPhases()]
        if not phases:
            raise NetImportError(f"<tlLogic id={tls.getID()!r}>: program {pid!r} has no phases")
        lights[tls.getID()] = TrafficLight(tls.getID(), pid, kind, phases)

    nodes = {n.getID(): (float(n.getCoord()[0]), float(n.getCoord()[1])) for n in net.getNodes()}
    types = {n.getID(): n.getType() for n in net.getNodes()}
    return SumoNet(path=path, nodes=nodes, node_types=types, edges=edges,
                   connections=connections, lights=lights, dropped=dropped)


def movement_lanes(net: SumoNet) -> dict[tuple[str, str], set[int]]:
    """From-lanes serving each (from edge, to edge) movement."""
    out: dict[tuple[str, str], set[int]] = defaultdict(set)
    for c in net.connections:
        out[(c.from_edge, c.to_edge)].add(c.from_lane)
    return out
