"""Every known bad input is one line, exit 2, nothing written (benchmarks/bad_inputs.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_every_bad_input_is_one_line_and_writes_nothing() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bad_inputs.py")],
                          cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "BAD" not in proc.stdout
