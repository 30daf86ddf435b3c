"""The results directory: exact layout, atomic writes, run status and listing.

    results/{experiment}/checkpoints/latest/dqn_checkpoint_{N}_steps.zip   (rotating)
                                           /replay_buffer_{N}_steps.pkl
                        checkpoints/best/best_model.zip
                        checkpoints/dqn_model_final.zip
                        checkpoints/replay_buffer_final.pkl
                        logs/training.log, logs/metrics.jsonl, logs/tb/
                        eval/evaluations.npz, eval/summary.json
                        training_config.json

Every file is written to a temporary name in the same folder and renamed over the target, so a
kill at any moment leaves the previous version (and the previous checkpoint) loadable.
"""

from __future__ import annotations

import io
import json
import os
import queue
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

CHECKPOINT_RE = re.compile(r"^dqn_checkpoint_(\d+)_steps\.zip$")
TMP_SUFFIX = ".tmp"


class RunLayout:
    """Paths of one run folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.checkpoints = self.root / "checkpoints"
        self.latest = self.checkpoints / "latest"
        self.best = self.checkpoints / "best"
        self.best_model = self.best / "best_model.zip"
        self.final_model = self.checkpoints / "dqn_model_final.zip"
        self.final_buffer = self.checkpoints / "replay_buffer_final.pkl"
        self.logs = self.root / "logs"
        self.training_log = self.logs / "training.log"
        self.metrics = self.logs / "metrics.jsonl"
        self.tensorboard = self.logs / "tb"
        self.eval = self.root / "eval"
        self.evaluations = self.eval / "evaluations.npz"
        self.summary = self.eval / "summary.json"
        self.config = self.root / "training_config.json"

    def create(self) -> None:
        for folder in (self.latest, self.best, self.logs, self.eval):
            folder.mkdir(parents=True, exist_ok=True)

    def checkpoint_model(self, steps: int) -> Path:
        return self.latest / f"dqn_checkpoint_{steps}_steps.zip"

    def checkpoint_buffer(self, steps: int) -> Path:
        return self.latest / f"replay_buffer_{steps}_steps.pkl"

    def timespace(self, controller: str) -> Path:
        """Latest evaluation episode's corridor occupancy over time (.npy)."""
        return self.eval / f"timespace_{controller}.npy"

    def remove_temporaries(self) -> None:
        """Leftovers of writes a kill interrupted."""
        if self.root.is_dir():
            for path in self.root.rglob(f"*{TMP_SUFFIX}"):
                path.unlink(missing_ok=True)


# ---------------------------------------------------------------------- atomic writes
def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}{TMP_SUFFIX}")


def write_bytes_atomic(path: Path, data: bytes | memoryview) -> None:
    """Write to a temporary file, then rename over `path` (atomic on POSIX)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False, default=_json_default)
                      + "\n")


def save_npz_atomic(path: Path, **arrays: Any) -> None:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_bytes_atomic(path, buf.getbuffer())


def save_npy_atomic(path: Path, array: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, array)
    write_bytes_atomic(path, buf.getbuffer())


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


class BackgroundWriter:
    """One thread that writes queued (path, bytes) jobs atomically, in order.

    Checkpoints are serialised in the training thread (a consistent snapshot) and written here,
    so disk time does not stall training; `after` callables run once their writes are done.
    """

    def __init__(self) -> None:
        self._jobs: queue.Queue[tuple[list[tuple[Path, bytes]], Callable[[], None] | None]
                                | None] = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="checkpoint-writer", daemon=True)
        self._thread.start()

    def submit(self, files: list[tuple[Path, bytes]],
               after: Callable[[], None] | None = None) -> None:
        self.raise_error()
        self._jobs.put((files, after))

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                files, after = job
                for path, data in files:
                    write_bytes_atomic(path, data)
                if after is not None:
                    after()
            except BaseException as err:  # reported to the training thread
                self._error = err
            finally:
                self._jobs.task_done()

    def flush(self) -> None:
        """Wait for every queued write; re-raise a failure in the caller's thread."""
        self._jobs.join()
        self.raise_error()

    def raise_error(self) -> None:
        if self._error is not None:
            err, self._error = self._error, None
            raise OSError(f"writing a checkpoint failed: {err}") from err

    def close(self) -> None:
        self.flush()
        self._jobs.put(None)
        self._thread.join(timeout=10)


# ---------------------------------------------------------------------- checkpoints
@dataclass(frozen=True)
class Checkpoint:
    steps: int
    model: Path
    buffer: Path | None


def list_checkpoints(layout: RunLayout, need_buffer: bool = True) -> list[Checkpoint]:
    """Complete checkpoints in checkpoints/latest, oldest first: a model zip (and, when
    needed, the replay buffer of the same step)."""
    found = []
    if not layout.latest.is_dir():
        return found
    for path in layout.latest.iterdir():
        m = CHECKPOINT_RE.match(path.name)
        if not m:
            continue
        steps = int(m.group(1))
        buffer = layout.checkpoint_buffer(steps)
        if buffer.is_file():
            found.append(Checkpoint(steps, path, buffer))
        elif not need_buffer:
            found.append(Checkpoint(steps, path, None))
    return sorted(found, key=lambda c: c.steps)


def rotate_checkpoints(layout: RunLayout, keep: int) -> None:
    """Keep the newest `keep` checkpoints (model and buffer) in checkpoints/latest."""
    steps = sorted({int(m.group(1)) for p in layout.latest.iterdir()
                    if (m := CHECKPOINT_RE.match(p.name))}) if layout.latest.is_dir() else []
    for old in steps[:-keep] if keep > 0 else steps:
        layout.checkpoint_model(old).unlink(missing_ok=True)
        layout.checkpoint_buffer(old).unlink(missing_ok=True)


# ---------------------------------------------------------------------- run status
RUN_STARTED, RUN_FINISHED, RUN_INTERRUPTED, RUN_FAILED = (
    "run_started", "run_finished", "run_interrupted", "run_failed")


def read_events(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """Events of a metrics.jsonl, skipping a half-written last line or corrupt lines."""
    events: list[dict[str, Any]] = []
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(event, dict) and "kind" in event:
                    events.append(event)
    except OSError:
        return []
    return events[-limit:] if limit else events


def pid_alive(pid: int) -> bool:
    """Whether process `pid` of this machine runs (a zombie does not)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def run_status(events: list[dict[str, Any]]) -> str:
    """finished, interrupted, failed, running, or unknown, from a run's event log.

    A run whose last start has no end is running while its process lives, and interrupted
    once it does not (killed)."""
    last_start = None
    status = "unknown"
    for ev in events:
        kind = ev.get("kind")
        if kind == RUN_STARTED:
            last_start = ev
            status = "running"
        elif kind == RUN_FINISHED:
            status = "finished"
        elif kind == RUN_INTERRUPTED:
            status = "interrupted"
        elif kind == RUN_FAILED:
            status = "failed"
    if status == "running" and last_start is not None:
        pid = last_start.get("data", {}).get("pid")
        if not isinstance(pid, int) or not pid_alive(pid):
            status = "interrupted"
    return status
