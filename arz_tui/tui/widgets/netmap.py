"""A network map: every link drawn from its nodes' coordinates with braille dots, coloured by
its occupancy (vehicles / storage; the time-space diagram's colours), signals marked.

Braille characters give 2 x 4 dots per terminal cell, so a 16-signal grid stays legible in
60 x 20 cells. The two directions of a road are drawn side by side (each shifted to its
right, as traffic drives), so an inbound queue and a free outbound link show apart. Where
links share a cell, the fuller one sets the colour: a jam is never hidden by a free link.

`MapGeometry.from_scenario` / `from_header` take the node coordinates (`x_m`, `y_m`: generated
grids and arterials and SUMO imports have them) and place nodes without coordinates on a
circle. `NetworkMap.set_occupancy` takes one value per link (0 free .. 1 full): a frame of
the run's map stream (runstore.netstate), live in the dashboard or replayed in the browser.
`MapPane` is the map with its per-signal queue table, as both screens show it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import DataTable, Static

from arz_tui.tui.widgets.heatmap import colour

if TYPE_CHECKING:
    from arz_tui.runstore.netstate import NetFrame, NetHeader
    from sim.scenario import Scenario

# Braille dot bits by (column, row) within a cell (Unicode 2800 block).
_DOT = np.array([[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]], dtype=np.int64)
_SIGNAL = "◆"


@dataclass(frozen=True)
class MapGeometry:
    """Node positions (m) and the links between them, in the compiled network's link order."""

    node_ids: tuple[str, ...]
    xy: np.ndarray
    """(nodes, 2) positions, m, y upwards."""
    link_ends: np.ndarray
    """(links, 2) node indices: from, to."""
    signal_nodes: tuple[int, ...]
    """Indices of the signalised nodes."""

    @classmethod
    def build(cls, nodes: list[tuple[str, float | None, float | None]],
              link_ends: list[tuple[int, int]], signal_nodes: list[int]) -> MapGeometry:
        """From nodes (id, x, y; None where unknown), link end indices and signal nodes."""
        xy = np.zeros((len(nodes), 2))
        missing = []
        for i, (_, x, y) in enumerate(nodes):
            if x is None or y is None:
                missing.append(i)
            else:
                xy[i] = (x, y)
        if missing:
            # No coordinates: a circle around the placed nodes (or the origin) keeps links
            # distinguishable without pretending to know the geometry.
            placed = [i for i in range(len(nodes)) if i not in missing]
            centre = xy[placed].mean(axis=0) if placed else np.zeros(2)
            span = np.ptp(xy[placed], axis=0).max() if len(placed) > 1 else 1000.0
            for k, i in enumerate(missing):
                a = 2 * math.pi * k / len(missing)
                xy[i] = centre + 0.5 * max(span, 1.0) * np.array([math.cos(a), math.sin(a)])
        ends = np.array(link_ends, dtype=np.int64).reshape(-1, 2)
        return cls(tuple(n for n, _, _ in nodes), xy, ends, tuple(signal_nodes))

    @classmethod
    def from_scenario(cls, scenario: Scenario, link_ids: tuple[str, ...] | None = None
                      ) -> MapGeometry:
        """The scenario's drawing; `link_ids` orders the links as the compiled network does
        (default: the scenario's order)."""
        index = {n.id: i for i, n in enumerate(scenario.nodes)}
        by_id = {lk.id: lk for lk in scenario.links}
        order = link_ids if link_ids is not None else tuple(by_id)
        return cls.build([(n.id, n.x_m, n.y_m) for n in scenario.nodes],
                         [(index[by_id[k].from_node], index[by_id[k].to_node]) for k in order],
                         [index[s.node] for s in scenario.signals if s.node in index])

    @classmethod
    def from_header(cls, header: NetHeader) -> MapGeometry:
        """The drawing a recorded stream carries (runstore.netstate)."""
        return cls.build([(n.id, n.x_m, n.y_m) for n in header.nodes], header.link_ends,
                         header.signal_nodes)


def rasterise(geometry: MapGeometry, occupancy: np.ndarray | None, cols: int, rows: int
              ) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """(braille bits per cell, occupancy per cell (-1: empty), signal cells) of the map
    drawn in cols x rows terminal cells, aspect kept (a cell is about twice as tall as
    wide, a braille dot square)."""
    bits = np.zeros((rows, cols), dtype=np.int64)
    value = np.full((rows, cols), -1.0)
    if cols < 1 or rows < 1 or len(geometry.link_ends) == 0:
        return bits, value, []
    width, height = 2 * cols, 4 * rows
    lo = geometry.xy.min(axis=0)
    span = np.maximum(np.ptp(geometry.xy, axis=0), 1e-9)
    scale = min((width - 3) / span[0] if span[0] > 1e-6 else math.inf,
                (height - 3) / span[1] if span[1] > 1e-6 else math.inf)
    if not math.isfinite(scale):
        scale = 1.0
    used = span * scale
    offset = (np.array([width, height]) - 1 - used) / 2
    dots = (geometry.xy - lo) * scale + offset
    dots[:, 1] = height - 1 - dots[:, 1]  # y upwards on the map, down on the screen
    occ = np.zeros(len(geometry.link_ends)) if occupancy is None else np.asarray(occupancy)
    for k, (a, b) in enumerate(geometry.link_ends):
        p, q = dots[a], dots[b]
        d = q - p
        length = float(np.hypot(*d))
        if length < 1e-9:
            continue
        # Shift each direction one dot to its right (screen y points down).
        right = np.array([-d[1], d[0]]) / length
        p, q = p + right, q + right
        n = max(int(length) + 1, 2)
        t = np.linspace(0.12, 0.88, n)  # leave the junctions themselves free
        xs = np.clip(np.rint(p[0] + t * d[0]).astype(np.int64), 0, width - 1)
        ys = np.clip(np.rint(p[1] + t * d[1]).astype(np.int64), 0, height - 1)
        cx, cy = xs // 2, ys // 4
        np.bitwise_or.at(bits, (cy, cx), _DOT[xs % 2, ys % 4])
        np.maximum.at(value, (cy, cx), float(np.clip(occ[k], 0.0, 1.0)))
    signals = []
    for i in geometry.signal_nodes:
        x, y = dots[i]
        signals.append((int(np.clip(y // 4, 0, rows - 1)), int(np.clip(x // 2, 0, cols - 1))))
    return bits, value, signals


class NetworkMap(Widget):
    """The map of a network, redrawn when `set_occupancy` gives new link occupancies."""

    DEFAULT_CSS = """
    NetworkMap { height: 1fr; min-height: 8; }
    """

    def __init__(self, geometry: MapGeometry | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.geometry = geometry
        self.occupancy: np.ndarray | None = None
        self._raster: tuple[np.ndarray, np.ndarray, dict[tuple[int, int], bool]] | None = None
        self._raster_size: tuple[int, int] = (0, 0)

    def set_geometry(self, geometry: MapGeometry | None) -> None:
        self.geometry = geometry
        self._raster = None
        self.refresh()

    def set_occupancy(self, occupancy: np.ndarray | None) -> None:
        """One value per link in [0, 1]; None draws every link free."""
        self.occupancy = None if occupancy is None else np.asarray(occupancy, dtype=np.float64)
        self._raster = None
        self.refresh()

    def _cells(self) -> tuple[np.ndarray, np.ndarray, dict[tuple[int, int], bool]] | None:
        if self.geometry is None:
            return None
        size = (self.size.width, self.size.height)
        if self._raster is None or self._raster_size != size:
            bits, value, signals = rasterise(self.geometry, self.occupancy, *size)
            self._raster = (bits, value, dict.fromkeys(signals, True))
            self._raster_size = size
        return self._raster

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        cells = self._cells()
        if cells is None:
            text = "no network" if y == 0 else ""
            return Strip([Segment(text.ljust(width)[:width])])
        bits, value, signals = cells
        if y >= bits.shape[0]:
            return Strip.blank(width)
        segments = []
        for x in range(bits.shape[1]):
            if (y, x) in signals:
                segments.append(Segment(_SIGNAL, Style(color="white", bold=True)))
            elif bits[y, x]:
                segments.append(Segment(chr(0x2800 + int(bits[y, x])),
                                        Style(color=colour(value[y, x]))))
            else:
                segments.append(Segment(" "))
        return Strip(segments, width)


def signal_queue_rows(header: NetHeader, frame: NetFrame) -> list[tuple[str, str, float]]:
    """(signal node, phase shown, queued vehicles on its approaches) per signal, the fullest
    first: the per-signal queue table."""
    rows = [(sig.node, sig.phases[p], q)
            for sig, p, q in zip(header.signals, frame.phase, frame.queue_veh, strict=True)]
    return sorted(rows, key=lambda r: -r[2])


class MapPane(Vertical):
    """A caption, the network map and the per-signal queue table beside it; or one line
    saying why there is nothing to show."""

    DEFAULT_CSS = """
    MapPane { height: 1fr; }
    MapPane > .map-caption { height: auto; padding: 0 1; }
    MapPane > Horizontal { height: 1fr; }
    MapPane NetworkMap { width: 1fr; min-height: 4; }
    MapPane DataTable { width: 34; height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.header: NetHeader | None = None
        self.frame: NetFrame | None = None

    def compose(self) -> ComposeResult:
        yield Static("no network map yet", classes="map-caption")
        with Horizontal():
            yield NetworkMap()
            yield DataTable(cursor_type="none", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("signal", "phase", "queue")

    def show(self, header: NetHeader, frame: NetFrame | None, caption: str) -> None:
        """Draw `frame` of `header`'s network (None: the network, all links free)."""
        widget = self.query_one(NetworkMap)
        if header is not self.header:
            self.header = header
            widget.set_geometry(MapGeometry.from_header(header))
        self.frame = frame
        widget.set_occupancy(frame.occupancy_fraction() if frame is not None else None)
        table = self.query_one(DataTable)
        table.clear()
        if frame is not None:
            # Strings from disk as plain text: an id with markup must not style the table.
            table.add_rows((Text(node[:12]), Text(phase[:12]), f"{queue:.1f}")
                           for node, phase, queue in signal_queue_rows(header, frame))
        self.caption(caption)

    def caption(self, text: str) -> None:
        self.query_one(".map-caption", Static).update(Text(text))

    def message(self, text: str) -> None:
        """Nothing to draw: say why, in one line."""
        self.header = self.frame = None
        self.query_one(NetworkMap).set_geometry(None)
        self.query_one(DataTable).clear()
        self.caption(text)
