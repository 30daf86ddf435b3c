"""Training configuration: pydantic models validated at the edge, with mode presets.

Kept apart from the env's configuration (`arz_tui.env.EnvConfig`): this says how an agent
learns, that says what task it learns.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from arz_tui.errors import ArzError
from sim.scenario import validation_message

Mode = Literal["sanity", "quick", "production", "kaggle"]
Control = Literal["auto", "joint", "per-signal"]
PER_SIGNAL_ABOVE = 3
"""`control="auto"` controls networks with more signals than this per signal."""
Device = Literal["cpu", "cuda", "auto"]
MAX_HIDDEN_WEIGHTS = 20_000_000
"""Weights between hidden layers (the Q-network and its target: ~160 MB of float32)."""
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class TrainingConfigError(ArzError, ValueError):
    """A bad training configuration; the message is one line naming the field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_numbers(cls, data: Any) -> Any:
        """`true` is not a number: pydantic would take it as 1 (a 1-step run)."""
        if isinstance(data, dict):
            for name, info in cls.model_fields.items():
                value = data.get(name)
                if isinstance(value, bool) and info.annotation not in (bool, bool | None):
                    raise ValueError(f"{name}: {str(value).lower()} is not a number")
        return data


class DQNHyperparameters(_Model):
    """Stable-Baselines3 DQN settings (defaults: the seed project's train_dqn.py)."""

    learning_rate: float = Field(default=1e-3, gt=0, le=1, description="Adam learning rate.")
    buffer_size: int = Field(default=50_000, ge=1, le=10_000_000,
                             description="Replay buffer capacity, transitions.")
    learning_starts: int = Field(default=1000, ge=0,
                                 description="Steps of pure exploration before learning.")
    batch_size: int = Field(default=32, ge=1, le=65_536, description="Minibatch size.")
    tau: float = Field(default=1.0, gt=0, le=1, description="Target network soft-update "
                       "coefficient (1: hard update).")
    gamma: float = Field(default=0.99, ge=0, le=1, description="Discount factor.")
    train_freq: int = Field(default=4, ge=1, description="Env steps between updates.")
    gradient_steps: int = Field(default=1, ge=-1, description="Gradient steps per update "
                                "(-1: as many as env steps collected).")
    target_update_interval: int = Field(default=1000, ge=1,
                                        description="Env steps between target network updates.")
    exploration_fraction: float = Field(default=0.1, gt=0, le=1, description="Fraction of "
                                        "training over which epsilon decays.")
    exploration_initial_eps: float = Field(default=1.0, ge=0, le=1, description="Initial epsilon.")
    exploration_final_eps: float = Field(default=0.05, ge=0, le=1, description="Final epsilon.")
    net_arch: list[int] = Field(default_factory=lambda: [64, 64], min_length=1, max_length=8,
                                description="Hidden layer sizes of the Q-network (1-8 layers).")

    @field_validator("net_arch")
    @classmethod
    def _positive_layers(cls, layers: list[int]) -> list[int]:
        if any(n < 1 or n > 4096 for n in layers):
            raise ValueError("every layer size must be between 1 and 4096")
        weights = sum(a * b for a, b in itertools.pairwise(layers))
        if weights > MAX_HIDDEN_WEIGHTS:
            raise ValueError(f"{weights:,} weights between hidden layers, at most "
                             f"{MAX_HIDDEN_WEIGHTS:,}: use fewer or smaller layers")
        return layers

    @model_validator(mode="after")
    def _eps_order(self) -> DQNHyperparameters:
        if self.exploration_final_eps > self.exploration_initial_eps:
            raise ValueError("exploration_final_eps must not exceed exploration_initial_eps")
        return self


class CheckpointStrategy(_Model):
    """When and what to checkpoint (rotating, written atomically)."""

    save_freq: int = Field(default=1000, ge=1, description="Env steps between checkpoints.")
    max_checkpoints: int = Field(default=2, ge=1, le=100,
                                 description="Checkpoints kept in checkpoints/latest (plus the "
                                 "newest one whose replay buffer does not build on the newest "
                                 "full snapshot, so a damaged snapshot leaves one to resume "
                                 "from).")
    save_replay_buffer: bool = Field(default=True, description="Save the replay buffer with "
                                     "each checkpoint (needed for an exact DQN resume).")


class EvaluationStrategy(_Model):
    """Periodic evaluation on separate, seeded episodes (SB3 EvalCallback)."""

    eval_freq: int = Field(default=5000, ge=1, description="Env steps between evaluations.")
    n_eval_episodes: int = Field(default=10, ge=1, le=1000, description="Episodes per evaluation.")
    deterministic: bool = Field(default=True, description="Greedy actions during evaluation.")


class SanityCheckConfig(_Model):
    """Pre-training checks that catch runs broken from the start."""

    enabled: bool = Field(default=True, description="Run the checks before training.")
    num_steps: int = Field(default=100, ge=1, le=100_000, description="Random steps of the "
                           "reward-variety check.")
    min_unique_rewards: int = Field(default=5, ge=1, description="Distinct rewards required.")
    min_max_queue: float = Field(default=5.0, ge=0, description="Largest queue (veh) required "
                                 "during the random steps.")
    check_action_mapping: bool = Field(default=True, description="Every action index decodes "
                                       "to its phases (the round() vs int() bug).")
    check_flux_config: bool = Field(default=True, description="Inflow density well above the "
                                    "initial density at the entries, so queues can form.")
    min_inflow_ratio: float = Field(default=15.0, gt=0, description="Required inflow / initial "
                                    "density ratio at the entries (15:1 as in the seed).")
    check_control_interval: bool = Field(default=True, description="Decision interval equals "
                                         "expected_interval_s.")
    expected_interval_s: float = Field(default=15.0, gt=0, description="Decision interval the "
                                       "control-interval check expects.")


class ModePreset(BaseModel):
    """What a mode sets unless the config says otherwise."""

    model_config = ConfigDict(frozen=True)

    total_timesteps: int
    save_freq: int
    eval_freq: int
    n_eval_episodes: int
    dqn: dict[str, Any] = Field(default_factory=dict)
    max_hours: float | None = None
    device: Device = "cpu"
    n_envs: int = 1
    """Environments stepped together on a CPU (measured: benchmarks/bench_training.py)."""
    gpu_n_envs: int = 1
    """... and on a GPU, where a larger batch of replicas costs the policy nothing."""


MODE_PRESETS: dict[str, ModePreset] = {
    "sanity": ModePreset(total_timesteps=100, save_freq=50, eval_freq=50, n_eval_episodes=2,
                         dqn={"learning_starts": 50, "buffer_size": 1000,
                              "target_update_interval": 50}),
    "quick": ModePreset(total_timesteps=5000, save_freq=500, eval_freq=1000, n_eval_episodes=5,
                        dqn={"learning_starts": 500, "target_update_interval": 500,
                             "exploration_fraction": 0.2}, n_envs=8, gpu_n_envs=200),
    "production": ModePreset(total_timesteps=100_000, save_freq=1000, eval_freq=5000,
                             n_eval_episodes=10, n_envs=8, gpu_n_envs=200),
    "kaggle": ModePreset(total_timesteps=200_000, save_freq=2000, eval_freq=10_000,
                         n_eval_episodes=10, max_hours=8.5, device="auto", n_envs=8,
                         gpu_n_envs=200),
}
"""Mode presets: steps and checkpoint frequency as in the seed's guide; evaluation frequency
scales with the mode; sanity and quick start learning early so they exercise training.
Replicas: 8 on a CPU (SB3's per-step overhead shared by 8 transitions; more gains little on one
core), 200 on a GPU (a divisor of every mode's total, so runs end exactly there)."""

MAX_N_ENVS = 4096
GPU_BATCH_SIZE = 256
"""Minibatch on a GPU unless set: a GPU computes 256 rows in the time of 32."""


class TrainingConfig(_Model):
    """How a DQN agent is trained, checkpointed, evaluated and where its results go.

    Fields left out take the mode's preset (MODE_PRESETS): total_timesteps, the frequencies,
    the DQN settings a mode changes, max_hours and device.
    """

    experiment_name: str = Field(description="Run folder name under results_dir.")
    mode: Mode = Field(default="production", description="Preset: sanity, quick, production, "
                       "kaggle.")
    total_timesteps: int = Field(default=100_000, ge=1, le=1_000_000_000,
                                 description="Env steps to train in total (resume included).")
    device: Device = Field(default="cpu", description="cpu, cuda, or auto (cuda if available).")
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="Seed of agent and envs.")
    dqn_hyperparams: DQNHyperparameters = Field(default_factory=DQNHyperparameters,
                                                description="DQN settings.")
    checkpoint_strategy: CheckpointStrategy = Field(default_factory=CheckpointStrategy,
                                                    description="Checkpointing.")
    evaluation_strategy: EvaluationStrategy = Field(default_factory=EvaluationStrategy,
                                                    description="Periodic evaluation.")
    sanity_check_config: SanityCheckConfig = Field(default_factory=SanityCheckConfig,
                                                   description="Pre-training checks.")
    resume_training: bool = Field(default=False, description="Continue the newest complete "
                                  "checkpoint of this experiment.")
    checkpoint_path: Path | None = Field(default=None, description="Resume from this model zip "
                                         "instead of the newest checkpoint.")
    results_dir: Path = Field(default=Path("results"), description="Folder of run folders.")
    max_hours: float | None = Field(default=None, gt=0, le=10_000, description="Wall-clock "
                                    "budget: checkpoint and stop cleanly when reached.")
    tensorboard: bool = Field(default=False, description="Write TensorBoard logs to the run's "
                              "logs/tb (needs the tensorboard package); a resume continues "
                              "them.")
    n_envs: int | None = Field(
        default=None, ge=1, le=MAX_N_ENVS, description="Environments stepped together "
        "(replicas of the scenario in one batched simulator; the DQN settings keep their "
        "per-transition meaning). Default: the mode's, 8 on a CPU (1 in sanity mode), 200 on "
        "a GPU, lowered to a divisor of total_timesteps.")
    control: Control = Field(
        default="auto", description="joint: one agent chooses every signal's phase (one "
        "Discrete action over all combinations); per-signal: one agent per signal, all "
        "sharing one DQN (each signal's transition is a step, so the step counts a mode fills "
        "in are multiplied by the signals); auto: per-signal above 3 signals.")
    preset_filled: frozenset[str] = Field(default_factory=frozenset, exclude=True, repr=False,
                                          description="Step counts the mode filled in (not "
                                          "given): per-signal control scales these.")

    @model_validator(mode="before")
    @classmethod
    def _apply_mode(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        preset = MODE_PRESETS.get(data.get("mode", "production"))
        if preset is None:
            return data  # the Literal check reports the bad mode
        out = dict(data)
        filled = set()
        if "total_timesteps" not in out:
            filled.add("total_timesteps")
        ckpt = out.get("checkpoint_strategy")
        if ckpt is None or (isinstance(ckpt, dict) and "save_freq" not in ckpt):
            filled.add("save_freq")
        ev = out.get("evaluation_strategy")
        if ev is None or (isinstance(ev, dict) and "eval_freq" not in ev):
            filled.add("eval_freq")
        out.setdefault("preset_filled", frozenset(filled))
        out.setdefault("total_timesteps", preset.total_timesteps)
        out.setdefault("device", preset.device)
        if "max_hours" not in out:
            out["max_hours"] = preset.max_hours
        ckpt = out.get("checkpoint_strategy")
        if ckpt is None:
            out["checkpoint_strategy"] = {"save_freq": preset.save_freq}
        elif isinstance(ckpt, dict):
            out["checkpoint_strategy"] = {"save_freq": preset.save_freq, **ckpt}
        ev = out.get("evaluation_strategy")
        ev_preset = {"eval_freq": preset.eval_freq, "n_eval_episodes": preset.n_eval_episodes}
        if ev is None:
            out["evaluation_strategy"] = ev_preset
        elif isinstance(ev, dict):
            out["evaluation_strategy"] = {**ev_preset, **ev}
        dqn = out.get("dqn_hyperparams")
        if dqn is None:
            out["dqn_hyperparams"] = dict(preset.dqn)
        elif isinstance(dqn, dict):
            out["dqn_hyperparams"] = {**preset.dqn, **dqn}
        return out

    @field_validator("experiment_name")
    @classmethod
    def _safe_name(cls, name: str) -> str:
        if not NAME_PATTERN.fullmatch(name) or name in {".", ".."}:
            raise ValueError("use 1-100 letters, digits, '_', '-' or '.', starting with a "
                             "letter or digit")
        return name

    def resolved(self, device: str, n_signals: int = 1) -> TrainingConfig:
        """This config with its device- and network-dependent defaults filled in for
        `device` ('cpu' or 'cuda') and a network of `n_signals` signals: the control
        (`auto` resolved), under per-signal control the step counts the mode filled in
        multiplied by the signals (a per-signal run makes as many network decisions as a
        joint one), n_envs (replicas of the network), and on a GPU the larger minibatch
        unless batch_size was given."""
        preset = MODE_PRESETS[self.mode]
        update: dict[str, Any] = {}
        control = self.control
        if control == "auto":
            control = "per-signal" if n_signals > PER_SIGNAL_ABOVE else "joint"
            update["control"] = control
        slots = max(n_signals, 1) if control == "per-signal" else 1
        total = self.total_timesteps
        if slots > 1:
            if "total_timesteps" in self.preset_filled:
                total = update["total_timesteps"] = total * slots
            if "save_freq" in self.preset_filled:
                update["checkpoint_strategy"] = self.checkpoint_strategy.model_copy(
                    update={"save_freq": self.checkpoint_strategy.save_freq * slots})
            if "eval_freq" in self.preset_filled:
                update["evaluation_strategy"] = self.evaluation_strategy.model_copy(
                    update={"eval_freq": self.evaluation_strategy.eval_freq * slots})
        update["preset_filled"] = frozenset()
        if self.n_envs is None:
            wanted = preset.gpu_n_envs if device == "cuda" else preset.n_envs
            # The largest count up to the preset's whose batched step (n_envs * slots
            # transitions) divides the total: runs end exactly.
            fits = [n for n in range(1, min(wanted, total) + 1) if total % (n * slots) == 0]
            update["n_envs"] = max(fits, default=1)
        h = self.dqn_hyperparams
        if device == "cuda" and "batch_size" not in h.model_fields_set:
            update["dqn_hyperparams"] = h.model_copy(update={"batch_size": GPU_BATCH_SIZE})
        return self.model_copy(update=update)

    def slots(self, n_signals: int) -> int:
        """Transitions per replica and batched step: the signals under per-signal control."""
        return max(n_signals, 1) if self.control == "per-signal" else 1

    @property
    def run_dir(self) -> Path:
        """results_dir / experiment_name."""
        return self.results_dir / self.experiment_name

    @classmethod
    def build(cls, **fields: Any) -> TrainingConfig:
        """Validate at the edge: any error becomes one TrainingConfigError line."""
        try:
            return cls(**fields)
        except ValidationError as err:
            raise TrainingConfigError(f"training config: {validation_message(err)}") from None


def _preset_config(mode: Mode, name: str, **overrides: Any) -> TrainingConfig:
    return TrainingConfig.build(experiment_name=name, mode=mode, **overrides)


def sanity_check_config(name: str = "sanity_check", **overrides: Any) -> TrainingConfig:
    """100 steps, checkpoint every 50: validates the whole pipeline in seconds."""
    return _preset_config("sanity", name, **overrides)


def quick_config(name: str, **overrides: Any) -> TrainingConfig:
    """5,000 steps, checkpoint every 500: enough to see learning on riemann."""
    return _preset_config("quick", name, **overrides)


def production_config(name: str, **overrides: Any) -> TrainingConfig:
    """100,000 steps, checkpoint every 1,000."""
    return _preset_config("production", name, **overrides)


def kaggle_config(name: str, **overrides: Any) -> TrainingConfig:
    """200,000 steps, checkpoint every 2,000, device auto, 8.5 h wall-clock budget."""
    return _preset_config("kaggle", name, **overrides)
