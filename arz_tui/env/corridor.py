"""Where a corridor's time-space diagram cells lie: distances along the corridor and its
junctions. Shared by the TUI's diagrams and the report's PNG (one reading of the scenario)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenario import Scenario, ScenarioError, load_scenario

UNIT = "veh/km/lane"
"""The diagrams' values: occupancy in car equivalents per km and lane."""
JAM = 202.5
"""Drawn darkest: the default scenarios' jam occupancy (car equivalents per km and lane)."""


@dataclass(frozen=True)
class CorridorAxis:
    """Where the diagram's cells lie along the corridor, and its junctions."""

    cell_edges_m: np.ndarray
    """n_cells + 1 positions, m, from the corridor's upstream end."""
    junctions: tuple[tuple[float, str, bool], ...] = ()
    """(position m, node id, signalised) of each junction between corridor links."""
    duration_s: float | None = None
    """An episode's simulated length (the diagram covers one evaluation episode)."""

    @property
    def length_m(self) -> float:
        return float(self.cell_edges_m[-1])

    @property
    def n_cells(self) -> int:
        return len(self.cell_edges_m) - 1

    @classmethod
    def from_scenario(cls, scn: Scenario) -> CorridorAxis | None:
        links = {lk.id: lk for lk in scn.links}
        kinds = {n.id: n.kind for n in scn.nodes}
        signalised = {s.node for s in scn.signals}
        if not scn.corridor:
            return None
        edges = [0.0]
        junctions = []
        for k, link_id in enumerate(scn.corridor):
            link = links[link_id]
            # The simulator's rule for a link's cell count (sim.network.compile_network).
            n = link.cells or max(1, round(link.length_m / scn.numerics.cell_length_m))
            start = edges[-1]
            edges += list(start + link.length_m * np.arange(1, n + 1) / n)
            node = link.to_node
            if k < len(scn.corridor) - 1 and kinds.get(node) == "junction":
                junctions.append((edges[-1], node, node in signalised))
        return cls(np.array(edges), tuple(junctions), scn.duration_s)


def corridor_axis(scenario: str) -> CorridorAxis | None:
    """The axis of a scenario (name or file), or None when it cannot be read."""
    try:
        return CorridorAxis.from_scenario(load_scenario(scenario))
    except (ScenarioError, OSError, ValueError):
        return None


