"""Jitted read-outs of the state in physical units for decision-time use (queues: `sim.queues`)."""

from __future__ import annotations

from sim.flux import K_LAW, K_PCE, POWER, TRIANGULAR, law_pressure
from sim.jit import inline_kernel, kernel
from sim.stepper import marker, occupancy


@inline_kernel
def _class_speeds(i, rho, y, cell_vmax, cell_jam, classp, occ, out, law):
    """Speeds of class i; inlined with a constant law, so the loop vectorises."""
    for c in range(rho.shape[1]):
        vm = cell_vmax[i, c]
        w = marker(rho[i, c], y[i, c], vm)
        out[i, c] = max(w - law_pressure(occ[c], vm, cell_jam[i, c], classp, i, law), 0.0)


@kernel
def cell_speeds(rho, y, cell_vmax, cell_jam, classp, occ, out):
    """Speed of each class in each cell, m/s (a class absent from a cell gets the speed it
    would have there: v_max - P(r)); `occ` receives the occupancy."""
    occupancy(rho, classp[K_PCE], occ)
    for i in range(rho.shape[0]):
        if classp[K_LAW, i] == TRIANGULAR:
            _class_speeds(i, rho, y, cell_vmax, cell_jam, classp, occ, out, TRIANGULAR)
        else:
            _class_speeds(i, rho, y, cell_vmax, cell_jam, classp, occ, out, POWER)
