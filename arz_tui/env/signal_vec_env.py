"""Per-signal control for SB3: every signal of every replica is one slot of a VecEnv.

Shared-parameter learning (as MPLight and RESCO's shared IDQN do): one policy, fed the
transitions of all signals. Slot `r * signals + g` is signal g of replica r; the replicas'
traffic advances in one batched kernel call (`sim.batch.BatchSimulator`), then each replica's
`TrafficSignalEnv` measures the step and its `LocalView` gives every signal its local
observation and reward (the same as `arz_tui.env.parallel_env`'s agents get).

The action space is `Discrete(most phases of any signal)`; an action a signal does not have
(a >= its phases) keeps its phase, and the observation's phase-structure features tell the
policy which actions exist. Slot infos: the agent's local `StepMetrics` under "local", the
replica's network `StepInfo` under "network", the network's `queue_veh`, and at the end of an
episode the network's `episode_totals` (every slot of a replica reports the same totals).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvObs, VecEnvStepReturn

from arz_tui.env.config import EnvConfig
from arz_tui.env.local import LocalView
from arz_tui.env.traffic_env import TrafficSignalEnv
from arz_tui.env.vec_env import TrafficVecEnv
from sim.batch import BatchSimulator


class SignalVecEnv(TrafficVecEnv):
    """`n_replicas` replicas of `config`'s network, one VecEnv slot per signal and replica
    (see the module doc). `envs[r]` is replica r's env; `views[r]` its LocalView."""

    def __init__(self, config: EnvConfig | None = None, n_replicas: int = 1,
                 autoreset: bool = True, neighbours: bool = True, **overrides: Any) -> None:
        if config is None:
            config = EnvConfig.build(**overrides)
        elif overrides:
            config = EnvConfig.build(**{**dict(config), **overrides})
        self.config = config
        self.autoreset = autoreset
        self.batch = BatchSimulator(config.scenario_spec, n_replicas)
        self.envs = [TrafficSignalEnv(config, simulator=rep, joint_action=False)
                     for rep in self.batch.replicas]
        self.views = [LocalView(env, neighbours) for env in self.envs]
        view = self.views[0]
        self.n_replicas = n_replicas
        self.n_signals = view.n_signals
        self.n_phases = view.n_phases
        self.interval = self.envs[0].interval
        VecEnv.__init__(self, n_replicas * self.n_signals, view.observation_space(),
                        spaces.Discrete(view.max_phases))
        self._obs = np.zeros((self.num_envs, view.size), dtype=np.float32)
        self._actions = np.zeros(self.num_envs, dtype=np.int64)
        self._tile_phases = np.tile(self.n_phases, n_replicas)

    def slot(self, replica: int, signal: int) -> int:
        return replica * self.n_signals + signal

    def replica_seed(self, r: int) -> int | None:
        """The seed replica r takes from SB3's per-slot seeds (its first slot's)."""
        return self._seeds[r * self.n_signals]

    # ------------------------------------------------------------------ VecEnv API
    def reset(self, seed: int | Sequence[int] | None = None,
              options: dict[str, Any] | None = None) -> VecEnvObs:
        """Start an episode in every replica: replica r with seed `seed + r * signals` (SB3's
        per-slot seeds, the replica taking its first slot's), or `seed[r]` for a sequence of
        one seed per replica."""
        g_n = self.n_signals
        if isinstance(seed, Sequence):
            if len(seed) != self.n_replicas:
                raise ValueError(f"need {self.n_replicas} seeds (one per replica), "
                                 f"got {len(seed)}")
            self._seeds = [int(s) for s in seed for _ in range(g_n)]
        elif seed is not None:
            self.seed(seed)
        if options is not None:
            self.set_options(options)
        for r, (env, view) in enumerate(zip(self.envs, self.views, strict=True)):
            opts = self._options[r * g_n] or None
            _, info = env.reset(seed=self.replica_seed(r), options=opts)
            view.reset()
            self._obs[r * g_n:(r + 1) * g_n] = view.observations()
            for g in range(g_n):
                self.reset_infos[r * g_n + g] = {"network": info, "agent": g}
        self._reset_seeds()
        self._reset_options()
        return self._obs.copy()

    def step_async(self, actions: np.ndarray) -> None:
        a = np.asarray(actions).reshape(-1)
        if a.shape != (self.num_envs,):
            raise ValueError(f"need {self.num_envs} actions, got shape "
                             f"{np.asarray(actions).shape}")
        if not np.issubdtype(a.dtype, np.integer):
            if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
                raise ValueError("actions must be integer indices")
            a = a.astype(np.int64)
        if a.size and (a.min() < 0 or a.max() >= self.action_space.n):  # type: ignore[attr-defined]
            raise ValueError(f"actions must lie in [0, {self.action_space.n})")  # type: ignore[attr-defined]
        self._actions = a.astype(np.int64, copy=False)

    def step_wait(self) -> VecEnvStepReturn:
        g_n = self.n_signals
        requests = np.where(self._actions < self._tile_phases, self._actions, -1)
        self.batch.advance(self.interval, requests.reshape(self.n_replicas, g_n))
        rewards = np.zeros(self.num_envs, dtype=np.float32)
        dones = np.zeros(self.num_envs, dtype=bool)
        infos: list[dict[str, Any]] = []
        for r, (env, view) in enumerate(zip(self.envs, self.views, strict=True)):
            _, _, terminated, truncated, info = env.finish_step()
            local = view.step_metrics(info["metrics"])
            reward_fn = env.reward_fn
            rows = slice(r * g_n, (r + 1) * g_n)
            for g in range(g_n):
                rewards[r * g_n + g] = reward_fn(local[g])
            obs = view.observations()
            done = terminated or truncated
            totals = info.get("episode_totals")
            for g in range(g_n):
                slot_info: dict[str, Any] = {
                    "agent": g, "local": local[g], "network": info,
                    "queue_veh": info["queue_veh"],
                    "TimeLimit.truncated": truncated and not terminated}
                if done:
                    slot_info["terminal_observation"] = obs[g].copy()
                    slot_info["episode_totals"] = totals
                infos.append(slot_info)
            if done:
                dones[rows] = True
                if self.autoreset:
                    env.reset()
                    view.reset()
                    obs = view.observations()
            self._obs[rows] = obs
        return self._obs.copy(), rewards, dones, infos

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None] * self.num_envs

    def _targets(self, indices: Any) -> Iterable[TrafficSignalEnv]:
        # A slot's attributes are its replica's env's.
        return [self.envs[i // self.n_signals] for i in self._get_indices(indices)]
