"""Registering `arz_tui/TrafficSignal-v0` with Gymnasium without importing Gymnasium early.

When Gymnasium is already imported (rl-zoo3 and `gym.make("arz_tui:...")` import it before
they import us) the env is registered at once. Otherwise a one-shot import hook (the
documented `sys.meta_path` finder protocol) registers it right after Gymnasium's own import
completes, so `import arz_tui` stays free of Gymnasium for the terminal UI and the
simulator-only users, and `import arz_tui; import gymnasium; gym.make(ENV_ID)` still works.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from types import ModuleType

ENV_ID = "arz_tui/TrafficSignal-v0"
ENV_ENTRY_POINT = "arz_tui.env.traffic_env:TrafficSignalEnv"
_GYM = "gymnasium"
_lock = threading.Lock()


def _register_now() -> None:
    import gymnasium

    if ENV_ID not in gymnasium.registry:
        gymnasium.register(id=ENV_ID, entry_point=ENV_ENTRY_POINT)


class _RegisterAfterImport(importlib.abc.Loader):
    """Wraps Gymnasium's own loader: executes the module, then registers the env."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        _register_now()


class _GymnasiumWatcher(importlib.abc.MetaPathFinder):
    """Finds nothing itself: when `gymnasium` is looked up, asks the other finders for its
    spec, wraps the loader, and leaves sys.meta_path."""

    def find_spec(self, fullname: str, path: object = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != _GYM:
            return None
        _unhook()
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find is not None else None
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _RegisterAfterImport(spec.loader)
                return spec
        return None


_watcher = _GymnasiumWatcher()


def _unhook() -> None:
    with _lock:
        if _watcher in sys.meta_path:
            sys.meta_path.remove(_watcher)


def register_env() -> None:
    """Register ENV_ID now if Gymnasium is loaded, else as soon as it is imported."""
    if _GYM in sys.modules:
        _register_now()
        return
    with _lock:
        if _watcher not in sys.meta_path:
            sys.meta_path.insert(0, _watcher)
