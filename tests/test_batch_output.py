"""`arz-tui run` piped into a file or another program: whole lines (no wrapping at rich's
default 80 columns), progress as plain lines, and a last progress line with a real rate."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def test_piped_batch_output_is_not_wrapped_and_ends_with_a_real_rate(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    results = tmp_path / ("a_long_results_folder_name_" * 3)  # paths well past 80 columns
    proc = subprocess.run(
        [sys.executable, "-m", "arz_tui.cli", "run", "--mode", "sanity", "--scenario", "riemann",
         "--timesteps", "60", "--results-dir", str(results)],
        capture_output=True, text=True, timeout=300, env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    checkpoints = [line for line in lines if "checkpoint at step" in line]
    assert checkpoints and all(line.rstrip().endswith(".zip") for line in checkpoints)
    assert any(len(line) > 100 for line in checkpoints)  # one line, not cut at 80
    progress = [line for line in lines if re.match(r"\s+step [\d,]+/60:", line)]
    assert progress, proc.stdout
    rate = re.search(r"([\d,]+) steps/s", progress[-1])
    assert rate and int(rate.group(1).replace(",", "")) > 0, progress[-1]
    assert "…" not in proc.stdout  # nothing truncated with an ellipsis
    assert "━" not in "\n".join(progress)  # no progress bar frames in a log
