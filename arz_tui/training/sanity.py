"""Pre-training sanity checks: catch the runs that are broken from the start.

Each check reports pass/fail, the measured value, what was expected and the fix. They are the
five fatal bugs of the seed project's 351 commits: truncated actions (#37), queues that never
form because inflow does not exceed the initial density (#33), a 60 s decision interval (#27),
the wrong device (#36), and a constant reward.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from arz_tui.env import EnvConfig, TrafficSignalEnv
from arz_tui.training.config import SanityCheckConfig
from arz_tui.training.device import DeviceError, resolve_device

MAX_MAPPED_ACTIONS = 64
"""Joint actions simulated by the action-mapping check (all of them up to this many)."""


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check."""

    name: str
    passed: bool
    measured: str
    expected: str
    fix: str

    def line(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        text = f"[{verdict}] {self.name}: measured {self.measured}; expected {self.expected}"
        return text if self.passed else f"{text}; fix: {self.fix}"


@dataclass(frozen=True)
class SanityReport:
    """All check results, in the order they ran."""

    results: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if not r.passed)

    def format(self) -> str:
        return "\n".join(r.line() for r in self.results)

    def to_dict(self) -> dict:
        return {"passed": self.passed, "results": [asdict(r) for r in self.results]}


class SanityCheckError(RuntimeError):
    """Raised when a check fails; carries the full report."""

    def __init__(self, report: SanityReport) -> None:
        names = ", ".join(r.name for r in report.failures)
        super().__init__(f"sanity checks failed ({names}):\n{report.format()}")
        self.report = report


def check_action_mapping(env: TrafficSignalEnv) -> CheckResult:
    """Every action index decodes to its phases, arithmetically and in the simulator; a
    non-integer action is rejected rather than truncated."""
    codec = env.codec
    problems: list[str] = []
    for a in range(codec.n):
        rest, expected = a, []
        for n in codec.n_phases:
            expected.append(rest % n)
            rest //= n
        for given in (a, np.int64(a), float(a), np.array(a)):
            if codec.decode(given).tolist() != expected:
                problems.append(f"action {given!r} decodes to {codec.decode(given).tolist()}")
    for fractional in (0.6, 1.4):
        try:
            codec.index(fractional)
            problems.append(f"action {fractional} was accepted (truncated)")
        except ValueError:
            pass
    signals = env.sim.net.signals
    hold = max((s.min_green_s + s.yellow_s for s in signals), default=0.0)
    steps = int(np.ceil(hold / env.interval)) + 1
    actions = range(codec.n) if codec.n <= MAX_MAPPED_ACTIONS else np.linspace(
        0, codec.n - 1, MAX_MAPPED_ACTIONS).round().astype(int)
    reached = 0
    for a in actions:
        env.reset(seed=0)
        for _ in range(steps):
            env.step(int(a))
        shown = env.sim.signal_phase().tolist()
        if shown == codec.decode(int(a)).tolist():
            reached += 1
        else:
            problems.append(f"action {a} shows phases {shown}")
    total = len(actions)
    return CheckResult(
        name="action_mapping", passed=not problems,
        measured=f"{reached}/{total} actions reach their phases"
        + (f" ({problems[0]})" if problems else ""),
        expected=f"all {total} actions decode exactly; fractional actions rejected",
        fix="decode actions by exact integer arithmetic (round or reject floats, never int())")


def check_flux_config(env: TrafficSignalEnv, min_ratio: float) -> CheckResult:
    """Peak inflow density at every loaded entry against the initial density there."""
    net = env.sim.net
    env.reset(seed=0)
    rates = env.sim.src_rates  # this episode's demand, veh/s
    ratios = []
    for s, link in enumerate(net.src_link):
        peak = rates[s].max(axis=1)  # per class
        if peak.sum() <= 0:
            continue
        inflow = float(np.sum(net.pce * peak / net.link_vmax[:, link]))  # occupancy, car-eq/m
        c0 = int(net.link_c0[link])
        initial = float(np.sum(net.pce * env.sim.rho[:, c0]))
        ratios.append(np.inf if initial <= 0 else inflow / initial)
    if not ratios:
        return CheckResult("flux_config", False, "no source has demand",
                           f"inflow/initial density >= {min_ratio:g}",
                           "give the scenario's sources a demand profile")
    worst = min(ratios)
    shown = "inf (entries start empty)" if np.isinf(worst) else f"{worst:.1f}:1"
    return CheckResult(
        name="flux_config", passed=worst >= min_ratio, measured=f"inflow/initial {shown}",
        expected=f">= {min_ratio:g}:1 at every loaded entry",
        fix="raise the demand or lower the initial density at the entries (rho_inflow >> "
            "rho_initial) so that queues can form")


def check_control_interval(env_config: EnvConfig, expected: float) -> CheckResult:
    got = env_config.decision_interval_s
    return CheckResult(
        name="control_interval", passed=abs(got - expected) < 1e-9, measured=f"{got:g} s",
        expected=f"{expected:g} s",
        fix=f"set decision_interval_s={expected:g} (at 60 s decisions the agent cannot learn "
            "to react to queues)")


def check_device(requested: str, env: TrafficSignalEnv) -> CheckResult:
    """The device exists and a Q-network built for it keeps its parameters there."""
    try:
        device = resolve_device(requested)
    except DeviceError as err:
        return CheckResult("device", False, f"{requested} unavailable", "an existing device",
                           str(err))
    import torch
    from stable_baselines3.dqn.policies import DQNPolicy

    policy = DQNPolicy(env.observation_space, env.action_space, lambda _: 1e-3).to(device)
    where = {p.device.type for p in policy.parameters()}
    ok = where == {torch.device(device).type}
    return CheckResult(
        name="device", passed=ok, measured=f"{','.join(sorted(where))} (requested {requested})",
        expected=device, fix="use --device cpu, or auto to pick the GPU only when present")


def check_rewards(env: TrafficSignalEnv, num_steps: int, min_unique: int,
                  min_queue: float) -> tuple[CheckResult, CheckResult]:
    """Random actions: the reward must vary and a queue must form."""
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    rewards, max_queue = [], 0.0
    for _ in range(num_steps):
        _, reward, terminated, truncated, info = env.step(int(rng.integers(env.action_space.n)))
        rewards.append(round(float(reward), 9))
        max_queue = max(max_queue, float(info["queue_veh"]))
        if terminated or truncated:
            env.reset()
    return reward_results(len(set(rewards)), "rewards", num_steps, min_unique, max_queue,
                          min_queue)


def reward_results(unique: int, what: str, num_steps: int, min_unique: int, max_queue: float,
                   min_queue: float) -> tuple[CheckResult, CheckResult]:
    """The reward-variety and queue-formation verdicts of `unique` distinct `what` (e.g.
    "rewards") and the largest queue seen in `num_steps` random steps."""
    variety = CheckResult(
        name="reward_variety", passed=unique >= min_unique,
        measured=f"{unique} distinct {what} in {num_steps} random steps",
        expected=f">= {min_unique}",
        fix="the reward is (nearly) constant: check the reward function and that traffic "
            "reaches the signals")
    queue = CheckResult(
        name="queue_formation", passed=max_queue >= min_queue,
        measured=f"max queue {max_queue:.1f} veh", expected=f">= {min_queue:g} veh",
        fix="raise the demand (demand_level) or lengthen the run so queues form at the signals")
    return variety, queue


def run_sanity_checks(env_config: EnvConfig, sanity_config: SanityCheckConfig,
                      device: str = "cpu",
                      on_result: Callable[[CheckResult], None] | None = None,
                      control: str = "joint") -> SanityReport:
    """Run the enabled checks; raises SanityCheckError (a RuntimeError) carrying the full
    report when any fails. `on_result` sees each result as soon as it is known. Under
    `control="per-signal"` the action and reward checks concern each signal's own."""
    results: list[CheckResult] = []

    def add(result: CheckResult) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    if control == "per-signal":
        from arz_tui.training.per_signal import signal_sanity_results

        signal_sanity_results(env_config, sanity_config, device, add)
        return _report(results)
    env = TrafficSignalEnv(env_config)

    if sanity_config.check_action_mapping:
        add(check_action_mapping(env))
    if sanity_config.check_flux_config:
        add(check_flux_config(env, sanity_config.min_inflow_ratio))
    if sanity_config.check_control_interval:
        add(check_control_interval(env_config, sanity_config.expected_interval_s))
    add(check_device(device, env))
    for result in check_rewards(env, sanity_config.num_steps, sanity_config.min_unique_rewards,
                                sanity_config.min_max_queue):
        add(result)
    env.close()
    return _report(results)


def _report(results: list[CheckResult]) -> SanityReport:
    report = SanityReport(tuple(results))
    if not report.passed:
        raise SanityCheckError(report)
    return report
