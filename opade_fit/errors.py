"""Error hierarchy of opade-fit.

Library code raises these and never prints or exits; the CLI maps
:class:`UsageError` to exit code 2 and every other :class:`OpadeError` to 1.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["FitError", "OpadeError", "UsageError", "suggest"]


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
