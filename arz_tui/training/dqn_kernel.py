"""DQN's gradient steps of a ReLU MLP as one numba call on the CPU.

Why: even without autograd (`lean_q`), a gradient step on a CPU is ~30 torch operations; each
is cheap alone, but interleaved with sampling, the target forward and the simulator they run
3-4x slower than in a tight loop (the dispatch code no longer stays in the caches), and the
step costs ~300 us where its arithmetic (about 0.7 M multiply-adds at minibatch 32) needs a
tenth of that. Here the K gradient steps of one `train` call (sampling's gather, the TD
targets through the target network, forward, Huber gradient, backward, norm clipping, Adam)
are one compiled loop over the flat buffers `LeanQ` keeps, so its tensors, SB3's module
parameters and the optimizer state stay the same objects.

The arithmetic is that of `LeanQ.gradient_step` (SB3's step), in float32; sums may be
reassociated (as BLAS does), so results agree to round-off (tests/test_lean_q.py).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_FAST = {"reassoc", "contract"}
"""Reassociation lets the dot-product loops vectorise; nothing else is relaxed."""


@njit(cache=True, error_model="numpy", fastmath=_FAST)
def _forward(p: np.ndarray, layers: np.ndarray, x: np.ndarray, acts: np.ndarray,
             offs: np.ndarray) -> None:
    """Every layer's output for rows `x` into `acts` (layer l at offs[l + 1], rows x width;
    x itself is copied to offs[0]); ReLU on all but the last. Rows and weights are taken as
    2-D views: with unit strides the compiler vectorises the dot products (7x faster than
    computed flat indices, measured)."""
    rows = x.shape[0]
    n_layers = layers.shape[0]
    first = layers[0, 1]
    # Plain loops, not slice assignment: numba compiles array setitem with broadcasting
    # slowly (4 s of this kernel's first compile, measured).
    dst = acts[offs[0]:offs[0] + rows * first]
    for r in range(rows):
        for i in range(first):
            dst[r * first + i] = x[r, i]
    for k in range(n_layers):
        n_out, n_in, w_off, b_off = layers[k, 0], layers[k, 1], layers[k, 2], layers[k, 3]
        w = p[w_off:w_off + n_out * n_in].reshape((n_out, n_in))
        bias = p[b_off:b_off + n_out]
        h = acts[offs[k]:offs[k] + rows * n_in].reshape((rows, n_in))
        out = acts[offs[k + 1]:offs[k + 1] + rows * n_out].reshape((rows, n_out))
        relu = k < n_layers - 1
        for r in range(rows):
            hr = h[r]
            for o in range(n_out):
                wr = w[o]
                s = np.float32(0.0)
                for i in range(n_in):
                    s += hr[i] * wr[i]
                z = s + bias[o]
                if relu and z < 0:
                    z = np.float32(0.0)
                out[r, o] = z


@njit(cache=True, error_model="numpy")
def _gather(buf: np.ndarray, batch_inds: np.ndarray, env_inds: np.ndarray,
            x: np.ndarray) -> None:
    """x[r] = buf[batch_inds[r], env_inds[r]] (SB3's sampled rows), as plain loops."""
    for r in range(x.shape[0]):
        src = buf[batch_inds[r], env_inds[r]]
        for i in range(x.shape[1]):
            x[r, i] = src[i]


@njit(cache=True, error_model="numpy", fastmath=_FAST)
def dqn_train(obs_buf: np.ndarray, next_buf: np.ndarray, act_buf: np.ndarray,
              rew_buf: np.ndarray, done_buf: np.ndarray, timeout_buf: np.ndarray,
              batch_inds: np.ndarray, env_inds: np.ndarray, p: np.ndarray, g: np.ndarray,
              m: np.ndarray, v: np.ndarray, tp: np.ndarray, layers: np.ndarray,
              n_steps: int, batch: int, gamma: float, lr: float, beta1: float, beta2: float,
              eps: float, max_norm: float, t0: int, losses: np.ndarray) -> None:
    """`n_steps` gradient steps on minibatches of `batch` sampled rows (SB3's ReplayBuffer
    arrays indexed [batch_inds, env_inds]); p, m, v updated in place, Adam's step count
    starting after t0; losses[k] the Huber loss of step k."""
    n_layers = layers.shape[0]
    d_obs = layers[0, 1]
    n_act = layers[n_layers - 1, 0]
    total = n_steps * batch
    width = 0
    for k in range(n_layers):
        width = max(width, layers[k, 0], layers[k, 1])
    # Activations of every layer, for the whole sample (targets) or one minibatch (steps).
    offs = np.empty(n_layers + 1, np.int64)
    offs[0] = 0
    for k in range(n_layers):
        offs[k + 1] = offs[k] + total * (layers[k, 1] if k == 0 else layers[k - 1, 0])
    acts = np.empty(offs[n_layers] + total * n_act, np.float32)

    # TD targets through the target network (it does not change within one train call).
    x = np.empty((total, d_obs), np.float32)
    _gather(next_buf, batch_inds, env_inds, x)
    _forward(tp, layers, x, acts, offs)
    y = np.empty(total, np.float32)
    last = offs[n_layers]
    for r in range(total):
        best = acts[last + r * n_act]
        for a in range(1, n_act):
            best = max(best, acts[last + r * n_act + a])
        b, e = batch_inds[r], env_inds[r]
        done = np.float32(done_buf[b, e] * (np.float32(1.0) - timeout_buf[b, e]))
        y[r] = np.float32(rew_buf[b, e]) + (np.float32(1.0) - done) * np.float32(gamma) * best
    _gather(obs_buf, batch_inds, env_inds, x)

    offs_b = np.empty(n_layers + 1, np.int64)
    offs_b[0] = 0
    for k in range(n_layers):
        offs_b[k + 1] = offs_b[k] + batch * (layers[k, 1] if k == 0 else layers[k - 1, 0])
    dz = np.empty(batch * width, np.float32)
    dh = np.empty(batch * width, np.float32)
    n_params = p.shape[0]
    inv_batch = np.float32(1.0 / batch)
    for step in range(n_steps):
        lo = step * batch
        _forward(p, layers, x[lo:lo + batch], acts, offs_b)
        # Huber loss (beta 1) of the taken actions: with c = clamp(d, -1, 1) the loss is
        # c (d - c / 2) and its gradient c.
        q_off = offs_b[n_layers]
        loss = np.float32(0.0)
        for j in range(batch * n_act):
            dz[j] = 0.0
        for r in range(batch):
            a = act_buf[batch_inds[lo + r], env_inds[lo + r], 0]
            d = acts[q_off + r * n_act + a] - y[lo + r]
            c = min(max(d, np.float32(-1.0)), np.float32(1.0))
            loss += c * (d - np.float32(0.5) * c)
            dz[r * n_act + a] = c
        losses[step] = loss * inv_batch
        for j in range(n_params):
            g[j] = 0.0
        for k in range(n_layers - 1, -1, -1):
            n_out, n_in, w_off, b_off = layers[k, 0], layers[k, 1], layers[k, 2], layers[k, 3]
            w = p[w_off:w_off + n_out * n_in].reshape((n_out, n_in))
            gw = g[w_off:w_off + n_out * n_in].reshape((n_out, n_in))
            gb = g[b_off:b_off + n_out]
            h = acts[offs_b[k]:offs_b[k] + batch * n_in].reshape((batch, n_in))
            dzk = dz[:batch * n_out].reshape((batch, n_out))
            for r in range(batch):
                hr = h[r]
                for o in range(n_out):
                    c = dzk[r, o]
                    if c == 0:
                        continue
                    gb[o] += c
                    gr = gw[o]
                    for i in range(n_in):
                        gr[i] += c * hr[i]
            if k == 0:
                break
            for j in range(batch * n_in):
                dh[j] = 0.0
            dhk = dh[:batch * n_in].reshape((batch, n_in))
            for r in range(batch):
                dr = dhk[r]
                for o in range(n_out):
                    c = dzk[r, o]
                    if c == 0:
                        continue
                    wr = w[o]
                    for i in range(n_in):
                        dr[i] += c * wr[i]
            hflat = acts[offs_b[k]:offs_b[k] + batch * n_in]
            for j in range(batch * n_in):
                dz[j] = dh[j] if hflat[j] > 0 else np.float32(0.0)
        # The mean's 1 / batch, then clip_grad_norm_: scale by min(1, max / (norm + 1e-6)).
        sq = 0.0
        for j in range(n_params):
            sq += np.float64(g[j]) * g[j]
        norm = np.sqrt(sq) / batch
        scale = np.float32(min(max_norm / (norm + 1e-6), 1.0) / batch)
        # Adam (torch.optim.Adam's defaults: no weight decay, amsgrad or maximize).
        t = t0 + step + 1
        bias1 = 1.0 - beta1 ** t
        bias2_sqrt = np.sqrt(1.0 - beta2 ** t)
        step_size = np.float32(lr * bias2_sqrt / bias1)
        eps_t = np.float32(eps * bias2_sqrt)
        b1, b2 = np.float32(1.0 - beta1), np.float32(beta2)
        one_b2 = np.float32(1.0 - beta2)
        for j in range(n_params):
            gj = g[j] * scale
            g[j] = gj
            m[j] += b1 * (gj - m[j])
            v[j] = v[j] * b2 + one_b2 * gj * gj
            p[j] -= step_size * m[j] / (np.sqrt(v[j]) + eps_t)
