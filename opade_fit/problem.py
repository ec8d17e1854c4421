"""The discretised fitting problem shared by the least-squares and minimax solvers.

A :class:`FitSpec` says *what* to fit (form, target, interval, grid,
objective, weighting, derivative weight, zero-centring); :func:`build_problem`
turns it into arrays: the grid, target values, weights, basis values and the
exact linear parametrisation of the numerator that imposes the zero-centring
constraint.

Zero-centring (docs/spec.md §5.1)
-----------------------
g(0) = 0 iff P(0) = sum_i c_i f_i(0) = 0, with the exact values f_i(0) from
sympy. The admissible numerators are ``c = N z`` for a free vector z, where
N is built exactly (rational entries) so that the constraint holds to
rounding error for every z:

* ``none``: N = I.
* ``all-zero``: every c_i with f_i(0) != 0 is 0 (N drops those columns).
* ``general``: c_p = -sum_{i != p} f_i(0) c_i / f_p(0) for a pivot p
  (the highest-degree i with f_i(0) != 0).
* ``drop-one``: additionally c_q = 0 for the dropped q (pivot p != q).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import UsageError, suggest
from .forms import RationalForm
from .limits import (
    MAX_GRID_VALUES,
    MAX_INTERVAL_END,
    MIN_INTERVAL_WIDTH,
    MIN_RELATIVE_WEIGHT,
    check_magnitude,
)
from .targets import Target, get_target

if TYPE_CHECKING:  # sympy loads when a zero-centred fit needs exact relations
    import sympy as sp

__all__ = [
    "CENTER_MODES",
    "OBJECTIVES",
    "FitSpec",
    "Problem",
    "build_problem",
    "center_parametrisation",
    "default_check_interval",
    "parse_weight",
]

OBJECTIVES: tuple[str, ...] = ("l2", "max")
CENTER_MODES: tuple[str, ...] = ("none", "general", "drop-one", "all-zero")
#: Default number of uniform grid points of the fit: the grid on which RMS is reported
#: (result.RMS_POINTS), so least squares minimises exactly the reported RMS.
DEFAULT_POINTS = 4001
#: The default check interval is the fit interval scaled by this factor about its centre.
CHECK_SCALE = 5.0 / 3.0


def default_check_interval(interval: tuple[float, float]) -> tuple[float, float]:
    """The default check interval: ``interval`` scaled by :data:`CHECK_SCALE` about its centre.

    [-3, 3] -> [-5, 5].
    """
    a, b = (float(v) for v in interval)
    mid, half = (a + b) / 2, (b - a) / 2 * CHECK_SCALE
    return (mid - half, mid + half)


def parse_weight(weight: str) -> tuple[str, float | None]:
    """Parse ``"uniform"``, ``"normal"`` or ``"normal:SIGMA"`` -> (kind, sigma).

    Raises
    ------
    UsageError
        For any other value or a non-positive / non-finite SIGMA.
    """
    text = str(weight).strip().lower()
    if text == "uniform":
        return "uniform", None
    if text == "normal":
        return "normal", 1.0
    if text.startswith("normal:"):
        try:
            sigma = float(text.split(":", 1)[1])
        except ValueError:
            sigma = float("nan")
        if not (math.isfinite(sigma) and sigma > 0):
            raise UsageError(f"`weight` normal:SIGMA needs a finite SIGMA > 0, got {weight!r}")
        return "normal", sigma
    raise UsageError(
        f"`weight` must be 'uniform', 'normal' or 'normal:SIGMA', got {weight!r}"
        + suggest(text, ["uniform", "normal"])
    )


def _canonical_weight(weight: str) -> str:
    kind, sigma = parse_weight(weight)
    if kind == "uniform":
        return "uniform"
    return "normal" if sigma == 1.0 else f"normal:{sigma:g}"


def _check_interval(value, name: str) -> tuple[float, float]:
    """Two real numbers A < B (not a string), within the limits of :mod:`opade_fit.limits`."""
    rule = f"`{name}` must be two numbers A B with A < B"
    if isinstance(value, str | bytes) or not hasattr(value, "__len__") or len(value) != 2:
        raise UsageError(f"{rule}, got {value!r}")
    if not all(
        isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool | np.bool_)
        for v in value
    ):
        raise UsageError(f"{rule}, got {value!r}")
    a, b = (float(v) for v in value)
    if not (math.isfinite(a) and math.isfinite(b)):
        raise UsageError(f"`{name}` must have finite ends, got [{a:g}, {b:g}]")
    if not a < b:
        raise UsageError(f"`{name}` must satisfy A < B, got [{a:g}, {b:g}]")
    if max(abs(a), abs(b)) > MAX_INTERVAL_END:
        raise UsageError(
            f"`{name}` ends must be at most {MAX_INTERVAL_END:g} in magnitude, got [{a:g}, {b:g}]"
        )
    if b - a < MIN_INTERVAL_WIDTH * max(1.0, abs(a), abs(b)):
        raise UsageError(
            f"`{name}` must be at least {MIN_INTERVAL_WIDTH:g} * max(1, |A|, |B|) wide, "
            f"got [{a:.17g}, {b:.17g}]"
        )
    return a, b


def _weights(x: np.ndarray, weight: str) -> np.ndarray:
    """Grid weights w(x) before normalisation: 1, or exp(-x^2 / (2 sigma^2))."""
    kind, sigma = parse_weight(weight)
    if kind == "uniform":
        return np.ones_like(x)
    with np.errstate(under="ignore", over="ignore"):
        return np.exp(-0.5 * (x / sigma) ** 2)


@dataclass(frozen=True)
class FitSpec:
    """Everything that defines one fit (validated on construction).

    Parameters
    ----------
    target : Target
    form : RationalForm
    interval : (float, float)
        Fit interval [a, b], a < b.
    objective : {"l2", "max"}
    points : int
        Uniform grid points on the fit interval (>= number of free coefficients).
    check_interval : (float, float)
        Wider interval on which errors are also reported.
    weight : str
        ``"uniform"``, ``"normal"`` or ``"normal:SIGMA"`` (canonical spelling).
    derivative_weight : float
        lambda >= 0 of the derivative residual lambda*(g' - f').
    center : {"none", "general", "drop-one", "all-zero"}
    drop : str or None
        ``"cI"`` for ``drop-one``; None lets the fitter try each candidate.
    """

    target: Target
    form: RationalForm
    interval: tuple[float, float] = (-3.0, 3.0)
    objective: str = "l2"
    points: int = DEFAULT_POINTS
    check_interval: tuple[float, float] | None = None
    weight: str = "uniform"
    derivative_weight: float = 0.0
    center: str = "none"
    drop: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "interval", _check_interval(self.interval, "interval"))
        if self.check_interval is None:
            object.__setattr__(self, "check_interval", default_check_interval(self.interval))
        else:
            ca, cb = _check_interval(self.check_interval, "check_interval")
            object.__setattr__(self, "check_interval", (ca, cb))
        obj = str(self.objective).strip().lower()
        if obj not in OBJECTIVES:
            raise UsageError(
                f"`objective` must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}"
                + suggest(obj, OBJECTIVES)
            )
        object.__setattr__(self, "objective", obj)
        object.__setattr__(self, "weight", _canonical_weight(self.weight))
        lam = self.derivative_weight
        if (
            isinstance(lam, bool)
            or not isinstance(lam, int | float)
            or not math.isfinite(lam)
            or lam < 0
        ):
            raise UsageError(f"`derivative_weight` must be a finite number >= 0, got {lam!r}")
        if lam != 0 and obj == "max":
            # the minimax objective bounds max |g - f| only; a weight would be recorded unused
            raise UsageError(
                f"`derivative_weight` applies to least squares (objective l2) only; the minimax "
                f"objective fits max |g - f| and cannot use it, got {lam!r} with objective max"
            )
        object.__setattr__(self, "derivative_weight", float(lam))
        check_magnitude(self.derivative_weight, "`derivative_weight`")
        center = str(self.center).strip().lower()
        if center not in CENTER_MODES:
            raise UsageError(
                f"`center` must be one of {', '.join(CENTER_MODES)}, got {self.center!r}"
                + suggest(center, CENTER_MODES)
            )
        object.__setattr__(self, "center", center)
        if self.drop is not None:
            if center != "drop-one":
                raise UsageError(
                    f"`drop` is only valid with center='drop-one', got center={center!r}"
                )
            _drop_index(self.form, self.drop)  # validates
        if isinstance(self.points, bool) or not isinstance(self.points, int | np.integer):
            raise UsageError(f"`points` must be an integer, got {self.points!r}")
        object.__setattr__(self, "points", int(self.points))
        if self.points < max(self.form.n_coefficients, 2):
            raise UsageError(
                f"`points` must be at least the number of coefficients "
                f"({self.form.n_coefficients}) and 2, got {self.points}"
            )
        n = self.form.n_coefficients
        if self.points * n > MAX_GRID_VALUES:
            raise UsageError(
                f"`points` times the {n} coefficients of degrees {self.form.k}/{self.form.l} must "
                f"be at most {MAX_GRID_VALUES}: at most {MAX_GRID_VALUES // n} points, "
                f"got {self.points}"
            )
        w = _weights(np.linspace(*self.interval, self.points), self.weight)
        used = int(np.count_nonzero(w >= MIN_RELATIVE_WEIGHT * w.max())) if w.max() > 0 else 0
        if used < self.form.n_coefficients:
            raise UsageError(
                f"`weight` {self.weight} leaves {used} of the {self.points} grid points with a "
                f"weight of at least {MIN_RELATIVE_WEIGHT:g} of the largest; the fit needs "
                f"{self.form.n_coefficients} (one per coefficient): choose a larger SIGMA"
            )
        self.target.check_finite(self.interval)
        try:
            self.target.check_finite(self.check_interval)
        except UsageError as exc:
            msg = f"{exc} (the check interval; choose another with `check_interval`)"
            raise UsageError(msg) from None

    def with_(self, **changes) -> FitSpec:
        """A copy with some fields changed (re-validated)."""
        return replace(self, **changes)


def _drop_index(form: RationalForm, drop: str) -> int:
    values = form.basis_object.values_at_zero(form.k)
    cands = [f"c{i}" for i, v in enumerate(values) if v != 0]
    text = str(drop).strip().lower()
    if not (text.startswith("c") and text[1:].isdigit()) or text not in cands:
        raise UsageError(
            f"`drop` must name a numerator coefficient with f_i(0) != 0 for "
            f"{form.basis} at k={form.k}: one of {', '.join(cands) or '(none)'}; got {drop!r}"
        )
    return int(text[1:])


def drop_candidates(form: RationalForm) -> list[str]:
    """The coefficients ``drop-one`` may drop: c_i with f_i(0) != 0."""
    return [f"c{i}" for i, v in enumerate(form.basis_object.values_at_zero(form.k)) if v != 0]


def center_parametrisation(
    form: RationalForm, mode: str, drop: str | None = None
) -> tuple[np.ndarray, str | None]:
    """Exact numerator parametrisation c = N z for a zero-centring mode.

    Returns
    -------
    N : ndarray, shape (k + 1, n_free)
        Built from exact rationals, converted to float once.
    constraint : str or None
        The relation that holds, e.g. ``"c0 - c2 + 3*c4 = 0"`` (None for ``none``).
    """
    import sympy as sp

    k = form.k
    v = list(form.basis_object.values_at_zero(k))
    c = sp.symbols(f"c0:{k + 1}")
    if mode == "none":
        return np.eye(k + 1), None
    nonzero = [i for i in range(k + 1) if v[i] != 0]
    relation = sp.Add(*[v[i] * c[i] for i in nonzero])
    if mode == "all-zero":
        keep = [i for i in range(k + 1) if v[i] == 0]
        N = np.zeros((k + 1, len(keep)))
        for col, i in enumerate(keep):
            N[i, col] = 1.0
        text = ", ".join(f"c{i} = 0" for i in nonzero) or "P(0) = 0"
        return N, text
    forced = set()
    if mode == "drop-one":
        if drop is None:
            raise UsageError("`drop` must be given to build the drop-one parametrisation")
        forced.add(_drop_index(form, drop))
    pivots = [i for i in nonzero if i not in forced]
    free = [i for i in range(k + 1) if i not in forced]
    rows: list[list[sp.Rational]] = [[sp.Integer(0)] * len(free) for _ in range(k + 1)]
    if pivots:
        p = pivots[-1]
        free = [i for i in free if i != p]
        rows = [[sp.Integer(0)] * len(free) for _ in range(k + 1)]
        for col, i in enumerate(free):
            rows[i][col] = sp.Integer(1)
            rows[p][col] = -sp.Rational(v[i]) / sp.Rational(v[p])
    else:
        for col, i in enumerate(free):
            rows[i][col] = sp.Integer(1)
    N = np.array([[float(e) for e in r] for r in rows], dtype=np.float64).reshape(k + 1, len(free))
    text = f"{sp.sstr(relation)} = 0" if relation != 0 else "P(0) = 0"
    if forced:
        text = ", ".join(f"c{q} = 0" for q in sorted(forced)) + ", " + text
    return N, text


@dataclass(frozen=True)
class Problem:
    """Arrays of a discretised fit (see module docstring)."""

    spec: FitSpec
    x: np.ndarray
    f: np.ndarray
    df: np.ndarray
    sqrt_w: np.ndarray  # sqrt of normalised weights, sum(w) = 1
    F: np.ndarray  # basis values, shape (max(k,l)+1, m)
    dF: np.ndarray
    N: np.ndarray  # numerator parametrisation c = N z
    constraint: str | None
    dropped: str | None
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def form(self) -> RationalForm:
        return self.spec.form


def build_problem(spec: FitSpec, *, drop: str | None = None) -> Problem:
    """Discretise ``spec`` (uniform grid) and build the numerator parametrisation."""
    a, b = spec.interval
    x = np.linspace(a, b, spec.points)
    f = spec.target(x)
    df = spec.target.derivative(x)
    w = _weights(x, spec.weight)
    w = w / w.sum()
    with np.errstate(over="ignore", invalid="ignore"):
        F, dF = spec.form.basis_values(x)
    _check_data(spec, f=f, df=df, F=F, dF=dF)
    dropped = drop if drop is not None else spec.drop
    N, constraint = center_parametrisation(spec.form, spec.center, dropped)
    return Problem(spec, x, f, df, np.sqrt(w), F, dF, N, constraint, dropped)


def _check_data(spec: FitSpec, **arrays: np.ndarray) -> None:
    """Refuse non-finite or huge grid data before any solver (LAPACK) sees it.

    LAPACK prints its own messages on stdout (``DLASCL ... illegal value``) for such data,
    so it must never be reached with it; the target was checked on a coarser sample.
    """
    what = {
        "f": f"`target` {spec.target.label()}",
        "df": f"the derivative of `target` {spec.target.label()}",
        "F": f"the {spec.form.basis} basis of `degrees` {spec.form.k}/{spec.form.l}",
        "dF": f"the derivative of the {spec.form.basis} basis",
    }
    a, b = spec.interval
    for name, values in arrays.items():
        size = float(np.max(np.abs(values))) if np.all(np.isfinite(values)) else math.inf
        check_magnitude(size, f"{what[name]} on the grid of the `interval` [{a:g}, {b:g}]")


def make_spec(
    target: str | Target,
    *,
    basis: str = "monomial",
    denominator: str = "safe",
    degrees: tuple[int, int] | str = (5, 4),
    params: Mapping[str, float] | None = None,
    **fields: Any,
) -> FitSpec:
    """Validate keyword arguments into a :class:`FitSpec` (see :func:`opade_fit.fit`).

    ``basis``, ``denominator`` and ``degrees`` make the :class:`RationalForm`, ``target``
    and ``params`` the :class:`~opade_fit.targets.Target` (:func:`get_target`); ``fields``
    are the other :class:`FitSpec` fields (``interval``, ``objective``, ``points``,
    ``check_interval``, ``weight``, ``derivative_weight``, ``center``, ``drop``), whose
    defaults are FitSpec's.
    """
    form = RationalForm(basis, denominator, degrees)
    return FitSpec(target=get_target(target, params), form=form, **fields)
