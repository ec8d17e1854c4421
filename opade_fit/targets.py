"""Target activations f(x): the 13 built-ins and safely parsed expressions (SPEC §4).

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


_BINOPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
    ast.BitXor: lambda a, b: a**b,  # "x^2" means power, as in sympy's convert_xor
}
_MAX_EXPRESSION_LENGTH = 1000


def parse_expression(text: str, *, names: Mapping[str, sp.Symbol] | None = None) -> sp.Expr:
    """Parse a safe arithmetic expression in ``x`` into a sympy expression.

    Parameters
    ----------
    text : str
        E.g. ``"x*erf(x)"`` or ``"x*tanh(log(1+exp(x)))"``.
    names : mapping, optional
        Extra symbols allowed besides ``x`` (used for built-in parameters).

    Raises
    ------
    UsageError
        For syntax errors, disallowed syntax or names; the message names the
        offending piece.
    """
    if not isinstance(text, str) or not text.strip():
        raise UsageError("`target` expression must be a non-empty string")
    if len(text) > _MAX_EXPRESSION_LENGTH:
        raise UsageError(f"`target` expression must be at most {_MAX_EXPRESSION_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise UsageError(f"`target` expression {text!r} is not valid syntax: {exc.msg}") from None
    import sympy as sp

    allowed = {"x": _x(), **{k: getattr(sp, v) for k, v in _CONSTANT_NAMES.items()}}
    allowed.update(names or {})

    def conv(node: ast.AST) -> sp.Expr:
        if isinstance(node, ast.Expression):
            return conv(node.body)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            if isinstance(node.value, float):
                return sp.Float(repr(node.value))
            return sp.Integer(node.value)
        if isinstance(node, ast.Name):
            if node.id in allowed:
                return allowed[node.id]
            hint = suggest(node.id, [*allowed, *FUNCTIONS])
            raise UsageError(
                f"`target` expression may only use the variable x, the constants pi and e "
                f"and whitelisted functions; got name {node.id!r}" + hint
            )
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](conv(node.left), conv(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            v = conv(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                what = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
                raise UsageError(
                    f"`target` expression calls {what!r}; allowed functions are "
                    f"{', '.join(sorted(set(FUNCTIONS)))}"
                    + (suggest(what, FUNCTIONS) if isinstance(node.func, ast.Name) else "")
                )
            if node.keywords:
                raise UsageError("`target` expression: keyword arguments are not allowed")
            if not node.args:
                raise UsageError(f"`target` expression: {node.func.id}() needs an argument")
            try:
                return FUNCTIONS[node.func.id](*[conv(a) for a in node.args])
            except TypeError as exc:
                raise UsageError(
                    f"`target` expression: bad arguments to {node.func.id}(): {exc}"
                ) from None
        raise UsageError(
            f"`target` expression may only contain numbers, x, + - * / ** and whitelisted "
            f"function calls; found {type(node).__name__} in {ast.unparse(node)!r}"
        )

    return sp.sympify(conv(tree))


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
        """Raise :class:`UsageError` if f or f' is not finite on ``interval``.

        For expression targets, sympy's ``continuous_domain`` first looks for
        singularities analytically (a pole between two grid points, such as
        1/x on [-0.3, 3.8], is invisible to sampling); where sympy cannot
        decide (e.g. ``erf``), only the grid of ``points`` samples is checked.
        """
        if self.name == "expression":
            gap = _discontinuity(self.expression, (float(interval[0]), float(interval[1])))
            if gap is not None:
                raise UsageError(
                    f"`target` {self.label()} must be finite and continuous on the interval "
                    f"[{interval[0]:g}, {interval[1]:g}]; it is not at x = {gap:.6g}"
                )
        x = np.linspace(interval[0], interval[1], points)
        with np.errstate(all="ignore"):
            y = self(x)
            dy = self.derivative(x)
        bad = ~np.isfinite(y)
        if bad.any():
            raise UsageError(
                f"`target` {self.label()} must be finite on the interval "
                f"[{interval[0]:g}, {interval[1]:g}]; it is not at x = {x[bad][0]:.6g}"
            )
        if not np.all(np.isfinite(dy)):
            xb = x[~np.isfinite(dy)][0]
            raise UsageError(
                f"`target` {self.label()} must have a finite derivative on "
                f"[{interval[0]:g}, {interval[1]:g}]; it does not at x = {xb:.6g}"
            )


@functools.lru_cache(maxsize=256)
def _discontinuity(expression: str, interval: tuple[float, float]) -> float | None:
    """A point of ``interval`` where the expression is not continuous, or None.

    None also when sympy cannot decide (``NotImplementedError``) or gives up.
    """
    import sympy as sp
    from sympy.calculus.util import continuous_domain

    full = sp.Interval(sp.Float(interval[0]), sp.Float(interval[1]))
    try:
        domain = continuous_domain(parse_expression(expression), _x(), full)
    except (NotImplementedError, TypeError, ValueError):
        return None
    missing = full - domain
    if missing.is_empty:
        return None
    try:
        return float(missing.inf)
    except (TypeError, ValueError):
        return float(interval[0])


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
        if name in out:
            raise UsageError(f"`--param` {name} is given twice")
        out[name] = v
    return out


def _lambdify(expr: sp.Expr) -> Callable[[np.ndarray], np.ndarray]:
    import sympy as sp

    modules = [{"erf": _special("erf"), "erfc": _special("erfc")}, "numpy"]
    fn = sp.lambdify(_x(), expr, modules=modules)

    def call(x: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):  # non-finite values are reported by check_finite
            y = fn(x)
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
            if not isinstance(v, int | float) or not math.isfinite(v):
                raise UsageError(f"`--param` {k} must be a finite number, got {v!r}")
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
    if text.isidentifier():
        raise UsageError(
            f"`target` must be one of {', '.join(TARGET_NAMES)}, silu, or an expression in x; "
            f"got {text!r}" + suggest(key, [*TARGET_NAMES, *_ALIASES])
        )
    if params:
        raise UsageError("`--param` applies to built-in targets only, not to expressions")
    import sympy as sp

    expr = parse_expression(text)
    x = _x()
    if not expr.free_symbols <= {x}:
        raise UsageError(f"`target` expression must depend on x only, got {text!r}")
    return Target(
        name="expression",
        params=(),
        expression=sp.sstr(expr),
        _f=_lambdify(expr),
        _df=_lambdify(sp.diff(expr, x)),
        kinks=(),
    )
