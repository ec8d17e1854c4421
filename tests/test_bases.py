"""Bases (docs/spec.md §2): the recurrence against three independent oracles, and properties.

Oracles: sympy's named polynomials (exact layer), ``scipy.special.eval_*`` and
``numpy.polynomial`` (numeric layer). Properties: orthogonality under each
family's weight by Gauss quadrature, parity, derivative identities, f_i(0).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import numpy.polynomial as npp
import pytest
import scipy.special as sps
import sympy as sp
from basis_oracle import SCIPY_ORACLE
from hypothesis import given
from hypothesis import strategies as st

from opade_fit.bases import BASES, BASIS_NAMES, get_basis
from opade_fit.errors import UsageError

MAX_DEGREE = 12
EPS = np.finfo(np.float64).eps
#: numeric layer vs float oracles, relative to the largest |f_n| on the grid
NUMERIC_TOL = 200 * EPS
#: Gram matrix by quadrature vs the exact norms, relative to sqrt(h_i h_j)
ORTHO_TOL = 1000 * EPS
#: derivative identities evaluated in float64, relative to the largest term
IDENTITY_TOL = 500 * EPS

X = sp.Symbol("x", real=True)
GRID = np.linspace(-5.0, 5.0, 201)
#: exactly representable points, for exact rational evaluation of the oracles
EXACT_POINTS = [Fraction(k, 8) for k in range(-40, 41, 3)]

SYMPY_ORACLE = {
    "monomial": lambda n: X**n,
    "chebyshev1": lambda n: sp.chebyshevt_poly(n, X),
    "chebyshev2": lambda n: sp.chebyshevu_poly(n, X),
    "hermite1": lambda n: sp.hermite_prob_poly(n, X),
    "hermite2": lambda n: sp.hermite_poly(n, X),
    "laguerre": lambda n: sp.laguerre_poly(n, X),
    "legendre": lambda n: sp.legendre_poly(n, X),
}


def _unit(n: int) -> np.ndarray:
    e = np.zeros(n + 1)
    e[n] = 1.0
    return e


def _cheb_u(x: np.ndarray, n: int) -> np.ndarray:
    # numpy has no U_n; use T_{n+1}' = (n + 1) U_n through chebder
    return npp.chebyshev.chebval(x, npp.chebyshev.chebder(_unit(n + 1))) / (n + 1)


NUMPY_ORACLE = {
    "monomial": lambda x, n: npp.polynomial.polyval(x, _unit(n)),
    "chebyshev1": lambda x, n: npp.chebyshev.chebval(x, _unit(n)),
    "chebyshev2": _cheb_u,
    "hermite1": lambda x, n: npp.hermite_e.hermeval(x, _unit(n)),
    "hermite2": lambda x, n: npp.hermite.hermval(x, _unit(n)),
    "laguerre": lambda x, n: npp.laguerre.lagval(x, _unit(n)),
    "legendre": lambda x, n: npp.legendre.legval(x, _unit(n)),
}

#: f_0(0), ..., f_5(0) from the docs/spec.md §2 table
SPEC_VALUES_AT_ZERO = {
    "monomial": (1, 0, 0, 0, 0, 0),
    "chebyshev1": (1, 0, -1, 0, 1, 0),
    "chebyshev2": (1, 0, -1, 0, 1, 0),
    "hermite1": (1, 0, -1, 0, 3, 0),
    "hermite2": (1, 0, -2, 0, 12, 0),
    "laguerre": (1, 1, 1, 1, 1, 1),
    "legendre": (1, 0, Fraction(-1, 2), 0, Fraction(3, 8), 0),
}

SYMMETRIC = [b for b in BASIS_NAMES if b != "laguerre"]


def _exact_eval(expr: sp.Expr, points: list[Fraction]) -> np.ndarray:
    """Evaluate a polynomial exactly at rational points, then round once to float."""
    poly = sp.Poly(expr, X)
    return np.array([float(poly.eval(sp.Rational(p.numerator, p.denominator))) for p in points])


def _assert_close_scaled(actual: np.ndarray, expected: np.ndarray, tol: float) -> None:
    scale = max(1.0, float(np.max(np.abs(expected))))
    err = float(np.max(np.abs(actual - expected)))
    assert err <= tol * scale, f"max error {err:.3e} > {tol:.1e} * {scale:.3e}"


@pytest.fixture(params=BASIS_NAMES)
def basis(request):
    return get_basis(request.param)


def test_seven_bases_in_spec_order():
    assert BASIS_NAMES == (
        "monomial",
        "chebyshev1",
        "chebyshev2",
        "hermite1",
        "hermite2",
        "laguerre",
        "legendre",
    )


# ----------------------------------------------------------------------------- oracles
def test_exact_polys_equal_sympy_named_polys(basis):
    polys = basis.sympy_polys(MAX_DEGREE)
    assert len(polys) == MAX_DEGREE + 1
    for n, p in enumerate(polys):
        assert sp.expand(p - SYMPY_ORACLE[basis.name](n)) == 0, (basis.name, n, p)
        # rational coefficients, no floats anywhere in the exact layer
        assert all(c.is_Rational for c in sp.Poly(p, X).all_coeffs())


def test_numeric_values_equal_scipy_special(basis):
    F, _ = basis.evaluate(GRID, MAX_DEGREE)
    assert F.shape == (MAX_DEGREE + 1, GRID.size)
    for n in range(MAX_DEGREE + 1):
        _assert_close_scaled(F[n], SCIPY_ORACLE[basis.name](n, GRID), NUMERIC_TOL)


def test_numeric_values_equal_numpy_polynomial(basis):
    F, _ = basis.evaluate(GRID, MAX_DEGREE)
    for n in range(MAX_DEGREE + 1):
        _assert_close_scaled(F[n], NUMPY_ORACLE[basis.name](GRID, n), NUMERIC_TOL)


def test_numeric_values_and_derivatives_equal_exact_sympy(basis):
    x = np.array([float(p) for p in EXACT_POINTS])
    F, dF = basis.evaluate(x, MAX_DEGREE)
    for n in range(MAX_DEGREE + 1):
        p = SYMPY_ORACLE[basis.name](n)
        _assert_close_scaled(F[n], _exact_eval(p, EXACT_POINTS), NUMERIC_TOL)
        _assert_close_scaled(dF[n], _exact_eval(sp.diff(p, X), EXACT_POINTS), NUMERIC_TOL)


def test_evaluate_keeps_the_shape_of_x(basis):
    x = np.linspace(-1, 1, 12).reshape(3, 4)
    F, dF = basis.evaluate(x, 3)
    assert F.shape == dF.shape == (4, 3, 4)
    F_flat, _ = basis.evaluate(x.ravel(), 3)
    np.testing.assert_array_equal(F.reshape(4, -1), F_flat)


# ----------------------------------------------------------------------------- orthogonality
def _quadrature(name: str, n_nodes: int):
    """Nodes, weights and exact squared norms h_n of the family's weight."""
    if name == "chebyshev1":  # 1/sqrt(1 - x^2) on [-1, 1]
        x, w = npp.chebyshev.chebgauss(n_nodes)
        return x, w, lambda n: math.pi if n == 0 else math.pi / 2
    if name == "chebyshev2":  # sqrt(1 - x^2) on [-1, 1]
        x, w = sps.roots_chebyu(n_nodes)
        return x, w, lambda n: math.pi / 2
    if name == "hermite1":  # exp(-x^2/2)
        x, w = npp.hermite_e.hermegauss(n_nodes)
        return x, w, lambda n: math.sqrt(2 * math.pi) * math.factorial(n)
    if name == "hermite2":  # exp(-x^2)
        x, w = npp.hermite.hermgauss(n_nodes)
        return x, w, lambda n: math.sqrt(math.pi) * 2.0**n * math.factorial(n)
    if name == "laguerre":  # exp(-x) on [0, inf)
        x, w = npp.laguerre.laggauss(n_nodes)
        return x, w, lambda n: 1.0
    if name == "legendre":  # 1 on [-1, 1]
        x, w = npp.legendre.leggauss(n_nodes)
        return x, w, lambda n: 2.0 / (2 * n + 1)
    raise AssertionError(name)


@pytest.mark.parametrize("name", [b for b in BASIS_NAMES if b != "monomial"])
def test_orthogonality_by_gauss_quadrature(name):
    # an N-point Gauss rule is exact up to degree 2N - 1 >= 2 * MAX_DEGREE
    x, w, norm = _quadrature(name, MAX_DEGREE + 2)
    F, _ = get_basis(name).evaluate(x, MAX_DEGREE)
    gram = (F * w) @ F.T
    h = np.array([norm(n) for n in range(MAX_DEGREE + 1)])
    scale = np.sqrt(np.outer(h, h))
    np.testing.assert_array_less(np.abs(gram - np.diag(h)) / scale, ORTHO_TOL)


def test_monomial_gram_matrix_is_the_moment_matrix():
    # the monomials are not orthogonal: their Gram matrix on [-1, 1] is the
    # moment matrix 2/(i + j + 1) for even i + j, 0 otherwise
    x, w = npp.legendre.leggauss(MAX_DEGREE + 2)
    F, _ = get_basis("monomial").evaluate(x, MAX_DEGREE)
    i, j = np.indices((MAX_DEGREE + 1, MAX_DEGREE + 1))
    moments = np.where((i + j) % 2 == 0, 2.0 / (i + j + 1), 0.0)
    np.testing.assert_allclose((F * w) @ F.T, moments, rtol=0, atol=ORTHO_TOL)


@pytest.mark.parametrize("name", [b for b in BASIS_NAMES if b != "monomial"])
def test_roots_of_f_n_are_the_gauss_nodes(name):
    n = 7
    nodes, _, _ = _quadrature(name, n)
    roots = get_basis(name).roots(_unit(n))
    assert np.max(np.abs(roots.imag)) < 1e-9
    np.testing.assert_allclose(np.sort(roots.real), np.sort(nodes), rtol=1e-9, atol=1e-9)


# ----------------------------------------------------------------------------- parity
@pytest.mark.parametrize("name", SYMMETRIC)
@given(x=st.lists(st.floats(-20, 20), min_size=1, max_size=20))
def test_parity_of_symmetric_families(name, x):
    x = np.array(x)
    F, dF = get_basis(name).evaluate(x, MAX_DEGREE)
    Fm, dFm = get_basis(name).evaluate(-x, MAX_DEGREE)
    sign = (-1.0) ** np.arange(MAX_DEGREE + 1)[:, None]
    # b_n = 0 for these families, so the recurrence is exactly odd/even in float64
    np.testing.assert_array_equal(Fm, sign * F)
    np.testing.assert_array_equal(dFm, -sign * dF)


def test_laguerre_is_not_symmetric():
    F, _ = get_basis("laguerre").evaluate(np.array([-1.0, 1.0]), 1)
    assert F[1, 0] == 2.0 and F[1, 1] == 0.0


# ----------------------------------------------------------------------------- derivatives
def _identity_residuals(name: str, x, F, dF, n: int):
    """(lhs, rhs) of the family's derivative identity for f_n, n >= 1."""
    if name == "monomial":
        return dF[n], n * F[n - 1]
    if name == "hermite1":  # He_n' = n He_{n-1}
        return dF[n], n * F[n - 1]
    if name == "hermite2":  # H_n' = 2n H_{n-1}
        return dF[n], 2 * n * F[n - 1]
    if name == "chebyshev1":  # T_n' = n U_{n-1}
        return dF[n], n * get_basis("chebyshev2").evaluate(x, n - 1)[0][n - 1]
    if name == "chebyshev2":  # (x^2 - 1) U_n' = n x U_n - (n + 1) U_{n-1}
        return (x**2 - 1) * dF[n], n * x * F[n] - (n + 1) * F[n - 1]
    if name == "legendre":  # (x^2 - 1) P_n' = n (x P_n - P_{n-1})
        return (x**2 - 1) * dF[n], n * (x * F[n] - F[n - 1])
    if name == "laguerre":  # x L_n' = n (L_n - L_{n-1})
        return x * dF[n], n * (F[n] - F[n - 1])
    raise AssertionError(name)


def test_numeric_derivative_identities(basis):
    x = np.linspace(-3.0, 3.0, 61)
    F, dF = basis.evaluate(x, MAX_DEGREE)
    np.testing.assert_array_equal(dF[0], 0.0)
    for n in range(1, MAX_DEGREE + 1):
        lhs, rhs = _identity_residuals(basis.name, x, F, dF, n)
        _assert_close_scaled(lhs, rhs, IDENTITY_TOL)


def test_exact_derivative_identities(basis):
    polys = basis.sympy_polys(MAX_DEGREE)
    other = get_basis("chebyshev2").sympy_polys(MAX_DEGREE)
    for n in range(1, MAX_DEGREE + 1):
        d = sp.diff(polys[n], X)
        expected = {
            "monomial": n * polys[n - 1],
            "hermite1": n * polys[n - 1],
            "hermite2": 2 * n * polys[n - 1],
            "chebyshev1": n * other[n - 1],
            "chebyshev2": (n * X * polys[n] - (n + 1) * polys[n - 1]) / (X**2 - 1),
            "legendre": n * (X * polys[n] - polys[n - 1]) / (X**2 - 1),
            "laguerre": n * (polys[n] - polys[n - 1]) / X,
        }[basis.name]
        assert sp.cancel(d - expected) == 0, (basis.name, n)


# ----------------------------------------------------------------------------- f_i(0)
def test_values_at_zero_match_spec_table(basis):
    expected = SPEC_VALUES_AT_ZERO[basis.name]
    exact = basis.values_at_zero(5)
    assert [Fraction(int(v.p), int(v.q)) for v in exact] == [Fraction(v) for v in expected]
    F, _ = basis.evaluate(np.array([0.0]), 5)
    np.testing.assert_array_equal(F[:, 0], [float(v) for v in expected])


def test_monomial_matrix_rows_are_the_exact_polynomials(basis):
    M = basis.monomial_matrix(6)
    for n, row in enumerate(M):
        assert len(row) == 7
        assert sp.expand(sum(c * X**j for j, c in enumerate(row)) - basis.sympy_poly(n)) == 0


# ----------------------------------------------------------------------------- lookup
def test_get_basis_is_case_insensitive_and_idempotent():
    b = get_basis(" Hermite1 ")
    assert b is BASES["hermite1"]
    assert get_basis(b) is b


def test_unknown_basis_suggests_closest_name():
    with pytest.raises(UsageError, match=r"`basis` must be one of .*did you mean 'legendre'"):
        get_basis("legendr")


@pytest.mark.parametrize("n", [-1, 1.5, True])
def test_negative_or_non_integer_degree_is_rejected(n):
    with pytest.raises(UsageError, match=r"`n` must be an integer >= 0"):
        get_basis("hermite1").evaluate(np.zeros(3), n)


@pytest.mark.parametrize("n", [-1, 2.5])
def test_exact_layer_rejects_bad_degree(n):
    with pytest.raises(UsageError, match=r"`n` must be an integer >= 0"):
        get_basis("legendre").sympy_polys(n)


# -- derivative_factors: f_i' = kappa_i f_{i-1} ------------------------------------------------
@pytest.mark.parametrize("basis", BASIS_NAMES)
def test_derivative_factors_equal_the_exact_derivatives(basis):
    """kappa_i exactly where sympy finds f_i' = kappa_i f_{i-1} for all i <= 12, else None."""
    from opade_fit.bases import derivative_factors

    polys = get_basis(basis).sympy_polys(12)
    (x,) = polys[1].free_symbols
    ratios = [sp.cancel(sp.diff(polys[i], x) / polys[i - 1]) for i in range(1, 13)]
    appell = all(r.is_number for r in ratios)
    got = derivative_factors(get_basis(basis).recurrence_table(12))
    if appell:
        assert got == tuple(float(r) for r in ratios)
    else:
        assert got is None
    assert (got is not None) == (basis in ("monomial", "hermite1", "hermite2"))
    assert derivative_factors(()) == ()
