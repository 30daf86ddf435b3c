"""Training core: configs and modes, sanity checks, RLTrainer, callbacks (the results folder's
format belongs to `arz_tui.runstore`).

Importable without textual. Names are loaded on first use (PEP 562), so a light user such as the
TUI can read configs and run folders without importing numba, gymnasium, torch or SB3.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "MODE_PRESETS": "config", "CheckpointStrategy": "config", "DQNHyperparameters": "config",
    "EvaluationStrategy": "config", "SanityCheckConfig": "config", "TrainingConfig": "config",
    "TrainingConfigError": "config", "kaggle_config": "config", "production_config": "config",
    "quick_config": "config", "sanity_check_config": "config",
    "EnvConfigBuilder": "env_builder", "RLConfigBuilder": "env_builder",
    "Event": "events", "EventBus": "events",
    "CheckResult": "sanity", "SanityCheckError": "sanity", "SanityReport": "sanity",
    "run_sanity_checks": "sanity",
    "RLTrainer": "trainer", "train_model": "trainer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'arz_tui.training' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"arz_tui.training.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
