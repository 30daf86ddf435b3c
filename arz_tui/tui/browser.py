"""The results browser: every run in a results folder, its details, live updates, compare.

The top half lists the runs (newest first); the bottom half shows the highlighted run in tabs:
overview (config and RL vs fixed-time evaluation), curves, time-space diagrams, checkpoints,
log, and a comparison of two marked runs. A timer re-lists the folder about once a second
(re-reading only runs whose files changed) and tails the highlighted run's metrics.jsonl, so
a run started with `arz-tui --batch` in another terminal appears and its curves grow live.

Nothing a folder contains can crash the screen: half-written, corrupt and foreign entries
are listed as "unreadable" with the reason, and no file outside the results folder is read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import (
    DataTable,
    Footer,
    Header,
    Log,
    Markdown,
    Static,
    TabbedContent,
    TabPane,
)
from textual.worker import Worker, WorkerState

from arz_tui.runstore import Event, JsonlTail, RunLayout
from arz_tui.runstore.reader import (
    RunInfo,
    log_tail,
    model_files,
    read_aggregate,
    read_run_info,
    read_summary,
    read_timespace,
)
from arz_tui.runstore.files import maybe_record
from arz_tui.runstore.records import SavedRunConfig
from arz_tui.training.monitor import RunState, Series, load_state
from arz_tui.tui.messages import ResumeRequested
from arz_tui.tui.widgets import Heatmap, Line, SeriesPlot

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

TABS = ("overview", "curves", "timespace", "checkpoints", "log", "compare", "report")


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


def _inside(path: Path, root: Path) -> bool:
    """Whether `path` (links followed) lies inside `root`."""
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def repair(state: RunState) -> RunState:
    """Trim every Series of `state` to as many y as x values: `Series.add` appends x before
    converting y, so an event with a non-numeric value leaves one x too many (and a plot of
    unequal lists would fail to draw)."""
    for value in vars(state).values():
        if isinstance(value, Series) and len(value.x) != len(value.y):
            n = min(len(value.x), len(value.y))
            del value.x[n:], value.y[n:]
    return state


# ---------------------------------------------------------------------- listing
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
        self.error: str | None = None

    def _signature(self, path: Path) -> tuple[Any, ...]:
        lay = RunLayout(path)
        return tuple(_stat_key(p) for p in (path, lay.config, lay.metrics, lay.latest,
                                            lay.final_model, lay.checkpoints))

    def _read(self, path: Path) -> RunInfo:
        name = path.name
        if not _inside(path, self.root):
            return RunInfo(name, path, "unreadable", reason="points outside the results folder")
        if not path.is_dir():
            why = ("a broken link" if path.is_symlink() and not path.exists()
                   else "not a run folder (a plain file)")
            return RunInfo(name, path, "unreadable", reason=why)
        lay = RunLayout(path)
        if not (_inside(lay.config, self.root) and _inside(lay.metrics, self.root)):
            return RunInfo(name, path, "unreadable",
                           reason="its files link outside the results folder")
        signature = self._signature(path)
        cached = self._cache.get(name)
        if cached and cached.signature == signature and cached.info.status != "running":
            return cached.info
        try:
            info = read_run_info(path, self.root)
        except Exception as err:  # a foreign folder must never take the browser down
            info = RunInfo(name, path, "unreadable",
                           reason=f"unreadable run files ({type(err).__name__}: {err})")
        if info.status == "unknown":
            info = RunInfo(name, path, "unreadable", scenario=info.scenario, mode=info.mode,
                           total=info.total, has_checkpoint=info.has_checkpoint,
                           reason="no events (logs/metrics.jsonl missing or empty)")
        self._cache[name] = _Cached(signature, info)
        return info

    def list(self) -> list[RunInfo]:
        """Runs newest first, then the unreadable entries by name."""
        try:
            entries = [p for p in self.root.iterdir() if not p.name.startswith(".")]
            self.error = None
        except OSError as err:
            self.error = f"cannot list {self.root}: {err.strerror or err}"
            entries = []
        runs = [self._read(p) for p in entries]
        names = {p.name for p in entries}
        for gone in set(self._cache) - names:
            del self._cache[gone]
        readable = sorted((r for r in runs if r.status != "unreadable"),
                          key=lambda r: (-(r.date or 0.0), r.name))
        unreadable = sorted((r for r in runs if r.status == "unreadable"), key=lambda r: r.name)
        return readable + unreadable


# ---------------------------------------------------------------------- the screen
class ResultsScreen(Screen):
    """Browse the runs in `results_dir`: details, live curves, resume and compare."""

    TITLE = "Results"

    BINDINGS = [
        Binding("r", "resume", "Resume"),
        Binding("space", "mark", "Mark"),
        Binding("c", "compare", "Compare"),
        Binding("1", "show_tab('overview')", "Tabs", key_display="1-7"),
        Binding("2", "show_tab('curves')", "Curves", show=False),
        Binding("3", "show_tab('timespace')", "Time-space", show=False),
        Binding("4", "show_tab('checkpoints')", "Checkpoints", show=False),
        Binding("5", "show_tab('log')", "Log", show=False),
        Binding("6", "show_tab('compare')", "Compare tab", show=False),
        Binding("7", "show_tab('report')", "Report", show=False),
        Binding("f5", "refresh_now", "Refresh", show=False),
        Binding("escape", "back", "Back"),
    ]

    DEFAULT_CSS = """
    ResultsScreen #runs { height: 35%; min-height: 5; }
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
        self._tail: JsonlTail | None = None
        self._rows: list[tuple[Any, ...]] = []
        self._names: list[str] = []
        self._log_key: tuple[int, int] | None = None
        self._timer: Timer | None = None
        self._listing: Worker | None = None

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Header()
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
                yield SeriesPlot("reward", id="curve-reward")
                yield SeriesPlot("queue (veh)", id="curve-queue")
            with TabPane("3 Time-space", id="pane-timespace"), Horizontal():
                yield Heatmap("RL (DQN)", id="ts-rl")
                yield Heatmap("fixed time", id="ts-fixed")
            with TabPane("4 Checkpoints", id="pane-checkpoints"):
                yield DataTable(id="checkpoints", cursor_type="row")
            with TabPane("5 Log", id="pane-log"):
                yield Log(id="log", max_lines=LOG_LINES * 2)
            with TabPane("6 Compare", id="pane-compare"):
                yield Static("mark two runs with space, then press c", id="compare-note")
                with Horizontal():
                    yield SeriesPlot("eval mean reward", id="compare-eval")
                    yield SeriesPlot("episode reward", id="compare-episodes")
            with TabPane("7 Report", id="pane-report"), VerticalScroll():
                yield Markdown("", id="report")
        yield Footer()

    def on_mount(self) -> None:
        runs = self.query_one("#runs", DataTable)
        for key, label in RUN_COLUMNS:
            runs.add_column(label, key=key)
        summary = self.query_one("#summary", DataTable)
        for key, label in (("metric", "metric"), ("rl", "RL (DQN)"),
                           ("fixed", "fixed time"), ("change", "RL vs fixed")):
            summary.add_column(label, key=key)
        ckpt = self.query_one("#checkpoints", DataTable)
        for key, label in (("file", "file"), ("size", "size"), ("time", "modified (UTC)")):
            ckpt.add_column(label, key=key)
        self.refresh_runs()
        runs.focus()
        self._timer = self.set_interval(self.refresh_interval, self._tick)

    def on_screen_suspend(self) -> None:
        if self._timer is not None:
            self._timer.pause()

    def on_screen_resume(self) -> None:
        if self._timer is not None:
            self._timer.resume()
            self._tick()

    # ------------------------------------------------------------------ the run list
    def _row(self, info: RunInfo) -> tuple[Any, ...]:
        unreadable = info.status == "unreadable"
        if unreadable:
            note = short_reason(info.reason)
        elif info.resumable:
            note = "resumable (r)"
        elif info.status == "interrupted":
            note = "no checkpoint"
        else:
            note = ""
        mark = "● " if info.name in self.marked else "  "
        return (
            Text(mark + info.name, style="bold magenta" if mark.strip() else ""),
            info.scenario or "-",
            info.mode or "-",
            _steps(info),
            _num(info.best_reward),
            "-" if unreadable else fmt_time(info.date),
            Text(info.status, style=STATUS_STYLE.get(info.status, "")),
            note,
        )

    def refresh_runs(self) -> None:
        """Re-list the folder now, on the UI thread (the timer lists in a worker thread)."""
        self._show_runs(self.lister.list())

    def _show_runs(self, runs: list[RunInfo]) -> None:
        """Update the table to `runs`, keeping the highlighted run highlighted."""
        self.runs = runs
        self.infos = {r.name: r for r in self.runs}
        self.marked = [m for m in self.marked if m in self.infos]
        rows = [self._row(r) for r in self.runs]
        table = self.query_one("#runs", DataTable)
        keep = self.selected
        names = [r.name for r in self.runs]
        if names == self._names:
            for name, new, old in zip(names, rows, self._rows, strict=True):
                for (key, _), a, b in zip(RUN_COLUMNS, new, old, strict=True):
                    if a != b:
                        table.update_cell(name, key, a, update_width=True)
        else:
            table.clear()
            for name, row in zip(names, rows, strict=True):
                table.add_row(*row, key=name)
            if keep in self.infos:
                table.move_cursor(row=table.get_row_index(keep), animate=False)
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
        except Exception:
            return self.selected
        return key.value

    # ------------------------------------------------------------------ the selected run
    def _safe(self, path: Path) -> bool:
        return _inside(path, self.results_dir)

    def select(self, name: str) -> None:
        """Show run `name`'s details (and start tailing its metrics.jsonl)."""
        info = self.infos.get(name)
        if info is None:
            return
        self.selected = name
        self.state = None
        self._tail = None
        self._log_key = None
        if info.status not in ("unreadable", "group"):
            lay = RunLayout(info.path)
            self.state = RunState()
            if self._safe(lay.metrics):
                self._tail = JsonlTail(lay.metrics)
                self._apply(self._read_tail())
        self._render_details(info)

    def _read_tail(self) -> list[Event]:
        if self._tail is None:
            return []
        try:
            return self._tail.read()
        except Exception:  # a malformed line of valid JSON (JsonlTail parses it unguarded)
            return []

    def _apply(self, events: list[Event]) -> None:
        if self.state is None:
            return
        for event in events:
            try:
                self.state.apply(event)
            except (TypeError, ValueError, AttributeError, KeyError):
                repair(self.state)

    def _show_nothing(self, message: str) -> None:
        self.selected = None
        self.state = None
        self._tail = None
        self.query_one("#detail-header", Static).update(Text(message, style="dim"))
        self._clear_details()

    def _clear_details(self) -> None:
        self._log_key = None
        self.query_one("#config", Static).update("")
        self._set_summary("", None, None)
        for plot in ("#curve-reward", "#curve-queue"):
            self.query_one(plot, SeriesPlot).set_lines([])
        self.query_one("#ts-rl", Heatmap).set_data(None)
        self.query_one("#ts-fixed", Heatmap).set_data(None)
        self.query_one("#checkpoints", DataTable).clear()
        self.query_one("#log", Log).clear()

    def _render_report(self, info: RunInfo) -> None:
        """report/report.md of a run or seed group (written by `arz-tui report`)."""
        path = info.path / "report" / "report.md"
        text = ""
        if self._safe(path) and path.is_file():
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
        if not text:
            text = (f"No report for {info.name} yet. Write one with\n\n"
                    f"    arz-tui report {info.name} --results-dir {self.results_dir}\n")
        self.query_one("#report", Markdown).update(text)

    def _render_group(self, info: RunInfo) -> None:
        """A seed group: its members and the aggregate over seeds."""
        self._clear_details()
        agg = read_json(info.path / "aggregate.json") if self._safe(info.path) else None
        lines = [f"{info.name}: {info.reason}"]
        if agg:
            lines.append(f"seeds {agg.get('seeds')}, finished {len(agg.get('finished', []))}"
                         f" of {len(agg.get('members', []))}")
            metrics = agg.get("metrics", {})
            for key, label, fmt, _ in SUMMARY_METRICS:
                cells = []
                for controller in ("rl", "fixed_time"):
                    m = metrics.get(controller, {}).get(key)
                    cells.append("-" if not isinstance(m, dict) else
                                 f"{fmt.format(m.get('mean', math.nan))} ± "
                                 f"{fmt.format(m.get('ci95', math.nan))}")
                lines.append(f"{label:24s} RL {cells[0]:>18s}   fixed time {cells[1]:>16s}")
        else:
            lines.append("no aggregate.json yet (the seeds are still training?)")
        self.query_one("#config", Static).update("\n".join(lines))
        self._render_report(info)

    def _render_details(self, info: RunInfo) -> None:
        self._render_header(info)
        if info.status == "group":
            self._render_group(info)
            return
        if info.status == "unreadable":
            self._clear_details()
            self.query_one("#config", Static).update(Text(
                f"{info.name} cannot be shown: {info.reason}", style="yellow"))
            return
        self._render_overview(info)
        self._render_summary(info)
        self._render_curves()
        self._render_timespace(info)
        self._render_checkpoints(info)
        self._render_log(info, force=True)
        self._render_report(info)

    def _render_header(self, info: RunInfo) -> None:
        text = Text()
        text.append(info.name, style="bold")
        text.append("  ")
        text.append(info.status, style=STATUS_STYLE.get(info.status, ""))
        if info.status == "unreadable":
            text.append(f"  {info.reason}")
        else:
            state = self.state
            step = state.step if state and state.step else info.steps
            total = (state.total if state and state.total else None) or info.total
            if step is not None:
                text.append(f"  step {step:,}" + (f"/{total:,}" if total else ""))
            text.append(f"  started {fmt_time(info.date)} UTC")
            if state and state.message:
                text.append(f"  {state.message}", style="italic")
        if info.name in self.marked:
            text.append("  (marked)", style="magenta")
        self.query_one("#detail-header", Static).update(text)

    def _render_overview(self, info: RunInfo) -> None:
        lay = RunLayout(info.path)
        config = (read_json(lay.config) if self._safe(lay.config) else None) or {}
        training = config.get("training") if isinstance(config.get("training"), dict) else {}
        env = config.get("env") if isinstance(config.get("env"), dict) else {}
        dqn = training.get("dqn_hyperparams")
        dqn = dqn if isinstance(dqn, dict) else {}
        ckpt = training.get("checkpoint_strategy")
        ckpt = ckpt if isinstance(ckpt, dict) else {}
        evals = training.get("evaluation_strategy")
        evals = evals if isinstance(evals, dict) else {}
        state = self.state or RunState()

        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()

        def row(label: str, value: Any) -> None:
            if value is None or value == "":
                value = "-"
            table.add_row(label, str(value))

        total = training.get("total_timesteps", info.total)
        row("scenario", env.get("scenario", info.scenario))
        row("mode", training.get("mode", info.mode))
        row("total steps", f"{total:,}" if isinstance(total, int) else total)
        row("progress", _steps(info))
        row("device", training.get("device", state.device or None))
        row("seed", config.get("seed", training.get("seed")))
        row("started", f"{fmt_time(info.date)} UTC")
        row("last event", f"{fmt_time(state.updated)} UTC" if state.updated else None)
        if state.best:
            row("best eval", f"{_num(state.best.get('mean_reward'))} at step "
                             f"{state.best.get('step', 0):,}")
        elif info.best_reward is not None:
            row("best eval", _num(info.best_reward))
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
        if not config:
            row("config", "training_config.json missing or unreadable")
        self.query_one("#config", Static).update(table)

    def _render_summary(self, info: RunInfo) -> None:
        lay = RunLayout(info.path)
        summary = read_json(lay.summary) if self._safe(lay.summary) else None
        rl = summary.get("rl") if summary else None
        base = summary.get("fixed_time") if summary else None
        if isinstance(rl, dict) and isinstance(base, dict):
            step = summary.get("step")
            n = summary.get("n_episodes")
            title = (f"final evaluation at step {_num(step, '{:,}')}, {_num(n, '{}')} "
                     "episodes (summary.json)")
            self._set_summary(title, rl, base)
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

    def _set_summary(self, title: str, rl: dict[str, Any] | None,
                     base: dict[str, Any] | None) -> None:
        self.query_one("#summary-title", Static).update(Text(title, style="bold"))
        table = self.query_one("#summary", DataTable)
        table.clear()
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
        ref_reward = base.get("episode_reward")
        ref_queue = base.get("mean_queue_veh")
        self.query_one("#curve-reward", SeriesPlot).set_lines(
            [Line("eval mean reward", state.eval_reward, "cyan"),
             Line("episode reward", state.episode_reward, "yellow")],
            [("fixed time", ref_reward, "red")] if isinstance(ref_reward, int | float)
            else None)
        self.query_one("#curve-queue", SeriesPlot).set_lines(
            [Line("eval mean queue", state.eval_queue, "cyan"),
             Line("episode mean queue", state.episode_queue, "yellow")],
            [("fixed time", ref_queue, "red")] if isinstance(ref_queue, int | float)
            else None)

    def _render_timespace(self, info: RunInfo) -> None:
        lay = RunLayout(info.path)
        for widget, controller in (("#ts-rl", "rl"), ("#ts-fixed", "fixed_time")):
            path = lay.timespace(controller)
            data = read_timespace(path) if self._safe(path) else None
            self.query_one(widget, Heatmap).set_data(data)

    def _render_checkpoints(self, info: RunInfo) -> None:
        table = self.query_one("#checkpoints", DataTable)
        table.clear()
        lay = RunLayout(info.path)
        if not self._safe(lay.checkpoints):
            return
        for rel, size, mtime in checkpoint_files(info.path):
            if self._safe(info.path / rel):
                table.add_row(rel, fmt_size(size), fmt_time(mtime), key=rel)

    def _render_log(self, info: RunInfo, force: bool = False) -> None:
        lay = RunLayout(info.path)
        if not self._safe(lay.training_log):
            return
        key = _stat_key(lay.training_log)
        if not force and key == self._log_key:
            return
        self._log_key = key
        log = self.query_one("#log", Log)
        log.clear()
        lines = log_tail(info.path, LOG_LINES)
        log.write_lines(lines if lines else ["(no logs/training.log)"])

    # ------------------------------------------------------------------ live updates
    def _tick(self) -> None:
        """Re-list the folder in a worker thread (a slow disk or a big running run never
        stalls the UI); `_after_listing` follows the highlighted run when it is done."""
        if self._listing is not None and not self._listing.is_finished:
            return
        self._listing = self.run_worker(self.lister.list, name="list-runs", group="list-runs",
                                        thread=True, exit_on_error=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self._listing or not self.is_attached:
            return
        if event.state == WorkerState.SUCCESS and isinstance(event.worker.result, list):
            self._after_listing(event.worker.result)

    def _after_listing(self, runs: list[RunInfo]) -> None:
        before = self.selected
        previous = self.infos.get(before) if before else None
        self._show_runs(runs)
        name = self.selected
        if name is None or name != before or previous is None:
            return  # nothing shown, or `_show_runs` selected another run already
        info = self.infos[name]
        if (previous.status == "unreadable") != (info.status == "unreadable"):
            self.select(name)
            return
        if info.status == "unreadable":
            if info != previous:
                self._render_details(info)
            return
        events = self._read_tail()
        if events:
            self._apply(events)
            self._render_overview(info)
            self._render_summary(info)
            self._render_curves()
            kinds = {e.kind for e in events}
            if kinds & {"timespace", "baseline", "run_finished"}:
                self._render_timespace(info)
            if kinds & {"checkpoint", "run_finished", "run_interrupted", "best_model"}:
                self._render_checkpoints(info)
        elif info != previous:
            self._render_overview(info)
        if events or info != previous:
            self._render_header(info)
        self._render_log(info)

    def action_refresh_now(self) -> None:
        self._tick()

    # ------------------------------------------------------------------ actions
    def action_show_tab(self, tab: str) -> None:
        if tab in TABS:
            self.query_one("#tabs", TabbedContent).active = f"pane-{tab}"

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def action_resume(self) -> None:
        name = self._cursor_name()
        info = self.infos.get(name) if name else None
        if info is None:
            self.notify("no run selected", severity="warning")
            return
        if info.resumable:
            self.post_message(ResumeRequested(info.name, self.results_dir))
            self.notify(f"resuming {info.name} from its latest checkpoint")
            return
        why = {
            "finished": "it has finished",
            "running": "it is still running",
            "failed": "it failed; only interrupted runs resume",
            "unreadable": f"it is unreadable ({info.reason})",
        }.get(info.status, f"its status is {info.status}")
        if info.status == "interrupted":
            why = "it has no checkpoint to resume from"
        self.notify(f"cannot resume {info.name}: {why}", severity="warning")

    def action_mark(self) -> None:
        name = self._cursor_name()
        info = self.infos.get(name) if name else None
        if info is None:
            return
        if info.status == "unreadable":
            self.notify(f"cannot compare {info.name}: it is unreadable", severity="warning")
            return
        if name in self.marked:
            self.marked.remove(name)
        else:
            self.marked.append(name)
            if len(self.marked) > 2:
                dropped = self.marked.pop(0)
                self.notify(f"unmarked {dropped}: compare takes two runs")
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
        states = []
        for name in pair:
            info = self.infos[name]
            states.append(repair(load_state(info.path)) if self._safe(info.path)
                          else RunState())
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
