"""Run controllers on the env and report the same episode metrics as RL evaluation."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from arz_tui.baselines.actuated import Actuated
from arz_tui.baselines.base import Controller
from arz_tui.baselines.fixed_time import FixedTime
from arz_tui.baselines.max_pressure import MaxPressure
from arz_tui.baselines.sotl import SOTL
from arz_tui.baselines.webster import Webster

if TYPE_CHECKING:
    from arz_tui.env.traffic_env import TrafficSignalEnv

CONTROLLERS: dict[str, type[Controller]] = {
    "fixed-time": FixedTime,
    "webster": Webster,
    "actuated": Actuated,
    "max-pressure": MaxPressure,
    "sotl": SOTL,
}
"""Baseline controllers by name."""

StepHook = Callable[["TrafficSignalEnv", int], None]


def make_controller(name: str, **kwargs: Any) -> Controller:
    """A controller from the registry by name (``fixed_time``, ``Max-Pressure`` also work),
    with its keyword parameters."""
    key = name.strip().lower().replace("_", "-")
    if key not in CONTROLLERS:
        raise ValueError(f"unknown controller {name!r}; choose from {', '.join(CONTROLLERS)}")
    return CONTROLLERS[key](**kwargs)


def run_episode(env: TrafficSignalEnv, controller: Controller, seed: int | None = None,
                options: dict[str, Any] | None = None,
                before_step: StepHook | None = None) -> dict[str, float]:
    """One full episode: `env.reset(seed, options)`, `controller.reset(env)`, then
    `controller.act` until the env truncates.

    Returns the env's `episode_totals().as_dict()` (total_delay_vh, mean_delay_s,
    mean_travel_time_s, vehicles_arrived, vehicles_served, vehicles_remaining,
    mean_queue_veh: time mean of queued vehicles, links and entry queues, over every substep;
    max_queue_veh) plus mean_reward (per step, the env's configured reward), steps and
    phase_changes (changes started, all signals). `before_step(env, action)`, if given, is
    called before every step (tests use it to inspect requests).
    """
    obs, _ = env.reset(seed=seed, options=options)
    controller.reset(env)
    total_reward = 0.0
    steps = 0
    changes = 0
    sim = env.sim
    min_green = np.array([s.min_green_s for s in sim.net.signals])
    while True:
        action = controller.act(obs, env)
        if before_step is not None:
            before_step(env, action)
        wanted = np.asarray(action) if env.codec is None else env.codec.decode(action)
        shown = sim.signal_phase()
        accepted = ((wanted != shown) & ~sim.signal_changing()
                    & (sim.signal_green_time() + 1e-9 >= min_green))
        changes += int(accepted.sum())
        obs, reward, terminated, truncated, _ = env.step(action)
        total_reward += float(reward)
        steps += 1
        if terminated or truncated:
            break
    result = env.episode_totals().as_dict()
    result["mean_reward"] = total_reward / steps
    result["steps"] = float(steps)
    result["phase_changes"] = float(changes)
    return result


def evaluate(env: TrafficSignalEnv, controller: Controller, n_episodes: int = 1,
             seed: int = 0, options: dict[str, Any] | None = None) -> dict[str, float]:
    """Mean of `run_episode` over `n_episodes` episodes with seeds seed, seed + 1, ...
    (the env draws a different demand sample per seed; the same seeds give every controller
    the same samples). Adds `n_episodes` and `mean_delay_s_std` (across episodes)."""
    if n_episodes < 1:
        raise ValueError(f"n_episodes must be >= 1, got {n_episodes}")
    runs = [run_episode(env, controller, seed=seed + e, options=options)
            for e in range(n_episodes)]
    out = {key: float(np.mean([r[key] for r in runs])) for key in runs[0]}
    out["mean_delay_s_std"] = float(np.std([r["mean_delay_s"] for r in runs]))
    out["n_episodes"] = float(n_episodes)
    return out


def compare(env: TrafficSignalEnv, controllers: Iterable[str | Controller | tuple[str, Controller]],
            n_episodes: int = 1, seed: int = 0,
            options: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """`evaluate` several controllers on the same seeds; rows carry a `controller` label.
    Items are registry names, controllers (labelled by their `name`) or (label, controller)."""
    rows = []
    for item in controllers:
        if isinstance(item, tuple):
            label, ctrl = item
        elif isinstance(item, str):
            label, ctrl = item, make_controller(item)
        else:
            label, ctrl = item.name, item
        rows.append({"controller": label, **evaluate(env, ctrl, n_episodes, seed, options)})
    return rows


TABLE_COLUMNS: Sequence[tuple[str, str, str]] = (
    ("controller", "controller", "{}"),
    ("mean_delay_s", "mean delay (s)", "{:.1f}"),
    ("total_delay_vh", "total delay (veh-h)", "{:.1f}"),
    ("mean_queue_veh", "mean queue (veh)", "{:.1f}"),
    ("vehicles_served", "served (veh)", "{:.0f}"),
)


def format_table(rows: Sequence[dict[str, Any]],
                 columns: Sequence[tuple[str, str, str]] = TABLE_COLUMNS) -> str:
    """A Markdown table of `compare` rows."""
    head = "| " + " | ".join(title for _, title, _ in columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    lines = [head, rule]
    for row in rows:
        cells = []
        for key, _, fmt in columns:
            value = row.get(key, math.nan)
            cells.append(fmt.format(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
