"""The network map stream (runstore.netstate): round trip, torn and hostile lines, thinning,
resume cuts, and following a growing file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from arz_tui.runstore import RunLayout
from arz_tui.runstore.checkpoints import cut_timeline
from arz_tui.runstore.files import Unreadable
from arz_tui.runstore.netstate import (
    NetFrame,
    NetStateFollower,
    NetStateWriter,
    cut_after,
    header_of,
    read_stream,
)

NODES = [("A", 0.0, 0.0), ("B", 100.0, 0.0), ("C", 100.0, None)]
LINKS = [("AB", "A", "B"), ("BA", "B", "A"), ("BC", "B", "C")]
SIGNALS = [("B", ["NS", "EW"])]


def _header(stride: int = 1):
    return header_of("demo", NODES, LINKS, SIGNALS, stride)


def _frame(step: int, fill: float = 0.5) -> NetFrame:
    return NetFrame.of(step, step * 5.0, np.array([fill, 1.7, np.nan]), np.array([3.14159]),
                       np.array([1]))


def _path(tmp_path: Path) -> Path:
    return RunLayout(tmp_path / "run").netstate


def test_round_trip(tmp_path: Path):
    path = _path(tmp_path)
    writer = NetStateWriter(path, _header())
    for step in (10, 20, 30):
        writer.append(_frame(step))
    writer.close()
    stream = read_stream(path)
    assert stream.header.same_map(_header()) and stream.skipped == 0
    assert [f.step for f in stream.frames] == [10, 20, 30]
    f = stream.frames[0]
    # Occupancy clipped to 0..1 (NaN as 0), stored in permille; queues to 0.1 vehicle.
    assert f.occupancy == [500, 1000, 0] and f.queue_veh == [3.1] and f.phase == [1]
    assert np.allclose(f.occupancy_fraction(), [0.5, 1.0, 0.0])
    assert stream.header.nodes[2].y_m is None and stream.header.link_ends[2] == (1, 2)


def test_torn_last_frame_is_skipped_and_repaired(tmp_path: Path):
    path = _path(tmp_path)
    writer = NetStateWriter(path, _header())
    writer.append(_frame(10))
    writer.append(_frame(20))
    writer.close()
    data = path.read_bytes()
    path.write_bytes(data[:-25])  # a kill in the middle of the last frame
    stream = read_stream(path)
    assert [f.step for f in stream.frames] == [10] and stream.skipped == 1
    # Continuing (a resume at step 20) cuts the torn line before appending.
    writer = NetStateWriter(path, _header(), start_step=20)
    writer.append(_frame(30))
    writer.close()
    stream = read_stream(path)
    assert [f.step for f in stream.frames] == [10, 30] and stream.skipped == 0


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "empty"),
    (b'{"kind": "frame", "step": 1}\n', "not a network map header"),
    (b"not json\n", "not valid JSON"),
    (b'{"kind": "header", "nodes": [], "links": ["a"], "link_ends": [], "signals": [], '
     b'"signal_nodes": []}\n', "1 links but 0 link ends"),
    (b'{"kind": "header", "nodes": [{"id": "A"}], "links": ["a"], "link_ends": [[0, 5]], '
     b'"signals": [], "signal_nodes": []}\n', "node index outside"),
    (b'{"kind": "header", "nodes": [{"id": "A", "x_m": NaN}], "links": [], "link_ends": [], '
     b'"signals": [], "signal_nodes": []}\n', "not valid JSON"),
    (b"[" * 100_000 + b"]" * 100_000 + b"\n", "nested"),
])
def test_hostile_headers_are_one_line_unreadable(tmp_path: Path, content: bytes, reason: str):
    path = tmp_path / "netstate.jsonl"
    path.write_bytes(content)
    with pytest.raises(Unreadable) as err:
        read_stream(path, tmp_path)
    assert reason in str(err.value) and "\n" not in str(err.value)


def test_hostile_frames_are_skipped(tmp_path: Path):
    path = _path(tmp_path)
    writer = NetStateWriter(path, _header())
    writer.append(_frame(10))
    writer.close()
    good = _frame(20).model_dump()
    bad = [
        {**good, "occupancy": [1, 2]},                # wrong number of links
        {**good, "occupancy": [1, 2, 1001]},          # beyond full
        {**good, "phase": [2]},                       # the signal has 2 phases
        {**good, "queue_veh": [-1.0]},
        {**good, "step": 5},                          # before the previous frame
        {**good, "step": "many"},
        [1, 2, 3],
    ]
    with open(path, "a") as fh:
        for b in bad:
            fh.write(json.dumps(b) + "\n")
        fh.write('{"kind": "frame", "step": 30, "t_s": NaN, "occupancy": [0, 0, 0], '
                 '"queue_veh": [0], "phase": [0]}\n')
        fh.write(json.dumps(good) + "\n")
    stream = read_stream(path)
    assert [f.step for f in stream.frames] == [10, 20] and stream.skipped == len(bad) + 1


def test_oversized_and_special_files(tmp_path: Path):
    path = tmp_path / "netstate.jsonl"
    path.write_bytes(_header().model_dump_json().encode() + b"\n" + b" " * 4096)
    with pytest.raises(Unreadable, match="too large"):
        read_stream(path, tmp_path, cap=1024)
    with pytest.raises(Unreadable, match="missing"):
        read_stream(tmp_path / "absent.jsonl", tmp_path)
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(Unreadable, match="FIFO"):
        read_stream(fifo, tmp_path)  # refused, never blocks
    outside = tmp_path.parent / f"{tmp_path.name}-outside.jsonl"
    outside.write_bytes(path.read_bytes())
    link = tmp_path / "link.jsonl"
    link.symlink_to(outside)
    with pytest.raises(Unreadable, match="outside"):
        read_stream(link, tmp_path)


def test_thinning_keeps_an_even_history_within_the_caps(tmp_path: Path):
    path = _path(tmp_path)
    writer = NetStateWriter(path, _header(stride=10), max_frames=8)
    for step in range(1, 401):
        if writer.due(step):
            writer.append(_frame(step))
    writer.close()
    stream = read_stream(path)
    steps = [f.step for f in stream.frames]
    assert 4 <= len(steps) <= 8 and steps[-1] >= 400 - writer.stride
    assert stream.header.stride == writer.stride == 80  # 10, doubled three times
    assert set(np.diff(steps)) == {80}  # evenly spread over the whole run
    # A byte cap thins as well.
    small = NetStateWriter(tmp_path / "small.jsonl", _header(), max_bytes=2000)
    for step in range(1, 60):
        small.append(_frame(step))
    small.close()
    assert (tmp_path / "small.jsonl").stat().st_size <= 2000


def test_resume_cuts_later_frames(tmp_path: Path):
    layout = RunLayout(tmp_path / "run")
    writer = NetStateWriter(layout.netstate, _header())
    for step in (10, 20, 30, 40):
        writer.append(_frame(step))
    writer.close()
    notes = cut_timeline(layout, 20)
    assert any("network map frames after step 20 dropped (2)" in n for n in notes)
    assert [f.step for f in read_stream(layout.netstate).frames] == [10, 20]
    assert cut_after(layout.netstate, 20) is None  # nothing more to cut
    # The writer of the resumed run continues the stream, without duplicate steps.
    writer = NetStateWriter(layout.netstate, _header(), start_step=20)
    writer.append(_frame(30, fill=0.9))
    writer.close()
    frames = read_stream(layout.netstate).frames
    assert [f.step for f in frames] == [10, 20, 30] and frames[-1].occupancy[0] == 900
    # Another network, or a damaged stream, starts over (and says so).
    other = header_of("other", NODES, LINKS[:2], SIGNALS)
    assert NetStateWriter(layout.netstate, other).note is not None
    layout.netstate.write_bytes(b"garbage\n")
    assert "dropped" in (cut_timeline(layout, 20)[0])
    assert not layout.netstate.exists()


def test_follower_sees_appends_thinning_and_torn_lines(tmp_path: Path):
    path = _path(tmp_path)
    follower = NetStateFollower(path)
    with pytest.raises(Unreadable, match="missing"):
        follower.read()
    writer = NetStateWriter(path, _header(), max_frames=4)
    stream, reset = follower.read()
    assert reset and stream is not None and stream.frames == []
    writer.append(_frame(10))
    writer.append(_frame(20))
    stream, reset = follower.read()
    assert not reset and [f.step for f in stream.frames] == [10, 20]
    assert follower.read() == (None, False)
    with open(path, "a") as fh:
        fh.write(_frame(30).to_line()[:20])  # half a line: waits
    assert follower.read() == (None, False)
    with open(path, "a") as fh:
        fh.write(_frame(30).to_line()[20:] + "\n")
    stream, _ = follower.read()
    assert [f.step for f in stream.frames] == [30]
    for step in (40, 50, 60):  # the writer's fifth frame thins the file: start over
        writer.append(_frame(step))
    writer.close()
    stream, reset = follower.read()
    assert reset and stream.header.stride == 2
    assert [f.step for f in stream.frames] == [10, 40, 60]
