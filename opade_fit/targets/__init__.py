"""Target activations f(x): the 13 built-ins and safely parsed expressions (docs/spec.md §4).

Every target has

* explicit, validated parameters (``negative_slope=0.01`` ..., never part of
  a name), all recorded in every output;
* an expression string in the safe expression language, from which sympy builds
  the exact f and f' (the oracle, and the derivative used by derivative matching);
* a vectorised float64 implementation that is numerically safe (no overflow
  at |x| = 50) for the built-ins, and a lambdified one for expressions.

The package's modules, each with one job:

* :mod:`~opade_fit.targets.catalog`: the built-in targets (data and numpy code);
* :mod:`~opade_fit.targets.expressions`: the safe expression language, text -> sympy,
  parsed with :mod:`ast` without evaluating any Python (whitelisted names and
  functions, :data:`FUNCTIONS`), within the bounds of :mod:`opade_fit.limits`;
* :mod:`~opade_fit.targets.numeric`: sympy -> float64 functions within the work budget,
  and the continuity checks;
* :mod:`~opade_fit.targets.target`: the :class:`Target` type, :func:`get_target` and
  :func:`parse_params`.

sympy and scipy.special load on first use only: reading a table entry (get_init) and
the CLI's listing commands never need them (tests/test_startup.py).
"""

from __future__ import annotations

from typing import Any

from .catalog import ALIASES, TARGET_NAMES, TARGETS
from .expressions import FUNCTIONS, parse_expression, x_symbol
from .target import Target, get_target, parse_params

__all__ = [
    "ALIASES",
    "FUNCTIONS",
    "TARGETS",
    "TARGET_NAMES",
    "Target",
    "get_target",
    "parse_expression",
    "parse_params",
]


def __getattr__(name: str) -> Any:
    # `X`, the real symbol x, without importing sympy at package import
    if name == "X":
        return x_symbol()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
