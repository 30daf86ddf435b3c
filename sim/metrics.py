"""Jitted read-outs of the state in physical units for decision-time use (queues: `sim.queues`)."""

from __future__ import annotations

from sim.flux import pressure
from sim.jit import inline_kernel, kernel
from sim.stepper import marker, occupancy


@inline_kernel
def _speeds_class(i, rho, y, cell_vmax, cell_jam, occ, out, g):
    for c in range(rho.shape[1]):
        vm = cell_vmax[i, c]
        w = marker(rho[i, c], y[i, c], vm)
        out[i, c] = max(w - pressure(occ[c], vm, cell_jam[i, c], g), 0.0)


@kernel
def cell_speeds(rho, y, cell_vmax, cell_jam, gamma, pce, occ, out):
    """Speed of each class in each cell, m/s (a class absent from a cell gets the speed it
    would have there: v_max - P(r)); `occ` receives the occupancy. Written like the
    stepper's cell pass (one vectorised loop per class and exponent)."""
    occupancy(rho, pce, occ)
    for i in range(rho.shape[0]):
        g = gamma[i]
        if g == 1.0:
            _speeds_class(i, rho, y, cell_vmax, cell_jam, occ, out, 1.0)
        elif g == 2.0:
            _speeds_class(i, rho, y, cell_vmax, cell_jam, occ, out, 2.0)
        else:
            _speeds_class(i, rho, y, cell_vmax, cell_jam, occ, out, g)
