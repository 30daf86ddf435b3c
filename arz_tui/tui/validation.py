"""Validation errors in plain words, naming the form's field: never pydantic's
"1 validation error for TrainingConfig" block."""

from __future__ import annotations

import re

from pydantic import ValidationError

FIELD_LABELS = {
    "experiment_name": "Name",
    "total_timesteps": "Timesteps",
    "max_hours": "Max hours",
    "seed": "Seed(s)",
    "device": "Device",
    "mode": "Mode",
    "results_dir": "Results folder",
    "scenario": "Scenario",
    "demand_level": "Demand",
}

_PLAIN = (
    (re.compile(r"Input should be less than or equal to (\S+)"), r"at most \1"),
    (re.compile(r"Input should be less than (\S+)"), r"less than \1"),
    (re.compile(r"Input should be greater than or equal to (\S+)"), r"at least \1"),
    (re.compile(r"Input should be greater than (\S+)"), r"more than \1"),
    (re.compile(r"Input should be a valid integer.*"), "a whole number"),
    (re.compile(r"Input should be a valid number.*"), "a number"),
    (re.compile(r"Input should be (.*)"), r"one of \1"),
    (re.compile(r"^Value error, "), ""),
)


def _number(text: str) -> str:
    try:
        value = float(text)
    except ValueError:
        return text
    return f"{int(value):,}" if value.is_integer() else f"{value:g}"


def plain_problem(err: ValidationError) -> str:
    """The first error as 'Label: what is wanted (got X)'."""
    first = err.errors()[0]
    loc = [str(part) for part in first["loc"]]
    label = FIELD_LABELS.get(loc[-1] if loc else "", " ".join(loc).replace("_", " ") or "value")
    msg = first["msg"]
    for pattern, repl in _PLAIN:
        if pattern.search(msg):
            msg = pattern.sub(repl, msg)
            break
    msg = re.sub(r"(at most|at least|more than|less than) (\S+)",
                 lambda m: f"{m.group(1)} {_number(m.group(2))}", msg)
    given = first.get("input")
    shown = "" if isinstance(given, dict | list) or given is None else f" (got {given})"
    return f"{label}: {msg}{shown}"
