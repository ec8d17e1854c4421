"""Denominators Q(x) of the rational forms: one object per kind, written once.

The contract is docs/spec.md §3 (forms) and §3.1-3.2 (gradients, kinks).
A rational form is g = P/Q with P(x) = sum_{i=0..k} c_i f_i(x) and a
denominator built from d_1..d_l (the leading 1 implicit) over the same
basis f_j (:mod:`opade_fit.bases`). There are three kinds:

=================  ==========================  ===============================
kind               Q(x)                        dQ/dd_j
=================  ==========================  ===============================
``safe``           1 + sum_j |d_j| |f_j(x)|    sgn(d_j) |f_j(x)|
``safe-abs-sum``   1 + |B(x)|                  sgn(B(x)) f_j(x)
``plain``          1 + B(x)                    f_j(x)
=================  ==========================  ===============================

with the inner sum ``B = sum_j d_j f_j`` (for ``safe``, :meth:`~Denominator.inner`
is ``sum_j |d_j| |f_j| = Q - 1``). Every kind has the shape

    Q = 1 + h(sum_j w(d_j) phi(f_j(x))),    each of h, w, phi the identity or |.|,

recorded on the kind as ``outer_abs`` (h; the same fact as ``sign_pattern``),
``d_abs`` (w; the same fact as ``nonnegative_d``) and ``f_abs`` (phi):
``safe`` is (h, w, phi) = (id, |.|, |.|), ``safe-abs-sum`` (|.|, id, id) and
``plain`` (id, id, id). The chain rule on that shape gives every derivative
(dQ/dd_j = h'(B) w'(d_j) phi(f_j), Q' = h'(B) sum_j w(d_j) phi'(f_j) f_j'); a
consumer that evaluates Q as matrix products over stacked rows (the PyTorch
layer's eager blocks) uses the shape, and tests check that it reproduces
these methods. ``safe`` and ``safe-abs-sum`` have
Q >= 1; ``plain`` can vanish (poles). Each kind is an instance of
:class:`Denominator` in :data:`DENOMINATOR_KINDS`, looked up by
:func:`get_denominator`. Its methods are the one place where Q and its
derivatives are written, for every consumer: framework layers (``xp=torch``,
``xp=keras.ops``), :class:`opade_fit.forms.RationalForm` and its sympy form,
the least-squares solver (one-sided derivatives at d_j = 0, ``one_sided=True``)
and the minimax LPs (:meth:`Denominator.linear_rows` and the attributes
``nonnegative_d``, ``sign_pattern``, ``lp_q_min``, ``lp_q_min_imposed``). No
other module writes Q or its derivatives: :mod:`opade_fit.forms`,
:mod:`opade_fit.lsq`, :mod:`opade_fit.minimax` and the framework layers
(:mod:`opade_fit.torch`, :mod:`opade_fit.keras`) all evaluate through it.

Array API
---------
Every numeric method takes

``f``
    the basis values f_0(x), ..., f_n(x) as a *sequence* of arrays (item i is
    degree i; n >= l), e.g. the first result of
    :func:`opade_fit.bases.basis_values`; a numpy array of shape (n + 1, m)
    is such a sequence too;
``df``
    the derivatives f_0'(x), ..., f_n'(x) in the same layout;
``d``
    the coefficients d_1..d_l as a sequence of length l (``d[j - 1]`` is
    d_j), each item broadcasting against the values: a float, a 0-d tensor,
    or a per-channel tensor shaped ``(1, C, 1, ...)``;
``xp``
    the array namespace: a module providing elementwise ``abs``, ``sign``,
    ``where``, ``ones_like`` and ``zeros_like`` — ``numpy`` (the default),
    ``torch`` and ``keras.ops`` work as they are (:data:`SYMPY` does the same
    for sympy expressions).

Only ``+ - * /`` and those functions are used. Sums over j run term by
term in increasing j (:func:`opade_fit.bases.series`), so torch and keras
compute the same numbers in the same dtype; stacked numpy values with numpy
coefficients are summed by one BLAS reduction instead (the arithmetic of the
solvers' matrix products), which agrees to rounding; so are stacked torch
values (:func:`opade_fit.bases.stacked`: degree on axis 0, coefficients
shaped ``(l,)`` or per channel ``(l, 1, C, 1, ...)``), where each elementwise
step is one call on the whole stack. Lists returned per j
(:meth:`~Denominator.dq_dd` ...) are elementwise and identical in every
library; for stacked ``f`` and ``d`` they are one array of shape (l, ...).
With l = 0, Q = 1 and every derivative list is empty.

Sign convention at kinks
------------------------
``sgn`` is ``xp.sign`` (sgn(0) = 0): the derivative of |v| at v = 0 is 0, the
convention of autograd in torch and keras and of the tests' sympy oracle.
With ``one_sided=True`` the signs of d_j and of B use sgn(0) = +1 instead:
the derivative from the side an optimiser stays on (the variables d_j >= 0
of ``safe`` at their bound 0, and the sign pattern s = +1 of B for
``safe-abs-sum``). The sign of f_j(x) keeps sgn(0) = 0 in both conventions.
``dq_dx(..., right_hand=True)`` is the convention of the reported g'
(:meth:`opade_fit.forms.RationalForm.derivative`): where B vanishes to
rounding (``|B| <= B_ZERO_RTOL * sum_j |d_j f_j|``; minimax puts zeros of B on
grid points, where the computed sign of B is noise) Q' of ``safe-abs-sum`` is
the right-hand derivative |B'| of |B|.

A framework layer
-----------------
The forward values and the closed-form gradients (docs/spec.md §3.1; OPAU
paper eqs. 8-10) follow from these pieces; ``table = get_basis(name).recurrence_table(max(k, l))``
and ``den = get_denominator(kind)``::

    f, df = basis_values(x, table, xp=xp, derivatives=True)
    P, dP = series(f, c), series(df, c)          # c = (c_0, ..., c_k)
    Q, dQ = den.q(f, d, xp=xp), den.dq_dx(f, df, d, xp=xp)
    g = P / Q
    dg_dx = dP / Q - P * dQ / Q**2               # eq. 8
    dg_dc[i] = f[i] / Q                          # eq. 9
    dg_dd[j - 1] = -P / Q**2 * den.dq_dd(f, d, xp=xp)[j - 1]   # eq. 10

A backward pass multiplies each by the incoming gradient and, for shared or
per-channel coefficients, sums over the axes the coefficient was broadcast
along. ``derivatives=False`` suffices when dg/dx is not needed.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np

from .bases import series, stacked
from .errors import lookup

if TYPE_CHECKING:  # sympy loads on first use of the symbolic layer only
    import sympy as sp

__all__ = [
    "B_ZERO_RTOL",
    "DENOMINATORS",
    "DENOMINATOR_KINDS",
    "PLAIN",
    "PLAIN_LP_Q_MIN",
    "SAFE",
    "SAFE_ABS_SUM",
    "Denominator",
    "get_denominator",
]

#: ``plain``: the minimax LPs keep Q >= PLAIN_LP_Q_MIN at their points (pole-free there).
PLAIN_LP_Q_MIN = 1e-3
#: ``safe-abs-sum``: |B| <= B_ZERO_RTOL * sum_j |d_j f_j| counts as B = 0 (a kink of |B|)
#: for ``dq_dx(..., right_hand=True)``: Q' there is the right-hand derivative |B'|, not
#: sign(rounding noise) * B'.
B_ZERO_RTOL = 64 * np.finfo(np.float64).eps


@functools.cache
def _sympy_namespace() -> SimpleNamespace:
    import sympy as sp

    return SimpleNamespace(
        abs=sp.Abs,
        sign=sp.sign,
        where=lambda cond, a, b: sp.Piecewise((a, cond), (b, True)),
        ones_like=lambda v: sp.Integer(1),
        zeros_like=lambda v: sp.Integer(0),
    )


def __getattr__(name: str) -> Any:
    """``SYMPY``, the array namespace for sympy expressions (``xp=SYMPY``; sgn(0) = 0 as
    ``sympy.sign``), is built on first use so that importing this module does not load sympy."""
    if name == "SYMPY":
        return _sympy_namespace()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _rows(values: Sequence[Any], l: int) -> Sequence[Any]:
    """Items 1..l of per-degree values (a list slice, or an array view for stacked arrays)."""
    return values[1 : l + 1]


def _each(fn: Any, *rows: Sequence[Any]) -> Any:
    """``fn`` elementwise over per-degree rows: once on stacked arrays, else row by row."""
    if all(isinstance(r, np.ndarray) or stacked(r) for r in rows):
        return fn(*rows)
    return [fn(*items) for items in zip(*rows, strict=True)]


def _column(d: Any, rows: Any) -> Any:
    """Stacked coefficients d_1..d_l shaped to broadcast against stacked rows (l, ...)."""
    return d if d.ndim == rows.ndim else d.reshape((-1,) + (1,) * (rows.ndim - 1))


def _sgn(v: Any, xp: Any, one_sided: bool) -> Any:
    """sgn(v) with sgn(0) = 0, or with sgn(0) = +1 when ``one_sided``."""
    return xp.where(v >= 0, 1.0, -1.0) if one_sided else xp.sign(v)


@dataclass(frozen=True)
class Denominator:
    """One denominator kind: Q, its derivatives, its LP rows and its sympy form.

    The numeric methods follow the array-API convention of the module
    docstring (``f``, ``df``, ``d``, ``xp``). This base class is abstract;
    the three kinds are :data:`SAFE`, :data:`SAFE_ABS_SUM` and :data:`PLAIN`.

    Attributes
    ----------
    name : str
        The kind's one spelling (CLI, JSON records, tables).
    formula : str
        Q in plain text, e.g. ``"1 + sum_j |d_j| |f_j(x)|"``.
    nonnegative_d : bool
        Q depends on |d_j| only, so solvers may use variables d_j >= 0 (then
        Q = 1 + sum_j d_j |f_j| is linear in them).
    sign_pattern : bool
        Q is linear in d only for a fixed sign pattern s(x) of B (then
        1 + s B = Q where s B >= 0); pass ``sign=s`` to :meth:`linear_rows`.
    lp_q_min : float
        Lower bound on the linear Q at the minimax LP points.
    lp_q_min_imposed : bool
        Whether the LP needs side constraints for ``lp_q_min`` (False when
        the linear Q is >= 1 by construction).
    f_abs : bool
        The shape ``Q = 1 + h(sum_j w(d_j) phi(f_j))`` (module docstring): whether
        phi is |.| (else the identity). Whether w and h are is not stated twice: it is
        ``nonnegative_d`` (:attr:`d_abs`) and ``sign_pattern`` (:attr:`outer_abs`).
    """

    name: str
    formula: str
    nonnegative_d: bool = False
    sign_pattern: bool = False
    lp_q_min: float = PLAIN_LP_Q_MIN
    lp_q_min_imposed: bool = True
    f_abs: bool = False

    @property
    def d_abs(self) -> bool:
        """w = |.| in the shape: Q depends on |d_j| only, i.e. ``nonnegative_d``."""
        return self.nonnegative_d

    @property
    def outer_abs(self) -> bool:
        """h = |.| in the shape: Q = 1 + |B| is linear in d only under a sign pattern of B,
        i.e. ``sign_pattern``."""
        return self.sign_pattern

    def inner(self, f: Sequence[Any], d: Sequence[Any], *, xp: Any = np) -> Any:
        """The inner sum: ``sum_j d_j f_j``, or ``sum_j |d_j| |f_j|`` for ``safe``.

        Returns
        -------
        array
            Shaped like ``f[0]``; zeros when l = 0.
        """
        if len(d) == 0:
            return xp.zeros_like(f[0])
        return series(_rows(f, len(d)), d)

    def q(self, f: Sequence[Any], d: Sequence[Any], *, xp: Any = np) -> Any:
        """Q(x) (table in the module docstring); dimensionless, shaped like ``f[0]``."""
        return 1 + self.inner(f, d, xp=xp)

    def dq_dx(
        self,
        f: Sequence[Any],
        df: Sequence[Any],
        d: Sequence[Any],
        *,
        xp: Any = np,
        one_sided: bool = False,
        right_hand: bool = False,
    ) -> Any:
        """Q'(x) = dQ/dx, in units of 1/x (sgn conventions: module docstring).

        ``right_hand``: at a zero of B (``safe-abs-sum`` only, within
        :data:`B_ZERO_RTOL`) the right-hand derivative |B'|; the other kinds
        have no kink in B and ignore it.
        """
        if len(d) == 0:
            return xp.zeros_like(f[0])
        return series(_rows(df, len(d)), d)

    def dq_dd(
        self, f: Sequence[Any], d: Sequence[Any], *, xp: Any = np, one_sided: bool = False
    ) -> Sequence[Any]:
        """dQ/dd_j for j = 1..l (item j - 1), each shaped like the values.

        A list, or for stacked ``f`` and ``d`` one array of shape (l, ...).
        """
        if stacked(f) and stacked(d):
            return _rows(f, len(d))
        return [f[j] for j in range(1, len(d) + 1)]

    def dq_dx_dd(
        self,
        f: Sequence[Any],
        df: Sequence[Any],
        d: Sequence[Any],
        *,
        xp: Any = np,
        one_sided: bool = False,
    ) -> Sequence[Any]:
        """d(Q')/dd_j for j = 1..l: what a fit matching g' needs (units 1/x); stacked as
        :meth:`dq_dd`."""
        if stacked(df) and stacked(d):
            return _rows(df, len(d))
        return [df[j] for j in range(1, len(d) + 1)]

    def linear_rows(
        self, f: Sequence[Any], l: int, *, sign: Any = None, xp: Any = np
    ) -> Sequence[Any]:
        """Rows phi_1..phi_l with ``Q = 1 + sum_j d_j phi_j`` where that is linear in d.

        ``phi_j = |f_j|`` for ``safe`` (with d_j >= 0 standing for |d_j|) and
        ``f_j`` otherwise, each multiplied by ``sign`` when it is given: the
        fixed sign pattern s(x) of B for ``safe-abs-sum`` (linear where
        s B >= 0, a side constraint of the LPs), or a scalar (0 drops the
        denominator, e.g. a polynomial start). Used by the linearised
        least-squares starts and the minimax LPs.

        Returns
        -------
        sequence of array
            A list, or for stacked numpy values an array of shape (l, m).
        """
        rows = self._unsigned_rows(f, l, xp)
        return rows if sign is None else _each(lambda v: v * sign, rows)

    def _unsigned_rows(self, f: Sequence[Any], l: int, xp: Any) -> Sequence[Any]:
        return _rows(f, l)

    def sympy(self, f: Sequence[sp.Expr], d: Sequence[sp.Expr]) -> sp.Expr:
        """Q as a sympy expression of the basis polynomials ``f`` and symbols ``d``."""
        import sympy as sp

        return sp.sympify(self.q(f, d, xp=_sympy_namespace()))


@dataclass(frozen=True)
class _Safe(Denominator):
    """Q = 1 + sum_j |d_j| |f_j| (safe PAU / safe OPAU)."""

    def inner(self, f, d, *, xp=np):
        if len(d) == 0:
            return xp.zeros_like(f[0])
        return series(_each(xp.abs, _rows(f, len(d))), _each(xp.abs, d))

    def dq_dx(self, f, df, d, *, xp=np, one_sided=False, right_hand=False):
        if len(d) == 0:
            return xp.zeros_like(f[0])
        l = len(d)
        terms = _each(lambda v, dv: xp.sign(v) * dv, _rows(f, l), _rows(df, l))
        return series(terms, _each(xp.abs, d))

    def dq_dd(self, f, d, *, xp=np, one_sided=False):
        if stacked(f) and stacked(d):
            rows = _rows(f, len(d))
            return _sgn(_column(d, rows), xp, one_sided) * xp.abs(rows)
        return [_sgn(v, xp, one_sided) * xp.abs(f[j]) for j, v in enumerate(d, start=1)]

    def dq_dx_dd(self, f, df, d, *, xp=np, one_sided=False):
        if stacked(f) and stacked(df) and stacked(d):
            rows, drows = _rows(f, len(d)), _rows(df, len(d))
            return _sgn(_column(d, rows), xp, one_sided) * (xp.sign(rows) * drows)
        return [_sgn(v, xp, one_sided) * (xp.sign(f[j]) * df[j]) for j, v in enumerate(d, start=1)]

    def _unsigned_rows(self, f, l, xp):
        return _each(xp.abs, _rows(f, l))


@dataclass(frozen=True)
class _SafeAbsSum(Denominator):
    """Q = 1 + |sum_j d_j f_j|."""

    def q(self, f, d, *, xp=np):
        return 1 + xp.abs(self.inner(f, d, xp=xp))

    def dq_dx(self, f, df, d, *, xp=np, one_sided=False, right_hand=False):
        if len(d) == 0:
            return xp.zeros_like(f[0])
        B = self.inner(f, d, xp=xp)
        dB = PLAIN.dq_dx(f, df, d, xp=xp)
        out = _sgn(B, xp, one_sided) * dB
        if right_hand:  # B = 0 to rounding: the right-hand derivative of |B|
            zero = xp.abs(B) <= B_ZERO_RTOL * SAFE.inner(f, d, xp=xp)
            out = xp.where(zero, xp.abs(dB), out)
        return out

    def dq_dd(self, f, d, *, xp=np, one_sided=False):
        if len(d) == 0:
            return []
        s = _sgn(self.inner(f, d, xp=xp), xp, one_sided)
        return _each(lambda r: s * r, PLAIN.dq_dd(f, d))

    def dq_dx_dd(self, f, df, d, *, xp=np, one_sided=False):
        if len(d) == 0:
            return []
        s = _sgn(self.inner(f, d, xp=xp), xp, one_sided)
        return _each(lambda r: s * r, PLAIN.dq_dx_dd(f, df, d))


#: ``safe``: Q = 1 + sum_j |d_j| |f_j(x)| >= 1.
SAFE: Denominator = _Safe(
    "safe",
    "1 + sum_j |d_j| |f_j(x)|",
    nonnegative_d=True,
    lp_q_min=1.0,
    lp_q_min_imposed=False,
    f_abs=True,
)
#: ``safe-abs-sum``: Q = 1 + |sum_j d_j f_j(x)| >= 1.
SAFE_ABS_SUM: Denominator = _SafeAbsSum(
    "safe-abs-sum", "1 + |sum_j d_j f_j(x)|", sign_pattern=True, lp_q_min=1.0
)
#: ``plain``: Q = 1 + sum_j d_j f_j(x) (poles possible).
PLAIN: Denominator = Denominator("plain", "1 + sum_j d_j f_j(x)")

#: Every kind by its name, in the canonical order.
DENOMINATOR_KINDS: dict[str, Denominator] = {den.name: den for den in (SAFE, SAFE_ABS_SUM, PLAIN)}
#: The kinds' names: ``("safe", "safe-abs-sum", "plain")``.
DENOMINATORS: tuple[str, ...] = tuple(DENOMINATOR_KINDS)


def get_denominator(name: str | Denominator) -> Denominator:
    """The kind named ``name`` (case and blanks ignored), or ``name`` itself if it is one.

    An unknown name is a :class:`~opade_fit.errors.UsageError` listing the kinds
    (:func:`opade_fit.errors.lookup`).
    """
    return name if isinstance(name, Denominator) else lookup(name, DENOMINATOR_KINDS, "denominator")
