"""Simulator speed: ns per cell-step, simulated seconds per wall second, first-call latency.

Run: `.venv/bin/python benchmarks/bench_sim.py` (one core; set NUMBA_NUM_THREADS=1 if you like,
the kernels are single-threaded anyway). Targets: <= 12 ns per cell-step (issue 10),
lagos 15 s of traffic in <= 30 us, first call in a fresh process with a warm cache <= 0.5 s.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np

from sim.scenario import available_scenarios, parse_scenario
from sim.simulator import Simulator

INTERVAL = 15.0


LAWS = {"triangular (default)": {"law": "triangular"},
        "power, gamma = 1": {"law": "power", "gamma": 1.0},
        "power, gamma = 2": {"law": "power", "gamma": 2.0}}
"""Pressure laws timed by `ns_per_cell_step`."""


def ring(cells: int, law: dict) -> Simulator:
    """A closed two-link ring with a dense, mixed platoon: every cell does real work."""
    cls = {"v_max_kmh": 60, "jam_density_veh_per_km_lane": 150, "tau_s": 5, **law}
    moto = dict(cls, jam_density_veh_per_km_lane=675, pce=0.3)
    scn = parse_scenario({
        "name": "ring", "classes": {"motorcycle": moto, "car": cls},
        "nodes": [{"id": "A", "kind": "junction"}, {"id": "B", "kind": "junction"}],
        "links": [{"id": "a", "from": "A", "to": "B", "length_m": cells * 5.0, "cells": cells // 2},
                  {"id": "b", "from": "B", "to": "A", "length_m": cells * 5.0,
                   "cells": cells // 2}],
        "movements": [{"from": "a", "to": "b"}, {"from": "b", "to": "a"}],
        "initial": [{"link": "a", "end_m": cells * 2.0, "motorcycle_veh_per_km_lane": 200,
                     "car_veh_per_km_lane": 80},
                    {"link": "b", "motorcycle_veh_per_km_lane": 30, "car_veh_per_km_lane": 20}],
    })
    return Simulator(scn)


def ns_per_cell_step(law: dict, cells: int = 2000, steps: int = 5000) -> tuple[float, float]:
    """(wall, process CPU) ns per cell and substep, best of 3. On a machine shared with other
    jobs the wall time includes waiting for a core; the CPU time is what the kernels cost."""
    sim = ring(cells, law)
    sim.advance(50 * sim.net.dt_cfl)
    best_wall = best_cpu = np.inf
    for _ in range(3):
        t, c = time.perf_counter(), time.process_time()
        n = sim.advance(steps * sim.net.dt_cfl)
        best_wall = min(best_wall, (time.perf_counter() - t) / n / sim.net.n_cells * 1e9)
        best_cpu = min(best_cpu, (time.process_time() - c) / n / sim.net.n_cells * 1e9)
    return best_wall, best_cpu


def scenario_speed(name: str) -> tuple[int, float, float, float]:
    """(cells, substeps per interval, us per 15 s interval, simulated s per wall s) under a
    fixed-time plan switching every 30 s."""
    sim = Simulator(name)
    n_sig = len(sim.net.signals)
    n_phases = [s.n_phases for s in sim.net.signals]
    duration = sim.net.scenario.duration_s
    intervals = int(duration // INTERVAL)
    plans = [np.array([(k // 2) % n for n in n_phases], dtype=np.int64) for k in range(intervals)]
    sim.advance(INTERVAL, plans[0] if n_sig else None)  # compile / warm
    best = np.inf
    substeps = 0
    for _ in range(3):
        sim.reset()
        substeps = 0
        t = time.perf_counter()
        for k in range(intervals):
            substeps += sim.advance(INTERVAL, plans[k] if n_sig else None)
        best = min(best, time.perf_counter() - t)
    per_interval = best / intervals
    return sim.net.n_cells, substeps / intervals, per_interval * 1e6, INTERVAL / per_interval


def first_call_seconds(name: str = "lagos") -> tuple[float, float]:
    """(import + construct + first interval, of which first interval alone) in a fresh
    process; run twice so the second finds numba's cache warm."""
    code = (
        "import time; t0 = time.perf_counter()\n"
        "from sim.simulator import Simulator\n"
        f"s = Simulator({name!r}); t1 = time.perf_counter(); s.advance(15.0)\n"
        "t2 = time.perf_counter(); print(t2 - t0, t2 - t1)\n"
    )
    out = ""
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                             text=True).stdout
    total, first = (float(v) for v in out.split())
    return total, first


def main() -> None:
    print("two-class solver, ring of 2,000 cells, both classes present")
    print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for name, law in LAWS.items():
        wall, cpu = ns_per_cell_step(law)
        print(f"  {name:22s}: {wall:6.2f} ns wall, {cpu:6.2f} ns CPU per cell-step   "
              f"(target <= 12 CPU: {'ok' if cpu <= 12 else 'MISSED'})")
    print("\nscenarios, 15 s decision intervals, fixed-time plan")
    header = ("scenario", "cells", "substeps", "us/15 s", "sim s/wall s")
    print("  {:10s} {:>6s} {:>9s} {:>9s} {:>14s}".format(*header))
    for name in available_scenarios():
        cells, sub, us, speed = scenario_speed(name)
        flag = ""
        if name == "lagos":
            flag = f"   (target <= 30 us: {'ok' if us <= 30 else 'MISSED'})"
        print(f"  {name:10s} {cells:6d} {sub:9.1f} {us:9.1f} {speed:14,.0f}{flag}")
    total, first = first_call_seconds()
    print(f"\nfresh process, warm numba cache: import + Simulator('lagos') + first 15 s = "
          f"{total:.3f} s, first advance alone {first * 1e3:.1f} ms (target <= 0.5 s: "
          f"{'ok' if total <= 0.5 else 'MISSED'})")


if __name__ == "__main__":
    main()
