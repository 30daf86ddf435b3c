"""Demand/supply (Godunov-type) flux of the two-class ARZ model, kept apart from the stepper.

Every function here is scalar and jitted so the stepper can inline it into its loops. The
notation follows docs/model.md: for class i with marker w, occupancy r (car-equivalents per
metre), jam occupancy R = pce * rho_max * lanes, free speed V and x = r / R,

    P(r)    pressure of the class's law (`law` = sim.params.Law):
            POWER       V x ** gamma = k r ** gamma      (k = V / R ** gamma)
            TRIANGULAR  d V x / x_c            for x <= x_c = c / (c + (1 - d) V)
                        V + c - c / x          for x >= x_c      (c: backward wave, d: drop)
    F(r; w) = r * max(w - P(r), 0)                       occupancy flow at class-i speed
    s(w)    = argmax of F(.; w), the critical occupancy:
            POWER       R (w / ((1 + gamma) V)) ** (1 / gamma)
            TRIANGULAR  min(x_c, w x_c / (2 d V)) R
    D(r; w) = F(min(r, s(w)); w)                         demand (sending function)
    S(r; w) = F(max(r, s(w)); w)                         supply (receiving function)

F(.; w) is concave with a unique maximum for both laws (r P(r) is convex: for the triangle it
is d V r^2 / r_c on the free branch and (V + c) r - c R on the congested one, slopes 2 d V <=
V + c at the kink), so D and S are the usual non-decreasing / non-increasing halves.

For one class this is the exact Godunov flux of ARZ (Lebacque, Mammar and Haj-Salem 2007): the
intermediate state of the Riemann problem has the upstream marker and the downstream speed.

Every function takes a cell's law parameters as (v_max, jam, crit, slope, law, gamma, wave):
crit = R x_c and slope = d V / crit (the free branch's dP/dr) for the triangle, and for the
power law crit = s(V) and slope = k, the law's coefficient, are per cell and class
(`Network.cellp` rows C_CRIT, C_SLOPE, precomputed because divisions dominate the cost of the
loops: with them the triangle needs one division for P and none for the demand, the power law
none for P). Where F is taken at the critical occupancy or at the intermediate state of the
power law, it uses P(s(w)) = w / (1 + gamma) and P(P^-1(p)) = p instead of evaluating P again
(equal to round-off). The kernels call the functions with `law` (and gamma = 1 or 2) as
constants, so each law gets its own branch-free loop.
"""

from __future__ import annotations

import math

from sim.jit import inline_kernel, kernel

POWER = 0
TRIANGULAR = 1
"""Law codes (sim.params.Law), as plain ints for the kernels."""

K_GAMMA, K_PCE, K_RELAX, K_LAW, K_WAVE, K_DROP = 0, 1, 2, 3, 4, 5
"""Rows of the per-class parameter array `classp` (rows, class): exponent of the power law,
pce, relaxation rate 1/tau (0: none), law code, backward wave speed (m/s) and free-speed drop
of the triangular law."""
N_CLASSP = 6

C_VMAX, C_JAM, C_CRIT, C_SLOPE = 0, 1, 2, 3
"""Rows of the per-cell array `cellp` (rows, class, cell): free speed (m/s), jam occupancy
(car-eq/m over all lanes), and the triangle's critical occupancy r_c and free-branch slope
d V / r_c (for the power law: the critical occupancy at w = V, and the coefficient
k = V / R ** gamma of P = k r ** gamma)."""
N_CELLP = 4


@inline_kernel
def power(x: float, gamma: float) -> float:
    """x ** gamma, with the integer exponents of the default classes special-cased: a float
    power in the hot loop costs three times the whole cell update."""
    if gamma == 1.0:
        return x
    if gamma == 2.0:
        return x * x
    return x**gamma


@inline_kernel
def root(x: float, gamma: float) -> float:
    """x ** (1 / gamma), the inverse of `power` for x >= 0."""
    if gamma == 1.0:
        return x
    if gamma == 2.0:
        return math.sqrt(x)
    return x ** (1.0 / gamma)


@inline_kernel
def triangle_crit(v_max: float, jam: float, wave: float, drop: float) -> float:
    """r_c = R x_c = R c / (c + (1 - d) V): where the triangle's free branch meets the
    congested one (the critical occupancy for w >= 2 d V)."""
    return jam * wave / (wave + (1.0 - drop) * v_max)


@inline_kernel
def pressure(r: float, v_max: float, jam: float, crit: float, slope: float, law: int,
             gamma: float, wave: float) -> float:
    """P(r) of a class whose jam occupancy is `jam`."""
    if law == TRIANGULAR:
        # Both branches unconditionally (the 1/r of an empty cell is inf, and discarded), so
        # the loop stays a select rather than a branch.
        jammed = v_max + wave - wave * jam / r
        return slope * r if r <= crit else jammed
    return slope * power(r, gamma)


@inline_kernel
def inverse_pressure(p: float, v_max: float, jam: float, crit: float, slope: float, law: int,
                     gamma: float, wave: float) -> float:
    """The occupancy r >= 0 with P(r) = p (0 for p <= 0)."""
    if p <= 0.0:
        return 0.0
    if law == TRIANGULAR:
        # One division: p / slope on the free branch, c R / (V + c - p) on the congested one.
        free = p <= slope * crit
        num = p if free else wave * jam
        den = slope if free else v_max + wave - p
        return num / den
    return jam * root(p / v_max, gamma)


@inline_kernel
def critical_occupancy(w: float, v_max: float, jam: float, crit: float, slope: float,
                       law: int, gamma: float, wave: float) -> float:
    """Occupancy of maximal F(.; w). Power law: w = P + r P' = (1 + gamma) P. Triangular law:
    the kink r_c, unless w < 2 d V puts the maximum of w r - slope r^2 on the free branch."""
    if w <= 0.0:
        return 0.0
    if law == TRIANGULAR:
        return min(crit, 0.5 * w / slope)
    return jam * root(w / ((1.0 + gamma) * v_max), gamma)


@inline_kernel
def occupancy_flow(r: float, w: float, v_max: float, jam: float, crit: float, slope: float,
                   law: int, gamma: float, wave: float) -> float:
    """F(r; w) = r * max(w - P(r), 0)."""
    v = w - pressure(r, v_max, jam, crit, slope, law, gamma, wave)
    return r * v if v > 0.0 else 0.0


@inline_kernel
def demand(r: float, w: float, sigma: float, v_max: float, jam: float, crit: float,
           slope: float, law: int, gamma: float, wave: float) -> float:
    """D(r; w), given sigma = critical_occupancy(w)."""
    if law == TRIANGULAR:
        # min(r, sigma) <= sigma <= r_c lies on the free branch: P = slope r, no division.
        rr = min(r, sigma)
        v = w - slope * rr
        return rr * v if v > 0.0 else 0.0
    # F(s(w); w) = s(w) w gamma / (1 + gamma), as P(s(w)) = w / (1 + gamma) (and s = 0 for
    # w <= 0); below it, F(r; w) with the P(r) the cell pass has already computed.
    below = occupancy_flow(r, w, v_max, jam, crit, slope, law, gamma, wave)
    return below if r < sigma else sigma * w * (gamma / (1.0 + gamma))


@inline_kernel
def supply(w_up: float, v_down: float, sigma_up: float, v_max: float, jam: float, crit: float,
           slope: float, law: int, gamma: float, wave: float) -> float:
    """Supply offered to upstream traffic with marker `w_up` by a downstream state moving at
    `v_down`: S at the Riemann problem's intermediate state (w = w_up, v = v_down)."""
    r_mid = inverse_pressure(w_up - v_down, v_max, jam, crit, slope, law, gamma, wave)
    if law == POWER:
        # F in closed form: P(r_mid) = w_up - v_down, P(s(w_up)) = w_up / (1 + gamma).
        return r_mid * v_down if r_mid > sigma_up else sigma_up * w_up * (gamma / (1.0 + gamma))
    return occupancy_flow(max(r_mid, sigma_up), w_up, v_max, jam, crit, slope, law, gamma,
                          wave)


@inline_kernel
def class_supply(w, v_down, vmax, jam, crit, slope, classp, i):
    """Supply of a cell moving at `v_down` to class-i traffic with marker w (any law; for the
    few boundary faces, where a runtime branch on the law costs nothing)."""
    law = int(classp[K_LAW, i])
    g = classp[K_GAMMA, i]
    cw = classp[K_WAVE, i]
    sigma = critical_occupancy(w, vmax, jam, crit, slope, law, g, cw)
    return supply(w, v_down, sigma, vmax, jam, crit, slope, law, g, cw)


@inline_kernel
def law_pressure(r, vm, jm, classp, i, law):
    """P_i(r) at a cell of free speed vm and jam occupancy jm, the triangle's crit and slope
    (the power law's coefficient) computed on the spot (read-outs and set-up, not the hot
    loops); `law` is class i's, a constant where a loop is specialised on it."""
    cw = classp[K_WAVE, i]
    g = classp[K_GAMMA, i]
    if law == TRIANGULAR:
        dl = classp[K_DROP, i]
        crit = triangle_crit(vm, jm, cw, dl)
        return pressure(r, vm, jm, crit, dl * vm / crit, law, g, cw)
    return pressure(r, vm, jm, 0.0, vm / power(jm, g), law, g, cw)


@inline_kernel
def class_pressure(r, vm, jm, classp, i):
    """`law_pressure` with class i's law looked up."""
    return law_pressure(r, vm, jm, classp, i, int(classp[K_LAW, i]))


@kernel
def pressures(occ, cell_vmax, cell_jam, classp, out):
    """out[i, c] = P_i(occ[c]) of every class at every cell's occupancy."""
    for i in range(out.shape[0]):
        for c in range(out.shape[1]):
            out[i, c] = class_pressure(occ[c], cell_vmax[i, c], cell_jam[i, c], classp, i)
