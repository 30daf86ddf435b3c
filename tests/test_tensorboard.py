"""--tensorboard: one log folder per run whose step axis continues across a resume, and a
one-line error (exit 2) when the tensorboard package is missing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from arz_tui.runstore import RunLayout
from arz_tui.training import tensorboard_log
from arz_tui.training.train import main as batch_main

CONFIG = {
    "mode": "quick", "total_timesteps": 400, "seed": 2, "n_envs": 2,
    "dqn_hyperparams": {"learning_starts": 100, "buffer_size": 2000,
                        "target_update_interval": 100},
    "checkpoint_strategy": {"save_freq": 200, "max_checkpoints": 2},
    "evaluation_strategy": {"eval_freq": 200, "n_eval_episodes": 1},
}


def _args(tmp_path: Path) -> list[str]:
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    return ["--scenario", "riemann", "--name", "tb", "--results-dir", str(tmp_path / "r"),
            "--config", str(path), "--no-sanity-checks", "--tensorboard"]


def _scalars(run_dir: Path, tag: str) -> list[int]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    return [e.step for e in acc.Scalars(tag)]


def test_missing_package_is_one_line_exit_2(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(tensorboard_log, "tensorboard_available", lambda: False)
    code = batch_main(_args(tmp_path))
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "--tensorboard" in err and "pip install" in err
    assert "Traceback" not in err
    assert not (tmp_path / "r" / "tb").exists()  # nothing created


@pytest.mark.slow
def test_resume_continues_the_same_log_and_step_axis(tmp_path: Path, capsys) -> None:
    pytest.importorskip("tensorboard")
    args = _args(tmp_path)
    assert batch_main(args) == 0
    lay = RunLayout(tmp_path / "r" / "tb")
    assert [p.name for p in lay.tensorboard.iterdir()] == ["dqn_1"]
    first = _scalars(lay.tensorboard / "dqn_1", "eval/reward_per_step")
    assert first == [200, 400]

    # Extend the finished run to 800 steps from its saved configuration.
    saved = str(lay.config)
    assert batch_main(["--config", saved, "--resume", "--timesteps", "800",
                       "--results-dir", str(tmp_path / "r")]) == 0
    capsys.readouterr()
    assert [p.name for p in lay.tensorboard.iterdir()] == ["dqn_1"]  # no second run folder
    assert len(list((lay.tensorboard / "dqn_1").glob("events.out.tfevents.*"))) == 2
    steps = _scalars(lay.tensorboard / "dqn_1", "eval/reward_per_step")
    assert steps == [200, 400, 600, 800]  # continues past the checkpoint, never from 0
    # SB3's own scalars follow the same axis.
    assert max(_scalars(lay.tensorboard / "dqn_1", "eval/mean_reward")) == 800


def test_form_and_flag_build_the_same_config(tmp_path: Path) -> None:
    from arz_tui.training.train import build_parser, configs_from_args

    if not tensorboard_log.tensorboard_available():
        pytest.skip("tensorboard not installed")
    args = build_parser().parse_args(_args(tmp_path))
    _, cfg = configs_from_args(args)
    assert cfg.tensorboard is True
    args = build_parser().parse_args(_args(tmp_path)[:-1])
    assert configs_from_args(args)[1].tensorboard is False


async def test_form_box_adds_the_flag_or_says_what_to_install(tmp_path: Path, monkeypatch) -> None:
    from textual.widgets import Checkbox

    from arz_tui.tui import launch
    from arz_tui.tui.app import ArzApp

    monkeypatch.setenv("ARZ_TUI_CUDA", "0")
    async with ArzApp(tmp_path).run_test(size=(140, 45)) as pilot:
        await pilot.pause()
        form = pilot.app.screen
        assert isinstance(form, launch.LaunchScreen)
        args, _ = form._validate()
        assert args is not None and "--tensorboard" not in args
        form.query_one("#tensorboard", Checkbox).value = True
        await pilot.pause()
        monkeypatch.setattr(launch, "tensorboard_available", lambda: True)
        args, text = form._validate()
        assert args is not None and "--tensorboard" in args and "tensorboard       on" in text
        monkeypatch.setattr(launch, "tensorboard_available", lambda: False)
        form._refresh()
        args, _ = form._validate()
        assert args is None and form.query_one("#start").disabled
        assert "not installed" in str(form.query_one("#tensorboard-note").render())
