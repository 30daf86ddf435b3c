"""The one reader of results folders for browsers, reports, sweeps and tuning.

Nothing here raises on a bad folder: a run that cannot be read comes back with status
UNREADABLE and the reason. Only regular files inside the results folder are read, strings
from disk come back stripped of control characters.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from arz_tui.runstore.checkpoints import has_checkpoint
from arz_tui.runstore.claim import lock_holder
from arz_tui.runstore.events import Event, EventKind, RunStatus, read_events, status_from_events
from arz_tui.runstore.files import (
    Unreadable,
    inside,
    load_record,
    maybe_record,
    read_npy,
    text_tail,
)
from arz_tui.runstore.layout import GROUP_FILE, RunLayout
from arz_tui.runstore.records import (
    Aggregate,
    GroupMarker,
    GroupStatus,
    SavedRunConfig,
    Summary,
)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


def printable(text: Any, limit: int = 500) -> str:
    """A string from disk made safe to show: control characters (escape sequences, bidi
    overrides) replaced by '?', at most `limit` characters."""
    s = _CONTROL.sub("?", str(text))
    return s if len(s) <= limit else s[: limit - 1] + "…"


@dataclass(frozen=True)
class RunInfo:
    """One row of a results browser."""

    name: str
    path: Path
    status: RunStatus
    scenario: str | None = None
    mode: str | None = None
    steps: int | None = None
    total: int | None = None
    best_reward: float | None = None
    date: float | None = None
    """Start time of the run's first event (or the folder's modification time)."""
    has_checkpoint: bool = False
    reason: str | None = None
    """Why a run is unreadable (or what a group holds)."""
    holder: int | None = None
    """The pid of the live process holding the run."""

    @property
    def resumable(self) -> bool:
        return self.status == RunStatus.INTERRUPTED

    @classmethod
    def unreadable(cls, path: Path, reason: str, **more: Any) -> RunInfo:
        return cls(printable(path.name), path, RunStatus.UNREADABLE,
                   reason=printable(reason), **more)


def _mtime(path: Path) -> float | None:
    try:
        return path.lstat().st_mtime
    except OSError:
        return None


def read_config(path: Path, root: Path | None = None) -> SavedRunConfig:
    """A run's training_config.json (Unreadable when missing or malformed)."""
    lay = RunLayout(path)
    return load_record(lay.config, SavedRunConfig, root or path)


def read_summary(path: Path, root: Path | None = None) -> Summary | None:
    return maybe_record(RunLayout(path).summary, Summary, root or path)


def read_group(path: Path, root: Path | None = None) -> GroupMarker | None:
    return maybe_record(Path(path) / GROUP_FILE, GroupMarker, root or path)


def is_group(path: Path) -> bool:
    return (Path(path) / GROUP_FILE).exists()


def read_aggregate(path: Path, root: Path | None = None) -> Aggregate | None:
    from arz_tui.runstore.layout import AGGREGATE_FILE

    return maybe_record(Path(path) / AGGREGATE_FILE, Aggregate, root or path)


def group_status(marker: GroupMarker) -> GroupStatus:
    """A marker left "running" by a parent that is gone means the group is incomplete."""
    from arz_tui.runstore.events import pid_alive

    if marker.status == GroupStatus.RUNNING and not (marker.pid and pid_alive(marker.pid)):
        return GroupStatus.INCOMPLETE
    return marker.status


def read_run_info(path: Path, root: Path | None = None) -> RunInfo:
    """What a browser lists about one results folder entry; never raises."""
    root = Path(root) if root is not None else path.parent
    if not inside(path, root):
        return RunInfo.unreadable(path, "points outside the results folder")
    if not path.is_dir():
        return RunInfo.unreadable(path, "a broken link" if path.is_symlink() and not
                                  path.exists() else "not a run folder (a plain file)")
    mtime = _mtime(path)
    lay = RunLayout(path)
    if (path / GROUP_FILE).exists():
        try:
            marker = load_record(path / GROUP_FILE, GroupMarker, root)
        except Unreadable as err:
            return RunInfo.unreadable(path, f"unreadable run files: {err.reason} "
                                            f"({GROUP_FILE})", date=mtime)
        state = group_status(marker)
        return RunInfo(printable(path.name), path, RunStatus.GROUP, date=mtime,
                       reason=printable(f"seed group of {len(marker.members)} runs, {state}"))
    config: SavedRunConfig | None = None
    if lay.config.exists() or lay.config.is_symlink():
        try:
            config = load_record(lay.config, SavedRunConfig, root)
        except Unreadable as err:
            short = ("training_config.json is not valid JSON" if "JSON" in err.reason
                     else f"unreadable run files: training_config.json {err.reason}")
            return RunInfo.unreadable(path, short, date=mtime)
    if (lay.metrics.exists() or lay.metrics.is_symlink()) and not inside(lay.metrics, root):
        return RunInfo.unreadable(path, "its files link outside the results folder",
                                  date=mtime)
    events = read_events(lay.metrics, root)
    holder = lock_holder(path)
    if config is None and not events:
        if holder is not None:
            return RunInfo(printable(path.name), path, RunStatus.RUNNING, date=mtime,
                           holder=holder, reason="starting (sanity checks)")
        return RunInfo.unreadable(
            path, "not a run folder (no training_config.json or logs/metrics.jsonl)",
            date=mtime)
    start = next((e for e in events if e.kind == EventKind.RUN_STARTED), None)
    started = start.payload() if start is not None and _valid(start) else None
    steps = max((e.step for e in events), default=None)
    rewards = [r for e in events if e.kind == EventKind.EVAL
               if isinstance(r := e.data.get("mean_reward"), int | float)
               and not isinstance(r, bool) and math.isfinite(r)]
    training = config.training if config else None
    total = training.total_timesteps if training else (
        getattr(started, "total_timesteps", None))
    # The lock tells a live run from a killed one; runs of older versions (no lock file)
    # fall back to the pid their start event recorded.
    alive = holder is not None if lay.lock.exists() else None
    status = (status_from_events(events, alive=alive) if events
              else RunStatus.RUNNING if holder is not None else RunStatus.INTERRUPTED)
    scenario = config.env.scenario if config else getattr(started, "scenario", None)
    mode = training.mode if training else getattr(started, "mode", None)
    return RunInfo(
        name=printable(path.name), path=path, status=status,
        scenario=printable(scenario, 60) if scenario else None,
        mode=printable(mode, 20) if mode else None, steps=steps, total=total or None,
        best_reward=max(rewards) if rewards else None,
        date=start.time if start else mtime, has_checkpoint=has_checkpoint(lay),
        holder=holder)


def _valid(event: Event) -> bool:
    try:
        event.payload()
    except ValueError:
        return False
    return True


def list_runs(results_dir: Path) -> list[RunInfo]:
    """Entries of `results_dir` (hidden ones skipped), newest first, unreadable ones last."""
    root = Path(results_dir)
    try:
        entries = [p for p in root.iterdir() if not p.name.startswith(".")]
    except OSError:
        return []
    runs = [read_run_info(p, root) for p in entries]
    readable = sorted((r for r in runs if r.status != RunStatus.UNREADABLE),
                      key=lambda r: (-(r.date or 0.0), r.name))
    return readable + sorted((r for r in runs if r.status == RunStatus.UNREADABLE),
                             key=lambda r: r.name)


# ---------------------------------------------------------------------- run contents
def read_timespace(path: Path, root: Path | None = None) -> np.ndarray | None:
    """A time-space diagram (.npy, 2-D, numeric, finite) or None."""
    try:
        data = read_npy(path, root, cap=64 * 2**20)
    except Unreadable:
        return None
    if data.ndim != 2 or data.size == 0 or data.dtype.kind not in "biuf":
        return None
    clean: np.ndarray = np.nan_to_num(data.astype(float), nan=0.0, posinf=0.0, neginf=0.0)
    return clean


@dataclass(frozen=True)
class FileEntry:
    path: str
    """Relative to the run folder."""
    size: int
    mtime: float


def model_files(path: Path, root: Path | None = None) -> list[FileEntry]:
    """The model and buffer files of a run (regular files inside the results folder)."""
    lay = RunLayout(path)
    root = root or path
    found = []
    for folder in lay.model_files():
        try:
            children = sorted(folder.iterdir())
        except OSError:
            continue
        for p in children:
            if p.suffix not in (".zip", ".npz", ".pkl") or (p.is_symlink() and not inside(p, root)):
                continue
            try:
                st = p.stat()
            except OSError:
                continue
            if p.is_file():
                found.append(FileEntry(printable(str(p.relative_to(path))), st.st_size,
                                       st.st_mtime))
    return found


def log_tail(path: Path, lines: int = 40, root: Path | None = None) -> list[str]:
    """Last lines of logs/training.log, printable."""
    text = text_tail(RunLayout(path).training_log, root or path)
    return [printable(line) for line in text.splitlines()[-lines:]]


def load_events(path: Path, root: Path | None = None) -> list[Event]:
    return read_events(RunLayout(path).metrics, root or path)


@dataclass
class GroupView:
    marker: GroupMarker | None
    aggregate: Aggregate | None
    status: GroupStatus | None = None
    members: list[str] = field(default_factory=list)


def read_group_view(path: Path, root: Path | None = None) -> GroupView:
    marker = read_group(path, root)
    agg = read_aggregate(path, root)
    return GroupView(marker, agg, group_status(marker) if marker else None,
                     [printable(m) for m in marker.members] if marker else [])
