"""Queued vehicles, with sub-cell estimates at the edges of each queue.

A vehicle is queued when it moves slower than the queue speed v_q (`numerics.queue_speed_kmh`;
SUMO's "halting" vehicles are the v_q = 0.1 m/s case). On a grid the queue's tail lies inside a
cell: behind a red, the last cell of an approach holds a few stopped vehicles at its downstream
end and free-flowing arrivals upstream of them, and its mean speed stays above v_q until it is
nearly full. Counting whole cells by their mean speed therefore loses up to a cell of queue (a
50 m cell holds 7.5 stopped cars), which is why a queue read-out "shrinks with the cell".

Here every cell gets a queued share of its vehicles:

* its mean speed is below v_q: all its vehicles (share 1). The mean is weighted by
  occupancy (a motorcycle counts for its pce), so a few motorcycles creeping through a stopped
  car queue do not lift it above v_q;
* it is not slow itself but holds an edge of a queue, and is taken to be two states side by
  side: the queue, with occupancy r_q, and moving traffic, with occupancy r_m. Conservation of
  the cell's occupancy r gives the queued fraction of its length f = (r - r_m) / (r_q - r_m),
  clipped to [0, 1], and the queued share of its vehicles min(f r_q / r, 1) (the queue taken
  to have the cell's mix of classes). Two edges:
  - the *tail* (a shock: arrivals run into the queue), where what lies downstream is slow:
    the next cell of the link, or, for a link's last cell, its outflow moving slower than v_q
    (a red, or a full downstream link). r_m is the upstream neighbour's occupancy (the
    arrivals entering the link for its first cell), r_q the next cell's (at a stop line: the
    jam occupancy of the cell's mix);
  - the *head* (the start wave of a discharging queue), where the upstream neighbour is slow,
    or, for a link's last cell, whenever its outflow moves at v_q or more (a queue that fits
    inside one coarse cell discharges through it): r_q is the upstream neighbour's occupancy
    (at a stop line: jam), r_m the discharge state's, the next cell's or, for a link's last
    cell, that of the outflow at free speed (so through traffic in free flow, whose outflow
    is its own occupancy at free speed, counts nothing);
  a cell at both edges (between two queues) is taken as a tail;
* otherwise none (share 0).

This is exact for a queue edge that is a sharp wave inside one cell (what Godunov's scheme
keeps of a slow shock, and of the triangular diagram's start wave), so the queue of a signal
converges under grid refinement instead of vanishing on coarse cells. The stepper accumulates
share x vehicles x dt in every cell and substep (time means); `link_queues` gives the queue at
an instant.

Loops are flat over all cells (vectorisable selects), with the link ends fixed afterwards.
"""

from __future__ import annotations

from sim.jit import inline_kernel, kernel

MIN_DENSITY = 1e-4
"""Car-equivalents per metre: a cell holding less is empty for queue purposes (0.005 cars in a
50 m cell)."""

Q_SLOW, Q_SHARE = 0, 1
"""Rows of the scratch array of `queue_shares`: 1.0 where the cell is slower than v_q, queued
share of the cell's vehicles."""
N_QUEUE_ROWS = 2


@inline_kernel
def _queued_share(r, r_m, r_q):
    """Queued share of that cell's vehicles: min(f r_q / r, 1), with one division."""
    t = (r - r_m) * r_q / max((r_q - r_m) * r, 1e-300)
    t = t if r_q > r_m else 0.0
    return min(max(t, 0.0), 1.0)


@inline_kernel
def _at_free_speed(c, pce, cell_vmax, flux):
    """Occupancy of the flows flux[:, c] at free speed: what enters a link's first cell
    (flux = qin) or leaves its last (flux = qf), as moving traffic."""
    r = 0.0
    for i in range(flux.shape[0]):
        r += pce[i] * flux[i, c] / cell_vmax[i, c]
    return r


@inline_kernel
def _jam_of_mix(c, pce, rho, occ, cell_jam):
    """Jam occupancy of cell c's mix of classes: where its queue stands at a stop line."""
    r = 0.0
    for i in range(rho.shape[0]):
        r += pce[i] * rho[i, c] * cell_jam[i, c]
    return r / max(occ[c], 1e-300)


@inline_kernel
def _blocked(c, pce, qf, occ, queue_speed):
    """1.0 if what leaves cell c (a link's last) moves slower than v_q: a red, or a full
    downstream link."""
    out = 0.0
    for i in range(qf.shape[0]):
        out += pce[i] * qf[i, c]
    return 1.0 if out < queue_speed * occ[c] and occ[c] > MIN_DENSITY else 0.0


@kernel
def queue_shares(link_c0, link_n, cell_vmax, cell_jam, pce, rho, speed, occ, qf, qin,
                 queue_speed, qs):
    """Fill the rows Q_SLOW, Q_SHARE of `qs` (N_QUEUE_ROWS x cells) from the densities
    `rho`, class speeds `speed`, occupancy `occ`, the flux out of every cell `qf` and into
    every link's first cell `qin` (veh/s, as the stepper's face arrays hold them)."""
    nc, n = rho.shape
    slow = qs[Q_SLOW]
    share = qs[Q_SHARE]
    # Slow: the occupancy-weighted mean speed (a motorcycle counts for its pce) below v_q.
    slow[:] = 0.0
    for i in range(nc):
        a = pce[i]
        for c in range(n):
            slow[c] += a * rho[i, c] * speed[i, c]
    for c in range(n):
        # Two selects, not `and`: a branch would stop the loop vectorising.
        q = 1.0 if slow[c] < queue_speed * occ[c] else 0.0
        slow[c] = q if occ[c] > MIN_DENSITY else 0.0
    # Every cell as if inside a link (neighbours c - 1 and c + 1); link ends are redone below.
    # A cell at both edges (between two slow cells) is taken as a tail.
    for c in range(1, n - 1):
        tail = slow[c + 1]
        edge = max(tail, slow[c - 1])
        r_m = occ[c - 1] if tail > 0.0 else occ[c + 1]
        r_q = occ[c + 1] if tail > 0.0 else occ[c - 1]
        share[c] = slow[c] + (1.0 - slow[c]) * edge * _queued_share(occ[c], r_m, r_q)
    for k in range(link_c0.shape[0]):
        c0 = link_c0[k]
        last = c0 + link_n[k] - 1
        # Last cell: tail behind a blocked exit, or head of a queue discharging through it.
        s = slow[last]
        if s == 0.0 and occ[last] > MIN_DENSITY:
            r = occ[last]
            r_jam = _jam_of_mix(last, pce, rho, occ, cell_jam)
            if _blocked(last, pce, qf, occ, queue_speed) > 0.0:
                r_up = occ[last - 1] if last > c0 else _at_free_speed(c0, pce, cell_vmax, qin)
                s = _queued_share(r, r_up, r_jam)
            else:
                s = _queued_share(r, _at_free_speed(last, pce, cell_vmax, qf), r_jam)
        share[last] = s
        if last > c0:
            # First cell: the arrivals upstream of it, and no queue whose head it could hold.
            s = slow[c0]
            if s == 0.0 and slow[c0 + 1] > 0.0:
                s = _queued_share(occ[c0], _at_free_speed(c0, pce, cell_vmax, qin), occ[c0 + 1])
            share[c0] = s


@kernel
def link_queues(link_c0, link_n, link_dx, cell_vmax, cell_jam, pce, rho, speed, occ, qf, qin,
                queue_speed, qs, out_veh, out_len):
    """Queued vehicles of each class on each link (`out_veh`, class x link) and metres of
    queue on each link (`out_len`: the length the queued vehicles take at jam, i.e. their
    car-equivalents over the jam occupancy of each cell's mix) at an instant; `qs` is scratch
    for `queue_shares`."""
    queue_shares(link_c0, link_n, cell_vmax, cell_jam, pce, rho, speed, occ, qf, qin,
                 queue_speed, qs)
    nc = rho.shape[0]
    share = qs[Q_SHARE]
    for k in range(link_c0.shape[0]):
        c0 = link_c0[k]
        c1 = c0 + link_n[k]
        dx = link_dx[k]
        for i in range(nc):
            v = 0.0
            for c in range(c0, c1):
                v += share[c] * rho[i, c]
            out_veh[i, k] = v * dx
        metres = 0.0
        for c in range(c0, c1):
            if share[c] > 0.0:
                metres += share[c] * occ[c] / _jam_of_mix(c, pce, rho, occ, cell_jam)
        out_len[k] = metres * dx
