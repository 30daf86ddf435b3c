"""Scenarios and closed-form references of the validation suite (docs/validation.md).

* `isolated_approach`: one signalised approach, cars only, one lane, fixed-time plan as a
  two-phase signal (the second phase serves an empty side street, i.e. is the approach's red).
* `webster_uniform_delay`, `webster_delay`: Webster's (1958) delay per vehicle at a fixed-time
  signal; the uniform term is the deterministic queue of uniform arrivals (what a macroscopic
  model with constant demand should reproduce), the full formula adds the random-arrival and
  empirical correction terms.
* `with_cell_length`, `scenario_yaml`: the same scenario on another grid, and as a file for
  tools that take a path (the env).

sim stays independent of the env: runs through the env live in `benchmarks/validation.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import yaml

from sim.exact import capacity
from sim.network import compile_network
from sim.params import CAR, ARZParams
from sim.scenario import CLASS_NAMES, Scenario, parse_scenario
from sim.simulator import Simulator

APPROACH, SIDE = "up", "side"
"""Link ids of the isolated approach and of the empty side street."""
MAIN_PHASE, SIDE_PHASE = 0, 1
CAR_CLASS = CLASS_NAMES.index("car")


@dataclass(frozen=True)
class ApproachPlan:
    """A fixed-time plan for the isolated approach: green, then yellow/all-red, then the side
    phase's green and its yellow/all-red (the approach's red)."""

    cycle_s: float = 60.0
    green_s: float = 27.0
    all_red_s: float = 3.0

    @property
    def red_s(self) -> float:
        return self.cycle_s - self.green_s

    def effective_green_s(self, lost_s: float = 0.0) -> float:
        """Green during which the queue discharges at saturation flow: displayed green minus
        the start-up lost time (nothing moves during this model's yellow/all-red)."""
        return self.green_s - lost_s


def isolated_approach(flow_veh_h: float, cell_m: float = 10.0, length_m: float = 900.0,
                      plan: ApproachPlan | None = None, duration_s: float = 7200.0,
                      drain_s: float = 300.0, down_m: float = 300.0) -> Scenario:
    """Source -> approach (`length_m`, one lane) -> signalised junction -> 300 m exit -> sink,
    plus an empty 100 m side street whose phase is the approach's red. Cars only, arriving at
    `flow_veh_h` until `duration_s - drain_s`, then none, so that every vehicle has left by
    the end and per-vehicle delays are complete. Car parameters are the built-in defaults."""
    plan = plan or ApproachPlan()
    stop = duration_s - drain_s
    bin_s = 60.0
    if stop % bin_s:
        raise ValueError(f"duration_s - drain_s = {stop:g} s must be a whole number of minutes")
    half = plan.cycle_s / 2.0
    if abs(plan.green_s + plan.all_red_s - half) > 1e-9:
        raise ValueError("the two-phase plan needs green_s + all_red_s = cycle_s / 2, got "
                         f"{plan.green_s:g} + {plan.all_red_s:g} != {half:g}")
    return parse_scenario({
        "name": f"approach-{flow_veh_h:g}vph-{cell_m:g}m",
        "description": "Isolated fixed-time approach of the validation suite (sim/validation.py).",
        "duration_s": duration_s,
        "numerics": {"cell_length_m": cell_m, "cfl": 0.9, "demand_bin_s": bin_s},
        "nodes": [{"id": "in", "kind": "source"}, {"id": "side_in", "kind": "source"},
                  {"id": "J", "kind": "junction"}, {"id": "out", "kind": "sink"}],
        "links": [
            {"id": APPROACH, "from": "in", "to": "J", "length_m": length_m},
            {"id": SIDE, "from": "side_in", "to": "J", "length_m": 100.0},
            {"id": "down", "from": "J", "to": "out", "length_m": down_m},
        ],
        "movements": [{"from": APPROACH, "to": "down"}, {"from": SIDE, "to": "down"}],
        "signals": [{"node": "J", "yellow_s": plan.all_red_s, "min_green_s": 5.0,
                     "max_green_s": 120.0, "initial_phase": MAIN_PHASE,
                     "phases": [{"name": "main", "movements": [f"{APPROACH}->down"]},
                                {"name": "side", "movements": [f"{SIDE}->down"]}]}],
        "demand": [
            # Linear between the last two points: zero from the first bin centre after `stop`.
            {"node": "in", "profile": [[0.0, 0.0, flow_veh_h], [stop, 0.0, flow_veh_h],
                                       [stop + 1.0, 0.0, 0.0]]},
            {"node": "side_in", "profile": [[0.0, 0.0, 0.0]]},
        ],
        "corridor": [APPROACH, "down"],
    })


def webster_uniform_delay(cycle_s: float, green_s: float, x: float) -> float:
    """Webster's uniform delay per vehicle, s: C (1 - g/C)^2 / (2 (1 - x g/C)), x the degree
    of saturation q / (s g / C) (< 1 / (g/C) for the formula to hold)."""
    lam = green_s / cycle_s
    return cycle_s * (1.0 - lam) ** 2 / (2.0 * (1.0 - x * lam))


def webster_delay(cycle_s: float, green_s: float, x: float, flow_veh_s: float) -> float:
    """Webster's full formula, s/veh: uniform term + x^2 / (2 q (1 - x)) (random arrivals)
    - 0.65 (C / q^2)^(1/3) x^(2 + 5 g/C) (empirical correction); x < 1."""
    if not 0.0 < x < 1.0:
        raise ValueError(f"Webster's formula needs 0 < x < 1, got {x}")
    lam = green_s / cycle_s
    q = flow_veh_s
    uniform = webster_uniform_delay(cycle_s, green_s, x)
    return uniform + x * x / (2.0 * q * (1.0 - x)) - 0.65 * (cycle_s / q**2) ** (1 / 3) * x ** (
        2.0 + 5.0 * lam)


def uxsim_approach_delay(flow_veh_h: float, green_s: float, cycle_s: float = 60.0,
                         length_m: float = 900.0, down_m: float = 300.0,
                         duration_s: float = 7200.0, drain_s: float = 300.0,
                         params: ARZParams = CAR, offset_s: float = 0.0) -> float:
    """Mean delay per vehicle (s) of the isolated approach in UXsim (Seo's Newell-type
    mesoscopic model, triangular diagram): the same free speed, jam density and backward
    wave as `params` (UXsim's reaction time is 1 / (wave x jam density), which is also its
    time step), single vehicles (deltan = 1), a green of `green_s` (UXsim has no start-up
    lost time: pass the effective green) and red for the rest of the cycle, arrivals at
    `flow_veh_h` until `duration_s - drain_s`, the cycle shifted by `offset_s`. Delay =
    travel time (waiting to enter included) - free-flow time, over completed trips. Needs the
    `uxsim` package (dev)."""
    import uxsim  # a dev dependency, only needed here

    wave = params.wave_speed if params.law == "triangular" else params.gamma * params.v_max
    reaction = 1.0 / (wave * params.rho_max)
    world = uxsim.World(name="", deltan=1, reaction_time=reaction, tmax=duration_s,
                        print_mode=0, save_mode=0, show_mode=0, random_seed=0)
    world.addNode("in", 0.0, 0.0)
    world.addNode("J", length_m, 0.0, signal=[green_s, cycle_s - green_s],
                  signal_offset=offset_s)
    world.addNode("out", length_m + down_m, 0.0)
    common = {"free_flow_speed": params.v_max, "jam_density": params.rho_max}
    world.addLink(APPROACH, "in", "J", length=length_m, signal_group=0, **common)
    world.addLink("down", "J", "out", length=down_m, **common)
    world.adddemand("in", "out", 0.0, duration_s - drain_s, flow_veh_h / 3600.0)
    world.exec_simulation()
    world.analyzer.basic_analysis()
    return float(world.analyzer.average_delay)


def with_cell_length(scn: Scenario, cell_m: float) -> Scenario:
    """The scenario with another target cell length (links with a fixed `cells` keep it)."""
    numerics = scn.numerics.model_copy(update={"cell_length_m": cell_m})
    return parse_scenario({**scn.model_dump(mode="json", by_alias=True),
                           "numerics": numerics.model_dump(mode="json")},
                          f"{scn.name} at {cell_m:g} m cells")


def scenario_yaml(scn: Scenario) -> str:
    """The scenario as a scenario file (fields left at their defaults are omitted)."""
    data = scn.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    data["name"] = scn.name  # required even where it equals nothing's default
    return yaml.safe_dump(data, sort_keys=False)


def approach_signal_theory(plan: ApproachPlan | None = None) -> tuple[float, float, float]:
    """(saturation flow veh/h, start-up lost time s, effective green s) of the isolated
    approach: the car law's capacity and the scenario's lost time."""
    plan = plan or ApproachPlan()
    scn = isolated_approach(100.0, plan=plan)
    car = compile_network(scn).classes[CAR_CLASS]
    lost = scn.signals[0].lost_time_s
    return capacity(car) * 3600.0, lost, plan.effective_green_s(lost)


def degree_of_saturation_flow(x: float, saturation_veh_h: float, plan: ApproachPlan,
                              lost_s: float = 0.0) -> float:
    """Arrival flow (veh/h) giving degree of saturation x: x * s * g / C."""
    return x * saturation_veh_h * plan.effective_green_s(lost_s) / plan.cycle_s



@dataclass(frozen=True)
class SignalPhysics:
    """Measured on the isolated approach (10 m cells): a red of `red_s` with arrivals, then
    green. Flows veh/h, speeds km/h, times s."""

    discharge_veh_h: float
    """Stop-line flow while the queue discharges (least-squares slope of the cumulative
    departures from lost time + 2 s until the queue has cleared)."""
    lost_time_s: float
    """Start-up lost time: green start to the time-axis intercept of that line (HCM)."""
    start_wave_kmh: float
    """Speed of the start wave (where the standing queue starts moving), upstream."""
    queue_tail_kmh: float
    """Speed of the queue's tail during the red, upstream (from the queued metres)."""
    free_speed_ratio: float
    """Space-mean speed / free speed on the approach, signal always green, arrivals at 60 % of
    capacity (VKT / VHT over the approach link)."""


def measure_signal_physics(arrivals_veh_h: float = 900.0, red_s: float = 120.0,
                           cell_m: float = 10.0, capacity_veh_h: float | None = None
                           ) -> SignalPhysics:
    """Run the isolated approach through one long red and the following green; see
    `SignalPhysics`. `capacity_veh_h` (default: measured discharge) sets the 60 % flow of the
    free-speed run."""
    scn = isolated_approach(arrivals_veh_h, cell_m=cell_m, length_m=1500.0)
    sim = Simulator(scn)
    net = sim.net
    k = net.link_index(APPROACH)
    # Let arrivals fill the road (free flow) before the red.
    sim.advance(150.0, [MAIN_PHASE])
    t0 = sim.t
    sim.advance(3.0, [SIDE_PHASE])  # all-red, then the side phase: the approach's red
    times, tails = [], []
    while sim.t - t0 < red_s - 1e-9:
        sim.advance(2.0, [SIDE_PHASE])
        _, metres = sim.queues()
        times.append(sim.t)
        tails.append(metres[k])
    t, x = np.array(times), np.array(tails)
    settled = t - t0 >= 20.0
    tail_speed = float(np.polyfit(t[settled], x[settled], 1)[0])
    # Green: the change back to the main phase takes the all-red, then the lost time runs.
    sim.advance(3.0, [MAIN_PHASE])
    green = sim.t
    dx = float(net.link_dx[k])
    cells = sim.link_slice(k)
    n_cells = int(net.link_n[k])
    queue_v = net.queue_speed
    out0 = float(sim.acc_out[:, k].sum())
    ts, ns = [], []
    # Cells of the standing queue at the green: when each starts moving.
    stopped = ((sim.speeds()[:, cells].max(axis=0) < queue_v)
               & (sim.rho[:, cells].sum(axis=0) > 1e-4))
    moving = ~stopped
    first_moving = np.full(n_cells, np.nan)
    step = 0.5
    while True:
        sim.advance(step, [MAIN_PHASE])
        ts.append(sim.t - green)
        ns.append(float(sim.acc_out[:, k].sum()) - out0)
        speed = sim.speeds()[:, cells].max(axis=0)
        dens = sim.rho[:, cells].sum(axis=0)
        now = (speed >= queue_v) | (dens <= 1e-4)
        first_moving[now & ~moving] = sim.t - green
        moving |= now
        queued, _ = sim.queues()
        if ts[-1] > 20.0 and queued[k] < 0.5:
            break
        if ts[-1] > 600.0:
            raise RuntimeError("the queue did not clear in 600 s of green")
    tt, nn = np.array(ts), np.array(ns)
    params = net.classes[CAR_CLASS]
    # Lost time: read the set value back from the curve's intercept.
    lost_set = scn.signals[0].lost_time_s
    fit = (tt >= lost_set + 2.0) & (nn < 0.8 * nn[-1])
    slope, intercept = np.polyfit(tt[fit], nn[fit], 1)
    # Start wave: when the cells of the standing queue (beyond the first 30 m) start moving.
    dist = (n_cells - np.arange(n_cells) - 0.5) * dx
    use = (dist >= 30.0) & np.isfinite(first_moving)
    wave = float(np.polyfit(first_moving[use], dist[use], 1)[0])
    # Free-speed flatness: always green at 60 % of capacity.
    capacity = capacity_veh_h if capacity_veh_h is not None else slope * 3600.0
    free = Simulator(isolated_approach(0.6 * capacity, cell_m=cell_m, length_m=1500.0))
    free.advance(600.0, [MAIN_PHASE])
    vht0 = free.vehicle_seconds()[:, k].sum()
    vkt0 = free.vehicle_metres()[:, k].sum()
    free.advance(600.0, [MAIN_PHASE])
    vht = free.vehicle_seconds()[:, k].sum() - vht0
    vkt = free.vehicle_metres()[:, k].sum() - vkt0
    ratio = float(vkt / vht / params.v_max)
    return SignalPhysics(discharge_veh_h=float(slope * 3600.0),
                         lost_time_s=float(-intercept / slope),
                         start_wave_kmh=wave * 3.6, queue_tail_kmh=tail_speed * 3.6,
                         free_speed_ratio=ratio)
