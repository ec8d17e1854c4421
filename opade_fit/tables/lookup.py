"""Lookup for framework layers: :func:`get_init` and the :class:`TableEntry` it returns.

A request is a :class:`~opade_fit.tables.key.FitKey` built from the keyword
arguments; the entry is found with the filter language of :mod:`.key`
(:meth:`FitKey.matches` on :data:`GET_INIT_FIELDS`), in tables read by the one
cached reader of :mod:`.store`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FitError, UsageError
from ..forms import RationalForm
from ..problem import DEFAULT_POINTS, make_spec
from ..result import FitResult
from .key import KEY_FIELDS, FitKey
from .store import cached_table, default_tables_dir, file_identity, table_files, table_path

__all__ = ["GET_INIT_FIELDS", "EntryNotFoundError", "TableEntry", "get_init"]

#: The key fields a :func:`get_init` request names (the grid, check interval and the
#: derivative weight are not arguments: entries with derivative weight 0, any grid).
GET_INIT_FIELDS: tuple[str, ...] = tuple(
    f for f in KEY_FIELDS if f not in ("check_interval", "points")
)


class EntryNotFoundError(UsageError, LookupError):
    """No table entry matches a :func:`get_init` request (message names the closest)."""


@dataclass(frozen=True, eq=False)
class TableEntry(Mapping):
    """One init-table entry: its coefficients, and its record (also as a read-only mapping).

    Attributes
    ----------
    numerator : tuple of float
        c_0..c_k, increasing degree.
    denominator : tuple of float
        d_1..d_l, increasing degree; the leading 1 of Q is implicit.
    form : RationalForm
        Basis, denominator kind and degrees.
    record : dict
        The full fit record (schema 1.x). The entry itself is a read-only
        mapping over it (``entry["errors"]``, ``dict(entry)``).
    """

    numerator: tuple[float, ...]
    denominator: tuple[float, ...]
    form: RationalForm
    record: dict[str, Any] = field(repr=False)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> TableEntry:
        """Build an entry from a record (validates the form)."""
        try:
            f, coef = record["form"], record["coefficients"]
            form = RationalForm(f["basis"], f["denominator"], tuple(f["degrees"]))
            c = tuple(float(v) for v in coef["numerator"])
            d = tuple(float(v) for v in coef["denominator"])
        except (KeyError, TypeError) as exc:
            raise FitError(f"not a fit record (schema 1.x): missing {exc}") from None
        return cls(numerator=c, denominator=d, form=form, record=record)

    def __getitem__(self, key: str) -> Any:
        return self.record[key]

    def __iter__(self):
        return iter(self.record)

    def __len__(self) -> int:
        return len(self.record)

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """g(x) with the entry's coefficients (float64, by recurrence)."""
        return self.form.evaluate(np.asarray(x, dtype=np.float64), self.numerator, self.denominator)

    def derivative(self, x: np.ndarray) -> np.ndarray:
        """g'(x) with the entry's coefficients (float64)."""
        return self.form.derivative(
            np.asarray(x, dtype=np.float64), self.numerator, self.denominator
        )

    def to_result(self) -> FitResult:
        """The entry as a :class:`~opade_fit.result.FitResult` (builds the target too)."""
        return FitResult.from_dict(self.record)


def get_init(
    target: str,
    *,
    basis: str,
    denominator: str = "safe",
    degrees: tuple[int, int] | str = (5, 4),
    objective: str = "l2",
    center: str = "none",
    weight: str = "uniform",
    interval: tuple[float, float] = (-3.0, 3.0),
    params: dict[str, float] | None = None,
    tables: str | os.PathLike[str] | None = None,
) -> TableEntry:
    """The init-table entry for a rational activation layer.

    Parameters
    ----------
    target : str
        Built-in target name (``silu`` is ``swish`` with beta = 1).
    basis : str
        ``monomial`` (PAU), ``hermite1`` (HP-1), ``hermite2`` (HP-2), ...
    denominator, degrees, objective, center, weight, interval
        As in :func:`opade_fit.fit`; ``weight`` canonical spelling compared.
    params : dict, optional
        Target parameters; missing ones take the target's defaults.
    tables : path, optional
        Folder of the tables (default: the shipped tables, read through
        :mod:`importlib.resources` when installed).

    Returns
    -------
    TableEntry
        ``.numerator`` (c_0..c_k) and ``.denominator`` (d_1..d_l), increasing
        degree, the leading 1 of Q implicit; ``.record`` is the full fit record
        (the entry is also a read-only mapping over it) and ``.evaluate(x)``
        evaluates g. Loaded tables and entries are cached. Only entries with derivative weight 0 are
        returned; when several entries match (e.g. other grids), the first in
        table order.

    Raises
    ------
    EntryNotFoundError
        (a :class:`~opade_fit.errors.UsageError`) No such entry; the message
        names the closest entries and the ``opade fit`` command producing it.
    UsageError
        Invalid arguments (unknown basis, target, ...).

    Examples
    --------
    >>> from opade_fit import get_init
    >>> init = get_init("leaky_relu", basis="hermite1")
    >>> len(init.numerator), len(init.denominator)
    (6, 4)
    """
    want = FitKey.from_spec(
        make_spec(
            target,
            basis=basis,
            denominator=denominator,
            degrees=degrees,
            interval=interval,
            objective=objective,
            params=params,
            weight=weight,
            center=center,
            points=max(2, sum(_degrees(degrees)) + 1),  # the grid is not looked up
        ),
        points=DEFAULT_POINTS,
    )
    terms = want.filter(GET_INIT_FIELDS)
    root = Path(tables) if tables is not None else default_tables_dir()
    files = table_files(root)
    path = table_path(root, want.basis)
    if path in files:
        for i, rec in enumerate(cached_table(path)["entries"]):
            if FitKey.from_record(rec).matches(terms):
                ckey = (*file_identity(path), i)
                entry = _ENTRY_CACHE.get(ckey)
                if entry is None:
                    entry = _ENTRY_CACHE[ckey] = TableEntry.from_record(rec)
                return entry
    raise EntryNotFoundError(_missing_message(want, files))


_ENTRY_CACHE: dict[tuple, TableEntry] = {}


def _degrees(degrees) -> tuple[int, int]:
    """``(k, l)`` from ``"K/L"`` or a pair (validated by :func:`~opade_fit.forms.parse_degrees`)."""
    from ..forms import parse_degrees

    return parse_degrees(degrees)


def _differ(key: FitKey, want: FitKey) -> list[str]:
    """The request fields in which ``key`` differs (a target's parameters count as ``target``)."""
    names = [f for f in GET_INIT_FIELDS if key.field_value(f) != want.field_value(f)]
    return list(dict.fromkeys("target" if f == "params" else f for f in names))


def _missing_message(want: FitKey, files: list[Path]) -> str:
    """Name the three closest entries (same basis and denominator first) and the fit command."""
    scored = []
    seen = set()
    records = (rec for p in files for rec in cached_table(p)["entries"])
    for order, rec in enumerate(records):
        key = FitKey.from_record(rec)
        if key.derivative_weight != 0.0:
            continue
        ident = tuple(key.field_value(f) for f in GET_INIT_FIELDS)
        if ident in seen:
            continue
        seen.add(ident)
        differ = _differ(key, want)
        # another basis or denominator is another function class: rank those last
        other_class = ("basis" in differ, "denominator" in differ)
        scored.append((other_class, len(differ), order, key, differ))
    scored.sort(key=lambda t: t[:3])
    closest = "; ".join(
        f"{key.label()} (differs in {', '.join(differ)})" for *_rank, key, differ in scored[:3]
    )
    return (
        f"no init-table entry for {want.label()}; closest entries: "
        f"{closest or '(no tables)'}; fit it with: {want.fit_command()}"
    )
