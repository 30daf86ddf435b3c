"""Progress as a stream of events: the TUI and the batch printer are two listeners on it, and
every event is also appended to logs/metrics.jsonl (which a TUI in another terminal tails).

The event format itself (kinds, payload models, JSONL writing and reading) belongs to
`arz_tui.runstore.events`; this module publishes and describes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from arz_tui.runstore.events import (
    Event,
    EventKind,
    JsonlWriter,
    LineAppender,
    process_info,
)

__all__ = ["Event", "EventBus", "EventKind", "JsonlWriter", "Listener", "TextLogWriter",
           "describe", "process_info"]

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

    def publish(self, kind: EventKind, step: int = 0, **data: Any) -> Event:
        event = Event.now(kind, step, **data)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception as err:  # a broken view must not stop training
                self._listeners.remove(listener)
                self.dropped.append((listener, err))
        return event


class TextLogWriter(LineAppender):
    """Human-readable lines in logs/training.log (progress is thinned to one line in ten)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._progress = 0

    def __call__(self, event: Event) -> None:
        if event.kind == EventKind.PROGRESS:
            self._progress += 1
            if self._progress % 10:
                return
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(event.time))
        self.write_line(f"{stamp} step={event.step} {event.kind} {describe(event)}")


def _f(value: Any, spec: str) -> str:
    return format(value, spec) if isinstance(value, int | float) else "-"


def describe(event: Event) -> str:
    """A short human description of an event (log lines, batch output)."""
    d = event.data
    k = event.kind
    if k == EventKind.SANITY_RESULT:
        verdict = "PASS" if d.get("passed") else "FAIL"
        return f"{verdict} {d.get('name')}: {d.get('measured')} (expected {d.get('expected')})"
    if k == EventKind.PROGRESS:
        return (f"fps={_f(d.get('fps'), '.0f')} eps={_f(d.get('epsilon'), '.3f')} "
                f"queue={_f(d.get('queue_veh'), '.1f')}")
    if k == EventKind.EPISODE:
        return f"reward={_f(d.get('reward'), '.3f')} length={d.get('length')}"
    if k == EventKind.CHECKPOINT:
        return f"saved {d.get('model')}"
    if k == EventKind.EVAL:
        return (f"reward/step={_f(d.get('reward_per_step'), '.4f')} "
                f"reward/episode={_f(d.get('mean_reward'), '.3f')} "
                f"mean_queue={_f(d.get('mean_queue_veh'), '.1f')}")
    if k == EventKind.BEST_MODEL:
        return f"new best: reward/episode {_f(d.get('mean_reward'), '.3f')}"
    if k in (EventKind.RUN_STARTED, EventKind.RUN_FINISHED, EventKind.RUN_INTERRUPTED,
             EventKind.RUN_FAILED, EventKind.LOG, EventKind.SANITY_REPORT):
        return str(d.get("message", ""))
    return ""
