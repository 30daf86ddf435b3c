"""Fully actuated control: minimum/maximum green, gap-out on the detection zones."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from arz_tui.baselines.base import Controller, StopLineZone, signal_approaches

if TYPE_CHECKING:
    from arz_tui.env.traffic_env import TrafficSignalEnv


class Actuated(Controller):
    """Fully actuated, gap-seeking control with stop-line detection (basic actuated operation
    as described in the FHWA *Traffic Signal Timing Manual*: "extend while vehicles keep
    arriving, give up the green at the first gap, never beyond maximum green").

    Every approach has a detection zone covering the last `detector_m` metres before its stop
    line, read from the cells (a macroscopic stand-in for presence loops). At each decision,
    per signal:

    - before the shown phase's minimum green (or during a yellow) nothing changes;
    - a phase other than the shown one *calls* when its approaches' zones hold at least
      `call_veh` vehicles (queued or arriving); with no call the green rests where it is;
    - the shown green is *extended* while traffic still crosses its zones densely: the flow
      through some green approach's zone is at least one vehicle per `passage_time_s` and
      lane (a released queue discharges at saturation flow; the green gaps out once the
      queue has cleared and arrivals thin out);
    - otherwise (gap-out), or when extending by one more interval would pass `max_green_s`
      (max-out), the next called phase in cyclic order gets the green.

    Parameters:
        detector_m: length of the detection zone before the stop line (default 60 m).
        passage_time_s: the unit extension: largest headway (s per vehicle and lane) that
            still extends the green (default 3 s, i.e. extend above 1,200 veh/h per lane).
        call_veh: vehicles in a red phase's zones that place a call (default 1).
        min_green_s, max_green_s: override the signal's own values (default None: the
            scenario's `min_green_s` and `max_green_s`).

    The env decides every `interval` seconds, so extensions come in whole intervals.
    """

    name = "actuated"

    def __init__(self, detector_m: float = 60.0, passage_time_s: float = 3.0,
                 call_veh: float = 1.0, min_green_s: float | None = None,
                 max_green_s: float | None = None) -> None:
        if detector_m <= 0 or passage_time_s <= 0 or call_veh < 0:
            raise ValueError("need detector_m > 0, passage_time_s > 0 and call_veh >= 0")
        self.detector_m = detector_m
        self.passage_time_s = passage_time_s
        self.call_veh = call_veh
        self.min_green_s = min_green_s
        self.max_green_s = max_green_s

    def __repr__(self) -> str:
        return (f"Actuated(detector_m={self.detector_m}, passage_time_s={self.passage_time_s}, "
                f"call_veh={self.call_veh})")

    def reset(self, env: TrafficSignalEnv) -> None:
        super().reset(env)
        net = env.sim.net
        if self.min_green_s is not None:
            self.min_green = np.maximum(self.min_green, self.min_green_s)
        self.max_green = np.array([s.max_green_s if self.max_green_s is None
                                   else self.max_green_s for s in net.signals])
        approaches = sorted({k for g in range(len(net.signals))
                             for ph in signal_approaches(net, g) for k in ph})
        self.zone = StopLineZone(net, approaches, self.detector_m)
        row = {k: i for i, k in enumerate(approaches)}
        self.phase_rows = [[np.array([row[k] for k in ph], dtype=np.int64)
                            for ph in signal_approaches(net, g)]
                           for g in range(len(net.signals))]

    def choose_phases(self, observation: Any, env: TrafficSignalEnv) -> list[int]:
        sim = env.sim
        shown = sim.signal_phase()
        green = sim.signal_green_time()
        changing = sim.signal_changing()
        vehicles = self.zone.vehicles(env)
        flow = self.zone.flow_per_lane(env)
        extend_flow = 1.0 / self.passage_time_s
        out = []
        for g, rows in enumerate(self.phase_rows):
            cur = int(shown[g])
            if changing[g] or green[g] < self.min_green[g]:
                out.append(cur)
                continue
            served = set(rows[cur].tolist())
            n = len(rows)
            called = [p for p in ((cur + j) % n for j in range(1, n))
                      if any(vehicles[r] >= self.call_veh for r in rows[p] if r not in served)]
            if not called:
                out.append(cur)
                continue
            max_out = green[g] + self.interval > self.max_green[g] + 1e-9
            gap_out = not any(flow[r] >= extend_flow for r in rows[cur])
            out.append(called[0] if max_out or gap_out else cur)
        return out
