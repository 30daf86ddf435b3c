"""Network-scale speed: the simulator with 15 s decisions on generated grids (2x2, 4x4, 8x8),
the RESCO-style built-ins and imported SUMO networks, and the joint env where its action
space is small enough to exist.

Figures per network:
- `decisions/s`: `Simulator.advance(15 s, phases)` calls per wall second under a fixed-time
  plan (every signal asks for its next phase every 30 s): the kernel cost of one decision
  step of all signals together, before observations and rewards;
- `signal decisions/s`: that times the number of signals (what a per-signal multi-agent env
  can reach at most; the agent side measures its own figure with observations and policies);
- `(per CPU s)`: the same per second of this process's CPU time (less sensitive to other
  load on the machine);
- `sim s/s`: simulated seconds per wall second;
- `joint env steps/s`: `TrafficSignalEnv.step` with random joint actions, only where the
  joint action space (product of phase counts) is at most 4,096;
- `PZ dec/s` (and per CPU s): the per-signal PettingZoo env (`arz_tui.env.parallel_env`),
  decisions of all agents per second: `step(dict of random actions)` calls x agents, with
  local observations, local rewards and network metrics (comparable with LightSim's
  PettingZoo grid 4x4: 214 decisions/s, measured by the issue's author at 5 s decisions);
- `vec dec/s`: the same through the per-signal VecEnv that training uses (one replica,
  array actions, SB3's step).

Run: `.venv/bin/python benchmarks/bench_networks.py [--seconds 2] [--json out.json]`.
One process, one core (the kernels are single-threaded); say what else ran on the machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import numpy as np

from sim.scenario import Scenario, load_scenario
from sim.simulator import Simulator

REPO = Path(__file__).resolve().parent.parent
SUMO_DATA = REPO / "tests" / "data" / "sumo"
DECISION_S = 15.0
JOINT_LIMIT = 4096
NETWORKS = ("grid:2x2", "grid:4x4", "grid4x4", "grid:8x8", "arterial4x4",
            "sumo:grid2x2", "sumo:town")


def scenario(name: str) -> Scenario:
    if name.startswith("sumo:"):
        from arz_tui.netimport import convert_net

        return convert_net(SUMO_DATA / f"{name.removeprefix('sumo:')}.net.xml").scenario
    return load_scenario(name)


def bench_sim(scn: Scenario, seconds: float) -> dict:
    sim = Simulator(scn)
    n_phases = [s.n_phases for s in sim.net.signals]
    sim.advance(DECISION_S)  # compile / warm
    best = best_cpu = 0.0
    substeps = 0.0
    for _ in range(3):
        sim.reset()
        k, start, cpu = 0, time.perf_counter(), time.process_time()
        steps = 0
        while time.perf_counter() - start < seconds / 3:
            phases = [(k // 2 + 1) % n for n in n_phases]
            steps += sim.advance(DECISION_S, phases)
            k += 1
            if sim.t >= scn.duration_s:
                sim.reset()
        rate = k / (time.perf_counter() - start)
        best_cpu = max(best_cpu, k / max(time.process_time() - cpu, 1e-9))
        if rate > best:
            best, substeps = rate, steps / k
    return {"signals": len(n_phases), "cells": sim.net.n_cells, "dt_cfl_s": sim.net.dt_cfl,
            "substeps_per_decision": substeps, "decisions_per_s": best,
            "decisions_per_cpu_s": best_cpu, "signal_decisions_per_s": best * len(n_phases),
            "sim_s_per_s": best * DECISION_S}


def bench_joint_env(name: str, scn: Scenario, seconds: float) -> float | None:
    if math.prod(len(s.phases) for s in scn.signals) > JOINT_LIMIT:
        return None
    from arz_tui.env import TrafficSignalEnv

    env = TrafficSignalEnv(scenario=env_name(name), decision_interval_s=DECISION_S)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    env.step(int(rng.integers(env.action_space.n)))
    k, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        _, _, done, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
        k += 1
        if done or truncated:
            env.reset()
    return k / (time.perf_counter() - start)


def env_name(name: str) -> str:
    return str(SUMO_DATA / f"{name.removeprefix('sumo:')}.net.xml") \
        if name.startswith("sumo:") else name


def _timed(step, reset, seconds: float) -> tuple[float, float]:
    """(calls per wall second, per CPU second) of `step`, best of three; `reset` is called
    when `step` returns True (an episode ended)."""
    best = best_cpu = 0.0
    for _ in range(3):
        k, start, cpu = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - start < seconds / 3:
            if step():
                reset()
            k += 1
        best = max(best, k / (time.perf_counter() - start))
        best_cpu = max(best_cpu, k / max(time.process_time() - cpu, 1e-9))
    return best, best_cpu


def bench_agents(name: str, seconds: float) -> dict:
    """Decisions of all agents per second through the per-signal envs."""
    from arz_tui.env import parallel_env
    from arz_tui.env.signal_vec_env import SignalVecEnv

    env = parallel_env(scenario=env_name(name), decision_interval_s=DECISION_S)
    rng = np.random.default_rng(0)
    agents = list(env.possible_agents)
    n_actions = np.array([env.action_space(a).n for a in agents])
    env.reset(seed=0)

    def pz_step() -> bool:
        draws = rng.integers(1 << 30, size=len(agents)) % n_actions
        env.step({a: int(x) for a, x in zip(agents, draws, strict=True)})
        return not env.agents

    pz_step()
    pz, pz_cpu = _timed(pz_step, lambda: env.reset(), seconds)
    vec = SignalVecEnv(scenario=env_name(name), n_replicas=1, decision_interval_s=DECISION_S)
    vec.reset(seed=0)
    n = int(vec.action_space.n)

    def vec_step() -> bool:
        vec.step(rng.integers(n, size=vec.num_envs))  # resets itself
        return False

    vec_step()
    vs, vs_cpu = _timed(vec_step, lambda: None, seconds)
    g = len(agents)
    return {"agents": g, "pz_decisions_per_s": pz * g, "pz_decisions_per_cpu_s": pz_cpu * g,
            "vec_decisions_per_s": vs * g, "vec_decisions_per_cpu_s": vs_cpu * g}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=2.0, help="timing budget per figure")
    p.add_argument("--networks", nargs="*", default=list(NETWORKS))
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = p.parse_args()
    rows = {}
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; one process")
    print(f"{'network':<14}{'signals':>8}{'cells':>7}{'substeps':>9}{'decisions/s':>13}"
          f"{'(per CPU s)':>12}{'signal dec/s':>14}{'sim s/s':>10}{'joint env/s':>13}"
          f"{'PZ dec/s':>10}{'(CPU s)':>9}{'vec dec/s':>10}{'(CPU s)':>9}")
    for name in args.networks:
        scn = scenario(name)
        row = bench_sim(scn, args.seconds)
        row["joint_env_steps_per_s"] = bench_joint_env(name, scn, args.seconds)
        row.update(bench_agents(name, args.seconds))
        rows[name] = row
        joint = row["joint_env_steps_per_s"]
        print(f"{name:<14}{row['signals']:>8}{row['cells']:>7}"
              f"{row['substeps_per_decision']:>9.1f}{row['decisions_per_s']:>13,.0f}"
              f"{row['decisions_per_cpu_s']:>12,.0f}"
              f"{row['signal_decisions_per_s']:>14,.0f}{row['sim_s_per_s']:>10,.0f}"
              f"{'n/a' if joint is None else f'{joint:,.0f}':>13}"
              f"{row['pz_decisions_per_s']:>10,.0f}{row['pz_decisions_per_cpu_s']:>9,.0f}"
              f"{row['vec_decisions_per_s']:>10,.0f}{row['vec_decisions_per_cpu_s']:>9,.0f}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
