"""Polynomial bases f_0, f_1, ... of the numerator and denominator.

Seven families are supported (docs/spec.md §2). Each is defined once by its
three-term recurrence, written in the common form

    f_0(x) = 1,   f_1(x) = a_0 x + b_0,
    f_{n+1}(x) = (a_n x + b_n) f_n(x) - c_n f_{n-1}(x),

and that single table drives both layers:

* the **exact** layer (:meth:`Basis.sympy_poly`) runs the recurrence in
  rational arithmetic with sympy, giving integer / rational coefficients;
  tests compare it with sympy's own named polynomials;
* the **numeric** layer runs the same recurrence in floats, elementwise over
  x, together with the derivative recurrence
  ``f'_{n+1} = a_n f_n + (a_n x + b_n) f'_n - c_n f'_{n-1}``. The table is
  converted to Python floats once (:meth:`Basis.recurrence_table`, the single
  float boundary) and run by :func:`basis_values`, which is written in the
  array API: the same code, hence the same arithmetic, evaluates numpy
  arrays (:meth:`Basis.evaluate`), torch tensors and ``keras.ops`` tensors.
  :func:`series` forms ``sum_i c_i f_i`` from those values the same way.

An expanded high-degree monomial form is never evaluated numerically.
Coefficient vectors are always in increasing degree.

Array-API convention (shared with :mod:`opade_fit.denominators`)
-----------------------------------------------------------------
``xp`` is a namespace with elementwise ``abs``, ``sign``, ``where``,
``ones_like`` and ``zeros_like``: the modules ``numpy``, ``torch`` and
``keras.ops`` all qualify as they are. Basis values are a *sequence* of
arrays, item i holding f_i(x) (or f_i'(x)) with the shape of x; a
coefficient sequence holds, per degree, anything that broadcasts against x (a
Python or numpy float, a 0-d tensor, or a per-channel tensor shaped
``(1, C, 1, ...)``). Only ``+ - * /`` and those five functions are used.
The sequence may also be one *stacked* array, degree on axis 0
(:func:`stacked`), with the coefficients stacked likewise (shape ``(n,)``, or
``(n, 1, C, 1, ...)`` per channel): elementwise steps then run once on the
whole stack, and :func:`series` of 2-D values is one matrix-vector product.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import UsageError, lookup
from .limits import MAX_BASES_DEGREE

if TYPE_CHECKING:  # sympy loads on first use of the exact layer only
    import sympy as sp

__all__ = [
    "BASES",
    "BASIS_NAMES",
    "Basis",
    "RecurrenceTable",
    "basis_values",
    "derivative_factors",
    "get_basis",
    "series",
    "stacked",
]

Recurrence = Callable[[int], tuple[Fraction, Fraction, Fraction]]
#: ``((a_0, b_0, c_0), ..., (a_{n-1}, b_{n-1}, c_{n-1}))`` as Python floats.
RecurrenceTable = tuple[tuple[float, float, float], ...]


def basis_values(
    x: Any, table: RecurrenceTable, *, xp: Any = np, derivatives: bool = False
) -> tuple[list[Any], list[Any] | None]:
    """f_0..f_n (and f_0'..f_n') at x by the three-term recurrence, in any array library.

    ``f_0 = 1``, ``f_{i+1} = (a_i x + b_i) f_i - c_i f_{i-1}`` and
    ``f'_{i+1} = a_i f_i + (a_i x + b_i) f'_i - c_i f'_{i-1}`` with
    ``(a_i, b_i, c_i) = table[i]``. Terms that are exactly ``* 1``, ``+ 0`` or
    ``- 0`` are skipped, which changes no value, so every library computes the
    same floating-point numbers.

    Parameters
    ----------
    x : array
        Points, any shape (numpy array, torch tensor, keras tensor); the values
        have its dtype (the float table entries are Python floats, which do
        not promote it).
    table : RecurrenceTable
        :meth:`Basis.recurrence_table` of the basis; ``n = len(table)``.
    xp : namespace, default numpy
        Provides ``ones_like`` and ``zeros_like`` (module docstring).
    derivatives : bool, default False
        Also return the derivatives with respect to x.

    Returns
    -------
    values : list of array
        ``values[i] = f_i(x)`` for i = 0..n, each shaped like x.
    derivatives : list of array or None
        ``f_i'(x)`` likewise, or None when not asked for.
    """
    f = [xp.ones_like(x)]
    df = [xp.zeros_like(x)] if derivatives else None
    for i, (a, b, c) in enumerate(table):
        lin = x if a == 1.0 else a * x
        if b != 0.0:
            lin = lin + b
        nxt = lin if i == 0 else lin * f[i]
        if i > 0 and c != 0.0:
            nxt = nxt - (c if i == 1 else c * f[i - 1])  # f_0 = 1
        if df is not None:
            dnxt = a * f[0] if i == 0 else a * f[i] + lin * df[i]  # f_0' = 0
            if i > 1 and c != 0.0:
                dnxt = dnxt - c * df[i - 1]
            df.append(dnxt)
        f.append(nxt)
    return f, df


def derivative_factors(table: RecurrenceTable) -> tuple[float, ...] | None:
    """kappa_1..kappa_n with ``f_i' = kappa_i f_{i-1}`` for every i, or None if the table has none.

    Appell-type families have this property: the monomials (kappa_i = i) and both
    Hermite families (He: kappa_i = i, H: kappa_i = 2i); the others do not. It is
    checked exactly, in rational arithmetic on the table's float values (each float
    is a binary fraction), on the polynomials the recurrence generates
    (``f_0 = 1``, ``f_{i+1} = (a_i x + b_i) f_i - c_i f_{i-1}``). A consumer may then
    take the derivatives from the values (``f_i'`` from ``f_{i-1}``) instead of running
    the derivative recurrence.

    Parameters
    ----------
    table : RecurrenceTable
        :meth:`Basis.recurrence_table` of the basis; ``n = len(table)``.

    Returns
    -------
    tuple of float or None
        ``(kappa_1, ..., kappa_n)`` (empty for n = 0), or None.
    """
    polys: list[list[Fraction]] = [[Fraction(1)]]
    factors: list[float] = []
    for i, (a, b, c) in enumerate(table):
        a, b, c = Fraction(a), Fraction(b), Fraction(c)
        lin_f = [Fraction(0)] + [a * v for v in polys[i]]  # a x f_i
        nxt = [u + b * v for u, v in zip(lin_f, polys[i] + [Fraction(0)], strict=True)]
        if i > 0:
            for j, v in enumerate(polys[i - 1]):
                nxt[j] -= c * v
        polys.append(nxt)
        derivative = [j * v for j, v in enumerate(nxt)][1:]  # f_{i+1}', degree i
        kappa = derivative[-1] / polys[i][-1] if polys[i][-1] else None
        if kappa is None or any(u != kappa * v for u, v in zip(derivative, polys[i], strict=True)):
            return None
        factors.append(float(kappa))
    return tuple(factors)


def stacked(values: Any) -> bool:
    """True for per-degree values stacked in one array (degree on axis 0), not a sequence.

    A numpy array or a tensor with at least one dimension is stacked; a list or
    tuple of per-degree arrays is not. Stacked values are processed as one array
    where that changes no value (elementwise functions), so a library with a
    per-call cost (torch) makes one call instead of one per degree.
    """
    return not isinstance(values, list | tuple) and getattr(values, "ndim", 0) >= 1


def series(values: Sequence[Any], coefficients: Sequence[Any]) -> Any:
    """``sum_i coefficients[i] * values[i]``, summed in increasing degree.

    A numpy array of stacked values with a 1-D numpy coefficient array is
    reduced by one BLAS product (``@``, or :func:`numpy.tensordot` when x is
    not 1-D), the arithmetic of the solvers' matrix products; so are 2-D
    stacked values of another library (a torch tensor) with a 1-D coefficient
    array of the same library (one ``@``); other inputs by an elementwise
    loop, term by term.

    Parameters
    ----------
    values : sequence of array
        Basis values (or derivatives, or any per-degree arrays), as returned
        by :func:`basis_values`; at least ``len(coefficients)`` of them.
    coefficients : sequence
        One item per degree, each broadcasting against the values (module
        docstring); at least one.

    Returns
    -------
    array
        The series, in the library and dtype of the inputs.
    """
    n = len(coefficients)
    if n == 0:
        raise UsageError("`coefficients` must hold at least one value")
    if isinstance(values, np.ndarray) and isinstance(coefficients, np.ndarray):
        # stacked numpy values (degree on axis 0) and a 1-D coefficient vector: one
        # BLAS reduction, the arithmetic of the solvers' matrix products (``@``)
        rows = values[:n]
        return coefficients @ rows if rows.ndim == 2 else np.tensordot(coefficients, rows, axes=1)
    if stacked(values) and stacked(coefficients) and values.ndim == 2 and coefficients.ndim == 1:
        # the same for another library's stacked 2-D values (torch: one matrix-vector product)
        return values[:n].T @ coefficients
    out = coefficients[0] * values[0]
    for i in range(1, len(coefficients)):
        out = out + coefficients[i] * values[i]
    return out


@dataclass(frozen=True)
class Basis:
    """A polynomial family given by its three-term recurrence.

    Attributes
    ----------
    name : str
        Canonical CLI / JSON name (``"hermite1"`` ...).
    family : str
        Human-readable family name.
    recurrence : callable
        ``n -> (a_n, b_n, c_n)`` as exact fractions, for n >= 0
        (``c_0`` is ignored).
    sympy_name : str or None
        Name of the matching sympy polynomial constructor (the oracle).
    """

    name: str
    family: str
    recurrence: Recurrence
    sympy_name: str | None
    symbol: str

    # -- exact layer -------------------------------------------------------
    @functools.cache  # noqa: B019  (bases are module-level singletons)
    def sympy_polys(self, n: int) -> tuple[sp.Expr, ...]:
        """Exact polynomials f_0..f_n as expanded sympy expressions in ``x``.

        Parameters
        ----------
        n : int
            Highest degree, ``n >= 0``.

        Returns
        -------
        tuple of sympy.Expr
            ``(f_0, ..., f_n)`` with rational coefficients, symbol ``x`` real.
        """
        import sympy as sp

        _check_degree(n, "n")
        x = sp.Symbol("x", real=True)
        polys = [sp.Integer(1)]
        prev = sp.Integer(0)
        for i in range(n):
            a, b, c = (sp.Rational(v.numerator, v.denominator) for v in self.recurrence(i))
            nxt = sp.expand((a * x + b) * polys[-1] - (c * prev if i > 0 else 0))
            prev = polys[-1]
            polys.append(nxt)
        return tuple(polys)

    def sympy_poly(self, n: int) -> sp.Expr:
        """Exact f_n as an expanded sympy expression in the real symbol ``x``."""
        return self.sympy_polys(n)[n]

    def monomial_matrix(self, n: int) -> list[list[sp.Rational]]:
        """Exact change of basis: row i holds the monomial coefficients of f_i.

        ``M[i][j]`` is the coefficient of x^j in f_i, for 0 <= i, j <= n.
        """
        import sympy as sp

        x = sp.Symbol("x", real=True)
        rows = []
        for p in self.sympy_polys(n):
            coeffs = sp.Poly(p, x).all_coeffs()[::-1] if p != 0 else [0]
            rows.append([sp.Rational(c) for c in coeffs] + [sp.Integer(0)] * (n + 1 - len(coeffs)))
        return rows

    def values_at_zero(self, n: int) -> tuple[sp.Rational, ...]:
        """Exact f_0(0), ..., f_n(0) (used by the zero-centred constraints)."""
        return tuple(row[0] for row in self.monomial_matrix(n))

    # -- numeric layer -----------------------------------------------------
    @functools.cache  # noqa: B019
    def recurrence_table(self, n: int) -> RecurrenceTable:
        """The recurrence ``(a_i, b_i, c_i)`` for i < n as Python floats.

        This is the single place where the exact fractions become floats;
        :func:`basis_values` runs the table in any array library.

        Parameters
        ----------
        n : int
            Highest degree the table reaches, ``n >= 0`` (n rows).
        """
        _check_degree(n, "n")
        return tuple(tuple(float(v) for v in self.recurrence(i)) for i in range(n))

    def evaluate(self, x: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Evaluate f_0..f_n and their derivatives at the points ``x`` (float64).

        Parameters
        ----------
        x : array_like, shape (m,)
            Points (any units; the bases are dimensionless polynomials).
        n : int
            Highest degree, ``n >= 0``.

        Returns
        -------
        F, dF : ndarray, shape (n + 1, m)
            ``F[i] = f_i(x)`` and ``dF[i] = f_i'(x)``, computed by
            :func:`basis_values` (the three-term recurrence and its derivative).
        """
        _check_degree(n, "n")
        x = np.asarray(x, dtype=np.float64)
        F, dF = basis_values(x, self.recurrence_table(n), derivatives=True)
        return np.stack(F), np.stack(dF)

    def roots(self, coefficients: np.ndarray) -> np.ndarray:
        """All complex roots of ``sum_i coefficients[i] f_i(x)``.

        The series is converted exactly-to-float into the monomial basis
        through :meth:`monomial_matrix` and solved with
        :func:`numpy.polynomial.polynomial.polyroots` (companion matrix).
        Leading monomial coefficients below ``ROOT_TRIM`` times the largest
        one are dropped first: such a coefficient only adds a root near
        1/coefficient (far outside any fit interval) and, kept, it wrecks the
        companion matrix's accuracy for the other roots.
        """
        c = np.asarray(coefficients, dtype=np.float64)
        n = len(c) - 1
        M = np.array(self.monomial_matrix(n), dtype=np.float64) if n >= 0 else np.zeros((0, 0))
        mono = c @ M
        if mono.size:
            mono = np.where(np.abs(mono) <= ROOT_TRIM * np.max(np.abs(mono)), 0.0, mono)
        nz = np.flatnonzero(mono)
        if len(nz) == 0 or nz[-1] == 0:
            return np.array([], dtype=complex)
        return np.polynomial.polynomial.polyroots(mono[: nz[-1] + 1])


#: Relative size below which leading monomial coefficients are ignored by :meth:`Basis.roots`.
ROOT_TRIM = 1e-13


def _check_degree(n: int, name: str) -> None:
    """``n`` is an integer 0 <= n <= MAX_BASES_DEGREE (a fit's degrees are limited earlier)."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise UsageError(f"`{name}` must be an integer >= 0, got {n!r}")
    if n > MAX_BASES_DEGREE:
        raise UsageError(f"`{name}` must be at most {MAX_BASES_DEGREE}, got {n!r}")


F = Fraction

BASES: dict[str, Basis] = {
    b.name: b
    for b in [
        Basis("monomial", "powers x^i (plain PAU)", lambda n: (F(1), F(0), F(0)), None, "x^i"),
        Basis(
            "chebyshev1",
            "Chebyshev polynomials of the first kind T_n",
            lambda n: (F(1) if n == 0 else F(2), F(0), F(1)),
            "chebyshevt_poly",
            "T",
        ),
        Basis(
            "chebyshev2",
            "Chebyshev polynomials of the second kind U_n",
            lambda n: (F(2), F(0), F(1)),
            "chebyshevu_poly",
            "U",
        ),
        Basis(
            "hermite1",
            "probabilists' Hermite polynomials He_n (HP-1)",
            lambda n: (F(1), F(0), F(n)),
            "hermite_prob_poly",
            "He",
        ),
        Basis(
            "hermite2",
            "physicists' Hermite polynomials H_n (HP-2)",
            lambda n: (F(2), F(0), F(2 * n)),
            "hermite_poly",
            "H",
        ),
        Basis(
            "laguerre",
            "Laguerre polynomials L_n",
            lambda n: (F(-1, n + 1), F(2 * n + 1, n + 1), F(n, n + 1)),
            "laguerre_poly",
            "L",
        ),
        Basis(
            "legendre",
            "Legendre polynomials P_n",
            lambda n: (F(2 * n + 1, n + 1), F(0), F(n, n + 1)),
            "legendre_poly",
            "P",
        ),
    ]
}
BASIS_NAMES: tuple[str, ...] = tuple(BASES)


def get_basis(name: str | Basis) -> Basis:
    """Look up a basis by its canonical name (case-insensitive).

    Raises
    ------
    UsageError
        For an unknown name; the message lists the valid names and suggests
        the closest one.
    """
    return name if isinstance(name, Basis) else lookup(name, BASES, "basis")
