"""Rewards are compared per decision step: learning curves divide each evaluation's reward
sum by its decision steps, and their 95 % band is only given from three runs up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from arz_tui.report.write import markdown
from arz_tui.runstore import RunLayout
from arz_tui.runstore.atomic import save_npz_atomic
from arz_tui.training.sweep import MIN_RUNS_FOR_INTERVAL, eval_curve


def _run(root: Path, name: str, sums: list[list[float]], lengths: list[list[int]]) -> Path:
    layout = RunLayout(root / name)
    layout.eval.mkdir(parents=True)
    save_npz_atomic(layout.evaluations, timesteps=np.array([100, 200][:len(sums)]),
                    results=np.array(sums), ep_lengths=np.array(lengths))
    return layout.root


def test_curve_is_per_decision_step(tmp_path: Path) -> None:
    # Two episodes of 60 and 40 decisions summing -30 and -10: -40 over 100 steps.
    run = _run(tmp_path, "a", [[-30.0, -10.0], [-6.0, -6.0]], [[60, 40], [60, 60]])
    curve = eval_curve([run])
    assert [p["step"] for p in curve] == [100, 200]
    assert curve[0]["mean"] == pytest.approx(-0.4)
    assert curve[1]["mean"] == pytest.approx(-0.1)
    assert all(p["n"] == 1 and p["ci95"] is None for p in curve)


def test_interval_only_from_three_runs(tmp_path: Path) -> None:
    runs = [_run(tmp_path, f"r{k}", [[-60.0 * (1 + k / 10)]], [[60]]) for k in range(3)]
    two = eval_curve(runs[:2])
    assert two[0]["n"] == 2 and two[0]["ci95"] is None  # t with 1 dof: no band
    three = eval_curve(runs)
    assert MIN_RUNS_FOR_INTERVAL == 3
    per_step = np.array([-1.0, -1.1, -1.2])
    assert three[0]["mean"] == pytest.approx(per_step.mean())
    assert 0 < three[0]["ci95"] < 1  # finite, per-step sized


def test_report_text_says_when_there_is_no_interval(tmp_path: Path) -> None:
    runs = [_run(tmp_path, f"r{k}", [[-60.0]], [[60]]) for k in range(2)]
    results = {"scenario": "riemann", "seeds": [1000, 1001], "levels": {}}
    text = markdown(results, {"grp": eval_curve(runs)}, "arz-tui report grp", [])
    assert "per decision step" in text
    assert "-1.0000 per step (2 runs: too few for an interval)" in text


def test_summary_says_what_each_reward_is() -> None:
    from arz_tui.runstore.records import Summary

    summary = Summary.model_validate({"step": 100, "rl": {"mean_reward": -0.1,
                                                          "episode_reward": -6.0}})
    units = summary.model_dump(mode="json")["units"]
    assert units["mean_reward"].startswith("reward per decision step")
    assert units["episode_reward"] == "reward summed over an episode"
