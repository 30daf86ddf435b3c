"""Jitted read-outs of the state in physical units for decision-time use (queues: `sim.queues`)."""

from __future__ import annotations

from sim.flux import K_DROP, K_GAMMA, K_LAW, K_PCE, K_WAVE, POWER, TRIANGULAR, pressure
from sim.jit import inline_kernel, kernel
from sim.stepper import marker, occupancy


@inline_kernel
def _speeds_class(i, rho, y, cell_vmax, cell_jam, occ, out, law, g, cw, dl):
    for c in range(rho.shape[1]):
        vm = cell_vmax[i, c]
        w = marker(rho[i, c], y[i, c], vm)
        out[i, c] = max(w - pressure(occ[c], vm, cell_jam[i, c], law, g, cw, dl), 0.0)


@kernel
def cell_speeds(rho, y, cell_vmax, cell_jam, classp, occ, out):
    """Speed of each class in each cell, m/s (a class absent from a cell gets the speed it
    would have there: v_max - P(r)); `occ` receives the occupancy. Written like the
    stepper's cell pass (one vectorised loop per class and law)."""
    occupancy(rho, classp[K_PCE], occ)
    for i in range(rho.shape[0]):
        g = classp[K_GAMMA, i]
        cw = classp[K_WAVE, i]
        dl = classp[K_DROP, i]
        if classp[K_LAW, i] == TRIANGULAR:
            _speeds_class(i, rho, y, cell_vmax, cell_jam, occ, out, TRIANGULAR, 1.0, cw, dl)
        elif g == 1.0:
            _speeds_class(i, rho, y, cell_vmax, cell_jam, occ, out, POWER, 1.0, cw, dl)
        elif g == 2.0:
            _speeds_class(i, rho, y, cell_vmax, cell_jam, occ, out, POWER, 2.0, cw, dl)
        else:
            _speeds_class(i, rho, y, cell_vmax, cell_jam, occ, out, POWER, g, cw, dl)
