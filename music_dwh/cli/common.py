"""What every command of ``music-dwh`` shares: how it speaks, the mistake a user can fix, the
source systems, and the parser's argument types and common options."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable

from music_dwh.settings import get_settings, parse_day

SYSTEMS = ("sparkify", "chinook")


class UserError(Exception):
    """A mistake the user can fix; printed without a traceback (exit status 2)."""


def say(message: str) -> None:
    print(message, flush=True)


def open_store(location: str | None):
    """The raw store at ``location`` (default: MUSIC_DWH_RAW)."""
    from music_dwh.resources.raw_store import open_raw_store

    return open_raw_store(location or get_settings().raw)


# ---------------------------------------------------------------------------- argument types
def date_argument(text: str) -> dt.date:
    try:
        return parse_day(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = positive(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} must be at least {minimum}")
        return value

    return parse


def day_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return value


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


# ---------------------------------------------------------------------------- commands and options
class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's help ends with its default, except where there is none to show (a flag,
    an unset value whose help says what applies)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False, argparse.SUPPRESS) or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def add_command(parent, name: str, text: str) -> argparse.ArgumentParser:
    """A command (or a system under ``generate``) of the subparsers ``parent``."""
    return parent.add_parser(name, help=text, description=text, formatter_class=HelpFormatter)


def raw_store_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out", help="raw store: a folder or s3://bucket/prefix (default: MUSIC_DWH_RAW)"
    )


def verbose_option(p: argparse.ArgumentParser, text: str) -> None:
    p.add_argument("-v", "--verbose", action="store_true", help=text)


def force_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--force",
        action="store_true",
        help="write even where files it did not write are: its files replace any at the same "
        "keys, the others are kept",
    )
