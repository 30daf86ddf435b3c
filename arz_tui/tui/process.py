"""Training as a child process that runs the `--batch` code path and prints its events.

Why a child process and not a thread of the UI: it is exactly what `arz-tui --batch` runs (one
code path to trust); torch, SB3 and numba never load into the UI, which starts in well under a
second and keeps its GIL to itself (training gets a core of its own); a stop is the same
Ctrl-C (SIGINT) the batch mode handles by checkpointing; and a crash in training cannot take the
UI down. The events arrive as JSON lines on the child's stdout and are also written to the
run's logs/metrics.jsonl, which the results browser tails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

from arz_tui.runstore.events import parse_line

EventCallback = Callable[[dict[str, Any]], None]
ExitCallback = Callable[[int, str], None]


class TrainingProcess:
    """`python -m arz_tui.training.train ARGS --events-stdout`, with its events delivered to
    `on_event` and its exit code and stderr to `on_exit`, both from a reader thread."""

    def __init__(self, args: list[str], on_event: EventCallback, on_exit: ExitCallback) -> None:
        self.args = list(args)
        self.on_event = on_event
        self.on_exit = on_exit
        self.proc: subprocess.Popen[str] | None = None
        self.returncode: int | None = None
        self._reader: threading.Thread | None = None
        self._stderr: list[str] = []

    @property
    def command(self) -> list[str]:
        return [sys.executable, "-m", "arz_tui.training.train", *self.args, "--events-stdout"]

    @property
    def running(self) -> bool:
        return self.proc is not None and self.returncode is None

    def start(self) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        # Its own session: a Ctrl-C typed into the terminal reaches the UI only, which then
        # decides to stop training politely.
        self.proc = subprocess.Popen(self.command, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1, env=env,
                                     start_new_session=True)
        threading.Thread(target=self._drain_stderr, name="training-stderr", daemon=True).start()
        self._reader = threading.Thread(target=self._read, name="training-events", daemon=True)
        self._reader.start()

    def _drain_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line.rstrip("\n"))

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            event = parse_line(line)  # validated by the run store's event format
            if event is not None:
                self.on_event(event.model_dump(mode="json"))
        self.returncode = self.proc.wait()
        self.on_exit(self.returncode, "\n".join(self._stderr))

    def stop(self) -> None:
        """Graceful stop: the child saves a checkpoint and exits 130."""
        if self.running and self.proc is not None:
            try:
                self.proc.send_signal(signal.SIGINT)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        if self.running and self.proc is not None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass

    def wait(self, timeout: float | None = None) -> int | None:
        if self._reader is not None:
            self._reader.join(timeout)
        return self.returncode
