"""`arz-tui` entry point."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Until the training issue lands this only prints what exists."""
    print("usage: arz-tui  (the TUI and --batch arrive with the training and TUI issues)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
