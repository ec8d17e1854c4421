"""Rational forms (docs/spec.md §3): g, dg/dx and the Jacobian against sympy and finite differences.

Every basis x denominator is checked at several degrees against the
lambdified symbolic derivation (:meth:`SymbolicForm.lambdify`) and against
central finite differences at points away from kinks (no f_j(x) = 0, no
B(x) = 0, no d_j = 0) and away from poles. Hypothesis checks Q >= 1 for the
safe denominators, parity, and the analytic pole check.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given
from hypothesis import strategies as st

from opade_fit.bases import BASIS_NAMES, basis_values, get_basis, series
from opade_fit.denominators import get_denominator
from opade_fit.errors import UsageError
from opade_fit.forms import DENOMINATORS, RationalForm, parse_degrees

DEGREES = [(5, 4), (3, 2), (0, 0), (2, 5)]
EPS = np.finfo(np.float64).eps
#: numeric vs lambdified symbolic, relative to max(1, largest value)
SYMBOLIC_TOL = 1e6 * EPS
#: central finite differences (step FD_STEP) vs analytic, relative to max(1, largest value)
FD_STEP = 1e-6
FD_TOL = 1e-6
#: points closer than this to a kink (|f_j| or |B| small) or with |Q| below POLE_MARGIN are skipped
KINK_MARGIN = 1e-2
POLE_MARGIN = 0.2
SYMMETRIC = [b for b in BASIS_NAMES if b != "laguerre"]

CASES = list(itertools.product(BASIS_NAMES, DENOMINATORS, DEGREES))
CASE_IDS = [f"{b}-{den}-{kl[0]}/{kl[1]}" for b, den, kl in CASES]


def _coefficients(form: RationalForm, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic coefficients with every |d_j| in [0.2, 1.5] (away from the d_j = 0 kink)."""
    rng = np.random.default_rng(seed)
    c = rng.normal(size=form.k + 1)
    d = rng.choice([-1.0, 1.0], size=form.l) * rng.uniform(0.2, 1.5, size=form.l)
    return c, d


def _smooth_points(form: RationalForm, c, d, seed: int, m: int = 24) -> np.ndarray:
    """Points in [-2.5, 2.5] where g is smooth: away from kinks and poles."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-2.5, 2.5, 400))
    F, _ = form.basis_values(x)
    p = form.parts(x, c, d)
    ok = np.all(np.abs(F[1 : form.l + 1]) > KINK_MARGIN, axis=0)
    ok &= np.abs(p.Q) > POLE_MARGIN
    if form.denominator == "safe-abs-sum" and form.l > 0:
        ok &= np.abs(p.B) > KINK_MARGIN
    x = x[ok]
    assert x.size >= m, f"only {x.size} smooth points for {form.label()}"
    return x[:: max(1, x.size // m)][:m]


def _assert_close(actual, expected, tol, what):
    # lambdified constants (e.g. dg/dc0 = 1 for l = 0) come back as scalars
    expected = np.broadcast_to(np.asarray(expected, dtype=float), np.shape(actual))
    scale = max(1.0, float(np.max(np.abs(expected))))
    err = float(np.max(np.abs(actual - expected)))
    assert err <= tol * scale, f"{what}: error {err:.3e} > {tol:.1e} * {scale:.3e}"


@pytest.mark.parametrize(("basis", "denominator", "degrees"), CASES, ids=CASE_IDS)
def test_numeric_equals_symbolic_and_finite_differences(basis, denominator, degrees):
    form = RationalForm(basis, denominator, degrees)
    seed = CASES.index((basis, denominator, degrees))
    c, d = _coefficients(form, seed)
    x = _smooth_points(form, c, d, seed)
    theta = np.concatenate([c, d])

    g = form.evaluate(x, c, d)
    dg = form.derivative(x, c, d)
    J = form.jacobian(x, c, d)
    assert J.shape == (x.size, form.n_coefficients)

    # 1. against the lambdified symbolic derivation
    sym = form.symbolic().lambdify()
    _assert_close(g, sym["g(x)"](x, c, d), SYMBOLIC_TOL, "g")
    _assert_close(dg, sym["dg/dx"](x, c, d), SYMBOLIC_TOL, "dg/dx")
    names = [f"dg/dc{i}" for i in range(form.k + 1)] + [f"dg/dd{j}" for j in range(1, form.l + 1)]
    for col, name in enumerate(names):
        _assert_close(J[:, col], sym[name](x, c, d), SYMBOLIC_TOL, name)

    # 2. against central finite differences
    fd_x = (form.evaluate(x + FD_STEP, c, d) - form.evaluate(x - FD_STEP, c, d)) / (2 * FD_STEP)
    _assert_close(dg, fd_x, FD_TOL, "dg/dx vs finite differences")
    for col, name in enumerate(names):
        step = np.zeros_like(theta)
        step[col] = FD_STEP
        up = form.evaluate(x, *form.split(theta + step))
        down = form.evaluate(x, *form.split(theta - step))
        _assert_close(
            J[:, col], (up - down) / (2 * FD_STEP), FD_TOL, f"{name} vs finite differences"
        )


def _exactly_zero(expr: sp.Expr, symbols, seed: int, trials: int = 4) -> bool:
    """``expr`` vanishes exactly at random rational points (Abs and sign evaluate exactly)."""
    rng = np.random.default_rng(seed)
    for _ in range(trials):
        values = {
            s: sp.Rational(int(rng.integers(-40, 41)) or 1, int(rng.integers(3, 12)))
            for s in symbols
        }
        value = expr.subs(values)
        if value != 0:
            return False
    return True


@pytest.mark.parametrize("basis", BASIS_NAMES)
def test_safe_gradients_are_the_paper_equations(basis):
    """Symbolic dg/dx, dg/dc_i, dg/dd_j of `safe` are eqs. 8-10 of Biswas et al. (2021).

    The equality is checked exactly: structurally (``expand``) where sympy's
    own simplifications allow it, and otherwise by exact rational evaluation
    at random points (sympy rewrites e.g. ``|x^3|`` as ``x^2 |x|`` for real x).
    """
    form = RationalForm(basis, "safe", (3, 3))
    s = form.symbolic()
    symbols = [s.x, *s.c, *s.d]
    f = [p.subs(sp.Symbol("x", real=True), s.x) for p in form.basis_object.sympy_polys(3)]
    Q = 1 + sum(sp.Abs(dj) * sp.Abs(f[j]) for j, dj in enumerate(s.d, start=1))
    dQ = sum(sp.Abs(dj) * sp.sign(f[j]) * sp.diff(f[j], s.x) for j, dj in enumerate(s.d, start=1))
    P = sum(ci * f[i] for i, ci in enumerate(s.c))
    assert sp.expand(s.Q - Q) == 0
    assert sp.expand(s.P - P) == 0
    eq8 = sp.diff(P, s.x) / Q - P * dQ / Q**2
    assert _exactly_zero(s.dg_dx - eq8, symbols, seed=1)
    for i in range(len(s.c)):
        assert _exactly_zero(s.dg_dc[i] - f[i] / Q, symbols, seed=2)  # eq. 9
    for j, dj in enumerate(s.d, start=1):
        eq10 = -sp.sign(dj) * sp.Abs(f[j]) * P / Q**2
        assert _exactly_zero(s.dg_dd[j - 1] - eq10, symbols, seed=3)  # eq. 10
    if basis == "hermite1":  # HP-1: structurally identical, no evaluation needed
        for j, dj in enumerate(s.d, start=1):
            eq10 = -sp.sign(dj) * sp.Abs(f[j]) * P / Q**2
            assert sp.expand(s.dg_dd[j - 1] - eq10) == 0


def test_exact_check_detects_a_wrong_gradient():
    # the exact-evaluation check is not vacuous: a sign error in eq. 10 is caught
    s = RationalForm("hermite1", "safe", (3, 3)).symbolic()
    f2 = sp.expand(s.x**2 - 1)
    wrong = +sp.sign(s.d[1]) * sp.Abs(f2) * s.P / s.Q**2
    assert not _exactly_zero(s.dg_dd[1] - wrong, [s.x, *s.c, *s.d], seed=3)


def test_safe_jacobian_is_eq10_numerically():
    form = RationalForm("hermite1", "safe", (5, 4))
    c, d = _coefficients(form, 7)
    x = _smooth_points(form, c, d, 7)
    F, _ = form.basis_values(x)
    p = form.parts(x, c, d)
    J = form.jacobian(x, c, d)
    for j in range(1, form.l + 1):
        eq10 = -np.sign(d[j - 1]) * np.abs(F[j]) * p.P / p.Q**2
        _assert_close(J[:, form.k + j], eq10, 4 * EPS, f"dg/dd{j}")


def test_derivative_at_a_kink_uses_sign_zero():
    # hermite1 safe (1/1): Q = 1 + |d1||x|; at x = 0, sgn(0) = 0 so Q'(0) = 0 and g'(0) = c1
    form = RationalForm("hermite1", "safe", (1, 1))
    assert form.derivative(np.array([0.0]), [0.3, 2.0], [0.7])[0] == 2.0
    assert form.jacobian(np.array([0.0]), [0.3, 2.0], [0.7])[0, 2] == 0.0


def test_plain_derivative_has_no_kink_but_safe_abs_sum_does():
    # safe-abs-sum with monomial (1/1): Q = 1 + |d1 x|, one-sided slopes differ at 0
    x = np.array([-1e-3, 1e-3])
    c, d = [1.0, 0.0], [1.0]
    g_plain = RationalForm("monomial", "plain", (1, 1)).derivative(x, c, d)
    g_abs = RationalForm("monomial", "safe-abs-sum", (1, 1)).derivative(x, c, d)
    assert abs(g_plain[0] - g_plain[1]) < 1e-2
    assert g_abs[0] > 0.99 and g_abs[1] < -0.99


# ----------------------------------------------------------------------------- properties
coef = st.floats(-5, 5, allow_subnormal=False)


@st.composite
def forms_and_coefficients(draw, denominators=DENOMINATORS, bases=BASIS_NAMES):
    basis = draw(st.sampled_from(bases))
    den = draw(st.sampled_from(denominators))
    k = draw(st.integers(0, 6))
    n_den = draw(st.integers(0, 6))
    form = RationalForm(basis, den, (k, n_den))
    c = np.array(draw(st.lists(coef, min_size=k + 1, max_size=k + 1)))
    d = np.array(draw(st.lists(coef, min_size=n_den, max_size=n_den)))
    return form, c, d


@given(
    fcd=forms_and_coefficients(denominators=("safe", "safe-abs-sum")),
    x=st.lists(st.floats(-10, 10), min_size=1, max_size=30),
)
def test_safe_denominators_are_at_least_one(fcd, x):
    form, c, d = fcd
    p = form.parts(np.array(x), c, d)
    assert np.all(p.Q >= 1.0)
    assert np.all(np.isfinite(form.evaluate(np.array(x), c, d)))
    assert form.poles(d, (-10.0, 10.0)) == []


@given(
    fcd=forms_and_coefficients(bases=SYMMETRIC),
    odd=st.booleans(),
    x=st.lists(st.floats(0, 4), min_size=1, max_size=20),
)
def test_parity_of_symmetric_bases(fcd, odd, x):
    form, c, d = fcd
    c = c.copy()
    c[(0 if odd else 1) :: 2] = 0.0  # P odd (only odd c_i) or even (only even c_i)
    if form.denominator != "safe":
        d = d.copy()
        d[0::2] = 0.0  # d_1, d_3, ... = 0: Q even (safe's Q is even for any d)
    x = np.array(x)
    p = form.parts(x, c, d)
    assume(np.all(np.abs(p.Q) > 1e-6))
    sign = -1.0 if odd else 1.0
    np.testing.assert_allclose(form.evaluate(-x, c, d), sign * form.evaluate(x, c, d), rtol=1e-13)
    np.testing.assert_allclose(
        form.derivative(-x, c, d), -sign * form.derivative(x, c, d), rtol=1e-12, atol=1e-12
    )


#: roots of Q reported by `poles` must satisfy |Q(r)| <= POLE_RESIDUAL_TOL * (1 + sum |d_j f_j(r)|)
POLE_RESIDUAL_TOL = 1e-7
POLE_INTERVAL = (-3.0, 3.0)


#: denominator coefficients for the pole check: 0 or 1e-6 <= |d_j| <= 3. Much smaller
#: nonzero leading coefficients (|d_l| / max|d| below ~1e-16) make the monomial companion
#: matrix lose the small roots: a known limit of `Basis.roots`, see docs/forms.md.
pole_coef = st.one_of(st.just(0.0), st.floats(1e-6, 3), st.floats(-3, -1e-6))


@given(basis=st.sampled_from(BASIS_NAMES), d=st.lists(pole_coef, min_size=1, max_size=6))
def test_plain_poles_agree_with_sign_changes_of_q(basis, d):
    d = np.array(d)
    form = RationalForm(basis, "plain", (2, d.size))
    poles = form.poles(d, POLE_INTERVAL)
    assert poles == sorted(poles)
    assert all(POLE_INTERVAL[0] <= r <= POLE_INTERVAL[1] for r in poles)
    # every reported pole is a root of Q
    if poles:
        r = np.array(poles)
        F, _ = form.basis_values(r)
        q = form.parts(r, np.zeros(3), d).Q
        scale = 1.0 + np.abs(d) @ np.abs(F[1 : d.size + 1])
        assert np.all(np.abs(q) <= POLE_RESIDUAL_TOL * scale), (poles, q)
    # every sign change of Q on a fine grid brackets a reported pole
    grid = np.linspace(*POLE_INTERVAL, 6001)
    q = form.parts(grid, np.zeros(3), d).Q
    change = np.flatnonzero(np.sign(q[:-1]) * np.sign(q[1:]) < 0)
    for i in change:
        lo, hi = grid[i], grid[i + 1]
        assert any(lo - 1e-9 <= r <= hi + 1e-9 for r in poles), (lo, hi, poles)


@pytest.mark.parametrize("denominator", ["safe", "safe-abs-sum"])
def test_safe_forms_have_no_poles(denominator):
    form = RationalForm("chebyshev1", denominator, (3, 2))
    assert form.poles(np.array([0.0, -2.0]), (-1.0, 1.0)) == []


def test_known_poles_chebyshev1_plain():
    # Q = 1 - 2 T_2 = 3 - 4 x^2, roots +-sqrt(3)/2
    form = RationalForm("chebyshev1", "plain", (3, 2))
    poles = form.poles(np.array([0.0, -2.0]), (-3.0, 3.0))
    np.testing.assert_allclose(poles, [-math.sqrt(3) / 2, math.sqrt(3) / 2], rtol=1e-14)
    # the interval is closed and restricts the roots
    assert form.poles(np.array([0.0, -2.0]), (0.0, 3.0)) == pytest.approx([math.sqrt(3) / 2])
    assert form.poles(np.array([0.0, -2.0]), (-0.5, 0.5)) == []
    # a double root (Q touches 0 without a sign change): 1 + T_2 = 2 x^2
    assert form.poles(np.array([0.0, 1.0]), (-3.0, 3.0)) == pytest.approx([0.0, 0.0], abs=1e-7)


def test_known_poles_do_not_depend_on_the_basis():
    # the same Q = 3 - 4 x^2 in the monomial basis: d1 = 0, d2 = -4 / 2 ... Q = 1 + d2 x^2 -> d2
    form = RationalForm("monomial", "plain", (0, 2))
    poles = form.poles(np.array([0.0, -4.0 / 3.0]), (-3.0, 3.0))
    np.testing.assert_allclose(poles, [-math.sqrt(3) / 2, math.sqrt(3) / 2], rtol=1e-14)


# ----------------------------------------------------------------------------- validation
def test_spec_validation_names_the_argument():
    with pytest.raises(UsageError, match=r"`denominator` .*did you mean 'safe'"):
        RationalForm("hermite1", "saf", (5, 4))
    with pytest.raises(UsageError, match=r"`basis` .*did you mean 'legendre'"):
        RationalForm("legend", "safe", (5, 4))
    for bad in ["5", "-1/2", "a/b", "5/4/3", (5, -1), (5.0, 4)]:
        with pytest.raises(UsageError, match=r"`degrees` must be K/L"):
            parse_degrees(bad)
    assert parse_degrees(" 5/4 ") == (5, 4)
    assert RationalForm("HERMITE1", "SAFE", "2/1") == RationalForm("hermite1", "safe", (2, 1))


def test_coefficient_counts_are_checked():
    form = RationalForm("hermite1", "safe", (5, 4))
    with pytest.raises(UsageError, match=r"`numerator` must have k \+ 1 = 6"):
        form.evaluate(np.zeros(3), np.zeros(5), np.zeros(4))
    with pytest.raises(UsageError, match=r"`denominator` must have l = 4"):
        form.jacobian(np.zeros(3), np.zeros(6), np.zeros(3))
    with pytest.raises(UsageError, match=r"`theta` must have 10 values"):
        form.split(np.zeros(9))
    with pytest.raises(UsageError, match="finite"):
        form.evaluate(np.zeros(3), [np.nan, 0, 0, 0, 0, 0], np.zeros(4))


def test_symbolic_is_cached():
    form = RationalForm("legendre", "plain", (2, 2))
    assert form.symbolic() is RationalForm("legendre", "plain", (2, 2)).symbolic()


def test_numerator_only_form_is_the_basis_series():
    form = RationalForm("hermite2", "safe", (3, 0))
    x = np.linspace(-2, 2, 9)
    c = np.array([0.5, -1.0, 0.25, 2.0])
    F, _ = get_basis("hermite2").evaluate(x, 3)
    np.testing.assert_allclose(form.evaluate(x, c, []), c @ F, rtol=1e-15)


# ------------------------------------------------- forms evaluate through the Denominator
@pytest.mark.parametrize(
    ("basis", "denominator"), list(itertools.product(BASIS_NAMES, DENOMINATORS))
)
def test_form_equals_the_denominator_built_one(basis, denominator):
    """g, g' and the Jacobian of RationalForm are the ones built from basis_values + Denominator.

    The reference takes the array-API path of the framework layers (per-degree lists, summed
    term by term), the form the numpy path (stacked arrays, one BLAS reduction): the same
    formulas, so they agree to rounding, at points away from the kinks.
    """
    form = RationalForm(basis, denominator, (5, 4))
    seed = 100 + BASIS_NAMES.index(basis) * 3 + DENOMINATORS.index(denominator)
    c, d = _coefficients(form, seed)
    x = _smooth_points(form, c, d, seed)
    table = get_basis(basis).recurrence_table(max(form.k, form.l))
    f, df = basis_values(x, table, derivatives=True)  # per-degree lists
    den = get_denominator(denominator)
    P, dP = series(f, list(c)), series(df, list(c))
    Q, dQ = den.q(f, list(d)), den.dq_dx(f, df, list(d))
    g = P / Q
    columns = [fi / Q for fi in f[: form.k + 1]]
    columns += [-P / Q**2 * dq for dq in den.dq_dd(f, list(d))]
    tol = 1e3 * EPS
    _assert_close(form.evaluate(x, c, d), g, tol, "g")
    _assert_close(form.derivative(x, c, d), dP / Q - P * dQ / Q**2, tol, "dg/dx")
    _assert_close(form.jacobian(x, c, d), np.stack(columns, axis=1), tol, "jacobian")
    assert form.denominator_object is den
