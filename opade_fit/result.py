"""The fit result: a frozen object that is also the JSON fit record (schema 1.0).

``FitResult.to_dict()`` is exactly what ``opade fit --json`` prints and what a
table entry holds; ``FitResult.from_dict(record)`` rebuilds the object from a
record (e.g. a table entry) so it can evaluate itself. See ``docs/record.md``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._version import __version__
from .errors import UsageError
from .forms import RationalForm
from .record import SCHEMA_VERSION
from .targets import Target, get_target

__all__ = ["FitResult", "form_and_target", "measure_errors"]

#: Points of the dense grid on which ``max_abs`` is measured (issue: >= 100,001).
DENSE_POINTS = 100_001
#: Points of the uniform grid on which ``rms`` is measured (issue: >= 4,001).
RMS_POINTS = 4_001


def measure_errors(
    form: RationalForm,
    target: Target,
    numerator: np.ndarray,
    denominator: np.ndarray,
    interval: tuple[float, float],
) -> dict[str, float]:
    """Max-abs and RMS error of g against f (value and derivative) on ``interval``.

    ``max_abs`` is the maximum of |g - f| over a uniform grid of
    :data:`DENSE_POINTS` points (so it is the true maximum to about 3
    significant digits); ``rms`` is sqrt(mean((g - f)^2)) over
    :data:`RMS_POINTS` uniform points, i.e. the RMS over the interval. The
    ``derivative_*`` entries are the same for g' - f' (at kinks f' is the
    right-hand derivative).

    Returns
    -------
    dict
        ``max_abs, rms, derivative_max_abs, derivative_rms`` (floats; +inf is
        replaced by the largest float only if g has a pole, see ``poles``).
    """
    a, b = interval
    out = {}
    for key, n in (("max", DENSE_POINTS), ("rms", RMS_POINTS)):
        x = np.linspace(a, b, n)
        F = form.basis_values(x)
        p = form.parts(x, numerator, denominator, values=F)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            g = p.P / p.Q
            dg = p.dP / p.Q - p.P * p.dQ / p.Q**2
            e = np.abs(g - target(x))
            de = np.abs(dg - target.derivative(x))
            if key == "max":
                out["max_abs"] = _finite_max(e)
                out["derivative_max_abs"] = _finite_max(de)
            else:
                out["rms"] = _finite(float(np.sqrt(np.mean(e**2))))
                out["derivative_rms"] = _finite(float(np.sqrt(np.mean(de**2))))
    return out


def _finite(v: float) -> float:
    return v if math.isfinite(v) else float(np.finfo(np.float64).max)


def _finite_max(e: np.ndarray) -> float:
    return _finite(float(np.max(e))) if np.all(np.isfinite(e)) else float(np.finfo(np.float64).max)


def form_and_target(record: dict[str, Any]) -> tuple[RationalForm, Target]:
    """Rebuild the :class:`RationalForm` and :class:`Target` a record describes."""
    try:
        f = record["form"]
        t = record["target"]
        form = RationalForm(f["basis"], f["denominator"], tuple(f["degrees"]))
        if t["name"] == "expression":
            target = get_target(t["expression"])
        else:
            target = get_target(t["name"], t.get("params") or {})
    except (KeyError, TypeError) as exc:
        raise UsageError(f"`record` is not a fit record (schema 1.x): missing {exc}") from None
    return form, target


@dataclass(frozen=True)
class FitResult:
    """Result of :func:`opade_fit.fit` (always the same fields, whatever the objective).

    Attributes
    ----------
    form : RationalForm
    target : Target
    numerator : tuple of float
        c_0..c_k (increasing degree).
    denominator : tuple of float
        d_1..d_l (increasing degree; the leading 1 of Q is implicit).
    success : bool
    status : int
        Solver status code (see ``message``).
    message : str
    record : dict
        The full JSON record (schema 1.0), see ``docs/record.md``.
    """

    form: RationalForm
    target: Target
    numerator: tuple[float, ...]
    denominator: tuple[float, ...]
    success: bool
    status: int
    message: str
    record: dict[str, Any] = field(repr=False, compare=False)

    @property
    def errors(self) -> dict[str, Any]:
        """``record["errors"]``: fit and check interval errors."""
        return self.record["errors"]

    @property
    def certificate(self) -> dict[str, Any] | None:
        """Minimax certificate (lower/upper bound, gap) or None for ``l2``."""
        return self.record.get("certificate")

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """g(x) with the fitted coefficients (float64)."""
        return self.form.evaluate(np.asarray(x, dtype=np.float64), self.numerator, self.denominator)

    def derivative(self, x: np.ndarray) -> np.ndarray:
        """g'(x) with the fitted coefficients (float64)."""
        return self.form.derivative(
            np.asarray(x, dtype=np.float64), self.numerator, self.denominator
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON record, as a deep copy (changing it leaves the result as it is)."""
        return copy.deepcopy(self.record)

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> FitResult:
        """Rebuild a result from a record (e.g. a table entry)."""
        major = next(iter(record.get("schema_version") or [None]))
        if major != SCHEMA_VERSION[0]:
            raise UsageError(
                f"`record` has schema_version {record.get('schema_version')!r}; "
                f"this opade-fit reads major version {SCHEMA_VERSION[0]}"
            )
        form, target = form_and_target(record)
        coef = record["coefficients"]
        solver = record.get("solver", {})
        return cls(
            form=form,
            target=target,
            numerator=tuple(float(v) for v in coef["numerator"]),
            denominator=tuple(float(v) for v in coef["denominator"]),
            success=bool(solver.get("success", True)),
            status=int(solver.get("status", 0)),
            message=str(solver.get("message", "")),
            record=record,
        )


def tool_block() -> dict[str, str]:
    """``{"name": "opade-fit", "version": ...}``."""
    return {"name": "opade-fit", "version": __version__}
