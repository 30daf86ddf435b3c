"""RunState: the event stream of a run folded into what a viewer shows (headless, no textual).

The live run screen feeds it events as they arrive; the results browser feeds it a run's
logs/metrics.jsonl. Either way the views read plain lists and dicts from here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arz_tui.runstore.events import TERMINAL, Event, EventKind
from arz_tui.runstore.reader import load_events
from arz_tui.training.events import describe


@dataclass
class Series:
    """(x, y) points in arrival order."""

    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)

    def add(self, x: float, y: float | None) -> None:
        """Append a point; values that are missing, not numbers or not finite are skipped
        (x and y always stay the same length)."""
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (x, y)):
            return
        fx, fy = float(x), float(y)
        if not (math.isfinite(fx) and math.isfinite(fy)):
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
    _episode_length: int = 0
    """Decisions per episode, from the last training episode (for older eval events)."""

    def apply(self, event: Event | dict[str, Any]) -> None:
        """Fold in one event (a dict is parsed first; ValueError if it is not an event)."""
        e = event if isinstance(event, Event) else Event.from_dict(event)
        d = e.data
        self.version += 1
        self.updated = e.time
        if e.step:
            self.step = max(self.step, e.step) if e.kind != EventKind.RUN_STARTED else e.step
        kind = e.kind
        if kind == EventKind.RUN_STARTED:
            self.experiment = d.get("experiment", self.experiment)
            self.scenario = d.get("scenario", self.scenario)
            self.mode = d.get("mode", self.mode)
            self.device = d.get("device", self.device)
            self.total = int(d.get("total_timesteps") or self.total)
            self.status = "running"
            self.started = e.time if self.started is None else self.started
            resumed = d.get("resumed_from")
            if isinstance(resumed, int):
                self._cut(resumed)
        elif kind == EventKind.SANITY_RESULT:
            self.sanity.append(dict(d))
        elif kind == EventKind.SANITY_REPORT:
            self.sanity_passed = bool(d.get("passed"))
        elif kind == EventKind.PROGRESS:
            self.total = int(d.get("total") or self.total)
            self.fps = d.get("fps")
            self.eta_s = d.get("eta_s")
            self.epsilon = d.get("epsilon")
            self.queue.add(e.step, d.get("queue_veh"))
            self.epsilon_curve.add(e.step, d.get("epsilon"))
            self.fps_curve.add(e.step, d.get("fps"))
        elif kind == EventKind.EPISODE:
            # Per decision step, as every other reward the views show.
            reward, length = d.get("reward"), d.get("length")
            if isinstance(length, int) and length > 0:
                self._episode_length = length
            per_step = reward / length if isinstance(reward, int | float) and \
                isinstance(length, int) and length > 0 else None
            self.episode_reward.add(e.step, per_step)
            self.episode_queue.add(e.step, (d.get("totals") or {}).get("mean_queue_veh"))
        elif kind == EventKind.BASELINE:
            self.baseline = dict(d)
        elif kind == EventKind.EVAL:
            self.evals.append({"step": e.step, **d})
            per_step = d.get("reward_per_step")
            if per_step is None and isinstance(d.get("mean_reward"), int | float) \
                    and self._episode_length:
                # Runs from before reward_per_step: episodes have a fixed number of decisions
                # (episode_s / decision_interval_s), as the training episodes show.
                per_step = d["mean_reward"] / self._episode_length
            self.eval_reward.add(e.step, per_step)
            self.eval_queue.add(e.step, d.get("mean_queue_veh"))
        elif kind == EventKind.BEST_MODEL:
            self.best = {"step": e.step, **d}
        elif kind == EventKind.CHECKPOINT:
            self.checkpoints.append({"step": e.step, **d})
        elif kind == EventKind.TIMESPACE:
            self.timespace[str(d.get("controller"))] = str(d.get("path"))
        elif kind in TERMINAL:
            self.status = TERMINAL[kind].value
            # Authoritative: a stop ends at its checkpoint's step, even if a last progress
            # event counted the half-done step that the stop discarded.
            self.step = e.step
            self.message = str(d.get("message", ""))
            if kind == EventKind.RUN_FINISHED:
                self.final = {"rl": d.get("rl", {}), "fixed_time": d.get("fixed_time", {})}
        text = describe(e)
        if kind != EventKind.PROGRESS and text:
            self.log.append(f"[{e.step:>7}] {kind}: {text}")

    def _cut(self, step: int) -> None:
        """A resume continues from the checkpoint of `step`: what the killed process did
        after it is not part of the run any more."""
        for series in (self.episode_reward, self.episode_queue, self.queue,
                       self.epsilon_curve, self.fps_curve, self.eval_reward, self.eval_queue):
            keep = [i for i, x in enumerate(series.x) if x <= step]
            series.x[:] = [series.x[i] for i in keep]
            series.y[:] = [series.y[i] for i in keep]
        self.evals = [e for e in self.evals if e.get("step", 0) <= step]
        self.checkpoints = [c for c in self.checkpoints if c.get("step", 0) <= step]
        if self.best.get("step", 0) > step:
            self.best = {}

    @property
    def last_checkpoint(self) -> dict[str, Any] | None:
        return self.checkpoints[-1] if self.checkpoints else None

    @property
    def fraction(self) -> float:
        return min(self.step / self.total, 1.0) if self.total else 0.0


def load_state(path: Path, root: Path | None = None) -> RunState:
    """A run's RunState rebuilt from its logs/metrics.jsonl (events that do not fit the
    state are skipped)."""
    state = RunState()
    for event in load_events(path, root):
        try:
            state.apply(event)
        except (TypeError, ValueError):
            continue
    return state
