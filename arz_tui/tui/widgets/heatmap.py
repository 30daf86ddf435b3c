"""A time-space diagram: occupancy along the corridor (x) against time (y), as colours.

This is the picture traffic engineers read first: queues show as dark bands that grow
upstream from a stop line, and shock waves as their edges. Each character draws two time
rows with a half block (upper half foreground, lower half background)."""

from __future__ import annotations

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

# Free (green) -> dense (yellow, orange) -> jam (dark red), as in traffic speed maps.
_STOPS = np.array([
    [0.00, 26, 152, 80],
    [0.35, 145, 207, 96],
    [0.55, 254, 224, 139],
    [0.75, 252, 141, 89],
    [1.00, 128, 0, 38],
])


def colour(value: float) -> Color:
    """Colour of a value in [0, 1]."""
    v = min(max(float(value), 0.0), 1.0)
    k = int(np.searchsorted(_STOPS[:, 0], v, side="right")) - 1
    k = min(max(k, 0), len(_STOPS) - 2)
    lo, hi = _STOPS[k], _STOPS[k + 1]
    a = (v - lo[0]) / (hi[0] - lo[0])
    rgb = lo[1:] + a * (hi[1:] - lo[1:])
    return Color.from_rgb(*(int(c + 0.5) for c in rgb))


def resample(data: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Block means of a (time, space) array onto a rows x cols grid (nearest for growth)."""
    t, x = data.shape
    ri = np.minimum((np.arange(rows) * t) // rows, t - 1)
    ci = np.minimum((np.arange(cols) * x) // cols, x - 1)
    if t <= rows and x <= cols:
        return data[np.ix_(ri, ci)]
    r_edges = np.linspace(0, t, rows + 1).astype(int)
    c_edges = np.linspace(0, x, cols + 1).astype(int)
    out = np.zeros((rows, cols))
    for i in range(rows):
        r0, r1 = r_edges[i], max(r_edges[i + 1], r_edges[i] + 1)
        block = data[r0:r1]
        for j in range(cols):
            c0, c1 = c_edges[j], max(c_edges[j + 1], c_edges[j] + 1)
            out[i, j] = block[:, c0:c1].mean()
    return out


class Heatmap(Widget):
    """Renders a (time, space) array; `vmax` is the value drawn darkest (jam occupancy)."""

    DEFAULT_CSS = """
    Heatmap { height: 1fr; min-height: 6; }
    """

    def __init__(self, title: str = "", vmax: float = 202.5, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = title
        self.vmax = vmax
        self.data: np.ndarray | None = None
        self._grid: np.ndarray | None = None
        self._grid_size: tuple[int, int] = (0, 0)

    def set_data(self, data: np.ndarray | None) -> None:
        self.data = data if data is not None and data.ndim == 2 and data.size else None
        self._grid = None
        self.refresh()

    def _cells(self, rows: int, cols: int) -> np.ndarray:
        """The data resampled to the widget, computed once per data and size."""
        if self._grid is None or self._grid_size != (rows, cols):
            self._grid = resample(self.data / self.vmax, rows, cols)
            self._grid_size = (rows, cols)
        return self._grid

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        height = self.size.height
        if y == 0:
            label = f" {self.title} " + ("(time down, corridor across)" if self.data is not None
                                         else "(no evaluation yet)")
            return Strip([Segment(label[:width].ljust(width), Style(bold=True))])
        if self.data is None or height < 2 or width < 1:
            return Strip.blank(width)
        grid = self._cells(2 * (height - 1), width)
        top = grid[2 * (y - 1)]
        bottom = grid[2 * (y - 1) + 1]
        segments = [Segment("▀", Style(color=colour(a), bgcolor=colour(b)))
                    for a, b in zip(top, bottom, strict=True)]
        return Strip(segments)
