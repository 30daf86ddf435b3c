"""Every bad input we know of, tried against the real commands: each must end with exit 2,
exactly one line on stderr (no traceback), and the results folder untouched.

    .venv/bin/python benchmarks/bad_inputs.py [--keep DIR]

Prints one row per input and the totals (tried / handled with one line). Used by
tests/test_bad_inputs.py, which fails if any input is not handled.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
BATCH = [PY, "-m", "arz_tui.training.train"]
CLI = [PY, "-m", "arz_tui.cli"]
BASE = ["--mode", "sanity", "--scenario", "riemann", "--no-sanity-checks", "--timesteps", "60"]


@dataclass
class Outcome:
    name: str
    code: int | None
    stderr: str
    changed: list[str]
    seconds: float

    @property
    def handled(self) -> bool:
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        return (self.code == 2 and len(lines) == 1 and "Traceback" not in self.stderr
                and not self.changed)


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime) of every file below root (links not followed)."""
    out: dict[str, tuple[int, int]] = {}
    if not root.is_dir():
        return out
    for path in root.rglob("*"):
        try:
            st = path.lstat()
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            out[str(path.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return out


def deep(n: int, json_style: bool) -> str:
    return ("[" * n + "]" * n) if json_style else ("a:\n" + "".join(
        "  " * i + "- \n" for i in range(0)) + "[" * n + "]" * n)


def scenario(tmp: Path, name: str, **changes: object) -> Path:
    import yaml

    data = yaml.safe_load((ROOT / "sim" / "scenarios" / "riemann.yaml").read_text())
    for key, value in changes.items():
        if key == "link_length":
            for link in data["links"]:
                link["length_m"] = value
                link.pop("cells", None)
        elif key == "cell_length":
            data.setdefault("numerics", {})["cell_length_m"] = value
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def cases(tmp: Path, results: Path) -> list[tuple[str, list[str]]]:
    """(name, argv) of each bad input; files they need are made under tmp."""
    a_file = tmp / "a_file"
    a_file.write_text("not a folder\n")
    (tmp / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp / "deep.yaml").write_text("[" * 100_000 + "]" * 100_000)
    (tmp / "latin1.json").write_bytes(b'{"mode": "sanity", "seed": 1, "x": "\xe9\xff"}')
    (tmp / "bool_steps.json").write_text(json.dumps({"total_timesteps": True}))
    (tmp / "huge_net.json").write_text(json.dumps(
        {"dqn_hyperparams": {"net_arch": [4096] * 8}}))
    (tmp / "foreign_ckpt.json").write_text(json.dumps(
        {"checkpoint_path": str(a_file), "mode": "sanity", "total_timesteps": 120}))
    fifo = tmp / "fifo.json"
    os.mkfifo(fifo)
    journal = tmp / "garbage.journal"
    journal.write_bytes(b"\x00\xffnot a journal\n{]\n")
    ro = tmp / "readonly"
    ro.mkdir()
    ro.chmod(0o555)
    big = scenario(tmp, "billion_cells", link_length=100_000, cell_length=1.0)
    tiny = scenario(tmp, "one_mm_link", link_length=0.001)
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    cases.busy = busy  # type: ignore[attr-defined]  # kept open while the cases run
    r = ["--results-dir", str(results)]
    return [
        ("--results-dir is a file", [*BATCH, *BASE, "--results-dir", str(a_file)]),
        ("--results-dir under /proc", [*BATCH, *BASE, "--results-dir", "/proc/arz_results"]),
        *([] if os.geteuid() == 0 else [  # root ignores permissions: not testable as root
            ("--results-dir read-only", [*BATCH, *BASE, "--results-dir", str(ro / "r")])]),
        ("--results-dir ''", [*BATCH, *BASE, "--results-dir", ""]),
        ("deeply nested JSON --config", [*BATCH, *BASE, *r, "--config", str(tmp / "deep.json")]),
        ("deeply nested YAML --config", [*BATCH, *BASE, *r, "--config", str(tmp / "deep.yaml")]),
        ("invalid UTF-8 in --config", [*BATCH, *BASE, *r, "--config",
                                       str(tmp / "latin1.json")]),
        ("--config is a FIFO", [*BATCH, *BASE, *r, "--config", str(fifo)]),
        ("--config is a folder", [*BATCH, *BASE, *r, "--config", str(tmp)]),
        ("checkpoint_path a foreign file", [*BATCH, *BASE, *r, "--name", "good", "--resume",
                                            "--config", str(tmp / "foreign_ckpt.json")]),
        ("scenario of 2*10^6 cells", [*BATCH, *BASE[:2], "--no-sanity-checks", *r,
                                      "--scenario", str(big)]),
        ("scenario with a 1 mm link", [*BATCH, *BASE[:2], "--no-sanity-checks", *r,
                                       "--scenario", str(tiny)]),
        ("huge net_arch", [*BATCH, *BASE, *r, "--config", str(tmp / "huge_net.json")]),
        ('"total_timesteps": true', [*BATCH, *BASE[:4], *r, "--config",
                                     str(tmp / "bool_steps.json")]),
        ("trailing newline in --name", [*BATCH, *BASE, *r, "--name", "run\n"]),
        ("--name with a slash", [*BATCH, *BASE, *r, "--name", "../escape"]),
        ("--scenario ''", [*BATCH, "--mode", "sanity", "--scenario", "", *r]),
        ("--seeds 0,0", [*BATCH, *BASE, *r, "--seeds", "0,0"]),
        ("--seeds 0-100000", [*BATCH, *BASE, *r, "--seeds", "0-100000"]),
        ("--seeds x", [*BATCH, *BASE, *r, "--seeds", "x"]),
        ("same name again (no --resume)", [*BATCH, *BASE, *r, "--name", "good"]),
        ("--resume of nothing", [*BATCH, *BASE, *r, "--name", "nothing", "--resume"]),
        ("--resume with another scenario", [*BATCH, *BASE[:2], "--scenario", "simple",
                                            "--no-sanity-checks", *r, "--name", "good",
                                            "--resume", "--timesteps", "200"]),
        ("report on a corrupt best_model.zip", [*CLI, "report", "corrupt", *r, "--episodes",
                                                "1", "--demand", "light"]),
        ("report on a crafted pickle model", [*CLI, "report", "crafted", *r, "--episodes",
                                              "1", "--demand", "light"]),
        ("report of an unknown run", [*CLI, "report", "nope", *r]),
        ("report --results-dir a file", [*CLI, "report", "good", "--results-dir",
                                         str(a_file)]),
        ("serve on a busy port", [*CLI, "serve", "--port", str(busy.getsockname()[1])]),
        ("serve on an unresolvable host", [*CLI, "serve", "--host", "no-such-host.invalid"]),
        ("tune with a garbage journal", [*CLI, "tune", "--scenario", "riemann", "--trials",
                                         "1", "--study", "s", "--storage", str(journal),
                                         "--timesteps-per-trial", "100", *r]),
    ]


def prepare(results: Path) -> None:
    """A finished run 'good', its copy with a corrupt best model, one with a crafted one."""
    proc = subprocess.run([*BATCH, *BASE, "--results-dir", str(results), "--name", "good"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"could not train the reference run: {proc.stderr[-2000:]}")
    for name in ("corrupt", "crafted"):
        shutil.copytree(results / "good", results / name)
        (results / name / ".lock").unlink(missing_ok=True)
    best = results / "corrupt" / "checkpoints" / "best" / "best_model.zip"
    best.write_bytes(best.read_bytes()[: best.stat().st_size // 3])
    import base64
    import io
    import pickle
    import zipfile

    crafted = results / "crafted" / "checkpoints" / "best" / "best_model.zip"
    with zipfile.ZipFile(crafted) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    data = json.loads(entries["data"])

    class Evil:
        def __reduce__(self):
            return (os.system, ("touch /tmp/arz_bad_inputs_pwned",))

    data["surprise"] = {":serialized:": base64.b64encode(pickle.dumps(Evil())).decode()}
    entries["data"] = json.dumps(data).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, b in entries.items():
            z.writestr(n, b)
    crafted.write_bytes(buf.getvalue())


def disk_full(work: Path) -> list[Outcome]:
    """Training onto a 300 kB tmpfs (only where this process may mount one, i.e. as root):
    one line, exit 2, and the last complete checkpoint still verifies (resumable)."""
    from arz_tui.runstore import RunLayout
    from arz_tui.runstore.checkpoints import choose

    mnt = work / "full"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs",
                                            str(mnt)], capture_output=True).returncode != 0:
        print("(disk full: skipped, cannot mount a small tmpfs here)")
        return []
    try:
        t0 = time.perf_counter()
        proc = subprocess.run([*BATCH, *BASE, "--results-dir", str(mnt / "r"), "--name", "f"],
                              cwd=work, capture_output=True, text=True, timeout=300)
        found, _ = choose(RunLayout(mnt / "r" / "f"), need_buffer=True)
        changed = [] if found is not None else ["no intact checkpoint left"]
        return [Outcome("disk full during training", proc.returncode, proc.stderr, changed,
                        time.perf_counter() - t0)]
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


def run_all(work: Path) -> list[Outcome]:
    results = work / "results"
    prepare(results)
    Path("/tmp/arz_bad_inputs_pwned").unlink(missing_ok=True)
    outcomes = []
    for name, argv in cases(work, results):
        before = tree(results)
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(argv, cwd=work, capture_output=True, text=True, timeout=120,
                                  stdin=subprocess.DEVNULL)
            code, err = proc.returncode, proc.stderr
        except subprocess.TimeoutExpired:
            code, err = None, "timed out after 120 s"
        after = tree(results)
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        outcomes.append(Outcome(name, code, err, changed, time.perf_counter() - t0))
    outcomes.extend(disk_full(work))
    if Path("/tmp/arz_bad_inputs_pwned").exists():
        outcomes.append(Outcome("crafted pickle executed", 1, "code ran", ["!"], 0.0))
    return outcomes


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--keep", type=Path, default=None, help="work in this folder, keep it")
    args = p.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="arz_bad_inputs_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        outcomes = run_all(work)
    finally:
        (work / "readonly").chmod(0o755) if (work / "readonly").exists() else None
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    for o in outcomes:
        first = (o.stderr.strip().splitlines() or [""])[-1][:110]
        verdict = "ok " if o.handled else "BAD"
        print(f"{verdict} exit {o.code!s:>4} {o.seconds:5.1f}s  {o.name:36s} {first}")
        if o.changed:
            print(f"      changed in results/: {', '.join(o.changed[:5])}")
    handled = sum(o.handled for o in outcomes)
    print(f"bad inputs tried: {len(outcomes)}, handled with one line (exit 2, nothing "
          f"written): {handled}")
    return 0 if handled == len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
