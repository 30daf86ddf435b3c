"""Reading run folders for browsers and reports: robust to half-written and foreign folders.

Nothing here raises on a bad folder: a run that cannot be read comes back with status
"unreadable" and the reason. Only paths inside the results directory are read.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from arz_tui.training.events import Event
from arz_tui.training.monitor import RunState
from arz_tui.training.results import RunLayout, list_checkpoints, read_events, run_status


@dataclass(frozen=True)
class RunInfo:
    """One row of a results browser."""

    name: str
    path: Path
    status: str
    """finished, interrupted, running, failed, unknown, group (a seed group), unreadable."""
    scenario: str | None = None
    mode: str | None = None
    steps: int | None = None
    total: int | None = None
    best_reward: float | None = None
    date: float | None = None
    """Start time of the run's first event (or the folder's modification time)."""
    has_checkpoint: bool = False
    reason: str | None = None
    """Why a run is unreadable."""

    @property
    def resumable(self) -> bool:
        return self.status == "interrupted" and self.has_checkpoint


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return False
    return True


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from a file, or None if missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def read_run_info(path: Path, root: Path | None = None) -> RunInfo:
    """What a browser lists about one run folder; never raises."""
    name = path.name
    if root is not None and not _inside(path, root):
        return RunInfo(name, path, "unreadable", reason="points outside the results folder")
    lay = RunLayout(path)
    try:
        mtime = path.stat().st_mtime
    except OSError as err:
        return RunInfo(name, path, "unreadable", reason=str(err))
    if root is not None and not all(_inside(p, root) for p in (lay.config, lay.metrics)
                                    if p.exists() or p.is_symlink()):
        return RunInfo(name, path, "unreadable", date=mtime,
                       reason="its files point outside the results folder")
    marker = read_json(path / "group.json")
    if marker is not None:
        members = marker.get("members")
        count = len(members) if isinstance(members, list) else 0
        return RunInfo(name, path, "group", date=mtime,
                       reason=f"seed group of {count} runs (aggregate.json, report/)")
    config = read_json(lay.config)
    if config is not None and not (isinstance(config.get("training", {}), dict)
                                   and isinstance(config.get("env", {}), dict)):
        return RunInfo(name, path, "unreadable", date=mtime,
                       reason="unreadable run files: training_config.json has the wrong shape")
    events = [e for e in read_events(lay.metrics) if isinstance(e.get("data", {}), dict)]
    if config is None and not events:
        why = ("training_config.json is not valid JSON" if lay.config.exists()
               else "not a run folder (no training_config.json or logs/metrics.jsonl)")
        return RunInfo(name, path, "unreadable", date=mtime, reason=why)
    training = config.get("training", {}) if config else {}
    env = config.get("env", {}) if config else {}
    start = next((e for e in events if e.get("kind") == "run_started"), None)
    data = start.get("data", {}) if start else {}
    steps = max((_as_int(e.get("step")) for e in events), default=None)
    rewards = [e.get("data", {}).get("mean_reward") for e in events if e.get("kind") == "eval"]
    rewards = [r for r in rewards if isinstance(r, int | float)]
    try:
        has_ckpt = bool(list_checkpoints(lay, need_buffer=False)) or lay.final_model.is_file()
    except OSError:
        has_ckpt = False
    total = training.get("total_timesteps", data.get("total_timesteps"))
    return RunInfo(
        name=name, path=path, status=run_status(events) if events else "unknown",
        scenario=env.get("scenario", data.get("scenario")),
        mode=training.get("mode", data.get("mode")), steps=steps,
        total=int(total) if isinstance(total, int | float) else None,
        best_reward=max(rewards) if rewards else None,
        date=float(start["time"]) if start and isinstance(start.get("time"), int | float)
        else mtime,
        has_checkpoint=has_ckpt)


def _as_int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def list_runs(results_dir: Path) -> list[RunInfo]:
    """Run folders in `results_dir`, newest first (hidden folders skipped)."""
    root = Path(results_dir)
    try:
        entries = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    except OSError:
        return []
    runs = [read_run_info(p, root) for p in entries]
    return sorted(runs, key=lambda r: r.date or 0.0, reverse=True)


def load_state(path: Path) -> RunState:
    """A run's RunState rebuilt from its metrics.jsonl."""
    state = RunState()
    for raw in read_events(RunLayout(path).metrics):
        try:
            state.apply(raw)
        except (TypeError, ValueError):
            continue
    return state


def read_timespace(path: Path) -> np.ndarray | None:
    """A time-space diagram (.npy, 2-D, finite) or None."""
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if not isinstance(data, np.ndarray) or data.ndim != 2 or data.size == 0:
        return None
    return np.nan_to_num(data.astype(float), nan=0.0, posinf=0.0, neginf=0.0)


def checkpoint_files(path: Path) -> list[tuple[str, int, float]]:
    """(path relative to the run, bytes, mtime) of the model and buffer files."""
    lay = RunLayout(path)
    found = []
    for folder in (lay.checkpoints, lay.latest, lay.best):
        try:
            for p in sorted(folder.iterdir()):
                if p.is_file() and p.suffix in (".zip", ".pkl"):
                    st = p.stat()
                    found.append((str(p.relative_to(path)), st.st_size, st.st_mtime))
        except OSError:
            continue
    return found


def log_tail(path: Path, lines: int = 40) -> list[str]:
    """Last lines of logs/training.log."""
    try:
        with open(RunLayout(path).training_log, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]


class JsonlTail:
    """Follows a growing metrics.jsonl: each `read()` returns the events appended since the
    last one (a half-written last line waits for the next read)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self._partial = b""

    def read(self) -> list[Event]:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read()
        except OSError:
            return []
        self.offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()
        out = []
        for line in lines:
            try:
                raw = json.loads(line)
                if isinstance(raw, dict) and "kind" in raw:
                    out.append(Event.from_dict(raw))
            except (ValueError, TypeError, AttributeError):
                continue  # one bad line never costs the lines around it
        return out
