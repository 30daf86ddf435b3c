"""The simulator facade: a compiled network, its state, and one jitted call per interval."""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numba import typeof

from sim.flux import pressures
from sim.jit import compiled
from sim.metrics import cell_speeds
from sim.network import NC, Network, compile_network, max_wave_speed
from sim.queues import N_QUEUE_ROWS, link_queues
from sim.scenario import Scenario, load_scenario
from sim.signals import CHANGE_LEFT, GREEN_TIME, N_SIGNAL_ROWS, PHASE
from sim.stepper import (
    A_IN,
    A_OUT,
    A_QUEUE,
    A_VHT,
    A_VKT,
    F_Q,
    F_QIN,
    N_CELL_ACC,
    N_FACE,
    N_LINK_ACC,
    N_SRC_ROWS,
    S_ENTERED,
    S_GENERATED,
    S_MARK,
    S_QUEUE,
    U_RHO,
    U_Y,
    advance,
    empty_work,
)

_ADVANCE_PARAMS = list(inspect.signature(getattr(advance, "py_func", advance)).parameters)
_ARG_SECONDS, _ARG_DT, _ARG_BIN, _ARG_REQUESTS, _ARG_RATES = (
    _ADVANCE_PARAMS.index(name)
    for name in ("duration", "dt_cfl", "src_bin", "requests", "src_rates"))
"""Positions of the per-call arguments of `sim.stepper.advance`."""

ACC_GENERATED, ACC_WAITING, ACC_ENTERED = 0, 1, 2
"""Rows of `Simulator.src_acc`: vehicles generated at sources, vehicle-seconds spent in the
sources' point queues, vehicles that entered the network."""


@dataclass(frozen=True)
class SimArrays:
    """The arrays a simulation carries from one call to the next (everything else is network
    or scratch). A batch of replicas (`sim.batch`) gives each replica views into its own."""

    state: np.ndarray
    """(U_RHO/U_Y, class, cell)."""
    clock: np.ndarray
    """Simulated time, shape (1,)."""
    acc_cell: np.ndarray
    """(A_VHT/A_VKT/A_QUEUE, class, cell)."""
    acc_link: np.ndarray
    """(A_IN/A_OUT, class, link)."""
    src_state: np.ndarray
    """(S_ rows, class, source)."""
    sink_ghost_speed: np.ndarray
    """(class, sink)."""
    sig_state: np.ndarray
    """(signal rows, signal)."""
    faces: np.ndarray
    """(F_ rows, class, cell): the face fluxes of the last substep, which the queue read-outs
    use (sim.stepper F_ constants)."""

    @classmethod
    def zeros(cls, net: Network) -> SimArrays:
        return cls(state=np.zeros((2, NC, net.n_cells)), clock=np.zeros(1),
                   acc_cell=np.zeros((N_CELL_ACC, NC, net.n_cells)),
                   acc_link=np.zeros((N_LINK_ACC, NC, net.n_links)),
                   src_state=np.zeros((N_SRC_ROWS, NC, len(net.src_link))),
                   sink_ghost_speed=np.full((NC, len(net.sink_link)), -1.0),
                   sig_state=np.zeros((N_SIGNAL_ROWS, len(net.signals))),
                   faces=np.zeros((N_FACE, NC, net.n_cells)))


class Simulator:
    """Two-class ARZ network simulation of one scenario.

    Arrays are indexed [class, ...] with class 0 = motorcycles and 1 = cars. Densities are
    veh/m over all lanes of a link, speeds m/s, flows veh/s, times s.
    `arrays` (default: fresh zeros) is where the state lives.
    """

    def __init__(self, scenario: Scenario | Network | str | Path,
                 arrays: SimArrays | None = None) -> None:
        if isinstance(scenario, Network):
            net = scenario
        else:
            scn = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
            net = compile_network(scn)
        n_mov = net.mov_i.shape[1]
        if net.mov_gap.shape[1] != n_mov or net.yield_ptr.shape[0] != n_mov + 1:
            # A network assembled from another (e.g. replicated) that did not carry the
            # gap-acceptance arrays along: harmless when nothing yields, an error otherwise
            # (yielding would silently apply to some copies only).
            if net.yield_mov.size:
                raise ValueError(f"network has {n_mov} movements but gap-acceptance arrays "
                                 f"for {net.mov_gap.shape[1]}: replicate yield_ptr, "
                                 "yield_mov and mov_gap with the movements")
            net = replace(net, yield_ptr=np.zeros(n_mov + 1, dtype=np.int64),
                          mov_gap=np.zeros((net.mov_gap.shape[0], n_mov)))
        self.net = net
        n, nl = net.n_cells, net.n_links
        n_sig = len(net.signals)
        arrays = SimArrays.zeros(net) if arrays is None else arrays
        self.arrays = arrays
        self.state = arrays.state
        self.rho = self.state[U_RHO]
        self.y = self.state[U_Y]
        self.clock = arrays.clock
        self.acc_cell = arrays.acc_cell
        self.cell_vht = self.acc_cell[A_VHT]
        self.cell_vkt = self.acc_cell[A_VKT]
        self.cell_queue = self.acc_cell[A_QUEUE]
        self.acc_link = arrays.acc_link
        self.acc_in = self.acc_link[A_IN]
        self.acc_out = self.acc_link[A_OUT]
        self.src_state = arrays.src_state
        self.src_queue = self.src_state[S_QUEUE]
        self.src_acc = self.src_state[S_GENERATED:S_ENTERED + 1]
        self.src_mark = self.src_state[S_MARK]
        self.src_mark[:] = net.link_vmax[:, net.src_link]
        self.sink_ghost_speed = arrays.sink_ghost_speed
        self.sig_state = arrays.sig_state
        self.mov_green = np.ones(net.mov_i.shape[1])
        self._no_requests = np.full(n_sig, -1, dtype=np.int64)
        self._requests = np.full(n_sig, -1, dtype=np.int64)
        self._occ = np.zeros(n)
        self._work = empty_work(NC, n)
        self.faces = arrays.faces
        self._mov_scratch = np.zeros((3, NC, net.mov_i.shape[1]))
        self._speed = np.zeros((NC, n))
        self._queue_class = np.zeros((NC, nl))
        self._queue_scratch = np.zeros((N_QUEUE_ROWS, n))
        self._queue_len = np.zeros(nl)
        self._advance_args: list | None = None
        self.demand_bin = net.scenario.numerics.demand_bin_s
        self.src_rates = self.profile_rates()
        self.reset()

    # ------------------------------------------------------------------ set-up
    @property
    def src_rates(self) -> np.ndarray:
        """Arrival rates (veh/s) per source, class and demand bin (`set_demand`)."""
        return self._src_rates

    @src_rates.setter
    def src_rates(self, rates: np.ndarray) -> None:
        args = getattr(self, "_advance_args", None)
        if args is not None and typeof(rates) == typeof(self._src_rates):
            args[_ARG_RATES] = rates
        else:
            self._advance_args = None  # bind again, for the new array's type
        self._src_rates = rates

    def profile_rates(self, scale: float = 1.0, duration: float | None = None) -> np.ndarray:
        """Arrival rates (veh/s) per source, class and demand bin from the scenario profiles,
        sampled at bin centres; shape (sources, classes, bins)."""
        scn = self.net.scenario
        horizon = scn.duration_s if duration is None else duration
        n_bins = math.ceil(horizon / self.demand_bin) + 1
        rates = np.zeros((len(self.net.source_nodes), NC, n_bins))
        profiles = {d.node: d for d in scn.demand}
        for s, node in enumerate(self.net.source_nodes):
            if node not in profiles:
                continue
            for b in range(n_bins):
                qm, qc = profiles[node].flows_at((b + 0.5) * self.demand_bin)
                rates[s, 0, b] = qm / 3600.0 * scale
                rates[s, 1, b] = qc / 3600.0 * scale
        return rates

    def set_demand(self, rates: np.ndarray) -> None:
        """Replace the arrival rates (veh/s, shape (sources, classes, bins), bins of
        `demand_bin` seconds; the last bin holds beyond the end)."""
        rates = np.asarray(rates, dtype=np.float64)
        expected = (len(self.net.source_nodes), NC)
        if rates.ndim != 3 or rates.shape[:2] != expected or rates.shape[2] < 1:
            raise ValueError(f"demand rates must have shape {(*expected, 'bins')}, "
                             f"got {rates.shape}")
        if not np.all(np.isfinite(rates)) or np.any(rates < 0):
            raise ValueError("demand rates must be finite and >= 0")
        self.src_rates = np.ascontiguousarray(rates)

    def reset(self) -> None:
        """Initial state of the scenario at t = 0; demand rates are kept."""
        net = self.net
        self.rho[:] = 0.0
        for seg in net.scenario.initial:
            k = net.link_index(seg.link)
            dx = net.link_dx[k]
            start = seg.start_m
            end = seg.end_m if seg.end_m is not None else net.link_length[k]
            edges = np.arange(net.link_n[k] + 1) * dx
            cover = np.clip(np.minimum(edges[1:], end) - np.maximum(edges[:-1], start), 0, None)
            cells = slice(net.link_c0[k], net.link_c0[k] + net.link_n[k])
            lanes = net.link_lanes[k]
            densities = (seg.motorcycle_veh_per_km_lane, seg.car_veh_per_km_lane)
            for i, d in enumerate(densities):
                self.rho[i, cells] += d / 1000.0 * lanes * cover / dx
        jam = net.cell_jam / net.pce[:, None]
        np.minimum(self.rho, jam, out=self.rho)
        self.y[:] = self.rho * net.cell_vmax
        self.clock[0] = 0.0
        self.dt_cfl = net.dt_cfl
        for arr in (self.acc_cell, self.acc_link, self.src_queue, self.src_acc, self.faces):
            arr[:] = 0.0
        for g, info in enumerate(net.signals):
            self.sig_state[:, g] = 0.0
            self.sig_state[PHASE, g] = info.initial_phase
            # The initial phase counts as already past its minimum green.
            self.sig_state[GREEN_TIME, g] = info.min_green_s

    def set_state(self, rho: np.ndarray, speed: np.ndarray) -> None:
        """Set densities (veh/m) and speeds (m/s) per class and cell, e.g. a Riemann problem;
        the markers w = v + P(r) follow from them."""
        net = self.net
        rho = np.asarray(rho, dtype=np.float64).reshape(NC, net.n_cells)
        speed = np.asarray(speed, dtype=np.float64).reshape(NC, net.n_cells)
        occ = (net.pce[:, None] * rho).sum(axis=0)
        self.rho[:] = rho
        pressure = np.empty((NC, net.n_cells))
        pressures(occ, net.cell_vmax, net.cell_jam, net.classp, pressure)
        w = np.minimum(speed + pressure, net.cell_vmax)
        self.y[:] = rho * w
        # Markers below every link's free speed can make the triangular law's 1-waves faster
        # than the network's step allows for: shorten the step for this run (until reset).
        present = rho > 0.0
        w_min = np.array([w[i][present[i]].min() if present[i].any() else np.inf
                          for i in range(NC)])
        w_min = np.minimum(w_min, net.link_vmax.min(axis=1))
        wave = max_wave_speed(net.classes, net.link_vmax, w_min)
        self.dt_cfl = min(net.dt_cfl,
                          net.scenario.numerics.cfl * float(net.link_dx.min()) / wave)

    # ------------------------------------------------------------------ running
    def advance(self, seconds: float, phases: Sequence[int] | np.ndarray | None = None) -> int:
        """Simulate `seconds`; `phases[g]` (if given) is the phase signal g should show.

        Returns the number of substeps taken.
        """
        if phases is None:
            requests = self._no_requests
        else:
            requests = self._requests
            requests[:] = phases
        args = self._advance_args
        if args is None:
            args = self._bind_advance()
        args[_ARG_SECONDS] = seconds
        args[_ARG_DT] = self.dt_cfl
        args[_ARG_BIN] = self.demand_bin
        args[_ARG_REQUESTS] = requests
        return self._advance_fn(*args)

    def __getstate__(self) -> dict:
        # The bound entry point is a compiled function (not picklable); bind again after.
        state = self.__dict__.copy()
        state["_advance_args"] = None
        state.pop("_advance_fn", None)
        return state

    def _bind_advance(self) -> list:
        """The arguments of `sim.stepper.advance` (the network's and this simulator's arrays,
        which keep their types for the simulator's life; only `src_rates` is ever replaced,
        and its setter swaps the new array in, or unbinds for another type) and its compiled
        entry point, called directly (`sim.jit.compiled`). The numbers are set per call."""
        net = self.net
        args = [
            0.0, float(self.dt_cfl), self.clock,
            net.link_i, net.cell_dx, net.cellp, net.classp,
            net.mov_i, net.mov_cells, net.mov_beta, net.mov_prio, self.mov_green, net.csr_ptr,
            net.csr_mov, net.yield_ptr, net.yield_mov, net.mov_gap,
            net.src_link, self.src_rates, float(self.demand_bin), self.src_state, net.sink_link,
            self.sink_ghost_speed,
            net.sig_phase_ptr, net.phase_mov_ptr, net.phase_mov, net.sig_f, self.sig_state,
            self._no_requests,
            self.state, self.acc_cell, self.acc_link, self._occ, self._work, self.faces,
            self._mov_scratch, float(net.queue_speed),
        ]
        self._advance_fn = compiled(advance, args)
        self._advance_args = args
        return args

    # ------------------------------------------------------------------ read-outs
    @property
    def t(self) -> float:
        """Simulated time, s."""
        return float(self.clock[0])

    def speeds(self) -> np.ndarray:
        """Speed per class and cell, m/s (a view refreshed by each call)."""
        net = self.net
        cell_speeds(self.rho, self.y, net.cell_vmax, net.cell_jam, net.classp, self._occ,
                    self._speed)
        return self._speed

    def link_slice(self, link: int | str) -> slice:
        k = self.net.link_index(link) if isinstance(link, str) else link
        c0 = int(self.net.link_c0[k])
        return slice(c0, c0 + int(self.net.link_n[k]))

    def queues(self) -> tuple[np.ndarray, np.ndarray]:
        """(vehicles, metres) of queue per link now (`sim.queues`; the outflows are those of
        the last substep)."""
        net = self.net
        speed = self.speeds()
        link_queues(net.link_c0, net.link_n, net.link_dx, net.cell_vmax, net.cell_jam, net.pce,
                    self.rho, speed, self._occ, self.faces[F_Q], self.faces[F_QIN],
                    net.queue_speed, self._queue_scratch, self._queue_class, self._queue_len)
        return self._queue_class.sum(axis=0), self._queue_len.copy()

    def queued_vehicle_seconds(self) -> np.ndarray:
        """Per class and link: queued vehicle-seconds since reset (time integral of the
        queue over every substep, `sim.queues`)."""
        return self.per_link(self.cell_queue)

    def per_link(self, per_cell: np.ndarray) -> np.ndarray:
        """Sum of a (classes, cells) array over each link's cells."""
        return np.add.reduceat(per_cell, self.net.link_c0, axis=1)

    def vehicles_on_links(self) -> np.ndarray:
        """Vehicles per class on each link."""
        return self.per_link(self.rho * np.repeat(self.net.link_dx, self.net.link_n))

    def vehicle_seconds(self) -> np.ndarray:
        """Vehicle-seconds travelled per class and link since reset."""
        return self.per_link(self.cell_vht)

    def vehicle_metres(self) -> np.ndarray:
        """Vehicle-metres driven per class and link since reset."""
        return self.per_link(self.cell_vkt)

    def total_mass(self) -> float:
        """Vehicles on the network (both classes)."""
        return float(self.vehicles_on_links().sum())

    def vehicle_hours_delayed(self) -> np.ndarray:
        """Per class and link: vehicle-hours lost against free-flow speed, i.e.
        VHT - VKT / v_free, VKT from the fluxes through cell faces (docs/metrics.md)."""
        return (self.vehicle_seconds() - self.vehicle_metres() / self.net.link_vmax) / 3600.0

    def signal_phase(self) -> np.ndarray:
        """Phase index each signal shows (or is changing from)."""
        return self.sig_state[PHASE].astype(np.int64)

    def signal_changing(self) -> np.ndarray:
        """True where a signal is in yellow/all-red."""
        return self.sig_state[CHANGE_LEFT] > 0.0

    def signal_green_time(self) -> np.ndarray:
        """Seconds since the shown phase's green began (0 during a change)."""
        return self.sig_state[GREEN_TIME].copy()
