"""The live run dashboard: sanity checks, curves, time-space diagrams, checkpoints, log."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
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
from arz_tui.runstore.reader import read_timespace
from arz_tui.training.monitor import RunState
from arz_tui.tui.confirm import ConfirmScreen
from arz_tui.tui.process import TrainingProcess
from arz_tui.tui.widgets import Heatmap, Line, SeriesPlot

REDRAW_HZ = 5
"""Plots and tables redraw at most this often, from the events received meanwhile."""


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


def _fmt_seconds(s: float | None) -> str:
    if s is None:
        return "-"
    s = int(s)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _fmt(value: Any, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


class RunScreen(Screen):
    """Runs `arz-tui --batch ARGS` as a child process and shows its progress live."""

    BINDINGS = [
        Binding("p", "toggle_pause", "Pause redraw"),
        Binding("s", "stop", "Stop (checkpoint)"),
        Binding("escape", "back", "Back"),
        Binding("q", "quit_run", "Quit"),
    ]

    DEFAULT_CSS = """
    RunScreen #top { height: 1fr; }
    RunScreen #left { width: 60; padding: 0 1; }
    RunScreen #right { width: 1fr; }
    RunScreen #status { height: auto; }
    RunScreen #progress-text { height: auto; }
    RunScreen #sanity { height: auto; max-height: 10; }
    RunScreen #checkpoint { height: auto; margin-top: 1; }
    RunScreen #evals { height: 1fr; min-height: 5; }
    RunScreen #log { height: 8; border-top: solid $primary; }
    RunScreen .section { text-style: bold; margin-top: 1; }
    RunScreen #curves { layout: grid; grid-size: 2 2; }
    RunScreen #timespace-pane Horizontal { height: 1fr; }
    """

    def __init__(self, args: list[str], experiment: str, results_dir: Path,
                 process_factory: type[TrainingProcess] = TrainingProcess) -> None:
        super().__init__()
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
        self._sanity_rows = 0
        self._log_lines = 0
        self._quit_after_stop = False

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="top"):
            with Vertical(id="left"):
                yield Static(id="status")
                yield ProgressBar(id="progress", show_eta=False)
                yield Static(id="progress-text")
                yield Static("Sanity checks", classes="section")
                yield DataTable(id="sanity", cursor_type="none", zebra_stripes=True)
                yield Static(id="checkpoint")
                yield Static("Evaluations", classes="section")
                yield DataTable(id="evals", cursor_type="none", zebra_stripes=True)
            with TabbedContent(id="right"):
                with TabPane("Curves", id="curves-pane"), Vertical(id="curves"):
                    yield SeriesPlot("episode reward", id="plot-reward")
                    yield SeriesPlot("queue (veh)", id="plot-queue")
                    yield SeriesPlot("epsilon", id="plot-eps")
                    yield SeriesPlot("steps/s", id="plot-fps")
                with TabPane("Time-space", id="timespace-pane"), Horizontal():
                    yield Heatmap("RL policy", id="ts-rl")
                    yield Heatmap("fixed time", id="ts-fixed")
        yield RichLog(id="log", max_lines=500, wrap=False)
        yield Footer()

    def on_mount(self) -> None:
        self.title = "arz-tui"
        self.sub_title = f"training {self.experiment}"
        sanity = self.query_one("#sanity", DataTable)
        sanity.add_columns("check", "result", "measured")
        evals = self.query_one("#evals", DataTable)
        evals.add_columns("step", "reward", "queue veh", "delay s/veh")
        self._draw()
        self.set_interval(1 / REDRAW_HZ, self._tick)
        self.process.start()

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
        elif kind == "timespace" or kind == "baseline":
            self._load_timespace()

    def on_training_exited(self, message: TrainingExited) -> None:
        self.exit_code = message.code
        lines = [line for line in message.stderr.splitlines() if line.strip()]
        if message.code not in (0, 130):
            self.error = lines[-1] if lines else f"training exited with code {message.code}"
            self.state.status = "failed"
            self.notify(self.error, title="training failed", severity="error", timeout=10)
        elif message.code == 130 and self.state.status == "running":
            self.state.status = "interrupted"
        self.state.version += 1
        self._load_timespace()
        self._draw(force=True)
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

    def _draw_status(self) -> None:
        s = self.state
        status = s.status + (" (redraw paused)" if self.paused else "")
        head = (f"[b]{self.experiment}[/b]  {s.scenario or '?'} / {s.mode or '?'} / "
                f"{s.device or '?'}\nstatus: [b]{status}[/b]")
        if self.error:
            head += f"\n[red]{self.error}[/red]"
        elif s.message:
            head += f"\n{s.message}"
        if s.final:
            rl, ft = s.final.get("rl", {}), s.final.get("fixed_time", {})
            head += (f"\nRL: queue {_fmt(rl.get('mean_queue_veh'))} veh, delay "
                     f"{_fmt(rl.get('mean_delay_s'))} s/veh | fixed time: queue "
                     f"{_fmt(ft.get('mean_queue_veh'))}, delay {_fmt(ft.get('mean_delay_s'))}")
        self.query_one("#status", Static).update(head)
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=max(s.total, 1), progress=s.step)
        self.query_one("#progress-text", Static).update(
            f"{s.step:,} / {s.total:,} steps   ETA {_fmt_seconds(s.eta_s)}\n"
            f"{_fmt(s.fps, ',.0f')} steps/s   epsilon {_fmt(s.epsilon, '.3f')}")

    def _draw_sanity(self) -> None:
        table = self.query_one("#sanity", DataTable)
        for row in self.state.sanity[self._sanity_rows:]:
            verdict = "[green]PASS[/]" if row.get("passed") else "[red]FAIL[/]"
            table.add_row(str(row.get("name")), verdict, str(row.get("measured")))
        self._sanity_rows = len(self.state.sanity)

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
            text += f"\nbest model: reward {_fmt(s.best.get('mean_reward'), '.3f')} at step " \
                    f"{s.best.get('step', 0):,}"
        self.query_one("#checkpoint", Static).update(text)

    def _draw_evals(self) -> None:
        table = self.query_one("#evals", DataTable)
        table.clear()
        if self.state.baseline:
            b = self.state.baseline
            table.add_row("fixed time", _fmt(b.get("mean_reward"), ".3f"),
                          _fmt(b.get("mean_queue_veh")), _fmt(b.get("mean_delay_s")))
        for e in self.state.evals[-50:]:
            table.add_row(f"{e['step']:,}", _fmt(e.get("mean_reward"), ".3f"),
                          _fmt(e.get("mean_queue_veh")), _fmt(e.get("mean_delay_s")))
        if self.state.final:
            rl = self.state.final.get("rl", {})
            table.add_row("final RL", _fmt(rl.get("mean_reward"), ".3f"),
                          _fmt(rl.get("mean_queue_veh")), _fmt(rl.get("mean_delay_s")))

    def _draw_plots(self) -> None:
        s = self.state
        base = s.baseline
        reward_refs = []
        if base.get("episode_reward") is not None:
            reward_refs.append(("fixed time", base["episode_reward"], "red"))
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
        log = self.query_one("#log", RichLog)
        for line in self.state.log[self._log_lines:]:
            log.write(line)
        self._log_lines = len(self.state.log)

    def _load_timespace(self) -> None:
        for controller, widget_id in (("rl", "#ts-rl"), ("fixed_time", "#ts-fixed")):
            path = self.layout_paths.timespace(controller)
            if path.is_file():
                self.query_one(widget_id, Heatmap).set_data(read_timespace(path))

    # ------------------------------------------------------------------ actions
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
