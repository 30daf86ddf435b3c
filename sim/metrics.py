"""Jitted read-outs of the state in physical units (speeds, queues) for decision-time use."""

from __future__ import annotations

from sim.flux import pressure
from sim.jit import kernel
from sim.stepper import RHO_EPS


@kernel
def cell_speeds(rho, y, cell_vmax, cell_jam, gamma, pce, out):
    """Speed of each class in each cell, m/s (a class absent from a cell gets the speed it
    would have there: v_max - P(r))."""
    nc, n = rho.shape
    for c in range(n):
        r = 0.0
        for i in range(nc):
            r += pce[i] * rho[i, c]
        for i in range(nc):
            rc = rho[i, c]
            w = y[i, c] / rc if rc > RHO_EPS else cell_vmax[i, c]
            v = w - pressure(r, cell_vmax[i, c], cell_jam[i, c], gamma[i])
            out[i, c] = v if v > 0.0 else 0.0


@kernel
def link_queues(link_c0, link_n, link_dx, rho, speed, queue_speed, min_density, out_veh,
                out_len):
    """Vehicles and metres of queue on each link: cells whose space-mean speed is below
    `queue_speed` while holding more than `min_density` veh/m."""
    nc = rho.shape[0]
    for k in range(link_c0.shape[0]):
        veh = 0.0
        cells = 0
        for c in range(link_c0[k], link_c0[k] + link_n[k]):
            dens = 0.0
            flow = 0.0
            for i in range(nc):
                dens += rho[i, c]
                flow += rho[i, c] * speed[i, c]
            if dens > min_density and flow < queue_speed * dens:
                veh += dens
                cells += 1
        out_veh[k] = veh * link_dx[k]
        out_len[k] = cells * link_dx[k]
