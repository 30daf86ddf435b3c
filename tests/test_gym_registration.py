"""`import arz_tui` registers arz_tui/TrafficSignal-v0 without loading Gymnasium itself, and
the env trains under rl-zoo3 (`--gym-packages arz_tui`) when rl-zoo3 is installed."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def _python(code: str, cwd: Path | None = None, timeout: float = 300) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip()


def test_import_arz_tui_does_not_load_gymnasium_or_the_simulator() -> None:
    out = _python("import sys, arz_tui; print(sorted({m.split('.')[0] for m in sys.modules} & "
                  "{'gymnasium', 'numba', 'torch', 'sim'}))")
    assert out == "[]"


def test_gym_make_with_the_module_prefix() -> None:
    out = _python("import gymnasium as gym\n"
                  "env = gym.make('arz_tui:arz_tui/TrafficSignal-v0')\n"
                  "obs, _ = env.reset(seed=0)\n"
                  "obs, reward, *_ = env.step(env.action_space.sample())\n"
                  "print(type(env.unwrapped).__name__, env.observation_space.contains(obs))")
    assert out == "TrafficSignalEnv True"


def test_registered_when_gymnasium_is_imported_after_arz_tui() -> None:
    out = _python("import arz_tui, gymnasium as gym\n"
                  "spec = gym.spec('arz_tui/TrafficSignal-v0')\n"
                  "print(spec.entry_point)")
    assert out == "arz_tui.env.traffic_env:TrafficSignalEnv"


def test_registered_when_gymnasium_was_imported_first() -> None:
    out = _python("import gymnasium as gym, arz_tui\n"
                  "print(gym.spec('arz_tui/TrafficSignal-v0').entry_point)")
    assert out == "arz_tui.env.traffic_env:TrafficSignalEnv"


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("rl_zoo3") is None,
                    reason="rl-zoo3 is not installed (pip install -e '.[dev]')")
def test_rl_zoo3_trains_the_env(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "rl_zoo3.train", "--algo", "dqn", "--env",
         "arz_tui/TrafficSignal-v0", "--gym-packages", "arz_tui", "--conf-file",
         str(FIXTURES / "rl_zoo3_dqn.yml"), "-n", "300", "--eval-freq", "-1", "--seed", "0",
         "--device", "cpu", "--log-folder", str(tmp_path / "logs")],
        capture_output=True, text=True, timeout=600, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    models = list((tmp_path / "logs" / "dqn").glob("*/arz_tui-TrafficSignal-v0.zip"))
    assert len(models) == 1 and models[0].stat().st_size > 0
    monitor = next((tmp_path / "logs" / "dqn").glob("*/0.monitor.csv")).read_text()
    assert len(monitor.splitlines()) > 2  # at least one finished episode was logged
