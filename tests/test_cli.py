"""`arz-tui --help` lists every command; training flags without a command get a helpful line."""

from __future__ import annotations

import pytest

from arz_tui.cli import COMMANDS, main


def test_help_lists_every_command_and_what_it_does(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for name in ("run", "report", "tune", "import", "serve"):
        assert f"    {name} " in out, name
    words = " ".join(out.split())  # wrapping depends on the terminal's width
    assert "--batch" in words and "same as the run command" in words
    for what in ("seed group", "five baselines", "optuna", "SUMO network", "web browser"):
        assert what in words, what
    assert set(COMMANDS) == {"run", "report", "tune", "import", "serve"}


def test_a_training_flag_without_a_command_says_how(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--mode", "quick"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "--mode is a training flag" in err and "arz-tui run --mode quick" in err
    assert "invalid choice" not in err and "Traceback" not in err


@pytest.mark.parametrize("prog, argv", [("arz-tui run", ["run"]),
                                        ("arz-tui --batch", ["--batch"])])
def test_run_is_batch(prog: str, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: {prog}") and "--seeds" in out and "--max-hours" in out


def test_timesteps_zero_is_rejected_naming_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--timesteps", "0"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--timesteps" in err and ">= 1" in err and len(err.strip().splitlines()) == 1


def test_unknown_command_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["bogus"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "'run', 'report', 'tune', 'import', 'serve'" in err
