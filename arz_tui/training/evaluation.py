"""Evaluate controllers (the trained policy, baselines) on the same seeded episodes."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from arz_tui.env import EnvConfig, TrafficSignalEnv


class Controller(Protocol):
    """What arz_tui.baselines controllers and `PolicyController` provide."""

    def reset(self, env: TrafficSignalEnv) -> None: ...

    def act(self, observation: np.ndarray, env: TrafficSignalEnv) -> int: ...


class PolicyController:
    """A trained SB3 model as a controller."""

    def __init__(self, model: Any, deterministic: bool = True) -> None:
        self.model = model
        self.deterministic = deterministic

    def reset(self, env: TrafficSignalEnv) -> None:
        pass

    def act(self, observation: np.ndarray, env: TrafficSignalEnv) -> int:
        action, _ = self.model.predict(observation, deterministic=self.deterministic)
        return int(action)


def run_episodes(env_config: EnvConfig, controller: Controller, seeds: list[int],
                 record_timespace: bool = False, joint_action: bool = True
                 ) -> tuple[list[dict[str, float]], np.ndarray]:
    """Episode totals (plus mean reward and queue) of `controller` on one episode per seed,
    and, if asked, the first episode's time-space diagram (steps x corridor cells).
    `joint_action=False` drives the env with one phase per signal (any network size)."""
    env = TrafficSignalEnv(env_config, joint_action=joint_action)
    results = []
    rows: list[np.ndarray] = []
    for k, seed in enumerate(seeds):
        obs, _ = env.reset(seed=seed)
        controller.reset(env)
        rewards = []
        while True:
            obs, reward, terminated, truncated, _ = env.step(controller.act(obs, env))
            rewards.append(reward)
            if record_timespace and k == 0:
                rows.append(env.corridor_density())
            if terminated or truncated:
                break
        totals = env.episode_totals().as_dict()
        totals["mean_reward"] = float(np.mean(rewards))
        totals["episode_reward"] = float(np.sum(rewards))
        results.append(totals)
    env.close()
    timespace = np.stack(rows) if rows else np.zeros((0, 0))
    return results, timespace


def run_policy_episodes(env_config: EnvConfig, model: Any, seeds: list[int],
                        deterministic: bool = True, record_timespace: bool = False,
                        max_replicas: int = 64) -> tuple[list[dict[str, float]], np.ndarray]:
    """What `run_episodes` gives for `PolicyController(model)`, with the episodes stepped side
    by side (up to `max_replicas` at once): one policy forward per step for all of them."""
    from arz_tui.env.vec_env import TrafficVecEnv

    results: list[dict[str, float]] = []
    rows: list[np.ndarray] = []
    for start in range(0, len(seeds), max_replicas):
        chunk = seeds[start:start + max_replicas]
        # No automatic reset: the episodes end together (one length) and stay at their end.
        vec = TrafficVecEnv(env_config, n_envs=len(chunk), autoreset=False)
        obs = vec.reset(seed=chunk)
        rewards: list[list[float]] = []
        done = np.zeros(len(chunk), dtype=bool)
        infos: list[dict[str, Any]] = []
        while not done.all():
            actions, _ = model.predict(obs, deterministic=deterministic)
            obs, _, done, infos = vec.step(actions)
            # The rewards in double precision, as a lone env returns them (SB3's are float32).
            rewards.append([env.reward_fn(info["metrics"])
                            for env, info in zip(vec.envs, infos, strict=True)])
            if record_timespace and start == 0:
                rows.append(vec.envs[0].corridor_density())
        totals = [info["episode_totals"] for info in infos]
        # Every replica's episode has the same length: the rows are its steps.
        per_step = np.array(rewards, dtype=np.float64)
        for i, t in enumerate(totals):
            entry = t.as_dict()
            entry["mean_reward"] = float(np.mean(per_step[:, i]))
            entry["episode_reward"] = float(np.sum(per_step[:, i]))
            results.append(entry)
        vec.close()
    timespace = np.stack(rows) if rows else np.zeros((0, 0))
    return results, timespace


def mean_of(results: list[dict[str, float]]) -> dict[str, float]:
    """Per-key mean over episodes."""
    if not results:
        return {}
    return {k: float(np.mean([r[k] for r in results])) for k in results[0]}


def eval_seeds(seed: int, n: int) -> list[int]:
    """Evaluation episodes never share seeds with training episodes."""
    return [seed + 10_000 + i for i in range(n)]
