"""Minimax fits (objective "max") and their certificates.

Known answers (the classical |x| value, published reference levels), a target
that is itself a form, validity of the lower bound against coefficient sets
found by other means, equioscillation, determinism, zero-centring, weights
and the CLI.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from opade_fit import fit
from opade_fit.forms import RationalForm
from opade_fit.minimax import minimax_weight
from opade_fit.result import measure_errors
from opade_fit.targets import get_target

#: Achieved max error within this relative distance of a reference optimum (issue 4: 0.5 %).
UPPER_RTOL = 5e-3
#: Lower bound within this relative distance of the reference optimum (issue 4: 2 %).
LOWER_RTOL = 2e-2
#: Best (4,4) rational approximation error of |x| on [-1, 1] (classical value).
ABS_X_44 = 8.5015e-3
#: Published rational_activations Leaky ReLU table, version A (= monomial/safe).
RA_LEAKY_NUM = [
    0.029792778657264946,
    0.6183735264987601,
    2.323309062531321,
    3.051936237265109,
    1.4854203263828845,
    0.2510244961111299,
]
RA_LEAKY_DEN = [-1.1419548357285474, 4.393159974992486, 0.8714712309957245, 0.34719662339598834]
DENSE = np.linspace(-3.0, 3.0, 100_001)


def _check_reference(result, reference: float, rounding: float = 0.0) -> None:
    """``rounding``: half a unit in the last published digit, relative."""
    cert = result.certificate
    assert result.success
    assert cert["lower_bound"] <= cert["upper_bound"]
    assert cert["upper_bound"] <= reference * (1 + UPPER_RTOL)
    assert cert["lower_bound"] >= reference * (1 - LOWER_RTOL)
    # a lower bound is never above the optimum
    assert cert["lower_bound"] <= reference * (1 + rounding)
    assert result.errors["fit"]["max_abs"] == cert["upper_bound"]
    assert cert["gap"] == pytest.approx(cert["upper_bound"] / cert["lower_bound"] - 1, rel=1e-9)


def test_relu_is_half_the_classical_abs_x_value():
    # relu = (x + |x|)/2: the (5,4) safe monomial minimax error is half that of |x| at (4,4)
    r = fit("relu", interval=(-1.0, 1.0), objective="max")
    _check_reference(r, ABS_X_44 / 2, 0.5e-4 / 8.5015)
    assert r.certificate["upper_bound"] == pytest.approx(4.2507e-3, rel=2e-4)


@pytest.mark.parametrize(
    ("target", "denominator", "reference", "rounding"),
    [
        ("leaky_relu", "safe", 1.2625e-2, 0.5e-4 / 1.2625),
        ("gelu", "safe", 1.27e-3, 0.5e-2 / 1.27),
        ("gelu", "safe-abs-sum", 4.43e-4, 0.5e-2 / 4.43),
    ],
)
def test_published_reference_values(target, denominator, reference, rounding):
    r = fit(target, denominator=denominator, objective="max")
    _check_reference(r, reference, rounding)


def test_target_that_is_a_form_is_recovered_with_a_finite_certificate():
    expr = (
        "(0.1 + x + 0.5*x**2 - 0.2*x**3 + 0.05*x**4 + 0.01*x**5)"
        "/(1 + 0.3*Abs(x) + 0.2*x**2 + 0.1*Abs(x)**3 + 0.05*x**4)"
    )
    r = fit(expr, objective="max")
    cert = r.certificate
    assert r.success
    assert cert["upper_bound"] < 1e-12
    assert 0.0 <= cert["lower_bound"] <= cert["upper_bound"]
    assert np.isfinite(cert["gap"]) and cert["gap"] < 1e-2
    np.testing.assert_allclose(r.numerator, [0.1, 1.0, 0.5, -0.2, 0.05, 0.01], atol=1e-10)
    np.testing.assert_allclose(np.abs(r.denominator), [0.3, 0.2, 0.1, 0.05], atol=1e-10)


def test_lower_bound_is_not_beaten_by_other_coefficient_sets():
    r = fit("leaky_relu", objective="max")
    lower = r.certificate["lower_bound"]
    form, target = RationalForm("monomial", "safe", (5, 4)), get_target("leaky_relu")

    def max_err(c, d):
        return measure_errors(form, target, c, d, (-3.0, 3.0))["max_abs"]

    # the published table (fitted by least squares) and our own least-squares fit
    assert max_err(RA_LEAKY_NUM, RA_LEAKY_DEN) == pytest.approx(2.98e-2, rel=2e-3)
    assert max_err(RA_LEAKY_NUM, RA_LEAKY_DEN) >= lower
    ls = fit("leaky_relu")
    assert ls.errors["fit"]["max_abs"] >= lower
    # random perturbations of the minimax solution, at several scales
    rng = np.random.default_rng(20240521)
    c0, d0 = np.array(r.numerator), np.array(r.denominator)
    for scale in (1e-6, 1e-4, 1e-2):
        for _ in range(20):
            c = c0 * (1 + scale * rng.standard_normal(c0.size)) + scale * rng.standard_normal(
                c0.size
            )
            d = d0 * (1 + scale * rng.standard_normal(d0.size)) + scale * rng.standard_normal(
                d0.size
            )
            assert max_err(c, d) >= lower


def test_error_equioscillates():
    r = fit("gelu", objective="max")
    e = r.evaluate(DENSE) - r.target(DENSE)
    level = np.max(np.abs(e))
    a = np.abs(e)
    peak = np.zeros(a.size, dtype=bool)
    peak[1:-1] = (a[1:-1] >= a[:-2]) & (a[1:-1] >= a[2:])
    peak[[0, -1]] = True
    idx = np.nonzero(peak & (a >= (1 - 1e-3) * level))[0]
    signs = np.sign(e[idx])
    alternations = 1 + int(np.sum(signs[1:] != signs[:-1]))
    # 10 coefficients; gelu's even part makes the best error alternate at 9 points
    assert alternations >= 9


def test_deterministic():
    a = fit("swish", basis="hermite1", objective="max").to_dict()
    b = fit("swish", basis="hermite1", objective="max").to_dict()
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_plain_is_pole_free_and_certified():
    r = fit("gelu", denominator="plain", objective="max")
    assert r.success
    rec = r.to_dict()
    assert rec["poles_in_check"] == []  # every root of Q (rec["poles"]) is beyond [-5, 5]
    assert all(abs(p) > 5 for p in rec["poles"])
    cert = r.certificate
    assert cert["gap"] < 1e-2
    assert "Q >=" in cert["scope"]


def test_safe_abs_sum_scope_names_the_patterns():
    r = fit("gelu", denominator="safe-abs-sum", objective="max")
    assert "sign patterns searched" in r.certificate["scope"]
    assert "B>=0" in r.certificate["scope"]


@pytest.mark.parametrize("center", ["general", "drop-one"])
def test_centred_minimax(center):
    r = fit("leaky_relu", basis="hermite1", center=center, objective="max")
    c = np.array(r.numerator)
    assert abs(r.evaluate(np.array([0.0]))[0]) < 1e-12
    assert abs(c[0] - c[2] + 3 * c[4]) < 1e-12
    free = fit("leaky_relu", basis="hermite1", objective="max")
    # centring can only cost: its optimum is at least the free certified lower bound
    assert r.certificate["upper_bound"] >= free.certificate["lower_bound"]
    assert r.certificate["gap"] < 1e-2


def test_all_zero_laguerre_is_g_equals_zero():
    r = fit("leaky_relu", basis="laguerre", center="all-zero", objective="max")
    assert r.success
    assert r.numerator == (0.0,) * 6
    cert = r.certificate
    assert cert["lower_bound"] == cert["upper_bound"] == pytest.approx(3.0)
    assert cert["gap"] == 0.0


def test_normal_weight_certifies_the_weighted_error():
    r = fit("gelu", objective="max", weight="normal")
    e = np.abs(r.evaluate(DENSE) - r.target(DENSE)) * minimax_weight("normal", DENSE)
    cert = r.certificate
    assert cert["upper_bound"] == pytest.approx(float(e.max()), rel=1e-12)
    assert "weighted" in cert["scope"]
    # max_abs stays the plain (unweighted) max error
    assert r.errors["fit"]["max_abs"] >= cert["upper_bound"]
    assert minimax_weight("normal:2", np.array([0.0, 2.0])) == pytest.approx([1.0, np.exp(-0.5)])


def test_cli_objective_max():
    from typer.testing import CliRunner

    from opade_fit.cli import app

    runner = CliRunner()
    args = ["fit", "--basis", "monomial", "--target", "leaky_relu", "--objective", "max"]
    res = runner.invoke(app, [*args, "--json"])
    if res.exit_code == 2 and "No such command" in res.output:
        pytest.skip("`opade fit` has not landed in opade_fit/cli yet")
    assert res.exit_code == 0, res.output
    rec = json.loads(res.stdout)
    assert rec["objective"] == "max"
    assert rec["certificate"]["upper_bound"] == pytest.approx(1.2625e-2, rel=UPPER_RTOL)
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "certificate" in res.stdout
