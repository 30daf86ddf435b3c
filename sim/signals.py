"""Traffic-signal timing inside the jitted stepper.

State of signal g lives in column g of a float array `sig_state` with rows
PHASE (index of the phase shown or being switched from), GREEN_TIME (seconds since the phase's
green began), CHANGE_LEFT (seconds of yellow/all-red still to run; 0 when not changing) and NEXT
(phase that follows the change).

Start-up lost time (docs/model.md, "Signals"): the movements of a phase discharge nothing
during the first `lost` seconds of its green (GREEN_TIME < lost), then at the saturation flow
of the model; the substep in which the lost time ends gives them the green share of the
substep that follows its end. With the yellow/all-red modelled as red, the effective green of
a phase shown for G seconds is G - lost (HCM: g = G + Y - l1 - l2 with the whole change
interval Y lost, l2 = Y, and l1 = lost).
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
    """Let `seconds` pass. An interval may run past the end of a yellow/all-red: the new
    phase then has been shown for the overshoot."""
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
def signal_onsets(sig_state, sig_lost, onset, shown):
    """For every signal, the phase whose movements discharge next (`shown`) and when they
    start to, in seconds from now (`onset`; <= 0: already): after the running yellow/all-red
    (if any) and the start-up lost time that follows it."""
    for g in range(sig_state.shape[1]):
        left = sig_state[CHANGE_LEFT, g]
        if left > 0.0:
            onset[g] = left + sig_lost[g]
            shown[g] = int(sig_state[NEXT, g])
        else:
            onset[g] = sig_lost[g] - sig_state[GREEN_TIME, g]
            shown[g] = int(sig_state[PHASE, g])


@kernel
def signal_greens(t0, dt, onset, shown, sig_phase_ptr, phase_mov_ptr, phase_mov, mov_signal,
                  mov_green):
    """Green share of every movement over the substep [t0, t0 + dt] (seconds from the
    segment's start): 1 for uncontrolled movements; for those of a signal's `shown` phase the
    fraction of the substep after its onset, 0 for the others. A fractional share in the
    substep where a start-up lost time ends makes the discharge start at exactly the right
    instant without a substep boundary there."""
    for m in range(mov_signal.shape[0]):
        mov_green[m] = 0.0 if mov_signal[m] >= 0 else 1.0
    for g in range(onset.shape[0]):
        share = min(max((t0 + dt - onset[g]) / dt, 0.0), 1.0)
        if share <= 0.0:
            continue
        p = sig_phase_ptr[g] + shown[g]
        for k in range(phase_mov_ptr[p], phase_mov_ptr[p + 1]):
            mov_green[phase_mov[k]] = share
