"""Replay-buffer chains: a snapshot then deltas rebuild the buffer exactly at every checkpoint
(ring wrap-around included), rotation keeps what the kept manifests list plus one checkpoint
of an earlier chain, and a hostile delta is refused with one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gymnasium import spaces
from stable_baselines3.common.buffers import ReplayBuffer

from arz_tui.runstore import RunLayout
from arz_tui.runstore.atomic import npz_bytes, write_bytes_atomic
from arz_tui.runstore.checkpoints import BufferChain, candidates, choose, rotate, write_manifest
from arz_tui.runstore.files import Unreadable
from arz_tui.runstore.models import BUFFER_DELTA_FORMAT, load_buffer_chain

N_ENVS = 2
SIZE = 40  # transitions: a ring of 20 rows of 2 envs


def _buffer() -> ReplayBuffer:
    return ReplayBuffer(SIZE, spaces.Box(-1, 1, (3,), np.float32), spaces.Discrete(4),
                        n_envs=N_ENVS)


def _add(buffer: ReplayBuffer, rng: np.random.Generator, rows: int) -> None:
    for _ in range(rows):
        buffer.add(rng.normal(size=(N_ENVS, 3)), rng.normal(size=(N_ENVS, 3)),
                   rng.integers(4, size=(N_ENVS, 1)), rng.normal(size=N_ENVS),
                   rng.random(N_ENVS) < 0.2, [{}] * N_ENVS)


def _checkpoint(layout: RunLayout, chain: BufferChain, buffer: ReplayBuffer,
                steps: int) -> None:
    path, data = chain.next_file(buffer, steps, N_ENVS)
    write_bytes_atomic(path, data)
    model = (layout.checkpoint_model(steps), b"model")
    write_bytes_atomic(*model)
    write_manifest(layout.checkpoint_manifest(steps), steps, [(path, data), model], chain,
                   list(chain.names))


def _same(a: ReplayBuffer, b: ReplayBuffer) -> None:
    assert (a.pos, a.full) == (b.pos, b.full)
    n = a.buffer_size if a.full else a.pos
    for name in ("observations", "next_observations", "actions", "rewards", "dones",
                 "timeouts"):
        np.testing.assert_array_equal(getattr(a, name)[:n], getattr(b, name)[:n])


def test_snapshot_then_deltas_rebuild_the_buffer_at_every_checkpoint(tmp_path: Path) -> None:
    layout = RunLayout(tmp_path / "run")
    layout.create()
    chain = BufferChain(layout, max_deltas=3)
    live, rng, steps = _buffer(), np.random.default_rng(0), 0
    kinds = []
    for rows in (3, 4, 7, 9, 6, 2, 5, 8, 1, 15, 3):  # wraps the 20-row ring several times
        _add(live, rng, rows)
        steps += rows * N_ENVS
        _checkpoint(layout, chain, live, steps)
        kinds.append("delta" if chain.names[-1].endswith("_delta.npz") else "full")
        newest = candidates(layout)[0]
        assert newest.steps == steps
        fresh = _buffer()
        load_buffer_chain(list(newest.buffers), fresh, layout.root)
        _same(live, fresh)
    # The first is a snapshot; at most 3 deltas follow one; a jump of 15 rows (>= half the
    # ring) is a snapshot again.
    assert kinds == ["full", "delta", "delta", "delta", "full", "delta", "delta", "delta",
                     "full", "full", "delta"]
    assert live.full


def test_rotation_keeps_listed_files_and_one_earlier_chain(tmp_path: Path) -> None:
    layout = RunLayout(tmp_path / "run")
    layout.create()
    chain = BufferChain(layout, max_deltas=2)
    live, rng, steps = _buffer(), np.random.default_rng(1), 0
    for _ in range(7):
        _add(live, rng, 2)
        steps += 2 * N_ENVS
        _checkpoint(layout, chain, live, steps)
        rotate(layout, keep=2)
    # Chains: [4 8 12] [16 20 24] [28]: kept 28 and 24, and 24's chain differs from 28's.
    kept = [c.steps for c in candidates(layout)]
    assert kept == [28, 24]
    names = sorted(p.name for p in layout.latest.iterdir())
    assert names == sorted([
        "checkpoint_24.json", "checkpoint_28.json", "dqn_checkpoint_24_steps.zip",
        "dqn_checkpoint_28_steps.zip", "replay_buffer_16_steps.npz",
        "replay_buffer_20_steps_delta.npz", "replay_buffer_24_steps_delta.npz",
        "replay_buffer_28_steps.npz"])
    # A damaged snapshot of the newest chain: resume falls back to the earlier chain.
    snapshot = layout.checkpoint_buffer(28)
    snapshot.write_bytes(snapshot.read_bytes()[:50])
    found, skipped = choose(layout, need_buffer=True)
    assert found is not None and found.steps == 24 and "step 28 skipped" in skipped[0]
    fresh = _buffer()
    load_buffer_chain(list(found.buffers), fresh, layout.root)
    assert fresh.pos == (24 // N_ENVS) % (SIZE // N_ENVS)


def _delta(path: Path, rows: np.ndarray, **override: object) -> None:
    arrays = {"format": np.array(BUFFER_DELTA_FORMAT), "rows": rows, "pos": np.array(1),
              "full": np.array(False), "buffer_size": np.array(SIZE // N_ENVS),
              "observations": np.zeros((len(rows), N_ENVS, 3), np.float32),
              "next_observations": np.zeros((len(rows), N_ENVS, 3), np.float32),
              "actions": np.zeros((len(rows), N_ENVS, 1), np.int64),
              "rewards": np.zeros((len(rows), N_ENVS), np.float32),
              "dones": np.zeros((len(rows), N_ENVS), np.float32),
              "timeouts": np.zeros((len(rows), N_ENVS), np.float32)}
    arrays.update(override)  # type: ignore[arg-type]
    path.write_bytes(npz_bytes(**arrays))


@pytest.mark.parametrize(("rows", "override", "message"), [
    (np.array([0, 99]), {}, "row indices"),
    (np.array([0.5]), {}, "row indices"),
    (np.array([0, 1]), {"rewards": np.zeros((3, N_ENVS), np.float32)}, "rewards has shape"),
    (np.array([0]), {"format": np.array(1)}, "format 1 where 2"),
    (np.array([0]), {"buffer_size": np.array(7)}, "does not fit"),
])
def test_hostile_delta_is_refused(tmp_path: Path, rows: np.ndarray, override: dict,
                                  message: str) -> None:
    layout = RunLayout(tmp_path / "run")
    layout.create()
    live = _buffer()
    _add(live, np.random.default_rng(2), 3)
    chain = BufferChain(layout)
    path, data = chain.next_file(live, 6, N_ENVS)
    write_bytes_atomic(path, data)
    bad = layout.checkpoint_buffer_delta(8)
    _delta(bad, rows, **override)
    with pytest.raises(Unreadable, match=message):
        load_buffer_chain([path, bad], _buffer(), layout.root)
