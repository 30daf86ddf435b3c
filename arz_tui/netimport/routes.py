"""Demand from SUMO route files: `<vehicle>` (with an inline or named `<route>`), `<trip>`
(from/to, routed on the shortest path by length) and `<flow>` (vehsPerHour, period,
probability or number over [begin, end]). Persons, containers and bicycles are left out (the
scenario has motorcycles and cars); a vType whose vClass is motorcycle or moped makes its
vehicles motorcycles, every other motor vehicle is a car."""

from __future__ import annotations

import heapq
import itertools
import math
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from arz_tui.netimport.errors import NetImportError
from arz_tui.netimport.sumo_net import SumoNet

MOTORCYCLE_VCLASSES = frozenset({"motorcycle", "moped"})
NON_MOTOR_VCLASSES = frozenset({"pedestrian", "bicycle", "rail", "rail_urban", "tram",
                                "rail_electric", "rail_fast", "ship", "subway", "cable_car",
                                "aircraft", "wheelchair", "scooter", "drone", "container"})
SKIPPED_ELEMENTS = frozenset({"person", "personFlow", "container", "containerFlow", "param",
                              "interval", "vTypeDistribution"})
"""Elements read past without effect (interval's children are read)."""
UNSUPPORTED = frozenset({"routeDistribution", "include"})


@dataclass
class Travel:
    """Vehicles over one path: `count` vehicles departing at `begin_s` (count 1 for a
    vehicle or trip), or `rate_veh_h` uniformly over [begin_s, end_s] for a flow."""

    edges: list[str]
    motorcycle: bool
    begin_s: float
    end_s: float
    count: float

    @property
    def vehicles(self) -> float:
        return self.count


@dataclass
class Demand:
    travels: list[Travel] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)


def _float(elem: ET.Element, key: str, where: str, default: float | None = None) -> float:
    text = elem.get(key)
    if text is None:
        if default is None:
            raise NetImportError(f"{where}: <{elem.tag} id={elem.get('id')!r}> has no {key}")
        return default
    try:
        value = float(text)
    except ValueError:
        raise NetImportError(f"{where}: <{elem.tag} id={elem.get('id')!r}> {key}={text!r} is "
                             "not a number of seconds/vehicles (triggered or time-of-day "
                             "departures are not supported)") from None
    if not math.isfinite(value) or value < 0:
        raise NetImportError(f"{where}: <{elem.tag} id={elem.get('id')!r}> {key}={text!r} "
                             "must be a finite number >= 0")
    return value


class _Router:
    """Shortest paths by length over the kept edges and connections (for trips/flows given
    by from/to)."""

    def __init__(self, net: SumoNet) -> None:
        self.net = net
        self.next: dict[str, set[str]] = {}
        for c in net.connections:
            self.next.setdefault(c.from_edge, set()).add(c.to_edge)

    def path(self, a: str, b: str) -> list[str] | None:
        lengths = {e: x.length_m for e, x in self.net.edges.items()}
        best = {a: 0.0}
        prev: dict[str, str] = {}
        heap = [(0.0, a)]
        while heap:
            d, e = heapq.heappop(heap)
            if e == b:
                out = [b]
                while out[-1] != a:
                    out.append(prev[out[-1]])
                return out[::-1]
            if d > best.get(e, math.inf):
                continue
            for n in sorted(self.next.get(e, ())):
                nd = d + lengths[n]
                if nd < best.get(n, math.inf):
                    best[n], prev[n] = nd, e
                    heapq.heappush(heap, (nd, n))
        return None


def read_routes(path: Path, net: SumoNet) -> Demand:
    """Every vehicle, trip and flow of a route file, as paths over the kept edges."""
    where = f"route file {str(path)!r}"
    if not path.is_file():
        raise NetImportError(f"{where} not found")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise NetImportError(f"{where} is not valid XML: {err}") from None
    except OSError as err:
        raise NetImportError(f"{where} cannot be read: {err.strerror}") from None
    if root.tag not in ("routes", "additional"):
        raise NetImportError(f"{where}: root element is <{root.tag}>, expected <routes>")
    moto_types: set[str] = set()
    skip_types: set[str] = set()
    routes: dict[str, list[str]] = {}
    elements = [e for e in root if e.tag != "interval"]
    elements += [c for e in root if e.tag == "interval" for c in e]
    for e in elements:
        if e.tag == "vType":
            vclass = e.get("vClass", "passenger")
            if vclass in MOTORCYCLE_VCLASSES:
                moto_types.add(e.get("id", ""))
            elif vclass in NON_MOTOR_VCLASSES:
                skip_types.add(e.get("id", ""))
        elif e.tag == "route" and e.get("id"):
            routes[e.get("id", "")] = (e.get("edges") or "").split()
        elif e.tag in UNSUPPORTED:
            raise NetImportError(f"{where}: <{e.tag} id={e.get('id')!r}> is not supported; "
                                 "write the routes out as <route>/<vehicle>/<flow>")
    router = _Router(net)
    demand = Demand()
    for e in elements:
        if e.tag in ("vType", "route") or e.tag in SKIPPED_ELEMENTS:
            if e.tag in ("person", "personFlow", "container", "containerFlow"):
                demand.skipped[f"<{e.tag}> (not vehicles)"] += 1
            continue
        if e.tag not in ("vehicle", "trip", "flow"):
            raise NetImportError(f"{where}: <{e.tag} id={e.get('id')!r}> is not supported; "
                                 "expected vType, route, vehicle, trip or flow")
        vtype = e.get("type", "")
        if vtype in skip_types:
            demand.skipped["non-motor vehicles (bicycles, trams, ...)"] += 1
            continue
        edges = _edges_of(e, routes, router, where)
        if edges is None:
            demand.skipped["vehicles with no route through the kept network"] += 1
            continue
        moto = vtype in moto_types
        if e.tag == "flow":
            begin = _float(e, "begin", where, 0.0)
            end = _float(e, "end", where, begin + 3600.0)
            span = max(end - begin, 1e-9)
            if e.get("number") is not None:
                count = _float(e, "number", where)
            elif e.get("vehsPerHour") is not None:
                count = _float(e, "vehsPerHour", where) * span / 3600.0
            elif e.get("period") is not None:
                text = e.get("period", "")
                rate = _exp_rate(text) if text.startswith("exp(") else None
                period = 1.0 / rate if rate else _float(e, "period", where)
                count = span / period if period > 0 else 0.0
            elif e.get("probability") is not None:
                count = _float(e, "probability", where) * span
            else:
                raise NetImportError(f"{where}: <flow id={e.get('id')!r}> needs vehsPerHour, "
                                     "period, probability or number")
            demand.travels.append(Travel(edges, moto, begin, end, count))
        else:
            t = _float(e, "depart", where)
            demand.travels.append(Travel(edges, moto, t, t, 1.0))
    return demand


def _exp_rate(text: str) -> float | None:
    try:
        return float(text[4:-1])
    except ValueError:
        return None


def _edges_of(e: ET.Element, routes: dict[str, list[str]], router: _Router,
              where: str) -> list[str] | None:
    inline = e.find("route")
    if inline is not None:
        edges = (inline.get("edges") or "").split()
    elif e.get("route"):
        name = e.get("route", "")
        if name not in routes:
            raise NetImportError(f"{where}: <{e.tag} id={e.get('id')!r}> uses unknown route "
                                 f"{name!r}")
        edges = routes[name]
    elif e.get("from") and e.get("to"):
        stops = [e.get("from", ""), *(e.get("via") or "").split(), e.get("to", "")]
        edges = []
        for a, b in itertools.pairwise(stops):
            if a not in router.net.edges or b not in router.net.edges:
                return None
            leg = router.path(a, b)
            if leg is None:
                return None
            edges.extend(leg if not edges else leg[1:])
    else:
        raise NetImportError(f"{where}: <{e.tag} id={e.get('id')!r}> has neither a route "
                             "nor from/to edges")
    kept = [x for x in edges if x in router.net.edges]
    return kept or None
