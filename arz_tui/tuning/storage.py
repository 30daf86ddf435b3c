"""Where a study lives: a journal file (default), SQLite or PostgreSQL.

- No --storage, or a path: a JournalStorage file (`{results_dir}/tuning/{study}.journal` by
  default). Safe for several processes on one machine; it has no heartbeat, so a worker that
  dies leaves its trial RUNNING until a worker on the same machine sees the process is gone.
- `postgresql://USER[:PASSWORD]@HOST[:PORT]/DB` (psycopg2), for workers on several machines,
  and `sqlite:///FILE` for convenience: RDBStorage with a heartbeat, so a killed worker's
  trial is failed after the grace period and queued again with the same parameters.

Every problem opening a storage is a UserError: one line that names the value and the fix.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arz_tui.errors import UserError
from arz_tui.runstore.layout import tuning_journal

SCHEMES = "postgresql://USER@HOST[:PORT]/DB, sqlite:///FILE or a journal file path"
DEFAULT_MAX_RETRY = 3
"""How often a trial of a dead worker is queued again."""


class StudyLock:
    """A lock held while a worker decides whether to start a trial and creates it, so workers
    never start more than the study's --trials between them. `release` is idempotent."""

    def acquire(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def release(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def close(self) -> None:
        self.release()


class FileLock(StudyLock):
    """flock(2) on a file next to the study: processes on one machine; freed by the kernel
    when its holder dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)


class AdvisoryLock(StudyLock):
    """A PostgreSQL session advisory lock keyed by the study name: workers on any machine;
    freed by the server when its holder's connection goes away."""

    def __init__(self, engine: Any, name: str) -> None:
        self.engine = engine
        digest = hashlib.sha256(f"arz-tui tune {name}".encode()).digest()
        self.key = int.from_bytes(digest[:8], "big", signed=True)
        self._conn: Any = None

    def acquire(self) -> None:
        from sqlalchemy import text

        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": self.key})
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def release(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            from sqlalchemy import text

            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            finally:
                conn.close()


@dataclass
class StudyStorage:
    """An opened storage: what optuna gets, a printable description and the study lock."""

    storage: Any
    description: str
    lock: StudyLock
    heartbeat: int | None = None
    """Seconds between heartbeats (RDB storages), None for the journal."""
    grace_period: int | None = None
    engine: Any = field(default=None, repr=False)

    def close(self) -> None:
        self.lock.close()
        if self.engine is not None:
            self.engine.dispose()


def default_journal(results_dir: Path, study: str) -> Path:
    """`{results_dir}/tuning/{study}.journal`."""
    return tuning_journal(results_dir, study)


def open_storage(url: str | None, results_dir: Path, study: str, heartbeat: int = 10,
                 max_retry: int = DEFAULT_MAX_RETRY) -> StudyStorage:
    """Open the storage `url` (None: the default journal file) for study `study`."""
    if url is None:
        return _journal(default_journal(results_dir, study), "--storage (default)")
    text = url.strip()
    if not text:
        raise UserError(f"--storage is empty; give {SCHEMES} (or leave it out for the journal "
                        "file under --results-dir)")
    if "://" not in text:
        return _journal(Path(text).expanduser(), f"--storage {text}")
    return _rdb(text, heartbeat, max_retry, study)


def _journal(path: Path, flag: str) -> StudyStorage:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    if path.is_dir():
        raise UserError(f"{flag}: {path} is a folder; give a journal file path such as "
                        f"{path / 'study.journal'}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        storage = JournalStorage(JournalFileBackend(str(path)))
        lock_path = path.with_name(path.name + ".workers.lock")  # not ".lock": optuna's own
        lock_path.touch(exist_ok=True)
    except OSError as err:
        raise UserError(f"{flag}: cannot use journal file {path} "
                        f"({err.strerror or err}); choose a writable path") from None
    except (ValueError, KeyError, TypeError, RecursionError) as err:
        # optuna replays the whole journal when it opens it: a file that is not one fails.
        raise UserError(f"{flag}: {path} is not an optuna journal ({type(err).__name__}); "
                        "give another path or move that file away") from None
    return StudyStorage(storage, f"journal file {path}", FileLock(lock_path))


def _rdb(text: str, heartbeat: int, max_retry: int, study: str) -> StudyStorage:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(text)
        port = url.port
    except (ArgumentError, ValueError) as err:
        reason = "the port is not a number" if "invalid literal for int" in str(err) \
            else _first_line(err)
        raise UserError(f"--storage {_hide_password(text)!r} is not a valid URL ({reason}); "
                        f"use {SCHEMES}") from None
    shown = url.render_as_string(hide_password=True)
    backend, _, driver = url.drivername.partition("+")
    if backend in ("postgresql", "postgres"):
        if not url.database:
            raise UserError(f"--storage {shown}: no database name; use "
                            "postgresql://USER@HOST[:PORT]/DB")
        if port is not None and not 1 <= port <= 65535:
            raise UserError(f"--storage {shown}: port {port} is not a port number (1-65535)")
        # SQLAlchemy 2.1 defaults to psycopg 3; the project installs psycopg2.
        url = url.set(drivername=f"postgresql+{driver or 'psycopg2'}")
        engine_kwargs: dict[str, Any] = {"connect_args": {"connect_timeout": 10},
                                         "pool_pre_ping": True}
    elif backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise UserError(f"--storage {shown}: give a database file, e.g. "
                            "sqlite:///results/tuning/study.db (an in-memory database cannot "
                            "be shared by workers)")
        db = Path(url.database).expanduser()
        try:
            db.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise UserError(f"--storage {shown}: cannot create {db.parent} "
                            f"({err.strerror or err})") from None
        engine_kwargs = {"connect_args": {"timeout": 30}}
    else:
        raise UserError(f"--storage {shown}: unsupported scheme {url.drivername!r}; use "
                        f"{SCHEMES}")
    with _connection_errors(shown):
        # Workers starting together would race to create optuna's tables: one at a time.
        if backend == "sqlite":
            db = Path(url.database)
            lock: StudyLock = FileLock(db.with_name(db.name + ".workers.lock"))
            schema_lock: StudyLock = lock
            first_engine = None
        else:
            from sqlalchemy import create_engine

            first_engine = create_engine(url, **engine_kwargs)
            schema_lock = AdvisoryLock(first_engine, "optuna schema")
        try:
            schema_lock.acquire()
            try:
                storage = _rdb_storage(url, engine_kwargs, heartbeat, max_retry)
            finally:
                schema_lock.release()
        finally:
            if first_engine is not None:
                first_engine.dispose()
        if backend != "sqlite":
            lock = AdvisoryLock(storage.engine, study)
    return StudyStorage(storage, shown, lock, heartbeat, 3 * heartbeat, storage.engine)


def _rdb_storage(url: Any, engine_kwargs: dict[str, Any], heartbeat: int,
                 max_retry: int) -> Any:
    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retry = RetryHeartbeatStaleTrialCallback(max_retry=max_retry)
        return RDBStorage(url.render_as_string(hide_password=False),
                          engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat,
                          grace_period=3 * heartbeat, heartbeat_stale_trial_callback=retry)


@contextlib.contextmanager
def _connection_errors(shown: str) -> Iterator[None]:
    """Errors of connecting to a database as one UserError line."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except ImportError as err:
        missing = getattr(err.__cause__, "name", None) or getattr(err, "name", None) \
            or "the database driver"
        package = "psycopg2-binary" if missing == "psycopg2" else missing
        raise UserError(f"--storage {shown}: the Python module {missing} is not installed; "
                        f"pip install {package}") from None
    except SQLAlchemyError as err:
        raise UserError(f"--storage {shown}: cannot connect ({describe_db_error(err)}); "
                        "check that the database server runs and the host, port, user and "
                        "database name are right") from None
    except (RuntimeError, ValueError) as err:  # a schema of another optuna version, ...
        raise UserError(f"--storage {shown}: {_first_line(err)}") from None


def describe_db_error(err: BaseException) -> str:
    """The driver's own first line of a database error (without SQLAlchemy's decoration)."""
    orig = getattr(err, "orig", None)
    return _first_line(orig if orig is not None else err)


def _hide_password(text: str) -> str:
    """`scheme://user:***@host...` for a URL that could not be parsed."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", text)


def _first_line(err: BaseException) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__
