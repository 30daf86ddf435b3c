"""Traffic-signal timing inside the jitted stepper.

State of signal g lives in column g of a float array `sig_state` with rows
PHASE (index of the phase shown or being switched from), GREEN_TIME (seconds since the phase's
green began), CHANGE_LEFT (seconds of yellow/all-red still to run; 0 when not changing) and NEXT
(phase that follows the change).

Start-up lost time (docs/model.md, "Signals"): the movements of a phase discharge nothing
during the first `lost` seconds of its green (GREEN_TIME < lost), then at the saturation flow
of the model. With the yellow/all-red modelled as red, the effective green of a phase shown
for G seconds is G - lost (HCM: g = G + Y - l1 - l2 with the whole change interval Y lost,
l2 = Y, and l1 = lost).
"""

from __future__ import annotations

from sim.jit import kernel

PHASE, GREEN_TIME, CHANGE_LEFT, NEXT = 0, 1, 2, 3
N_SIGNAL_ROWS = 4


@kernel
def signal_requests(requests, sig_state, sig_yellow, sig_min_green):
    """Start the phase changes asked for: refused during a change and before min green."""
    for g in range(sig_state.shape[1]):
        req = requests[g]
        if req < 0 or sig_state[CHANGE_LEFT, g] > 0.0:
            continue
        if req == int(sig_state[PHASE, g]):
            continue
        if sig_state[GREEN_TIME, g] + 1e-9 < sig_min_green[g]:
            continue
        if sig_yellow[g] > 0.0:
            sig_state[CHANGE_LEFT, g] = sig_yellow[g]
            sig_state[NEXT, g] = req
        else:
            sig_state[PHASE, g] = req
            sig_state[GREEN_TIME, g] = 0.0


@kernel
def signal_advance(seconds, sig_state):
    """Let `seconds` pass. A segment may run past the end of a yellow/all-red (into the new
    phase's start-up lost time, when the greens have not changed yet): the new phase then has
    been shown for the overshoot."""
    for g in range(sig_state.shape[1]):
        left = sig_state[CHANGE_LEFT, g]
        if left > 0.0:
            left -= seconds
            if left <= 1e-9:
                sig_state[CHANGE_LEFT, g] = 0.0
                sig_state[PHASE, g] = sig_state[NEXT, g]
                sig_state[GREEN_TIME, g] = max(-left, 0.0)
            else:
                sig_state[CHANGE_LEFT, g] = left
        else:
            sig_state[GREEN_TIME, g] += seconds


@kernel
def signal_next_event(seg, sig_state, sig_lost):
    """`seg` shortened to the next instant a signal's greens change: the end of the start-up
    lost time that follows a yellow/all-red (the movements are red throughout both, so the
    end of the yellow itself needs no substep boundary), so that greens never change inside a
    segment."""
    for g in range(sig_state.shape[1]):
        left = sig_state[CHANGE_LEFT, g]
        if left > 0.0:
            left += sig_lost[g]
        else:
            left = sig_lost[g] - sig_state[GREEN_TIME, g]
        if 1e-9 < left < seg:
            seg = left
    return seg


@kernel
def signal_greens(sig_state, sig_lost, sig_phase_ptr, phase_mov_ptr, phase_mov, mov_signal,
                  mov_green):
    """1.0 for movements that may flow now: uncontrolled ones, and those of a showing phase
    whose start-up lost time has run."""
    for m in range(mov_signal.shape[0]):
        mov_green[m] = 0.0 if mov_signal[m] >= 0 else 1.0
    for g in range(sig_state.shape[1]):
        if sig_state[CHANGE_LEFT, g] > 0.0:
            continue
        if sig_state[GREEN_TIME, g] + 1e-9 < sig_lost[g]:
            continue
        p = sig_phase_ptr[g] + int(sig_state[PHASE, g])
        for k in range(phase_mov_ptr[p], phase_mov_ptr[p + 1]):
            mov_green[phase_mov[k]] = 1.0
