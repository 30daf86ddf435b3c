"""Command-palette commands (ctrl+p) for every action of the app, offered where they work now.

One list (`COMMANDS`) says what each action is called and does; the palette provider shows those
the current screen (or the app) can run at this moment (`check_action`), and the help screen
lists the keys."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen


@dataclass(frozen=True)
class Command:
    title: str
    help: str
    action: str
    """An action string: `name` or `name(args)`."""
    target: str = "screen"
    """'app' or 'screen' (the screen the palette was opened on)."""

    @property
    def name(self) -> str:
        return self.action.split("(", 1)[0]


COMMANDS: tuple[Command, ...] = (
    Command("New run", "Open the launch form to configure and start training", "launch", "app"),
    Command("Results", "Browse past runs, seed groups and tuning studies", "results", "app"),
    Command("Help: keys", "Every key of every screen", "help", "app"),
    Command("Start training", "Start a run with the form's settings", "start"),
    Command("Show effective configuration", "Toggle the effective configuration (narrow "
            "terminals)", "toggle_effective"),
    Command("Rescan scenarios", "Look for new or changed scenario files", "rescan"),
    Command("Stop training", "Stop the run, saving a checkpoint first", "stop"),
    Command("Pause redraw", "Freeze or unfreeze the dashboard (training goes on)",
            "toggle_pause"),
    Command("Open log", "Page through the run's training log ($PAGER, default less)",
            "open_log"),
    Command("Copy run path", "Copy the run folder's path to the clipboard", "copy_path"),
    Command("Curves tab", "Reward, queue, epsilon and speed curves", "show_tab('curves')"),
    Command("Time-space tab", "Occupancy along the corridor over time, RL and fixed time",
            "show_tab('timespace')"),
    Command("Sanity tab", "The pre-training checks with their fixes", "show_tab('sanity')"),
    Command("Resume run", "Continue the selected run from its newest checkpoint", "resume"),
    Command("Mark run", "Mark or unmark the selected run for comparison", "mark"),
    Command("Compare runs", "Compare the marked runs side by side", "compare"),
    Command("Report", "Evaluate the selected run against the baselines (report.md)", "report"),
    Command("Delete run", "Delete the selected run folder (asks first)", "delete"),
    Command("TensorBoard command", "The command that opens the run's TensorBoard logs",
            "tensorboard"),
    Command("Filter runs", "Show only runs whose name, scenario, mode or status match",
            "filter"),
    Command("Sort runs", "Sort by date, name, status or best reward", "sort"),
    Command("Rename run", "Rename the selected run (its saved settings follow)", "rename"),
    Command("Back", "Leave this screen", "back"),
)


def available(command: Command, screen: Screen) -> bool:
    """Whether `command` can run now on `screen`: its action exists and check_action allows."""
    owner = screen.app if command.target == "app" else screen
    if not hasattr(owner, f"action_{command.name}"):
        return False
    return bool(owner.check_action(command.name, ()))


class ArzCommands(Provider):
    """The app's commands in Textual's command palette."""

    def _commands(self) -> list[Command]:
        return [c for c in COMMANDS if available(c, self.screen)]

    def _run(self, command: Command) -> partial:
        namespace = "app" if command.target == "app" else "screen"
        return partial(self.app.run_action, f"{namespace}.{command.action}")

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.title, self._run(command), help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = max(matcher.match(command.title), matcher.match(command.help) * 0.8)
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), self._run(command),
                          help=command.help)
