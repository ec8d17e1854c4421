"""The safe expression language of custom targets: text -> sympy, without evaluating Python.

A custom target such as ``"x*erf(x)"`` is parsed with :mod:`ast` and turned
into sympy **without evaluating any Python**: only numbers, the name ``x``,
the constants ``pi`` and ``e``, the operators ``+ - * / ** ^`` and calls of
the whitelisted functions in :data:`FUNCTIONS` are accepted. Attribute
access, subscripts, keywords, lambdas, dunder names and any other name are
rejected with a :class:`~opade_fit.errors.UsageError`. The work is bounded by
:mod:`opade_fit.limits` (length, nesting depth, exponents, magnitudes).

From sympy to float64 functions and continuity checks: :mod:`opade_fit.targets.numeric`.
sympy loads on first use only.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import UsageError, suggest
from ..limits import MAX_EXPONENT, MAX_EXPRESSION_DEPTH, MAX_EXPRESSION_LENGTH, MAX_MAGNITUDE

if TYPE_CHECKING:
    import sympy as sp

__all__ = ["CONSTANT_NAMES", "FUNCTIONS", "parse_expression", "x_symbol"]


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
#: Names of the constants allowed in expressions, mapped to sympy attribute names.
CONSTANT_NAMES: dict[str, str] = {"pi": "pi", "e": "E", "E": "E"}


def x_symbol() -> sp.Symbol:
    """The real sympy symbol ``x`` of every target expression (sympy loads at the first call)."""
    import sympy

    return sympy.Symbol("x", real=True)


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
    allowed = {"x": x_symbol(), **{k: getattr(sp, v) for k, v in CONSTANT_NAMES.items()}}
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
