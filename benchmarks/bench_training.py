"""Training speed with N replicas per batched step, against SB3's own ceiling.

1. DQN training on lagos (production hyperparameters per transition) with N = 1, 2, 4, 8, 16,
   32 replicas, and SB3's DQN on a no-op single env with the same spaces, in alternating
   rounds of one process (this machine class drifts by +-10 % between runs; other processes
   on a shared machine more): transitions/s, ratio to the no-op, and the time split
   (simulator / env read-outs / policy / gradient / SB3 loop).
2. Production mode end to end (RLTrainer, 100,000 transitions with its checkpoints every 1,000
   and evaluations every 5,000 on 10 episodes, the fixed-time reference and the final
   evaluation): wall time, the training loop's transitions/s, its ratio to the no-op (measured
   before and after it), and the split including callbacks (checkpoints, evaluations).
3. `--modes`: sanity (cold and warm numba cache) and quick mode wall times, whole process.

`--device cuda` runs everything on the GPU with the GPU configuration (200 replicas, minibatch
256: `TrainingConfig.resolved("cuda")`); `--gpu-config` uses that configuration on the CPU
(the same code path, as the tests do).

Run: `.venv/bin/python benchmarks/bench_training.py [--device cpu|cuda] [--gpu-config]
[--sizes 1,2,4,8,16,32] [--rounds 3] [--steps 8000] [--production-steps 100000] [--modes]`.
One core: torch uses one thread.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_env import NoOpEnv

from arz_tui.env import TrafficSignalEnv
from arz_tui.env.vec_env import TrafficVecEnv
from arz_tui.runstore.events import EventKind, read_events
from arz_tui.training.config import TrainingConfig, production_config
from arz_tui.training.dqn import BatchedDQN, rollout_schedule
from sim.batch import BatchSimulator

CLI = [sys.executable, "-m", "arz_tui.training.train"]
PARTS = ("simulator", "env", "policy", "gradient", "callbacks")


class Split:
    """Exclusive wall time per part, by wrapping methods of classes for this process;
    everything inside callbacks (evaluations included) counts as callbacks."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._stack: list[list[Any]] = []
        self._undo: list[Callable[[], None]] = []

    def wrap(self, owner: Any, name: str, part: str) -> None:
        original = getattr(owner, name)
        split = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            if split._stack and split._stack[0][0] == "callbacks":
                return original(*args, **kwargs)
            frame = [part, time.perf_counter(), 0.0]
            split._stack.append(frame)
            try:
                return original(*args, **kwargs)
            finally:
                split._stack.pop()
                elapsed = time.perf_counter() - frame[1]
                split.seconds[part] += elapsed - frame[2]
                if split._stack:
                    split._stack[-1][2] += elapsed

        setattr(owner, name, timed)
        self._undo.append(lambda: setattr(owner, name, original))

    def restore(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo = []

    @contextmanager
    def timing(self):
        from stable_baselines3.common.callbacks import CallbackList

        self.wrap(BatchSimulator, "advance", "simulator")
        self.wrap(TrafficVecEnv, "step_wait", "env")
        self.wrap(BatchedDQN, "predict", "policy")
        self.wrap(BatchedDQN, "train", "gradient")
        for hook in ("on_step", "on_rollout_start", "on_rollout_end"):
            self.wrap(CallbackList, hook, "callbacks")
        try:
            yield self
        finally:
            self.restore()

    def line(self, total: float) -> str:
        parts = [f"{p} {self.seconds.get(p, 0.0) / total:4.0%}" for p in PARTS]
        other = 1.0 - sum(self.seconds.values()) / total
        return " / ".join(parts) + f" / SB3 loop {other:4.0%}"


def hyper(config: TrainingConfig) -> dict[str, Any]:
    h = config.dqn_hyperparams
    return {"learning_rate": h.learning_rate, "buffer_size": h.buffer_size,
            "learning_starts": h.learning_starts, "batch_size": h.batch_size,
            "target_update_interval": h.target_update_interval,
            "exploration_fraction": h.exploration_fraction, "seed": 0}


def noop_model(like: TrafficSignalEnv, config: TrainingConfig, device: str):
    """SB3's stock DQN on a single no-op env with lagos' spaces: SB3's own ceiling."""
    from stable_baselines3 import DQN

    h = config.dqn_hyperparams
    return DQN("MlpPolicy", NoOpEnv(like), train_freq=h.train_freq,
               gradient_steps=h.gradient_steps, device=device, **hyper(config))


def batched_model(n: int, config: TrainingConfig, device: str):
    from stable_baselines3.common.vec_env import VecMonitor

    h = config.dqn_hyperparams
    train_freq, gradient_steps = rollout_schedule(h.train_freq, h.gradient_steps, n)
    return BatchedDQN("MlpPolicy", VecMonitor(TrafficVecEnv(scenario="lagos", n_envs=n)),
                      train_freq=train_freq, gradient_steps=gradient_steps, device=device,
                      policy_kwargs={"optimizer_kwargs": {"fused": True}}, **hyper(config))


def rate(model: Any, steps: int, split: Split | None = None) -> tuple[float, float]:
    """(transitions per wall second, per CPU second of this process) of `steps` more
    transitions (a multiple of the model's n_envs). On a shared machine the wall rate
    includes waiting for a core; the CPU rate does not."""
    steps -= steps % model.n_envs
    t, c = time.perf_counter(), time.process_time()
    if split is None:
        model.learn(steps, reset_num_timesteps=False)
    else:
        with split.timing():
            model.learn(steps, reset_num_timesteps=False)
    return steps / (time.perf_counter() - t), steps / (time.process_time() - c)


def paired_sizes(sizes: list[int], config: TrainingConfig, device: str, rounds: int,
                 steps: int) -> tuple[dict, dict]:
    like = TrafficSignalEnv(scenario="lagos")
    models: dict[Any, Any] = {"noop": noop_model(like, config, device)}
    for n in sizes:
        models[n] = batched_model(n, config, device)
    start = config.dqn_hyperparams.learning_starts
    for model in models.values():  # past learning_starts: what follows trains
        model.learn(start + 1000 - (start + 1000) % model.n_envs)
    rates: dict[Any, list[tuple[float, float]]] = {k: [] for k in models}
    splits = {n: Split() for n in sizes}
    for _ in range(rounds):
        for key, model in models.items():
            noop = key == "noop"
            rates[key].append(rate(model, steps // 4 if noop else steps,
                                   None if noop else splits[key]))
    return rates, splits


def production(results: Path, config: TrainingConfig) -> tuple[float, float, Split, dict]:
    """(wall s of RLTrainer.train, loop transitions/s, split, summary)."""
    from arz_tui.training import RLTrainer
    from arz_tui.training.env_builder import EnvConfigBuilder

    trainer = RLTrainer(EnvConfigBuilder.for_training("lagos"), config)
    split = Split()
    t = time.perf_counter()
    try:
        with split.timing():
            trainer.train()
    finally:
        trainer.cleanup()
    wall = time.perf_counter() - t
    progress = [e for e in read_events(results / config.experiment_name / "logs" /
                                       "metrics.jsonl") if e.kind == EventKind.PROGRESS]
    loop = (progress[-1].step - progress[0].step) / (progress[-1].time - progress[0].time)
    return wall, loop, split, trainer.summary or {}


def modes(results: Path) -> None:
    def timed_run(args: list[str], env: dict[str, str]) -> float:
        t = time.perf_counter()
        subprocess.run([*CLI, *args], check=True, stdout=subprocess.DEVNULL, env=env)
        return time.perf_counter() - t

    env = dict(os.environ, NUMBA_CACHE_DIR=str(results / "numba-cache"))
    base = ["--scenario", "lagos", "--results-dir", str(results)]
    cold = timed_run(["--mode", "sanity", "--name", "sanity_cold", *base], env)
    warm = timed_run(["--mode", "sanity", "--name", "sanity_warm", *base], env)
    quick = timed_run(["--mode", "quick", "--name", "quick", *base], env)
    print(f"\nsanity mode, lagos: {cold:.1f} s with a cold numba cache, {warm:.1f} s warm "
          "(whole process: imports, sanity checks, 100 steps, evaluations)")
    print(f"quick mode, lagos: {quick:.1f} s for 5,000 transitions (whole process)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--gpu-config", action="store_true",
                        help="the GPU configuration (default with --device cuda)")
    parser.add_argument("--sizes", default="1,2,4,8,16,32")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=8000,
                        help="transitions per round and size (the no-op: a quarter)")
    parser.add_argument("--production-steps", type=int, default=100_000)
    parser.add_argument("--skip-production", action="store_true")
    parser.add_argument("--modes", action="store_true", help="also sanity and quick wall times")
    args = parser.parse_args()
    torch.set_num_threads(1)
    gpu = args.gpu_config or args.device == "cuda"
    config = production_config("bench", device=args.device,
                               total_timesteps=args.production_steps,
                               sanity_check_config={"enabled": False})
    config = config.resolved("cuda" if gpu else "cpu")
    sizes = [int(s) for s in args.sizes.split(",")]
    if gpu and config.n_envs not in sizes:
        sizes.append(config.n_envs)
    load = os.getloadavg()
    print(f"device {args.device}, {'GPU' if gpu else 'CPU'} configuration (minibatch "
          f"{config.dqn_hyperparams.batch_size}, {config.dqn_hyperparams.gradient_steps} "
          f"gradient step per {config.dqn_hyperparams.train_freq} transitions), torch threads "
          f"{torch.get_num_threads()}, load average {load[0]:.1f} on {os.cpu_count()} cores")

    rates, splits = paired_sizes(sizes, config, args.device, args.rounds, args.steps)

    def med(key: Any, k: int) -> float:
        return float(np.median([r[k] for r in rates[key]]))

    print(f"\nDQN training on lagos, {args.rounds} alternating rounds of {args.steps:,} "
          "transitions per size (medians; wall and CPU-second rates, ratios of paired rounds):")
    print(f"  SB3 DQN, no-op single env, same spaces: {med('noop', 0):8,.0f} wall "
          f"{med('noop', 1):8,.0f} CPU transitions/s")
    for n in sizes:
        wall = [a[0] / b[0] for a, b in zip(rates[n], rates["noop"], strict=True)]
        cpu = [a[1] / b[1] for a, b in zip(rates[n], rates["noop"], strict=True)]
        elapsed = sum((args.steps - args.steps % n) / x[0] for x in rates[n])
        print(f"  N = {n:3d}: {med(n, 0):8,.0f} wall {med(n, 1):8,.0f} CPU transitions/s, "
              f"{np.median(wall):4.2f} x the no-op (CPU {np.median(cpu):4.2f}, rounds "
              f"{min(cpu):.2f}-{max(cpu):.2f}); {splits[n].line(elapsed)}")

    if not args.skip_production:
        with tempfile.TemporaryDirectory() as tmp:
            results = Path(tmp)
            run_config = config.model_copy(update={"results_dir": results})
            like = TrafficSignalEnv(scenario="lagos")
            before = noop_model(like, config, args.device)
            before.learn(config.dqn_hyperparams.learning_starts + 1000)
            ref = [rate(before, 2000)]
            cpu0 = time.process_time()
            wall, loop, split, summary = production(results, run_config)
            cpu = time.process_time() - cpu0
            ref.append(rate(before, 2000))
            total_steps = args.production_steps
            print(f"\nproduction mode, lagos, {total_steps:,} transitions with n_envs "
                  f"{run_config.n_envs} (checkpoints every "
                  f"{run_config.checkpoint_strategy.save_freq:,} with the replay buffer, "
                  f"evaluation every {run_config.evaluation_strategy.eval_freq:,} on "
                  f"{run_config.evaluation_strategy.n_eval_episodes} episodes):")
            print(f"  wall time of RLTrainer.train (reference runs, training, final "
                  f"evaluation): {wall:.1f} s, {cpu:.1f} CPU s of this process   (target "
                  f"<= 25 s: {'ok' if wall <= 25 else 'MISSED'})")
            ratio = loop / float(np.mean([r[0] for r in ref]))
            print(f"  training loop {loop:,.0f} transitions/s (wall); SB3 no-op before/after "
                  f"{ref[0][0]:,.0f}/{ref[1][0]:,.0f}: ratio {ratio:.2f}   (target >= 3: "
                  f"{'ok' if ratio >= 3 else 'MISSED'})")
            print(f"  split of the whole run: {split.line(wall)}")
            rl, ft = summary.get("rl", {}), summary.get("fixed_time", {})
            if rl and ft:
                print(f"  final evaluation: RL mean delay {rl['mean_delay_s']:.1f} s/veh vs "
                      f"fixed time {ft['mean_delay_s']:.1f}")
    if args.modes:
        with tempfile.TemporaryDirectory() as tmp:
            modes(Path(tmp))
    load = os.getloadavg()
    print(f"\nload average at the end {load[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
