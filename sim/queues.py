"""Queued vehicles per link and class, with a sub-cell estimate at the tail of each queue.

A vehicle is queued when it moves slower than the queue speed v_q (`numerics.queue_speed_kmh`;
SUMO's "halting" vehicles are the v_q = 0.1 m/s case). On a grid the queue's tail lies inside a
cell: behind a red, the last cell of an approach holds a few stopped vehicles at its downstream
end and free-flowing arrivals upstream of them, and its mean speed stays above v_q until it is
nearly full. Counting whole cells by their mean speed therefore loses up to a cell of queue (a
50 m cell holds 7.5 stopped cars), which is why a queue read-out "shrinks with the cell".

Here every cell counts in one of three ways:

* its mean speed (flow / density over classes) is below v_q: all its vehicles are queued;
* it is not slow itself but what lies downstream of it is (the next cell of the link is queued,
  or, for a link's last cell, its outflow moves slower than v_q: a red, or a full downstream
  link): it holds the tail of that queue. The cell is taken to be two states side by side
  (the shock that a queue's tail is): arrivals with the upstream state's occupancy r_u and the
  queue with the downstream occupancy r_q (the next cell's, or the jam occupancy at a stop
  line). Conservation of the cell's occupancy r gives the queued fraction of its length
  f = (r - r_u) / (r_q - r_u), clipped to [0, 1], and f * dx * (the queue's density) queued
  vehicles of each class (at most what the cell holds);
* otherwise none.

This is exact for a queue tail that is a sharp shock inside one cell (what Godunov's scheme
keeps of a slow shock), so the queue of a signal converges under grid refinement instead of
vanishing on coarse cells. `sim.stepper` accumulates it over every substep (time means), the
env and `Simulator.queues` read it at an instant.
"""

from __future__ import annotations

from sim.jit import kernel

MIN_DENSITY = 1e-4
"""veh/m: a cell holding less is empty for queue purposes (0.005 vehicles in a 50 m cell)."""


@kernel
def link_queues(link_c0, link_n, link_dx, cell_vmax, cell_jam, pce, rho, speed, occ, qf, qin,
                queue_speed, out_veh, out_len):
    """Queued vehicles of each class on each link (`out_veh`, class x link) and metres of
    queue on each link (`out_len`), from the densities `rho`, class speeds `speed`, occupancy
    `occ`, the flux out of every cell `qf` and into every link's first cell `qin` (veh/s, as
    the stepper's face arrays hold them). Cells are walked downstream to upstream, so the
    state of the next cell is known when a cell is classified."""
    nc = rho.shape[0]
    for k in range(link_c0.shape[0]):
        c0 = link_c0[k]
        last = c0 + link_n[k] - 1
        dx = link_dx[k]
        for i in range(nc):
            out_veh[i, k] = 0.0
        length = 0.0
        # Whether what lies downstream of the current cell is queued: for the last cell, its
        # outflow moving slower than v_q.
        dens = 0.0
        out = 0.0
        for i in range(nc):
            dens += rho[i, last]
            out += qf[i, last]
        below = out < queue_speed * dens
        for c in range(last, c0 - 1, -1):
            dens = 0.0
            flow = 0.0
            for i in range(nc):
                dens += rho[i, c]
                flow += rho[i, c] * speed[i, c]
            if dens <= MIN_DENSITY:
                below = False
                continue
            queued = flow < queue_speed * dens
            if queued:
                for i in range(nc):
                    out_veh[i, k] += rho[i, c] * dx
                length += dx
            elif below:
                r = occ[c]
                if c < last:
                    r_q = occ[c + 1]
                else:
                    # A stop line: the queue stands at the jam occupancy of this cell's mix.
                    r_q = 0.0
                    for i in range(nc):
                        r_q += pce[i] * rho[i, c] / max(r, 1e-300) * cell_jam[i, c]
                if c > c0:
                    r_u = occ[c - 1]
                else:
                    # Arrivals into the link's first cell, taken at free speed.
                    r_u = 0.0
                    for i in range(nc):
                        r_u += pce[i] * qin[i, c] / cell_vmax[i, c]
                f = (r - r_u) / (r_q - r_u) if r_q > r_u else 0.0
                f = min(max(f, 0.0), 1.0)
                if f > 0.0:
                    for i in range(nc):
                        # The queue's class densities: the next cell's, or this cell's mix
                        # packed to jam.
                        rq = rho[i, c + 1] if c < last else rho[i, c] * r_q / max(r, 1e-300)
                        out_veh[i, k] += min(f * rq, rho[i, c]) * dx
                    length += f * dx
            below = queued
        out_len[k] = length
