"""Atomic writes: every file is written to a temporary name in its folder, synced, and renamed
over the target, so a kill at any moment leaves either the old or the new version."""

from __future__ import annotations

import io
import json
import math
import os
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from arz_tui.runstore.layout import TMP_SUFFIX


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}{TMP_SUFFIX}")


def write_bytes_atomic(path: Path, data: bytes | memoryview) -> None:
    """Write to a temporary file, fsync, then rename over `path` (atomic on POSIX)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def json_text(data: Any) -> str:
    """Indented JSON; numpy scalars/arrays and paths become plain values, NaN/inf null."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    return json.dumps(_finite(data), indent=2, default=_json_default, allow_nan=False) + "\n"


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json_text(data))


def npz_bytes(**arrays: Any) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def save_npz_atomic(path: Path, **arrays: Any) -> None:
    write_bytes_atomic(path, npz_bytes(**arrays))


def save_npy_atomic(path: Path, array: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    write_bytes_atomic(path, buf.getbuffer())


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    if isinstance(obj, np.generic):
        return _finite(obj.item())
    if isinstance(obj, np.ndarray):
        return _finite(obj.tolist())
    return obj


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


class BackgroundWriter:
    """One thread that writes queued (path, bytes) jobs atomically, in order.

    Checkpoints are serialised in the training thread (a consistent snapshot) and written here,
    so disk time does not stall training; `after` callables run once their writes are done
    (the checkpoint manifest is written by one, so it exists only once its files do).
    """

    def __init__(self) -> None:
        self._jobs: queue.Queue[tuple[list[tuple[Path, bytes]], Callable[[], None] | None]
                                | None] = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="checkpoint-writer", daemon=True)
        self._thread.start()

    def submit(self, files: list[tuple[Path, bytes]],
               after: Callable[[], None] | None = None) -> None:
        self.raise_error()
        self._jobs.put((files, after))

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                files, after = job
                for path, data in files:
                    write_bytes_atomic(path, data)
                if after is not None:
                    after()
            except BaseException as err:  # a thread boundary: reported to the training thread
                self._error = err
            finally:
                self._jobs.task_done()

    def flush(self) -> None:
        """Wait for every queued write; re-raise a failure in the caller's thread."""
        self._jobs.join()
        self.raise_error()

    def raise_error(self) -> None:
        if self._error is not None:
            err, self._error = self._error, None
            if isinstance(err, OSError):
                raise err
            raise OSError(f"writing a checkpoint failed: {err}") from err

    def close(self) -> None:
        self.flush()
        self._jobs.put(None)
        self._thread.join(timeout=10)
