"""The native batched VecEnv equals N separate envs, passes SB3's checks, seeds like SB3."""

from __future__ import annotations

import numpy as np
import pytest
from stable_baselines3.common.env_checker import check_env
from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor

from arz_tui.env import StepMetrics, TrafficSignalEnv
from arz_tui.env.vec_env import TrafficVecEnv


def _same_info(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, StepMetrics):
            for f in StepMetrics._fields:
                np.testing.assert_array_equal(getattr(x, f), getattr(y, f), err_msg=f)
        else:
            np.testing.assert_array_equal(x, y, err_msg=key)


@pytest.mark.parametrize(("scenario", "n"), [("lagos", 4), ("riemann", 3)])
def test_batched_env_equals_separate_envs(scenario, n):
    """Same seeds, same actions: observations, rewards, dones and infos (metrics, terminal
    observations, episode totals) equal those of DummyVecEnv over separate envs, through
    episode ends and automatic resets."""
    kw = {"scenario": scenario, "episode_s": 300.0, "reward": "delay"}
    batched = TrafficVecEnv(n_envs=n, **kw)
    separate = DummyVecEnv([lambda: TrafficSignalEnv(**kw) for _ in range(n)])
    batched.seed(11)
    separate.seed(11)
    np.testing.assert_array_equal(batched.reset(), separate.reset())
    for a, b in zip(batched.reset_infos, separate.reset_infos, strict=True):
        _same_info(a, b)
    rng = np.random.default_rng(0)
    episodes_ended = 0
    for _ in range(45):  # 20 steps per episode: two automatic resets
        actions = rng.integers(batched.action_space.n, size=n)
        obs, rew, done, infos = batched.step(actions)
        obs2, rew2, done2, infos2 = separate.step(actions)
        np.testing.assert_array_equal(obs, obs2)
        np.testing.assert_array_equal(rew, rew2)
        np.testing.assert_array_equal(done, done2)
        for a, b in zip(infos, infos2, strict=True):
            _same_info(a, b)
        episodes_ended += int(done.sum())
    assert episodes_ended == 2 * n
    # Replicas are distinct episodes, not copies.
    assert len({float(r) for r in rew}) > 1


def test_env_checker_on_single_replica():
    check_env(TrafficVecEnv(n_envs=1, scenario="simple").envs[0])
    # A replica inside a larger batch steps alone through the same checks.
    check_env(TrafficVecEnv(n_envs=3, scenario="riemann", episode_s=120.0).envs[1])


def test_reset_seed_gives_distinct_reproducible_episodes():
    vec = TrafficVecEnv(n_envs=3, scenario="lagos", episode_s=150.0)
    first = vec.reset(seed=5)
    actions = np.array([0, 1, 2])
    run1 = [vec.step(actions)[1] for _ in range(5)]
    assert not np.array_equal(run1[-1][0], run1[-1][1])
    again = vec.reset(seed=5)
    np.testing.assert_array_equal(first, again)
    run2 = [vec.step(actions)[1] for _ in range(5)]
    np.testing.assert_array_equal(np.array(run1), np.array(run2))
    other = vec.reset(seed=6)
    assert not np.array_equal(np.array(run1), np.array([vec.step(actions)[1] for _ in range(5)]))
    np.testing.assert_array_equal(other[0] >= 0, True)


def test_episode_ends_carry_terminal_observation_and_monitor_statistics():
    vec = VecMonitor(TrafficVecEnv(n_envs=2, scenario="simple", episode_s=60.0))
    vec.reset()
    for _ in range(3):
        _, _, done, infos = vec.step(np.zeros(2, dtype=np.int64))
        assert not done.any()
    _, _, done, infos = vec.step(np.zeros(2, dtype=np.int64))
    assert done.all()
    for info in infos:
        assert info["terminal_observation"].shape == vec.observation_space.shape
        assert info["TimeLimit.truncated"] is True
        assert info["episode"]["l"] == 4
        assert info["episode_totals"].simulated_s == 60.0


def test_bad_actions_and_options():
    vec = TrafficVecEnv(n_envs=2, scenario="lagos")
    vec.reset(seed=0)
    with pytest.raises(ValueError, match="out of range"):
        vec.step(np.array([0, vec.action_space.n]))
    with pytest.raises(ValueError, match="need 2 actions"):
        vec.step(np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="integer"):
        vec.step(np.array([0.5, 1.0]))
    vec.step(np.array([1.0, 2.0]))  # integral floats are valid indices
    vec.reset(seed=0, options={"demand_level": "light"})
    assert [i["demand_level"] for i in vec.reset_infos] == ["light", "light"]
    assert vec.get_attr("demand_level") == ["light", "light"]
