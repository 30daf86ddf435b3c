"""Per-signal control as a PettingZoo `ParallelEnv`: one agent per signal.

    from arz_tui.env import parallel_env
    env = parallel_env(scenario="grid4x4", reward="queue")
    obs, infos = env.reset(seed=0)
    while env.agents:
        actions = {a: env.action_space(a).sample() for a in env.agents}
        obs, rewards, terminations, truncations, infos = env.step(actions)

Agents are named after their signal's node ("signal_<node>"); each chooses its own phase
(`Discrete(phases of that signal)`) every decision interval; a change starts the junction's
yellow/all-red and is refused before min green, as in the joint env. An agent left out of an
action dict keeps its phase. Observations and rewards are local (`arz_tui.env.local`), the
network's metrics (the joint env's `StepInfo`) are in every agent's `infos[agent]["network"]`,
the agent's own `StepMetrics` in `infos[agent]["local"]`.

The traffic is the joint env's (`TrafficSignalEnv` with one phase per signal), so every
EnvConfig field (scenario, interval, episode, reward, demand) means the same here.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv  # type: ignore[import-untyped]

from arz_tui.env.config import EnvConfig
from arz_tui.env.local import LocalView
from arz_tui.env.traffic_env import TrafficSignalEnv


def agent_names(env: TrafficSignalEnv) -> list[str]:
    """One name per signal, in signal order."""
    return [f"signal_{s.node}" for s in env.sim.net.signals]


class SignalParallelEnv(ParallelEnv):
    """One agent per signal of an EnvConfig's network (see the module doc)."""

    metadata: ClassVar[dict[str, Any]] = {"name": "arz_tui_signals_v0", "render_modes": ["ansi"],
                                          "is_parallelizable": True}

    def __init__(self, config: EnvConfig | None = None, neighbours: bool = True,
                 render_mode: str | None = None, **overrides: Any) -> None:
        if config is None:
            config = EnvConfig.build(**overrides)
        elif overrides:
            config = EnvConfig.build(**{**dict(config), **overrides})
        self.env = TrafficSignalEnv(config, render_mode=render_mode, joint_action=False)
        self.config = config
        self.render_mode = render_mode
        self.view = LocalView(self.env, neighbours=neighbours)
        self.possible_agents = agent_names(self.env)
        self.agents: list[str] = []
        self._index = {a: g for g, a in enumerate(self.possible_agents)}
        box = self.view.observation_space()
        self.observation_spaces = {a: box for a in self.possible_agents}
        self.action_spaces = {a: spaces.Discrete(int(n)) for a, n in
                              zip(self.possible_agents, self.view.n_phases, strict=True)}
        self._keep = np.full(len(self.possible_agents), -1, dtype=np.int64)

    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    def reset(self, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[dict[str, np.ndarray],
                                                              dict[str, dict[str, Any]]]:
        """Start an episode (seed and options as for TrafficSignalEnv.reset)."""
        if seed is not None:
            for g, a in enumerate(self.possible_agents):
                self.action_spaces[a].seed(seed + g)
        _, info = self.env.reset(seed=seed, options=options)
        self.view.reset()
        self.agents = list(self.possible_agents)
        obs = self.view.observations()
        return ({a: obs[g].copy() for g, a in enumerate(self.agents)},
                {a: {"network": info} for a in self.agents})

    def step(self, actions: dict[str, Any]) -> tuple[
            dict[str, np.ndarray], dict[str, float], dict[str, bool], dict[str, bool],
            dict[str, dict[str, Any]]]:
        if not self.agents:
            raise RuntimeError("the episode has ended: call reset()")
        phases = self._keep.copy()
        for agent, action in actions.items():
            g = self._index.get(agent)
            if g is None:
                raise ValueError(f"unknown agent {agent!r}; agents are {self.agents[:3]}...")
            a = int(np.asarray(action).reshape(()))
            if not 0 <= a < self.view.n_phases[g]:
                raise ValueError(f"{agent}: action {a} out of range "
                                 f"[0, {self.view.n_phases[g]})")
            phases[g] = a
        self.env.sim.advance(self.env.interval, phases)
        _, _, terminated, truncated, info = self.env.finish_step()
        local = self.view.step_metrics(info["metrics"])
        reward_fn = self.env.reward_fn
        obs = self.view.observations()
        agents = self.agents
        out = ({a: obs[g].copy() for g, a in enumerate(agents)},
               {a: float(reward_fn(local[g])) for g, a in enumerate(agents)},
               {a: bool(terminated) for a in agents}, {a: bool(truncated) for a in agents},
               {a: {"network": info, "local": local[g]} for g, a in enumerate(agents)})
        if terminated or truncated:
            self.agents = []
        return out

    def render(self) -> str | None:
        return self.env.render()

    def close(self) -> None:
        self.env.close()

    def state(self) -> np.ndarray:
        """The whole network's default observation (a centralised critic's input)."""
        return self.env.observe()


def parallel_env(scenario: str = "lagos", neighbours: bool = True,
                 render_mode: str | None = None, **env_kwargs: Any) -> SignalParallelEnv:
    """A PettingZoo ParallelEnv with one agent per signal of `scenario` (built-in name,
    generated network such as grid:4x4, scenario file or SUMO .net.xml); `env_kwargs` are
    EnvConfig fields (reward, decision_interval_s, episode_s, demand_level, ...)."""
    return SignalParallelEnv(EnvConfig.build(scenario=scenario, **env_kwargs),
                             neighbours=neighbours, render_mode=render_mode)
