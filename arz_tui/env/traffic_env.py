"""Gymnasium env: choose the phases of every signal each decision interval."""

from __future__ import annotations

import inspect
import math
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from arz_tui.env.actions import PhaseActionCodec
from arz_tui.env.config import DEMAND_LEVELS, EnvConfig, EnvConfigError
from arz_tui.env.demand import random_level, sample_demand
from arz_tui.env.measure import (
    LK_QUEUE_M,
    LK_QUEUE_VEH,
    LK_VEHICLES,
    N_PER_LINK,
    N_TOTALS,
    T_DELAY,
    T_EXITED,
    T_GENERATED,
    T_POINT_QUEUE,
    T_PRESSURE,
    T_QUEUE_M,
    T_QUEUE_VS,
    T_VEHICLES,
    T_VHT,
    T_VKT,
    T_WAIT,
    measure,
)
from arz_tui.env.metrics import EpisodeTotals, StepMetrics
from arz_tui.env.observations import OBSERVATIONS
from arz_tui.env.rewards import REWARDS
from sim.jit import compiled
from sim.simulator import Simulator

MAX_JOINT_ACTIONS = 65_536
"""Largest joint action space (product of the signals' phase counts) the joint env builds:
its action table and a DQN head over it stay small; larger networks are per-signal tasks."""


_MEASURE_PARAMS = list(inspect.signature(getattr(measure, "py_func", measure)).parameters)
_ARG_SIGNAL_QUEUE = _MEASURE_PARAMS.index("signal_queue")
_ARG_PHASE = _MEASURE_PARAMS.index("phase")
"""Positions of the fresh output arrays of `measure` in its bound arguments."""


class StepInfo(dict):
    """The `info` dict. Its values are immutable (numbers, strings, read-only arrays, frozen
    metric objects), so a deep copy can share them: SB3's DummyVecEnv deep-copies every info of
    every step, which otherwise costs more than a whole simulated interval."""

    def __deepcopy__(self, memo: dict) -> StepInfo:
        return StepInfo(self)


class TrafficSignalEnv(gym.Env):
    """Traffic-signal control on a two-class ARZ network (see docs/env.md).

    Action: Discrete over the joint phase choices of all signals (`PhaseActionCodec`).
    A requested change starts a yellow/all-red and is refused before min green.
    Observation: `EnvConfig.observation` (default: see `DefaultObservation`).
    Reward: `EnvConfig.reward`. Episodes end by truncation after `episode_s`.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, config: EnvConfig | None = None, render_mode: str | None = None,
                 simulator: Simulator | None = None, joint_action: bool = True,
                 **overrides: Any) -> None:
        """`simulator` (default: a new one of the config's scenario) is where the env's
        traffic lives; the batched vec env passes one replica of its batch.
        `joint_action=False` takes one phase per signal (`MultiDiscrete`, -1 keeps) instead
        of the joint index, for networks of any size (the per-signal envs build on it)."""
        if config is None:
            config = EnvConfig.build(**overrides)
        elif overrides:
            config = EnvConfig.build(**{**dict(config), **overrides})
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r} not supported; use 'ansi' or None")
        self.config = config
        self.render_mode = render_mode
        self.sim = Simulator(config.scenario_spec) if simulator is None else simulator
        net = self.sim.net
        joint = math.prod(s.n_phases for s in net.signals)
        self.codec: PhaseActionCodec | None = None
        if not joint_action:
            self.action_space = spaces.MultiDiscrete([s.n_phases for s in net.signals])
        elif joint > MAX_JOINT_ACTIONS:
            raise EnvConfigError(
                f"env config: scenario {config.scenario!r}: the joint action space of its "
                f"{len(net.signals)} signals has {joint:.3g} actions (at most "
                f"{MAX_JOINT_ACTIONS:,} for the joint env); control it per signal, or choose "
                "fewer signals or phases (e.g. grid:2x2?phases=2)")
        else:
            self.codec = PhaseActionCodec([s.n_phases for s in net.signals])
            self.action_space = spaces.Discrete(self.codec.n)

        n, n_links = net.n_cells, net.n_links
        self.speed = np.zeros((net.cell_jam.shape[0], n))
        self._occ = np.zeros(n)
        self.per_link = np.zeros((N_PER_LINK, n_links))
        self.link_queue_veh = self.per_link[LK_QUEUE_VEH]
        self.link_queue_m = self.per_link[LK_QUEUE_M]
        self.link_vehicles = self.per_link[LK_VEHICLES]
        self._totals = np.zeros(N_TOTALS)
        self._now: list[float] = [0.0] * N_TOTALS
        self._before: list[float] = [0.0] * N_TOTALS
        # Queued vehicle-seconds on each signal's approaches at the last measurement, the
        # interval mean since the one before, and the phases shown (fresh read-only arrays
        # per measurement: `info` and StepMetrics hand them out).
        self._signal_queue_ref = np.zeros(len(net.signals))
        self._signal_queue = self._signal_queue_ref.copy()
        self._phase = np.zeros(len(net.signals), dtype=np.int64)
        self._measure_args: list | None = None
        approaches = [list(s.incoming) for s in net.signals]
        self._approach_ptr = np.zeros(len(approaches) + 1, dtype=np.int64)
        self._approach_ptr[1:] = np.cumsum([len(a) for a in approaches])
        self._approach_link = np.array([k for a in approaches for k in a], dtype=np.int64)
        self.link_storage = net.link_length * net.link_lanes * net.classes[1].rho_max
        self._link_geo = np.stack([net.link_dx, net.link_length, self.link_storage])
        storage = self.link_storage[self._approach_link].sum() if len(self._approach_link) else 0
        self.queue_ref_veh = float(storage) if storage > 0 else float(self.link_storage.sum())
        self._base_rates = self.sim.profile_rates(duration=config.episode_s)
        peak = self._base_rates.sum(axis=(0, 1)).max() if self._base_rates.size else 0.0
        self.flow_ref_vps = float(peak) if peak > 0 else 1.0

        self.observe = OBSERVATIONS[config.observation](self)
        self.observation_space = self.observe.space()
        fused = self.observe.fused_output
        self._obs_out = fused if fused is not None else np.zeros(0, dtype=np.float32)
        self._max_green = np.array([s.max_green_s for s in net.signals])
        reward = config.reward
        self.reward_fn = REWARDS[reward] if isinstance(reward, str) else reward
        self.interval = config.decision_interval_s
        self.steps_per_episode = max(1, math.ceil(config.episode_s / self.interval - 1e-9))
        self.demand_level: str | float = config.demand_level
        self.last_metrics: StepMetrics | None = None
        self._step = 0
        self._previous_delay = 0.0
        self._queue_max = 0.0

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, StepInfo]:
        """Start an episode. options: {"demand_level": name or number} for this episode."""
        super().reset(seed=seed)
        cfg = self.config
        level: str | float = cfg.demand_level
        if options and "demand_level" in options:
            level = EnvConfig.build(scenario=cfg.scenario,
                                    demand_level=options["demand_level"]).demand_level
        elif cfg.random_demand_level:
            level = random_level(self.np_random)
        self.demand_level = level
        scale = DEMAND_LEVELS[level] if isinstance(level, str) else float(level)
        self.sim.set_demand(sample_demand(self._base_rates, scale, cfg.demand_noise,
                                          self.np_random))
        self.sim.reset()
        self._step = 0
        self._previous_delay = 0.0
        self._queue_max = 0.0
        self._measure()
        self._before = self._now
        self.last_metrics = None
        info = StepInfo(t=0.0, phase=self._phase, demand_level=level)
        return self.observe(), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, StepInfo]:
        phases = (np.asarray(action, dtype=np.int64) if self.codec is None
                  else self.codec.decode(action))
        self.sim.advance(self.interval, phases)
        return self.finish_step()

    def finish_step(self) -> tuple[np.ndarray, float, bool, bool, StepInfo]:
        """The rest of `step` once the simulator has advanced one interval (the batched vec
        env advances every replica in one call, then finishes each env's step)."""
        self._measure()
        m = self._metrics()
        self._before = self._now
        self._previous_delay = m.delay_vs
        self.last_metrics = m
        self._step += 1
        reward = float(self.reward_fn(m))
        truncated = self._step >= self.steps_per_episode
        info = self._info(m, truncated)
        return self.observe(), reward, False, truncated, info

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        m = self.last_metrics
        head = f"t={self.sim.t:7.0f} s  phases={self.sim.signal_phase().tolist()}"
        if m is None:
            return head
        return (f"{head}  queue={m.queue_veh:7.1f} veh  exited={m.throughput_vph:7.0f} veh/h"
                f"  speed={m.mean_speed_kmh:5.1f} km/h")

    # ------------------------------------------------------------------ measurements
    def _measure(self) -> None:
        args = self._measure_args
        if args is None:
            args = self._bind_measure()
        n_sig = len(self._phase)
        signal_queue = args[_ARG_SIGNAL_QUEUE] = np.empty(n_sig)
        phase = args[_ARG_PHASE] = np.empty(n_sig, dtype=np.int64)
        self._measure_fn(*args)
        self._now = self._totals.tolist()
        signal_queue.flags.writeable = False
        phase.flags.writeable = False
        self._signal_queue = signal_queue
        self._phase = phase

    def __getstate__(self) -> dict:
        # The bound entry point is a compiled function (not picklable); bind again after.
        state = self.__dict__.copy()
        state["_measure_args"] = None
        state.pop("_measure_fn", None)
        return state

    def _bind_measure(self) -> list:
        """The arguments of `measure` (arrays that keep their types for the env's life) and
        its compiled entry point, called directly (`sim.jit.compiled`)."""
        sim = self.sim
        net = sim.net
        args = [sim.state, net.cellp, net.classp, net.link_i, self._link_geo, net.link_vmax,
                float(net.queue_speed), sim.acc_cell, sim.acc_link, sim.faces, net.sink_link,
                sim.src_state,
                net.mov_i, self._approach_ptr, self._approach_link, sim.sig_state,
                net.sig_phase_ptr, self._max_green, self._occ, self.speed, self.per_link,
                self._signal_queue_ref, 1.0 / self.interval, self._signal_queue.copy(),
                self._phase.copy(), self._totals, self._obs_out]
        self._measure_fn = compiled(measure, args)
        self._measure_args = args
        return args

    def _metrics(self) -> StepMetrics:
        now, before = self._now, self._before
        waited = now[T_WAIT] - before[T_WAIT]
        # Time means over every substep of the interval (the point queues' waiting time is
        # their queue's time integral).
        span = self.interval
        queue = (now[T_QUEUE_VS] - before[T_QUEUE_VS] + waited) / span
        self._queue_max = max(self._queue_max, queue)
        signal_queue = self._signal_queue
        return StepMetrics(
            self.sim.t, self.interval, queue, now[T_QUEUE_M], waited / span,
            now[T_VEHICLES], now[T_DELAY] - before[T_DELAY] + waited, self._previous_delay,
            now[T_EXITED] - before[T_EXITED], now[T_VHT] - before[T_VHT] + waited,
            now[T_VKT] - before[T_VKT], now[T_PRESSURE], signal_queue, self.queue_ref_veh,
            self.flow_ref_vps)

    def episode_totals(self) -> EpisodeTotals:
        """Totals of the current episode so far."""
        now = self._now
        arrived = now[T_GENERATED]
        delay = now[T_DELAY] + now[T_WAIT]
        in_system = now[T_VHT] + now[T_WAIT]
        return EpisodeTotals(
            simulated_s=self.sim.t, total_delay_vh=delay / 3600.0,
            mean_delay_s=delay / arrived if arrived > 0 else 0.0,
            mean_travel_time_s=in_system / arrived if arrived > 0 else 0.0,
            vehicles_arrived=arrived, vehicles_served=now[T_EXITED],
            vehicles_remaining=now[T_VEHICLES] + now[T_POINT_QUEUE],
            mean_queue_veh=(now[T_QUEUE_VS] + now[T_WAIT]) / self.sim.t if self.sim.t > 0
            else 0.0, max_queue_veh=self._queue_max)

    def _info(self, m: StepMetrics, done: bool) -> StepInfo:
        now = self._now
        arrived = now[T_GENERATED]
        phase = self._phase
        info = StepInfo(
            t=m.t, queue_veh=m.queue_veh, queue_m=m.queue_m, entry_queue_veh=m.entry_queue_veh,
            mean_delay_s=(now[T_DELAY] + now[T_WAIT]) / arrived if arrived > 0 else 0.0,
            throughput_vph=m.throughput_vph, mean_speed_kmh=m.mean_speed_kmh,
            vehicles=m.vehicles, signal_queue_veh=m.signal_queue_veh, phase=phase, metrics=m)
        if done:
            info["episode_totals"] = self.episode_totals()
        return info

    # ------------------------------------------------------------------ views for tools
    def corridor_density(self) -> np.ndarray:
        """Occupancy (car-equivalents per km and lane) of every cell along the scenario's
        corridor, upstream to downstream: one row of a time-space diagram."""
        net = self.sim.net
        if not net.corridor:
            return np.zeros(0)
        rows = []
        for k in net.corridor:
            cells = self.sim.link_slice(k)
            occ = (net.pce[:, None] * self.sim.rho[:, cells]).sum(axis=0)
            rows.append(occ / net.link_lanes[k] * 1000.0)
        return np.concatenate(rows)
