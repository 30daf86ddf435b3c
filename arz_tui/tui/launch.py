"""The launch form: what to train, where, and the effective configuration before starting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import (
    Button,
    Checkbox,
    Footer,
    Header,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Select,
    Static,
    Switch,
)

from arz_tui.runstore import RunLayout
from arz_tui.runstore.checkpoints import list_checkpoints
from arz_tui.training.config import MODE_PRESETS, NAME_PATTERN, TrainingConfig
from sim.scenario import SUFFIXES, available_scenarios, load_scenario

MODES = ("sanity", "quick", "production", "kaggle")
DEVICES = ("cpu", "cuda", "auto")
CUDA_ENV = "ARZ_TUI_CUDA"
"""Set to 0 or 1 to skip the CUDA probe (tests, machines where the answer is known)."""


def scenario_choices(search: tuple[Path, ...] = (Path("."), Path("scenarios"))) -> list[str]:
    """Built-in scenarios, then scenario files found in the current folder and ./scenarios."""
    found = list(available_scenarios())
    for folder in search:
        try:
            files = sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file())
        except OSError:
            continue
        for path in files:
            try:
                load_scenario(path)
            except Exception:  # not a scenario: configs, CI files, ...
                continue
            found.append(str(path))
    return found


def probe_cuda() -> bool:
    """True when torch sees a CUDA device; asked in a child process so the UI never imports
    torch (a second and a half, and a GIL held the whole time)."""
    forced = os.environ.get(CUDA_ENV)
    if forced is not None:
        return forced.strip() == "1"
    code = "import sys, torch; sys.stdout.write('1' if torch.cuda.is_available() else '0')"
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=120).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return out.strip() == "1"


class StartTraining(Message):
    """The form is complete: train with these `arz-tui --batch` arguments."""

    def __init__(self, args: list[str], experiment: str, results_dir: Path) -> None:
        super().__init__()
        self.args = args
        self.experiment = experiment
        self.results_dir = results_dir


class LaunchScreen(Screen):
    """Mode, scenario, device, steps, name, seed, resume, sanity checks; then Start."""

    BINDINGS = [Binding("ctrl+s", "start", "Start training")]

    DEFAULT_CSS = """
    LaunchScreen #form { width: 1fr; padding: 0 2; }
    LaunchScreen #effective-box { width: 52; padding: 0 1; border-left: solid $primary; }
    LaunchScreen .row { height: auto; margin-bottom: 1; }
    LaunchScreen .row Label { width: 16; padding-top: 1; }
    LaunchScreen RadioSet { layout: horizontal; height: auto; width: auto; }
    LaunchScreen RadioSet RadioButton { width: auto; }
    LaunchScreen .row Input { width: 32; }
    LaunchScreen .row Select { width: 40; }
    LaunchScreen .note { color: $text-muted; padding: 1 0 0 1; width: 1fr; }
    LaunchScreen .bad { color: $error; }
    LaunchScreen .warn { color: $warning; }
    LaunchScreen #start { margin-top: 1; }
    """

    def __init__(self, results_dir: Path) -> None:
        super().__init__()
        self.results_dir = Path(results_dir)
        self.cuda: bool | None = None
        self.name_touched = False
        self._suggested = ""
        self.scenarios = scenario_choices()

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with VerticalScroll(id="form"):
                with Horizontal(classes="row"):
                    yield Label("Mode")
                    with RadioSet(id="mode"):
                        for m in MODES:
                            yield RadioButton(m, value=m == "sanity", id=f"mode-{m}")
                with Horizontal(classes="row"):
                    yield Label("Scenario")
                    yield Select([(s, s) for s in self.scenarios], value=self._first_scenario(),
                                 allow_blank=False, id="scenario")
                with Horizontal(classes="row"):
                    yield Label("Device")
                    with RadioSet(id="device"):
                        for d in DEVICES:
                            yield RadioButton(d, value=d == "cpu", id=f"device-{d}",
                                              disabled=d == "cuda")
                    yield Static("checking for a CUDA GPU...", id="device-note", classes="note")
                with Horizontal(classes="row"):
                    yield Label("Timesteps")
                    yield Input(placeholder="the mode's", type="integer", id="timesteps")
                    yield Static("", id="timesteps-note", classes="note")
                with Horizontal(classes="row"):
                    yield Label("Experiment")
                    yield Input(id="name")
                    yield Static("", id="name-note", classes="note")
                with Horizontal(classes="row"):
                    yield Label("Seed")
                    yield Input("0", type="integer", id="seed")
                with Horizontal(classes="row"):
                    yield Label("Resume")
                    yield Checkbox("continue its newest checkpoint", id="resume",
                                   disabled=True)
                with Horizontal(classes="row"):
                    yield Label("Sanity checks")
                    yield Switch(value=True, id="sanity")
                    yield Static("", id="sanity-note", classes="note")
                yield Button("Start training", variant="primary", id="start")
            with VerticalScroll(id="effective-box"):
                yield Static("Effective configuration", classes="note")
                yield Static(id="effective")
        yield Footer()

    def _first_scenario(self) -> str:
        return "riemann" if "riemann" in self.scenarios else self.scenarios[0]

    def on_mount(self) -> None:
        self.title = "arz-tui"
        self.sub_title = "new training run"
        self._suggest_name()
        self._refresh()
        self.query_one("#mode", RadioSet).focus()
        self._check_cuda()

    def on_screen_resume(self) -> None:
        # Runs may have been created or checkpointed while another screen was shown.
        self._suggest_name()
        self._refresh()

    @work(thread=True, exclusive=True, group="cuda")
    def _check_cuda(self) -> None:
        available = probe_cuda()
        self.app.call_from_thread(self._set_cuda, available)

    def _set_cuda(self, available: bool) -> None:
        self.cuda = available
        button = self.query_one("#device-cuda", RadioButton)
        button.disabled = not available
        note = self.query_one("#device-note", Static)
        note.update("CUDA GPU found" if available
                    else "cuda: no CUDA GPU here (torch sees none); auto will use the cpu")
        self._refresh()

    # ------------------------------------------------------------------ form state
    @property
    def mode(self) -> str:
        pressed = self.query_one("#mode", RadioSet).pressed_button
        return str(pressed.label) if pressed else "sanity"

    @property
    def device(self) -> str:
        pressed = self.query_one("#device", RadioSet).pressed_button
        return str(pressed.label) if pressed else "cpu"

    @property
    def scenario(self) -> str:
        value = self.query_one("#scenario", Select).value
        return str(value) if isinstance(value, str) else self._first_scenario()

    def _name_base(self) -> str:
        return f"{Path(self.scenario).stem}_{self.mode}"

    def _suggest_name(self) -> None:
        """Scenario_mode, suffixed until it names no existing run."""
        if self.name_touched:
            return
        base = self._name_base()
        name, k = base, 2
        while (self.results_dir / name).exists():
            name, k = f"{base}_{k}", k + 1
        # Input.Changed arrives later, as a message: recognise our own value then.
        self._suggested = name
        self.query_one("#name", Input).value = name

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        if event.radio_set.id == "mode":
            self._suggest_name()
        self._refresh()

    def on_select_changed(self, event: Select.Changed) -> None:
        self._suggest_name()
        self._refresh()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "name" and event.value != self._suggested:
            self.name_touched = True
        self._refresh()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self._refresh()

    def on_switch_changed(self, event: Switch.Changed) -> None:
        self._refresh()

    def _validate(self) -> tuple[list[str] | None, str]:
        """(batch arguments, or None when invalid, and the effective-config text)."""
        name = self.query_one("#name", Input).value.strip()
        name_note = self.query_one("#name-note", Static)
        resume = self.query_one("#resume", Checkbox)
        problems = []
        run = self.results_dir / name
        exists = bool(name) and run.exists()
        has_ckpt = exists and bool(list_checkpoints(RunLayout(run), need_buffer=False)
                                   or RunLayout(run).final_model.is_file())
        resume.disabled = not has_ckpt
        if not has_ckpt and resume.value:
            resume.value = False
        if not name:
            problems.append("name: required")
        elif not NAME_PATTERN.match(name):
            problems.append("name: letters, digits, _ - . only (starting with a letter/digit)")
        elif exists and not resume.value:
            problems.append("name: exists" + ("; tick Resume to continue it, or choose another"
                                              if has_ckpt else " (no checkpoint); choose another"))
        name_note.update(problems[-1] if problems else ("resumes this run" if resume.value
                                                        else "new run"))
        name_note.set_class(bool(problems), "bad")

        steps_text = self.query_one("#timesteps", Input).value.strip()
        steps = None
        if steps_text:
            try:
                steps = int(steps_text)
                if steps < 1:
                    raise ValueError
            except ValueError:
                problems.append("timesteps: a whole number >= 1")
        self.query_one("#timesteps-note", Static).update(
            "" if steps_text and steps else f"{MODE_PRESETS[self.mode].total_timesteps:,} steps")
        seed_text = self.query_one("#seed", Input).value.strip() or "0"
        try:
            seed = int(seed_text)
            if seed < 0:
                raise ValueError
        except ValueError:
            problems.append("seed: a whole number >= 0")
            seed = 0
        sanity = self.query_one("#sanity", Switch).value
        sanity_note = self.query_one("#sanity-note", Static)
        sanity_note.update("" if sanity else "off: broken set-ups (constant reward, no queue, "
                           "truncated actions) will train for nothing")
        sanity_note.set_class(not sanity, "warn")

        fields: dict[str, Any] = {"experiment_name": name or "unnamed", "mode": self.mode,
                                  "device": self.device, "seed": seed,
                                  "results_dir": self.results_dir,
                                  "sanity_check_config": {"enabled": sanity}}
        if steps:
            fields["total_timesteps"] = steps
        try:
            cfg = TrainingConfig(**fields)
        except Exception as err:  # a value the form did not catch
            problems.append(str(err).splitlines()[0])
            cfg = None
        text = self._effective_text(cfg, resume.value) if cfg else ""
        if problems:
            return None, text + "\n[red]" + "\n".join(problems) + "[/red]"
        args = ["--mode", self.mode, "--scenario", self.scenario, "--device", self.device,
                "--name", name, "--seed", str(seed), "--results-dir", str(self.results_dir)]
        if steps:
            args += ["--timesteps", str(steps)]
        if resume.value:
            args += ["--resume"]
        if not sanity:
            args += ["--no-sanity-checks"]
        return args, text

    def _effective_text(self, cfg: TrainingConfig, resume: bool) -> str:
        h = cfg.dqn_hyperparams
        lines = [
            f"scenario          {self.scenario}",
            f"mode              {cfg.mode}",
            f"total steps       {cfg.total_timesteps:,}",
            f"device            {cfg.device}",
            f"seed              {cfg.seed}",
            f"checkpoint every  {cfg.checkpoint_strategy.save_freq:,} steps "
            f"(keep {cfg.checkpoint_strategy.max_checkpoints})",
            f"evaluate every    {cfg.evaluation_strategy.eval_freq:,} steps on "
            f"{cfg.evaluation_strategy.n_eval_episodes} episodes",
            f"learning rate     {h.learning_rate:g}",
            f"buffer            {h.buffer_size:,}",
            f"learning starts   {h.learning_starts:,}",
            f"exploration       {h.exploration_initial_eps:g} -> {h.exploration_final_eps:g} "
            f"over {h.exploration_fraction:.0%}",
            f"target update     {h.target_update_interval:,} steps",
            f"network           {h.net_arch}",
            f"max hours         {cfg.max_hours if cfg.max_hours else '-'}",
            f"sanity checks     {'on' if cfg.sanity_check_config.enabled else 'OFF'}",
            f"resume            {'yes' if resume else 'no'}",
            f"results           {cfg.run_dir}",
        ]
        return "\n".join(lines)

    def _refresh(self) -> None:
        args, text = self._validate()
        self.query_one("#effective", Static).update(text)
        self.query_one("#start", Button).disabled = args is None

    # ------------------------------------------------------------------ start
    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.action_start()

    def action_start(self) -> None:
        args, _ = self._validate()
        if args is None:
            self.notify("fix the form first", severity="warning")
            return
        name = self.query_one("#name", Input).value.strip()
        self.post_message(StartTraining(args, name, self.results_dir))
