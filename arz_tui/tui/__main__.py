"""`python -m arz_tui.tui [--results-dir DIR]`: the terminal UI (what `arz-tui serve` serves)."""

from __future__ import annotations

import sys

from arz_tui.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
