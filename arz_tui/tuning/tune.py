"""`arz-tui tune` / `python -m arz_tui.tuning.tune`: DQN hyper-parameter search with optuna.

Each trial trains one DQN agent with RLTrainer (sanity checks off) for --timesteps-per-trial
steps in `{results_dir}/tuning/{study}/trial_{number}`, reports the mean episode reward of
its periodic evaluations to a MedianPruner, and returns the mean episode reward of the final
evaluation (maximised). Several processes (or machines, with PostgreSQL) running the same
command share the study and stop together once it has --trials finished (complete or pruned)
trials. At the end the best trial's settings are written as a TrainingConfig JSON that
`arz-tui --batch --config FILE` trains.

Exit codes: 0 the study has its trials (or nothing is left for this worker to do), 1 no
trial completed or three trials in a row failed, 2 a user error (one line, no traceback),
130 Ctrl-C (the running trial is marked failed; run the same command to continue).
"""

from __future__ import annotations

import argparse
import collections
import datetime
import os
import shutil
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from arz_tui.argparsing import Parser, int_at_least
from arz_tui.errors import UserError
from arz_tui.runstore.events import EventKind, pid_alive
from arz_tui.runstore.layout import tuning_dir
from arz_tui.tuning import space
from arz_tui.tuning.storage import (
    DEFAULT_MAX_RETRY,
    StudyStorage,
    default_journal,
    describe_db_error,
    open_storage,
)

DEVICES = ("cpu", "cuda", "auto")
WORKER_ATTR = "worker"
"""Trial user attribute {"host", "pid"}: which process runs it (dead local workers)."""
RESULT_ATTR = "result"
"""Trial user attribute: the final evaluation of the RL policy and the fixed-time baseline."""
STUDY_ATTR = "arz_tui"
"""Study user attribute: the settings every worker of the study must share."""
ORPHAN_S = 120.0
"""A running journal trial with no worker recorded this long after it started is dead."""
MAX_CONSECUTIVE_FAILURES = 3
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
OBJECTIVE = "mean episode reward of the final evaluation (greedy policy), maximised"


def build_parser(prog: str = "arz-tui tune") -> argparse.ArgumentParser:
    p = Parser(prog=prog, description="Search DQN hyper-parameters with optuna (TPE sampler, "
                "median pruning). Run the same command in several terminals or on several "
                "machines (with a shared --storage) to search in parallel.")
    p.add_argument("--scenario", required=True, metavar="NAME|FILE",
                   help="built-in scenario (simple, lagos, riemann) or a scenario file")
    p.add_argument("--trials", type=int_at_least(1), required=True, metavar="N",
                   help="finished (complete or pruned) trials the study needs, all workers "
                        "together")
    p.add_argument("--study", required=True, metavar="NAME",
                   help="study name; workers with the same name and storage share the study")
    p.add_argument("--storage", default=None, metavar="URL",
                   help="postgresql://USER[:PASSWORD]@HOST[:PORT]/DB (several machines), "
                        "sqlite:///FILE, or a journal file path (default "
                        "RESULTS_DIR/tuning/STUDY.journal: processes on one machine)")
    p.add_argument("--timesteps-per-trial", type=int_at_least(space.MIN_BUDGET), default=5000,
                   metavar="STEPS",
                   help="env steps each trial trains (default 5,000)")
    p.add_argument("--evaluations", type=int_at_least(1), default=5, metavar="K",
                   help="evaluations per trial, reported to the pruner (default 5)")
    p.add_argument("--eval-episodes", type=int_at_least(1), default=5, metavar="N",
                   help="episodes per evaluation (default 5)")
    p.add_argument("--results-dir", type=Path, default=Path("results"), metavar="DIR",
                   help="folder of run folders; trials go to RESULTS_DIR/tuning/STUDY/ "
                        "(default ./results)")
    p.add_argument("--seed", type=int_at_least(0), default=0, metavar="N",
                   help="seed of the sampler and of every trial's training (default 0)")
    p.add_argument("--export", type=Path, default=None, metavar="FILE",
                   help="also write the best trial's TrainingConfig JSON here (it is always "
                        "written to RESULTS_DIR/tuning/STUDY/best_config.json)")
    p.add_argument("--device", choices=DEVICES, default="cpu", help="training device "
                   "(default cpu)")
    p.add_argument("--heartbeat", type=int_at_least(1), default=10, metavar="SECONDS",
                   help="PostgreSQL/SQLite storages: seconds between a worker's heartbeats; "
                        "a trial silent for 3x this long is failed and queued again "
                        "(default 10)")
    return p


@dataclass(frozen=True)
class TuneSettings:
    """The flags of one `tune` worker."""

    scenario: str
    trials: int
    study: str
    storage: str | None = None
    timesteps: int = 5000
    evaluations: int = 5
    eval_episodes: int = 5
    results_dir: Path = Path("results")
    seed: int = 0
    export: Path | None = None
    device: str = "cpu"
    heartbeat: int = 10

    @property
    def study_dir(self) -> Path:
        return tuning_dir(self.results_dir, self.study)

    @property
    def eval_freq(self) -> int:
        return max(1, self.timesteps // self.evaluations)

    @property
    def startup_trials(self) -> int:
        """Random trials before TPE models the results, and finished trials before the
        pruner prunes: a third of the budget, between 1 and 10 (rl-zoo3 uses 10)."""
        return min(10, max(1, self.trials // 3))

    @property
    def warmup_steps(self) -> int:
        """No pruning during the first third of a trial (as rl-zoo3)."""
        return self.timesteps // 3

    def shared(self) -> dict[str, Any]:
        """What every worker of a study must agree on (stored with the study)."""
        return {"scenario": self.scenario, "timesteps_per_trial": self.timesteps,
                "evaluations": self.evaluations, "eval_episodes": self.eval_episodes,
                "seed": self.seed}


_FLAGS = {"scenario": "--scenario", "timesteps_per_trial": "--timesteps-per-trial",
          "evaluations": "--evaluations", "eval_episodes": "--eval-episodes", "seed": "--seed"}


def settings_from_args(args: argparse.Namespace) -> TuneSettings:
    from arz_tui.training.config import NAME_PATTERN

    if not NAME_PATTERN.match(args.study) or args.study in {".", ".."}:
        raise UserError(f"--study {args.study!r}: use 1-100 letters, digits, '_', '-' or '.', "
                        "starting with a letter or digit")
    if args.evaluations > args.timesteps_per_trial:
        raise UserError(f"--evaluations {args.evaluations} is more than "
                        f"--timesteps-per-trial {args.timesteps_per_trial}; evaluate at most "
                        "once per step")
    return TuneSettings(scenario=args.scenario, trials=args.trials, study=args.study,
                        storage=args.storage, timesteps=args.timesteps_per_trial,
                        evaluations=args.evaluations, eval_episodes=args.eval_episodes,
                        results_dir=args.results_dir, seed=args.seed, export=args.export,
                        device=args.device, heartbeat=args.heartbeat)


# ---------------------------------------------------------------------------- configs
def trial_config(settings: TuneSettings, number: int, hyper: dict[str, Any]) -> Any:
    """The TrainingConfig of trial `number`: no sanity checks, one checkpoint at the end,
    no replay buffer on disk, --evaluations evaluations."""
    from arz_tui.training.config import TrainingConfig

    return TrainingConfig.build(
        experiment_name=f"trial_{number}", mode="quick", total_timesteps=settings.timesteps,
        device=settings.device, seed=settings.seed, dqn_hyperparams=hyper,
        checkpoint_strategy={"save_freq": settings.timesteps, "max_checkpoints": 1,
                             "save_replay_buffer": False},
        evaluation_strategy={"eval_freq": settings.eval_freq,
                             "n_eval_episodes": settings.eval_episodes},
        sanity_check_config={"enabled": False}, results_dir=settings.study_dir)


def export_config(settings: TuneSettings, params: dict[str, Any]) -> dict[str, Any]:
    """A TrainingConfig (as JSON data) with the DQN settings of `params`, for
    `arz-tui --batch --config FILE --scenario SCENARIO`: production mode, the tuned budget
    and evaluation settings, sanity checks on; results_dir left to the flag's default."""
    from arz_tui.training.config import TrainingConfig

    config = TrainingConfig.build(
        experiment_name=f"{settings.study}_best", mode="production",
        total_timesteps=settings.timesteps, device=settings.device, seed=settings.seed,
        dqn_hyperparams=space.hyperparameters(params, settings.timesteps),
        evaluation_strategy={"eval_freq": settings.eval_freq,
                             "n_eval_episodes": settings.eval_episodes})
    return config.model_dump(mode="json",
                             exclude={"results_dir", "resume_training", "checkpoint_path"})


# ---------------------------------------------------------------------------- sampler
class TrialSeededTPESampler(optuna.samplers.TPESampler):
    """TPE whose random numbers for trial k come from (seed, k): workers started with the same
    --seed do not draw the same random start-up points, and one worker alone reproduces its
    study exactly."""

    def __init__(self, seed: int, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self._base_seed = seed

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        seed = (self._base_seed * 1_000_003 + trial.number) % 2**32
        self._rng.rng.seed(seed)
        self._random_sampler._rng.rng.seed(seed)
        super().before_trial(study, trial)


def make_sampler(settings: TuneSettings) -> TrialSeededTPESampler:
    return TrialSeededTPESampler(settings.seed, n_startup_trials=settings.startup_trials)


def make_pruner(settings: TuneSettings) -> optuna.pruners.MedianPruner:
    return optuna.pruners.MedianPruner(n_startup_trials=settings.startup_trials,
                                       n_warmup_steps=settings.warmup_steps)


# ---------------------------------------------------------------------------- workers
def _host() -> str:
    return os.uname().nodename


def reap_dead_workers(study: optuna.Study, max_retry: int = DEFAULT_MAX_RETRY) -> list[int]:
    """Storages without a heartbeat (the journal): fail the running trials whose worker was a
    process of this machine that is gone (or that never recorded a worker), and queue each
    again with the same parameters, as the RDB heartbeat does (system attribute
    `failed_trial`). Call it between trials, under the study lock. Returns the trials failed."""
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    host, me = _host(), os.getpid()
    now = datetime.datetime.now()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retry = RetryHeartbeatStaleTrialCallback(max_retry=max_retry)
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get(WORKER_ATTR)
        if isinstance(worker, dict):
            pid = int(worker.get("pid", 0))
            # This process runs no trial between trials: a running one under its pid is a
            # dead worker's whose pid was reused.
            if worker.get("host") != host or (pid != me and pid_alive(pid)):
                continue
        elif trial.datetime_start is None or \
                (now - trial.datetime_start).total_seconds() < ORPHAN_S:
            continue
        frozen = study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
        if frozen.state == TrialState.FAIL:
            retry(study, frozen)
            failed.append(trial.number)
    return failed


class Worker:
    """Runs trials of one study until it has --trials finished trials."""

    def __init__(self, study: optuna.Study, settings: TuneSettings, opened: StudyStorage,
                 env_config: Any, console: Any) -> None:
        self.study = study
        self.settings = settings
        self.opened = opened
        self.env_config = env_config
        self.console = console
        self.ran: list[int] = []
        self._consecutive_failures = 0
        self._started: dict[int, float] = {}
        self._outcome: str | None = None

    # ------------------------------------------------------------------ the loop
    def run(self) -> None:
        waiting_said = False
        lock = self.opened.lock
        while True:
            lock.acquire()
            try:
                action, running = self._decide()
                if action == "run":
                    # The objective releases the lock once its trial exists.
                    self._optimize_one()
                    waiting_said = False
            finally:
                lock.release()
            if action == "stop":
                return
            if self._consecutive_failures >= MAX_CONSECUTIVE_FAILURES:
                raise _TooManyFailures
            if action == "wait":
                if not waiting_said:
                    grace = (f"; a dead worker's trial is queued again after "
                             f"{self.opened.grace_period} s without heartbeat"
                             if self.opened.heartbeat else "")
                    self.console.print(f"waiting for {running} trial(s) running on other "
                                       f"workers{grace}")
                    waiting_said = True
                time.sleep(self.opened.heartbeat or 2)

    def _optimize_one(self) -> None:
        self._outcome = None
        try:
            self.study.optimize(self._objective, n_trials=1, catch=(),
                                callbacks=[self._finished])
        except (ValueError, AssertionError):
            # The objective ended (value or pruned) but optuna could not record it: another
            # worker failed the trial meanwhile (its heartbeats came later than the grace
            # period) and queued a copy. Optuna raises ValueError, or AssertionError from
            # its bookkeeping after the failed tell.
            if self._outcome is None or not self.ran or \
                    self._state(self.ran[-1]) != TrialState.FAIL:
                raise
            self.console.print(f"trial {self.ran[-1]} [red]dropped[/]: another worker failed "
                               "it for missing heartbeats (raise --heartbeat on busy "
                               "machines); a copy is queued")

    def _decide(self) -> tuple[str, int]:
        """'run' (a queued trial, or a new one within the budget), 'wait' (the budget is
        taken by running trials of other workers) or 'stop' (the study is done)."""
        if self.opened.heartbeat:
            optuna.storages.fail_stale_trials(self.study)
        else:
            for number in reap_dead_workers(self.study):
                self.console.print(f"trial {number}: its worker process is gone; failed and "
                                   "queued again with the same parameters")
        counts = collections.Counter(t.state for t in self.study.get_trials(deepcopy=False))
        done = counts[TrialState.COMPLETE] + counts[TrialState.PRUNED]
        running = counts[TrialState.RUNNING]
        if done >= self.settings.trials:
            return "stop", running
        if counts[TrialState.WAITING] or done + running < self.settings.trials:
            return "run", running
        return "wait", running

    # ------------------------------------------------------------------ one trial
    def _objective(self, trial: optuna.Trial) -> float:
        trial.set_user_attr(WORKER_ATTR, {"host": _host(), "pid": os.getpid()})
        self.opened.lock.release()
        self.ran.append(trial.number)
        self._started[trial.number] = time.perf_counter()
        hyper = space.suggest(trial, self.settings.timesteps)
        frozen = next((t for t in self.study.get_trials(deepcopy=False)
                       if t.number == trial.number), None)
        retry_of = frozen.system_attrs.get("failed_trial") if frozen is not None else None
        note = f" (retry of trial {retry_of})" if retry_of is not None else ""
        self.console.print(f"[bold]trial {trial.number}[/]{note}: {space.describe(hyper)}")
        try:
            value = self._train(trial, hyper)
        except optuna.TrialPruned:
            self._outcome = "pruned"
            raise
        self._outcome = "value"
        return value

    def _state(self, number: int) -> TrialState | None:
        return next((t.state for t in self.study.get_trials(deepcopy=False)
                     if t.number == number), None)

    def _train(self, trial: optuna.Trial, hyper: dict[str, Any]) -> float:
        from arz_tui.training.trainer import RLTrainer

        config = trial_config(self.settings, trial.number, hyper)
        if config.run_dir.exists():
            # Trial numbers are unique in a study: this folder is left from an earlier study
            # of the same name whose storage was deleted.
            shutil.rmtree(config.run_dir)
        pruned: dict[str, float] = {}
        trainer: Any = None

        def on_event(event: Any) -> None:
            if event.kind != EventKind.EVAL or pruned:
                return
            value = event.data.get("mean_reward")
            if value is None:
                return
            trial.report(float(value), event.step)
            if trial.should_prune():
                pruned.update(step=event.step, value=float(value))
                trainer.request_stop()

        trainer = RLTrainer(self.env_config, config, [on_event])
        try:
            trainer.train()
        finally:
            trainer.cleanup()
        if pruned:
            raise optuna.TrialPruned(f"step {pruned['step']:.0f}")
        summary = trainer.summary or {}
        rl, base = summary.get("rl", {}), summary.get("fixed_time", {})
        trial.set_user_attr(RESULT_ATTR, {
            "episode_reward": rl.get("episode_reward"),
            "mean_queue_veh": rl.get("mean_queue_veh"),
            "mean_delay_s": rl.get("mean_delay_s"),
            "fixed_time_episode_reward": base.get("episode_reward"),
            "fixed_time_mean_queue_veh": base.get("mean_queue_veh"),
            "run_dir": str(config.run_dir)})
        return float(rl.get("episode_reward", float("nan")))

    def _record_outcome(self, trial: FrozenTrial) -> None:
        """trial.json in the trial's run folder: the browser labels it (a pruned trial's run
        otherwise looks like an interrupted, resumable one)."""
        from arz_tui.runstore import RunLayout, write_json_atomic
        from arz_tui.runstore.records import TrialRecord

        layout = RunLayout(self.settings.study_dir / f"trial_{trial.number}")
        if not layout.root.is_dir():
            return
        pruned_at = max(trial.intermediate_values, default=None) \
            if trial.state == TrialState.PRUNED else None
        value = trial.value if trial.state == TrialState.COMPLETE else (
            trial.intermediate_values.get(pruned_at) if pruned_at is not None else None)
        write_json_atomic(layout.trial, TrialRecord(
            study=self.settings.study, number=trial.number, state=trial.state.name.lower(),
            value=value, pruned_at=pruned_at, params=dict(trial.params)))

    def _finished(self, study: optuna.Study, trial: FrozenTrial) -> None:
        seconds = time.perf_counter() - self._started.get(trial.number, time.perf_counter())
        self._record_outcome(trial)
        if trial.state == TrialState.FAIL:
            self._consecutive_failures += 1
            self.console.print(f"trial {trial.number} [red]failed[/] after {seconds:.1f} s "
                               "(no finite reward)")
            return
        self._consecutive_failures = 0
        if trial.state == TrialState.PRUNED:
            step = max(trial.intermediate_values, default=0)
            value = trial.intermediate_values.get(step, float("nan"))
            self.console.print(f"trial {trial.number} [yellow]pruned[/] at step {step}: "
                               f"reward {value:.3f} below the median of earlier trials "
                               f"({seconds:.1f} s)")
            return
        base = trial.user_attrs.get(RESULT_ATTR, {}).get("fixed_time_episode_reward")
        versus = f" (fixed time {base:.3f})" if isinstance(base, int | float) else ""
        best = _best(study)
        best_text = f"; best: trial {best.number} ({best.value:.3f})" if best else ""
        self.console.print(f"trial {trial.number} [green]complete[/]: reward "
                           f"{trial.value:.3f}{versus} in {seconds:.1f} s{best_text}")


class _TooManyFailures(Exception):
    pass


def _best(study: optuna.Study) -> FrozenTrial | None:
    try:
        return study.best_trial
    except ValueError:
        return None


# ---------------------------------------------------------------------------- the command
def load_study(opened: StudyStorage, settings: TuneSettings) -> optuna.Study:
    """Create the study or join it (load_if_exists); a study made with other shared settings
    is a UserError naming them."""
    study = optuna.create_study(study_name=settings.study, storage=opened.storage,
                                sampler=make_sampler(settings), pruner=make_pruner(settings),
                                direction="maximize", load_if_exists=True)
    if study.directions != [optuna.study.StudyDirection.MAXIMIZE]:
        raise UserError(f"study {settings.study!r} in {opened.description} does not maximise "
                        "one value (not made by arz-tui tune); choose another --study")
    saved = study.user_attrs.get(STUDY_ATTR)
    mine = settings.shared()
    if saved is None:
        study.set_user_attr(STUDY_ATTR, mine)
    elif saved != mine:
        diff = [f"{_FLAGS.get(k, k)} {saved.get(k)!r} (not {mine.get(k)!r})"
                for k in sorted(set(saved) | set(mine)) if saved.get(k) != mine.get(k)]
        raise UserError(f"study {settings.study!r} in {opened.description} was started with "
                        f"{', '.join(diff)}; use the same flags or another --study")
    return study


def run(settings: TuneSettings, console: Any) -> int:
    from arz_tui.training.env_builder import EnvConfigBuilder

    env_config = EnvConfigBuilder.for_training(settings.scenario)  # one-line errors
    trial_config(settings, 0, space.hyperparameters(_any_point(settings.timesteps),
                                                    settings.timesteps))  # validates flags
    opened = open_storage(settings.storage, settings.results_dir, settings.study,
                          settings.heartbeat)
    try:
        study = load_study(opened, settings)
        done = len(study.get_trials(deepcopy=False, states=FINISHED))
        console.print(f"[bold]study {settings.study}[/] in {opened.description}: {done} of "
                      f"{settings.trials} trials finished; {settings.scenario}, "
                      f"{settings.timesteps:,} steps per trial, evaluation every "
                      f"{settings.eval_freq:,} steps ({settings.eval_episodes} episodes); "
                      f"objective: {OBJECTIVE}")
        worker = Worker(study, settings, opened, env_config, console)
        try:
            worker.run()
        except _TooManyFailures:
            console.print(f"[red]{MAX_CONSECUTIVE_FAILURES} trials in a row failed[/]; "
                          "stopping this worker")
            return 1
        return _report(study, settings, console, worker)
    finally:
        opened.close()


def _any_point(budget: int) -> dict[str, Any]:
    c = space.choices(budget)
    return {"learning_rate": 1e-3, "batch_size": 32, "buffer_size": c["buffer_size"][-1],
            "exploration_final_eps": 0.05, "exploration_fraction": 0.1,
            "target_update_interval": c["target_update_interval"][-1],
            "learning_starts": c["learning_starts"][0], "train_freq": c["train_freq"][0],
            "subsample_steps": 1, "gamma": 0.99, "net_arch": "small"}


def _report(study: optuna.Study, settings: TuneSettings, console: Any, worker: Worker) -> int:
    from rich.table import Table

    from arz_tui.runstore.atomic import write_json_atomic

    trials = study.get_trials(deepcopy=False)
    counts = collections.Counter(t.state for t in trials)
    console.print(f"study {settings.study}: {counts[TrialState.COMPLETE]} complete, "
                  f"{counts[TrialState.PRUNED]} pruned, {counts[TrialState.FAIL]} failed, "
                  f"{counts[TrialState.RUNNING]} running elsewhere; this worker ran "
                  f"{len(worker.ran)} ({', '.join(map(str, worker.ran)) or 'none'})")
    best = _best(study)
    if best is None:
        console.print("[red]no trial has completed yet[/]: nothing to export")
        return 1
    config = export_config(settings, best.params)
    table = Table(title=f"best: trial {best.number}, reward {best.value:.3f}")
    table.add_column("parameter")
    table.add_column("value", justify="right")
    for name, value in config["dqn_hyperparams"].items():
        table.add_row(name, f"{value:.3g}" if isinstance(value, float) else str(value))
    console.print(table)
    targets = [settings.study_dir / "best_config.json"]
    if settings.export is not None:
        targets.append(settings.export)
    for path in targets:
        try:
            write_json_atomic(path, config)
        except OSError as err:
            raise UserError(f"--export {path}: cannot be written ({err.strerror or err}); "
                            "choose a writable path") from None
    write_json_atomic(settings.study_dir / "best_trial.json", {
        "study": settings.study, "trial": best.number, "value": best.value,
        "objective": OBJECTIVE, "params": best.params, **settings.shared(),
        "result": best.user_attrs.get(RESULT_ATTR)})
    shown = targets[-1]
    console.print(f"best config in {shown}; train it with:\n  arz-tui --batch --config "
                  f"{shown} --scenario {settings.scenario} --name {settings.study}_best")
    return 0


def main(argv: list[str] | None = None, prog: str = "arz-tui tune") -> int:
    """Run one tuning worker; returns the exit code (never raises SystemExit)."""
    from rich.console import Console
    from sqlalchemy.exc import SQLAlchemyError

    from arz_tui.env import EnvConfigError
    from arz_tui.training.config import TrainingConfigError
    from sim.scenario import ScenarioError

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser(prog).parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    console = Console(highlight=False, soft_wrap=True)
    try:
        return run(settings_from_args(args), console)
    except (UserError, EnvConfigError, TrainingConfigError, ScenarioError) as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    except SQLAlchemyError as err:
        storage = args.storage or str(default_journal(args.results_dir, args.study))
        print(f"{prog}: error: storage {storage}: {describe_db_error(err)}; check the database "
              "server, then run the same command to continue", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; the running trial is marked failed. Run the same command "
              "to continue the study.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main(prog="python -m arz_tui.tuning.tune"))
