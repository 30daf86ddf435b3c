"""Import contract: the simulator core stays free of the ML and UI stacks, and the headless
RL modules stay free of the TUI.

Checked two ways: at run time (a fresh interpreter imports every module of the package and
then looks at `sys.modules`) and statically (an AST scan of every import statement, including
imports inside functions, skipping `if TYPE_CHECKING:` blocks; for arz_tui packages the scan
follows first-party imports transitively).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIRST_PARTY = ("sim", "arz_tui")

SIM_FORBIDDEN = frozenset({"torch", "stable_baselines3", "gymnasium", "textual", "arz_tui",
                           "sumolib"})
TUI = frozenset({"textual", "textual_plotext", "textual_serve"})
HEADLESS_PACKAGES = ("arz_tui.env", "arz_tui.training", "arz_tui.baselines", "arz_tui.report",
                     "arz_tui.tuning", "arz_tui.runstore", "arz_tui.netimport")
RUNSTORE_FORBIDDEN = ("arz_tui.training", "arz_tui.tui", "arz_tui.report", "arz_tui.tuning",
                      "arz_tui.baselines", "arz_tui.cli")
"""The run store is depended on by training, the TUI and report, never the reverse."""

_IMPORT_ALL = r"""
import importlib, json, pkgutil, sys
names = []
for root in sys.argv[1:]:
    pkg = importlib.import_module(root)
    names.append(root)
    if hasattr(pkg, "__path__"):
        def fail(name):
            raise ImportError(f"cannot import {name}")
        for info in pkgutil.walk_packages(pkg.__path__, root + ".", onerror=fail):
            importlib.import_module(info.name)
            names.append(info.name)
print(json.dumps({"imported": names, "loaded": sorted(sys.modules)}))
"""


def runtime_imports(*roots: str, cwd: Path = REPO) -> tuple[list[str], set[str]]:
    """Import `roots` and all their submodules in a fresh interpreter; returns the modules it
    imported and the top-level names of everything in sys.modules afterwards."""
    proc = subprocess.run([sys.executable, "-c", _IMPORT_ALL, *roots], cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, f"importing {roots} failed:\n{proc.stderr[-3000:]}"
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return out["imported"], {name.split(".")[0] for name in out["loaded"]}


def _module_file(name: str, root: Path) -> tuple[Path, bool] | None:
    """(file, is_package) of a first-party module under `root`, or None."""
    base = root.joinpath(*name.split("."))
    if (base / "__init__.py").is_file():
        return base / "__init__.py", True
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py"), False
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def file_imports(path: Path, module: str, is_package: bool) -> list[tuple[str, int]]:
    """Absolute names of the modules a file imports, with line numbers: import statements
    anywhere (functions included) and importlib.import_module / __import__ of a constant,
    except under `if TYPE_CHECKING:`."""
    found: list[tuple[str, int]] = []
    package = module.split(".") if is_package else module.split(".")[:-1]

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ""
            else:
                parts = package[:len(package) - (node.level - 1)]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            found.append((base, node.lineno))
            # `from pkg import name` may import the submodule pkg.name.
            found.extend((f"{base}.{alias.name}", node.lineno) for alias in node.names
                         if alias.name != "*")
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            fname = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            arg = node.args[0]
            if fname in ("import_module", "__import__") and isinstance(arg, ast.Constant) \
                    and isinstance(arg.value, str):
                found.append((arg.value, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return found


def static_imports(roots: list[str], root_dir: Path = REPO,
                   follow: bool = True) -> dict[str, list[str]]:
    """Top-level module name -> ["file:line", ...] of every import reachable from the
    first-party modules `roots` (all of their files; with `follow`, also the first-party
    modules they import, transitively)."""
    todo: list[str] = []
    for root in roots:
        hit = _module_file(root, root_dir)
        assert hit is not None, f"{root} not found under {root_dir}"
        todo.append(root)
        if hit[1]:
            pkg_dir = hit[0].parent
            for path in sorted(pkg_dir.rglob("*.py")):
                rel = path.relative_to(root_dir).with_suffix("").parts
                todo.append(".".join(rel[:-1] if rel[-1] == "__init__" else rel))
    seen: set[str] = set()
    result: dict[str, list[str]] = {}
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        hit = _module_file(name, root_dir)
        if hit is None:
            continue  # an attribute imported with `from pkg import name`, not a module
        path, is_package = hit
        parts = name.split(".")
        todo.extend(".".join(parts[:k]) for k in range(1, len(parts)))  # parent packages
        for imported, line in file_imports(path, name, is_package):
            top = imported.split(".")[0]
            if not top:
                continue
            result.setdefault(top, []).append(f"{path.relative_to(root_dir)}:{line}")
            if follow and top in FIRST_PARTY:
                todo.append(imported)
    return result


def _package_exists(name: str) -> bool:
    return _module_file(name, REPO) is not None


# ---------------------------------------------------------------- sim
def test_sim_imports_no_ml_or_ui_stack_at_runtime():
    imported, loaded = runtime_imports("sim")
    assert len(imported) >= 10, imported  # every module of sim was imported
    assert {"numpy", "numba"} <= loaded
    assert not SIM_FORBIDDEN & loaded, sorted(SIM_FORBIDDEN & loaded)


def test_sim_has_no_forbidden_import_statement():
    imports = static_imports(["sim"], follow=False)
    assert "numpy" in imports  # the scan sees sim's imports
    bad = {name: where for name, where in imports.items() if name in SIM_FORBIDDEN}
    assert not bad, bad


# ---------------------------------------------------------------- headless arz_tui packages
@pytest.mark.parametrize("package", HEADLESS_PACKAGES)
def test_headless_package_does_not_import_the_tui_at_runtime(package):
    if not _package_exists(package):
        pytest.skip(f"{package} does not exist yet")
    imported, loaded = runtime_imports(package)
    assert package in imported
    assert not TUI & loaded, f"importing {package} loads {sorted(TUI & loaded)}"


@pytest.mark.parametrize("package", HEADLESS_PACKAGES)
def test_headless_package_has_no_tui_import_statement(package):
    if not _package_exists(package):
        pytest.skip(f"{package} does not exist yet")
    imports = static_imports([package])
    bad = {name: where for name, where in imports.items() if name in TUI}
    assert not bad, bad


# ---------------------------------------------------------------- the run store
def _first_party_imports(package: str) -> dict[str, list[str]]:
    """Full names of the first-party modules `package`'s files import (not followed)."""
    found: dict[str, list[str]] = {}
    pkg_dir = REPO.joinpath(*package.split("."))
    for path in sorted(pkg_dir.rglob("*.py")):
        rel = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(rel[:-1] if rel[-1] == "__init__" else rel)
        for imported, line in file_imports(path, name, rel[-1] == "__init__"):
            if imported.split(".")[0] in FIRST_PARTY:
                found.setdefault(imported, []).append(f"{path.relative_to(REPO)}:{line}")
    return found


def test_runstore_depends_on_no_user_of_it():
    imports = _first_party_imports("arz_tui.runstore")
    assert any(name.startswith("arz_tui.runstore.") for name in imports)  # the scan works
    bad = {name: where for name, where in imports.items()
           if name.startswith(RUNSTORE_FORBIDDEN)}
    assert not bad, bad


def test_runstore_package_import_loads_no_ml_stack():
    """The TUI lists runs through the run store: importing it must not load torch or SB3."""
    _, loaded = runtime_imports("arz_tui.runstore.reader")
    assert not {"torch", "stable_baselines3", "textual"} & loaded


# ---------------------------------------------------------------- the checks themselves
def test_checks_catch_a_violation(tmp_path):
    """Both checks flag a planted forbidden import (a function-level one for the scan)."""
    pkg = tmp_path / "arz_tui" / "env"
    pkg.mkdir(parents=True)
    (tmp_path / "arz_tui" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("from .core import step\n")
    (pkg / "core.py").write_text(
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "from ..ui import widgets\n"
        "if TYPE_CHECKING:\n    import torch\n"
        "def step():\n    import json\n    return json\n")
    (tmp_path / "arz_tui" / "ui.py").write_text(
        "import importlib\nwidgets = importlib.import_module('textual.widgets')\n")
    imports = static_imports(["arz_tui.env"], root_dir=tmp_path)
    assert imports["textual"] == [str(Path("arz_tui/ui.py")) + ":2"]
    assert "json" in imports and "torch" not in imports
    assert "textual" not in static_imports(["arz_tui.env"], root_dir=tmp_path, follow=False)
    imported, loaded = runtime_imports("arz_tui.env", cwd=tmp_path)
    assert imported == ["arz_tui.env", "arz_tui.env.core"]
    assert "textual" in loaded
