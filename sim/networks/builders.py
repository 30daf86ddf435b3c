"""`grid:RxC` and `arterial:N` (or `arterial:RxC`) networks and the built-ins modelled on
RESCO's synthetic maps (docs/networks.md says what was taken from RESCO and what differs).

Options are typed pydantic models, so a name's options, a Python call's keyword arguments and
the TUI all go through one validation with one-line errors.
"""

from __future__ import annotations

from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.networks import demand as dm
from sim.networks.layout import GridLayout, Movement, Road
from sim.networks.spec import NetworkSpec, parse_network_name
from sim.params import CAR, MOTORCYCLE
from sim.scenario import Scenario, ScenarioError, parse_scenario, validation_message

MAX_JUNCTIONS = 400
"""20 x 20: beyond that the joint env and the drawing stop being useful."""

PhaseGroup = tuple[str, frozenset[str], frozenset[str]]
"""(phase name, arrival sides, turns) given green together."""
_ALL = frozenset({"through", "left", "right"})
_STRAIGHT = frozenset({"through", "right"})
_LEFT = frozenset({"left"})
_NS, _EW = frozenset({"N", "S"}), frozenset({"E", "W"})
PHASE_SCHEMES: dict[int, tuple[PhaseGroup, ...]] = {
    # Two phases: every movement of an axis together, left turns permitted (they yield).
    2: (("NS", _NS, _ALL), ("EW", _EW, _ALL)),
    # Four: through + right, then protected lefts, per axis.
    4: (("NS_straight", _NS, _STRAIGHT), ("NS_left", _NS, _LEFT),
        ("EW_straight", _EW, _STRAIGHT), ("EW_left", _EW, _LEFT)),
    # RESCO grid4x4's eight green phases: the four above plus each approach alone.
    8: (("NS_straight", _NS, _STRAIGHT), ("NS_left", _NS, _LEFT),
        ("S_all", frozenset({"S"}), _ALL), ("N_all", frozenset({"N"}), _ALL),
        ("EW_straight", _EW, _STRAIGHT), ("EW_left", _EW, _LEFT),
        ("W_all", frozenset({"W"}), _ALL), ("E_all", frozenset({"E"}), _ALL)),
    # RESCO arterial4x4's five: the side street whole (lefts permitted), the arterial's
    # protected lefts, its through + right, and each arterial direction alone.
    5: (("NS", _NS, _ALL), ("EW_left", _EW, _LEFT), ("EW_straight", _EW, _STRAIGHT),
        ("E_all", frozenset({"E"}), _ALL), ("W_all", frozenset({"W"}), _ALL)),
}


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    length: float = Field(default=300.0, ge=20.0, le=5000.0,
                          description="Junction spacing (link length between junctions), m.")
    entry: float | None = Field(default=None, ge=20.0, le=5000.0,
                                description="Length of the entry/exit links at the edge, m "
                                "(default: length).")
    lanes: int = Field(default=3, ge=1, le=6, description="Lanes per direction.")
    speed: float = Field(default=50.0, ge=10.0, le=130.0, description="Speed limit, km/h.")
    left: float = Field(default=0.17, ge=0.0, lt=1.0, description="Left-turn ratio.")
    right: float = Field(default=0.19, ge=0.0, lt=1.0, description="Right-turn ratio.")
    demand: float | str = Field(
        default="heavy", description="light, moderate, heavy, saturated (degree of "
        "saturation of the busiest movement at the peak: 0.45, 0.675, 0.9, 1.125 under "
        "equal-split fixed time), or the peak flow of every entry in veh/h.")
    phases: int = Field(default=4, description="Phase scheme: 2, 4 or 8 (grid), 2, 4 or 5 "
                        "(arterial); docs/networks.md.")
    yellow: float = Field(default=3.0, ge=0.0, le=30.0, description="Yellow + all-red, s.")
    lost: float = Field(default=2.0, ge=0.0, le=10.0, description="Start-up lost time, s.")
    min_green: float = Field(default=5.0, ge=0.0, le=300.0, description="Minimum green, s.")
    max_green: float = Field(default=60.0, gt=0.0, le=600.0, description="Maximum green, s.")
    moto: float = Field(default=0.5, ge=0.0, le=1.0,
                        description="Share of motorcycles in the demand.")
    duration: float = Field(default=3600.0, gt=0.0, le=86_400.0, description="Episode, s.")
    cell: float = Field(default=50.0, ge=5.0, le=1000.0, description="Cell length, m.")

    @field_validator("demand")
    @classmethod
    def _demand(cls, value: float | str) -> float | str:
        if isinstance(value, str) and value not in dm.LEVELS:
            raise ValueError(f"demand must be {', '.join(dm.LEVELS)} or a peak flow in veh/h")
        if not isinstance(value, str) and not 0.0 < value <= 20_000.0:
            raise ValueError("demand must be a peak flow in (0, 20000] veh/h")
        return value

    @model_validator(mode="after")
    def _check(self) -> _Options:
        for prefix in ("", "side_"):
            left = getattr(self, f"{prefix}left", 0.0)
            right = getattr(self, f"{prefix}right", 0.0)
            if left + right >= 1.0:
                raise ValueError(f"{prefix}left + {prefix}right must stay below 1 (through "
                                 "takes the rest)")
        return self


class GridOptions(_Options):
    """Options of `grid:RxC`: the same road on both axes."""

    @model_validator(mode="after")
    def _phases(self) -> GridOptions:
        if self.phases not in (2, 4, 8):
            raise ValueError(f"phases must be 2, 4 or 8 for a grid (got {self.phases})")
        return self


class ArterialOptions(_Options):
    """Options of `arterial:N` / `arterial:RxC`: E-W arterials crossed by N-S side streets."""

    lanes: int = Field(default=2, ge=1, le=6, description="Arterial lanes per direction.")
    speed: float = Field(default=60.0, ge=10.0, le=130.0, description="Arterial limit, km/h.")
    length: float = Field(default=200.0, ge=20.0, le=5000.0,
                          description="Spacing of junctions along the arterial, m.")
    left: float = Field(default=0.235, ge=0.0, lt=1.0, description="Arterial left ratio.")
    right: float = Field(default=0.235, ge=0.0, lt=1.0, description="Arterial right ratio.")
    side_lanes: int = Field(default=1, ge=1, le=6, description="Side-street lanes.")
    side_speed: float = Field(default=40.0, ge=10.0, le=130.0,
                              description="Side-street limit, km/h.")
    side_length: float | None = Field(default=None, ge=20.0, le=5000.0,
                                      description="Spacing between arterials (RxC), and side "
                                      "street entry length, m (default: length).")
    side_left: float = Field(default=0.14, ge=0.0, lt=1.0, description="Side left ratio.")
    side_right: float = Field(default=0.14, ge=0.0, lt=1.0, description="Side right ratio.")
    side: float = Field(default=0.3, ge=0.0, le=10.0, description="Peak flow of a side "
                        "street entry relative to an arterial entry.")

    @model_validator(mode="after")
    def _phases(self) -> ArterialOptions:
        if self.phases not in (2, 4, 5):
            raise ValueError(f"phases must be 2, 4 or 5 for an arterial (got {self.phases})")
        return self


KINDS: dict[str, type[_Options]] = {"grid": GridOptions, "arterial": ArterialOptions}

BUILTIN_NETWORKS: dict[str, tuple[str, str]] = {
    "grid4x4": ("grid:4x4?length=300&lanes=3&speed=50&phases=8&yellow=3",
                "RESCO grid4x4 style: 4 x 4 signalised junctions 300 m apart, 3 lanes each way "
                "at 50 km/h, eight phases, heavy peaked demand at all 16 entries."),
    "arterial4x4": ("arterial:4x4?length=200&entry=75&side_length=200&lanes=2&speed=72"
                    "&side_lanes=1&side_speed=40&phases=5&yellow=2&side=1",
                    "RESCO arterial4x4 style: four 2-lane E-W arterials at 72 km/h crossed by "
                    "four 1-lane side streets at 40 km/h, junctions 200 m apart, five phases."),
}
"""Built-in generated scenarios: name -> (network name, description)."""


def _coerce(raw: dict[str, str]) -> dict[str, Any]:
    """Option text to Python values; pydantic checks the types (a bad number fails there)."""
    out: dict[str, Any] = {}
    for key, text in raw.items():
        try:
            out[key] = float(text)
            if key in ("lanes", "side_lanes", "phases") and float(text).is_integer():
                out[key] = int(float(text))
        except ValueError:
            out[key] = text
    return out


def options_for(kind: str, values: dict[str, Any], where: str) -> _Options:
    """Validated options of a network kind; one-line ScenarioError naming the option."""
    try:
        return KINDS[kind].model_validate(values)
    except ValidationError as err:
        raise ScenarioError(f"{where}: option {validation_message(err)}") from None


def _roads(rows: int, opts: _Options) -> tuple[Road, Road]:
    entry = opts.entry if opts.entry is not None else opts.length
    if isinstance(opts, ArterialOptions):
        side_len = opts.side_length if opts.side_length is not None else opts.length
        ew = Road(opts.length, entry, opts.lanes, opts.speed, opts.left, opts.right)
        ns = Road(side_len, entry if rows > 1 or opts.entry is not None else side_len,
                  opts.side_lanes, opts.side_speed, opts.side_left, opts.side_right)
        return ew, ns
    road = Road(opts.length, entry, opts.lanes, opts.speed, opts.left, opts.right)
    return road, road


def _phases(layout: GridLayout, junction: str, scheme: tuple[PhaseGroup, ...]
            ) -> list[dict[str, Any]]:
    own = [m for m in layout.movements if m.junction == junction]
    return [{"name": name, "movements": [m.key for m in own
                                         if m.arrival in sides and m.turn in turns]}
            for name, sides, turns in scheme]


def _design_peak(layout: GridLayout, opts: _Options, weights: dict[str, float],
                 scheme: tuple[PhaseGroup, ...]) -> float:
    """Peak flow of a weight-1 entry that gives the requested degree of saturation."""
    if not isinstance(opts.demand, str):
        return float(opts.demand)
    link_ids = [lk["id"] for lk in layout.links]
    src_link = {lk["from"]: lk["id"] for lk in layout.links if lk["from"] in layout.entries}
    flows = dm.link_flows(link_ids, {src_link[s]: w for s, w in weights.items()},
                          [(m.from_link, m.to_link, m.ratio) for m in layout.movements])
    classes = (MOTORCYCLE, CAR)
    shares = (opts.moto, 1.0 - opts.moto)
    per_lane = {v: dm.lane_saturation_flow(classes, shares, v) * 3600.0
                for v in {lk["speed_limit_kmh"] for lk in layout.links}}
    sat = {lk["id"]: lk["lanes"] * per_lane[lk["speed_limit_kmh"]] for lk in layout.links}
    effective = max(dm.PHASE_SHOWN_S - opts.yellow - opts.lost, 1.0)
    cycle = dm.PHASE_SHOWN_S * len(scheme)

    def green(m: Movement) -> tuple[int, bool]:
        """(phases giving m green, whether m always has its opposing traffic green too)."""
        mine = [(sides, turns) for _, sides, turns in scheme
                if m.arrival in sides and m.turn in turns]
        opposed = m.turn == "left" and all(
            any(o.arrival in sides and o.turn in turns for o in layout.opposing(m))
            for sides, turns in mine)
        return len(mine), opposed and bool(mine)

    share = {m.key: green(m)[0] * effective / cycle for m in layout.movements}
    loads = []
    for m in layout.movements:
        opposing = tuple((o.from_link, o.ratio, share[o.key]) for o in layout.opposing(m))
        loads.append(dm.Load(m.from_link, m.ratio, share[m.key],
                             opposing if green(m)[1] else ()))
    pcu = opts.moto * MOTORCYCLE.pce + (1.0 - opts.moto) * CAR.pce
    return dm.design_scale(loads, flows, sat, pcu, dm.HEAVY_X * dm.LEVELS[opts.demand])


def _movement_data(layout: GridLayout, m: Movement) -> dict[str, Any]:
    data: dict[str, Any] = {"from": m.from_link, "to": m.to_link,
                            "turn_ratio": round(m.ratio, 6),
                            "priority": 2.0 if m.turn == "through" else 1.0}
    if m.turn == "left":
        # Gap acceptance applies only while the opposing traffic has green too (permitted
        # phases); under a protected left phase it is red and the cap never binds.
        data["yields_to"] = [o.key for o in layout.opposing(m)]
    return data


def build_network(kind: str, rows: int, cols: int, opts: _Options, name: str,
                  description: str = "") -> Scenario:
    """The validated scenario of a `kind` network of rows x cols junctions."""
    if rows * cols > MAX_JUNCTIONS:
        raise ScenarioError(f"network {name!r}: {rows * cols} junctions, at most "
                            f"{MAX_JUNCTIONS} are supported")
    if rows < 1 or cols < 1:
        raise ScenarioError(f"network {name!r}: needs at least one row and one column")
    ew, ns = _roads(rows, opts)
    layout = GridLayout(rows, cols, ew, ns)
    scheme = PHASE_SCHEMES[opts.phases]
    side = opts.side if isinstance(opts, ArterialOptions) else 1.0
    weights = {src: (side if axis == "ns" else 1.0) for src, axis in layout.entries.items()}
    peak = _design_peak(layout, opts, weights, scheme)
    junctions = [n["id"] for n in layout.nodes if n["kind"] == "junction"]
    data: dict[str, Any] = {
        "name": name,
        "description": description or _describe(kind, rows, cols, opts, peak),
        "duration_s": opts.duration,
        "numerics": {"cell_length_m": opts.cell, "cfl": 0.9, "queue_speed_kmh": 10.0},
        "nodes": layout.nodes,
        "links": layout.links,
        "movements": [_movement_data(layout, m) for m in layout.movements],
        "signals": [{"node": j, "phases": _phases(layout, j, scheme), "yellow_s": opts.yellow,
                     "min_green_s": opts.min_green, "max_green_s": max(opts.max_green,
                                                                       opts.min_green),
                     "lost_time_s": opts.lost} for j in junctions],
        "demand": [{"node": src, "profile": dm.profile(peak * w, opts.moto, opts.duration)}
                   for src, w in weights.items() if w > 0.0],
        "corridor": layout.eastbound(0),
    }
    return parse_scenario(data, f"network {name!r}")


def _describe(kind: str, rows: int, cols: int, opts: _Options, peak: float) -> str:
    level = opts.demand if isinstance(opts.demand, str) else "custom"
    return (f"Generated {kind} of {rows} x {cols} signalised junctions, {opts.length:g} m "
            f"apart, {opts.lanes} lane(s) at {opts.speed:g} km/h, {opts.phases} phases; "
            f"{level} demand, {peak:.0f} veh/h per entry at the peak.")


def network_from_spec(spec: NetworkSpec, name: str | None = None,
                      description: str = "") -> Scenario:
    opts = options_for(spec.kind, _coerce(spec.options), f"network name {spec.text!r}")
    return build_network(spec.kind, spec.rows, spec.cols, opts, name or spec.text, description)


def network(name: str) -> Scenario:
    """A scenario from a network name (`grid:4x4?lanes=1`) or a built-in (`grid4x4`)."""
    if name in BUILTIN_NETWORKS:
        text, description = BUILTIN_NETWORKS[name]
        return network_from_spec(parse_network_name(text, tuple(KINDS)), name, description)
    return network_from_spec(parse_network_name(name, tuple(KINDS)))


def grid(rows: int, cols: int, **options: Any) -> Scenario:
    """An R x C grid; keyword options as in `grid:RxC?...` (GridOptions)."""
    opts = options_for("grid", options, f"grid({rows}, {cols})")
    text = f"grid:{rows}x{cols}" + _suffix(options)
    return build_network("grid", rows, cols, opts, text)


def arterial(n: int, rows: int = 1, **options: Any) -> Scenario:
    """`rows` parallel E-W arterials of n junctions each; options as `arterial:N?...`."""
    opts = options_for("arterial", options, f"arterial({n})")
    text = f"arterial:{n}" if rows == 1 else f"arterial:{rows}x{n}"
    return build_network("arterial", rows, n, opts, text + _suffix(options))


def _suffix(options: dict[str, Any]) -> str:
    return ("?" + "&".join(f"{k}={v}" for k, v in options.items())) if options else ""
