"""Per-signal views of a traffic-signal env: local observations and local step metrics.

One `LocalView` per env computes, for every signal at once (vectorised), what an agent
controlling that signal alone sees and is rewarded on. Nothing is measured twice: it reads the
env's own measurement of the step (`TrafficSignalEnv._measure`: speeds, per-link queues and
vehicles, the fused default observation, the per-signal queues) and the simulator's cumulative
accumulators, and regroups them by signal. Rewards come from the env's reward registry applied
to a per-signal `StepMetrics`, so "queue", "delay", "pressure", ... mean the same thing locally
as for the whole network.

Local observation of signal g (all features in [0, 1]; padded to the largest junction so one
shared policy serves every signal):

- per approach slot (up to the most approaches of any signal): the default observation's
  features of that approach (density and speed of each class, queue length / link length),
  zeros for slots the junction does not have;
- the shown phase one-hot (up to the most phases), green time / max green, change flag;
- phase structure: which phase slots exist, which approach slots exist (so heterogeneous
  junctions share one network);
- optionally (`neighbours=True`) per approach slot, a summary of the upstream signal feeding
  it: its approaches' queued vehicles / their storage, and whether it shows green to a
  movement into this approach (a platoon is coming).
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from arz_tui.env.metrics import StepMetrics
from arz_tui.env.traffic_env import TrafficSignalEnv
from sim.signals import CHANGE_LEFT, PHASE
from sim.stepper import A_OUT, A_VHT, A_VKT, S_WAITING

# Columns of the per-signal cumulative totals.
(L_DELAY, L_VHT, L_VKT, L_WAIT, L_OUT) = range(5)
N_LOCAL = 5


class LocalView:
    """Local observations and metrics of every signal of `env` (see the module doc)."""

    def __init__(self, env: TrafficSignalEnv, neighbours: bool = True) -> None:
        self.env = env
        self.neighbours = neighbours
        net = env.sim.net
        signals = net.signals
        self.n_signals = g_n = len(signals)
        if g_n == 0:
            raise ValueError(f"scenario {env.config.scenario!r} has no signals to control")
        self.n_phases = np.array([s.n_phases for s in signals], dtype=np.int64)
        n_appr = np.array([len(s.incoming) for s in signals], dtype=np.int64)
        self.max_phases = int(self.n_phases.max())
        self.max_approaches = m = int(n_appr.max())
        nc = net.cell_jam.shape[0]
        per_appr = 2 * nc + 1
        # Approaches in the env's order (signal, then its incoming links).
        self.appr_link = env._approach_link
        self.appr_sig = np.repeat(np.arange(g_n), n_appr)
        a_n = len(self.appr_link)
        slot = np.arange(a_n) - env._approach_ptr[:-1][self.appr_sig]

        # Index of every local feature into [fused observation, 0, 1].
        fused = env.observe.fused_output
        if fused is None or fused.size != a_n * per_appr + int((self.n_phases + 2).sum()):
            raise ValueError("per-signal views need the 'default' observation")
        zero, one = fused.size, fused.size + 1
        p = self.max_phases
        self.n_appr_features = m * per_appr
        width = m * per_appr + p + 2 + p + m
        self.n_own = width
        if neighbours:
            width += 2 * m
        self.size = width
        idx = np.full((g_n, m * per_appr + p + 2 + p + m), zero, dtype=np.int64)
        for a in range(a_n):
            g, s = self.appr_sig[a], slot[a]
            idx[g, s * per_appr:(s + 1) * per_appr] = a * per_appr + np.arange(per_appr)
            idx[g, m * per_appr + p + 2 + p + s] = one
        sig_off = a_n * per_appr + np.concatenate([[0], np.cumsum(self.n_phases + 2)[:-1]])
        for g in range(g_n):
            n = int(self.n_phases[g])
            base = m * per_appr
            idx[g, base:base + n] = sig_off[g] + np.arange(n)
            idx[g, base + p:base + p + 2] = sig_off[g] + n + np.arange(2)
            idx[g, base + p + 2:base + p + 2 + n] = one
        self._idx = idx
        self._ext = np.zeros(fused.size + 2, dtype=np.float32)
        self._ext[one] = 1.0
        self._obs = np.zeros((g_n, width), dtype=np.float32)

        # Upstream signal of each approach and the phases of it that feed the approach.
        self._up = np.full(a_n, -1, dtype=np.int64)
        n_global = int(net.sig_phase_ptr[-1])
        self._feeds = np.zeros((n_global + 1, a_n), dtype=np.float32)
        where = {int(k): a for a, k in enumerate(self.appr_link)}
        for h, sig in enumerate(signals):
            for ph, movs in enumerate(sig.phase_movements):
                for mv in movs:
                    fed = where.get(int(net.mov_i[1, mv]))
                    if fed is not None:
                        self._up[fed] = h
                        self._feeds[net.sig_phase_ptr[h] + ph, fed] = 1.0
        self._has_up = self._up >= 0
        self._up_safe = np.where(self._has_up, self._up, 0)
        self._nb_cols = (m * per_appr + p + 2 + p + m + 2 * slot,
                         m * per_appr + p + 2 + p + m + 2 * slot + 1)

        # Per-signal normalisers.
        storage = env.link_storage[self.appr_link]
        self.queue_ref = np.bincount(self.appr_sig, storage, minlength=g_n)
        self.queue_ref[self.queue_ref <= 0] = 1.0
        total = self.queue_ref.sum()
        self.flow_ref = env.flow_ref_vps * self.queue_ref / total
        self._sig_of_link = np.full(net.n_links, -1, dtype=np.int64)
        self._sig_of_link[self.appr_link] = self.appr_sig
        self._src_sig = self._sig_of_link[net.src_link]
        self._src_mask = self._src_sig >= 0
        mov_sig = net.mov_i[2]
        self._mov_mask = mov_sig >= 0
        self._mov_sig = mov_sig[self._mov_mask]
        self._mov_from = net.mov_i[0][self._mov_mask]
        self._mov_to = net.mov_i[1][self._mov_mask]
        n_mov = np.bincount(self._mov_sig, minlength=g_n).astype(float)
        self._mov_count = np.maximum(n_mov, 1.0)
        c0 = net.link_c0
        if np.any(np.diff(c0) <= 0):
            raise ValueError("per-signal views need links numbered in cell order")
        self._c0 = c0
        self._inv_vmax = 1.0 / net.cell_vmax
        self._now = np.zeros((g_n, N_LOCAL))
        self._before = np.zeros((g_n, N_LOCAL))
        self._previous_delay = np.zeros(g_n)

    # ------------------------------------------------------------------ spaces
    def observation_space(self) -> spaces.Box:
        return spaces.Box(low=0.0, high=1.0, shape=(self.size,), dtype=np.float32)

    # ------------------------------------------------------------------ per step
    def reset(self) -> None:
        """After the env's reset: the running totals start from the reset state."""
        self._cumulate()
        self._before = self._now.copy()
        self._previous_delay[:] = 0.0

    def observations(self) -> np.ndarray:
        """(signals, features) local observations of the env's current measurement
        (a view reused by the next call: copy what you keep)."""
        env = self.env
        self._ext[:-2] = env._obs_out
        obs = self._obs
        np.take(self._ext, self._idx, out=obs[:, :self.n_own])
        if self.neighbours:
            sig_state = env.sim.sig_state
            # Queued vehicles on each signal's approaches now (the env's per-link read-out at
            # the decision instant, also defined right after a reset).
            ref = np.bincount(self.appr_sig, env.link_queue_veh[self.appr_link],
                              minlength=self.n_signals) / self.queue_ref
            up = self._up_safe
            q = np.minimum(ref[up], 1.0) * self._has_up
            shown = env.sim.net.sig_phase_ptr[:-1] + sig_state[PHASE].astype(np.int64)
            steady = sig_state[CHANGE_LEFT] <= 0.0
            green = self._feeds[shown[up], np.arange(len(up))] * (steady[up] & self._has_up)
            obs[self.appr_sig, self._nb_cols[0]] = q
            obs[self.appr_sig, self._nb_cols[1]] = green
        return obs

    def step_metrics(self, network: StepMetrics) -> list[StepMetrics]:
        """Each signal's StepMetrics of the interval that just ended (call once per step,
        after the env finished it; `network` is the env's own)."""
        self._cumulate()
        now, before = self._now, self._before
        d = now - before
        delay = d[:, L_DELAY] + d[:, L_WAIT]
        travel = d[:, L_VHT] + d[:, L_WAIT]
        env = self.env
        pressure = self._pressure()
        queue_m = np.bincount(self.appr_sig, env.link_queue_m[self.appr_link],
                              minlength=self.n_signals)
        vehicles = np.bincount(self.appr_sig, env.link_vehicles[self.appr_link],
                               minlength=self.n_signals)
        previous = self._previous_delay
        # Time means over the interval, as the network's: queued vehicle-seconds on the
        # approaches (the env's per-signal read-out) plus the entries' waiting, over the span.
        sq = network.signal_queue_veh
        entry = d[:, L_WAIT] / network.interval
        queue = sq + entry
        out = []
        for g in range(self.n_signals):
            one = sq[g:g + 1].copy()
            one.flags.writeable = False
            out.append(StepMetrics(
                network.t, network.interval, float(queue[g]), float(queue_m[g]),
                float(entry[g]), float(vehicles[g]), float(delay[g]),
                float(previous[g]), float(d[g, L_OUT]), float(travel[g]),
                float(d[g, L_VKT]), float(pressure[g]), one, float(self.queue_ref[g]),
                float(self.flow_ref[g])))
        self._previous_delay = delay
        self._before = now.copy()
        return out

    def _cumulate(self) -> None:
        """Cumulative per-signal totals of the current state."""
        env = self.env
        sim = env.sim
        g_n = self.n_signals
        lost = sim.acc_cell[A_VHT] - sim.acc_cell[A_VKT] * self._inv_vmax
        link_delay = np.add.reduceat(lost.sum(axis=0), self._c0)
        link_vht = np.add.reduceat(sim.acc_cell[A_VHT].sum(axis=0), self._c0)
        link_vkt = np.add.reduceat(sim.acc_cell[A_VKT].sum(axis=0), self._c0)
        link_out = sim.acc_link[A_OUT].sum(axis=0)
        a, s = self.appr_link, self.appr_sig
        now = self._now
        now[:, L_DELAY] = np.bincount(s, link_delay[a], minlength=g_n)
        now[:, L_VHT] = np.bincount(s, link_vht[a], minlength=g_n)
        now[:, L_VKT] = np.bincount(s, link_vkt[a], minlength=g_n)
        now[:, L_OUT] = np.bincount(s, link_out[a], minlength=g_n)
        src = sim.src_state
        m, ss = self._src_mask, self._src_sig[self._src_mask]
        now[:, L_WAIT] = np.bincount(ss, src[S_WAITING].sum(axis=0)[m], minlength=g_n)

    def _pressure(self) -> np.ndarray:
        env = self.env
        load = np.minimum(env.link_vehicles / env.link_storage, 1.0)
        diff = load[self._mov_from] - load[self._mov_to]
        return np.bincount(self._mov_sig, diff, minlength=self.n_signals) / self._mov_count
