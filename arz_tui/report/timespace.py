"""The report's time-space figure: RL and fixed time side by side for each reported run
group (its first run's last evaluation episode), on physical axes with the junctions marked
and a colour bar in vehicles/km/lane."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from arz_tui.env.corridor import JAM, UNIT, CorridorAxis, corridor_axis
from arz_tui.runstore import RunLayout
from arz_tui.runstore.reader import read_timespace

if TYPE_CHECKING:
    from arz_tui.report.evaluate import PolicyGroup

CONTROLLERS = (("rl", "RL (DQN)"), ("fixed_time", "fixed time"))
FILE = "timespace.png"


@dataclass(frozen=True)
class Diagrams:
    """One row of the figure: a group's two diagrams (either may be missing)."""

    label: str
    run: str
    arrays: dict[str, np.ndarray | None]
    axis: CorridorAxis | None


def read_diagrams(groups: list[PolicyGroup]) -> list[Diagrams]:
    """The saved diagrams of each group's first run; groups without any are left out."""
    rows = []
    for group in groups:
        if not group.runs:
            continue
        run = group.runs[0]
        lay = RunLayout(run)
        arrays = {c: read_timespace(lay.timespace(c), run.parent) for c, _ in CONTROLLERS}
        if all(a is None for a in arrays.values()):
            continue
        scenario = group.env.get("scenario")
        axis = corridor_axis(scenario) if isinstance(scenario, str) and scenario else None
        rows.append(Diagrams(group.label, run.name, arrays, axis))
    return rows


def _edges(data: np.ndarray, axis: CorridorAxis | None) -> tuple[np.ndarray, str,
                                                                   np.ndarray, str]:
    """(distance edges, label, time edges, label): physical units when the scenario's axis
    matches the array, cell and row indices otherwise (never a mislabelled axis)."""
    rows, cells = data.shape
    if axis is not None and axis.n_cells == cells:
        x, x_label = axis.cell_edges_m / 1000.0, "distance along the corridor (km)"
    else:
        x, x_label = np.arange(cells + 1, dtype=float), "cell"
    if axis is not None and axis.duration_s:
        t, t_label = np.linspace(0.0, axis.duration_s / 60.0, rows + 1), "time (min)"
    else:
        t, t_label = np.arange(rows + 1, dtype=float), "decision step"
    return x, x_label, t, t_label


def plot_timespace(diagrams: list[Diagrams], out: Path) -> str | None:
    """Write timespace.png into `out`; returns its name, or None when there is nothing."""
    if not diagrams:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(diagrams), 2, figsize=(11, 3.8 * len(diagrams)),
                             squeeze=False, layout="constrained")
    mesh = None
    for row, diag in zip(axes, diagrams, strict=True):
        for ax, (controller, title) in zip(row, CONTROLLERS, strict=True):
            data = diag.arrays.get(controller)
            ax.set_title(f"{diag.label}: {title}" + (f" ({diag.run})"
                                                      if diag.run != diag.label else ""),
                         fontsize=9, pad=14)  # room for the junction names
            if data is None:
                ax.text(0.5, 0.5, "no diagram saved", ha="center", va="center",
                        transform=ax.transAxes)
                ax.set_axis_off()
                continue
            x, x_label, t, t_label = _edges(data, diag.axis)
            mesh = ax.pcolormesh(x, t, data, cmap="RdYlGn_r", vmin=0.0, vmax=JAM,
                                 shading="flat")
            ax.invert_yaxis()  # time runs down, as in the TUI's diagrams
            ax.set_xlabel(x_label)
            ax.set_ylabel(t_label)
            if diag.axis is not None and x_label != "cell":
                for pos, node, signalised in diag.axis.junctions:
                    ax.axvline(pos / 1000.0, color="black" if signalised else "grey",
                               linestyle="-" if signalised else "--", linewidth=0.8)
                    ax.text(pos / 1000.0, 1.01, node + (" (signal)" if signalised else ""),
                            transform=ax.get_xaxis_transform(), ha="center", va="bottom",
                            fontsize=7)
    if mesh is not None:
        fig.colorbar(mesh, ax=axes, label=f"occupancy ({UNIT}; {JAM:g} = jam)",
                     shrink=0.9)
    fig.suptitle("Time-space diagrams: first evaluation episode", fontsize=10)
    fig.savefig(out / FILE, dpi=110)
    plt.close(fig)
    return FILE
