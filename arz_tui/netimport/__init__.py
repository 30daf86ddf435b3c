"""SUMO network import (`arz-tui import NET.net.xml`): sumolib reads the network, the
converter produces scenario data that `sim.scenario` validates, and the writer puts it in a
commented YAML file. The simulator core never imports this package (nor sumolib)."""

from arz_tui.netimport.convert import ImportResult, convert_net
from arz_tui.netimport.errors import NetImportError

__all__ = ["ImportResult", "NetImportError", "convert_net"]
