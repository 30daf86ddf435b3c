"""Training pieces of per-signal control (`TrainingConfig.control == "per-signal"`).

One shared DQN learns from every signal's transitions (`arz_tui.env.signal_vec_env`); these
are the parts of the run that differ from joint control: the sanity checks that concern the
action (each signal's phases instead of a joint index) and the rewards (local), and the
evaluation of the trained policy (all signals of an episode act through the one policy; the
episode is scored on the network's totals, like every controller).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from arz_tui.env import EnvConfig
from arz_tui.env.signal_vec_env import SignalVecEnv
from arz_tui.training.config import SanityCheckConfig
from arz_tui.training.sanity import (
    CheckResult,
    check_control_interval,
    check_device,
    check_flux_config,
    reward_results,
)


def n_signals(env_config: EnvConfig) -> int:
    """Signals of the env's network."""
    return len(env_config.scenario_spec.signals)


def check_signal_actions(vec: SignalVecEnv) -> CheckResult:
    """Every signal reaches every one of its phases when its slot asks for it; actions beyond
    a signal's phases keep its phase; out-of-range and fractional actions are rejected."""
    env = vec.envs[0]
    signals = env.sim.net.signals
    hold = max((s.min_green_s + s.yellow_s for s in signals), default=0.0)
    steps = int(np.ceil(hold / vec.interval)) + 1
    problems: list[str] = []
    checked = 0
    n_max = int(vec.action_space.n)  # type: ignore[attr-defined]
    for p in range(n_max):
        vec.reset(seed=[0] * vec.n_replicas)
        before = env.sim.signal_phase().copy()
        actions = np.full(vec.num_envs, p, dtype=np.int64)
        for _ in range(steps):
            vec.step(actions)
        shown = env.sim.signal_phase()
        for g, n in enumerate(vec.n_phases):
            want = p if p < n else before[g]
            checked += 1
            if shown[g] != want:
                problems.append(f"signal {signals[g].node} action {p} shows phase {shown[g]}")
    for bad in (np.full(vec.num_envs, n_max), np.full(vec.num_envs, 0.6)):
        try:
            vec.step_async(bad)
            problems.append(f"action {bad[0]} was accepted")
        except ValueError:
            pass
    return CheckResult(
        name="action_mapping", passed=not problems,
        measured=f"{checked - len(problems)}/{checked} signal-actions reach their phases"
        + (f" ({problems[0]})" if problems else ""),
        expected="every signal reaches each of its phases; extra actions keep the phase; "
                 "out-of-range and fractional actions rejected",
        fix="map each slot's action to its own signal's phase (never truncate a float)")


def check_signal_rewards(vec: SignalVecEnv, num_steps: int, min_unique: int,
                         min_queue: float) -> tuple[CheckResult, CheckResult]:
    """Random actions: the local rewards must vary and a queue must form in the network."""
    vec.reset(seed=[0] * vec.n_replicas)
    rng = np.random.default_rng(0)
    rewards: set[float] = set()
    max_queue = 0.0
    n = int(vec.action_space.n)  # type: ignore[attr-defined]
    for _ in range(num_steps):
        _, r, _, infos = vec.step(rng.integers(n, size=vec.num_envs))
        rewards.update(round(float(x), 9) for x in r)
        max_queue = max(max_queue, float(infos[0]["queue_veh"]))
    return reward_results(len(rewards), "local rewards", num_steps, min_unique, max_queue,
                          min_queue)


def signal_sanity_results(env_config: EnvConfig, sanity_config: SanityCheckConfig,
                          device: str, add: Callable[[CheckResult], None]) -> None:
    """The enabled checks under per-signal control, each passed to `add` when known."""
    vec = SignalVecEnv(env_config, n_replicas=1)
    try:
        if sanity_config.check_action_mapping:
            add(check_signal_actions(vec))
        if sanity_config.check_flux_config:
            add(check_flux_config(vec.envs[0], sanity_config.min_inflow_ratio))
        if sanity_config.check_control_interval:
            add(check_control_interval(env_config, sanity_config.expected_interval_s))
        add(check_device(device, vec))  # type: ignore[arg-type]  # only its spaces are read
        for result in check_signal_rewards(vec, sanity_config.num_steps,
                                           sanity_config.min_unique_rewards,
                                           sanity_config.min_max_queue):
            add(result)
    finally:
        vec.close()


def run_signal_policy_episodes(env_config: EnvConfig, model: Any, seeds: list[int],
                               deterministic: bool = True, record_timespace: bool = False,
                               max_replicas: int = 64
                               ) -> tuple[list[dict[str, float]], np.ndarray]:
    """What `evaluation.run_policy_episodes` gives, under per-signal control: one episode per
    seed, every signal acting through `model`, the episodes side by side. `mean_reward` and
    `episode_reward` are the network's (the env's reward of the whole network, as for the
    baselines); `mean_local_reward` is the mean over signals and steps of the local rewards."""
    results: list[dict[str, float]] = []
    rows: list[np.ndarray] = []
    for start in range(0, len(seeds), max_replicas):
        chunk = seeds[start:start + max_replicas]
        vec = SignalVecEnv(env_config, n_replicas=len(chunk), autoreset=False)
        obs = vec.reset(seed=chunk)
        g_n = vec.n_signals
        network: list[list[float]] = []
        local: list[np.ndarray] = []
        done = np.zeros(vec.num_envs, dtype=bool)
        infos: list[dict[str, Any]] = []
        while not done.all():
            actions, _ = model.predict(obs, deterministic=deterministic)
            obs, r, done, infos = vec.step(actions)
            local.append(r.astype(np.float64))
            network.append([env.reward_fn(infos[i * g_n]["network"]["metrics"])
                            for i, env in enumerate(vec.envs)])
            if record_timespace and start == 0:
                rows.append(vec.envs[0].corridor_density())
        per_step = np.array(network, dtype=np.float64)
        local_steps = np.array(local).reshape(len(local), len(chunk), g_n)
        for i in range(len(chunk)):
            entry = infos[i * g_n]["episode_totals"].as_dict()
            entry["mean_reward"] = float(np.mean(per_step[:, i]))
            entry["episode_reward"] = float(np.sum(per_step[:, i]))
            entry["mean_local_reward"] = float(np.mean(local_steps[:, i]))
            results.append(entry)
        vec.close()
    timespace = np.stack(rows) if rows else np.zeros((0, 0))
    return results, timespace


class SignalPolicyController:
    """A per-signal policy as a controller of a `TrafficSignalEnv` built with
    `joint_action=False` (the report and the baseline runner drive controllers so): every
    signal's local observation through the shared model, one phase per signal."""

    name = "per-signal policy"

    def __init__(self, model: Any, deterministic: bool = True, neighbours: bool = True) -> None:
        self.model = model
        self.deterministic = deterministic
        self.neighbours = neighbours
        self.view: Any = None

    def reset(self, env: Any) -> None:
        from arz_tui.env.local import LocalView

        if env.codec is not None:
            raise ValueError("a per-signal policy drives an env with one phase per signal "
                             "(TrafficSignalEnv(..., joint_action=False))")
        if self.view is None or self.view.env is not env:
            self.view = LocalView(env, self.neighbours)
        self.view.reset()

    def act(self, observation: Any, env: Any) -> np.ndarray:
        actions, _ = self.model.predict(self.view.observations(),
                                        deterministic=self.deterministic)
        actions = np.asarray(actions, dtype=np.int64)
        # A phase the signal does not have keeps the shown one (as in SignalVecEnv).
        return np.where(actions < self.view.n_phases, actions, env.sim.signal_phase())
