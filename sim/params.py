"""Vehicle-class parameters of the two-class ARZ model (SI units inside the simulator)."""

from __future__ import annotations

from enum import IntEnum
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

KMH = 1.0 / 3.6
"""m/s in one km/h."""


class Law(IntEnum):
    """Pressure laws, as the codes the kernels dispatch on (row K_LAW of `Network.classp`)."""

    POWER = 0
    """p = v_max (rho / rho_max) ** gamma: Greenshields-like equilibrium for gamma = 1."""
    TRIANGULAR = 1
    """Newell-Daganzo triangle with a slightly sloped free branch (docs/model.md, section 1)."""


LawName = Literal["triangular", "power"]
LAW_CODES: dict[str, Law] = {"power": Law.POWER, "triangular": Law.TRIANGULAR}


def default_law(data: Any) -> Any:
    """Fill in `law` where a parameter set leaves it out: the power law when it gives `gamma`
    (the only parameter of that law, so files written before the triangular law existed keep
    their physics), the triangular law otherwise."""
    if isinstance(data, dict) and data.get("law") is None:
        data = {**data, "law": "power" if data.get("gamma") is not None else "triangular"}
    return data


class ARZParams(BaseModel):
    """Parameters of one vehicle class in the ARZ model.

    Equilibrium speed V = v_max - p(rho), p the pressure of the chosen law (docs/model.md):

    - ``power``: p(rho) = v_max (rho / rho_max) ** gamma;
    - ``triangular``: with u = (1 - drop) v_max, c = wave_speed and the critical density
      rho_c = rho_max c / (c + u),
      p(rho) = drop v_max rho / rho_c                    for rho <= rho_c (free branch)
      p(rho) = v_max + c - c rho_max / rho               for rho >= rho_c (congested branch),
      i.e. V = min(v_max - drop v_max rho / rho_c, c (rho_max / rho - 1)): Newell-Daganzo's
      triangle, capacity u rho_c, backward wave c, with a free branch that loses `drop` of the
      free speed at capacity so that p stays strictly increasing (strict hyperbolicity).

    In the two-class model the class's pressure is evaluated at the mixture's occupancy
    (car-equivalent density) r = sum_j pce_j * rho_j, scaled so that a pure stream of this class
    sees exactly the single-class law above (see docs/model.md).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    v_max: float = Field(gt=0, le=100, description="Free-flow speed, m/s.")
    rho_max: float = Field(
        gt=0, le=5, description="Jam density of a pure stream of this class, veh/m per lane."
    )
    law: LawName = Field(default="triangular", description="Pressure law: 'triangular' "
                         "(Newell-Daganzo) or 'power'. Left out: 'power' if gamma is given.")
    gamma: float = Field(
        default=1.0, ge=1.0, le=5.0,
        description="Power law: pressure exponent; 1 gives the Greenshields equilibrium diagram.",
    )
    wave_speed: float = Field(
        default=17 * KMH, gt=0, le=30,
        description="Triangular law: backward (jam) wave speed of the congested branch, m/s.",
    )
    free_speed_drop: float = Field(
        default=0.01, gt=0, le=0.2,
        description="Triangular law: fraction of the free speed lost at capacity.",
    )
    tau: float | None = Field(
        default=None, gt=0,
        description="Relaxation time to the equilibrium speed, s; None switches relaxation off.",
    )
    pce: float = Field(
        default=1.0, gt=0, le=1.0,
        description="Space a vehicle occupies relative to a car (passenger-car equivalent).",
    )

    _fill_law = model_validator(mode="before")(classmethod(lambda cls, data: default_law(data)))

    @field_validator("gamma", "wave_speed", "free_speed_drop")
    @classmethod
    def _finite(cls, g: float) -> float:
        if g != g:  # NaN
            raise ValueError("must be a number")
        return g

    @property
    def law_code(self) -> Law:
        return LAW_CODES[self.law]

    @property
    def jam_occupancy(self) -> float:
        """Occupancy (car-equivalents per metre and lane) at which this class stops."""
        return self.pce * self.rho_max

    # ------------------------------------------------------------------ the law, vectorised
    def critical_fraction(self, v_max: float | None = None) -> float:
        """rho_c / rho_max of the triangular law (for free speed `v_max`, default the class's)."""
        u = (1.0 - self.free_speed_drop) * (self.v_max if v_max is None else v_max)
        return self.wave_speed / (self.wave_speed + u)

    def pressure(self, rho: ArrayLike) -> NDArray[np.float64]:
        """p(rho), m/s, of a pure stream of this class at density rho (veh/m per lane; numpy
        arrays in and out). Beyond rho_max the formula continues (p > v_max: stopped)."""
        r = np.asarray(rho, dtype=np.float64) / self.rho_max
        if self.law == "power":
            return self.v_max * np.maximum(r, 0.0) ** self.gamma
        xc = self.critical_fraction()
        drop = self.free_speed_drop * self.v_max
        with np.errstate(divide="ignore"):
            jammed = self.v_max + self.wave_speed - self.wave_speed / r
        return np.where(r <= xc, drop * np.maximum(r, 0.0) / xc, jammed)

    def pressure_slope(self, rho: ArrayLike) -> NDArray[np.float64]:
        """dp/drho, (m/s) / (veh/m); at the triangular law's kink, the congested side's."""
        r = np.asarray(rho, dtype=np.float64) / self.rho_max
        if self.law == "power":
            return self.gamma * self.v_max * np.maximum(r, 0.0) ** (self.gamma - 1) / self.rho_max
        xc = self.critical_fraction()
        with np.errstate(divide="ignore"):
            jammed = self.wave_speed / (r * r)
        return np.where(r < xc, self.free_speed_drop * self.v_max / xc, jammed) / self.rho_max

    def equilibrium_speed(self, rho: ArrayLike) -> NDArray[np.float64]:
        """V(rho) = max(v_max - p(rho), 0), m/s."""
        return np.maximum(self.v_max - self.pressure(rho), 0.0)

    def max_wave_speed(self, w_min: float | None = None) -> float:
        """Bound on |characteristic speeds| for states whose marker is at least `w_min`
        (default v_max, the equilibrium): the CFL step's speed. The 2-contact moves at v <=
        v_max; the 1-wave at lambda_1 = w - (rho p)'(rho) >= -rho p'(rho) (as v = w - p >= 0):
        power law: >= -gamma v_max; triangular: >= w_min - v_max - c on the congested branch
        (rho p linear with slope v_max + c), >= -2 drop v_max on the free one."""
        if self.law == "power":
            return max(1.0, self.gamma) * self.v_max
        w = self.v_max if w_min is None else min(w_min, self.v_max)
        return max(self.v_max, self.v_max + self.wave_speed - w,
                   2.0 * self.free_speed_drop * self.v_max)


CAR = ARZParams(v_max=50 * KMH, rho_max=0.15, law="triangular", wave_speed=17 * KMH,
                free_speed_drop=0.01, tau=10.0, pce=1.0)
"""Default car class: 50 km/h, 150 veh/km/lane at jam (6.7 m spacing), triangular diagram with
a 17 km/h backward wave: capacity 1,898 veh/h/lane at 38.3 veh/km/lane (docs/model.md)."""

MOTORCYCLE = ARZParams(v_max=60 * KMH, rho_max=0.675, law="triangular", wave_speed=11 * KMH,
                       free_speed_drop=0.01, tau=5.0, pce=0.3)
"""Default motorcycle class: faster, 0.3 of a car's space, a jam occupancy 1.35 times a car's
(so motorcycles keep creeping, ~4 km/h, through a car jam) and an 11 km/h backward wave, which
gives a pure motorcycle stream the car's capacity in car-equivalents: a sustained mixed stream
then discharges with an effective pce of 0.30-0.31, mid-range of published saturation-flow
values (docs/model.md gives the calibration and sources)."""

SINGLE_CLASS_CAR = ARZParams(v_max=50 * KMH, rho_max=0.15, gamma=1.0, tau=None, pce=1.0)
"""Car parameters with the power law, gamma = 1 and no relaxation: the default of
`sim.riemann.simulate` and of the existing Riemann benchmarks."""

TRIANGULAR_CAR = ARZParams(v_max=50 * KMH, rho_max=0.15, law="triangular",
                           wave_speed=17 * KMH, free_speed_drop=0.01, tau=None, pce=1.0)
"""The default car's triangular law without relaxation: Riemann problems on the default law."""
