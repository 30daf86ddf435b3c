"""Training core: configs and modes, sanity checks, RLTrainer, callbacks, results store.

Importable without textual; torch and SB3 are imported when training starts.
"""

from __future__ import annotations

from arz_tui.training.config import (
    MODE_PRESETS,
    CheckpointStrategy,
    DQNHyperparameters,
    EvaluationStrategy,
    SanityCheckConfig,
    TrainingConfig,
    TrainingConfigError,
    kaggle_config,
    production_config,
    quick_config,
    sanity_check_config,
)
from arz_tui.training.env_builder import EnvConfigBuilder, RLConfigBuilder
from arz_tui.training.events import Event, EventBus
from arz_tui.training.results import RunLayout
from arz_tui.training.sanity import CheckResult, SanityCheckError, SanityReport, run_sanity_checks
from arz_tui.training.trainer import RLTrainer, train_model

__all__ = [
    "MODE_PRESETS", "CheckResult", "CheckpointStrategy", "DQNHyperparameters", "EnvConfigBuilder",
    "EvaluationStrategy", "Event", "EventBus", "RLConfigBuilder", "RLTrainer", "RunLayout",
    "SanityCheckConfig", "SanityCheckError", "SanityReport", "TrainingConfig",
    "TrainingConfigError", "kaggle_config", "production_config", "quick_config",
    "run_sanity_checks", "sanity_check_config", "train_model",
]
