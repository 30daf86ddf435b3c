"""Training over N replicas: per-transition settings, exact resume with N = 8, n_envs errors,
the GPU configuration end to end on the CPU, batched evaluation."""

from __future__ import annotations

import copy
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from stable_baselines3 import DQN
from stable_baselines3.common.vec_env import VecMonitor

import arz_tui.training.dqn as dqn_module
from arz_tui.env import EnvConfig
from arz_tui.env.vec_env import TrafficVecEnv
from arz_tui.runstore import RunLayout
from arz_tui.runstore.checkpoints import list_checkpoints
from arz_tui.runstore.events import read_events
from arz_tui.runstore.files import read_json, read_npz
from arz_tui.runstore.models import load_buffer_chain
from arz_tui.training import RLTrainer, TrainingConfig, production_config
from arz_tui.training.dqn import BatchedDQN, rollout_schedule
from arz_tui.training.evaluation import PolicyController, run_episodes, run_policy_episodes
from arz_tui.training.train import main as batch_main

CLI = [sys.executable, "-m", "arz_tui.training.train"]


# ---------------------------------------------------------------------- per-transition settings
@pytest.mark.parametrize(("freq", "steps", "n"), [
    (4, 1, 1), (4, 1, 2), (4, 1, 3), (4, 1, 8), (4, 1, 200), (1, 1, 8), (4, 3, 6), (5, 2, 4),
    (4, 0, 8)])
def test_rollout_schedule_keeps_gradient_steps_per_transition(freq, steps, n):
    vec_steps, grads = rollout_schedule(freq, steps, n)
    assert vec_steps >= 1
    transitions = vec_steps * n
    assert grads * freq == steps * transitions  # the replay ratio, exactly
    if n * steps % freq == 0:
        assert vec_steps == 1  # every batched step trains: no rollout longer than needed
    assert rollout_schedule(4, -1, 8) == (1, -1)


def _dqn(cls, env, **kw):
    return cls("MlpPolicy", env, learning_starts=0, batch_size=16, buffer_size=500,
               seed=0, device="cpu", **kw)


def test_gradient_step_is_sb3s_update():
    """Gradient steps of BatchedDQN (its compiled step on a CPU) change the weights as SB3's
    DQN does on the same replay buffer and the same draws of numpy's generator (fails loudly
    if SB3's update or its sampling changes)."""
    torch.set_num_threads(1)
    env = VecMonitor(TrafficVecEnv(n_envs=2, scenario="riemann"))
    ours, theirs = _dqn(BatchedDQN, env), _dqn(DQN, env)
    for model in (ours, theirs):
        model.learning_starts = 10_000  # set up (logger, buffer) without a gradient step
        model.learn(64)
    theirs.replay_buffer = copy.deepcopy(ours.replay_buffer)
    assert ours._lean() is not None and ours._lean().compiled_for(ours.replay_buffer)
    theirs.policy.load_state_dict(ours.policy.state_dict())
    for model in (ours, theirs):
        model._current_progress_remaining = 1.0
        np.random.seed(5)  # noqa: NPY002  # SB3 samples with numpy's global generator
        for _ in range(3):  # one step per call: SB3 draws each step's minibatch separately
            model.train(gradient_steps=1, batch_size=16)
    for a, b in zip(ours.policy.parameters(), theirs.policy.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert ours._n_updates == theirs._n_updates


def test_target_updates_and_epsilon_follow_transitions(monkeypatch):
    updates = []
    real = dqn_module.polyak_update

    def counted(params, target, tau):
        updates.append(tau)
        return real(params, target, tau)

    monkeypatch.setattr(dqn_module, "polyak_update", counted)
    env = VecMonitor(TrafficVecEnv(n_envs=3, scenario="riemann"))
    model = _dqn(BatchedDQN, env, target_update_interval=10, train_freq=1, gradient_steps=1,
                 exploration_fraction=0.5)
    model.learn(60)
    # Transitions 3, 6, ..., 60 cross 10, 20, ..., 60 once each (SB3: every 10 // 3 calls).
    assert len(updates) // 2 == 6
    assert model.exploration_rate == pytest.approx(0.05)
    greedy, _ = model.predict(np.repeat(env.reset()[:1], 4000, axis=0), deterministic=True)
    model.exploration_rate = 0.5
    acted, _ = model.predict(np.repeat(env.reset()[:1], 4000, axis=0))
    share = float(np.mean(acted != greedy))
    expected = 0.5 * (1 - 1 / env.action_space.n)  # per transition, not one coin for all
    assert abs(share - expected) < 0.05


# ---------------------------------------------------------------------- exact resume, N = 8
def _config(tmp_path: Path, **extra) -> Path:
    cfg = {
        "mode": "quick", "total_timesteps": 2400, "seed": 3, "n_envs": 8,
        "dqn_hyperparams": {"learning_starts": 200, "exploration_fraction": 0.9,
                            "buffer_size": 10_000, "target_update_interval": 200},
        "checkpoint_strategy": {"save_freq": 200, "max_checkpoints": 2},
        "evaluation_strategy": {"eval_freq": 800, "n_eval_episodes": 2},
        **extra,
    }
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _epsilon(step: int, total: int = 2400, fraction: float = 0.9) -> float:
    return max(0.05, 1.0 + (0.05 - 1.0) * step / total / fraction)


def _buffer_transitions(path: Path) -> dict[str, np.ndarray]:
    data = read_npz(path)
    return {k: data[k] for k in ("observations", "actions", "rewards", "dones")}


def test_sigkill_and_resume_with_8_envs_continues_exactly(tmp_path):
    results = tmp_path / "results"
    args = ["--scenario", "riemann", "--name", "k8", "--results-dir", str(results),
            "--config", str(_config(tmp_path)), "--no-sanity-checks"]
    proc = subprocess.Popen([*CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    lay = RunLayout(results / "k8")
    deadline = time.time() + 240
    try:
        while time.time() < deadline:
            done = list_checkpoints(lay)
            if done and done[-1].steps >= 1000:
                break
            if proc.poll() is not None:
                pytest.fail(f"training ended before the kill: {proc.stderr.read()}")
            time.sleep(0.02)
        else:
            pytest.fail("no checkpoint at >= 1000 steps in time")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    saved = list_checkpoints(lay)[-1]
    assert 1000 <= saved.steps < 2400 and saved.steps % 8 == 0
    # The checkpoint's buffer as a resume rebuilds it: its snapshot and deltas, in order.
    template = DQN.load(saved.model, device="cpu").replay_buffer
    load_buffer_chain(list(saved.buffers), template)
    rows = template.pos
    before = {k: getattr(template, k)[:rows] for k in ("observations", "actions", "rewards",
                                                      "dones")}
    assert read_json(lay.config)["training"]["n_envs"] == 8

    resumed = subprocess.run([*CLI, *args, "--resume"], capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    events = [e.model_dump(mode="json") for e in read_events(lay.metrics)]
    starts = [i for i, e in enumerate(events) if e["kind"] == "run_started"]
    assert events[starts[1]]["data"]["resumed_from"] == saved.steps
    assert events[starts[1]]["data"]["n_envs"] == 8
    after = [e for e in events[starts[1]:] if e["kind"] == "progress"]
    assert after[0]["step"] > saved.steps
    assert after[0]["data"]["epsilon"] == pytest.approx(_epsilon(after[0]["step"]), abs=0.02)
    assert events[-1]["kind"] == "run_finished" and events[-1]["step"] == 2400

    model = DQN.load(lay.final_model, device="cpu")
    assert model.num_timesteps == 2400  # exactly total_timesteps
    assert model.exploration_rate == pytest.approx(_epsilon(2400), abs=1e-9)
    final = _buffer_transitions(lay.final_buffer)
    buffer = read_npz(lay.final_buffer)
    assert int(buffer["pos"]) * 8 == 2400 and final["observations"].shape[1] == 8
    # The checkpoint's transitions are the start of the final buffer, unchanged.
    assert rows * 8 == saved.steps
    for key, value in before.items():
        np.testing.assert_array_equal(final[key][:rows], value, err_msg=key)
    evals = read_npz(lay.evaluations)["timesteps"].tolist()
    assert evals == [800, 1600, 2400]


# ---------------------------------------------------------------------- n_envs errors
@pytest.mark.parametrize(("argv", "says"), [
    (["--n-envs", "0"], "--n-envs"),
    (["--n-envs", "-3"], "--n-envs"),
    (["--n-envs", "x"], "--n-envs"),
    (["--n-envs", "5000"], "n_envs"),
    (["--n-envs", "7", "--timesteps", "100"], "not a multiple of n_envs 7"),
])
def test_bad_n_envs_is_one_line_exit_2(argv, says, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:  # argparse exits itself, the rest returns
        raise SystemExit(batch_main(["--mode", "sanity", "--scenario", "riemann", "--name",
                                     "bad", "--results-dir", str(tmp_path / "r"), *argv]))
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.count("\n") == 1 and says in err and "Traceback" not in err, err
    assert not (tmp_path / "r" / "bad").exists()


def test_too_many_replicas_for_memory_is_one_line(tmp_path, capsys, monkeypatch):
    import arz_tui.env.vec_env as vec_env

    monkeypatch.setattr(vec_env, "available_memory", lambda: 64 * 2**20)
    code = batch_main(["--mode", "sanity", "--scenario", "lagos", "--name", "big",
                       "--n-envs", "1000", "--timesteps", "1000",
                       "--results-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "n_envs 1000" in err and "GiB" in err and "--n-envs" in err
    assert not (tmp_path / "r" / "big").exists()


def test_resume_with_another_n_envs_is_one_line(tmp_path, capsys):
    base = ["--mode", "sanity", "--scenario", "riemann", "--name", "r8", "--no-sanity-checks",
            "--results-dir", str(tmp_path / "r"), "--timesteps", "96"]
    assert batch_main([*base, "--n-envs", "8"]) == 0
    capsys.readouterr()
    assert batch_main([*base, "--n-envs", "4", "--timesteps", "192", "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "trained with 8" in err and "--n-envs 8" in err, err
    # Without --n-envs a resume keeps the run's count (sanity mode alone would give 1).
    assert batch_main([*base, "--timesteps", "192", "--resume"]) == 0
    assert read_json(RunLayout(tmp_path / "r" / "r8").config)["training"]["n_envs"] == 8
    assert DQN.load(RunLayout(tmp_path / "r" / "r8").final_model).num_timesteps == 192


# ---------------------------------------------------------------------- the GPU configuration
def test_cuda_configuration_runs_end_to_end_on_cpu(tmp_path):
    """What --device cuda uses (200 replicas, minibatch 256, 50 gradient steps per batched
    step), run with torch on the CPU."""
    cuda = production_config("gpu", total_timesteps=2000, results_dir=tmp_path,
                             sanity_check_config={"enabled": False},
                             dqn_hyperparams={"learning_starts": 400},
                             checkpoint_strategy={"save_freq": 1000},
                             evaluation_strategy={"eval_freq": 1000, "n_eval_episodes": 2}
                             ).resolved("cuda")
    assert cuda.n_envs == 200 and cuda.dqn_hyperparams.batch_size == 256
    assert cuda.device == "cpu"
    trainer = RLTrainer(EnvConfig.build(scenario="riemann", episode_s=300.0), cuda)
    try:
        model = trainer.train()
    finally:
        trainer.cleanup()
    assert trainer.status == "finished" and model.num_timesteps == 2000
    assert model.n_envs == 200 and model.batch_size == 256
    assert (model.train_freq.frequency, model.gradient_steps) == (1, 50)
    assert model._n_updates == 50 * (2000 - 400) // 200
    assert read_json(RunLayout(tmp_path / "gpu").config)["training"]["n_envs"] == 200
    assert read_npz(RunLayout(tmp_path / "gpu").evaluations)["timesteps"].tolist() == [
        1000, 2000]


def test_auto_n_envs_divides_the_total():
    assert production_config("p").resolved("cpu").n_envs == 8
    assert production_config("p", total_timesteps=12_345).resolved("cpu").n_envs == 5
    assert production_config("p").resolved("cuda").n_envs == 200
    assert TrainingConfig.build(experiment_name="s", mode="sanity").resolved("cuda").n_envs == 1
    given = production_config("p", n_envs=3, dqn_hyperparams={"batch_size": 64})
    assert given.resolved("cuda").n_envs == 3
    assert given.resolved("cuda").dqn_hyperparams.batch_size == 64


# ---------------------------------------------------------------------- batched evaluation
def test_batched_policy_evaluation_equals_one_episode_at_a_time():
    config = EnvConfig.build(scenario="lagos", episode_s=450.0)
    env = VecMonitor(TrafficVecEnv(config, n_envs=1))
    model = _dqn(BatchedDQN, env)
    seeds = [5, 9, 2]
    one, ts_one = run_episodes(config, PolicyController(model), seeds, True)
    batched, ts_batched = run_policy_episodes(config, model, seeds, True, True, max_replicas=2)
    assert one == batched
    np.testing.assert_allclose(ts_one, ts_batched, rtol=1e-12)
