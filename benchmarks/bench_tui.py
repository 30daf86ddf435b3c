"""TUI responsiveness, measured on the real app in a tmux pane (what a user's terminal shows).

(a) First paint: from asking tmux to start `arz-tui` in a pane (`respawn-pane`, on a tmux server
    already running) until the pane shows the painted launch form ("Start training",
    "Effective configuration" and the suggested run name). Includes interpreter start, imports,
    the app's mount and the first frame; the pane is polled with `capture-pane` every 2 ms (a
    capture costs ~2-4 ms: the figures' resolution is ~5 ms). Target <= 0.8 s.
(b) Key-press-to-screen latency while a quick-mode run trains: Tab, Right, Enter select
    quick on the launch form, Tab x3 and typing set its timesteps (20,000 by default: the
    mode's 5,000 train for ~7 s on riemann, too short for enough presses), ctrl+s starts it;
    then `p` (pause redraw) is pressed again and again, each time timing from the `send-keys`
    call until the pane shows the status line toggled ("(redraw paused)" appears or goes).
    Random gaps of 50-250 ms separate the presses; only those made while the status says
    running count. The same is then measured after the run finished (idle), and `send-keys`
    plus one `capture-pane` alone (the measuring floor). Target: median <= 100 ms.

Run: `.venv/bin/python benchmarks/bench_tui.py [--paint-runs 7] [--presses 60] [--timesteps N]`.
Needs tmux. Sets ARZ_TUI_CUDA=0 (no CUDA probe) and trains on the cpu in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

WIDTH, HEIGHT = 120, 40
POLL_S = 0.002
"""Pause between two captures: a capture is a tmux client process (~2-4 ms); polling flat out
would take a core from the app on a small machine."""


class Tmux:
    def __init__(self) -> None:
        tmux = shutil.which("tmux")
        if tmux is None:
            sys.exit("bench_tui: tmux is not installed (apt-get install tmux)")
        self.base = [tmux, "-L", f"arz-bench-{os.getpid()}-{uuid.uuid4().hex[:6]}",
                     "-f", os.devnull]
        # Once `readline` is imported, the process environment holds COLUMNS/LINES that
        # os.environ does not show; the app would size itself by them. An explicit
        # environment leaves them out.
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("COLUMNS", "LINES", "TMUX", "TMUX_PANE")}
        self.session = "bench"

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.base, *args], capture_output=True, text=True,
                              check=check, env=self.env)

    def start(self, command: str) -> None:
        self("new-session", "-d", "-x", str(WIDTH), "-y", str(HEIGHT), "-s", self.session,
             command)
        self("set-option", "-t", self.session, "remain-on-exit", "on")

    def respawn(self, command: str) -> None:
        self("respawn-pane", "-k", "-t", self.session, command)

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", self.session, check=False).stdout

    def keys(self, *keys: str) -> None:
        self("send-keys", "-t", self.session, *keys)

    def kill(self) -> None:
        self("kill-server", check=False)


def wait(tmux: Tmux, done: Callable[[str], bool], timeout: float, what: str,
         interval: float = POLL_S) -> tuple[float, str]:
    """Seconds until `done(screen)`, polling every `interval` s."""
    t0 = time.perf_counter()
    screen = ""
    while time.perf_counter() - t0 < timeout:
        screen = tmux.screen()
        if done(screen):
            return time.perf_counter() - t0, screen
        time.sleep(interval)
    raise SystemExit(f"bench_tui: timed out waiting for {what}; screen:\n{screen}")


def app_command(results: Path) -> str:
    script = Path(sys.executable).with_name("arz-tui")
    argv = [str(script)] if script.is_file() else [sys.executable, "-m", "arz_tui.tui"]
    return f"env -u COLUMNS -u LINES ARZ_TUI_CUDA=0 {shlex.join(argv)} " \
           f"--results-dir {shlex.quote(str(results))}"


def form_painted(screen: str) -> bool:
    return ("Start training" in screen and "Effective configuration" in screen
            and "lagos_sanity" in screen)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(name: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (f"{name}: n={len(ms)}  median {statistics.median(ms):.1f} ms  p90 {pct(ms, 0.9):.1f} "
            f"ms  min {min(ms):.1f}  max {max(ms):.1f}")


# ---------------------------------------------------------------------- (a) first paint
def first_paint(tmux: Tmux, results: Path, runs: int) -> list[float]:
    times = []
    for k in range(runs + 1):  # the first is a warm-up (page cache, .pyc), reported apart
        tmux.keys("C-q")
        time.sleep(0.3)
        tmux.respawn("clear; sleep 100000")  # a blank pane, and nothing left of the last app
        wait(tmux, lambda s: not s.strip(), 5, "a blank pane")
        t0 = time.perf_counter()
        tmux.respawn(app_command(results))
        _, _ = wait(tmux, form_painted, 30, "the launch form")
        elapsed = time.perf_counter() - t0
        print(f"  first paint run {k}{' (warm-up)' if k == 0 else ''}: {elapsed * 1000:.0f} ms")
        if k:
            times.append(elapsed)
    tmux.keys("C-q")
    return times


def spawn_floor(tmux: Tmux, runs: int = 5) -> float:
    """respawn-pane of a shell `echo` plus the polling: what (a) includes that is not the app."""
    times = []
    for _ in range(runs):
        tmux.respawn("clear; sleep 100000")
        wait(tmux, lambda s: not s.strip(), 5, "a blank pane")
        t0 = time.perf_counter()
        tmux.respawn("echo PAINTED; sleep 100000")
        wait(tmux, lambda s: "PAINTED" in s, 5, "echo")
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# ---------------------------------------------------------------------- (b) key latency
def press_p(tmux: Tmux) -> float:
    """Seconds from sending `p` until the status line shows the toggle."""
    paused_before = "(redraw paused)" in tmux.screen()
    t0 = time.perf_counter()
    tmux.keys("p")
    while True:
        screen = tmux.screen()
        if ("(redraw paused)" in screen) != paused_before:
            return time.perf_counter() - t0
        time.sleep(POLL_S)
        if time.perf_counter() - t0 > 5:
            raise SystemExit(f"bench_tui: p had no visible effect in 5 s; screen:\n{screen}")


def key_latency(tmux: Tmux, results: Path, presses: int, seed: int, timesteps: int) -> None:
    rng = random.Random(seed)
    tmux.respawn(app_command(results))
    wait(tmux, form_painted, 30, "the launch form", 0.05)
    # The form opens with Mode focused: Right moves to quick, Enter selects it; Tab, Enter
    # opens the scenario list, Down, Enter picks riemann (the suggested name: riemann_quick).
    time.sleep(0.2)
    tmux.keys("Right")
    time.sleep(0.2)
    tmux.keys("Enter")
    wait(tmux, lambda s: "mode              quick" in s, 5, "quick mode selected", 0.05)
    tmux.keys("Tab", "Enter")
    wait(tmux, lambda s: "simple" in s, 5, "the scenario list", 0.05)
    tmux.keys("Down", "Enter")
    wait(tmux, lambda s: "riemann_quick" in s, 5, "riemann chosen", 0.05)
    if timesteps:  # Scenario -> Demand -> Device -> Timesteps
        tmux.keys("Tab", "Tab", "Tab")
        time.sleep(0.2)
        tmux.keys("-l", str(timesteps))
        wait(tmux, lambda s: f"total steps       {timesteps:,}" in s, 5, "the timesteps typed",
             0.05)
    started = time.perf_counter()
    tmux.keys("C-s")
    wait(tmux, lambda s: "status: running" in s, 60, "the run to start", 0.05)

    during: list[float] = []
    while True:
        screen = tmux.screen()
        if "status: running" not in screen and "running (redraw paused)" not in screen:
            break
        latency = press_p(tmux)
        after = tmux.screen()
        if "running" in after:  # the run was still going when the screen changed
            during.append(latency)
        time.sleep(rng.uniform(0.05, 0.25))
        if len(during) >= presses:
            break
    if "(redraw paused)" in tmux.screen():
        press_p(tmux)
    wait(tmux, lambda s: "status: finished" in s or "status: failed" in s, 600,
         "the quick run to end", 0.2)
    run_s = time.perf_counter() - started
    screen = tmux.screen()
    status = "finished" if "status: finished" in screen else "FAILED"
    print(f"  quick run on riemann ({timesteps or 'the mode default of 5,000'} steps): "
          f"{status} after {run_s:.1f} s from ctrl+s")
    time.sleep(1.5)  # the child's exit
    idle = []
    for _ in range(30):
        idle.append(press_p(tmux))
        time.sleep(rng.uniform(0.05, 0.2))
    floor = []
    for _ in range(30):
        t0 = time.perf_counter()
        tmux.keys("F24")  # no binding: only the cost of sending and one capture
        tmux.screen()
        floor.append(time.perf_counter() - t0)

    if len(during) < 30:
        print(f"  warning: only {len(during)} presses while the run trained (want >= 30)")
    print(summary("(b) p -> screen while quick mode trains", during))
    print(summary("    p -> screen after the run finished (idle)", idle))
    print(summary("    measuring floor (send-keys + one capture-pane)", floor))
    tmux.keys("q")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--paint-runs", type=int, default=7, help="first-paint runs (+1 warm-up)")
    p.add_argument("--presses", type=int, default=60,
                   help="presses while training, random gaps of 50-250 ms between them")
    p.add_argument("--timesteps", type=int, default=20000,
                   help="steps of the quick run, typed into the form (0: the mode's 5,000, "
                   "which on riemann trains for ~7 s, too short for 30 presses)")
    p.add_argument("--seed", type=int, default=0, help="seed of the gaps between presses")
    args = p.parse_args(argv)

    tmux = Tmux()
    with tempfile.TemporaryDirectory(prefix="arz-bench-tui-") as tmp:
        results = Path(tmp) / "results"
        try:
            tmux.start("sleep 100000")
            print(f"(a) first paint of the launch form, {WIDTH}x{HEIGHT} tmux pane:")
            paint = first_paint(tmux, results, args.paint_runs)
            floor = spawn_floor(tmux)
            print(summary("(a) first paint", paint) + "   (target <= 800 ms)")
            print(f"    tmux spawn + poll floor (echo): {floor * 1000:.1f} ms")
            print(f"(b) key press -> screen while training, quick mode, {args.presses} presses:")
            key_latency(tmux, results, args.presses, args.seed, args.timesteps)
            print("    (target: median <= 100 ms)")
        finally:
            tmux.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
