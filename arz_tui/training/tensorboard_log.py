"""Optional TensorBoard logging (`--tensorboard`): one SB3 log folder per run, continued by
every resume so the step axis runs on from the checkpoint instead of restarting at 0."""

from __future__ import annotations

import importlib.util

from arz_tui.errors import ArzError

TB_LOG_NAME = "dqn"
"""SB3's tb_log_name, fixed: a resume (reset_num_timesteps=False) appends to `dqn_1`."""


class TensorBoardMissing(ArzError):
    """--tensorboard without the tensorboard package (SB3's writer needs it)."""


def tensorboard_available() -> bool:
    # find_spec, not import: tensorboard's import takes ~1 s and is not needed to decide.
    return importlib.util.find_spec("tensorboard") is not None


def require_tensorboard() -> None:
    if not tensorboard_available():
        raise TensorBoardMissing(
            "--tensorboard: the tensorboard package is not installed; install it with "
            "pip install -e \".[tensorboard]\" (or pip install tensorboard), or leave out "
            "--tensorboard")
