"""Self-organizing traffic lights (SOTL-platoon), Gershenson (2005), Cools et al. (2008)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from arz_tui.baselines.base import Controller, StopLineZone, signal_approaches

if TYPE_CHECKING:
    from arz_tui.env.traffic_env import TrafficSignalEnv


class SOTL(Controller):
    """Self-organizing traffic lights, the "sotl-platoon" rule of Gershenson (2005),
    "Self-organizing traffic lights", Complex Systems 16(1), 29-53, as evaluated in a realistic
    setting by Cools, Gershenson and D'Hooghe (2008), "Self-organizing traffic lights: a
    realistic simulation", in *Advances in Applied Self-Organizing Systems* (Springer).

    Each red phase p keeps a counter kappa_p of vehicle-seconds: at every decision it adds
    interval x (vehicles approaching or waiting on p's red approaches within `distance_m` of
    the stop line). The counter of a phase is reset when it gets the green. At a decision,
    once the shown phase has had its minimum green (sotl-phase; `min_green_s`, default the
    signal's own), the signal switches to the phase with the largest counter when

    1. that counter has reached the threshold `theta_veh_s` (sotl-request), and no platoon is
       crossing (sotl-platoon): "a few vehicles left to cross" the green, i.e. more than
       `presence_veh` and at most `mu_veh` vehicles within `omega_m` of the stop line and
       no more than `presence_veh` behind them within `distance_m`, are let through rather
       than cut off; a longer platoon or a standing queue, which would hold the green
       forever, is cut; or
    2. the green approaches are empty within `distance_m` while vehicles wait at the red
       (the "empty green" rule of Gershenson and Rosenblueth (2012), "Self-organizing traffic
       lights at multiple-street intersections", Complexity 17(4), 23-39); or
    3. `max_green_s` is set and reached.

    With two phases this is Gershenson's two-direction rule; with more phases the fullest
    counter wins. Densities are continuous here, so "at least one vehicle" becomes "more than
    `presence_veh` vehicles", and "few left" needs the stretch behind them to be empty:
    otherwise a light steady stream looks like a platoon tail forever and starves the cross
    street.

    Parameters (the papers' values are in cells of a cellular automaton or in the units of
    their microsimulation; the defaults here are set for this model and 10-20 s decisions):
        theta_veh_s: switching threshold of kappa, vehicle-seconds (default 200).
        distance_m: counting distance d before the stop line (default 150 m).
        omega_m: platoon-protection distance (default 30 m).
        mu_veh: largest platoon, in vehicles within omega_m, that is protected (default 3).
        presence_veh: vehicles within omega_m that count as "a platoon is crossing"
            (default 0.5).
        min_green_s: minimum green phi_min (default None: the signal's `min_green_s`).
        max_green_s: optional safety cap (default None: none, as in the papers).
    """

    name = "sotl"

    def __init__(self, theta_veh_s: float = 200.0, distance_m: float = 150.0,
                 omega_m: float = 30.0, mu_veh: float = 3.0, presence_veh: float = 0.5,
                 min_green_s: float | None = None, max_green_s: float | None = None) -> None:
        if theta_veh_s < 0 or distance_m <= 0 or omega_m <= 0 or mu_veh < 0:
            raise ValueError("need theta_veh_s >= 0, distance_m > 0, omega_m > 0, mu_veh >= 0")
        self.theta = theta_veh_s
        self.distance_m = distance_m
        self.omega_m = omega_m
        self.mu = mu_veh
        self.presence = presence_veh
        self.min_green_s = min_green_s
        self.max_green_s = max_green_s

    def __repr__(self) -> str:
        return (f"SOTL(theta_veh_s={self.theta}, distance_m={self.distance_m}, "
                f"omega_m={self.omega_m}, mu_veh={self.mu})")

    def reset(self, env: TrafficSignalEnv) -> None:
        super().reset(env)
        net = env.sim.net
        if self.min_green_s is not None:
            self.min_green = np.maximum(self.min_green, self.min_green_s)
        approaches = sorted({k for g in range(len(net.signals))
                             for ph in signal_approaches(net, g) for k in ph})
        self.count_zone = StopLineZone(net, approaches, self.distance_m)
        self.platoon_zone = StopLineZone(net, approaches, self.omega_m)
        row = {k: i for i, k in enumerate(approaches)}
        self.phase_rows = [[np.array([row[k] for k in ph], dtype=np.int64)
                            for ph in signal_approaches(net, g)]
                           for g in range(len(net.signals))]
        self.kappa = [np.zeros(s.n_phases) for s in net.signals]
        self._last_t = env.sim.t

    def choose_phases(self, observation: Any, env: TrafficSignalEnv) -> list[int]:
        sim = env.sim
        shown = sim.signal_phase()
        green = sim.signal_green_time()
        changing = sim.signal_changing()
        elapsed = sim.t - self._last_t
        self._last_t = sim.t
        counted = self.count_zone.vehicles(env)
        near = self.platoon_zone.vehicles(env)
        out = []
        for g, rows in enumerate(self.phase_rows):
            cur = int(shown[g])
            kappa = self.kappa[g]
            served = set(rows[cur].tolist())
            # Accumulate on red phases (approaches also green now are not waiting).
            for p, r in enumerate(rows):
                if p != cur:
                    kappa[p] += elapsed * sum(counted[i] for i in r if i not in served)
            kappa[cur] = 0.0
            if changing[g] or green[g] < self.min_green[g]:
                out.append(cur)
                continue
            best = int(np.argmax(np.where(np.arange(len(kappa)) == cur, -1.0, kappa)))
            capped = self.max_green_s is not None and green[g] >= self.max_green_s
            near_green = float(sum(near[i] for i in rows[cur]))
            coming = float(sum(counted[i] for i in rows[cur]))
            # "A few vehicles left to cross": a platoon's tail near the line, nothing behind.
            protect = (self.presence < near_green <= self.mu
                       and coming - near_green <= self.presence)
            waiting = sum(counted[i] for i in rows[best] if i not in served)
            empty_green = coming <= self.presence and waiting > self.presence
            switch = best != cur and kappa[best] > 0 and (
                capped or empty_green or (kappa[best] >= self.theta and not protect))
            if switch:
                kappa[best] = 0.0
            out.append(best if switch else cur)
        return out
