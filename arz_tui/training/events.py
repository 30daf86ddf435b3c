"""Progress as a stream of events: the TUI and the batch printer are two listeners on it, and
every event is also appended to logs/metrics.jsonl (which a TUI in another terminal tails)."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

# Event kinds.
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


@dataclass(frozen=True)
class Event:
    """One thing that happened during a run, at env step `step`."""

    kind: str
    step: int = 0
    data: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=_plain, allow_nan=False)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Event:
        return cls(kind=str(raw.get("kind", "")), step=int(raw.get("step", 0) or 0),
                   data=dict(raw.get("data") or {}), time=float(raw.get("time", 0.0) or 0.0))


def _plain(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return _finite(obj.item())
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


def _finite(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    """Events carry JSON-safe values only (NaN/inf become None)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out[key] = _clean(value)
        elif isinstance(value, float):
            out[key] = _finite(value)
        elif hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
            out[key] = _finite(value.item())
        else:
            out[key] = value
    return out


Listener = Callable[[Event], None]


class EventBus:
    """Publishes events to listeners; a failing listener is dropped, never the run."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self.dropped: list[tuple[Listener, BaseException]] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def publish(self, kind: str, step: int = 0, **data: Any) -> Event:
        event = Event(kind=kind, step=int(step), data=_clean(data))
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception as err:  # a broken view must not stop training
                self._listeners.remove(listener)
                self.dropped.append((listener, err))
        return event


class _AppendFile:
    """A listener owning a file opened for appending, flushed after every line."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: TextIO | None = open(path, "a", encoding="utf-8")

    def _write(self, line: str) -> None:
        if self._fh is not None:
            self._fh.write(line + "\n")
            self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class JsonlWriter(_AppendFile):
    """Appends each event as one JSON line, so other processes can tail the run."""

    def __call__(self, event: Event) -> None:
        self._write(event.to_json())


class TextLogWriter(_AppendFile):
    """Human-readable lines in logs/training.log (progress is thinned to one line in ten)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._progress = 0

    def __call__(self, event: Event) -> None:
        if event.kind == PROGRESS:
            self._progress += 1
            if self._progress % 10:
                return
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(event.time))
        self._write(f"{stamp} step={event.step} {event.kind} {describe(event)}")


def describe(event: Event) -> str:
    """A short human description of an event (log lines, batch output)."""
    d = event.data
    k = event.kind
    if k == SANITY_RESULT:
        verdict = "PASS" if d.get("passed") else "FAIL"
        return f"{verdict} {d.get('name')}: {d.get('measured')} (expected {d.get('expected')})"
    if k == PROGRESS:
        return (f"fps={d.get('fps', 0):.0f} eps={d.get('epsilon', 0):.3f} "
                f"queue={d.get('queue_veh', 0):.1f}")
    if k == EPISODE:
        return f"reward={d.get('reward', 0):.3f} length={d.get('length')}"
    if k == CHECKPOINT:
        return f"saved {d.get('model')}"
    if k == EVAL:
        return (f"mean_reward={d.get('mean_reward', 0):.3f} "
                f"mean_queue={d.get('mean_queue_veh', 0):.1f}")
    if k == BEST_MODEL:
        return f"new best {d.get('mean_reward', 0):.3f}"
    if k in (RUN_STARTED, RUN_FINISHED, RUN_INTERRUPTED, RUN_FAILED, LOG, SANITY_REPORT):
        return str(d.get("message", ""))
    return ""


def process_info() -> dict[str, Any]:
    """Who is running: lets a browser tell a live run from a killed one."""
    return {"pid": os.getpid(), "host": os.uname().nodename}
