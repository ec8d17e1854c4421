"""Published initial coefficients of other rational-activation libraries, and their errors.

The facts live in ``tables/reference/published.json`` (copied, with source and
commit of every entry, from the libraries' repositories; see
``tables/reference/README.md``). This module loads them, evaluates each entry
with the formula it was *fitted* with and with the formula the library's
kernels *evaluate* it with at run time, and measures both against our targets.

Formulas (P(x) = sum_i a_i x^i, numerator a_0..a_m, increasing degree):

=======  ====================================  =============================
formula  Q(x)                                  opade-fit form
=======  ====================================  =============================
``A``    1 + sum_{k=1..n} |b_k| |x|^k          ``monomial/safe``
``B``    1 + |sum_{k=1..n} b_k x^k|            ``monomial/safe-abs-sum``
``C``    0.1 + |sum_{k=0..n} b_k x^k|          (none; denominator b_0..b_n)
``D``    stored and evaluated as ``B``         ``monomial/safe-abs-sum``
``N``    1 + sum_{k=1..n} b_k x^k              ``monomial/plain``
=======  ====================================  =============================

Formulas A, B, D and N are evaluated by :class:`~opade_fit.forms.RationalForm`
(one code path with our own fits); only C has its own small evaluation.

References
----------
.. [1] A. Molina, P. Schramowski, K. Kersting, "Padé Activation Units",
   ICLR 2020 (``ml-research/pau``, ``ml-research/rational_activations``).
.. [2] X. Yang, X. Wang, "Kolmogorov-Arnold Transformer", 2024
   (``Adamdad/rational_kat_cu``).
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import FitError, UsageError
from .forms import RationalForm
from .result import DENSE_POINTS, RMS_POINTS
from .targets import Target, get_target

__all__ = [
    "COMPARISON_INTERVALS",
    "FORMULAS",
    "PublishedEntry",
    "evaluate_formula",
    "formula_form",
    "load_published",
    "published_about",
    "reference_target",
    "tables_dir",
]

#: The formula letters used in ``published.json``.
FORMULAS: tuple[str, ...] = ("A", "B", "C", "D", "N")

#: Intervals on which published entries are compared with ours.
COMPARISON_INTERVALS: tuple[tuple[float, float], ...] = ((-3.0, 3.0), (-5.0, 5.0))

_FORMULA_DENOMINATOR = {"A": "safe", "B": "safe-abs-sum", "D": "safe-abs-sum", "N": "plain"}

#: Targets of the published entries that are not built-in names (x * gelu(x), x * swish(x)).
_EXPRESSION_TARGETS = {
    "geglu": "x**2*(1 + erf(x/sqrt(2)))/2",
    "swishglu": "x**2/(1 + exp(-x))",
}

_PUBLISHED_FILE = ("reference", "published.json")


def tables_dir() -> Path:
    """The folder holding the committed tables (``tables/`` of the repository).

    An installed wheel carries it as package data ``opade_fit/_tables`` (read
    through :mod:`importlib.resources`); a source checkout or an editable
    install reads ``<repo>/tables``.

    Raises
    ------
    FitError
        If neither location exists (a broken install).
    """
    packaged = importlib.resources.files("opade_fit") / "_tables"
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parent.parent / "tables"
    if checkout.is_dir():
        return checkout
    raise FitError(
        f"cannot find the opade-fit tables: neither {str(packaged)!r} nor {str(checkout)!r} "
        "exists (reinstall opade-fit)"
    )


def formula_form(formula: str, degrees: Sequence[int]) -> RationalForm | None:
    """Our :class:`RationalForm` equal to a published ``formula`` (None for ``C``).

    Raises
    ------
    UsageError
        If ``formula`` is not one of :data:`FORMULAS`.
    """
    if formula not in FORMULAS:
        raise UsageError(f"`formula` must be one of {', '.join(FORMULAS)}; got {formula!r}")
    if formula == "C":
        return None
    return RationalForm("monomial", _FORMULA_DENOMINATOR[formula], tuple(degrees))


def evaluate_formula(
    formula: str, x: np.ndarray, numerator: Sequence[float], denominator: Sequence[float]
) -> np.ndarray:
    """Evaluate P/Q with a published formula (see the module docstring).

    Parameters
    ----------
    formula : {"A", "B", "C", "D", "N"}
    x : array_like
        Points (float64).
    numerator : sequence of float
        a_0..a_m, increasing degree.
    denominator : sequence of float
        b_1..b_n (formula C: b_0..b_n), increasing degree.
    """
    x = np.asarray(x, dtype=np.float64)
    a = np.asarray(numerator, dtype=np.float64)
    b = np.asarray(denominator, dtype=np.float64)
    form = formula_form(formula, (a.size - 1, b.size - (1 if formula == "C" else 0)))
    if form is not None:
        return form.evaluate(x, a, b)
    # formula C: Q = 0.1 + |sum_{k=0..n} b_k x^k|; Horner is exact enough at n <= 8
    p = np.polynomial.polynomial.polyval(x, a)
    q = 0.1 + np.abs(np.polynomial.polynomial.polyval(x, b))
    return p / q


def reference_target(name: str) -> Target:
    """Our :class:`Target` for a published target name.

    ``leaky_relu`` has slope 0.01 (``leaky_relu_0.1``: 0.1), ``swish`` is
    x*sigmoid(x), ``geglu`` = x*gelu(x) and ``swishglu`` = x*swish(x) are
    expression targets.
    """
    if name in _EXPRESSION_TARGETS:
        return get_target(_EXPRESSION_TARGETS[name])
    base, _, slope = name.partition("_0.")
    if base == "leaky_relu" and slope:
        return get_target("leaky_relu", {"negative_slope": float("0." + slope)})
    if name == "leaky_relu":
        return get_target("leaky_relu", {"negative_slope": 0.01})
    return get_target(name)


@dataclass(frozen=True)
class PublishedEntry:
    """One published initialisation (facts copied from a library; see the README).

    Attributes
    ----------
    id, library, where : str
        Identifier, library (repository or package) and file it comes from.
    commit : str or None
        Commit of the file (None for a package release).
    fitted_formula : str
        Formula the coefficients were fitted with.
    runtime_formula : str
        Formula the library evaluates them with (equal to ``fitted_formula``
        unless the library evaluates them differently).
    degrees : tuple of int
        (m, n) numerator and denominator degrees.
    target_name : str
        The library's target name (``leaky_relu_0.1``, ``geglu`` ...).
    interval : tuple of float
        Interval the library claims it fitted on.
    numerator, denominator : tuple of float
        As stored (increasing degree; formula C includes b_0).
    """

    id: str
    library: str
    where: str
    commit: str | None
    fitted_formula: str
    runtime_formula: str
    degrees: tuple[int, int]
    target_name: str
    interval: tuple[float, float]
    numerator: tuple[float, ...]
    denominator: tuple[float, ...]

    @property
    def formula_differs(self) -> bool:
        """True when the runtime formula is not the fitted one."""
        return self.runtime_formula != self.fitted_formula

    @property
    def target(self) -> Target:
        """Our target for this entry (see :func:`reference_target`)."""
        return reference_target(self.target_name)

    def evaluate(self, x: np.ndarray, formula: str | None = None) -> np.ndarray:
        """g(x) with ``formula`` (default: the runtime formula, what users really get)."""
        return evaluate_formula(
            formula or self.runtime_formula, x, self.numerator, self.denominator
        )

    def form(self, formula: str | None = None) -> RationalForm | None:
        """Our form equal to ``formula`` (default runtime), None for formula C."""
        return formula_form(formula or self.runtime_formula, self.degrees)

    def errors(self, interval: tuple[float, float], formula: str | None = None) -> dict[str, float]:
        """``{"max_abs", "rms"}`` of g - f on ``interval`` with ``formula``.

        Measured as :func:`opade_fit.result.measure_errors` does: the maximum
        over :data:`~opade_fit.result.DENSE_POINTS` uniform points and the RMS
        over :data:`~opade_fit.result.RMS_POINTS`.
        """
        return _errors(self, tuple(float(v) for v in interval), formula or self.runtime_formula)


@functools.cache
def _errors(entry: PublishedEntry, interval: tuple[float, float], formula: str) -> dict[str, float]:
    a, b = interval
    target = entry.target
    out: dict[str, float] = {}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        x = np.linspace(a, b, DENSE_POINTS)
        e = np.abs(entry.evaluate(x, formula) - target(x))
        out["max_abs"] = float(np.max(e)) if np.all(np.isfinite(e)) else float("inf")
        x = np.linspace(a, b, RMS_POINTS)
        e = entry.evaluate(x, formula) - target(x)
        out["rms"] = float(np.sqrt(np.mean(e**2)))
    return out


def _entry(raw: dict[str, Any]) -> PublishedEntry:
    fitted = raw["fitted_formula"]
    return PublishedEntry(
        id=raw["id"],
        library=raw["library"],
        where=raw["where"],
        commit=raw.get("commit"),
        fitted_formula=fitted,
        runtime_formula=raw.get("runtime_formula") or fitted,
        degrees=(int(raw["degrees"][0]), int(raw["degrees"][1])),
        target_name=raw["target"],
        interval=(float(raw["interval"][0]), float(raw["interval"][1])),
        numerator=tuple(float(v) for v in raw["numerator"]),
        denominator=tuple(float(v) for v in raw["denominator"]),
    )


@functools.cache
def _load(path: str) -> tuple[str, tuple[PublishedEntry, ...]]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return data["about"], tuple(_entry(e) for e in data["entries"])
    except OSError as exc:
        raise FitError(f"cannot read {path!r}: {exc.strerror or exc}") from None
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise FitError(f"{path!r} is not a published-reference file: {exc}") from None


def _published_path() -> str:
    return str(tables_dir().joinpath(*_PUBLISHED_FILE))


def load_published() -> tuple[PublishedEntry, ...]:
    """All published entries, in file order."""
    return _load(_published_path())[1]


def published_about() -> str:
    """The file's ``about`` text (what formulas A/B/C/D/N mean)."""
    return _load(_published_path())[0]
