"""Multi-seed runs: parallel seed processes, ordinary run folders and the aggregate."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from arz_tui.runstore import RunLayout
from arz_tui.training.sweep import mean_ci, parse_seeds
from arz_tui.training.train import _member_args
from arz_tui.training.train import main as batch_main


def test_parse_seeds() -> None:
    assert parse_seeds("0,1,2") == [0, 1, 2]
    assert parse_seeds("3-5,1") == [1, 3, 4, 5]
    # A repeated seed, a single seed (no interval) and a typo'd range are refused.
    for bad in ("", "a", "5-3", "-1", "2,2", "0,0", "7", "0-100000"):
        with pytest.raises(ValueError):
            parse_seeds(bad)


def test_mean_ci_matches_student_t() -> None:
    m, h = mean_ci([1.0, 2.0, 3.0])
    assert m == 2.0
    assert h == pytest.approx(4.303 * 1.0 / math.sqrt(3), rel=1e-3)
    assert mean_ci([5.0]) == (5.0, 0.0)
    assert all(math.isnan(x) for x in mean_ci([]))


def test_member_args_drop_what_the_sweep_sets() -> None:
    argv = ["--mode", "quick", "--seeds", "0,1", "--jobs=2", "--name", "g", "--seed", "4",
            "--scenario", "riemann", "--events-stdout"]
    assert _member_args(argv) == ["--mode", "quick", "--scenario", "riemann"]


def test_two_seeds_in_parallel_make_two_runs_and_an_aggregate(tmp_path: Path, capsys) -> None:
    code = batch_main(["--mode", "sanity", "--scenario", "riemann", "--timesteps", "60",
                       "--seeds", "0,1", "--jobs", "2", "--name", "grp", "--results-dir",
                       str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    for seed in (0, 1):
        lay = RunLayout(tmp_path / f"grp_s{seed}")
        assert lay.final_model.is_file() and lay.summary.is_file()
        saved = json.loads(lay.config.read_text())
        assert saved["training"]["seed"] == seed
    agg = json.loads((tmp_path / "grp" / "aggregate.json").read_text())
    assert agg["finished"] == ["grp_s0", "grp_s1"] and agg["missing"] == []
    delay = agg["metrics"]["rl"]["mean_delay_s"]
    assert delay["n"] == 2 and delay["ci95"] >= 0
    assert agg["metrics"]["fixed_time"]["mean_delay_s"]["n"] == 2
    assert agg["eval_curve"] and all(p["n"] == 2 for p in agg["eval_curve"])
    assert json.loads((tmp_path / "grp" / "group.json").read_text())["members"] == [
        "grp_s0", "grp_s1"]
    assert "95% interval over 2 seeds" in out


def test_bad_seeds_flag_is_one_line(tmp_path: Path, capsys) -> None:
    assert batch_main(["--seeds", "x", "--results-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--seeds" in err


@pytest.mark.slow
def test_killed_sweep_parent_takes_its_children_and_marks_the_group(tmp_path: Path) -> None:
    """SIGKILL of the --seeds parent: the kernel stops its children (PR_SET_PDEATHSIG, each
    saves a checkpoint on the SIGTERM), and the group reads as incomplete."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from arz_tui.runstore.claim import lock_holder
    from arz_tui.runstore.reader import group_status, read_group, read_run_info
    from arz_tui.runstore.records import GroupStatus

    parent = subprocess.Popen([sys.executable, "-m", "arz_tui.training.train", "--mode", "quick",
                               "--scenario", "riemann", "--no-sanity-checks", "--timesteps",
                               "200000", "--seeds", "0,1", "--jobs", "2", "--name", "grp",
                               "--results-dir", str(tmp_path)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    members = [tmp_path / "grp_s0", tmp_path / "grp_s1"]
    deadline = time.time() + 120
    holders: list[int | None] = [None, None]
    while time.time() < deadline:
        holders = [lock_holder(m) for m in members]
        if all(h and h > 0 for h in holders):
            break
        time.sleep(0.2)
    else:
        parent.kill()
        pytest.fail("the seeds did not start")
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=30)

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"

    deadline = time.time() + 120
    while time.time() < deadline and any(alive(h) for h in holders if h):
        time.sleep(0.2)
    assert not any(alive(h) for h in holders if h), "children outlived the sweep"
    marker = read_group(tmp_path / "grp")
    assert marker is not None and group_status(marker) == GroupStatus.INCOMPLETE
    assert read_run_info(tmp_path / "grp", tmp_path).status == "group"
    for member in members:  # stopped politely: interrupted, resumable
        assert read_run_info(member, tmp_path).status == "interrupted"
