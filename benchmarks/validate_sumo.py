"""The isolated fixed-time approach of the validation suite in SUMO, next to arz-tui and Webster
(docs/validation.md).

Run: `.venv/bin/python benchmarks/validate_sumo.py` after `pip install eclipse-sumo` (optional;
without it the script says so and exits 0). Same approach as `benchmarks/validation.py`: one
lane, 900 m to the stop line then 300 m, cycle 60 s with 27 s green for the approach (the 3 s
all-red and the side phase are red), arrivals at x * s * g / C for 1 h 55 min, 2 h run.
SUMO's drivers are deterministic (Krauss, sigma = 0, speedFactor 1), 50 km/h, and enter at
free speed; delay per vehicle = tripinfo timeLoss + departDelay (docs/metrics.md), over all
vehicles (every trip completes). SUMO's saturation flow and start-up loss come from its
car-following model, not from arz-tui's parameters: the table gives the flows used, so the
rows compare the same demand.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from validation import PLAN, X_VALUES  # benchmarks/validation.py: the same approach

from arz_tui.env.validation import run_plan
from sim.validation import (
    approach_signal_theory,
    degree_of_saturation_flow,
    isolated_approach,
    webster_uniform_delay,
)

DURATION_S, DRAIN_S = 7200, 300
FREE_KMH = 50.0


def sumo_binaries() -> tuple[str, str] | None:
    """(sumo, netconvert) from the eclipse-sumo package or the PATH; None if absent."""
    if importlib.util.find_spec("sumo") is not None:
        import sumo  # the eclipse-sumo wheel

        bin_dir = Path(sumo.SUMO_HOME) / "bin"
        found = (bin_dir / "sumo", bin_dir / "netconvert")
        if all(p.exists() for p in found):
            return str(found[0]), str(found[1])
    which = shutil.which("sumo"), shutil.which("netconvert")
    if all(which):
        return which[0], which[1]  # type: ignore[return-value]
    return None


def write_inputs(folder: Path, flow_veh_h: float) -> None:
    v = FREE_KMH / 3.6
    (folder / "a.nod.xml").write_text(
        '<nodes>\n'
        '  <node id="in" x="0" y="0"/>\n'
        '  <node id="J" x="900" y="0" type="traffic_light"/>\n'
        '  <node id="out" x="1200" y="0"/>\n'
        '</nodes>\n', encoding="utf-8")
    (folder / "a.edg.xml").write_text(
        '<edges>\n'
        f'  <edge id="up" from="in" to="J" numLanes="1" speed="{v:.4f}"/>\n'
        f'  <edge id="down" from="J" to="out" numLanes="1" speed="{v:.4f}"/>\n'
        '</edges>\n', encoding="utf-8")
    red = PLAN.cycle_s - PLAN.green_s
    (folder / "a.add.xml").write_text(
        '<additional>\n'
        '  <tlLogic id="J" type="static" programID="fixed" offset="0">\n'
        f'    <phase duration="{PLAN.green_s:g}" state="G"/>\n'
        f'    <phase duration="{red:g}" state="r"/>\n'
        '  </tlLogic>\n'
        '</additional>\n', encoding="utf-8")
    (folder / "a.rou.xml").write_text(
        '<routes>\n'
        '  <vType id="car" sigma="0" speedFactor="1" speedDev="0" maxSpeed="'
        f'{v:.4f}"/>\n'
        '  <route id="r" edges="up down"/>\n'
        f'  <flow id="f" type="car" route="r" begin="0" end="{DURATION_S - DRAIN_S}" '
        f'vehsPerHour="{flow_veh_h:.3f}" departSpeed="max" departLane="best"/>\n'
        '</routes>\n', encoding="utf-8")


def sumo_delay(binaries: tuple[str, str], flow_veh_h: float) -> float:
    """Mean timeLoss + departDelay (s/veh) of the approach in SUMO."""
    sumo, netconvert = binaries
    with tempfile.TemporaryDirectory(prefix="arz-sumo-") as tmp:
        folder = Path(tmp)
        write_inputs(folder, flow_veh_h)
        subprocess.run([netconvert, "-n", "a.nod.xml", "-e", "a.edg.xml", "-o", "a.net.xml",
                        "--no-turnarounds", "true"], cwd=folder, check=True,
                       capture_output=True)
        subprocess.run([sumo, "-n", "a.net.xml", "-r", "a.rou.xml", "-a", "a.add.xml",
                        "--tripinfo-output", "trips.xml", "--end", str(DURATION_S),
                        "--step-length", "0.5", "--no-step-log", "true",
                        "--duration-log.disable", "true", "--seed", "0"],
                       cwd=folder, check=True, capture_output=True)
        root = ET.parse(folder / "trips.xml").getroot()
        trips = root.findall("tripinfo")
        if not trips:
            raise RuntimeError("SUMO reported no completed trips")
        loss = [float(t.get("timeLoss", "nan")) + float(t.get("departDelay", "0"))
                for t in trips]
        return sum(loss) / len(loss)


def main() -> int:
    binaries = sumo_binaries()
    if binaries is None:
        print("skipped: SUMO is not installed (pip install eclipse-sumo); nothing compared")
        return 0
    os.environ.setdefault("SUMO_HOME", str(Path(binaries[0]).parent.parent))
    sat, lost, green = approach_signal_theory(PLAN)
    print(f"Isolated approach (C = {PLAN.cycle_s:g} s, green {PLAN.green_s:g} s, arz-tui "
          f"lost time {lost:g} s, s = {sat:,.0f} veh/h); delay s/veh")
    print(f"  {'x':>5s} {'q veh/h':>8s} {'Webster unif.':>14s} {'arz-tui':>8s} {'SUMO':>8s}")
    for x in X_VALUES:
        q = degree_of_saturation_flow(x, sat, PLAN, lost)
        ours = run_plan(isolated_approach(q), slot_s=PLAN.cycle_s / 2).totals.mean_delay_s
        theirs = sumo_delay(binaries, q)
        print(f"  {x:5.2f} {q:8.0f} {webster_uniform_delay(PLAN.cycle_s, green, x):14.2f} "
              f"{ours:8.2f} {theirs:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
