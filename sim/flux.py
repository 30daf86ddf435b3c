"""Demand/supply (Godunov-type) flux of the two-class ARZ model, kept apart from the stepper.

Every function here is scalar and jitted so the stepper can inline it into its loops. The
notation follows docs/model.md: for class i with marker w, occupancy r (car-equivalents per
metre), jam occupancy R = pce * rho_max * lanes and free speed V,

    P(r)    = V * (r / R) ** gamma                       pressure
    F(r; w) = r * max(w - P(r), 0)                       occupancy flow at class-i speed
    s(w)    = R * (w / ((1 + gamma) V)) ** (1 / gamma)   critical occupancy, argmax of F(.; w)
    D(r; w) = F(min(r, s(w)); w)                         demand (sending function)
    S(r; w) = F(max(r, s(w)); w)                         supply (receiving function)

For one class this is the exact Godunov flux of ARZ (Lebacque, Mammar and Haj-Salem 2007): the
intermediate state of the Riemann problem has the upstream marker and the downstream speed.
"""

from __future__ import annotations

import math

from sim.jit import inline_kernel


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
def pressure(r: float, v_max: float, jam: float, gamma: float) -> float:
    """P(r) of a class whose jam occupancy is `jam`."""
    return v_max * power(r / jam, gamma)


@inline_kernel
def inverse_pressure(p: float, v_max: float, jam: float, gamma: float) -> float:
    """The occupancy r >= 0 with P(r) = p (0 for p <= 0)."""
    if p <= 0.0:
        return 0.0
    return jam * root(p / v_max, gamma)


@inline_kernel
def critical_occupancy(w: float, v_max: float, jam: float, gamma: float) -> float:
    """Occupancy of maximal F(.; w): solves w = P(r) + r P'(r) = (1 + gamma) P(r)."""
    if w <= 0.0:
        return 0.0
    return jam * root(w / ((1.0 + gamma) * v_max), gamma)


@inline_kernel
def occupancy_flow(r: float, w: float, v_max: float, jam: float, gamma: float) -> float:
    """F(r; w) = r * max(w - P(r), 0)."""
    v = w - pressure(r, v_max, jam, gamma)
    return r * v if v > 0.0 else 0.0


@inline_kernel
def demand(r: float, w: float, sigma: float, v_max: float, jam: float, gamma: float) -> float:
    """D(r; w), given sigma = critical_occupancy(w)."""
    return occupancy_flow(min(r, sigma), w, v_max, jam, gamma)


@inline_kernel
def supply(
    w_up: float, v_down: float, sigma_up: float, v_max: float, jam: float, gamma: float
) -> float:
    """Supply offered to upstream traffic with marker `w_up` by a downstream state moving at
    `v_down`: S at the Riemann problem's intermediate state (w = w_up, v = v_down)."""
    r_mid = inverse_pressure(w_up - v_down, v_max, jam, gamma)
    return occupancy_flow(max(r_mid, sigma_up), w_up, v_max, jam, gamma)
