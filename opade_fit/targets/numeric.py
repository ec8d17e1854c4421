"""From a target's sympy expression to numbers: float64 functions, work budget, continuity.

:func:`compile_expression` parses (:mod:`opade_fit.targets.expressions`), checks,
differentiates and lambdifies a custom target within ``EXPRESSION_SECONDS``;
:func:`discontinuity` (analytic, sympy) and :func:`numeric_gap` (bisection on a fine grid)
find where a target is not continuous on an interval. sympy and scipy.special load on
first use only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..errors import UsageError
from ..limits import CONTINUITY_SECONDS, EXPRESSION_SECONDS, MAX_EXPRESSION_LENGTH, work_budget
from .expressions import _show, parse_expression, x_symbol

if TYPE_CHECKING:
    import sympy as sp

__all__ = ["compile_expression", "discontinuity", "lambdify", "numeric_gap", "scipy_special"]


def scipy_special(name: str) -> Callable[..., np.ndarray]:
    """The ufunc ``scipy.special.<name>`` (scipy.special loads at the first call)."""
    import scipy.special

    return getattr(scipy.special, name)


@functools.lru_cache(maxsize=256)
def discontinuity(expr: sp.Expr, interval: tuple[float, float]) -> float | None:
    """A point of ``interval`` where sympy finds ``expr`` not continuous, or None.

    None also when sympy cannot decide (``NotImplementedError``, ...) or runs out of
    ``CONTINUITY_SECONDS``; :func:`numeric_gap` still runs then.

    Parameters
    ----------
    expr : sympy.Expr
        An expression in :func:`x_symbol`.
    interval : (float, float)
        [a, b] (units of x).

    Returns
    -------
    float or None
        The infimum of the points of [a, b] where sympy's ``continuous_domain`` excludes x.
    """
    import sympy as sp
    from sympy.calculus.util import continuous_domain

    full = sp.Interval(sp.Float(interval[0]), sp.Float(interval[1]))
    try:
        with work_budget(CONTINUITY_SECONDS, "continuity analysis"):
            domain = continuous_domain(expr, x_symbol(), full)
            missing = full - domain
    except (NotImplementedError, TypeError, ValueError, RecursionError, AttributeError):
        return None  # undecided (UsageError: out of time) -- the numeric check still runs
    if missing.is_empty:
        return None
    try:
        return float(missing.inf)
    except (TypeError, ValueError):
        return float(interval[0])


#: Cells of the fine grid of :func:`numeric_gap`, and how many of its steepest are bisected.
_GAP_CELLS, _GAP_CANDIDATES = 20_000, 8
#: A bisected step that keeps at least this fraction of its initial height is a discontinuity.
_GAP_RATIO = 1e-3


def numeric_gap(f: Callable[[np.ndarray], np.ndarray], a: float, b: float) -> float | None:
    """A point of [a, b] where ``f`` jumps or has a pole, found by bisection, or None.

    The ``_GAP_CANDIDATES`` largest steps |f(x_{i+1}) - f(x_i)| of a grid of
    ``_GAP_CELLS`` cells are bisected (always into the half with the larger step) down to
    float64 resolution. A continuous f's step shrinks with the cell; a jump keeps its
    height and a pole grows, so a final step above ``_GAP_RATIO`` of the initial one marks a
    discontinuity. Non-finite or non-real values are reported at the first such point.

    Parameters
    ----------
    f : callable
        Vectorised float64 function of x (units of x in, units of f out).
    a, b : float
        The interval, a < b (units of x).

    Returns
    -------
    float or None
        A point of [a, b] (units of x), or None if f looks continuous there.
    """
    x = np.linspace(a, b, _GAP_CELLS + 1)
    with np.errstate(all="ignore"):
        y = f(x)
    bad = ~np.isfinite(y)
    if bad.any():
        return float(x[bad][0])
    steps = np.abs(np.diff(y))
    for i in np.argsort(steps)[::-1][:_GAP_CANDIDATES]:
        lo, hi, flo, fhi = x[i], x[i + 1], y[i], y[i + 1]
        first = abs(fhi - flo)
        if first == 0.0:
            break
        while True:
            mid = lo + (hi - lo) / 2
            if not lo < mid < hi:
                break
            with np.errstate(all="ignore"):
                fmid = float(f(np.array([mid]))[0])
            if not np.isfinite(fmid):
                return float(mid)
            if abs(fmid - flo) >= abs(fhi - fmid):
                hi, fhi = mid, fmid
            else:
                lo, flo = mid, fmid
        if abs(fhi - flo) > _GAP_RATIO * first and abs(fhi - flo) > 1e-12 * max(1.0, abs(fhi)):
            return float(min(lo, hi, key=abs))
    return None


def _zero(x, *orders):
    """DiracDelta(x) and its derivatives as functions: 0 (f' is taken almost everywhere)."""
    return np.zeros(np.shape(x))


def lambdify(expr: sp.Expr) -> Callable[[np.ndarray], np.ndarray]:
    """A vectorised float64 function x -> expr(x) (erf/erfc from scipy.special).

    Non-real values become NaN and overflowing Python-float arithmetic gives NaN, so that
    :meth:`~opade_fit.targets.Target.check_finite` reports them; DiracDelta (from the
    derivative of ``sign``/``Abs``) is 0 (f' is taken almost everywhere).

    Parameters
    ----------
    expr : sympy.Expr
        An expression in :func:`x_symbol` only.

    Returns
    -------
    callable
        ``call(x: ndarray) -> ndarray`` of the shape of x, dtype float64.
    """
    import sympy as sp

    modules = [
        {"erf": scipy_special("erf"), "erfc": scipy_special("erfc"), "DiracDelta": _zero},
        "numpy",
    ]
    fn = sp.lambdify(x_symbol(), expr, modules=modules)

    def call(x: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):  # non-finite values are reported by check_finite
            try:
                y = np.asarray(fn(x))
            except (ArithmeticError, ValueError):  # Python floats: 1e100**pi overflows
                y = np.full(np.shape(x), np.nan)
        if np.iscomplexobj(y):  # non-real values become NaN (refused by check_finite)
            y = np.where(y.imag == 0, y.real, np.nan)
        return np.broadcast_to(np.asarray(y, dtype=np.float64), np.shape(x)).copy()

    return call


def compile_expression(
    text: str,
) -> tuple[str, sp.Expr, Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]:
    """Parse, check, differentiate and lambdify a target expression within the work budget.

    The whole processing gets ``EXPRESSION_SECONDS`` (:func:`~opade_fit.limits.work_budget`);
    the canonical form (``sympy.sstr``, stored in records and parsed again) must be at most
    ``MAX_EXPRESSION_LENGTH`` characters.

    Parameters
    ----------
    text : str
        An expression in ``x``, e.g. ``"x*erf(x)"`` (see :func:`parse_expression`).

    Returns
    -------
    canonical : str
        The canonical text of the expression.
    expr : sympy.Expr
        The exact f in :func:`x_symbol`.
    f, df : callable
        Vectorised float64 f and f' (:func:`lambdify`).

    Raises
    ------
    UsageError
        Everything :func:`parse_expression` refuses; a free symbol other than x; a canonical
        form too long; processing beyond the budget or too complex (recursion, memory).
    """
    import sympy as sp

    budget = (
        f"`target` expression {_show(text)} must be processed (simplified, differentiated) "
        f"within {EXPRESSION_SECONDS:g} s"
    )
    with work_budget(EXPRESSION_SECONDS, budget):
        try:
            expr = parse_expression(text)
            if not expr.free_symbols <= {x_symbol()}:
                raise UsageError(f"`target` expression must depend on x only, got {_show(text)}")
            canonical = sp.sstr(expr)
            if len(canonical) > MAX_EXPRESSION_LENGTH:
                raise UsageError(
                    f"`target` expression must be at most {MAX_EXPRESSION_LENGTH} characters in "
                    f"canonical form (it is stored and parsed again); {_show(text)} has "
                    f"{len(canonical)}"
                )
            derivative = sp.diff(expr, x_symbol())
            f, df = lambdify(expr), lambdify(derivative)
        except (RecursionError, MemoryError, OverflowError, ZeroDivisionError) as exc:
            raise UsageError(
                f"`target` expression {_show(text)} is too complex to process "
                f"({type(exc).__name__})"
            ) from None
    return canonical, expr, f, df
