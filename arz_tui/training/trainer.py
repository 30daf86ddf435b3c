"""RLTrainer: sanity checks, DQN training with checkpoints and evaluation, exact resume."""

from __future__ import annotations

import gc
import platform
import threading
import time
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from arz_tui.env import EnvConfig, TrafficSignalEnv
from arz_tui.errors import UserError
from arz_tui.training import events as ev
from arz_tui.training.config import TrainingConfig
from arz_tui.training.device import resolve_device
from arz_tui.training.evaluation import (
    PolicyController,
    eval_seeds,
    mean_of,
    run_episodes,
)
from arz_tui.training.events import EventBus, JsonlWriter, Listener, TextLogWriter, process_info
from arz_tui.training.results import (
    BackgroundWriter,
    Checkpoint,
    RunLayout,
    list_checkpoints,
    save_npy_atomic,
    write_bytes_atomic,
    write_json_atomic,
)
from arz_tui.training.sanity import SanityCheckError, SanityReport, run_sanity_checks

BASELINE = "fixed-time"
"""The baseline every evaluation is compared with."""

VERSIONED = ("arz-tui", "numpy", "numba", "torch", "stable-baselines3", "gymnasium", "pydantic")


class ResumeError(UserError):
    """Nothing to resume, or a resume that would silently change the experiment."""


def env_config_dict(env_config: EnvConfig) -> dict[str, Any]:
    """JSON-safe env config (a callable reward is stored by name)."""
    data = env_config.model_dump(mode="python")
    data["reward"] = env_config.reward_name
    return data


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


class RLTrainer:
    """Trains a DQN agent on a TrafficSignalEnv and writes one run folder.

    Progress is published on `self.events` (listeners passed in, plus logs/metrics.jsonl and
    logs/training.log). `request_stop()` (from another thread, or Ctrl-C through the CLI)
    ends training cleanly with a checkpoint.
    """

    def __init__(self, env_config: EnvConfig, training_config: TrainingConfig,
                 listeners: Iterable[Listener] = (),
                 stop_event: threading.Event | None = None) -> None:
        self.env_config = env_config
        self.config = training_config
        self.layout = RunLayout(training_config.run_dir)
        self.events = EventBus()
        for listener in listeners:
            self.events.subscribe(listener)
        self.stop_event = stop_event or threading.Event()
        self.model: Any = None
        self.device: str | None = None
        self.status = "new"
        self.stop_reason: str | None = None
        self.sanity_report: SanityReport | None = None
        self.summary: dict[str, Any] | None = None
        self._writers: list[JsonlWriter | TextLogWriter] = []
        self._envs: list[Any] = []
        self._checkpoint_cb: Any = None
        self._resume_from: Checkpoint | None = None
        self._baseline: tuple[list[int], list[dict[str, float]], np.ndarray] | None = None

    # ------------------------------------------------------------------ public API
    def request_stop(self) -> None:
        """Ask training to stop at the next step (it saves a checkpoint first)."""
        self.stop_event.set()

    def train(self) -> Any:
        """Run sanity checks, train to `total_timesteps`, save, evaluate. Returns the model.

        Raises UserError for problems the user can fix (existing run, nothing to resume,
        incompatible resume, unavailable device) and SanityCheckError when a check fails; in
        both cases before any training and without touching an existing run's files."""
        cfg = self.config
        self.device = resolve_device(cfg.device)
        self._prepare_run_dir()
        # Until the checks pass nothing is written: a failed check leaves results/ as it was.
        early: list[ev.Event] = []
        self.events.subscribe(early.append)
        self.status = "running"
        start = self._resume_from.steps if self._resume_from else 0
        self.events.publish(ev.RUN_STARTED, max(start, 0),
                            message=f"{'resuming' if self._resume_from else 'starting'} "
                                    f"{cfg.experiment_name}",
                            experiment=cfg.experiment_name, mode=cfg.mode,
                            scenario=self.env_config.scenario, device=self.device,
                            total_timesteps=cfg.total_timesteps,
                            resumed_from=self._resume_from.steps if self._resume_from else None,
                            **process_info())
        try:
            if cfg.sanity_check_config.enabled:
                self._sanity()
        except BaseException:
            self.status = "failed"
            raise
        finally:
            self.events.unsubscribe(early.append)
        self.layout.remove_temporaries()
        self.layout.create()
        self._open_logs()
        for event in early:
            for writer in self._writers:
                writer(event)
        try:
            self._write_config()
            self._learn()
        except BaseException as err:
            self._fail(err)
            raise
        return self.model

    def evaluate(self, n_episodes: int | None = None) -> dict[str, Any]:
        """Mean episode metrics of the trained policy and of the fixed-time baseline on the
        same seeded episodes (rewards, delay, queue, travel time, vehicles served)."""
        if self.model is None:
            raise RuntimeError("train() first")
        from arz_tui.baselines import make_controller

        n = n_episodes or self.config.evaluation_strategy.n_eval_episodes
        seeds = eval_seeds(self.config.seed, n)
        rl, rl_ts = run_episodes(self.env_config, PolicyController(
            self.model, self.config.evaluation_strategy.deterministic), seeds, True)
        if self._baseline is not None and self._baseline[0] == seeds:
            # Fixed time is deterministic on these seeded episodes: reuse the reference run.
            _, base, base_ts = self._baseline
        else:
            base, base_ts = run_episodes(self.env_config, make_controller(BASELINE), seeds,
                                         True)
        if rl_ts.size:
            save_npy_atomic(self.layout.timespace("rl"), rl_ts)
            save_npy_atomic(self.layout.timespace("fixed_time"), base_ts)
        return {"step": int(self.model.num_timesteps), "n_episodes": n, "seeds": seeds,
                "rl": mean_of(rl), "fixed_time": mean_of(base)}

    def cleanup(self) -> None:
        """Close envs and log files (idempotent)."""
        for env in self._envs:
            env.close()
        self._envs = []
        for writer in self._writers:
            self.events.unsubscribe(writer)
            writer.close()
        self._writers = []

    # ------------------------------------------------------------------ steps of train()
    def _prepare_run_dir(self) -> None:
        cfg = self.config
        layout = self.layout
        exists = layout.root.exists() and any(layout.root.iterdir())
        if cfg.resume_training:
            if not exists:
                raise ResumeError(f"nothing to resume: {layout.root} does not exist; start "
                                  "without --resume")
            self._check_compatible()
            self._resume_from = self._find_checkpoint()
            if self._resume_from.steps >= cfg.total_timesteps:
                raise ResumeError(
                    f"{cfg.experiment_name} is already trained to step "
                    f"{self._resume_from.steps} >= total_timesteps {cfg.total_timesteps}; "
                    "raise --timesteps to train further")
        elif exists:
            raise UserError(f"experiment {cfg.experiment_name!r} already exists in "
                            f"{cfg.results_dir}; pass --resume to continue it or --name to "
                            "start another (nothing was overwritten)")

    def _check_compatible(self) -> None:
        import json

        path = self.layout.config
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            saved_env = saved["env"]
            saved_dqn = saved["training"]["dqn_hyperparams"]
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ResumeError(f"cannot resume: {path} is missing or unreadable "
                              f"({type(err).__name__})") from None
        now_env = env_config_dict(self.env_config)
        now_dqn = self.config.dqn_hyperparams.model_dump(mode="json")
        changed = [f"env.{k}" for k in sorted(set(saved_env) | set(now_env))
                   if saved_env.get(k) != now_env.get(k)]
        changed += [f"dqn_hyperparams.{k}" for k in sorted(set(saved_dqn) | set(now_dqn))
                    if saved_dqn.get(k) != now_dqn.get(k)]
        if changed:
            raise ResumeError(f"cannot resume {self.config.experiment_name}: the config changed "
                              f"({', '.join(changed)}); resume with the saved settings "
                              f"(--config {path}) or start a new --name")

    def _find_checkpoint(self) -> Checkpoint:
        cfg = self.config
        need_buffer = cfg.checkpoint_strategy.save_replay_buffer
        if cfg.checkpoint_path is not None:
            path = Path(cfg.checkpoint_path)
            if not path.is_file():
                raise ResumeError(f"checkpoint {path} not found")
            match = [c for c in list_checkpoints(self.layout, need_buffer=False)
                     if c.model.resolve() == path.resolve()]
            steps = match[0].steps if match else -1
            buffer = match[0].buffer if match else None
            return Checkpoint(steps, path, buffer)
        found = list_checkpoints(self.layout, need_buffer=need_buffer)
        if found:
            return found[-1]
        layout = self.layout
        if layout.final_model.is_file() and (layout.final_buffer.is_file() or not need_buffer):
            return Checkpoint(-1, layout.final_model,
                              layout.final_buffer if layout.final_buffer.is_file() else None)
        raise ResumeError(f"no complete checkpoint to resume in {layout.latest}; start without "
                          "--resume")

    def _open_logs(self) -> None:
        for writer in (JsonlWriter(self.layout.metrics), TextLogWriter(self.layout.training_log)):
            self._writers.append(writer)
            self.events.subscribe(writer)

    def _sanity(self) -> None:
        def publish(result: Any) -> None:
            self.events.publish(ev.SANITY_RESULT, 0, name=result.name, passed=result.passed,
                                measured=result.measured, expected=result.expected,
                                fix=result.fix)

        try:
            self.sanity_report = run_sanity_checks(self.env_config, self.config.sanity_check_config,
                                                   self.config.device, on_result=publish)
        except SanityCheckError as err:
            self.sanity_report = err.report
            self.events.publish(ev.SANITY_REPORT, 0, passed=False, message=str(err).splitlines()[0])
            raise
        self.events.publish(ev.SANITY_REPORT, 0, passed=True, message="all sanity checks passed")

    def _write_config(self) -> None:
        cfg = self.config
        write_json_atomic(self.layout.config, {
            "training": cfg.model_dump(mode="json"),
            "env": env_config_dict(self.env_config),
            "seed": cfg.seed,
            "device": self.device,
            "versions": versions(),
            "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        })

    def _make_model(self, env: Any) -> Any:
        from stable_baselines3 import DQN

        from arz_tui.training.buffer import CompactReplayBuffer

        cfg = self.config
        h = cfg.dqn_hyperparams
        tb = None
        try:
            import tensorboard  # noqa: F401

            tb = str(self.layout.tensorboard)
        except ImportError:
            pass
        if self._resume_from is not None:
            model = DQN.load(self._resume_from.model, env=env, device=self.device,
                             tensorboard_log=tb)
            if self._resume_from.buffer is not None:
                model.load_replay_buffer(self._resume_from.buffer)
            # The env restarts: never continue from an observation of the killed process.
            model._last_obs = None
            return model
        return DQN(
            "MlpPolicy", env, learning_rate=h.learning_rate, buffer_size=h.buffer_size,
            learning_starts=h.learning_starts, batch_size=h.batch_size, tau=h.tau,
            gamma=h.gamma, train_freq=h.train_freq, gradient_steps=h.gradient_steps,
            target_update_interval=h.target_update_interval,
            exploration_fraction=h.exploration_fraction,
            exploration_initial_eps=h.exploration_initial_eps,
            exploration_final_eps=h.exploration_final_eps,
            replay_buffer_class=CompactReplayBuffer,
            policy_kwargs={"net_arch": list(h.net_arch)}, seed=cfg.seed, device=self.device,
            tensorboard_log=tb, verbose=0)

    def _learn(self) -> None:
        import torch
        from stable_baselines3.common.callbacks import CallbackList
        from stable_baselines3.common.monitor import Monitor
        from stable_baselines3.common.vec_env import DummyVecEnv

        from arz_tui.training.callbacks import (
            AtomicCheckpointCallback,
            ExactTotalCallback,
            PhysicalEvalCallback,
            ProgressCallback,
            StopCallback,
        )

        cfg = self.config
        if self.device == "cpu":
            torch.set_num_threads(1)  # small MLPs: one thread is fastest on CPU
        seed = cfg.seed + (self._resume_from.steps if self._resume_from else 0)
        env = DummyVecEnv([lambda: Monitor(TrafficSignalEnv(self.env_config))])
        env.seed(seed)
        n_eval = cfg.evaluation_strategy.n_eval_episodes
        eval_env = DummyVecEnv([lambda: Monitor(TrafficSignalEnv(self.env_config))
                                for _ in range(min(n_eval, 10))])
        self._envs = [env, eval_env]
        self.model = self._make_model(env)
        self._baseline_reference()

        writer = BackgroundWriter()
        ck = cfg.checkpoint_strategy
        self._checkpoint_cb = AtomicCheckpointCallback(
            self.layout, ck.save_freq, ck.max_checkpoints, ck.save_replay_buffer, self.events,
            writer)
        es = cfg.evaluation_strategy
        deadline = time.time() + cfg.max_hours * 3600 if cfg.max_hours else None
        stop = StopCallback(self.stop_event, deadline, self._checkpoint_cb)
        callbacks = CallbackList([
            ExactTotalCallback(cfg.total_timesteps),
            ProgressCallback(self.events, cfg.total_timesteps), self._checkpoint_cb,
            PhysicalEvalCallback(eval_env, self.layout, self.events,
                                 eval_seeds(cfg.seed, 1)[0], n_eval, es.eval_freq,
                                 es.deterministic),
            stop])
        remaining = cfg.total_timesteps - int(self.model.num_timesteps)
        # torch, SB3 and numba leave ~350k long-lived objects; Python's full collections scan
        # them all (0.1 s each, a few per 10k steps) unless they are frozen out of the GC.
        gc.collect()
        gc.freeze()
        try:
            self.model.learn(remaining, callback=callbacks,
                             reset_num_timesteps=self._resume_from is None,
                             tb_log_name="dqn", progress_bar=False)
            if stop.reason is not None:
                self._interrupted(stop.reason, stop.stopped_at)
            else:
                self._finish(writer)
        finally:
            gc.unfreeze()
            writer.close()

    def _baseline_reference(self) -> None:
        """The fixed-time baseline on the evaluation episodes: the reference line of the
        learning curves, computed once per run."""
        from arz_tui.baselines import make_controller

        es = self.config.evaluation_strategy
        seeds = eval_seeds(self.config.seed, es.n_eval_episodes)
        results, timespace = run_episodes(self.env_config, make_controller(BASELINE), seeds,
                                          record_timespace=True)
        self._baseline = (seeds, results, timespace)
        if timespace.size:
            save_npy_atomic(self.layout.timespace("fixed_time"), timespace)
        self.events.publish(ev.BASELINE, int(self.model.num_timesteps), controller=BASELINE,
                            n_episodes=len(seeds), **mean_of(results))

    def _interrupted(self, reason: str, steps: int | None) -> None:
        """The stop callback has saved the checkpoint of step `steps` already."""
        self._checkpoint_cb.writer.flush()
        steps = int(self.model.num_timesteps) if steps is None else steps
        self.status = "interrupted"
        self.stop_reason = reason
        self.events.publish(ev.RUN_INTERRUPTED, steps, reason=reason,
                            message=f"{reason} at step {steps}; resume with --resume")

    def _finish(self, writer: BackgroundWriter) -> None:
        import pickle

        from arz_tui.training.callbacks import model_bytes

        writer.flush()
        layout = self.layout
        if self.config.checkpoint_strategy.save_replay_buffer:
            write_bytes_atomic(layout.final_buffer, pickle.dumps(
                self.model.replay_buffer, protocol=pickle.HIGHEST_PROTOCOL))
        write_bytes_atomic(layout.final_model, model_bytes(self.model))
        steps = int(self.model.num_timesteps)
        self.summary = self.evaluate()
        write_json_atomic(layout.summary, self.summary)
        self.status = "finished"
        rl, base = self.summary["rl"], self.summary["fixed_time"]
        self.events.publish(ev.RUN_FINISHED, steps, message=f"finished at step {steps}",
                            rl=rl, fixed_time=base)

    def _fail(self, err: BaseException) -> None:
        self.status = "failed"
        if isinstance(err, KeyboardInterrupt):
            message = "interrupted by Ctrl-C"
            self.status = "interrupted"
            kind = ev.RUN_INTERRUPTED
        else:
            message = str(err).splitlines()[0] if str(err) else type(err).__name__
            kind = ev.RUN_FAILED
        steps = int(self.model.num_timesteps) if self.model is not None else 0
        try:
            self.events.publish(kind, steps, message=message, error=type(err).__name__)
        except Exception:  # logs may be gone; the exception itself still propagates
            pass


def train_model(env_config: EnvConfig, training_config: TrainingConfig,
                listeners: Iterable[Listener] = ()) -> Any:
    """Train and return the model (closing files afterwards)."""
    trainer = RLTrainer(env_config, training_config, listeners)
    try:
        return trainer.train()
    finally:
        trainer.cleanup()

