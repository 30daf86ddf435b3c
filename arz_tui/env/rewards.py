"""Reward functions by name: each maps a StepMetrics to a float in roughly [-1, 1].

A reward may also be any callable taking a StepMetrics (EnvConfig.reward). Queue-based rewards
include the sources' point queues: the prior ARZ work's density reward taught "always red",
since traffic kept out of the network cost nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from arz_tui.env.metrics import StepMetrics


def _clip(x: float) -> float:
    return -1.0 if x < -1.0 else (1.0 if x > 1.0 else x)


def queue_reward(m: StepMetrics) -> float:
    """Minus the queued vehicles (links and entries) over the approaches' storage."""
    return _clip(-m.queue_veh / m.queue_ref_veh)


def delay_reward(m: StepMetrics) -> float:
    """Minus the vehicle-seconds of delay in the interval, per second and storage vehicle."""
    return _clip(-m.delay_vs / (m.interval * m.queue_ref_veh))


def pressure_reward(m: StepMetrics) -> float:
    """Minus the mean pressure (load upstream - load downstream) of signalised movements."""
    return _clip(-m.pressure)


def throughput_reward(m: StepMetrics) -> float:
    """Vehicles leaving the network in the interval over the peak demand's vehicles."""
    return _clip(m.exited_veh / (m.interval * m.flow_ref_vps))


def diff_waiting_reward(m: StepMetrics) -> float:
    """Drop in delay from the previous interval to this one (sumo-rl's diff-waiting-time in
    macroscopic form), per second and storage vehicle."""
    return _clip((m.previous_delay_vs - m.delay_vs) / (m.interval * m.queue_ref_veh))


REWARDS: dict[str, Callable[[StepMetrics], float]] = {
    "queue": queue_reward,
    "delay": delay_reward,
    "pressure": pressure_reward,
    "throughput": throughput_reward,
    "diff-waiting": diff_waiting_reward,
}
