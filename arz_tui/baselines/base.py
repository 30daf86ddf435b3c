"""The controller interface and the traffic-engineering quantities the baselines share.

A baseline controller drives the same `TrafficSignalEnv` as an RL agent and is scored by the
same `EpisodeTotals`. It reads the physical state through the env (`env.sim`, `env.speed`,
`env.link_queue_veh`, ...) rather than through the observation vector, so it does not depend
on the observation function chosen for learning.

Quantities derived from the model (docs/model.md):

- **Saturation flow** of a link: the flow a standing queue discharges at, sustained, for a
  given vehicle mix x_i (shares by vehicles). At the stop line the queue sends class i at the
  capacity C_i = pce_i Q_i (car-equivalents/s; Q_i = max over rho of rho V_i(rho), the pure
  class's capacity at the link's free speed, from its pressure law) times its share
  rho_i / r of the occupancy, and the queue's composition settles where the departures have
  the arrivals' mix, so Q = lanes / sum_i (x_i / Q_i): the vehicle-share-weighted harmonic mean
  of the classes' capacities. For cars alone with the default triangular law this is 1,898
  veh/h/lane; for a 50/50 mix at 50 km/h, ~2,890 veh/h/lane (~1,880 pcu/h with pce 0.3).
- **Design flows**: the scenario's demand profile (scaled by the episode's demand level, without
  the per-episode noise, which a controller cannot know in advance) propagated from the sources
  through the turning ratios to every link.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from arz_tui.env.config import DEMAND_LEVELS
from sim.exact import capacity

if TYPE_CHECKING:
    from arz_tui.env.traffic_env import TrafficSignalEnv
    from sim.network import Network

_TOL = 1e-9


class Controller(ABC):
    """A non-learning traffic-signal controller with an SB3-like `act`.

    Use::

        obs, info = env.reset(seed=0)
        controller.reset(env)
        while True:
            obs, reward, terminated, truncated, info = env.step(controller.act(obs, env))
            if terminated or truncated:
                break

    Subclasses implement `choose_phases` (one phase index per signal) and may extend `reset`
    (call `super().reset(env)` first) to precompute from `env.sim.net` and
    `env.config.scenario_spec`. `act` encodes the choice as the env's Discrete action after
    `guard` has replaced every change the simulator would refuse (before the shown phase's
    minimum green, or while a yellow runs) by "keep the shown phase", so a controller never
    *requests* a change before minimum green.
    """

    name: ClassVar[str] = "controller"

    def reset(self, env: TrafficSignalEnv) -> None:
        """Prepare for an episode; called after `env.reset`."""
        net = env.sim.net
        self.n_signals = len(net.signals)
        self.interval = float(env.interval)
        self.min_green = np.array([s.min_green_s for s in net.signals], dtype=np.float64)

    @abstractmethod
    def choose_phases(self, observation: Any, env: TrafficSignalEnv) -> Sequence[int]:
        """The phase each signal should show over the next decision interval."""

    def act(self, observation: Any, env: TrafficSignalEnv) -> int:
        """The env action: `choose_phases`, guarded, encoded with `env.codec`."""
        return env.codec.encode(self.guard(env, self.choose_phases(observation, env)))

    def guard(self, env: TrafficSignalEnv, phases: Sequence[int]) -> list[int]:
        """`phases` with every change the simulator would refuse replaced by the shown phase."""
        sim = env.sim
        shown = sim.signal_phase()
        green = sim.signal_green_time()
        changing = sim.signal_changing()
        out = [int(p) for p in phases]
        for g, p in enumerate(out):
            if p != shown[g] and (changing[g] or green[g] + _TOL < self.min_green[g]):
                out[g] = int(shown[g])
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


# ---------------------------------------------------------------------- model quantities
def saturation_flow(net: Network, link: int, shares: Sequence[float] | np.ndarray,
                    grid: int = 4001) -> tuple[float, float]:
    """(veh/s, pcu/s) that `link` (all its lanes) discharges from a standing queue, sustained,
    for the vehicle mix `shares` (fractions by vehicles per class; normalised here, equal
    shares if all zero): the stop-line saturation flow of the model (module docstring).

    Derived from the pressure law: a queue's last cell sends class i at its capacity C_i (in
    car-equivalents) times its share rho_i / r, and the queue's composition settles where the
    departures have the arrivals' mix x, so Q = 1 / sum_i (pce_i x_i / C_i) = lanes /
    sum_i (x_i / Q_i), Q_i = max_rho rho V_i(rho) being the pure class's lane capacity at the
    link's free speed. `grid` is kept for callers; the capacities are exact (bisection).
    """
    del grid
    x = np.asarray(shares, dtype=np.float64)
    x = x / x.sum() if x.sum() > 0 else np.full(x.shape, 1.0 / x.size)
    lanes = float(net.link_lanes[link])
    inv = 0.0
    for i in np.flatnonzero(x > 0):
        params = net.classes[i].model_copy(update={"v_max": float(net.link_vmax[i, link])})
        inv += x[i] / capacity(params)
    q = lanes / inv
    return q, q * float((net.pce * x).sum())


def propagate_flows(net: Network, source_rates: np.ndarray) -> np.ndarray:
    """Flows (veh/s) per class and link, shape (classes, links[, ...]), from source arrival
    rates of shape (sources, classes[, ...]) (trailing axes, e.g. time bins, are kept).

    Every link carries what enters it from its source, plus beta_m times the flow of the
    upstream link of every movement m into it (flow conservation with the scenario's turning
    ratios). Exact for networks without loops after at most `n_links` passes; on a loop the
    sum is truncated there.
    """
    rates = np.asarray(source_rates, dtype=np.float64)
    nc = rates.shape[1]
    base = np.zeros((nc, net.n_links, *rates.shape[2:]))
    for s, k in enumerate(net.src_link):
        base[:, k] += rates[s]
    mov_from, mov_to = net.mov_from, net.mov_to
    beta = net.mov_beta.reshape(nc, -1, *([1] * (rates.ndim - 2)))
    flows = base.copy()
    for _ in range(net.n_links + 1):
        new = base.copy()
        np.add.at(new, (slice(None), mov_to), beta * flows[:, mov_from])
        if np.allclose(new, flows, rtol=0.0, atol=1e-12):
            return new
        flows = new
    return flows


def episode_demand_scale(env: TrafficSignalEnv) -> float:
    """The demand multiplier of the current episode (its named or numeric level)."""
    level = env.demand_level
    return DEMAND_LEVELS[level] if isinstance(level, str) else float(level)


def design_link_flows(env: TrafficSignalEnv) -> tuple[np.ndarray, np.ndarray]:
    """(flows, bin_centres): design flows (veh/s) per class, link and demand bin over the
    episode, shape (classes, links, bins), from the scenario's profile times the episode's
    demand level (no noise), and the bin centres (s)."""
    sim = env.sim
    horizon = float(env.config.episode_s)
    rates = sim.profile_rates(scale=episode_demand_scale(env), duration=horizon)
    centres = (np.arange(rates.shape[2]) + 0.5) * sim.demand_bin
    keep = centres < horizon
    keep[0] = True
    return propagate_flows(sim.net, rates[:, :, keep]), centres[keep]


def signal_approaches(net: Network, g: int) -> list[list[int]]:
    """Per phase of signal g, the incoming links (approaches) that phase gives green to."""
    info = net.signals[g]
    return [sorted({int(net.mov_from[m]) for m in ph}) for ph in info.phase_movements]


def link_pcu(env: TrafficSignalEnv) -> np.ndarray:
    """Passenger-car equivalents on each link now."""
    sim = env.sim
    net = sim.net
    cell_pcu = (net.pce[:, None] * sim.rho).sum(axis=0) * np.repeat(net.link_dx, net.link_n)
    return np.add.reduceat(cell_pcu, net.link_c0)


def link_pcu_storage(net: Network) -> np.ndarray:
    """Passenger-car equivalents each link holds at car jam (lanes x length x jam density)."""
    return net.link_length * net.link_lanes * net.classes[1].rho_max


class StopLineZone:
    """Detector-like read-outs over the last `length_m` metres of some links (before the stop
    line), from the cell densities and speeds (cells partly inside count pro rata).

    `vehicles(env)` gives the vehicles (both classes) in each zone; `flow_per_lane(env)` the
    space-mean flow through it, veh/s per lane, i.e. what a loop detector would count.
    """

    def __init__(self, net: Network, links: Sequence[int], length_m: float) -> None:
        if length_m <= 0:
            raise ValueError(f"detection zone length must be > 0 m, got {length_m}")
        self.links = [int(k) for k in links]
        self.weights = np.zeros((len(self.links), net.n_cells))
        self.length = np.zeros(len(self.links))
        self.lanes = np.array([net.link_lanes[k] for k in self.links], dtype=np.float64)
        for row, k in enumerate(self.links):
            c0, n, dx = int(net.link_c0[k]), int(net.link_n[k]), float(net.link_dx[k])
            zone = min(length_m, float(net.link_length[k]))
            self.length[row] = zone
            start = net.link_length[k] - zone
            for j in range(n):
                lo, hi = j * dx, (j + 1) * dx
                cover = max(0.0, hi - max(lo, start))
                self.weights[row, c0 + j] = min(cover, dx)

    def vehicles(self, env: TrafficSignalEnv) -> np.ndarray:
        return self.weights @ env.sim.rho.sum(axis=0)

    def flow_per_lane(self, env: TrafficSignalEnv) -> np.ndarray:
        flow = (env.sim.rho * env.speed).sum(axis=0)
        return self.weights @ flow / self.length / self.lanes


def rounded_slots(durations: Sequence[float], interval: float,
                  min_slots: Sequence[int]) -> list[int]:
    """Whole decision intervals per phase realising phase durations (s) of one cycle.

    The cycle becomes round(sum / interval) intervals (at least the sum of `min_slots`), shared
    by largest remainder in proportion to the durations; a phase with a positive duration gets
    at least its `min_slots`, a phase with zero duration none (it is skipped).
    """
    d = np.asarray(durations, dtype=np.float64)
    if d.ndim != 1 or d.size == 0 or np.any(d < 0) or not np.all(np.isfinite(d)) or d.sum() <= 0:
        raise ValueError(f"phase durations must be >= 0 with a positive sum, got {list(d)}")
    lows = np.where(d > 0, np.asarray(min_slots, dtype=np.int64), 0)
    total = max(round(d.sum() / interval), int(lows.sum()), 1)
    target = d / d.sum() * total
    slots = np.maximum(np.floor(target + _TOL).astype(np.int64), lows)
    while slots.sum() > total:  # minimums pushed it over: take from the largest excess
        excess = np.where(slots > lows, slots - target, -math.inf)
        slots[int(np.argmax(excess))] -= 1
    while slots.sum() < total:
        gap = np.where(d > 0, target - slots, -math.inf)
        slots[int(np.argmax(gap))] += 1
    return [int(s) for s in slots]
