"""`fit()`: the API, the schema-1.0 record, determinism, known answers and fit quality.

Layers (STYLE.md §8): the record's shape and meaning; known answers (a target
that is itself a rational form of the same degrees is recovered to rounding;
the best-achievable RMS table of issue 3); properties (never NaN/inf, no pole
in the fit interval for ``plain``); and independent oracles for the stored
errors (numpy.polynomial and scipy, on grids the library does not use).
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import scipy.integrate
import scipy.special
import sympy as sp
from numpy.polynomial import hermite_e as He
from numpy.polynomial import polynomial as Pm
from typer.testing import CliRunner

from opade_fit import FitResult, UsageError, fit
from opade_fit._version import __version__
from opade_fit.bases import BASIS_NAMES, get_basis
from opade_fit.cli import app
from opade_fit.forms import RationalForm
from opade_fit.record import dumps
from opade_fit.targets import TARGET_NAMES

#: a fitted exact rational target: RMS of g_fit - g_true on a dense grid
RECOVERY_RMS = 1e-10
#: issue 3: every fit within 1 % of the best achievable RMS
BEST_RMS_RTOL = 0.01
#: stored max_abs is the true maximum "to 3 significant digits"
MAX_ABS_RTOL = 1e-3
#: stored RMS vs the same 4,001-point uniform-grid RMS evaluated independently
RMS_RTOL = 1e-10
#: stored RMS vs the integral RMS over the interval: the 4,001-point mean weights the
#: end points (where the check-interval error peaks) like interior points, an O(1e-3) bias
RMS_INTEGRAL_RTOL = 5e-3
#: evaluation of a record rebuilt from JSON vs the in-memory result (exact)
ROUND_TRIP_ATOL = 0.0

SCHEMA_KEYS = {
    "schema_version",
    "form",
    "target",
    "interval",
    "objective",
    "coefficients",
    "errors",
    "solver",
    "grid",
    "poles",
    "poles_in_check",
    "tool",
}


@pytest.fixture(scope="module")
def hp1() -> FitResult:
    """The README's main job: HP-1 (hermite1/safe, 5/4) fitted to Leaky ReLU on [-3, 3]."""
    return fit("leaky_relu", basis="hermite1")


def _is_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _walk_numbers(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _walk_numbers(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            yield from _walk_numbers(v)
    elif _is_number(obj):
        yield obj


# --------------------------------------------------------------------------------------
# API and record
# --------------------------------------------------------------------------------------
def test_record_has_every_schema_1_0_field_with_the_right_type(hp1):
    rec = hp1.to_dict()
    assert SCHEMA_KEYS <= set(rec)
    assert rec["schema_version"] == [1, 1]
    assert rec["form"] == {"basis": "hermite1", "denominator": "safe", "degrees": [5, 4]}
    assert rec["target"]["name"] == "leaky_relu"
    assert rec["target"]["params"] == {"negative_slope": 0.01}  # default included
    assert (
        isinstance(rec["target"]["expression"], str)
        and "negative_slope" in rec["target"]["expression"]
    )
    assert rec["interval"] == [-3.0, 3.0]
    assert all(isinstance(v, float) for v in rec["interval"])
    assert rec["objective"] == "l2"

    coef = rec["coefficients"]
    assert set(coef) == {"numerator", "denominator"}
    assert len(coef["numerator"]) == 6 and len(coef["denominator"]) == 4
    assert all(isinstance(v, float) and math.isfinite(v) for v in coef["numerator"])
    assert all(isinstance(v, float) and math.isfinite(v) for v in coef["denominator"])

    fit_err, check_err = rec["errors"]["fit"], rec["errors"]["check"]
    for block in (fit_err, check_err):
        for key in ("max_abs", "rms", "derivative_max_abs", "derivative_rms"):
            assert isinstance(block[key], float) and 0 <= block[key] < math.inf, key
        assert block["rms"] <= block["max_abs"]
    assert check_err["interval"] == [-5.0, 5.0]
    assert check_err["rms"] >= fit_err["rms"] * 0.5  # a wider interval, not a different fit

    solver = rec["solver"]
    assert isinstance(solver["success"], bool) and solver["success"]
    assert isinstance(solver["status"], int) and solver["status"] >= 1
    assert isinstance(solver["message"], str) and solver["message"]
    assert isinstance(solver["iterations"], int) and solver["iterations"] >= 0
    assert isinstance(solver["nfev"], int) and solver["nfev"] >= 1

    assert rec["grid"] == {"kind": "uniform", "points": 4001}
    assert rec["poles"] == []  # safe: Q >= 1
    assert rec["tool"] == {"name": "opade-fit", "version": __version__}


def test_record_is_plain_json(hp1):
    rec = hp1.to_dict()
    assert json.loads(dumps(rec)) == rec
    assert "time" not in dumps(rec).lower()  # no timestamps, no timings


def test_result_object_fields_match_the_record(hp1):
    rec = hp1.to_dict()
    assert hp1.success is True
    assert hp1.status == rec["solver"]["status"]
    assert hp1.message == rec["solver"]["message"]
    assert list(hp1.numerator) == rec["coefficients"]["numerator"]
    assert list(hp1.denominator) == rec["coefficients"]["denominator"]
    assert hp1.errors is rec["errors"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        hp1.success = False  # type: ignore[misc]


def test_to_dict_is_what_the_cli_prints_with_json(hp1):
    result = CliRunner().invoke(
        app, ["fit", "--basis", "hermite1", "--target", "leaky_relu", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == hp1.to_dict()
    assert result.stdout == dumps(hp1.to_dict())


def test_evaluate_uses_the_increasing_degree_convention(hp1):
    x = np.linspace(-4, 4, 101)
    c, d = np.array(hp1.numerator), np.array(hp1.denominator)
    P = He.hermeval(x, c)  # c_0 + c_1 He_1 + ... (increasing degree)
    Q = 1 + sum(abs(d[j - 1]) * np.abs(He.hermeval(x, np.eye(j + 1)[j])) for j in range(1, 5))
    np.testing.assert_allclose(hp1.evaluate(x), P / Q, rtol=1e-13, atol=1e-15)


def test_fit_is_deterministic_byte_for_byte():
    for kwargs in ({"basis": "hermite1"}, {"basis": "monomial", "denominator": "safe-abs-sum"}):
        first = dumps(fit("gelu", **kwargs).to_dict())
        second = dumps(fit("gelu", **kwargs).to_dict())
        assert first == second


def test_default_check_interval_is_the_fit_interval_scaled_by_5_3(hp1):
    assert hp1.errors["check"]["interval"] == [-5.0, 5.0]
    shifted = fit("relu", interval=(0.0, 3.0), degrees=(2, 1))
    a, b = shifted.errors["check"]["interval"]
    assert a == pytest.approx(-1.0, abs=1e-15) and b == pytest.approx(4.0, abs=1e-15)
    explicit = fit("relu", degrees=(2, 1), check_interval=(-7.0, 6.0))
    assert explicit.errors["check"]["interval"] == [-7.0, 6.0]


def test_from_dict_rebuilds_a_result_that_evaluates_identically(hp1):
    x = np.linspace(-6, 6, 1001)
    for result in (hp1, fit("x*erf(x)", basis="legendre", degrees=(4, 2))):
        back = FitResult.from_dict(json.loads(dumps(result.to_dict())))
        np.testing.assert_allclose(
            back.evaluate(x), result.evaluate(x), rtol=0, atol=ROUND_TRIP_ATOL
        )
        np.testing.assert_allclose(
            back.derivative(x), result.derivative(x), rtol=0, atol=ROUND_TRIP_ATOL
        )
        assert back.form == result.form
        assert back.target.to_dict() == result.target.to_dict()


def test_from_dict_rejects_another_major_schema(hp1):
    rec = json.loads(dumps(hp1.to_dict()))
    rec["schema_version"] = [2, 0]
    with pytest.raises(UsageError, match="schema_version"):
        FitResult.from_dict(rec)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"interval": (3.0, -3.0)}, "`interval`"),
        ({"interval": (-math.inf, 3.0)}, "`interval`"),
        ({"degrees": "5-4"}, "`degrees`"),
        ({"degrees": (5, -1)}, "`degrees`"),
        ({"points": 9}, "`points`"),
        ({"objective": "l3"}, "`objective`"),
        ({"basis": "hermit1"}, "hermite1"),
        ({"denominator": "save"}, "`denominator`"),
        ({"params": {"slope": 0.2}}, "slope"),
    ],
)
def test_bad_arguments_raise_usage_error_naming_the_argument(kwargs, match):
    with pytest.raises(UsageError, match=match):
        fit("leaky_relu", **kwargs)


def test_target_not_finite_on_the_interval_is_a_usage_error():
    with pytest.raises(UsageError, match="finite"):
        fit("log(x)")
    with pytest.raises(UsageError, match="finite"):
        fit("log(x)", interval=(0.5, 3.0))  # fine on [0.5, 3], not on its check interval


# --------------------------------------------------------------------------------------
# known answers: an exact rational target is recovered
# --------------------------------------------------------------------------------------
#: coefficients of the exact targets (increasing degree); signs mixed on purpose
TRUE_C = (0.02, 0.5, 0.3, -0.1, 0.02, 0.003)
TRUE_D = (0.4, -0.3, 0.05, 0.01)


def _expression(basis: str, denominator: str, c, d) -> str:
    """g = P/Q as an expression string in x, the basis polynomials expanded exactly."""
    polys = [sp.sstr(sp.expand(p)) for p in get_basis(basis).sympy_polys(max(len(c) - 1, len(d)))]
    num = " + ".join(f"({ci!r})*({polys[i]})" for i, ci in enumerate(c))
    if denominator == "safe":
        den = "1 + " + " + ".join(f"Abs({dj!r})*Abs({polys[j]})" for j, dj in enumerate(d, start=1))
    else:
        inner = " + ".join(f"({dj!r})*({polys[j]})" for j, dj in enumerate(d, start=1))
        den = f"1 + Abs({inner})" if denominator == "safe-abs-sum" else f"1 + {inner}"
    return f"({num})/({den})"


def _recovery_rms(basis: str, denominator: str, c, d) -> float:
    result = fit(_expression(basis, denominator, c, d), basis=basis, denominator=denominator)
    x = np.linspace(-3, 3, 20_011)  # not the fitting grid
    truth = RationalForm(basis, denominator, (5, 4)).evaluate(x, c, d)
    assert result.success
    return float(np.sqrt(np.mean((result.evaluate(x) - truth) ** 2)))


@pytest.mark.parametrize("basis", BASIS_NAMES)
def test_exact_safe_pade_target_is_recovered(basis):
    assert _recovery_rms(basis, "safe", TRUE_C, TRUE_D) < RECOVERY_RMS


@pytest.mark.parametrize("basis", ["monomial", "hermite1"])
@pytest.mark.parametrize("denominator", ["safe-abs-sum", "plain"])
def test_exact_target_is_recovered_for_the_other_denominators(basis, denominator):
    # d all positive: B = sum d_j f_j keeps one sign pattern the fitter starts from,
    # and 1 + B has no root on [-3, 3] for these coefficients
    d = (0.4, 0.3, 0.05, 0.01)
    assert RationalForm(basis, "plain", (5, 4)).poles(np.array(d), (-3, 3)) == []
    assert _recovery_rms(basis, denominator, TRUE_C, d) < RECOVERY_RMS


def test_exact_safe_abs_sum_target_with_two_sign_changes_of_b_is_recovered():
    # B = sum d_j P_j changes sign twice (x ~ +-0.3): not one of the simple sign patterns
    d = (0.4, 0.3, 0.05, 0.01)
    x = np.linspace(-3, 3, 6001)
    B = RationalForm("legendre", "plain", (5, 4)).parts(x, np.zeros(6), d).B
    assert np.count_nonzero(np.diff(np.sign(B))) == 2
    assert _recovery_rms("legendre", "safe-abs-sum", TRUE_C, d) < RECOVERY_RMS


# --------------------------------------------------------------------------------------
# fit quality: the best-achievable RMS table of issue 3
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("basis", "denominator", "target", "best_rms"),
    [
        ("monomial", "safe", "leaky_relu", 5.032e-3),
        ("monomial", "safe", "gelu", 8.13e-4),
        ("monomial", "safe-abs-sum", "gelu", 3.01e-4),
        ("monomial", "safe-abs-sum", "elu", 3.55e-5),
        ("hermite1", "safe", "leaky_relu", 2.08e-2),
    ],
)
def test_best_achievable_rms_within_one_percent(basis, denominator, target, best_rms):
    rms = fit(target, basis=basis, denominator=denominator).errors["fit"]["rms"]
    assert rms <= best_rms * (1 + BEST_RMS_RTOL)
    # the reference is the best achievable (given to 3-4 digits): far below it means
    # the RMS is measured differently from the reference
    assert rms >= best_rms * (1 - BEST_RMS_RTOL)


def test_better_than_rational_activations_stored_gelu_table():
    # issue 3: rational_activations' stored GELU table has RMS 9.73e-4 on [-3, 3]
    assert fit("gelu").errors["fit"]["rms"] < 9.73e-4 * 0.9


# --------------------------------------------------------------------------------------
# properties: finite, pole-free, honest errors
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("target", [*TARGET_NAMES, "silu"])
def test_every_builtin_target_fits_finite(target):
    result = fit(target, basis="hermite1")
    rec = result.to_dict()
    assert all(math.isfinite(v) for v in _walk_numbers(rec))
    assert np.all(np.isfinite(result.evaluate(np.linspace(-5, 5, 2001))))
    assert result.success, rec["solver"]
    dumps(rec)  # refuses NaN/inf


@pytest.mark.parametrize("denominator", ["safe", "safe-abs-sum", "plain"])
@pytest.mark.parametrize("interval", [(-3.0, 3.0), (-5.0, 5.0)])
def test_each_denominator_fits_finite_on_both_intervals(denominator, interval):
    result = fit("swish", basis="chebyshev1", denominator=denominator, interval=interval)
    assert all(math.isfinite(v) for v in _walk_numbers(result.to_dict()))
    assert result.errors["fit"]["rms"] < 1e-2


def _monomial_roots_of_q(basis: str, d) -> np.ndarray:
    """Roots of Q = 1 + sum_j d_j f_j via sympy's exact expansion and numpy.roots."""
    x = sp.Symbol("x", real=True)
    polys = get_basis(basis).sympy_polys(len(d))
    q = sp.Poly(1 + sum(sp.Float(repr(float(dj))) * polys[j] for j, dj in enumerate(d, start=1)), x)
    return np.roots([float(v) for v in q.all_coeffs()])


@pytest.mark.parametrize(
    ("basis", "target"),
    [
        ("monomial", "leaky_relu"),
        ("hermite1", "gelu"),
        ("legendre", "tanh"),
        ("laguerre", "swish"),
        ("chebyshev2", "elu"),
    ],
)
def test_plain_fits_have_no_pole_in_the_fit_interval(basis, target):
    result = fit(target, basis=basis, denominator="plain")
    d = np.array(result.denominator)
    assert result.form.poles(d, (-3.0, 3.0)) == []
    roots = _monomial_roots_of_q(basis, d)
    real = roots[np.abs(roots.imag) <= 1e-9 * np.maximum(1, np.abs(roots))].real
    assert not np.any((real >= -3) & (real <= 3)), real
    # the record lists every real root, and those on the check interval, analytically
    rec = result.to_dict()
    np.testing.assert_allclose(rec["poles"], sorted(real), rtol=1e-8, atol=1e-10)
    expected = sorted(r for r in real if -5 <= r <= 5)
    np.testing.assert_allclose(rec["poles_in_check"], expected, rtol=1e-8, atol=1e-10)


def _leaky(x, s=0.01):
    return np.where(x >= 0, x, s * x)


def _gelu(x):
    return 0.5 * x * (1 + scipy.special.erf(x / np.sqrt(2)))


def _independent_errors(g, f, interval):
    """(max on 200,003 points, RMS on 4,001 points, RMS as the integral over the interval)."""
    a, b = interval
    x = np.linspace(a, b, 200_003)  # denser than and different from the library's grid
    max_abs = float(np.max(np.abs(g(x) - f(x))))
    x = np.linspace(a, b, 4001)
    grid_rms = float(np.sqrt(np.mean((g(x) - f(x)) ** 2)))
    kinks = [0.0] if a < 0 < b else None
    sq = scipy.integrate.quad(
        lambda t: float((g(np.array([t]))[0] - f(np.array([t]))[0]) ** 2),
        a,
        b,
        points=kinks,
        limit=400,
        epsabs=0,
        epsrel=1e-10,
    )[0]
    return max_abs, grid_rms, math.sqrt(sq / (b - a))


def test_stored_errors_agree_with_numpy_polynomial_hermite_e(hp1):
    c, d = np.array(hp1.numerator), np.array(hp1.denominator)

    def g(x):
        q = 1 + sum(abs(d[j - 1]) * np.abs(He.hermeval(x, np.eye(j + 1)[j])) for j in range(1, 5))
        return He.hermeval(x, c) / q

    for key, interval in (("fit", (-3, 3)), ("check", (-5, 5))):
        max_abs, grid_rms, rms = _independent_errors(g, _leaky, interval)
        stored = hp1.errors[key]
        assert stored["max_abs"] == pytest.approx(max_abs, rel=MAX_ABS_RTOL)
        assert stored["rms"] == pytest.approx(grid_rms, rel=RMS_RTOL)
        assert stored["rms"] == pytest.approx(rms, rel=RMS_INTEGRAL_RTOL)


def test_stored_errors_agree_with_numpy_polynomial_for_safe_abs_sum_gelu():
    result = fit("gelu", denominator="safe-abs-sum")
    c, d = np.array(result.numerator), np.array(result.denominator)

    def g(x):
        return Pm.polyval(x, c) / (1 + np.abs(Pm.polyval(x, np.r_[0.0, d])))

    def dg(x):
        p, q = Pm.polyval(x, c), 1 + np.abs(Pm.polyval(x, np.r_[0.0, d]))
        dq = np.sign(Pm.polyval(x, np.r_[0.0, d])) * Pm.polyval(x, Pm.polyder(np.r_[0.0, d]))
        return Pm.polyval(x, Pm.polyder(c)) / q - p * dq / q**2

    def dgelu(x):
        return 0.5 * (1 + scipy.special.erf(x / np.sqrt(2))) + x * np.exp(-(x**2) / 2) / np.sqrt(
            2 * np.pi
        )

    for key, interval in (("fit", (-3, 3)), ("check", (-5, 5))):
        max_abs, grid_rms, rms = _independent_errors(g, _gelu, interval)
        stored = result.errors[key]
        assert stored["max_abs"] == pytest.approx(max_abs, rel=MAX_ABS_RTOL)
        assert stored["rms"] == pytest.approx(grid_rms, rel=RMS_RTOL)
        assert stored["rms"] == pytest.approx(rms, rel=RMS_INTEGRAL_RTOL)
        x = np.linspace(*interval, 200_003)
        assert stored["derivative_max_abs"] == pytest.approx(
            np.max(np.abs(dg(x) - dgelu(x))), rel=MAX_ABS_RTOL
        )
