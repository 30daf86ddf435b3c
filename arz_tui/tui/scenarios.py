"""The scenarios the launch form offers: built-ins, then scenario files in the current folder
and ./scenarios, with the files that look like scenarios but do not load reported (not dropped).

Read in a worker (files on disk can be slow, large or half-written), never on the UI thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sim.scenario import SUFFIXES, ScenarioError, available_scenarios, load_scenario, parse_scenario

SEARCH = (Path("."), Path("scenarios"))
MAX_BYTES = 4 * 2**20
"""A scenario file is a few kB; anything this large is not one (and is not read)."""
SCENARIO_KEYS = frozenset({"nodes", "links"})
"""Top-level keys every scenario has: a YAML file without them is some other file (a CI or
tool config) and is skipped silently; one with them is a scenario attempt, reported if bad."""


@dataclass(frozen=True)
class ScenarioScan:
    usable: list[str] = field(default_factory=list)
    broken: list[tuple[str, str]] = field(default_factory=list)
    """(file, one-line error) of each scenario file that cannot be used."""


def _candidate(path: Path) -> tuple[bool, str]:
    """(looks like a scenario, error or '')."""
    try:
        if path.stat().st_size > MAX_BYTES:
            return False, ""
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        # Unparseable YAML next to scenarios may well be a scenario with a typo: report it
        # when it sits in ./scenarios, skip it elsewhere.
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        return path.parent.name == "scenarios", f"cannot be read: {detail}"
    if not isinstance(data, dict) or not SCENARIO_KEYS & set(data):
        return False, ""
    try:
        parse_scenario(data, str(path))
    except ScenarioError as err:
        return True, str(err).removeprefix(f"{path}: ")
    return True, ""


def scan_scenarios(search: tuple[Path, ...] = SEARCH) -> ScenarioScan:
    scan = ScenarioScan()
    for name in available_scenarios():
        try:
            load_scenario(name)
        except ScenarioError as err:
            scan.broken.append((name, str(err)))
            continue
        scan.usable.append(name)
    for folder in search:
        try:
            files = sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file())
        except OSError:
            continue
        for path in files:
            looks, error = _candidate(path)
            if not looks:
                continue
            if error:
                scan.broken.append((str(path), error))
            else:
                scan.usable.append(str(path))
    return scan
