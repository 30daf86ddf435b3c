"""The network map writer in training: frames of replica 0 as the env measured them, under
joint and per-signal control, and a resumed run continuing the stream without duplicates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from stable_baselines3 import DQN
from stable_baselines3.common.vec_env import VecMonitor

from arz_tui.env import EnvConfig
from arz_tui.env.signal_vec_env import SignalVecEnv
from arz_tui.env.vec_env import TrafficVecEnv
from arz_tui.runstore import RunLayout
from arz_tui.runstore.netstate import read_stream
from arz_tui.training.events import EventBus
from arz_tui.training.netstate_log import NetStateCallback, network_frame, network_header
from arz_tui.training.train import main as batch_main

GRID = "grid:2x2?phases=2"


class _Recorder(NetStateCallback):
    """Keeps what the env held at each frame, to compare with what was written."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.expected: list = []

    def _on_step(self) -> bool:
        before = self.writer.frames
        ok = super()._on_step()
        if self.writer.frames > before:
            self.expected.append(network_frame(self._env, self.num_timesteps))
        return ok


@pytest.mark.parametrize("per_signal", [False, True], ids=["joint", "per-signal"])
def test_frames_are_replica_0_as_measured(tmp_path: Path, per_signal: bool):
    config = EnvConfig.build(scenario=GRID, episode_s=120.0)
    vec = (SignalVecEnv(config, n_replicas=2) if per_signal
           else TrafficVecEnv(config, n_envs=2))
    model = DQN("MlpPolicy", VecMonitor(vec), learning_starts=10_000, seed=0, device="cpu")
    layout = RunLayout(tmp_path / "run")
    callback = _Recorder(layout, EventBus(), every=3, max_fps=1e9)
    model.learn(60 * vec.num_envs, callback=callback)
    stream = read_stream(layout.netstate, layout.root)
    assert stream.skipped == 0 and stream.header.same_map(network_header(vec.envs[0]))
    assert stream.header.stride == 3 * vec.num_envs
    assert [f.model_dump() for f in stream.frames] == [f.model_dump() for f in callback.expected]
    steps = [f.step for f in stream.frames]
    assert steps[0] == vec.num_envs and set(np.diff(steps)) == {3 * vec.num_envs}
    assert len(steps) == 20
    # Queues form and show in the frames: some link is partly full, some signal has a queue.
    assert max(max(f.occupancy) for f in stream.frames) > 50
    assert max(max(f.queue_veh) for f in stream.frames) > 0
    # Frames follow the decisions of an episode (120 s = 8 decisions of 15 s; autoreset).
    assert {f.t_s for f in stream.frames} <= {15.0 * k for k in range(9)}


def test_a_resumed_run_continues_the_stream(tmp_path: Path):
    args = ["--name", "g", "--results-dir", str(tmp_path / "r"), "--scenario", GRID,
            "--mode", "sanity", "--no-sanity-checks", "--control", "per-signal",
            "--n-envs", "1"]
    assert batch_main([*args, "--timesteps", "96"]) == 0
    layout = RunLayout(tmp_path / "r" / "g")
    first = read_stream(layout.netstate, layout.root)
    assert len(first.header.signals) == 4 and first.frames  # the first frame comes at once
    assert all(0 < f.step <= 96 for f in first.frames)
    assert batch_main([*args, "--timesteps", "192", "--resume"]) == 0
    after = read_stream(layout.netstate, layout.root)
    steps = [f.step for f in after.frames]
    assert steps[:len(first.frames)] == [f.step for f in first.frames]
    assert len(steps) > len(first.frames) and steps == sorted(set(steps))
    assert steps[-1] <= 192 and after.skipped == 0
