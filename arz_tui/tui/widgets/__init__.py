"""Widgets shared by the run dashboard and the results browser."""

from arz_tui.tui.widgets.heatmap import ColourScale, CorridorAxis, Heatmap, corridor_axis
from arz_tui.tui.widgets.plots import Line, SeriesPlot

__all__ = ["ColourScale", "CorridorAxis", "Heatmap", "Line", "SeriesPlot", "corridor_axis"]
