"""The baseline tables of docs/baselines.md: every controller on the built-in scenarios.

Run: `.venv/bin/python benchmarks/baselines_table.py` (3 episodes per row, seeds 0-2, 15 s
decisions; a few minutes on one core). Prints the lagos-heavy table with travel times and
phase changes, then the mean delay per scenario and demand level.
"""

from __future__ import annotations

from arz_tui.baselines import CONTROLLERS, compare, format_table
from arz_tui.baselines.runner import TABLE_COLUMNS
from arz_tui.env import TrafficSignalEnv

EPISODES = 3
ROWS = [("lagos", "light"), ("lagos", "moderate"), ("lagos", "heavy"), ("lagos", "saturated"),
        ("simple", "heavy"), ("riemann", "heavy")]
WIDE = (*TABLE_COLUMNS, ("mean_travel_time_s", "mean travel time (s)", "{:.1f}"),
        ("phase_changes", "phase changes", "{:.0f}"))


def main() -> None:
    names = list(CONTROLLERS)
    by_row = {}
    for scenario, level in ROWS:
        env = TrafficSignalEnv(scenario=scenario, demand_level=level)
        by_row[scenario, level] = compare(env, names, n_episodes=EPISODES, seed=0)
    print(f"lagos, demand heavy, {EPISODES} episodes (seeds 0-{EPISODES - 1}), 15 s decisions")
    print(format_table(by_row["lagos", "heavy"], WIDE))
    print(f"\nmean delay (s), {EPISODES} episodes")
    print("| scenario | demand | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for (scenario, level), rows in by_row.items():
        delays = {r["controller"]: r["mean_delay_s"] for r in rows}
        print(f"| {scenario} | {level} | " + " | ".join(f"{delays[n]:.1f}" for n in names)
              + " |")


if __name__ == "__main__":
    main()
