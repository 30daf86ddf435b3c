"""Vehicle-class parameters of the two-class ARZ model (SI units inside the simulator)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

KMH = 1.0 / 3.6
"""m/s in one km/h."""


class ARZParams(BaseModel):
    """Parameters of one vehicle class in the ARZ model.

    Pressure p(rho) = v_max * (rho / rho_max) ** gamma; equilibrium speed V = v_max - p.
    In the two-class model the class's pressure is evaluated at the mixture's occupancy
    (car-equivalent density) r = sum_j pce_j * rho_j, scaled so that a pure stream of this class
    sees exactly the single-class law above (see docs/model.md).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    v_max: float = Field(gt=0, le=100, description="Free-flow speed, m/s.")
    rho_max: float = Field(
        gt=0, le=5, description="Jam density of a pure stream of this class, veh/m per lane."
    )
    gamma: float = Field(
        default=1.0, ge=1.0, le=5.0,
        description="Pressure exponent; 1 gives the Greenshields equilibrium diagram.",
    )
    tau: float | None = Field(
        default=None, gt=0,
        description="Relaxation time to the equilibrium speed, s; None switches relaxation off.",
    )
    pce: float = Field(
        default=1.0, gt=0, le=1.0,
        description="Space a vehicle occupies relative to a car (passenger-car equivalent).",
    )

    @field_validator("gamma")
    @classmethod
    def _finite(cls, g: float) -> float:
        if g != g:  # NaN
            raise ValueError("gamma must be a number")
        return g

    @property
    def jam_occupancy(self) -> float:
        """Occupancy (car-equivalents per metre and lane) at which this class stops."""
        return self.pce * self.rho_max


CAR = ARZParams(v_max=50 * KMH, rho_max=0.15, gamma=1.0, tau=10.0, pce=1.0)
"""Default car class: 50 km/h, 150 veh/km/lane at jam (6.7 m spacing), Greenshields-like."""

MOTORCYCLE = ARZParams(v_max=60 * KMH, rho_max=0.675, gamma=1.0, tau=5.0, pce=0.3)
"""Default motorcycle class: faster, a third of a car's space, and a jam occupancy 1.35 times a
car's, so that motorcycles keep creeping through a car jam (docs/model.md gives the sources)."""

SINGLE_CLASS_CAR = ARZParams(v_max=50 * KMH, rho_max=0.15, gamma=1.0, tau=None, pce=1.0)
"""Car parameters with gamma = 1 and no relaxation: the default of `sim.riemann.simulate`."""
