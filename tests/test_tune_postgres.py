"""`arz-tui tune` on a real PostgreSQL server: two workers share a study through a
postgresql:// URL; one is killed (SIGKILL) mid-trial, the heartbeat fails its trial, and the
other worker runs it again with the same parameters and completes the study.

The server is started by the fixture in a temporary folder (initdb with trust
authentication, pg_ctl on 127.0.0.1 and a free port, its unix socket in the folder) and
stopped afterwards. The test is skipped, with the reason, only when the PostgreSQL server
binaries are not installed or the server cannot be started.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from arz_tui.tuning.storage import open_storage

ROOT = Path(__file__).resolve().parent.parent
TUNE = [sys.executable, "-m", "arz_tui.tuning.tune"]
HEARTBEAT_S = 1  # grace period 3 s


def _pg_bin() -> Path | None:
    """The folder of initdb and pg_ctl: on PATH, or Debian's /usr/lib/postgresql/N/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                      key=lambda p: int(Path(p).parent.parent.name)
                      if Path(p).parent.parent.name.isdigit() else 0)
    return Path(versions[-1]).parent if versions else None


def _as_server_user() -> tuple[list[str], int | None]:
    """initdb refuses to run as root: run the server as `postgres` then (command prefix and
    uid); as any other user, run it as that user."""
    if os.geteuid() != 0:
        return [], None
    try:
        uid = pwd.getpwnam("postgres").pw_uid
    except KeyError:
        pytest.skip("running as root and there is no 'postgres' user to run PostgreSQL as")
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--"], uid
    pytest.skip("running as root and runuser is missing: cannot start PostgreSQL as postgres")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed; install "
                    "the postgresql package to run this test")
    prefix, uid = _as_server_user()
    base = Path(tempfile.mkdtemp(prefix="arz-tune-pg-"))
    if uid is not None:
        os.chown(base, uid, -1)
    data, log = base / "data", base / "server.log"
    port = _free_port()

    def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([*prefix, *args], capture_output=True, text=True,
                              timeout=timeout, check=False)

    started = False
    try:
        init = run(str(bindir / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres",
                   "-E", "UTF8", "--no-sync")
        if init.returncode != 0:
            pytest.skip(f"initdb failed: {(init.stderr or init.stdout).strip()[-500:]}")
        start = run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "30",
                    "-o", f"-h 127.0.0.1 -p {port} -k {base} -F -c max_connections=50",
                    "start")
        if start.returncode != 0:
            tail = log.read_text(errors="replace")[-500:] if log.exists() else start.stderr
            pytest.skip(f"PostgreSQL did not start: {tail.strip()}")
        started = True
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


def _study(storage: object, name: str) -> optuna.Study | None:
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:  # not created yet
        return None


def test_server_refuses_a_wrong_database_as_one_line(postgres_url: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    from arz_tui.tuning.tune import main as tune_main

    url = postgres_url.rsplit("/", 1)[0] + "/no_such_db"
    rc = tune_main(["--scenario", "riemann", "--trials", "2", "--study", "s", "--storage", url,
                    "--results-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2
    assert len(err.strip().splitlines()) == 1, err
    assert url in err and 'database "no_such_db" does not exist' in err


def test_killed_worker_trial_is_retried_by_the_other(postgres_url: str,
                                                     tmp_path: Path) -> None:
    n, name = 4, "pg_shared"
    cmd = [*TUNE, "--scenario", "riemann", "--trials", str(n), "--study", name,
           "--storage", postgres_url, "--timesteps-per-trial", "1500", "--evaluations", "5",
           "--eval-episodes", "3", "--heartbeat", str(HEARTBEAT_S)]
    procs = [subprocess.Popen([*cmd, "--results-dir", str(tmp_path / f"worker{i}")], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for i in range(2)]
    victim, survivor = procs
    opened = open_storage(postgres_url, tmp_path, name, heartbeat=HEARTBEAT_S)
    try:
        # Kill the victim once one of its trials has reported an evaluation: mid-training.
        killed = None
        deadline = time.monotonic() + 90
        while killed is None and time.monotonic() < deadline:
            assert victim.poll() is None, victim.communicate()[0][-3000:]
            study = _study(opened.storage, name)
            for t in study.get_trials() if study is not None else []:
                if t.state == TrialState.RUNNING and t.intermediate_values and \
                        t.user_attrs.get("worker", {}).get("pid") == victim.pid:
                    victim.send_signal(signal.SIGKILL)
                    killed = t
                    break
            time.sleep(0.1)
        assert killed is not None, "the victim never ran a trial"
        victim.communicate(timeout=30)  # reaped, pipe closed
        out = survivor.communicate(timeout=150)[0]
        study = _study(opened.storage, name)
        assert study is not None
        trials = {t.number: t for t in study.get_trials()}
    finally:
        opened.close()
        for p in procs:
            if p.poll() is None:
                p.kill()
            if p.stdout is not None and not p.stdout.closed:
                p.communicate()
    assert survivor.returncode == 0, out[-3000:]

    assert trials[killed.number].state == TrialState.FAIL  # failed by the heartbeat
    retries = [t for t in trials.values()
               if t.system_attrs.get("failed_trial") == killed.number]
    assert len(retries) == 1, trials
    retry = retries[0]
    assert retry.number > killed.number
    assert retry.state in (TrialState.COMPLETE, TrialState.PRUNED)
    assert retry.params == killed.params
    assert retry.user_attrs["worker"]["pid"] == survivor.pid
    assert f"(retry of trial {killed.number})" in out, out
    # The study still reaches n finished trials, and nothing else is left running.
    finished = [t for t in trials.values()
                if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == n
    assert [t.number for t in trials.values() if t.state == TrialState.FAIL] == [killed.number]
    assert not [t for t in trials.values()
                if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    assert (tmp_path / "worker1" / "tuning" / name / "best_config.json").is_file()
