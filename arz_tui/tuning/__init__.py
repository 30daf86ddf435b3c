"""Hyper-parameter search for the DQN agent (optuna): `arz-tui tune`.

- `space`: the search space (rl-zoo3's DQN space, budget-dependent values scaled to a trial).
- `storage`: where a study lives (journal file, SQLite, PostgreSQL) and its worker lock.
- `tune`: the command (`main(argv) -> exit code`), trials run with RLTrainer.

Nothing is imported here, so `python -m arz_tui.tuning.tune` runs the module once.
"""
