"""The importer's error: one line naming the element or value, exit 2 like every user error."""

from __future__ import annotations

from arz_tui.errors import UserError
from sim.scenario import ScenarioError


class NetImportError(UserError, ScenarioError):
    """A SUMO file that cannot be converted. It is a ScenarioError too, so that wherever a
    scenario name is resolved (the env config, `--scenario NET.net.xml`) it is reported the
    same way as a bad scenario file."""
