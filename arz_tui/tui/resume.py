"""Resuming a run from the TUI: its saved settings (never the form's), said in words before
asking, and its history so the dashboard continues the curves instead of starting empty.

Read in a worker: a run folder can be large, slow or half-written."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arz_tui.runstore import RunLayout, Unreadable
from arz_tui.runstore.checkpoints import list_checkpoints
from arz_tui.runstore.reader import load_events, printable, read_config


@dataclass(frozen=True)
class ResumePlan:
    name: str
    results_dir: Path
    args: list[str]
    """`arz-tui run` arguments: the saved config, --resume, and the few overrides."""
    settings: list[tuple[str, str]]
    """(setting, value) of the saved configuration, for the question and the form."""
    from_step: int
    total: int
    history: list[dict[str, Any]] = field(default_factory=list)
    """The run's events so far (the dashboard replays them first)."""
    sanity_passed: bool = False

    @property
    def question(self) -> str:
        lines = [f"Resume {self.name} from step {self.from_step:,} of {self.total:,} with its "
                 "saved settings?", ""]
        lines += [f"  {key:<14}{value}" for key, value in self.settings]
        if self.sanity_passed:
            lines += ["", "Its sanity checks passed when it started: not run again."]
        return "\n".join(lines)


class ResumeRefused(Exception):
    """The run cannot be resumed; the message is one line saying why."""


def saved_settings(name: str, results_dir: Path) -> list[tuple[str, str]]:
    """The saved configuration of a run, as (setting, value) lines."""
    try:
        saved = read_config(results_dir / name, results_dir)
    except Unreadable as err:
        raise ResumeRefused(f"cannot resume {name}: {err.reason}") from None
    t, env = saved.training, saved.env
    extra = env.model_extra or {}
    rows = [("scenario", env.scenario or "?"), ("mode", t.mode),
            ("total steps", f"{t.total_timesteps:,}"), ("device", str(t.device or "cpu")),
            ("seed", str(t.seed))]
    if "demand_level" in extra:
        demand = str(extra["demand_level"])
        rows.append(("demand", "random" if extra.get("random_demand_level") else demand))
    for key in ("learning_rate", "buffer_size", "net_arch"):
        if key in t.dqn_hyperparams:
            rows.append((key.replace("_", " "), str(t.dqn_hyperparams[key])))
    return [(k, printable(v, 80)) for k, v in rows]


def plan_resume(name: str, results_dir: Path, timesteps: int | None = None) -> ResumePlan:
    """What resuming `name` would do; raises ResumeRefused with the reason when it cannot."""
    layout = RunLayout(results_dir / name)
    settings = saved_settings(name, results_dir)
    checkpoints = list_checkpoints(layout, need_buffer=False)
    from_step = checkpoints[-1].steps if checkpoints else 0
    saved = read_config(layout.root, results_dir)
    total = timesteps or saved.training.total_timesteps
    if from_step >= total:
        raise ResumeRefused(f"{name} already reached {from_step:,} of {total:,} steps: give "
                            "more Timesteps in the form to train it further")
    # A missing or damaged log gives no history: the curves start empty, training is fine.
    events = [e.model_dump(mode="json") for e in load_events(layout.root, results_dir)]
    sanity_passed = any(e.get("kind") == "sanity_report" and (e.get("data") or {}).get("passed")
                        for e in events)
    args = ["--config", str(layout.config), "--resume", "--results-dir", str(results_dir)]
    if timesteps:
        args += ["--timesteps", str(timesteps)]
        settings = [(k, f"{timesteps:,} (was {v})" if k == "total steps" else v)
                    for k, v in settings]
    if sanity_passed:
        args.append("--no-sanity-checks")
    return ResumePlan(name, results_dir, args, settings, from_step, total, events,
                      sanity_passed)
