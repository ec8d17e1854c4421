"""Denominators (opade_fit.denominators): Q and its derivatives against sympy and finite
differences for every kind, the one-sided convention at the kinks, the linear LP rows,
and the array-API form evaluated by numpy and torch.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import sympy as sp

from opade_fit.bases import BASIS_NAMES, basis_values, get_basis, series
from opade_fit.denominators import (
    DENOMINATOR_KINDS,
    DENOMINATORS,
    PLAIN,
    SAFE,
    SAFE_ABS_SUM,
    get_denominator,
)
from opade_fit.errors import UsageError

EPS = np.finfo(np.float64).eps
#: numeric vs lambdified sympy, relative to max(1, largest value)
SYMPY_TOL = 1e6 * EPS
#: central differences with step FD_STEP vs analytic, relative to max(1, largest value)
FD_STEP = 1e-6
FD_TOL = 1e-6
#: points with |f_j| or |B| below this are kinks and are skipped in derivative checks
KINK_MARGIN = 1e-2
L_DEGREES = [0, 1, 4]
BASES = ["monomial", "hermite1", "laguerre", "chebyshev2"]
CASES = list(itertools.product(BASES, DENOMINATORS, L_DEGREES))
CASE_IDS = [f"{b}-{den}-l{l}" for b, den, l in CASES]


def _setup(basis: str, kind: str, l: int, seed: int):
    """Coefficients with |d_j| in [0.2, 1.5], smooth points in [-2, 2] and the basis values."""
    rng = np.random.default_rng(seed)
    d = rng.choice([-1.0, 1.0], size=l) * rng.uniform(0.2, 1.5, size=l)
    x = np.sort(rng.uniform(-2.0, 2.0, 300))
    F, dF = get_basis(basis).evaluate(x, max(l, 1))
    ok = np.all(np.abs(F[1 : l + 1]) > KINK_MARGIN, axis=0)
    if l:
        ok &= np.abs(SAFE_ABS_SUM.inner(F, d)) > KINK_MARGIN
        ok &= np.abs(PLAIN.q(F, d)) > 0.2  # away from the poles of plain
    x = x[ok][::10]
    F, dF = get_basis(basis).evaluate(x, max(l, 1))
    return get_denominator(kind), d, x, F, dF


def _close(actual, expected, tol, what):
    expected = np.broadcast_to(np.asarray(expected, dtype=float), np.shape(actual))
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    err = float(np.max(np.abs(np.asarray(actual) - expected), initial=0.0))
    assert err <= tol * scale, f"{what}: error {err:.3e} > {tol:.1e} * {scale:.3e}"


@pytest.mark.parametrize(("basis", "kind", "l"), CASES, ids=CASE_IDS)
def test_q_and_derivatives_equal_sympy(basis, kind, l):
    den, d, x, F, dF = _setup(basis, kind, l, CASES.index((basis, kind, l)))
    assert x.size >= 10
    xs = sp.Symbol("x", real=True)
    polys = [p.subs(sp.Symbol("x", real=True), xs) for p in get_basis(basis).sympy_polys(l)]
    ds = [sp.Symbol(f"d{j}", real=True) for j in range(1, l + 1)]
    Q = den.sympy(polys, ds)

    def num(expr):
        # second derivatives of |.| carry DiracDelta terms, zero away from the kinks
        expr = expr.replace(sp.DiracDelta, lambda *args: sp.Integer(0))
        return sp.lambdify([xs, ds], expr, modules="numpy")(x, d)

    _close(den.q(F, d), num(Q), SYMPY_TOL, "Q")
    _close(den.dq_dx(F, dF, d), num(sp.diff(Q, xs)), SYMPY_TOL, "dQ/dx")
    for j, (dq, dqx) in enumerate(zip(den.dq_dd(F, d), den.dq_dx_dd(F, dF, d), strict=True)):
        _close(dq, num(sp.diff(Q, ds[j])), SYMPY_TOL, f"dQ/dd{j + 1}")
        _close(dqx, num(sp.diff(Q, xs, ds[j])), SYMPY_TOL, f"dQ'/dd{j + 1}")
    assert len(den.dq_dd(F, d)) == len(den.dq_dx_dd(F, dF, d)) == l


@pytest.mark.parametrize(("basis", "kind", "l"), CASES, ids=CASE_IDS)
def test_derivatives_equal_finite_differences(basis, kind, l):
    den, d, x, F, dF = _setup(basis, kind, l, CASES.index((basis, kind, l)))
    b = get_basis(basis)

    def q_at(xv, dv):
        return den.q(b.evaluate(xv, max(l, 1))[0], dv)

    h = FD_STEP
    _close(den.dq_dx(F, dF, d), (q_at(x + h, d) - q_at(x - h, d)) / (2 * h), FD_TOL, "dQ/dx")
    for j, dq in enumerate(den.dq_dd(F, d)):
        e = np.zeros(l)
        e[j] = h
        _close(dq, (q_at(x, d + e) - q_at(x, d - e)) / (2 * h), FD_TOL, f"dQ/dd{j + 1}")
    for j, dqx in enumerate(den.dq_dx_dd(F, dF, d)):
        e = np.zeros(l)
        e[j] = h
        fd = (den.dq_dx(F, dF, d + e) - den.dq_dx(F, dF, d - e)) / (2 * h)
        _close(dqx, fd, FD_TOL, f"dQ'/dd{j + 1}")


def test_safe_kinds_are_at_least_one_and_plain_can_vanish():
    x = np.linspace(-3, 3, 601)
    F, _ = get_basis("legendre").evaluate(x, 4)
    d = np.array([0.7, -1.3, 2.0, -0.4])
    assert np.all(SAFE.q(F, d) >= 1.0)
    assert np.all(SAFE_ABS_SUM.q(F, d) >= 1.0)
    assert np.min(PLAIN.q(F, d)) < 0.0


def test_one_sided_signs_at_the_kinks():
    """At d_j = 0 (safe) and B = 0 (safe-abs-sum) the one-sided slope is the right-hand one."""
    x = np.array([-1.5, 0.5, 2.0])
    F, dF = get_basis("monomial").evaluate(x, 2)
    d = np.array([0.0, 0.8])
    two = SAFE.dq_dd(F, d)
    one = SAFE.dq_dd(F, d, one_sided=True)
    np.testing.assert_array_equal(two[0], np.zeros(3))
    np.testing.assert_array_equal(one[0], np.abs(x))
    np.testing.assert_array_equal(one[1], two[1])
    np.testing.assert_array_equal(
        SAFE.dq_dx_dd(F, dF, d, one_sided=True)[0], np.sign(x) * np.ones(3)
    )
    # right-hand difference quotient at the bound d_1 = 0
    h = 1e-7
    right = (SAFE.q(F, d + np.array([h, 0.0])) - SAFE.q(F, d)) / h
    np.testing.assert_allclose(one[0], right, rtol=1e-6)

    dz = np.array([0.0, 0.0])  # B = 0 everywhere
    np.testing.assert_array_equal(SAFE_ABS_SUM.dq_dd(F, dz)[0], np.zeros(3))
    np.testing.assert_array_equal(SAFE_ABS_SUM.dq_dd(F, dz, one_sided=True)[0], x)
    np.testing.assert_array_equal(SAFE_ABS_SUM.dq_dx(F, dF, [0.0, 0.0], one_sided=True), 0.0 * x)
    np.testing.assert_array_equal(SAFE_ABS_SUM.dq_dx_dd(F, dF, dz, one_sided=True)[1], 2 * x)
    # plain has no kinks: both conventions agree
    for a, b in zip(PLAIN.dq_dd(F, d), PLAIN.dq_dd(F, d, one_sided=True), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", DENOMINATORS)
def test_linear_rows_give_q_on_their_domain(kind):
    den = get_denominator(kind)
    x = np.linspace(-2, 2, 201)
    F, _ = get_basis("chebyshev1").evaluate(x, 3)
    d = np.array([0.4, -0.9, 0.3])
    if den.nonnegative_d:
        d = np.abs(d)
    s = np.where(SAFE_ABS_SUM.inner(F, d) >= 0, 1.0, -1.0) if den.sign_pattern else 1.0
    phi = den.linear_rows(F, 3, sign=s)
    np.testing.assert_allclose(1.0 + series(phi, d), den.q(F, d), rtol=1e-15, atol=0)
    # the LP keeps Q above lp_q_min; safe needs no side constraint for it
    assert den.lp_q_min_imposed == (kind != "safe")
    assert 0.0 < den.lp_q_min <= 1.0
    assert len(den.linear_rows(F, 0)) == 0 and den.linear_rows([x], 0) == []


def test_empty_denominator_is_one():
    x = np.linspace(-1, 1, 5)
    F, dF = get_basis("hermite2").evaluate(x, 0)
    for den in DENOMINATOR_KINDS.values():
        np.testing.assert_array_equal(den.q(F, []), np.ones(5))
        np.testing.assert_array_equal(den.dq_dx(F, dF, []), np.zeros(5))
        assert den.dq_dd(F, []) == [] and den.dq_dx_dd(F, dF, []) == []
        assert den.sympy([sp.Integer(1)], []) == 1


def test_get_denominator_names_and_errors():
    assert get_denominator(" Safe-Abs-Sum ") is SAFE_ABS_SUM
    assert get_denominator(PLAIN) is PLAIN
    assert tuple(DENOMINATOR_KINDS) == DENOMINATORS == ("safe", "safe-abs-sum", "plain")
    with pytest.raises(UsageError, match=r"`denominator` must be one of .*did you mean 'safe'"):
        get_denominator("sfe")
    with pytest.raises(UsageError, match="`denominator` must be one of"):
        get_denominator("abs")


# -- array API: numpy and torch compute the same numbers --------------------------------------
@pytest.mark.parametrize(("basis", "kind"), list(itertools.product(BASIS_NAMES, DENOMINATORS)))
def test_numpy_and_torch_agree(basis, kind):
    torch = pytest.importorskip("torch")
    den = get_denominator(kind)
    k, l = 5, 4
    table = get_basis(basis).recurrence_table(max(k, l))
    rng = np.random.default_rng(BASIS_NAMES.index(basis))
    x = rng.uniform(-3, 3, 257)
    c = rng.normal(size=k + 1)
    d = rng.normal(size=l)
    xt = torch.from_numpy(x)
    ct, dt = torch.from_numpy(c), torch.from_numpy(d)

    f, df = basis_values(x, table, derivatives=True)
    ft, dft = basis_values(xt, table, xp=torch, derivatives=True)
    F, dF = get_basis(basis).evaluate(x, max(k, l))
    for i in range(max(k, l) + 1):  # same arithmetic: identical float64 values
        np.testing.assert_array_equal(ft[i].numpy(), f[i])
        np.testing.assert_array_equal(dft[i].numpy(), df[i])
        np.testing.assert_array_equal(F[i], f[i])
        np.testing.assert_array_equal(dF[i], df[i])
    # per-degree lists take the same term-by-term path in both libraries: identical values
    d_list = list(d)
    np.testing.assert_array_equal(series(ft, ct).numpy(), series(f, list(c)))
    pairs = [
        (den.q(ft, dt, xp=torch), den.q(f, d_list)),
        (den.dq_dx(ft, dft, dt, xp=torch), den.dq_dx(f, df, d_list)),
        *zip(den.dq_dd(ft, dt, xp=torch), den.dq_dd(f, d_list), strict=True),
        *zip(den.dq_dx_dd(ft, dft, dt, xp=torch), den.dq_dx_dd(f, df, d_list), strict=True),
        *zip(
            den.dq_dd(ft, dt, xp=torch, one_sided=True),
            den.dq_dd(f, d_list, one_sided=True),
            strict=True,
        ),
    ]
    for a, b in pairs:
        np.testing.assert_array_equal(a.numpy(), b)
    # stacked numpy arrays are reduced by BLAS: the same values to rounding
    scale = np.max(np.abs(np.stack(df)))
    size = np.max(SAFE.q(F, d))  # 1 + sum_j |d_j f_j|: the size of Q's terms
    np.testing.assert_allclose(den.q(F, d), pairs[0][1], rtol=0, atol=1e-14 * size)
    np.testing.assert_allclose(den.dq_dx(F, dF, d), pairs[1][1], rtol=0, atol=1e-13 * scale)
    np.testing.assert_allclose(series(F, c), series(f, list(c)), rtol=0, atol=1e-13 * scale)

    # float32 and per-channel coefficients broadcast like any other tensor
    x32 = xt.float().reshape(1, 1, -1).expand(2, 3, -1)
    d32 = [torch.from_numpy(np.array([v, -v, 2 * v])).float().reshape(1, 3, 1) for v in d]
    f32, _ = basis_values(x32, table, xp=torch)
    q32 = den.q(f32, d32, xp=torch)
    assert q32.dtype == torch.float32 and q32.shape == (2, 3, 257)
    np.testing.assert_allclose(
        q32[1, 1].double().numpy(), den.q(f, -d), rtol=1e-5, atol=1e-5 * np.max(np.abs(f[l]))
    )


def test_torch_autograd_matches_the_closed_form_gradients():
    """The module docstring's recipe: autograd of g = P/Q equals eqs. 8-10 built from Q's pieces."""
    torch = pytest.importorskip("torch")
    den = SAFE
    table = get_basis("hermite1").recurrence_table(4)
    x = torch.linspace(-2.7, 2.9, 101, dtype=torch.float64, requires_grad=True)
    c = torch.tensor([0.1, 0.6, -0.3, 0.2, 0.05], dtype=torch.float64, requires_grad=True)
    d = torch.tensor([0.5, -0.2, 0.7, 0.1], dtype=torch.float64, requires_grad=True)
    f, df = basis_values(x, table, xp=torch, derivatives=True)
    P, dP = series(f, list(c)), series(df, list(c))
    Q, dQ = den.q(f, list(d), xp=torch), den.dq_dx(f, df, list(d), xp=torch)
    g = P / Q
    gx, gc, gd = torch.autograd.grad(g.sum(), (x, c, d))
    with torch.no_grad():
        np.testing.assert_allclose(gx, dP / Q - P * dQ / Q**2, rtol=1e-12)
        np.testing.assert_allclose(gc, [(fi / Q).sum() for fi in f], rtol=1e-12)
        closed = [(-P / Q**2 * dq).sum() for dq in den.dq_dd(f, list(d), xp=torch)]
        np.testing.assert_allclose(gd, closed, rtol=1e-12)


def test_right_hand_derivative_at_a_zero_of_b():
    """``right_hand=True``: Q' of safe-abs-sum at B = 0 (to rounding) is |B'|, else sgn(B) B'."""
    x = np.array([-0.5, 0.0, 0.5])
    F, dF = get_basis("monomial").evaluate(x, 1)
    d = [-2.0]  # B = -2 x: B(0) = 0, B' = -2
    np.testing.assert_array_equal(SAFE_ABS_SUM.dq_dx(F, dF, d, right_hand=True), [-2.0, 2.0, 2.0])
    np.testing.assert_array_equal(SAFE_ABS_SUM.dq_dx(F, dF, d), [-2.0, 0.0, 2.0])
    np.testing.assert_array_equal(SAFE_ABS_SUM.dq_dx(F, dF, d, one_sided=True), [-2.0, -2.0, 2.0])
    # B that vanishes only to rounding counts as 0: B = 0.1 - 10 * 0.01 at x = 0.1, B' = -1
    F2, dF2 = get_basis("monomial").evaluate(np.array([0.1]), 2)
    assert abs(SAFE_ABS_SUM.inner(F2, [1.0, -10.0])[0]) <= 1e-16
    assert SAFE_ABS_SUM.dq_dx(F2, dF2, [1.0, -10.0], right_hand=True)[0] == 1.0
    # the other kinds have no kink in B
    for den in (SAFE, PLAIN):
        np.testing.assert_array_equal(den.dq_dx(F, dF, d, right_hand=True), den.dq_dx(F, dF, d))


@pytest.mark.parametrize("kind", DENOMINATORS)
def test_stacked_torch_values_give_the_per_degree_results(kind):
    """Stacked torch arrays (degree on axis 0; coefficients (l,) or per channel (l, 1, C, 1))
    take one call per step, with the values of the per-degree list path."""
    torch = pytest.importorskip("torch")
    den = get_denominator(kind)
    table = get_basis("legendre").recurrence_table(5)
    rng = np.random.default_rng(4)
    x = torch.from_numpy(rng.uniform(-2, 2, (2, 3, 40)))
    d = torch.from_numpy(rng.normal(size=(4, 1, 3, 1)))
    f, df = basis_values(x, table, xp=torch, derivatives=True)
    F = torch.stack([torch.broadcast_to(v, x.shape) for v in f])
    dF = torch.stack([torch.broadcast_to(v, x.shape) for v in df])
    flat = x[0, 0]  # one channel, flat: stacked (n + 1, m) values and (l,) coefficients
    cases = [(F, dF, d, f, df, list(d)), (F[:, 0, 0], dF[:, 0, 0], d[:, 0, 0, 0], None, None, None)]
    for Fs, dFs, ds, fl, dfl, dl in cases:
        if fl is None:
            fl, dfl = basis_values(flat, table, xp=torch, derivatives=True)
            dl = list(ds)
        scale = float(Fs.abs().max()) * float(ds.abs().sum())
        for got, want in [
            (den.q(Fs, ds, xp=torch), den.q(fl, dl, xp=torch)),
            (den.dq_dx(Fs, dFs, ds, xp=torch), den.dq_dx(fl, dfl, dl, xp=torch)),
            (den.dq_dd(Fs, ds, xp=torch), torch.stack(den.dq_dd(fl, dl, xp=torch))),
            (den.dq_dx_dd(Fs, dFs, ds, xp=torch), torch.stack(den.dq_dx_dd(fl, dfl, dl, xp=torch))),
        ]:
            assert torch.is_tensor(got) and got.shape == want.shape
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=0, atol=1e-14 * scale)


@pytest.mark.parametrize("kind", DENOMINATORS)
def test_shape_fields_give_q_and_its_derivatives(kind):
    """Q = 1 + h(sum_j w(d_j) phi(f_j)) with (h, w, phi) from (outer_abs, d_abs, f_abs)
    reproduces q, dq_dx and dq_dd by the chain rule (the form the PyTorch eager blocks use)."""
    den = get_denominator(kind)
    rng = np.random.default_rng(11)
    x = rng.uniform(-2.0, 2.0, 200)
    d = rng.normal(size=4)
    F, dF = get_basis("legendre").evaluate(x, 4)

    def fn(flag):
        return (np.abs, np.sign) if flag else ((lambda v: v), (lambda v: np.ones_like(v)))

    (h, dh), (w, dw), (phi, dphi) = fn(den.outer_abs), fn(den.d_abs), fn(den.f_abs)
    B = sum(w(d[j - 1]) * phi(F[j]) for j in range(1, 5))
    dB = sum(w(d[j - 1]) * dphi(F[j]) * dF[j] for j in range(1, 5))
    np.testing.assert_allclose(1 + h(B), den.q(F, d), rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(dh(B) * dB, den.dq_dx(F, dF, d), rtol=1e-13, atol=1e-13)
    for j, got in enumerate(den.dq_dd(F, d), start=1):
        np.testing.assert_allclose(dh(B) * dw(d[j - 1]) * phi(F[j]), got, rtol=1e-14, atol=0)
    assert (den.outer_abs, den.d_abs, den.f_abs) == {
        "safe": (False, True, True),
        "safe-abs-sum": (True, False, False),
        "plain": (False, False, False),
    }[kind]
