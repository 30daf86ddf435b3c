"""`python tests/helpers/kill_at.py PHASE [batch flags]`: `arz-tui --batch` that SIGKILLs
itself at one phase of a run, so tests can resume from every kind of crash.

Phases: before_first_checkpoint, during_checkpoint_write (the second checkpoint: its buffer
is written, its model half-written, no manifest), during_evaluation (mid-episode of the
second evaluation), after_last_checkpoint (the final checkpoint saved, nothing of the final
model yet), during_exit (summary written, run_finished not yet logged).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

PHASES = ("before_first_checkpoint", "during_checkpoint_write", "during_evaluation",
          "after_last_checkpoint", "during_exit")


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install(phase: str) -> None:
    from arz_tui.runstore import atomic
    from arz_tui.training import callbacks, trainer

    if phase == "before_first_checkpoint":
        def save(self, wait=False):
            die()
        callbacks.AtomicCheckpointCallback.save_checkpoint = save
    elif phase == "during_checkpoint_write":
        real = atomic.write_bytes_atomic
        seen: list[Path] = []

        def write(path: Path, data: bytes) -> None:
            if path.name.startswith("dqn_checkpoint_"):
                seen.append(path)
                if len(seen) == 2:
                    # Half of the model's bytes reach a temporary file, then the kill.
                    tmp = path.with_name(f".{path.name}.{os.getpid()}.0.tmp")
                    tmp.write_bytes(data[: len(data) // 2])
                    die()
            real(path, data)
        atomic.write_bytes_atomic = write
    elif phase == "during_evaluation":
        import stable_baselines3.common.callbacks as sb3_callbacks

        real_log = callbacks.PhysicalEvalCallback._log_success_callback
        calls = {"n": 0, "evals": 0}
        real_evaluate = sb3_callbacks.evaluate_policy

        def evaluate(*args, **kwargs):
            # Counts the evaluations SB3's EvalCallback runs, however it decides when.
            calls["evals"] += 1
            return real_evaluate(*args, **kwargs)

        def log(self, locals_, globals_):
            calls["n"] += 1
            if calls["evals"] == 2 and calls["n"] > 5:
                die()
            return real_log(self, locals_, globals_)
        sb3_callbacks.evaluate_policy = evaluate
        callbacks.PhysicalEvalCallback._log_success_callback = log
    elif phase == "after_last_checkpoint":
        real_finish = trainer.RLTrainer._finish

        def finish(self, writer):
            writer.flush()
            die()
            return real_finish(self, writer)
        trainer.RLTrainer._finish = finish
    elif phase == "during_exit":
        real_json = trainer.write_json_atomic

        def write_json(path: Path, data: object) -> None:
            real_json(path, data)
            if path.name == "summary.json":
                die()
        trainer.write_json_atomic = write_json
    else:
        raise SystemExit(f"unknown phase {phase!r}; one of {', '.join(PHASES)}")


if __name__ == "__main__":
    install(sys.argv[1])
    from arz_tui.training.train import main

    sys.exit(main(sys.argv[2:]))
