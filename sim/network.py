"""Geometry and topology of a scenario compiled to flat arrays for the jitted kernels."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sim.flux import K_DROP, K_GAMMA, K_LAW, K_PCE, K_RELAX, K_WAVE, N_CLASSP
from sim.junction import G_LANES, G_TC, G_TF, N_GAP
from sim.params import KMH, ARZParams, Law
from sim.scenario import CLASS_NAMES, Scenario
from sim.stepper import N_SIG_F

NC = len(CLASS_NAMES)


@dataclass(frozen=True)
class SignalInfo:
    """What users and controllers need to know about one signal."""

    node: str
    phase_names: tuple[str, ...]
    phase_movements: tuple[tuple[int, ...], ...]
    """Movement indices given green by each phase."""
    incoming: tuple[int, ...]
    """Links (indices) controlled by this signal, i.e. approaches."""
    outgoing: tuple[int, ...]
    yellow_s: float
    min_green_s: float
    max_green_s: float
    initial_phase: int
    lost_time_s: float = 0.0
    """Start-up lost time: the first seconds of each green discharge nothing."""

    @property
    def n_phases(self) -> int:
        return len(self.phase_names)


@dataclass(frozen=True)
class Network:
    """A compiled scenario: everything the stepper needs that does not change while it runs.

    Cells of link k are c0[k] .. c0[k] + n[k] - 1; link k owns faces c0[k] + k .. c0[k] + k + n[k].
    """

    scenario: Scenario
    classes: tuple[ARZParams, ...]
    link_ids: tuple[str, ...]
    link_i: np.ndarray
    """Stacked int rows per link: first cell, cells, fed by a junction, ends at a FIFO node."""
    link_dx: np.ndarray
    link_length: np.ndarray
    link_lanes: np.ndarray
    cell_dx: np.ndarray
    """Length of every cell, m."""
    cellp: np.ndarray
    """Stacked rows per class and cell (`sim.flux.C_*`): free speed (m/s), jam occupancy
    (car-eq/m), critical occupancy and free-branch slope of the triangular law (for the
    power law: critical occupancy at w = v_max and coefficient v_max / jam ** gamma)."""
    link_vmax: np.ndarray
    """Free-flow speed per class and link, m/s."""
    classp: np.ndarray
    """Stacked rows per class (`sim.flux.K_*`): gamma, pce, relaxation rate 1/tau (0: none),
    law code, backward wave speed (m/s), free-speed drop."""
    movement_keys: tuple[str, ...]
    mov_i: np.ndarray
    """Stacked int rows per movement: from link, to link, signal (-1: uncontrolled)."""
    mov_cells: np.ndarray
    """Unsigned rows per movement: last cell of the from link, first cell of the to link."""
    mov_beta: np.ndarray
    mov_prio: np.ndarray
    csr_ptr: np.ndarray
    """Row 0: movements into each link (CSR pointers), row 1: movements out of it."""
    csr_mov: np.ndarray
    source_nodes: tuple[str, ...]
    src_link: np.ndarray
    sink_nodes: tuple[str, ...]
    sink_link: np.ndarray
    signals: tuple[SignalInfo, ...]
    sig_phase_ptr: np.ndarray
    phase_mov_ptr: np.ndarray
    phase_mov: np.ndarray
    sig_f: np.ndarray
    """Stacked rows per signal (`sim.stepper.SG_*`): yellow/all-red time, minimum green,
    start-up lost time (s)."""
    dt_cfl: float
    queue_speed: float
    corridor: tuple[int, ...] = field(default=())
    yield_ptr: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    """CSR pointers per movement into `yield_mov`: the movements it yields to (gap
    acceptance; empty for most)."""
    yield_mov: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    mov_gap: np.ndarray = field(default_factory=lambda: np.zeros((N_GAP, 0)))
    """Stacked rows per movement (`sim.junction.G_*`): yield lanes (0: never yields),
    critical headway t_c (s), follow-up headway t_f (s)."""

    # Named views of the stacked arrays.
    @property
    def link_c0(self) -> np.ndarray:
        return self.link_i[0]

    @property
    def link_n(self) -> np.ndarray:
        return self.link_i[1]

    @property
    def cell_vmax(self) -> np.ndarray:
        return self.cellp[0]

    @property
    def cell_jam(self) -> np.ndarray:
        return self.cellp[1]

    @property
    def gamma(self) -> np.ndarray:
        return self.classp[0]

    @property
    def pce(self) -> np.ndarray:
        return self.classp[1]

    @property
    def relax(self) -> np.ndarray:
        return self.classp[2]

    @property
    def mov_from(self) -> np.ndarray:
        return self.mov_i[0]

    @property
    def mov_to(self) -> np.ndarray:
        return self.mov_i[1]

    @property
    def mov_signal(self) -> np.ndarray:
        return self.mov_i[2]

    @property
    def n_cells(self) -> int:
        return int(self.link_n.sum())

    @property
    def n_links(self) -> int:
        return len(self.link_ids)

    def link_index(self, link_id: str) -> int:
        try:
            return self.link_ids.index(link_id)
        except ValueError:
            raise KeyError(f"unknown link {link_id!r}") from None

    def signal_neighbours(self) -> tuple[tuple[int, ...], ...]:
        """For every signal, the signals one link away (upstream or downstream), sorted: the
        neighbour lists of multi-agent observations and coordination (RESCO, MPLight)."""
        link_from = {k: self.scenario.links[k].from_node for k in range(self.n_links)}
        link_to = {k: self.scenario.links[k].to_node for k in range(self.n_links)}
        at = {s.node: g for g, s in enumerate(self.signals)}
        out = []
        for s in self.signals:
            ends = {link_from[k] for k in s.incoming} | {link_to[k] for k in s.outgoing}
            out.append(tuple(sorted(at[n] for n in ends if n in at and n != s.node)))
        return tuple(out)

    def cell_centres(self, link: int) -> np.ndarray:
        """Distances of the link's cell centres from its upstream end, m."""
        return (np.arange(self.link_n[link]) + 0.5) * self.link_dx[link]


def _csr(groups: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    ptr = np.zeros(len(groups) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(g) for g in groups])
    flat = np.array([x for g in groups for x in g], dtype=np.int64)
    return ptr, flat


def max_wave_speed(classes: tuple[ARZParams, ...], link_vmax: np.ndarray,
                   w_min: np.ndarray | None = None) -> float:
    """Bound on every characteristic speed on the network, m/s, for the CFL step.

    Per class and link, `ARZParams.max_wave_speed` at the link's free speed, for markers no
    lower than `w_min` (per class; default the lowest free speed of the class on any link,
    since markers come from sources at free speed and are only ever capped by a link's free
    speed, mixed, or relaxed back up). For the power law this is gamma v_max; for the
    triangular law max(v_max, c) at equilibrium, more where slower traffic enters a faster link.
    """
    wave = 0.0
    for i, p in enumerate(classes):
        w = float(link_vmax[i].min()) if w_min is None else float(w_min[i])
        for vmax in np.unique(link_vmax[i]):
            wave = max(wave, p.model_copy(update={"v_max": float(vmax)}).max_wave_speed(w))
    return wave


def compile_network(scn: Scenario) -> Network:
    """Flat arrays of a validated scenario."""
    classes = scn.classes.params()
    num = scn.numerics
    nodes = {n.id: n for n in scn.nodes}
    link_ids = tuple(lk.id for lk in scn.links)
    lidx = {lid: k for k, lid in enumerate(link_ids)}
    n_links = len(link_ids)

    link_n = np.array([lk.cells or max(1, round(lk.length_m / num.cell_length_m))
                       for lk in scn.links], dtype=np.int64)
    link_c0 = np.zeros(n_links, dtype=np.int64)
    link_c0[1:] = np.cumsum(link_n)[:-1]
    link_length = np.array([lk.length_m for lk in scn.links])
    link_dx = link_length / link_n
    link_lanes = np.array([lk.lanes for lk in scn.links], dtype=np.int64)

    link_vmax = np.empty((NC, n_links))
    link_jam = np.empty((NC, n_links))
    for k, lk in enumerate(scn.links):
        for i, p in enumerate(classes):
            limit = lk.speed_limit_kmh * KMH if lk.speed_limit_kmh else math.inf
            link_vmax[i, k] = min(p.v_max, limit)
            link_jam[i, k] = p.jam_occupancy * lk.lanes
    cell_link = np.repeat(np.arange(n_links), link_n)
    cell_vmax = np.ascontiguousarray(link_vmax[:, cell_link])
    cell_jam = np.ascontiguousarray(link_jam[:, cell_link])
    cell_crit = np.empty_like(cell_vmax)
    cell_slope = np.zeros_like(cell_vmax)
    for i, p in enumerate(classes):
        if p.law_code == Law.TRIANGULAR:
            cell_crit[i] = cell_jam[i] * p.critical_fraction(cell_vmax[i])
            cell_slope[i] = p.free_speed_drop * cell_vmax[i] / cell_crit[i]
        else:
            cell_crit[i] = cell_jam[i] * (1.0 / (1.0 + p.gamma)) ** (1.0 / p.gamma)
            cell_slope[i] = cell_vmax[i] / cell_jam[i] ** p.gamma
    classp = np.zeros((N_CLASSP, NC))
    for i, p in enumerate(classes):
        classp[K_GAMMA, i] = p.gamma
        classp[K_PCE, i] = p.pce
        classp[K_RELAX, i] = 0.0 if p.tau is None else 1.0 / p.tau
        classp[K_LAW, i] = p.law_code
        classp[K_WAVE, i] = p.wave_speed
        classp[K_DROP, i] = p.free_speed_drop

    movement_keys = tuple(m.key for m in scn.movements)
    midx = {key: i for i, key in enumerate(movement_keys)}
    mov_from = np.array([lidx[m.from_link] for m in scn.movements], dtype=np.int64)
    mov_to = np.array([lidx[m.to_link] for m in scn.movements], dtype=np.int64)
    mov_beta = np.array([[m.turn_ratio for m in scn.movements] for _ in range(NC)]).reshape(
        NC, len(scn.movements))
    mov_prio = np.array([m.priority for m in scn.movements], dtype=np.float64)
    link_in_ptr, link_in_mov = _csr([[i for i, m in enumerate(scn.movements)
                                      if m.to_link == lid] for lid in link_ids])
    link_out_ptr, link_out_mov = _csr([[i for i, m in enumerate(scn.movements)
                                        if m.from_link == lid] for lid in link_ids])
    link_up_junction = np.array([nodes[lk.from_node].kind == "junction" for lk in scn.links])
    link_fifo = np.array([nodes[lk.to_node].kind == "junction" and nodes[lk.to_node].fifo
                          for lk in scn.links])

    source_nodes = tuple(n.id for n in scn.nodes if n.kind == "source")
    sink_nodes = tuple(n.id for n in scn.nodes if n.kind == "sink")
    src_link = np.array([next(lidx[lk.id] for lk in scn.links if lk.from_node == s)
                         for s in source_nodes], dtype=np.int64)
    sink_link = np.array([next(lidx[lk.id] for lk in scn.links if lk.to_node == s)
                          for s in sink_nodes], dtype=np.int64)

    signal_of_node = {s.node: g for g, s in enumerate(scn.signals)}
    mov_signal = np.full(len(scn.movements), -1, dtype=np.int64)
    for i, m in enumerate(scn.movements):
        g = signal_of_node.get(scn.links[lidx[m.from_link]].to_node)
        if g is not None and m.signalized:
            mov_signal[i] = g
    infos = []
    phase_groups: list[list[int]] = []
    for s in scn.signals:
        phases = tuple(tuple(midx[key] for key in ph.movements) for ph in s.phases)
        phase_groups.extend(list(p) for p in phases)
        infos.append(SignalInfo(
            node=s.node, phase_names=tuple(ph.name for ph in s.phases), phase_movements=phases,
            incoming=tuple(lidx[lk.id] for lk in scn.links if lk.to_node == s.node),
            outgoing=tuple(lidx[lk.id] for lk in scn.links if lk.from_node == s.node),
            yellow_s=s.yellow_s, min_green_s=s.min_green_s, max_green_s=s.max_green_s,
            initial_phase=s.initial_phase, lost_time_s=s.lost_time_s))
    sig_phase_ptr = np.zeros(len(scn.signals) + 1, dtype=np.int64)
    sig_phase_ptr[1:] = np.cumsum([len(s.phases) for s in scn.signals])
    phase_mov_ptr, phase_mov = _csr(phase_groups)

    dt_cfl = num.cfl * float(link_dx.min()) / max_wave_speed(classes, link_vmax)

    yield_ptr, yield_mov = _csr([[midx[k] for k in m.yields_to] for m in scn.movements])
    mov_gap = np.zeros((N_GAP, len(scn.movements)))
    for i, m in enumerate(scn.movements):
        if m.yields_to:
            mov_gap[G_LANES, i] = m.yield_lanes
            mov_gap[G_TC, i] = m.critical_headway_s
            mov_gap[G_TF, i] = m.follow_up_headway_s

    link_i = np.stack([link_c0, link_n, link_up_junction.astype(np.int64),
                       link_fifo.astype(np.int64)])
    n_mov = len(scn.movements)
    return Network(
        scenario=scn, classes=classes, link_ids=link_ids, link_i=link_i, link_dx=link_dx,
        link_length=link_length, link_lanes=link_lanes, cell_dx=np.repeat(link_dx, link_n),
        cellp=np.stack([cell_vmax, cell_jam, cell_crit, cell_slope]), link_vmax=link_vmax,
        classp=classp, movement_keys=movement_keys,
        mov_i=np.stack([mov_from, mov_to, mov_signal]).reshape(3, n_mov),
        mov_cells=np.stack([link_c0[mov_from] + link_n[mov_from] - 1,
                            link_c0[mov_to]]).reshape(2, n_mov).astype(np.uint64),
        mov_beta=np.ascontiguousarray(mov_beta), mov_prio=mov_prio,
        csr_ptr=np.stack([link_in_ptr, link_out_ptr]),
        csr_mov=np.stack([link_in_mov, link_out_mov]).reshape(2, n_mov),
        source_nodes=source_nodes, src_link=src_link, sink_nodes=sink_nodes,
        sink_link=sink_link, signals=tuple(infos), sig_phase_ptr=sig_phase_ptr,
        phase_mov_ptr=phase_mov_ptr, phase_mov=phase_mov,
        sig_f=np.array([[s.yellow_s, s.min_green_s, s.lost_time_s]
                        for s in scn.signals]).reshape(len(scn.signals), N_SIG_F).T.copy(),
        dt_cfl=dt_cfl, queue_speed=num.queue_speed_kmh * KMH,
        corridor=tuple(lidx[c] for c in scn.corridor),
        yield_ptr=yield_ptr, yield_mov=yield_mov, mov_gap=mov_gap,
    )
