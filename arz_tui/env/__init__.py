"""Gymnasium env over the simulator: observations, actions, rewards, physical metrics."""

from __future__ import annotations

import gymnasium as gym

from arz_tui.env.actions import PhaseActionCodec
from arz_tui.env.config import DEMAND_LEVELS, EnvConfig, EnvConfigError
from arz_tui.env.metrics import EpisodeTotals, StepMetrics
from arz_tui.env.observations import OBSERVATIONS, ObservationFunction
from arz_tui.env.parallel import SignalParallelEnv, parallel_env
from arz_tui.env.rewards import REWARDS
from arz_tui.env.traffic_env import StepInfo, TrafficSignalEnv

ENV_ID = "arz_tui/TrafficSignal-v0"

if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point="arz_tui.env.traffic_env:TrafficSignalEnv")

__all__ = [
    "DEMAND_LEVELS", "ENV_ID", "OBSERVATIONS", "REWARDS", "EnvConfig", "EnvConfigError",
    "EpisodeTotals", "ObservationFunction", "PhaseActionCodec", "SignalParallelEnv", "StepInfo",
    "StepMetrics", "TrafficSignalEnv", "parallel_env",
]
