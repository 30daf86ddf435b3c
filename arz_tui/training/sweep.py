"""Multi-seed runs: one process per seed (each an ordinary run folder `{name}_s{seed}`), at most
`jobs` at a time, and an aggregate in `results/{name}/`.

One RL run proves little (curves collapse late); the aggregate gives each metric's mean and
95 % confidence interval over seeds, and the learning curves' mean and interval per step.
"""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from arz_tui.runstore.atomic import write_json_atomic
from arz_tui.runstore.checkpoints import read_evaluations
from arz_tui.runstore.layout import GroupLayout, RunLayout, member_name
from arz_tui.runstore.reader import read_summary
from arz_tui.runstore.records import Aggregate, GroupMarker, GroupStatus

# Two-sided 95 % Student t quantiles by degrees of freedom (df >= 30: normal).
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
        9: 2.262, 10: 2.228, 12: 2.179, 15: 2.131, 20: 2.086, 25: 2.060, 30: 2.042}


def t95(df: int) -> float:
    """Two-sided 95 % quantile of Student's t."""
    if df < 1:
        return math.nan
    if df >= 30:
        return 1.96
    known = max(k for k in _T95 if k <= df)
    return _T95[known]


def mean_ci(values: Sequence[float]) -> tuple[float, float]:
    """(mean, half-width of the 95 % confidence interval); the half-width is 0 for one
    value."""
    x = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if x.size == 0:
        return math.nan, math.nan
    if x.size == 1:
        return float(x[0]), 0.0
    return float(x.mean()), float(t95(x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))


MIN_RUNS_FOR_INTERVAL = 3
"""A learning curve's 95 % interval is drawn from this many runs up: with two, Student's t
has one degree of freedom (x12.7) and the band says nothing but "two runs"."""

MAX_SEEDS = 200
"""More seeds than this in one sweep is a typo (0-100000), not an experiment."""


def parse_seeds(text: str) -> list[int]:
    """'0,1,2' or '0-4' (or a mix) as a sorted list of at least two distinct seeds."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part[1:]:
                lo, hi = part.split("-", 1)
                a, b = int(lo), int(hi)
                if a > b:
                    raise ValueError(f"seed range {part!r} runs backwards")
                if b - a + 1 > MAX_SEEDS:
                    raise ValueError(f"seed range {part!r} has {b - a + 1} seeds; at most "
                                     f"{MAX_SEEDS}")
                seeds.extend(range(a, b + 1))
            else:
                seeds.append(int(part))
        except ValueError as err:
            if "seed" in str(err):
                raise
            raise ValueError(f"{part!r} is not a seed or a range like 0-4") from None
    if not seeds or min(seeds) < 0:
        raise ValueError("give seeds >= 0, e.g. 0,1,2 or 0-4")
    twice = sorted({s for s in seeds if seeds.count(s) > 1})
    if twice:
        raise ValueError(f"seed {twice[0]} is given twice; each seed once")
    if len(seeds) < 2:
        raise ValueError("an interval over seeds needs at least two; for one run use --seed")
    if len(seeds) > MAX_SEEDS:
        raise ValueError(f"{len(seeds)} seeds; at most {MAX_SEEDS}")
    return sorted(seeds)


def _die_with_parent() -> None:
    """In the child, before exec: the kernel sends it SIGTERM when the sweep's process dies,
    however it dies (Linux prctl PR_SET_PDEATHSIG); elsewhere a no-op."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@dataclass
class SeedRun:
    seed: int
    name: str
    code: int | None = None
    error: str = ""


def run_seeds(base_args: list[str], name: str, seeds: list[int], jobs: int,
              on_done: Callable[[SeedRun], None] | None = None) -> list[SeedRun]:
    """Run `python -m arz_tui.training.train BASE --seed S --name NAME_sS` for each seed, at
    most `jobs` at once. A Ctrl-C is passed on to the running children (each saves a
    checkpoint) and no further seed is started."""
    runs = [SeedRun(s, member_name(name, s)) for s in seeds]
    pending = list(runs)
    active: dict[int, tuple[SeedRun, subprocess.Popen]] = {}
    stopping = threading.Event()

    def on_sigint(signum: int, frame: Any) -> None:
        stopping.set()
        for _, proc in active.values():
            proc.send_signal(signal.SIGINT)

    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_sigint)
    try:
        while pending or active:
            while pending and len(active) < jobs and not stopping.is_set():
                run = pending.pop(0)
                cmd = [sys.executable, "-m", "arz_tui.training.train", *base_args,
                       "--seed", str(run.seed), "--name", run.name]
                proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        text=True, start_new_session=True,
                                        preexec_fn=_die_with_parent)
                active[run.seed] = (run, proc)
            if stopping.is_set():
                pending.clear()
            for seed, (run, proc) in list(active.items()):
                code = proc.poll()
                if code is not None:
                    run.code = code
                    if code != 0 and proc.stderr is not None:
                        err = proc.stderr.read().strip().splitlines()
                        run.error = err[-1] if err else ""
                    del active[seed]
                    if on_done is not None:
                        on_done(run)
            time.sleep(0.1)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return runs


def eval_curve(runs: Sequence[Path]) -> list[dict[str, float]]:
    """Evaluation reward per decision step (each evaluation's reward sum over its episodes'
    decision steps, from each run's evaluations.npz) at each training step: the mean over
    runs, its 95 % interval (None below MIN_RUNS_FOR_INTERVAL runs) and the number of runs;
    unreadable files are skipped."""
    by_step: dict[int, list[float]] = {}
    for run in runs:
        history = read_evaluations(RunLayout(run))
        for step, rewards, lengths in zip(history.timesteps, history.results,
                                          history.ep_lengths, strict=False):
            steps = float(np.sum(lengths))
            if steps > 0:
                by_step.setdefault(step, []).append(float(np.sum(rewards)) / steps)
    return [{"step": step, "mean": mean_ci(v)[0],
             "ci95": mean_ci(v)[1] if len(v) >= MIN_RUNS_FOR_INTERVAL else None, "n": len(v)}
            for step, v in sorted(by_step.items())]


def write_marker(results_dir: Path, name: str, seeds: list[int], status: GroupStatus,
                 pid: int | None = None) -> None:
    """group.json: the group, its members, and whether its parent still runs."""
    group = GroupLayout(results_dir, name)
    group.root.mkdir(parents=True, exist_ok=True)
    write_json_atomic(group.marker, GroupMarker(
        name=name, seeds=seeds, members=[member_name(name, s) for s in seeds], status=status,
        pid=pid))


def aggregate(results_dir: Path, name: str, seeds: list[int]) -> dict[str, Any]:
    """Mean and 95 % interval over seeds of the final evaluation (RL and fixed time) and of
    the evaluation learning curve; written to results/{name}/aggregate.json with the group
    marker (complete when every seed finished, else incomplete). Seeds without a finished
    summary are listed as missing."""
    group = GroupLayout(results_dir, name)
    members = [member_name(name, s) for s in seeds]
    summaries: dict[str, dict[str, Any]] = {}
    for member in members:
        summary = read_summary(results_dir / member, results_dir)
        if summary is not None:
            summaries[member] = summary.model_dump(mode="json")
    metrics: dict[str, dict[str, dict[str, float]]] = {}
    for controller in ("rl", "fixed_time"):
        keys = sorted({k for s in summaries.values() for k in s.get(controller, {})})
        metrics[controller] = {}
        for key in keys:
            values = [s[controller][key] for s in summaries.values()
                      if s.get(controller, {}).get(key) is not None]
            m, h = mean_ci(values)
            metrics[controller][key] = {"mean": m, "ci95": h, "n": len(values)}
    curve = eval_curve([results_dir / m for m in members])
    missing = [m for m in members if m not in summaries]
    result = Aggregate(name=name, seeds=seeds, members=members, finished=sorted(summaries),
                       missing=missing, metrics=metrics, eval_curve=curve,
                       complete=not missing).model_dump(mode="json")
    write_marker(results_dir, name, seeds,
                 GroupStatus.INCOMPLETE if missing else GroupStatus.COMPLETE)
    write_json_atomic(group.aggregate, result)
    return result
