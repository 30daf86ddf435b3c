"""`arz-tui report`: trained policies against the five baselines on the same seeded episodes,
per demand level, as Markdown, JSON and PNG plots."""
