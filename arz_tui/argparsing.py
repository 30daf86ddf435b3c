"""Command-line parsing shared by every arz-tui command: a bad flag is one line, exit 2."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag as one line (no usage block) and exits 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def int_at_least(minimum: int, what: str = "whole number") -> Callable[[str], int]:
    """An argparse type: an int >= minimum."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {what}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} must be >= {minimum}")
        return value

    return parse


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)


def positive_float(text: str) -> float:
    """An argparse type: a finite float > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a positive number")
    return value


def path(text: str) -> Path:
    """An argparse type: a non-empty path ('' would silently mean the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; give a path")
    if "\x00" in text:
        raise argparse.ArgumentTypeError(f"{text!r} contains a NUL byte")
    return Path(text)


def nonempty(text: str) -> str:
    """An argparse type: a string that is not empty or blank."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty")
    return text


def port(text: str) -> int:
    """An argparse type: a TCP port."""
    value = int_at_least(1, "port number")(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (1-65535)")
    return value
