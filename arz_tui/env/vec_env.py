"""A native SB3 VecEnv: N traffic-signal envs whose simulators are replicas of one batch.

Not N simulators stepped in a loop (DummyVecEnv) nor in subprocesses: the N replicas' traffic
advances in one kernel call (`sim.batch.BatchSimulator`), then each replica's own
`TrafficSignalEnv` measures, observes, rewards and reports it exactly as it would alone, so a
`TrafficVecEnv` seeded with s gives the transitions of `DummyVecEnv` over N separate
`TrafficSignalEnv`s seeded s, s + 1, ... (tests/test_batch_env.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import (
    VecEnv,
    VecEnvIndices,
    VecEnvObs,
    VecEnvStepReturn,
)

from arz_tui.env.config import EnvConfig
from arz_tui.env.traffic_env import TrafficSignalEnv
from sim.batch import BatchSimulator


class TrafficVecEnv(VecEnv):
    """`n_envs` replicas of the traffic-signal env of `config`, stepped together.

    Observations, rewards and dones are stacked arrays; `infos[i]` is replica i's `StepInfo`
    (physical metrics, `episode_totals` at the end of an episode) with SB3's
    `TimeLimit.truncated` and `terminal_observation`. Finished replicas reset themselves.
    `envs[i]` is replica i's env (for its metrics, `episode_totals()`, `corridor_density()`).
    """

    def __init__(self, config: EnvConfig | None = None, n_envs: int = 1,
                 autoreset: bool = True, **overrides: Any) -> None:
        """`autoreset=False` leaves finished replicas at their episode's end (for callers
        that stop there, e.g. evaluation; SB3 needs the default)."""
        if config is None:
            config = EnvConfig.build(**overrides)
        elif overrides:
            config = EnvConfig.build(**{**dict(config), **overrides})
        self.config = config
        self.autoreset = autoreset
        self.batch = BatchSimulator(config.scenario_spec, n_envs)
        self.envs = [TrafficSignalEnv(config, simulator=rep) for rep in self.batch.replicas]
        first = self.envs[0]
        super().__init__(len(self.envs), first.observation_space, first.action_space)
        self.codec = first.codec
        self.interval = first.interval
        space = first.observation_space
        assert space.shape is not None  # a Box
        self._obs = np.zeros((self.num_envs, *space.shape), dtype=space.dtype)
        self._actions = np.zeros(self.num_envs, dtype=np.int64)

    # ------------------------------------------------------------------ VecEnv API
    def reset(self, seed: int | Sequence[int] | None = None,
              options: dict[str, Any] | None = None) -> VecEnvObs:
        """Start an episode in every replica: replica i with seed `seed + i` (or `seed[i]`
        for a sequence, or the seeds given to `seed()`: SB3's convention), `options` for all
        (see TrafficSignalEnv.reset)."""
        if isinstance(seed, Sequence):
            if len(seed) != self.num_envs:
                raise ValueError(f"need {self.num_envs} seeds, got {len(seed)}")
            self._seeds = [int(x) for x in seed]
        elif seed is not None:
            self.seed(seed)
        if options is not None:
            self.set_options(options)
        for i, env in enumerate(self.envs):
            opts = self._options[i] or None
            obs, self.reset_infos[i] = env.reset(seed=self._seeds[i], options=opts)
            self._obs[i] = obs
        self._reset_seeds()
        self._reset_options()
        return self._obs.copy()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = self._indices(actions)

    def step_wait(self) -> VecEnvStepReturn:
        self.batch.advance(self.interval, self.codec.table[self._actions])
        rewards = np.zeros(self.num_envs, dtype=np.float32)
        dones = np.zeros(self.num_envs, dtype=bool)
        infos: list[dict[str, Any]] = []
        for i, env in enumerate(self.envs):
            obs, rewards[i], terminated, truncated, info = env.finish_step()
            info["TimeLimit.truncated"] = truncated and not terminated
            if terminated or truncated:
                dones[i] = True
                info["terminal_observation"] = obs
                if self.autoreset:
                    obs, self.reset_infos[i] = env.reset()
            self._obs[i] = obs
            infos.append(info)
        return self._obs.copy(), rewards, dones, infos

    def _indices(self, actions: Any) -> np.ndarray:
        """One valid action index per replica (the codec's rules, vectorised when the
        actions already are in-range integers)."""
        a = np.asarray(actions)
        if a.shape != (self.num_envs,):
            if a.size != self.num_envs:
                raise ValueError(f"need {self.num_envs} actions, got shape {a.shape}")
            a = a.reshape(self.num_envs)
        if np.issubdtype(a.dtype, np.integer) and a.size and (
                a.min() >= 0 and a.max() < self.codec.n):
            return a.astype(np.int64, copy=False)
        return np.array([self.codec.index(x) for x in a], dtype=np.int64)

    def close(self) -> None:
        for env in self.envs:
            env.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return [getattr(env, attr_name) for env in self._targets(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        for env in self._targets(indices):
            setattr(env, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None,
                   **method_kwargs: Any) -> list[Any]:
        return [getattr(env, method_name)(*method_args, **method_kwargs)
                for env in self._targets(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper],
                       indices: VecEnvIndices = None) -> list[bool]:
        # The replicas are bare envs; episode statistics come from SB3's VecMonitor.
        return [isinstance(env, wrapper_class) for env in self._targets(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None for _ in self.envs]

    def _targets(self, indices: VecEnvIndices) -> Iterable[TrafficSignalEnv]:
        return [self.envs[i] for i in self._get_indices(indices)]


REPLICA_OVERHEAD_BYTES = 256 * 1024
"""Python objects of one replica (its env, simulator, metric records), measured ~100 KB."""


def replica_bytes(config: EnvConfig) -> int:
    """Memory one replica takes: the arrays of a lone env and its simulator, plus objects."""
    # One phase per signal: the memory is the same and any network size can be measured.
    env = TrafficSignalEnv(config, joint_action=False)
    owners = [env, env.sim, env.sim.arrays, env.observe]
    arrays = {id(v): v for obj in owners for v in vars(obj).values()
              if isinstance(v, np.ndarray) and v.base is None}
    return sum(a.nbytes for a in arrays.values()) + REPLICA_OVERHEAD_BYTES


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux; None when unknown)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def replicas_fit(config: EnvConfig, n_envs: int,
                 share: float = 0.5) -> tuple[bool, int, int, int]:
    """(fits, bytes needed, bytes available, most replicas that fit): whether `n_envs`
    replicas take at most `share` of the available memory (the rest is for the replay buffer,
    torch and the evaluation env)."""
    each = replica_bytes(config)
    have = available_memory()
    need = each * n_envs
    if have is None:
        return True, need, 0, n_envs
    budget = int(have * share)
    return need <= budget, need, have, max(1, budget // each)
