"""Scenario files: a validated, unit-explicit description of a network, its demand and state.

Files are YAML (or JSON) with field names that carry their units (`length_m`,
`speed_limit_kmh`, flows in veh/h, densities in veh/km per lane). `load_scenario` takes a
built-in name (a file in `sim/scenarios/`, so dropping a file there adds a scenario) or a path,
and turns any problem into a one-line `ScenarioError` naming the file and the field.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.params import CAR, KMH, MOTORCYCLE, ARZParams, LawName, default_law

CLASS_NAMES = ("motorcycle", "car")
"""Class index order used by every array of the simulator."""

SCENARIO_DIR = Path(__file__).parent / "scenarios"
SUFFIXES = (".yaml", ".yml", ".json")


MAX_TOTAL_CELLS = 200_000
"""Cells of all links together (a few MB of state; ~100x the largest built-in network)."""
MIN_LINK_M = 1.0
"""Shortest link, m (numerics.cell_length_m has the same floor)."""
MIN_CELL_M = 0.05
"""Shortest cell, m: fine enough for grid-convergence studies (0.25 m cells), while a cell of
1 mm (a 1 mm link) would make every step 1,000x shorter than 1 m cells."""


class ScenarioError(ValueError):
    """A scenario that cannot be loaded; the message is one line naming the bad field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ClassSpec(_Model):
    """One vehicle class in user units."""

    v_max_kmh: float = Field(gt=0, le=200, description="Free-flow speed, km/h.")
    jam_density_veh_per_km_lane: float = Field(
        gt=0, le=2000, description="Jam density of a pure stream of this class, veh/km/lane."
    )
    law: LawName = Field(
        default="triangular", description="Pressure law: 'triangular' (Newell-Daganzo "
        "equilibrium, the default) or 'power' (v_max (rho / jam) ** gamma). Left out: 'power' "
        "if gamma is given, so files written for the power law keep it.")
    gamma: float = Field(default=1.0, ge=1.0, le=5.0,
                         description="Power law: pressure exponent.")
    wave_speed_kmh: float = Field(
        default=17.0, gt=0.0, le=100.0,
        description="Triangular law: backward wave speed of the congested branch, km/h.")
    free_speed_drop: float = Field(
        default=0.01, gt=0.0, le=0.2,
        description="Triangular law: fraction of the free speed lost at capacity.")
    tau_s: float | None = Field(
        default=None, gt=0, description="Relaxation time, s; null switches relaxation off."
    )
    pce: float = Field(default=1.0, gt=0, le=1.0, description="Space taken relative to a car.")

    _fill_law = model_validator(mode="before")(classmethod(lambda cls, data: default_law(data)))

    def to_params(self) -> ARZParams:
        """The simulator's SI parameter object."""
        return ARZParams(v_max=self.v_max_kmh * KMH,
                         rho_max=self.jam_density_veh_per_km_lane / 1000.0, law=self.law,
                         gamma=self.gamma, wave_speed=self.wave_speed_kmh * KMH,
                         free_speed_drop=self.free_speed_drop, tau=self.tau_s, pce=self.pce)

    @classmethod
    def from_params(cls, p: ARZParams) -> ClassSpec:
        """Inverse of `to_params`."""
        return cls(v_max_kmh=p.v_max / KMH, jam_density_veh_per_km_lane=p.rho_max * 1000.0,
                   law=p.law, gamma=p.gamma, wave_speed_kmh=p.wave_speed / KMH,
                   free_speed_drop=p.free_speed_drop, tau_s=p.tau, pce=p.pce)


class Classes(_Model):
    """The two vehicle classes: motorcycles and cars. A class given in part keeps the
    built-in values of the fields it leaves out."""

    motorcycle: ClassSpec = Field(default_factory=lambda: ClassSpec.from_params(MOTORCYCLE),
                                  description="Motorcycles (index 0 in every array).")
    car: ClassSpec = Field(default_factory=lambda: ClassSpec.from_params(CAR),
                           description="Cars (index 1 in every array).")

    @model_validator(mode="before")
    @classmethod
    def _inherit_defaults(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        builtin = {"motorcycle": MOTORCYCLE, "car": CAR}
        merged = dict(data)
        for name, params in builtin.items():
            given = data.get(name)
            if isinstance(given, dict):
                merged[name] = {**ClassSpec.from_params(params).model_dump(),
                                **default_law(given)}
        return merged

    def params(self) -> tuple[ARZParams, ARZParams]:
        """(motorcycle, car) in SI."""
        return (self.motorcycle.to_params(), self.car.to_params())


class Numerics(_Model):
    """Discretisation and metric settings."""

    cell_length_m: float = Field(default=50.0, ge=1.0, le=1000.0,
                                 description="Target cell length; links get round(L / dx) cells.")
    cfl: float = Field(default=0.9, gt=0.0, le=1.0, description="CFL number of the time step.")
    queue_speed_kmh: float = Field(
        default=10.0, gt=0.0, le=60.0, description="A cell below this space-mean speed counts as "
        "queued (10 km/h: motorcycles still creep through a stopped car queue).")
    demand_bin_s: float = Field(default=60.0, gt=0.0, le=3600.0,
                                description="Demand is held constant over bins of this length.")


class NodeSpec(_Model):
    """A source, sink or junction."""

    id: str = Field(min_length=1, description="Unique node name.")
    kind: Literal["source", "sink", "junction"] = Field(description="Role of the node.")
    fifo: bool = Field(default=False, description="Junction: a blocked movement blocks its "
                       "whole approach (no turn lanes).")
    x_m: float | None = Field(default=None, description="Drawing position, m.")
    y_m: float | None = Field(default=None, description="Drawing position, m.")


class LinkSpec(_Model):
    """A directed road section."""

    id: str = Field(min_length=1, description="Unique link name.")
    from_node: str = Field(alias="from", description="Upstream node id.")
    to_node: str = Field(alias="to", description="Downstream node id.")
    length_m: float = Field(gt=0, le=100_000, description="Length, m.")
    lanes: int = Field(default=1, ge=1, le=10, description="Number of lanes.")
    speed_limit_kmh: float | None = Field(default=None, gt=0, le=200,
                                          description="Caps each class's free-flow speed.")
    cells: int | None = Field(default=None, ge=1, le=100_000,
                              description="Number of cells; default from numerics.cell_length_m.")


class MovementSpec(_Model):
    """A turning movement through a junction."""

    from_link: str = Field(alias="from", description="Incoming link id.")
    to_link: str = Field(alias="to", description="Outgoing link id.")
    turn_ratio: float = Field(default=1.0, gt=0.0, le=1.0,
                              description="Share of the incoming link's traffic taking it.")
    priority: float = Field(default=1.0, gt=0.0, description="Weight when merging traffic "
                            "competes for the outgoing link's supply.")
    signalized: bool = Field(default=True, description="At a signalised node: controlled by "
                             "the signal (false: always allowed, e.g. a slip lane).")
    yields_to: list[str] = Field(
        default_factory=list, description="Movements of the same junction ('from->to') whose "
        "traffic this one crosses by gap acceptance (a permitted left turn yields to the "
        "opposing through and right turns): its flow is capped by the HCM permitted-left "
        "capacity for their current flow (docs/model.md).")
    critical_headway_s: float = Field(default=4.5, gt=0.0, le=15.0,
                                      description="Gap acceptance: critical headway t_c, s.")
    follow_up_headway_s: float = Field(default=2.5, gt=0.0, le=10.0,
                                       description="Gap acceptance: follow-up headway t_f, s.")
    yield_lanes: int = Field(default=1, ge=1, le=10, description="Gap acceptance: lanes the "
                             "yielding movement discharges from (the capacity is per lane).")

    @property
    def key(self) -> str:
        return f"{self.from_link}->{self.to_link}"


class PhaseSpec(_Model):
    """A set of movements that have green together."""

    name: str = Field(min_length=1, description="Phase name shown to users.")
    movements: list[str] = Field(description="Movements given green, as 'from_link->to_link'; "
                                 "empty for an all-red (e.g. pedestrian) phase.")
    duration_s: float | None = Field(
        default=None, gt=0.0, le=600.0, description="Green time of this phase in the network's "
        "own fixed-time program (e.g. from a SUMO tlLogic); null when it has none.")


class SignalSpec(_Model):
    """A traffic signal controlling the movements of one junction."""

    node: str = Field(description="Junction node id.")
    phases: list[PhaseSpec] = Field(min_length=1, description="Phases, in index order.")
    yellow_s: float = Field(default=3.0, ge=0.0, le=30.0,
                            description="Yellow plus all-red time inserted at each change.")
    min_green_s: float = Field(default=5.0, ge=0.0, le=300.0,
                               description="A phase is held at least this long.")
    max_green_s: float = Field(default=60.0, gt=0.0, le=600.0,
                               description="Used by actuated baselines.")
    initial_phase: int = Field(default=0, ge=0, description="Phase shown at t = 0.")
    lost_time_s: float = Field(
        default=2.0, ge=0.0, le=10.0, description="Start-up lost time: the first seconds of "
        "each green discharge nothing (effective green = green - lost time; docs/model.md).")


class SourceDemand(_Model):
    """Arrivals at a source node: piecewise-linear flows per class over time."""

    node: str = Field(description="Source node id.")
    profile: list[tuple[float, float, float]] = Field(
        min_length=1, description="Points (t_s, motorcycles_veh_per_h, cars_veh_per_h).")

    @model_validator(mode="after")
    def _check_profile(self) -> SourceDemand:
        times = [p[0] for p in self.profile]
        if any(b <= a for a, b in itertools.pairwise(times)):
            raise ValueError("profile times must increase strictly")
        for t, qm, qc in self.profile:
            if not all(math.isfinite(v) for v in (t, qm, qc)):
                raise ValueError("profile values must be finite")
            if t < 0 or qm < 0 or qc < 0:
                raise ValueError(f"profile point {(t, qm, qc)} has a negative value")
        return self

    def flows_at(self, t: float) -> tuple[float, float]:
        """(motorcycles, cars) in veh/h at time t, held flat beyond the first and last points."""
        pts = self.profile
        if t <= pts[0][0]:
            return pts[0][1], pts[0][2]
        for (t0, m0, c0), (t1, m1, c1) in itertools.pairwise(pts):
            if t <= t1:
                a = (t - t0) / (t1 - t0)
                return m0 + a * (m1 - m0), c0 + a * (c1 - c0)
        return pts[-1][1], pts[-1][2]


class InitialSegment(_Model):
    """Initial densities on part of a link, at equilibrium speed unless speeds are given."""

    link: str = Field(description="Link id.")
    start_m: float = Field(default=0.0, ge=0.0, description="From this distance along the link.")
    end_m: float | None = Field(default=None, gt=0.0, description="To this distance; default "
                                "the link's end.")
    motorcycle_veh_per_km_lane: float = Field(default=0.0, ge=0.0, description="Density.")
    car_veh_per_km_lane: float = Field(default=0.0, ge=0.0, description="Density.")


class Scenario(_Model):
    """A complete scenario: classes, numerics, network, signals, demand and initial state."""

    name: str = Field(min_length=1, description="Scenario name.")
    description: str = Field(default="", description="What it represents.")
    duration_s: float = Field(default=3600.0, gt=0.0, le=86_400.0,
                              description="Default episode length, simulated seconds.")
    classes: Classes = Field(default_factory=Classes, description="Vehicle classes.")
    numerics: Numerics = Field(default_factory=Numerics, description="Discretisation.")
    nodes: list[NodeSpec] = Field(min_length=2, description="Nodes.")
    links: list[LinkSpec] = Field(min_length=1, description="Links.")
    movements: list[MovementSpec] = Field(default_factory=list, description="Junction movements.")
    signals: list[SignalSpec] = Field(default_factory=list, description="Traffic signals.")
    demand: list[SourceDemand] = Field(default_factory=list, description="Arrivals at sources.")
    initial: list[InitialSegment] = Field(default_factory=list, description="Initial state.")
    corridor: list[str] = Field(default_factory=list, description="Links, in driving order, "
                                "drawn in time-space diagrams (default: none).")

    @model_validator(mode="after")
    def _check_topology(self) -> Scenario:
        def dupes(items: list[str]) -> list[str]:
            return [k for k, n in Counter(items).items() if n > 1]

        node_ids = [n.id for n in self.nodes]
        link_ids = [lk.id for lk in self.links]
        if d := dupes(node_ids):
            raise ValueError(f"nodes: duplicate id {d[0]!r}")
        if d := dupes(link_ids):
            raise ValueError(f"links: duplicate id {d[0]!r}")
        nodes = {n.id: n for n in self.nodes}
        links = {lk.id: lk for lk in self.links}
        ins: dict[str, list[str]] = {n: [] for n in nodes}
        outs: dict[str, list[str]] = {n: [] for n in nodes}
        for i, lk in enumerate(self.links):
            for end, node in (("from", lk.from_node), ("to", lk.to_node)):
                if node not in nodes:
                    raise ValueError(f"links[{i}].{end}: unknown node {node!r}")
            if lk.from_node == lk.to_node:
                raise ValueError(f"links[{i}]: link {lk.id!r} starts and ends at the same node")
            outs[lk.from_node].append(lk.id)
            ins[lk.to_node].append(lk.id)
        for n in self.nodes:
            nin, nout = len(ins[n.id]), len(outs[n.id])
            if n.kind == "source" and (nin, nout) != (0, 1):
                raise ValueError(f"nodes: source {n.id!r} needs exactly one outgoing and no "
                                 f"incoming link (has {nout} out, {nin} in)")
            if n.kind == "sink" and (nin, nout) != (1, 0):
                raise ValueError(f"nodes: sink {n.id!r} needs exactly one incoming and no "
                                 f"outgoing link (has {nin} in, {nout} out)")
            if n.kind == "junction" and (nin == 0 or nout == 0):
                raise ValueError(f"nodes: junction {n.id!r} needs incoming and outgoing links")
        keys = [m.key for m in self.movements]
        if d := dupes(keys):
            raise ValueError(f"movements: duplicate movement {d[0]!r}")
        ratio: dict[str, float] = {}
        for i, m in enumerate(self.movements):
            for end, lid in (("from", m.from_link), ("to", m.to_link)):
                if lid not in links:
                    raise ValueError(f"movements[{i}].{end}: unknown link {lid!r}")
            node = links[m.from_link].to_node
            if nodes[node].kind != "junction":
                raise ValueError(f"movements[{i}].from: link {m.from_link!r} does not end at a "
                                 "junction")
            if links[m.to_link].from_node != node:
                raise ValueError(f"movements[{i}].to: link {m.to_link!r} does not leave "
                                 f"junction {node!r}")
            ratio[m.from_link] = ratio.get(m.from_link, 0.0) + m.turn_ratio
        by_key = {m.key: m for m in self.movements}
        for i, m in enumerate(self.movements):
            for key in m.yields_to:
                other = by_key.get(key)
                if other is None or key == m.key or (
                        links[other.from_link].to_node != links[m.from_link].to_node):
                    raise ValueError(f"movements[{i}].yields_to: {key!r} is not another "
                                     "movement of the same junction")
        # Sets built once: generated networks have thousands of movements.
        fed = {m.to_link for m in self.movements}
        node_keys: dict[str, set[str]] = {}
        for m in self.movements:
            node_keys.setdefault(links[m.from_link].to_node, set()).add(m.key)
        for n in self.nodes:
            if n.kind != "junction":
                continue
            for lid in ins[n.id]:
                total = ratio.get(lid, 0.0)
                if abs(total - 1.0) > 1e-6:
                    raise ValueError(f"movements: turn_ratio of movements from {lid!r} sums to "
                                     f"{total:g}, must be 1")
            for lid in outs[n.id]:
                if lid not in fed:
                    raise ValueError(f"movements: no movement feeds link {lid!r}")
        signal_nodes = [s.node for s in self.signals]
        if d := dupes(signal_nodes):
            raise ValueError(f"signals: two signals at node {d[0]!r}")
        for i, s in enumerate(self.signals):
            if s.node not in nodes or nodes[s.node].kind != "junction":
                raise ValueError(f"signals[{i}].node: {s.node!r} is not a junction")
            if s.initial_phase >= len(s.phases):
                raise ValueError(f"signals[{i}].initial_phase: {s.initial_phase} but only "
                                 f"{len(s.phases)} phases")
            if s.min_green_s > s.max_green_s:
                raise ValueError(f"signals[{i}].min_green_s: exceeds max_green_s")
            own = node_keys.get(s.node, set())
            for p, ph in enumerate(s.phases):
                for key in ph.movements:
                    if key not in own:
                        raise ValueError(f"signals[{i}].phases[{p}].movements: {key!r} is not a "
                                         f"movement of junction {s.node!r}")
        sources = {n.id for n in self.nodes if n.kind == "source"}
        for i, d in enumerate(self.demand):
            if d.node not in sources:
                raise ValueError(f"demand[{i}].node: {d.node!r} is not a source node")
        if d := dupes([x.node for x in self.demand]):
            raise ValueError(f"demand: two profiles for source {d[0]!r}")
        moto, car = self.classes.params()
        for i, seg in enumerate(self.initial):
            if seg.link not in links:
                raise ValueError(f"initial[{i}].link: unknown link {seg.link!r}")
            for name, dens, p in (("motorcycle", seg.motorcycle_veh_per_km_lane, moto),
                                  ("car", seg.car_veh_per_km_lane, car)):
                if dens > p.rho_max * 1000.0 * (1 + 1e-9):
                    raise ValueError(f"initial[{i}].{name}_veh_per_km_lane: {dens:g} is above "
                                     f"the {name} jam density {p.rho_max * 1000:g}")
            occupancy = (moto.pce * seg.motorcycle_veh_per_km_lane
                         + car.pce * seg.car_veh_per_km_lane) / 1000.0
            jam = max(moto.jam_occupancy, car.jam_occupancy)
            if occupancy > jam * (1 + 1e-9):
                raise ValueError(f"initial[{i}]: densities occupy {occupancy * 1000:g} car-eq/km "
                                 f"per lane, above the jam occupancy {jam * 1000:g}")
            end = seg.end_m if seg.end_m is not None else links[seg.link].length_m
            if not seg.start_m < end <= links[seg.link].length_m + 1e-9:
                raise ValueError(f"initial[{i}]: segment [{seg.start_m}, {end}] m is not inside "
                                 f"link {seg.link!r}")
        self._check_initial_overlaps(links, moto, car)
        self._check_size()
        for i, lid in enumerate(self.corridor):
            if lid not in links:
                raise ValueError(f"corridor[{i}]: unknown link {lid!r}")
            if i and links[self.corridor[i - 1]].to_node != links[lid].from_node:
                raise ValueError(f"corridor[{i}]: {lid!r} does not follow "
                                 f"{self.corridor[i - 1]!r}")
        return self

    def _check_size(self) -> None:
        """Cells a simulator can hold and step at a usable speed: the time step follows the
        shortest cell (CFL), so a 1 mm link makes every step 1,000x shorter."""
        total = 0
        for i, lk in enumerate(self.links):
            n = lk.cells or max(1, round(lk.length_m / self.numerics.cell_length_m))
            total += n
            if lk.length_m < MIN_LINK_M:
                raise ValueError(f"links[{i}] ({lk.id!r}): {lk.length_m:g} m long; the "
                                 f"shortest link allowed is {MIN_LINK_M:g} m")
            if lk.length_m / n < MIN_CELL_M:
                raise ValueError(f"links[{i}] ({lk.id!r}): cells of {lk.length_m / n:.3g} m; "
                                 f"the shortest allowed is {MIN_CELL_M:g} m (lengthen the link "
                                 "or give fewer cells)")
        if total > MAX_TOTAL_CELLS:
            raise ValueError(f"links: {total:,} cells in all, at most {MAX_TOTAL_CELLS:,}; "
                             "raise numerics.cell_length_m or shorten the network")

    def _check_initial_overlaps(self, links: dict[str, LinkSpec], moto: ARZParams,
                                car: ARZParams) -> None:
        """Segments add up where they overlap: the sums must stay below jam too."""
        jam = max(moto.jam_occupancy, car.jam_occupancy)
        by_link: dict[str, list[InitialSegment]] = {}
        for seg in self.initial:
            by_link.setdefault(seg.link, []).append(seg)
        for lid, segs in by_link.items():
            if len(segs) < 2:
                continue
            length = links[lid].length_m
            spans = [(s.start_m, s.end_m if s.end_m is not None else length, s) for s in segs]
            cuts = sorted({p for a, b, _ in spans for p in (a, b)})
            for a, b in itertools.pairwise(cuts):
                mid = 0.5 * (a + b)
                here = [s for lo, hi, s in spans if lo <= mid < hi]
                dm = sum(s.motorcycle_veh_per_km_lane for s in here)
                dc = sum(s.car_veh_per_km_lane for s in here)
                occ = (moto.pce * dm + car.pce * dc) / 1000.0
                if (dm > moto.rho_max * 1000 * (1 + 1e-9) or dc > car.rho_max * 1000 * (1 + 1e-9)
                        or occ > jam * (1 + 1e-9)):
                    raise ValueError(f"initial: overlapping segments on link {lid!r} add up to "
                                     f"{dm:g} motorcycles and {dc:g} cars per km and lane at "
                                     f"{mid:g} m, above jam")

    def signal_by_node(self) -> dict[str, SignalSpec]:
        return {s.node: s for s in self.signals}


def available_scenarios() -> list[str]:
    """Names of the scenario files in `sim/scenarios/`. Generated networks (`grid4x4`,
    `arterial4x4`, `grid:RxC`, `arterial:N`) load by name too but are listed by
    `sim.networks.BUILTIN_NETWORKS`: their joint action space is too large for the joint env."""
    if not SCENARIO_DIR.is_dir():
        return []
    return sorted(p.stem for p in SCENARIO_DIR.iterdir() if p.suffix in SUFFIXES and p.is_file())


def _locate(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.is_file():
        return path
    builtin = SCENARIO_DIR / path.name
    if path.suffix in SUFFIXES and path.parent == Path() and builtin.is_file():
        return builtin
    if path.suffix in SUFFIXES or path.exists():
        raise ScenarioError(f"scenario file {str(path)!r} not found")
    for suffix in SUFFIXES:
        candidate = SCENARIO_DIR / f"{name_or_path}{suffix}"
        if candidate.is_file():
            return candidate
    raise ScenarioError(f"unknown scenario {str(name_or_path)!r}: choose one of "
                        f"{', '.join(available_scenarios())}, a generated network (grid4x4, "
                        "arterial4x4, grid:RxC, arterial:N) or a path to a scenario file")


def validation_message(err: ValidationError) -> str:
    """The first error of a pydantic ValidationError as one line: 'field.path: message (got X)'."""
    first = err.errors()[0]
    loc = ""
    for part in first["loc"]:
        loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
    msg = first["msg"].removeprefix("Value error, ")
    given = first.get("input")
    shown = "" if isinstance(given, dict | list) or loc == "" else f" (got {given!r})"
    return f"{loc}: {msg}{shown}" if loc else msg


def parse_scenario(data: object, source: str = "<scenario>") -> Scenario:
    """Validate already-parsed data; raises ScenarioError with one line naming the field."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: a scenario must be a mapping of fields")
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(f"{source}: {validation_message(err)}") from None


SUMO_SUFFIX = ".net.xml"


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A built-in scenario by name, a generated network by name (`grid4x4`, `grid:4x4?lanes=1`,
    `arterial:5`; docs/scenarios.md), or a scenario file by path."""
    text = str(name_or_path)
    if isinstance(name_or_path, str) and not Path(text).is_file():
        from sim.networks import BUILTIN_NETWORKS, looks_like_network, network

        if text in BUILTIN_NETWORKS or looks_like_network(text):
            return network(text)
    if text.endswith(SUMO_SUFFIX):
        # Converting needs sumolib, which the simulator core does not depend on.
        raise ScenarioError(f"{text!r} is a SUMO network: convert it with `arz-tui import "
                            f"{text} -o my.yaml`, or pass it to arz-tui --scenario")
    path = _locate(name_or_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as err:
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ScenarioError(f"scenario file {str(path)!r} cannot be read: {detail}") from None
    return parse_scenario(data, f"scenario file {str(path)!r}")
