"""Time stepper: one jitted call advances the whole network over an interval.

Each substep is a fixed sequence of flat loops (pyclaw-style: the Riemann solver lives in
`sim.flux`, the junction model in `sim.junction`, geometry and state in `sim.network`):

1. cell pass   - per class: marker w, speed v, critical occupancy, demand and composition share;
2. face pass   - interior faces of every link: Godunov demand/supply flux;
3. node pass   - sources (point queues), sinks, junctions (Lebacque node model with signals);
4. update      - conservative update of density; upwind transport of the marker w (see
                 `_update_link`); relaxation of w towards v_max (exact exponential);
                 accumulation of vehicle-seconds travelled and vehicle-metres driven.

Face arrays have one column per face (link k owns faces c0[k] + k .. c0[k] + k + n[k]):
qf is the vehicle flux of each class, uf the speed at which vehicles cross an interior face
(flux / density of the sending cell), wf the marker of vehicles entering a link.

The interval is split at signal events (end of a yellow/all-red) and each segment into equal
substeps no longer than the CFL step, so decisions and phase changes fall on substep ends.
"""

from __future__ import annotations

import math

import numpy as np

from sim.flux import critical_occupancy, demand, pressure, supply
from sim.jit import inline_kernel, kernel
from sim.junction import junction_fluxes
from sim.signals import signal_advance, signal_greens, signal_requests

RHO_EPS = 1e-9
"""Below this density (veh/m) a class is absent from a cell and its marker defaults to v_max."""

# Row indices of the work array (shape (N_WORK, n_classes, n_cells)).
W_MARK, W_SPEED, W_SIGMA, W_DEMAND, W_SHARE = 0, 1, 2, 3, 4
N_WORK = 5


@inline_kernel
def _cell_class(i, rho, y, cell_vmax, cell_jam, occ, work, g):
    """Cell pass of class i; inlined with a constant `g` so each exponent gets its own
    vectorised loop."""
    for c in range(rho.shape[1]):
        rc = rho[i, c]
        vm = cell_vmax[i, c]
        jm = cell_jam[i, c]
        w = y[i, c] / max(rc, RHO_EPS)
        w = w if rc > RHO_EPS else vm
        r = occ[c]
        v = w - pressure(r, vm, jm, g)
        sig = critical_occupancy(w, vm, jm, g)
        work[W_MARK, i, c] = w
        work[W_SPEED, i, c] = max(v, 0.0)
        work[W_SIGMA, i, c] = sig
        work[W_DEMAND, i, c] = demand(r, w, sig, vm, jm, g)
        work[W_SHARE, i, c] = rc / max(r, 1e-300)


@kernel
def cell_pass(rho, y, cell_vmax, cell_jam, gamma, pce, occ, work):
    """Per-cell quantities of every class, from the state at the start of a substep."""
    nc, n = rho.shape
    occ[:] = 0.0
    for i in range(nc):
        a = pce[i]
        for c in range(n):
            occ[c] += a * rho[i, c]
    for i in range(nc):
        g = gamma[i]
        if g == 1.0:
            _cell_class(i, rho, y, cell_vmax, cell_jam, occ, work, 1.0)
        elif g == 2.0:
            _cell_class(i, rho, y, cell_vmax, cell_jam, occ, work, 2.0)
        else:
            _cell_class(i, rho, y, cell_vmax, cell_jam, occ, work, g)


@inline_kernel
def _face_class(i, lk, c0, n, cell_vmax, cell_jam, rho, work, qf, uf, g):
    """Interior faces of link lk (cells c0 .. c0 + n - 1) for class i.

    Loops run over per-link views from index 0: with a loop start numba cannot prove
    non-negative, every index carries a negative-wraparound select and the loop is 5x slower.
    """
    dens = rho[i, c0:c0 + n]
    mark = work[W_MARK, i, c0:c0 + n]
    speed = work[W_SPEED, i, c0:c0 + n]
    sigma = work[W_SIGMA, i, c0:c0 + n]
    dem = work[W_DEMAND, i, c0:c0 + n]
    share = work[W_SHARE, i, c0:c0 + n]
    vmax = cell_vmax[i, c0:c0 + n]
    jam = cell_jam[i, c0:c0 + n]
    q_face = qf[i, c0 + lk:c0 + lk + n + 1]
    u_face = uf[i, c0 + lk:c0 + lk + n + 1]
    for c in range(n - 1):
        sup = supply(mark[c], speed[c + 1], sigma[c], vmax[c], jam[c], g)
        q = share[c] * min(dem[c], sup)
        q_face[c + 1] = q
        u_face[c + 1] = q / max(dens[c], RHO_EPS)


@kernel
def face_pass(link_c0, link_n, cell_vmax, cell_jam, gamma, rho, work, qf, uf):
    """Fluxes through the interior faces of every link."""
    for i in range(qf.shape[0]):
        g = gamma[i]
        for lk in range(link_c0.shape[0]):
            c0 = link_c0[lk]
            n = link_n[lk]
            if g == 1.0:
                _face_class(i, lk, c0, n, cell_vmax, cell_jam, rho, work, qf, uf, 1.0)
            elif g == 2.0:
                _face_class(i, lk, c0, n, cell_vmax, cell_jam, rho, work, qf, uf, 2.0)
            else:
                _face_class(i, lk, c0, n, cell_vmax, cell_jam, rho, work, qf, uf, g)


@kernel
def source_pass(t, dt, link_c0, src_link, src_rates, src_bin, src_mark, src_queue,
                cell_vmax, cell_jam, gamma, pce, work, qf, wf, src_inflow):
    """Point-queue sources: demand = arrivals + queue / dt, shared across classes in
    proportion to their occupancy demand when the first cell's supply is short."""
    nc = qf.shape[0]
    nbins = src_rates.shape[2]
    b = min(int(t / src_bin), nbins - 1)
    for s in range(src_link.shape[0]):
        lk = src_link[s]
        c = link_c0[lk]
        f = c + lk
        occ_demand = 0.0
        for i in range(nc):
            src_inflow[i, s] = src_rates[s, i, b]
            occ_demand += pce[i] * (src_inflow[i, s] + src_queue[i, s] / dt)
        for i in range(nc):
            d = src_inflow[i, s] + src_queue[i, s] / dt
            vmax = cell_vmax[i, c]
            w = min(src_mark[i, s], vmax)
            q = 0.0
            if d > 0.0:
                jam = cell_jam[i, c]
                sup = supply(w, work[W_SPEED, i, c], critical_occupancy(w, vmax, jam, gamma[i]),
                             vmax, jam, gamma[i])
                q = d if occ_demand <= sup else d * sup / occ_demand
            qf[i, f] = q
            wf[i, f] = w


@kernel
def sink_pass(link_c0, link_n, sink_link, sink_ghost_speed, cell_vmax, cell_jam, gamma,
              work, qf):
    """Sinks: free outflow, or the supply of a fixed downstream state (a transmissive
    boundary for Riemann problems) where its ghost speed is >= 0."""
    nc = qf.shape[0]
    for k in range(sink_link.shape[0]):
        lk = sink_link[k]
        c = link_c0[lk] + link_n[lk] - 1
        for i in range(nc):
            d = work[W_DEMAND, i, c]
            vg = sink_ghost_speed[i, k]
            if vg >= 0.0:
                d = min(d, supply(work[W_MARK, i, c], vg, work[W_SIGMA, i, c], cell_vmax[i, c],
                                  cell_jam[i, c], gamma[i]))
            qf[i, c + lk + 1] = work[W_SHARE, i, c] * d


@inline_kernel
def _update_link(i, lk, c0, n, dt, dx, e, cell_vmax, rho, y, work, qf, uf, wf, cell_vht,
                 cell_vkt):
    """Update of link lk's cells for class i (per-link views, as in `_face_class`).

    Density is updated conservatively. The marker w obeys dw/dt + v dw/dx = 0 (the advective
    form of the conservation of rho * w, which has the same waves: w is constant across
    ARZ's 1-waves and v across its contacts). Inside a link it is transported upwind, the
    incoming vehicles taking the volume fraction dt * u / dx of the cell; mixing by volume
    keeps v exact at contacts, where the conservative mass-weighted mixing makes spurious
    speed bumps (Chalons and Goatin 2007) that here cost 6 % L1 at 1,000 cells. Vehicles
    entering a link from a node are mixed by mass with those in its first cell.
    """
    k = dt / dx
    dtdx = dt * dx
    r = rho[i, c0:c0 + n]
    yy = y[i, c0:c0 + n]
    mark = work[W_MARK, i, c0:c0 + n]
    speed = work[W_SPEED, i, c0:c0 + n]
    vmax = cell_vmax[i, c0:c0 + n]
    vht = cell_vht[i, c0:c0 + n]
    vkt = cell_vkt[i, c0:c0 + n]
    q_face = qf[i, c0 + lk:c0 + lk + n + 1]
    u_face = uf[i, c0 + lk:c0 + lk + n + 1]
    for c in range(n):
        r0 = r[c]
        vht[c] += r0 * dtdx
        vkt[c] += r0 * speed[c] * dtdx
    # First cell: mass-weighted mixing with what enters from the node.
    r0 = r[0]
    r1 = max(r0 + k * (q_face[0] - q_face[1]), 0.0)
    kept = max(r0 - k * q_face[1], 0.0)
    entered = k * q_face[0]
    w1 = (kept * mark[0] + entered * wf[i, c0 + lk]) / max(kept + entered, RHO_EPS)
    w1 = w1 if kept + entered > RHO_EPS else mark[0]
    r[0] = r1
    yy[0] = r1 * (e * w1 + (1.0 - e) * vmax[0])
    for c in range(1, n):
        r0 = r[c]
        r1 = max(r0 + k * (q_face[c] - q_face[c + 1]), 0.0)
        theta = min(k * u_face[c], 1.0)
        # An empty cell has no marker of its own: it takes the one of what flows in.
        theta = theta if r0 > RHO_EPS else 1.0
        w1 = mark[c] + theta * (mark[c - 1] - mark[c])
        r[c] = r1
        yy[c] = r1 * (e * w1 + (1.0 - e) * vmax[c])


@kernel
def update_pass(dt, link_c0, link_n, link_dx, cell_vmax, relax, rho, y, work, qf, uf, wf,
                cell_vht, cell_vkt, acc_in, acc_out):
    """Update of every link, and the accumulators: vehicle-seconds and vehicle-metres per
    cell, vehicles in and out of each link."""
    nc = rho.shape[0]
    for i in range(nc):
        e = math.exp(-dt * relax[i])
        for lk in range(link_c0.shape[0]):
            c0 = link_c0[lk]
            n = link_n[lk]
            _update_link(i, lk, c0, n, dt, link_dx[lk], e, cell_vmax, rho, y, work, qf, uf, wf,
                         cell_vht, cell_vkt)
            acc_in[i, lk] += qf[i, c0 + lk] * dt
            acc_out[i, lk] += qf[i, c0 + lk + n] * dt


@kernel
def advance(
    duration, dt_cfl, clock,
    # geometry and class parameters
    link_c0, link_n, link_dx, cell_vmax, cell_jam, gamma, pce, relax,
    # junctions: movements (from link, to link, signal), per-class turning ratios, priorities
    mov_from, mov_to, mov_beta, mov_prio, link_in_ptr, link_in_mov, link_out_ptr, link_out_mov,
    link_up_junction, link_fifo, mov_green,
    # sources and sinks
    src_link, src_rates, src_bin, src_mark, src_queue, src_acc,
    sink_link, sink_ghost_speed,
    # signals
    sig_phase_ptr, phase_mov_ptr, phase_mov, mov_signal, sig_yellow, sig_min_green, sig_state,
    requests,
    # state, accumulators, scratch
    rho, y, cell_vht, cell_vkt, acc_in, acc_out, occ, work, qf, uf, wf, mov_scratch,
    src_inflow,
):
    """Advance the network by `duration` seconds; returns the number of substeps taken.

    `requests[g]` is the phase index signal g should show (-1: keep); a change starts the
    signal's yellow/all-red and is refused before its minimum green has elapsed.
    `src_acc[0|1|2]` accumulate per class and source: vehicles generated, vehicle-seconds spent
    waiting in the point queue, and vehicles that entered the network.
    """
    signal_requests(requests, sig_state, sig_yellow, sig_min_green)
    t_end = clock[0] + duration
    steps = 0
    while t_end - clock[0] > 1e-9:
        seg = t_end - clock[0]
        for g in range(sig_state.shape[1]):
            left = sig_state[2, g]
            if 0.0 < left < seg:
                seg = left
        signal_greens(sig_state, sig_phase_ptr, phase_mov_ptr, phase_mov, mov_signal, mov_green)
        n = math.ceil(seg / dt_cfl - 1e-9)
        if n < 1:
            n = 1
        dt = seg / n
        t0 = clock[0]
        for k in range(n):
            t = t0 + k * dt
            cell_pass(rho, y, cell_vmax, cell_jam, gamma, pce, occ, work)
            face_pass(link_c0, link_n, cell_vmax, cell_jam, gamma, rho, work, qf, uf)
            source_pass(t, dt, link_c0, src_link, src_rates, src_bin, src_mark, src_queue,
                        cell_vmax, cell_jam, gamma, pce, work, qf, wf, src_inflow)
            sink_pass(link_c0, link_n, sink_link, sink_ghost_speed, cell_vmax, cell_jam, gamma,
                      work, qf)
            junction_fluxes(link_c0, link_n, cell_vmax, cell_jam, gamma, mov_from, mov_to,
                            mov_beta, mov_prio, link_in_ptr, link_in_mov, link_out_ptr,
                            link_out_mov, link_up_junction, link_fifo, mov_green, work, qf, wf,
                            mov_scratch)
            for s in range(src_link.shape[0]):
                f = link_c0[src_link[s]] + src_link[s]
                for i in range(rho.shape[0]):
                    arrivals = src_inflow[i, s] * dt
                    entered = qf[i, f] * dt
                    src_acc[0, i, s] += arrivals
                    src_acc[1, i, s] += src_queue[i, s] * dt
                    src_acc[2, i, s] += entered
                    q = src_queue[i, s] + arrivals - entered
                    src_queue[i, s] = q if q > 0.0 else 0.0
            update_pass(dt, link_c0, link_n, link_dx, cell_vmax, relax, rho, y, work, qf, uf, wf,
                        cell_vht, cell_vkt, acc_in, acc_out)
            steps += 1
        clock[0] = t0 + seg
        signal_advance(seg, sig_state)
    return steps


def empty_work(n_classes: int, n_cells: int) -> np.ndarray:
    """Scratch array for `cell_pass`."""
    return np.zeros((N_WORK, n_classes, n_cells))
