"""The results browser: every run in a results folder, its details, live updates, compare.

The top half lists the runs (newest first); the bottom half shows the highlighted run in tabs:
overview (config and RL vs fixed-time evaluation), curves, time-space diagrams, checkpoints,
log, a comparison of two marked runs, the report, and a replay of the network map recorded
during training. A timer re-lists the folder about once a second
(re-reading only runs whose files changed) and tails the highlighted run's metrics.jsonl, so
a run started with `arz-tui --batch` in another terminal appears and its curves grow live.

Nothing a folder contains can crash or freeze the screen: every file is read in a worker
thread (never on the UI thread: a FIFO or a slow disk cannot block it) through the run store,
which opens only regular files inside the results folder, with size caps; half-written,
corrupt and foreign entries are listed as "unreadable" with the reason; every string from disk
is shown as plain text (never Rich markup) with control characters replaced.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from rich.cells import cell_len
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import (
    DataTable,
    Footer,
    Header,
    Input,
    Log,
    Markdown,
    Static,
    TabbedContent,
    TabPane,
)
from textual.widgets.data_table import ColumnKey
from textual.worker import Worker

from arz_tui.runstore import Event, JsonlTail, RunLayout, RunStatus
from arz_tui.runstore.files import Unreadable, text_tail
from arz_tui.runstore.layout import TUNING_DIR, report_dir
from arz_tui.runstore.manage import group_members
from arz_tui.runstore.netstate import NetStream, read_stream
from arz_tui.runstore.reader import (
    FileEntry,
    RunInfo,
    StudyView,
    log_tail,
    model_files,
    printable,
    read_aggregate,
    read_config,
    read_run_info,
    read_study,
    read_summary,
    read_timespace,
)
from arz_tui.runstore.records import Aggregate, SavedRunConfig, Summary
from arz_tui.training.monitor import RunState, Series, load_state
from arz_tui.tui.confirm import ConfirmScreen
from arz_tui.tui.messages import ResumeRequested
from arz_tui.tui.prompt import PromptScreen
from arz_tui.tui.tensorboard import show_tensorboard_hint
from arz_tui.tui.widgets import (
    ColourScale,
    CorridorAxis,
    Heatmap,
    Line,
    SeriesPlot,
    corridor_axis,
)
from arz_tui.tui.widgets.netmap import MapPane

REFRESH_S = 1.0
"""How often the folder is re-listed and the highlighted run's metrics.jsonl tailed."""

LOG_LINES = 200

STATUS_STYLE = {
    "finished": "green",
    "interrupted": "yellow",
    "running": "bold cyan",
    "failed": "red",
    "unreadable": "dim red",
    "group": "magenta",
    "study": "magenta",
    "pruned": "yellow",
}

# (key, label, format, lower is better)
SUMMARY_METRICS = (
    ("mean_delay_s", "mean delay (s/veh)", "{:.1f}", True),
    ("total_delay_vh", "total delay (veh-h)", "{:.1f}", True),
    ("mean_travel_time_s", "mean travel time (s)", "{:.1f}", True),
    ("mean_queue_veh", "mean queue (veh)", "{:.1f}", True),
    ("vehicles_served", "vehicles served", "{:.0f}", False),
)

RUN_COLUMNS = (("name", "  name"), ("scenario", "scenario"), ("mode", "mode"),
               ("steps", "steps"), ("best", "best"), ("date", "started (UTC)"),
               ("status", "status"), ("note", "note"))
NARROW_HIDDEN = frozenset({"scenario", "mode", "date"})
"""Run-table columns left out below NARROW columns (the detail header and overview show
them for the highlighted run), so status and note stay on screen at 80 columns."""
NARROW = 110
"""Below this width: the narrow run table, and the overview's panels stacked."""
SHORT = 32
"""Below this height: a shorter run table, so the tabs keep room."""

SHORT_REASONS = (
    ("training_config.json is not valid JSON", "bad config JSON"),
    ("not a run folder (a plain file)", "a plain file"),
    ("not a run folder", "not a run folder"),
    ("points outside", "link outside"),
    ("its files link outside", "links outside"),
    ("a broken link", "broken link"),
    ("no events", "no events yet"),
    ("unreadable run files", "corrupt run files"),
)

TABS = ("overview", "curves", "timespace", "checkpoints", "log", "compare", "report", "map")
MAP_KEYS = ("Map tab: the previous / next recorded frame",
            "Map tab: 10 frames back / on",
            "Map tab: the first / last recorded frame (the last follows a running run)")
SORTS = ("date", "name", "status", "best reward")
SUMMARY_LABELS = ("metric", "RL (DQN)", "fixed time", "RL vs fixed")


# ---------------------------------------------------------------------- formatting
def fmt_time(ts: float | None) -> str:
    """A timestamp as UTC text: the same on every machine and in every time zone."""
    if ts is None or not isinstance(ts, int | float) or not math.isfinite(ts):
        return "-"
    try:
        return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, OSError, ValueError):
        return "-"


def fmt_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


def short_reason(reason: str | None) -> str:
    """The few words of an unreadable run's reason the list has room for (the detail line
    above the tabs shows it in full)."""
    if not reason:
        return ""
    for prefix, short in SHORT_REASONS:
        if reason.startswith(prefix):
            return short
    return reason if len(reason) <= 18 else reason[:17] + "…"


def _num(value: Any, spec: str = "{:.2f}") -> str:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "-"
    return spec.format(value)


def _steps(info: RunInfo) -> str:
    if info.steps is None:
        return "-"
    return f"{info.steps:,}/{info.total:,}" if info.total else f"{info.steps:,}"


def plain(value: Any) -> Text:
    """A value from disk as plain text: never parsed as Rich markup."""
    return Text(printable("-" if value is None or value == "" else value))


# ---------------------------------------------------------------------- listing
def _widths(rows: list[tuple[Any, ...]],
            columns: tuple[tuple[str, str], ...] = RUN_COLUMNS) -> list[int]:
    """Width of each run-table column: its label's or its widest cell's."""
    return [max([cell_len(label)] + [cell_len(r[i].plain if isinstance(r[i], Text) else str(r[i]))
                                     for r in rows])
            for i, (_, label) in enumerate(columns)]


def _finite(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def _stat_key(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


@dataclass
class _Cached:
    signature: tuple[Any, ...]
    info: RunInfo


class RunLister:
    """Lists a results folder like `list_runs`, but cheap enough for a 1 s timer and never
    raising: a run is re-read only when its files changed (or while it is running, whose
    status depends on its process), plain files and dangling links are listed as unreadable,
    and a folder `read_run_info` cannot read is listed as unreadable with the error."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._cache: dict[str, _Cached] = {}
        self._study_cache: dict[Path, tuple[tuple[Any, ...], StudyView]] = {}
        self.error: str | None = None

    def _signature(self, path: Path) -> tuple[Any, ...]:
        lay = RunLayout(path)
        return tuple(_stat_key(p) for p in (path, lay.config, lay.metrics, lay.latest,
                                            lay.final_model, lay.checkpoints))

    def _read(self, path: Path) -> RunInfo:
        signature = self._signature(path)
        cached = self._cache.get(path.name)
        if cached and cached.signature == signature and cached.info.status != "running":
            return cached.info
        try:
            info = read_run_info(path, self.root)
        except OSError as err:  # e.g. a folder this user may not enter
            info = RunInfo.unreadable(path, f"unreadable run files ({err.strerror or err})")
        if info.status == RunStatus.UNKNOWN:
            info = RunInfo.unreadable(path, "no events (logs/metrics.jsonl missing or empty)",
                                      scenario=info.scenario, mode=info.mode,
                                      total=info.total, has_checkpoint=info.has_checkpoint)
        self._cache[path.name] = _Cached(signature, info)
        return info

    def _study_signature(self, folder: Path) -> tuple[Any, ...]:
        """What a study's view is read from: its trial folders' files and its records (stat
        calls only, no parsing)."""
        try:
            trials = sorted(p for p in folder.iterdir() if p.name.startswith("trial_"))
        except OSError:
            trials = []
        return (_stat_key(folder), _stat_key(folder / "best_trial.json"),
                _stat_key(folder / "best_config.json"),
                *((t.name, self._signature(t), _stat_key(RunLayout(t).trial)) for t in trials))

    def study(self, folder: Path) -> StudyView:
        """A study's view, re-read only when one of its files changed or a trial runs (the
        list and the selected study's tabs share it, once a second)."""
        signature = self._study_signature(folder)
        cached = self._study_cache.get(folder)
        if cached is not None and cached[0] == signature and not any(
                t.status == RunStatus.RUNNING for t in cached[1].trials):
            return cached[1]
        view = read_study(folder, self.root)
        self._study_cache[folder] = (signature, view)
        return view

    def _studies(self, tuning: Path) -> list[RunInfo]:
        """tuning/STUDY rows (trials, best value) and one row per trial (STUDY/trial_N)."""
        rows: list[RunInfo] = []
        try:
            folders = sorted(p for p in tuning.iterdir() if p.is_dir() and not p.is_symlink())
        except OSError:
            return rows
        for gone in set(self._study_cache) - set(folders):
            del self._study_cache[gone]
        for folder in folders:
            view = self.study(folder)
            states = [view.outcomes[t.path.name].state if t.path.name in view.outcomes
                      else str(t.status) for t in view.trials]
            counts = ", ".join(f"{states.count(s)} {s}" for s in sorted(set(states)))
            best = (f"; best {view.best.value:.3f} (trial {view.best.trial})"
                    if view.best is not None and view.best.value is not None else "")
            date = max((t.date or 0.0 for t in view.trials), default=None) or None
            rows.append(RunInfo(printable(f"{TUNING_DIR}/{view.name}"), folder,
                                RunStatus.STUDY, date=date,
                                reason=printable(f"{len(view.trials)} trials ({counts}){best}")))
            rows += [replace(t, name=printable(f"{view.name}/{t.path.name}"))
                     for t in view.trials]
        return rows

    def list(self) -> list[RunInfo]:
        """Runs newest first, then the unreadable entries by name."""
        try:
            entries = [p for p in self.root.iterdir() if not p.name.startswith(".")]
            self.error = None
        except OSError as err:
            self.error = f"cannot list {self.root}: {err.strerror or err}"
            entries = []
        studies = [p for p in entries if p.name == TUNING_DIR and p.is_dir()
                   and not p.is_symlink()]
        entries = [p for p in entries if p not in studies]
        runs = [self._read(p) for p in entries]
        trials: dict[str, list[RunInfo]] = {}
        for tuning in studies:
            for row in self._studies(tuning):
                if row.status == RunStatus.STUDY:
                    runs.append(row)
                    trials[row.name] = []
                else:
                    trials[f"{TUNING_DIR}/{row.name.split('/')[0]}"].append(row)
        names = {p.name for p in entries}
        for gone in set(self._cache) - names:
            del self._cache[gone]
        readable = sorted((r for r in runs if r.status != "unreadable"),
                          key=lambda r: (-(r.date or 0.0), r.name))
        unreadable = sorted((r for r in runs if r.status == "unreadable"), key=lambda r: r.name)
        # Each study is followed by its trials, in trial order.
        readable = [row for r in readable for row in [r, *trials.get(r.name, [])]]
        return readable + unreadable


# ---------------------------------------------------------------------- reading, in workers
@dataclass
class RunDetails:
    """Everything the detail tabs show of one run, read from disk in a worker."""

    name: str
    reset: bool
    """A newly selected run: the events start from the beginning of its metrics.jsonl."""
    events: list[Event]
    config: SavedRunConfig | None = None
    config_problem: str | None = None
    summary: Summary | None = None
    timespace: dict[str, np.ndarray | None] | None = None
    files: list[FileEntry] | None = None
    log: list[str] | None = None
    report: str = ""
    aggregate: Aggregate | None = None
    study: StudyView | None = None
    axis: CorridorAxis | None = None
    """The time-space diagrams' distance axis (from the run's scenario), None if unreadable."""
    members: list[str] = field(default_factory=list)
    """A seed group's member runs (from group.json's seeds)."""
    member: str | None = None
    """The member whose time-space diagrams and log a seed group's tabs show."""
    netmap: NetStream | str | None = None
    """The network map stream, or why it cannot be shown; None: not read this time (the
    map tab was not open)."""


ArrayCache = dict[Path, tuple[tuple[int, int] | None, np.ndarray | None]]
StreamCache = dict[Path, tuple[tuple[int, int] | None, NetStream | str]]


def _netmap(path: Path, root: Path, cache: StreamCache) -> NetStream | str:
    """The map stream (or why not), re-read only when its file changed."""
    key = _stat_key(path)
    hit = cache.get(path)
    if hit is not None and hit[0] == key:
        return hit[1]
    result: NetStream | str
    try:
        result = read_stream(path, root)
    except Unreadable as err:
        result = ("no network map in this run (logs/netstate.jsonl is written while training)"
                  if err.reason == "missing" else f"network map unreadable: {err.reason}")
    cache.clear()  # one run's stream at a time: they can be MBs
    cache[path] = (key, result)
    return result


def _timespace(path: Path, root: Path, cache: ArrayCache) -> np.ndarray | None:
    """A time-space diagram, re-read only when its file changed (the tabs refresh every
    second; the arrays are MBs)."""
    key = _stat_key(path)
    hit = cache.get(path)
    if hit is not None and hit[0] == key:
        return hit[1]
    data = read_timespace(path, root)
    cache[path] = (key, data)
    return data


@lru_cache(maxsize=16)
def _axis(scenario: str) -> CorridorAxis | None:
    # Built-in names are fixed; a scenario file read once per browser process is enough
    # for an axis (a run's scenario cannot change under it: resume refuses a changed env).
    return corridor_axis(scenario)


def choose_member(members: list[str], wanted: str | None, finished: list[str]) -> str | None:
    """The member asked for, else the first finished one, else the first."""
    if wanted in members:
        return wanted
    return next((m for m in members if m in finished), members[0] if members else None)


def _read_run_files(details: RunDetails, path: Path, root: Path, cache: ArrayCache,
                    maps: StreamCache | None = None) -> None:
    """The time-space diagrams (with their axis), the log and (with `maps`: the map tab is
    open) the network map stream of one run folder."""
    lay = RunLayout(path)
    if maps is not None:
        details.netmap = _netmap(lay.netstate, root, maps)
    details.timespace = {c: _timespace(lay.timespace(c), root, cache)
                         for c in ("rl", "fixed_time")}
    if details.config is None:
        try:
            details.config = read_config(path, root)
        except Unreadable:
            pass
    if details.config is not None and details.config.env.scenario:
        details.axis = _axis(details.config.env.scenario)
    details.log = log_tail(path, LOG_LINES, root)


def read_details(info: RunInfo, root: Path, tail: JsonlTail | None, reset: bool,
                 cache: ArrayCache | None = None, member: str | None = None,
                 study: Callable[[Path], StudyView] | None = None,
                 maps: StreamCache | None = None) -> RunDetails:
    """Read what the tabs show of `info` (the events since `tail`'s last read); never raises.

    For a seed group, `member` names the seed run whose time-space diagrams, log and map are
    shown (default: the first finished one). The map stream is read only with `maps`."""
    path = info.path
    details = RunDetails(info.name, reset, tail.read() if tail is not None else [])
    details.report = text_tail(report_dir(path.parent, path.name) / "report.md", root,
                               cap=256 * 1024)
    cache = {} if cache is None else cache
    if info.status == RunStatus.GROUP:
        details.aggregate = read_aggregate(path, root)
        # Plain folder names only: a hostile group.json cannot point outside the results.
        details.members = [m for m in group_members(path.parent, path.name)
                           if Path(m).name == m and m not in (".", "..")]
        finished = details.aggregate.finished if details.aggregate is not None else []
        details.member = choose_member(details.members, member, finished)
        if details.member is not None:
            member_path = path.parent / details.member
            if member_path.is_dir():
                _read_run_files(details, member_path, root, cache, maps)
                details.config = None  # the group's overview is the aggregate, not a member
        return details
    if info.status == RunStatus.STUDY:
        details.study = study(path) if study is not None else read_study(path, root)
        return details
    if info.status == RunStatus.UNREADABLE:
        return details
    try:
        details.config = read_config(path, root)
    except Unreadable as err:
        details.config_problem = err.reason
    details.summary = read_summary(path, root)
    _read_run_files(details, path, root, cache, maps)
    details.files = model_files(path, root)
    return details


class Listed(Message):
    """The results folder was listed (in a worker)."""

    def __init__(self, runs: list[RunInfo]) -> None:
        super().__init__()
        self.runs = runs


class DetailsRead(Message):
    """The selected run's files were read (in a worker)."""

    def __init__(self, details: RunDetails) -> None:
        super().__init__()
        self.details = details


class Compared(Message):
    """Two runs' event logs were read for the compare tab (in a worker)."""

    def __init__(self, pair: tuple[str, str], states: list[RunState]) -> None:
        super().__init__()
        self.pair = pair
        self.states = states


# ---------------------------------------------------------------------- the screen
class ResultsScreen(Screen):
    """Browse the runs in `results_dir`: details, live curves, resume and compare."""

    TITLE = "Results"

    BINDINGS = [
        Binding("r", "resume", "Resume", tooltip="Resume the selected run (asks first)"),
        Binding("space", "mark", "Mark", tooltip="Mark or unmark the run for comparison"),
        Binding("c", "compare", "Compare", tooltip="Compare the two marked runs"),
        Binding("slash", "filter", "Filter", key_display="/",
                tooltip="Filter runs by name, scenario, mode or status"),
        Binding("o", "sort", "Sort", tooltip="Sort by date, name, status or best reward"),
        Binding("g", "report", "Report", tooltip="Write a report of the selected run or "
                "group against the baselines (in the background)"),
        Binding("n", "rename", "Rename", show=False, tooltip="Rename the selected run"),
        Binding("d", "delete", "Delete", show=False,
                tooltip="Delete the selected run or group (asks first)"),
        Binding("m", "next_member", "Next seed", show=False,
                tooltip="A seed group's time-space, log and map tabs: show the next seed run"),
        Binding("t", "tensorboard", "TensorBoard", show=False,
                tooltip="The command that opens this run in TensorBoard"),
        Binding("1", "show_tab('overview')", "Tabs", key_display="1-8"),
        Binding("2", "show_tab('curves')", "Curves", show=False),
        Binding("3", "show_tab('timespace')", "Time-space", show=False),
        Binding("4", "show_tab('checkpoints')", "Checkpoints", show=False),
        Binding("5", "show_tab('log')", "Log", show=False),
        Binding("6", "show_tab('compare')", "Compare tab", show=False),
        Binding("7", "show_tab('report')", "Report", show=False),
        Binding("8", "show_tab('map')", "Map", show=False,
                tooltip="Replay the network map recorded during training"),
        Binding("left_square_bracket", "map_step(-1)", "Frame", key_display="[ ]",
                tooltip=MAP_KEYS[0]),
        Binding("right_square_bracket", "map_step(1)", "Next frame", show=False,
                tooltip=MAP_KEYS[0]),
        Binding("left_curly_bracket", "map_step(-10)", "Back 10 frames", show=False,
                key_display="{ }", tooltip=MAP_KEYS[1]),
        Binding("right_curly_bracket", "map_step(10)", "On 10 frames", show=False,
                tooltip=MAP_KEYS[1]),
        Binding("less_than_sign", "map_step(-1000000000)", "First frame", show=False,
                key_display="< >", tooltip=MAP_KEYS[2]),
        Binding("greater_than_sign", "map_step(1000000000)", "Last frame", show=False,
                tooltip=MAP_KEYS[2]),
        Binding("f5", "refresh_now", "Refresh", show=False),
        Binding("escape", "back", "Back"),
    ]

    DEFAULT_CSS = """
    ResultsScreen #runs { height: 35%; min-height: 5; }
    ResultsScreen.-short #runs { height: 30%; }
    ResultsScreen.-narrow #pane-overview > Horizontal { layout: vertical; }
    ResultsScreen.-narrow #config-scroll { width: 1fr; height: auto; max-height: 40%; }
    ResultsScreen.-narrow #summary-box { width: 1fr; height: 1fr; }
    ResultsScreen #filter { display: none; }
    ResultsScreen.-filtering #filter { display: block; }
    ResultsScreen #report-progress { height: auto; max-height: 12; padding: 0 1; }
    ResultsScreen #detail-header { height: 1; padding: 0 1; background: $boost; }
    ResultsScreen #tabs { height: 1fr; }
    ResultsScreen TabPane { padding: 0; }
    ResultsScreen #config-scroll { width: 1fr; min-width: 30; }
    ResultsScreen #summary-box { width: 1fr; }
    ResultsScreen #summary-title { height: auto; padding: 0 1; }
    ResultsScreen #summary { height: 1fr; }
    ResultsScreen #config { padding: 0 1; }
    ResultsScreen #compare-note { height: auto; padding: 0 1; }
    ResultsScreen #checkpoints { height: 1fr; }
    ResultsScreen #log { height: 1fr; }
    ResultsScreen Heatmap { width: 1fr; }
    ResultsScreen #ts-rl { margin-right: 1; }
    ResultsScreen #ts-pair { height: 1fr; }
    ResultsScreen .member { height: auto; padding: 0 1; color: $text-muted; display: none; }
    ResultsScreen.-group .member { display: block; }
    ResultsScreen #report { padding: 0 1; }
    """

    def __init__(self, results_dir: Path | str, *, refresh_interval: float = REFRESH_S,
                 name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.results_dir = Path(results_dir)
        self.refresh_interval = refresh_interval
        self.sub_title = str(self.results_dir)
        self.lister = RunLister(self.results_dir)
        self.runs: list[RunInfo] = []
        self.infos: dict[str, RunInfo] = {}
        self.marked: list[str] = []
        self.selected: str | None = None
        self.state: RunState | None = None
        self.compared: tuple[str, str] | None = None
        self.details: RunDetails | None = None
        self._tail: JsonlTail | None = None
        self._reset = False
        self._rows: list[tuple[Any, ...]] = []
        self._names: list[str] = []
        self._widths: list[int] = []
        self._log: list[str] | None = None
        self._timer: Timer | None = None
        self._io: Worker | None = None
        self._again = False
        self._arrays: ArrayCache = {}  # used by one worker at a time
        self._maps: StreamCache = {}  # likewise
        self.map_stream: NetStream | None = None
        self.map_index = 0
        """The map frame shown; kept at the last one while it is (a running run's map
        follows training)."""
        self.all_runs: list[RunInfo] = []
        self.filter_text = ""
        self.sort_key = SORTS[0]
        self.reporting: str | None = None
        """The run or group a report is being written for (one at a time)."""
        self.member: str | None = None
        """The seed run a group's time-space and log tabs show (None: the first finished)."""

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="filter: part of a name, scenario, mode or status (esc clears)",
                    id="filter", compact=True)
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Static("", id="detail-header")
        with TabbedContent(id="tabs", initial="pane-overview"):
            with TabPane("1 Overview", id="pane-overview"), Horizontal():
                with VerticalScroll(id="config-scroll"):
                    yield Static("", id="config")
                with Vertical(id="summary-box"):
                    yield Static("", id="summary-title")
                    yield DataTable(id="summary", cursor_type="row", show_cursor=False)
            with TabPane("2 Curves", id="pane-curves"), Horizontal():
                yield SeriesPlot("reward per decision step", id="curve-reward")
                yield SeriesPlot("queue (veh)", id="curve-queue")
            with TabPane("3 Time-space", id="pane-timespace"), Vertical():
                yield Static("", id="ts-member", classes="member")
                with Horizontal(id="ts-pair"):
                    yield Heatmap("RL (DQN)", id="ts-rl")
                    yield Heatmap("fixed time", id="ts-fixed")
                yield ColourScale(id="ts-scale")
            with TabPane("4 Checkpoints", id="pane-checkpoints"):
                yield DataTable(id="checkpoints", cursor_type="row")
            with TabPane("5 Log", id="pane-log"), Vertical():
                yield Static("", id="log-member", classes="member")
                yield Log(id="log", max_lines=LOG_LINES * 2)
            with TabPane("6 Compare", id="pane-compare"):
                yield Static("mark two runs with space, then press c", id="compare-note")
                with Horizontal():
                    yield SeriesPlot("eval reward per step", id="compare-eval")
                    yield SeriesPlot("training reward per step", id="compare-episodes")
            with TabPane("7 Report", id="pane-report"), VerticalScroll():
                yield Static("", id="report-progress")
                yield Markdown("", id="report")
            with TabPane("8 Map", id="pane-map"), Vertical():
                yield Static("", id="map-member", classes="member")
                yield MapPane(id="map-pane")
        yield Footer()

    def on_mount(self) -> None:
        runs = self.query_one("#runs", DataTable)
        for key, label in RUN_COLUMNS:
            runs.add_column(label, key=key)
        self._widths = _widths([])
        summary = self.query_one("#summary", DataTable)
        for key, label in zip(("metric", "rl", "fixed", "change"), SUMMARY_LABELS,
                              strict=True):
            summary.add_column(label, key=key)
        ckpt = self.query_one("#checkpoints", DataTable)
        for key, label in (("file", "file"), ("size", "size"), ("time", "modified (UTC)")):
            ckpt.add_column(label, key=key)
        self._adapt()
        self._tick()
        runs.focus()
        self._timer = self.set_interval(self.refresh_interval, self._tick)

    def on_screen_suspend(self) -> None:
        if self._timer is not None:
            self._timer.pause()

    def on_resize(self) -> None:
        self._adapt()

    def _adapt(self) -> None:
        """Fit the terminal: at narrow widths the run table keeps name, steps, best, status
        and note, and the overview stacks its panels; short terminals shrink the table."""
        width, height = self.app.size
        narrow = width < NARROW
        changed = narrow != self.has_class("-narrow")
        self.set_class(narrow, "-narrow")
        self.set_class(height < SHORT, "-short")
        if changed and self.runs:
            self._names = []  # rebuild the table with the other columns
            self._show_runs(self.runs)

    def _columns(self) -> tuple[tuple[str, str], ...]:
        if self.has_class("-narrow"):
            return tuple(c for c in RUN_COLUMNS if c[0] not in NARROW_HIDDEN)
        return RUN_COLUMNS

    def on_screen_resume(self) -> None:
        if self._timer is not None:
            self._timer.resume()
            self._tick()

    # ------------------------------------------------------------------ the run list
    def _row(self, info: RunInfo) -> tuple[Any, ...]:
        unreadable = info.status == RunStatus.UNREADABLE
        if unreadable:
            note = short_reason(info.reason)
        elif info.status == RunStatus.RUNNING and info.holder:
            note = f"pid {info.holder}"
        elif info.resumable:
            note = "resumable (r)" if info.has_checkpoint else "from step 0 (r)"
        elif info.status in (RunStatus.PRUNED, RunStatus.STUDY):
            note = info.reason or ""
        else:
            note = ""
        mark = "● " if info.name in self.marked else "  "
        return (
            Text(mark + info.name, style="bold magenta" if mark.strip() else ""),
            plain(info.scenario),
            plain(info.mode),
            _steps(info),
            _num(info.best_reward),
            "-" if unreadable else fmt_time(info.date),
            Text(info.status, style=STATUS_STYLE.get(info.status, "")),
            Text(printable(note)),
        )

    def _show_runs(self, runs: list[RunInfo]) -> None:
        """Update the table to `runs`, keeping the highlighted run highlighted."""
        self.runs = runs
        self.infos = {r.name: r for r in self.runs}
        self.marked = [m for m in self.marked if m in self.infos]
        columns = self._columns()
        keys = [key for key, _ in columns]
        index = [k for k, (key, _) in enumerate(RUN_COLUMNS) if key in keys]
        rows = [tuple(row[k] for k in index) for row in map(self._row, self.runs)]
        table = self.query_one("#runs", DataTable)
        keep = self.selected
        names = [r.name for r in self.runs]
        widths = _widths(rows, columns)
        if names == self._names and widths == self._widths:
            for name, new, old in zip(names, rows, self._rows, strict=True):
                for (key, _), a, b in zip(columns, new, old, strict=True):
                    if a != b:
                        table.update_cell(name, key, a)
        else:
            # Explicit widths: rows arrive from a worker while the table is on screen, and
            # DataTable's measured widths would not reach lines it already rendered.
            table.clear(columns=True)
            for (key, label), width in zip(columns, widths, strict=True):
                table.add_column(label, key=key, width=width)
            for name, row in zip(names, rows, strict=True):
                table.add_row(*row, key=name)
            if keep in self.infos:
                table.move_cursor(row=table.get_row_index(keep), animate=False)
        self._widths = widths
        self._rows = rows
        self._names = names
        if not rows:
            self._show_nothing(self.lister.error or f"no runs in {self.results_dir} yet")
        elif self.selected is None or self.selected not in self.infos:
            index = min(table.cursor_row, len(rows) - 1) if table.cursor_row >= 0 else 0
            self.select(names[max(index, 0)])

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id != "runs" or event.row_key is None:
            return
        self.refresh_bindings()  # what works depends on the highlighted run
        name = event.row_key.value
        # Rebuilding the table posts highlights of rows the cursor has already left.
        if name is not None and name != self.selected and name == self._cursor_name():
            self.select(name)

    def _cursor_name(self) -> str | None:
        table = self.query_one("#runs", DataTable)
        if not self.runs or table.cursor_row < 0 or table.cursor_row >= len(self.runs):
            return self.selected
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except Exception:  # the table changed under the cursor
            return self.selected
        return key.value

    # ------------------------------------------------------------------ the selected run
    def select(self, name: str) -> None:
        """Show run `name` (its files are read in a worker; `on_details_read` draws them)."""
        info = self.infos.get(name)
        if info is None:
            return
        self.selected = name
        self.member = None
        self.state = RunState() if info.status not in ("unreadable", "group") else None
        self.details = None
        self._log = None
        self.map_stream = None  # a new run's replay starts at its latest frame
        self.query_one("#map-pane", MapPane).message("")
        self._tail = (JsonlTail(RunLayout(info.path).metrics, self.results_dir)
                      if self.state is not None else None)
        self._reset = True
        self._render_header(info)
        if info.status == RunStatus.UNREADABLE:
            self._clear_details()
            self.query_one("#config", Static).update(Text(
                f"{info.name} cannot be shown: {info.reason}", style="yellow"))
        self._tick()

    def _show_nothing(self, message: str) -> None:
        self.selected = None
        self.state = None
        self.details = None
        self._tail = None
        self.query_one("#detail-header", Static).update(Text(message, style="dim"))
        self._clear_details()

    def _clear_details(self, keep_log: bool = False) -> None:
        if not keep_log:
            self._log = None
            self.query_one("#log", Log).clear()
        self.query_one("#config", Static).update("")
        self._set_summary("", None, None)
        for plot in ("#curve-reward", "#curve-queue"):
            self.query_one(plot, SeriesPlot).set_lines([])
        self.query_one("#ts-rl", Heatmap).set_data(None)
        self.query_one("#ts-fixed", Heatmap).set_data(None)
        self.query_one("#checkpoints", DataTable).clear()

    def _render_report(self, info: RunInfo, details: RunDetails) -> None:
        """report/report.md of a run or seed group (written by `arz-tui report`)."""
        text = printable(details.report, 256 * 1024) if details.report else ""
        if not text:
            text = (f"No report for {info.name} yet. Write one with\n\n"
                    f"    arz-tui report {info.name} --results-dir {self.results_dir}\n")
        self.query_one("#report", Markdown).update(text)

    def _render_group(self, info: RunInfo, details: RunDetails) -> None:
        """A seed group: its members, the aggregate over seeds as a table, and its learning
        curve (mean over seeds per decision step, the band only from three seeds)."""
        self._clear_details(keep_log=True)  # the member's log: redrawn only when it changed
        agg = details.aggregate
        if agg is None:
            self.query_one("#config", Static).update(Text(printable(
                f"{info.name}: {info.reason}\nno aggregate.json yet (the seeds are still "
                "training?)", 5000)))
            self._render_report(info, details)
            return
        n = len(agg.finished)
        lines = [f"seed group {info.name}: {len(agg.members)} runs"
                 + ("" if agg.complete else " (incomplete)"),
                 f"seeds      {', '.join(map(str, agg.seeds))}",
                 f"finished   {n} of {len(agg.members)}"]
        for member in agg.members:
            lines.append(f"  {member}" + ("" if member in agg.finished else "  (not finished)"))
        lines += ["", "values: mean over the finished seeds ± the 95 % interval"
                  + (" (Student's t: wide with few seeds)" if n < 5 else "")]
        self.query_one("#config", Static).update(Text(printable("\n".join(lines), 5000)))

        def means(controller: str) -> dict[str, Any]:
            return {k: m.mean for k, m in agg.metrics.get(controller, {}).items()}

        self._set_summary(f"aggregate over {n} seed{'s' if n != 1 else ''} (aggregate.json)",
                          means("rl"), means("fixed_time"))
        table = self.query_one("#summary", DataTable)
        for key, _label, spec, _lower in SUMMARY_METRICS:  # mean ± interval in the cells
            for column, controller in (("rl", "rl"), ("fixed", "fixed_time")):
                m = agg.metrics.get(controller, {}).get(key)
                if m is not None and m.mean is not None and key in table.rows:
                    cell = _num(m.mean, spec) + (f" ± {_num(m.ci95, spec)}"
                                                 if m.ci95 and (m.n or n) > 1 else "")
                    table.update_cell(key, column, cell)
        mean, low, high = Series(), Series(), Series()
        for point in agg.eval_curve:
            mean.add(point.step, point.mean)
            if point.ci95 is not None and point.mean is not None and point.n >= 3:
                low.add(point.step, point.mean - point.ci95)
                high.add(point.step, point.mean + point.ci95)
        lines_ = [Line(f"mean over {n} seeds", mean, "cyan")]
        if len(low):
            lines_ += [Line("95 % interval", low, "blue"), Line("", high, "blue")]
        self.query_one("#curve-reward", SeriesPlot).set_lines(lines_)
        self._render_report(info, details)

    def _render_study(self, info: RunInfo, details: RunDetails) -> None:
        """A tuning study: its objective, best trial and configuration, and every trial with
        how it ended (pruned trials say so; they are not resumable runs)."""
        self._clear_details()
        study = details.study
        if study is None:
            return
        lines = [f"tuning study {study.name}: {info.reason}"]
        if study.best is not None:
            best = study.best
            lines += [f"objective  {best.objective}",
                      f"best       trial {best.trial}: {_num(best.value, '{:.4f}')}"]
            lines += [f"  {key:<24} {value}" for key, value in best.params.items()]
        if study.best_config is not None:
            lines += ["", f"best config {study.best_config}", "train it with:",
                      f"  arz-tui run --config {study.best_config} --name {study.name}_best"]
        self.query_one("#config", Static).update(Text(printable("\n".join(lines), 8000)))
        self.query_one("#summary-title", Static).update(Text("trials", style="bold"))
        table = self.query_one("#summary", DataTable)
        table.clear()
        self._summary_labels(("trial", "outcome", "value", "steps"))
        for trial in study.trials:
            outcome = study.outcomes.get(trial.path.name)
            state = outcome.state if outcome is not None else str(trial.status)
            if outcome is not None and outcome.pruned_at is not None:
                state += f" at {outcome.pruned_at:,}"
            value = outcome.value if outcome is not None else None
            table.add_row(trial.path.name, Text(state, style=STATUS_STYLE.get(
                          state.split()[0], "green" if state == "complete" else "")),
                          _num(value, "{:.4f}"), _steps(trial))

    def _render_details(self, info: RunInfo, details: RunDetails) -> None:
        self._render_header(info)
        self.set_class(info.status == RunStatus.GROUP, "-group")
        if info.status == RunStatus.GROUP:
            self._render_group(info, details)
            self._render_member(details)
            self._render_timespace(details)
            self._render_log(details)
            self._render_map(details)
            return
        if info.status == RunStatus.STUDY:
            self._render_study(info, details)
            self.query_one("#map-pane", MapPane).message(
                "a tuning study has no map of its own: select one of its trials")
            return
        if info.status == RunStatus.UNREADABLE:
            self._clear_details()
            self.query_one("#config", Static).update(Text(
                f"{info.name} cannot be shown: {info.reason}", style="yellow"))
            return
        self._render_overview(info, details)
        self._render_summary(details)
        self._render_curves()
        self._render_timespace(details)
        self._render_checkpoints(details)
        self._render_log(details)
        self._render_report(info, details)
        self._render_map(details)

    def _render_header(self, info: RunInfo) -> None:
        text = Text()
        text.append(info.name, style="bold")
        text.append("  ")
        text.append(info.status, style=STATUS_STYLE.get(info.status, ""))
        if info.status == RunStatus.UNREADABLE:
            text.append(f"  {info.reason}")
        else:
            state = self.state
            step = state.step if state and state.step else info.steps
            total = (state.total if state and state.total else None) or info.total
            if step is not None:
                text.append(f"  step {step:,}" + (f"/{total:,}" if total else ""))
            text.append(f"  started {fmt_time(info.date)} UTC")
            if state and state.message:
                text.append(f"  {printable(state.message)}", style="italic")
        if info.name in self.marked:
            text.append("  (marked)", style="magenta")
        self.query_one("#detail-header", Static).update(text)

    def _render_overview(self, info: RunInfo, details: RunDetails) -> None:
        config = details.config
        training = config.training.model_dump(mode="json") if config else {}
        env = config.env.model_dump(mode="json") if config else {}

        def section(key: str) -> dict[str, Any]:
            value = training.get(key)
            return value if isinstance(value, dict) else {}

        dqn, ckpt, evals = (section("dqn_hyperparams"), section("checkpoint_strategy"),
                            section("evaluation_strategy"))
        state = self.state or RunState()

        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()

        def row(label: str, value: Any) -> None:
            table.add_row(label, plain(value))

        total = training.get("total_timesteps", info.total)
        row("scenario", env.get("scenario", info.scenario))
        row("mode", training.get("mode", info.mode))
        row("total steps", f"{total:,}" if isinstance(total, int) else total)
        row("progress", _steps(info))
        row("device", training.get("device", state.device or None))
        row("seed", config.seed if config and config.seed is not None
            else training.get("seed"))
        row("started", f"{fmt_time(info.date)} UTC")
        row("last event", f"{fmt_time(state.updated)} UTC" if state.updated else None)
        if state.best:
            row("best eval", f"{_num(state.best.get('mean_reward'))} per episode at step "
                             f"{_num(state.best.get('step', 0), '{:,.0f}')}")
        elif info.best_reward is not None:
            row("best eval", f"{_num(info.best_reward)} per episode")
        if dqn:
            row("learning rate", dqn.get("learning_rate"))
            row("buffer / batch", f"{dqn.get('buffer_size', '-')} / {dqn.get('batch_size', '-')}")
            row("gamma", dqn.get("gamma"))
            row("train freq", dqn.get("train_freq"))
            row("target update", dqn.get("target_update_interval"))
            row("learning starts", dqn.get("learning_starts"))
            row("exploration", f"{dqn.get('exploration_initial_eps', '-')} → "
                               f"{dqn.get('exploration_final_eps', '-')} over "
                               f"{dqn.get('exploration_fraction', '-')} of the run")
            row("network", dqn.get("net_arch"))
        if env:
            row("reward", env.get("reward"))
            row("observation", env.get("observation"))
            row("demand", env.get("demand_level"))
            row("decision interval", f"{env.get('decision_interval_s', '-')} s")
            row("episode", f"{env.get('episode_s', '-')} s")
        if ckpt:
            row("checkpoints", f"every {ckpt.get('save_freq', '-')} steps, keep "
                               f"{ckpt.get('max_checkpoints', '-')}")
        if evals:
            row("evaluation", f"every {evals.get('eval_freq', '-')} steps, "
                              f"{evals.get('n_eval_episodes', '-')} episodes")
        if config is None:
            row("config", f"training_config.json unreadable: {details.config_problem}"
                if details.config_problem else "training_config.json missing")
        self.query_one("#config", Static).update(table)

    def _render_summary(self, details: RunDetails) -> None:
        summary = details.summary
        if summary is not None and summary.rl and summary.fixed_time:
            title = (f"final evaluation at step {summary.step:,}, {summary.n_episodes} "
                     "episodes (summary.json)")
            self._set_summary(title, summary.rl, summary.fixed_time)
            return
        state = self.state
        if state and state.evals:
            last = state.evals[-1]
            title = ("last evaluation during training, at step "
                     f"{_num(last.get('step'), '{:,}')}")
            self._set_summary(title, last, state.baseline or {})
        elif state and state.baseline:
            self._set_summary("no RL evaluation yet; fixed-time baseline", {}, state.baseline)
        else:
            self._set_summary("no evaluation yet", None, None)

    def _summary_labels(self, labels: tuple[str, ...]) -> None:
        table = self.query_one("#summary", DataTable)
        for key, label in zip(("metric", "rl", "fixed", "change"), labels, strict=True):
            table.columns[ColumnKey(key)].label = Text(label)
        table.refresh()

    def _set_summary(self, title: str, rl: dict[str, Any] | None,
                     base: dict[str, Any] | None) -> None:
        self.query_one("#summary-title", Static).update(Text(title, style="bold"))
        table = self.query_one("#summary", DataTable)
        table.clear()
        self._summary_labels(SUMMARY_LABELS)
        if rl is None and base is None:
            return
        rl, base = rl or {}, base or {}
        for key, label, spec, lower in SUMMARY_METRICS:
            a, b = rl.get(key), base.get(key)
            change: Text | str = "-"
            if (isinstance(a, int | float) and isinstance(b, int | float)
                    and math.isfinite(a) and math.isfinite(b) and b != 0):
                pct = 100.0 * (a - b) / abs(b)
                better = pct < 0 if lower else pct > 0
                change = Text(f"{pct:+.1f}%", style="green" if better else "red")
            table.add_row(label, _num(a, spec), _num(b, spec), change, key=key)

    def _render_curves(self) -> None:
        state = self.state or RunState()
        base = state.baseline
        ref_reward = base.get("mean_reward")  # per step, as the lines
        ref_queue = base.get("mean_queue_veh")
        self.query_one("#curve-reward", SeriesPlot).set_lines(
            [Line("eval", state.eval_reward, "cyan"),
             Line("training episodes", state.episode_reward, "yellow")],
            [("fixed time", ref_reward, "red")] if _finite(ref_reward) else None)
        self.query_one("#curve-queue", SeriesPlot).set_lines(
            [Line("eval mean queue", state.eval_queue, "cyan"),
             Line("episode mean queue", state.episode_queue, "yellow")],
            [("fixed time", ref_queue, "red")] if _finite(ref_queue) else None)

    def _render_timespace(self, details: RunDetails) -> None:
        arrays = details.timespace or {}
        self.query_one("#ts-rl", Heatmap).set_data(arrays.get("rl"), details.axis)
        self.query_one("#ts-fixed", Heatmap).set_data(arrays.get("fixed_time"), details.axis)

    def _render_member(self, details: RunDetails) -> None:
        """A seed group's time-space and log tabs show one member: say which, and how to
        see another."""
        if details.member is None:
            text = "no member run of this group to show yet"
        else:
            k = details.members.index(details.member) + 1
            text = (f"seed run {details.member} ({k} of {len(details.members)})"
                    + ("  [m: next seed]" if len(details.members) > 1 else ""))
        for widget_id in ("#ts-member", "#log-member", "#map-member"):
            self.query_one(widget_id, Static).update(Text(text))

    def _render_checkpoints(self, details: RunDetails) -> None:
        table = self.query_one("#checkpoints", DataTable)
        table.clear()
        for entry in details.files or []:
            table.add_row(Text(entry.path), fmt_size(entry.size), fmt_time(entry.mtime),
                          key=entry.path)

    def _render_log(self, details: RunDetails) -> None:
        lines = details.log if details.log is not None else []
        if lines == self._log:
            return
        self._log = lines
        log = self.query_one("#log", Log)
        log.clear()
        log.write_lines(lines if lines else ["(no logs/training.log)"])

    def _render_map(self, details: RunDetails) -> None:
        """The replay: the stream read (when the map tab asked for it), at the chosen frame."""
        stream = details.netmap
        if stream is None:
            return  # not read this time: the tab shows what it showed
        pane = self.query_one("#map-pane", MapPane)
        if isinstance(stream, str):
            self.map_stream = None
            pane.message(stream)
            return
        old = self.map_stream
        at_end = old is None or self.map_index >= len(old.frames) - 1
        self.map_stream = stream
        if at_end:
            self.map_index = len(stream.frames) - 1
        self._draw_map_frame()

    def _draw_map_frame(self) -> None:
        stream = self.map_stream
        pane = self.query_one("#map-pane", MapPane)
        if stream is None:
            return
        n = len(stream.frames)
        damaged = f"  ({stream.skipped} damaged lines skipped)" if stream.skipped else ""
        if n == 0:
            pane.show(stream.header, None, f"network map: no frames recorded yet{damaged}")
            return
        self.map_index = min(max(self.map_index, 0), n - 1)
        frame = stream.frames[self.map_index]
        pane.show(stream.header, frame,
                  f"frame {self.map_index + 1}/{n}  step {frame.step:,}  t {frame.t_s:,.0f} s "
                  f"of the episode  [ ] {{ }} < >: move{damaged}")

    def action_map_step(self, frames: int) -> None:
        if self.map_stream is None or not self.map_stream.frames:
            return
        self.map_index = min(max(self.map_index + frames, 0), len(self.map_stream.frames) - 1)
        self._draw_map_frame()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.refresh_bindings()  # the map's keys work in its tab only
        if event.pane.id == "pane-map":
            self._tick()  # read the stream now, not at the next refresh

    def _map_tab(self) -> bool:
        return self.query_one("#tabs", TabbedContent).active == "pane-map"

    # ------------------------------------------------------------------ live updates
    def _tick(self) -> None:
        """List the folder and read the selected run in a worker thread (a slow disk, a FIFO
        or a big running run never stalls the UI); the results arrive as messages."""
        if self._io is not None and not self._io.is_finished:
            self._again = True
            return
        self._again = False
        info = self.infos.get(self.selected) if self.selected else None
        tail, reset = self._tail, self._reset
        self._reset = False
        member = self.member
        maps = self._maps if self._map_tab() else None
        self._io = self.run_worker(lambda: self._read_folder(info, tail, reset, member, maps),
                                   name="read-results", group="read-results", thread=True,
                                   exit_on_error=False)

    def _read_folder(self, info: RunInfo | None, tail: JsonlTail | None, reset: bool,
                     member: str | None = None, maps: StreamCache | None = None) -> None:
        """In the worker: list, then read the selected run (as it was when asked)."""
        runs = self.lister.list()
        self.post_message(Listed(runs))
        if info is not None:
            current = next((r for r in runs if r.name == info.name), None)
            if current is not None:
                self.post_message(DetailsRead(read_details(current, self.results_dir, tail,
                                                           reset, self._arrays, member,
                                                           self.lister.study, maps)))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is self._io and event.worker.is_finished and self._again \
                and self.is_attached:
            self._tick()

    def on_listed(self, message: Listed) -> None:
        if self.is_attached:
            self.all_runs = message.runs
            self._show_runs(self._visible())

    def _visible(self) -> list[RunInfo]:
        """The listed runs that match the filter, in the chosen order."""
        words = self.filter_text.lower().split()
        runs = [r for r in self.all_runs
                if all(any(w in str(v or "").lower()
                           for v in (r.name, r.scenario, r.mode, r.status)) for w in words)]
        if self.sort_key == "name":
            runs.sort(key=lambda r: r.name.lower())
        elif self.sort_key == "status":
            runs.sort(key=lambda r: (str(r.status), r.name.lower()))
        elif self.sort_key == "best reward":
            runs.sort(key=lambda r: (r.best_reward is None, -(r.best_reward or 0.0)))
        return runs  # "date": the lister's order, newest first and unreadable entries last

    def on_details_read(self, message: DetailsRead) -> None:
        details = message.details
        info = self.infos.get(details.name)
        if details.name != self.selected or info is None or not self.is_attached:
            return  # the user moved on meanwhile
        if details.reset and self.state is not None:
            self.state = RunState()
        if self.state is not None:
            for event in details.events:
                try:
                    self.state.apply(event)
                except (TypeError, ValueError):
                    continue  # an event of the right kind with a foreign payload
        self.details = details
        self._render_details(info, details)

    def action_refresh_now(self) -> None:
        self._tick()

    # ------------------------------------------------------------------ actions
    def action_show_tab(self, tab: str) -> None:
        if tab in TABS:
            self.query_one("#tabs", TabbedContent).active = f"pane-{tab}"

    def action_back(self) -> None:
        if self.has_class("-filtering"):
            self._end_filter(clear=True)
            return
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    # ------------------------------------------------------------------ filter, sort
    def action_filter(self) -> None:
        self.add_class("-filtering")
        self.query_one("#filter", Input).focus()

    def _end_filter(self, clear: bool) -> None:
        box = self.query_one("#filter", Input)
        if clear:
            box.value = ""
            self.filter_text = ""
            self.remove_class("-filtering")
            self._show_runs(self._visible())
        self.query_one("#runs", DataTable).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.filter_text = event.value
            self._show_runs(self._visible())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self._end_filter(clear=not event.value.strip())

    def action_sort(self) -> None:
        self.sort_key = SORTS[(SORTS.index(self.sort_key) + 1) % len(SORTS)]
        self._show_runs(self._visible())
        self.notify(f"sorted by {self.sort_key}" + (" (newest first)" if self.sort_key == "date"
                                                    else ""))

    # ------------------------------------------------------------------ manage runs
    def _selected_info(self) -> RunInfo | None:
        name = self._cursor_name()
        return self.infos.get(name) if name else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Only what works on the selected run now (the footer hides the rest)."""
        if action == "map_step":
            return (self.is_mounted and self._map_tab()) or None
        if action == "next_member":
            return bool(self.details is not None and len(self.details.members) > 1) or None
        if action in ("delete", "rename", "report"):
            info = self._selected_info()
            if info is None:
                return None
            if action in ("delete", "rename"):
                return info.status != RunStatus.RUNNING or None
            if action == "report":
                return (self.reporting is None and info.status in ("finished", "group")) \
                    or None
        return True

    def action_delete(self) -> None:
        info = self._selected_info()
        if info is None:
            return
        self._plan_delete(info.name)

    @work(thread=True, exclusive=True, group="manage")
    def _plan_delete(self, name: str) -> None:
        from arz_tui.runstore.manage import folder_bytes, group_members

        members = group_members(self.results_dir, name)
        size = sum(folder_bytes(self.results_dir / n) for n in [name, *members])
        self.app.call_from_thread(self._confirm_delete, name, members, size)

    def _confirm_delete(self, name: str, members: list[str], size: int) -> None:
        what = f"run {name}" if not members else (
            f"seed group {name} and its {len(members)} runs ({', '.join(members)})")
        question = (f"Delete {what}?\n{fmt_size(size)} in {self.results_dir}; this cannot be "
                    "undone.")

        def answer(yes: bool | None) -> None:
            if yes:
                self._delete(name)

        self.app.push_screen(ConfirmScreen(escape(question), "Delete"), answer)

    @work(thread=True, exclusive=True, group="manage")
    def _delete(self, name: str) -> None:
        from arz_tui.errors import ArzError
        from arz_tui.runstore.manage import delete_run

        try:
            gone = delete_run(self.results_dir, name)
        except (ArzError, OSError) as err:
            self.app.call_from_thread(self.notify, escape(f"cannot delete {name}: {err}"),
                                      severity="error")
            return
        self.app.call_from_thread(self._after_change, f"deleted {', '.join(gone)}")

    def _after_change(self, message: str) -> None:
        self.notify(escape(message))
        self.selected = None
        self._tick()

    def action_rename(self) -> None:
        info = self._selected_info()
        if info is None:
            return

        def answer(new: str | None) -> None:
            if new and new != info.name:
                self._rename(info.name, new)

        self.app.push_screen(PromptScreen(escape(f"Rename {info.name} to:"), info.name), answer)

    @work(thread=True, exclusive=True, group="manage")
    def _rename(self, name: str, new: str) -> None:
        from arz_tui.errors import ArzError
        from arz_tui.runstore.manage import rename_run

        try:
            rename_run(self.results_dir, name, new)
        except (ArzError, OSError) as err:
            self.app.call_from_thread(self.notify, escape(f"cannot rename {name}: {err}"),
                                      severity="error")
            return
        self.app.call_from_thread(self._after_change, f"renamed {name} to {new}")

    def action_next_member(self) -> None:
        details = self.details
        if details is None or not details.members:
            return
        k = details.members.index(details.member) if details.member in details.members else -1
        self.member = details.members[(k + 1) % len(details.members)]
        self._log = None
        self.map_stream = None
        self._tick()

    def action_tensorboard(self) -> None:
        info = self._selected_info()
        if info is None:
            return
        show_tensorboard_hint(self.app, info.path)

    # ------------------------------------------------------------------ report
    def action_report(self) -> None:
        info = self._selected_info()
        if info is None or self.reporting is not None:
            return
        self.reporting = info.name
        self.refresh_bindings()
        self.action_show_tab("report")
        self.query_one("#report-progress", Static).update(
            f"writing the report of {escape(info.name)}: evaluating it and the five baselines "
            "on seeded episodes (a few minutes)...")
        self._write_report(info.name)

    @work(thread=True, exclusive=True, group="report")
    def _write_report(self, name: str) -> None:
        """`arz-tui report NAME` as a child process (torch and the simulator stay out of the
        UI); its progress lines are shown as they come."""
        command = [sys.executable, "-m", "arz_tui.cli", "report", name, "--results-dir",
                   str(self.results_dir)]
        lines: list[str] = []
        try:
            proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
        except OSError as err:
            self.app.call_from_thread(self._report_done, name, 2, [str(err)])
            return
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip():
                lines.append(printable(line.rstrip(), 300))
                self.app.call_from_thread(self._report_progress, name, lines[-8:])
        self.app.call_from_thread(self._report_done, name, proc.wait(), lines)

    def _report_progress(self, name: str, lines: list[str]) -> None:
        self.query_one("#report-progress", Static).update(Text(
            f"writing the report of {name}:\n" + "\n".join(lines)))

    def _report_done(self, name: str, code: int, lines: list[str]) -> None:
        self.reporting = None
        self.refresh_bindings()
        if code == 0:
            self.query_one("#report-progress", Static).update(Text(f"report of {name} written"))
            self.notify(escape(f"report of {name} written"), title="report")
        else:
            last = lines[-1] if lines else f"exit {code}"
            self.query_one("#report-progress", Static).update(Text(
                f"the report of {name} failed:\n" + "\n".join(lines[-8:])))
            self.notify(escape(last), title="report failed", severity="error", timeout=15)
        self._reset = True
        self._tick()

    def action_resume(self) -> None:
        name = self._cursor_name()
        info = self.infos.get(name) if name else None
        if info is None:
            self.notify("no run selected", severity="warning")
            return
        if info.resumable:
            self.post_message(ResumeRequested(info.name, self.results_dir))  # the app asks
            return
        why = {
            "finished": "it has finished",
            "running": "it is still running",
            "failed": "it failed; only interrupted runs resume",
            "unreadable": f"it is unreadable ({info.reason})",
            "group": "it is a seed group",
        }.get(info.status, f"its status is {info.status}")
        self.notify(escape(f"cannot resume {info.name}: {why}"), severity="warning")

    def action_mark(self) -> None:
        name = self._cursor_name()
        info = self.infos.get(name) if name else None
        if info is None:
            return
        if info.status == "unreadable":
            self.notify(escape(f"cannot compare {info.name}: it is unreadable"),
                        severity="warning")
            return
        if name in self.marked:
            self.marked.remove(name)
        else:
            self.marked.append(name)
            if len(self.marked) > 2:
                dropped = self.marked.pop(0)
                self.notify(escape(f"unmarked {dropped}: compare takes two runs"))
        self._show_runs(self.runs)
        self._render_header(info)

    def action_compare(self) -> None:
        pair: list[str] = list(self.marked)
        cursor = self._cursor_name()
        if len(pair) == 1 and cursor and cursor != pair[0]:
            info = self.infos.get(cursor)
            if info is not None and info.status != "unreadable":
                pair.append(cursor)
        if len(pair) != 2:
            self.notify("mark two runs with space, then press c", severity="warning")
            return
        paths = [self.infos[name].path for name in pair]
        root = self.results_dir
        self.run_worker(lambda: self.post_message(Compared(
            (pair[0], pair[1]), [load_state(p, root) for p in paths])),
            name="compare", group="compare", thread=True, exit_on_error=False)

    def on_compared(self, message: Compared) -> None:
        pair, states = message.pair, message.states
        colours = ("cyan", "magenta")
        self.query_one("#compare-eval", SeriesPlot).set_lines(
            [Line(name, state.eval_reward, colour)
             for name, state, colour in zip(pair, states, colours, strict=True)])
        self.query_one("#compare-episodes", SeriesPlot).set_lines(
            [Line(name, state.episode_reward, colour)
             for name, state, colour in zip(pair, states, colours, strict=True)])
        note = Text("comparing ")
        note.append(pair[0], style="bold cyan")
        note.append(" and ")
        note.append(pair[1], style="bold magenta")
        self.query_one("#compare-note", Static).update(note)
        self.compared = (pair[0], pair[1])
        self.action_show_tab("compare")
