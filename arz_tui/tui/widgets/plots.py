"""Line plots of run series (textual-plotext), down-sampled to the widget's width."""

from __future__ import annotations

from dataclasses import dataclass

from textual_plotext import PlotextPlot

from arz_tui.training.monitor import Series


@dataclass(frozen=True)
class Line:
    """One line of a plot."""

    label: str
    series: Series
    color: str = "cyan"


class SeriesPlot(PlotextPlot):
    """A titled plot of Series, with optional horizontal reference lines (a baseline).

    `set_lines` stores what to draw; the plot is rebuilt when Textual renders it, so callers
    redraw at their own pace (the run screen's timer, at most 10 Hz)."""

    DEFAULT_CSS = """
    SeriesPlot { height: 1fr; min-height: 8; }
    """

    def __init__(self, title: str, xlabel: str = "step", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = title
        self.xlabel = xlabel
        self._lines: list[Line] = []
        self._refs: list[tuple[str, float, str]] = []

    def set_lines(self, lines: list[Line],
                  references: list[tuple[str, float, str]] | None = None) -> None:
        """Lines to draw and (label, y, color) horizontal references."""
        self._lines = lines
        self._refs = references or []
        self.refresh()

    @property
    def points(self) -> int:
        """Points currently held by the plot's lines (tests look at this)."""
        return sum(len(line.series) for line in self._lines)

    def render(self):  # Textual's RenderResult
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.title)
        plt.xlabel(self.xlabel)
        width = max(self.size.width - 8, 10)
        xs_all: list[float] = []
        for line in self._lines:
            xs, ys = line.series.downsampled(width)
            if xs:
                plt.plot(xs, ys, label=line.label, color=line.color, marker="braille")
                xs_all.extend((xs[0], xs[-1]))
        for label, y, color in self._refs:
            if y is None:
                continue
            if xs_all:
                plt.plot([min(xs_all), max(xs_all)], [y, y], label=label, color=color,
                         marker="braille")
            else:
                plt.hline(y, color)
        return super().render()
