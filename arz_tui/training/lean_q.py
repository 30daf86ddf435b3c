"""DQN's gradient step and greedy action for a ReLU MLP Q-network, without autograd.

Why: on one CPU thread a gradient step of SB3's 64x64 Q-network at minibatch 32 costs about
1 ms through autograd and `torch.optim.Adam`, almost all of it per-operation dispatch (a
backward graph of ~20 nodes, then Adam and gradient clipping once per parameter tensor), while
the arithmetic is a few microseconds. With the simulator batched, that step was two thirds of
training (benchmarks/bench_training.py). Here the same step is written out: the forward pass,
the Huber-loss gradient, the backward pass of the linear and ReLU layers, the gradient-norm
clip and Adam, all on one flat buffer per quantity (parameters, gradients, both Adam moments),
so a step is ~30 tensor operations whatever the number of layers.

It is the same mathematics as SB3's `DQN.train` (`F.smooth_l1_loss`, `clip_grad_norm_`,
`torch.optim.Adam` with its defaults), equal to round-off (tests/test_lean_q.py compares both
after many steps), and it keeps SB3's objects authoritative: the module's parameters become
views into the flat buffer, and the optimizer's state entries views into the flat moments, so
`model.save`, `DQN.load`, the target-network update and `policy.predict` see the usual
tensors. A load that replaces the optimizer state is noticed and the buffers rebuilt from it.

Only what it can reproduce exactly is taken over: a Q-network of Linear layers with ReLU
between them on flat observations, and Adam without weight decay, AMSGrad or maximize.
Anything else returns None from `LeanQ.for_policy`, and the caller keeps autograd.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.torch_layers import FlattenExtractor
from torch import nn

from arz_tui.training.dqn_kernel import dqn_train


def _plain_relu_mlp(net: nn.Module) -> list[nn.Linear] | None:
    """The Linear layers of Linear (ReLU Linear)*, or None for any other shape."""
    if not isinstance(net, nn.Sequential):
        return None
    modules = list(net)
    linears = modules[0::2]
    activations = modules[1::2]
    if not linears or len(linears) != len(activations) + 1:
        return None
    if not all(type(m) is nn.Linear and m.bias is not None for m in linears):
        return None
    if not all(type(a) is nn.ReLU for a in activations):
        return None
    return linears


def _plain_adam(optimizer: th.optim.Optimizer) -> bool:
    if type(optimizer) is not th.optim.Adam or len(optimizer.param_groups) != 1:
        return False
    g = optimizer.param_groups[0]
    return (g.get("weight_decay", 0) == 0 and not g.get("amsgrad", False)
            and not g.get("maximize", False) and not g.get("capturable", False)
            and not g.get("differentiable", False) and not isinstance(g["lr"], th.Tensor))


def _mlp(h: th.Tensor, weights_t: list[th.Tensor], biases: list[th.Tensor]) -> th.Tensor:
    """Linear (ReLU Linear)* forward from transposed weights; no graph is recorded when called
    under no_grad."""
    last = len(weights_t) - 1
    for i, (wt, b) in enumerate(zip(weights_t, biases, strict=True)):
        h = th.addmm(b, h, wt)
        if i < last:
            h.clamp_(min=0)
    return h


class LeanQ:
    """Flat-buffer forward, backward and Adam for one SB3 QNetwork and its optimizer."""

    def __init__(self, linears: list[nn.Linear], target: list[nn.Linear],
                 optimizer: th.optim.Optimizer, max_grad_norm: float) -> None:
        self.linears = linears
        self.target = target
        self.params: list[nn.Parameter] = [t for m in linears for t in (m.weight, m.bias)]
        self.optimizer = optimizer
        self.max_grad_norm = float(max_grad_norm)
        self._state_ref: Any = None
        self._bind()

    @classmethod
    def for_policy(cls, policy: Any, max_grad_norm: float) -> LeanQ | None:
        """The lean step for an SB3 DQNPolicy, or None where it cannot be exact."""
        q_net = getattr(policy, "q_net", None)
        optimizer = getattr(policy, "optimizer", None)
        if q_net is None or optimizer is None or not _plain_adam(optimizer):
            return None
        if type(getattr(q_net, "features_extractor", None)) is not FlattenExtractor:
            return None
        linears = _plain_relu_mlp(getattr(q_net, "q_net", None))
        target_net = getattr(policy, "q_net_target", None)
        target = _plain_relu_mlp(getattr(target_net, "q_net", None))
        if linears is None or target is None or len(target) != len(linears):
            return None
        if type(getattr(target_net, "features_extractor", None)) is not FlattenExtractor:
            return None
        if [id(p) for p in optimizer.param_groups[0]["params"]] != [
                id(t) for m in linears for t in (m.weight, m.bias)]:
            return None
        if len({(p.dtype, p.device) for m in linears for p in m.parameters()}) != 1:
            return None
        return cls(linears, target, optimizer, max_grad_norm)

    # -- layout -------------------------------------------------------------------------------

    def _bind(self) -> None:
        """Move parameters, gradients and Adam's moments into flat buffers; the module's
        parameters and the optimizer's state entries become views of them."""
        p0 = self.params[0]
        sizes = [p.numel() for p in self.params]
        total = sum(sizes)
        kw = {"dtype": p0.dtype, "device": p0.device}
        self.flat_p = th.empty(total, **kw)
        self.flat_g = th.zeros(total, **kw)
        self.flat_m = th.zeros(total, **kw)
        self.flat_v = th.zeros(total, **kw)
        state = self.optimizer.state
        steps = {float(state[p]["step"]) for p in self.params if "step" in state[p]}
        if len(steps) > 1:
            raise ValueError(f"Adam state has unequal step counts {sorted(steps)}")
        self.t = int(steps.pop()) if steps else 0
        step_device = p0.device if self.optimizer.param_groups[0].get("fused") else "cpu"
        self._step = th.tensor(float(self.t), dtype=th.float32, device=step_device)
        self.w: list[th.Tensor] = []
        self.b: list[th.Tensor] = []
        self.gw: list[th.Tensor] = []
        self.gb: list[th.Tensor] = []
        offset = 0
        for p, n in zip(self.params, sizes, strict=True):
            sl = slice(offset, offset + n)
            offset += n
            view = self.flat_p[sl].view_as(p)
            view.copy_(p.detach())
            s = state[p]
            m, v = self.flat_m[sl].view_as(p), self.flat_v[sl].view_as(p)
            if "exp_avg" in s:
                m.copy_(s["exp_avg"])
                v.copy_(s["exp_avg_sq"])
            p.data = view
            if self.t:
                s["exp_avg"], s["exp_avg_sq"], s["step"] = m, v, self._step
            (self.w if p.dim() == 2 else self.b).append(view)
            (self.gw if p.dim() == 2 else self.gb).append(self.flat_g[sl].view_as(p))
        self.wt = [w.t() for w in self.w]
        self._bind_target()
        self._state_ref = self.optimizer.state
        self._first_m = state[self.params[0]].get("exp_avg")
        self._ptr = self.params[0].data_ptr()

    def _bind_target(self) -> None:
        """The target network's parameters become views of one flat buffer too (SB3 updates
        them in place: polyak_update, load_state_dict)."""
        params = [t for m in self.target for t in (m.weight, m.bias)]
        self.flat_tp = th.empty(sum(p.numel() for p in params), dtype=params[0].dtype,
                                device=params[0].device)
        offset = 0
        for p in params:
            view = self.flat_tp[offset:offset + p.numel()].view_as(p)
            view.copy_(p.detach())
            p.data = view
            offset += p.numel()
        self.target_wt = [m.weight.detach().t() for m in self.target]
        self.target_b = [m.bias.detach() for m in self.target]
        self._target_ptrs = [m.weight.data_ptr() for m in self.target]
        # (out, in, weight offset, bias offset) per layer, for the compiled step.
        rows, offset = [], 0
        for m in self.linears:
            n_out, n_in = m.weight.shape
            rows.append((n_out, n_in, offset, offset + n_out * n_in))
            offset += n_out * n_in + n_out
        self.layers = np.array(rows, dtype=np.int64)

    def _check_layout(self) -> None:
        """Rebind after anything replaced the parameters' storage or the optimizer state
        (SB3's load_state_dict of the optimizer does the latter)."""
        state = self.optimizer.state
        if (state is not self._state_ref or self.params[0].data_ptr() != self._ptr
                or state[self.params[0]].get("exp_avg") is not self._first_m):
            self._bind()
        elif [m.weight.data_ptr() for m in self.target] != self._target_ptrs:
            self._bind_target()

    # -- the step -----------------------------------------------------------------------------

    def gradient_step(self, obs: th.Tensor, actions: th.Tensor, targets: th.Tensor
                      ) -> th.Tensor:
        """One DQN step on a minibatch (obs B x d, actions B x 1 long, targets B x 1):
        Huber loss, gradient clipped to max_grad_norm, Adam. Returns the loss (a tensor)."""
        self._check_layout()
        with th.no_grad():
            hs = [obs]
            last = len(self.w) - 1
            for i, b in enumerate(self.b):
                z = th.addmm(b, hs[-1], self.wt[i])
                hs.append(z.clamp_(min=0) if i < last else z)
            diff = hs[-1].gather(1, actions).sub_(targets)
            batch = diff.shape[0]
            # Huber (beta 1): with c = clamp(d, -1, 1) the loss is c (d - c / 2) and its
            # gradient c; the mean's 1 / batch is applied once, to the whole gradient.
            c = diff.clamp(-1.0, 1.0)
            loss = th.dot(c.view(-1), diff.sub_(c, alpha=0.5).view(-1)) / batch
            dz = th.zeros_like(hs[-1]).scatter_(1, actions, c)
            for i in range(last, -1, -1):
                th.mm(dz.t(), hs[i], out=self.gw[i])
                th.sum(dz, dim=0, out=self.gb[i])
                if i:
                    dz = th.mm(dz, self.w[i]).mul_(hs[i] > 0)
            self._clip_and_adam(1.0 / batch)
        return loss

    def _clip_and_adam(self, scale: float) -> None:
        """Scale the gradient (the mean's 1 / batch), clip its norm as clip_grad_norm_ does,
        then Adam's update as torch.optim.Adam writes it, on the flat buffers."""
        g = self.flat_g
        if g.device.type == "cpu":
            # One scalar read back costs nothing on a CPU and saves four tensor operations.
            norm = float(th.linalg.vector_norm(g)) * scale
            g.mul_(min(self.max_grad_norm / (norm + 1e-6), 1.0) * scale)
        else:
            norm_t = th.linalg.vector_norm(g).mul_(scale)
            g.mul_(th.clamp(self.max_grad_norm / (norm_t + 1e-6), max=1.0).mul_(scale))
        group = self.optimizer.param_groups[0]
        beta1, beta2 = group["betas"]
        self.t += 1
        self._step.fill_(float(self.t))
        if self.t == 1:
            self._create_state()
        self.flat_m.lerp_(g, 1 - beta1)
        self.flat_v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        # Adam's lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps), multiplied through by sqrt(bc2).
        bias1 = 1 - beta1 ** self.t
        bias2_sqrt = (1 - beta2 ** self.t) ** 0.5
        denom = self.flat_v.sqrt().add_(group["eps"] * bias2_sqrt)
        self.flat_p.addcdiv_(self.flat_m, denom, value=-group["lr"] * bias2_sqrt / bias1)

    def _create_state(self) -> None:
        """Adam creates its state on its first step: do the same, as views."""
        state = self.optimizer.state
        offset = 0
        for p in self.params:
            n = p.numel()
            state[p]["exp_avg"] = self.flat_m[offset:offset + n].view_as(p)
            state[p]["exp_avg_sq"] = self.flat_v[offset:offset + n].view_as(p)
            state[p]["step"] = self._step
            offset += n
        self._first_m = state[self.params[0]]["exp_avg"]

    def target_max(self, obs: th.Tensor) -> th.Tensor:
        """max_a Q_target(obs, a) as a column, through the target network's own tensors."""
        self._check_layout()
        with th.no_grad():
            q = _mlp(obs, self.target_wt, self.target_b)
            return q.max(dim=1).values.unsqueeze_(1)

    def compiled_for(self, buffer: Any) -> bool:
        """Whether `train_sampled` applies: a CPU float32 network and SB3's plain
        ReplayBuffer (float32 observations, no memory-optimised variant)."""
        return (self.flat_p.device.type == "cpu" and self.flat_p.dtype == th.float32
                and type(buffer) is ReplayBuffer and not buffer.optimize_memory_usage
                and buffer.observations.dtype == np.float32
                and buffer.next_observations.dtype == np.float32
                and buffer.observations.ndim == 3
                and np.issubdtype(buffer.actions.dtype, np.integer))

    def train_sampled(self, buffer: Any, n_steps: int, batch: int, gamma: float) -> float:
        """`n_steps` gradient steps on minibatches sampled as SB3's ReplayBuffer.sample
        draws them (the same calls on numpy's global generator), in one compiled call
        (arz_tui.training.dqn_kernel); returns the mean loss."""
        self._check_layout()
        upper = buffer.buffer_size if buffer.full else buffer.pos
        batch_inds = np.random.randint(0, upper, size=n_steps * batch)  # noqa: NPY002
        env_inds = np.random.randint(0, high=buffer.n_envs, size=(n_steps * batch,))  # noqa: NPY002
        group = self.optimizer.param_groups[0]
        beta1, beta2 = group["betas"]
        losses = np.empty(n_steps, np.float32)
        if self.t == 0:
            self._create_state()
        dqn_train(buffer.observations, buffer.next_observations, buffer.actions,
                  buffer.rewards, buffer.dones, buffer.timeouts, batch_inds, env_inds,
                  self.flat_p.numpy(), self.flat_g.numpy(), self.flat_m.numpy(),
                  self.flat_v.numpy(), self.flat_tp.numpy(), self.layers, n_steps, batch,
                  float(gamma), float(group["lr"]), float(beta1), float(beta2),
                  float(group["eps"]), self.max_grad_norm, self.t, losses)
        self.t += n_steps
        self._step.fill_(float(self.t))
        return float(losses.mean())

    def greedy(self, obs: np.ndarray) -> np.ndarray:
        """argmax_a Q(obs, a) for a batch of flat observations (numpy in, numpy out)."""
        self._check_layout()
        x = th.as_tensor(obs, dtype=self.flat_p.dtype).reshape(len(obs), -1)
        if x.device != self.flat_p.device:
            x = x.to(self.flat_p.device)
        with th.no_grad():
            greedy: np.ndarray = _mlp(x, self.wt, self.b).argmax(dim=1).cpu().numpy()
        return greedy
