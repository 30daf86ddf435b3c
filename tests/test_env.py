"""The Gymnasium env: API conformance, exact action map, physical metrics, config errors."""

from __future__ import annotations

import copy
import itertools

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from arz_tui.env import ENV_ID, REWARDS, EnvConfig, EnvConfigError, StepInfo, TrafficSignalEnv
from sim.scenario import available_scenarios, load_scenario

SCENARIOS = available_scenarios()


@pytest.mark.parametrize("name", SCENARIOS)
def test_env_checkers_pass(name: str) -> None:
    gym_check_env(gym.make(ENV_ID, scenario=name).unwrapped)
    sb3_check_env(TrafficSignalEnv(scenario=name), warn=True)


def test_registered_with_gymnasium() -> None:
    env = gym.make(ENV_ID, scenario="lagos")
    obs, _ = env.reset(seed=0)
    assert env.unwrapped.config.scenario == "lagos"
    assert env.observation_space.contains(obs)
    assert env.action_space.n == 8  # 3 signals x 2 phases


def _expected_phases(action: int, n_phases: tuple[int, ...]) -> list[int]:
    out = []
    for n in n_phases:
        out.append(action % n)
        action //= n
    return out


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_action_maps_to_its_phases(name: str) -> None:
    env = TrafficSignalEnv(scenario=name, demand_noise=0.0)
    codec = env.codec
    signals = env.sim.net.signals
    hold = max(s.min_green_s + s.yellow_s for s in signals)
    steps = int(np.ceil(hold / env.interval)) + 1
    for a in range(codec.n):
        expected = _expected_phases(a, codec.n_phases)
        assert codec.decode(a).tolist() == expected
        assert codec.encode(expected) == a
        for given in (a, np.int64(a), np.int32(a), np.array(a), np.array([a]), float(a)):
            assert codec.decode(given).tolist() == expected
        env.reset(seed=0)
        for _ in range(steps):
            env.step(np.int64(a))
        assert env.sim.signal_phase().tolist() == expected
        assert not env.sim.signal_changing().any()
        # The green movements are exactly those of the chosen phases.
        green = np.flatnonzero(env.sim.mov_green > 0)
        wanted = {m for s, p in zip(signals, expected, strict=True)
                  for m in s.phase_movements[p]}
        controlled = set(np.flatnonzero(env.sim.net.mov_signal >= 0))
        assert set(green) & controlled == wanted


@pytest.mark.parametrize("bad", [2.5, np.float32(0.5), "1", None, True, -1, 8, np.array([1, 2])])
def test_bad_actions_are_rejected_not_truncated(bad: object) -> None:
    env = TrafficSignalEnv(scenario="lagos")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(bad)


def _all_red_lagos() -> dict:
    data = load_scenario("lagos").model_dump(by_alias=True)
    for sig in data["signals"]:
        sig["phases"].append({"name": "all-red", "movements": []})
    return data


def test_all_red_hold_grows_queues_with_zero_throughput(tmp_path) -> None:
    path = tmp_path / "lagos_all_red.yaml"
    import yaml

    path.write_text(yaml.safe_dump(_all_red_lagos()))
    env = TrafficSignalEnv(scenario=str(path), demand_noise=0.0)
    all_red = env.codec.encode([2] * len(env.sim.net.signals))
    env.reset(seed=0)
    queues, rewards = [], []
    for _ in range(60):
        _, reward, _, _, info = env.step(all_red)
        assert info["throughput_vph"] == 0.0
        queues.append(info["queue_veh"])
        rewards.append(reward)
    assert env.sim.acc_out[:, env.sim.net.sink_link].sum() == 0.0
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(queues[1:]))
    assert queues[-1] > 10 * max(queues[5], 1.0)
    # Keeping traffic out is not free: the entry queues count in the queue reward.
    assert info["entry_queue_veh"] > 0
    assert rewards[-1] < rewards[10] < 0


def test_green_serves_traffic_and_metrics_are_physical() -> None:
    env = TrafficSignalEnv(scenario="lagos")
    env.reset(seed=1)
    served = 0.0
    for k in range(env.steps_per_episode):
        obs, reward, terminated, truncated, info = env.step((k // 2) % env.action_space.n)
        assert not terminated
        assert env.observation_space.contains(obs)
        assert -1.0 <= reward <= 1.0
        for key in ("queue_veh", "queue_m", "mean_delay_s", "throughput_vph", "mean_speed_kmh",
                    "vehicles", "entry_queue_veh"):
            assert np.isfinite(info[key]) and info[key] >= 0.0, key
        assert info["signal_queue_veh"].shape == (3,)
        assert info["phase"].shape == (3,)
        assert 0.0 < info["mean_speed_kmh"] <= 60.0 + 1e-9
        served += info["throughput_vph"] * env.interval / 3600.0
    assert truncated and k + 1 == 240
    totals = info["episode_totals"]
    assert totals.vehicles_served == pytest.approx(served, rel=1e-9)
    assert totals.vehicles_arrived == pytest.approx(
        totals.vehicles_served + totals.vehicles_remaining, rel=1e-6)
    assert totals.mean_travel_time_s > totals.mean_delay_s > 0
    assert totals.total_delay_vh > 0 and totals.mean_delay_s > 0


def test_info_is_cheap_to_deep_copy_and_immutable() -> None:
    env = TrafficSignalEnv(scenario="simple")
    env.reset(seed=0)
    _, _, _, _, info = env.step(0)
    assert isinstance(info, StepInfo)
    clone = copy.deepcopy(info)
    assert clone == info and clone is not info
    with pytest.raises(ValueError):
        info["phase"][0] = 1


def test_env_copied_mid_episode_continues_identically() -> None:
    """A deep copy or a pickle round trip of a stepped env (its simulator and measurement
    are called through bound compiled entry points) steps on exactly as the original, and on
    its own arrays."""
    import pickle

    env = TrafficSignalEnv(scenario="lagos")
    env.reset(seed=3)
    for k in range(5):
        env.step(k % env.action_space.n)
    copies = [copy.deepcopy(env), pickle.loads(pickle.dumps(env))]
    for k in range(6):
        obs, reward, _, _, info = env.step((3 * k) % env.action_space.n)
        for other in copies:
            o, r, _, _, i = other.step((3 * k) % env.action_space.n)
            np.testing.assert_array_equal(o, obs)
            assert r == reward and i["queue_veh"] == info["queue_veh"]
            np.testing.assert_array_equal(i["phase"], info["phase"])
            np.testing.assert_array_equal(i["signal_queue_veh"], info["signal_queue_veh"])
    for other in copies:
        assert other.sim.state is not env.sim.state
        np.testing.assert_array_equal(other.sim.state, env.sim.state)


def test_seeded_determinism_and_different_episodes() -> None:
    def run(env: TrafficSignalEnv, seed: int | None) -> tuple[list[float], float]:
        env.reset(seed=seed)
        rewards = [env.step(k % 2)[1] for k in range(40)]
        return rewards, env.episode_totals().vehicles_arrived

    a, b = TrafficSignalEnv(scenario="simple"), TrafficSignalEnv(scenario="simple")
    ra, na = run(a, 7)
    rb, nb = run(b, 7)
    assert ra == rb and na == nb
    _, na2 = run(a, None)
    assert na2 != na  # the next episode is another demand sample
    obs1, _ = a.reset(seed=11)
    obs2, _ = b.reset(seed=11)
    np.testing.assert_array_equal(obs1, obs2)


def test_demand_levels_scale_arrivals() -> None:
    env = TrafficSignalEnv(scenario="simple", demand_noise=0.0)
    arrived = {}
    for level in ("light", "moderate", "heavy", "saturated"):
        env.reset(seed=0, options={"demand_level": level})
        for _ in range(20):
            env.step(0)
        arrived[level] = env.episode_totals().vehicles_arrived
    assert arrived["light"] < arrived["moderate"] < arrived["heavy"] < arrived["saturated"]
    assert arrived["light"] / arrived["heavy"] == pytest.approx(0.5, rel=1e-9)

    rnd = TrafficSignalEnv(scenario="simple", random_demand_level=True)
    levels = set()
    for seed in range(12):
        _, info = rnd.reset(seed=seed)
        levels.add(info["demand_level"])
    assert len(levels) >= 3


@pytest.mark.parametrize("name", sorted(REWARDS))
def test_named_rewards_are_bounded(name: str) -> None:
    env = TrafficSignalEnv(scenario="lagos", reward=name, demand_level="saturated")
    env.reset(seed=0)
    values = [env.step(k // 4 % 8)[1] for k in range(120)]
    assert all(-1.0 <= v <= 1.0 for v in values)
    assert len(set(values)) > 5


def test_callable_reward() -> None:
    env = TrafficSignalEnv(scenario="simple", reward=lambda m: -m.queue_m / 1000.0)
    env.reset(seed=0)
    _, reward, _, _, info = env.step(0)
    assert reward == pytest.approx(-info["queue_m"] / 1000.0)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"scenario": "atlantis"}, "scenario"),
        ({"decision_interval_s": 0}, "decision_interval_s"),
        ({"decision_interval_s": 90}, "decision_interval_s"),
        ({"demand_level": -1.0}, "demand_level"),
        ({"demand_level": "rush"}, "demand_level"),
        ({"reward": "happiness"}, "reward"),
        ({"observation": "camera"}, "observation"),
        ({"episode_s": -5}, "episode_s"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_config_is_one_clear_line(fields: dict, field: str) -> None:
    with pytest.raises(EnvConfigError) as err:
        TrafficSignalEnv(**fields)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"env config: {field}")


def test_config_validates_scenario_by_loading_it() -> None:
    assert EnvConfig(scenario="riemann").scenario_spec.name == "riemann"
    with pytest.raises(EnvConfigError, match="unknown scenario 'nowhere'"):
        EnvConfig.build(scenario="nowhere")


def test_env_without_signals_has_one_noop_action(tmp_path) -> None:
    import yaml

    path = tmp_path / "road.yaml"
    path.write_text(yaml.safe_dump({
        "name": "road", "nodes": [{"id": "a", "kind": "source"}, {"id": "b", "kind": "sink"}],
        "links": [{"id": "r", "from": "a", "to": "b", "length_m": 500}],
        "demand": [{"node": "a", "profile": [[0, 300, 300]]}],
    }))
    env = TrafficSignalEnv(scenario=str(path))
    assert env.action_space.n == 1
    env.reset(seed=0)
    obs, _, _, _, info = env.step(0)
    assert obs.shape == (0,) and info["phase"].shape == (0,)
    assert info["vehicles"] > 0
