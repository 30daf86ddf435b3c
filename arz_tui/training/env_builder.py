"""Env configs for training, kept separate from TrainingConfig (the seed's RLConfigBuilder)."""

from __future__ import annotations

from typing import Any

from arz_tui.env import EnvConfig
from arz_tui.env.config import _cached_scenario
from sim.scenario import ScenarioError


class EnvConfigBuilder:
    """Builds the EnvConfig of a training task."""

    @staticmethod
    def for_training(scenario: str = "lagos", **overrides: Any) -> EnvConfig:
        """The env config used to train on `scenario` (name or path): episodes last the
        scenario's own duration (3,600 s for lagos and simple, 900 s for riemann), 15 s
        decisions, queue reward; `overrides` are EnvConfig fields."""
        try:
            duration = _cached_scenario(scenario).duration_s
        except ScenarioError:
            duration = 3600.0  # EnvConfig.build reports the bad scenario as one line
        fields: dict[str, Any] = {"scenario": scenario, "episode_s": duration}
        fields.update(overrides)
        return EnvConfig.build(**fields)


RLConfigBuilder = EnvConfigBuilder
"""The name the seed project's guide uses."""
