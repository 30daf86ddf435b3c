"""The batched simulator: N replicas in one kernel call equal N lone simulators, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import diverge_merge_scenario

import sim.batch as batch_module
from sim.batch import BatchSimulator, replicate_network
from sim.scenario import parse_scenario
from sim.simulator import Simulator


def _state(s: Simulator) -> list[np.ndarray]:
    return [s.state, s.acc_cell, s.acc_link, s.src_state, s.sig_state, s.clock]


def _assert_same(a: Simulator, b: Simulator) -> None:
    for x, y in zip(_state(a), _state(b), strict=True):
        np.testing.assert_array_equal(x, y)


def _run_pair(scenario, n: int, intervals: int, seed: int, reset_at: dict | None = None,
              interval: float = 15.0, shorter_step_at: dict | None = None):
    """A batch and n lone simulators with the same per-replica demand and random phases."""
    batch = BatchSimulator(scenario, n)
    lone = [Simulator(batch.base) for _ in range(n)]
    rng = np.random.default_rng(seed)
    for r in range(n):
        rates = lone[r].src_rates * rng.uniform(0.5, 1.5, size=lone[r].src_rates.shape)
        lone[r].set_demand(rates)
        batch.replicas[r].set_demand(rates)
    n_phases = [s.n_phases for s in batch.base.signals]
    for k in range(intervals):
        for r in (reset_at or {}).get(k, ()):
            batch.replicas[r].reset()
            lone[r].reset()
        for r in (shorter_step_at or {}).get(k, ()):
            # What set_state does for a Riemann problem with slow markers.
            batch.replicas[r].dt_cfl = lone[r].dt_cfl = 0.4 * lone[r].dt_cfl
        phases = np.array([[rng.integers(p) for p in n_phases] for _ in range(n)])
        batch.advance(interval, phases)
        for r in range(n):
            lone[r].advance(interval, phases[r])
    return batch, lone


@pytest.mark.parametrize("name", ["lagos", "simple", "riemann"])
def test_batch_equals_lone_simulators(name):
    batch, lone = _run_pair(name, 4, 60, seed=1)
    for rep, one in zip(batch.replicas, lone, strict=True):
        _assert_same(rep, one)
    # Replicas really differ (different demand, different phases).
    assert not np.array_equal(batch.replicas[0].rho, batch.replicas[1].rho)


def test_left_out_replicas_are_stepped_alone(monkeypatch):
    """A replica reset while the others ran has its own clock, one with a shorter CFL step
    its own substeps: both are stepped alone, and still equal their lone simulators."""
    alone: list[int] = []
    original = BatchSimulator._advance_alone

    def counted(self, r, seconds):
        alone.append(r)
        return original(self, r, seconds)

    monkeypatch.setattr(batch_module.BatchSimulator, "_advance_alone", counted)
    batch, lone = _run_pair("riemann", 4, 40, seed=3, reset_at={11: [2]},
                            shorter_step_at={20: [0]})
    assert set(alone) == {0, 2}
    for rep, one in zip(batch.replicas, lone, strict=True):
        _assert_same(rep, one)
    assert batch.replicas[2].t == lone[2].t == 29 * 15.0
    assert batch.replicas[1].t == 40 * 15.0

    alone.clear()
    batch, lone = _run_pair("lagos", 4, 30, seed=4)
    assert alone == [], "replicas in step take the batch call"


def test_network_with_fifo_merge_priorities_and_initial_state():
    scn = parse_scenario(diverge_merge_scenario(), "diverge")
    batch, lone = _run_pair(scn, 3, 40, seed=5, interval=10.0)
    for rep, one in zip(batch.replicas, lone, strict=True):
        _assert_same(rep, one)
    assert batch.replicas[0].total_mass() > 0


def test_replicated_network_is_disjoint_copies():
    base = Simulator("lagos").net
    net = replicate_network(base, 3)
    assert net.n_cells == 3 * base.n_cells and net.n_links == 3 * base.n_links
    assert len(net.signals) == 3 * len(base.signals)
    nl = base.n_links
    # Every movement stays inside its copy.
    copy_from = net.mov_from // nl
    assert np.array_equal(copy_from, net.mov_to // nl)
    signalled = net.mov_signal >= 0
    assert np.array_equal(net.mov_signal[signalled] // len(base.signals), copy_from[signalled])
    assert net.link_ids[nl] == f"{base.link_ids[0]}@1"
    with pytest.raises(ValueError, match="at least one replica"):
        replicate_network(base, 0)


def test_replica_demand_growth_and_bad_count():
    batch = BatchSimulator("simple", 2)
    rates = batch.replicas[0].src_rates
    longer = np.concatenate([rates, rates[:, :, -1:] * 3.0], axis=2)
    batch.replicas[1].set_demand(longer)
    assert batch.src_rates.shape[2] == longer.shape[2]
    np.testing.assert_array_equal(batch.replicas[1].src_rates, longer)
    # Replica 0's last bin is repeated: what the kernel does beyond the end anyway.
    np.testing.assert_array_equal(batch.replicas[0].src_rates[:, :, -1],
                                  batch.replicas[0].src_rates[:, :, -2])
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError, match="n_replicas"):
            BatchSimulator("simple", bad)
