"""Rational forms g(x) = P(x) / Q(x) over a polynomial basis (docs/spec.md §3).

Coefficient convention (used everywhere in opade-fit): the numerator is
``c_0..c_k`` (k + 1 values) and the denominator ``d_1..d_l`` (l values, the
leading 1 of Q is implicit), both in increasing degree.

    P(x) = sum_{i=0..k} c_i f_i(x)

=================  ====================================================
denominator        Q(x)
=================  ====================================================
``safe``           1 + sum_j |d_j| |f_j(x)|   (safe PAU / safe OPAU)
``safe-abs-sum``   1 + |sum_j d_j f_j(x)|
``plain``          1 + sum_j d_j f_j(x)       (poles possible)
=================  ====================================================

Gradients, with sgn the sign function (Biswas et al. 2021, eqs. 8-10)::

    dg/dx   = P'/Q - P Q'/Q^2
    dg/dc_i = f_i / Q
    dg/dd_j = -sgn(d_j) |f_j| P / Q^2        (safe)
            = -sgn(B) f_j P / Q^2            (safe-abs-sum, B = sum_j d_j f_j)
            = -f_j P / Q^2                   (plain)

References
----------
.. [1] A. Molina, P. Schramowski, K. Kersting, "Padé Activation Units:
   End-to-end Learning of Flexible Activation Functions in Deep Networks",
   ICLR 2020.
.. [2] K. Biswas, S. Banerjee, A. K. Pandey, "Orthogonal-Padé Activation
   Functions: Trainable activation functions for smooth and faster
   convergence in deep networks", arXiv:2106.09693, 2021.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .bases import Basis, get_basis
from .denominators import DENOMINATORS, PLAIN, SAFE, Denominator, get_denominator
from .errors import UsageError
from .limits import MAX_DEGREE

if TYPE_CHECKING:  # sympy loads on first use of the symbolic layer only
    import sympy as sp

__all__ = [
    "DENOMINATORS",
    "Parts",
    "RationalForm",
    "SymbolicForm",
    "parse_degrees",
]


def parse_degrees(value: str | tuple[int, int] | list[int]) -> tuple[int, int]:
    """Parse ``"K/L"`` (or a pair) into ``(k, l)`` with ``k, l >= 0``.

    Raises
    ------
    UsageError
        If the value is not of the form K/L with integers K >= 0, L >= 0.
    """
    rule = "must be K/L with integers K >= 0 and L >= 0 (e.g. 5/4)"
    if isinstance(value, str):
        parts = value.strip().split("/")
        try:
            if len(parts) != 2:
                raise ValueError
            k, l = int(parts[0]), int(parts[1])
        except ValueError:
            raise UsageError(f"`degrees` {rule}; got {value!r}") from None
    else:
        try:
            k, l = value
        except (TypeError, ValueError):
            raise UsageError(f"`degrees` {rule}; got {value!r}") from None
        if not all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in (k, l)):
            raise UsageError(f"`degrees` {rule}; got {value!r}")
    if k < 0 or l < 0:
        raise UsageError(f"`degrees` {rule}; got {value!r}")
    if k > MAX_DEGREE or l > MAX_DEGREE:
        raise UsageError(f"`degrees` K and L must be at most {MAX_DEGREE}; got {value!r}")
    return int(k), int(l)


class Parts(NamedTuple):
    """Pieces of g = P/Q at the points x (each an array shaped like x).

    ``B`` is the inner sum sum_j d_j f_j (for ``safe`` it is
    sum_j |d_j| |f_j|, i.e. Q - 1).
    """

    P: np.ndarray
    dP: np.ndarray
    Q: np.ndarray
    dQ: np.ndarray
    B: np.ndarray


@dataclass(frozen=True)
class RationalForm:
    """A rational form: basis, denominator kind and degrees (k, l).

    Parameters
    ----------
    basis : str
        One of the seven basis names (``"monomial"``, ``"hermite1"`` ...).
    denominator : {"safe", "safe-abs-sum", "plain"}
        How Q is built from d_1..d_l (see module docstring).
    degrees : tuple of int
        ``(k, l)``: numerator degree k >= 0, denominator degree l >= 0.
    """

    basis: str = "monomial"
    denominator: str = "safe"
    degrees: tuple[int, int] = (5, 4)

    def __post_init__(self) -> None:
        object.__setattr__(self, "basis", get_basis(self.basis).name)
        object.__setattr__(self, "denominator", get_denominator(self.denominator).name)
        object.__setattr__(self, "degrees", parse_degrees(self.degrees))

    # -- shape ---------------------------------------------------------------
    @property
    def k(self) -> int:
        """Numerator degree."""
        return self.degrees[0]

    @property
    def l(self) -> int:  # noqa: E743
        """Denominator degree."""
        return self.degrees[1]

    @property
    def n_coefficients(self) -> int:
        """Number of free coefficients, ``k + 1 + l``."""
        return self.k + 1 + self.l

    @property
    def basis_object(self) -> Basis:
        """The :class:`~opade_fit.bases.Basis` instance."""
        return get_basis(self.basis)

    @property
    def denominator_object(self) -> Denominator:
        """The :class:`~opade_fit.denominators.Denominator` of the kind: Q and its derivatives."""
        return get_denominator(self.denominator)

    def label(self) -> str:
        """Short human label, e.g. ``"hermite1/safe (5/4)"``."""
        return f"{self.basis}/{self.denominator} ({self.k}/{self.l})"

    def split(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Split a flat vector ``[c_0..c_k, d_1..d_l]`` into (numerator, denominator)."""
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape != (self.n_coefficients,):
            raise UsageError(
                f"`theta` must have {self.n_coefficients} values for {self.label()}, "
                f"got shape {theta.shape}"
            )
        return theta[: self.k + 1], theta[self.k + 1 :]

    def _coefficients(self, numerator, denominator) -> tuple[np.ndarray, np.ndarray]:
        c = np.asarray(numerator, dtype=np.float64).reshape(-1)
        d = np.asarray(denominator, dtype=np.float64).reshape(-1)
        if c.shape != (self.k + 1,):
            raise UsageError(
                f"`numerator` must have k + 1 = {self.k + 1} values for {self.label()}, "
                f"got {c.shape[0]}"
            )
        if d.shape != (self.l,):
            raise UsageError(
                f"`denominator` must have l = {self.l} values for {self.label()}, got {d.shape[0]}"
            )
        if not (np.all(np.isfinite(c)) and np.all(np.isfinite(d))):
            raise UsageError("`numerator` and `denominator` must be finite")
        return c, d

    # -- numeric evaluation -----------------------------------------------------
    def basis_values(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """f_0..f_max(k,l) and derivatives at x; see :meth:`Basis.evaluate`."""
        return self.basis_object.evaluate(np.asarray(x, dtype=np.float64), max(self.k, self.l))

    def parts(
        self,
        x: np.ndarray,
        numerator: np.ndarray,
        denominator: np.ndarray,
        *,
        values: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Parts:
        """Evaluate P, P', Q, Q' and the inner sum B at ``x``.

        Parameters
        ----------
        x : array_like
            Points.
        numerator, denominator : array_like
            ``c_0..c_k`` and ``d_1..d_l`` (increasing degree).
        values : tuple of ndarray, optional
            Precomputed ``basis_values(x)`` (saves the recurrence in loops).
        """
        c, d = self._coefficients(numerator, denominator)
        F, dF = self.basis_values(x) if values is None else values
        k = self.k
        P = np.tensordot(c, F[: k + 1], axes=1)
        dP = np.tensordot(c, dF[: k + 1], axes=1)
        den = self.denominator_object
        # Q' at a zero of B (safe-abs-sum, to rounding) is the right-hand derivative |B'|:
        # minimax puts zeros of B on grid points, where the computed sign of B is noise
        Q, dQ = den.q(F, d), den.dq_dx(F, dF, d, right_hand=True)
        return Parts(P, dP, Q, dQ, den.inner(F, d))

    def evaluate(self, x: np.ndarray, numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
        """g(x) = P(x) / Q(x), vectorised over x (float64)."""
        p = self.parts(x, numerator, denominator)
        with np.errstate(divide="ignore", invalid="ignore"):
            return p.P / p.Q

    def derivative(
        self, x: np.ndarray, numerator: np.ndarray, denominator: np.ndarray
    ) -> np.ndarray:
        """dg/dx = P'/Q - P Q'/Q^2 (sgn(0) taken as 0 at kinks)."""
        p = self.parts(x, numerator, denominator)
        with np.errstate(divide="ignore", invalid="ignore"):
            return p.dP / p.Q - p.P * p.dQ / p.Q**2

    def jacobian(
        self,
        x: np.ndarray,
        numerator: np.ndarray,
        denominator: np.ndarray,
        *,
        values: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Jacobian of g(x) with respect to ``[c_0..c_k, d_1..d_l]``.

        Returns
        -------
        ndarray, shape (m, k + 1 + l)
            Column i < k+1 is f_i/Q; column k+1+j-1 is dg/dd_j (module docstring).
        """
        c, d = self._coefficients(numerator, denominator)
        F, dF = self.basis_values(x) if values is None else values
        p = self.parts(x, c, d, values=(F, dF))
        inv_q = 1.0 / p.Q
        dc = F[: self.k + 1] * inv_q
        factor = -p.P * inv_q**2
        dd = [dq * factor for dq in self.denominator_object.dq_dd(F, d)]
        dd = np.reshape(dd, (self.l, *dc.shape[1:]))
        return np.concatenate([dc, dd], axis=0).T

    # -- poles -------------------------------------------------------------------------
    def poles(self, denominator: np.ndarray, interval: tuple[float, float]) -> list[float]:
        """Real roots of Q in the closed ``interval`` (analytic, not sampled).

        Only ``plain`` can vanish: ``safe`` and ``safe-abs-sum`` have Q >= 1,
        so the list is empty for them. For ``plain`` the roots of
        ``1 + sum_j d_j f_j`` are computed from the companion matrix of its
        exact monomial expansion; a root counts as real when its imaginary
        part is below ``1e-9 * max(1, |root|)``.

        Returns
        -------
        list of float
            Sorted roots a <= r <= b.
        """
        d = np.asarray(denominator, dtype=np.float64)
        if d.shape != (self.l,):
            raise UsageError(f"`denominator` must have l = {self.l} values, got {d.shape}")
        if self.denominator != "plain" or self.l == 0:
            return []
        roots = self.basis_object.roots(np.concatenate([[1.0], d]))
        a, b = interval
        # a double root (Q touching 0) comes out of the companion matrix as a
        # complex pair with |imag| ~ sqrt(eps); accept near-real roots where Q
        # really vanishes relative to the size of its terms
        cand = [r for r in roots if abs(r.imag) <= 1e-6 * max(1.0, abs(r)) and a <= r.real <= b]
        real = []
        for r in cand:
            xr = np.array([r.real])
            F, _ = self.basis_object.evaluate(xr, self.l)
            q = float(PLAIN.q(F, d)[0])
            size = float(SAFE.q(F, d)[0])  # 1 + sum_j |d_j f_j|: the size of Q's terms
            if abs(r.imag) <= 1e-9 * max(1.0, abs(r)) or abs(q) <= 1e-7 * size:
                real.append(float(r.real))
        return sorted(real)

    # -- symbolic ------------------------------------------------------------------------
    def symbolic(self) -> SymbolicForm:
        """The exact symbolic g, dg/dx, dg/dc_i, dg/dd_j (sympy); cached per form."""
        return _symbolic(self.basis, self.denominator, self.degrees)


@dataclass(frozen=True)
class SymbolicForm:
    """Symbolic g = P/Q and its derivatives, in the real symbols x, c_i, d_j.

    The basis polynomials are substituted exactly (rational coefficients).
    """

    form: RationalForm
    x: sp.Symbol
    c: tuple[sp.Symbol, ...]
    d: tuple[sp.Symbol, ...]
    P: sp.Expr
    Q: sp.Expr
    g: sp.Expr
    dg_dx: sp.Expr
    dg_dc: tuple[sp.Expr, ...]
    dg_dd: tuple[sp.Expr, ...]

    def items(self) -> list[tuple[str, sp.Expr]]:
        """(name, expression) pairs in print order."""
        out = [("P(x)", self.P), ("Q(x)", self.Q), ("g(x)", self.g), ("dg/dx", self.dg_dx)]
        out += [(f"dg/d{s}", e) for s, e in zip(self.c, self.dg_dc, strict=True)]
        out += [(f"dg/d{s}", e) for s, e in zip(self.d, self.dg_dd, strict=True)]
        return out

    def lambdify(self) -> dict[str, object]:
        """Numpy callables ``f(x, c, d)`` for every expression (test oracle)."""
        import sympy as sp

        args = [self.x, list(self.c), list(self.d)]
        return {name: sp.lambdify(args, e, modules="numpy") for name, e in self.items()}


@functools.cache
def _symbolic(basis: str, denominator: str, degrees: tuple[int, int]) -> SymbolicForm:
    import sympy as sp

    form = RationalForm(basis, denominator, degrees)
    k, l = degrees
    polys = get_basis(basis).sympy_polys(max(k, l))
    x = sp.Symbol("x", real=True)
    # the basis layer uses its own real symbol named x; make them one symbol
    polys = [p.subs(sp.Symbol("x", real=True), x) for p in polys]
    c = tuple(sp.Symbol(f"c{i}", real=True) for i in range(k + 1))
    d = tuple(sp.Symbol(f"d{j}", real=True) for j in range(1, l + 1))
    P = sum((ci * polys[i] for i, ci in enumerate(c)), sp.Integer(0))
    Q = form.denominator_object.sympy(polys, d)
    g = P / Q
    return SymbolicForm(
        form=form,
        x=x,
        c=c,
        d=d,
        P=P,
        Q=Q,
        g=g,
        dg_dx=sp.diff(g, x),
        dg_dc=tuple(sp.diff(g, ci) for ci in c),
        dg_dd=tuple(sp.diff(g, dj) for dj in d),
    )
