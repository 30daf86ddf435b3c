"""ArzApp: the launch form, the live run dashboard and the results browser."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Center, Middle
from textual.events import Resize
from textual.screen import ModalScreen
from textual.widgets import Static

from arz_tui.tui.commands import ArzCommands
from arz_tui.tui.confirm import ConfirmScreen
from arz_tui.tui.help import HelpScreen
from arz_tui.tui.launch import LaunchScreen, StartTraining
from arz_tui.tui.messages import ResumeRequested
from arz_tui.tui.run_view import RunScreen

if TYPE_CHECKING:
    from arz_tui.tui.resume import ResumePlan

MIN_WIDTH, MIN_HEIGHT = 80, 24


class TooSmallScreen(ModalScreen[None]):
    """Covers the app while the terminal is below 80x24; leaves when it is large enough."""

    DEFAULT_CSS = """
    TooSmallScreen { background: $background; }
    TooSmallScreen Static { width: auto; }
    """

    def compose(self) -> ComposeResult:
        with Middle(), Center():
            yield Static(id="too-small")

    def on_mount(self) -> None:
        self.show(*self.app.size)

    def show(self, width: int, height: int) -> None:
        self.query_one("#too-small", Static).update(
            f"terminal too small: {width}x{height}\nneeds at least {MIN_WIDTH}x{MIN_HEIGHT}"
            "\n(training goes on)")


class ArzApp(App):
    """`arz-tui`: train DQN traffic-signal controllers and browse past runs."""

    TITLE = "arz-tui"
    COMMANDS = App.COMMANDS | {ArzCommands}
    BINDINGS = [
        Binding("f1,question_mark", "help", "Help", key_display="f1",
                tooltip="Every key of every screen"),
        Binding("f2", "launch", "New run", tooltip="Open the launch form"),
        Binding("f3", "results", "Results", tooltip="Browse past runs"),
        Binding("ctrl+q", "quit", "Quit", priority=True, tooltip="Quit (asks while training)"),
    ]

    def __init__(self, results_dir: Path | str = "results") -> None:
        super().__init__()
        self.results_dir = Path(results_dir)
        self._sized = False

    def on_mount(self) -> None:
        self.push_screen(LaunchScreen(self.results_dir))
        # After the form is on the stack (push_screen completes later), so the notice covers it.
        self.call_after_refresh(self._size_ready)

    def _size_ready(self) -> None:
        self._sized = True
        self._check_size(*self.size)

    # ------------------------------------------------------------------ size
    def on_resize(self, event: Resize) -> None:
        if self._sized:
            self._check_size(event.size.width, event.size.height)

    def _check_size(self, width: int, height: int) -> None:
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        notice = next((s for s in self.screen_stack if isinstance(s, TooSmallScreen)), None)
        if small and notice is None:
            self.push_screen(TooSmallScreen())
        elif small and notice is not None:
            notice.show(width, height)
        elif not small and notice is not None and self.screen is notice:
            self.pop_screen()

    # ------------------------------------------------------------------ navigation
    def _active_run(self) -> RunScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, RunScreen) and screen.training:
                return screen
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer offers only what works on this screen now."""
        if isinstance(self.screen, TooSmallScreen) and action != "quit":
            return False
        if action == "launch":
            return not isinstance(self.screen, LaunchScreen) and self._active_run() is None
        if action == "results":
            from arz_tui.tui.browser import ResultsScreen

            return not isinstance(self.screen, ResultsScreen)
        if action == "help":
            return not isinstance(self.screen, HelpScreen)
        return True

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

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
        if "--seeds" in message.args:
            from arz_tui.tui.sweep_process import SweepProcess

            self.push_screen(RunScreen(message.args, message.experiment, message.results_dir,
                                       SweepProcess, initial_tab="log"))
            return
        self.push_screen(RunScreen(message.args, message.experiment, message.results_dir))

    def on_resume_requested(self, message: ResumeRequested) -> None:
        if self._active_run() is not None:
            self.notify("finish or stop the current run first", severity="warning")
            return
        self._plan_resume(message.name, message.results_dir, message.timesteps)

    @work(thread=True, exclusive=True, group="resume")
    def _plan_resume(self, name: str, results_dir: Path, timesteps: int | None) -> None:
        from arz_tui.tui.resume import ResumeRefused, plan_resume

        try:
            plan = plan_resume(name, results_dir, timesteps)
        except ResumeRefused as err:
            self.call_from_thread(self.notify, escape(str(err)), severity="error", timeout=10)
            return
        self.call_from_thread(self._confirm_resume, plan)

    def _confirm_resume(self, plan: ResumePlan) -> None:
        """Ask, showing the saved settings; on yes, the dashboard with the run's history."""

        def answer(yes: bool | None) -> None:
            if yes and self._active_run() is None:
                self.push_screen(RunScreen(plan.args, plan.name, plan.results_dir,
                                           history=plan.history))

        self.push_screen(ConfirmScreen(escape(plan.question), "Resume"), answer)

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
