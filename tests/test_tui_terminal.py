"""The real terminal app, end to end, in a tmux pane: the launch form paints, ctrl+s trains a
sanity run of riemann in a child process, the dashboard shows the sanity checks passing and a
checkpoint, `q` quits, and the run folder holds its training_config.json.

Runs on a private tmux server (`tmux -L <unique name> -f /dev/null`), never a user's, and
kills that server whatever happens. Skipped when tmux is missing.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed (apt-get install "
                                "tmux): the terminal end-to-end test drives the app in tmux")

WIDTH, HEIGHT = 120, 40
PAINT_TIMEOUT_S = 30.0
TRAIN_TIMEOUT_S = 120.0
EXIT_TIMEOUT_S = 15.0


def app_command(results_dir: Path) -> list[str]:
    """The installed console script, or the same entry point through `-m`."""
    script = Path(sys.executable).with_name("arz-tui")
    base = [str(script)] if script.is_file() else [sys.executable, "-m", "arz_tui.tui"]
    return [*base, "--results-dir", str(results_dir)]


def clean_env() -> dict[str, str]:
    """os.environ without COLUMNS/LINES, and without TMUX (ours is a separate server).

    Importing `readline` (pytest does) exports COLUMNS=80 LINES=24 into the process-level
    environment, which os.environ does not show; a child inheriting them sizes itself 80x24
    whatever its tty says (shutil.get_terminal_size, which Textual uses, prefers them). An
    explicit environment leaves them out."""
    return {k: v for k, v in os.environ.items()
            if k not in ("COLUMNS", "LINES", "TMUX", "TMUX_PANE")}


class Tmux:
    """One private tmux server with one session."""

    def __init__(self, socket: str, session: str = "arz") -> None:
        assert TMUX is not None
        self.base = [TMUX, "-L", socket, "-f", os.devnull]
        self.session = session

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.base, *args], capture_output=True, text=True, check=check,
                              timeout=30, env=clean_env())

    def start(self, command: str, cwd: Path, size: tuple[int, int] = (WIDTH, HEIGHT)) -> None:
        self("new-session", "-d", "-x", str(size[0]), "-y", str(size[1]), "-s", self.session,
             "-c", str(cwd), command)

    def alive(self) -> bool:
        return self("has-session", "-t", self.session, check=False).returncode == 0

    def screen(self) -> str:
        out = self("capture-pane", "-p", "-t", self.session, check=False)
        return out.stdout if out.returncode == 0 else ""

    def styled(self) -> str:
        """The pane with its colours (a highlight that moves shows only here)."""
        out = self("capture-pane", "-p", "-e", "-t", self.session, check=False)
        return out.stdout if out.returncode == 0 else ""

    def keys(self, *keys: str) -> None:
        self("send-keys", "-t", self.session, *keys)

    def pick_next_option(self) -> None:
        """In an open list: Down, then Enter once the highlight has moved. Sent together,
        a busy machine can deliver both before the list takes the focus."""
        before = self.styled()
        self.keys("Down")
        deadline = time.monotonic() + PAINT_TIMEOUT_S
        while self.styled() == before and time.monotonic() < deadline:
            time.sleep(0.05)
        self.keys("Enter")

    def kill(self) -> None:
        self("kill-server", check=False)


def wait_for(tmux: Tmux, done: Callable[[str], bool], timeout: float, what: str,
             fail: Callable[[str], bool] = lambda _screen: False) -> str:
    """Poll the pane until `done(screen)`; fail early on `fail(screen)` or a dead session."""
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux.screen() or screen
        if done(screen):
            return screen
        if fail(screen) or not tmux.alive():
            break
        time.sleep(0.1)
    pytest.fail(f"timed out or failed waiting for {what}; last screen:\n{screen}")


def training_children(results: Path) -> list[int]:
    """Pids of the training child processes that write into `results` (Linux /proc)."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"arz_tui.training.train" in argv and str(results).encode() in argv:
            pids.append(int(proc.name))
    return pids


def wait_for_training_exit(results: Path, timeout: float = EXIT_TIMEOUT_S) -> None:
    """The dashboard shows "finished" on the run_finished event, about a second before the
    child exits, and until the UI has reaped the child q asks "Training is running. Stop
    it ...?". Wait until the child's /proc entry is gone: the UI's reader thread reaped it (a
    dying process's cmdline empties some ms before its stdout closes, so a cmdline match alone
    would not do)."""
    if not Path("/proc/self/cmdline").exists():
        time.sleep(5.0)
        return
    pids = training_children(results)
    deadline = time.monotonic() + timeout
    while any(Path(f"/proc/{pid}").exists() for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids), \
        "the training child did not exit"


def quit_app(tmux: Tmux, timeout: float = EXIT_TIMEOUT_S) -> None:
    """Press q until the app exits. Training is over, so q should quit without a question;
    should the UI still think it runs (see wait_for_training_exit), the question "Training is
    running. Stop it ...?" is cancelled (Escape) and q pressed again, a few times at most."""
    deadline = time.monotonic() + timeout
    questions = 0
    while time.monotonic() < deadline:
        try:
            tmux.keys("q")
        except subprocess.CalledProcessError:
            # The app exited (slowly, on a busy machine) after the previous q: its session
            # ended between the last check and this key.
            if not tmux.alive():
                return
            raise
        pressed = time.monotonic()
        while time.monotonic() < pressed + 1.0:
            if not tmux.alive():
                return
            if "Training is running" in tmux.screen():
                questions += 1
                assert questions <= 3, "q still asks to stop training after it ended"
                tmux.keys("Escape")
                time.sleep(0.5)
                break
            time.sleep(0.05)
    pytest.fail(f"the app did not exit on q; screen:\n{tmux.screen()}")


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    server = Tmux(f"arz-tui-test-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        yield server
    finally:
        server.kill()


def test_terminal_app_trains_a_sanity_run_and_quits(tmux: Tmux, tmp_path: Path) -> None:
    results = tmp_path / "results"
    rc_file = tmp_path / "exit_code"
    command = (f"env -u COLUMNS -u LINES ARZ_TUI_CUDA=0 {shlex.join(app_command(results))}; "
               f"echo $? > {shlex.quote(str(rc_file))}")
    tmux.start(command, cwd=tmp_path)

    form = wait_for(tmux, lambda s: "Start training" in s and "Effective configuration" in s,
                    PAINT_TIMEOUT_S, "the launch form")
    assert "lagos_sanity" in form  # the suggested run name: sanity mode on lagos, as the CLI
    assert "mode              sanity" in form

    tmux.keys("Tab", "Enter")  # the scenario list
    wait_for(tmux, lambda s: "riemann" in s and "simple" in s, PAINT_TIMEOUT_S, "the list")
    tmux.pick_next_option()  # riemann: the fastest to train
    wait_for(tmux, lambda s: "riemann_sanity" in s, PAINT_TIMEOUT_S, "riemann chosen")
    tmux.keys("C-s")
    screen = wait_for(tmux, lambda s: "status: finished" in s, TRAIN_TIMEOUT_S,
                      "the sanity run to finish",
                      fail=lambda s: "status: failed" in s or "status: interrupted" in s)
    assert "training riemann_sanity" in screen  # the dashboard's header
    assert "sanity: 6 passed" in screen, screen
    assert "FAIL" not in screen, screen
    assert re.search(r"checkpoint: step [\d,]+ at \d\d:\d\d:\d\d", screen), screen
    assert "100 / 100 steps" in screen, screen

    wait_for_training_exit(results)
    quit_app(tmux)
    assert rc_file.read_text().strip() == "0"

    run = results / "riemann_sanity"
    config = json.loads((run / "training_config.json").read_text(encoding="utf-8"))
    assert config["training"]["experiment_name"] == "riemann_sanity"
    assert config["training"]["mode"] == "sanity"
    assert (run / "checkpoints").is_dir()


LONG_NAME = "scenarios/lagos_victoria_island_evening_peak_corridor.yaml"
FIELDS = ("Mode", "Scenario", "Demand", "Device", "Timesteps", "Max hours", "Name", "Seed(s)",
          "Jobs", "Config file", "Resume", "Sanity checks", "Start training")


def test_80x24_every_field_readable_and_training_from_the_keyboard(tmux: Tmux,
                                                                  tmp_path: Path) -> None:
    """At 80x24: every field of the form on screen with its value, scenario names in full
    (a long file name included), then a sanity run on riemann started with keys alone."""
    (tmp_path / "scenarios").mkdir()
    builtin = Path(__file__).resolve().parent.parent / "sim" / "scenarios" / "riemann.yaml"
    (tmp_path / LONG_NAME).write_text(builtin.read_text(encoding="utf-8"), encoding="utf-8")
    results = tmp_path / "results"
    rc_file = tmp_path / "exit_code"
    command = (f"env -u COLUMNS -u LINES ARZ_TUI_CUDA=0 {shlex.join(app_command(results))}; "
               f"echo $? > {shlex.quote(str(rc_file))}")
    tmux.start(command, cwd=tmp_path, size=(80, 24))

    form = wait_for(tmux, lambda s: "Start training" in s and LONG_NAME not in s
                    and "lagos_sanity" in s, PAINT_TIMEOUT_S, "the launch form at 80x24")
    lines = form.splitlines()
    assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)
    for label in FIELDS:
        assert re.search(rf"^\s+{re.escape(label)}(\s|$)", form, re.M), \
            f"{label!r} not on screen:\n{form}"
    for value in ("sanity", "quick", "production", "kaggle", "lagos",
                  "heavy: the scenario's profile (x1.0)", "cpu", "auto", "lagos_sanity",
                  "the mode's 100 steps"):
        assert value in form, f"{value!r} not on screen:\n{form}"

    tmux.keys("Tab", "Enter")  # focus the scenario list and open it
    listing = wait_for(tmux, lambda s: LONG_NAME in s, PAINT_TIMEOUT_S, "the scenario list")
    for name in ("lagos", "riemann", "simple", LONG_NAME):
        assert re.search(rf"(^|\s){re.escape(name)}(\s|$)", listing, re.M), listing
    tmux.pick_next_option()  # riemann
    wait_for(tmux, lambda s: "riemann_sanity" in s, PAINT_TIMEOUT_S, "riemann chosen")
    tmux.keys("C-s")
    screen = wait_for(tmux, lambda s: "status: finished" in s, TRAIN_TIMEOUT_S,
                      "the sanity run to finish at 80x24",
                      fail=lambda s: "status: failed" in s or "status: interrupted" in s)
    assert "100 / 100 steps" in screen and "sanity: 6 passed" in screen, screen
    tmux.keys("2")  # the time-space tab, both diagrams side by side
    screen = wait_for(tmux, lambda s: "RL policy" in s and "fixed time" in s and "km" in s,
                      PAINT_TIMEOUT_S, "the time-space tab")
    assert "veh/km/lane" in screen
    wait_for_training_exit(results)
    quit_app(tmux)
    assert rc_file.read_text().strip() == "0"
    assert (results / "riemann_sanity" / "training_config.json").is_file()
