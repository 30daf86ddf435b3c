"""RunState: the event stream of a run folded into what a viewer shows (headless, no textual).

The live run screen feeds it events as they arrive; the results browser feeds it a run's
logs/metrics.jsonl. Either way the views read plain lists and dicts from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from arz_tui.training import events as ev
from arz_tui.training.events import Event

TERMINAL = {ev.RUN_FINISHED: "finished", ev.RUN_INTERRUPTED: "interrupted",
            ev.RUN_FAILED: "failed"}


@dataclass
class Series:
    """(x, y) points in arrival order."""

    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)

    def add(self, x: float, y: float | None) -> None:
        """Append a point; values that are missing or not numbers are skipped."""
        if y is None:
            return
        try:
            fx, fy = float(x), float(y)
        except (TypeError, ValueError):
            return
        self.x.append(fx)
        self.y.append(fy)

    def __len__(self) -> int:
        return len(self.x)

    def downsampled(self, width: int) -> tuple[list[float], list[float]]:
        """At most `width` points: the mean of each of `width` equal chunks (plots redraw at
        up to 10 Hz; a 100k-point line must not cost 100k points each time)."""
        n = len(self.x)
        if width <= 0 or n <= width:
            return list(self.x), list(self.y)
        xs, ys = [], []
        for k in range(width):
            lo, hi = k * n // width, (k + 1) * n // width
            if hi > lo:
                xs.append(sum(self.x[lo:hi]) / (hi - lo))
                ys.append(sum(self.y[lo:hi]) / (hi - lo))
        return xs, ys


@dataclass
class RunState:
    """Everything a run screen shows, updated one event at a time."""

    experiment: str = ""
    scenario: str = ""
    mode: str = ""
    device: str = ""
    status: str = "starting"
    message: str = ""
    step: int = 0
    total: int = 0
    fps: float | None = None
    eta_s: float | None = None
    epsilon: float | None = None
    started: float | None = None
    updated: float | None = None
    sanity: list[dict[str, Any]] = field(default_factory=list)
    sanity_passed: bool | None = None
    episode_reward: Series = field(default_factory=Series)
    episode_queue: Series = field(default_factory=Series)
    queue: Series = field(default_factory=Series)
    epsilon_curve: Series = field(default_factory=Series)
    fps_curve: Series = field(default_factory=Series)
    eval_reward: Series = field(default_factory=Series)
    eval_queue: Series = field(default_factory=Series)
    evals: list[dict[str, Any]] = field(default_factory=list)
    baseline: dict[str, Any] = field(default_factory=dict)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] = field(default_factory=dict)
    timespace: dict[str, str] = field(default_factory=dict)
    final: dict[str, Any] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    version: int = 0
    """Bumped by every event: views redraw only when it changed."""

    def apply(self, event: Event | dict[str, Any]) -> None:
        e = event if isinstance(event, Event) else Event.from_dict(event)
        d = e.data
        self.version += 1
        self.updated = e.time
        if e.step:
            self.step = max(self.step, e.step) if e.kind != ev.RUN_STARTED else e.step
        kind = e.kind
        if kind == ev.RUN_STARTED:
            self.experiment = d.get("experiment", self.experiment)
            self.scenario = d.get("scenario", self.scenario)
            self.mode = d.get("mode", self.mode)
            self.device = d.get("device", self.device)
            self.total = int(d.get("total_timesteps") or self.total)
            self.status = "running"
            self.started = e.time if self.started is None else self.started
        elif kind == ev.SANITY_RESULT:
            self.sanity.append(dict(d))
        elif kind == ev.SANITY_REPORT:
            self.sanity_passed = bool(d.get("passed"))
        elif kind == ev.PROGRESS:
            self.total = int(d.get("total") or self.total)
            self.fps = d.get("fps")
            self.eta_s = d.get("eta_s")
            self.epsilon = d.get("epsilon")
            self.queue.add(e.step, d.get("queue_veh"))
            self.epsilon_curve.add(e.step, d.get("epsilon"))
            self.fps_curve.add(e.step, d.get("fps"))
        elif kind == ev.EPISODE:
            self.episode_reward.add(e.step, d.get("reward"))
            self.episode_queue.add(e.step, (d.get("totals") or {}).get("mean_queue_veh"))
        elif kind == ev.BASELINE:
            self.baseline = dict(d)
        elif kind == ev.EVAL:
            self.evals.append({"step": e.step, **d})
            self.eval_reward.add(e.step, d.get("mean_reward"))
            self.eval_queue.add(e.step, d.get("mean_queue_veh"))
        elif kind == ev.BEST_MODEL:
            self.best = {"step": e.step, **d}
        elif kind == ev.CHECKPOINT:
            self.checkpoints.append({"step": e.step, **d})
        elif kind == ev.TIMESPACE:
            self.timespace[str(d.get("controller"))] = str(d.get("path"))
        elif kind in TERMINAL:
            self.status = TERMINAL[kind]
            # Authoritative: a stop ends at its checkpoint's step, even if a last progress
            # event counted the half-done step that the stop discarded.
            self.step = e.step
            self.message = str(d.get("message", ""))
            if kind == ev.RUN_FINISHED:
                self.final = {"rl": d.get("rl", {}), "fixed_time": d.get("fixed_time", {})}
        text = ev.describe(e)
        if kind != ev.PROGRESS and text:
            self.log.append(f"[{e.step:>7}] {kind}: {text}")

    @property
    def last_checkpoint(self) -> dict[str, Any] | None:
        return self.checkpoints[-1] if self.checkpoints else None

    @property
    def fraction(self) -> float:
        return min(self.step / self.total, 1.0) if self.total else 0.0
