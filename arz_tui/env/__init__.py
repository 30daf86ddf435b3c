"""Gymnasium env over the simulator: observations, actions, rewards, physical metrics."""

from __future__ import annotations

from arz_tui._registration import ENV_ID, register_env
from arz_tui.env.actions import PhaseActionCodec
from arz_tui.env.config import DEMAND_LEVELS, EnvConfig, EnvConfigError
from arz_tui.env.metrics import EpisodeTotals, StepMetrics
from arz_tui.env.observations import OBSERVATIONS, ObservationFunction
from arz_tui.env.parallel import SignalParallelEnv, parallel_env
from arz_tui.env.rewards import REWARDS
from arz_tui.env.traffic_env import StepInfo, TrafficSignalEnv

register_env()  # idempotent; Gymnasium is loaded by now, so this registers at once

__all__ = [
    "DEMAND_LEVELS", "ENV_ID", "OBSERVATIONS", "REWARDS", "EnvConfig", "EnvConfigError",
    "EpisodeTotals", "ObservationFunction", "PhaseActionCodec", "SignalParallelEnv", "StepInfo",
    "StepMetrics", "TrafficSignalEnv", "parallel_env",
]
