"""What the network map costs training: a quick-mode run with the map writer and one without,
and the time spent inside the writer's callback (the precise figure: whole-run times on a
shared machine vary by more than the writer costs).

    .venv/bin/python benchmarks/bench_netstate.py [--scenario grid4x4] [--timesteps N]

Prints both runs' wall times, the frames written and the callback's share of the run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from arz_tui.runstore import RunLayout
from arz_tui.runstore.netstate import read_stream
from arz_tui.training import netstate_log
from arz_tui.training.train import main as batch_main


def run(scenario: str, timesteps: int | None, folder: Path, name: str, with_map: bool
        ) -> tuple[float, float]:
    """(wall seconds of the run, seconds inside the map callback)."""
    original = netstate_log.NetStateCallback._on_step
    spent = [0.0]

    def timed(self: netstate_log.NetStateCallback) -> bool:
        t0 = time.perf_counter()
        out = original(self)
        spent[0] += time.perf_counter() - t0
        return out

    netstate_log.NetStateCallback._on_step = timed if with_map else (lambda self: True)
    args = ["--name", name, "--results-dir", str(folder), "--scenario", scenario,
            "--mode", "quick", "--no-sanity-checks"]
    if timesteps:
        args += ["--timesteps", str(timesteps)]
    t0 = time.perf_counter()
    try:
        code = batch_main(args)
    finally:
        netstate_log.NetStateCallback._on_step = original
    if code != 0:
        raise SystemExit(f"the {name} run failed ({code})")
    return time.perf_counter() - t0, spent[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="grid4x4")
    parser.add_argument("--timesteps", type=int, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        without, _ = run(args.scenario, args.timesteps, folder, "without", False)
        with_map, inside = run(args.scenario, args.timesteps, folder, "with", True)
        layout = RunLayout(folder / "with")
        stream = read_stream(layout.netstate, layout.root)
        size = layout.netstate.stat().st_size
    print(f"{args.scenario}, quick mode: without the map {without:.1f} s, with it "
          f"{with_map:.1f} s ({100 * (with_map - without) / without:+.1f} %)")
    print(f"map callback: {inside * 1000:.0f} ms in all = {100 * inside / with_map:.3f} % of "
          f"the run; {len(stream.frames)} frames, {size:,} bytes, stride {stream.header.stride}")


if __name__ == "__main__":
    main()
