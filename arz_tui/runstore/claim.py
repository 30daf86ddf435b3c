"""Claiming a run folder: one process at a time, decided atomically, before anything slow.

A run folder is owned by whoever holds the OS lock (fcntl.flock) on its `.lock` file; the
holder's pid is written in it. The kernel releases the lock when the holder dies however it
dies, so a lock file left by a killed process is stale by definition (its pid is reported).

A new run is claimed by building the folder under a hidden temporary name with the lock
already held, then renaming it to the run's name: the rename fails if the name exists, so the
name check and the claim are one step, and two runs of one name cannot both get it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
from pathlib import Path

from arz_tui.errors import ArzError
from arz_tui.runstore.layout import LOCK_NAME, RunLayout


class RunBusy(ArzError):
    """Another live process holds the run."""


class ResultsDirError(ArzError):
    """--results-dir cannot hold runs."""


def check_results_dir(results_dir: Path, create: bool = True) -> Path:
    """`results_dir` as a writable folder (created when missing); one line otherwise."""
    path = Path(results_dir)
    if str(results_dir).strip() == "":
        raise ResultsDirError("--results-dir is empty; give a folder, e.g. --results-dir "
                              "results")
    if path.exists() and not path.is_dir():
        raise ResultsDirError(f"--results-dir {path} is a file, not a folder; give a folder")
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ResultsDirError(f"--results-dir {path}: cannot create it "
                                  f"({err.strerror or err}); give a writable folder") from None
    if path.exists() and not os.access(path, os.W_OK | os.X_OK):
        raise ResultsDirError(f"--results-dir {path} is not writable; give a writable folder")
    try:
        resolved = path.resolve()
    except OSError as err:
        raise ResultsDirError(f"--results-dir {path}: {err.strerror or err}") from None
    if resolved.parts[:2] in (("/", "proc"), ("/", "sys"), ("/", "dev")):
        raise ResultsDirError(f"--results-dir {path} is inside {'/'.join(resolved.parts[:2])[1:]}"
                              ", a system folder; give an ordinary folder")
    return path


def _pid_in(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii", errors="replace")[:32].strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None


def lock_holder(run_dir: Path) -> int | None:
    """The pid holding a run's lock (-1 if held by a pid not recorded), None when free or
    when the run has no lock file."""
    lock = Path(run_dir) / LOCK_NAME
    try:
        if not lock.is_file() or lock.is_symlink():
            return None
        fd = os.open(lock, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _pid_in(lock) or -1
    except OSError:
        return None
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


class RunClaim:
    """The held lock of a run folder; `release()` (or the process's end) lets it go."""

    def __init__(self, layout: RunLayout, fd: int, created: bool,
                 stale_pid: int | None) -> None:
        self.layout = layout
        self._fd: int | None = fd
        self.created = created
        """This claim created the folder (so it may remove it if nothing comes of the run)."""
        self.stale_pid = stale_pid
        """The pid in a lock file whose process had died without releasing the run."""
        self.created_parent = False
        """This claim created the results folder itself."""

    @property
    def held(self) -> bool:
        return self._fd is not None

    def record_pid(self) -> None:
        """Write this process's pid into the lock file (for others' error messages). A resume
        does it once its checks passed, so a refused resume writes nothing at all."""
        if self._fd is not None:
            _record_pid(self._fd)

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def abandon(self) -> None:
        """Nothing came of the run (a failed check): remove the folder this claim created,
        if it holds nothing but the lock, and release."""
        root = self.layout.root
        if self.created:
            try:
                if {p.name for p in root.iterdir()} <= {LOCK_NAME}:
                    shutil.rmtree(root, ignore_errors=True)
                if self.created_parent:
                    root.parent.rmdir()  # only if empty: another run may have arrived
            except OSError:
                pass
        self.release()


def _lock(lock: Path, name: str) -> tuple[int, int | None]:
    """Open and flock `lock` exclusively; (fd, the pid a dead holder left in it)."""
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as err:
        raise ArzError(f"cannot lock run {name} ({lock}: {err.strerror or err})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        pid = _pid_in(lock)
        who = f"process {pid}" if pid else "another process"
        raise RunBusy(f"run {name} is in use by {who}; wait for it to end or stop it "
                      "(nothing was changed)") from None
    previous = _pid_in(lock)
    return fd, previous if previous != os.getpid() else None


def _record_pid(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)


def claim_new(layout: RunLayout, hint: str = "pass --resume to continue it") -> RunClaim:
    """Create and lock a new run folder atomically; RunBusy / ArzError when the name is taken."""
    root = layout.root
    parent_existed = root.parent.exists()
    check_results_dir(root.parent)
    if root.exists() or root.is_symlink():
        _reclaim_leftover(layout)
    if root.exists() or root.is_symlink():
        _refuse_existing(layout, hint)
    tmp = root.parent / f".{root.name}.claim.{os.getpid()}"
    try:
        tmp.mkdir()
    except OSError as err:
        raise ResultsDirError(f"cannot create a run in {root.parent} "
                              f"({err.strerror or err}); give a writable --results-dir") from None
    try:
        fd, _ = _lock(tmp / LOCK_NAME, root.name)
        _record_pid(fd)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        os.rename(tmp, root)
    except OSError as err:
        os.close(fd)
        shutil.rmtree(tmp, ignore_errors=True)
        if err.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
            _refuse_existing(layout, hint)
        raise ResultsDirError(f"cannot create {root} ({err.strerror or err})") from None
    claim = RunClaim(layout, fd, created=True, stale_pid=None)
    claim.created_parent = not parent_existed
    return claim


def _reclaim_leftover(layout: RunLayout) -> None:
    """A folder holding only the free lock of a killed claim (killed during the checks,
    before anything was written) is no run: its name is free again."""
    root = layout.root
    try:
        if (root.is_dir() and not root.is_symlink()
                and {p.name for p in root.iterdir()} == {LOCK_NAME}
                and lock_holder(root) is None):
            shutil.rmtree(root)
    except OSError:
        pass


def _refuse_existing(layout: RunLayout, hint: str) -> None:
    holder = lock_holder(layout.root)
    if holder is not None:
        who = f"process {holder}" if holder > 0 else "another process"
        raise RunBusy(f"run {layout.name} is in use by {who}; wait for it to end or stop "
                      "it (nothing was changed)")
    raise ArzError(f"experiment {layout.name!r} already exists in {layout.root.parent}; "
                   f"{hint} or choose another --name (nothing was overwritten)")


def claim_existing(layout: RunLayout) -> RunClaim:
    """Lock an existing run folder (resume, aggregate); RunBusy if a live process holds it."""
    root = layout.root
    if root.is_symlink() or not root.is_dir():
        raise ArzError(f"{root} is not a run folder")
    fd, stale = _lock(layout.lock, layout.name)
    return RunClaim(layout, fd, created=False, stale_pid=stale)
