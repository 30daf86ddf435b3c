"""Samples the network map during training: every `stride` training steps, and at most
`max_fps` times per wall-clock second, replica 0 of the training env is read (each link's
occupancy, each signal's queue and phase) and appended to the run's logs/netstate.jsonl
(`runstore.netstate` owns that format).

A frame costs a few hundred microseconds (three small arrays to JSON, one flushed line), so
at 2 frames/s the map costs well under 1 % of training time whatever the training speed.
Joint and per-signal control alike: both vec envs keep one `TrafficSignalEnv` per replica.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from arz_tui.runstore import EventKind, RunLayout
from arz_tui.runstore.netstate import NetFrame, NetHeader, NetStateWriter, header_of
from arz_tui.training.events import EventBus

MAX_FPS = 2.0
"""Frames per wall-clock second at most (the dashboard redraws no faster)."""


def network_header(env: Any, stride: int = 1) -> NetHeader:
    """The map of `env`'s network: nodes with their coordinates, links in the simulator's
    order, signals with their phases."""
    scenario = env.config.scenario_spec
    net = env.sim.net
    by_id = {lk.id: lk for lk in scenario.links}
    return header_of(
        env.config.scenario,
        [(n.id, n.x_m, n.y_m) for n in scenario.nodes],
        [(k, by_id[k].from_node, by_id[k].to_node) for k in net.link_ids],
        [(s.node, list(s.phase_names)) for s in net.signals], stride)


def network_frame(env: Any, step: int) -> NetFrame:
    """`env`'s state after its last decision: occupancy = vehicles / storage per link; the
    queue on each signal's approaches, time mean over the last decision interval (0 right
    after a reset); the phase each signal shows."""
    metrics = env.last_metrics
    queue = (metrics.signal_queue_veh if metrics is not None
             else np.zeros(len(env.sim.net.signals)))
    return NetFrame.of(step, env.sim.t, env.link_vehicles / env.link_storage, queue,
                       env.sim.signal_phase())


class NetStateCallback(BaseCallback):
    """Appends a frame of replica 0 every `every` decisions (batched env steps) and at most
    `max_fps` per second; continues the stream of a resumed run."""

    def __init__(self, layout: RunLayout, events: EventBus, every: int = 1,
                 max_fps: float = MAX_FPS) -> None:
        super().__init__()
        self.layout = layout
        self.events = events
        self.every = max(1, int(every))
        self.min_gap_s = 1.0 / max_fps if max_fps > 0 else math.inf
        self.writer: NetStateWriter | None = None
        self._env: Any = None
        self._t_last = -math.inf

    def _on_training_start(self) -> None:
        vec = self.training_env.unwrapped
        self._env = vec.envs[0]
        start = int(self.model.num_timesteps)
        header = network_header(self._env, self.every * vec.num_envs)
        self.writer = NetStateWriter(self.layout.netstate, header, start, self.layout.root)
        if self.writer.note:
            self.events.publish(EventKind.LOG, start, message=self.writer.note)

    def _on_step(self) -> bool:
        writer = self.writer
        step = self.num_timesteps
        if writer is None or not writer.due(step):
            return True
        now = time.perf_counter()
        if now - self._t_last < self.min_gap_s:
            return True
        self._t_last = now
        writer.append(network_frame(self._env, step))
        return True

    def _on_training_end(self) -> None:
        if self.writer is not None:
            self.writer.close()
