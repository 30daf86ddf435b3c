"""Time stepper: one jitted call advances the whole network over an interval.

Each substep is a fixed sequence of flat loops over all cells of all links (pyclaw-style: the
Riemann solver lives in `sim.flux`, the junction model in `sim.junction`, geometry in
`sim.network`):

1. cell pass   - per class: marker w, speed v, critical occupancy, demand and composition share;
2. face pass   - the flux through the right face of every cell, as if it had a downstream
                 neighbour in the same link (at a link's last cell that value is meaningless
                 and the node pass overwrites it);
3. node pass   - sources (point queues), sinks, junctions (Lebacque node model with signals):
                 outflow of each link's last cell, inflow into each link's first cell;
4. queues      - queued share of every cell's vehicles (`sim.queues`);
5. update      - conservative update of density; upwind transport of the marker w (see
                 `update_pass`); relaxation of w towards v_max (exact exponential); vehicle-
                 seconds travelled, vehicle-metres driven and queued vehicle-seconds per cell
                 (docs/metrics.md).

Flat loops matter: real links have 5-20 cells, and a loop per link and class costs more in
set-up than its cells cost to update. Face arrays are indexed by cell: qf[i, c] is the vehicle
flux through cell c's right face, uf[i, c] the speed of the vehicles crossing it (flux /
density of c), qin[i, c] and win[i, c] the flux and marker entering a link's first cell c.

The interval is split into equal substeps no longer than the CFL step, so decisions fall on
substep ends. Signal events inside it need no substep boundary: during a yellow/all-red and
the start-up lost time after it every movement of the signal is red, and the substep in which
the lost time ends gives the new phase's movements the green share of the substep after it.

Numba unboxes every array argument on each call (~35-65 ns each), so `advance` takes the
network as a few stacked arrays whose rows are named by the constants below.
"""

from __future__ import annotations

import math

import numpy as np

from sim.flux import (
    C_CRIT,
    C_JAM,
    C_SLOPE,
    C_VMAX,
    K_GAMMA,
    K_LAW,
    K_PCE,
    K_RELAX,
    K_WAVE,
    POWER,
    TRIANGULAR,
    class_supply,
    critical_occupancy,
    demand,
    pressure,
    supply,
)
from sim.jit import inline_kernel, kernel
from sim.junction import junction_fluxes
from sim.queues import N_QUEUE_ROWS, Q_SHARE, queue_shares
from sim.signals import signal_advance, signal_greens, signal_onsets, signal_requests

RHO_EPS = 1e-9
"""Below this density (veh/m) a class is absent from a cell and its marker defaults to v_max."""

# Rows of the stacked arrays passed to `advance`.
W_MARK, W_SPEED, W_SIGMA, W_DEMAND, W_SHARE = 0, 1, 2, 3, 4  # work (rows, class, cell)
N_WORK = 5
F_Q, F_U, F_QIN, F_WIN = 0, 1, 2, 3  # faces (rows, class, cell)
N_FACE = 4
U_RHO, U_Y = 0, 1  # state (rows, class, cell)
A_VHT, A_VKT, A_QUEUE = 0, 1, 2  # cell accumulators (rows, class, cell)
N_CELL_ACC = 3
A_IN, A_OUT = 0, 1  # link accumulators (rows, class, link)
N_LINK_ACC = 2
L_C0, L_N, L_UP_JUNCTION, L_FIFO = 0, 1, 2, 3  # link_i (rows, link)
M_FROM, M_TO, M_SIGNAL = 0, 1, 2  # mov_i (rows, movement)
S_MARK, S_QUEUE, S_GENERATED, S_WAITING, S_ENTERED, S_INFLOW = 0, 1, 2, 3, 4, 5  # src_state
N_SRC_ROWS = 6
SG_YELLOW, SG_MIN_GREEN, SG_LOST = 0, 1, 2  # sig_f (rows, signal)
N_SIG_F = 3


@inline_kernel
def marker(rho, y, v_max):
    """The Lagrangian marker w = y / rho of a class in a cell (v_max where it is absent);
    the division is unconditional so the loops calling this stay vectorised."""
    w = y / max(rho, RHO_EPS)
    return w if rho > RHO_EPS else v_max


@inline_kernel
def occupancy(rho, pce, occ):
    """occ[c] = sum_i pce_i rho_i[c], the car-equivalent density of every cell."""
    occ[:] = 0.0
    for i in range(rho.shape[0]):
        a = pce[i]
        for c in range(rho.shape[1]):
            occ[c] += a * rho[i, c]


@inline_kernel
def _cell_class(i, rho, y, cell_vmax, cell_jam, cell_crit, cell_slope, occ, work, law, g,
                cw):
    """Cell pass of class i; inlined with a constant law (and exponent) so each law gets its
    own vectorised loop."""
    for c in range(rho.shape[1]):
        rc = rho[i, c]
        vm = cell_vmax[i, c]
        jm = cell_jam[i, c]
        kc = cell_crit[i, c]
        ks = cell_slope[i, c]
        w = marker(rc, y[i, c], vm)
        r = occ[c]
        v = w - pressure(r, vm, jm, kc, ks, law, g, cw)
        sig = critical_occupancy(w, vm, jm, kc, ks, law, g, cw)
        work[W_MARK, i, c] = w
        work[W_SPEED, i, c] = max(v, 0.0)
        work[W_SIGMA, i, c] = sig
        work[W_DEMAND, i, c] = demand(r, w, sig, vm, jm, kc, ks, law, g, cw)
        work[W_SHARE, i, c] = rc / max(r, 1e-300)


@kernel
def cell_pass(rho, y, cellp, classp, occ, work):
    """Per-cell quantities of every class, from the state at the start of a substep."""
    occupancy(rho, classp[K_PCE], occ)
    vm, jm, kc, ks = cellp[C_VMAX], cellp[C_JAM], cellp[C_CRIT], cellp[C_SLOPE]
    for i in range(rho.shape[0]):
        g = classp[K_GAMMA, i]
        cw = classp[K_WAVE, i]
        if classp[K_LAW, i] == TRIANGULAR:
            _cell_class(i, rho, y, vm, jm, kc, ks, occ, work, TRIANGULAR, 1.0, cw)
        elif g == 1.0:
            _cell_class(i, rho, y, vm, jm, kc, ks, occ, work, POWER, 1.0, cw)
        elif g == 2.0:
            _cell_class(i, rho, y, vm, jm, kc, ks, occ, work, POWER, 2.0, cw)
        else:
            _cell_class(i, rho, y, vm, jm, kc, ks, occ, work, POWER, g, cw)


@inline_kernel
def _face_class(i, cell_vmax, cell_jam, cell_crit, cell_slope, rho, work, qf, uf, law, g,
                cw):
    for c in range(rho.shape[1] - 1):
        sup = supply(work[W_MARK, i, c], work[W_SPEED, i, c + 1], work[W_SIGMA, i, c],
                     cell_vmax[i, c], cell_jam[i, c], cell_crit[i, c], cell_slope[i, c], law,
                     g, cw)
        q = work[W_SHARE, i, c] * min(work[W_DEMAND, i, c], sup)
        qf[i, c] = q
        uf[i, c] = q / max(rho[i, c], RHO_EPS)


@kernel
def face_pass(cellp, classp, rho, work, qf, uf):
    """Godunov flux through every cell's right face (link ends are overwritten later)."""
    vm, jm, kc, ks = cellp[C_VMAX], cellp[C_JAM], cellp[C_CRIT], cellp[C_SLOPE]
    for i in range(qf.shape[0]):
        g = classp[K_GAMMA, i]
        cw = classp[K_WAVE, i]
        if classp[K_LAW, i] == TRIANGULAR:
            _face_class(i, vm, jm, kc, ks, rho, work, qf, uf, TRIANGULAR, 1.0, cw)
        elif g == 1.0:
            _face_class(i, vm, jm, kc, ks, rho, work, qf, uf, POWER, 1.0, cw)
        elif g == 2.0:
            _face_class(i, vm, jm, kc, ks, rho, work, qf, uf, POWER, 2.0, cw)
        else:
            _face_class(i, vm, jm, kc, ks, rho, work, qf, uf, POWER, g, cw)


@kernel
def source_pass(t, dt, link_c0, src_link, src_rates, src_bin, src_state, cellp, classp, work,
                qin, win):
    """Point-queue sources: demand = arrivals + queue / dt, shared across classes in
    proportion to their occupancy demand when the first cell's supply is short; then the
    queues and the source accumulators advance by dt."""
    nc = qin.shape[0]
    pce = classp[K_PCE]
    nbins = src_rates.shape[2]
    b = min(int(t / src_bin), nbins - 1)
    for s in range(src_link.shape[0]):
        c = link_c0[src_link[s]]
        occ_demand = 0.0
        for i in range(nc):
            src_state[S_INFLOW, i, s] = src_rates[s, i, b]
            occ_demand += pce[i] * (src_rates[s, i, b] + src_state[S_QUEUE, i, s] / dt)
        for i in range(nc):
            arrivals = src_state[S_INFLOW, i, s]
            waiting = src_state[S_QUEUE, i, s]
            d = arrivals + waiting / dt
            vmax = cellp[C_VMAX, i, c]
            w = min(src_state[S_MARK, i, s], vmax)
            q = 0.0
            if d > 0.0:
                sup = class_supply(w, work[W_SPEED, i, c], vmax, cellp[C_JAM, i, c],
                                   cellp[C_CRIT, i, c], cellp[C_SLOPE, i, c], classp, i)
                q = d if occ_demand <= sup else d * sup / occ_demand
            qin[i, c] = q
            win[i, c] = w
            src_state[S_GENERATED, i, s] += arrivals * dt
            src_state[S_WAITING, i, s] += waiting * dt
            src_state[S_ENTERED, i, s] += q * dt
            src_state[S_QUEUE, i, s] = max(waiting + (arrivals - q) * dt, 0.0)


@kernel
def sink_pass(link_c0, link_n, sink_link, sink_ghost_speed, cellp, classp, work, qf):
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
                d = min(d, class_supply(work[W_MARK, i, c], vg, cellp[C_VMAX, i, c],
                                        cellp[C_JAM, i, c], cellp[C_CRIT, i, c],
                                        cellp[C_SLOPE, i, c], classp, i))
            qf[i, c] = work[W_SHARE, i, c] * d


@inline_kernel
def _accumulate(i, c, dt, cell_dx, rho, qf, queued, cell_vht, cell_vkt, cell_vqt):
    """Vehicle-seconds, vehicle-metres (from the outflow) and queued vehicle-seconds of
    class i in cell c over the substep, from the state at its start."""
    vdx = rho[i, c] * cell_dx[c] * dt
    cell_vht[i, c] += vdx
    cell_vkt[i, c] += qf[i, c] * cell_dx[c] * dt
    cell_vqt[i, c] += vdx * queued[c]


@kernel
def update_pass(dt, cell_dx, dt_dx, link_c0, cell_vmax, relax, rho, y, work, qf, uf, qin,
                win, queued, cell_vht, cell_vkt, cell_vqt, first):
    """Conservative update of density and upwind transport of the marker, per class over all
    cells in one vectorised loop, then the link-first cells from their saved inputs.

    The marker w obeys dw/dt + v dw/dx = 0 (the advective form of the conservation of rho w,
    which has the same waves: w is constant across ARZ's 1-waves and v across its contacts).
    Inside a link, incoming vehicles take the volume fraction dt * u / dx of the cell; mixing
    by volume keeps v exact at contacts (for gamma = 1; close for other exponents), where the
    conservative mass-weighted mixing makes spurious speed bumps (Chalons and Goatin 2007)
    that cost 6 % L1 at 1,000 cells on a 1-shock + contact problem. Vehicles entering a link
    from a node are mixed by mass with those in its first cell (they come from different
    streams). An empty cell has no marker of its own and takes the one of what flows in.
    `dt_dx` is dt / cell_dx (computed once per `advance`: the same bits without a division
    per cell, class and substep); `first` (2 x links) is scratch for the first cells' new
    density and marker.

    Vehicle-metres come from the fluxes, not from density x speed: what leaves a cell through
    its downstream face has driven the cell's length (a vehicle crossing a link is credited
    exactly its length, one cell at a time). Behind a red, a partly filled last cell has a
    speed while nothing leaves it; density x speed would credit distance nobody drove and
    make delay read low on coarse cells (docs/metrics.md). `queued` is the queued share of
    every cell's vehicles (`sim.queues`).
    """
    nc, n = rho.shape
    n_links = link_c0.shape[0]
    for i in range(nc):
        e = math.exp(-dt * relax[i])
        for lk in range(n_links):
            c = link_c0[lk]
            k = dt_dx[c]
            r0 = rho[i, c]
            kept = max(r0 - k * qf[i, c], 0.0)
            entered = k * qin[i, c]
            mixed = kept + entered
            w = work[W_MARK, i, c]
            first[0, lk] = max(r0 + k * (qin[i, c] - qf[i, c]), 0.0)
            first[1, lk] = (kept * w + entered * win[i, c]) / mixed if mixed > RHO_EPS else w
        _accumulate(i, 0, dt, cell_dx, rho, qf, queued, cell_vht, cell_vkt, cell_vqt)
        # Every cell as if interior (cell 0 always starts a link, so c - 1 exists); the first
        # cells of links are overwritten below. The accumulators share the loop (one pass
        # over the cells' arrays instead of two).
        for c in range(1, n):
            _accumulate(i, c, dt, cell_dx, rho, qf, queued, cell_vht, cell_vkt, cell_vqt)
            k = dt_dx[c]
            r0 = rho[i, c]
            w0 = work[W_MARK, i, c]
            theta = min(k * uf[i, c - 1], 1.0)
            theta = theta if r0 > RHO_EPS else 1.0
            w1 = w0 + theta * (work[W_MARK, i, c - 1] - w0)
            r1 = max(r0 + k * (qf[i, c - 1] - qf[i, c]), 0.0)
            rho[i, c] = r1
            y[i, c] = r1 * (e * w1 + (1.0 - e) * cell_vmax[i, c])
        for lk in range(n_links):
            c = link_c0[lk]
            r1 = first[0, lk]
            rho[i, c] = r1
            y[i, c] = r1 * (e * first[1, lk] + (1.0 - e) * cell_vmax[i, c])


@kernel
def link_flows(dt, link_c0, link_n, qf, qin, acc_link):
    """Vehicles into and out of every link over dt."""
    for i in range(qf.shape[0]):
        for lk in range(link_c0.shape[0]):
            c0 = link_c0[lk]
            acc_link[A_IN, i, lk] += qin[i, c0] * dt
            acc_link[A_OUT, i, lk] += qf[i, c0 + link_n[lk] - 1] * dt


@kernel
def advance(
    duration, dt_cfl, clock,
    link_i, cell_dx, cellp, classp,
    mov_i, mov_cells, mov_beta, mov_prio, mov_green, csr_ptr, csr_mov,
    yield_ptr, yield_mov, mov_gap,
    src_link, src_rates, src_bin, src_state, sink_link, sink_ghost_speed,
    sig_phase_ptr, phase_mov_ptr, phase_mov, sig_f, sig_state, requests,
    state, acc_cell, acc_link, occ, work, faces, mov_scratch, queue_speed,
):
    """Advance the network by `duration` seconds; returns the number of substeps taken.

    `requests[g]` is the phase index signal g should show (-1: keep); a change starts the
    signal's yellow/all-red and is refused before its minimum green has elapsed. Row names of
    the stacked arrays are the module constants; `sim.simulator.Simulator` builds them.
    `queue_speed` (m/s) defines queued vehicles (`sim.queues`).
    """
    link_c0 = link_i[L_C0]
    link_n = link_i[L_N]
    cell_vmax = cellp[C_VMAX]
    relax = classp[K_RELAX]
    rho = state[U_RHO]
    y = state[U_Y]
    qf = faces[F_Q]
    uf = faces[F_U]
    qin = faces[F_QIN]
    win = faces[F_WIN]
    mov_signal = mov_i[M_SIGNAL]
    # Scratch in one allocation (an allocation costs more than the substep's use of a row).
    n_cells = rho.shape[1]
    n_links = link_c0.shape[0]
    n_sig = sig_state.shape[1]
    block = np.empty((N_QUEUE_ROWS + 1) * n_cells + 2 * n_links + n_sig)
    qs = block[:N_QUEUE_ROWS * n_cells].reshape(N_QUEUE_ROWS, n_cells)
    dt_dx = block[N_QUEUE_ROWS * n_cells:(N_QUEUE_ROWS + 1) * n_cells]
    rest = block[(N_QUEUE_ROWS + 1) * n_cells:]
    first = rest[:2 * n_links].reshape(2, n_links)
    onset = rest[2 * n_links:]

    signal_requests(requests, sig_state, sig_f[SG_YELLOW], sig_f[SG_MIN_GREEN])
    shown = np.empty(n_sig, dtype=np.int64)
    signal_onsets(sig_state, sig_f[SG_LOST], onset, shown)
    t0 = clock[0]
    seg = duration
    n = max(math.ceil(seg / dt_cfl - 1e-9), 1)
    dt = seg / n
    for c in range(n_cells):
        dt_dx[c] = dt / cell_dx[c]
    steps = 0
    for k in range(n):
        signal_greens(k * dt, dt, onset, shown, sig_phase_ptr, phase_mov_ptr, phase_mov,
                      mov_signal, mov_green)
        cell_pass(rho, y, cellp, classp, occ, work)
        face_pass(cellp, classp, rho, work, qf, uf)
        source_pass(t0 + k * dt, dt, link_c0, src_link, src_rates, src_bin, src_state,
                    cellp, classp, work, qin, win)
        sink_pass(link_c0, link_n, sink_link, sink_ghost_speed, cellp, classp, work, qf)
        junction_fluxes(link_i, mov_i, mov_cells, mov_beta, mov_prio, mov_green, csr_ptr,
                        csr_mov, yield_ptr, yield_mov, mov_gap, cellp, classp, work, qf, qin,
                        win, mov_scratch)
        queue_shares(link_c0, link_n, cell_vmax, cellp[C_JAM], classp[K_PCE], rho,
                     work[W_SPEED], occ, qf, qin, queue_speed, qs)
        link_flows(dt, link_c0, link_n, qf, qin, acc_link)
        update_pass(dt, cell_dx, dt_dx, link_c0, cell_vmax, relax, rho, y, work, qf, uf,
                    qin, win, qs[Q_SHARE], acc_cell[A_VHT], acc_cell[A_VKT],
                    acc_cell[A_QUEUE], first)
        steps += 1
    clock[0] = t0 + seg
    signal_advance(seg, sig_state)
    return steps


def empty_work(n_classes: int, n_cells: int) -> np.ndarray:
    """Scratch array for `cell_pass`."""
    return np.zeros((N_WORK, n_classes, n_cells))
