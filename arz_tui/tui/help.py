"""F1 / `?`: every key of every screen, read from the screens' own bindings (never a second
list to keep in step)."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

FORM_KEYS = (
    ("tab / shift+tab", "next / previous field"),
    ("space / enter", "press a button, tick a box, open a list"),
    ("left / right", "choose within Mode, Device"),
    ("up / down", "move in an open list"),
)
TAB_KEYS = (("left / right", "switch tabs when the tab bar has focus"),)


def _binding_rows(app, bindings: list) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for b in bindings:
        if not isinstance(b, Binding) or b.system:
            continue
        description = b.tooltip or b.description or b.action
        key = b.key_display or ", ".join(app.get_key_display(Binding(k.strip(), b.action))
                                        for k in b.key.split(","))
        if rows and rows[-1][1] == description:
            continue
        rows.append((key, description))
    return rows


def help_sections(app) -> list[tuple[str, list[tuple[str, str]]]]:
    """(screen title, [(keys, what they do)]) for every screen of the app."""
    from arz_tui.tui.browser import ResultsScreen
    from arz_tui.tui.confirm import ConfirmScreen
    from arz_tui.tui.launch import LaunchScreen
    from arz_tui.tui.run_view import RunScreen

    return [
        ("Everywhere", [*_binding_rows(app, app.BINDINGS),
                        ("ctrl+p", "command palette: every action by name")]),
        ("Launch form", [*_binding_rows(app, LaunchScreen.BINDINGS), *FORM_KEYS]),
        ("Run dashboard", [*_binding_rows(app, RunScreen.BINDINGS), *TAB_KEYS]),
        ("Results browser", [*_binding_rows(app, ResultsScreen.BINDINGS), *TAB_KEYS]),
        ("Questions (stop, quit, delete)", _binding_rows(app, ConfirmScreen.BINDINGS)),
    ]


class HelpScreen(ModalScreen[None]):
    """The keys of every screen; the one it was opened from comes first."""

    BINDINGS = [Binding("escape,f1,question_mark,q", "close", "Close")]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 96; height: 90%; padding: 0 1;
                                  border: thick $primary; background: $surface; }
    HelpScreen #help-text { width: 1fr; }
    """

    def __init__(self, current: Screen | None = None) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self._text(), id="help-text")

    def _text(self) -> Group:
        sections = help_sections(self.app)
        current = {"LaunchScreen": "Launch form", "RunScreen": "Run dashboard",
                   "ResultsScreen": "Results browser"}.get(type(self.current).__name__)
        sections.sort(key=lambda s: (s[0] != current, s[0] != "Everywhere"))
        parts: list[Text | Table] = [
            Text.from_markup("[b]Keys[/b]  (esc closes; ctrl+p finds any action by name)")]
        for title, rows in sections:
            heading = Text(f"\n{title}", style="bold")
            if title == current:
                heading.append("  (this screen)", style="italic")
            table = Table.grid(padding=(0, 2))
            table.add_column(style="bold", no_wrap=True)
            table.add_column(ratio=1)
            for key, what in rows:
                table.add_row(f"  {key}", what)
            parts += [heading, table]
        return Group(*parts)

    def action_close(self) -> None:
        self.dismiss(None)
