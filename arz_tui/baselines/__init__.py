"""Non-learning traffic-signal controllers on the same env and metrics as the RL agents.

See docs/baselines.md. Quick use::

    from arz_tui.baselines import evaluate, make_controller
    from arz_tui.env import TrafficSignalEnv

    env = TrafficSignalEnv(scenario="lagos", demand_level="heavy")
    print(evaluate(env, make_controller("webster"), n_episodes=3, seed=0))
"""

from __future__ import annotations

from arz_tui.baselines.actuated import Actuated
from arz_tui.baselines.base import Controller, propagate_flows, saturation_flow
from arz_tui.baselines.fixed_time import FixedTime
from arz_tui.baselines.max_pressure import MaxPressure
from arz_tui.baselines.runner import (
    CONTROLLERS,
    compare,
    evaluate,
    format_table,
    make_controller,
    run_episode,
)
from arz_tui.baselines.sotl import SOTL
from arz_tui.baselines.webster import Webster, WebsterPlan, webster_cycle, webster_plan

__all__ = [
    "CONTROLLERS", "SOTL", "Actuated", "Controller", "FixedTime", "MaxPressure", "Webster",
    "WebsterPlan", "compare", "evaluate", "format_table", "make_controller", "propagate_flows",
    "run_episode", "saturation_flow", "webster_cycle", "webster_plan",
]
