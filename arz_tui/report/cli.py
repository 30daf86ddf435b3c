"""`arz-tui report RUN_OR_GROUP... [--demand light,moderate,heavy,saturated]`."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from arz_tui.argparsing import Parser, path, positive_int
from arz_tui.errors import UserError, exit_on_user_error
from arz_tui.report.evaluate import DEMAND_LEVELS, evaluate_all, learning_curves, resolve
from arz_tui.report.timespace import read_diagrams
from arz_tui.report.write import write_report
from arz_tui.runstore.layout import report_dir


def build_parser(prog: str = "arz-tui report") -> argparse.ArgumentParser:
    p = Parser(prog=prog, description="Evaluate trained policies and the five baselines "
                "(fixed-time, Webster, actuated, max-pressure, SOTL) on the same seeded "
                "episodes and write report.md, report.json and PNG plots.")
    p.add_argument("runs", nargs="+", metavar="RUN_OR_GROUP",
                   help="run or seed-group names in --results-dir, or their paths")
    p.add_argument("--demand", default="light,moderate,heavy,saturated",
                   help="demand levels, comma separated (default all four)")
    p.add_argument("--episodes", type=positive_int, default=5,
                   help="seeded episodes per controller and level (default 5)")
    p.add_argument("--seed", type=int, default=1000, help="first episode seed (default 1000)")
    p.add_argument("--model", choices=("best", "final"), default="best",
                   help="which trained model of each run (default best, else final)")
    p.add_argument("--results-dir", type=path, default=Path("results"),
                   help="folder of run folders (default ./results)")
    p.add_argument("--out", type=path, default=None,
                   help="output folder (default RESULTS/FIRST_RUN_OR_GROUP/report)")
    return p


def main(argv: list[str] | None = None, prog: str = "arz-tui report") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(prog).parse_args(argv)
    return exit_on_user_error(prog, lambda: _report(args, argv, prog))


def _report(args: argparse.Namespace, argv: list[str], prog: str) -> int:
    from rich.console import Console

    console = Console(highlight=False)
    levels = [lv.strip() for lv in args.demand.split(",") if lv.strip()]
    bad = [lv for lv in levels if lv not in DEMAND_LEVELS]
    if bad or not levels:
        raise UserError(f"--demand {args.demand!r}: use levels from "
                        f"{', '.join(DEMAND_LEVELS)}, comma separated")
    groups = resolve(args.runs, args.results_dir)
    out = args.out or report_dir(args.results_dir, groups[0].label)

    def progress(level: str, label: str, row: dict) -> None:
        console.print(f"  {level:10s} {label:24s} mean delay "
                      f"{row['mean_delay_s']['mean']:7.1f} s/veh  queue "
                      f"{row['mean_queue_veh']['mean']:6.1f} veh", markup=False)

    console.print(f"evaluating {', '.join(g.label for g in groups)} and 5 baselines on "
                  f"{args.episodes} episodes x {len(levels)} demand levels", markup=False)
    results = evaluate_all(groups, levels, args.episodes, args.seed, args.model, progress)
    curves = learning_curves(groups)
    files = write_report(results, curves, out, shlex.join([prog.split()[0], *prog.split()[1:],
                                                           *argv]), read_diagrams(groups))
    for written in files:
        console.print(f"wrote {written}", markup=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(prog="python -m arz_tui.report.cli"))
