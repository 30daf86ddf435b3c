"""The event stream of a run (logs/metrics.jsonl): kinds, payloads, writer, reader, tail.

One JSON object per line: {"kind", "step", "data", "time"}. Every kind has a payload model;
writers validate the payload against it, readers get `Event.payload()` typed. A line a kill cut
in half is repaired (cut off) before anything is appended, so the next event is never glued to
it; readers skip lines that are not events and never fail on them.
"""

from __future__ import annotations

import json
import math
import os
import time
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from arz_tui.runstore.files import JSON_CAP, Unreadable, check_regular


class EventKind(StrEnum):
    RUN_STARTED = "run_started"
    SANITY_RESULT = "sanity_result"
    SANITY_REPORT = "sanity_report"
    PROGRESS = "progress"
    EPISODE = "episode"
    CHECKPOINT = "checkpoint"
    EVAL = "eval"
    BASELINE = "baseline"
    BEST_MODEL = "best_model"
    TIMESPACE = "timespace"
    LOG = "log"
    RUN_FINISHED = "run_finished"
    RUN_INTERRUPTED = "run_interrupted"
    RUN_FAILED = "run_failed"


class RunStatus(StrEnum):
    """What a browser says about a results folder entry."""

    RUNNING = "running"
    FINISHED = "finished"
    INTERRUPTED = "interrupted"
    FAILED = "failed"
    UNKNOWN = "unknown"
    GROUP = "group"
    UNREADABLE = "unreadable"


TERMINAL = {EventKind.RUN_FINISHED: RunStatus.FINISHED,
            EventKind.RUN_INTERRUPTED: RunStatus.INTERRUPTED,
            EventKind.RUN_FAILED: RunStatus.FAILED}

Number = float | None


# ---------------------------------------------------------------------- payloads
class Payload(BaseModel):
    """Fields every payload may carry; metric payloads allow further numeric fields."""

    model_config = ConfigDict(extra="forbid")
    message: str | None = None


class _Metrics(Payload):
    model_config = ConfigDict(extra="allow")


class RunStarted(Payload):
    experiment: str = ""
    mode: str = ""
    scenario: str = ""
    device: str | None = None
    total_timesteps: int = 0
    n_envs: int = 1
    control: str = "joint"
    """joint, or per-signal (one shared agent per signal)."""
    resumed_from: int | None = None
    pid: int = 0
    host: str = ""


class SanityResult(Payload):
    name: str
    passed: bool
    measured: Any = None
    expected: Any = None
    fix: str | None = None


class SanityReport(Payload):
    passed: bool


class Progress(Payload):
    total: int = 0
    fps: Number = None
    epsilon: Number = None
    queue_veh: Number = None
    mean_episode_reward: Number = None
    eta_s: Number = None


class Episode(Payload):
    reward: Number = None
    length: int = 0
    totals: dict[str, Number] = {}


class CheckpointSaved(Payload):
    steps: int
    model: str
    buffer: str | None = None
    bytes: int = 0
    files: list[str] = []
    time: Number = None


class Evaluation(_Metrics):
    mean_reward: Number = None
    n_episodes: int = 0


class Baseline(_Metrics):
    controller: str = ""
    n_episodes: int = 0


class BestModel(Payload):
    mean_reward: Number = None
    path: str = ""


class Timespace(Payload):
    controller: str
    path: str = ""


class LogLine(Payload):
    pass


class RunFinished(Payload):
    rl: dict[str, Number] = {}
    fixed_time: dict[str, Number] = {}


class RunInterrupted(Payload):
    reason: str | None = None
    error: str | None = None


class RunFailed(Payload):
    error: str | None = None


PAYLOADS: dict[EventKind, type[Payload]] = {
    EventKind.RUN_STARTED: RunStarted, EventKind.SANITY_RESULT: SanityResult,
    EventKind.SANITY_REPORT: SanityReport, EventKind.PROGRESS: Progress,
    EventKind.EPISODE: Episode, EventKind.CHECKPOINT: CheckpointSaved,
    EventKind.EVAL: Evaluation, EventKind.BASELINE: Baseline,
    EventKind.BEST_MODEL: BestModel, EventKind.TIMESPACE: Timespace,
    EventKind.LOG: LogLine, EventKind.RUN_FINISHED: RunFinished,
    EventKind.RUN_INTERRUPTED: RunInterrupted, EventKind.RUN_FAILED: RunFailed,
}


def _plain(value: Any) -> Any:
    """JSON-safe values: numpy scalars and arrays become Python ones, NaN/inf None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    elif hasattr(value, "tolist"):
        return _plain(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def make_payload(kind: EventKind, data: dict[str, Any]) -> dict[str, Any]:
    """`data` checked against the kind's payload model, as plain JSON-safe values."""
    model = PAYLOADS[kind]
    clean: dict[str, Any] = _plain(data)
    model.model_validate(clean)  # raises on a field of the wrong type: a bug of ours
    return clean


class Event(BaseModel):
    """One thing that happened during a run, at env step `step`."""

    model_config = ConfigDict(frozen=True)

    kind: EventKind
    step: int = 0
    data: dict[str, Any] = {}
    time: float = 0.0

    @classmethod
    def now(cls, kind: EventKind | str, step: int = 0, **data: Any) -> Event:
        kind = EventKind(kind)
        return cls(kind=kind, step=int(step), data=make_payload(kind, data), time=time.time())

    def payload(self) -> Payload:
        """The data as the kind's model (ValidationError if a foreign file lied)."""
        return PAYLOADS[self.kind].model_validate(self.data)

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind.value, "step": self.step, "data": self.data,
                           "time": self.time}, allow_nan=False, default=str)

    @classmethod
    def from_dict(cls, raw: Any) -> Event:
        """An event from a parsed line; ValueError if it is not one."""
        if not isinstance(raw, dict):
            raise ValueError("not an object")
        data = raw.get("data") or {}
        step, stamp = raw.get("step", 0) or 0, raw.get("time", 0.0) or 0.0
        if (not isinstance(data, dict) or isinstance(step, bool)
                or not isinstance(step, int | float) or not isinstance(stamp, int | float)
                or not math.isfinite(step) or not math.isfinite(stamp)):
            raise ValueError("malformed event")
        try:
            return cls(kind=EventKind(str(raw.get("kind"))), step=int(step), data=data,
                       time=float(stamp))
        except (ValidationError, ValueError, TypeError) as err:
            raise ValueError(f"not an event: {err}") from None


def parse_line(line: bytes | str) -> Event | None:
    """An event from one line, or None for anything else (never raises)."""
    from arz_tui.runstore.files import parse_json

    try:
        return Event.from_dict(parse_json(line))
    except (Unreadable, ValueError):
        return None


# ---------------------------------------------------------------------- writing
def repair_torn_tail(path: Path) -> int:
    """Cut a last line that has no newline (a write a kill interrupted); returns the bytes
    removed. Appending after it would glue the next event onto the broken one."""
    try:
        with open(path, "rb+") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size == 0:
                return 0
            fh.seek(size - 1)
            if fh.read(1) == b"\n":
                return 0
            back = min(size, 1 << 20)
            fh.seek(size - back)
            chunk = fh.read(back)
            cut = chunk.rfind(b"\n")
            keep = size - back + cut + 1 if cut >= 0 else 0
            fh.truncate(keep)
            return size - keep
    except FileNotFoundError:
        return 0


class LineAppender:
    """A file opened for appending whole lines, flushed after each (another process tails
    it); the torn last line of a killed writer is repaired first."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.repaired = repair_torn_tail(path)
        self._fh: Any = open(path, "a", encoding="utf-8")

    def write_line(self, line: str) -> None:
        if self._fh is not None:
            self._fh.write(line + "\n")
            self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class JsonlWriter(LineAppender):
    """Appends each event as one JSON line (a listener of the run's event bus)."""

    def __call__(self, event: Event) -> None:
        self.write_line(event.to_json())


# ---------------------------------------------------------------------- reading
def read_events(path: Path, root: Path | None = None, limit: int | None = None,
                cap: int = 64 * JSON_CAP) -> list[Event]:
    """The events of a metrics.jsonl; lines that are not events are skipped, a missing or
    unsafe file gives []."""
    try:
        check_regular(path, root)
        from arz_tui.runstore.files import read_bytes

        data = read_bytes(path, root, cap, tail=True)
    except Unreadable:
        return []
    events = [e for line in data.split(b"\n") if line.strip()
              if (e := parse_line(line)) is not None]
    return events[-limit:] if limit else events


class JsonlTail:
    """Follows a growing metrics.jsonl: each `read()` returns the events appended since the
    last one (a half-written last line waits for the next read)."""

    def __init__(self, path: Path, root: Path | None = None,
                 chunk_cap: int = 8 * 2**20) -> None:
        self.path = path
        self.root = root
        self.offset = 0
        self.chunk_cap = chunk_cap
        self._partial = b""

    def read(self) -> list[Event]:
        try:
            check_regular(self.path, self.root)
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        except (Unreadable, OSError):
            return []
        try:
            size = os.fstat(fd).st_size
            if size < self.offset:  # replaced or truncated: start over
                self.offset, self._partial = 0, b""
            os.lseek(fd, self.offset, os.SEEK_SET)
            chunk = os.read(fd, self.chunk_cap)
        except OSError:
            return []
        finally:
            os.close(fd)
        self.offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        if len(self._partial) > JSON_CAP:
            self._partial = b""  # a "line" this long is not an event
        return [e for line in lines if line.strip() if (e := parse_line(line)) is not None]


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


def status_from_events(events: list[Event], alive: bool | None = None) -> RunStatus:
    """finished, interrupted, failed, running or unknown from a run's events.

    A run whose last start has no end is running while its process lives (`alive`, from the
    run's lock; else its recorded pid), and interrupted once it does not."""
    status = RunStatus.UNKNOWN
    last_start: Event | None = None
    for e in events:
        if e.kind == EventKind.RUN_STARTED:
            last_start, status = e, RunStatus.RUNNING
        elif e.kind in TERMINAL:
            status = TERMINAL[e.kind]
    if status == RunStatus.RUNNING:
        if alive is None:
            pid = last_start.data.get("pid") if last_start else None
            alive = isinstance(pid, int) and pid_alive(pid)
        if not alive:
            status = RunStatus.INTERRUPTED
    return status


def process_info() -> dict[str, Any]:
    """Who is running: lets a browser tell a live run from a killed one."""
    return {"pid": os.getpid(), "host": os.uname().nodename}
