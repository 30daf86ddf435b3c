"""The live run dashboard: status and progress on top; evaluations beside (wide terminals) or
in a tab (narrow ones); curves, time-space diagrams, sanity checks, the log and the network
map in tabs."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import (
    DataTable,
    Footer,
    Header,
    ProgressBar,
    RichLog,
    Static,
    TabbedContent,
    TabPane,
)

from arz_tui.runstore import RunLayout
from arz_tui.runstore.files import Unreadable
from arz_tui.runstore.netstate import NetStateFollower, NetStream
from arz_tui.runstore.reader import read_timespace
from arz_tui.training.monitor import RunState
from arz_tui.tui.confirm import ConfirmScreen
from arz_tui.tui.process import TrainingProcess
from arz_tui.tui.tensorboard import show_tensorboard_hint
from arz_tui.tui.widgets import ColourScale, CorridorAxis, Heatmap, Line, SeriesPlot, corridor_axis
from arz_tui.tui.widgets.netmap import MapPane

REDRAW_HZ = 5
"""Plots and tables redraw at most this often, from the events received meanwhile."""
NARROW = 120
"""Below this many columns the evaluations move from the side panel into a tab."""
SHORT = 36
"""Below this many rows the curves tab shows reward and queue only (epsilon and speed are in
the status lines)."""
MAP_READ_S = 1.0
"""How often the map stream is read (in a worker) and the map redrawn."""
TABS = ("curves", "timespace", "sanity", "log", "evals", "map")


class TrainingEvent(Message):
    """One event from the training process (posted from its reader thread)."""

    def __init__(self, event: dict[str, Any]) -> None:
        super().__init__()
        self.event = event


class TrainingExited(Message):
    """The training process ended."""

    def __init__(self, code: int, stderr: str) -> None:
        super().__init__()
        self.code = code
        self.stderr = stderr


class MapRead(Message):
    """New frames of the run's network map stream (or why it cannot be read), from a worker."""

    def __init__(self, stream: NetStream | None, reset: bool, problem: str | None) -> None:
        super().__init__()
        self.stream = stream
        self.reset = reset
        self.problem = problem


class TimespaceLoaded(Message):
    """The run's time-space diagrams and corridor geometry, read in a worker."""

    def __init__(self, diagrams: dict[str, np.ndarray | None],
                 axis: CorridorAxis | None) -> None:
        super().__init__()
        self.diagrams = diagrams
        self.axis = axis


def _fmt_seconds(s: float | None) -> str:
    if s is None:
        return "-"
    s = int(s)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _fmt(value: Any, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def sanity_table(rows: list[dict[str, Any]]) -> Table:
    """The checks, wrapped (never cut): a failed one with what was expected and the fix."""
    table = Table(expand=True, show_edge=False, pad_edge=False)
    table.add_column("check", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("measured / fix", ratio=1, overflow="fold")
    for row in rows:
        if row.get("passed"):
            table.add_row(str(row.get("name")), Text("PASS", "green"), str(row.get("measured")))
            continue
        detail = Text(str(row.get("measured")))
        detail.append(f"\nexpected: {row.get('expected')}", "italic")
        detail.append(f"\nfix: {row.get('fix')}", "bold yellow")
        table.add_row(str(row.get("name")), Text("FAIL", "bold red"), detail)
    return table


class RunScreen(Screen):
    """Runs `arz-tui --batch ARGS` as a child process and shows its progress live."""

    BINDINGS = [
        Binding("s", "stop", "Stop", tooltip="Stop training, saving a checkpoint first"),
        Binding("p", "toggle_pause", "Pause",
                tooltip="Freeze or unfreeze the dashboard (training goes on)"),
        Binding("1", "show_tab('curves')", "Tabs", key_display="1-6",
                tooltip="Tabs: 1 curves, 2 time-space, 3 sanity, 4 log, 5 evaluations "
                        "(narrow terminals), 6 network map"),
        Binding("2", "show_tab('timespace')", "Time-space", show=False),
        Binding("3", "show_tab('sanity')", "Sanity", show=False),
        Binding("4", "show_tab('log')", "Log", show=False),
        Binding("5", "show_tab('evals')", "Evaluations", show=False),
        Binding("6", "show_tab('map')", "Map", show=False,
                tooltip="The network map of the training episode, live: links coloured by "
                        "occupancy, and each signal's queue and phase"),
        Binding("l", "open_log", "Log", tooltip="Page through the run's training log "
                "($PAGER, default less)"),
        Binding("y", "copy_path", "Path",
                tooltip="Copy the run folder's path to the clipboard"),
        Binding("t", "tensorboard", "TensorBoard", show=False,
                tooltip="The command that opens this run in TensorBoard"),
        Binding("escape", "back", "Back", tooltip="Back to the launch form (after training)"),
        Binding("q", "quit_run", "Quit", show=False,
                tooltip="Quit (asks first while training)"),
    ]

    DEFAULT_CSS = """
    RunScreen #head { height: auto; padding: 0 1; }
    RunScreen #progress-row { height: 1; }
    RunScreen #progress { width: 1fr; }
    RunScreen #progress Bar { width: 1fr; }
    RunScreen #progress-count { width: auto; padding-left: 1; }
    RunScreen #body { height: 1fr; }
    RunScreen #side { width: 36%; min-width: 40; max-width: 64; padding: 0 1;
                      border-right: solid $primary; }
    RunScreen.-narrow #side { display: none; }
    RunScreen #checkpoint { height: auto; }
    RunScreen .section { text-style: bold; margin-top: 1; }
    RunScreen DataTable { height: 1fr; min-height: 4; }
    RunScreen #tabs { width: 1fr; }
    RunScreen #curves-grid { layout: grid; grid-size: 2 2; }
    RunScreen.-short #curves-grid { grid-size: 2 1; }
    RunScreen.-short #plot-eps, RunScreen.-short #plot-fps { display: none; }
    RunScreen #timespace-pane Horizontal { height: 1fr; }
    RunScreen #timespace-pane Heatmap { width: 1fr; }
    RunScreen #sanity-box { height: 1fr; }
    """

    def __init__(self, args: list[str], experiment: str, results_dir: Path,
                 process_factory: type[TrainingProcess] = TrainingProcess,
                 initial_tab: str = "curves",
                 history: list[dict[str, Any]] | None = None) -> None:
        super().__init__()
        self.initial_tab = initial_tab
        self.history = history or []
        """A resumed run's events so far: applied before the child starts, so the curves,
        evaluations and checkpoints continue rather than start empty."""
        self.args = args
        self.experiment = experiment
        self.results_dir = Path(results_dir)
        self.layout_paths = RunLayout(self.results_dir / experiment)
        self.state = RunState(experiment=experiment)
        self.process = process_factory(args, self._from_thread_event, self._from_thread_exit)
        self.paused = False
        self.exit_code: int | None = None
        self.error = ""
        self._drawn = -1
        self._sanity_drawn = -1
        self._log_lines = 0
        self._quit_after_stop = False
        self._map = NetStateFollower(self.layout_paths.netstate, self.results_dir)
        self._map_frames = 0
        self._map_reading = False

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="head"):
            yield Static(id="status")
            with Horizontal(id="progress-row"):
                yield ProgressBar(id="progress", show_eta=False, show_percentage=True)
                yield Static(id="progress-count")
            yield Static(id="progress-text")
        with Horizontal(id="body"):
            with Vertical(id="side"):
                yield Static(id="checkpoint")
                yield Static("Evaluations (queue veh, delay s/veh)", classes="section")
                yield DataTable(id="evals", cursor_type="none", zebra_stripes=True)
            with TabbedContent(id="tabs", initial=self.initial_tab):
                with TabPane("1 Curves", id="curves"), Vertical(id="curves-grid"):
                    yield SeriesPlot("reward per decision step", id="plot-reward")
                    yield SeriesPlot("queue (veh)", id="plot-queue")
                    yield SeriesPlot("epsilon", id="plot-eps")
                    yield SeriesPlot("steps/s", id="plot-fps")
                with TabPane("2 Time-space", id="timespace"), Vertical(id="timespace-pane"):
                    with Horizontal():
                        yield Heatmap("RL policy", id="ts-rl")
                        yield Heatmap("fixed time", id="ts-fixed")
                    yield ColourScale(id="ts-scale")
                with TabPane("3 Sanity", id="sanity"), VerticalScroll(id="sanity-box"):
                    yield Static("sanity checks: waiting for the run to start", id="sanity-list")
                with TabPane("4 Log", id="log"):
                    yield RichLog(id="log-view", max_lines=2000, wrap=True)
                with TabPane("5 Evaluations", id="evals"):
                    yield Static(id="checkpoint-tab")
                    yield Static("Evaluations (queue veh, delay s/veh)", classes="section")
                    yield DataTable(id="evals-tab", cursor_type="none", zebra_stripes=True)
                with TabPane("6 Map", id="map"):
                    yield MapPane(id="map-pane")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "arz-tui"
        self.sub_title = f"training {self.experiment}"
        for table_id in ("#evals", "#evals-tab"):
            self.query_one(table_id, DataTable).add_columns(
                "step", "reward/step", "queue", "delay")
        self._adapt()
        for event in self.history:
            self.state.apply(event)
        if self.history:
            self.state.status = "starting"  # until the resumed child reports
            self._load_timespace()
        self._draw()
        self.set_interval(1 / REDRAW_HZ, self._tick)
        self.set_interval(MAP_READ_S, self._read_map_now)
        self.process.start()

    def on_resize(self) -> None:
        self._adapt()

    def _adapt(self) -> None:
        width, height = self.app.size
        narrow = width < NARROW
        self.set_class(narrow, "-narrow")
        self.set_class(height < SHORT, "-short")
        tabs = self.query_one("#tabs", TabbedContent)
        if narrow:
            tabs.show_tab("evals")
        else:
            if tabs.active == "evals":
                tabs.active = "curves"
            tabs.hide_tab("evals")
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Only what works now: stop while the child runs, back once training ended."""
        if action == "stop":
            return self.process.running
        if action == "back":
            return not self.training
        if action == "show_tab" and parameters == ("evals",):
            return self.has_class("-narrow")
        return True

    # ------------------------------------------------------------------ events
    def _from_thread_event(self, event: dict[str, Any]) -> None:
        self.post_message(TrainingEvent(event))

    def _from_thread_exit(self, code: int, stderr: str) -> None:
        self.post_message(TrainingExited(code, stderr))

    def on_training_event(self, message: TrainingEvent) -> None:
        self.state.apply(message.event)
        kind = message.event.get("kind")
        if kind in ("sanity_result", "sanity_report"):
            self._draw_sanity()  # these arrive once each: show them as they come
            if kind == "sanity_report" and self.state.sanity_passed is False:
                self.query_one("#tabs", TabbedContent).active = "sanity"
        elif kind in ("timespace", "baseline"):
            self._load_timespace()
        if kind in ("run_started", "run_finished", "run_failed", "run_interrupted"):
            self.refresh_bindings()

    def on_training_exited(self, message: TrainingExited) -> None:
        self.exit_code = message.code
        lines = [line for line in message.stderr.splitlines() if line.strip()]
        failed = [r for r in self.state.sanity if not r.get("passed")]
        if message.code not in (0, 130):
            if failed:
                names = ", ".join(str(r.get("name")) for r in failed)
                self.error = (f"sanity check{'s' if len(failed) > 1 else ''} failed: {names}; "
                              "the fix is in the Sanity tab (3)")
                self.query_one("#tabs", TabbedContent).active = "sanity"
            else:
                self.error = lines[-1] if lines else f"training exited with code {message.code}"
            self.state.status = "failed"
            self.notify(self.error, title="training failed", severity="error", timeout=15)
            for line in lines[-40:]:
                self.state.log.append(f"stderr: {line}")
        elif message.code == 130 and self.state.status == "running":
            self.state.status = "interrupted"
        self.state.version += 1
        self._load_timespace()
        self._draw(force=True)
        self.refresh_bindings()
        if self._quit_after_stop:
            self.app.exit()

    # ------------------------------------------------------------------ drawing
    def _tick(self) -> None:
        if not self.paused:
            self._draw()

    @property
    def training(self) -> bool:
        """Still learning: the child runs and has not reported an end (after its end event
        it only closes files for a moment, and quitting need not ask)."""
        return self.process.running and self.state.status in ("starting", "running")

    def _draw(self, force: bool = False) -> None:
        if not force and self.state.version == self._drawn:
            return
        self._drawn = self.state.version
        self._draw_status()
        self._draw_sanity()
        self._draw_checkpoint()
        self._draw_evals()
        self._draw_plots()
        self._draw_log()

    def _sanity_summary(self) -> str:
        rows = self.state.sanity
        if not rows:
            return "sanity: -"
        failed = sum(1 for r in rows if not r.get("passed"))
        if failed:
            return f"sanity: [b red]{failed} FAILED[/] (tab 3)"
        return f"sanity: [green]{len(rows)} passed[/]"

    def _draw_status(self) -> None:
        s = self.state
        status = s.status + (" (redraw paused)" if self.paused else "")
        colour = {"failed": "red", "finished": "green", "interrupted": "yellow"}.get(s.status,
                                                                                   "cyan")
        head = (f"[b]{self.experiment}[/b]  {s.scenario or '?'} / {s.mode or '?'} / "
                f"{s.device or '?'}   status: [b {colour}]{status}[/]")
        if self.error:
            head += f"\n[red]{self.error}[/red]"
        elif s.final:
            rl, ft = s.final.get("rl", {}), s.final.get("fixed_time", {})
            head += (f"\nRL: queue {_fmt(rl.get('mean_queue_veh'))} veh, delay "
                     f"{_fmt(rl.get('mean_delay_s'))} s/veh | fixed time: queue "
                     f"{_fmt(ft.get('mean_queue_veh'))}, delay {_fmt(ft.get('mean_delay_s'))}")
        elif s.message:
            head += f"\n{s.message}"
        self.query_one("#status", Static).update(head)
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=max(s.total, 1), progress=s.step)
        self.query_one("#progress-count", Static).update(f"{s.step:,} / {s.total:,} steps")
        self.query_one("#progress-text", Static).update(
            f"ETA {_fmt_seconds(s.eta_s)}   {_fmt(s.fps, ',.0f')} steps/s   epsilon "
            f"{_fmt(s.epsilon, '.3f')}   {self._sanity_summary()}")

    def _draw_sanity(self) -> None:
        if self._sanity_drawn == len(self.state.sanity):
            return
        self._sanity_drawn = len(self.state.sanity)
        box = self.query_one("#sanity-list", Static)
        if not self.state.sanity:
            box.update("sanity checks: none yet (off, or the run has not reached them)")
        else:
            box.update(sanity_table(self.state.sanity))

    def _draw_checkpoint(self) -> None:
        s = self.state
        last = s.last_checkpoint
        if last is None:
            text = "checkpoint: none yet"
        else:
            when = time.strftime("%H:%M:%S", time.localtime(last.get("time") or 0))
            files = ", ".join(last.get("files", [])) or "-"
            text = f"checkpoint: step {last['step']:,} at {when}\nfiles: {files}"
        if s.best:
            step = s.best.get("step", 0)
            at = next((e for e in s.evals if e.get("step") == step), {})
            text += (f"\nbest model: step {step:,}, reward "
                     f"{_fmt(at.get('reward_per_step'), '.4f')} per step")
        for widget_id in ("#checkpoint", "#checkpoint-tab"):
            self.query_one(widget_id, Static).update(text)

    def _eval_rows(self) -> list[tuple[str, str, str, str]]:
        rows = []
        if self.state.baseline:
            b = self.state.baseline
            rows.append(("fixed time", _fmt(b.get("mean_reward"), ".4f"),
                         _fmt(b.get("mean_queue_veh")), _fmt(b.get("mean_delay_s"))))
        for e in self.state.evals[-50:]:
            rows.append((f"{e['step']:,}", _fmt(e.get("reward_per_step"), ".4f"),
                         _fmt(e.get("mean_queue_veh")), _fmt(e.get("mean_delay_s"))))
        if self.state.final:
            rl = self.state.final.get("rl", {})
            rows.append(("final RL", _fmt(rl.get("mean_reward"), ".4f"),
                         _fmt(rl.get("mean_queue_veh")), _fmt(rl.get("mean_delay_s"))))
        return rows

    def _draw_evals(self) -> None:
        rows = self._eval_rows()
        for table_id in ("#evals", "#evals-tab"):
            table = self.query_one(table_id, DataTable)
            table.clear()
            table.add_rows(rows)

    def _draw_plots(self) -> None:
        s = self.state
        base = s.baseline
        reward_refs = []
        if base.get("mean_reward") is not None:  # the baseline's reward per step
            reward_refs.append(("fixed time", base["mean_reward"], "red"))
        self.query_one("#plot-reward", SeriesPlot).set_lines(
            [Line("episodes", s.episode_reward, "cyan"), Line("eval", s.eval_reward, "green")],
            reward_refs)
        queue_refs = []
        if base.get("mean_queue_veh") is not None:
            queue_refs.append(("fixed time", base["mean_queue_veh"], "red"))
        self.query_one("#plot-queue", SeriesPlot).set_lines(
            [Line("now", s.queue, "cyan"), Line("eval mean", s.eval_queue, "green")], queue_refs)
        self.query_one("#plot-eps", SeriesPlot).set_lines([Line("epsilon", s.epsilon_curve)])
        self.query_one("#plot-fps", SeriesPlot).set_lines([Line("steps/s", s.fps_curve)])

    def _draw_log(self) -> None:
        log = self.query_one("#log-view", RichLog)
        for line in self.state.log[self._log_lines:]:
            log.write(line)
        self._log_lines = len(self.state.log)

    def _read_map_now(self) -> None:
        """Read the map stream's new frames in a worker (one read at a time; none while the
        dashboard is paused)."""
        if not self.paused and not self._map_reading:
            self._map_reading = True
            self._read_map()

    @work(thread=True, group="netmap")
    def _read_map(self) -> None:
        try:
            stream, reset = self._map.read()
            self.post_message(MapRead(stream, reset, None))
        except Unreadable as err:
            missing = err.reason == "missing"
            self.post_message(MapRead(None, False, None if missing else err.reason))

    def on_map_read(self, message: MapRead) -> None:
        self._map_reading = False
        pane = self.query_one("#map-pane", MapPane)
        if message.problem is not None:
            pane.message(f"network map unreadable: {message.problem}")
            return
        stream = message.stream
        if stream is None:
            if pane.header is None:
                pane.message("network map: waiting for the first frame "
                             "(logs/netstate.jsonl is written while training)")
            return
        self._map_frames = (0 if message.reset else self._map_frames) + len(stream.frames)
        frame = stream.frames[-1] if stream.frames else pane.frame
        if frame is None:
            pane.show(stream.header, None, "network map: no frames yet")
            return
        pane.show(stream.header, frame,
                  f"live: step {frame.step:,}  t {frame.t_s:,.0f} s of the episode  "
                  f"({self._map_frames} frames)")

    def _load_timespace(self) -> None:
        self._read_timespace(self.state.scenario)

    @work(thread=True, exclusive=True, group="timespace")
    def _read_timespace(self, scenario: str) -> None:
        diagrams = {}
        for controller in ("rl", "fixed_time"):
            path = self.layout_paths.timespace(controller)
            diagrams[controller] = read_timespace(path) if path.is_file() else None
        axis = corridor_axis(scenario) if scenario else None
        self.post_message(TimespaceLoaded(diagrams, axis))

    def on_timespace_loaded(self, message: TimespaceLoaded) -> None:
        for controller, widget_id in (("rl", "#ts-rl"), ("fixed_time", "#ts-fixed")):
            data = message.diagrams.get(controller)
            if data is not None:
                self.query_one(widget_id, Heatmap).set_data(data, message.axis)

    # ------------------------------------------------------------------ actions
    def action_show_tab(self, tab: str) -> None:
        if tab in TABS and (tab != "evals" or self.has_class("-narrow")):
            self.query_one("#tabs", TabbedContent).active = tab

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        if self.paused:
            self._draw_status()  # only the indicator changes; the rest stays as it was
        else:
            self._draw(force=True)

    def action_stop(self) -> None:
        if self.process.running:
            self.process.stop()
            self.notify("stopping: saving a checkpoint first", title="stop")

    def action_open_log(self) -> None:
        path = self.layout_paths.training_log
        if not path.is_file():
            self.notify(f"no log yet at {path}", severity="warning")
            return
        pager = shlex.split(os.environ.get("PAGER") or "less -R")
        try:
            with self.app.suspend():
                subprocess.run([*pager, str(path)], check=False)
        except SuspendNotSupported:
            self.action_show_tab("log")
            self.notify(f"this terminal cannot hand over to a pager; log file: {path}")
        except OSError as err:
            self.notify(f"cannot run {pager[0]}: {err.strerror or err}; log file: {path}",
                        severity="error")

    def action_copy_path(self) -> None:
        path = str(self.layout_paths.root.resolve())
        self.app.copy_to_clipboard(path)
        self.notify(path, title="run folder (copied)")

    def action_tensorboard(self) -> None:
        show_tensorboard_hint(self.app, self.layout_paths.root)

    def action_back(self) -> None:
        if self.training:
            self.notify("training is running: stop it first (s)", severity="warning")
            return
        self.app.pop_screen()

    def action_quit_run(self) -> None:
        if not self.training:
            self.app.exit()
            return

        def answer(stop: bool | None) -> None:
            if stop:
                self._quit_after_stop = True
                self.process.stop()

        self.app.push_screen(ConfirmScreen(
            "Training is running. Stop it (saving a checkpoint) and quit?", "Stop and quit"),
            answer)
