"""arz-tui: RL traffic-signal control on a fast ARZ simulator.

`import arz_tui` registers the Gymnasium env `arz_tui/TrafficSignal-v0`, so that
`gym.make("arz_tui:arz_tui/TrafficSignal-v0")` and rl-zoo3's `--gym-packages arz_tui` work.
The registration is an entry point given as a string: the env module (numba, the simulator)
loads only when an env is made. Gymnasium itself costs ~0.2 s to import, which the terminal UI
never needs, so when it is not loaded yet the registration waits for its import
(see `arz_tui._registration`).
"""

from arz_tui._registration import ENV_ENTRY_POINT, ENV_ID, register_env

register_env()

__all__ = ["ENV_ENTRY_POINT", "ENV_ID", "register_env"]
