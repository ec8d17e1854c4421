"""The identity of a fit, :class:`FitKey`, and the one filter language over it.

A fit record, a spec entry and a :func:`~opade_fit.tables.get_init` request
all name a fit by the same twelve inputs; :class:`FitKey` holds them as named
fields and is the only place that builds a fit's one-line label and its
``opade fit`` command.

Filters (``opade tables regenerate/check --only``, the lookup of
:func:`~opade_fit.tables.get_init`, ``opade report --bases/--targets``) are
one language: ``FIELD=VALUE[|VALUE...][,FIELD=VALUE...]``, parsed by
:func:`parse_filter` into ``{field: {canonical value strings}}`` and applied
by :func:`matches` (terms AND-ed, values OR-ed) on canonical strings: a
key's :meth:`FitKey.field_value`, or a record's values where the report and
``opade tables list`` build the terms from their options.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import FitError, UsageError, suggest
from ..problem import DEFAULT_POINTS, default_check_interval

__all__ = ["FILTER_FIELDS", "KEY_FIELDS", "Filter", "FitKey", "matches", "parse_filter"]

#: Fields a ``--only`` filter can name (``group`` is the spec group's name).
FILTER_FIELDS: tuple[str, ...] = (
    "group",
    "basis",
    "denominator",
    "degrees",
    "target",
    "center",
    "weight",
    "objective",
)

#: Every field of a :class:`FitKey`, in order, plus ``params`` as a filter field of its own.
KEY_FIELDS: tuple[str, ...] = (
    "basis",
    "denominator",
    "degrees",
    "target",
    "params",
    "interval",
    "check_interval",
    "points",
    "objective",
    "weight",
    "derivative_weight",
    "center",
)

#: A parsed filter: field name -> the canonical value strings it accepts.
Filter = Mapping[str, frozenset[str]]


def fmt_num(v: float) -> str:
    """A number as the labels print it (``%g``)."""
    return f"{v:g}"


@dataclass(frozen=True)
class FitKey:
    """The identity of a fit: its inputs, not its results (equal keys = the same table entry).

    Attributes
    ----------
    basis, denominator : str
        The form's basis and denominator kind.
    degrees : (int, int)
        Numerator and denominator degrees (k, l).
    target : str
        Built-in target name (``"expression"`` in a record of a parsed expression).
    params : tuple of (str, float)
        Every target parameter, sorted by name.
    interval, check_interval : (float, float)
        Fit and check intervals, in units of x.
    points : int
        Fit grid points.
    objective, weight, center : str
        Objective (``l2``/``max``), canonical weighting, zero-centring mode.
    derivative_weight : float
        Weight lambda of the derivative term (dimensionless).

    Notes
    -----
    ``center.dropped`` is not part of the key (for ``drop = "best"`` it is a result).
    """

    basis: str
    denominator: str
    degrees: tuple[int, int]
    target: str
    params: tuple[tuple[str, float], ...]
    interval: tuple[float, float]
    check_interval: tuple[float, float]
    points: int
    objective: str
    weight: str
    derivative_weight: float
    center: str

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> FitKey:
        """The key of a fit record (schema 1.x).

        Raises
        ------
        FitError
            ``record`` lacks a field of the key or has one of the wrong type.
        """
        try:
            form, target = record["form"], record["target"]
            return cls(
                basis=form["basis"],
                denominator=form["denominator"],
                degrees=tuple(form["degrees"]),
                target=target["name"],
                params=tuple(sorted((k, float(v)) for k, v in target["params"].items())),
                interval=tuple(float(v) for v in record["interval"]),
                check_interval=tuple(float(v) for v in record["errors"]["check"]["interval"]),
                points=int(record["grid"]["points"]),
                objective=record["objective"],
                weight=record["weight"],
                derivative_weight=float(record["derivative_weight"]),
                center=record["center"]["mode"],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise FitError(f"not a fit record (schema 1.x): missing or bad field {exc}") from None

    @classmethod
    def from_spec(cls, spec: Any, *, points: int | None = None) -> FitKey:
        """The key of a validated :class:`~opade_fit.problem.FitSpec` (``points`` overrides).

        A parsed expression keys as its text with no parameters (no table holds one;
        this names it as the user wrote it).
        """
        t = spec.target
        expression = t.name == "expression"
        return cls(
            basis=spec.form.basis,
            denominator=spec.form.denominator,
            degrees=tuple(spec.form.degrees),
            target=t.expression if expression else t.name,
            params=() if expression else tuple(sorted((k, float(v)) for k, v in t.params)),
            interval=tuple(spec.interval),
            check_interval=tuple(spec.check_interval),
            points=int(spec.points if points is None else points),
            objective=spec.objective,
            weight=spec.weight,
            derivative_weight=float(spec.derivative_weight),
            center=spec.center,
        )

    def label(self) -> str:
        """A one-line description, e.g. ``hermite1/safe 5/4 gelu on [-3, 3], objective l2, ...``.

        Derivative weight, grid points and check interval appear only when not the defaults.
        """
        p = ", ".join(f"{k}={fmt_num(v)}" for k, v in self.params)
        (a, b), (ca, cb) = self.interval, self.check_interval
        text = (
            f"{self.basis}/{self.denominator} {self.degrees[0]}/{self.degrees[1]} "
            f"{self.target}{f'({p})' if p else ''} on [{fmt_num(a)}, {fmt_num(b)}], "
            f"objective {self.objective}, weight {self.weight}, center {self.center}"
        )
        if self.derivative_weight:
            text += f", derivative weight {fmt_num(self.derivative_weight)}"
        if self.points != DEFAULT_POINTS or self.check_interval != default_check_interval(
            self.interval
        ):
            text += f", {self.points} points, check [{fmt_num(ca)}, {fmt_num(cb)}]"
        return text

    def fit_command(self, *, drop: str | None = None) -> str:
        """The ``opade fit`` command whose record has this key (``drop``: ``--drop``)."""
        parts = ["opade", "fit", "--basis", self.basis, "--target", self.target]
        for k, v in self.params:
            parts += ["--param", f"{k}={v!r}"]
        parts += ["--denominator", self.denominator]
        parts += ["--degrees", f"{self.degrees[0]}/{self.degrees[1]}"]
        parts += ["--interval", repr(float(self.interval[0])), repr(float(self.interval[1]))]
        if tuple(self.check_interval) != default_check_interval(self.interval):
            check = self.check_interval
            parts += ["--check-interval", repr(float(check[0])), repr(float(check[1]))]
        if self.points != DEFAULT_POINTS:
            parts += ["--points", str(self.points)]
        parts += ["--objective", self.objective, "--weight", self.weight, "--center", self.center]
        if drop:
            parts += ["--drop", drop]
        if self.derivative_weight:
            parts += ["--derivative-weight", repr(float(self.derivative_weight))]
        parts += ["--json", "--out", "FILE.json"]
        return shlex.join(parts)

    def field_value(self, name: str) -> str:
        """The canonical string of field ``name`` (one of :data:`KEY_FIELDS`), as filters match it.

        ``degrees`` is ``K/L``; ``params`` ``name=value,...``; intervals ``a,b``;
        numbers in ``repr`` (exact) form.
        """
        if name == "degrees":
            return f"{self.degrees[0]}/{self.degrees[1]}"
        if name == "params":
            return ",".join(f"{k}={float(v)!r}" for k, v in self.params)
        if name in ("interval", "check_interval"):
            a, b = getattr(self, name)
            return f"{float(a)!r},{float(b)!r}"
        if name == "derivative_weight":
            return repr(float(self.derivative_weight))
        return str(getattr(self, name))

    def matches(self, terms: Filter, **extra: str | Iterable[str]) -> bool:
        """Whether every term of a parsed filter holds (:func:`matches`) on this key's values.

        ``extra`` supplies or replaces fields (``group=`` of a spec entry).
        """
        return matches(terms, lambda n: extra[n] if n in extra else self.field_value(n))

    def filter(self, fields: Sequence[str]) -> dict[str, frozenset[str]]:
        """The filter that matches exactly this key's values of ``fields``."""
        return {n: frozenset({self.field_value(n)}) for n in fields}


def matches(terms: Filter, value: Callable[[str], str | Iterable[str]]) -> bool:
    """Whether an object passes a filter: for every field of ``terms``, one of its values
    (``value(field)``: a canonical string, or several, e.g. a target's name and its label)
    is among the values the term accepts (terms AND-ed, a term's values OR-ed).
    """
    for name, accepted in terms.items():
        v = value(name)
        if not (v in accepted if isinstance(v, str) else any(x in accepted for x in v)):
            return False
    return True


def parse_filter(
    text: str, *, fields: Sequence[str] = FILTER_FIELDS, option: str = "--only"
) -> dict[str, frozenset[str]]:
    """Parse a filter: ``FIELD=VALUE[|VALUE...][,FIELD=VALUE...]``.

    Terms separated by commas must all hold (AND); values separated by ``|``
    are alternatives (OR). Fields: ``fields`` (default :data:`FILTER_FIELDS`);
    ``degrees`` is written ``K/L``. Example:
    ``basis=hermite1|hermite2,target=gelu,objective=max``.

    Raises
    ------
    UsageError
        Empty filter, a term without ``=``, an unknown or repeated field (the
        message names ``option``).
    """
    terms: dict[str, frozenset[str]] = {}
    if not str(text).strip():
        raise UsageError(f"`{option}` filter is empty; expected FIELD=VALUE[,FIELD=VALUE...]")
    for term in str(text).split(","):
        name, sep, values = term.strip().partition("=")
        name = name.strip().lower()
        if not sep or not name or not values.strip():
            raise UsageError(
                f"`{option}` term {term.strip()!r} must be FIELD=VALUE (e.g. basis=hermite1); "
                f"fields: {', '.join(fields)}"
            )
        if name not in fields:
            raise UsageError(
                f"`{option}` field {name!r} is not one of {', '.join(fields)}"
                + suggest(name, fields)
            )
        if name in terms:
            raise UsageError(
                f"`{option}` names field {name!r} twice; write alternatives as {name}=A|B"
            )
        terms[name] = frozenset(v.strip() for v in values.split("|") if v.strip())
    return terms
