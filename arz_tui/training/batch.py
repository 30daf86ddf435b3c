"""The batch printer: one more listener on the event stream, drawing with rich (never textual)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from arz_tui.training.events import Event

METRICS = (
    ("mean_delay_s", "mean delay (s/veh)", "{:.1f}"),
    ("total_delay_vh", "total delay (veh-h)", "{:.1f}"),
    ("mean_travel_time_s", "mean travel time (s)", "{:.1f}"),
    ("mean_queue_veh", "mean queue (veh)", "{:.1f}"),
    ("max_queue_veh", "max queue (veh)", "{:.1f}"),
    ("vehicles_served", "vehicles served", "{:.0f}"),
    ("mean_reward", "reward per step", "{:.4f}"),
    ("episode_reward", "reward per episode", "{:.2f}"),
)


class BatchPrinter:
    """Prints sanity results, a progress bar (reward, queue, epsilon, fps), checkpoint and
    evaluation lines, and the final RL vs fixed-time table."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False)
        # Piped or redirected (a log file, a notebook): lines are not wrapped at rich's default
        # 80 columns, and progress is a line per tenth of the run instead of a live bar.
        self.live = self.console.is_terminal
        if not self.live:
            self.console.soft_wrap = True
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.baseline: dict[str, Any] = {}
        self._next_line_at = 0

    def __call__(self, event: Event) -> None:
        handler = getattr(self, f"_on_{event.kind}", None)
        if handler is not None:
            handler(event)

    def _line(self, text: str) -> None:
        (self.progress.console if self.progress else self.console).print(text)

    def _on_run_started(self, e: Event) -> None:
        d = e.data
        self._line(f"[bold]{d.get('message')}[/]: scenario {d.get('scenario')}, mode "
                   f"{d.get('mode')}, {d.get('total_timesteps'):,} steps, device "
                   f"{d.get('device')}")

    def _on_sanity_result(self, e: Event) -> None:
        d = e.data
        mark = "[green]PASS[/]" if d.get("passed") else "[red]FAIL[/]"
        text = f"  {mark} {d.get('name')}: {d.get('measured')}"
        if not d.get("passed"):
            text += f" (expected {d.get('expected')})\n       fix: {d.get('fix')}"
        self._line(text)

    def _on_sanity_report(self, e: Event) -> None:
        self._line(("[green]" if e.data.get("passed") else "[red]")
                   + f"{e.data.get('message')}[/]")

    def _start_bar(self, total: int) -> None:
        self.progress = Progress(
            TextColumn("[progress.description]{task.description}"), BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,}"),
            TextColumn("reward/ep {task.fields[reward]}  queue {task.fields[queue]} veh  "
                       "eps {task.fields[eps]}  {task.fields[fps]} steps/s"),
            TimeRemainingColumn(), console=self.console)
        self.progress.start()
        self.task = self.progress.add_task("training", total=total, reward="-", queue="-",
                                           eps="-", fps="-")

    def _on_progress(self, e: Event) -> None:
        d = e.data
        if not self.live:
            self._progress_line(e)
            return
        if self.progress is None:
            self._start_bar(int(d.get("total") or 0))
        reward = d.get("mean_episode_reward")
        self.progress.update(
            self.task, completed=e.step, reward="-" if reward is None else f"{reward:.3f}",
            queue=f"{d.get('queue_veh', 0):.0f}", eps=f"{d.get('epsilon', 0):.2f}",
            fps=f"{d.get('fps', 0):,.0f}")

    def _progress_line(self, e: Event) -> None:
        d = e.data
        total = int(d.get("total") or 0)
        if e.step < self._next_line_at and e.step < total:
            return
        self._next_line_at = e.step + max(total // 10, 1)
        reward = d.get("mean_episode_reward")
        eta = d.get("eta_s")
        self._line(f"  step {e.step:,}/{total:,}: reward "
                   f"{'-' if reward is None else f'{reward:.3f}'} per episode, queue "
                   f"{d.get('queue_veh', 0):.0f} veh, eps {d.get('epsilon', 0):.2f}, "
                   f"{d.get('fps', 0):,.0f} steps/s, ETA "
                   f"{'-' if eta is None else f'{int(eta) // 60}:{int(eta) % 60:02d}'}")

    def _on_checkpoint(self, e: Event) -> None:
        self._line(f"  checkpoint at step {e.step:,}: {e.data.get('model')}")

    def _on_baseline(self, e: Event) -> None:
        self.baseline = e.data
        self._line(f"  fixed-time baseline: mean queue {e.data.get('mean_queue_veh', 0):.1f} "
                   f"veh, mean delay {e.data.get('mean_delay_s', 0):.1f} s/veh")

    def _on_eval(self, e: Event) -> None:
        d = e.data
        per_step = d.get("reward_per_step")
        self._line(f"  eval at step {e.step:,}: reward "
                   f"{'-' if per_step is None else f'{per_step:.4f}'} per step, mean queue "
                   f"{d.get('mean_queue_veh', 0):.1f} veh, mean delay "
                   f"{d.get('mean_delay_s', 0):.1f} s/veh")

    def _on_best_model(self, e: Event) -> None:
        self._line(f"  new best model at step {e.step:,} (reward "
                   f"{e.data.get('mean_reward'):.3f} per episode)")

    def _stop_bar(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def _on_run_interrupted(self, e: Event) -> None:
        self._stop_bar()
        self._line(f"[yellow]{e.data.get('message')}[/]")

    def _on_run_failed(self, e: Event) -> None:
        self._stop_bar()

    def _on_run_finished(self, e: Event) -> None:
        self._stop_bar()
        self._line(f"[bold green]{e.data.get('message')}[/]")
        self.console.print(results_table(e.data.get("rl", {}), e.data.get("fixed_time", {})))


def results_table(rl: dict[str, Any], base: dict[str, Any]) -> Table:
    """RL against fixed time, physical units."""
    table = Table(title="evaluation (same seeded episodes)")
    table.add_column("metric")
    table.add_column("RL (DQN)", justify="right")
    table.add_column("fixed time", justify="right")
    for key, label, fmt in METRICS:
        if key in rl or key in base:
            table.add_row(label, fmt.format(rl[key]) if key in rl else "-",
                          fmt.format(base[key]) if key in base else "-")
    return table
