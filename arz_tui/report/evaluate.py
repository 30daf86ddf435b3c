"""Which runs to report, and their evaluation with the baselines on the same episodes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from arz_tui.errors import UserError
from arz_tui.runstore import RunLayout
from arz_tui.runstore.files import Unreadable
from arz_tui.runstore.reader import is_group, read_config, read_group
from arz_tui.training.sweep import eval_curve, mean_ci

BASELINES = ("fixed-time", "webster", "actuated", "max-pressure", "sotl")
DEMAND_LEVELS = ("light", "moderate", "heavy", "saturated")
METRICS = ("mean_delay_s", "total_delay_vh", "mean_queue_veh", "throughput_vph",
           "mean_travel_time_s", "vehicles_served")


@dataclass
class PolicyGroup:
    """RL runs reported together (the seeds of one experiment, or one run)."""

    label: str
    runs: list[Path]
    env: dict[str, Any] = field(default_factory=dict)
    dqn: dict[Path, dict[str, Any]] = field(default_factory=dict)
    """Each run's saved DQN settings (what its model zip is rebuilt with)."""

    def model(self, run: Path, which: str) -> Path:
        lay = RunLayout(run)
        order = [lay.best_model, lay.final_model] if which == "best" else [lay.final_model,
                                                                           lay.best_model]
        for path in order:
            if path.is_file():
                return path
        raise UserError(f"run {run.name} has no trained model ({lay.final_model.name} or "
                        f"{lay.best_model.name}); train it first or drop it from the report")


def _run_env(run: Path) -> dict[str, Any]:
    try:
        saved = read_config(run, run.parent)
    except Unreadable as err:
        raise UserError(f"{run.name} is not a readable run ({err.reason}); give a run or "
                        "group folder") from None
    return saved.env.model_dump(mode="json")


def _run_control(run: Path) -> str:
    """How the run's agent controls the signals (runs from before per-signal: joint)."""
    try:
        return str(getattr(read_config(run, run.parent).training, "control", "joint"))
    except Unreadable:
        return "joint"


def _run_dqn(run: Path) -> dict[str, Any]:
    try:
        return dict(read_config(run, run.parent).training.dqn_hyperparams)
    except Unreadable:
        return {}


def resolve(items: list[str], results_dir: Path) -> list[PolicyGroup]:
    """Run or group names (in results_dir) or paths, as policy groups; all must share one
    scenario and env settings (the baselines run on that env)."""
    if not items:
        raise UserError("name at least one run or group to report")
    groups: list[PolicyGroup] = []
    for item in items:
        path = results_dir / item
        if not path.exists():
            path = Path(item)
        if not path.is_dir():
            raise UserError(f"{item!r} is neither a run nor a group in {results_dir}; "
                            "list them with arz-tui (results browser) or ls")
        if is_group(path):
            marker = read_group(path, path.parent)
            if marker is None:
                raise UserError(f"group {item!r}: its group.json is unreadable")
            members = [path.parent / m for m in marker.members if "/" not in m]
            members = [m for m in members if RunLayout(m).config.is_file()]
            if not members:
                raise UserError(f"group {item!r} has no finished member runs")
            groups.append(PolicyGroup(path.name, members, _run_env(members[0])))
        else:
            groups.append(PolicyGroup(path.name, [path], _run_env(path)))
    reference = groups[0].env
    for g in groups:
        for run in g.runs:
            env = _run_env(run)
            differing = [k for k in ("scenario", "decision_interval_s", "episode_s",
                                     "observation") if env.get(k) != reference.get(k)]
            if differing:
                raise UserError(f"{run.name} differs from {groups[0].runs[0].name} in "
                                f"{', '.join(differing)}; report runs of one scenario "
                                "and env set-up together")
    return groups


def _throughput(totals: dict[str, float]) -> float:
    hours = totals.get("simulated_s", 0.0) / 3600.0
    return totals.get("vehicles_served", 0.0) / hours if hours > 0 else math.nan


class _SignalQueues:
    """A `run_episode` hook: each signal's queue (vehicles on its approaches, time mean over
    each decision interval, `StepMetrics.signal_queue_veh`), averaged over the decisions of
    the episodes seen, i.e. the episodes' time mean. The hook runs before each step, so it
    sees the previous interval; `end(env)` adds an episode's last one."""

    def __init__(self, n_signals: int) -> None:
        self.total = np.zeros(n_signals)
        self.decisions = 0

    def __call__(self, env: Any, _action: Any) -> None:
        if env.last_metrics is not None:  # None right after the reset: nothing measured yet
            self.total += env.last_metrics.signal_queue_veh
            self.decisions += 1

    def end(self, env: Any) -> None:
        self(env, None)

    def mean(self) -> list[float]:
        return (self.total / max(self.decisions, 1)).tolist()


def evaluate_all(groups: list[PolicyGroup], levels: list[str], episodes: int, seed: int,
                 model: str = "best", progress: Any = None) -> dict[str, Any]:
    """Per demand level, per controller: episode metrics' mean and 95 % interval. RL groups
    pool the episodes of all their runs; every controller sees the same seeded episodes."""
    from arz_tui.baselines import make_controller, run_episode
    from arz_tui.env import EnvConfig, TrafficSignalEnv
    from arz_tui.runstore.models import load_model
    from arz_tui.training.evaluation import PolicyController

    env_fields = {k: v for k, v in groups[0].env.items()
                  if k in EnvConfig.model_fields and k != "reward"}
    env_fields["random_demand_level"] = False
    config = EnvConfig.build(**env_fields)
    per_signal = {r: _run_control(r) == "per-signal" for g in groups for r in g.runs}
    # Per-signal policies act one phase per signal: every controller then drives that env
    # (the baselines work either way), so all see the same episodes.
    any_per_signal = any(per_signal.values())
    env = TrafficSignalEnv(config, joint_action=not any_per_signal)
    joint_env = TrafficSignalEnv(config) if any_per_signal and not all(
        per_signal.values()) else None
    seeds = [seed + i for i in range(episodes)]

    def controller(run: Path, path: Path) -> Any:
        # Loaded without unpickling anything from the zips (see arz_tui.runstore.models).
        if per_signal[run]:
            from arz_tui.env.signal_vec_env import SignalVecEnv
            from arz_tui.training.per_signal import SignalPolicyController

            spaces = SignalVecEnv(config, n_replicas=1)
            return SignalPolicyController(load_model(path, spaces, "cpu", dqn=_run_dqn(run),
                                                     root=run.parent))
        return PolicyController(load_model(path, joint_env or env, "cpu", dqn=_run_dqn(run),
                                           root=run.parent))

    policies = {g.label: [controller(r, g.model(r, model)) for r in g.runs] for g in groups}
    out: dict[str, Any] = {"levels": {}, "seeds": seeds, "scenario": env.config.scenario,
                           "signals": [sig.node for sig in env.sim.net.signals]}
    for level in levels:
        rows: dict[str, Any] = {}
        controllers: list[tuple[str, list[Any]]] = [
            (g.label, policies[g.label]) for g in groups]
        controllers += [(name, [make_controller(name)]) for name in BASELINES]
        for label, ctrls in controllers:
            episodes_out = []
            count = _SignalQueues(len(env.sim.net.signals))

            for ctrl in ctrls:
                run_env = joint_env if isinstance(ctrl, PolicyController) and joint_env \
                    else env
                for s in seeds:
                    totals = run_episode(run_env, ctrl, seed=s,
                                         options={"demand_level": level}, before_step=count)
                    count.end(run_env)
                    totals["throughput_vph"] = _throughput(totals)
                    episodes_out.append(totals)
            row = {}
            for metric in METRICS:
                m, h = mean_ci([e[metric] for e in episodes_out])
                row[metric] = {"mean": m, "ci95": h}
            row["episodes"] = len(episodes_out)
            row["signal_queue_veh"] = count.mean()
            row["kind"] = "rl" if label in policies else "baseline"
            rows[label] = row
            if progress is not None:
                progress(level, label, row)
        out["levels"][level] = rows
    out["rl"] = [g.label for g in groups]
    return out


def learning_curves(groups: list[PolicyGroup]) -> dict[str, list[dict[str, float]]]:
    """Per group: eval mean reward per step, mean and 95 % interval over its runs."""
    return {g.label: eval_curve(g.runs) for g in groups}
