"""Crash safety of the run store: SIGKILL at every phase then --resume, corrupt checkpoints,
two processes on one run name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from arz_tui.runstore import RunLayout
from arz_tui.runstore.checkpoints import candidates
from arz_tui.runstore.events import read_events
from arz_tui.runstore.files import read_json, read_npz

ROOT = Path(__file__).resolve().parent.parent
KILL_AT = ROOT / "tests" / "helpers" / "kill_at.py"
CLI = [sys.executable, "-m", "arz_tui.training.train"]
TOTAL = 600

CONFIG = """\
mode: quick
total_timesteps: 600
seed: 1
dqn_hyperparams: {learning_starts: 100, buffer_size: 2000, target_update_interval: 100}
checkpoint_strategy: {save_freq: 200, max_checkpoints: 2}
evaluation_strategy: {eval_freq: 200, n_eval_episodes: 1}
"""

PHASES = ("before_first_checkpoint", "during_checkpoint_write", "during_evaluation",
          "after_last_checkpoint", "during_exit")


def _args(tmp_path: Path, name: str) -> list[str]:
    config = tmp_path / "cfg.yaml"
    config.write_text(CONFIG)
    return ["--scenario", "riemann", "--name", name, "--results-dir", str(tmp_path / "r"),
            "--config", str(config), "--no-sanity-checks"]


def assert_complete(lay: RunLayout, total: int = TOTAL) -> None:
    """A finished run at exactly `total` steps, with one consistent timeline."""
    assert read_json(lay.summary)["step"] == total
    assert read_json(lay.final_manifest)["steps"] == total
    assert lay.final_model.is_file() and lay.final_buffer.is_file()
    buffer = read_npz(lay.final_buffer)  # rows of one transition per environment
    assert int(buffer["pos"]) * buffer["observations"].shape[1] == total
    events = read_events(lay.metrics)
    assert events[-1].kind == "run_finished" and events[-1].step == total
    steps = list(read_npz(lay.evaluations)["timesteps"])
    assert steps == sorted(set(steps)) and steps[-1] <= total, steps  # no repeated steps
    assert not list(lay.root.rglob("*.tmp"))


@pytest.mark.slow
@pytest.mark.parametrize("phase", PHASES)
def test_sigkill_at_each_phase_then_resume_completes(phase: str, tmp_path: Path) -> None:
    args = _args(tmp_path, "k")
    killed = subprocess.run([sys.executable, str(KILL_AT), phase, *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9, killed.stderr[-2000:]
    resumed = subprocess.run([*CLI, *args, "--resume"], cwd=ROOT, capture_output=True,
                             text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert_complete(RunLayout(tmp_path / "r" / "k"))


@pytest.mark.slow
def test_corrupt_newest_checkpoint_resumes_from_the_older(tmp_path: Path) -> None:
    args = _args(tmp_path, "c")
    killed = subprocess.run([sys.executable, str(KILL_AT), "after_last_checkpoint", *args],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9
    lay = RunLayout(tmp_path / "r" / "c")
    newest = candidates(lay)[0]
    assert newest.steps == TOTAL and newest.buffer is not None
    buffer = newest.buffer  # its own file: rows since the previous checkpoint (a delta)
    buffer.write_bytes(buffer.read_bytes()[:100])  # truncated newest buffer
    model = lay.checkpoint_model(400)
    model.write_bytes(b"\0" * model.stat().st_size)  # and a zeroed older model: both skipped
    resumed = subprocess.run([*CLI, *args, "--resume"], cwd=ROOT, capture_output=True,
                             text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    logs = [e.data.get("message", "") for e in read_events(lay.metrics) if e.kind == "log"]
    assert any("step 600 skipped" in m for m in logs), logs
    assert any("step 400 skipped" in m for m in logs), logs
    assert_complete(lay)


@pytest.mark.slow
def test_truncated_evaluations_and_torn_metrics_never_block(tmp_path: Path) -> None:
    args = _args(tmp_path, "t")
    subprocess.run([sys.executable, str(KILL_AT), "during_evaluation", *args], cwd=ROOT,
                   capture_output=True, timeout=300)
    lay = RunLayout(tmp_path / "r" / "t")
    lay.evaluations.write_bytes(lay.evaluations.read_bytes()[:50])
    with open(lay.metrics, "a") as fh:
        fh.write('{"kind": "progress", "step": 39')  # a line cut by the kill
    resumed = subprocess.run([*CLI, *args, "--resume"], cwd=ROOT, capture_output=True,
                             text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    text = lay.metrics.read_text()
    assert '"step": 39{' not in text  # the next event is not glued to the torn line
    assert_complete(lay)


def _start(cmd: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)


@pytest.mark.slow
def test_two_runs_of_one_name_give_one_run_and_one_error_line(tmp_path: Path) -> None:
    args = _args(tmp_path, "same")
    procs = [_start([*CLI, *args]) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read() if p.stderr else "") for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    err = next(e for code, e in results if code == 2)
    assert err.count("\n") == 1, err
    assert "in use by process" in err or "already exists" in err
    assert_complete(RunLayout(tmp_path / "r" / "same"))


@pytest.mark.slow
def test_two_resumes_give_one_run_and_one_error_line(tmp_path: Path) -> None:
    args = _args(tmp_path, "twice")
    subprocess.run([sys.executable, str(KILL_AT), "during_checkpoint_write", *args], cwd=ROOT,
                   capture_output=True, timeout=300)
    procs = [_start([*CLI, *args, "--resume"]) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read() if p.stderr else "") for p in procs]
    codes = sorted(code for code, _ in results)
    err = next((e for code, e in results if code == 2), "")
    # Either the second resume meets the first one's lock (names its pid), or it starts
    # after the first finished and finds nothing to do.
    assert codes == [0, 2], results
    assert err.count("\n") == 1 and ("in use by process" in err or "has finished" in err), err
    assert_complete(RunLayout(tmp_path / "r" / "twice"))


def test_a_live_run_is_refused_with_the_holders_pid(tmp_path: Path) -> None:
    from arz_tui.runstore.claim import RunBusy, claim_existing, claim_new, lock_holder

    lay = RunLayout(tmp_path / "held")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from arz_tui.runstore import RunLayout, claim_new; "
        f"c = claim_new(RunLayout({str(lay.root)!r})); print('ok', flush=True); "
        "time.sleep(60)")], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        assert lock_holder(lay.root) == holder.pid
        with pytest.raises(RunBusy, match=f"in use by process {holder.pid}"):
            claim_existing(lay)
        with pytest.raises(RunBusy, match=f"in use by process {holder.pid}"):
            claim_new(lay)
    finally:
        holder.kill()
        holder.wait()
    claim = claim_existing(lay)  # the dead holder's lock is stale: taken over, and said so
    assert claim.stale_pid == holder.pid
    claim.release()


def test_failed_sanity_check_leaves_results_as_they_were(tmp_path: Path) -> None:
    from arz_tui.training.train import main

    results = tmp_path / "r"
    code = main(["--mode", "sanity", "--scenario", "riemann", "--name", "bad", "--results-dir",
                 str(results), "--config", str(_bad_interval(tmp_path))])
    assert code == 2
    assert not results.exists()  # not even the results folder it had to create


def _bad_interval(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text("sanity_check_config: {expected_interval_s: 999}\n")
    return path


def test_cut_timeline_drops_later_evaluations_and_best(tmp_path: Path) -> None:
    from arz_tui.runstore.atomic import save_npz_atomic, write_json_atomic
    from arz_tui.runstore.checkpoints import best_reward, cut_timeline, read_evaluations

    lay = RunLayout(tmp_path / "run")
    lay.create()
    save_npz_atomic(lay.evaluations, timesteps=np.array([200, 400, 600]),
                    results=np.array([[1.0], [3.0], [2.0]]), ep_lengths=np.ones((3, 1)))
    lay.best_model.write_bytes(b"zip")
    write_json_atomic(lay.best_record, {"step": 400, "mean_reward": 3.0})
    said = cut_timeline(lay, 200)
    assert read_evaluations(lay).timesteps == [200]
    assert not lay.best_model.exists() and best_reward(lay) is None
    assert len(said) == 2
