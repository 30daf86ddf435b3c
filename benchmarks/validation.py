"""The validation suite's tables (docs/validation.md): signal physics against targets and
theory, the isolated fixed-time approach against Webster and UXsim, grid convergence.

Run: `.venv/bin/python benchmarks/validation.py [--no-uxsim] [--only physics|webster|grid]`
(about 5 minutes on one core with UXsim; the SUMO comparison is `benchmarks/validate_sumo.py`).
The pytest versions of these checks are in tests/test_validation.py.
"""

from __future__ import annotations

import argparse
import importlib.util
import time

import numpy as np

from arz_tui.env.validation import run_plan
from sim import exact
from sim.network import compile_network
from sim.scenario import load_scenario
from sim.validation import (
    CAR_CLASS,
    ApproachPlan,
    approach_signal_theory,
    degree_of_saturation_flow,
    isolated_approach,
    measure_signal_physics,
    uxsim_approach_delay,
    webster_delay,
    webster_uniform_delay,
    with_cell_length,
)

PLAN = ApproachPlan()
X_VALUES = (0.3, 0.5, 0.7, 0.85, 0.95)
UXSIM_OFFSETS_S = (0.0, 10.0, 20.0, 30.0, 40.0, 50.0)
CELLS_M = (50.0, 25.0, 10.0, 5.0)


def physics_table() -> None:
    scn = isolated_approach(900.0)
    car = compile_network(scn).classes[CAR_CLASS]
    cap = exact.capacity(car) * 3600.0
    m = measure_signal_physics()
    tail = -exact.red_queue_tail_speed(900.0 / 3600.0, car) * 3.6
    flat = float(exact.equilibrium_speed(exact.free_flow_density(0.6 * cap / 3600.0, car), car)
                 / car.v_max)
    print("Signal physics, isolated approach, cars, one lane, 10 m cells "
          "(arrivals 900 veh/h, 120 s red)")
    print(f"  {'quantity':34s} {'measured':>10s} {'theory':>10s}  target")
    rows = [
        ("discharge (saturation) flow, veh/h", m.discharge_veh_h, cap, "1,800-1,950"),
        ("start-up lost time, s", m.lost_time_s, scn.signals[0].lost_time_s, "2-4 (HCM)"),
        ("start-wave speed, km/h", m.start_wave_kmh, car.wave_speed * 3.6, "15-20"),
        ("queue-tail speed, km/h", m.queue_tail_kmh, tail, "shock theory"),
        ("speed / free speed at 60 % cap.", m.free_speed_ratio, flat, ">= 0.95"),
    ]
    for name, value, theory, target in rows:
        print(f"  {name:34s} {value:10.3f} {theory:10.3f}  {target}")


def webster_table(uxsim: bool) -> None:
    sat, lost, green = approach_signal_theory(PLAN)
    print(f"\nIsolated fixed-time approach: C = {PLAN.cycle_s:g} s, green {PLAN.green_s:g} s, "
          f"all-red {PLAN.all_red_s:g} s, lost time {lost:g} s (g = {green:g} s), "
          f"s = {sat:,.0f} veh/h, 900 m, 10 m cells; delay s/veh")
    head = ["x", "q veh/h", "Webster unif.", "Webster full", "arz-tui", "always green"]
    if uxsim:
        head.append("UXsim")
    print("  " + " ".join(f"{h:>13s}" for h in head))
    for x in X_VALUES:
        q = degree_of_saturation_flow(x, sat, PLAN, lost)
        row = [x, q, webster_uniform_delay(PLAN.cycle_s, green, x),
               webster_delay(PLAN.cycle_s, green, x, q / 3600.0)]
        row.append(run_plan(isolated_approach(q), slot_s=PLAN.cycle_s / 2).totals.mean_delay_s)
        row.append(run_plan(isolated_approach(q), always_green=True).totals.mean_delay_s)
        if uxsim:
            row.append(float(np.mean([uxsim_approach_delay(q, green, offset_s=o)
                                      for o in UXSIM_OFFSETS_S])))
        print("  " + " ".join(f"{v:13.2f}" if i != 1 else f"{v:13.0f}"
                              for i, v in enumerate(row)))


def grid_table() -> None:
    sat, lost, _ = approach_signal_theory(PLAN)
    q = degree_of_saturation_flow(0.85, sat, PLAN, lost)
    lagos = load_scenario("lagos")
    cases = [
        ("lagos, 30 s phases", lambda dx: run_plan(with_cell_length(lagos, dx))),
        ("approach x = 0.85", lambda dx: run_plan(isolated_approach(q, cell_m=dx),
                                                  slot_s=PLAN.cycle_s / 2)),
    ]
    print("\nGrid convergence (env episode totals); in brackets: change against 10 m cells")
    for name, run in cases:
        runs = {dx: run(dx) for dx in CELLS_M}
        ref = runs[10.0]
        print(f"  {name}")
        print(f"    {'cell m':>6s} {'mean delay s':>20s} {'mean queue veh':>20s} "
              f"{'link queue veh':>20s}")
        for dx, r in runs.items():
            cells = []
            for value, base in ((r.totals.mean_delay_s, ref.totals.mean_delay_s),
                                (r.totals.mean_queue_veh, ref.totals.mean_queue_veh),
                                (r.link_queue_veh, ref.link_queue_veh)):
                cells.append(f"{value:10.2f} ({100 * (value / base - 1):+5.1f} %)")
            print(f"    {dx:6g} " + " ".join(f"{c:>20s}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-uxsim", action="store_true", help="skip the UXsim column")
    parser.add_argument("--only", choices=("physics", "webster", "grid"))
    args = parser.parse_args()
    uxsim = not args.no_uxsim and importlib.util.find_spec("uxsim") is not None
    if not args.no_uxsim and not uxsim:
        print("uxsim is not installed (pip install -e '.[dev]'): no UXsim column")
    start = time.perf_counter()
    if args.only in (None, "physics"):
        physics_table()
    if args.only in (None, "webster"):
        webster_table(uxsim)
    if args.only in (None, "grid"):
        grid_table()
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
