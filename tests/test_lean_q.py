"""The autograd-free DQN step (arz_tui.training.lean_q) is SB3's step: same parameters, Adam
moments and step count after many updates, through a save and load, and with clipping active."""

from __future__ import annotations

import io

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3.common.logger import configure

from arz_tui.training.dqn import BatchedDQN
from arz_tui.training.lean_q import LeanQ


class _Spaces(gym.Env):
    """Only the spaces matter: the buffers are filled by hand."""

    observation_space = spaces.Box(-5.0, 5.0, shape=(11,), dtype=np.float32)
    action_space = spaces.Discrete(6)

    def reset(self, *, seed=None, options=None):
        return np.zeros(11, np.float32), {}

    def step(self, action):
        return np.zeros(11, np.float32), 0.0, False, False, {}


def _model(max_grad_norm: float = 10.0, **policy_kwargs: object) -> BatchedDQN:
    kwargs = {"net_arch": [32, 24], "optimizer_kwargs": {"fused": True}, **policy_kwargs}
    model = BatchedDQN("MlpPolicy", _Spaces(), learning_starts=0, batch_size=16,
                       buffer_size=500, max_grad_norm=max_grad_norm, seed=3,
                       policy_kwargs=kwargs, device="cpu")
    model.set_logger(configure(None, []))
    rng = np.random.default_rng(7)
    for _ in range(400):
        model.replay_buffer.add(
            rng.normal(size=(1, 11)).astype(np.float32),
            rng.normal(size=(1, 11)).astype(np.float32),
            rng.integers(6, size=(1, 1)), rng.normal(scale=30.0, size=1).astype(np.float32),
            rng.random(1) < 0.1, [{}])
    return model


def _autograd_only(model: BatchedDQN) -> None:
    model._lean_q, model._lean_q_for = None, model.policy


def _train(model: BatchedDQN, calls: int, seed: int) -> None:
    np.random.seed(seed)  # noqa: NPY002  # SB3 samples with numpy's global generator
    for _ in range(calls):
        model.train(gradient_steps=3, batch_size=16)


def _assert_same(a: BatchedDQN, b: BatchedDQN, rtol: float = 1e-5) -> None:
    for pa, pb in zip(a.q_net.parameters(), b.q_net.parameters(), strict=True):
        np.testing.assert_allclose(pa.detach().numpy(), pb.detach().numpy(), rtol=rtol,
                                   atol=1e-6)
    sa, sb = a.policy.optimizer.state_dict()["state"], b.policy.optimizer.state_dict()["state"]
    assert sa.keys() == sb.keys() and sa
    for k in sa:
        assert float(sa[k]["step"]) == float(sb[k]["step"])
        for name in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_allclose(sa[k][name].numpy(), sb[k][name].numpy(), rtol=rtol,
                                       atol=1e-7)


@pytest.mark.parametrize("compiled", [True, False], ids=["numba", "torch"])
@pytest.mark.parametrize("max_grad_norm", [10.0, 0.05])
def test_lean_step_equals_sb3_step(max_grad_norm: float, compiled: bool,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Both autograd-free paths: the compiled kernel (CPU) and the torch operations (what a
    GPU runs), against SB3's autograd step."""
    lean, ref = _model(max_grad_norm), _model(max_grad_norm)
    _autograd_only(ref)
    assert isinstance(lean._lean(), LeanQ)
    assert lean._lean().compiled_for(lean.replay_buffer)
    if not compiled:
        monkeypatch.setattr(LeanQ, "compiled_for", lambda self, buffer: False)
    before = [p.detach().clone() for p in lean.q_net.parameters()]
    _train(lean, 40, seed=1)
    _train(ref, 40, seed=1)
    assert lean._n_updates == ref._n_updates == 120
    assert not all(th.equal(p, q) for p, q in zip(before, lean.q_net.parameters(), strict=True))
    _assert_same(lean, ref)
    obs = np.random.default_rng(0).normal(size=(64, 11)).astype(np.float32)
    greedy_lean, _ = lean.predict(obs, deterministic=True)
    greedy_ref, _ = ref.predict(obs, deterministic=True)
    np.testing.assert_array_equal(greedy_lean, greedy_ref)


def test_lean_step_survives_save_and_load() -> None:
    lean, ref = _model(), _model()
    _autograd_only(ref)
    _train(lean, 10, seed=2)
    _train(ref, 10, seed=2)
    saved = io.BytesIO()
    lean.save(saved)
    saved.seek(0)
    loaded = BatchedDQN.load(saved, env=_Spaces(), device="cpu")
    assert loaded._lean_q is None  # never pickled: rebuilt from the loaded tensors
    loaded.set_logger(configure(None, []))
    loaded.replay_buffer = lean.replay_buffer
    _train(loaded, 10, seed=3)
    _train(ref, 10, seed=3)
    assert isinstance(loaded._lean(), LeanQ)
    _assert_same(loaded, ref)
    # A load into the same model replaces the optimizer state: the step notices and rebinds.
    ref_state = ref.policy.optimizer.state_dict()
    loaded.policy.optimizer.load_state_dict(ref_state)
    loaded.policy.load_state_dict(ref.policy.state_dict())
    _train(loaded, 5, seed=4)
    _train(ref, 5, seed=4)
    _assert_same(loaded, ref)


def test_other_networks_keep_autograd() -> None:
    assert _model(activation_fn=th.nn.Tanh)._lean() is None
    assert _model(optimizer_class=th.optim.SGD, optimizer_kwargs={})._lean() is None
    adamw = _model(optimizer_class=th.optim.Adam, optimizer_kwargs={"weight_decay": 1e-4})
    assert adamw._lean() is None
    _train(adamw, 2, seed=0)  # and SB3's path still trains it
    assert adamw._n_updates == 6
