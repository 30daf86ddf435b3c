"""`arz-tui report`: RL runs and the five baselines on the same seeded episodes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arz_tui.cli import main as cli_main
from arz_tui.report.evaluate import BASELINES
from arz_tui.training.train import main as batch_main

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seed group of two tiny runs on riemann and one run on simple."""
    root = tmp_path_factory.mktemp("results")
    common = ["--mode", "sanity", "--timesteps", "60", "--results-dir", str(root),
              "--no-sanity-checks"]
    assert batch_main([*common, "--scenario", "riemann", "--seeds", "0,1", "--jobs", "2",
                       "--name", "grp"]) == 0
    assert batch_main([*common, "--scenario", "simple", "--name", "other"]) == 0
    return root


def test_report_on_a_group(results: Path, capsys) -> None:
    code = cli_main(["report", "grp", "--results-dir", str(results), "--episodes", "2",
                     "--demand", "light,heavy"])
    assert code == 0, capsys.readouterr().err
    out = results / "grp" / "report"
    md = (out / "report.md").read_text()
    data = json.loads((out / "report.json").read_text())
    assert set(data["levels"]) == {"light", "heavy"}
    for level in ("light", "heavy"):
        rows = data["levels"][level]
        assert set(rows) == {"grp", *BASELINES}
        assert rows["grp"]["kind"] == "rl" and rows["grp"]["episodes"] == 4  # 2 runs x 2
        for row in rows.values():
            assert row["mean_delay_s"]["mean"] > 0 and row["throughput_vph"]["mean"] > 0
    for name in ("grp (RL)", *BASELINES):
        assert f"| {name}" in md or f"| **{name}" in md
    assert "## Demand: light" in md and "## Demand: heavy" in md
    for png in ("learning_curves.png", "bars_mean_delay_s.png", "bars_mean_queue_veh.png",
                "bars_throughput_vph.png"):
        assert (out / png).read_bytes()[:8] == PNG
        assert f"]({png})" in md
    assert data["learning_curves"]["grp"][-1]["n"] == 2


def test_report_errors_are_one_line(results: Path, capsys) -> None:
    assert cli_main(["report", "nowhere", "--results-dir", str(results)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nowhere" in err
    assert cli_main(["report", "grp", "other", "--results-dir", str(results)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "scenario" in err
    assert cli_main(["report", "grp", "--demand", "rush", "--results-dir", str(results)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--demand" in err
