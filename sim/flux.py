"""Demand/supply (Godunov-type) flux of the two-class ARZ model, kept apart from the stepper.

Every function here is scalar and jitted so the stepper can inline it into its loops. The
notation follows docs/model.md: for class i with marker w, occupancy r (car-equivalents per
metre), jam occupancy R = pce * rho_max * lanes, free speed V and x = r / R,

    P(r)    pressure of the class's law (`law` = sim.params.Law):
            POWER       V x ** gamma
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

Every function takes the law's parameters as (law, gamma, wave, drop); the kernels call them
with `law` (and gamma = 1 or 2) as constants, so each law gets its own branch-free loop.
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
def critical_fraction(v_max: float, wave: float, drop: float) -> float:
    """x_c = r_c / R of the triangular law: where the free branch meets the congested one."""
    return wave / (wave + (1.0 - drop) * v_max)


@inline_kernel
def pressure(r: float, v_max: float, jam: float, law: int, gamma: float, wave: float,
             drop: float) -> float:
    """P(r) of a class whose jam occupancy is `jam`."""
    x = r / jam
    if law == TRIANGULAR:
        xc = critical_fraction(v_max, wave, drop)
        # Both branches unconditionally (the 1/x of an empty cell is inf, and discarded), so
        # the loop stays a select rather than a branch.
        free = drop * v_max * x / xc
        jammed = v_max + wave - wave / x
        return free if x <= xc else jammed
    return v_max * power(x, gamma)


@inline_kernel
def inverse_pressure(p: float, v_max: float, jam: float, law: int, gamma: float,
                     wave: float, drop: float) -> float:
    """The occupancy r >= 0 with P(r) = p (0 for p <= 0)."""
    if p <= 0.0:
        return 0.0
    if law == TRIANGULAR:
        xc = critical_fraction(v_max, wave, drop)
        pc = drop * v_max
        free = xc * p / pc
        jammed = wave / (v_max + wave - p)
        return jam * (free if p <= pc else jammed)
    return jam * root(p / v_max, gamma)


@inline_kernel
def critical_occupancy(w: float, v_max: float, jam: float, law: int, gamma: float,
                       wave: float, drop: float) -> float:
    """Occupancy of maximal F(.; w). Power law: w = P + r P' = (1 + gamma) P. Triangular law:
    the kink x_c, unless w < 2 d V puts the maximum of w x - d V x^2 / x_c on the free branch."""
    if w <= 0.0:
        return 0.0
    if law == TRIANGULAR:
        xc = critical_fraction(v_max, wave, drop)
        return jam * min(xc, w * xc / (2.0 * drop * v_max))
    return jam * root(w / ((1.0 + gamma) * v_max), gamma)


@inline_kernel
def occupancy_flow(r: float, w: float, v_max: float, jam: float, law: int, gamma: float,
                   wave: float, drop: float) -> float:
    """F(r; w) = r * max(w - P(r), 0)."""
    v = w - pressure(r, v_max, jam, law, gamma, wave, drop)
    return r * v if v > 0.0 else 0.0


@inline_kernel
def demand(r: float, w: float, sigma: float, v_max: float, jam: float, law: int, gamma: float,
           wave: float, drop: float) -> float:
    """D(r; w), given sigma = critical_occupancy(w)."""
    return occupancy_flow(min(r, sigma), w, v_max, jam, law, gamma, wave, drop)


@inline_kernel
def supply(w_up: float, v_down: float, sigma_up: float, v_max: float, jam: float, law: int,
           gamma: float, wave: float, drop: float) -> float:
    """Supply offered to upstream traffic with marker `w_up` by a downstream state moving at
    `v_down`: S at the Riemann problem's intermediate state (w = w_up, v = v_down)."""
    r_mid = inverse_pressure(w_up - v_down, v_max, jam, law, gamma, wave, drop)
    return occupancy_flow(max(r_mid, sigma_up), w_up, v_max, jam, law, gamma, wave, drop)


@inline_kernel
def class_supply(w, v_down, vmax, jam, classp, i):
    """Supply of a cell moving at `v_down` to class-i traffic with marker w (any law; for the
    few boundary faces, where a runtime branch on the law costs nothing)."""
    law = int(classp[K_LAW, i])
    g = classp[K_GAMMA, i]
    cw = classp[K_WAVE, i]
    dl = classp[K_DROP, i]
    return supply(w, v_down, critical_occupancy(w, vmax, jam, law, g, cw, dl), vmax, jam, law,
                  g, cw, dl)


@kernel
def pressures(occ, cell_vmax, cell_jam, classp, out):
    """out[i, c] = P_i(occ[c]) of every class at every cell's occupancy (read-outs and set-up,
    not the hot loop)."""
    for i in range(out.shape[0]):
        law = int(classp[K_LAW, i])
        g = classp[K_GAMMA, i]
        cw = classp[K_WAVE, i]
        dl = classp[K_DROP, i]
        for c in range(out.shape[1]):
            out[i, c] = pressure(occ[c], cell_vmax[i, c], cell_jam[i, c], law, g, cw, dl)
