"""One jitted pass over the state at decision time: speeds, queues, loads and running totals."""

from __future__ import annotations

from arz_tui.env.observations import default_features
from sim.jit import kernel
from sim.metrics import cell_speeds, link_queues

# Indices of the totals vector filled by `measure`.
(T_VEHICLES, T_QUEUE_VEH, T_QUEUE_M, T_POINT_QUEUE, T_VHT, T_VKT, T_DELAY, T_WAIT,
 T_GENERATED, T_ENTERED, T_EXITED, T_PRESSURE) = range(12)
N_TOTALS = 12
# Rows of the per-link output array.
LK_QUEUE_VEH, LK_QUEUE_M, LK_VEHICLES = 0, 1, 2


@kernel
def measure(state, cellp, classp, link_i, link_geo, link_vmax, queue_speed, acc_cell,
            acc_link, sink_link, src_state, mov_i, approach_ptr, approach_link, sig_state,
            sig_phase_ptr, sig_max_green, occ, speed, per_link, signal_queue, totals, obs):
    """link_geo rows: cell length, link length, vehicle storage. Fill speeds (class, cell),
    per link queued vehicles, queued metres and vehicles, the
    queued vehicles on each signal's approaches, and the totals (see the T_ constants):
    vehicles on links, queued vehicles and metres on links, vehicles in source point queues,
    cumulative vehicle-seconds, vehicle-metres, link delay against free speed (veh s),
    point-queue waiting (veh s), vehicles generated, entered and exited, and the mean pressure
    of signalised movements (load in - load out, load = vehicles / storage, in [-1, 1]).
    A non-empty `obs` receives the default observation of the approaches `approach_link`."""
    link_dx = link_geo[0]
    link_storage = link_geo[2]
    rho = state[0]
    cell_vmax = cellp[0]
    link_c0 = link_i[0]
    link_n = link_i[1]
    cell_speeds(rho, state[1], cell_vmax, cellp[1], classp, occ, speed)
    q_veh = per_link[LK_QUEUE_VEH]
    link_queues(link_c0, link_n, link_dx, rho, speed, queue_speed, 1e-4, q_veh,
                per_link[LK_QUEUE_M])
    link_veh = per_link[LK_VEHICLES]
    cell_vht = acc_cell[0]
    cell_vkt = acc_cell[1]
    nc = rho.shape[0]
    vehicles = 0.0
    vht = 0.0
    vkt = 0.0
    delay = 0.0
    for k in range(link_c0.shape[0]):
        c0 = link_c0[k]
        c1 = c0 + link_n[k]
        mass = 0.0
        for i in range(nc):
            mass += rho[i, c0:c1].sum()
            # Free speed is uniform on a link: delay = VHT - VKT / v_free per link and class.
            t = cell_vht[i, c0:c1].sum()
            d = cell_vkt[i, c0:c1].sum()
            vht += t
            vkt += d
            delay += t - d / cell_vmax[i, c0]
        link_veh[k] = mass * link_dx[k]
        vehicles += link_veh[k]
    exited = 0.0
    for s in range(sink_link.shape[0]):
        for i in range(nc):
            exited += acc_link[1, i, sink_link[s]]
    point = 0.0
    generated = 0.0
    waiting = 0.0
    entered = 0.0
    for s in range(src_state.shape[2]):
        for i in range(nc):
            point += src_state[1, i, s]
            generated += src_state[2, i, s]
            waiting += src_state[3, i, s]
            entered += src_state[4, i, s]
    qv = 0.0
    qm = 0.0
    for k in range(link_c0.shape[0]):
        qv += q_veh[k]
        qm += per_link[LK_QUEUE_M, k]
    for g in range(signal_queue.shape[0]):
        total = 0.0
        for p in range(approach_ptr[g], approach_ptr[g + 1]):
            total += q_veh[approach_link[p]]
        signal_queue[g] = total
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
    if obs.shape[0] > 0:
        default_features(approach_link, link_c0, link_n, link_geo[1], link_vmax, cellp[1],
                         classp[1], rho, speed, per_link[LK_QUEUE_M], sig_state, sig_phase_ptr,
                         sig_max_green, obs)
