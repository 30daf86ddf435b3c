"""Checkpoints of a run: which are complete and intact, newest first, and their rotation;
the replay-buffer chain of successive checkpoints; the evaluation history and best model cut
back to a checkpoint's timeline on resume."""

from __future__ import annotations

import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from arz_tui.runstore.atomic import save_npz_atomic, write_json_atomic
from arz_tui.runstore.files import Unreadable, maybe_record, read_npz
from arz_tui.runstore.layout import BUFFER_RE, CHECKPOINT_RE, MANIFEST_RE, RunLayout
from arz_tui.runstore.models import buffer_bytes, buffer_delta_bytes
from arz_tui.runstore.netstate import cut_after
from arz_tui.runstore.records import BestRecord, FileDigest, Manifest


@dataclass(frozen=True)
class Checkpoint:
    steps: int
    model: Path
    buffers: tuple[Path, ...] = ()
    """Replay-buffer files to load in order: a full snapshot, then deltas (none: model only)."""
    manifest: Manifest | None = None

    @property
    def legacy(self) -> bool:
        return self.manifest is None

    @property
    def buffer(self) -> Path | None:
        """The checkpoint's own (newest) replay-buffer file."""
        return self.buffers[-1] if self.buffers else None


MAX_DELTAS = 19
"""Deltas after a full snapshot before the next full one: a resume reads and verifies at
most this many small files after one snapshot."""


class BufferChain:
    """The replay-buffer files of successive checkpoints of one training process.

    The first checkpoint writes a full snapshot of the buffer; each later one only the rows
    written since the previous checkpoint (with save_freq 1,000 and a 50,000-transition
    buffer: ~0.6 MB instead of ~30 MB, and no 30 MB copy in the training thread), up to
    MAX_DELTAS, then a snapshot again. A checkpoint's manifest lists its whole chain with
    digests, so it verifies exactly as a single-file checkpoint does. A new process (a
    resume) starts a new chain.
    """

    def __init__(self, layout: RunLayout, max_deltas: int = MAX_DELTAS) -> None:
        self.layout = layout
        self.max_deltas = max_deltas
        self.names: list[str] = []
        self.digests: dict[str, FileDigest] = {}
        """Filled by `record` (in the writer thread) once each file is written."""
        self._steps = -1
        self._pos = 0
        self._full = False

    def next_file(self, buffer: Any, steps: int, n_envs: int) -> tuple[Path, bytes]:
        """The buffer file of the checkpoint at `steps`: a delta when the rows since the
        previous checkpoint are known and fewer than half the buffer, else a full
        snapshot. The chain (`names`) then ends with it."""
        size = int(buffer.buffer_size)
        added = (steps - self._steps) // max(n_envs, 1) if self._steps >= 0 else -1
        consistent = 0 <= added < size // 2 and (self._pos + added) % size == buffer.pos \
            and (self._full or not buffer.full or self._pos + added >= size)
        if self.names and consistent and len(self.names) <= self.max_deltas:
            rows = (self._pos + np.arange(added, dtype=np.int64)) % size
            path = self.layout.checkpoint_buffer_delta(steps)
            data = buffer_delta_bytes(buffer, rows)
            self.names = [*self.names, path.name]
        else:
            path = self.layout.checkpoint_buffer(steps)
            data = buffer_bytes(buffer)
            self.names = [path.name]
        self._steps, self._pos, self._full = steps, int(buffer.pos), bool(buffer.full)
        return path, data

    def earlier(self, names: list[str]) -> list[FileDigest]:
        """Digests of a chain's files before its newest (written by earlier checkpoints)."""
        return [self.digests[n] for n in names[:-1]]

    def record(self, manifest: Manifest) -> None:
        self.digests.update({f.name: f for f in manifest.files})


def checkpoint_files(layout: RunLayout, steps: int, model: bytes,
                     buffer: tuple[Path, bytes] | None) -> list[tuple[Path, bytes]]:
    """(path, bytes) of one checkpoint, buffer first and model last."""
    files = []
    if buffer is not None:
        files.append(buffer)
    files.append((layout.checkpoint_model(steps), model))
    return files


def write_manifest(path: Path, steps: int, files: list[tuple[Path, bytes]],
                   chain: BufferChain | None = None, names: list[str] | None = None
                   ) -> Manifest:
    """Written after the files it lists: its presence marks them complete. With a buffer
    chain it also lists (and records) the earlier files of `names`, the chain as it was when
    this checkpoint was taken (the training thread may have moved it on since)."""
    if chain is None or not names:
        manifest = Manifest.of(steps, files, time.time())
    else:
        manifest = Manifest.of(steps, files, time.time(), earlier=chain.earlier(names),
                               buffer_chain=names)
        chain.record(manifest)
    write_json_atomic(path, manifest)
    return manifest


def _steps_in(layout: RunLayout) -> set[int]:
    try:
        names = [p.name for p in layout.latest.iterdir()]
    except OSError:
        return set()
    return {int(m.group(1)) for n in names if (m := CHECKPOINT_RE.match(n) or MANIFEST_RE.match(n))}


def candidates(layout: RunLayout) -> list[Checkpoint]:
    """Every checkpoint in checkpoints/latest, newest first, unverified: with a manifest, or a
    model zip of an older version without one."""
    found = []
    for steps in sorted(_steps_in(layout), reverse=True):
        manifest = maybe_record(layout.checkpoint_manifest(steps), Manifest, layout.root)
        model = layout.checkpoint_model(steps)
        if manifest is not None:
            found.append(Checkpoint(steps, model, tuple(manifest.buffer_paths(layout.latest)),
                                    manifest))
        elif model.is_file() and not layout.checkpoint_buffer(steps).exists() \
                and not layout.checkpoint_buffer_delta(steps).exists():
            # An older version's checkpoint (ours write the .npz buffer first and the manifest
            # last, so a zip beside an .npz but without manifest is an interrupted write): its
            # model only; its pickled replay buffer is never loaded.
            found.append(Checkpoint(steps, model))
    return found


def problem(ckpt: Checkpoint, need_buffer: bool, hashes: bool = True) -> str | None:
    """Why a checkpoint cannot be resumed from (None when it can)."""
    if ckpt.manifest is not None:
        if ckpt.manifest.steps != ckpt.steps:
            return "its manifest names another step"
        why = ckpt.manifest.problem(ckpt.model.parent, hashes)
        if why:
            return why
        if need_buffer and ckpt.buffer is None:
            return "it has no replay buffer"
        return None
    # An older run without manifests: the zip's own CRCs are the check.
    try:
        with zipfile.ZipFile(ckpt.model) as archive:
            if archive.testzip() is not None:
                return f"{ckpt.model.name} is corrupt"
    except (zipfile.BadZipFile, OSError):
        return f"{ckpt.model.name} is not a readable zip"
    return None


def list_checkpoints(layout: RunLayout, need_buffer: bool = True) -> list[Checkpoint]:
    """Intact checkpoints, oldest first (sizes checked; hashes are checked on resume)."""
    return sorted((c for c in candidates(layout) if problem(c, need_buffer, hashes=False) is None),
                  key=lambda c: c.steps)


def has_checkpoint(layout: RunLayout) -> bool:
    """Whether anything could be resumed or reported (cheap: no hashing)."""
    return bool(_steps_in(layout)) or layout.final_model.is_file()


def choose(layout: RunLayout, need_buffer: bool) -> tuple[Checkpoint | None, list[str]]:
    """The newest checkpoint whose files all verify, and a line for each newer one skipped.

    A checkpoint of an older version (no manifest, a pickled replay buffer) is used for its
    model only, and said so: training goes on with an empty replay buffer."""
    skipped: list[str] = []
    for ckpt in candidates(layout):
        why = problem(ckpt, need_buffer)
        if why is None:
            if ckpt.legacy and need_buffer:
                skipped.append(f"checkpoint at step {ckpt.steps} is of an older version: its "
                               "pickled replay buffer is not loaded (that could run code); "
                               "continuing with an empty replay buffer")
            return ckpt, skipped
        skipped.append(f"checkpoint at step {ckpt.steps} skipped: {why}")
    return None, skipped


def rotate(layout: RunLayout, keep: int) -> None:
    """Keep the newest `keep` checkpoints, and the newest checkpoint whose buffer chain does
    not start at the newest one's snapshot (so a damaged snapshot leaves something to resume
    from). A manifest goes first, so a kill mid-rotation leaves files without a manifest
    (ignored), never a manifest without files; buffer files no kept manifest lists go last."""
    steps = sorted(_steps_in(layout), reverse=True)
    manifests = {s: maybe_record(layout.checkpoint_manifest(s), Manifest, layout.root)
                 for s in steps}

    def base(s: int) -> str | None:
        m = manifests[s]
        return m.buffer_chain[0] if m is not None and m.buffer_chain else None

    kept = set(steps[:keep]) if keep > 0 else set()
    if steps and keep > 0:
        newest_base = base(steps[0])
        other = next((s for s in steps if base(s) != newest_base), None)
        if newest_base is not None and other is not None:
            kept.add(other)
    for old in steps:
        if old in kept:
            continue
        for path in (layout.checkpoint_manifest(old), layout.checkpoint_model(old),
                     layout.legacy_checkpoint_buffer(old)):
            path.unlink(missing_ok=True)
    listed = {f.name for s in kept if (m := manifests.get(s)) is not None for f in m.files}
    newest = steps[0] if steps else -1
    try:
        names = [p.name for p in layout.latest.iterdir()]
    except OSError:
        return
    for name in names:
        match = BUFFER_RE.match(name)
        # Files of a checkpoint newer than every manifest may be one being written.
        if match and name not in listed and int(match.group(1)) <= newest:
            (layout.latest / name).unlink(missing_ok=True)


# ---------------------------------------------------------------------- evaluation history
@dataclass
class EvalHistory:
    timesteps: list[int]
    results: list[list[float]]
    ep_lengths: list[list[int]]

    @property
    def best(self) -> float | None:
        means = [float(np.mean(r)) for r in self.results if len(r)]
        return max(means) if means else None


EMPTY_HISTORY = EvalHistory([], [], [])


def read_evaluations(layout: RunLayout, root: Path | None = None) -> EvalHistory:
    """evaluations.npz, or an empty history (with no error) when missing or corrupt: a
    broken history costs the curve, never the run."""
    try:
        data = read_npz(layout.evaluations, root or layout.root,
                        names=("timesteps", "results", "ep_lengths"))
        steps = data["timesteps"]
        results, lengths = data["results"], data["ep_lengths"]
        if steps.ndim != 1 or results.ndim != 2 or len(results) != len(steps) \
                or not np.all(np.isfinite(results)):
            return EMPTY_HISTORY
        return EvalHistory([int(t) for t in steps], [list(map(float, r)) for r in results],
                           [list(map(int, r)) for r in lengths])
    except (Unreadable, ValueError, TypeError):
        return EMPTY_HISTORY


def cut_timeline(layout: RunLayout, steps: int) -> list[str]:
    """Forget what happened after `steps` (the checkpoint a resume continues from): later
    evaluations, the best model if it was saved later, and the network map's later frames.
    Returns what was cut, in words."""
    said = []
    history = read_evaluations(layout)
    keep = [i for i, t in enumerate(history.timesteps) if t <= steps]
    if len(keep) < len(history.timesteps) or (history is EMPTY_HISTORY
                                              and layout.evaluations.exists()):
        save_npz_atomic(layout.evaluations,
                        timesteps=np.array([history.timesteps[i] for i in keep], dtype=np.int64),
                        results=np.array([history.results[i] for i in keep], dtype=float),
                        ep_lengths=np.array([history.ep_lengths[i] for i in keep], dtype=np.int64))
        said.append(f"evaluations after step {steps} dropped "
                    f"({len(history.timesteps) - len(keep)})" if history is not EMPTY_HISTORY
                    else "unreadable evaluations.npz replaced by an empty history")
    best = maybe_record(layout.best_record, BestRecord, layout.root)
    if layout.best_model.exists() and (best is None or best.step > steps):
        layout.best_model.unlink(missing_ok=True)
        layout.best_record.unlink(missing_ok=True)
        said.append("best model of a later step dropped")
    map_note = cut_after(layout.netstate, steps, layout.root)
    if map_note:
        said.append(map_note)
    return said


def best_reward(layout: RunLayout) -> float | None:
    """The evaluation reward of the best model on disk (None when there is none)."""
    if not layout.best_model.is_file():
        return None
    best = maybe_record(layout.best_record, BestRecord, layout.root)
    return best.mean_reward if best else None
