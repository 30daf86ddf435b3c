"""Many independent replicas of one scenario advanced by one kernel call.

N disjoint copies of a network are just a larger network to the kernels: `replicate_network`
concatenates the compiled arrays of a network N times, shifting every index by the size of the
copies before it, and `BatchSimulator` runs the unchanged stepper on the result. Replica r owns
cells r*n .. r*n + n - 1 (n cells per copy), links r*l .. and so on, so its part of every state
array is a regular slice, and `BatchSimulator.replicas[r]` is an ordinary `Simulator` over the
single network whose arrays are views into the batch's: reading, resetting or re-seeding a
replica is what it is for a lone simulator.

Exactness. A replica's substeps depend only on the interval, its CFL step and its clock
(`sim.stepper.advance` cuts an interval into equal substeps; signal events need no boundary),
so every replica with the batch's clock and step takes the big call and gets the lone
simulator's trajectory bit for bit. A replica with another clock (reset while the others ran)
or another step (`set_state` shortens it for a Riemann problem) is left out of the big call and
stepped alone on a scratch simulator: exact as well, and as fast as a lone simulator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from sim.network import NC, Network, compile_network
from sim.scenario import Scenario, load_scenario
from sim.signals import signal_requests
from sim.simulator import SimArrays, Simulator
from sim.stepper import SG_MIN_GREEN, SG_YELLOW


def _copies(a: np.ndarray, n: int, shift: int | np.integer | np.ndarray = 0) -> np.ndarray:
    """a, a + shift, ..., a + (n-1) * shift concatenated along the last axis."""
    step = np.asarray(shift, dtype=a.dtype)
    return np.concatenate([a + step * np.asarray(k, dtype=a.dtype) for k in range(n)], axis=-1)


def _pointers(ptr: np.ndarray, n: int, size: int) -> np.ndarray:
    """CSR pointers (last axis) of n copies of a table with `size` entries."""
    return np.concatenate([_copies(ptr[..., :-1], n, size), ptr[..., -1:] + (n - 1) * size],
                          axis=-1)


def replicate_network(net: Network, n: int) -> Network:
    """n disjoint copies of `net` as one network (copy r's names get the suffix "@r")."""
    if n < 1:
        raise ValueError(f"need at least one replica, got {n}")
    nl, n_cells, n_mov, n_sig = net.n_links, net.n_cells, net.mov_i.shape[1], len(net.signals)
    n_phases = int(net.sig_phase_ptr[-1])
    mov_shift = np.array([[nl], [nl], [n_sig]])
    mov_i = _copies(net.mov_i, n, mov_shift)
    # Uncontrolled movements keep signal -1 in every copy.
    mov_i[2] = np.where(np.tile(net.mov_i[2], n) < 0, -1, mov_i[2])
    signals = tuple(
        replace(s, node=f"{s.node}@{r}",
                phase_movements=tuple(tuple(m + r * n_mov for m in ph)
                                      for ph in s.phase_movements),
                incoming=tuple(k + r * nl for k in s.incoming),
                outgoing=tuple(k + r * nl for k in s.outgoing))
        for r in range(n) for s in net.signals)

    def names(items: Sequence[str]) -> tuple[str, ...]:
        return tuple(f"{x}@{r}" for r in range(n) for x in items)

    return replace(
        net,
        link_ids=names(net.link_ids),
        link_i=_copies(net.link_i, n, np.array([[n_cells], [0], [0], [0]])),
        link_dx=np.tile(net.link_dx, n), link_length=np.tile(net.link_length, n),
        link_lanes=np.tile(net.link_lanes, n), cell_dx=np.tile(net.cell_dx, n),
        cellp=np.tile(net.cellp, n), link_vmax=np.tile(net.link_vmax, n),
        movement_keys=names(net.movement_keys),
        mov_i=mov_i,
        mov_cells=_copies(net.mov_cells, n, np.uint64(n_cells)),
        mov_beta=np.tile(net.mov_beta, n), mov_prio=np.tile(net.mov_prio, n),
        csr_ptr=_pointers(net.csr_ptr, n, n_mov),
        csr_mov=_copies(net.csr_mov, n, n_mov),
        source_nodes=names(net.source_nodes), src_link=_copies(net.src_link, n, nl),
        sink_nodes=names(net.sink_nodes), sink_link=_copies(net.sink_link, n, nl),
        signals=signals,
        sig_phase_ptr=_pointers(net.sig_phase_ptr, n, n_phases),
        phase_mov_ptr=_pointers(net.phase_mov_ptr, n, len(net.phase_mov)),
        phase_mov=_copies(net.phase_mov, n, n_mov),
        sig_f=np.tile(net.sig_f, n),
        # Gap acceptance (permitted lefts): each copy's movements yield within the copy.
        yield_ptr=_pointers(net.yield_ptr, n, len(net.yield_mov)),
        yield_mov=_copies(net.yield_mov, n, n_mov),
        mov_gap=np.tile(net.mov_gap, n),
    )


def _replica_view(a: np.ndarray, n: int, r: int) -> np.ndarray:
    """Replica r's part of a batch array whose last axis holds n equal blocks (a view)."""
    return a.reshape(*a.shape[:-1], n, a.shape[-1] // n)[..., r, :]


class ReplicaSimulator(Simulator):
    """One replica of a batch: a `Simulator` of the single network on views of the batch's
    arrays. Its demand is written into the batch's; `advance` steps this replica alone."""

    def __init__(self, batch: BatchSimulator, index: int) -> None:
        self.batch = batch
        self.index = index
        n = batch.n_replicas
        a = batch.arrays
        views = SimArrays(
            state=_replica_view(a.state, n, index), clock=batch.clocks[index:index + 1],
            acc_cell=_replica_view(a.acc_cell, n, index),
            acc_link=_replica_view(a.acc_link, n, index),
            src_state=_replica_view(a.src_state, n, index),
            sink_ghost_speed=_replica_view(a.sink_ghost_speed, n, index),
            sig_state=_replica_view(a.sig_state, n, index))
        super().__init__(batch.base, arrays=views)
        self.src_rates = batch._store_rates(index, self.src_rates)

    def set_demand(self, rates: np.ndarray) -> None:
        super().set_demand(rates)
        self.src_rates = self.batch._store_rates(self.index, self.src_rates)

    def advance(self, seconds: float, phases: Sequence[int] | np.ndarray | None = None) -> int:
        """Step this replica alone (the others keep their state)."""
        if phases is not None:
            requests = np.full((self.batch.n_replicas, len(self.net.signals)), -1, np.int64)
            requests[self.index] = phases
            self.batch.apply_requests(requests)
        return self.batch._advance_alone(self.index, seconds)


class BatchSimulator(Simulator):
    """N independent replicas of one scenario; `advance` steps them all in one kernel call.

    Each replica (`replicas[r]`, a `ReplicaSimulator`) has its own state, demand rates, signal
    state and clock; reset or re-seed it through that object. Batch-wide read-outs (`rho`,
    `speeds()`, ...) cover the concatenated network; `replica_view` slices them.
    """

    def __init__(self, scenario: Scenario | Network | str | Path, n_replicas: int) -> None:
        if isinstance(scenario, Network):
            base = scenario
        else:
            scn = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
            base = compile_network(scn)
        if not isinstance(n_replicas, int | np.integer) or n_replicas < 1:
            raise ValueError(f"n_replicas must be an integer >= 1, got {n_replicas!r}")
        self.base = base
        self.n_replicas = n = int(n_replicas)
        self.clocks = np.zeros(n)
        self.replicas: list[ReplicaSimulator] = []
        self._scratch: Simulator | None = None
        super().__init__(replicate_network(base, n))
        # The network's step (a lone simulator shortens it only in set_state, which replicas
        # do not offer).
        self.dt_cfl = self.net.dt_cfl
        self.replicas = [ReplicaSimulator(self, r) for r in range(n)]

    # ------------------------------------------------------------------ per replica
    def replica_view(self, a: np.ndarray, r: int) -> np.ndarray:
        """Replica r's part of a batch array indexed by cell, link, source, sink or signal on
        its last axis."""
        return _replica_view(a, self.n_replicas, r)

    def _store_rates(self, r: int, rates: np.ndarray) -> np.ndarray:
        """Put replica r's rates into the batch's (growing every replica's bins if needed: the
        last bin holds beyond the end, so repeating it changes nothing); returns the view."""
        n, n_src = self.n_replicas, len(self.base.src_link)
        bins = max(rates.shape[2], self.src_rates.shape[2])
        if bins != self.src_rates.shape[2]:
            old = self.src_rates
            grown = np.concatenate(
                [old, np.repeat(old[:, :, -1:], bins - old.shape[2], axis=2)], axis=2)
            self.src_rates = np.ascontiguousarray(grown)
            for rep in self.replicas:
                rep.src_rates = self.src_rates.reshape(n, n_src, NC, bins)[rep.index]
        view = self.src_rates.reshape(n, n_src, NC, bins)[r]
        view[:, :, :rates.shape[2]] = rates
        view[:, :, rates.shape[2]:] = rates[:, :, -1:]
        return view

    def reset(self) -> None:
        """Every replica to its initial state; demand rates are kept."""
        self.dt_cfl = self.net.dt_cfl
        for rep in self.replicas:
            rep.reset()

    def profile_rates(self, scale: float = 1.0, duration: float | None = None) -> np.ndarray:
        """The scenario's rates for every replica (replica-major sources)."""
        base = Simulator.profile_rates(self._single(), scale, duration)
        return np.tile(base, (self.n_replicas, 1, 1))

    def _single(self) -> Simulator:
        if self._scratch is None:
            self._scratch = Simulator(self.base)
        return self._scratch

    # ------------------------------------------------------------------ stepping
    def apply_requests(self, phases: np.ndarray) -> None:
        """Start the phase changes asked for, as the stepper does at the start of `advance`;
        phases has shape (replicas, signals), -1 keeps a signal's phase."""
        requests = np.ascontiguousarray(phases, dtype=np.int64).reshape(-1)
        signal_requests(requests, self.sig_state, self.net.sig_f[SG_YELLOW],
                        self.net.sig_f[SG_MIN_GREEN])

    def advance(self, seconds: float, phases: Sequence[int] | np.ndarray | None = None) -> int:
        """Advance every replica by `seconds`; phases[r, g] (if given; -1 keeps) is the phase
        signal g of replica r should show. Returns the substeps of the batch call."""
        if phases is not None:
            self.apply_requests(np.asarray(phases).reshape(self.n_replicas, -1))
        apart = self._stepped_apart()
        together = np.setdiff1d(np.arange(self.n_replicas), apart)
        self.clock[0] = self.clocks[together[0]]
        self.dt_cfl = self.replicas[together[0]].dt_cfl
        if apart.size == 0:
            steps = super().advance(seconds)
            self.clocks[:] = self.clock[0]
            return steps
        saved = [self._save(r) for r in apart]
        steps = super().advance(seconds)
        self.clocks[together] = self.clock[0]
        for r, arrays in zip(apart, saved, strict=True):
            self._restore(r, arrays)
            self._advance_alone(int(r), seconds)
        return steps

    def _stepped_apart(self) -> np.ndarray:
        """Replicas whose substeps in the batch call would differ from their own: another
        clock than the majority's (demand bins follow the clock) or another CFL step."""
        clocks = self.clocks
        steps = np.array([rep.dt_cfl for rep in self.replicas])
        if clocks.min() == clocks.max() and steps.min() == steps.max():
            return np.zeros(0, dtype=np.int64)
        pairs, counts = np.unique(np.stack([clocks, steps], axis=1), axis=0,
                                  return_counts=True)
        clock, step = pairs[np.argmax(counts)]
        return np.flatnonzero((clocks != clock) | (steps != step))

    def _save(self, r: int) -> list[np.ndarray]:
        a = self.replicas[r].arrays
        return [a.state.copy(), a.acc_cell.copy(), a.acc_link.copy(), a.src_state.copy(),
                a.sig_state.copy(), a.clock.copy()]

    def _restore(self, r: int, saved: list[np.ndarray]) -> None:
        a = self.replicas[r].arrays
        for dst, src in zip((a.state, a.acc_cell, a.acc_link, a.src_state, a.sig_state,
                             a.clock), saved, strict=True):
            dst[...] = src

    def _advance_alone(self, r: int, seconds: float) -> int:
        """Step replica r by itself on the scratch simulator (requests already applied)."""
        rep, one = self.replicas[r], self._single()
        a, b = rep.arrays, one.arrays
        pairs = ((a.state, b.state), (a.acc_cell, b.acc_cell), (a.acc_link, b.acc_link),
                 (a.src_state, b.src_state), (a.sig_state, b.sig_state), (a.clock, b.clock),
                 (a.sink_ghost_speed, b.sink_ghost_speed))
        for src, dst in pairs:
            dst[...] = src
        one.src_rates = rep.src_rates
        one.dt_cfl = rep.dt_cfl
        steps = one.advance(seconds)
        for dst, src in pairs:
            dst[...] = src
        return steps
