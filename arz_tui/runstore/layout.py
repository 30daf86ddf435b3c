"""Where everything lives in a results folder: the only module that spells these paths.

    results/{run}/.lock                                    held by the process using the run
                 training_config.json
                 checkpoints/latest/dqn_checkpoint_{N}_steps.zip          (rotating)
                                   /replay_buffer_{N}_steps.npz      full snapshot, or
                                   /replay_buffer_{N}_steps_delta.npz  rows since the previous
                                   /checkpoint_{N}.json                    manifest, written last
                 checkpoints/best/best_model.zip, best_model.json
                 checkpoints/dqn_model_final.zip, replay_buffer_final.npz, final.json
                 logs/training.log, logs/metrics.jsonl, logs/tb/
                 logs/netstate.jsonl                 the network map's frames (runstore.netstate)
                 eval/evaluations.npz, eval/summary.json, eval/timespace_{controller}.npy
    results/{group}/group.json, aggregate.json, report/      (a seed group)
    results/tuning/{study}/trial_{n}/..., results/tuning/{study}.journal
"""

from __future__ import annotations

import re
from pathlib import Path

CHECKPOINT_RE = re.compile(r"^dqn_checkpoint_(\d+)_steps\.zip$")
MANIFEST_RE = re.compile(r"^checkpoint_(\d+)\.json$")
BUFFER_RE = re.compile(r"^replay_buffer_(\d+)_steps(_delta)?\.npz$")
TMP_SUFFIX = ".tmp"
LOCK_NAME = ".lock"
GROUP_FILE = "group.json"
TRIAL_FILE = "trial.json"
TUNING_DIR = "tuning"
AGGREGATE_FILE = "aggregate.json"
REPORT_DIR = "report"
TUNING_DIR = "tuning"
BUFFER_SUFFIX = ".npz"
LEGACY_BUFFER_SUFFIX = ".pkl"


class RunLayout:
    """Paths of one run folder."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.lock = self.root / LOCK_NAME
        self.checkpoints = self.root / "checkpoints"
        self.latest = self.checkpoints / "latest"
        self.best = self.checkpoints / "best"
        self.best_model = self.best / "best_model.zip"
        self.best_record = self.best / "best_model.json"
        self.final_model = self.checkpoints / "dqn_model_final.zip"
        self.final_buffer = self.checkpoints / f"replay_buffer_final{BUFFER_SUFFIX}"
        self.final_manifest = self.checkpoints / "final.json"
        self.legacy_final_buffer = self.checkpoints / f"replay_buffer_final{LEGACY_BUFFER_SUFFIX}"
        self.logs = self.root / "logs"
        self.training_log = self.logs / "training.log"
        self.metrics = self.logs / "metrics.jsonl"
        self.tensorboard = self.logs / "tb"
        self.netstate = self.logs / "netstate.jsonl"
        """Per-link occupancy and per-signal queue and phase during training (the map)."""
        self.eval = self.root / "eval"
        self.evaluations = self.eval / "evaluations.npz"
        self.evaluations_partial = self.eval / ".evaluations.partial"
        self.summary = self.eval / "summary.json"
        self.config = self.root / "training_config.json"
        self.trial = self.root / TRIAL_FILE
        """A tuning trial's outcome (complete, pruned, failed), written by the tuner."""

    @property
    def name(self) -> str:
        return self.root.name

    def create(self) -> None:
        for folder in (self.latest, self.best, self.logs, self.eval):
            folder.mkdir(parents=True, exist_ok=True)

    def checkpoint_model(self, steps: int) -> Path:
        return self.latest / f"dqn_checkpoint_{steps}_steps.zip"

    def checkpoint_buffer(self, steps: int) -> Path:
        return self.latest / f"replay_buffer_{steps}_steps{BUFFER_SUFFIX}"

    def checkpoint_buffer_delta(self, steps: int) -> Path:
        """The replay-buffer rows written since the previous checkpoint (see BufferChain)."""
        return self.latest / f"replay_buffer_{steps}_steps_delta{BUFFER_SUFFIX}"

    def legacy_checkpoint_buffer(self, steps: int) -> Path:
        return self.latest / f"replay_buffer_{steps}_steps{LEGACY_BUFFER_SUFFIX}"

    def checkpoint_manifest(self, steps: int) -> Path:
        return self.latest / f"checkpoint_{steps}.json"

    def timespace(self, controller: str) -> Path:
        """Latest evaluation episode's corridor occupancy over time (.npy)."""
        return self.eval / f"timespace_{controller}.npy"

    def model_files(self) -> list[Path]:
        """Folders whose .zip/.npz files the checkpoints tab lists."""
        return [self.checkpoints, self.latest, self.best]

    def remove_temporaries(self) -> None:
        """Leftovers of writes a kill interrupted."""
        if self.root.is_dir():
            for path in self.root.rglob(f"*{TMP_SUFFIX}"):
                if path.is_file() and not path.is_symlink():
                    path.unlink(missing_ok=True)


class GroupLayout:
    """Paths of a seed group folder: its marker, aggregate and reports."""

    def __init__(self, results_dir: Path | str, name: str) -> None:
        self.results_dir = Path(results_dir)
        self.name = name
        self.root = self.results_dir / name
        self.lock = self.root / LOCK_NAME
        self.marker = self.root / GROUP_FILE
        self.aggregate = self.root / AGGREGATE_FILE
        self.report = self.root / REPORT_DIR

    def member(self, seed: int) -> RunLayout:
        return RunLayout(self.results_dir / member_name(self.name, seed))


def member_name(name: str, seed: int) -> str:
    """The run name of one seed of a group."""
    return f"{name}_s{seed}"


def report_dir(results_dir: Path, label: str) -> Path:
    """Default output folder of `arz-tui report` for the first run or group `label`."""
    return Path(results_dir) / label / REPORT_DIR


def tuning_dir(results_dir: Path, study: str) -> Path:
    """Trial run folders of a tuning study."""
    return Path(results_dir) / TUNING_DIR / study


def tuning_journal(results_dir: Path, study: str) -> Path:
    """The default journal file of a tuning study."""
    return Path(results_dir) / TUNING_DIR / f"{study}.journal"
