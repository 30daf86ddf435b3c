"""SIGKILL a `--batch` run at each phase (tests/helpers/kill_at.py), then `--resume` it, and
count the runs that end complete at exactly total_timesteps.

    .venv/bin/python benchmarks/crash_resume.py [--repeat N]

Also: the newest checkpoint corrupted (truncated buffer) after the kill. Prints one row per
try and the totals (kills tried / runs completed after resume).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from arz_tui.runstore import RunLayout  # noqa: E402
from arz_tui.runstore.checkpoints import candidates  # noqa: E402
from arz_tui.runstore.events import read_events  # noqa: E402
from arz_tui.runstore.files import Unreadable, read_json, read_npz  # noqa: E402

KILL_AT = ROOT / "tests" / "helpers" / "kill_at.py"
PHASES = ("before_first_checkpoint", "during_checkpoint_write", "during_evaluation",
          "after_last_checkpoint", "during_exit")
TOTAL = 600
CONFIG = """\
mode: quick
total_timesteps: 600
seed: 1
dqn_hyperparams: {learning_starts: 100, buffer_size: 2000, target_update_interval: 100}
checkpoint_strategy: {save_freq: 200, max_checkpoints: 2}
evaluation_strategy: {eval_freq: 200, n_eval_episodes: 1}
"""


def complete(lay: RunLayout) -> str | None:
    """Why the run is not complete at TOTAL (None when it is)."""
    try:
        if read_json(lay.summary)["step"] != TOTAL:
            return "summary at another step"
        if int(read_npz(lay.final_buffer)["pos"]) != TOTAL:
            return "final buffer of another size"
        steps = list(read_npz(lay.evaluations)["timesteps"])
    except (Unreadable, KeyError) as err:
        return str(err)
    events = read_events(lay.metrics)
    if not events or events[-1].kind != "run_finished" or events[-1].step != TOTAL:
        return "no run_finished at the total"
    if steps != sorted(set(steps)) or steps[-1] > TOTAL:
        return f"evaluation timeline {steps}"
    return None


def one(work: Path, phase: str, corrupt: bool) -> tuple[bool, str]:
    config = work / "cfg.yaml"
    config.write_text(CONFIG)
    name = f"{phase}{'_corrupt' if corrupt else ''}"
    args = ["--scenario", "riemann", "--name", name, "--results-dir", str(work / "r"),
            "--config", str(config), "--no-sanity-checks"]
    killed = subprocess.run([sys.executable, str(KILL_AT), phase, *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    if killed.returncode != -9:
        return False, f"not killed (exit {killed.returncode})"
    lay = RunLayout(work / "r" / name)
    if corrupt:
        found = candidates(lay)
        newest = found[0].buffer if found else None
        if newest is not None:  # the newest checkpoint's own buffer file (snapshot or delta)
            newest.write_bytes(newest.read_bytes()[:64])
    resumed = subprocess.run([sys.executable, "-m", "arz_tui.training.train", *args,
                              "--resume"], cwd=ROOT, capture_output=True, text=True,
                             timeout=600)
    if resumed.returncode != 0:
        return False, f"resume exit {resumed.returncode}: {resumed.stderr.strip()[-200:]}"
    why = complete(lay)
    return why is None, why or "complete"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repeat", type=int, default=1, help="tries per phase (default 1)")
    args = p.parse_args()
    tried = done = 0
    with tempfile.TemporaryDirectory(prefix="arz_crash_") as tmp:
        for k in range(args.repeat):
            for phase in PHASES:
                for corrupt in (False, True):
                    work = Path(tmp) / f"{k}"
                    work.mkdir(exist_ok=True)
                    t0 = time.perf_counter()
                    ok, why = one(work, phase, corrupt)
                    tried += 1
                    done += ok
                    label = phase + (" + corrupt newest" if corrupt else "")
                    print(f"{'ok ' if ok else 'BAD'} {time.perf_counter() - t0:5.1f}s "
                          f"{label:45s} {why}", flush=True)
    print(f"kills tried: {tried}, runs completed at exactly {TOTAL} steps after --resume: {done}")
    return 0 if done == tried else 1


if __name__ == "__main__":
    sys.exit(main())
