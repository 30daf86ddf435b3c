"""Widgets shared by the run dashboard and the results browser."""

from arz_tui.tui.widgets.heatmap import Heatmap
from arz_tui.tui.widgets.plots import Line, SeriesPlot

__all__ = ["Heatmap", "Line", "SeriesPlot"]
