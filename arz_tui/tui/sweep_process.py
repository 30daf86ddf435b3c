"""A seed group (`--seeds`) as a child process: the sweep prints one line per seed's start and
end and the aggregate table rather than the event stream, so each line becomes a log event."""

from __future__ import annotations

import time

from arz_tui.tui.process import TrainingProcess


class SweepProcess(TrainingProcess):
    """`python -m arz_tui.training.train ... --seeds S --jobs J`, its output lines delivered
    to `on_event` as log events."""

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            text = line.rstrip()
            if text.strip():
                self.on_event({"kind": "log", "step": 0, "time": time.time(),
                               "data": {"message": text}})
        self.returncode = self.proc.wait()
        self.on_exit(self.returncode, "\n".join(self._stderr))
