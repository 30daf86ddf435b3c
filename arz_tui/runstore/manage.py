"""Deleting and renaming runs: only folders of this results folder, only when no live process
holds them (the run's lock), and renaming keeps the saved config's name in step so a resume
continues the renamed folder."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from arz_tui.errors import ArzError
from arz_tui.runstore.atomic import write_json_atomic
from arz_tui.runstore.claim import claim_existing
from arz_tui.runstore.files import Unreadable
from arz_tui.runstore.layout import RunLayout
from arz_tui.runstore.reader import read_config, read_group

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def _inside(results_dir: Path, name: str) -> RunLayout:
    """The run folder `name` directly inside `results_dir` (no links, no paths)."""
    if not NAME.match(name) or name in {".", ".."}:
        raise ArzError(f"{name!r} is not a run name")
    layout = RunLayout(results_dir / name)
    if layout.root.is_symlink() or not layout.root.is_dir():
        raise ArzError(f"{layout.root} is not a run folder")
    return layout


def folder_bytes(path: Path) -> int:
    """Bytes of the regular files under `path` (links not followed)."""
    total = 0
    for item in path.rglob("*"):
        try:
            if item.is_file() and not item.is_symlink():
                total += item.stat().st_size
        except OSError:
            continue
    return total


def group_members(results_dir: Path, name: str) -> list[str]:
    """The member runs of seed group `name` that exist, or [] if it is not a group."""
    marker = read_group(results_dir / name, results_dir)
    if marker is None:
        return []
    return [m for m in marker.members if (results_dir / m).is_dir()
            and not (results_dir / m).is_symlink()]


def delete_run(results_dir: Path, name: str, members: bool = True) -> list[str]:
    """Delete run (or seed group) `name`, with a group's member runs when `members`; returns
    the folders deleted. Refuses (ArzError, RunBusy) while a process holds any of them."""
    layouts = [_inside(results_dir, name)]
    if members:
        layouts += [_inside(results_dir, m) for m in group_members(results_dir, name)]
    claims = []
    try:
        for layout in layouts:  # all or nothing: every lock first
            claims.append(claim_existing(layout))
        for layout in layouts:
            shutil.rmtree(layout.root)
    finally:
        for claim in claims:
            claim.release()
    return [layout.name for layout in layouts]


def rename_run(results_dir: Path, name: str, new: str) -> Path:
    """Rename run `name` to `new` (a free name); its saved config follows. Seed groups and
    their members keep their names (the members' names derive from the group's)."""
    layout = _inside(results_dir, name)
    if not NAME.match(new) or new in {".", ".."}:
        raise ArzError(f"{new!r}: use 1-100 letters, digits, '_', '-' or '.', starting with a "
                       "letter or digit")
    target = results_dir / new
    if target.exists() or target.is_symlink():
        raise ArzError(f"{new} already exists in {results_dir}; choose another name")
    if read_group(layout.root, results_dir) is not None:
        raise ArzError(f"{name} is a seed group: its members are named after it; train it "
                       "again under the new name instead")
    claim = claim_existing(layout)
    try:
        try:
            saved = read_config(layout.root, results_dir)
        except Unreadable:
            saved = None  # killed before it saved its settings: nothing to keep in step
        layout.root.rename(target)
    finally:
        claim.release()
    if saved is not None:
        saved.training.experiment_name = new
        write_json_atomic(RunLayout(target).config, saved)
    return target
