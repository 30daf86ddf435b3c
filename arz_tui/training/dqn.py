"""DQN over N environments with the hyperparameters meaning what they say per transition.

SB3 counts `num_timesteps` in transitions, but `train_freq` and `gradient_steps` per rollout of
vec steps; `rollout_schedule` converts the per-transition settings. `BatchedDQN` subclasses
SB3's DQN through its documented overrides (`train`, `predict`, `_on_step`):

- `train`: the K gradient steps of a rollout draw their K minibatches in one
  `replay_buffer.sample` (one host-to-device transfer; K independent uniform minibatches are
  K * B uniform draws), compute the K TD targets in one forward of the target network (it does
  not change within `train`: SB3 updates it in `_on_step`), and bring the losses back in one
  transfer. Each gradient step is SB3's: Huber loss, gradient clipping, the optimizer step.
  On a plain ReLU MLP with Adam the steps go through `LeanQ` (arz_tui.training.lean_q): the
  same step without autograd, ~5x cheaper on a CPU.
- `predict`: epsilon-greedy per transition (SB3 flips one coin for all N environments); greedy
  actions of a batch through `LeanQ` when it applies.
- `_on_step`: the target network is updated each time the transition count crosses a multiple
  of `target_update_interval` (SB3 uses interval // n_envs vec steps, which drifts when n_envs
  does not divide it).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch as th
import torch.nn.functional as F
from stable_baselines3 import DQN
from stable_baselines3.common.utils import polyak_update

from arz_tui.training.lean_q import LeanQ


def rollout_schedule(train_freq: int, gradient_steps: int, n_envs: int) -> tuple[int, int]:
    """(vec steps per rollout, gradient steps per rollout) for N environments that keep the
    per-transition settings: `gradient_steps / train_freq` gradient steps per transition
    (gradient_steps -1: one per transition), a rollout as short as that allows."""
    if n_envs < 1 or train_freq < 1:
        raise ValueError(f"need n_envs >= 1 and train_freq >= 1, got {n_envs}, {train_freq}")
    if gradient_steps < 0:
        return max(1, round(train_freq / n_envs)), -1
    vec_steps = train_freq // math.gcd(train_freq, n_envs * gradient_steps)
    return vec_steps, vec_steps * n_envs * gradient_steps // train_freq


class BatchedDQN(DQN):
    """SB3 DQN for many environments and accelerators (see the module doc)."""

    _lean_q: LeanQ | None = None
    _lean_q_for: Any = None

    def _excluded_save_params(self) -> list[str]:
        # Views of the policy's own tensors: rebuilt after a load, never pickled.
        return [*super()._excluded_save_params(), "_lean_q", "_lean_q_for"]

    def _lean(self) -> LeanQ | None:
        """The autograd-free step for the current policy (None: keep SB3's path)."""
        if self._lean_q_for is not self.policy:
            self._lean_q = LeanQ.for_policy(self.policy, self.max_grad_norm)
            self._lean_q_for = self.policy
        return self._lean_q

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        if gradient_steps <= 0:
            return
        lean = self._lean()
        if lean is None:  # a plain MLP has no dropout or batch norm: its mode changes nothing
            self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        buffer = self.replay_buffer
        if (lean is not None and self._vec_normalize_env is None
                and getattr(self, "n_steps", 1) == 1 and lean.compiled_for(buffer)):
            # All K steps in one compiled call (arz_tui.training.dqn_kernel).
            loss = lean.train_sampled(buffer, gradient_steps, batch_size, self.gamma)
        else:
            loss = self._train_steps(lean, gradient_steps, batch_size)
        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/loss", loss)

    def _train_steps(self, lean: LeanQ | None, gradient_steps: int, batch_size: int) -> float:
        """K gradient steps as torch operations (LeanQ's, or SB3's autograd step); the mean
        loss, read back once (one device sync on a GPU)."""
        data = self.replay_buffer.sample(gradient_steps * batch_size,  # type: ignore[union-attr]
                                         env=self._vec_normalize_env)
        discounts = data.discounts if data.discounts is not None else self.gamma
        with th.no_grad():
            if lean is not None:
                next_q = lean.target_max(data.next_observations)
            else:
                next_q = self.q_net_target(data.next_observations).max(dim=1).values
            targets = data.rewards + (1 - data.dones) * discounts * next_q.reshape(-1, 1)
        actions = data.actions.long()
        losses = []
        # The online network's: the target's never have gradients (SB3 passes both).
        params = list(self.q_net.parameters()) if lean is None else []
        for k in range(gradient_steps):
            rows = slice(k * batch_size, (k + 1) * batch_size)
            if lean is not None:
                losses.append(lean.gradient_step(data.observations[rows], actions[rows],
                                                 targets[rows]))
                continue
            q = th.gather(self.q_net(data.observations[rows]), dim=1, index=actions[rows])
            loss = F.smooth_l1_loss(q, targets[rows])
            losses.append(loss.detach())
            self.policy.optimizer.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(params, self.max_grad_norm, foreach=True)
            self.policy.optimizer.step()
        return float(th.stack(losses).mean().item())

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None,
                deterministic: bool = False) -> tuple[np.ndarray, Any]:
        if not self.policy.is_vectorized_observation(observation):
            return super().predict(observation, state, episode_start, deterministic)
        lean = self._lean() if isinstance(observation, np.ndarray) else None
        if lean is not None:
            action = lean.greedy(observation)
        elif deterministic:
            return super().predict(observation, state, episode_start, deterministic)
        else:
            action, state = self.policy.predict(observation, state, episode_start, True)
        if deterministic:
            return action, state
        # The action space's generator (SB3 seeds it with the model) draws coins and actions.
        rng = self.action_space.np_random
        explore = rng.random(len(action)) < self.exploration_rate
        if explore.any():
            action = np.array(action, copy=True)
            n_actions = int(self.action_space.n)  # type: ignore[attr-defined]  # Discrete
            action[explore] = rng.integers(n_actions, size=int(explore.sum()))
        return action, state

    def _on_step(self) -> None:
        self._n_calls += 1
        interval = self.target_update_interval
        if self.num_timesteps // interval > (self.num_timesteps - self.n_envs) // interval:
            polyak_update(self.q_net.parameters(), self.q_net_target.parameters(), self.tau)
            polyak_update(self.batch_norm_stats, self.batch_norm_stats_target, 1.0)
        self.exploration_rate = self.exploration_schedule(self._current_progress_remaining)
        self.logger.record("rollout/exploration_rate", self.exploration_rate)
