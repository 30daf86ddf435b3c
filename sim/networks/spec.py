"""Scenario names that describe a generated network: `KIND:DIMS[?key=value&key=value...]`.

Examples: `grid:4x4`, `grid:2x3?length=200&lanes=1&demand=heavy`, `arterial:5`,
`arterial:3?side=0.3,phases=2`. Options may be separated by `&` or `,` (a `,` needs no
quoting in a shell); the first one may follow `?` or `,`. Parsing is kept apart from the
builders so that the CLI, the TUI and Python callers share one grammar and one error text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sim.scenario import ScenarioError

_KIND = re.compile(r"^[a-z]{2,}:")
"""A network name starts with its kind (two letters at least: never a drive letter)."""
_NAME = re.compile(r"^(?P<kind>[a-z]+):(?P<dims>[0-9x]+)(?:[?,](?P<opts>.*))?$")


@dataclass(frozen=True)
class NetworkSpec:
    """A parsed network name: its kind, its dimensions and its options as given (text)."""

    kind: str
    rows: int
    cols: int
    options: dict[str, str]
    text: str


def looks_like_network(name: str) -> bool:
    """True for `kind:...` names."""
    return _KIND.match(name.strip()) is not None


def parse_network_name(name: str, kinds: tuple[str, ...]) -> NetworkSpec:
    """Split `kind:RxC?opts` (or `kind:N?opts`, one row) into its parts; one-line
    ScenarioError naming the bad part."""
    text = name.strip()
    match = _NAME.match(text)
    if match is None:
        raise ScenarioError(f"network name {name!r}: expected KIND:DIMS[?key=value&...], e.g. "
                            "grid:4x4?lanes=1 or arterial:5")
    kind = match["kind"]
    if kind not in kinds:
        raise ScenarioError(f"network name {name!r}: unknown kind {kind!r}; choose one of "
                            f"{', '.join(kinds)}")
    dims = match["dims"]
    parts = dims.split("x")
    if not all(p.isdigit() for p in parts) or len(parts) > 2:
        raise ScenarioError(f"network name {name!r}: dimensions {dims!r} must be N or RxC "
                            "(whole numbers, e.g. 4x4)")
    rows, cols = (1, int(parts[0])) if len(parts) == 1 else (int(parts[0]), int(parts[1]))
    options: dict[str, str] = {}
    raw = match["opts"] or ""
    for item in filter(None, re.split(r"[&,]", raw)):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key or not value.strip():
            raise ScenarioError(f"network name {name!r}: option {item!r} must be key=value")
        if key in options:
            raise ScenarioError(f"network name {name!r}: option {key!r} given twice")
        options[key] = value.strip()
    return NetworkSpec(kind=kind, rows=rows, cols=cols, options=options, text=text)
