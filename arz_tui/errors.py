"""Errors a user can fix: the CLI prints them as one line and exits 2, without a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix (bad value, missing file, unavailable device, ...).

    The message is one line that names the bad value and the fix."""

    exit_code = 2
