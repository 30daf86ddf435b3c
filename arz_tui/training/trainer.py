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

from arz_tui.env import EnvConfig
from arz_tui.errors import ArzError
from arz_tui.runstore import RunClaim, RunLayout, claim_existing, claim_new
from arz_tui.runstore.atomic import (
    BackgroundWriter,
    save_npy_atomic,
    write_bytes_atomic,
    write_json_atomic,
)
from arz_tui.runstore.checkpoints import (
    Checkpoint,
    candidates,
    choose,
    cut_timeline,
    write_manifest,
)
from arz_tui.runstore.events import EventKind, RunStatus, read_events, status_from_events
from arz_tui.runstore.files import Unreadable
from arz_tui.runstore.reader import read_config
from arz_tui.runstore.records import Summary
from arz_tui.training.config import TrainingConfig
from arz_tui.training.device import resolve_device
from arz_tui.training.evaluation import (
    eval_seeds,
    mean_of,
    run_episodes,
    run_policy_episodes,
)
from arz_tui.training.events import (
    Event,
    EventBus,
    JsonlWriter,
    Listener,
    TextLogWriter,
    process_info,
)
from arz_tui.training.sanity import SanityCheckError, SanityReport, run_sanity_checks
from arz_tui.training.tensorboard_log import (
    TB_LOG_NAME,
    require_tensorboard,
    tensorboard_available,
)

BASELINE = "fixed-time"
"""The baseline every evaluation is compared with."""

EVAL_REPLICAS = 64
"""Evaluation episodes stepped side by side (more run in turns)."""

VERSIONED = ("arz-tui", "numpy", "numba", "torch", "stable-baselines3", "gymnasium", "pydantic")


class ResumeError(ArzError):
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
        self._resuming = False
        self._notes: list[str] = []
        self._claim: RunClaim | None = None
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
        if self.config.tensorboard:
            require_tensorboard()
        self.device = resolve_device(self.config.device)
        if self.config.resume_training and self.config.n_envs is None:
            # A resume keeps the run's environment count unless one is given.
            saved = self._saved_n_envs()
            if saved is not None:
                self.config = self.config.model_copy(update={"n_envs": saved})
        from arz_tui.training.per_signal import n_signals

        self.config = cfg = self.config.resolved(self.device, n_signals(self.env_config))
        check_n_envs(self.env_config, cfg)
        # Claimed first (one atomic step with the name check), before anything slow.
        self._prepare_run_dir()
        # Until the checks pass nothing is written: a failed check leaves results/ as it was.
        early: list[Event] = []
        self.events.subscribe(early.append)
        self.status = "running"
        start = self._resume_from.steps if self._resume_from else 0
        self.events.publish(EventKind.RUN_STARTED, start,
                            message=f"{'resuming' if self._resuming else 'starting'} "
                                    f"{cfg.experiment_name}"
                                    + (f" from step {start}" if self._resuming else ""),
                            experiment=cfg.experiment_name, mode=cfg.mode,
                            scenario=self.env_config.scenario, device=self.device,
                            total_timesteps=cfg.total_timesteps, n_envs=cfg.n_envs,
                            control=cfg.control,
                            resumed_from=start if self._resuming else None,
                            **process_info())
        for note in self._notes:
            self.events.publish(EventKind.LOG, start, message=note)
        try:
            if cfg.sanity_check_config.enabled:
                self._sanity()
        except BaseException:
            self.status = "failed"
            if self._claim is not None:
                self._claim.abandon()
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
            if self._resuming:
                for note in cut_timeline(self.layout, start):
                    self.events.publish(EventKind.LOG, start, message=note)
            if not self._resuming or not self.layout.config.is_file():
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
        run_policy = run_policy_episodes
        if self.per_signal:
            from arz_tui.training.per_signal import run_signal_policy_episodes as run_policy
        rl, rl_ts = run_policy(self.env_config, self.model, seeds,
                               self.config.evaluation_strategy.deterministic, True)
        if self._baseline is not None and self._baseline[0] == seeds:
            # Fixed time is deterministic on these seeded episodes: reuse the reference run.
            _, base, base_ts = self._baseline
        else:
            base, base_ts = run_episodes(self.env_config, make_controller(BASELINE), seeds,
                                         True, joint_action=not self.per_signal)
        if rl_ts.size:
            save_npy_atomic(self.layout.timespace("rl"), rl_ts)
            save_npy_atomic(self.layout.timespace("fixed_time"), base_ts)
        return {"step": int(self.model.num_timesteps), "n_episodes": n, "seeds": seeds,
                "rl": mean_of(rl), "fixed_time": mean_of(base)}

    @property
    def per_signal(self) -> bool:
        """One agent per signal sharing the DQN (resolved when training starts)."""
        return self.config.control == "per-signal"

    def cleanup(self) -> None:
        """Close envs and log files (idempotent)."""
        for env in self._envs:
            env.close()
        self._envs = []
        for writer in self._writers:
            self.events.unsubscribe(writer)
            writer.close()
        self._writers = []
        if self._claim is not None:
            self._claim.release()
            self._claim = None

    # ------------------------------------------------------------------ steps of train()
    def _prepare_run_dir(self) -> None:
        """Claim the run folder (new, or existing with --resume) and decide where training
        continues from; reads only, so a failure leaves the folder as it was."""
        cfg = self.config
        layout = self.layout
        if not cfg.resume_training:
            self._claim = claim_new(layout)
            return
        if not layout.root.is_dir():
            raise ResumeError(f"nothing to resume: {layout.root} does not exist; start "
                              "without --resume")
        self._claim = claim_existing(layout)
        try:
            self._plan_resume()
        except BaseException:
            self._claim.release()
            self._claim = None
            raise
        self._claim.record_pid()
        if self._claim.stale_pid:
            self._notes.append(f"took over from process {self._claim.stale_pid}, which had "
                               "died without releasing the run")

    def _saved_n_envs(self) -> int | None:
        """The n_envs of the run being resumed (1 for runs from before batching), None when
        its config cannot be read (the resume reports that itself)."""
        try:
            saved = read_config(self.layout.root)
        except Unreadable:
            return None
        return saved.training.n_envs or 1

    def _plan_resume(self) -> None:
        cfg = self.config
        layout = self.layout
        self._resuming = True
        anything = bool(candidates(layout)) or layout.final_model.is_file()
        if layout.config.exists() or anything:
            self._check_compatible()
        need_buffer = cfg.checkpoint_strategy.save_replay_buffer
        if cfg.checkpoint_path is not None:
            self._resume_from = self._named_checkpoint(Path(cfg.checkpoint_path), need_buffer)
        else:
            found, skipped = choose(layout, need_buffer)
            self._notes.extend(skipped)
            self._resume_from = found
            if found is None and anything:
                self._notes.append("no intact checkpoint: training again from step 0")
        steps = self._resume_from.steps if self._resume_from else 0
        if steps > cfg.total_timesteps:
            raise ResumeError(f"{cfg.experiment_name} is already trained to step {steps} > "
                              f"total_timesteps {cfg.total_timesteps}; raise --timesteps to "
                              "train further")
        if steps == cfg.total_timesteps and layout.summary.is_file() \
                and layout.final_model.is_file() and status_from_events(
                    read_events(layout.metrics, layout.root), alive=False) == RunStatus.FINISHED:
            raise ResumeError(f"{cfg.experiment_name} has finished (step {steps} of "
                              f"{cfg.total_timesteps}); raise --timesteps to train further")
        if self._resume_from is not None and self._notes:
            self._notes.append(f"resuming from the checkpoint at step {steps}")

    def _named_checkpoint(self, path: Path, need_buffer: bool) -> Checkpoint:
        from arz_tui.runstore.checkpoints import problem

        for ckpt in candidates(self.layout):
            try:
                same = ckpt.model.resolve() == path.resolve()
            except OSError:
                same = False
            if same:
                why = problem(ckpt, need_buffer)
                if why:
                    raise ResumeError(f"checkpoint_path {path}: cannot resume from it ({why})")
                return ckpt
        raise ResumeError(f"checkpoint_path {path} is not a checkpoint of run "
                          f"{self.config.experiment_name} (give one of "
                          f"{self.layout.latest}/dqn_checkpoint_N_steps.zip or leave it out)")

    def _check_compatible(self) -> None:
        path = self.layout.config
        try:
            saved = read_config(self.layout.root)
        except Unreadable as err:
            raise ResumeError(f"cannot resume: {err}") from None
        saved_env = saved.env.model_dump(mode="json")
        saved_dqn = saved.training.dqn_hyperparams
        now_env = env_config_dict(self.env_config)
        now_dqn = self.config.dqn_hyperparams.model_dump(mode="json")
        changed = [f"env.{k}" for k in sorted(set(saved_env) | set(now_env))
                   if saved_env.get(k) != now_env.get(k)]
        changed += [f"dqn_hyperparams.{k}" for k in sorted(set(saved_dqn) | set(now_dqn))
                    if saved_dqn.get(k) != now_dqn.get(k)]
        saved_control = getattr(saved.training, "control", "joint")
        if saved_control != self.config.control:
            # Joint and per-signal runs have different action spaces and replay buffers.
            raise ResumeError(f"cannot resume {self.config.experiment_name} with control "
                              f"{self.config.control}: it was trained with {saved_control}; "
                              f"resume with --control {saved_control}")
        saved_n = saved.training.n_envs or 1
        if saved_n != self.config.n_envs:
            # The replay buffer holds one column per environment, and the rollouts, counters
            # and seeds follow the count: a different one cannot continue this run exactly.
            raise ResumeError(f"cannot resume {self.config.experiment_name} with n_envs "
                              f"{self.config.n_envs}: it was trained with {saved_n}; resume with "
                              f"--n-envs {saved_n}")
        if changed:
            raise ResumeError(f"cannot resume {self.config.experiment_name}: the config changed "
                              f"({', '.join(changed)}); resume with the saved settings "
                              f"(--config {path}) or start a new --name")

    def _open_logs(self) -> None:
        for writer in (JsonlWriter(self.layout.metrics), TextLogWriter(self.layout.training_log)):
            self._writers.append(writer)
            self.events.subscribe(writer)

    def _sanity(self) -> None:
        def publish(result: Any) -> None:
            self.events.publish(EventKind.SANITY_RESULT, 0, name=result.name, passed=result.passed,
                                measured=result.measured, expected=result.expected,
                                fix=result.fix)

        try:
            self.sanity_report = run_sanity_checks(self.env_config, self.config.sanity_check_config,
                                                   self.config.device, on_result=publish,
                                                   control=self.config.control)
        except SanityCheckError as err:
            self.sanity_report = err.report
            self.events.publish(EventKind.SANITY_REPORT, 0, passed=False,
                                message=str(err).splitlines()[0])
            raise
        self.events.publish(EventKind.SANITY_REPORT, 0, passed=True,
                            message="all sanity checks passed")

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
        from arz_tui.runstore.models import load_buffer_chain, load_model
        from arz_tui.training.dqn import BatchedDQN, rollout_schedule

        cfg = self.config
        h = cfg.dqn_hyperparams
        tb = str(self.layout.tensorboard) if self._tensorboard() else None
        train_freq, gradient_steps = rollout_schedule(h.train_freq, h.gradient_steps,
                                                      env.num_envs)
        if self._resume_from is not None:
            # No entry of the zip is unpickled; the buffer is plain arrays (runstore.models).
            dqn = {**h.model_dump(mode="json"), "train_freq": train_freq,
                   "gradient_steps": gradient_steps}
            model = load_model(self._resume_from.model, env, self.device, dqn=dqn,
                               root=self.layout.root, algorithm=BatchedDQN, tensorboard_log=tb)
            load_buffer_chain(list(self._resume_from.buffers), model.replay_buffer,
                              self.layout.root)
            # The env restarts: never continue from an observation of the killed process.
            model._last_obs = None
            return model
        # Per-transition settings (see arz_tui.training.dqn); Adam's fused kernel: one call
        # per step instead of one per parameter tensor.
        return BatchedDQN(
            "MlpPolicy", env, learning_rate=h.learning_rate, buffer_size=h.buffer_size,
            learning_starts=h.learning_starts, batch_size=h.batch_size, tau=h.tau,
            gamma=h.gamma, train_freq=train_freq, gradient_steps=gradient_steps,
            target_update_interval=h.target_update_interval,
            exploration_fraction=h.exploration_fraction,
            exploration_initial_eps=h.exploration_initial_eps,
            exploration_final_eps=h.exploration_final_eps,
            policy_kwargs={"net_arch": list(h.net_arch),
                           "optimizer_kwargs": {"fused": True}},
            seed=cfg.seed, device=self.device,
            tensorboard_log=tb, verbose=0)

    def _tensorboard(self) -> bool:
        """Log to TensorBoard: asked for, or a resume of a run that has logs (its curves
        continue even when --tensorboard was not repeated)."""
        if self.config.tensorboard:
            return True
        if self._resume_from is not None and self.layout.tensorboard.is_dir():
            if tensorboard_available():
                return True
            self.events.publish(EventKind.LOG, self._resume_from.steps,
                                message="the run has TensorBoard logs, but the tensorboard "
                                "package is not installed: they are not continued")
        return False

    def _learn(self) -> None:
        import torch
        from stable_baselines3.common.callbacks import CallbackList
        from stable_baselines3.common.vec_env import VecMonitor

        from arz_tui.env.vec_env import TrafficVecEnv
        from arz_tui.training.callbacks import (
            AtomicCheckpointCallback,
            ExactTotalCallback,
            PhysicalEvalCallback,
            ProgressCallback,
            StopCallback,
        )
        from arz_tui.training.netstate_log import NetStateCallback

        cfg = self.config
        if self.device == "cpu":
            torch.set_num_threads(1)  # small MLPs: one thread is fastest on CPU
        seed = cfg.seed + (self._resume_from.steps if self._resume_from else 0)
        # N replicas in one batched simulator (N = 1 included: the same transitions as one
        # TrafficSignalEnv); the evaluation episodes run side by side in one batch as well.
        n_eval = cfg.evaluation_strategy.n_eval_episodes
        eval_episodes = n_eval
        if self.per_signal:
            # Every signal of every replica is a slot; SB3 counts an episode per slot.
            from arz_tui.env.signal_vec_env import SignalVecEnv

            env = VecMonitor(SignalVecEnv(self.env_config, n_replicas=cfg.n_envs or 1))
            eval_vec = SignalVecEnv(self.env_config, n_replicas=min(n_eval, EVAL_REPLICAS))
            eval_episodes = n_eval * eval_vec.n_signals
            eval_env = VecMonitor(eval_vec)
        else:
            env = VecMonitor(TrafficVecEnv(self.env_config, n_envs=cfg.n_envs))
            eval_env = VecMonitor(TrafficVecEnv(self.env_config,
                                                n_envs=min(n_eval, EVAL_REPLICAS)))
        env.seed(seed)
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
            NetStateCallback(self.layout, self.events),
            PhysicalEvalCallback(eval_env, self.layout, self.events,
                                 eval_seeds(cfg.seed, 1)[0], eval_episodes, es.eval_freq,
                                 es.deterministic),
            stop])
        remaining = cfg.total_timesteps - int(self.model.num_timesteps)
        if remaining <= 0:
            # Killed after its last checkpoint: only the final model and evaluation are due.
            try:
                self._finish(writer)
            finally:
                writer.close()
            return
        # torch, SB3 and numba leave ~350k long-lived objects; Python's full collections scan
        # them all (0.1 s each, a few per 10k steps) unless they are frozen out of the GC.
        gc.collect()
        gc.freeze()
        try:
            self.model.learn(remaining, callback=callbacks,
                             reset_num_timesteps=self._resume_from is None,
                             tb_log_name=TB_LOG_NAME, progress_bar=False)
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
                                          record_timespace=True,
                                          joint_action=not self.per_signal)
        self._baseline = (seeds, results, timespace)
        if timespace.size:
            save_npy_atomic(self.layout.timespace("fixed_time"), timespace)
        self.events.publish(EventKind.BASELINE, int(self.model.num_timesteps), controller=BASELINE,
                            n_episodes=len(seeds), **mean_of(results))

    def _interrupted(self, reason: str, steps: int | None) -> None:
        """The stop callback has saved the checkpoint of step `steps` already."""
        self._checkpoint_cb.writer.flush()
        steps = int(self.model.num_timesteps) if steps is None else steps
        self.status = "interrupted"
        self.stop_reason = reason
        self.events.publish(EventKind.RUN_INTERRUPTED, steps, reason=reason,
                            message=f"{reason} at step {steps}; resume with --resume")

    def _finish(self, writer: BackgroundWriter) -> None:
        from arz_tui.runstore.models import buffer_bytes, model_bytes

        writer.flush()
        layout = self.layout
        steps = int(self.model.num_timesteps)
        files = []
        if self.config.checkpoint_strategy.save_replay_buffer:
            files.append((layout.final_buffer, buffer_bytes(self.model.replay_buffer)))
        files.append((layout.final_model, model_bytes(self.model)))
        for path, data in files:
            write_bytes_atomic(path, data)
        write_manifest(layout.final_manifest, steps, files)
        self.summary = self.evaluate()
        write_json_atomic(layout.summary, Summary.model_validate(self.summary))
        self.status = "finished"
        rl, base = self.summary["rl"], self.summary["fixed_time"]
        self.events.publish(EventKind.RUN_FINISHED, steps, message=f"finished at step {steps}",
                            rl=rl, fixed_time=base)

    def _fail(self, err: BaseException) -> None:
        self.status = "failed"
        if isinstance(err, KeyboardInterrupt):
            message = "interrupted by Ctrl-C"
            self.status = "interrupted"
            kind = EventKind.RUN_INTERRUPTED
        else:
            message = str(err).splitlines()[0] if str(err) else type(err).__name__
            kind = EventKind.RUN_FAILED
        steps = int(self.model.num_timesteps) if self.model is not None else 0
        try:
            self.events.publish(kind, steps, message=message, error=type(err).__name__)
        except Exception:  # logs may be gone; the exception itself still propagates
            pass


def check_n_envs(env_config: EnvConfig, config: TrainingConfig) -> None:
    """A replica count the run can honour: runs end exactly at total_timesteps (each batched
    step adds n_envs transitions) and the replicas fit in memory."""
    from arz_tui.env.vec_env import replicas_fit
    from arz_tui.training.per_signal import n_signals

    n, total = int(config.n_envs or 1), config.total_timesteps
    slots = config.slots(n_signals(env_config))
    step = n * slots
    if total % step:
        lower = total - total % step
        options = f"{lower:,} or {lower + step:,}" if lower else f"{lower + step:,}"
        what = f"n_envs {n}" if slots == 1 else f"n_envs {n} x {slots} signals"
        raise ArzError(f"total_timesteps {total:,} is not a multiple of {what}: each "
                       f"batched step adds {step} transitions; use --timesteps {options}, or "
                       f"an --n-envs that divides {total // slots if slots > 1 else total:,}")
    fits, need, have, most = replicas_fit(env_config, n)
    if not fits:
        raise ArzError(f"n_envs {n}: the replicas need about {need / 2**30:.1f} GiB and "
                       f"{have / 2**30:.1f} GiB of memory is available; use --n-envs {most} "
                       "or fewer")


def train_model(env_config: EnvConfig, training_config: TrainingConfig,
                listeners: Iterable[Listener] = ()) -> Any:
    """Train and return the model (closing files afterwards)."""
    trainer = RLTrainer(env_config, training_config, listeners)
    try:
        return trainer.train()
    finally:
        trainer.cleanup()

