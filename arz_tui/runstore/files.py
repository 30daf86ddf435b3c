"""Reading files of a results folder as if they were hostile: only regular files below a root,
never blocking (a FIFO is refused, not opened for a blocking read), with size caps, JSON
without NaN/inf or absurd nesting, arrays without pickle and with sane headers.

Everything here raises `Unreadable` (one line: which file and why) or returns clean data.
"""

from __future__ import annotations

import json
import os
import stat
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from pydantic import BaseModel, ValidationError

from arz_tui.errors import ArzError

JSON_CAP = 16 * 2**20
"""Largest JSON record read (config, summary, aggregate, manifest)."""
ARRAY_CAP = 512 * 2**20
"""Largest array read from an .npy or one .npz member."""
TEXT_CAP = 64 * 2**10
"""Bytes of a log's end read for display."""
MAX_JSON_DEPTH = 64

M = TypeVar("M", bound=BaseModel)


class Unreadable(ArzError):
    """A file that cannot be read safely; the message says which and why."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


def inside(path: Path, root: Path) -> bool:
    """Whether `path`, links followed, lies in `root`."""
    try:
        path.resolve().relative_to(Path(root).resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def check_regular(path: Path, root: Path | None = None) -> os.stat_result:
    """The stat of `path` if it is a regular file (inside `root` when given); Unreadable
    otherwise (missing, a FIFO, a device, a folder, a link leaving the root)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise Unreadable(path, "missing") from None
    except OSError as err:
        raise Unreadable(path, err.strerror or type(err).__name__) from None
    if root is not None and not inside(path, root):
        raise Unreadable(path, "links outside the results folder")
    if not stat.S_ISREG(st.st_mode):
        kind = ("a FIFO" if stat.S_ISFIFO(st.st_mode) else "a folder" if stat.S_ISDIR(st.st_mode)
                else "a device or socket")
        raise Unreadable(path, f"{kind}, not a regular file")
    return st


def _read_fd(fd: int, left: int) -> bytes:
    """Up to `left` bytes from the descriptor's position."""
    chunks = []
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


@contextmanager
def _regular_fd(path: Path, root: Path | None) -> Iterator[tuple[int, os.stat_result]]:
    """A descriptor of the regular file `path` (inside `root`) and its stat. Opened
    non-blocking and re-checked on the descriptor, so a file swapped for a FIFO between the
    check and the open cannot block; an OSError while it is open is Unreadable."""
    check_regular(path, root)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        raise Unreadable(path, err.strerror or type(err).__name__) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Unreadable(path, "not a regular file")
        yield fd, st
    except OSError as err:
        raise Unreadable(path, err.strerror or type(err).__name__) from None
    finally:
        os.close(fd)


def read_bytes(path: Path, root: Path | None = None, cap: int = JSON_CAP,
               tail: bool = False) -> bytes:
    """The bytes of a regular file (its last `cap` bytes with `tail`, else at most `cap`:
    larger files are Unreadable), opened as `_regular_fd` does."""
    with _regular_fd(path, root) as (fd, st):
        if st.st_size > cap:
            if not tail:
                raise Unreadable(path, f"too large ({st.st_size:,} bytes > {cap:,})")
            os.lseek(fd, st.st_size - cap, os.SEEK_SET)
        return _read_fd(fd, cap)


def read_range(path: Path, root: Path | None, offset: int, cap: int
               ) -> tuple[bytes, os.stat_result]:
    """At most `cap` bytes of a regular file from `offset` on, and the file's stat (a
    follower of a growing file compares its inode and size with what it read before)."""
    with _regular_fd(path, root) as (fd, st):
        if offset >= st.st_size:
            return b"", st
        os.lseek(fd, offset, os.SEEK_SET)
        return _read_fd(fd, min(cap, st.st_size - offset)), st


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"number {text[:20]} overflows")
    return value


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not a JSON number")


def _depth(obj: Any, limit: int = MAX_JSON_DEPTH) -> int:
    """Nesting depth, iteratively (no recursion for hostile input)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        item, d = stack.pop()
        deepest = max(deepest, d)
        if d > limit:
            return d
        if isinstance(item, dict):
            stack.extend((v, d + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, d + 1) for v in item)
    return deepest


def parse_json(text: str | bytes, where: Path | str = "JSON") -> Any:
    """Strict JSON: finite numbers only, at most MAX_JSON_DEPTH levels; Unreadable otherwise."""
    try:
        data = json.loads(text, parse_float=_finite_float, parse_constant=_no_constant)
    except RecursionError:
        raise Unreadable(where, "nested too deeply") from None
    except UnicodeDecodeError:
        raise Unreadable(where, "not UTF-8 text") from None
    except ValueError as err:
        raise Unreadable(where, f"not valid JSON ({str(err).splitlines()[0][:80]})") from None
    if _depth(data) > MAX_JSON_DEPTH:
        raise Unreadable(where, f"nested deeper than {MAX_JSON_DEPTH} levels")
    return data


def read_json(path: Path, root: Path | None = None, cap: int = JSON_CAP) -> Any:
    return parse_json(read_bytes(path, root, cap), path)


def load_record(path: Path, model: type[M], root: Path | None = None,
                cap: int = JSON_CAP) -> M:
    """A pydantic record from a JSON file; Unreadable with the first bad field otherwise."""
    data = read_json(path, root, cap)
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "top level"
        raise Unreadable(path, f"wrong shape at {loc}: {first['msg']}") from None


def maybe_record(path: Path, model: type[M], root: Path | None = None) -> M | None:
    """load_record, or None when the file is missing or unreadable."""
    try:
        return load_record(path, model, root)
    except Unreadable:
        return None


def _check_npy_header(fh: Any, where: Path | str, size: int | None, cap: int) -> None:
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version in ((2, 0), (3, 0)):
            shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise Unreadable(where, f"unknown .npy version {version}")
    except (ValueError, OSError, EOFError) as err:
        raise Unreadable(where, f"not an .npy array ({str(err).splitlines()[0][:60]})") \
            from None
    if dtype.hasobject:
        raise Unreadable(where, "holds Python objects (would need unpickling)")
    count = 1
    for n in shape:
        count *= int(n)
    nbytes = count * dtype.itemsize
    if nbytes > cap:
        raise Unreadable(where, f"header claims {nbytes:,} bytes (> {cap:,})")
    if size is not None and nbytes > size:
        raise Unreadable(where, f"header claims {nbytes:,} bytes but the file is shorter")


def read_npy(path: Path, root: Path | None = None, cap: int = ARRAY_CAP) -> np.ndarray:
    """An array from an .npy file, checked before it is read (no pickle, sane header)."""
    st = check_regular(path, root)
    data = read_bytes(path, root, cap + 4096)
    import io

    fh = io.BytesIO(data)
    _check_npy_header(fh, path, st.st_size, cap)
    fh.seek(0)
    try:
        array: np.ndarray = np.load(fh, allow_pickle=False)
        return array
    except (ValueError, OSError, EOFError) as err:
        raise Unreadable(path, f"unreadable array ({str(err).splitlines()[0][:60]})") from None


def read_npz(path: Path, root: Path | None = None, cap: int = ARRAY_CAP,
             names: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """The arrays of an .npz file (only `names` when given), no pickle, each member's
    header checked before it is decompressed."""
    check_regular(path, root)
    try:
        with zipfile.ZipFile(path) as archive:
            out: dict[str, np.ndarray] = {}
            for info in archive.infolist():
                key = info.filename.removesuffix(".npy")
                if names is not None and key not in names:
                    continue
                if info.file_size > cap + 4096:
                    raise Unreadable(path, f"member {key} is {info.file_size:,} bytes")
                with archive.open(info) as member:
                    _check_npy_header(member, f"{path}:{key}", info.file_size, cap)
                with archive.open(info) as member:
                    out[key] = np.load(member, allow_pickle=False)
    except Unreadable:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as err:
        raise Unreadable(path, f"not a readable .npz ({type(err).__name__}: "
                               f"{str(err).splitlines()[0][:60] if str(err) else ''})") from None
    if names is not None:
        missing = [n for n in names if n not in out]
        if missing:
            raise Unreadable(path, f"missing arrays {', '.join(missing)}")
    return out


def text_tail(path: Path, root: Path | None = None, cap: int = TEXT_CAP) -> str:
    """The end of a text file, decoded leniently ('' when unreadable)."""
    try:
        return read_bytes(path, root, cap, tail=True).decode("utf-8", errors="replace")
    except Unreadable:
        return ""
