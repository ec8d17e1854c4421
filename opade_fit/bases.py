"""Polynomial bases f_0, f_1, ... of the numerator and denominator.

Seven families are supported (SPEC §2). Each is defined once by its
three-term recurrence, written in the common form

    f_0(x) = 1,   f_1(x) = a_0 x + b_0,
    f_{n+1}(x) = (a_n x + b_n) f_n(x) - c_n f_{n-1}(x),

and that single table drives both layers:

* the **exact** layer (:meth:`Basis.sympy_poly`) runs the recurrence in
  rational arithmetic with sympy, giving integer / rational coefficients;
  tests compare it with sympy's own named polynomials;
* the **numeric** layer (:meth:`Basis.evaluate`) runs the same recurrence in
  float64, vectorised over x, together with the derivative recurrence
  ``f'_{n+1} = a_n f_n + (a_n x + b_n) f'_n - c_n f'_{n-1}``.

An expanded high-degree monomial form is never evaluated numerically.
Coefficient vectors are always in increasing degree.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from .errors import UsageError, suggest
from .limits import MAX_BASES_DEGREE

if TYPE_CHECKING:  # sympy loads on first use of the exact layer only
    import sympy as sp

__all__ = ["BASES", "BASIS_NAMES", "Basis", "get_basis"]

Recurrence = Callable[[int], tuple[Fraction, Fraction, Fraction]]


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
    def _float_recurrence(self, n: int) -> np.ndarray:
        return np.array([[float(v) for v in self.recurrence(i)] for i in range(max(n, 1))])

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
            ``F[i] = f_i(x)`` and ``dF[i] = f_i'(x)``, computed by the
            three-term recurrence and its derivative.
        """
        _check_degree(n, "n")
        x = np.asarray(x, dtype=np.float64)
        F = np.empty((n + 1, *x.shape))
        dF = np.empty_like(F)
        F[0] = 1.0
        dF[0] = 0.0
        rec = self._float_recurrence(n)
        for i in range(n):
            a, b, c = rec[i]
            F[i + 1] = (a * x + b) * F[i]
            dF[i + 1] = a * F[i] + (a * x + b) * dF[i]
            if i > 0 and c != 0.0:
                F[i + 1] -= c * F[i - 1]
                dF[i + 1] -= c * dF[i - 1]
        return F, dF

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
    if isinstance(name, Basis):
        return name
    key = str(name).strip().lower()
    if key not in BASES:
        raise UsageError(
            f"`basis` must be one of {', '.join(BASIS_NAMES)}; got {name!r}"
            + suggest(key, BASIS_NAMES)
        )
    return BASES[key]
