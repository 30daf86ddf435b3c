"""Per-signal control: the PettingZoo ParallelEnv and the per-signal VecEnv.

Local quantities are checked against the simulator's own read-outs (queues per link, delay per
link and class, source point queues), not against numbers the env printed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test
from stable_baselines3.common.env_checker import check_env

from arz_tui.env import REWARDS, TrafficSignalEnv, parallel_env
from arz_tui.env.signal_vec_env import SignalVecEnv
from sim.stepper import S_WAITING

SUMO_NET = str(Path(__file__).parent / "data" / "sumo" / "turnlanes.net.xml")


@pytest.mark.parametrize("scenario", ["grid4x4", "arterial4x4", "lagos", "grid:8x8", SUMO_NET])
def test_pettingzoo_parallel_api(scenario):
    env = parallel_env(scenario=scenario, episode_s=600.0)
    parallel_api_test(env, num_cycles=50)
    assert len(env.possible_agents) == len(env.env.sim.net.signals)


def test_joint_env_still_passes_the_sb3_checker():
    check_env(TrafficSignalEnv(scenario="lagos", episode_s=300.0), warn=False)


def _run(env, steps, seed=0, rule=None):
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    out = None
    for _ in range(steps):
        actions = {a: (rule(a) if rule else int(rng.integers(env.action_space(a).n)))
                   for a in env.agents}
        out = env.step(actions)
    return out


def test_local_queue_and_delay_match_the_simulator():
    env = parallel_env(scenario="grid:2x2", reward="delay")
    sim = env.env.sim
    net = sim.net
    _run(env, 30)
    wait_before = sim.src_state[S_WAITING].sum(axis=0).copy()
    delayed_before = sim.vehicle_hours_delayed().sum(axis=0).copy()
    queued_before = sim.queued_vehicle_seconds().sum(axis=0).copy()
    actions = {a: 1 for a in env.agents}
    _, rewards, _, _, infos = env.step(actions)
    span = env.env.interval
    # Queues are time means over the decision interval (docs/metrics.md): the simulator's
    # queued vehicle-seconds on the approaches plus the entries' waiting, over the interval.
    queued = sim.queued_vehicle_seconds().sum(axis=0) - queued_before
    waited = sim.src_state[S_WAITING].sum(axis=0) - wait_before
    delayed = (sim.vehicle_hours_delayed().sum(axis=0) - delayed_before) * 3600.0
    for g, sig in enumerate(net.signals):
        agent = env.possible_agents[g]
        local = infos[agent]["local"]
        entries = [s for s, k in enumerate(net.src_link) if k in sig.incoming]
        want_queue = (sum(queued[k] for k in sig.incoming)
                      + sum(waited[s] for s in entries)) / span
        assert local.queue_veh == pytest.approx(want_queue, rel=1e-9, abs=1e-9)
        want_delay = sum(delayed[k] for k in sig.incoming) + sum(waited[s] for s in entries)
        assert local.delay_vs == pytest.approx(want_delay, rel=1e-6, abs=1e-6)
        assert rewards[agent] == REWARDS["delay"](local)
    network = infos[env.possible_agents[0]]["network"]
    # Local queues and the queues on links that approach no signal (exits) add up to the
    # network's.
    total = sum(infos[a]["local"].queue_veh for a in env.possible_agents)
    approaches = {k for sig in net.signals for k in sig.incoming}
    elsewhere = sum(queued[k] for k in range(net.n_links) if k not in approaches) / span
    assert total + elsewhere == pytest.approx(network["queue_veh"], rel=1e-9)


def test_observation_structure_and_actions():
    env = parallel_env(scenario="grid4x4")
    view = env.view
    obs, _ = env.reset(seed=1)
    p, m = view.max_phases, view.max_approaches
    per_appr = view.n_appr_features // m
    for g, agent in enumerate(env.possible_agents):
        o = obs[agent]
        assert env.observation_space(agent).contains(o)
        phase_mask = o[view.n_appr_features + p + 2:view.n_appr_features + 2 * p + 2]
        assert phase_mask.sum() == env.action_space(agent).n
        n_in = len(env.env.sim.net.signals[g].incoming)
        appr_mask = o[view.n_appr_features + 2 * p + 2:view.n_own]
        assert appr_mask.sum() == n_in
        assert not o[n_in * per_appr:view.n_appr_features].any()  # padding is zero
    with pytest.raises(ValueError, match="out of range"):
        env.step({env.possible_agents[0]: 99})
    with pytest.raises(ValueError, match="unknown agent"):
        env.step({"nobody": 0})
    # An agent left out keeps its phase.
    shown = env.env.sim.signal_phase().copy()
    env.step({})
    np.testing.assert_array_equal(env.env.sim.signal_phase(), shown)


def test_neighbour_summary_shows_the_upstream_green():
    env = parallel_env(scenario="grid:2x2")
    obs, _ = env.reset(seed=0)
    view = env.view
    net = env.env.sim.net
    phase = env.env.sim.signal_phase()
    found = 0
    for a, link in enumerate(view.appr_link):
        g = view.appr_sig[a]
        slot = a - env.env._approach_ptr[g]
        green_col = view.n_own + 2 * slot + 1
        upstream = [h for h, s in enumerate(net.signals) if link in s.outgoing]
        if not upstream:
            assert obs[env.possible_agents[g]][green_col] == 0.0
            continue
        h = upstream[0]
        feeds = any(net.mov_i[1, mv] == link
                    for mv in net.signals[h].phase_movements[phase[h]])
        assert obs[env.possible_agents[g]][green_col] == float(feeds)
        found += 1
    assert found > 0


def test_vec_env_slots_equal_the_parallel_env():
    vec = SignalVecEnv(scenario="grid:2x2", n_replicas=2, episode_s=300.0)
    env = parallel_env(scenario="grid:2x2", episode_s=300.0)
    g_n = vec.n_signals
    obs = vec.reset(seed=[5, 7])
    po, _ = env.reset(seed=7)
    np.testing.assert_array_equal(obs[g_n:], np.stack([po[a] for a in env.possible_agents]))
    rng = np.random.default_rng(0)
    for _ in range(20):
        actions = rng.integers(vec.action_space.n, size=vec.num_envs)
        obs, rewards, dones, infos = vec.step(actions)
        kept = {a: int(actions[g_n + g]) for g, a in enumerate(env.possible_agents)
                if actions[g_n + g] < env.action_space(a).n}
        po, pr, *_ = env.step(kept)
        if dones.any():  # reset automatically: the episode's last observation is in infos
            obs = np.stack([info["terminal_observation"] for info in infos])
        np.testing.assert_array_equal(obs[g_n:], np.stack([po[a] for a in env.possible_agents]))
        np.testing.assert_allclose(rewards[g_n:], [pr[a] for a in env.possible_agents],
                                   rtol=1e-6)
    assert dones.all() and "episode_totals" in infos[0] and "terminal_observation" in infos[0]
    with pytest.raises(ValueError):
        vec.step(np.full(vec.num_envs, 0.5))
