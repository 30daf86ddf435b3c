"""`arz-tui` entry point: the TUI by default, `--batch` for headless training.

`--batch` never imports textual (the import-contract test holds it to that).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--batch" in args:
        args.remove("--batch")
        from arz_tui.training.train import main as batch_main

        return batch_main(args)
    if args and args[0] in ("-h", "--help"):
        print("usage: arz-tui [--batch TRAINING FLAGS]   (arz-tui --batch --help lists them)")
        return 0
    print("arz-tui: the terminal UI is not built yet; use arz-tui --batch (see --batch --help)",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
