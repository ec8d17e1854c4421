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
    close = difflib.get_close_matches(str(value).lower(), valid, n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""
