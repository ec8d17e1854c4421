"""Error hierarchy of opade-fit.

Library code raises these and never prints or exits; the CLI maps
:class:`UsageError` to exit code 2 and every other :class:`OpadeError` to 1.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import TypeVar

T = TypeVar("T")

__all__ = ["FitError", "OpadeError", "UsageError", "lookup", "suggest"]


class OpadeError(Exception):
    """Base class of every error raised on purpose by opade-fit."""


class UsageError(OpadeError, ValueError):
    """An argument breaks a stated rule (bad name, bad interval, bad degrees ...)."""


class FitError(OpadeError, RuntimeError):
    """A computation or file operation failed although the arguments were valid."""


def suggest(value: str, valid: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest valid name, or ``""``.

    Parameters
    ----------
    value : str
        The name the user typed.
    valid : iterable of str
        The accepted names.
    """
    valid = list(valid)
    key = str(value).lower()
    close = difflib.get_close_matches(key, valid, n=3, cutoff=0.5)
    if not close:
        return ""

    def score(name: str) -> float:
        return difflib.SequenceMatcher(None, key, name).ratio()

    best = [c for c in close if score(c) == score(close[0])]  # ties: name them all
    return f" (did you mean {' or '.join(repr(c) for c in sorted(best))}?)"


def lookup(name: object, table: Mapping[str, T], argument: str) -> T:
    """``table[key]`` for ``key = str(name).strip().lower()``, or a usage error.

    Parameters
    ----------
    name : object
        The name the user gave (case and surrounding blanks are ignored).
    table : mapping of str
        Canonical lower-case names to their objects, in the order to list them.
    argument : str
        The argument's name, for the message.

    Raises
    ------
    UsageError
        ``"`argument` must be one of a, b, c; got 'x' (did you mean 'a'?)"``.
    """
    key = str(name).strip().lower()
    if key not in table:
        raise UsageError(
            f"`{argument}` must be one of {', '.join(table)}; got {name!r}" + suggest(key, table)
        )
    return table[key]
