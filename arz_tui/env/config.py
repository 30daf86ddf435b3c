"""The env's configuration: one validated pydantic model, kept apart from training settings."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sim.scenario import (
    SUMO_SUFFIX,
    Scenario,
    ScenarioError,
    load_scenario,
    validation_message,
)

DemandLevel = Literal["light", "moderate", "heavy", "saturated"]
DEMAND_LEVELS: dict[str, float] = {"light": 0.5, "moderate": 0.75, "heavy": 1.0, "saturated": 1.25}
"""Multipliers of a scenario's demand profile: "heavy" is the profile as written."""


class EnvConfigError(ValueError):
    """A bad env configuration; the message is one line naming the field."""


@lru_cache(maxsize=32)
def _cached_scenario(name: str) -> Scenario:
    if name.endswith(SUMO_SUFFIX):
        # A SUMO network converted on the fly (default demand; import it for routes).
        from arz_tui.netimport import convert_net

        return convert_net(name).scenario
    return load_scenario(name)


class EnvConfig(BaseModel):
    """Everything that defines the traffic-signal control task (not how an agent learns it)."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    scenario: str = Field(default="lagos", description="Built-in scenario name or path to a "
                          "scenario file.")
    decision_interval_s: float = Field(default=15.0, ge=10.0, le=60.0,
                                       description="Simulated seconds between decisions.")
    episode_s: float = Field(default=3600.0, gt=0.0, le=86_400.0,
                             description="Simulated seconds per episode.")
    observation: str = Field(default="default", description="Observation function name.")
    reward: str | Callable[..., float] = Field(
        default="queue", description="Reward name (queue, delay, pressure, throughput, "
        "diff-waiting) or a callable taking the step's StepMetrics.")
    demand_level: DemandLevel | float = Field(
        default="heavy", description="Demand profile multiplier: light 0.5, moderate 0.75, "
        "heavy 1.0 (the scenario's profile), saturated 1.25, or a number >= 0.")
    random_demand_level: bool = Field(
        default=False, description="Draw the demand level of each episode at random from the "
        "four named levels.")
    demand_noise: float = Field(
        default=0.1, ge=0.0, le=1.0, description="Log-normal noise (sigma) on each demand bin "
        "per source and class, so every episode is a different sample.")

    @field_validator("scenario")
    @classmethod
    def _known_scenario(cls, name: str) -> str:
        try:
            _cached_scenario(name)
        except ScenarioError as err:
            raise ValueError(str(err)) from None
        return name

    @field_validator("demand_level")
    @classmethod
    def _demand(cls, level: str | float) -> str | float:
        if isinstance(level, str):
            return level
        if not level >= 0.0 or level == float("inf"):
            raise ValueError("demand_level must be a finite number >= 0 or one of "
                             f"{', '.join(DEMAND_LEVELS)}")
        return float(level)

    @field_validator("observation")
    @classmethod
    def _known_observation(cls, name: str) -> str:
        from arz_tui.env.observations import OBSERVATIONS

        if name not in OBSERVATIONS:
            raise ValueError(f"unknown observation {name!r}; choose from "
                             f"{', '.join(sorted(OBSERVATIONS))}")
        return name

    @field_validator("reward")
    @classmethod
    def _known_reward(cls, reward: str | Callable[..., float]) -> str | Callable[..., float]:
        from arz_tui.env.rewards import REWARDS

        if isinstance(reward, str) and reward not in REWARDS:
            raise ValueError(f"unknown reward {reward!r}; choose from "
                             f"{', '.join(sorted(REWARDS))} or pass a callable")
        return reward

    @property
    def scenario_spec(self) -> Scenario:
        """The loaded scenario."""
        return _cached_scenario(self.scenario)

    @property
    def demand_scale(self) -> float:
        level = self.demand_level
        return DEMAND_LEVELS[level] if isinstance(level, str) else float(level)

    @property
    def reward_name(self) -> str:
        r = self.reward
        return r if isinstance(r, str) else getattr(r, "__qualname__", repr(r))

    @classmethod
    def build(cls, **fields: Any) -> EnvConfig:
        """Validate at the edge: any error becomes one EnvConfigError line naming the field."""
        try:
            return cls(**fields)
        except ValidationError as err:
            raise EnvConfigError(f"env config: {validation_message(err)}") from None
