"""Junction (node) model: Lebacque demand/supply with turning ratios, merge priorities, signals.

Each movement m (from link k to link j) asks for the occupancy demand
    d_m = green_m * beta_m * D_k
of its class, D_k being the demand of k's last cell. The receiving link j offers the supply of
its first cell to the mixture of incoming markers (demand-weighted mean w, capped at j's free
speed); when the movements into j ask for more, the supply is shared by priority with
water-filling (a movement never gets more than it asks; what it leaves goes to the others), as
in Daganzo's and Lebacque's merge models. Nodes may be FIFO (a blocked movement holds back its
whole approach) or not (movements have their own lanes: the default at signalised junctions).
Vehicle flows are the sending cell's class share times the admitted occupancy flow, so a 1-in
1-out node reproduces the link-interior Godunov flux exactly.
"""

from __future__ import annotations

from sim.flux import C_CRIT, C_JAM, C_SLOPE, C_VMAX, class_supply
from sim.jit import kernel

W_MARK, W_SPEED, W_DEMAND, W_SHARE = 0, 1, 3, 4  # rows of the stepper's work array
ASK, THETA, ACTIVE = 0, 1, 2  # rows of the movement scratch array


@kernel
def _share_by_priority(i, lo, hi, link_in_mov, mov_prio, scratch, available):
    """Water-filling of `available` among the movements link_in_mov[lo:hi] for class i."""
    count = 0
    for p in range(lo, hi):
        m = link_in_mov[p]
        active = scratch[ASK, i, m] > 0.0
        scratch[ACTIVE, i, m] = 1.0 if active else 0.0
        count += 1 if active else 0
    remaining = available
    for _ in range(count):
        wsum = 0.0
        for p in range(lo, hi):
            m = link_in_mov[p]
            if scratch[ACTIVE, i, m] > 0.0:
                wsum += mov_prio[m]
        if wsum <= 0.0:
            return
        served = 0.0
        satisfied = False
        for p in range(lo, hi):
            m = link_in_mov[p]
            if scratch[ACTIVE, i, m] > 0.0 and scratch[ASK, i, m] <= remaining * mov_prio[m] / wsum:
                scratch[ACTIVE, i, m] = 0.0
                scratch[THETA, i, m] = 1.0
                served += scratch[ASK, i, m]
                satisfied = True
        if not satisfied:
            for p in range(lo, hi):
                m = link_in_mov[p]
                if scratch[ACTIVE, i, m] > 0.0:
                    scratch[THETA, i, m] = remaining * mov_prio[m] / wsum / scratch[ASK, i, m]
            return
        remaining -= served
        if remaining < 0.0:
            remaining = 0.0


@kernel
def junction_fluxes(link_i, mov_i, mov_cells, mov_beta, mov_prio, mov_green, csr_ptr, csr_mov,
                    cellp, classp, work, qf, qin, win, scratch):
    """Outflow of every link's last cell and inflow into every link's first cell at
    junctions. mov_cells rows: last cell of the from link, first cell of the to link (unsigned,
    so indexing with them needs no negative-index check); csr_ptr/csr_mov row 0 lists the
    movements into each link, row 1 those out of it."""
    n_mov = mov_i.shape[1]
    if n_mov == 0:
        return
    link_c0 = link_i[0]
    link_up_junction = link_i[2]
    link_fifo = link_i[3]
    from_cell = mov_cells[0]
    to_cell = mov_cells[1]
    nc = qf.shape[0]
    for i in range(nc):
        ask = scratch[ASK, i]
        theta = scratch[THETA, i]
        dem = work[W_DEMAND, i]
        beta = mov_beta[i]
        for m in range(n_mov):
            ask[m] = mov_green[m] * beta[m] * dem[from_cell[m]]
            theta[m] = 1.0

    for j in range(link_c0.shape[0]):
        if not link_up_junction[j]:
            continue
        lo = csr_ptr[0, j]
        hi = csr_ptr[0, j + 1]
        c = link_c0[j]
        for i in range(nc):
            asked = 0.0
            marked = 0.0
            for p in range(lo, hi):
                m = csr_mov[0, p]
                d = scratch[ASK, i, m]
                asked += d
                marked += d * work[W_MARK, i, from_cell[m]]
            if asked <= 0.0:
                continue
            vmax = cellp[C_VMAX, i, c]
            w_in = min(marked / asked, vmax)
            sup = class_supply(w_in, work[W_SPEED, i, c], vmax, cellp[C_JAM, i, c],
                               cellp[C_CRIT, i, c], cellp[C_SLOPE, i, c], classp, i)
            if asked > sup:
                _share_by_priority(i, lo, hi, csr_mov[0], mov_prio, scratch, sup)

    for k in range(link_c0.shape[0]):
        if not link_fifo[k]:
            continue
        # k ends at a FIFO node: its most restricted movement sets the pace of all of them.
        for i in range(nc):
            theta = 1.0
            for p in range(csr_ptr[1, k], csr_ptr[1, k + 1]):
                m = csr_mov[1, p]
                if scratch[ASK, i, m] > 0.0 and scratch[THETA, i, m] < theta:
                    theta = scratch[THETA, i, m]
            for p in range(csr_ptr[1, k], csr_ptr[1, k + 1]):
                scratch[THETA, i, csr_mov[1, p]] = theta

    for i in range(nc):
        q_out = qf[i]
        q_in = qin[i]
        w_in = win[i]
        for m in range(n_mov):
            q_out[from_cell[m]] = 0.0
            q_in[to_cell[m]] = 0.0
            w_in[to_cell[m]] = 0.0
        share = work[W_SHARE, i]
        mark = work[W_MARK, i]
        vmax = cellp[C_VMAX, i]
        ask = scratch[ASK, i]
        theta = scratch[THETA, i]
        # w_in first collects marker flux, then becomes the mass-weighted marker of what enters.
        for m in range(n_mov):
            cf = from_cell[m]
            ct = to_cell[m]
            q = share[cf] * theta[m] * ask[m]
            q_out[cf] += q
            q_in[ct] += q
            w_in[ct] += q * min(mark[cf], vmax[ct])
    for j in range(link_c0.shape[0]):
        if link_up_junction[j]:
            c = link_c0[j]
            for i in range(nc):
                win[i, c] = win[i, c] / qin[i, c] if qin[i, c] > 0.0 else cellp[C_VMAX, i, c]
