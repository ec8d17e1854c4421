"""Shared pieces of the hostile-input property tests and of ``benchmarks/fuzz_campaign.py``.

* hypothesis strategies: a grammar of target expressions (numbers of every size, the
  whitelisted functions with 0-3 arguments, unknown names, deep nesting, huge powers),
  random strings, and values of the ``opade fit`` options;
* :func:`classify_target`: runs one expression through the library and sorts the outcome
  into ``clean`` (a one-line ``UsageError`` naming ``target``), ``ok`` (accepted and equal
  to an independent evaluation) or ``wrong`` (accepted but different); any other exception
  propagates (an internal error);
* :func:`oracle`: the independent evaluation: Python's ``math`` on the expression text.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from opade_fit.errors import UsageError
from opade_fit.targets import FUNCTIONS, get_target

__all__ = [
    "LOCK_SPEC",
    "OPTIONS",
    "UNSAFE_SYNTAX",
    "classify_target",
    "expressions",
    "oracle",
    "random_texts",
]

#: Expressions the parser must refuse (Python syntax outside the language, unknown names).
UNSAFE_SYNTAX = [
    "__import__('os')",
    "x.real",
    "lambda: 1",
    "exp(x=1)",
    "x if x else 0",
    "[x]",
    "'x'",
    "x == 1",
    "exp(x)()",
    "1 +",
]

#: A two-entry spec (one table file) for concurrent ``tables regenerate`` runs.
LOCK_SPEC = """spec_format = 1

[[group]]
name = "lock"
basis = ["monomial"]
denominator = ["safe"]
degrees = [[2, 1]]
target = [{ name = "gelu", params = {} }, { name = "tanh", params = {} }]
center = [{ mode = "none" }]
weight = ["uniform"]
interval = [[-3.0, 3.0]]
check_interval = [[-5.0, 5.0]]
points = [201]
derivative_weight = [0.0]
objective = ["l2"]
"""

_SPECIAL_NUMBERS = [
    "0",
    "0.0",
    "1",
    "2",
    "0.5",
    "1e308",
    "1e-320",
    "1e100",
    "1e-100",
    "1e101",
    "9" * 60,
    "10**400",
    "9**9**9",
    "2**10**10",
    "1e999",
    "0.1234567",
    "3.0",
    "100",
]
_NAMES = ["x", "x", "x", "pi", "e", "E", "y", "inf", "nan", "I", "__import__", "x.real"]
_OPS = ["+", "-", "*", "/", "**", "^"]
_FUNCTIONS = [*sorted(FUNCTIONS), "foo", "eval", "gamma"]

numbers = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
    st.sampled_from(_SPECIAL_NUMBERS),
)
atoms = st.one_of(st.sampled_from(_NAMES), numbers)


def _extend(children):
    binary = st.tuples(children, st.sampled_from(_OPS), children, st.booleans()).map(
        lambda t: f"({t[0]}{t[1]}{t[2]})" if t[3] else f"{t[0]} {t[1]} {t[2]}"
    )
    call = st.tuples(st.sampled_from(_FUNCTIONS), st.lists(children, max_size=3)).map(
        lambda t: f"{t[0]}({', '.join(t[1])})"
    )
    unary = st.tuples(st.sampled_from(["-", "+", "--"]), children).map("".join)
    return st.one_of(binary, call, unary)


#: Grammar-generated expressions (most are valid syntax; many break a rule).
expressions = st.one_of(
    st.recursive(atoms, _extend, max_leaves=25),
    st.tuples(st.sampled_from(["sin(", "-", "(", "exp("]), st.integers(1, 400)).map(
        lambda t: t[0] * t[1] + "x" + (")" * t[1] if "(" in t[0] else "")
    ),
)

_TOKENS = ["x", "(", ")", "+", "-", "*", "/", "**", "^", ",", ".", "e", "1", "0", " ", "9"]
#: Random strings: arbitrary unicode, and shuffles of the expression tokens.
random_texts = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(_TOKENS + _FUNCTIONS), max_size=40).map("".join),
)

#: Values of the numeric ``opade fit`` options (hostile and ordinary).
OPTIONS = {
    "--interval": st.one_of(
        st.tuples(numbers, numbers).map(list),
        st.sampled_from([["-3", "3"], ["1", "1.0000000001"], ["-1e300", "1e300"], ["nan", "1"]]),
    ),
    "--points": st.one_of(
        st.integers(-5, 500).map(str),
        st.sampled_from(["1000000000", "9223372036854775808", "1e3", "4001", "x"]),
    ),
    "--degrees": st.one_of(
        st.tuples(st.integers(-1, 8), st.integers(-1, 8)).map(lambda t: f"{t[0]}/{t[1]}"),
        st.sampled_from(["0/200", "200/0", "5/4", "5", "a/b", "5/4/3", "99999999999/1"]),
    ),
    "--weight": st.one_of(
        st.sampled_from(["uniform", "normal", "normal:1e-300", "normal:0", "normal:-1", "gauss"]),
        numbers.map(lambda n: f"normal:{n}"),
    ),
    "--derivative-weight": st.one_of(numbers, st.sampled_from(["-1", "nan", "inf"])),
}


def _sign(v):
    return math.copysign(1.0, v) if v != 0 else 0.0


def _erfc(v):
    return math.erfc(v)


_ORACLE = {
    "exp": math.exp,
    "log": math.log,
    "sqrt": math.sqrt,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "sinh": math.sinh,
    "cosh": math.cosh,
    "tanh": math.tanh,
    "atan": math.atan,
    "asinh": math.asinh,
    "erf": math.erf,
    "erfc": _erfc,
    "abs": abs,
    "Abs": abs,
    "sign": _sign,
    "Max": max,
    "Min": min,
    "max": max,
    "min": min,
    "sigmoid": lambda z: 1 / (1 + math.exp(-z)),
    "softplus": lambda z: math.log1p(math.exp(z)),
    "relu": lambda z: max(z, 0),
    "pi": math.pi,
    "e": math.e,
    "E": math.e,
}


def oracle(text: str, x: float) -> float | None:
    """``text`` evaluated at ``x`` by Python's ``math`` (None where Python cannot).

    Only called on expressions the parser accepted (so only numbers, ``x`` and the
    whitelisted names, with bounded exponents).
    """
    try:
        value = eval(text.strip().replace("^", "**"), {"__builtins__": {}}, {**_ORACLE, "x": x})
        return float(value) if not isinstance(value, complex) else None
    except (ArithmeticError, ValueError, TypeError):
        return None


def classify_target(text: str) -> tuple[str, str]:
    """Run ``text`` through the library; returns (``clean`` | ``ok`` | ``wrong``, detail).

    ``clean``: a one-line UsageError that names ``target``. ``ok``: accepted, finite on
    [-5, 5] and equal to :func:`oracle` at 41 points (rtol 1e-7). ``wrong``: accepted but
    different, or an error message that breaks the contract. Other exceptions propagate.
    """
    try:
        target = get_target(text)
        target.check_finite((-3.0, 3.0))
        target.check_finite((-5.0, 5.0))
    except UsageError as exc:
        msg = str(exc)
        if "\n" in msg or "`target`" not in msg or msg.startswith("unexpected"):
            return "wrong", f"bad message: {msg!r}"
        return "clean", msg
    xs = np.linspace(-5.0, 5.0, 41)
    ys = target(xs)
    for x, y in zip(xs, ys, strict=True):
        want = oracle(text, float(x))
        if want is None or not math.isfinite(want):
            continue  # Python's math cannot evaluate it (e.g. an intermediate overflow)
        if not math.isclose(y, want, rel_tol=1e-7, abs_tol=1e-9):
            return "wrong", f"f({x:g}) = {y!r}, independently {want!r}"
    return "ok", target.expression
