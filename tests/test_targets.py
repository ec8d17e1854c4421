"""Targets (docs/spec.md §4): built-ins vs their own sympy expressions, parameters, safe parser."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.special as sps
import sympy as sp
from fuzz.hostile import UNSAFE_SYNTAX

from opade_fit.errors import UsageError
from opade_fit.targets import TARGET_NAMES, X, get_target, parse_expression, parse_params

#: float implementation vs lambdified sympy expression, relative to max(1, |value|)
VALUE_TOL = 1e-12
DERIVATIVE_TOL = 1e-10
#: points closer than this to a kink are skipped in derivative checks
KINK_MARGIN = 1e-6
GRID = np.linspace(-6.0, 6.0, 1201)[1::2]  # excludes 0 and the hardswish kinks at +-3

NON_DEFAULT = {
    "leaky_relu": {"negative_slope": 0.2},
    "swish": {"beta": 1.7},
    "elu": {"alpha": 0.5},
    "selu": {"alpha": 1.5, "scale": 1.1},
    "softplus": {"beta": 2.5},
}
CASES = [(n, {}) for n in TARGET_NAMES] + list(NON_DEFAULT.items())
CASE_IDS = [n + ("-custom" if p else "") for n, p in CASES]


def _lambdify(expr: sp.Expr):
    fn = sp.lambdify(X, expr, modules=[{"erf": sps.erf, "erfc": sps.erfc}, "numpy"])
    return lambda x: np.broadcast_to(np.asarray(fn(x), dtype=float), np.shape(x))


def _assert_close(actual, expected, tol, what):
    scale = np.maximum(1.0, np.abs(expected))
    err = np.abs(actual - expected) / scale
    assert np.all(err <= tol), f"{what}: max scaled error {err.max():.3e} > {tol:.1e}"


def test_thirteen_builtins():
    assert len(TARGET_NAMES) == 13
    assert set(TARGET_NAMES) == {
        "leaky_relu",
        "relu",
        "gelu",
        "gelu_tanh",
        "swish",
        "mish",
        "tanh",
        "sigmoid",
        "elu",
        "selu",
        "softplus",
        "hardswish",
        "identity",
    }


@pytest.mark.parametrize(("name", "params"), CASES, ids=CASE_IDS)
def test_builtin_matches_its_sympy_expression(name, params):
    t = get_target(name, params)
    expr = t.sympy_expr()
    assert expr.free_symbols <= {X}
    x = GRID[np.all(np.abs(GRID[:, None] - np.array([*t.kinks, np.inf])) > KINK_MARGIN, axis=1)]
    _assert_close(t(x), _lambdify(expr)(x), VALUE_TOL, f"{name} value")
    _assert_close(t.derivative(x), _lambdify(sp.diff(expr, X))(x), DERIVATIVE_TOL, f"{name} f'")


@pytest.mark.parametrize("name", TARGET_NAMES)
def test_builtins_are_safe_at_large_arguments(name):
    x = np.array([-50.0, -49.5, -1e3, 1e3, 49.5, 50.0])
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        y, dy = get_target(name)(x), get_target(name).derivative(x)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dy))
    assert y.dtype == dy.dtype == np.float64 and y.shape == dy.shape == x.shape


def test_known_values():
    x = np.array([-2.0, 0.0, 2.0])
    np.testing.assert_allclose(get_target("leaky_relu")(x), [-0.02, 0.0, 2.0])
    np.testing.assert_allclose(get_target("relu")(x), [0.0, 0.0, 2.0])
    np.testing.assert_allclose(get_target("gelu")(x), x * sps.ndtr(x), rtol=1e-15)
    np.testing.assert_allclose(get_target("hardswish")(np.array([-4.0, 1.0, 4.0])), [0, 2 / 3, 4])
    np.testing.assert_allclose(get_target("identity")(x), x)
    assert get_target("softplus")(np.array([0.0]))[0] == pytest.approx(math.log(2.0))


# ----------------------------------------------------------------------------- parameters
def test_parameters_are_recorded_with_defaults():
    assert get_target("leaky_relu").params == (("negative_slope", 0.01),)
    assert get_target("swish").param_dict == {"beta": 1.0}
    assert get_target("elu").param_dict == {"alpha": 1.0}
    assert get_target("softplus").param_dict == {"beta": 1.0}
    assert get_target("relu").params == ()
    selu = get_target("selu", {"scale": 2.0})
    assert selu.param_dict == {"alpha": pytest.approx(1.6732632423543772), "scale": 2.0}
    record = get_target("leaky_relu", {"negative_slope": 0.2}).to_dict()
    assert record == {
        "name": "leaky_relu",
        "params": {"negative_slope": 0.2},
        "expression": "Max(x, 0) + negative_slope*Min(x, 0)",
    }
    assert get_target("leaky_relu", {"negative_slope": 0.2}).label() == (
        "leaky_relu(negative_slope=0.2)"
    )


def test_parameters_change_the_function():
    x = np.array([-1.0, 1.0])
    np.testing.assert_allclose(get_target("leaky_relu", {"negative_slope": 0.2})(x), [-0.2, 1.0])
    np.testing.assert_allclose(get_target("swish", {"beta": 2.0})(x), x * sps.expit(2 * x))


def test_silu_is_swish_with_beta_one():
    silu, swish = get_target("silu"), get_target("swish")
    assert silu == swish == get_target("swish", {"beta": 1.0})
    assert silu.name == "swish" and silu.param_dict == {"beta": 1.0}
    np.testing.assert_array_equal(silu(GRID), swish(GRID))
    with pytest.raises(UsageError, match="silu"):
        get_target("silu", {"beta": 2.0})


def test_unknown_target_suggests_the_closest_name():
    with pytest.raises(UsageError, match=r"`target` must be one of .*did you mean 'gelu_tanh'"):
        get_target("gelu_tan")
    with pytest.raises(UsageError, match=r"did you mean 'leaky_relu'"):
        get_target("leaky_rel")


def test_unknown_and_invalid_parameters():
    with pytest.raises(UsageError, match=r"`--param` beta is not a parameter of relu"):
        get_target("relu", {"beta": 1.0})
    with pytest.raises(UsageError, match=r"negative_slop.*did you mean 'negative_slope'"):
        get_target("leaky_relu", {"negative_slop": 0.1})
    with pytest.raises(UsageError, match=r"`--param` beta of softplus must be > 0"):
        get_target("softplus", {"beta": 0.0})
    with pytest.raises(UsageError, match=r"`--param` alpha of elu must be >= 0"):
        get_target("elu", {"alpha": -1.0})
    with pytest.raises(UsageError, match=r"finite"):
        get_target("swish", {"beta": math.inf})
    with pytest.raises(UsageError, match=r"built-in targets only"):
        get_target("x*erf(x)", {"beta": 1.0})


def test_parse_params():
    assert parse_params(["negative_slope=0.2", " beta = 3 "]) == {"negative_slope": 0.2, "beta": 3}
    assert parse_params(None) == {}
    for bad, message in [
        ("beta", "NAME=VALUE"),
        ("=1", "NAME=VALUE"),
        ("beta=abc", "must be a number"),
        ("beta=nan", "must be finite"),
        ("beta=inf", "must be finite"),
    ]:
        with pytest.raises(UsageError, match=message):
            parse_params([bad])
    with pytest.raises(UsageError, match="given twice"):
        parse_params(["beta=1", "beta=2"])


# ----------------------------------------------------------------------------- expressions
@pytest.mark.parametrize(
    "text",
    [
        *UNSAFE_SYNTAX,
        "__import__('os').system('true')",
        "().__class__",
        "x[0]",
        "y + 1",
        "open('f')",
        "",
    ],
)
def test_parser_rejects_unsafe_or_invalid_expressions(text):
    with pytest.raises(UsageError, match="`target`"):
        parse_expression(text)
    with pytest.raises(UsageError, match="`target`"):
        get_target(text)


@pytest.mark.parametrize(
    ("text", "reference"),
    [
        ("x*erf(x)", lambda x: x * sps.erf(x)),
        ("x*tanh(log(1+exp(x)))", lambda x: x * np.tanh(np.log1p(np.exp(x)))),
        ("x^2", lambda x: x**2),
        ("x**3 - 2*x + pi", lambda x: x**3 - 2 * x + math.pi),
        ("sigmoid(x) * abs(x) / e", lambda x: sps.expit(x) * np.abs(x) / math.e),
        ("-x + 0.5", lambda x: 0.5 - x),
        ("3", lambda x: np.full_like(x, 3.0)),
    ],
)
def test_parser_accepts_safe_expressions(text, reference):
    t = get_target(text)
    assert t.name == "expression" and t.params == ()
    x = np.linspace(-3, 3, 61)
    y = t(x)
    assert y.shape == x.shape
    np.testing.assert_allclose(y, reference(x), rtol=1e-13, atol=1e-13)
    # the derivative comes from sympy and agrees with central differences
    h = 1e-6
    fd = (t(x + h) - t(x - h)) / (2 * h)
    smooth = np.abs(x) > 1e-3  # abs(x) has a kink at 0
    np.testing.assert_allclose(t.derivative(x)[smooth], fd[smooth], rtol=1e-6, atol=1e-6)


def test_caret_means_power():
    assert parse_expression("x^2") == X**2
    assert parse_expression("x^2") == parse_expression("x**2")


def test_expression_recorded_in_canonical_form():
    t = get_target("x*erf(x)")
    assert t.to_dict() == {"name": "expression", "params": {}, "expression": "x*erf(x)"}


def test_non_finite_target_fails_check_finite():
    t = get_target("log(x)")
    with pytest.raises(UsageError, match=r"`target` log\(x\) must be finite and continuous on the"):
        t.check_finite((-3.0, 3.0))
    t.check_finite((0.5, 3.0))  # finite there: no error
    with pytest.raises(UsageError, match="finite derivative"):
        get_target("sqrt(x)").check_finite((0.0, 1.0))
    for name in TARGET_NAMES:
        get_target(name).check_finite((-5.0, 5.0))


def test_pole_between_grid_points_is_found_analytically() -> None:
    """1/x on [-1/3, 23/6]: no grid point hits 0, sympy's continuous_domain does."""
    target = get_target("1/x")
    with pytest.raises(UsageError, match=r"not at x = 0\b"):
        target.check_finite((-1 / 3, 23 / 6))
    target.check_finite((0.5, 3.0))  # fine away from the pole
