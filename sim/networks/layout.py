"""Rectangular networks of signalised four-arm junctions, as scenario data.

Junction (r, c) sits at x = c * spacing_ew, y = r * spacing_ns (row 0 south, column 0 west)
and is named like RESCO's grids: column letter(s) then row (A0, B0, ..., A1, ...). Every
junction has four arms; an arm on the edge of the grid is an entry link from a source and an
exit link to a sink. Traffic drives on the right: a vehicle arriving from the south (heading
north) turns right to the east and left to the west; U-turns are not modelled.

Link ids are `<from>_<to>` with the compass letter of the side for boundary ends (`W_A0`
enters A0 from the west, `A0_W` leaves it westwards); sources are `in_<side>_<junction>`,
sinks `out_<side>_<junction>`. Movements are named by the scenario's `from->to` rule.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

SIDES = ("N", "E", "S", "W")
_STEP = {"N": (1, 0), "S": (-1, 0), "E": (0, 1), "W": (0, -1)}
"""(row, column) step towards each side."""
_OPPOSITE = {"N": "S", "S": "N", "E": "W", "W": "E"}
_RIGHT_OF_ARRIVAL = {"S": "E", "N": "W", "W": "S", "E": "N"}
"""Traffic arriving from side s turns right towards this side (driving on the right)."""
_UNIT = {"N": (0.0, 1.0), "S": (0.0, -1.0), "E": (1.0, 0.0), "W": (-1.0, 0.0)}
KERB_OFFSET_M = 4.0
"""Sources and sinks of one arm are drawn side by side, this far apart (as in `simple`)."""


@dataclass(frozen=True)
class Road:
    """The roads of one axis (E-W rows or N-S columns)."""

    spacing_m: float
    entry_m: float
    lanes: int
    speed_kmh: float
    left: float
    right: float

    @property
    def through(self) -> float:
        return 1.0 - self.left - self.right


@dataclass(frozen=True)
class Movement:
    """A turning movement of the layout, before it becomes scenario data."""

    junction: str
    arrival: str
    """Side the traffic comes from."""
    turn: str
    """'through', 'left' or 'right'."""
    from_link: str
    to_link: str
    ratio: float

    @property
    def key(self) -> str:
        return f"{self.from_link}->{self.to_link}"


def column_name(c: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA (spreadsheet style)."""
    name = ""
    c += 1
    while c:
        c, rem = divmod(c - 1, 26)
        name = chr(ord("A") + rem) + name
    return name


def junction_name(r: int, c: int) -> str:
    return f"{column_name(c)}{r}"


def axis_of(side: str) -> str:
    return "ns" if side in ("N", "S") else "ew"


class GridLayout:
    """Nodes, links and movements of an R x C grid with roads `ew` (rows) and `ns` (columns)."""

    def __init__(self, rows: int, cols: int, ew: Road, ns: Road) -> None:
        self.rows, self.cols, self.ew, self.ns = rows, cols, ew, ns
        self.nodes: list[dict[str, Any]] = []
        self.links: list[dict[str, Any]] = []
        self.entries: dict[str, str] = {}
        """Source node -> the axis ('ew' or 'ns') of its road."""
        self.movements: list[Movement] = []
        self._arms: dict[tuple[str, str], tuple[str, str]] = {}
        """(junction, side) -> (link arriving from that side, link leaving towards it)."""
        self._build()

    def road(self, side: str) -> Road:
        return self.ns if axis_of(side) == "ns" else self.ew

    def position(self, r: int, c: int) -> tuple[float, float]:
        return c * self.ew.spacing_m, r * self.ns.spacing_m

    def _link(self, lid: str, a: str, b: str, road: Road, length: float) -> None:
        self.links.append({"id": lid, "from": a, "to": b, "length_m": length,
                           "lanes": road.lanes, "speed_limit_kmh": road.speed_kmh})

    def _build(self) -> None:
        for r in range(self.rows):
            for c in range(self.cols):
                x, y = self.position(r, c)
                self.nodes.append({"id": junction_name(r, c), "kind": "junction",
                                   "x_m": x, "y_m": y})
        for r in range(self.rows):
            for c in range(self.cols):
                here = junction_name(r, c)
                x, y = self.position(r, c)
                for side in SIDES:
                    dr, dc = _STEP[side]
                    road = self.road(side)
                    if 0 <= r + dr < self.rows and 0 <= c + dc < self.cols:
                        there = junction_name(r + dr, c + dc)
                        # The link from the neighbour arrives here from `side`.
                        self._link(f"{there}_{here}", there, here, road, road.spacing_m)
                        self._arms[(here, side)] = (f"{there}_{here}", f"{here}_{there}")
                        continue
                    self._boundary(here, side, x, y, road)
        for r in range(self.rows):
            for c in range(self.cols):
                self._junction_movements(junction_name(r, c))
        self._by_approach: dict[tuple[str, str], list[Movement]] = {}
        for m in self.movements:
            self._by_approach.setdefault((m.junction, m.arrival), []).append(m)

    def _boundary(self, here: str, side: str, x: float, y: float, road: Road) -> None:
        ux, uy = _UNIT[side]
        bx, by = x + ux * road.entry_m, y + uy * road.entry_m
        # Inbound traffic heads -u; its right-hand side is (-uy, ux) rotated: (hy, -hx).
        hx, hy = -ux, -uy
        rx, ry = hy, -hx
        src, snk = f"in_{side}_{here}", f"out_{side}_{here}"
        self.nodes.append({"id": src, "kind": "source", "x_m": bx + KERB_OFFSET_M * rx,
                           "y_m": by + KERB_OFFSET_M * ry})
        self.nodes.append({"id": snk, "kind": "sink", "x_m": bx - KERB_OFFSET_M * rx,
                           "y_m": by - KERB_OFFSET_M * ry})
        self._link(f"{side}_{here}", src, here, road, road.entry_m)
        self._link(f"{here}_{side}", here, snk, road, road.entry_m)
        self._arms[(here, side)] = (f"{side}_{here}", f"{here}_{side}")
        self.entries[src] = axis_of(side)

    def _junction_movements(self, here: str) -> None:
        for arrival in SIDES:
            inbound, _ = self._arms[(here, arrival)]
            road = self.road(arrival)
            right = _RIGHT_OF_ARRIVAL[arrival]
            targets = (("through", _OPPOSITE[arrival], road.through),
                       ("right", right, road.right), ("left", _OPPOSITE[right], road.left))
            for turn, side, ratio in targets:
                if ratio <= 0.0:
                    continue
                _, outbound = self._arms[(here, side)]
                self.movements.append(Movement(here, arrival, turn, inbound, outbound, ratio))

    def opposing(self, m: Movement) -> list[Movement]:
        """The movements a left turn `m` must find gaps in: the opposing approach's through
        and right turns (HCM's opposing flow)."""
        group = self._by_approach.get((m.junction, _OPPOSITE[m.arrival]), [])
        return [o for o in group if o.turn in ("through", "right")]

    def inbound(self, junction: str, side: str) -> str:
        return self._arms[(junction, side)][0]

    def eastbound(self, row: int) -> list[str]:
        """Links of E-W road `row` in eastbound driving order, entry to exit."""
        names = [junction_name(row, c) for c in range(self.cols)]
        return ([self.inbound(names[0], "W")]
                + [f"{a}_{b}" for a, b in itertools.pairwise(names)]
                + [self._arms[(names[-1], "E")][1]])
