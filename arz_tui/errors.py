"""Errors a user can fix, and the one place that turns them into one line and exit 2.

`ArzError` is the root: every error of ours that a user can fix derives from it. The config
errors of `sim` and `arz_tui.env` predate it (sim must not import arz_tui) and are mapped to
the same exit in `user_errors()`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable


class ArzError(Exception):
    """A problem the user can fix (bad value, missing file, busy run, unsafe file, ...).

    The message is one line that names the bad value and the fix."""

    exit_code = 2


UserError = ArzError
"""The older name of ArzError (kept: many modules raise it)."""


def user_errors() -> tuple[type[BaseException], ...]:
    """Every exception type that means "the user can fix this": ArzError and the validation
    errors of the scenario, env and training configs."""
    from arz_tui.env.config import EnvConfigError
    from sim.scenario import ScenarioError

    return (ArzError, EnvConfigError, ScenarioError)


def one_line(err: BaseException) -> str:
    """The first line of an error's message (its type name if it has none)."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def exit_on_user_error(prog: str, main: Callable[[], int]) -> int:
    """Run a command's body; a user error becomes `PROG: error: MESSAGE` on stderr and exit 2.

    Also maps what only a bad input or a full disk causes to the same one line: a nesting too
    deep to parse (RecursionError), memory that a config asks for and the machine lacks
    (MemoryError), and a full or read-only disk (OSError with ENOSPC/EROFS/EDQUOT)."""
    import errno

    try:
        return main()
    except user_errors() as err:
        message = one_line(err)
    except RecursionError:
        message = "an input file is nested too deeply to read (RecursionError); flatten it"
    except MemoryError:
        message = ("not enough memory for this configuration (MemoryError); make the "
                   "scenario or network smaller")
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EACCES,
                             errno.EPERM):
            raise
        where = f" ({err.filename})" if err.filename else ""
        message = f"cannot write{where}: {err.strerror}; free space or choose --results-dir"
    print(f"{prog}: error: {message}", file=sys.stderr)
    return ArzError.exit_code
