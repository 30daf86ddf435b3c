"""Exact Riemann solutions of single-class LWR and ARZ, as references for the numerical kernels.

Written independently of `sim.flux` and `sim.stepper`: plain numpy on the law as
`ARZParams.pressure` / `pressure_slope` define it, with every inverse (inverse pressure,
critical density, the density inside a rarefaction fan) found by bisection rather than by the
closed forms the kernels use, so tests check the simulator against the physics rather than
against itself. Any pressure law with p increasing and rho p(rho) convex works.

Model (one class, parameters `ARZParams`):

    p(rho)                                           pressure (power or triangular law)
    w      = v + p(rho)                              Lagrangian marker ("desired speed")
    rho_t + (rho v)_x = 0,  (rho w)_t + (rho w v)_x = 0

Eigenvalues: lambda1 = v - rho p'(rho) = w - (rho p)'(rho) (w is its Riemann invariant;
genuinely nonlinear where rho p is strictly convex, linearly degenerate on the triangular law's
congested branch, where rho p is linear) and lambda2 = v (linearly degenerate contact, v is
constant across it). Because rho p is convex, lambda1 decreases with rho along w = const, so
1-waves that raise the density are shocks and those that lower it rarefactions (fans at
constant density where lambda1 jumps, e.g. the capacity state of the triangle).
With w = v_max everywhere ARZ reduces to LWR with the flux Q(rho) = rho * (v_max - p(rho)).

Every solver returns the self-similar solution at time t > 0 for a discontinuity at x0,
evaluated at the points x (anything array-like). At t = 0 it returns the initial data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sim.params import ARZParams

FloatArray = NDArray[np.float64]

_BISECTIONS = 80
"""Bisection steps: the bracket shrinks by 2**-80, below double precision of any density."""


def _bisect_decreasing(f: Callable[[FloatArray], FloatArray], target: ArrayLike,
                       lo: ArrayLike, hi: ArrayLike) -> FloatArray:
    """Elementwise rho in [lo, hi] where the non-increasing f crosses `target`: the limit of
    the bracket [a, b] with f(a) >= target > f(b) (the clipped end where it never crosses).
    Where f jumps across the target (a kink of rho p) this is the jump's location."""
    t = np.asarray(target, dtype=np.float64)
    a = np.broadcast_to(np.asarray(lo, dtype=np.float64), t.shape).copy()
    b = np.broadcast_to(np.asarray(hi, dtype=np.float64), t.shape).copy()
    for _ in range(_BISECTIONS):
        mid = 0.5 * (a + b)
        above = f(mid) >= t
        a = np.where(above, mid, a)
        b = np.where(above, b, mid)
    return 0.5 * (a + b)


# --------------------------------------------------------------------------- model functions
def pressure(rho: ArrayLike, params: ARZParams) -> FloatArray:
    """p(rho) of the class's law."""
    return params.pressure(rho)


def inverse_pressure(p: ArrayLike, params: ARZParams) -> FloatArray:
    """The density rho >= 0 with p(rho) = p (0 for p <= 0), by bisection on the increasing p.
    Both laws reach v_max at rho_max and keep increasing beyond (the triangle towards
    v_max + c), so p up to v_max lies in [0, rho_max]; larger p in [0, 64 rho_max]."""
    q = np.maximum(np.asarray(p, dtype=np.float64), 0.0)
    hi = np.where(q <= params.v_max, params.rho_max, 64.0 * params.rho_max)
    rho = _bisect_decreasing(lambda r: -pressure(r, params), -q, 0.0, hi)
    return np.where(q > 0.0, rho, 0.0)


def equilibrium_speed(rho: ArrayLike, params: ARZParams) -> FloatArray:
    """V(rho) = v_max - p(rho): the speed of a state on the equilibrium curve (w = v_max)."""
    return params.v_max - pressure(rho, params)


def lwr_flux(rho: ArrayLike, params: ARZParams) -> FloatArray:
    """Q(rho) = rho * (v_max - p(rho)), the LWR flux that ARZ reduces to when w = v_max."""
    r = np.asarray(rho, dtype=np.float64)
    return r * equilibrium_speed(r, params)


def lwr_char_speed(rho: ArrayLike, params: ARZParams) -> FloatArray:
    """Q'(rho) = v_max - (rho p)'(rho) (on the triangle's kink, the congested side's)."""
    return lambda1(rho, params.v_max, params)


def critical_density(params: ARZParams, w: float | None = None) -> float:
    """Density maximising rho * (w - p(rho)) (default w = v_max): where lambda1 = w - (rho p)'
    changes sign, found by bisection (it decreases, rho p being convex)."""
    w = params.v_max if w is None else w
    if w <= 0.0:
        return 0.0
    # The maximiser has p < w <= v_max, so it lies below rho_max.
    return float(_bisect_decreasing(lambda r: lambda1(r, w, params), 0.0, 0.0, params.rho_max))


def capacity(params: ARZParams) -> float:
    """Q_max = max over rho of Q(rho), veh/s (per the units of rho_max)."""
    return float(lwr_flux(critical_density(params), params))


def lambda1(rho: ArrayLike, w: float, params: ARZParams) -> FloatArray:
    """First ARZ characteristic speed at density rho on the 1-wave curve w = const:
    v - rho p'(rho) = w - p(rho) - rho p'(rho)."""
    r = np.asarray(rho, dtype=np.float64)
    return w - pressure(r, params) - r * params.pressure_slope(r)


def fan_density(xi: ArrayLike, w: float, rho_lo: float, rho_hi: float,
                params: ARZParams) -> FloatArray:
    """Density inside a 1-rarefaction on the curve w = const between rho_lo and rho_hi: the
    rho with lambda1(rho, w) = xi (bisection; a constant-density fan where lambda1 jumps)."""
    return _bisect_decreasing(lambda r: lambda1(r, w, params), xi, rho_lo, rho_hi)


def shock_speed(rho_a: float, q_a: float, rho_b: float, q_b: float) -> float:
    """Rankine-Hugoniot speed (q_b - q_a) / (rho_b - rho_a) of a jump in a conserved density
    with flux q; for rho_a == rho_b (no jump) the jump is a contact and this is q / rho (or 0
    for an empty road)."""
    if rho_b == rho_a:
        return q_a / rho_a if rho_a > 0 else 0.0
    return (q_b - q_a) / (rho_b - rho_a)


def lwr_shock_speed(rho_l: float, rho_r: float, params: ARZParams) -> float:
    """Rankine-Hugoniot speed of an LWR shock between rho_l and rho_r. For the quadratic
    Greenshields flux (gamma = 1) it is v_max * (1 - (rho_l + rho_r) / rho_max)."""
    return shock_speed(rho_l, float(lwr_flux(rho_l, params)),
                       rho_r, float(lwr_flux(rho_r, params)))


def arz_shock_speed(rho_a: float, v_a: float, rho_b: float, v_b: float) -> float:
    """Speed of an ARZ 1-shock between (rho_a, v_a) and (rho_b, v_b) with equal w: the
    Rankine-Hugoniot speed of the mass equation, (rho_b v_b - rho_a v_a) / (rho_b - rho_a).
    Because w is the same on both sides, the rho*w equation then holds too (its jump is w
    times the mass jump)."""
    return shock_speed(rho_a, rho_a * v_a, rho_b, rho_b * v_b)


# --------------------------------------------------------------------------- LWR
def lwr_riemann(rho_l: float, rho_r: float, x: ArrayLike, t: float, params: ARZParams,
                x0: float = 0.0) -> FloatArray:
    """Entropy solution of the LWR Riemann problem with flux Q(rho) = rho (v_max - p(rho)).

    Q is concave (rho p convex), so rho_l < rho_r gives a shock at the Rankine-Hugoniot
    speed and rho_l > rho_r a rarefaction fan, inside which Q'(rho) = xi = (x - x0) / t.
    """
    xx = np.asarray(x, dtype=np.float64)
    if t <= 0:
        return np.where(xx < x0, rho_l, rho_r).astype(np.float64)
    xi = (xx - x0) / t
    if rho_l <= rho_r:
        s = lwr_shock_speed(rho_l, rho_r, params)
        return np.where(xi < s, rho_l, rho_r).astype(np.float64)
    a = float(lwr_char_speed(rho_l, params))
    b = float(lwr_char_speed(rho_r, params))
    fan = fan_density(xi, params.v_max, rho_r, rho_l, params)
    return np.where(xi <= a, rho_l, np.where(xi >= b, rho_r, fan))


# --------------------------------------------------------------------------- ARZ
@dataclass(frozen=True)
class ARZWaves:
    """Structure of an ARZ Riemann solution (speeds in m/s, of xi = (x - x0) / t).

    The solution is: L for xi < wave1_lo; the 1-wave (a shock when wave1_lo == wave1_hi, else a
    rarefaction fan) up to wave1_hi; then the intermediate state M (or vacuum when `vacuum`) up
    to the contact at `contact` (= v_R); then R.
    """

    rho_m: float
    """Density of the intermediate state (0 for vacuum)."""
    v_m: float
    """Speed of the intermediate state (v_R; for vacuum the speed of the last particle, w_L)."""
    w_l: float
    """Marker of the left state, kept across the 1-wave."""
    wave1_lo: float
    """Slowest speed of the 1-wave (its speed if a shock; the fan's head otherwise)."""
    wave1_hi: float
    """Fastest speed of the 1-wave (w_L, the vacuum front, when L rarefies into vacuum)."""
    shock: bool
    """Whether the 1-wave is a shock (or absent)."""
    contact: float
    """Speed of the 2-contact, v_R (w_L when the right state is empty)."""
    vacuum: bool
    """Whether an empty region separates the 1-wave from the contact."""


def arz_waves(rho_l: float, v_l: float, rho_r: float, v_r: float,
              params: ARZParams) -> ARZWaves:
    """Wave structure of the ARZ Riemann problem (Aw and Rascle 2000).

    The intermediate state M has the left marker and the right speed: w_M = w_L, v_M = v_R,
    so p(rho_M) = w_L - v_R. If w_L <= v_R the left traffic cannot keep up with the right
    traffic: a rarefaction drains L down to rho = 0 (whose speed is w_L) and vacuum lies between
    w_L and v_R. If the right state is empty (rho_R = 0) it imposes nothing and L rarefies into
    the vacuum. An empty left state leaves vacuum behind the right traffic.
    """
    if rho_l <= 0.0:
        return ARZWaves(rho_m=0.0, v_m=v_r, w_l=v_r, wave1_lo=v_r, wave1_hi=v_r, shock=True,
                        contact=v_r, vacuum=True)
    w_l = v_l + float(pressure(rho_l, params))
    lam_l = float(lambda1(rho_l, w_l, params))
    if rho_r <= 0.0 or w_l <= v_r:
        # 1-rarefaction down to vacuum; then vacuum up to the contact (the last car of R).
        contact = w_l if rho_r <= 0.0 else v_r
        return ARZWaves(rho_m=0.0, v_m=w_l, w_l=w_l, wave1_lo=lam_l, wave1_hi=w_l,
                        shock=False, contact=contact, vacuum=True)
    rho_m = float(inverse_pressure(w_l - v_r, params))
    v_m = v_r
    if rho_m > rho_l:
        s = arz_shock_speed(rho_l, v_l, rho_m, v_m)
        return ARZWaves(rho_m=rho_m, v_m=v_m, w_l=w_l, wave1_lo=s, wave1_hi=s, shock=True,
                        contact=v_r, vacuum=False)
    lam_m = float(lambda1(rho_m, w_l, params))
    if lam_m <= lam_l + 1e-12 * max(abs(lam_l), 1.0) and rho_m != rho_l:
        # Both states on a linear stretch of rho p (the triangle's congested branch): the
        # 1-wave is linearly degenerate there, a jump at the common characteristic speed.
        s = arz_shock_speed(rho_l, v_l, rho_m, v_m)
        return ARZWaves(rho_m=rho_m, v_m=v_m, w_l=w_l, wave1_lo=s, wave1_hi=s, shock=True,
                        contact=v_r, vacuum=False)
    return ARZWaves(rho_m=rho_m, v_m=v_m, w_l=w_l, wave1_lo=lam_l, wave1_hi=lam_m,
                    shock=rho_m == rho_l, contact=v_r, vacuum=False)


def arz_riemann(rho_l: float, v_l: float, rho_r: float, v_r: float, x: ArrayLike, t: float,
                params: ARZParams, x0: float = 0.0) -> tuple[FloatArray, FloatArray]:
    """Exact solution (rho, v) of the single-class ARZ Riemann problem at time t.

    Left state (rho_l, v_l) for x < x0, right state (rho_r, v_r) for x > x0. See `arz_waves`
    for the structure. Inside a 1-rarefaction w = w_L and lambda1(rho) = xi, and
    v = w_L - p(rho). In a vacuum region rho = 0 and v is reported as xi (the speed a vanishing
    particle there would have).
    """
    xx = np.asarray(x, dtype=np.float64)
    if t <= 0:
        return (np.where(xx < x0, rho_l, rho_r).astype(np.float64),
                np.where(xx < x0, v_l, v_r).astype(np.float64))
    xi = (xx - x0) / t
    wv = arz_waves(rho_l, v_l, rho_r, v_r, params)
    rho = np.full_like(xi, rho_r)
    v = np.full_like(xi, v_r)
    left_of_contact = xi < wv.contact
    if wv.vacuum:
        rho[left_of_contact] = 0.0
        v[left_of_contact] = np.clip(xi[left_of_contact], min(wv.w_l, wv.contact),
                                     max(wv.w_l, wv.contact))
    else:
        rho[left_of_contact] = wv.rho_m
        v[left_of_contact] = wv.v_m
    if rho_l > 0.0:
        if not wv.shock:
            fan = (xi >= wv.wave1_lo) & (xi < wv.wave1_hi)
            r_fan = fan_density(xi[fan], wv.w_l, wv.rho_m, rho_l, params)
            rho[fan] = r_fan
            v[fan] = wv.w_l - pressure(r_fan, params)
        left = xi < wv.wave1_lo
        rho[left] = rho_l
        v[left] = v_l
    return rho, v


def cell_averages(solution: Callable[[FloatArray], ArrayLike], edges: ArrayLike,
                  sub: int = 32) -> FloatArray:
    """Averages of `solution(x)` (a function of position returning an array) over the cells
    between consecutive `edges`, by the midpoint rule on `sub` points per cell: exact for
    piecewise-constant parts, and away from a discontinuity accurate to O((dx / sub) ** 2)."""
    e = np.asarray(edges, dtype=np.float64)
    frac = (np.arange(sub) + 0.5) / sub
    pts = e[:-1, None] + (e[1:] - e[:-1])[:, None] * frac[None, :]
    vals = np.asarray(solution(pts.ravel()), dtype=np.float64).reshape(pts.shape)
    return vals.mean(axis=1)


# --------------------------------------------------------------------------- signal queues
def red_queue_tail_speed(q_in: float, params: ARZParams) -> float:
    """Speed (negative: upstream) of the tail of the queue behind a red signal, fed by
    free-flow arrivals of flow q_in: the LWR shock from (rho_in, q_in) to (rho_max, 0)."""
    rho_in = free_flow_density(q_in, params)
    return shock_speed(rho_in, q_in, params.rho_max, 0.0)


def free_flow_density(q: float, params: ARZParams) -> float:
    """The free-flow density (below critical) that carries the flow q <= capacity in
    equilibrium: the smaller root of Q(rho) = q, by bisection (Q increases up to critical)."""
    if not 0.0 <= q <= capacity(params) * (1 + 1e-12):
        raise ValueError(f"flow {q} outside [0, capacity = {capacity(params)}]")
    lo, hi = 0.0, critical_density(params)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if float(lwr_flux(mid, params)) < q:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def greenshields_clearing_time(q_in: float, red_s: float, params: ARZParams) -> float:
    """Seconds from the start of green until the queue built by `red_s` seconds of red has
    cleared the stop line, for gamma = 1 (Greenshields) and free-flow arrivals q_in that were
    already in equilibrium when the red began.

    Until then the stop line passes the capacity flow; afterwards the arrivals q_in. Derivation
    (x from the stop line, tau from the green): the queue tail moves at s = red_queue_tail_speed
    and is at s * red_s at the green. The centred discharge fan rho = rho_max / 2 *
    (1 - x / (v_max tau)) overtakes it at tau1 = |s| red_s / (v_max - |s|), x1 = -v_max tau1.
    Inside the fan the tail is a shock with dx/dtau = a + x / (2 tau), a = v_max (1/2 -
    rho_in / rho_max), i.e. x = 2 a tau + C sqrt(tau); it reaches the stop line at
    tau_c = (C / (2 a)) ** 2.
    """
    if params.law != "power" or params.gamma != 1.0:
        raise ValueError("closed form for the power law with gamma = 1 only")
    v = params.v_max
    rho_in = free_flow_density(q_in, params)
    s = red_queue_tail_speed(q_in, params)
    tau1 = -s * red_s / (v + s)
    x1 = -v * tau1
    a = v * (0.5 - rho_in / params.rho_max)
    c = (x1 - 2.0 * a * tau1) / np.sqrt(tau1)
    return float((c / (2.0 * a)) ** 2)


def queue_clearing_time(q_in: float, red_s: float, params: ARZParams) -> float:
    """Seconds from the start of green until the queue built by `red_s` seconds of red has
    cleared the stop line (LWR, any gamma; free-flow arrivals q_in in equilibrium since the
    red began).

    Counting argument: the stop line passes Q_max from the green until the queue tail reaches
    it, and the vehicle just behind the tail then has driven freely all along, so it is the
    one that was q_in * (red_s + tau_c) vehicles upstream at the start of the red:
    Q_max * tau_c = q_in * (red_s + tau_c).
    """
    return q_in * red_s / (capacity(params) - q_in)
