"""Training core: configs and modes, sanity checks, results layout, resume, batch CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from arz_tui.env import EnvConfig
from arz_tui.runstore import RunLayout
from arz_tui.runstore.checkpoints import list_checkpoints
from arz_tui.runstore.events import read_events, status_from_events
from arz_tui.runstore.files import read_npz
from arz_tui.training import (
    MODE_PRESETS,
    RLTrainer,
    SanityCheckConfig,
    SanityCheckError,
    TrainingConfig,
    TrainingConfigError,
    kaggle_config,
    production_config,
    quick_config,
    run_sanity_checks,
    sanity_check_config,
)
from arz_tui.training.env_builder import EnvConfigBuilder, RLConfigBuilder
from arz_tui.training.train import main as batch_main
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "arz_tui.training.train"]


def _events(run: Path) -> list[dict]:
    return [e.model_dump(mode="json") for e in read_events(RunLayout(run).metrics)]


# ---------------------------------------------------------------------- configs and modes
def test_mode_presets_and_overrides() -> None:
    assert sanity_check_config().total_timesteps == 100
    assert sanity_check_config().checkpoint_strategy.save_freq == 50
    assert quick_config("q").total_timesteps == 5000
    assert quick_config("q").checkpoint_strategy.save_freq == 500
    assert production_config("p").total_timesteps == 100_000
    assert production_config("p").checkpoint_strategy.save_freq == 1000
    k = kaggle_config("k")
    assert (k.total_timesteps, k.checkpoint_strategy.save_freq) == (200_000, 2000)
    assert k.max_hours == 8.5 and k.device == "auto"
    evals = [MODE_PRESETS[m].eval_freq for m in ("sanity", "quick", "production", "kaggle")]
    assert evals == sorted(evals) and len(set(evals)) == 4
    assert quick_config("q", total_timesteps=777).total_timesteps == 777
    # Defaults of the seed's DQN hyper-parameters (production keeps them all).
    h = production_config("p").dqn_hyperparams
    assert (h.learning_rate, h.buffer_size, h.learning_starts, h.batch_size, h.tau, h.gamma,
            h.train_freq, h.gradient_steps, h.target_update_interval, h.exploration_fraction,
            h.exploration_initial_eps, h.exploration_final_eps) == (
        1e-3, 50_000, 1000, 32, 1.0, 0.99, 4, 1, 1000, 0.1, 1.0, 0.05)


@pytest.mark.parametrize(("fields", "field"), [
    ({"experiment_name": "../escape"}, "experiment_name"),
    ({"experiment_name": "x", "mode": "turbo"}, "mode"),
    ({"experiment_name": "x", "total_timesteps": 0}, "total_timesteps"),
    ({"experiment_name": "x", "device": "tpu"}, "device"),
    ({"experiment_name": "x", "dqn_hyperparams": {"gamma": 1.5}}, "dqn_hyperparams.gamma"),
    ({"experiment_name": "x", "checkpoint_strategy": {"max_checkpoints": 0}},
     "checkpoint_strategy.max_checkpoints"),
    ({"experiment_name": "x", "typo": 1}, "typo"),
])
def test_bad_training_config_is_one_line(fields: dict, field: str) -> None:
    with pytest.raises(TrainingConfigError) as err:
        TrainingConfig.build(**fields)
    assert "\n" not in str(err.value)
    assert str(err.value).startswith(f"training config: {field}")


def test_env_config_builder() -> None:
    assert RLConfigBuilder is EnvConfigBuilder
    assert EnvConfigBuilder.for_training("riemann").episode_s == 900
    lagos = EnvConfigBuilder.for_training("lagos")
    assert lagos.episode_s == 3600 and lagos.decision_interval_s == 15


# ---------------------------------------------------------------------- sanity checks
def test_sanity_checks_pass_on_every_builtin() -> None:
    for name in ("lagos", "simple", "riemann"):
        report = run_sanity_checks(EnvConfigBuilder.for_training(name), SanityCheckConfig())
        assert report.passed
        assert [r.name for r in report.results] == [
            "action_mapping", "flux_config", "control_interval", "device", "reward_variety",
            "queue_formation"]


def test_constant_reward_and_60s_interval_fail_with_named_checks(tmp_path: Path) -> None:
    env = EnvConfig(scenario="riemann", reward=lambda m: 0.0, decision_interval_s=60)
    seen = []
    with pytest.raises(SanityCheckError) as err:
        run_sanity_checks(env, SanityCheckConfig(), on_result=seen.append)
    failed = {r.name for r in err.value.report.failures}
    assert failed == {"reward_variety", "control_interval"}
    assert "reward_variety" in str(err.value) and "fix:" in str(err.value)
    assert len(seen) == 6  # every result was reported as it came
    # Through the trainer: nothing is written before the checks pass.
    cfg = sanity_check_config("broken", results_dir=tmp_path)
    trainer = RLTrainer(env, cfg)
    with pytest.raises(SanityCheckError):
        trainer.train()
    trainer.cleanup()
    assert not (tmp_path / "broken").exists()


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a GPU is present")
def test_cuda_requested_without_gpu_is_one_line(tmp_path: Path, capsys) -> None:
    code = batch_main(["--mode", "sanity", "--scenario", "riemann", "--device", "cuda",
                       "--results-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert "cuda" in err and "--device cpu" in err
    assert not any(tmp_path.iterdir())


def _scenario_with_loaded_entries(tmp_path: Path) -> Path:
    """riemann, but its entries start at the inflow's own density (the seed's bug #33)."""
    data = load_scenario("riemann").model_dump(by_alias=True)
    data["initial"].append({"link": "main_up", "start_m": 0.0, "end_m": 600.0,
                            "motorcycle_veh_per_km_lane": 4.0, "car_veh_per_km_lane": 5.0})
    data["initial"].append({"link": "side_in", "motorcycle_veh_per_km_lane": 5.0,
                            "car_veh_per_km_lane": 6.0})
    path = tmp_path / "loaded_entries.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_inflow_equal_to_initial_density_fails_before_training(tmp_path: Path, capsys) -> None:
    scenario = _scenario_with_loaded_entries(tmp_path)
    results = tmp_path / "results"
    code = batch_main(["--mode", "sanity", "--scenario", str(scenario), "--name", "flux",
                       "--results-dir", str(results)])
    captured = capsys.readouterr()
    assert code == 2
    assert "flux_config" in captured.err and "FAIL" in captured.err
    assert "Traceback" not in captured.err
    assert not (results / "flux").exists()


# ---------------------------------------------------------------------- a full sanity run
def test_sanity_run_produces_the_full_layout(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("arz-tui")
    proc = subprocess.run([str(script), "--batch", "--mode", "sanity", "--scenario", "lagos",
                           "--name", "t1", "--results-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "all sanity checks passed" in proc.stdout
    lay = RunLayout(tmp_path / "t1")
    for path in (lay.best_model, lay.final_model, lay.final_buffer, lay.training_log,
                 lay.metrics, lay.evaluations, lay.summary, lay.config):
        assert path.is_file(), path
    models = sorted(p.name for p in lay.latest.glob("dqn_checkpoint_*_steps.zip"))
    buffers = sorted(p.name for p in lay.latest.glob("replay_buffer_*.npz"))
    # Checkpoints fall on rollout boundaries (train_freq 4): the first at or after step 50.
    assert models == ["dqn_checkpoint_100_steps.zip", "dqn_checkpoint_52_steps.zip"]
    # The second checkpoint writes only the rows since the first (runstore.BufferChain).
    assert buffers == ["replay_buffer_100_steps_delta.npz", "replay_buffer_52_steps.npz"]
    assert sorted(p.name for p in lay.latest.glob("checkpoint_*.json")) == [
        "checkpoint_100.json", "checkpoint_52.json"]  # the manifests
    assert not list(lay.root.rglob("*.tmp"))
    # training_config.json round-trips into TrainingConfig and EnvConfig.
    saved = json.loads(lay.config.read_text())
    cfg = TrainingConfig.model_validate(saved["training"])
    assert cfg.experiment_name == "t1" and cfg.mode == "sanity" and cfg.total_timesteps == 100
    assert TrainingConfig.model_validate_json(cfg.model_dump_json()) == cfg
    assert EnvConfig(**saved["env"]).scenario == "lagos"
    assert {"numpy", "torch", "stable-baselines3", "python"} <= set(saved["versions"])
    summary = json.loads(lay.summary.read_text())
    assert {"rl", "fixed_time", "seeds"} <= set(summary)
    assert summary["rl"]["vehicles_served"] > 0
    kinds = [e["kind"] for e in _events(lay.root)]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert kinds.count("sanity_result") == 6
    assert {"checkpoint", "eval", "baseline"} <= set(kinds)
    assert status_from_events(read_events(lay.metrics)) == "finished"
    with np.load(lay.evaluations) as data:
        assert list(data["timesteps"]) == [50, 100]
    # The same command again must not overwrite anything.
    before = {p: p.stat().st_mtime_ns for p in lay.root.rglob("*") if p.is_file()}
    again = subprocess.run([str(script), "--batch", "--mode", "sanity", "--scenario", "lagos",
                            "--name", "t1", "--results-dir", str(tmp_path)],
                           capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1 and "--resume" in again.stderr
    assert before == {p: p.stat().st_mtime_ns for p in lay.root.rglob("*") if p.is_file()}


# ---------------------------------------------------------------------- resume
def _resume_config(tmp_path: Path) -> Path:
    cfg = {
        "mode": "quick", "total_timesteps": 3000, "seed": 3, "n_envs": 1,
        "dqn_hyperparams": {"learning_starts": 200, "exploration_fraction": 0.9,
                            "buffer_size": 10_000, "target_update_interval": 200},
        "checkpoint_strategy": {"save_freq": 250, "max_checkpoints": 2},
        "evaluation_strategy": {"eval_freq": 100_000, "n_eval_episodes": 2},
    }
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _epsilon(step: int, total: int = 3000, fraction: float = 0.9) -> float:
    progress = step / total
    return max(0.05, 1.0 + (0.05 - 1.0) * progress / fraction)


def test_sigkill_then_resume_continues_steps_epsilon_and_buffer(tmp_path: Path) -> None:
    config = _resume_config(tmp_path)
    results = tmp_path / "results"
    args = ["--scenario", "riemann", "--name", "kr", "--results-dir", str(results),
            "--config", str(config), "--no-sanity-checks"]
    proc = subprocess.Popen([*CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            cwd=tmp_path)
    lay = RunLayout(results / "kr")
    deadline = time.time() + 240
    try:
        while time.time() < deadline:
            done = list_checkpoints(lay)
            # max_checkpoints (2) are kept, and one of an earlier buffer chain; while a new one
            # is written and before the oldest is rotated out there is one more (deleting
            # first would risk losing both).
            assert len(list(lay.latest.glob("dqn_checkpoint_*.zip"))) <= 4 if done else True
            if done and done[-1].steps >= 1000:
                break
            if proc.poll() is not None:
                pytest.fail(f"training ended before the kill: {proc.stderr.read()}")
            time.sleep(0.02)
        else:
            pytest.fail("no checkpoint at >= 1000 steps in time")
        proc.send_signal(signal.SIGKILL)  # not a polite stop
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    # killed: no live process
    assert status_from_events(read_events(lay.metrics)) == "interrupted"
    saved = list_checkpoints(lay)[-1]
    assert 1000 <= saved.steps < 3000

    resumed = subprocess.run([*CLI, *args, "--resume"], capture_output=True, text=True,
                             timeout=300, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    events = _events(lay.root)
    starts = [i for i, e in enumerate(events) if e["kind"] == "run_started"]
    assert len(starts) == 2
    assert events[starts[1]]["data"]["resumed_from"] == saved.steps
    after = [e for e in events[starts[1]:] if e["kind"] == "progress"]
    first = after[0]
    assert first["step"] > saved.steps  # the step counter continues
    assert first["data"]["epsilon"] == pytest.approx(_epsilon(first["step"]), abs=0.02)
    assert first["data"]["epsilon"] < 0.9  # not restarted at 1.0
    assert events[-1]["kind"] == "run_finished" and events[-1]["step"] == 3000

    from stable_baselines3 import DQN

    model = DQN.load(lay.final_model, device="cpu")
    assert model.num_timesteps == 3000  # exactly total_timesteps
    assert model.exploration_rate == pytest.approx(_epsilon(3000), abs=1e-9)
    buffer = read_npz(lay.final_buffer)
    # the old transitions plus the remaining ones
    assert int(buffer["pos"]) == 3000 and len(buffer["observations"]) == 3000
    kept = sorted(int(p.name.split("_")[2]) for p in lay.latest.glob("dqn_checkpoint_*.zip"))
    # The newest two, and the killed process's newest (the resume started a new buffer chain).
    assert len(kept) == 3 and kept[0] == saved.steps and kept[-1] == 3000


def test_resume_errors_are_one_line(tmp_path: Path, capsys) -> None:
    results = tmp_path / "results"
    code = batch_main(["--mode", "sanity", "--scenario", "riemann", "--name", "none",
                       "--results-dir", str(results), "--resume"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "nothing to resume" in err

    code = batch_main(["--mode", "sanity", "--scenario", "riemann", "--name", "r1",
                       "--results-dir", str(results), "--no-sanity-checks"])
    assert code == 0
    capsys.readouterr()
    code = batch_main(["--mode", "sanity", "--scenario", "simple", "--name", "r1",
                       "--results-dir", str(results), "--resume", "--timesteps", "200"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "env.scenario" in err
    code = batch_main(["--mode", "sanity", "--scenario", "riemann", "--name", "r1",
                       "--results-dir", str(results), "--resume"])
    err = capsys.readouterr().err
    assert code == 2 and "has finished" in err and "--timesteps" in err
    # Extending a finished run works from its saved config.
    code = batch_main(["--config", str(results / "r1" / "training_config.json"), "--resume",
                       "--timesteps", "150", "--results-dir", str(results)])
    assert code == 0
    from stable_baselines3 import DQN

    assert DQN.load(results / "r1" / "checkpoints" / "dqn_model_final.zip").num_timesteps == 150


@pytest.mark.parametrize("argv", [
    ["--mode", "turbo"], ["--timesteps", "-5"], ["--timesteps", "abc"], ["--max-hours", "0"],
    ["--seed", "x"], ["--scenario", "atlantis"], ["--bogus"],
    ["--config", "/nonexistent/cfg.json"],
])
def test_bad_flags_are_one_line_exit_2(argv: list[str], tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        code = batch_main([*argv, "--results-dir", str(tmp_path)])
        raise SystemExit(code)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    assert not any(tmp_path.iterdir())


def test_corrupt_config_file(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert batch_main(["--config", str(bad), "--results-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.json" in err


# ---------------------------------------------------------------------- stopping
def test_ctrl_c_saves_a_checkpoint_and_exits_130(tmp_path: Path) -> None:
    config = _resume_config(tmp_path)
    results = tmp_path / "results"
    proc = subprocess.Popen([*CLI, "--scenario", "riemann", "--name", "cc", "--results-dir",
                             str(results), "--config", str(config), "--no-sanity-checks"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path)
    lay = RunLayout(results / "cc")
    deadline = time.time() + 240
    while time.time() < deadline and not list_checkpoints(lay):
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "resume with --resume" in out
    events = _events(lay.root)
    assert events[-1]["kind"] == "run_interrupted"
    stopped_at = events[-1]["step"]
    assert list_checkpoints(lay)[-1].steps == stopped_at < 3000


def test_max_hours_checkpoints_and_exits_0(tmp_path: Path, capsys) -> None:
    results = tmp_path / "results"
    code = batch_main(["--mode", "quick", "--scenario", "riemann", "--name", "mh",
                       "--results-dir", str(results), "--max-hours", "0.0005",
                       "--no-sanity-checks", "--timesteps", "1000000"])
    out = capsys.readouterr().out
    assert code == 0
    assert "--resume" in out
    lay = RunLayout(results / "mh")
    events = _events(lay.root)
    assert events[-1]["kind"] == "run_interrupted"
    assert events[-1]["data"]["reason"] == "time budget reached"
    assert list_checkpoints(lay)[-1].steps == events[-1]["step"] < 1_000_000


# ---------------------------------------------------------------------- learning
def test_quick_mode_on_riemann_beats_fixed_time(tmp_path: Path) -> None:
    cfg = quick_config("learn", results_dir=tmp_path, seed=0)
    trainer = RLTrainer(EnvConfigBuilder.for_training("riemann"), cfg)
    try:
        trainer.train()
    finally:
        trainer.cleanup()
    summary = trainer.summary
    rl, base = summary["rl"], summary["fixed_time"]
    print(f"\nquick riemann: RL mean queue {rl['mean_queue_veh']:.1f} veh, fixed time "
          f"{base['mean_queue_veh']:.1f} veh; mean delay {rl['mean_delay_s']:.1f} vs "
          f"{base['mean_delay_s']:.1f} s/veh")
    assert rl["mean_queue_veh"] < base["mean_queue_veh"]
    assert os.path.isfile(trainer.layout.summary)
