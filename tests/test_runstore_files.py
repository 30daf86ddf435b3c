"""The run store's readers treat every file as hostile: unit tests of its primitives."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from arz_tui.runstore import RunLayout
from arz_tui.runstore.claim import check_results_dir, claim_new
from arz_tui.runstore.events import EventKind, JsonlTail, JsonlWriter, read_events
from arz_tui.runstore.files import (
    Unreadable,
    load_record,
    parse_json,
    read_bytes,
    read_npy,
    read_npz,
)
from arz_tui.runstore.reader import printable, read_run_info
from arz_tui.runstore.records import SavedRunConfig, Summary
from arz_tui.training.events import Event


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "summary.json"
    os.mkfifo(fifo)
    done = threading.Event()

    def read() -> None:
        with pytest.raises(Unreadable, match="FIFO"):
            read_bytes(fifo)
        done.set()

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(5)
    assert done.is_set(), "reading a FIFO blocked"


def test_links_out_of_the_root_and_size_caps(tmp_path: Path) -> None:
    root = tmp_path / "results"
    root.mkdir()
    secret = tmp_path / "secret.json"
    secret.write_text("{}")
    (root / "link.json").symlink_to(secret)
    with pytest.raises(Unreadable, match="outside"):
        read_bytes(root / "link.json", root)
    (root / "big.json").write_bytes(b" " * 2048)
    with pytest.raises(Unreadable, match="too large"):
        read_bytes(root / "big.json", root, cap=1024)
    assert read_bytes(root / "big.json", root, cap=1024, tail=True) == b" " * 1024


@pytest.mark.parametrize("text, words", [
    ("[" * 5000 + "]" * 5000, "nested"), ('{"x": 1e400}', "overflows"),
    ('{"x": NaN}', "not a JSON number"), ("{oops", "not valid JSON"),
])
def test_strict_json(text: str, words: str) -> None:
    with pytest.raises(Unreadable, match=words):
        parse_json(text)


def test_records_reject_wrong_types(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_text(json.dumps({"step": "soon", "rl": {}}))
    with pytest.raises(Unreadable, match="wrong shape at step"):
        load_record(path, Summary)
    path.write_text(json.dumps({"training": {"experiment_name": "x"}, "env": []}))
    with pytest.raises(Unreadable, match="env"):
        load_record(path, SavedRunConfig)


def test_npy_headers_are_checked_before_reading(tmp_path: Path) -> None:
    good = tmp_path / "good.npy"
    np.save(good, np.ones((3, 4)))
    assert read_npy(good).shape == (3, 4)
    absurd = tmp_path / "absurd.npy"
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (3000000, 3000000), }"
    absurd.write_bytes(b"\x93NUMPY\x01\x00v\x00" + header + b" " * (118 - len(header)) + b"\n")
    with pytest.raises(Unreadable, match="header claims"):
        read_npy(absurd)
    objects = tmp_path / "objects.npz"
    np.savez(objects, a=np.array([{}], dtype=object))
    with pytest.raises(Unreadable, match="Python objects"):
        read_npz(objects)
    truncated = tmp_path / "t.npz"
    np.savez(truncated, a=np.ones(100))
    truncated.write_bytes(truncated.read_bytes()[:50])
    with pytest.raises(Unreadable):
        read_npz(truncated)


def test_torn_last_line_is_repaired_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"kind": "log", "step": 1, "data": {}, "time": 1}\n{"kind": "progr')
    writer = JsonlWriter(path)
    assert writer.repaired == len('{"kind": "progr')
    writer(Event.now(EventKind.LOG, 2, message="after the kill"))
    writer.close()
    events = read_events(path)
    assert [e.step for e in events] == [1, 2]


def test_tail_waits_for_a_half_written_line(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    tail = JsonlTail(path)
    assert tail.read() == []
    line = Event.now(EventKind.LOG, 3, message="x").to_json()
    path.write_text(line[:10])
    assert tail.read() == []
    with open(path, "a") as fh:
        fh.write(line[10:] + "\n" + '{"kind": "nope"}\n')
    assert [e.step for e in tail.read()] == [3]


def test_payloads_are_checked_per_kind() -> None:
    with pytest.raises(ValueError):
        Event.now(EventKind.CHECKPOINT, 1, steps="many", model="m")
    event = Event.now(EventKind.EVAL, 5, mean_reward=np.float32(1.5), mean_queue_veh=3.0)
    assert event.payload().mean_reward == 1.5


def test_printable_strips_escape_sequences() -> None:
    assert printable("a\x1b]0;title\x07b\u202ec") == "a?]0;title?b?c"


def test_results_dir_checks(tmp_path: Path) -> None:
    from arz_tui.errors import ArzError

    a_file = tmp_path / "f"
    a_file.write_text("")
    # ("" never arrives here: Path("") is "."; the command-line type refuses it.)
    for bad, words in ((a_file, "is a file"), (Path("/proc/x"), "cannot create")):
        with pytest.raises(ArzError, match=words):
            check_results_dir(bad)


def test_a_folder_left_by_a_claim_killed_during_the_checks_is_reusable(tmp_path: Path) -> None:
    lay = RunLayout(tmp_path / "run")
    lay.root.mkdir()
    lay.lock.write_text("999999\n")  # the dead claimant: nothing else was written
    claim = claim_new(lay)
    assert claim.held and lay.lock.read_text().strip() == str(os.getpid())
    claim.release()
    assert read_run_info(lay.root).status == "unreadable"  # nothing to show, no crash
