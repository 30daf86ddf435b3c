"""Seeded demand of an episode: the scenario's profile, scaled and perturbed per bin."""

from __future__ import annotations

import numpy as np

from arz_tui.env.config import DEMAND_LEVELS


def sample_demand(base: np.ndarray, scale: float, noise: float,
                  rng: np.random.Generator) -> np.ndarray:
    """Rates (veh/s) of one episode: base * scale * a mean-one log-normal factor per source,
    class and bin. Deterministic for the generator's state."""
    if noise <= 0.0:
        return base * scale
    factor = rng.lognormal(mean=-0.5 * noise * noise, sigma=noise, size=base.shape)
    return base * scale * factor


def random_level(rng: np.random.Generator) -> str:
    """One of the named demand levels, uniformly."""
    names = list(DEMAND_LEVELS)
    return names[int(rng.integers(len(names)))]
