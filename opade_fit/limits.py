"""Every limit on the work opade-fit does for one input, stated once (see ``docs/limits.md``).

Each limit bounds the time or memory one call can take, so that a hostile or mistyped input
ends with a one-line :class:`~opade_fit.errors.UsageError` instead of a hang, a
``MemoryError`` or a silently wrong fit. The modules that enforce a limit import it from here;
the documentation and the error messages quote these names and values.

Where the cost of an input cannot be bounded ahead (sympy's simplification of an expression,
its continuity analysis), :func:`work_budget` bounds the time instead.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import UsageError

__all__ = [
    "CONTINUITY_SECONDS",
    "EXPRESSION_SECONDS",
    "MAX_BASES_DEGREE",
    "MAX_DEGREE",
    "MAX_EXPONENT",
    "MAX_EXPRESSION_DEPTH",
    "MAX_EXPRESSION_LENGTH",
    "MAX_GRID_VALUES",
    "MAX_INTERVAL_END",
    "MAX_MAGNITUDE",
    "MIN_INTERVAL_WIDTH",
    "MIN_RELATIVE_WEIGHT",
    "BudgetExceeded",
    "check_magnitude",
    "work_budget",
]

#: Characters of a target expression, and of its canonical (sympy) form, which is stored in
#: records and tables and parsed again when they are read.
MAX_EXPRESSION_LENGTH = 1000
#: Nesting depth of a target expression: every function call, power, unary sign and
#: parenthesised operand is one level; a chain of ``+ -`` or of ``* /`` is one level.
MAX_EXPRESSION_DEPTH = 24
#: Largest |n| of a numeric exponent ``a**n`` (an exact integer power is never computed
#: beyond this, so ``9**9**9**9`` is refused, not evaluated).
MAX_EXPONENT = 100
#: Largest magnitude of a number in an expression (literal or computed from literals), of
#: the target and its derivative on the fit and check intervals, and of the basis values:
#: squares and products of such numbers stay far from float64 overflow inside LAPACK.
MAX_MAGNITUDE = 1e100
#: Largest numerator or denominator degree of a fit (k, l <= MAX_DEGREE).
MAX_DEGREE = 30
#: Largest degree N of ``opade bases --degree N`` (exact sympy polynomials f_0..f_N).
MAX_BASES_DEGREE = 100
#: Largest points * (k + l + 1) of a fit: grid points times coefficients bounds the memory
#: (about 80 bytes per value: 1e6 points at 30/30 took 5 GB) and the time of every solver.
MAX_GRID_VALUES = 2_000_000
#: Largest |a| and |b| of a fit or check interval.
MAX_INTERVAL_END = 1e6
#: Smallest width b - a of an interval, relative to max(1, |a|, |b|): the grid points stay
#: distinct in float64.
MIN_INTERVAL_WIDTH = 1e-6
#: A grid point counts as weighted if its weight is at least this fraction of the largest
#: weight; a fit needs as many weighted points as free coefficients.
MIN_RELATIVE_WEIGHT = 1e-12
#: Seconds of symbolic work (sympy) allowed for one target expression: parsing,
#: simplification, the derivative and the continuity analysis.
EXPRESSION_SECONDS = 10.0
#: Seconds of sympy's continuity analysis of a target on one interval; past it (or when
#: sympy cannot decide) only the numeric jump and pole search decides.
CONTINUITY_SECONDS = 3.0


def check_magnitude(value: float, what: str) -> None:
    """Raise :class:`UsageError` unless ``|value| <= MAX_MAGNITUDE`` (and finite).

    Parameters
    ----------
    value : float
        The number to check.
    what : str
        The argument and the quantity, e.g. ``"`target` expression constant"``.
    """
    if not (math.isfinite(value) and abs(value) <= MAX_MAGNITUDE):
        raise UsageError(
            f"{what} must be finite and at most {MAX_MAGNITUDE:g} in magnitude, got {value:.6g}"
        )


class BudgetExceeded(BaseException):
    """Raised asynchronously by :func:`work_budget` when the time budget is used up.

    A :class:`BaseException`, so that a library's ``except Exception`` cannot swallow it.
    """


@contextmanager
def work_budget(seconds: float, message: str) -> Iterator[None]:
    """Bound the wall time of the enclosed block; raise ``UsageError(message)`` past it.

    The budget is enforced with ``SIGALRM`` (an interval timer) when called from the main
    thread on a POSIX system -- the ``opade`` command always is. Elsewhere (other
    threads, Windows) the block runs unbounded and the static limits of this module are
    the only guard. Nested budgets keep the outer (earlier) deadline.

    Parameters
    ----------
    seconds : float
        Wall-clock seconds allowed.
    message : str
        The :class:`UsageError` message (name the argument and the rule).
    """
    usable = (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0.0  # not nested in another budget
    )
    if not usable:
        yield
        return

    def expire(signum, frame):
        raise BudgetExceeded

    def unraisable(report) -> None:  # an expiry inside __del__ / a gc callback: retried
        if not isinstance(report.exc_value, BudgetExceeded):
            hook(report)

    hook = sys.unraisablehook
    sys.unraisablehook = unraisable
    previous = signal.signal(signal.SIGALRM, expire)
    # repeating: an expiry that lands in a gc callback or __del__ is swallowed by Python
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.25)
    start = time.monotonic()
    try:
        yield
    except BudgetExceeded:
        signal.setitimer(signal.ITIMER_REAL, 0)
        raise UsageError(f"{message} (gave up after {time.monotonic() - start:.0f} s)") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        sys.unraisablehook = hook
