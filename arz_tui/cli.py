"""`arz-tui` entry point: the TUI by default, `--batch` for headless training, `serve` for
the browser view.

`--batch` never imports textual (the import-contract test holds it to that).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from arz_tui.argparsing import Parser, port


def _parser() -> argparse.ArgumentParser:
    p = Parser(prog="arz-tui", description="Train DQN traffic-signal controllers on a fast "
                "ARZ simulator. Without arguments: the terminal UI. Headless training: "
                "arz-tui --batch [flags] (see arz-tui --batch --help); comparison reports: "
                "arz-tui report RUN_OR_GROUP... (see arz-tui report --help); tuning: arz-tui "
                "tune (see arz-tui tune --help).")
    p.add_argument("--results-dir", type=Path, default=Path("results"),
                   help="folder of run folders (default ./results)")
    sub = p.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="serve the UI in a browser (textual-serve)")
    serve.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    serve.add_argument("--port", type=port, default=8000, help="port (default 8000)")
    serve.add_argument("--token", default=None, help="secret a browser must present "
                       "(?token=...); required, and generated if not given, off loopback")
    serve.add_argument("--results-dir", type=Path, default=None, dest="serve_results_dir",
                       help="folder of run folders (default ./results)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--batch" in args:
        args.remove("--batch")
        from arz_tui.training.train import main as batch_main

        return batch_main(args)
    if args and args[0] == "report":
        from arz_tui.report.cli import main as report_main

        return report_main(args[1:])
    if args and args[0] == "import":
        from arz_tui.netimport.cli import main as import_main

        return import_main(args[1:])
    if args and args[0] == "tune":
        from arz_tui.tuning.tune import main as tune_main

        return tune_main(args[1:])
    ns = _parser().parse_args(args)
    if ns.command == "serve":
        from arz_tui.errors import exit_on_user_error
        from arz_tui.tui.serve import serve

        return exit_on_user_error("arz-tui serve", lambda: serve(
            ns.host, ns.port, ns.serve_results_dir or ns.results_dir, ns.token))
    from arz_tui.tui.app import run_app

    return run_app(ns.results_dir)


if __name__ == "__main__":
    sys.exit(main())
