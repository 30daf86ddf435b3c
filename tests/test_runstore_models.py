"""Loading never executes code: crafted pickles in model zips and replay buffers are refused
or never unpickled, and SB3's save format is the one runstore.models was written against."""

from __future__ import annotations

import base64
import inspect
import io
import json
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from arz_tui.errors import ArzError
from arz_tui.runstore.files import Unreadable
from arz_tui.runstore.models import (
    SB3_TESTED,
    SERIALIZED_KEYS,
    UnsafeFile,
    buffer_bytes,
    load_buffer,
    load_model,
    model_bytes,
    saved_data,
    serialized_keys,
)

ROOT = Path(__file__).resolve().parent.parent


class Payload:
    """Unpickling this creates the file `target`: proof that code ran."""

    def __init__(self, target: Path) -> None:
        self.target = str(target)

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def _env():
    from arz_tui.env import EnvConfig, TrafficSignalEnv

    return TrafficSignalEnv(EnvConfig.build(scenario="riemann"))


def _model(env):
    from stable_baselines3 import DQN

    return DQN("MlpPolicy", env, buffer_size=100, learning_starts=10,
               policy_kwargs={"net_arch": [8]}, device="cpu")


def _rewrite(zip_bytes: bytes, replace: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, replace.get(info.filename, src.read(info.filename)))
        for name, data in replace.items():
            if name not in src.namelist():
                dst.writestr(name, data)
    return out.getvalue()


def _serialized(obj: object) -> dict[str, str]:
    return {":type:": "<class 'x'>",
            ":serialized:": base64.b64encode(pickle.dumps(obj)).decode()}


def test_sb3_save_format_is_the_one_we_checked() -> None:
    """Fails loudly when an SB3 upgrade changes what a DQN zip pickles or how weights load."""
    import stable_baselines3
    from stable_baselines3.common import save_util

    version = tuple(int(p) for p in stable_baselines3.__version__.split(".")[:2])
    assert SB3_TESTED[0] <= version < SB3_TESTED[1], stable_baselines3.__version__
    env = _env()
    data = json.loads(zipfile.ZipFile(io.BytesIO(model_bytes(_model(env)))).read("data"))
    assert serialized_keys(data) <= SERIALIZED_KEYS, serialized_keys(data) - SERIALIZED_KEYS
    source = inspect.getsource(save_util.load_from_zip_file)
    assert "weights_only=True" in source
    assert "custom_objects" in inspect.getsource(save_util.json_to_data)


def test_pickled_entries_of_a_model_zip_are_never_unpickled(tmp_path: Path) -> None:
    env = _env()
    marker = tmp_path / "ran"
    good = model_bytes(_model(env))
    data = json.loads(zipfile.ZipFile(io.BytesIO(good)).read("data"))
    for key in ("policy_class", "lr_schedule", "observation_space", "_last_obs"):
        data[key] = _serialized(Payload(marker))
    path = tmp_path / "crafted.zip"
    path.write_bytes(_rewrite(good, {"data": json.dumps(data).encode()}))
    model = load_model(path, env)  # every known entry is rebuilt, none unpickled
    assert not marker.exists()
    assert model.observation_space == env.observation_space

    data["surprise"] = _serialized(Payload(marker))
    path.write_bytes(_rewrite(good, {"data": json.dumps(data).encode()}))
    with pytest.raises(UnsafeFile, match="surprise"):
        load_model(path, env)
    assert not marker.exists()


def test_crafted_weights_are_refused(tmp_path: Path) -> None:
    env = _env()
    marker = tmp_path / "ran"
    good = model_bytes(_model(env))
    path = tmp_path / "weights.zip"
    path.write_bytes(_rewrite(good, {"policy.pth": pickle.dumps(Payload(marker))}))
    with pytest.raises(ArzError):
        load_model(path, env)
    assert not marker.exists()


def test_replay_buffer_round_trip_and_refusals(tmp_path: Path) -> None:
    import numpy as np

    env = _env()
    model = _model(env)
    model.learn(30)
    path = tmp_path / "buf.npz"
    path.write_bytes(buffer_bytes(model.replay_buffer))
    fresh = _model(env)
    load_buffer(path, fresh.replay_buffer)
    assert fresh.replay_buffer.pos == model.replay_buffer.pos
    np.testing.assert_array_equal(fresh.replay_buffer.observations,
                                  model.replay_buffer.observations)
    marker = tmp_path / "ran"
    legacy = tmp_path / "replay_buffer_10_steps.pkl"
    legacy.write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(UnsafeFile):
        load_buffer(legacy, fresh.replay_buffer)
    objects = tmp_path / "objects.npz"
    np.savez(objects, observations=np.array([Payload(marker)], dtype=object))
    with pytest.raises(Unreadable, match="Python objects"):
        load_buffer(objects, fresh.replay_buffer)
    assert not marker.exists()
    with pytest.raises(Unreadable):
        saved_data(tmp_path / "buf.npz")


@pytest.mark.slow
def test_crafted_pickles_in_a_run_never_run_on_resume_or_report(tmp_path: Path) -> None:
    results = tmp_path / "r"
    marker = tmp_path / "ran"
    common = ["--mode", "sanity", "--scenario", "riemann", "--results-dir", str(results),
              "--no-sanity-checks"]
    train = [sys.executable, "-m", "arz_tui.training.train"]
    assert subprocess.run([*train, *common, "--name", "p", "--timesteps", "60"], cwd=ROOT,
                          capture_output=True, timeout=300).returncode == 0
    run = results / "p"
    evil = pickle.dumps(Payload(marker))
    # An old-style pickled buffer next to every checkpoint, a crafted final and best model.
    for model in (run / "checkpoints" / "latest").glob("dqn_checkpoint_*_steps.zip"):
        steps = model.name.split("_")[2]
        (model.parent / f"replay_buffer_{steps}_steps.pkl").write_bytes(evil)
    for model in (run / "checkpoints" / "dqn_model_final.zip",
                  run / "checkpoints" / "best" / "best_model.zip"):
        data = json.loads(zipfile.ZipFile(model).read("data"))
        data["policy_class"] = _serialized(Payload(marker))
        data["unknown_thing"] = _serialized(Payload(marker))
        model.write_bytes(_rewrite(model.read_bytes(), {"data": json.dumps(data).encode()}))
    resumed = subprocess.run([*train, *common, "--name", "p", "--timesteps", "120", "--resume"],
                             cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    report = subprocess.run([sys.executable, "-m", "arz_tui.report.cli", "p", "--results-dir",
                             str(results), "--episodes", "1", "--demand", "light",
                             "--model", "final"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    # The resume rewrote the final model (clean); the crafted best model is refused.
    report_best = subprocess.run([sys.executable, "-m", "arz_tui.report.cli", "p",
                                  "--results-dir", str(results), "--episodes", "1",
                                  "--demand", "light"], cwd=ROOT, capture_output=True,
                                 text=True, timeout=300)
    assert report.returncode == 0, report.stderr[-2000:]
    assert not marker.exists()
    assert report_best.returncode in (0, 2), report_best.stderr[-2000:]
    if report_best.returncode == 2:
        assert report_best.stderr.count("\n") == 1 and "unpickling" in report_best.stderr
    assert not marker.exists()


@pytest.mark.slow
def test_a_run_of_an_older_version_resumes_from_its_model_without_its_pickles(
        tmp_path: Path) -> None:
    """No manifests, pickled replay buffers (crafted here): the newest model zip is used, the
    pickles are never opened, and the log says training goes on with an empty buffer."""
    from arz_tui.runstore import RunLayout
    from arz_tui.runstore.events import read_events

    results = tmp_path / "r"
    marker = tmp_path / "ran"
    common = ["--mode", "sanity", "--scenario", "riemann", "--results-dir", str(results),
              "--no-sanity-checks", "--name", "old"]
    train = [sys.executable, "-m", "arz_tui.training.train"]
    assert subprocess.run([*train, *common, "--timesteps", "60"], cwd=ROOT,
                          capture_output=True, timeout=300).returncode == 0
    lay = RunLayout(results / "old")
    for path in [*lay.latest.glob("*.json"), *lay.latest.glob("*.npz"), lay.final_manifest,
                 lay.final_buffer, lay.lock]:
        path.unlink()
    for model in lay.latest.glob("dqn_checkpoint_*_steps.zip"):
        steps = model.name.split("_")[2]
        (lay.latest / f"replay_buffer_{steps}_steps.pkl").write_bytes(
            pickle.dumps(Payload(marker)))
    resumed = subprocess.run([*train, *common, "--timesteps", "120", "--resume"], cwd=ROOT,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert not marker.exists()
    logs = [e.data.get("message", "") for e in read_events(lay.metrics) if e.kind == "log"]
    assert any("older version" in m and "empty replay buffer" in m for m in logs), logs
    starts = [e for e in read_events(lay.metrics) if e.kind == "run_started"]
    assert starts[-1].data["resumed_from"] == 60
