"""Pydantic records of the JSON files in a results folder.

Readers validate what they load against these (a wrong type is "unreadable", never a crash
later); writers build them, so a file's shape is defined once.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Number = float | None


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow")


class TrainingSection(_Record):
    """The `training` part of training_config.json (a dumped TrainingConfig); the fields a
    reader relies on are typed, the rest is kept as saved."""

    experiment_name: str | None = None
    """Saved runs have it; a hand-written file in this shape may leave it to --name (the run
    folder's name is what identifies a run)."""
    mode: str = "production"
    total_timesteps: int = Field(default=0, ge=0)
    device: str | None = None
    seed: int = 0
    dqn_hyperparams: dict[str, Any] = {}
    n_envs: int | None = Field(default=None, ge=1)
    """Environments stepped together (None: a run from before batching, i.e. 1)."""
    checkpoint_strategy: dict[str, Any] = {}
    evaluation_strategy: dict[str, Any] = {}


class EnvSection(_Record):
    """The `env` part of training_config.json (a dumped EnvConfig)."""

    scenario: str = ""


class SavedRunConfig(_Record):
    """training_config.json: what a run was started with, and on what software."""

    training: TrainingSection
    env: EnvSection
    seed: int | None = None
    device: str | None = None
    versions: dict[str, str] = {}
    written: str | None = None


class Summary(_Record):
    """eval/summary.json: the final evaluation of the trained policy and of fixed time on the
    same seeded episodes."""

    step: int
    n_episodes: int = 0
    seeds: list[int] = []
    rl: dict[str, Number] = {}
    fixed_time: dict[str, Number] = {}
    units: dict[str, str] = Field(default_factory=lambda: dict(SUMMARY_UNITS))
    """What each metric is measured in (rewards: per decision step or per episode)."""


SUMMARY_UNITS: dict[str, str] = {
    "mean_reward": "reward per decision step (one decision every decision_interval_s)",
    "episode_reward": "reward summed over an episode",
    "mean_delay_s": "s per vehicle",
    "total_delay_vh": "vehicle-hours",
    "mean_travel_time_s": "s",
    "mean_queue_veh": "vehicles",
    "max_queue_veh": "vehicles",
    "vehicles_served": "vehicles",
    "vehicles_arrived": "vehicles",
    "vehicles_remaining": "vehicles",
    "simulated_s": "s",
}


class GroupStatus(StrEnum):
    RUNNING = "running"
    COMPLETE = "complete"
    INCOMPLETE = "incomplete"


class GroupMarker(_Record):
    """group.json: marks a folder as a seed group and lists its member runs."""

    name: str
    seeds: list[int]
    members: list[str]
    status: GroupStatus = GroupStatus.COMPLETE
    pid: int | None = None
    """The `--seeds` parent while it runs: a marker still "running" whose process is gone
    is an incomplete group."""


class MeanCI(BaseModel):
    mean: Number = None
    ci95: Number = None
    n: int = 0


class CurvePoint(BaseModel):
    step: int
    mean: Number = None
    ci95: Number = None
    n: int = 0


class TrialRecord(_Record):
    """trial.json in a tuning trial's run folder: how optuna ended the trial."""

    study: str
    number: int
    state: str
    """complete, pruned or fail (optuna's TrialState, lower case)."""
    value: Number = None
    pruned_at: int | None = None
    """The training step whose evaluation the pruner judged."""
    params: dict[str, Any] = {}


class BestTrial(_Record):
    """best_trial.json of a tuning study: the best complete trial so far."""

    study: str = ""
    trial: int
    value: Number = None
    objective: str = ""
    params: dict[str, Any] = {}


class Aggregate(_Record):
    """aggregate.json: mean and 95 % interval over the seeds that finished."""

    name: str = ""
    seeds: list[int]
    members: list[str]
    finished: list[str] = []
    missing: list[str] = []
    metrics: dict[str, dict[str, MeanCI]] = {}
    eval_curve: list[CurvePoint] = []
    complete: bool = True


class FileDigest(BaseModel):
    name: str
    size: int = Field(ge=0)
    sha256: str


class Manifest(BaseModel):
    """checkpoint_{N}.json / final.json: the files of one checkpoint with sizes and hashes,
    written after them, so a checkpoint is complete exactly when its manifest exists and its
    files match it."""

    steps: int = Field(ge=0)
    files: list[FileDigest]
    written: float = 0.0

    @classmethod
    def of(cls, steps: int, files: list[tuple[Path, bytes]], written: float) -> Manifest:
        return cls(steps=steps, written=written, files=[
            FileDigest(name=p.name, size=len(b), sha256=hashlib.sha256(b).hexdigest())
            for p, b in files])

    def problem(self, folder: Path, hashes: bool = True) -> str | None:
        """Why the files in `folder` do not match (None when they do)."""
        for entry in self.files:
            path = folder / entry.name
            try:
                st = path.lstat()
            except OSError:
                return f"{entry.name} is missing"
            if not path.is_file() or path.is_symlink():
                return f"{entry.name} is not a regular file"
            if st.st_size != entry.size:
                return f"{entry.name} has {st.st_size:,} bytes, not {entry.size:,}"
            if hashes and sha256_of(path) != entry.sha256:
                return f"{entry.name} does not match its sha256"
        return None

    def path_of(self, folder: Path, suffix: str) -> Path | None:
        for entry in self.files:
            if entry.name.endswith(suffix):
                return folder / entry.name
        return None


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class BestRecord(BaseModel):
    """best_model.json: the evaluation that made best_model.zip (step and mean reward), so a
    resume can tell whether the best model belongs to its timeline."""

    step: int = Field(ge=0)
    mean_reward: float
