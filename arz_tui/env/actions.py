"""The exact map between Discrete action indices and the phases of every signal."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np


class PhaseActionCodec:
    """Joint phase choices of all signals as one integer, in mixed radix.

    Signal 0 is the least significant digit: action a gives signal g the phase
    (a // prod(n_phases[:g])) % n_phases[g]. With no signal there is one action (do nothing).
    """

    def __init__(self, n_phases: Sequence[int]) -> None:
        if any(n < 1 for n in n_phases):
            raise ValueError("every signal needs at least one phase")
        self.n_phases = tuple(int(n) for n in n_phases)
        self.n = math.prod(self.n_phases)
        table = np.zeros((self.n, len(self.n_phases)), dtype=np.int64)
        for a in range(self.n):
            rest = a
            for g, n in enumerate(self.n_phases):
                table[a, g] = rest % n
                rest //= n
        table.flags.writeable = False
        self.table = table

    def index(self, action: object) -> int:
        """The action as a valid index: ints and numpy integers (also 0-d or 1-element
        arrays) as they are, integral floats rounded; anything else is an error."""
        if type(action) is int or isinstance(action, np.integer):
            a = int(action)
        else:
            if isinstance(action, np.ndarray):
                if action.size != 1:
                    raise ValueError(f"action must be a single index, got shape {action.shape}")
                action = action.reshape(()).item()
            if isinstance(action, bool) or not isinstance(action, numbers.Real):
                raise ValueError(f"action must be an integer index, got {action!r}")
            value = float(action)
            if not value.is_integer():
                raise ValueError(f"action must be an integer index, got {action!r} "
                                 "(not truncating a float)")
            a = round(value)
        if not 0 <= a < self.n:
            raise ValueError(f"action {a} out of range [0, {self.n})")
        return a

    def decode(self, action: object) -> np.ndarray:
        """Phase index per signal (a read-only row of the table)."""
        return self.table[self.index(action)]

    def encode(self, phases: Sequence[int]) -> int:
        """Inverse of `decode`."""
        if len(phases) != len(self.n_phases):
            raise ValueError(f"need {len(self.n_phases)} phases, got {len(phases)}")
        a, radix = 0, 1
        for p, n in zip(phases, self.n_phases, strict=True):
            if not 0 <= int(p) < n:
                raise ValueError(f"phase {p} out of range [0, {n})")
            a += int(p) * radix
            radix *= n
        return a
