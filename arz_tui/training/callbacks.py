"""SB3 callbacks that publish events and write the results layout atomically.

They subclass SB3's own callbacks where those fit (CheckpointCallback, EvalCallback) and keep
their logic; what changes is where and how files are written, and that everything they learn
is published on the run's EventBus.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback, CheckpointCallback, EvalCallback
from stable_baselines3.common.vec_env import VecEnv

from arz_tui.runstore import BackgroundWriter, EventKind, RunLayout
from arz_tui.runstore.atomic import save_npy_atomic, write_bytes_atomic, write_json_atomic
from arz_tui.runstore.checkpoints import (
    EMPTY_HISTORY,
    BufferChain,
    best_reward,
    checkpoint_files,
    read_evaluations,
    rotate,
    write_manifest,
)
from arz_tui.runstore.models import model_bytes
from arz_tui.runstore.records import BestRecord
from arz_tui.training.evaluation import mean_of
from arz_tui.training.events import EventBus


class _AlignedCallback(BaseCallback):
    """Counts calls from the model's step count, so frequencies survive a resume."""

    def _on_training_start(self) -> None:
        self.n_calls = int(self.model.num_timesteps)


class ExactTotalCallback(BaseCallback):
    """Makes training end exactly at `total` steps: SB3 collects `train_freq` steps per
    rollout, so without this a total that is not a multiple of it is overshot (and a resumed
    run would not finish where it was told to). Shortens the last rollout, and restores the
    model's train_freq when training ends, before anything is saved."""

    def __init__(self, total: int) -> None:
        super().__init__()
        self.total = total
        self._original: Any = None

    def _shorten(self) -> None:
        freq = self.model.train_freq
        # In vec steps, each of n_envs transitions (the trainer keeps total a multiple of it).
        remaining = (self.total - int(self.model.num_timesteps)) // self.model.n_envs
        if 0 < remaining < freq.frequency and freq.unit.value == "step":
            self.model.train_freq = type(freq)(remaining, freq.unit)

    def _on_training_start(self) -> None:
        self._original = self.model.train_freq
        self._shorten()

    def _on_rollout_end(self) -> None:
        self._shorten()

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        if self._original is not None:
            self.model.train_freq = self._original


class ProgressCallback(_AlignedCallback):
    """Publishes PROGRESS about every `interval_s` of wall time and EPISODE at every episode
    end; costs a few hundred nanoseconds per step otherwise."""

    def __init__(self, events: EventBus, total_timesteps: int, interval_s: float = 0.5) -> None:
        super().__init__()
        self.events = events
        self.total = total_timesteps
        self.interval_s = interval_s
        self._t_last = 0.0
        self._n_last = 0
        self._t_start = 0.0
        self._n_start = 0
        self._episodes = collections.deque(maxlen=20)

    def _on_training_start(self) -> None:
        super()._on_training_start()
        self._t_last = self._t_start = time.perf_counter()
        self._n_last = self._n_start = int(self.model.num_timesteps)

    def _on_step(self) -> bool:
        dones = self.locals.get("dones")
        if dones is not None and dones.any():
            for i in np.flatnonzero(dones):  # every environment's episodes
                info = self.locals["infos"][i]
                episode = info.get("episode", {})
                totals = info.get("episode_totals")
                self._episodes.append(float(episode.get("r", np.nan)))
                self.events.publish(
                    EventKind.EPISODE, self.num_timesteps,
                    reward=float(episode.get("r", np.nan)), length=int(episode.get("l", 0)),
                    totals=totals.as_dict() if totals is not None else {})
        if self.n_calls & 31 == 0:
            now = time.perf_counter()
            if now - self._t_last >= self.interval_s:
                self._publish(now)
        return True

    def _publish(self, now: float) -> None:
        steps = int(self.num_timesteps)
        done = steps - self._n_start
        rate = done / max(now - self._t_start, 1e-9)
        # The closing report often follows a periodic one at the same step: show the run's
        # mean rate then, not 0 steps/s.
        fps = ((steps - self._n_last) / max(now - self._t_last, 1e-9)
               if steps > self._n_last else rate)
        info = (self.locals.get("infos") or [{}])[0]
        self.events.publish(
            EventKind.PROGRESS, steps, total=self.total, fps=fps,
            epsilon=float(getattr(self.model, "exploration_rate", 0.0)),
            queue_veh=float(info.get("queue_veh", 0.0)),
            mean_episode_reward=float(np.mean(self._episodes)) if self._episodes else None,
            eta_s=(self.total - steps) / rate if rate > 0 else None)
        self._t_last = now
        self._n_last = steps

    def _on_training_end(self) -> None:
        self._publish(time.perf_counter())


class AtomicCheckpointCallback(CheckpointCallback):
    """SB3's CheckpointCallback with the results layout, atomic writes, rotation, and the
    disk writes done by a background thread (the model and replay buffer are serialised here,
    a consistent snapshot; writing 30 MB of buffer would otherwise stall training).

    Checkpoints are taken when a rollout starts, the one point of SB3's loop where the
    weights (the last update done), the replay buffer (every transition stored), the step and
    update counters and epsilon agree: at `on_step` the current transition is not stored yet.
    So a checkpoint falls on the first rollout boundary at or after each multiple of
    `save_freq` (exactly on it when save_freq is a multiple of train_freq), and on the last
    step, and a resume continues exactly where the checkpoint left off.
    """

    def __init__(self, layout: RunLayout, save_freq: int, max_checkpoints: int,
                 save_replay_buffer: bool, events: EventBus, writer: BackgroundWriter) -> None:
        super().__init__(save_freq, str(layout.latest), name_prefix="dqn_checkpoint",
                         save_replay_buffer=save_replay_buffer)
        self.layout = layout
        self.max_checkpoints = max_checkpoints
        self.events = events
        self.writer = writer
        self._written: collections.deque[dict[str, Any]] = collections.deque()
        self.chain = BufferChain(layout)
        self.last_saved_step = -1
        self.next_save = save_freq
        self.halted = False

    def _checkpoint_path(self, checkpoint_type: str = "", extension: str = "") -> str:
        steps = int(self.num_timesteps)
        if checkpoint_type == "replay_buffer_":
            return str(self.layout.checkpoint_buffer(steps))
        return str(self.layout.checkpoint_model(steps))

    def _on_training_start(self) -> None:
        self.n_calls = int(self.model.num_timesteps)
        self.next_save = (self.n_calls // self.save_freq + 1) * self.save_freq

    def _on_rollout_start(self) -> None:
        if self.model.num_timesteps >= self.next_save:
            self.save_checkpoint()

    def _on_step(self) -> bool:
        self._publish_written()
        return True

    def save_checkpoint(self, wait: bool = False) -> None:
        """Snapshot now; write in the background (or before returning, with `wait`)."""
        steps = int(self.model.num_timesteps)
        self.next_save = (steps // self.save_freq + 1) * self.save_freq
        if steps == self.last_saved_step:
            if wait:
                self.writer.flush()
                self._publish_written()
            return
        self.last_saved_step = steps
        buffer = None
        names: list[str] = []
        if self.save_replay_buffer and getattr(self.model, "replay_buffer", None) is not None:
            # Rows since the previous checkpoint, or a full snapshot (runstore.BufferChain).
            buffer = self.chain.next_file(self.model.replay_buffer, steps, self.model.n_envs)
            names = list(self.chain.names)
        files = checkpoint_files(self.layout, steps, model_bytes(self.model), buffer)
        record = {"model": str(self.layout.checkpoint_model(steps)),
                  "buffer": str(buffer[0]) if buffer else None,
                  "steps": steps, "bytes": sum(len(b) for _, b in files)}

        def done() -> None:
            # The manifest last: a checkpoint is complete exactly when it exists and matches.
            write_manifest(self.layout.checkpoint_manifest(steps), steps, files, self.chain,
                           names)
            rotate(self.layout, self.max_checkpoints)
            record["time"] = time.time()
            self._written.append(record)

        self.writer.submit(files, after=done)
        if wait:
            self.writer.flush()
            self._publish_written()

    def _publish_written(self) -> None:
        while self._written:
            record = self._written.popleft()
            kept = sorted(p.name for p in self.layout.latest.iterdir()) \
                if self.layout.latest.is_dir() else []
            self.events.publish(EventKind.CHECKPOINT, record["steps"], files=kept, **record)

    def _on_training_end(self) -> None:
        # After the last update the state is consistent again, unless a stop cut a step.
        # Always a checkpoint at the end: a run killed before its final model is written
        # then resumes straight to the final save and evaluation.
        if not self.halted:
            self.save_checkpoint()
        self.writer.flush()
        self._publish_written()


class PhysicalEvalCallback(EvalCallback):
    """SB3's EvalCallback on seeded episodes, adding physical metrics and the time-space
    diagram of the first episode; evaluations.npz and best_model.zip are written atomically.

    The eval env is reseeded before every evaluation, so all evaluations (and the fixed-time
    baseline) use the same demand samples and are comparable.
    """

    def __init__(self, eval_env: VecEnv, layout: RunLayout, events: EventBus, eval_seed: int,
                 n_eval_episodes: int, eval_freq: int, deterministic: bool) -> None:
        # SB3 evaluates when its call count is a multiple of eval_freq; a call is n_envs
        # transitions, so this callback decides itself (every eval_freq transitions) and
        # lets SB3's check always pass.
        super().__init__(eval_env, n_eval_episodes=n_eval_episodes, eval_freq=1,
                         log_path=str(layout.eval), best_model_save_path=None,
                         deterministic=deterministic, verbose=0, warn=False)
        self.every = eval_freq
        self.layout = layout
        self.events = events
        self.eval_seed = eval_seed
        # SB3 writes its npz here; we rename it over evaluations.npz (atomic).
        self.log_path = str(layout.evaluations_partial)
        self._totals: list[dict[str, float]] = []
        self._timespace: list[np.ndarray] = []
        self._recording = False
        self._restore_history()

    def _restore_history(self) -> None:
        """Continue the history of a resumed run (already cut back to its checkpoint); the
        best to beat is the reward of the best model actually on disk."""
        history = read_evaluations(self.layout)
        if history is not EMPTY_HISTORY:
            self.evaluations_timesteps = history.timesteps
            self.evaluations_results = history.results
            self.evaluations_length = history.ep_lengths
        best = best_reward(self.layout)
        if best is not None:
            self.best_mean_reward = best

    def _on_training_start(self) -> None:
        self.n_calls = int(self.model.num_timesteps)

    def _log_success_callback(self, locals_: dict[str, Any], globals_: dict[str, Any]) -> None:
        super()._log_success_callback(locals_, globals_)
        i = locals_["i"]
        if locals_["done"]:
            totals = locals_["info"].get("episode_totals")
            if totals is not None:
                self._totals.append(totals.as_dict())
            if i == 0:
                self._recording = False
        elif i == 0 and self._recording:
            self._timespace.append(self.eval_env.envs[0].unwrapped.corridor_density())

    def _on_step(self) -> bool:
        steps, n = int(self.model.num_timesteps), self.model.n_envs
        if steps // self.every == (steps - n) // self.every:
            return True
        self.eval_env.seed(self.eval_seed)
        self._totals = []
        self._timespace = []
        self._recording = True
        best_before = self.best_mean_reward
        keep_going = super()._on_step()
        partial = self.log_path + ".npz"
        if os.path.exists(partial):
            os.replace(partial, self.layout.evaluations)
        step = int(self.num_timesteps)
        means = mean_of(self._totals)
        self.events.publish(EventKind.EVAL, step, mean_reward=self.last_mean_reward,
                            reward_per_step=self._reward_per_step(),
                            n_episodes=self.n_eval_episodes, **means)
        self._record_physical(step, means)
        if self._timespace:
            save_npy_atomic(self.layout.timespace("rl"), np.stack(self._timespace))
            self.events.publish(EventKind.TIMESPACE, step, controller="rl",
                                path=str(self.layout.timespace("rl")))
        if self.best_mean_reward > best_before:
            write_bytes_atomic(self.layout.best_model, model_bytes(self.model))
            write_json_atomic(self.layout.best_record,
                              BestRecord(step=step, mean_reward=float(self.best_mean_reward)))
            self.events.publish(EventKind.BEST_MODEL, step, mean_reward=self.best_mean_reward,
                                path=str(self.layout.best_model))
        return keep_going


    def _record_physical(self, step: int, means: dict[str, float]) -> None:
        """The evaluation's per-step reward and physical means, next to SB3's eval/ scalars
        (TensorBoard and any other SB3 output; a no-op without one)."""
        per_step = self._reward_per_step()
        if per_step is not None:
            self.logger.record("eval/reward_per_step", per_step)
        for key, value in means.items():
            if isinstance(value, (int, float)) and np.isfinite(value):
                self.logger.record(f"eval/{key}", float(value))
        self.logger.dump(step)

    def _reward_per_step(self) -> float | None:
        """The last evaluation's rewards summed over its episodes, per decision step."""
        if not self.evaluations_results or not self.evaluations_length:
            return None
        steps = float(np.sum(self.evaluations_length[-1]))
        return float(np.sum(self.evaluations_results[-1])) / steps if steps > 0 else None


class StopCallback(_AlignedCallback):
    """Ends learning cleanly when asked (TUI stop, Ctrl-C) or when the wall-clock budget is
    spent. It acts at a rollout boundary: checkpoint first (waiting for the write), then stop
    at the next step, whose half-done transition is dropped. `reason` says why,
    `stopped_at` is the step of the checkpoint to resume from."""

    def __init__(self, stop_event: threading.Event, deadline: float | None,
                 checkpoint: AtomicCheckpointCallback) -> None:
        super().__init__()
        self.stop_event = stop_event
        self.deadline = deadline
        self.checkpoint = checkpoint
        self.reason: str | None = None
        self.stopped_at: int | None = None

    def _on_rollout_start(self) -> None:
        if self.reason is not None:
            return
        if self.stop_event.is_set():
            self.reason = "stop requested"
        elif self.deadline is not None and time.time() >= self.deadline:
            self.reason = "time budget reached"
        else:
            return
        self.stopped_at = int(self.model.num_timesteps)
        self.checkpoint.save_checkpoint(wait=True)
        self.checkpoint.halted = True

    def _on_step(self) -> bool:
        return self.reason is None
