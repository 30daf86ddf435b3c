"""Device resolution: `cuda` without a GPU is a clear error, `auto` picks."""

from __future__ import annotations

from arz_tui.errors import UserError


class DeviceError(UserError):
    """The requested device does not exist here."""


def cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def resolve_device(requested: str) -> str:
    """'cpu' or 'cuda' for a requested 'cpu', 'cuda' or 'auto'."""
    if requested == "cpu":
        return "cpu"
    if requested == "auto":
        return "cuda" if cuda_available() else "cpu"
    if requested == "cuda":
        if not cuda_available():
            import torch

            why = ("this torch build has no CUDA" if torch.version.cuda is None
                   else "no GPU is visible")
            raise DeviceError(f"device 'cuda' requested but CUDA is not available ({why}, "
                              f"torch {torch.__version__}); use --device cpu or --device auto")
        return "cuda"
    raise DeviceError(f"unknown device {requested!r}; use cpu, cuda or auto")
