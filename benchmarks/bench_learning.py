"""Learning quality of batched training: production runs on lagos (heavy demand, the env's
default) with N replicas against one environment, same seeds, same hyperparameters per
transition. Prints the final evaluation's mean delay (10 seeded episodes per run) per seed and
the relative difference of the means (the batching issue's target: within 10 % or better).

Run: `.venv/bin/python benchmarks/bench_learning.py [--seeds 0,1,2] [--n-envs 8]
[--timesteps 100000] [--out results_dir]`. Each production run takes 0.5-2 min on one core.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from arz_tui.training import RLTrainer, production_config
from arz_tui.training.env_builder import EnvConfigBuilder


def run(results: Path, name: str, seed: int, n_envs: int, steps: int) -> dict:
    cfg = production_config(name, results_dir=results, total_timesteps=steps, seed=seed,
                            n_envs=n_envs, sanity_check_config={"enabled": False})
    trainer = RLTrainer(EnvConfigBuilder.for_training("lagos"), cfg)
    t = time.perf_counter()
    try:
        trainer.train()
    finally:
        trainer.cleanup()
    summary = trainer.summary or {}
    return {"seed": seed, "n_envs": n_envs, "wall_s": time.perf_counter() - t,
            "rl_delay": summary["rl"]["mean_delay_s"],
            "fixed_delay": summary["fixed_time"]["mean_delay_s"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--n-envs", type=int, default=8)
    parser.add_argument("--timesteps", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=None, help="keep the runs here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        results = args.out or Path(tmp)
        for seed in seeds:  # alternating, so drifting machine load hits both alike
            for n in (1, args.n_envs):
                row = run(results, f"learn_n{n}_s{seed}", seed, n, args.timesteps)
                rows.append(row)
                print(json.dumps(row), flush=True)
    print(f"\nlagos, heavy demand, production mode ({args.timesteps:,} transitions), final "
          "evaluation mean delay (s/veh, 10 seeded episodes):")
    print(f"  {'seed':>4}  {'1 env':>8}  {f'{args.n_envs} envs':>8}  {'fixed time':>10}  "
          f"{'wall 1 env':>10}  {f'wall {args.n_envs} envs':>12}")
    for seed in seeds:
        one = next(r for r in rows if r["seed"] == seed and r["n_envs"] == 1)
        many = next(r for r in rows if r["seed"] == seed and r["n_envs"] == args.n_envs)
        print(f"  {seed:>4}  {one['rl_delay']:8.1f}  {many['rl_delay']:8.1f}  "
              f"{one['fixed_delay']:10.1f}  {one['wall_s']:9.0f}s  {many['wall_s']:11.0f}s")
    mean_one = float(np.mean([r["rl_delay"] for r in rows if r["n_envs"] == 1]))
    mean_many = float(np.mean([r["rl_delay"] for r in rows if r["n_envs"] == args.n_envs]))
    change = (mean_many - mean_one) / mean_one
    verdict = "ok" if change <= 0.10 else "MISSED"
    print(f"  mean  {mean_one:8.1f}  {mean_many:8.1f}   batched vs single: {change:+.1%} "
          f"(target <= +10 %: {verdict})")


if __name__ == "__main__":
    main()
