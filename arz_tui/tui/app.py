"""ArzApp: the launch form, the live run dashboard and the results browser."""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.binding import Binding

from arz_tui.tui.confirm import ConfirmScreen
from arz_tui.tui.launch import LaunchScreen, StartTraining
from arz_tui.tui.messages import ResumeRequested
from arz_tui.tui.run_view import RunScreen


class ArzApp(App):
    """`arz-tui`: train DQN traffic-signal controllers and browse past runs."""

    TITLE = "arz-tui"
    BINDINGS = [
        Binding("f2", "launch", "New run"),
        Binding("f3", "results", "Results"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, results_dir: Path | str = "results") -> None:
        super().__init__()
        self.results_dir = Path(results_dir)

    def on_mount(self) -> None:
        self.push_screen(LaunchScreen(self.results_dir))

    # ------------------------------------------------------------------ navigation
    def _active_run(self) -> RunScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, RunScreen) and screen.training:
                return screen
        return None

    def action_launch(self) -> None:
        if isinstance(self.screen, LaunchScreen):
            return
        if self._active_run() is not None:
            self.notify("a training run is in progress; its dashboard stays open",
                        severity="warning")
            return
        while len(self.screen_stack) > 2:
            self.pop_screen()
        if not isinstance(self.screen, LaunchScreen):
            self.push_screen(LaunchScreen(self.results_dir))

    def action_results(self) -> None:
        from arz_tui.tui.browser import ResultsScreen

        if isinstance(self.screen, ResultsScreen):
            return
        self.push_screen(ResultsScreen(self.results_dir))

    def on_start_training(self, message: StartTraining) -> None:
        self.push_screen(RunScreen(message.args, message.experiment, message.results_dir))

    def on_resume_requested(self, message: ResumeRequested) -> None:
        if self._active_run() is not None:
            self.notify("finish or stop the current run first", severity="warning")
            return
        from rich.markup import escape

        from arz_tui.runstore import RunLayout, Unreadable
        from arz_tui.runstore.reader import read_config

        run = RunLayout(message.results_dir / message.name)
        config = run.config
        try:
            name = read_config(run.root, message.results_dir).training.experiment_name
        except Unreadable as err:
            why = (err.reason if config.exists() or config.is_symlink() else
                   "it was stopped before its settings were saved; start it again from the "
                   "form (the name is free)")
            self.notify(escape(f"cannot resume {message.name}: {why}"), severity="error")
            return
        args = ["--config", str(config), "--resume", "--results-dir", str(message.results_dir)]
        self.push_screen(RunScreen(args, name, message.results_dir))

    async def action_quit(self) -> None:
        running = self._active_run()
        if running is None:
            self.exit()
            return

        def answer(stop: bool | None) -> None:
            if stop:
                running._quit_after_stop = True
                running.process.stop()

        self.push_screen(ConfirmScreen(
            "Training is running. Stop it (saving a checkpoint) and quit?", "Stop and quit"),
            answer)


def run_app(results_dir: Path | str = "results") -> int:
    ArzApp(results_dir).run()
    return 0
