"""`arz-tui --batch` / `python -m arz_tui.training.train`: headless training with rich output.

Exit codes: 0 finished (or the --max-hours budget was reached: resume with --resume),
2 a user error or a failed sanity check (one line / the report, no traceback, nothing in the
results folder overwritten), 130 stopped by Ctrl-C after saving a checkpoint.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from arz_tui.argparsing import (
    Parser,
    non_negative_int,
    nonempty,
    path,
    positive_float,
    positive_int,
)
from arz_tui.errors import UserError, exit_on_user_error

MODES = ("sanity", "quick", "production", "kaggle")
DEVICES = ("cpu", "cuda", "auto")


def build_parser(prog: str = "arz-tui --batch") -> argparse.ArgumentParser:
    p = Parser(prog=prog, description="Train a DQN traffic-signal controller headless.")
    p.add_argument("--mode", choices=MODES, default=None,
                   help="preset (default production): sanity 100 steps, quick 5,000, "
                        "production 100,000, kaggle 200,000")
    p.add_argument("--scenario", type=nonempty, default=None,
                   help="built-in scenario (simple, lagos, riemann) or a scenario file "
                        "(default lagos)")
    p.add_argument("--device", choices=DEVICES, default=None,
                   help="cpu (default), cuda, or auto (cuda when available; kaggle default)")
    p.add_argument("--timesteps", type=positive_int, default=None,
                   help="total env steps (overrides the mode's)")
    p.add_argument("--n-envs", type=positive_int, default=None,
                   help="environments stepped together in one batched simulator (default: "
                        "the mode's, 8 on CPU, 1 in sanity mode, 200 on a GPU); step counts "
                        "and DQN settings stay per transition")
    p.add_argument("--control", choices=("auto", "joint", "per-signal"), default=None,
                   help="joint: one agent picks all signals' phases; per-signal: one agent "
                        "per signal sharing one DQN (a mode's step counts are multiplied by "
                        "the signals); auto (default): per-signal above 3 signals")
    p.add_argument("--name", type=nonempty, default=None,
                   help="experiment name (default SCENARIO_MODE); an existing one is never "
                        "overwritten: use --resume to continue it")
    p.add_argument("--seed", type=non_negative_int, default=None, help="seed (default 0)")
    p.add_argument("--resume", action="store_true",
                   help="continue the newest complete checkpoint of --name")
    p.add_argument("--tensorboard", action="store_true",
                   help="write TensorBoard logs to RUN/logs/tb (needs the tensorboard package: "
                        "pip install -e \".[tensorboard]\"); a resume continues them")
    p.add_argument("--no-sanity-checks", action="store_true",
                   help="skip the pre-training checks (not recommended)")
    p.add_argument("--results-dir", type=path, default=None,
                   help="folder of run folders (default ./results)")
    p.add_argument("--max-hours", type=positive_float, default=None,
                   help="wall-clock budget: checkpoint and exit 0 when reached "
                        "(default 8.5 in kaggle mode)")
    p.add_argument("--demand-level", type=demand_level, default=None,
                   help="demand profile multiplier: light 0.5, moderate 0.75, heavy 1.0 (the "
                        "scenario's profile, default), saturated 1.25, a number >= 0, or random "
                        "(a named level drawn per episode)")
    p.add_argument("--seeds", default=None,
                   help="train one run per seed, e.g. 0,1,2 or 0-4: folders NAME_sSEED and an "
                        "aggregate (mean, 95%% interval) in NAME/")
    p.add_argument("--jobs", type=positive_int, default=1,
                   help="with --seeds: runs at the same time (default 1)")
    p.add_argument("--events-stdout", action="store_true",
                   help="print the event stream as JSON lines on stdout instead of the progress "
                        "display (the TUI runs training this way)")
    p.add_argument("--config", type=path, default=None,
                   help="a saved training_config.json, or a JSON/YAML TrainingConfig; flags "
                        "override it")
    return p


def demand_level(text: str) -> str | float:
    """An argparse type: a named demand level, `random`, or a multiplier >= 0."""
    from arz_tui.env.config import DEMAND_LEVELS

    if text in DEMAND_LEVELS or text == "random":
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a demand level: {', '.join(DEMAND_LEVELS)}, random or a number "
            ">= 0") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a number >= 0")
    return value


def _load_config_file(path: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(training fields, env fields or None) from --config."""
    import yaml

    from arz_tui.runstore.files import Unreadable, parse_json, read_bytes

    try:
        raw = read_bytes(path, cap=4 * 2**20)
        text = raw.decode("utf-8")
    except Unreadable as err:
        raise UserError(f"--config {err.path}: cannot be read ({err.reason}); give an "
                        "existing training_config.json or TrainingConfig file") from None
    except UnicodeDecodeError:
        raise UserError(f"--config {path}: not UTF-8 text; give a JSON or YAML file") from None
    try:
        data = parse_json(text, path) if path.suffix == ".json" else yaml.safe_load(text)
    except Unreadable as err:
        raise UserError(f"--config {path}: {err.reason}") from None
    except RecursionError:
        raise UserError(f"--config {path}: nested too deeply; flatten it") from None
    except (ValueError, yaml.YAMLError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserError(f"--config {path}: not valid JSON/YAML ({first})") from None
    if not isinstance(data, dict):
        raise UserError(f"--config {path}: expected a mapping of TrainingConfig fields")
    if "training" in data:  # a saved training_config.json: the run store's record
        from pydantic import ValidationError

        from arz_tui.runstore.records import SavedRunConfig

        try:
            saved = SavedRunConfig.model_validate(data)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise UserError(f"--config {path}: not a saved run config ({where}: "
                            f"{first['msg']})") from None
        env = saved.env.model_dump(mode="python", exclude_unset=True)
        return saved.training.model_dump(mode="python", exclude_unset=True), env
    return dict(data), None


def configs_from_args(args: argparse.Namespace) -> tuple[Any, Any]:
    """(EnvConfig, TrainingConfig) from flags and an optional --config file."""
    from arz_tui.env import EnvConfig
    from arz_tui.training.config import TrainingConfig
    from arz_tui.training.env_builder import EnvConfigBuilder

    training: dict[str, Any] = {}
    env_fields: dict[str, Any] | None = None
    if args.config is not None:
        training, env_fields = _load_config_file(args.config)
    if args.mode is not None:
        training["mode"] = args.mode
    mode = training.get("mode", "production")

    demand: dict[str, Any] = {}
    if args.demand_level == "random":
        demand = {"random_demand_level": True}
    elif args.demand_level is not None:
        demand = {"demand_level": args.demand_level, "random_demand_level": False}
    if env_fields is not None:
        if args.scenario is not None:
            env_fields["scenario"] = args.scenario
        env_config = EnvConfig.build(**{**env_fields, **demand})
    else:
        env_config = EnvConfigBuilder.for_training(args.scenario or "lagos", **demand)

    overrides = {"total_timesteps": args.timesteps, "device": args.device, "seed": args.seed,
                 "n_envs": args.n_envs, "control": args.control,
                 "results_dir": args.results_dir, "max_hours": args.max_hours}
    training.update({k: v for k, v in overrides.items() if v is not None})
    if args.resume:
        training["resume_training"] = True
    if args.tensorboard:
        training["tensorboard"] = True
    if args.no_sanity_checks:
        training.setdefault("sanity_check_config", {})["enabled"] = False
    if args.name is not None:
        training["experiment_name"] = args.name
    elif "experiment_name" not in training:
        # Generated network names (grid:4x4?lanes=1) hold characters a folder name may not.
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(env_config.scenario).stem).strip("-.")
        training["experiment_name"] = f"{stem or 'scenario'}_{mode}"
    config = TrainingConfig.build(**training)
    if config.tensorboard:
        # Before any run folder (or --seeds child) exists: one line, exit 2.
        from arz_tui.training.tensorboard_log import require_tensorboard

        require_tensorboard()
    return env_config, config


def run(args: argparse.Namespace) -> int:
    """Train as the flags say; returns the exit code."""
    from rich.console import Console

    from arz_tui.training.batch import BatchPrinter
    from arz_tui.training.sanity import SanityCheckError
    from arz_tui.training.trainer import RLTrainer

    console = Console(highlight=False)
    err_console = Console(stderr=True, highlight=False)
    env_config, training_config = configs_from_args(args)
    listener = _stdout_events if args.events_stdout else BatchPrinter(console)
    trainer = RLTrainer(env_config, training_config, [listener])

    def on_sigint(signum: int, frame: Any) -> None:
        # First Ctrl-C (or SIGTERM, e.g. from a dying --seeds parent): stop cleanly with a
        # checkpoint; a second Ctrl-C interrupts at once.
        trainer.request_stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, on_sigint)
        signal.signal(signal.SIGTERM, on_sigint)
    try:
        trainer.train()
    except SanityCheckError as err:
        err_console.print(f"[red]{err}[/]")
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        trainer.cleanup()
        if previous is not None:
            # A Ctrl-C arriving now (training is over) must not turn into a traceback.
            signal.signal(signal.SIGINT, signal.SIG_IGN if args.events_stdout else previous)
    say = err_console.print if args.events_stdout else console.print
    if trainer.status == "interrupted":
        if trainer.stop_reason == "time budget reached":
            say(f"time budget of {training_config.max_hours:g} h reached; resume "
                f"with --resume --name {training_config.experiment_name}")
            return 0
        return 130
    say(f"results in {training_config.run_dir}")
    return 0


def _stdout_events(event: Any) -> None:
    sys.stdout.write(event.to_json() + "\n")
    sys.stdout.flush()


_NOT_PASSED_ON = {"--seeds": 1, "--jobs": 1, "--name": 1, "--seed": 1, "--events-stdout": 0}


def _member_args(argv: list[str]) -> list[str]:
    """The flags every seed's run gets: all but those the sweep sets itself."""
    out, skip = [], 0
    for token in argv:
        if skip:
            skip -= 1
            continue
        flag = token.split("=", 1)[0]
        if flag in _NOT_PASSED_ON:
            skip = 0 if "=" in token else _NOT_PASSED_ON[flag]
            continue
        out.append(token)
    return out


def run_sweep(args: argparse.Namespace, argv: list[str]) -> int:
    """--seeds: one process per seed, then the aggregate."""

    from arz_tui.runstore import RunLayout, claim_existing, claim_new
    from arz_tui.runstore.reader import is_group
    from arz_tui.runstore.records import GroupStatus
    from arz_tui.training.sweep import parse_seeds, write_marker

    try:
        seeds = parse_seeds(args.seeds)
    except ValueError as err:
        raise UserError(f"--seeds {args.seeds!r}: {err}") from None
    env_config, training_config = configs_from_args(args)  # validates the flags once
    name = training_config.experiment_name
    results = training_config.results_dir
    group = RunLayout(results / name)
    if group.root.exists() and not is_group(group.root):
        raise UserError(f"{group.root} exists and is not a seed group; choose another --name")
    # The group folder is held for the sweep's life: a second sweep of the name fails now.
    claim = claim_existing(group) if group.root.exists() else claim_new(group)
    claim.record_pid()
    try:
        write_marker(results, name, seeds, GroupStatus.RUNNING, os.getpid())
        return _sweep(args, argv, seeds, env_config, training_config)
    finally:
        claim.release()


def _sweep(args: argparse.Namespace, argv: list[str], seeds: list[int], env_config: Any,
           training_config: Any) -> int:
    """Run the seeds, then aggregate what finished (also after a Ctrl-C or SIGTERM)."""
    from rich.console import Console
    from rich.table import Table

    from arz_tui.runstore import GroupLayout
    from arz_tui.training.sweep import aggregate, run_seeds

    name = training_config.experiment_name
    results = training_config.results_dir
    console = Console(highlight=False)
    console.soft_wrap = not console.is_terminal  # piped (the TUI, a log): whole lines
    console.print(f"[bold]{name}[/]: {len(seeds)} seeds ({', '.join(map(str, seeds))}), "
                  f"{args.jobs} at a time, {training_config.mode} mode on "
                  f"{env_config.scenario}")

    def done(run: Any) -> None:
        verdict = "[green]done[/]" if run.code == 0 else f"[red]exit {run.code}[/]"
        console.print(f"  seed {run.seed}: {verdict} {run.error}")

    runs = run_seeds(_member_args(argv), name, seeds, args.jobs, done)
    result = aggregate(results, name, seeds)
    table = Table(title=f"{name}: mean and 95% interval over {len(result['finished'])} seeds")
    table.add_column("metric")
    table.add_column("RL (DQN)", justify="right")
    table.add_column("fixed time", justify="right")
    for key in ("mean_delay_s", "mean_queue_veh", "mean_travel_time_s", "vehicles_served"):
        cells = []
        for controller in ("rl", "fixed_time"):
            m = result["metrics"].get(controller, {}).get(key)
            cells.append("-" if m is None or m["mean"] is None
                         else f"{m['mean']:.1f} ± {m['ci95'] or 0:.1f}")
        table.add_row(key, *cells)
    console.print(table)
    console.print(f"aggregate in {GroupLayout(results, name).aggregate}")
    codes = [r.code for r in runs if r.code not in (None, 0)]
    if any(c == 130 for c in codes):
        return 130
    return codes[0] if codes else 0


def main(argv: list[str] | None = None, prog: str = "arz-tui --batch") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(prog).parse_args(argv)
    if args.seeds is not None:
        return exit_on_user_error(prog, lambda: run_sweep(args, argv))
    return exit_on_user_error(prog, lambda: run(args))


if __name__ == "__main__":
    sys.exit(main(prog="python -m arz_tui.training.train"))
