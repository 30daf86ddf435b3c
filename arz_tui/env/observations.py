"""Pluggable observation functions (as in sumo-rl): a class with `space()` and `__call__()`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import numpy as np
from gymnasium import spaces

from sim.jit import kernel
from sim.signals import CHANGE_LEFT, GREEN_TIME, PHASE

if TYPE_CHECKING:
    from arz_tui.env.traffic_env import TrafficSignalEnv


class ObservationFunction(ABC):
    """Maps the env's current state to an observation; subclass and register in OBSERVATIONS.

    Called right after the env measured the state, so `env.speed`, `env.link_queue_m`,
    `env.link_vehicles` and the simulator arrays are current.
    """

    fused_output: np.ndarray | None = None
    """Set by an observation the env's measurement kernel computes in the same pass (saves a
    kernel call per step); None for observations computed in __call__."""

    def __init__(self, env: TrafficSignalEnv) -> None:
        self.env = env

    @abstractmethod
    def space(self) -> spaces.Box:
        """The observation space."""

    @abstractmethod
    def __call__(self) -> np.ndarray:
        """The observation of the current state."""


@kernel
def default_features(approach_link, link_c0, link_n, link_length, link_vmax, cell_jam, pce,
                      rho, speed, q_len, sig_state, sig_phase_ptr, sig_max_green, out):
    nc = rho.shape[0]
    o = 0
    for a in range(approach_link.shape[0]):
        k = approach_link[a]
        c0 = link_c0[k]
        n = link_n[k]
        for i in range(nc):
            dens = 0.0
            flow = 0.0
            for c in range(c0, c0 + n):
                dens += rho[i, c]
                flow += rho[i, c] * speed[i, c]
            jam = cell_jam[i, c0] / pce[i]
            out[o] = min(dens / n / jam, 1.0)
            out[o + nc] = min(flow / dens / link_vmax[i, k], 1.0) if dens > 1e-9 else 1.0
            o += 1
        o += nc
        out[o] = min(q_len[k] / link_length[k], 1.0)
        o += 1
    for g in range(sig_state.shape[1]):
        n_ph = sig_phase_ptr[g + 1] - sig_phase_ptr[g]
        shown = int(sig_state[PHASE, g])
        for p in range(n_ph):
            out[o + p] = 1.0 if p == shown else 0.0
        o += n_ph
        out[o] = min(sig_state[GREEN_TIME, g] / sig_max_green[g], 1.0)
        out[o + 1] = 1.0 if sig_state[CHANGE_LEFT, g] > 0.0 else 0.0
        o += 2


class DefaultObservation(ObservationFunction):
    """Per approach of every signal (in signal order, then the signal's incoming links):
    mean density of each class over the link / its jam density, space-mean speed of each class
    / its free speed (1 when absent), queue length / link length; then per signal the shown
    phase one-hot, green time / max green (clipped at 1) and a yellow/all-red flag.
    All features lie in [0, 1]."""

    def __init__(self, env: TrafficSignalEnv) -> None:
        super().__init__(env)
        net = env.sim.net
        self.approach_link = np.array([k for s in net.signals for k in s.incoming],
                                      dtype=np.int64)
        self.max_green = np.array([s.max_green_s for s in net.signals])
        n_classes = net.cell_jam.shape[0]
        self.size = (len(self.approach_link) * (2 * n_classes + 1)
                     + sum(s.n_phases + 2 for s in net.signals))
        # The env's measure kernel fills this array (see `measure`).
        self.fused_output = np.zeros(self.size, dtype=np.float32)

    def space(self) -> spaces.Box:
        return spaces.Box(low=0.0, high=1.0, shape=(self.size,), dtype=np.float32)

    def __call__(self) -> np.ndarray:
        return self.fused_output.copy()


OBSERVATIONS: dict[str, type[ObservationFunction]] = {"default": DefaultObservation}
"""Observation functions by name (EnvConfig.observation)."""
