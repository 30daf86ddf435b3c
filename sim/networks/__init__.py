"""Generated networks: `grid:RxC`, `arterial:N` scenario names and the built-ins `grid4x4`
and `arterial4x4` (docs/networks.md). They produce the same validated `Scenario` objects as
scenario files; `sim.scenario.load_scenario` resolves their names."""

from sim.networks.builders import (
    BUILTIN_NETWORKS,
    ArterialOptions,
    GridOptions,
    arterial,
    grid,
    network,
)
from sim.networks.spec import looks_like_network

__all__ = ["BUILTIN_NETWORKS", "ArterialOptions", "GridOptions", "arterial", "grid",
           "looks_like_network", "network"]
