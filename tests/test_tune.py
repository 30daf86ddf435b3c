"""`arz-tui tune`: the search space, workers sharing a journal study, the exported config,
dead workers of the journal, and one-line errors for bad flags and storages."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.trial import FixedTrial, TrialState

from arz_tui.training.config import DQNHyperparameters, TrainingConfig
from arz_tui.training.train import build_parser as batch_parser
from arz_tui.training.train import configs_from_args
from arz_tui.tuning import space
from arz_tui.tuning.storage import default_journal, open_storage
from arz_tui.tuning.tune import (
    TrialSeededTPESampler,
    TuneSettings,
    export_config,
    reap_dead_workers,
)
from arz_tui.tuning.tune import main as tune_main

ROOT = Path(__file__).resolve().parent.parent
TUNE = [sys.executable, "-m", "arz_tui.tuning.tune"]
BUDGET = 600
FLAGS = ["--scenario", "riemann", "--timesteps-per-trial", str(BUDGET), "--evaluations", "4",
         "--eval-episodes", "3"]
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)

optuna.logging.set_verbosity(optuna.logging.ERROR)


def _load(results: Path, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name,
                             storage=open_storage(None, results, name).storage)


# ---------------------------------------------------------------------- the search space
@pytest.mark.parametrize("budget", [100, 600, 5000, 100_000, 1_000_000])
def test_sampled_points_stay_in_bounds_and_budget(budget: int) -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=budget),
                                direction="maximize")
    seen: dict[str, set] = {}
    for _ in range(150):
        trial = study.ask()
        hyper = space.suggest(trial, budget)
        study.tell(trial, 0.0)
        h = DQNHyperparameters(**hyper)  # a valid DQN config
        assert 1e-5 <= h.learning_rate <= 1e-2
        assert 0.0 <= h.exploration_final_eps <= 0.2
        assert 0.05 <= h.exploration_fraction <= 0.5
        assert h.gamma in space.GAMMAS and h.batch_size in space.BATCH_SIZES
        assert h.net_arch in space.NET_ARCHS.values()
        # Budget constraints: everything that counts steps is well below the budget.
        assert h.learning_starts <= 0.2 * budget
        assert h.target_update_interval <= max(1, 0.1 * budget)
        assert min(budget, 1000) <= h.buffer_size <= budget
        assert h.train_freq <= max(1, budget // 50)
        assert 1 <= h.gradient_steps <= h.train_freq
        for key, value in hyper.items():
            seen.setdefault(key, set()).add(str(value))
    # The sampler explores every choice it has.
    for name, allowed in space.choices(budget).items():
        assert len(seen[name]) == len(allowed), (name, seen[name], allowed)
    assert len(seen["net_arch"]) == 3


def test_fixed_trial_maps_to_dqn_settings_and_rejects_points_outside_the_budget() -> None:
    params = {"learning_rate": 3e-4, "batch_size": 64, "buffer_size": 600,
              "exploration_final_eps": 0.05, "exploration_fraction": 0.2,
              "target_update_interval": 60, "learning_starts": 30, "train_freq": 8,
              "subsample_steps": 4, "gamma": 0.99, "net_arch": "medium"}
    hyper = space.suggest(FixedTrial(params), BUDGET)
    assert hyper["gradient_steps"] == 2  # rl-zoo3: train_freq // subsample_steps
    assert hyper["net_arch"] == [256, 256]
    assert (hyper["learning_starts"], hyper["target_update_interval"],
            hyper["buffer_size"]) == (30, 60, 600)
    # A value that only fits a larger budget is refused, not silently used.
    with pytest.raises(ValueError, match="learning_starts=1000"):
        space.hyperparameters({**params, "learning_starts": 1000}, BUDGET)
    with pytest.raises(ValueError, match="learning_rate"):
        space.hyperparameters({**params, "learning_rate": 0.5}, BUDGET)
    with pytest.raises(ValueError, match="at least 100"):
        space.choices(50)


def test_sampler_seeds_each_trial_from_seed_and_number() -> None:
    def first_two(seed: int) -> list[dict]:
        study = optuna.create_study(sampler=TrialSeededTPESampler(seed, n_startup_trials=5),
                                    direction="maximize")
        points = []
        for _ in range(2):
            trial = study.ask()
            points.append(space.suggest(trial, BUDGET))
            study.tell(trial, 0.0)
        return points

    a, b = first_two(7), first_two(7)
    assert a == b  # reproducible
    assert a[0] != a[1]  # workers drawing trials 0 and 1 get different points
    assert first_two(8)[0] != a[0]


# ---------------------------------------------------------------------- workers and export
def test_two_workers_share_a_journal_study_and_export_the_best(tmp_path: Path) -> None:
    n = 4
    export = tmp_path / "exported" / "best.json"
    cmd = [*TUNE, *FLAGS, "--trials", str(n), "--study", "shared", "--results-dir",
           str(tmp_path)]
    procs = [subprocess.Popen(cmd + (["--export", str(export)] if i == 0 else []), cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for i in range(2)]
    outs = [p.communicate(timeout=150)[0] for p in procs]
    for p, out in zip(procs, outs, strict=True):
        assert p.returncode == 0, out[-3000:]
        assert "best config in" in out

    study = _load(tmp_path, "shared")
    trials = study.get_trials()
    assert sorted(t.number for t in trials) == list(range(n)), [t.number for t in trials]
    assert all(t.state in FINISHED for t in trials), [t.state for t in trials]
    # Both workers ran trials (else sharing was never exercised), each in its own folder.
    assert {t.user_attrs["worker"]["pid"] for t in trials} == {p.pid for p in procs}
    for t in trials:
        assert (tmp_path / "tuning" / "shared" / f"trial_{t.number}" / "training_config.json"
                ).is_file()
    assert "pruned" in "".join(outs) or all(t.state == TrialState.COMPLETE for t in trials)

    # The export is the best trial's settings as a TrainingConfig the batch CLI trains.
    data = json.loads(export.read_text())
    assert json.loads((tmp_path / "tuning" / "shared" / "best_config.json").read_text()) == data
    config = TrainingConfig(**data)
    best = study.best_trial
    assert config.dqn_hyperparams.model_dump() == space.hyperparameters(best.params, BUDGET)
    assert (config.total_timesteps, config.seed) == (BUDGET, 0)
    assert config.evaluation_strategy.eval_freq == BUDGET // 4
    _, batch_config = configs_from_args(batch_parser().parse_args(
        ["--config", str(export), "--scenario", "riemann"]))
    assert batch_config.dqn_hyperparams == config.dqn_hyperparams
    assert batch_config.experiment_name == "shared_best"

    # Running the command again finds the study done: no new trial, the same export.
    export.unlink()
    assert tune_main([*FLAGS, "--trials", str(n), "--study", "shared", "--results-dir",
                      str(tmp_path), "--export", str(export)]) == 0
    assert len(_load(tmp_path, "shared").get_trials()) == n
    assert json.loads(export.read_text()) == data


def test_joining_a_study_with_other_settings_is_one_line(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    study = optuna.create_study(study_name="s", direction="maximize",
                                storage=open_storage(None, tmp_path, "s").storage)
    study.set_user_attr("arz_tui", TuneSettings("riemann", 4, "s", timesteps=900,
                                                evaluations=4, eval_episodes=3).shared())
    rc = tune_main([*FLAGS, "--trials", "4", "--study", "s", "--results-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "--timesteps-per-trial 900 (not 600)" in err and "another --study" in err
    assert not (tmp_path / "tuning" / "s").exists()  # no trial was run


def test_export_config_loads_with_training_config() -> None:
    settings = TuneSettings("riemann", 4, "exp", timesteps=BUDGET, evaluations=4)
    params = {"learning_rate": 1e-3, "batch_size": 32, "buffer_size": 600,
              "exploration_final_eps": 0.1, "exploration_fraction": 0.3,
              "target_update_interval": 6, "learning_starts": 0, "train_freq": 1,
              "subsample_steps": 1, "gamma": 0.9, "net_arch": "tiny"}
    data = json.loads(json.dumps(export_config(settings, params)))
    config = TrainingConfig(**data)
    assert config.dqn_hyperparams.net_arch == [64]
    assert config.sanity_check_config.enabled  # the real run keeps its checks
    assert "results_dir" not in data  # --results-dir decides


def test_journal_trial_of_a_dead_worker_is_failed_and_queued_again(tmp_path: Path) -> None:
    study = optuna.create_study(study_name="reap", direction="maximize",
                                storage=open_storage(None, tmp_path, "reap").storage)
    host = os.uname().nodename
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = study.ask()
    space.suggest(dead, BUDGET)
    dead.set_user_attr("worker", {"host": host, "pid": gone.pid})
    alive = study.ask()
    alive.set_user_attr("worker", {"host": host, "pid": os.getppid()})
    remote = study.ask()
    remote.set_user_attr("worker", {"host": host + "-elsewhere", "pid": gone.pid})

    assert reap_dead_workers(study) == [dead.number]
    trials = {t.number: t for t in study.get_trials()}
    assert trials[dead.number].state == TrialState.FAIL
    assert trials[alive.number].state == TrialState.RUNNING
    assert trials[remote.number].state == TrialState.RUNNING  # another machine: unknown
    queued = [t for t in trials.values() if t.state == TrialState.WAITING]
    assert len(queued) == 1
    assert queued[0].params == trials[dead.number].params
    assert queued[0].system_attrs["failed_trial"] == dead.number
    assert reap_dead_workers(study) == []  # once only


# ---------------------------------------------------------------------- one-line errors
@pytest.mark.parametrize(("storage", "expected"), [
    ("postgresql://tuner@127.0.0.1:1/studies", "cannot connect"),
    ("postgresql://tuner:s3cret@127.0.0.1:1/studies", "cannot connect"),
    ("mysql://tuner@localhost/studies", "unsupported scheme 'mysql'"),
    ("postgresql://tuner@localhost:port/studies", "the port is not a number"),
    ("postgresql://tuner@localhost", "no database name"),
    ("sqlite://", "give a database file"),
    ("http//not-a-url", None),
])
def test_bad_storage_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture,
                                        storage: str, expected: str | None) -> None:
    if expected is None:  # no scheme: a journal path, here one that cannot be created
        (tmp_path / "http").write_text("a file, not a folder")
        storage = str(tmp_path / "http" / "study.journal")
        expected = "cannot use journal file"
    rc = tune_main([*FLAGS, "--trials", "2", "--study", "s", "--storage", storage,
                    "--results-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert rc == 2
    assert len(lines) == 1, err
    assert expected in lines[0], lines[0]
    assert "Traceback" not in out + err
    assert "s3cret" not in err
    assert storage.replace(":s3cret", ":***") in lines[0]  # names the value
    assert not (tmp_path / "tuning" / "s").exists()


@pytest.mark.parametrize(("flags", "expected"), [
    (["--trials", "0", "--study", "s"], "--trials: 0 must be >= 1"),
    (["--trials", "many", "--study", "s"], "--trials: 'many' is not a whole number"),
    (["--trials", "2", "--study", "../s"], "--study '../s'"),
    (["--trials", "2"], "--study"),
    (["--trials", "2", "--study", "s", "--timesteps-per-trial", "50"],
     "--timesteps-per-trial: 50 must be >= 100"),
])
def test_bad_flags_are_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture,
                                       flags: list[str], expected: str) -> None:
    rc = tune_main(["--scenario", "riemann", "--results-dir", str(tmp_path), *flags])
    err = capsys.readouterr().err
    assert rc == 2
    assert len(err.strip().splitlines()) == 1, err
    assert expected in err, err


def test_module_entry_point_reports_errors_without_traceback(tmp_path: Path) -> None:
    proc = subprocess.run([*TUNE, "--scenario", "nowhere", "--trials", "2", "--study", "s",
                           "--results-dir", str(tmp_path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "unknown scenario 'nowhere'" in proc.stderr
    assert not default_journal(tmp_path, "s").exists()


def test_sqlite_storage_opens_from_workers_starting_together(tmp_path: Path) -> None:
    """Workers starting at once must not race to create optuna's tables."""
    url = f"sqlite:///{tmp_path / 'db' / 'study.db'}"
    code = ("import sys; from pathlib import Path; from arz_tui.tuning.storage import "
            "open_storage; s = open_storage(sys.argv[1], Path('.'), 's', heartbeat=2); "
            "print(s.heartbeat, s.grace_period)")
    procs = [subprocess.Popen([sys.executable, "-c", code, url], cwd=ROOT, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for _ in range(6)]
    outs = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, outs
    assert all(out.strip() == "2 6" for out in outs), outs


def _bare_worker(tmp_path: Path, trials: int, train: object) -> tuple[object, optuna.Study]:
    """A Worker on an in-memory study whose training is replaced by `train(trial, hyper)`."""
    from rich.console import Console

    from arz_tui.tuning.storage import FileLock, StudyStorage
    from arz_tui.tuning.tune import Worker, make_sampler

    settings = TuneSettings("riemann", trials, "bare", timesteps=BUDGET,
                            results_dir=tmp_path)
    opened = StudyStorage(optuna.storages.InMemoryStorage(), "memory",
                          FileLock(tmp_path / "lock"))
    study = optuna.create_study(storage=opened.storage, sampler=make_sampler(settings),
                                direction="maximize")
    worker = Worker(study, settings, opened, None, Console(file=io.StringIO()))
    worker._train = train
    return worker, study


def test_worker_survives_a_trial_failed_by_another_worker(tmp_path: Path) -> None:
    calls: list[int] = []

    def train(trial: optuna.Trial, hyper: dict) -> float:
        calls.append(trial.number)
        if len(calls) == 1:  # another worker declares it dead meanwhile
            study.tell(trial.number, state=TrialState.FAIL)
        return 1.0

    worker, study = _bare_worker(tmp_path, 2, train)
    worker.run()
    states = [t.state for t in study.get_trials()]
    assert states == [TrialState.FAIL, TrialState.COMPLETE, TrialState.COMPLETE]
    assert worker.ran == [0, 1, 2]


def test_worker_stops_after_three_failures_in_a_row(tmp_path: Path) -> None:
    from arz_tui.tuning.tune import _TooManyFailures

    worker, study = _bare_worker(tmp_path, 5, lambda trial, hyper: float("nan"))
    with pytest.raises(_TooManyFailures):
        worker.run()
    assert [t.state for t in study.get_trials()] == [TrialState.FAIL] * 3


def test_worker_survives_a_pruned_trial_failed_by_another_worker(tmp_path: Path) -> None:
    def train(trial: optuna.Trial, hyper: dict) -> float:
        if trial.number == 0:
            study.tell(trial.number, state=TrialState.FAIL)
            raise optuna.TrialPruned("step 300")
        return 1.0

    worker, study = _bare_worker(tmp_path, 1, train)
    worker.run()
    assert [t.state for t in study.get_trials()] == [TrialState.FAIL, TrialState.COMPLETE]


def test_worker_does_not_hide_its_own_errors(tmp_path: Path) -> None:
    def train(trial: optuna.Trial, hyper: dict) -> float:
        raise ValueError("a bug")

    worker, study = _bare_worker(tmp_path, 1, train)
    with pytest.raises(ValueError, match="a bug"):
        worker.run()
    assert [t.state for t in study.get_trials()] == [TrialState.FAIL]
