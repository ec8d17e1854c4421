"""Target activations f(x): the 13 built-ins and safely parsed expressions (docs/spec.md §4).

Every target has

* explicit, validated parameters (``negative_slope=0.01`` ..., never part of
  a name), all recorded in every output;
* an expression string in the safe expression language below, from which
  sympy builds the exact f and f' (the oracle, and the derivative used by
  derivative matching);
* a vectorised float64 implementation that is numerically safe (no overflow
  at |x| = 50) for the built-ins, and a lambdified one for expressions.

Safe expressions
----------------
A custom target such as ``"x*erf(x)"`` is parsed with :mod:`ast` and turned
into sympy **without evaluating any Python**: only numbers, the name ``x``,
the constants ``pi`` and ``e``, the operators ``+ - * / ** ^`` and calls of
the whitelisted functions in :data:`FUNCTIONS` are accepted. Attribute
access, subscripts, keywords, lambdas, dunder names and any other name are
rejected with a :class:`~opade_fit.errors.UsageError`.
"""

from __future__ import annotations

import ast
import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import UsageError, suggest
from .limits import (
    CONTINUITY_SECONDS,
    EXPRESSION_SECONDS,
    MAX_EXPONENT,
    MAX_EXPRESSION_DEPTH,
    MAX_EXPRESSION_LENGTH,
    MAX_MAGNITUDE,
    check_magnitude,
    work_budget,
)

if TYPE_CHECKING:
    import sympy as sp

# sympy and scipy.special load on first use only: reading a table entry
# (get_init) and the CLI's listing commands never need them (tests/test_startup.py)

__all__ = [
    "FUNCTIONS",
    "TARGETS",
    "TARGET_NAMES",
    "Target",
    "get_target",
    "parse_expression",
    "parse_params",
]


def _sympy_function(name: str) -> Callable[..., sp.Expr]:
    """``sympy.<name>``, looked up (and sympy imported) at the first call."""

    def call(*args: Any) -> sp.Expr:
        import sympy

        return getattr(sympy, name)(*args)

    call.__name__ = call.__qualname__ = name
    return call


def _sigmoid(z: sp.Expr) -> sp.Expr:
    import sympy

    return 1 / (1 + sympy.exp(-z))


def _softplus_expr(z: sp.Expr) -> sp.Expr:
    import sympy

    return sympy.log(1 + sympy.exp(z))


def _relu_expr(z: sp.Expr) -> sp.Expr:
    import sympy

    return sympy.Max(z, 0)


#: Functions allowed in expressions, mapped to sympy constructors.
FUNCTIONS: dict[str, Callable[..., sp.Expr]] = {
    **{
        n: _sympy_function(n)
        for n in ("exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh", "atan")
    },
    **{n: _sympy_function(n) for n in ("asinh", "erf", "erfc", "sign", "Max", "Min")},
    "abs": _sympy_function("Abs"),
    "Abs": _sympy_function("Abs"),
    "max": _sympy_function("Max"),
    "min": _sympy_function("Min"),
    "sigmoid": _sigmoid,
    "softplus": _softplus_expr,
    "relu": _relu_expr,
}
_CONSTANT_NAMES = {"pi": "pi", "e": "E", "E": "E"}


def _x() -> sp.Symbol:
    """The real symbol ``x`` of every target expression."""
    import sympy

    return sympy.Symbol("x", real=True)


def __getattr__(name: str) -> Any:
    # `X`, the real symbol x, without importing sympy at module import
    if name == "X":
        return _x()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _special(name: str) -> Callable[..., np.ndarray]:
    import scipy.special

    return getattr(scipy.special, name)


#: Number of arguments each function takes (min, max); log(x, BASE) is log(x)/log(BASE).
_ARITY: dict[str, tuple[int, int]] = {
    **{name: (1, 1) for name in FUNCTIONS},
    "log": (1, 2),
    **{name: (1, MAX_EXPRESSION_LENGTH) for name in ("Max", "Min", "max", "min")},
}
_ADD_OPS = (ast.Add, ast.Sub)
_MUL_OPS = (ast.Mult, ast.Div)
_POW_OPS = (ast.Pow,)
_LOG10_MAX = math.log10(MAX_MAGNITUDE)


def _show(text: str, width: int = 60) -> str:
    """``text`` for an error message: repr, shortened to about ``width`` characters."""
    text = " ".join(str(text).split())
    return repr(text if len(text) <= width else text[: width - 3] + "...")


def _depth(tree: ast.AST) -> int:
    """Nesting depth as counted by :data:`~opade_fit.limits.MAX_EXPRESSION_DEPTH` (iterative)."""
    deepest = 0
    stack: list[tuple[ast.AST, int, type | None]] = [(tree, 0, None)]
    while stack:
        node, depth, family = stack.pop()
        mine = None
        if isinstance(node, ast.BinOp):
            op = type(node.op)
            mine = _ADD_OPS if op in _ADD_OPS else _MUL_OPS if op in _MUL_OPS else _POW_OPS
            if mine is not family or mine is _POW_OPS:
                depth += 1
        elif isinstance(node, ast.Call | ast.UnaryOp):
            depth += 1
        deepest = max(deepest, depth)
        if deepest > MAX_EXPRESSION_DEPTH:
            break
        stack.extend((child, depth, mine) for child in ast.iter_child_nodes(node))
    return deepest


def _number(value, where: str) -> sp.Expr:
    """Check a number of the expression (literal or computed from literals)."""
    import sympy as sp

    if value.is_zero:
        return value
    if value.is_finite is False or value is sp.nan:
        raise UsageError(
            f"`target` expression must be finite; {where} is {sp.sstr(value)} "
            "(a division by zero or an infinite value)"
        )
    if value.is_extended_real is False:
        raise UsageError(f"`target` expression must be real-valued; {where} is {sp.sstr(value)}")
    if value.is_Number:
        size = abs(value)
        if size > MAX_MAGNITUDE or size < 1 / sp.Float(MAX_MAGNITUDE):
            raise UsageError(
                f"`target` expression numbers must be 0 or between {1 / MAX_MAGNITUDE:g} and "
                f"{MAX_MAGNITUDE:g} in magnitude; {where} is {float(size):.3g}"
            )
    return value


def _power(base: sp.Expr, exponent: sp.Expr, text: str) -> sp.Expr:
    """``base**exponent``, refusing numeric exponents and results beyond the limits first."""
    import sympy as sp

    if exponent.is_number:
        try:
            p = float(exponent)
        except (TypeError, ValueError, OverflowError):  # complex or not evaluable
            p = math.inf
        if not abs(p) <= MAX_EXPONENT:
            raise UsageError(
                f"`target` expression exponents must be real and at most {MAX_EXPONENT} in "
                f"magnitude; got {sp.sstr(exponent)[:30]} in {_show(text)}"
            )
        if base.is_Number and not base.is_zero:
            scale = p * math.log10(abs(float(base)))
            if abs(scale) > _LOG10_MAX:
                raise UsageError(
                    f"`target` expression numbers must be 0 or between {1 / MAX_MAGNITUDE:g} and "
                    f"{MAX_MAGNITUDE:g} in magnitude; {_show(text)} is about 10**{scale:.0f}"
                )
    return base**exponent


def parse_expression(text: str, *, names: Mapping[str, sp.Symbol] | None = None) -> sp.Expr:
    """Parse a safe arithmetic expression in ``x`` into a sympy expression.

    The work is bounded by :mod:`opade_fit.limits`: at most
    ``MAX_EXPRESSION_LENGTH`` characters and ``MAX_EXPRESSION_DEPTH`` nesting levels,
    numeric exponents ``|n| <= MAX_EXPONENT``, numbers (literal or computed from literals)
    0 or within [1/MAX_MAGNITUDE, MAX_MAGNITUDE] in magnitude; no exact huge integer is
    ever computed. Functions take their stated number of arguments (``log(x, BASE)``
    with a number BASE > 0, BASE != 1, is log(x)/log(BASE)).

    Parameters
    ----------
    text : str
        E.g. ``"x*erf(x)"`` or ``"x*tanh(log(1+exp(x)))"``.
    names : mapping, optional
        Extra symbols allowed besides ``x`` (used for built-in parameters).

    Raises
    ------
    UsageError
        For syntax errors, disallowed syntax or names, a broken limit, a division by zero,
        an infinite or complex constant; the message names the offending piece.
    """
    import sympy as sp

    if not isinstance(text, str) or not text.strip():
        raise UsageError("`target` expression must be a non-empty string")
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise UsageError(
            f"`target` expression must be at most {MAX_EXPRESSION_LENGTH} characters, "
            f"got {len(text)}"
        )
    level = deepest = 0
    for ch in text:  # before ast.parse, whose own recursion is not bounded by us
        level += (ch in "([{") - (ch in ")]}")
        deepest = max(deepest, level)
    too_deep = (
        f"`target` expression must nest at most {MAX_EXPRESSION_DEPTH} levels deep "
        "(calls, powers, signs and parentheses)"
    )
    if deepest > MAX_EXPRESSION_DEPTH:
        raise UsageError(f"{too_deep}; {_show(text)} nests deeper")
    try:
        # "^" means power with the precedence of "**" (as sympy's convert_xor): replaced
        # before parsing, since Python's "^" binds looser than "+" (x^2+1 would be x**3)
        tree = ast.parse(text.strip().replace("^", "**"), mode="eval")
    except SyntaxError as exc:
        raise UsageError(
            f"`target` expression {_show(text)} is not valid syntax: {exc.msg}"
        ) from None
    except (RecursionError, MemoryError, ValueError) as exc:  # e.g. null bytes
        raise UsageError(
            f"`target` expression {_show(text)} is not valid syntax ({type(exc).__name__})"
        ) from None
    if _depth(tree) > MAX_EXPRESSION_DEPTH:
        raise UsageError(f"{too_deep}; {_show(text)} nests deeper")
    allowed = {"x": _x(), **{k: getattr(sp, v) for k, v in _CONSTANT_NAMES.items()}}
    allowed.update(names or {})

    def conv(node: ast.AST) -> sp.Expr:
        if isinstance(node, ast.Expression):
            return conv(node.body)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            if isinstance(node.value, float):
                if not math.isfinite(node.value):
                    raise UsageError(
                        f"`target` expression numbers must be finite; got {_show(text)}"
                    )
                return _number(sp.Float(repr(node.value)), f"the number {node.value!r}")
            return _number(sp.Integer(node.value), f"the number {node.value!r}")
        if isinstance(node, ast.Name):
            if node.id in allowed:
                return allowed[node.id]
            hint = suggest(node.id, [*allowed, *FUNCTIONS])
            raise UsageError(
                f"`target` expression may only use the variable x, the constants pi and e "
                f"and whitelisted functions; got name {node.id!r}" + hint
            )
        if isinstance(node, ast.BinOp) and isinstance(node.op, _ADD_OPS + _MUL_OPS):
            whole = node
            family = _ADD_OPS if isinstance(node.op, _ADD_OPS) else _MUL_OPS
            operands: list[tuple[bool, ast.AST]] = []  # (inverted, operand) of a flat chain
            while isinstance(node, ast.BinOp) and isinstance(node.op, family):
                operands.append((isinstance(node.op, ast.Sub | ast.Div), node.right))
                node = node.left
            operands.append((False, node))
            terms = [conv(n) for _, n in reversed(operands)]
            inverted = [inv for inv, _ in reversed(operands)]
            if family is _ADD_OPS:
                value = sp.Add(*[-t if inv else t for t, inv in zip(terms, inverted, strict=True)])
            else:
                for t, inv in zip(terms, inverted, strict=True):
                    if inv and t.is_zero:
                        raise UsageError(f"`target` expression divides by zero in {_show(text)}")
                value = sp.Mul(
                    *[1 / t if inv else t for t, inv in zip(terms, inverted, strict=True)]
                )
            return _number(value, _show(ast.unparse(whole))) if value.is_number else value
        if isinstance(node, ast.BinOp) and isinstance(node.op, _POW_OPS):
            base, exponent = conv(node.left), conv(node.right)
            if base.is_zero and exponent.is_extended_negative:
                raise UsageError(f"`target` expression divides by zero in {_show(text)}")
            value = _power(base, exponent, ast.unparse(node))
            return _number(value, _show(ast.unparse(node))) if value.is_number else value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            v = conv(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                what = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
                raise UsageError(
                    f"`target` expression calls {_show(what, 30)}; allowed functions are "
                    f"{', '.join(sorted(set(FUNCTIONS)))}"
                    + (suggest(what, FUNCTIONS) if isinstance(node.func, ast.Name) else "")
                )
            name = node.func.id
            if node.keywords:
                raise UsageError("`target` expression: keyword arguments are not allowed")
            low, high = _ARITY[name]
            if not low <= len(node.args) <= high:
                count = f"{low}" if low == high else f"{low} or {high}"
                raise UsageError(
                    f"`target` expression: {name}() takes {count} argument"
                    f"{'s' if high > 1 else ''}, got {len(node.args)} in {_show(text)}"
                )
            if any(isinstance(a, ast.Starred) for a in node.args):
                raise UsageError("`target` expression: starred arguments are not allowed")
            args = [conv(a) for a in node.args]
            if name == "log" and len(args) == 2:
                base = args[1]
                if not (base.is_number and base.is_extended_positive and base != 1):
                    raise UsageError(
                        f"`target` expression: log(x, BASE) needs a number BASE > 0 other than "
                        f"1, got {_show(sp.sstr(base), 30)}"
                    )
                return FUNCTIONS["log"](args[0]) / FUNCTIONS["log"](base)
            value = FUNCTIONS[name](*args)
            return _number(value, _show(ast.unparse(node))) if value.is_number else value
        raise UsageError(
            f"`target` expression may only contain numbers, x, + - * / ** and whitelisted "
            f"function calls; found {type(node).__name__} in {_show(ast.unparse(node))}"
        )

    try:
        expr = sp.sympify(conv(tree))
    except (ZeroDivisionError, OverflowError) as exc:
        raise UsageError(
            f"`target` expression {_show(text)} cannot be evaluated: {type(exc).__name__}"
        ) from None
    for bad, what in ((sp.zoo, "a division by zero"), (sp.nan, "an undefined value")):
        if expr.has(bad):
            raise UsageError(f"`target` expression {_show(text)} contains {what}")
    if expr.has(sp.oo, -sp.oo):
        raise UsageError(f"`target` expression {_show(text)} contains an infinite value")
    if expr.has(sp.I):
        raise UsageError(f"`target` expression {_show(text)} is complex-valued")
    return expr


# --------------------------------------------------------------------------------------
# built-in targets
# --------------------------------------------------------------------------------------
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_GELU_TANH_C = math.sqrt(2.0 / math.pi)


def _expit(z):
    return _special("expit")(z)


def _softplus(z):
    return np.logaddexp(0.0, z)


@dataclass(frozen=True)
class _Builtin:
    name: str
    description: str
    expression: str
    defaults: tuple[tuple[str, float], ...]
    f: Callable[..., np.ndarray]
    df: Callable[..., np.ndarray]
    kinks: Callable[..., tuple[float, ...]] = lambda **p: ()
    rules: tuple[tuple[str, Callable[[float], bool], str], ...] = ()


def _gelu_tanh(x):
    u = _GELU_TANH_C * (x + 0.044715 * x**3)
    return 0.5 * x * (1.0 + np.tanh(u))


def _gelu_tanh_d(x):
    u = _GELU_TANH_C * (x + 0.044715 * x**3)
    t = np.tanh(u)
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _GELU_TANH_C * (1.0 + 3 * 0.044715 * x**2)


def _mish_d(x):
    t = np.tanh(_softplus(x))
    return t + x * (1.0 - t * t) * _expit(x)


_POSITIVE = (lambda v: v > 0, "> 0")
_NONNEG = (lambda v: v >= 0, ">= 0")

_BUILTINS: dict[str, _Builtin] = {
    b.name: b
    for b in [
        _Builtin(
            "leaky_relu",
            "x for x >= 0, negative_slope*x otherwise (PyTorch default slope 0.01)",
            "Max(x, 0) + negative_slope*Min(x, 0)",
            (("negative_slope", 0.01),),
            lambda x, negative_slope: np.where(x >= 0, x, negative_slope * x),
            lambda x, negative_slope: np.where(x >= 0, 1.0, negative_slope),
            lambda **p: (0.0,),
        ),
        _Builtin(
            "relu",
            "max(x, 0)",
            "Max(x, 0)",
            (),
            lambda x: np.maximum(x, 0.0),
            lambda x: np.where(x >= 0, 1.0, 0.0),
            lambda **p: (0.0,),
        ),
        _Builtin(
            "gelu",
            "exact GELU x*Phi(x) = x/2*(1 + erf(x/sqrt(2)))",
            "x/2*(1 + erf(x/sqrt(2)))",
            (),
            lambda x: 0.5 * x * (1.0 + _special("erf")(x / math.sqrt(2.0))),
            lambda x: _special("ndtr")(x) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi),
        ),
        _Builtin(
            "gelu_tanh",
            "tanh approximation of GELU",
            "x/2*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x**3)))",
            (),
            _gelu_tanh,
            _gelu_tanh_d,
        ),
        _Builtin(
            "swish",
            "x*sigmoid(beta*x) (SiLU for beta = 1)",
            "x/(1 + exp(-beta*x))",
            (("beta", 1.0),),
            lambda x, beta: x * _expit(beta * x),
            lambda x, beta: _expit(beta * x) * (1.0 + beta * x * (1.0 - _expit(beta * x))),
        ),
        _Builtin(
            "mish",
            "x*tanh(softplus(x))",
            "x*tanh(log(1 + exp(x)))",
            (),
            lambda x: x * np.tanh(_softplus(x)),
            _mish_d,
        ),
        _Builtin(
            "tanh",
            "hyperbolic tangent",
            "tanh(x)",
            (),
            np.tanh,
            lambda x: 1.0 - np.tanh(x) ** 2,
        ),
        _Builtin(
            "sigmoid",
            "logistic sigmoid 1/(1 + exp(-x))",
            "1/(1 + exp(-x))",
            (),
            _expit,
            lambda x: _expit(x) * (1.0 - _expit(x)),
        ),
        _Builtin(
            "elu",
            "x for x > 0, alpha*(exp(x) - 1) otherwise",
            "Max(x, 0) + alpha*(exp(Min(x, 0)) - 1)",
            (("alpha", 1.0),),
            lambda x, alpha: np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0))),
            lambda x, alpha: np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0))),
            lambda **p: (0.0,),
            (("alpha", *_NONNEG),),
        ),
        _Builtin(
            "selu",
            "scale*(x for x > 0, alpha*(exp(x) - 1) otherwise), self-normalising constants",
            "scale*(Max(x, 0) + alpha*(exp(Min(x, 0)) - 1))",
            (("alpha", _SELU_ALPHA), ("scale", _SELU_SCALE)),
            lambda x, alpha, scale: (
                scale * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))
            ),
            lambda x, alpha, scale: (
                scale * np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))
            ),
            lambda **p: (0.0,),
            (("alpha", *_NONNEG), ("scale", *_POSITIVE)),
        ),
        _Builtin(
            "softplus",
            "log(1 + exp(beta*x))/beta",
            "log(1 + exp(beta*x))/beta",
            (("beta", 1.0),),
            lambda x, beta: _softplus(beta * x) / beta,
            lambda x, beta: _expit(beta * x),
            rules=(("beta", *_POSITIVE),),
        ),
        _Builtin(
            "hardswish",
            "x*relu6(x + 3)/6",
            "x*Min(Max(x + 3, 0), 6)/6",
            (),
            lambda x: x * np.clip(x + 3.0, 0.0, 6.0) / 6.0,
            lambda x: np.where(x < -3.0, 0.0, np.where(x > 3.0, 1.0, (2.0 * x + 3.0) / 6.0)),
            lambda **p: (-3.0, 3.0),
        ),
        _Builtin("identity", "x", "x", (), lambda x: np.array(x, dtype=np.float64), np.ones_like),
    ]
}
_ALIASES: dict[str, tuple[str, dict[str, float]]] = {"silu": ("swish", {"beta": 1.0})}

#: Names of the built-in targets (canonical spellings).
TARGET_NAMES: tuple[str, ...] = tuple(_BUILTINS)
TARGETS = _BUILTINS


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
        :func:`_numeric_gap` bisects the steepest steps of f on a fine grid down to
        float64 resolution (a jump or a pole keeps its step, a continuous f does not).
        Then f and f' on ``points`` samples must be finite, real and at most
        ``MAX_MAGNITUDE`` in magnitude.
        """
        a, b = float(interval[0]), float(interval[1])
        where = f"the interval [{a:g}, {b:g}]"
        if self.name == "expression":
            gap = _discontinuity(self.sympy_expr(), (a, b))
            if gap is None:
                gap = _numeric_gap(self, a, b)
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


@functools.lru_cache(maxsize=256)
def _discontinuity(expr: sp.Expr, interval: tuple[float, float]) -> float | None:
    """A point of ``interval`` where sympy finds ``expr`` not continuous, or None.

    None also when sympy cannot decide (``NotImplementedError``, ...) or runs out of
    ``CONTINUITY_SECONDS``; :func:`_numeric_gap` still runs then.
    """
    import sympy as sp
    from sympy.calculus.util import continuous_domain

    full = sp.Interval(sp.Float(interval[0]), sp.Float(interval[1]))
    try:
        with work_budget(CONTINUITY_SECONDS, "continuity analysis"):
            domain = continuous_domain(expr, _x(), full)
            missing = full - domain
    except (NotImplementedError, TypeError, ValueError, RecursionError, AttributeError):
        return None  # undecided (UsageError: out of time) -- the numeric check still runs
    if missing.is_empty:
        return None
    try:
        return float(missing.inf)
    except (TypeError, ValueError):
        return float(interval[0])


#: Cells of the fine grid of :func:`_numeric_gap`, and how many of its steepest are bisected.
_GAP_CELLS, _GAP_CANDIDATES = 20_000, 8


def _numeric_gap(target: Target, a: float, b: float) -> float | None:
    """A point of [a, b] where ``target`` jumps or has a pole, found by bisection, or None.

    The ``_GAP_CANDIDATES`` largest steps |f(x_{i+1}) - f(x_i)| of a grid of
    ``_GAP_CELLS`` cells are bisected (always into the half with the larger step) down to
    float64 resolution. A continuous f's step shrinks with the cell; a jump keeps its
    height and a pole grows, so a final step above 1e-3 of the initial one marks a
    discontinuity. Non-finite or non-real values are reported at the first such point.
    """
    x = np.linspace(a, b, _GAP_CELLS + 1)
    with np.errstate(all="ignore"):
        y = target(x)
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
                fmid = float(target(np.array([mid]))[0])
            if not np.isfinite(fmid):
                return float(mid)
            if abs(fmid - flo) >= abs(fhi - fmid):
                hi, fhi = mid, fmid
            else:
                lo, flo = mid, fmid
        if abs(fhi - flo) > 1e-3 * first and abs(fhi - flo) > 1e-12 * max(1.0, abs(fhi)):
            return float(min(lo, hi, key=abs))
    return None


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


def _zero(x, *orders):
    """DiracDelta(x) and its derivatives as functions: 0 (f' is taken almost everywhere)."""
    return np.zeros(np.shape(x))


def _lambdify(expr: sp.Expr) -> Callable[[np.ndarray], np.ndarray]:
    import sympy as sp

    modules = [{"erf": _special("erf"), "erfc": _special("erfc"), "DiracDelta": _zero}, "numpy"]
    fn = sp.lambdify(_x(), expr, modules=modules)

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
    if key in _ALIASES:
        canon, fixed = _ALIASES[key]
        if params:
            raise UsageError(
                f"`target` {key} is {canon} with {fixed}; it takes no parameters "
                f"(use --target {canon} --param ...)"
            )
        return get_target(canon, fixed)
    if key in _BUILTINS:
        b = _BUILTINS[key]
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
    if text.isidentifier() and text not in ("x", *_CONSTANT_NAMES):  # "x", "pi": expressions
        raise UsageError(
            f"`target` must be one of {', '.join(TARGET_NAMES)}, silu, or an expression in x; "
            f"got {text!r}" + suggest(key, [*TARGET_NAMES, *_ALIASES])
        )
    if params:
        raise UsageError("`--param` applies to built-in targets only, not to expressions")
    import sympy as sp  # expressions only: built-in targets never load sympy

    budget = (
        f"`target` expression {_show(text)} must be processed (simplified, differentiated) "
        f"within {EXPRESSION_SECONDS:g} s"
    )
    with work_budget(EXPRESSION_SECONDS, budget):
        try:
            expr = parse_expression(text)
            if not expr.free_symbols <= {_x()}:
                raise UsageError(f"`target` expression must depend on x only, got {_show(text)}")
            canonical = sp.sstr(expr)
            if len(canonical) > MAX_EXPRESSION_LENGTH:
                raise UsageError(
                    f"`target` expression must be at most {MAX_EXPRESSION_LENGTH} characters in "
                    f"canonical form (it is stored and parsed again); {_show(text)} has "
                    f"{len(canonical)}"
                )
            derivative = sp.diff(expr, _x())
            f, df = _lambdify(expr), _lambdify(derivative)
        except (RecursionError, MemoryError, OverflowError, ZeroDivisionError) as exc:
            raise UsageError(
                f"`target` expression {_show(text)} is too complex to process "
                f"({type(exc).__name__})"
            ) from None
    return Target(
        name="expression",
        params=(),
        expression=canonical,
        _f=f,
        _df=df,
        kinks=(),
        _expr=expr,
    )
