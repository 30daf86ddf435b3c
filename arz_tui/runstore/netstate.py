"""The network map's stream (logs/netstate.jsonl): what the map shows, sampled during training.

One JSON object per line. The first line is a `NetHeader` (the network's nodes with their
coordinates, links in the simulator's order with their end nodes, signals with their phase
names: enough to draw the map without the scenario file); every further line is a `NetFrame`
(training step, simulated time of the sampled episode, each link's occupancy in permille,
each signal's queue and phase).

- Appendable: frames are whole lines appended and flushed; a line a kill cut in half is cut
  off before the next append (`events.LineAppender`) and skipped by readers.
- Capped: at `MAX_FRAMES` frames or `MAX_BYTES` bytes the writer keeps every other frame
  (the newest kept), doubles its stride and rewrites the file atomically, so a run of any
  length keeps an evenly spread history of bounded size.
- Resume-consistent: `cut_after` drops frames after the checkpoint a resume continues from,
  as the evaluation history is cut (`checkpoints.cut_timeline`).

Readers go through `files` (regular files only, size caps, strict JSON without NaN); a bad
header makes the stream Unreadable (one line), a bad frame is skipped and counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from arz_tui.runstore.atomic import write_text_atomic
from arz_tui.runstore.events import LineAppender
from arz_tui.runstore.files import Unreadable, parse_json, read_bytes, read_range

VERSION = 1
MAX_FRAMES = 2000
"""Frames kept in a stream; more are thinned to every other one."""
MAX_BYTES = 8 * 2**20
"""Bytes kept in a stream (a network of thousands of links reaches this before MAX_FRAMES)."""
READ_CAP = 2 * MAX_BYTES
"""Largest stream a reader accepts (a writer never leaves more than MAX_BYTES)."""
MAX_ITEMS = 100_000
"""Most nodes, links or signals a header may list (bigger is not a map anyone can read)."""
OCCUPANCY_SCALE = 1000
"""Occupancy is stored in permille: integers parse fast and 0.1 % is finer than any colour."""

Permille = Annotated[int, Field(ge=0, le=OCCUPANCY_SCALE)]
Coordinate = Annotated[float, Field(allow_inf_nan=False)]


class _Line(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class NetNode(_Line):
    id: str
    x_m: Coordinate | None = None
    y_m: Coordinate | None = None
    """Metres, y upwards; None where the scenario gives none (the map places those)."""


class NetSignal(_Line):
    node: str
    phases: list[str] = Field(min_length=1, max_length=64)


class NetHeader(_Line):
    """The network drawn: nodes, links (the simulator's order) and signals."""

    kind: Literal["header"] = "header"
    version: int = VERSION
    scenario: str = ""
    nodes: list[NetNode] = Field(max_length=MAX_ITEMS)
    links: list[str] = Field(max_length=MAX_ITEMS)
    link_ends: list[tuple[int, int]] = Field(max_length=MAX_ITEMS)
    """(from node, to node) indices into `nodes`, one per link."""
    signals: list[NetSignal] = Field(max_length=MAX_ITEMS)
    signal_nodes: list[int] = Field(max_length=MAX_ITEMS)
    """Index into `nodes` of each signal's node."""
    stride: int = Field(default=1, ge=1)
    """At least this many training steps between frames; doubles when the stream is
    thinned, so the frames stay evenly spread."""

    @model_validator(mode="after")
    def _consistent(self) -> NetHeader:
        n = len(self.nodes)
        if len(self.link_ends) != len(self.links):
            raise ValueError(f"{len(self.links)} links but {len(self.link_ends)} link ends")
        if len(self.signal_nodes) != len(self.signals):
            raise ValueError(f"{len(self.signals)} signals but {len(self.signal_nodes)} "
                             "signal nodes")
        if any(not 0 <= i < n for e in self.link_ends for i in e) \
                or any(not 0 <= i < n for i in self.signal_nodes):
            raise ValueError(f"a node index outside 0..{n - 1}")
        return self

    def same_map(self, other: NetHeader) -> bool:
        """Whether both draw the same network (the stride may differ)."""
        return self.model_dump(exclude={"stride"}) == other.model_dump(exclude={"stride"})


class NetFrame(_Line):
    """The sampled replica's state after one decision."""

    kind: Literal["frame"] = "frame"
    step: int = Field(ge=0)
    """Training step (transitions so far, as the event stream counts them)."""
    t_s: float = Field(ge=0, allow_inf_nan=False)
    """Simulated seconds into the sampled episode."""
    occupancy: list[Permille]
    """Vehicles on each link over its storage, permille (0 free .. 1000 full)."""
    queue_veh: list[Annotated[float, Field(ge=0, allow_inf_nan=False)]]
    """Queued vehicles on each signal's approaches, time mean over the last decision."""
    phase: list[Annotated[int, Field(ge=0)]]
    """Phase each signal shows (or is changing from)."""

    @classmethod
    def of(cls, step: int, t_s: float, occupancy: np.ndarray, queue_veh: np.ndarray,
           phase: np.ndarray) -> NetFrame:
        """A frame from the env's arrays (occupancy 0..1, clipped; queues to 0.1 veh)."""
        occ = np.rint(np.clip(np.nan_to_num(occupancy), 0.0, 1.0) * OCCUPANCY_SCALE)
        queue = np.round(np.clip(np.nan_to_num(queue_veh), 0.0, None), 1)
        return cls.model_construct(kind="frame", step=int(step), t_s=round(float(t_s), 3),
                                   occupancy=occ.astype(np.int64).tolist(),
                                   queue_veh=queue.tolist(),
                                   phase=np.asarray(phase, dtype=np.int64).tolist())

    def occupancy_fraction(self) -> np.ndarray:
        return np.asarray(self.occupancy, dtype=np.float64) / OCCUPANCY_SCALE

    def fits(self, header: NetHeader) -> str | None:
        """Why this frame does not belong to `header`'s network (None when it does)."""
        if len(self.occupancy) != len(header.links):
            return f"{len(self.occupancy)} link occupancies for {len(header.links)} links"
        if len(self.queue_veh) != len(header.signals) or len(self.phase) != len(header.signals):
            return f"queues or phases do not match {len(header.signals)} signals"
        for p, sig in zip(self.phase, header.signals, strict=True):
            if p >= len(sig.phases):
                return f"signal {sig.node} has no phase {p}"
        return None

    def to_line(self) -> str:
        return self.model_dump_json()


@dataclass
class NetStream:
    """A stream as read: its header, the frames that fit it, and how many lines were not
    frames of it (a torn last line, a foreign or damaged one)."""

    header: NetHeader
    frames: list[NetFrame] = field(default_factory=list)
    skipped: int = 0


def _first_problem(err: ValidationError) -> str:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "top level"
    return f"{loc}: {first['msg']}"


def _header(line: bytes, where: Path) -> NetHeader:
    data = parse_json(line, where)
    if not isinstance(data, dict) or data.get("kind") != "header":
        raise Unreadable(where, "its first line is not a network map header")
    try:
        return NetHeader.model_validate(data)
    except ValidationError as err:
        raise Unreadable(where, f"bad map header ({_first_problem(err)})") from None


def _frame(line: bytes, header: NetHeader, after: int) -> NetFrame | None:
    """The frame on `line` if it is one of `header`'s network, not before step `after`."""
    try:
        data = parse_json(line)
        if not isinstance(data, dict) or data.get("kind") != "frame":
            return None
        frame = NetFrame.model_validate(data)
    except (Unreadable, ValidationError):
        return None
    if frame.fits(header) is not None or frame.step < after:
        return None
    return frame


def _frames(lines: list[bytes], header: NetHeader, stream: NetStream, after: int = 0) -> None:
    """The frames on `lines` appended to `stream`; steps never go back (a line that would
    is not this run's)."""
    for line in lines:
        if not line.strip():
            continue
        frame = _frame(line, header, after)
        if frame is None:
            stream.skipped += 1
        else:
            stream.frames.append(frame)
            after = frame.step


def parse_stream(data: bytes, where: Path) -> NetStream:
    """A stream from the bytes of a netstate file; Unreadable without a valid header."""
    lines = data.split(b"\n")
    if not lines or not lines[0].strip():
        raise Unreadable(where, "empty: no network map header")
    header = _header(lines[0], where)
    stream = NetStream(header)
    torn = lines.pop() if len(lines) > 1 else b""  # after the last newline: torn or empty
    _frames(lines[1:], header, stream)
    if torn.strip():
        stream.skipped += 1
    return stream


def read_stream(path: Path, root: Path | None = None, cap: int = READ_CAP) -> NetStream:
    """The header and frames of a netstate file; Unreadable (one line) when it is missing,
    not a regular file, larger than `cap`, or has no valid header."""
    return parse_stream(read_bytes(path, root, cap), path)


class NetStateFollower:
    """Follows a stream a training process writes: `read()` returns the frames appended since
    the last call (and the header on the first call, or again after the writer thinned or cut
    the file: then `reset` is True and every frame is returned). A half-written last line
    waits for the next call."""

    def __init__(self, path: Path, root: Path | None = None, cap: int = READ_CAP) -> None:
        self.path = path
        self.root = root
        self.cap = cap
        self.header: NetHeader | None = None
        self.last_step = 0
        self._offset = 0
        self._ino: int | None = None

    def read(self) -> tuple[NetStream | None, bool]:
        """(new frames, reset), or (None, False) when nothing new; Unreadable as read_stream
        when the file is there but unusable."""
        data, st = read_range(self.path, self.root, self._offset, self.cap)
        reset = self.header is None or st.st_ino != self._ino or st.st_size < self._offset
        if reset:
            if st.st_size > self.cap:
                raise Unreadable(self.path, f"too large ({st.st_size:,} bytes > {self.cap:,})")
            data, st = read_range(self.path, self.root, 0, self.cap)
            self._offset, self.last_step, self._ino = 0, 0, st.st_ino
        end = data.rfind(b"\n") + 1
        if end == 0:
            if reset:  # not even a complete header line yet
                self.header = None
            return None, False
        lines = data[:end].split(b"\n")[:-1]
        if reset:
            self.header = _header(lines.pop(0), self.path)
        assert self.header is not None
        stream = NetStream(self.header)
        _frames(lines, self.header, stream, self.last_step)
        self._offset += end
        if stream.frames:
            self.last_step = stream.frames[-1].step
        if not reset and not stream.frames:
            return None, False
        return stream, reset


# ---------------------------------------------------------------------- writing
def _text(header: NetHeader, lines: list[str]) -> str:
    return "".join(f"{line}\n" for line in [header.model_dump_json(), *lines])


def cut_after(path: Path, steps: int, root: Path | None = None) -> str | None:
    """Drop the frames after training step `steps` (the checkpoint a resume continues from);
    an unreadable stream is removed (the writer starts a new one). Returns what was done, in
    words, or None when nothing changed."""
    if not path.exists():
        return None
    try:
        stream = read_stream(path, root)
    except Unreadable as err:
        path.unlink(missing_ok=True)
        return f"network map stream dropped ({err.reason})"
    keep = [f for f in stream.frames if f.step <= steps]
    if len(keep) == len(stream.frames) and not stream.skipped:
        return None
    write_text_atomic(path, _text(stream.header, [f.to_line() for f in keep]))
    if len(keep) == len(stream.frames):
        return None  # only a torn or foreign line went
    return f"network map frames after step {steps} dropped ({len(stream.frames) - len(keep)})"


class NetStateWriter:
    """Appends frames to a run's stream, thinning it to stay within `max_frames` and
    `max_bytes`. Opening continues a stream of the same network (frames after `start_step`
    dropped) and starts a new one otherwise."""

    def __init__(self, path: Path, header: NetHeader, start_step: int = 0,
                 root: Path | None = None, max_frames: int = MAX_FRAMES,
                 max_bytes: int = MAX_BYTES) -> None:
        if max_frames < 2:
            raise ValueError("max_frames must be at least 2")
        self.path = path
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self.header = header
        self._lines: list[str] = []
        self.last_step: int | None = None
        self.note: str | None = None
        """What opening did to an existing stream, in words (None: nothing to say)."""
        if path.exists():
            try:
                old = read_stream(path, root)
            except Unreadable as err:
                self.note = f"network map stream restarted ({err.reason})"
            else:
                if old.header.same_map(header):
                    self.header = header.model_copy(update={"stride": old.header.stride})
                    kept = [f for f in old.frames if f.step <= start_step]
                    self._lines = [f.to_line() for f in kept]
                    self.last_step = kept[-1].step if kept else None
                else:
                    self.note = "network map stream restarted (a different network)"
        self._bytes = 0
        self._rewrite()

    @property
    def stride(self) -> int:
        return self.header.stride

    @property
    def frames(self) -> int:
        return len(self._lines)

    def _rewrite(self) -> None:
        text = _text(self.header, self._lines)
        write_text_atomic(self.path, text)
        self._bytes = len(text.encode("utf-8"))
        self._out = LineAppender(self.path)

    def due(self, step: int) -> bool:
        """Whether a frame at training step `step` keeps the stride."""
        return self.last_step is None or step - self.last_step >= self.header.stride

    def append(self, frame: NetFrame) -> None:
        line = frame.to_line()
        if len(self._lines) + 1 > self.max_frames \
                or self._bytes + len(line) + 1 > self.max_bytes:
            self._thin()
        self._lines.append(line)
        self._out.write_line(line)
        self._bytes += len(line) + 1
        self.last_step = frame.step

    def _thin(self) -> None:
        """Every other frame, counted back from the one being appended (which then continues
        the pattern); the stride doubles so the rest of the run is sampled as sparsely as
        what was kept."""
        self._out.close()
        self._lines = self._lines[::-1][1::2][::-1]
        self.header = self.header.model_copy(update={"stride": self.header.stride * 2})
        self._rewrite()

    def close(self) -> None:
        self._out.close()


def header_of(scenario: str, nodes: list[tuple[str, float | None, float | None]],
              links: list[tuple[str, str, str]],
              signals: list[tuple[str, list[str]]], stride: int = 1) -> NetHeader:
    """A header from plain lists: nodes (id, x, y), links (id, from node, to node) in the
    simulator's order, signals (node, phase names)."""
    index = {n: i for i, (n, _, _) in enumerate(nodes)}

    def coordinate(v: float | None) -> float | None:
        return float(v) if v is not None and math.isfinite(v) else None

    return NetHeader(
        scenario=scenario,
        nodes=[NetNode(id=n, x_m=coordinate(x), y_m=coordinate(y)) for n, x, y in nodes],
        links=[k for k, _, _ in links], link_ends=[(index[a], index[b]) for _, a, b in links],
        signals=[NetSignal(node=node, phases=list(phases)) for node, phases in signals],
        signal_nodes=[index[node] for node, _ in signals], stride=stride)
