"""Shared-parameter DQN (per-signal control) against the baselines on a network.

Trains one per-signal DQN per seed in the given mode(s) (the run folders go under
--results-dir), then scores every trained policy and every baseline controller (fixed time,
Webster, actuated, max-pressure, SOTL; one phase per signal) on the same seeded evaluation
episodes, and prints a Markdown table: mean delay, mean queue and throughput as mean +- std
over the training seeds (baselines: over the episodes).

A run folder that already holds a final model is scored again, not retrained.

Run (README table, grid4x4 at heavy demand):
    .venv/bin/python benchmarks/per_signal_table.py --scenario grid4x4 --modes quick \
        --seeds 0 1 2 [--modes quick production]
One process, one core for the simulator and torch; say what else ran on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from arz_tui.baselines import CONTROLLERS, make_controller
from arz_tui.env import EnvConfig
from arz_tui.runstore import RunLayout
from arz_tui.training import TrainingConfig, train_model
from arz_tui.training.env_builder import EnvConfigBuilder
from arz_tui.training.evaluation import run_episodes
from arz_tui.training.per_signal import run_signal_policy_episodes

EVAL_SEED = 50_000
"""Evaluation episodes: seeds EVAL_SEED, EVAL_SEED + 1, ... (no training run uses them)."""


def score(results: list[dict[str, float]], episode_s: float) -> dict[str, float]:
    delay = np.array([r["mean_delay_s"] for r in results])
    queue = np.array([r["mean_queue_veh"] for r in results])
    served = np.array([r["vehicles_served"] for r in results]) * 3600.0 / episode_s
    return {"mean_delay_s": float(delay.mean()), "mean_queue_veh": float(queue.mean()),
            "throughput_vph": float(served.mean())}


def train_and_score(env_config: EnvConfig, mode: str, seed: int, results_dir: Path,
                    seeds: list[int], max_hours: float | None = None
                    ) -> tuple[dict[str, float], float]:
    name = f"{Path(env_config.scenario).stem}_{mode}_s{seed}"
    cfg = TrainingConfig.build(experiment_name=name, mode=mode, seed=seed,
                               control="per-signal", results_dir=results_dir,
                               max_hours=max_hours)
    final = RunLayout(cfg.run_dir).final_model
    start = time.perf_counter()
    if final.is_file():
        # Trained by an earlier invocation: score it again (e.g. after a baseline changed).
        from stable_baselines3 import DQN

        model = DQN.load(final, device="cpu")
        wall = float("nan")
    else:
        model = train_model(env_config, cfg)
        wall = time.perf_counter() - start
    results, _ = run_signal_policy_episodes(env_config, model, seeds)
    return score(results, env_config.episode_s), wall


def fmt(values: list[float], digits: int) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", default="grid4x4")
    p.add_argument("--demand", default="heavy")
    p.add_argument("--modes", nargs="+", default=["quick"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--episodes", type=int, default=5, help="evaluation episodes")
    p.add_argument("--results-dir", type=Path, default=Path("results/per_signal_table"))
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--max-hours", type=float, default=None, help="wall-clock budget per "
                   "training run (a run stopped by it is scored at its last step)")
    args = p.parse_args()
    env_config = EnvConfigBuilder.for_training(args.scenario, demand_level=args.demand)
    seeds = [EVAL_SEED + i for i in range(args.episodes)]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    rows: dict[str, dict[str, list[float]]] = {}
    notes: list[str] = []
    for name in CONTROLLERS:
        results, _ = run_episodes(env_config, make_controller(name), seeds,
                                  joint_action=False)
        per_episode = [score([r], env_config.episode_s) for r in results]
        rows[name] = {k: [s[k] for s in per_episode] for k in per_episode[0]}
    for mode in args.modes:
        label = f"DQN per-signal ({mode})"
        rows[label] = {}
        for seed in args.seeds:
            cpu = time.process_time()
            s, wall = train_and_score(env_config, mode, seed, args.results_dir, seeds,
                                      args.max_hours)
            notes.append(f"{label} seed {seed}: trained in {wall:.0f} s wall, "
                         f"{time.process_time() - cpu:.0f} s CPU")
            print(notes[-1], s, flush=True)
            for k, v in s.items():
                rows[label].setdefault(k, []).append(v)
    print(f"\n{args.scenario}, demand {args.demand}, {args.episodes} evaluation episodes "
          f"(seeds {seeds[0]}-{seeds[-1]}); DQN: mean ± std over training seeds "
          f"{args.seeds}, baselines: over episodes")
    print("| controller | mean delay (s/veh) | mean queue (veh) | throughput (veh/h) |")
    print("|---|---|---|---|")
    for label, r in rows.items():
        print(f"| {label} | {fmt(r['mean_delay_s'], 1)} | {fmt(r['mean_queue_veh'], 1)} | "
              f"{fmt(r['throughput_vph'], 0)} |")
    for note in notes:
        print(f"- {note}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
