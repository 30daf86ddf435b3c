"""Training speed: sanity mode wall time (cold and warm numba cache), quick mode wall time, and
production-mode steps/s over 20,000 steps against SB3's DQN on a no-op env with the same spaces.

Run: `.venv/bin/python benchmarks/bench_training.py [--steps 20000] [--scenario lagos]`.
Targets (training issue): production ratio >= 0.90; 100k production steps in <= 3 min on one
core (the seed project quotes 2-4 h).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_env import NoOpEnv

from arz_tui.env import TrafficSignalEnv
from arz_tui.runstore import RunLayout
from arz_tui.runstore.events import read_events
from arz_tui.training.config import production_config

CLI = [sys.executable, "-m", "arz_tui.training.train"]


def timed_run(args: list[str], env: dict[str, str] | None = None) -> float:
    t = time.perf_counter()
    subprocess.run([*CLI, *args], check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t


def loop_rate(run_dir: Path) -> float:
    """Steps/s between the first and last progress events of a finished run: the training
    loop with its checkpoints and evaluations, without start-up and the final evaluation."""
    progress = [e for e in read_events(RunLayout(run_dir).metrics) if e.kind == "progress"]
    first, last = progress[0], progress[-1]
    return (last.step - first.step) / (last.time - first.time)


def production_rate(results: Path, name: str, scenario: str, steps: int) -> tuple[float, dict]:
    """Production mode in this process (the same conditions as the no-op reference)."""
    from arz_tui.training import RLTrainer
    from arz_tui.training.env_builder import EnvConfigBuilder

    cfg = production_config(name, results_dir=results, total_timesteps=steps,
                            sanity_check_config={"enabled": False})
    trainer = RLTrainer(EnvConfigBuilder.for_training(scenario), cfg)
    try:
        trainer.train()
    finally:
        trainer.cleanup()
    return loop_rate(results / name), trainer.summary


def noop_rate(like: TrafficSignalEnv, steps: int) -> float:
    from stable_baselines3 import DQN

    h = production_config("noop").dqn_hyperparams
    model = DQN("MlpPolicy", NoOpEnv(like), learning_rate=h.learning_rate,
                buffer_size=h.buffer_size, learning_starts=h.learning_starts,
                batch_size=h.batch_size, train_freq=h.train_freq,
                target_update_interval=h.target_update_interval,
                exploration_fraction=h.exploration_fraction, seed=0, device="cpu")
    model.learn(h.learning_starts)
    t = time.perf_counter()
    model.learn(steps, reset_num_timesteps=False)
    return steps / (time.perf_counter() - t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--scenario", default="lagos")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results"
        cache = Path(tmp) / "numba-cache"
        env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
        base = ["--scenario", args.scenario, "--results-dir", str(results)]
        cold = timed_run(["--mode", "sanity", "--name", "sanity_cold", *base], env)
        warm = timed_run(["--mode", "sanity", "--name", "sanity_warm", *base], env)
        quick = timed_run(["--mode", "quick", "--name", "quick", *base], env)
        print(f"sanity mode, {args.scenario}: {cold:.1f} s with a cold numba cache, {warm:.1f} s "
              "warm (whole process: imports, sanity checks, 100 steps, evaluations)")
        print(f"quick mode, {args.scenario}: {quick:.1f} s for 5,000 steps (whole process)")

        rates, noops = [], []
        like = TrafficSignalEnv(scenario=args.scenario)
        for k in range(args.rounds):
            # Paired rounds: this machine class's speed drifts by +-10 % between runs.
            rate, summary = production_rate(results, f"prod{k}", args.scenario, args.steps)
            rates.append(rate)
            noops.append(noop_rate(like, args.steps))
    ratios = [r / n for r, n in zip(rates, noops, strict=True)]
    ratio = float(np.median(ratios))
    print(f"\nproduction mode, {args.steps:,} steps on {args.scenario} (checkpoints every 1,000 "
          "with the replay buffer, evaluation every 5,000 on 10 episodes), "
          f"{args.rounds} paired rounds:")
    print(f"  training loop  median {np.median(rates):8,.0f} steps/s  "
          f"(rounds {min(rates):,.0f}-{max(rates):,.0f})")
    print(f"  SB3 DQN on a no-op env with the same spaces: median {np.median(noops):8,.0f} "
          f"steps/s (rounds {min(noops):,.0f}-{max(noops):,.0f})")
    print(f"  ratio {ratio:.3f}   (target >= 0.90: {'ok' if ratio >= 0.9 else 'MISSED'})")
    print(f"  100,000 production steps at this rate: {100_000 / np.median(rates) / 60:.1f} min "
          "(target <= 3)")
    rl, ft = summary["rl"], summary["fixed_time"]
    print(f"  after {args.steps:,} steps: RL mean delay {rl['mean_delay_s']:.1f} s/veh vs "
          f"fixed time {ft['mean_delay_s']:.1f}")


if __name__ == "__main__":
    main()
