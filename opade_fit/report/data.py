"""Report data: fit records read through the tables reader, grouped and tabulated.

No drawing here: :mod:`.figures` draws, :mod:`.page` writes the HTML. Records
are plain dicts (schema 1.x); table files are read with
:func:`opade_fit.tables.store.read_table`, single records through its
:func:`~opade_fit.tables.store.check_schema`: one reader, one schema check.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..bases import BASIS_NAMES, get_basis
from ..errors import UsageError
from ..reference import COMPARISON_INTERVALS
from ..result import form_and_target, measure_errors
from ..tables.key import matches
from ..tables.store import check_schema, check_table, read_json, read_table
from ..targets import TARGET_NAMES, get_target

__all__ = [
    "CENTER_BASES",
    "CENTER_MODES",
    "ENTRY_BASES",
    "METRICS",
    "SCOPES",
    "GroupKey",
    "HeatmapData",
    "format_error",
    "heatmap_data",
    "read_records",
    "target_label",
]

#: Bases that get one figure per table entry (HP-1, HP-2 and PAU).
ENTRY_BASES: tuple[str, ...] = ("hermite1", "hermite2", "monomial")
#: Zero-centring cases, in the order they are shown.
CENTER_MODES: tuple[str, ...] = ("none", "general", "drop-one", "all-zero")
#: Bases whose zero-centring cost is shown.
CENTER_BASES: tuple[str, ...] = ("hermite1", "hermite2")
#: Error metrics shown: (record key, readable name).
METRICS: tuple[tuple[str, str], ...] = (("rms", "RMS error"), ("max_abs", "max error"))
#: Error scopes shown: (record key, readable name).
SCOPES: tuple[tuple[str, str], ...] = (("fit", "fit interval"), ("check", "check interval"))


def format_error(value: float | None) -> str:
    """An error to 3 significant digits, compact exponent: ``8.13e-4``; ``—`` if missing."""
    if value is None or not math.isfinite(value):
        return "—" if value is None or math.isnan(value) else "inf"
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.2e}".split("e")
    return f"{mantissa}e{int(exponent)}"


@dataclass(frozen=True)
class HeatmapData:
    """Cells of an error heatmap: ``values[i, j]`` for ``rows[i]`` × ``cols[j]`` (NaN: none).

    ``texts[i][j]`` is exactly what is printed in the cell
    (:func:`format_error` of the value).
    """

    title: str
    rows: tuple[str, ...]
    cols: tuple[str, ...]
    values: np.ndarray

    @property
    def texts(self) -> tuple[tuple[str, ...], ...]:
        """Cell texts, row by row."""
        return tuple(
            tuple(format_error(None if math.isnan(v) else float(v)) for v in row)
            for row in self.values
        )


def read_records(paths: Iterable[str | os.PathLike[str]]) -> list[dict[str, Any]]:
    """Read fit records from table files (``{"schema_version", "entries": [...]}``) and
    single-record files.

    Table files go through :func:`opade_fit.tables.store.read_table` (the tables'
    reader, with its schema-version check); a folder is read as every ``*.json``
    file directly in it, sorted by name (sub-folders such as ``reference/`` are
    not read). A single record must carry a ``schema_version`` of the same major.

    Raises
    ------
    UsageError
        If a path does not exist, a folder holds no ``*.json`` file, or a file
        holds neither a table nor a fit record.
    FitError
        If a file cannot be read, or has another major schema version.
    """
    records: list[dict[str, Any]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.glob("*.json") if p.is_file())
            if not files:
                raise UsageError(f"`--tables` folder {str(path)!r} holds no *.json table files")
            for f in files:
                records.extend(_table_records(read_table(f), f))
        elif path.is_file():
            records.extend(_file_records(path))
        else:
            raise UsageError(f"`RECORD` {str(path)!r} does not exist")
    return records


def _table_records(doc: dict[str, Any], path: Path) -> list[dict[str, Any]]:
    entries = doc["entries"]
    bad = [i for i, e in enumerate(entries) if not _is_record(e)]
    if bad:
        raise UsageError(
            f"{str(path)!r}: entry {bad[0]} is not a fit record "
            "(schema 1.x: `form`, `target`, `coefficients`, `errors`, `interval`)"
        )
    return entries


def _file_records(path: Path) -> list[dict[str, Any]]:
    data = read_json(path, what=repr(str(path)), invalid=UsageError)
    if isinstance(data, dict) and "entries" in data:
        return _table_records(check_table(data, f"table {str(path)!r}"), path)
    if _is_record(data):
        check_schema(data, f"record {str(path)!r}")
        return [data]
    raise UsageError(
        f"{str(path)!r} is neither a fit record nor a table of fit records "
        "(schema 1.x: `form`, `target`, `coefficients`, `errors`)"
    )


def _is_record(obj: Any) -> bool:
    return isinstance(obj, dict) and all(
        k in obj for k in ("form", "target", "coefficients", "errors", "interval")
    )


def _center(record: dict[str, Any]) -> str:
    return (record.get("center") or {}).get("mode") or "none"


def _basis(record: dict[str, Any]) -> str:
    return record["form"]["basis"]


def _den(record: dict[str, Any]) -> str:
    return record["form"]["denominator"]


def _obj(record: dict[str, Any]) -> str:
    return record.get("objective", "l2")


@functools.cache
def _label(name: str, params: tuple[tuple[str, float], ...], expression: str) -> str:
    if name == "expression":
        return get_target(expression).expression
    defaults = get_target(name).params
    given = dict(params)
    if all(given.get(k, v) == v for k, v in defaults):
        return name
    return get_target(name, given).label()


def target_label(record: dict[str, Any]) -> str:
    """Column label of a record's target: its name, with parameters only when not default."""
    t = record["target"]
    params = tuple(sorted((t.get("params") or {}).items()))
    return _label(t["name"], params, t.get("expression") or "")


def _target_order(label: str) -> tuple[int, str]:
    name = label.split("(")[0]
    return (TARGET_NAMES.index(name), label) if name in TARGET_NAMES else (len(TARGET_NAMES), label)


class GroupKey(NamedTuple):
    """What records sharing one heatmap have in common (all but basis, target and centring)."""

    denominator: str
    objective: str
    degrees: tuple[int, int]
    interval: tuple[float, float]
    weight: str
    derivative_weight: float

    @classmethod
    def of(cls, record: dict[str, Any]) -> GroupKey:
        """The group of a fit record."""
        return cls(
            _den(record),
            _obj(record),
            tuple(record["form"]["degrees"]),
            tuple(float(v) for v in record["interval"]),
            record.get("weight", "uniform"),
            float(record.get("derivative_weight", 0.0) or 0.0),
        )

    def title(self) -> str:
        """E.g. ``safe, objective l2, degrees 5/4, fit [-3, 3]`` (weights when not default)."""
        (k, l), (a, b) = self.degrees, self.interval
        text = (
            f"{self.denominator}, objective {self.objective}, degrees {k}/{l}, fit [{a:g}, {b:g}]"
        )
        if self.weight != "uniform":
            text += f", weight {self.weight}"
        if self.derivative_weight:
            text += f", derivative weight {self.derivative_weight:g}"
        return text

    def suffix(self) -> str:
        """File-name part for what distinguishes a group beyond denominator and objective."""
        text = f"{self.degrees[0]}-{self.degrees[1]}"
        if self.interval != (-3.0, 3.0):
            text += f"-{self.interval[0]:g}-{self.interval[1]:g}"
        if self.weight != "uniform":
            text += f"-{self.weight}"
        if self.derivative_weight:
            text += f"-dw{self.derivative_weight:g}"
        return text

    def order(self) -> tuple:
        """Sort key: denominators in their canonical order, l2 before max, then the rest."""
        from ..forms import DENOMINATORS

        den = DENOMINATORS.index(self.denominator) if self.denominator in DENOMINATORS else 9
        return (den, self.objective != "l2", tuple(self[2:]))


def _error(record: dict[str, Any], scope: str, metric: str) -> float:
    v = ((record.get("errors") or {}).get(scope) or {}).get(metric)
    return float("nan") if v is None else float(v)


def heatmap_data(
    records: Sequence[dict[str, Any]],
    *,
    metric: str = "rms",
    scope: str = "fit",
    title: str = "",
) -> HeatmapData:
    """Basis × target matrix of ``errors[scope][metric]`` for records of one group.

    Rows follow the canonical basis order, columns the built-in target order
    (then expressions). If two records fall in one cell, the first one wins.
    ``HeatmapData.texts`` are the exact strings printed in the cells.

    Raises
    ------
    UsageError
        If ``metric`` or ``scope`` is unknown.
    """
    if metric not in ("rms", "max_abs"):
        raise UsageError(f"`metric` must be 'rms' or 'max_abs'; got {metric!r}")
    if scope not in ("fit", "check"):
        raise UsageError(f"`scope` must be 'fit' or 'check'; got {scope!r}")
    rows = tuple(b for b in BASIS_NAMES if any(_basis(r) == b for r in records))
    cols = tuple(sorted({target_label(r) for r in records}, key=_target_order))
    values = np.full((len(rows), len(cols)), np.nan)
    seen: set[tuple[int, int]] = set()
    for r in records:
        cell = (rows.index(_basis(r)), cols.index(target_label(r)))
        if cell not in seen:
            seen.add(cell)
            values[cell] = _error(r, scope, metric)
    return HeatmapData(title=title, rows=rows, cols=cols, values=values)


def _filter(
    records: Sequence[dict[str, Any]], targets: Sequence[str] | None, bases: Sequence[str] | None
) -> list[dict[str, Any]]:
    """The records ``--bases`` and ``--targets`` select, in the tables' filter language.

    The options become the terms ``basis=...`` (canonical names) and
    ``target=...``; a record's target matches by its name or its label
    (:func:`target_label`, e.g. ``leaky_relu(negative_slope=0.1)``).
    """
    terms: dict[str, frozenset[str]] = {}
    if bases:
        terms["basis"] = frozenset(get_basis(b).name for b in bases)
    if targets:
        terms["target"] = frozenset(str(t).strip() for t in targets)

    def values(r: dict[str, Any]):
        return lambda n: _basis(r) if n == "basis" else (r["target"]["name"], target_label(r))

    out = [r for r in records if matches(terms, values(r))]
    if targets and not out:
        raise UsageError(
            f"`--targets` {', '.join(sorted(terms['target']))} match no record "
            "(use target names such as gelu or leaky_relu)"
        )
    return out


def _check_of(recs: Sequence[dict[str, Any]]) -> str:
    intervals = {
        tuple(((r.get("errors") or {}).get("check") or {}).get("interval", ())) for r in recs
    }
    if len(intervals) == 1:
        (iv,) = intervals
        if len(iv) == 2:
            return f"[{iv[0]:g}, {iv[1]:g}]"
    return ""


def _our_errors(record: dict[str, Any]) -> list[dict[str, float]]:
    form, target = form_and_target(record)
    coef = record["coefficients"]
    return [
        measure_errors(form, target, coef["numerator"], coef["denominator"], iv)
        for iv in COMPARISON_INTERVALS
    ]
