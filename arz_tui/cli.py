"""`arz-tui` entry point: the TUI by default; `run` (or `--batch`) trains headless, `report`
compares trained policies with the baselines, `tune` searches hyper-parameters, `serve` shows
the UI in a browser.

`run`/`--batch` never imports textual (the import-contract test holds it to that).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from arz_tui.argparsing import Parser, port

COMMANDS: dict[str, str] = {
    "run": "train a DQN controller headless (same as --batch): progress, checkpoints, "
           "evaluations against fixed time; --seeds 0-4 trains a seed group",
    "report": "evaluate trained runs or seed groups and the five baselines on the same seeded "
              "episodes; writes report.md, report.json and plots",
    "tune": "search DQN hyper-parameters with optuna (several workers may share a study)",
    "import": "convert a SUMO network (.net.xml, optional routes) into a scenario file",
    "serve": "serve the terminal UI in a web browser (textual-serve)",
}

EPILOG = """\
examples:
  arz-tui                                   the terminal UI (launch form, dashboard, results)
  arz-tui run --mode sanity                 a 100-step check of the whole pipeline (start here)
  arz-tui --batch --mode quick --scenario riemann
  arz-tui run --mode production --seeds 0-4 --jobs 2 --name lagos_prod
  arz-tui report lagos_prod                 RL against Webster, actuated, max-pressure, SOTL
  arz-tui tune --scenario lagos --trials 20 --study lagos_dqn
  arz-tui import town.net.xml --routes town.rou.xml -o town.yaml
  arz-tui serve --port 8000

Each command has its own --help (arz-tui run --help, arz-tui report --help, ...)."""


def _parser() -> argparse.ArgumentParser:
    p = Parser(prog="arz-tui", description="Train DQN traffic-signal controllers on a fast "
               "two-class ARZ simulator\n(motorcycles and cars). Without a command: the "
               "terminal UI.", epilog=EPILOG,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results-dir", type=Path, default=Path("results"),
                   help="folder of run folders (default ./results)")
    p.add_argument("--batch", action="store_true",
                   help="train headless with the flags that follow (same as the run command)")
    sub = p.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    for name in ("run", "report", "tune", "import"):
        # Parsed by the command's own parser (the flags after the name go there untouched).
        sub.add_parser(name, help=COMMANDS[name], add_help=False)
    serve = sub.add_parser("serve", help=COMMANDS["serve"], description=COMMANDS["serve"])
    serve.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    serve.add_argument("--port", type=port, default=8000, help="port (default 8000)")
    serve.add_argument("--token", default=None, help="secret a browser must present "
                       "(?token=...); required, and generated if not given, off loopback")
    serve.add_argument("--results-dir", type=Path, default=None, dest="serve_results_dir",
                       help="folder of run folders (default ./results)")
    return p


def _batch(args: list[str], prog: str) -> int:
    from arz_tui.training.train import main as batch_main

    return batch_main(args, prog=prog)


def _report(args: list[str]) -> int:
    from arz_tui.report.cli import main as report_main

    return report_main(args)


def _tune(args: list[str]) -> int:
    from arz_tui.tuning.tune import main as tune_main

    return tune_main(args)


def _import(args: list[str]) -> int:
    from arz_tui.netimport.cli import main as import_main

    return import_main(args)


_DISPATCH: dict[str, Callable[[list[str]], int]] = {
    "run": lambda rest: _batch(rest, "arz-tui run"),
    "report": _report,
    "tune": _tune,
    "import": _import,
}


def _training_flag(args: list[str]) -> str | None:
    """The first flag of `args` that only headless training knows (e.g. --mode), if any."""
    from arz_tui.training.train import build_parser

    ours = {"--results-dir", "-h", "--help"}
    known = {opt for action in build_parser()._actions for opt in action.option_strings}
    for token in args:
        flag = token.split("=", 1)[0]
        if flag.startswith("-") and flag in known and flag not in ours:
            return flag
    return None


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--batch" in args:
        args.remove("--batch")
        return _batch(args, "arz-tui --batch")
    if args and args[0] in _DISPATCH:
        return _DISPATCH[args[0]](args[1:])
    if (args[:1] != ["serve"]) and (flag := _training_flag(args)) is not None:
        print(f"arz-tui: error: {flag} is a training flag: train headless with "
              f"arz-tui run {' '.join(args)} (or arz-tui --batch ...), or start the terminal "
              "UI with no flags and set it in the form", file=sys.stderr)
        return 2
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
