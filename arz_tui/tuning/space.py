"""The DQN search space: rl-zoo3's `sample_dqn_params`, with the values that only make sense
relative to the training budget scaled to the steps of one trial.

rl-zoo3 tunes with budgets of about 10^6 steps, where `learning_starts` up to 20,000,
`target_update_interval` up to 20,000 and a replay buffer up to 10^6 are small or right-sized.
A trial here may train 600 steps, so those choices are built from fractions of the budget
(`choices(budget)`) and stay well below it. The choices are plain numbers, so a trial's
parameters read as the DQN settings they are; a study keeps one budget, so its choices never
change between trials.
"""

from __future__ import annotations

import math
from typing import Any

NET_ARCHS: dict[str, list[int]] = {"tiny": [64], "small": [64, 64], "medium": [256, 256]}
LEARNING_RATE = (1e-5, 1e-2)
"""Log-uniform range of the Adam learning rate."""
GAMMAS = (0.9, 0.95, 0.98, 0.99, 0.995, 0.999)
BATCH_SIZES = (16, 32, 64, 128, 256)
EXPLORATION_FINAL_EPS = (0.0, 0.2)
EXPLORATION_FRACTION = (0.05, 0.5)
TRAIN_FREQS = (1, 4, 8, 16, 128, 256, 1000)
SUBSAMPLE_STEPS = (1, 2, 4, 8)
"""gradient_steps = max(train_freq // subsample_steps, 1), as in rl-zoo3."""

LEARNING_STARTS_FRACTIONS = (0.0, 0.01, 0.05, 0.1, 0.2)
TARGET_UPDATE_FRACTIONS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1)
BUFFER_FRACTIONS = (0.1, 0.25, 0.5, 1.0)
MIN_BUFFER = 1000
"""Smallest replay buffer offered (unless the budget itself is smaller)."""
MIN_UPDATES = 50
"""train_freq is at most budget / MIN_UPDATES: every trial gets at least 50 training rounds."""
MIN_BUDGET = 100
"""Smallest number of steps per trial the space is defined for."""


def choices(budget: int) -> dict[str, tuple[int, ...]]:
    """The categorical choices of the budget-dependent parameters for `budget` steps/trial:

    - learning_starts: 0, 1 %, 5 %, 10 %, 20 % of the budget;
    - target_update_interval: 0.2 % .. 10 % of the budget (at least 1);
    - buffer_size: 10 %, 25 %, 50 %, 100 % of the budget, at least 1,000 and at most the
      budget (a buffer larger than the steps taken is never filled);
    - train_freq: rl-zoo3's 1 .. 1000, keeping those <= budget / 50.
    """
    if budget < MIN_BUDGET:
        raise ValueError(f"the search space needs at least {MIN_BUDGET} steps per trial, "
                         f"got {budget}")

    def scaled(fractions: tuple[float, ...], low: int = 0) -> tuple[int, ...]:
        return tuple(sorted({max(low, round(budget * f)) for f in fractions}))

    return {
        "learning_starts": scaled(LEARNING_STARTS_FRACTIONS),
        "target_update_interval": scaled(TARGET_UPDATE_FRACTIONS, low=1),
        "buffer_size": tuple(sorted({min(budget, max(MIN_BUFFER, round(budget * f)))
                                     for f in BUFFER_FRACTIONS})),
        "train_freq": tuple(f for f in TRAIN_FREQS if f <= max(1, budget // MIN_UPDATES)),
    }


def suggest(trial: Any, budget: int) -> dict[str, Any]:
    """Sample one point of the space with an optuna trial (or FixedTrial) and return the
    DQNHyperparameters fields it stands for."""
    c = choices(budget)
    trial.suggest_float("learning_rate", *LEARNING_RATE, log=True)
    trial.suggest_categorical("batch_size", list(BATCH_SIZES))
    trial.suggest_categorical("buffer_size", list(c["buffer_size"]))
    trial.suggest_float("exploration_final_eps", *EXPLORATION_FINAL_EPS)
    trial.suggest_float("exploration_fraction", *EXPLORATION_FRACTION)
    trial.suggest_categorical("target_update_interval", list(c["target_update_interval"]))
    trial.suggest_categorical("learning_starts", list(c["learning_starts"]))
    trial.suggest_categorical("train_freq", list(c["train_freq"]))
    trial.suggest_categorical("subsample_steps", list(SUBSAMPLE_STEPS))
    trial.suggest_categorical("gamma", list(GAMMAS))
    trial.suggest_categorical("net_arch", list(NET_ARCHS))
    return hyperparameters(trial.params, budget)


def hyperparameters(params: dict[str, Any], budget: int) -> dict[str, Any]:
    """DQNHyperparameters fields of a point of the space (a trial's `params`). Raises
    ValueError naming the first parameter that is missing or outside the space for
    `budget`, so a study's stored trial never turns silently into other settings."""
    c = choices(budget)
    categorical: dict[str, tuple[Any, ...]] = {
        "batch_size": BATCH_SIZES, "gamma": GAMMAS, "subsample_steps": SUBSAMPLE_STEPS,
        "net_arch": tuple(NET_ARCHS), **c}
    ranges = {"learning_rate": LEARNING_RATE, "exploration_final_eps": EXPLORATION_FINAL_EPS,
              "exploration_fraction": EXPLORATION_FRACTION}
    for name in (*categorical, *ranges):
        if name not in params:
            raise ValueError(f"parameter {name} is missing")
    for name, allowed in categorical.items():
        if params[name] not in allowed:
            raise ValueError(f"{name}={params[name]!r} is not one of {list(allowed)} "
                             f"(the choices for {budget} steps per trial)")
    for name, (low, high) in ranges.items():
        value = params[name]
        if not (isinstance(value, int | float) and math.isfinite(value) and low <= value <= high):
            raise ValueError(f"{name}={value!r} is outside [{low:g}, {high:g}]")
    train_freq = int(params["train_freq"])
    return {
        "learning_rate": float(params["learning_rate"]),
        "batch_size": int(params["batch_size"]),
        "buffer_size": int(params["buffer_size"]),
        "learning_starts": int(params["learning_starts"]),
        "gamma": float(params["gamma"]),
        "train_freq": train_freq,
        "gradient_steps": max(train_freq // int(params["subsample_steps"]), 1),
        "target_update_interval": int(params["target_update_interval"]),
        "exploration_fraction": float(params["exploration_fraction"]),
        "exploration_initial_eps": 1.0,
        "exploration_final_eps": float(params["exploration_final_eps"]),
        "tau": 1.0,
        "net_arch": list(NET_ARCHS[params["net_arch"]]),
    }


def describe(hyper: dict[str, Any]) -> str:
    """One short line of a point's DQN settings (progress output)."""
    arch = next((k for k, v in NET_ARCHS.items() if v == hyper["net_arch"]), hyper["net_arch"])
    return (f"lr {hyper['learning_rate']:.1e}, batch {hyper['batch_size']}, "
            f"buffer {hyper['buffer_size']}, gamma {hyper['gamma']}, net {arch}, "
            f"train_freq {hyper['train_freq']}/{hyper['gradient_steps']} grad, "
            f"target {hyper['target_update_interval']}, starts {hyper['learning_starts']}, "
            f"eps {hyper['exploration_fraction']:.2f}->{hyper['exploration_final_eps']:.3f}")
