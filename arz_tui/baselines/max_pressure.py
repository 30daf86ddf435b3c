"""Max-pressure (back-pressure) control, Varaiya (2013)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from arz_tui.baselines.base import (
    Controller,
    design_link_flows,
    link_pcu,
    link_pcu_storage,
    saturation_flow,
)

if TYPE_CHECKING:
    from arz_tui.env.traffic_env import TrafficSignalEnv


class MaxPressure(Controller):
    """Max-pressure control (Varaiya 2013, "Max pressure control of a network of signalized
    intersections", Transportation Research C 36, 177-195; the same rule as Tassiulas and
    Ephremides' back-pressure scheduling).

    At every decision each signal shows the phase p maximising its pressure

        P(p) = sum over movements m = (k -> j) of p:  beta_m * s_k * (x_k - x_j)

    where x is the state of a link, beta_m the movement's turning ratio and s_k the saturation
    flow of the upstream link (pcu/s, `base.saturation_flow` at the link's design vehicle mix),
    so beta_m s_k is the movement's saturation flow. A phase that releases long upstream
    queues into empty links scores high; one that sends traffic into a congested link scores
    low. The rule needs no demand forecast and, in Varaiya's store-and-forward model,
    stabilises every demand that any controller can.

    Parameters:
        state: what x measures, normalised by the link's storage at car jam (pcu) so that
            links of different lengths and lane counts compare:
            "density" (default): passenger-car equivalents on the link (its load);
            "queue": queued vehicles (cells slower than the scenario's queue speed), as
            in Varaiya's queue-based formulation.
        hold_margin: hysteresis: the shown phase is kept unless another phase's pressure
            exceeds it by more than this fraction of the largest |pressure| (default 0, the
            pure rule; the all-red yellow of each change is its only switching cost).

    The shown phase is kept before its minimum green and during a yellow (`Controller.guard`);
    ties keep it.
    """

    name = "max-pressure"

    def __init__(self, state: Literal["density", "queue"] = "density",
                 hold_margin: float = 0.0) -> None:
        if state not in ("density", "queue"):
            raise ValueError(f"state must be 'density' or 'queue', got {state!r}")
        if hold_margin < 0:
            raise ValueError(f"hold_margin must be >= 0, got {hold_margin}")
        self.state = state
        self.hold_margin = hold_margin

    def __repr__(self) -> str:
        return f"MaxPressure(state={self.state!r}, hold_margin={self.hold_margin})"

    def reset(self, env: TrafficSignalEnv) -> None:
        super().reset(env)
        net = env.sim.net
        flows, _ = design_link_flows(env)
        mix = flows.mean(axis=2)
        self.storage = link_pcu_storage(net)
        self.weights: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = []
        cap: dict[int, float] = {}
        for info in net.signals:
            phases = []
            for movements in info.phase_movements:
                mov = np.array(movements, dtype=np.int64)
                ups = net.mov_from[mov]
                for k in ups:
                    if int(k) not in cap:
                        shares = mix[:, k] if mix[:, k].sum() > 0 else np.ones(mix.shape[0])
                        cap[int(k)] = saturation_flow(net, int(k), shares)[1]
                sat = np.array([cap[int(k)] for k in ups])
                # Turning ratios are the same for both classes in scenario files; use the
                # pcu-weighted mean in case a network sets them per class.
                beta = (net.pce[:, None] * net.mov_beta[:, mov]).sum(axis=0) / net.pce.sum()
                phases.append((ups, net.mov_to[mov], beta * sat))
            self.weights.append(phases)

    def link_state(self, env: TrafficSignalEnv) -> np.ndarray:
        """x per link: load (pcu / storage) or queue (vehicles / storage)."""
        if self.state == "queue":
            return env.link_queue_veh / self.storage
        return link_pcu(env) / self.storage

    def pressures(self, env: TrafficSignalEnv) -> list[np.ndarray]:
        """Pressure of every phase, per signal."""
        x = self.link_state(env)
        return [np.array([float((w * (x[up] - x[down])).sum()) for up, down, w in phases])
                for phases in self.weights]

    def choose_phases(self, observation: Any, env: TrafficSignalEnv) -> list[int]:
        shown = env.sim.signal_phase()
        out = []
        for g, pressure in enumerate(self.pressures(env)):
            cur = int(shown[g])
            best = int(np.argmax(pressure))
            margin = self.hold_margin * float(np.abs(pressure).max())
            out.append(best if pressure[best] > pressure[cur] + margin else cur)
        return out
