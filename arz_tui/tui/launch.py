"""The launch form: what to train, where, and the effective configuration before starting.

Every option of `arz-tui run` is here (mode, scenario, demand, device, steps, time budget,
name, seed or seeds with jobs, config file, resume, sanity checks). The layout adapts from
80x24 (one column, one-line fields, the effective configuration behind F4) to 200x60.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
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
from arz_tui.training.tensorboard_log import tensorboard_available
from arz_tui.tui.messages import ResumeRequested
from arz_tui.tui.scenarios import ScenarioScan, scan_scenarios
from arz_tui.tui.validation import plain_problem

MODES = ("sanity", "quick", "production", "kaggle")
DEVICES = ("cpu", "cuda", "auto")
DEFAULT_SCENARIO = "lagos"
"""As the CLI (`arz-tui run` without --scenario)."""
DEMANDS = (
    ("heavy: the scenario's profile (x1.0)", "heavy"),
    ("light (x0.5)", "light"),
    ("moderate (x0.75)", "moderate"),
    ("saturated (x1.25)", "saturated"),
    ("random: a level drawn per episode", "random"),
)
CONFIG_SUFFIXES = (".json", ".yaml", ".yml")
MAX_SEEDS = 64
CUDA_ENV = "ARZ_TUI_CUDA"
"""Set to 0 or 1 to skip the CUDA probe (tests, machines where the answer is known)."""
NARROW = 110
"""Below this many columns the effective configuration hides behind F4."""
SHORT = 50
"""Below this many rows fields drop their borders (one line each): the whole form fits 45."""


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


def parse_seeds(text: str) -> list[int]:
    """'0', '0,1,2' or '0-4' (and mixes: '0-2,7') as a sorted list of distinct seeds."""
    seeds: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            raise ValueError("an empty item")
        lo, sep, hi = part.partition("-")
        try:
            first, last = int(lo), int(hi) if sep else int(lo)
        except ValueError:
            raise ValueError(f"{part!r} is not a seed or a range a-b") from None
        if first < 0 or last < first:
            raise ValueError(f"{part!r}: seeds are >= 0 and ranges go upwards")
        seeds.update(range(first, last + 1))
        if len(seeds) > MAX_SEEDS:
            raise ValueError(f"more than {MAX_SEEDS} seeds")
    return sorted(seeds)


class StartTraining(Message):
    """The form is complete: train with these `arz-tui --batch` arguments."""

    def __init__(self, args: list[str], experiment: str, results_dir: Path) -> None:
        super().__init__()
        self.args = args
        self.experiment = experiment
        self.results_dir = results_dir


class SavedSettingsRead(Message):
    """A run's saved settings, read in a worker for the Resume box."""

    def __init__(self, name: str, settings: list[tuple[str, str]] | None, error: str) -> None:
        super().__init__()
        self.name = name
        self.settings = settings
        self.error = error


class ScenariosScanned(Message):
    """A scan of the scenario files finished (posted from a worker)."""

    def __init__(self, scan: ScenarioScan) -> None:
        super().__init__()
        self.scan = scan


def _field(label: str, *widgets: Any, note: str | None = None) -> Horizontal:
    """A form row: a label, then the widgets and their note (a line under them)."""
    column = [*widgets]
    if note is not None:
        column.append(Static("", id=note, classes="note"))
    return Horizontal(Label(label), Vertical(*column, classes="field"), classes="row")


class LaunchScreen(Screen):
    """Mode, scenario, demand, device, steps, time budget, name, seeds, config, resume, checks;
    then Start."""

    BINDINGS = [
        Binding("ctrl+s", "start", "Start", tooltip="Start training with this form"),
        Binding("f4", "toggle_effective", "Config",
                tooltip="Show or hide the effective configuration (narrow terminals)"),
        Binding("f5", "rescan", "Rescan", tooltip="Look for new or changed scenario files"),
    ]

    DEFAULT_CSS = """
    LaunchScreen #form { width: 1fr; padding: 0 1; }
    LaunchScreen #effective-box { width: 40%; min-width: 44; max-width: 72; padding: 0 1;
                                  border-left: solid $primary; }
    LaunchScreen.-narrow #effective-box { display: none; }
    LaunchScreen.-narrow.-show-effective #effective-box { display: block; width: 1fr;
                                                         max-width: 100%; border-left: none; }
    LaunchScreen.-narrow.-show-effective #form { display: none; }
    LaunchScreen .row { height: auto; margin-bottom: 1; }
    LaunchScreen.-short .row { margin-bottom: 0; }
    LaunchScreen .row > Label { width: 14; padding-top: 1; }
    LaunchScreen.-short .row > Label { padding-top: 0; }
    LaunchScreen .field { width: 1fr; height: auto; }
    LaunchScreen RadioSet { layout: horizontal; height: auto; width: auto; }
    LaunchScreen.-short RadioSet { border: none; padding: 0; }
    LaunchScreen.-short Checkbox { border: none; padding: 0; }
    LaunchScreen.-short Switch { border: none; padding: 0; height: 1; }
    LaunchScreen RadioSet RadioButton { width: auto; }
    LaunchScreen .field Input { width: 1fr; max-width: 40; }
    LaunchScreen .field Select { width: 1fr; max-width: 80; }
    LaunchScreen .note { color: $text-muted; padding: 0 1; width: 1fr; height: auto; }
    LaunchScreen .bad { color: $error; }
    LaunchScreen .warn { color: $warning; }
    LaunchScreen #broken { color: $warning; padding: 0 1; height: auto; }
    LaunchScreen #start { margin: 1 0 1 14; }
    LaunchScreen.-short #start { margin: 0 0 0 14; }
    """

    def __init__(self, results_dir: Path) -> None:
        super().__init__()
        self.results_dir = Path(results_dir)
        self.cuda: bool | None = None
        self.name_touched = False
        self._suggested = ""
        self._device_default = "cpu"
        self.device_touched = False
        self.scan = ScenarioScan(usable=[DEFAULT_SCENARIO])
        self.scanned = False
        self.saved: tuple[str, list[tuple[str, str]] | None, str] | None = None
        """(run name, its saved settings or None, why not) once read for the Resume box."""

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with VerticalScroll(id="form"):
                yield _field("Mode", RadioSet(
                    *(RadioButton(m, value=m == "sanity", id=f"mode-{m}") for m in MODES),
                    id="mode"), note="mode-note")
                yield _field("Scenario", Select([(DEFAULT_SCENARIO, DEFAULT_SCENARIO)],
                                                value=DEFAULT_SCENARIO, allow_blank=False,
                                                id="scenario"),
                             Static("", id="broken"))
                yield _field("Demand", Select(DEMANDS, value="heavy", allow_blank=False,
                                              id="demand"))
                yield _field("Device", RadioSet(
                    *(RadioButton(d, value=d == "cpu", id=f"device-{d}", disabled=d == "cuda")
                      for d in DEVICES), id="device"), note="device-note")
                yield _field("Timesteps", Input(type="integer", id="timesteps"),
                             note="timesteps-note")
                yield _field("Max hours", Input(type="number", id="max-hours"),
                             note="max-hours-note")
                yield _field("Name", Input(id="name"), note="name-note")
                yield _field("Seed(s)", Input("0", id="seed"), note="seed-note")
                yield _field("Jobs", Input("1", type="integer", id="jobs"), note="jobs-note")
                yield _field("Config file", Input(placeholder="optional: a JSON/YAML "
                                                  "TrainingConfig", id="config"),
                             note="config-note")
                yield _field("Resume", Checkbox("continue its newest checkpoint", id="resume",
                                                disabled=True))
                yield _field("Sanity checks", Switch(value=True, id="sanity"),
                             note="sanity-note")
                yield _field("TensorBoard", Checkbox("write TensorBoard logs",
                                                     id="tensorboard"),
                             note="tensorboard-note")
                yield Button("Start training", variant="primary", id="start")
            with VerticalScroll(id="effective-box"):
                yield Static("Effective configuration", classes="note")
                yield Static(id="effective")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "arz-tui"
        self.sub_title = "new training run"
        self._adapt()
        self._suggest_name()
        self._refresh()
        self.query_one("#mode", RadioSet).focus()
        self._check_cuda()
        self.action_rescan()

    def on_screen_resume(self) -> None:
        # Runs may have been created or checkpointed, and scenario files added, while another
        # screen was shown.
        self._suggest_name()
        self._refresh()
        self.action_rescan()

    def on_resize(self) -> None:
        self._adapt()

    def _adapt(self) -> None:
        width, height = self.app.size
        self.set_class(width < NARROW, "-narrow")
        short = height < SHORT
        self.set_class(short, "-short")
        for widget in self.query("Input, Select, Button"):
            widget.compact = short  # type: ignore[attr-defined]
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_effective":
            return self.has_class("-narrow")  # side by side when wide: nothing to toggle
        return True

    # ------------------------------------------------------------------ workers
    @work(thread=True, exclusive=True, group="cuda")
    def _check_cuda(self) -> None:
        available = probe_cuda()
        self.app.call_from_thread(self._set_cuda, available)

    def _set_cuda(self, available: bool) -> None:
        self.cuda = available
        self.query_one("#device-cuda", RadioButton).disabled = not available
        self._refresh()

    def action_rescan(self) -> None:
        self._scan()

    @work(thread=True, exclusive=True, group="scenarios")
    def _scan(self) -> None:
        self.post_message(ScenariosScanned(scan_scenarios()))

    def on_scenarios_scanned(self, message: ScenariosScanned) -> None:
        scan = message.scan
        self.scan, self.scanned = scan, True
        select = self.query_one("#scenario", Select)
        current = self.scenario
        if scan.usable:
            keep = current if current in scan.usable else (
                DEFAULT_SCENARIO if DEFAULT_SCENARIO in scan.usable else scan.usable[0])
            with select.prevent(Select.Changed):
                select.set_options((s, s) for s in scan.usable)
                select.value = keep
        broken = self.query_one("#broken", Static)
        broken.update("\n".join(f"cannot use {path}: {error}" for path, error in scan.broken))
        broken.display = bool(scan.broken)
        self._suggest_name()
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
        return str(value) if isinstance(value, str) else DEFAULT_SCENARIO

    @property
    def demand(self) -> str:
        value = self.query_one("#demand", Select).value
        return str(value) if isinstance(value, str) else "heavy"

    def _text(self, selector: str) -> str:
        return self.query_one(selector, Input).value.strip()

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

    def _follow_mode_device(self) -> None:
        """The device follows the mode's preset (kaggle: auto) until the user picks one."""
        if self.device_touched:
            return
        wanted = MODE_PRESETS[self.mode].device
        self._device_default = wanted
        if self.device != wanted:
            self.query_one(f"#device-{wanted}", RadioButton).value = True

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        if event.radio_set.id == "mode":
            # Not from inside this handler: the mode's RadioSet posted this message while
            # preventing RadioButton.Changed, which would keep the device set from noticing.
            self.set_timer(0.01, self._follow_mode_device)
            self._suggest_name()
        elif event.radio_set.id == "device" and str(event.pressed.label) != \
                self._device_default:
            self.device_touched = True
        self._refresh()

    def on_select_changed(self, event: Select.Changed) -> None:
        self._suggest_name()
        self._refresh()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "name" and event.value != self._suggested:
            self.name_touched = True
        self._refresh()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        if event.checkbox.id == "resume" and event.value:
            self._read_saved(self._text("#name"))
        self._refresh()

    @work(thread=True, exclusive=True, group="saved")
    def _read_saved(self, name: str) -> None:
        from arz_tui.tui.resume import ResumeRefused, saved_settings

        try:
            self.post_message(SavedSettingsRead(name, saved_settings(name, self.results_dir),
                                                ""))
        except ResumeRefused as err:
            self.post_message(SavedSettingsRead(name, None, str(err)))

    def on_saved_settings_read(self, message: SavedSettingsRead) -> None:
        self.saved = (message.name, message.settings, message.error)
        self._refresh()

    def on_switch_changed(self, event: Switch.Changed) -> None:
        self._refresh()

    def _note(self, widget_id: str, text: str, kind: str = "") -> None:
        note = self.query_one(f"#{widget_id}", Static)
        note.update(text)
        note.display = bool(text)
        note.set_class(kind == "bad", "bad")
        note.set_class(kind == "warn", "warn")

    def _validate(self) -> tuple[list[str] | None, str]:
        """(batch arguments, or None when invalid, and the effective-config text)."""
        problems: list[str] = []
        preset = MODE_PRESETS[self.mode]
        self._note("mode-note", {"sanity": "100 steps: checks the whole pipeline; run it first",
                                 "quick": "5,000 steps: enough to see learning on riemann",
                                 "production": "100,000 steps",
                                 "kaggle": "200,000 steps, device auto, 8.5 h budget"}[self.mode])

        # Name, and whether the run it names can be resumed.
        name = self._text("#name")
        resume = self.query_one("#resume", Checkbox)
        run = self.results_dir / name
        exists = bool(name) and run.exists()
        has_ckpt = exists and bool(list_checkpoints(RunLayout(run), need_buffer=False)
                                   or RunLayout(run).final_model.is_file())
        resume.disabled = not has_ckpt
        if not has_ckpt and resume.value:
            resume.value = False
        name_problem = ""
        if not name:
            name_problem = "Name: required"
        elif not NAME_PATTERN.match(name):
            name_problem = "Name: letters, digits, _ - . only (starting with a letter or digit)"
        elif exists and not resume.value:
            name_problem = "Name: a run of this name exists; " + (
                "tick Resume to continue it, or choose another" if has_ckpt
                else "it has no checkpoint: choose another")
        if name_problem:
            problems.append(name_problem)
        self._note("name-note", name_problem or (
            "resumes it with its saved settings (at right); only Timesteps applies"
            if resume.value else "a new run"),
                   "bad" if name_problem else "")

        # Steps: empty means the mode's; 0 is explained rather than taken as "the mode's".
        steps: int | None = None
        steps_text = self._text("#timesteps")
        steps_problem = ""
        if steps_text:
            try:
                steps = int(steps_text)
            except ValueError:
                steps_problem = "Timesteps: a whole number"
            else:
                if steps < 1:
                    steps_problem = (f"Timesteps: at least 1 ({steps} trains nothing); leave "
                                     f"it empty for the mode's {preset.total_timesteps:,}")
                    steps = None
        if steps_problem:
            problems.append(steps_problem)
        self._note("timesteps-note", steps_problem or (
            "" if steps else f"empty: the mode's {preset.total_timesteps:,} steps"),
            "bad" if steps_problem else "")

        hours: float | None = None
        hours_text = self._text("#max-hours")
        hours_problem = ""
        if hours_text:
            try:
                hours = float(hours_text)
                if not 0 < hours <= 10_000:
                    raise ValueError
            except ValueError:
                hours, hours_problem = None, "Max hours: a number of hours > 0 (e.g. 1.5)"
                problems.append(hours_problem)
        self._note("max-hours-note", hours_problem or (
            "" if hours else "empty: " + (f"the mode's {preset.max_hours:g} h"
                                          if preset.max_hours else "no time limit")),
            "bad" if hours_problem else "")

        seeds: list[int] = [0]
        seeds_problem = ""
        try:
            seeds = parse_seeds(self._text("#seed") or "0")
        except ValueError as err:
            seeds_problem = f"Seed(s): {err} (e.g. 0, or 0-4 for a seed group)"
            problems.append(seeds_problem)
        group = len(seeds) > 1
        if group and resume.value:
            problems.append("Seed(s): resume continues one run; give a single seed")
        self._note("seed-note", seeds_problem or (
            f"{len(seeds)} runs {name}_s{seeds[0]} .. {name}_s{seeds[-1]} and their aggregate "
            f"in {name}/" if group else "one seed; 0-4 trains a seed group"),
            "bad" if seeds_problem else "")

        jobs_input = self.query_one("#jobs", Input)
        jobs_input.disabled = not group
        jobs = 1
        jobs_problem = ""
        if group:
            try:
                jobs = int(self._text("#jobs") or "1")
                if jobs < 1:
                    raise ValueError
            except ValueError:
                jobs_problem = "Jobs: a whole number >= 1"
                problems.append(jobs_problem)
        cores = os.cpu_count() or 1
        self._note("jobs-note", jobs_problem or (
            f"runs at the same time ({cores} cores here)" if group else ""),
            "bad" if jobs_problem else "")

        config_text = self._text("#config")
        config_problem = ""
        if config_text:
            path = Path(config_text).expanduser()
            if path.suffix not in CONFIG_SUFFIXES:
                config_problem = "Config file: a .json, .yaml or .yml file"
            elif not path.is_file():
                config_problem = f"Config file: {path} does not exist"
            if config_problem:
                problems.append(config_problem)
        self._note("config-note", config_problem or (
            "its settings first, then this form's" if config_text else ""),
            "bad" if config_problem else "")

        sanity = self.query_one("#sanity", Switch).value
        self._note("sanity-note", "" if sanity else "off: broken set-ups (constant reward, no "
                   "queue, truncated actions) will train for nothing", "warn")
        self._note("device-note", self._device_text())

        tensorboard = self.query_one("#tensorboard", Checkbox).value
        tb_problem = ""
        if tensorboard and not tensorboard_available():
            tb_problem = ("TensorBoard: the tensorboard package is not installed "
                          "(pip install -e \".[tensorboard]\")")
            problems.append(tb_problem)
        self._note("tensorboard-note", tb_problem or (
            "logs in RUN/logs/tb; press t in the results for the command" if tensorboard
            else ""), "bad" if tb_problem else "")

        fields: dict[str, Any] = {"experiment_name": name or "unnamed", "mode": self.mode,
                                  "device": self.device, "seed": seeds[0],
                                  "results_dir": self.results_dir,
                                  "sanity_check_config": {"enabled": sanity},
                                  "tensorboard": tensorboard}
        if steps:
            fields["total_timesteps"] = steps
        if hours:
            fields["max_hours"] = hours
        cfg: TrainingConfig | None = None
        try:
            cfg = TrainingConfig(**fields)
        except ValidationError as err:  # a value the checks above let through
            problems.append(plain_problem(err))
        text = self._effective_text(cfg, resume.value, seeds, jobs) if cfg else ""
        if resume.value:
            text = self._saved_text(name)
        if problems:
            return None, (text + "\n\n" if text else "") + "[red]" + "\n".join(problems) + "[/]"
        args = ["--mode", self.mode, "--scenario", self.scenario, "--device", self.device,
                "--name", name, "--results-dir", str(self.results_dir)]
        if group:
            args += ["--seeds", ",".join(map(str, seeds)), "--jobs", str(jobs)]
        else:
            args += ["--seed", str(seeds[0])]
        if self.demand != "heavy":
            args += ["--demand-level", self.demand]
        if steps:
            args += ["--timesteps", str(steps)]
        if hours:
            args += ["--max-hours", f"{hours:g}"]
        if config_text:
            args += ["--config", str(Path(config_text).expanduser())]
        if resume.value:
            args += ["--resume"]
        if not sanity:
            args += ["--no-sanity-checks"]
        if tensorboard:
            args += ["--tensorboard"]
        return args, text

    def _saved_text(self, name: str) -> str:
        if self.saved is None or self.saved[0] != name:
            return f"reading the saved settings of {name}..."
        _, settings, error = self.saved
        if settings is None:
            return f"[red]{escape(error)}[/]"
        lines = [f"[b]saved settings of {escape(name)}[/b] (resume uses these)"]
        lines += [f"{key:<18}{escape(value)}" for key, value in settings]
        return "\n".join(lines)

    def _device_text(self) -> str:
        if self.cuda is None:
            return "checking for a CUDA GPU..."
        if self.cuda:
            return "CUDA GPU found"
        return "no CUDA GPU here (torch sees none): auto uses the cpu"

    def _effective_text(self, cfg: TrainingConfig, resume: bool, seeds: list[int],
                        jobs: int) -> str:
        h = cfg.dqn_hyperparams
        demand = dict((v, k) for k, v in DEMANDS)[self.demand]
        seed_line = (f"{', '.join(map(str, seeds))} ({jobs} at a time)" if len(seeds) > 1
                     else str(cfg.seed))
        lines = [
            f"scenario          {self.scenario}",
            f"demand            {demand}",
            f"mode              {cfg.mode}",
            f"total steps       {cfg.total_timesteps:,}",
            f"device            {cfg.device}",
            f"seed{'s' if len(seeds) > 1 else ' '}             {seed_line}",
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
            f"tensorboard       {'on' if cfg.tensorboard else 'off'}",
            f"resume            {'yes' if resume else 'no'}",
            f"results           {cfg.run_dir}",
        ]
        config = self._text("#config")
        if config:
            lines.append(f"config file       {config} (the form's fields override it)")
        return "\n".join(lines)

    def _refresh(self) -> None:
        args, text = self._validate()
        self.query_one("#effective", Static).update(text)
        self.query_one("#start", Button).disabled = args is None

    # ------------------------------------------------------------------ actions
    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.action_start()

    def action_toggle_effective(self) -> None:
        self.toggle_class("-show-effective")

    def action_start(self) -> None:
        args, text = self._validate()
        if args is None:
            problems = text.rsplit("[red]", 1)[-1].removesuffix("[/]")
            self.notify(problems, title="fix the form first", severity="warning")
            return
        if self.query_one("#resume", Checkbox).value:
            steps = self._text("#timesteps")
            self.post_message(ResumeRequested(self._text("#name"), self.results_dir,
                                              int(steps) if steps else None))
            return
        self.post_message(StartTraining(args, self._text("#name"), self.results_dir))
