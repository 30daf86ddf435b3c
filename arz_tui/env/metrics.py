"""Step and episode metrics in physical units, shared by the env, the baselines and training."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np


class StepMetrics(NamedTuple):
    """What happened over one decision interval (and the state at its end).

    Immutable and cheap to build (a NamedTuple: the env makes one per step).
    Vehicles waiting in the point queues of the sources (demand that could not enter) count as
    queued and delayed: a controller cannot look good by keeping traffic out. Queues are time
    means over every substep of the interval; delay and queue are defined in docs/metrics.md.
    """

    t: float
    """Simulated time at the end of the interval, s."""
    interval: float
    """Length of the interval, s."""
    queue_veh: float
    """Queued vehicles, time mean over the interval: on links (slower than the queue speed,
    with the sub-cell tail estimate of `sim.queues`) plus in source point queues."""
    queue_m: float
    """Metres of queue on links at the end of the interval."""
    entry_queue_veh: float
    """Vehicles waiting to enter at the sources, time mean over the interval (part of
    queue_veh)."""
    vehicles: float
    """Vehicles on the network's links."""
    delay_vs: float
    """Vehicle-seconds of delay accrued in the interval: time on links minus the free-flow
    time of the distance driven (from the fluxes through cell faces), plus all time spent in
    point queues."""
    previous_delay_vs: float
    """delay_vs of the previous interval (0 for the first)."""
    exited_veh: float
    """Vehicles that left through sinks during the interval."""
    travel_vs: float
    """Vehicle-seconds spent in the system during the interval (links and point queues)."""
    distance_vm: float
    """Vehicle-metres driven during the interval."""
    pressure: float
    """Mean over signalised movements of load(in) - load(out), load = vehicles / storage."""
    signal_queue_veh: np.ndarray
    """Queued vehicles on each signal's approaches, time mean over the interval
    (read-only)."""
    queue_ref_veh: float
    """Normaliser of queue rewards: vehicle storage of all signal approaches."""
    flow_ref_vps: float
    """Normaliser of throughput rewards: the scenario's peak total demand, veh/s."""

    @property
    def throughput_vph(self) -> float:
        return self.exited_veh / self.interval * 3600.0

    @property
    def mean_speed_kmh(self) -> float:
        """Space-mean speed over the interval on the links."""
        return 3.6 * self.distance_vm / self.travel_vs if self.travel_vs > 0 else 0.0


@dataclass(frozen=True, slots=True)
class EpisodeTotals:
    """Totals of an episode so far; the env reports them in `info` when an episode ends."""

    simulated_s: float
    total_delay_vh: float
    """Vehicle-hours of delay, point queues included."""
    mean_delay_s: float
    """Delay per vehicle that arrived at a source."""
    mean_travel_time_s: float
    """Time in the system (links and point queues) per vehicle that arrived."""
    vehicles_arrived: float
    vehicles_served: float
    """Vehicles that left through sinks."""
    vehicles_remaining: float
    """On links or waiting at sources at the end."""
    mean_queue_veh: float
    """Time mean of queued vehicles (links and entry queues) over every substep."""
    max_queue_veh: float
    """Largest interval mean of queued vehicles."""

    def as_dict(self) -> dict[str, float]:
        return asdict(self)
