"""report.md, report.json and the PNG plots."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from arz_tui.report.timespace import Diagrams, plot_timespace
from arz_tui.runstore.atomic import write_json_atomic, write_text_atomic
from arz_tui.training.sweep import MIN_RUNS_FOR_INTERVAL

COLUMNS = (
    ("mean_delay_s", "mean delay (s/veh)", "{:.1f}"),
    ("total_delay_vh", "total delay (veh-h)", "{:.1f}"),
    ("mean_queue_veh", "mean queue (veh)", "{:.1f}"),
    ("throughput_vph", "throughput (veh/h)", "{:.0f}"),
    ("mean_travel_time_s", "travel time (s)", "{:.1f}"),
)
BARS = (("mean_delay_s", "mean delay (s/veh)"), ("mean_queue_veh", "mean queue (veh)"),
        ("throughput_vph", "throughput (veh/h)"))


def _cell(stat: dict[str, float], fmt: str) -> str:
    m, h = stat.get("mean", math.nan), stat.get("ci95", math.nan)
    if m is None or not math.isfinite(m):
        return "-"
    text = fmt.format(m)
    return f"{text} ± {fmt.format(h)}" if h and math.isfinite(h) and h > 0 else text


def _per_signal(signals: list[str], rows: dict[str, Any]) -> list[str]:
    """Mean queue on each signal's approaches per controller (networks of 2+ signals)."""
    labels = [c for c in rows if len(rows[c].get("signal_queue_veh") or []) == len(signals)]
    if len(signals) < 2 or not labels:
        return []
    lines = ["Mean queue on each signal's approaches (vehicles, time mean over the episodes):",
             "",
             "| signal | " + " | ".join(labels) + " |",
             "|---|" + "|".join("---:" for _ in labels) + "|"]
    for g, node in enumerate(signals):
        lines.append(f"| {node} | " + " | ".join(
            f"{rows[c]['signal_queue_veh'][g]:.1f}" for c in labels) + " |")
    return [*lines, ""]


def markdown(results: dict[str, Any], curves: dict[str, Any], command: str,
             images: list[str]) -> str:
    lines = [f"# arz-tui report: {results['scenario']}", "",
             f"Controllers on the same {len(results['seeds'])} seeded episodes per demand "
             f"level (seeds {results['seeds'][0]}-{results['seeds'][-1]}); RL rows pool the "
             "episodes of all runs of a group. Values are means ± the 95 % confidence "
             "interval over episodes. Vehicles waiting to enter count in queue and delay.",
             "", f"Produced by `{command}`.", ""]
    for level, rows in results["levels"].items():
        lines += [f"## Demand: {level}", ""]
        lines.append("| controller | " + " | ".join(t for _, t, _ in COLUMNS) + " |")
        lines.append("|---|" + "|".join("---:" for _ in COLUMNS) + "|")
        best = min(rows, key=lambda c: rows[c]["mean_delay_s"]["mean"])
        for label, row in rows.items():
            name = f"**{label}**" if label == best else label
            kind = " (RL)" if row.get("kind") == "rl" else ""
            cells = [_cell(row[key], fmt) for key, _, fmt in COLUMNS]
            lines.append(f"| {name}{kind} | " + " | ".join(cells) + " |")
        lines.append("")
        lines += _per_signal(results.get("signals") or [], rows)
    if curves:
        lines += ["## Learning curves", "",
                  "Evaluation reward per decision step (the reward's unit: each evaluation's "
                  "reward summed over its episodes, divided by their decision steps), mean "
                  f"over runs; the 95 % interval only with {MIN_RUNS_FOR_INTERVAL} runs or "
                  "more:", ""]
        for label, points in curves.items():
            if points:
                last = points[-1]
                n = int(last.get("n", 1))
                spread = (f" ± {last['ci95']:.3f} (95 % interval, {n} runs)"
                          if last.get("ci95") is not None else
                          f" ({n} run{'s' if n != 1 else ''}: too few for an interval)")
                lines.append(f"- {label}: {len(points)} evaluations, last at step "
                             f"{last['step']:,}: {last['mean']:.4f} per step{spread}")
        lines.append("")
    if images:
        lines += ["## Plots", ""] + [f"![{Path(p).stem}]({Path(p).name})" for p in images] + [""]
    return "\n".join(lines)


def plots(results: dict[str, Any], curves: dict[str, Any], out: Path) -> list[str]:
    """learning_curves.png and one bar chart per metric; returns the file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    written = []
    if any(curves.values()):
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for label, points in curves.items():
            if not points:
                continue
            x = np.array([p["step"] for p in points])
            m = np.array([p["mean"] for p in points])
            h = np.array([np.nan if p.get("ci95") is None else p["ci95"] for p in points])
            n = max(int(p.get("n", 1)) for p in points)
            ax.plot(x, m, label=label if n >= MIN_RUNS_FOR_INTERVAL
                    else f"{label} ({n} run{'s' if n != 1 else ''}: no interval)")
            if np.isfinite(h).any():  # only where enough runs evaluated at that step
                ax.fill_between(x, m - h, m + h, where=np.isfinite(h), alpha=0.25)
        ax.set_xlabel("training step")
        ax.set_ylabel("evaluation reward per decision step")
        ax.set_title("Learning curves (mean over runs; 95 % interval from "
                     f"{MIN_RUNS_FOR_INTERVAL} runs)")
        ax.legend()
        fig.tight_layout()
        path = out / "learning_curves.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path.name)
    levels = list(results["levels"])
    controllers = list(next(iter(results["levels"].values())))
    width = 0.8 / max(len(controllers), 1)
    for key, title in BARS:
        fig, ax = plt.subplots(figsize=(9, 4.5))
        for k, label in enumerate(controllers):
            means = [results["levels"][lv][label][key]["mean"] for lv in levels]
            errs = [results["levels"][lv][label][key]["ci95"] for lv in levels]
            pos = np.arange(len(levels)) + (k - (len(controllers) - 1) / 2) * width
            ax.bar(pos, means, width, yerr=errs, label=label, capsize=2)
        ax.set_xticks(np.arange(len(levels)), levels)
        ax.set_xlabel("demand level")
        ax.set_ylabel(title)
        ax.set_title(f"{title} per controller and demand level")
        ax.legend(fontsize=8, ncols=2)
        fig.tight_layout()
        path = out / f"bars_{key}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path.name)
    return written


def write_report(results: dict[str, Any], curves: dict[str, Any], out: Path,
                 command: str, diagrams: list[Diagrams] | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    images = plots(results, curves, out)
    timespace = plot_timespace(diagrams or [], out)
    if timespace is not None:
        images.append(timespace)
    write_json_atomic(out / "report.json", {**results, "learning_curves": curves,
                                            "command": command})
    write_text_atomic(out / "report.md", markdown(results, curves, command, images))
    return [out / "report.md", out / "report.json", *(out / i for i in images)]
