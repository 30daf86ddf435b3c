"""One jitted pass over the state at decision time: speeds, queues, loads and running totals."""

from __future__ import annotations

import numpy as np

from arz_tui.env.observations import default_features
from sim.flux import C_JAM, C_VMAX, K_PCE
from sim.jit import kernel
from sim.metrics import cell_speeds
from sim.queues import N_QUEUE_ROWS, link_queues
from sim.signals import PHASE
from sim.stepper import (
    A_OUT,
    A_QUEUE,
    A_VHT,
    A_VKT,
    F_Q,
    F_QIN,
    S_ENTERED,
    S_GENERATED,
    S_QUEUE,
    S_WAITING,
    U_RHO,
    U_Y,
)

# Indices of the totals vector filled by `measure`.
(T_VEHICLES, T_QUEUE_VEH, T_QUEUE_M, T_POINT_QUEUE, T_VHT, T_VKT, T_DELAY, T_WAIT,
 T_GENERATED, T_ENTERED, T_EXITED, T_PRESSURE, T_QUEUE_VS) = range(13)
N_TOTALS = 13
# Rows of the per-link output array.
LK_QUEUE_VEH, LK_QUEUE_M, LK_VEHICLES, LK_QUEUE_VS = 0, 1, 2, 3
N_PER_LINK = 4


@kernel
def measure(state, cellp, classp, link_i, link_geo, link_vmax, queue_speed, acc_cell,
            acc_link, faces, sink_link, src_state, mov_i, approach_ptr, approach_link,
            sig_state, sig_phase_ptr, sig_max_green, occ, speed, per_link, signal_queue_ref,
            inv_span, signal_queue, phase, totals, obs):
    """link_geo rows: cell length, link length, vehicle storage. Fill speeds (class, cell),
    per link (LK_ rows) queued vehicles and metres now, vehicles, and queued vehicle-seconds
    since reset; the mean queued vehicles on each signal's approaches since the previous
    measurement (`signal_queue`: the change of their queued vehicle-seconds since reset over
    `signal_queue_ref`, times `inv_span` = 1 / the interval; `signal_queue_ref` then becomes
    the new cumulative value); the phase each signal shows (or is changing from; `phase`,
    int64); and the totals (see the T_ constants): vehicles on links, queued vehicles and
    metres on links now, vehicles in source point queues now, cumulative vehicle-seconds,
    vehicle-metres, link delay against free speed (veh s), point-queue waiting (veh s),
    vehicles generated, entered and exited, the mean pressure of signalised movements (load
    in - load out, load = vehicles / storage, in [-1, 1]) and cumulative queued
    vehicle-seconds on links (the stepper's time integral over every substep). Queues and
    delay are defined in docs/metrics.md.
    A non-empty `obs` receives the default observation of the approaches `approach_link`.
    Works on any index set of links and approaches the arrays describe."""
    link_dx = link_geo[0]
    link_storage = link_geo[2]
    rho = state[U_RHO]
    cell_vmax = cellp[C_VMAX]
    cell_jam = cellp[C_JAM]
    link_c0 = link_i[0]
    link_n = link_i[1]
    nc = rho.shape[0]
    cell_speeds(rho, state[U_Y], cell_vmax, cell_jam, classp, occ, speed)
    q_veh = per_link[LK_QUEUE_VEH]
    q_class = np.empty((nc, link_c0.shape[0]))
    scratch = np.empty((N_QUEUE_ROWS, rho.shape[1]))
    link_queues(link_c0, link_n, link_dx, cell_vmax, cell_jam, classp[K_PCE], rho, speed, occ,
                faces[F_Q], faces[F_QIN], queue_speed, scratch, q_class, per_link[LK_QUEUE_M])
    q_vs = per_link[LK_QUEUE_VS]
    cell_vqt = acc_cell[A_QUEUE]
    link_veh = per_link[LK_VEHICLES]
    cell_vht = acc_cell[A_VHT]
    cell_vkt = acc_cell[A_VKT]
    vehicles = 0.0
    vht = 0.0
    vkt = 0.0
    delay = 0.0
    # Per-link sums as explicit loops: a slice's .sum() costs ~30 ns of set-up in numba, more
    # than the 6-12 cells it adds (same order of additions, so the same bits).
    for k in range(link_c0.shape[0]):
        c0 = link_c0[k]
        c1 = c0 + link_n[k]
        qv = 0.0
        qs = 0.0
        mass = 0.0
        for i in range(nc):
            qv += q_class[i, k]
            s_q = 0.0
            s_m = 0.0
            t = 0.0
            d = 0.0
            for c in range(c0, c1):
                s_q += cell_vqt[i, c]
                s_m += rho[i, c]
                t += cell_vht[i, c]
                d += cell_vkt[i, c]
            qs += s_q
            mass += s_m
            # Free speed is uniform on a link: delay = VHT - VKT / v_free per link and class.
            vht += t
            vkt += d
            delay += t - d / cell_vmax[i, c0]
        q_veh[k] = qv
        q_vs[k] = qs
        link_veh[k] = mass * link_dx[k]
        vehicles += link_veh[k]
    exited = 0.0
    for s in range(sink_link.shape[0]):
        for i in range(nc):
            exited += acc_link[A_OUT, i, sink_link[s]]
    point = 0.0
    generated = 0.0
    waiting = 0.0
    entered = 0.0
    for s in range(src_state.shape[2]):
        for i in range(nc):
            point += src_state[S_QUEUE, i, s]
            generated += src_state[S_GENERATED, i, s]
            waiting += src_state[S_WAITING, i, s]
            entered += src_state[S_ENTERED, i, s]
    qv = 0.0
    qm = 0.0
    qs = 0.0
    for k in range(link_c0.shape[0]):
        qv += q_veh[k]
        qm += per_link[LK_QUEUE_M, k]
        qs += q_vs[k]
    for g in range(signal_queue.shape[0]):
        total = 0.0
        for p in range(approach_ptr[g], approach_ptr[g + 1]):
            total += q_vs[approach_link[p]]
        signal_queue[g] = (total - signal_queue_ref[g]) * inv_span
        signal_queue_ref[g] = total
        phase[g] = int(sig_state[PHASE, g])
    pressure = 0.0
    count = 0
    for m in range(mov_i.shape[1]):
        if mov_i[2, m] >= 0:
            a = min(link_veh[mov_i[0, m]] / link_storage[mov_i[0, m]], 1.0)
            b = min(link_veh[mov_i[1, m]] / link_storage[mov_i[1, m]], 1.0)
            pressure += a - b
            count += 1
    totals[T_VEHICLES] = vehicles
    totals[T_QUEUE_VEH] = qv
    totals[T_QUEUE_M] = qm
    totals[T_POINT_QUEUE] = point
    totals[T_VHT] = vht
    totals[T_VKT] = vkt
    totals[T_DELAY] = delay
    totals[T_WAIT] = waiting
    totals[T_GENERATED] = generated
    totals[T_ENTERED] = entered
    totals[T_EXITED] = exited
    totals[T_PRESSURE] = pressure / count if count > 0 else 0.0
    totals[T_QUEUE_VS] = qs
    if obs.shape[0] > 0:
        default_features(approach_link, link_c0, link_n, link_geo[1], link_vmax, cell_jam,
                         classp[K_PCE], rho, speed, per_link[LK_QUEUE_M], sig_state, sig_phase_ptr,
                         sig_max_green, obs)
