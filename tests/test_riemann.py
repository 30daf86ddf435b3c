"""Riemann problems: the network kernels against exact solutions, and the exact solutions
(`sim.exact`) against the invariants that define them.

The numerical solutions come from `sim.riemann.simulate` (one open road of 1 km, cars only,
discontinuity at 500 m). Errors are relative L1 errors of the density against exact cell
averages. Measured values (CFL 0.9) are quoted next to each bound.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sim import exact, flux
from sim.params import KMH, SINGLE_CLASS_CAR, TRIANGULAR_CAR, ARZParams, Law
from sim.riemann import simulate

LENGTH = 1000.0
X0 = LENGTH / 2
G1 = SINGLE_CLASS_CAR  # Greenshields: v_max 50 km/h, rho_max 0.15 veh/m, gamma 1, no relaxation
G2 = ARZParams(v_max=50 * KMH, rho_max=0.15, gamma=2.0, tau=None)
VMAX = G1.v_max


def eq(rho: float, params: ARZParams = G1) -> tuple[float, float]:
    """A state on the equilibrium curve (w = v_max)."""
    return rho, float(exact.equilibrium_speed(rho, params))


def with_w(rho: float, w: float, params: ARZParams = G1) -> tuple[float, float]:
    """The state of density rho and marker w."""
    return rho, w - float(exact.pressure(rho, params))


def rel_l1(num: np.ndarray, ref: np.ndarray) -> float:
    return float(np.abs(num - ref).sum() / np.abs(ref).sum())


def lwr_error(rho_l: float, rho_r: float, cells: int, t_end: float) -> tuple[float, np.ndarray,
                                                                               np.ndarray]:
    """Relative L1 error of the simulated LWR Riemann problem (equilibrium states)."""
    x, rho, _ = simulate(*eq(rho_l), *eq(rho_r), length=LENGTH, cells=cells, t_end=t_end,
                         params=G1)
    edges = np.linspace(0.0, LENGTH, cells + 1)
    ref = exact.cell_averages(lambda z: exact.lwr_riemann(rho_l, rho_r, z, t_end, G1, X0), edges)
    return rel_l1(rho, ref), x, rho


def arz_error(left: tuple[float, float], right: tuple[float, float], params: ARZParams,
              cells: int = 1000, t_end: float = 18.0):
    """(relative L1 density error, x, rho, v) of a simulated ARZ Riemann problem."""
    x, rho, v = simulate(*left, *right, length=LENGTH, cells=cells, t_end=t_end, params=params)
    edges = np.linspace(0.0, LENGTH, cells + 1)
    ref = exact.cell_averages(
        lambda z: exact.arz_riemann(*left, *right, z, t_end, params, X0)[0], edges)
    return rel_l1(rho, ref), x, rho, v


def crossing(x: np.ndarray, rho: np.ndarray, level: float, near: float, window: float) -> float:
    """Position, by linear interpolation between cell centres, where rho crosses `level`
    within `window` metres of `near` (the first crossing from the left)."""
    idx = np.flatnonzero(np.abs(x - near) <= window)
    for i in idx[:-1]:
        a, b = rho[i] - level, rho[i + 1] - level
        if a == 0.0:
            return float(x[i])
        if a * b < 0.0:
            return float(x[i] + (x[i + 1] - x[i]) * a / (a - b))
    raise AssertionError(f"density does not cross {level} near x = {near}")


def observed_order(errors: list[float], cells: list[int]) -> float:
    """Least-squares slope of log(error) against log(1 / cells)."""
    return float(-np.polyfit(np.log(cells), np.log(errors), 1)[0])


# =========================================================================== uniform w: LWR
# Rarefactions: Godunov's L1 error on a centred rarefaction is O(h log(1/h)), so the fitted
# order creeps up to 1 under refinement; over 250..2000 cells at t = 18 s it is 0.76..0.79 and
# a weak transonic fan (0.10 -> 0.05 veh/m) gives 0.77 even over 500..4000 cells. The kernels
# agree with a plain numpy Godunov scheme to 1e-15 there, so that is the scheme, not a bug.
RAREFACTION_CELLS = [500, 1000, 2000, 4000]


@pytest.mark.parametrize(("rho_l", "rho_r", "min_order"), [
    # Queue discharge: jam to (almost) empty road, transonic; measured order 0.834.
    (0.15, 0.0001, 0.8),
    # Free-flow acceleration, fan entirely moving downstream; measured order 0.823.
    (0.06, 0.01, 0.8),
])
def test_lwr_rarefaction_converges(rho_l: float, rho_r: float, min_order: float) -> None:
    t_end = 30.0  # fan within [-v_max, v_max] * 30 s = +-417 m
    errors = [lwr_error(rho_l, rho_r, n, t_end)[0] for n in RAREFACTION_CELLS]
    assert all(b < a for a, b in itertools.pairwise(errors)), errors
    assert observed_order(errors, RAREFACTION_CELLS) >= min_order, errors
    # Measured 0.31 % and 0.24 % at 1,000 cells.
    assert errors[1] <= 0.02


@pytest.mark.parametrize(("rho_l", "rho_r"), [
    (0.03, 0.10),  # moving shock, s = v_max (1 - 0.13 / 0.15) = 1.85 m/s
    (0.04, 0.11),  # stationary shock (rho_l + rho_r = rho_max)
    (0.05, 0.13),  # backward shock, s = v_max (1 - 0.18 / 0.15) = -2.78 m/s
])
def test_lwr_shock(rho_l: float, rho_r: float) -> None:
    t_end = 30.0
    err, x, rho = lwr_error(rho_l, rho_r, 1000, t_end)
    # Godunov keeps an isolated LWR shock within two cells: measured <= 1.3e-5, and the
    # mid-value crossing within 0.08 m of the exact position (cells are 1 m).
    assert err <= 0.02
    s = exact.lwr_shock_speed(rho_l, rho_r, G1)
    assert s == pytest.approx(VMAX * (1 - (rho_l + rho_r) / G1.rho_max), abs=1e-12)
    x_exact = X0 + s * t_end
    x_num = crossing(x, rho, 0.5 * (rho_l + rho_r), x_exact, 50.0)
    dx = LENGTH / 1000
    assert abs(x_num - x_exact) <= 2 * dx, (x_num, x_exact)
    if rho_l + rho_r == pytest.approx(G1.rho_max):
        assert abs(x_num - X0) <= 0.5 * dx


# =========================================================================== ARZ
# 1-shock + contact: w_L = v_max, v_R = 2 m/s; p(rho_M) = w_L - v_R gives rho_M = 0.1284.
SHOCK_CONTACT = (eq(0.03), (0.05, 2.0))
# 1-rarefaction + contact: w_L = 13.46 m/s, v_R = 6 m/s; rho_M = 0.0806; M spans -1.46 t .. 6 t.
RARE_CONTACT = (with_w(0.14, 0.5 + float(exact.pressure(0.14, G1))), (0.03, 6.0))
# A second rarefaction case with the left state off equilibrium and a near-free right state.
RARE_CONTACT_2 = ((0.12, 1.0), (0.02, 9.0))


@pytest.mark.parametrize(("left", "right", "shock", "v_tol", "rho_tol"), [
    # Density error measured 1.04 % at 1,000 cells (the slow contact smears); in the middle
    # half of M, v is exact to 1e-14 and rho within 0.14 %.
    (*SHOCK_CONTACT, True, 1e-9, 5e-3),
    # Measured 0.56 %; in the middle half of M, v within 3e-6 and rho within 0.1 %.
    (*RARE_CONTACT, False, 1e-4, 5e-3),
    # Measured 0.40 %; M is only 56 m wide and the smeared fan reaches its middle half:
    # v within 0.46 %, rho within 4.1 %.
    (*RARE_CONTACT_2, False, 1e-2, 0.06),
])
def test_arz_riemann_gamma1(left, right, shock: bool, v_tol: float, rho_tol: float) -> None:
    t_end = 18.0
    waves = exact.arz_waves(*left, *right, G1)
    assert waves.shock == shock and not waves.vacuum
    err, x, rho, v = arz_error(left, right, G1, 1000, t_end)
    assert err <= 0.02, err
    # Intermediate state: the speed is v_R (in the middle half of the exact M region).
    lo, hi = X0 + waves.wave1_hi * t_end, X0 + waves.contact * t_end
    mid = (x > lo + 0.25 * (hi - lo)) & (x < hi - 0.25 * (hi - lo))
    assert mid.sum() >= 10
    np.testing.assert_allclose(v[mid], right[1], rtol=v_tol)
    np.testing.assert_allclose(rho[mid], waves.rho_m, rtol=rho_tol)
    if shock:
        s = waves.wave1_lo
        x_num = crossing(x, rho, 0.5 * (left[0] + waves.rho_m), X0 + s * t_end, 30.0)
        assert abs(x_num - (X0 + s * t_end)) <= 2 * LENGTH / 1000


def test_arz_errors_decrease_under_refinement() -> None:
    errors = [arz_error(*SHOCK_CONTACT, G1, n)[0] for n in (250, 500, 1000, 2000)]
    # Measured 2.63 %, 1.63 %, 1.04 %, 0.68 %: order ~0.6, the contact at 2 m/s being
    # transported with a Courant number of 0.13 (first-order smearing ~ sqrt(h)).
    assert all(b < 0.8 * a for a, b in itertools.pairwise(errors)), errors


# gamma = 2. The kernels transport w advectively and mix by volume, which keeps v exact at a
# contact only when p is linear in rho (gamma = 1). With gamma = 2 the smeared contact
# perturbs v, and the 1-waves it emits shift the whole intermediate state: at 1,000 cells
# v_M = 2.053 instead of 2.000 m/s (+2.6 %, median over the middle half of M), rho_M = 0.13846
# instead of 0.13878, and the bias decays only like h^0.5 (+2.6 %, +1.8 %, +1.3 % at
# 1,000 / 2,000 / 4,000 cells).
G2_SHOCK_CONTACT = (eq(0.03, G2), (0.05, 2.0))
G2_RARE_CONTACT = ((0.12, 1.0), (0.02, 9.0))


@pytest.mark.parametrize(("left", "right", "bound"), [
    (*G2_SHOCK_CONTACT, 0.025),  # measured 2.02 % at 1,000 cells, t = 18 s (1.66 % at 9 s)
    (*G2_RARE_CONTACT, 0.01),    # measured 0.49 %
])
def test_arz_riemann_gamma2(left, right, bound: float) -> None:
    err, _, rho, v = arz_error(left, right, G2, 1000, 18.0)
    assert np.all(np.isfinite(rho)) and np.all(np.isfinite(v))
    assert err <= bound, err


def _g2_intermediate_speed(cells: int) -> float:
    t_end = 18.0
    waves = exact.arz_waves(*G2_SHOCK_CONTACT[0], *G2_SHOCK_CONTACT[1], G2)
    _, x, _, v = arz_error(*G2_SHOCK_CONTACT, G2, cells, t_end)
    lo, hi = X0 + waves.wave1_hi * t_end, X0 + waves.contact * t_end
    mid = (x > lo + 0.25 * (hi - lo)) & (x < hi - 0.25 * (hi - lo))
    return float(np.median(v[mid]))


def test_arz_gamma2_intermediate_speed_bias_shrinks() -> None:
    """The gamma = 2 intermediate-speed bias is there but vanishes under refinement."""
    bias = [abs(_g2_intermediate_speed(n) / 2.0 - 1) for n in (1000, 4000)]
    assert bias[0] <= 0.04 and bias[1] <= 0.7 * bias[0], bias


@pytest.mark.xfail(strict=True, reason="gamma != 1: volume mixing of w does not keep v exact "
                   "at contacts; v_M is 2.6 % high at 1,000 cells (see comment above)")
def test_arz_gamma2_intermediate_speed_is_v_r() -> None:
    assert _g2_intermediate_speed(1000) == pytest.approx(2.0, rel=5e-3)


# =========================================================================== vacuum
def test_vacuum() -> None:
    """w_L = v_max / 2 <= v_R = 0.75 v_max: the left traffic cannot follow, a gap opens."""
    left = with_w(0.03, 0.5 * VMAX)
    right = (0.03, 0.75 * VMAX)
    waves = exact.arz_waves(*left, *right, G1)
    assert waves.vacuum and waves.wave1_hi == pytest.approx(0.5 * VMAX)
    t_end = 18.0
    cells = 1000
    err, x, rho, v = arz_error(left, right, G1, cells, t_end)
    assert np.all(np.isfinite(rho)) and np.all(np.isfinite(v))
    assert rho.min() >= 0.0 and v.min() >= 0.0
    # Mass: what was there plus what the source fed minus what the sink took (waves stay
    # inside, so the boundary fluxes are those of the end states).
    dx = LENGTH / cells
    expected = (left[0] + right[0]) * X0 + (left[0] * left[1] - right[0] * right[1]) * t_end
    assert rho.sum() * dx == pytest.approx(expected, rel=1e-12)
    # The gap: exact density 0 between 6.9 t and 10.4 t; numerically it is drained to a
    # first-order-smeared trough (measured min 0.0013 veh/m = 4 % of rho_L at 1,000 cells).
    gap = (x > X0 + waves.wave1_hi * t_end) & (x < X0 + waves.contact * t_end)
    assert gap.any() and rho[gap].min() <= 0.1 * left[0]
    assert err <= 0.02, err  # measured 1.40 %


# =========================================================================== exact solutions
def _states(seed: int, n: int, params: ARZParams) -> list[tuple[float, float, float, float]]:
    """Random admissible pairs of states: 0 < rho <= rho_max, p(rho) <= w <= v_max."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        pair = []
        for _side in range(2):
            rho = float(rng.uniform(0.01, 1.0) * params.rho_max)
            p = float(exact.pressure(rho, params))
            w = float(rng.uniform(p, params.v_max))
            pair += [rho, w - p]
        out.append(tuple(pair))
    return out


CASES = ([(s, G1) for s in _states(1, 40, G1)] + [(s, G2) for s in _states(2, 40, G2)]
         + [(s, TRIANGULAR_CAR) for s in _states(3, 40, TRIANGULAR_CAR)])


@pytest.mark.parametrize(("state", "params"), CASES)
def test_exact_arz_invariants(state, params: ARZParams) -> None:
    rho_l, v_l, rho_r, v_r = state
    w_l = v_l + float(exact.pressure(rho_l, params))
    t = 10.0
    wv = exact.arz_waves(*state, params)
    x = np.linspace(-400.0, 400.0, 80_001)
    rho, v = exact.arz_riemann(*state, x, t, params)
    xi = x / t
    assert np.all(rho >= 0) and np.all(np.isfinite(rho)) and np.all(np.isfinite(v))
    # Far left and right: the initial states.
    assert (rho[0], v[0]) == (rho_l, v_l) and (rho[-1], v[-1]) == (rho_r, v_r)
    # w is constant (= w_L) across the 1-wave, wherever there are vehicles left of the contact.
    left = (xi < wv.contact) & (rho > 0)
    np.testing.assert_allclose(v[left] + exact.pressure(rho[left], params), w_l, rtol=1e-12)
    # v is constant (= v_R) across the contact: on both sides of it.
    right_of_1wave = (xi > wv.wave1_hi) & (rho > 0)
    np.testing.assert_allclose(v[right_of_1wave], v_r, rtol=1e-12)
    # Mass and rho*w are conserved: integral over [-X, X] changes by the boundary fluxes.
    h = x[1] - x[0]
    mass = np.trapezoid(rho, dx=h)
    expected = (rho_l + rho_r) * 400.0 + (rho_l * v_l - rho_r * v_r) * t
    assert mass == pytest.approx(expected, rel=2e-4, abs=1e-4)
    w = np.where(rho > 0, v + exact.pressure(rho, params), 0.0)
    w_r = v_r + float(exact.pressure(rho_r, params))
    momentum = np.trapezoid(rho * w, dx=h)
    expected_w = (rho_l * w_l + rho_r * w_r) * 400.0 + (rho_l * w_l * v_l
                                                         - rho_r * w_r * v_r) * t
    assert momentum == pytest.approx(expected_w, rel=2e-4, abs=1e-3)
    if wv.vacuum:
        return
    assert wv.rho_m == pytest.approx(float(exact.inverse_pressure(w_l - v_r, params)))
    if wv.shock and wv.rho_m != rho_l:
        # Rankine-Hugoniot for both conserved quantities, and Lax's entropy condition.
        s = wv.wave1_lo
        q_l, q_m = rho_l * v_l, wv.rho_m * wv.v_m
        assert s * (wv.rho_m - rho_l) == pytest.approx(q_m - q_l, abs=1e-12)
        assert s * (wv.rho_m - rho_l) * w_l == pytest.approx((q_m - q_l) * w_l, abs=1e-12)
        # (Non-strict for a linearly degenerate jump on the triangle's congested branch,
        # where both characteristic speeds equal s.)
        lam_l = float(exact.lambda1(rho_l, w_l, params))
        lam_m = float(exact.lambda1(wv.rho_m, w_l, params))
        if lam_l == pytest.approx(lam_m, abs=1e-9):
            assert s == pytest.approx(lam_l, abs=1e-9)
        else:
            assert lam_l > s > lam_m
    elif not wv.shock:
        # Rarefaction: self-similar, lambda1(rho(xi)) = xi inside the fan, monotone, and
        # continuous: it meets L at its head and M at its tail.
        fan = (xi > wv.wave1_lo) & (xi < wv.wave1_hi)
        assert np.all(np.diff(rho[fan]) <= 0.0)
        eps = 1e-9
        ends = t * np.array([wv.wave1_lo - eps, wv.wave1_lo + eps, wv.wave1_hi - eps,
                             wv.wave1_hi + eps])
        r_end, v_end = exact.arz_riemann(*state, ends, t, params)
        np.testing.assert_allclose(r_end, [rho_l, rho_l, wv.rho_m, wv.rho_m], rtol=1e-6)
        np.testing.assert_allclose(v_end, [v_l, v_l, v_r, v_r], rtol=1e-6, atol=1e-6)
        # Where lambda1 jumps (the triangle's kink at the critical density, which on w = w_L
        # lies at p = drop v_max) the fan holds the kink density over the jump's speeds.
        smooth = fan
        if params.law == "triangular":
            kink = float(exact.inverse_pressure(params.free_speed_drop * params.v_max, params))
            at_kink = np.abs(rho - kink) <= 1e-9 * kink
            smooth = fan & ~at_kink
            lo = float(exact.lambda1(kink * (1 + 1e-9), w_l, params))
            hi = float(exact.lambda1(kink * (1 - 1e-9), w_l, params))
            assert np.all((xi[fan & at_kink] >= lo - 1e-6) & (xi[fan & at_kink] <= hi + 1e-6))
        np.testing.assert_allclose(exact.lambda1(rho[smooth], w_l, params), xi[smooth],
                                   atol=1e-9)


def test_exact_vacuum_structure() -> None:
    left = with_w(0.03, 0.5 * VMAX)
    right = (0.03, 0.75 * VMAX)
    t = 10.0
    x = np.linspace(-300.0, 300.0, 60_001)
    rho, _ = exact.arz_riemann(*left, *right, x, t, G1)
    xi = x / t
    gap = (xi > 0.5 * VMAX + 1e-9) & (xi < 0.75 * VMAX - 1e-9)
    assert np.all(rho[gap] == 0.0)
    # The rarefaction reaches rho = 0 continuously at xi = w_L (the last car's speed).
    near = np.abs(xi - 0.5 * VMAX) < 0.01
    assert rho[near].max() < 1e-3
    assert np.all(rho[xi > 0.75 * VMAX + 1e-9] == right[0])
    # An empty right state imposes nothing: the left traffic rarefies out to speed w_L.
    rho2, _ = exact.arz_riemann(*eq(0.1), 0.0, 3.0, x, t, G1)
    assert np.all(rho2[xi > VMAX + 1e-9] == 0.0) and rho2[np.abs(xi - 13.0) < 0.01].max() > 0


@pytest.mark.parametrize("params", [G1, G2])
@pytest.mark.parametrize(("rho_l", "rho_r"), [(0.03, 0.10), (0.12, 0.02), (0.15, 0.0),
                                              (0.05, 0.05), (0.0, 0.08)])
def test_lwr_is_arz_with_uniform_w(params: ARZParams, rho_l: float, rho_r: float) -> None:
    """The LWR solver and the ARZ solver agree for states on the equilibrium curve."""
    x = np.linspace(-300.0, 300.0, 6001) + 0.037  # off the grid of wave positions
    t = 12.0
    lwr = exact.lwr_riemann(rho_l, rho_r, x, t, params)
    arz, _ = exact.arz_riemann(*eq(rho_l, params), *eq(rho_r, params), x, t, params)
    np.testing.assert_allclose(lwr, arz, atol=1e-12)


def test_lwr_fan_closed_form() -> None:
    """Greenshields fan: rho(xi) = rho_max (v_max - xi) / (2 v_max); and Q' = xi inside."""
    x = np.linspace(-100.0, 100.0, 401)
    t = 10.0
    rho = exact.lwr_riemann(G1.rho_max, 0.0, x, t, G1)
    np.testing.assert_allclose(rho, G1.rho_max * (VMAX - x / t) / (2 * VMAX), rtol=1e-12)
    np.testing.assert_allclose(exact.lwr_char_speed(rho, G1), x / t, atol=1e-12)
    # Capacity at the critical density: v_max rho_max / 4 for gamma = 1, and Q' = 0 there.
    assert exact.capacity(G1) == pytest.approx(VMAX * G1.rho_max / 4)
    assert float(exact.lwr_char_speed(exact.critical_density(G2), G2)) == pytest.approx(0.0)


@pytest.mark.parametrize("params", [G1, G2])
def test_exact_signal_queue_formulas(params: ARZParams) -> None:
    q = 0.25
    rho = exact.free_flow_density(q, params)
    assert float(exact.lwr_flux(rho, params)) == pytest.approx(q, rel=1e-12)
    assert rho < exact.critical_density(params)
    assert exact.red_queue_tail_speed(q, params) == pytest.approx(-q / (params.rho_max - rho))
    # Counting: Q_max tau_c = q (red + tau_c).
    tau = exact.queue_clearing_time(q, 300.0, params)
    assert exact.capacity(params) * tau == pytest.approx(q * (300.0 + tau))
    if params.gamma == 1.0:
        assert exact.greenshields_clearing_time(q, 300.0, params) == pytest.approx(tau)
    with pytest.raises(ValueError):
        exact.free_flow_density(1.01 * exact.capacity(params), params)


def test_cell_averages_of_a_step() -> None:
    edges = np.linspace(0.0, 4.0, 5)
    avg = exact.cell_averages(lambda z: np.where(z < 1.5, 1.0, 0.0), edges, sub=8)
    np.testing.assert_allclose(avg, [1.0, 0.5, 0.0, 0.0])


# =========================================================================== triangular law
# The default law (docs/model.md): Newell-Daganzo's triangle with a free branch that loses
# 1 % of the free speed at capacity. Closed forms, derived by hand from p (not from the
# kernels): u = 0.99 v_max, rho_c = rho_max c / (c + u), Q_max = u rho_c, backward wave c.
TRI = TRIANGULAR_CAR
C_WAVE = TRI.wave_speed
U_CRIT = (1.0 - TRI.free_speed_drop) * TRI.v_max
RHO_C = TRI.rho_max * C_WAVE / (C_WAVE + U_CRIT)
KERNEL_ARGS = (TRI.v_max, TRI.rho_max, RHO_C, TRI.free_speed_drop * TRI.v_max / RHO_C,
               int(Law.TRIANGULAR), 1.0, C_WAVE)
"""The law's parameters as sim.flux takes them: (V, R, r_c, slope d V / r_c, law, gamma, c)."""


def test_triangular_law_meets_its_calibration_targets() -> None:
    assert exact.critical_density(TRI) == pytest.approx(RHO_C, rel=1e-12)
    cap = exact.capacity(TRI)
    assert cap == pytest.approx(U_CRIT * RHO_C, rel=1e-12)
    # Issue 10's targets for the default car.
    assert 1800.0 <= cap * 3600.0 <= 1950.0  # 1,898 veh/h/lane
    assert 140.0 <= TRI.rho_max * 1000.0 <= 160.0
    assert 15.0 <= C_WAVE / KMH <= 20.0
    # Speed >= 95 % of free speed up to 60 % of capacity (it is >= 99 % up to capacity).
    rho_60 = exact.free_flow_density(0.6 * cap, TRI)
    assert float(exact.equilibrium_speed(rho_60, TRI)) >= 0.95 * TRI.v_max
    # The congested branch is V = c (rho_max / rho - 1): backward wave c everywhere on it.
    rho = np.linspace(RHO_C * 1.001, TRI.rho_max, 50)
    np.testing.assert_allclose(exact.equilibrium_speed(rho, TRI),
                               C_WAVE * (TRI.rho_max / rho - 1.0), rtol=1e-12)
    np.testing.assert_allclose(exact.lwr_char_speed(rho, TRI), -C_WAVE, rtol=1e-12)


def test_triangular_law_is_admissible_for_arz() -> None:
    """p strictly increasing (strict hyperbolicity: lambda1 < lambda2 = v for rho > 0) and
    rho p convex, so F(.; w) = rho (w - p) has one maximum for every w in (0, v_max]."""
    rho = np.linspace(0.0, 1.3 * TRI.rho_max, 20_001)
    p = exact.pressure(rho, TRI)
    assert np.all(np.diff(p) > 0.0)
    assert np.all(np.diff(rho * p, 2) >= -1e-12)
    assert np.all(TRI.pressure_slope(rho[1:]) > 0.0)
    for w in np.linspace(0.01, 1.0, 25) * TRI.v_max:
        f = rho * np.maximum(w - p, 0.0)
        k = int(np.argmax(f))
        assert np.all(np.diff(f[:k + 1]) >= -1e-15) and np.all(np.diff(f[k:]) <= 1e-15)
        # The kernels' closed-form critical occupancy is the argmax found numerically.
        sigma = flux.critical_occupancy(w, *KERNEL_ARGS)
        assert sigma == pytest.approx(exact.critical_density(TRI, w), rel=1e-9)


def test_triangular_kernels_match_the_law() -> None:
    """sim.flux's closed forms (pressure, inverse) against ARZParams.pressure and the exact
    module's bisection."""
    args = KERNEL_ARGS
    for r in np.linspace(0.0, 1.2 * TRI.rho_max, 97):
        assert flux.pressure(r, *args) == pytest.approx(float(TRI.pressure(r)), abs=1e-12)
    for q in np.linspace(0.0, TRI.v_max, 61):
        assert flux.inverse_pressure(q, *args) == pytest.approx(
            float(exact.inverse_pressure(q, TRI)), rel=1e-9, abs=1e-15)


def tri_lwr_error(rho_l: float, rho_r: float, cells: int, t_end: float = 30.0):
    x, rho, _ = simulate(*eq(rho_l, TRI), *eq(rho_r, TRI), length=LENGTH, cells=cells,
                         t_end=t_end, params=TRI)
    edges = np.linspace(0.0, LENGTH, cells + 1)
    ref = exact.cell_averages(lambda z: exact.lwr_riemann(rho_l, rho_r, z, t_end, TRI, X0),
                              edges)
    return rel_l1(rho, ref), x, rho


def test_triangular_shock() -> None:
    """Free flow running into a congested state: a compressive shock, captured within two
    cells (Godunov keeps Lax shocks sharp whatever the resolution)."""
    rho_l, rho_r, t_end = 0.02, 0.10, 30.0
    err, x, rho = tri_lwr_error(rho_l, rho_r, 1000, t_end)
    assert err <= 0.02, err  # measured 1.8e-5
    s = exact.lwr_shock_speed(rho_l, rho_r, TRI)
    q_l = rho_l * (TRI.v_max - TRI.free_speed_drop * TRI.v_max * rho_l / RHO_C)
    q_r = rho_r * C_WAVE * (TRI.rho_max / rho_r - 1.0)
    assert s == pytest.approx((q_r - q_l) / (rho_r - rho_l), rel=1e-12)
    x_num = crossing(x, rho, 0.5 * (rho_l + rho_r), X0 + s * t_end, 50.0)
    assert abs(x_num - (X0 + s * t_end)) <= 2 * LENGTH / 1000


@pytest.mark.parametrize(("rho_l", "rho_r"), [
    (0.12, 0.01),  # congested queue released into light traffic
    (0.15, 0.0),   # jam start: a standing queue released into an empty road
])
def test_triangular_rarefaction_converges(rho_l: float, rho_r: float) -> None:
    """The release of a queue: jam -> capacity state across a jump moving at -c (on the linear
    congested branch, a linearly degenerate wave), then a thin fan on the free branch. A
    first-order monotone scheme smears a linearly degenerate jump over ~sqrt(h t) cells, so
    its L1 error falls like h^(1/2): measured orders 0.48 for both, errors 1.2 % and 1.4 % at
    1,000 cells."""
    cells = [250, 500, 1000, 2000]
    errors = [tri_lwr_error(rho_l, rho_r, n)[0] for n in cells]
    assert all(b < a for a, b in itertools.pairwise(errors)), errors
    assert observed_order(errors, cells) >= 0.4, errors
    assert errors[2] <= 0.03


def test_jam_start_wave_moves_at_the_backward_wave_speed() -> None:
    """A jam (rho_max, v = 0: on the equilibrium, w = v_max) released into an empty road. The
    start wave (jam -> capacity) moves upstream at exactly -c, and the release point passes the
    capacity Q_max. The smeared jump is symmetric about the exact position (linear
    advection of a step), so its mid-value crossing is within 2 cells of x0 - c t."""
    t_end, cells = 30.0, 1000
    x, rho, v = simulate(TRI.rho_max, 0.0, 0.0, 0.0, length=LENGTH, cells=cells, t_end=t_end,
                         params=TRI)
    x_exact = X0 - C_WAVE * t_end
    x_num = crossing(x, rho, 0.5 * (TRI.rho_max + RHO_C), x_exact, 60.0)
    dx = LENGTH / cells
    assert abs(x_num - x_exact) <= 2 * dx, (x_num, x_exact)
    # Between the start wave and the release point the road carries the capacity state.
    between = (x > x_exact + 40.0) & (x < X0 - 10.0)
    np.testing.assert_allclose(rho[between], RHO_C, rtol=5e-3)
    np.testing.assert_allclose(rho[between] * v[between], exact.capacity(TRI), rtol=5e-3)
    # The exact solution has the same structure.
    wv = exact.arz_waves(TRI.rho_max, 0.0, 0.0, 0.0, TRI)
    assert wv.wave1_lo == pytest.approx(-C_WAVE, rel=1e-12)


def _tri_intermediate(cells: int) -> tuple[float, float]:
    """(relative L1 error, median v in the middle half of M) of a 1-shock + contact on the
    triangle: free flow at equilibrium behind slow congested traffic (v_R = 2 m/s)."""
    left, right = eq(0.03, TRI), (0.05, 2.0)
    t_end = 18.0
    waves = exact.arz_waves(*left, *right, TRI)
    assert waves.shock and not waves.vacuum and waves.rho_m > RHO_C
    err, x, _, v = arz_error(left, right, TRI, cells, t_end)
    lo, hi = X0 + waves.wave1_hi * t_end, X0 + waves.contact * t_end
    mid = (x > lo + 0.25 * (hi - lo)) & (x < hi - 0.25 * (hi - lo))
    assert mid.sum() >= 5
    return err, float(np.median(v[mid]))


def test_triangular_shock_and_contact_converge() -> None:
    """As for gamma = 2, p is not linear in rho on the congested branch, so the volume mixing
    of w perturbs v at the smeared contact; the bias and the L1 error vanish like h^(1/2)
    (contact smearing). Measured: v_M 6.4 %, 3.0 %, 1.5 % low and L1 1.6 %, 0.89 %, 0.48 % at
    250 / 1,000 / 4,000 cells."""
    results = [_tri_intermediate(n) for n in (250, 1000, 4000)]
    errors = [e for e, _ in results]
    bias = [abs(v / 2.0 - 1.0) for _, v in results]
    assert errors[1] <= 0.02 and bias[1] <= 0.05, (errors, bias)
    # Each 4x refinement at least 1.5x better (h^(1/2) gives 2x).
    for a, b in itertools.pairwise(errors):
        assert b <= a / 1.5, errors
    for a, b in itertools.pairwise(bias):
        assert b <= a / 1.5, bias


def test_triangular_contact_converges() -> None:
    """A pure contact (equal speeds, different densities, both congested): exactly, v = 1.5
    m/s everywhere. Numerically, mixing w by volume where p is not linear in rho perturbs v at
    the smeared contact and sends a small 1-wave upstream (as for gamma = 2); the mean speed
    error vanishes like h^(1/2). Measured: 1.40 %, 0.73 %, 0.37 % at 250 / 1,000 / 4,000 cells,
    density L1 error <= 0.73 %."""
    left, right = (0.06, 1.5), (0.11, 1.5)
    wv = exact.arz_waves(*left, *right, TRI)
    assert wv.rho_m == pytest.approx(left[0], rel=1e-9) and wv.contact == 1.5
    speed_errors = []
    for cells in (250, 1000, 4000):
        err, _, _, v = arz_error(left, right, TRI, cells, 18.0)
        assert err <= 0.02, err
        speed_errors.append(float(np.abs(v - 1.5).mean() / 1.5))
    assert speed_errors[1] <= 0.01, speed_errors
    for a, b in itertools.pairwise(speed_errors):
        assert b <= a / 1.5, speed_errors
