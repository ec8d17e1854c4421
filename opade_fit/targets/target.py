"""The :class:`Target` type and :func:`get_target`: a built-in or an expression, validated.

Every target has explicit, validated parameters (``negative_slope=0.01`` ..., never part
of a name), all recorded in every output; an expression string from which sympy builds
the exact f and f'; and vectorised float64 f and f'. Built-ins come from
:mod:`opade_fit.targets.catalog` and never load sympy; expressions are compiled by
:mod:`opade_fit.targets.numeric`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..errors import UsageError, suggest
from ..limits import check_magnitude
from .catalog import ALIASES, BUILTINS, TARGET_NAMES
from .expressions import CONSTANT_NAMES, parse_expression
from .numeric import compile_expression, discontinuity, numeric_gap

if TYPE_CHECKING:
    import sympy as sp

__all__ = ["Target", "get_target", "parse_params"]


@dataclass(frozen=True)
class Target:
    """A target activation with explicit parameters.

    Attributes
    ----------
    name : str
        Built-in name, or ``"expression"`` for a user expression.
    params : tuple of (str, float)
        Every parameter with its value, defaults included, in a fixed order.
    expression : str
        The expression (in the safe expression language, parameters by name).
    """

    name: str
    params: tuple[tuple[str, float], ...]
    expression: str
    _f: Callable[[np.ndarray], np.ndarray] = field(repr=False, compare=False)
    _df: Callable[[np.ndarray], np.ndarray] = field(repr=False, compare=False)
    kinks: tuple[float, ...] = ()
    _expr: sp.Expr | None = field(default=None, repr=False, compare=False)

    @property
    def param_dict(self) -> dict[str, float]:
        """Parameters as a dict."""
        return dict(self.params)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """f(x), float64, vectorised."""
        return self._f(np.asarray(x, dtype=np.float64))

    def derivative(self, x: np.ndarray) -> np.ndarray:
        """f'(x), float64 (at a kink: the right-hand derivative)."""
        return self._df(np.asarray(x, dtype=np.float64))

    def sympy_expr(self) -> sp.Expr:
        """Exact f as a sympy expression in the real symbol ``x`` (parameters substituted)."""
        import sympy as sp

        if self._expr is not None:
            return self._expr
        names = {k: sp.Symbol(k, real=True) for k, _ in self.params}
        expr = parse_expression(self.expression, names=names)
        return expr.subs({names[k]: sp.Float(repr(v)) for k, v in self.params})

    def label(self) -> str:
        """Readable label, e.g. ``leaky_relu(negative_slope=0.01)``."""
        if self.name == "expression":
            return self.expression
        if not self.params:
            return self.name
        return f"{self.name}({', '.join(f'{k}={v:g}' for k, v in self.params)})"

    def to_dict(self) -> dict:
        """The ``target`` block of a fit record."""
        return {"name": self.name, "params": dict(self.params), "expression": self.expression}

    def check_finite(self, interval: tuple[float, float], *, points: int = 2001) -> None:
        """Raise :class:`UsageError` unless f and f' are finite, real and bounded on ``interval``.

        For expression targets the continuity is checked twice and both must pass:
        sympy's ``continuous_domain`` looks for singularities analytically (a pole between
        two grid points, such as 1/x on [-0.3, 3.8], is invisible to sampling; it gets
        ``CONTINUITY_SECONDS`` and may be undecided, e.g. for ``erf`` or ``sign``), and
        :func:`~opade_fit.targets.numeric.numeric_gap` bisects the steepest steps of f on a
        fine grid down to float64 resolution (a jump or a pole keeps its step, a continuous f
        does not).
        Then f and f' on ``points`` samples must be finite, real and at most
        ``MAX_MAGNITUDE`` in magnitude.
        """
        a, b = float(interval[0]), float(interval[1])
        where = f"the interval [{a:g}, {b:g}]"
        if self.name == "expression":
            gap = discontinuity(self.sympy_expr(), (a, b))
            if gap is None:
                gap = numeric_gap(self, a, b)
            if gap is not None:
                raise UsageError(
                    f"`target` {self.label()} must be finite and continuous on {where}; "
                    f"it is not at x = {gap:.6g}"
                )
        x = np.linspace(a, b, points)
        with np.errstate(all="ignore"):
            y = self(x)
            dy = self.derivative(x)
        bad = ~np.isfinite(y)
        if bad.any():
            raise UsageError(
                f"`target` {self.label()} must be finite and real on {where}; "
                f"it is not at x = {x[bad][0]:.6g}"
            )
        if not np.all(np.isfinite(dy)):
            xb = x[~np.isfinite(dy)][0]
            raise UsageError(
                f"`target` {self.label()} must have a finite derivative on {where}; "
                f"it does not at x = {xb:.6g}"
            )
        check_magnitude(float(np.max(np.abs(y))), f"`target` {self.label()} on {where}")
        check_magnitude(
            float(np.max(np.abs(dy))), f"the derivative of `target` {self.label()} on {where}"
        )


def parse_params(items: list[str] | tuple[str, ...] | None) -> dict[str, float]:
    """Parse ``["name=value", ...]`` (the ``--param`` option) into a dict.

    Raises
    ------
    UsageError
        If an item is not NAME=VALUE, the value is not a finite number, or a
        name repeats.
    """
    out: dict[str, float] = {}
    for item in items or ():
        name, sep, value = str(item).partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"`--param` must be NAME=VALUE, got {item!r}")
        try:
            v = float(value)
        except ValueError:
            raise UsageError(f"`--param` {name} must be a number, got {value.strip()!r}") from None
        if not math.isfinite(v):
            raise UsageError(f"`--param` {name} must be finite, got {value.strip()!r}")
        check_magnitude(v, f"`--param` {name}")
        if name in out:
            raise UsageError(f"`--param` {name} is given twice")
        out[name] = v
    return out


def get_target(name: str | Target, params: Mapping[str, float] | None = None) -> Target:
    """Build a :class:`Target` from a built-in name or an expression in ``x``.

    Parameters
    ----------
    name : str
        A built-in name (see :data:`TARGET_NAMES`; ``silu`` is swish with
        beta = 1) or an expression such as ``"x*erf(x)"``.
    params : mapping, optional
        Parameter values overriding the defaults (built-ins only).

    Raises
    ------
    UsageError
        Unknown name (with a suggestion), unknown or invalid parameter,
        unparsable or unsafe expression.
    """
    if isinstance(name, Target):
        if params:
            raise UsageError("`params` cannot be combined with a Target instance")
        return name
    if params is not None and not isinstance(params, Mapping):
        raise UsageError(f"`params` must be a mapping NAME -> number, got {params!r}")
    params = dict(params or {})
    text = str(name).strip()
    key = text.lower()
    if key in ALIASES:
        canon, fixed = ALIASES[key]
        if params:
            raise UsageError(
                f"`target` {key} is {canon} with {fixed}; it takes no parameters "
                f"(use --target {canon} --param ...)"
            )
        return get_target(canon, fixed)
    if key in BUILTINS:
        b = BUILTINS[key]
        valid = [k for k, _ in b.defaults]
        for k, v in params.items():
            if k not in valid:
                rule = f"valid: {', '.join(valid)}" if valid else "it has no parameters"
                raise UsageError(
                    f"`--param` {k} is not a parameter of {key} ({rule})" + suggest(k, valid)
                )
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise UsageError(f"`--param` {k} must be a finite number, got {v!r}")
            check_magnitude(float(v), f"`--param` {k}")
        values = {k: float(params.get(k, v)) for k, v in b.defaults}
        for pname, ok, rule in b.rules:
            if not ok(values[pname]):
                raise UsageError(
                    f"`--param` {pname} of {key} must be {rule}, got {values[pname]:g}"
                )
        return Target(
            name=key,
            params=tuple(values.items()),
            expression=b.expression,
            _f=lambda x, _b=b, _p=values: _b.f(x, **_p),
            _df=lambda x, _b=b, _p=values: _b.df(x, **_p),
            kinks=b.kinks(**values),
        )
    if text.isidentifier() and text not in ("x", *CONSTANT_NAMES):  # "x", "pi": expressions
        raise UsageError(
            f"`target` must be one of {', '.join(TARGET_NAMES)}, silu, or an expression in x; "
            f"got {text!r}" + suggest(key, [*TARGET_NAMES, *ALIASES])
        )
    if params:
        raise UsageError("`--param` applies to built-in targets only, not to expressions")
    canonical, expr, f, df = compile_expression(text)  # expressions only: loads sympy
    return Target(
        name="expression",
        params=(),
        expression=canonical,
        _f=f,
        _df=df,
        kinks=(),
        _expr=expr,
    )
