"""Jitted read-outs of the state in physical units (speeds, queues) for decision-time use."""

from __future__ import annotations

from sim.flux import K_PCE, class_pressure
from sim.jit import kernel
from sim.stepper import marker, occupancy


@kernel
def cell_speeds(rho, y, cell_vmax, cell_jam, classp, occ, out):
    """Speed of each class in each cell, m/s (a class absent from a cell gets the speed it
    would have there: v_max - P(r)); `occ` receives the occupancy."""
    occupancy(rho, classp[K_PCE], occ)
    for i in range(rho.shape[0]):
        for c in range(rho.shape[1]):
            vm = cell_vmax[i, c]
            w = marker(rho[i, c], y[i, c], vm)
            out[i, c] = max(w - class_pressure(occ[c], vm, cell_jam[i, c], classp, i), 0.0)


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
