"""A time-space diagram: occupancy along the corridor (across) against time (down), as colours,
with a time axis (minutes), a distance axis (m) with the junctions marked, and a colour scale.

This is the picture traffic engineers read first: queues show as dark bands that grow
upstream from a stop line, and shock waves as their edges. Each character draws two time
rows with a half block (upper half foreground, lower half background). Columns are placed by
distance along the corridor, so links of different cell sizes keep their true proportions.
"""

from __future__ import annotations

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from arz_tui.env.corridor import JAM, UNIT, CorridorAxis, corridor_axis

# Free (green) -> dense (yellow, orange) -> jam (dark red), as in traffic speed maps.
_STOPS = np.array([
    [0.00, 26, 152, 80],
    [0.35, 145, 207, 96],
    [0.55, 254, 224, 139],
    [0.75, 252, 141, 89],
    [1.00, 128, 0, 38],
])
__all__ = ["JAM", "UNIT", "ColourScale", "CorridorAxis", "Heatmap", "colour", "corridor_axis",
           "resample"]
GUTTER = 6
"""Columns left of the diagram for the time labels."""


def colour(value: float) -> Color:
    """Colour of a value in [0, 1]."""
    v = min(max(float(value), 0.0), 1.0)
    k = int(np.searchsorted(_STOPS[:, 0], v, side="right")) - 1
    k = min(max(k, 0), len(_STOPS) - 2)
    lo, hi = _STOPS[k], _STOPS[k + 1]
    a = (v - lo[0]) / (hi[0] - lo[0])
    rgb = lo[1:] + a * (hi[1:] - lo[1:])
    return Color.from_rgb(*(int(c + 0.5) for c in rgb))


def resample(data: np.ndarray, rows: int, cols: int,
             col_edges: np.ndarray | None = None) -> np.ndarray:
    """Block means of a (time, space) array onto a rows x cols grid (nearest for growth).

    `col_edges` (cols + 1 cell indices) places columns by distance; default: evenly."""
    t, x = data.shape
    r_edges = np.linspace(0, t, rows + 1)
    c_edges = np.linspace(0, x, cols + 1) if col_edges is None else np.asarray(col_edges, float)
    out = np.zeros((rows, cols))
    for i in range(rows):
        r0 = min(int(r_edges[i]), t - 1)
        r1 = max(int(r_edges[i + 1]), r0 + 1)
        block = data[r0:r1]
        for j in range(cols):
            c0 = min(int(c_edges[j]), x - 1)
            c1 = max(int(c_edges[j + 1]), c0 + 1)
            out[i, j] = block[:, c0:c1].mean()
    return out


def _place(line: list[str], text: str, at: int) -> None:
    """Write `text` into `line` centred on column `at` if it fits without overwriting."""
    start = min(max(at - len(text) // 2, 0), len(line) - len(text))
    if start < 0 or any(c != " " for c in line[max(start - 1, 0):start + len(text) + 1]):
        return
    line[start:start + len(text)] = list(text)


def _distance(m: float) -> str:
    return f"{m / 1000:g} km" if m >= 1000 else f"{m:.0f} m"


class Heatmap(Widget):
    """Renders a (time, space) array; `vmax` is the value drawn darkest (jam occupancy)."""

    DEFAULT_CSS = """
    Heatmap { height: 1fr; min-height: 8; }
    """

    def __init__(self, title: str = "", vmax: float = JAM, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = title
        self.vmax = vmax
        self.data: np.ndarray | None = None
        self.axis: CorridorAxis | None = None
        self._grid: np.ndarray | None = None
        self._grid_size: tuple[int, int] = (0, 0)

    def set_data(self, data: np.ndarray | None, axis: CorridorAxis | None = None) -> None:
        self.data = data if data is not None and data.ndim == 2 and data.size else None
        # An axis that does not describe these columns (another scenario version) is dropped.
        self.axis = axis if axis is not None and self.data is not None and \
            axis.n_cells == self.data.shape[1] else None
        self._grid = None
        self.refresh()

    @property
    def seconds_per_row(self) -> float | None:
        if self.data is None or self.axis is None or self.axis.duration_s is None:
            return None
        return self.axis.duration_s / self.data.shape[0]

    def _col_edges(self, cols: int) -> np.ndarray | None:
        if self.axis is None:
            return None
        positions = np.linspace(0.0, self.axis.length_m, cols + 1)
        return np.searchsorted(self.axis.cell_edges_m, positions, side="right") - 1.0

    def _cells(self, rows: int, cols: int) -> np.ndarray:
        """The data resampled to the widget, computed once per data and size."""
        if self._grid is None or self._grid_size != (rows, cols):
            self._grid = resample(self.data / self.vmax, rows, cols, self._col_edges(cols))
            self._grid_size = (rows, cols)
        return self._grid

    # rows: title, body (height - 3), junction marks, distance labels
    def render_line(self, y: int) -> Strip:
        width, height = self.size.width, self.size.height
        if y == 0:
            label = f" {self.title}" + ("" if self.data is not None
                                        else "  (no evaluation yet)")
            return Strip([Segment(label[:width].ljust(width), Style(bold=True))])
        cols = width - GUTTER
        body = height - 3
        if self.data is None or body < 1 or cols < 4:
            return Strip.blank(width)
        dim = Style(dim=True)
        if y <= body:
            grid = self._cells(2 * body, cols)
            top, bottom = grid[2 * (y - 1)], grid[2 * (y - 1) + 1]
            segments = [Segment(self._time_label(y - 1, body), dim)]
            segments += [Segment("▀", Style(color=colour(a), bgcolor=colour(b)))
                         for a, b in zip(top, bottom, strict=True)]
            return Strip(segments)
        if y == body + 1:
            return Strip([Segment(self._junction_row(cols), dim)])
        return Strip([Segment(self._distance_row(cols), dim)])

    def _time_label(self, row: int, body: int) -> str:
        """Minutes at the top of a body row, every few rows; the unit on the first."""
        assert self.data is not None
        step = max(body // 5, 2)
        if row % step:
            return " " * (GUTTER - 1) + "│"
        t_rows = self.data.shape[0] * row / body  # data rows above this text row
        spr = self.seconds_per_row
        text = f"{t_rows * spr / 60:.0f}m" if spr else f"{t_rows:.0f}"
        return text.rjust(GUTTER - 1)[: GUTTER - 1] + "┤"

    def _junction_row(self, cols: int) -> str:
        line = ["─"] * cols
        if self.axis is not None:
            for pos, _node, signalised in self.axis.junctions:
                col = min(int(pos / self.axis.length_m * cols), cols - 1)
                line[col] = "╂" if signalised else "┼"
        unit = "min" if self.seconds_per_row else "step"
        return unit.rjust(GUTTER - 1)[: GUTTER - 1] + "└" + "".join(line)

    def _distance_row(self, cols: int) -> str:
        line = [" "] * cols
        if self.axis is None:
            text = "distance →"
            return " " * GUTTER + text[:cols]
        length = self.axis.length_m
        _place(line, "0", 0)
        end = _distance(length)
        line[cols - len(end):] = list(end)
        for pos, node, _signalised in self.axis.junctions:
            _place(line, node, min(int(pos / length * cols), cols - 1))
        return " " * GUTTER + "".join(line)


class ColourScale(Widget):
    """One line: the diagrams' colour scale in physical units."""

    DEFAULT_CSS = """
    ColourScale { height: 1; }
    """

    def __init__(self, vmax: float = JAM, unit: str = UNIT, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.vmax = vmax
        self.unit = unit

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        head = " occupancy 0 "
        tail = f" {self.vmax:.0f} {self.unit} (jam)  ╂ signal ┼ junction"
        n = max(width - len(head) - len(tail), 4)
        bar = [Segment(" ", Style(bgcolor=colour(k / max(n - 1, 1)))) for k in range(n)]
        return Strip([Segment(head), *bar, Segment(tail)]).crop(0, width)
