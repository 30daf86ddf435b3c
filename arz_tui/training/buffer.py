"""A replay buffer whose pickle holds only the transitions it has.

SB3 pickles the whole preallocated buffer (50,000 transitions of zeros at first); checkpoints
early in a run are then tens of MB for a few hundred transitions. This subclass trims the
arrays to the filled part when pickled and pads them back when loaded, so
`DQN.load_replay_buffer` keeps working unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.buffers import ReplayBuffer

_ARRAYS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")


class CompactReplayBuffer(ReplayBuffer):
    """ReplayBuffer with a compact pickle (see module docstring)."""

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if not self.full:
            for name in _ARRAYS:
                arr = state.get(name)
                if isinstance(arr, np.ndarray) and arr.shape[0] == self.buffer_size:
                    state[name] = arr[: self.pos]
        state["_trimmed"] = not self.full
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        trimmed = state.pop("_trimmed", False)
        self.__dict__.update(state)
        if trimmed:
            for name in _ARRAYS:
                arr = getattr(self, name, None)
                if isinstance(arr, np.ndarray) and arr.shape[0] < self.buffer_size:
                    full = np.zeros((self.buffer_size, *arr.shape[1:]), dtype=arr.dtype)
                    full[: arr.shape[0]] = arr
                    setattr(self, name, full)
