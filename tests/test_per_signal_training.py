"""Per-signal control in training: the --control setting, shared-parameter DQN end to end
(sanity checks, checkpoints, evaluation), exact resume, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from stable_baselines3 import DQN

from arz_tui.runstore import RunLayout
from arz_tui.runstore.checkpoints import list_checkpoints
from arz_tui.runstore.events import read_events
from arz_tui.runstore.files import read_json, read_npz
from arz_tui.training import TrainingConfig
from arz_tui.training.train import main as batch_main

GRID = "grid:2x2"  # 4 signals: per-signal under control auto


def test_control_resolution_and_scaled_presets():
    quick = TrainingConfig.build(experiment_name="x", mode="quick")
    per = quick.resolved("cpu", n_signals=16)
    assert per.control == "per-signal"
    # A per-signal run makes as many network decisions as a joint run of the same mode.
    assert per.total_timesteps == 16 * 5000
    assert per.checkpoint_strategy.save_freq == 16 * 500
    assert per.evaluation_strategy.eval_freq == 16 * 1000
    assert per.total_timesteps % (per.n_envs * 16) == 0
    assert per.resolved("cpu", n_signals=16).total_timesteps == 16 * 5000  # idempotent
    joint = quick.resolved("cpu", n_signals=3)
    assert joint.control == "joint" and joint.total_timesteps == 5000
    given = TrainingConfig.build(experiment_name="x", mode="quick", total_timesteps=640,
                                 control="per-signal").resolved("cpu", n_signals=16)
    assert given.total_timesteps == 640 and given.n_envs == 8  # given counts are kept
    forced = TrainingConfig.build(experiment_name="x", mode="quick", control="joint")
    assert forced.resolved("cpu", n_signals=16).control == "joint"
    assert "preset_filled" not in quick.model_dump()


def _config(tmp_path: Path, total: int, **extra) -> Path:
    cfg = {
        "training": {
            "experiment_name": "ps", "mode": "quick", "total_timesteps": total, "seed": 2,
            "n_envs": 2,
            "dqn_hyperparams": {"learning_starts": 64, "buffer_size": 5000,
                                "target_update_interval": 64},
            "checkpoint_strategy": {"save_freq": 96, "max_checkpoints": 3},
            "evaluation_strategy": {"eval_freq": 192, "n_eval_episodes": 2},
            **extra,
        },
        "env": {"scenario": GRID, "episode_s": 300.0},
    }
    path = tmp_path / f"cfg{total}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _args(tmp_path: Path, total: int, *more: str) -> list[str]:
    return ["--name", "ps", "--results-dir", str(tmp_path / "r"),
            "--config", str(_config(tmp_path, total)), *more]


def test_per_signal_run_end_to_end_and_exact_resume(tmp_path, capsys):
    assert batch_main(_args(tmp_path, 192)) == 0
    out = capsys.readouterr().out
    assert "PASS action_mapping" in out and "local rewards" in out
    lay = RunLayout(tmp_path / "r" / "ps")
    saved = read_json(lay.config)["training"]
    assert saved["control"] == "per-signal" and saved["n_envs"] == 2
    model = DQN.load(lay.final_model, device="cpu")
    assert model.num_timesteps == 192 and model.n_envs == 2 * 4
    summary = read_json(lay.summary)
    for side in ("rl", "fixed_time"):
        assert summary[side]["vehicles_arrived"] > 0
    assert "mean_local_reward" in summary["rl"]
    assert [c.steps for c in list_checkpoints(lay)] == [96, 192]
    assert read_npz(lay.evaluations)["timesteps"].tolist() == [192]
    before = read_npz(lay.final_buffer)

    assert batch_main([*_args(tmp_path, 384), "--resume"]) == 0
    events = [e.model_dump(mode="json") for e in read_events(lay.metrics)]
    starts = [e for e in events if e["kind"] == "run_started"]
    assert starts[-1]["data"]["resumed_from"] == 192
    assert starts[-1]["data"]["control"] == "per-signal"
    assert events[-1]["kind"] == "run_finished" and events[-1]["step"] == 384
    after = read_npz(lay.final_buffer)
    rows = int(before["pos"])
    assert rows * 8 == 192 and int(after["pos"]) * 8 == 384
    for key in ("observations", "actions", "rewards", "dones"):
        np.testing.assert_array_equal(after[key][:rows], before[key][:rows], err_msg=key)
    # Every signal of every replica is a column of the buffer; actions are phases.
    assert after["observations"].shape[1] == 8
    assert after["actions"][:int(after["pos"])].max() < 4


def test_resume_with_another_control_is_one_line(tmp_path, capsys):
    assert batch_main([*_args(tmp_path, 96), "--no-sanity-checks"]) == 0
    capsys.readouterr()
    code = batch_main([*_args(tmp_path, 192), "--resume", "--control", "joint"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "per-signal" in err and "--control per-signal" in err


def test_total_not_a_multiple_of_the_slots_is_one_line(tmp_path, capsys):
    code = batch_main(_args(tmp_path, 100))
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "n_envs 2 x 4 signals" in err and "96 or 104" in err
    assert not (tmp_path / "r" / "ps").exists()


@pytest.mark.parametrize("flag", ["bogus", "Joint"])
def test_bad_control_flag(flag, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        batch_main(["--control", flag, "--mode", "sanity"])
    assert exit_info.value.code == 2
    assert "--control" in capsys.readouterr().err


def test_report_evaluates_a_per_signal_run_with_the_baselines(tmp_path):
    from arz_tui.report.cli import main as report_main

    assert batch_main([*_args(tmp_path, 96), "--no-sanity-checks"]) == 0
    out = tmp_path / "report"
    assert report_main(["ps", "--results-dir", str(tmp_path / "r"), "--demand", "heavy",
                        "--episodes", "1", "--model", "final", "--out", str(out)]) == 0
    report = read_json(out / "report.json")
    rows = report["results"]["levels"]["heavy"] if "results" in report else \
        report["levels"]["heavy"]
    assert rows["ps"]["kind"] == "rl" and rows["max-pressure"]["kind"] == "baseline"
    assert rows["ps"]["mean_delay_s"]["mean"] > 0
    # The same seeded episode for every controller: the same vehicles arrive.
    assert rows["ps"]["episodes"] == rows["fixed-time"]["episodes"] == 1


def test_policy_controller_equals_the_vec_env_evaluation(tmp_path):
    """The report's controller and the trainer's batched evaluation give one episode the same
    totals (the same local observations, the same actions)."""
    from arz_tui.baselines.runner import run_episode
    from arz_tui.env import EnvConfig, TrafficSignalEnv
    from arz_tui.training.per_signal import SignalPolicyController, run_signal_policy_episodes

    assert batch_main([*_args(tmp_path, 96), "--no-sanity-checks"]) == 0
    model = DQN.load(RunLayout(tmp_path / "r" / "ps").final_model, device="cpu")
    config = EnvConfig.build(scenario=GRID, episode_s=300.0)
    batched, _ = run_signal_policy_episodes(config, model, [77])
    alone = run_episode(TrafficSignalEnv(config, joint_action=False),
                        SignalPolicyController(model), seed=77)
    for key in ("mean_delay_s", "vehicles_served", "mean_queue_veh"):
        assert alone[key] == pytest.approx(batched[0][key], rel=1e-9), key
