"""The converted scenario as a commented YAML file: a header saying where it came from and
what was simplified, a comment before each section, and the SUMO state strings next to each
signal. What is written parses back to exactly the data `sim.scenario` validated."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import yaml

from arz_tui.netimport.convert import ImportResult
from arz_tui.netimport.errors import NetImportError

SECTION_NOTES = {
    "numerics": "Discretisation: links get round(length / cell_length_m) cells (at least one).",
    "nodes": "Junctions keep their SUMO ids and coordinates (m, SUMO's projection); every "
             "entry/exit edge gets a source:<edge> / sink:<edge> node at its end.",
    "links": "One link per SUMO edge that cars may use: length, car lanes, speed limit.",
    "movements": "One movement per (from edge, to edge) pair of SUMO connections; priority 2 "
                 "for straight on, 1 for turns.",
    "signals": "One signal per traffic light: its green phases in program order (same car "
               "movements merged), yellow_s = the yellow + all-red between two greens, "
               "duration_s = the program's green time.",
    "demand": "Arrivals at the entries, veh/h: [t_s, motorcycles, cars].",
}


def render(result: ImportResult, source: str) -> str:
    data = result.data
    lines = [f"# {data['name']}: converted from {source} by `arz-tui import`.",
             "# Edit freely; `arz-tui --batch --scenario THIS_FILE` validates it on load.",
             "#", "# What the conversion kept and simplified:"]
    for note in result.report:
        lines += textwrap.wrap(note, 98, initial_indent="#   - ", subsequent_indent="#     ")
    lines.append("")
    head = {k: data[k] for k in ("name", "description", "duration_s")}
    lines.append(yaml.safe_dump(head, sort_keys=False, width=100).rstrip())
    for key in ("numerics", "nodes", "links", "movements", "signals", "demand"):
        lines += ["", *textwrap.wrap(SECTION_NOTES[key], 98, initial_indent="# ",
                                     subsequent_indent="# ")]
        if key == "signals":
            lines.append(_signals(data["signals"], result.signal_sources))
        else:
            lines.append(yaml.safe_dump({key: data[key]}, sort_keys=False, width=100,
                                        default_flow_style=None).rstrip())
    return "\n".join(lines) + "\n"


def _signals(signals: list[dict[str, Any]], states: dict[str, list[str]]) -> str:
    out = ["signals:"]
    for sig in signals:
        block = yaml.safe_dump([sig], sort_keys=False, width=100, default_flow_style=None)
        given = states.get(sig["node"], [])
        if given:
            out.append(f"  # SUMO states of the green phases: {', '.join(given)}")
        out += ["  " + line for line in block.rstrip().splitlines()]
    return "\n".join(out)


def write_scenario(result: ImportResult, out: Path, source: str, force: bool = False) -> None:
    """Write atomically; refuse to overwrite unless `force`; the written text must load."""
    if out.exists() and not force:
        raise NetImportError(f"{str(out)!r} exists: choose another -o or pass --force")
    if out.suffix not in (".yaml", ".yml"):
        raise NetImportError(f"output {str(out)!r} must end in .yaml or .yml")
    text = render(result, source)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        # The comments must not change the data: what is written parses to what was validated.
        if yaml.safe_load(text) != yaml.safe_load(yaml.safe_dump(result.data)):
            raise NetImportError("internal error: the written file differs from the converted "
                                 "scenario; please report it")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
