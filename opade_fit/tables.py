"""Init tables: the committed, reproducible coefficient tables for framework layers.

Data flow (see ``docs/tables.md`` and ``tables/README.md``)::

    tables/spec.toml --load_spec--> [SpecEntry ...] --regenerate--> tables/<basis>.json
                                                        (fit_spec in a process pool)

* :func:`load_spec` expands the specification (groups of lists, expanded as a
  product in the fixed order :data:`SPEC_FIELDS`) into :class:`SpecEntry`
  objects, each fully explicit and validated.
* :func:`regenerate` fits the entries (all cores by default) and writes one
  table per basis, ``{schema_version, tool, entries: [records ...]}``, with
  entries in spec order, deterministically and atomically. With ``only`` it
  refits just the matching entries and keeps every other entry of the files
  exactly as it was.
* :func:`check` regenerates into a temporary folder and compares with the
  committed tables (:func:`compare_tables`): metadata exactly, evaluated
  functions and errors within the named tolerances below.
* :func:`get_init` returns one entry for a framework layer.

Coefficient convention (as everywhere in opade-fit): numerator c_0..c_k,
denominator d_1..d_l, increasing degree, the leading 1 of Q implicit.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import shlex
import tempfile
import tomllib
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .bases import BASIS_NAMES
from .errors import FitError, UsageError, suggest
from .forms import DENOMINATORS, RationalForm
from .problem import (
    CENTER_MODES,
    DEFAULT_POINTS,
    OBJECTIVES,
    FitSpec,
    default_check_interval,
    make_spec,
)
from .record import SCHEMA_VERSION, canonical_json, write_atomic
from .result import FitResult, tool_block
from .targets import TARGET_NAMES, get_target

__all__ = [
    "ERROR_ATOL",
    "ERROR_RTOL",
    "FILTER_FIELDS",
    "FUNCTION_ATOL",
    "FUNCTION_GRID_POINTS",
    "FUNCTION_RTOL",
    "POLE_ATOL",
    "POLE_RTOL",
    "SPEC_FIELDS",
    "CheckReport",
    "EntryNotFoundError",
    "RegenerateReport",
    "SpecEntry",
    "TableEntry",
    "check",
    "compare_records",
    "compare_tables",
    "default_spec_path",
    "default_tables_dir",
    "export_flat",
    "export_rational_activations",
    "get_init",
    "load_entries",
    "load_spec",
    "parse_filter",
    "read_table",
    "record_key",
    "regenerate",
    "select",
    "table_path",
]

#: Version of the spec.toml format understood here.
SPEC_FORMAT = 1

#: Fields every spec group states (each as a list), in expansion order: the
#: product nests them outermost first, so the last field varies fastest.
SPEC_FIELDS: tuple[str, ...] = (
    "basis",
    "denominator",
    "degrees",
    "target",
    "center",
    "weight",
    "interval",
    "check_interval",
    "points",
    "derivative_weight",
    "objective",
)

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

# ---- tolerances of `check` (the fits are deterministic: on one machine the
# regenerated tables are byte-identical; these allow for another BLAS / CPU).
#: Points of the uniform grid on the fit interval where committed and regenerated g are compared.
FUNCTION_GRID_POINTS = 2001
#: |g_committed - g_regenerated| <= FUNCTION_RTOL * (the entry's fit max error) + FUNCTION_ATOL.
FUNCTION_RTOL = 1e-3
#: Absolute floor of the function tolerance (exact fits such as identity have error ~1e-16).
FUNCTION_ATOL = 1e-10
#: Relative tolerance on stored errors and certificate bounds, per objective. The minimax
#: lower bound is certified at the first of minimax.CERT_GAMMAS (2e-4 below the upper
#: bound, or a larger step), so the bounds may move by that much.
ERROR_RTOL: dict[str, float] = {"l2": 1e-4, "max": 1e-3}
#: Absolute floor of the error tolerance.
ERROR_ATOL = 1e-12
#: Tolerance on the location p of a real root of Q (``poles``) on the guard interval:
#: POLE_ATOL + POLE_RTOL * |p|, in units of x.
POLE_ATOL = 1e-6
POLE_RTOL = 1e-6

_SPEC_FILE = "spec.toml"


# ============================================================================ paths
def _resources_dir() -> Path:
    """The folder of the shipped tables (packaged ``opade_fit/_tables`` or ``<repo>/tables``)."""
    from .reference import tables_dir  # the one resolver, shared with the reference tables

    return tables_dir()


def default_tables_dir(*, for_writing: bool = False) -> Path:
    """The tables folder: the shipped one, or, to write, the source checkout's ``tables/``.

    Raises
    ------
    UsageError
        ``for_writing`` and only the installed package's copy exists: regenerate
        in a source checkout (or pass an explicit folder); opade-fit never
        rewrites files inside an installed package.
    """
    root = _resources_dir()
    if for_writing and root.name == "_tables":
        raise UsageError(
            f"the tables at {str(root)!r} belong to the installed package; regenerate them in "
            "a source checkout of opade-fit or pass `--tables DIR`"
        )
    return root


def default_spec_path() -> Path:
    """``spec.toml`` next to the shipped tables."""
    return _resources_dir() / _SPEC_FILE


def table_path(tables: str | os.PathLike[str], basis: str) -> Path:
    """``<tables>/<basis>.json``."""
    return Path(tables) / f"{basis}.json"


# ============================================================================ spec
@dataclass(frozen=True)
class SpecEntry:
    """One fully explicit table entry of the spec (what to fit, not the result).

    Attributes mirror the record fields: ``params`` holds every target
    parameter (sorted by name); ``drop`` is None for "try each admissible
    coefficient and keep the best" (spec value ``"best"``) or ``"cI"``.
    """

    group: str
    basis: str
    denominator: str
    degrees: tuple[int, int]
    target: str
    params: tuple[tuple[str, float], ...]
    center: str
    drop: str | None
    weight: str
    interval: tuple[float, float]
    check_interval: tuple[float, float]
    points: int
    derivative_weight: float
    objective: str

    def fit_spec(self) -> FitSpec:
        """The validated :class:`~opade_fit.problem.FitSpec` of this entry."""
        return make_spec(
            self.target,
            basis=self.basis,
            denominator=self.denominator,
            degrees=self.degrees,
            interval=self.interval,
            objective=self.objective,
            params=dict(self.params),
            points=self.points,
            check_interval=self.check_interval,
            weight=self.weight,
            derivative_weight=self.derivative_weight,
            center=self.center,
            drop=self.drop,
        )

    @property
    def key(self) -> tuple:
        """The identity of the entry; equal to :func:`record_key` of its record."""
        return (
            self.basis,
            self.denominator,
            self.degrees,
            self.target,
            self.params,
            self.interval,
            self.check_interval,
            self.points,
            self.objective,
            self.weight,
            self.derivative_weight,
            self.center,
        )

    def label(self) -> str:
        """A one-line description, e.g. ``hermite1/safe 5/4 gelu [-3, 3] l2 uniform``."""
        return _label(self.key)

    def fit_command(self) -> str:
        """The ``opade fit`` command that produces this entry's record."""
        return _fit_command(
            self.basis,
            self.denominator,
            self.degrees,
            self.target,
            self.params,
            self.interval,
            self.objective,
            self.weight,
            self.center,
            check_interval=self.check_interval,
            points=self.points,
            derivative_weight=self.derivative_weight,
            drop=self.drop,
        )

    def field_value(self, name: str) -> str:
        """The canonical string of a :data:`FILTER_FIELDS` field (for ``--only``)."""
        if name == "degrees":
            return f"{self.degrees[0]}/{self.degrees[1]}"
        return str(getattr(self, name))


def _fmt_num(v: float) -> str:
    return f"{v:g}"


def _label(key: tuple) -> str:
    basis, den, deg, target, params, interval, check, points, obj, weight, lam, center = key
    p = ", ".join(f"{k}={_fmt_num(v)}" for k, v in params)
    text = (
        f"{basis}/{den} {deg[0]}/{deg[1]} {target}{f'({p})' if p else ''} "
        f"on [{_fmt_num(interval[0])}, {_fmt_num(interval[1])}], objective {obj}, "
        f"weight {weight}, center {center}"
    )
    if lam:
        text += f", derivative weight {_fmt_num(lam)}"
    if points != DEFAULT_POINTS or check != default_check_interval(interval):
        text += f", {points} points, check [{_fmt_num(check[0])}, {_fmt_num(check[1])}]"
    return text


def _fit_command(
    basis, den, degrees, target, params, interval, objective, weight, center, **extra
) -> str:
    parts = ["opade", "fit", "--basis", basis, "--target", target]
    for k, v in params:
        parts += ["--param", f"{k}={v!r}"]
    parts += ["--denominator", den, "--degrees", f"{degrees[0]}/{degrees[1]}"]
    parts += ["--interval", repr(float(interval[0])), repr(float(interval[1]))]
    check = extra.get("check_interval")
    if check is not None and tuple(check) != default_check_interval(interval):
        parts += ["--check-interval", repr(float(check[0])), repr(float(check[1]))]
    points = extra.get("points")
    if points is not None and points != DEFAULT_POINTS:
        parts += ["--points", str(points)]
    parts += ["--objective", objective, "--weight", weight, "--center", center]
    if extra.get("drop"):
        parts += ["--drop", extra["drop"]]
    if extra.get("derivative_weight"):
        parts += ["--derivative-weight", repr(float(extra["derivative_weight"]))]
    parts += ["--json", "--out", "FILE.json"]
    return shlex.join(parts)


def _need_list(group: dict, name: str, where: str) -> list:
    if name not in group:
        raise UsageError(f"{where}: missing field `{name}` (every group states every field)")
    value = group[name]
    if not isinstance(value, list) or not value:
        raise UsageError(f"{where}: `{name}` must be a non-empty list, got {value!r}")
    return value


def _pair(value, name: str, where: str, kind: type) -> tuple:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, kind) and not isinstance(v, bool) for v in value)
    ):
        raise UsageError(
            f"{where}: each `{name}` item must be a list of two {kind.__name__}s, got {value!r}"
        )
    return tuple(value)


def _target_item(item, where: str) -> tuple[str, tuple[tuple[str, float], ...]]:
    if not isinstance(item, dict) or set(item) != {"name", "params"}:
        raise UsageError(
            f"{where}: each `target` item must be {{name = ..., params = {{...}}}}, got {item!r}"
        )
    name, params = item["name"], item["params"]
    if name not in TARGET_NAMES:
        raise UsageError(
            f"{where}: `target` name must be a built-in ({', '.join(TARGET_NAMES)}), "
            f"got {name!r}" + suggest(str(name), TARGET_NAMES)
        )
    if not isinstance(params, dict):
        raise UsageError(f"{where}: `params` of {name} must be a table, got {params!r}")
    full = get_target(name, params).to_dict()["params"]  # validates names and values
    missing = sorted(set(full) - set(params))
    if missing:
        raise UsageError(
            f"{where}: target {name} must list every parameter explicitly; missing "
            f"{', '.join(missing)} (defaults: "
            + ", ".join(f"{k}={full[k]!r}" for k in missing)
            + ")"
        )
    return name, tuple(sorted((k, float(v)) for k, v in full.items()))


def _center_item(item, where: str) -> tuple[str, str | None]:
    if not isinstance(item, dict) or "mode" not in item or not set(item) <= {"mode", "drop"}:
        raise UsageError(
            f"{where}: each `center` item must be {{mode = ...}} or "
            f'{{mode = "drop-one", drop = "best"|"cI"}}, got {item!r}'
        )
    mode = item["mode"]
    if mode not in CENTER_MODES:
        raise UsageError(
            f"{where}: `center` mode must be one of {', '.join(CENTER_MODES)}, got {mode!r}"
            + suggest(str(mode), CENTER_MODES)
        )
    if (mode == "drop-one") != ("drop" in item):
        raise UsageError(
            f"{where}: `drop` is required with mode 'drop-one' and forbidden otherwise, "
            f"got {item!r}"
        )
    drop = item.get("drop")
    if drop is not None and not isinstance(drop, str):
        raise UsageError(f'{where}: `drop` must be "best" or "cI", got {drop!r}')
    return mode, (None if drop in (None, "best") else drop)


def _choice(value, name: str, valid: Sequence[str], where: str) -> str:
    if value not in valid:
        raise UsageError(
            f"{where}: `{name}` must be one of {', '.join(valid)}, got {value!r}"
            + suggest(str(value), valid)
        )
    return value


def load_spec(path: str | os.PathLike[str] | None = None) -> list[SpecEntry]:
    """Read and expand a table specification (``tables/spec.toml`` by default).

    Each ``[[group]]`` states every field of :data:`SPEC_FIELDS` as a list (plus
    a ``name``); the group expands to the product of its lists, nesting the
    fields in :data:`SPEC_FIELDS` order (``objective`` varies fastest), and the
    groups expand in file order. Every entry is validated as a fit
    (:class:`~opade_fit.problem.FitSpec`).

    Returns
    -------
    list of SpecEntry
        In spec order.

    Raises
    ------
    UsageError
        Unreadable or invalid spec: unknown or missing fields, a target without
        all of its parameters, an invalid fit, or two entries with the same
        identity (:attr:`SpecEntry.key`).
    """
    path = Path(path) if path is not None else default_spec_path()
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except OSError as exc:
        raise UsageError(f"cannot read the table spec {str(path)!r}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"the table spec {str(path)!r} is not valid TOML: {exc}") from None
    if doc.get("spec_format") != SPEC_FORMAT:
        raise UsageError(
            f"{path}: `spec_format` must be {SPEC_FORMAT}, got {doc.get('spec_format')!r}"
        )
    unknown = sorted(set(doc) - {"spec_format", "group"})
    if unknown:
        raise UsageError(f"{path}: unknown top-level keys {', '.join(unknown)}")
    groups = doc.get("group")
    if not isinstance(groups, list) or not groups:
        raise UsageError(f"{path}: no [[group]] tables")
    entries: list[SpecEntry] = []
    seen: dict[tuple, str] = {}
    for gi, group in enumerate(groups):
        name = group.get("name")
        where = f"{path.name} group {gi + 1} ({name!r})"
        if not isinstance(name, str) or not name:
            raise UsageError(f"{where}: `name` must be a non-empty string")
        extra = sorted(set(group) - {"name", *SPEC_FIELDS})
        if extra:
            raise UsageError(
                f"{where}: unknown fields {', '.join(extra)}" + suggest(extra[0], SPEC_FIELDS)
            )
        lists: dict[str, list] = {}
        lists["basis"] = [
            _choice(v, "basis", BASIS_NAMES, where) for v in _need_list(group, "basis", where)
        ]
        lists["denominator"] = [
            _choice(v, "denominator", DENOMINATORS, where)
            for v in _need_list(group, "denominator", where)
        ]
        lists["degrees"] = [
            _pair(v, "degrees", where, int) for v in _need_list(group, "degrees", where)
        ]
        lists["target"] = [_target_item(v, where) for v in _need_list(group, "target", where)]
        lists["center"] = [_center_item(v, where) for v in _need_list(group, "center", where)]
        lists["weight"] = [str(v) for v in _need_list(group, "weight", where)]
        lists["interval"] = [
            tuple(float(x) for x in _pair(v, "interval", where, float))
            for v in _need_list(group, "interval", where)
        ]
        lists["check_interval"] = [
            tuple(float(x) for x in _pair(v, "check_interval", where, float))
            for v in _need_list(group, "check_interval", where)
        ]
        lists["points"] = _need_list(group, "points", where)
        lists["derivative_weight"] = [
            float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
            for v in _need_list(group, "derivative_weight", where)
        ]
        lists["objective"] = [
            _choice(v, "objective", OBJECTIVES, where)
            for v in _need_list(group, "objective", where)
        ]
        for combo in _product([lists[f] for f in SPEC_FIELDS]):
            values = dict(zip(SPEC_FIELDS, combo, strict=True))
            (target, params), (center, drop) = values["target"], values["center"]
            try:
                spec = make_spec(
                    target,
                    basis=values["basis"],
                    denominator=values["denominator"],
                    degrees=values["degrees"],
                    interval=values["interval"],
                    objective=values["objective"],
                    params=dict(params),
                    points=values["points"],
                    check_interval=values["check_interval"],
                    weight=values["weight"],
                    derivative_weight=values["derivative_weight"],
                    center=center,
                    drop=drop,
                )
            except UsageError as exc:
                raise UsageError(f"{where}: {exc}") from None
            entry = SpecEntry(
                group=name,
                basis=spec.form.basis,
                denominator=spec.form.denominator,
                degrees=tuple(spec.form.degrees),
                target=target,
                params=params,
                center=spec.center,
                drop=spec.drop,
                weight=spec.weight,
                interval=spec.interval,
                check_interval=spec.check_interval,
                points=int(spec.points),
                derivative_weight=spec.derivative_weight,
                objective=spec.objective,
            )
            if entry.key in seen:
                raise UsageError(
                    f"{where}: entry {entry.label()} duplicates one of group {seen[entry.key]!r} "
                    "(the entry identity ignores `drop`: at most one drop-one entry per form)"
                )
            seen[entry.key] = name
            entries.append(entry)
    return entries


def _product(lists: list[list]) -> Iterable[tuple]:
    import itertools

    return itertools.product(*lists)


def record_key(record: dict[str, Any]) -> tuple:
    """The identity of a fit record (see :attr:`SpecEntry.key`): its inputs, not its results.

    ``center.dropped`` is not part of it (for ``drop = "best"`` it is a result).
    """
    try:
        form, target = record["form"], record["target"]
        return (
            form["basis"],
            form["denominator"],
            tuple(form["degrees"]),
            target["name"],
            tuple(sorted((k, float(v)) for k, v in target["params"].items())),
            tuple(float(v) for v in record["interval"]),
            tuple(float(v) for v in record["errors"]["check"]["interval"]),
            int(record["grid"]["points"]),
            record["objective"],
            record["weight"],
            float(record["derivative_weight"]),
            record["center"]["mode"],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise FitError(f"not a fit record (schema 1.x): missing or bad field {exc}") from None


# ============================================================================ filters
def parse_filter(text: str) -> dict[str, frozenset[str]]:
    """Parse an ``--only`` filter: ``FIELD=VALUE[|VALUE...][,FIELD=VALUE...]``.

    Terms separated by commas must all hold (AND); values separated by ``|``
    are alternatives (OR). Fields: :data:`FILTER_FIELDS`; ``degrees`` is
    written ``K/L``. Example: ``basis=hermite1|hermite2,target=gelu,objective=max``.

    Raises
    ------
    UsageError
        Empty filter, a term without ``=``, an unknown or repeated field.
    """
    terms: dict[str, frozenset[str]] = {}
    if not str(text).strip():
        raise UsageError("`--only` filter is empty; expected FIELD=VALUE[,FIELD=VALUE...]")
    for term in str(text).split(","):
        name, sep, values = term.strip().partition("=")
        name = name.strip().lower()
        if not sep or not name or not values.strip():
            raise UsageError(
                f"`--only` term {term.strip()!r} must be FIELD=VALUE (e.g. basis=hermite1); "
                f"fields: {', '.join(FILTER_FIELDS)}"
            )
        if name not in FILTER_FIELDS:
            raise UsageError(
                f"`--only` field {name!r} is not one of {', '.join(FILTER_FIELDS)}"
                + suggest(name, FILTER_FIELDS)
            )
        if name in terms:
            raise UsageError(
                f"`--only` names field {name!r} twice; write alternatives as {name}=A|B"
            )
        terms[name] = frozenset(v.strip() for v in values.split("|") if v.strip())
    return terms


def select(entries: Sequence[SpecEntry], only: str | Sequence[str] | None) -> list[SpecEntry]:
    """The entries matching ``only`` (one filter, or several OR-ed), in spec order.

    Raises
    ------
    UsageError
        A filter value that no spec entry has (naming the values that exist),
        or a filter matching no entry.
    """
    if only is None:
        return list(entries)
    filters = [only] if isinstance(only, str) else list(only)
    parsed = [parse_filter(f) for f in filters]
    for terms in parsed:
        for name, values in terms.items():
            present = {e.field_value(name) for e in entries}
            for v in sorted(values - present):
                raise UsageError(
                    f"`--only` {name}={v!r} matches no entry of the spec; its {name} values are "
                    + ", ".join(sorted(present))
                    + suggest(v, present)
                )
    chosen = [
        e
        for e in entries
        if any(all(e.field_value(n) in vs for n, vs in terms.items()) for terms in parsed)
    ]
    if not chosen:
        raise UsageError(f"`--only` {' OR '.join(filters)!r} matches no entry of the spec")
    return chosen


# ============================================================================ table files
def read_table(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load one table file and check its ``schema_version`` major.

    Raises
    ------
    FitError
        Unreadable, not JSON, or another major schema version.
    """
    import json

    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FitError(f"cannot read table {str(path)!r}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise FitError(f"table {str(path)!r} is not valid JSON: {exc}") from None
    version = doc.get("schema_version") if isinstance(doc, dict) else None
    if not isinstance(version, list) or not version or version[0] != SCHEMA_VERSION[0]:
        raise FitError(
            f"table {str(path)!r} has schema_version {version!r}; this opade-fit reads major "
            f"version {SCHEMA_VERSION[0]}"
        )
    if not isinstance(doc.get("entries"), list):
        raise FitError(f"table {str(path)!r} has no `entries` list")
    return doc


def _table_document(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schema_version": list(SCHEMA_VERSION), "tool": tool_block(), "entries": records}


def existing_folder(path: str | os.PathLike[str], name: str) -> Path:
    """``path`` as a :class:`~pathlib.Path`, checked to be an existing folder.

    Raises
    ------
    UsageError
        Naming the argument ``name``, if ``path`` is not an existing folder.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise UsageError(f"`{name}` {str(folder)!r} is not an existing folder")
    return folder


def table_files(tables: str | os.PathLike[str]) -> list[Path]:
    """The table files present in ``tables``, in :data:`~opade_fit.bases.BASIS_NAMES` order.

    Raises
    ------
    UsageError
        ``tables`` is not an existing folder.
    """
    root = existing_folder(tables, "tables")
    return [p for b in BASIS_NAMES if (p := table_path(root, b)).is_file()]


def load_entries(tables: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """Every record of every table (bases in canonical order, entries in file order)."""
    root = Path(tables) if tables is not None else default_tables_dir()
    return [rec for p in table_files(root) for rec in _cached_table(p)["entries"]]


# ============================================================================ regenerate
@dataclass(frozen=True)
class RegenerateReport:
    """What :func:`regenerate` did.

    Attributes
    ----------
    fitted : int
        Entries fitted in this run.
    kept : int
        Entries carried over unchanged from the existing files (``only``).
    written : tuple of Path
        Table files written.
    removed : tuple of Path
        Stale ``<basis>.json`` files removed (full regeneration only).
    warnings : tuple of str
        ``"<entry label>: <warning>"`` for every warning a fit raised.
    """

    fitted: int
    kept: int
    written: tuple[Path, ...]
    removed: tuple[Path, ...] = ()
    warnings: tuple[str, ...] = field(default=())


def _fit_entry(entry: SpecEntry) -> tuple[dict[str, Any], list[str]]:
    """Worker: fit one entry; returns (record, warning messages)."""
    from .fitting import fit_spec

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        record = fit_spec(entry.fit_spec()).to_dict()
    return record, [" ".join(str(w.message).split()) for w in caught]


def _cost(entry: SpecEntry) -> float:
    """Rough relative cost, to start the slow fits first (better load balance)."""
    cost = 1.0
    if entry.objective == "max":
        cost *= 5
    if entry.denominator == "safe-abs-sum":
        cost *= 3
    if entry.center == "drop-one" and entry.drop is None:
        cost *= 3
    return cost * (1 + sum(entry.degrees) / 9)


def _default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _ignore_sigint() -> None:
    """Worker initializer: Ctrl-C is handled by the parent (one message, no worker tracebacks)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_fits(
    entries: Sequence[SpecEntry],
    jobs: int,
    progress: Callable[[int, int, SpecEntry], None] | None,
) -> tuple[list[dict[str, Any]], list[str]]:
    total = len(entries)
    records: list[dict[str, Any] | None] = [None] * total
    messages: list[list[str]] = [[] for _ in range(total)]
    if progress is not None:
        progress(0, total, None)
    if jobs == 1 or total <= 1:
        for i, entry in enumerate(entries):
            records[i], messages[i] = _fit_entry(entry)
            if progress is not None:
                progress(i + 1, total, entry)
    else:
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else None
        ctx = multiprocessing.get_context(method)
        order = sorted(range(total), key=lambda i: -_cost(entries[i]))
        with cf.ProcessPoolExecutor(
            max_workers=min(jobs, total), mp_context=ctx, initializer=_ignore_sigint
        ) as pool:
            futures = {pool.submit(_fit_entry, entries[i]): i for i in order}
            done = 0
            try:
                for fut in cf.as_completed(futures):
                    i = futures[fut]
                    try:
                        records[i], messages[i] = fut.result()
                    except Exception as exc:
                        raise FitError(
                            f"fitting table entry {entries[i].label()} failed: "
                            f"{type(exc).__name__}: {exc}"
                        ) from exc
                    done += 1
                    if progress is not None:
                        progress(done, total, entries[i])
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    notes = [f"{entries[i].label()}: {m}" for i in range(total) for m in messages[i]]
    return [r for r in records if r is not None], notes


def regenerate(
    spec_path: str | os.PathLike[str] | None,
    out_dir: str | os.PathLike[str],
    *,
    only: str | Sequence[str] | None = None,
    jobs: int | None = None,
    progress: Callable[[int, int, SpecEntry | None], None] | None = None,
) -> RegenerateReport:
    """Fit the spec's entries and write ``<out_dir>/<basis>.json`` (one table per basis).

    Parameters
    ----------
    spec_path : path or None
        The specification (default: the shipped ``tables/spec.toml``).
    out_dir : path
        Folder of the tables (must exist).
    only : str or list of str, optional
        ``--only`` filters (see :func:`parse_filter`; several are OR-ed). Only
        the matching entries are refitted; every other entry of the existing
        files is kept exactly as it was (byte for byte), entries the spec no
        longer has included (they are dropped only by a full regeneration),
        and files without a matching entry are not rewritten.
    jobs : int, optional
        Worker processes (default: every available core; 1 = in-process).
    progress : callable, optional
        Called as ``progress(done, total, entry)`` (first with ``done = 0`` and
        ``entry = None``), then after each fit.

    Returns
    -------
    RegenerateReport

    Notes
    -----
    Files are written only after every fit succeeded, each atomically, with
    entries in spec order (kept entries that the spec no longer lists go last,
    in their previous order). A full regeneration writes exactly one file per
    basis of the spec and removes ``<basis>.json`` files of other bases.
    The fits are deterministic: regenerating twice gives byte-identical files.

    Raises
    ------
    UsageError
        Invalid spec, filter, ``jobs`` or a missing ``out_dir``.
    FitError
        A fit or a file operation failed (nothing is written then).
    """
    out = existing_folder(out_dir, "out_dir")
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise UsageError(f"`jobs` must be an integer >= 1, got {jobs!r}")
    entries = load_spec(spec_path)
    chosen = select(entries, only)
    records, notes = _run_fits(chosen, jobs or _default_jobs(), progress)
    new = {e.key: r for e, r in zip(chosen, records, strict=True)}
    for entry, rec in zip(chosen, records, strict=True):
        if record_key(rec) != entry.key:  # the record must describe the entry it was fitted for
            raise FitError(f"record of {entry.label()} does not match its spec entry")

    with _tables_lock(out):  # the read-modify-write below is atomic w.r.t. other regenerations
        return _write_tables(out, entries, chosen, new, records, notes, only is None)


#: Lock file (in the tables folder) held while a regeneration reads, merges and writes tables.
LOCK_NAME = ".opade-tables.lock"
#: Seconds to wait for another regeneration's write phase before giving up.
LOCK_TIMEOUT = 600.0


@contextmanager
def _tables_lock(folder: Path):
    """Hold the tables folder's lock (``filelock``: ``flock`` on POSIX, else ``LockFileEx``)."""
    import filelock

    lock = filelock.FileLock(folder / LOCK_NAME, timeout=LOCK_TIMEOUT)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise FitError(
            f"tables folder {str(folder)!r} is locked by another regeneration "
            f"(waited {LOCK_TIMEOUT:g} s for {str(folder / LOCK_NAME)!r})"
        ) from None
    except OSError as exc:
        raise FitError(
            f"cannot lock tables folder {str(folder)!r}: {exc.strerror or exc}"
        ) from None
    try:
        yield
    finally:
        lock.release()


def _write_tables(
    out: Path,
    entries: list[SpecEntry],
    chosen: list[SpecEntry],
    new: dict[tuple, dict[str, Any]],
    records: list[dict[str, Any]],
    notes: list[str],
    full: bool,
) -> RegenerateReport:
    """The write phase of :func:`regenerate` (called with the folder's lock held)."""
    bases = [b for b in BASIS_NAMES if any(e.basis == b for e in entries)]
    written, removed, kept = [], [], 0
    documents: dict[Path, str] = {}
    for basis in bases:
        path = table_path(out, basis)
        spec_keys = [e.key for e in entries if e.basis == basis]
        if full:
            documents[path] = canonical_json(_table_document([new[k] for k in spec_keys]))
            continue
        if not any(e.basis == basis for e in chosen):
            continue  # file untouched
        existing = read_table(path)["entries"] if path.is_file() else []
        old: dict[tuple, dict[str, Any]] = {}
        for rec in existing:
            key = record_key(rec)
            if key in old:
                raise FitError(f"table {str(path)!r} holds entry {_label(key)} twice")
            old[key] = rec
        merged = []
        for key in spec_keys:
            if key in new:
                merged.append(new[key])
            elif key in old:
                merged.append(old[key])
                kept += 1
        spec_set = set(spec_keys)
        stale = [rec for rec in existing if record_key(rec) not in spec_set]
        kept += len(stale)
        documents[path] = canonical_json(_table_document(merged + stale))
    for path, text in documents.items():
        write_atomic(path, text)
        written.append(path)
    if full:
        for basis in BASIS_NAMES:
            path = table_path(out, basis)
            if basis not in bases and path.is_file():
                path.unlink()
                removed.append(path)
    return RegenerateReport(
        fitted=len(records),
        kept=kept,
        written=tuple(written),
        removed=tuple(removed),
        warnings=tuple(notes),
    )


# ============================================================================ check
@dataclass(frozen=True)
class CheckReport:
    """Result of :func:`check` / :func:`compare_tables`.

    Attributes
    ----------
    ok : bool
        No difference beyond the tolerances.
    entries : int
        Entries compared.
    identical : int
        Entries whose committed and regenerated records are identical.
    differences : tuple of str
        One readable line per failure (``<file>: <entry>: <what>``).
    notes : tuple of str
        Differences that do not fail the check: the solver's start label,
        status code or success flag when the function and its errors agree.
    """

    ok: bool
    entries: int
    identical: int
    differences: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def text(self) -> str:
        """The readable report (differences, or a one-line OK summary, then the notes)."""
        note_lines = [f"  note: {n}" for n in self.notes]
        if self.ok:
            head = (
                f"tables OK: {self.entries} entries match the spec "
                f"({self.identical} identical, {self.entries - self.identical} within tolerance"
                + (f"; {len(self.notes)} note(s)" if self.notes else "")
                + ")"
            )
            return "\n".join([head, *note_lines])
        head = (
            f"tables differ from a regeneration: {len(self.differences)} difference(s) "
            f"in {self.entries} compared entries"
        )
        return "\n".join([head, *(f"  {d}" for d in self.differences), *note_lines])


_EXACT_FIELDS = (
    "schema_version",
    "form",
    "target",
    "interval",
    "objective",
    "weight",
    "derivative_weight",
    "center",
    "grid",
)
_ERROR_FIELDS = ("max_abs", "rms", "derivative_max_abs", "derivative_rms")
#: The stored error each objective minimises (a regenerated entry must not be worse in it).
_OBJECTIVE_ERROR = {"l2": "rms", "max": "max_abs"}


def _close(a: float, b: float, rtol: float) -> bool:
    return abs(a - b) <= rtol * max(abs(a), abs(b)) + ERROR_ATOL


def _poles_in(poles: Sequence[float], interval: tuple[float, float]) -> list[float]:
    a, b = interval
    return [p for p in poles if a <= p <= b]


def _same_poles(a: Sequence[float], b: Sequence[float]) -> bool:
    return len(a) == len(b) and all(
        abs(p - q) <= POLE_ATOL + POLE_RTOL * max(abs(p), abs(q)) for p, q in zip(a, b, strict=True)
    )


def compare_records(
    committed: dict[str, Any], fresh: dict[str, Any]
) -> tuple[list[str], list[str]]:
    """Compare a committed and a regenerated record of the same entry.

    Returns
    -------
    failures : list of str
        What users depend on and differs beyond the named tolerances: the
        inputs (:data:`_EXACT_FIELDS`, ``errors.check.interval``), g on
        :data:`FUNCTION_GRID_POINTS` points of the check interval, every stored
        error (:data:`ERROR_RTOL`), the certificate's bounds and scope, the
        real roots of Q on the guard interval (:data:`POLE_ATOL`,
        :data:`POLE_RTOL`); a regenerated entry worse in its objective's error
        is named as such.
    notes : list of str
        The solver's start label (``solver.method``), ``status`` and
        ``success`` when they differ: another machine may reach the same
        function from another start or stop by another rule.
    """
    out: list[str] = []
    notes: list[str] = []
    for name in _EXACT_FIELDS:
        if committed.get(name) != fresh.get(name):
            out.append(
                f"{name}: committed {committed.get(name)!r}, regenerated {fresh.get(name)!r}"
            )
    if committed.get("tool", {}).get("name") != fresh.get("tool", {}).get("name"):
        out.append(f"tool.name: committed {committed.get('tool')!r}")
    cs, fs = committed.get("solver", {}), fresh.get("solver", {})
    for name in ("method", "success", "status"):
        if cs.get(name) != fs.get(name):
            notes.append(f"solver.{name}: committed {cs.get(name)!r}, regenerated {fs.get(name)!r}")
    ce, fe = committed["errors"], fresh["errors"]
    check_iv = ce["check"].get("interval")
    if check_iv != fe["check"].get("interval"):
        out.append(
            f"errors.check.interval: committed {check_iv!r}, "
            f"regenerated {fe['check'].get('interval')!r}"
        )
    objective = committed.get("objective")
    rtol = ERROR_RTOL.get(objective, min(ERROR_RTOL.values()))
    cp, fp = committed.get("poles") or [], fresh.get("poles") or []
    ci = tuple(check_iv) if check_iv else tuple(committed["interval"])
    # a root of Q on the check interval makes its errors depend on the grid's distance to it
    pole_on_check = bool(_poles_in(cp, ci) or _poles_in(fp, ci))
    blocks = ["fit"] + ([] if pole_on_check else ["check"])
    key = _OBJECTIVE_ERROR.get(objective)
    for block in blocks:
        for name in _ERROR_FIELDS:
            a, b = ce[block][name], fe[block][name]
            if not _close(a, b, rtol):
                worse = (
                    " (the regenerated entry is worse)"
                    if (block, name)
                    == (
                        "fit",
                        key,
                    )
                    and b > a
                    else ""
                )
                out.append(
                    f"errors.{block}.{name}: committed {a:.6e}, regenerated {b:.6e} "
                    f"(relative difference {abs(a - b) / max(abs(a), abs(b)):.2e} > {rtol:g})"
                    + worse
                )
    from .lsq import guard_interval  # the solvers' module: not on the get_init path

    guard = guard_interval(ci)
    if not _same_poles(_poles_in(cp, guard), _poles_in(fp, guard)):
        out.append(
            f"poles on [{guard[0]:g}, {guard[1]:g}]: committed {_poles_in(cp, guard)!r}, "
            f"regenerated {_poles_in(fp, guard)!r}"
        )
    elif not _same_poles(cp, fp):
        notes.append(
            f"poles (outside [{guard[0]:g}, {guard[1]:g}]): committed {cp!r}, regenerated {fp!r}"
        )
    cc, fc = committed.get("certificate"), fresh.get("certificate")
    if (cc is None) != (fc is None):
        out.append(f"certificate: committed {cc!r}, regenerated {fc!r}")
    elif cc is not None:
        for name in ("lower_bound", "upper_bound"):
            if not _close(cc[name], fc[name], rtol):
                out.append(
                    f"certificate.{name}: committed {cc[name]:.6e}, regenerated {fc[name]:.6e}"
                )
        if cc.get("scope") != fc.get("scope"):
            # the scope says which forms the lower bound covers; a lower bound of 0 (an
            # exact fit: nothing above rounding to certify) covers every form either way
            trivial = cc["lower_bound"] == 0 and fc["lower_bound"] == 0
            (notes if trivial else out).append(
                f"certificate.scope: committed {cc.get('scope')!r}, regenerated {fc.get('scope')!r}"
            )
    try:
        rc, rf = FitResult.from_dict(committed), FitResult.from_dict(fresh)
        a, b = committed["interval"] if pole_on_check else ci
        x = np.linspace(a, b, FUNCTION_GRID_POINTS)
        with np.errstate(all="ignore"):
            diff = float(np.max(np.abs(rc.evaluate(x) - rf.evaluate(x))))
        scale = (
            ce["fit"]["max_abs"]
            if pole_on_check
            else max(ce["fit"]["max_abs"], ce["check"]["max_abs"])
        )
        tol = FUNCTION_RTOL * scale + FUNCTION_ATOL
        if not diff <= tol:
            out.append(
                f"g differs by up to {diff:.3e} on [{a:g}, {b:g}] (tolerance {tol:.3e} = "
                f"{FUNCTION_RTOL:g} x the entry's max error there + {FUNCTION_ATOL:g})"
            )
    except (UsageError, KeyError, TypeError, ValueError) as exc:
        out.append(f"cannot evaluate the committed record: {exc}")
    return out, notes


def compare_tables(
    expected_dir: str | os.PathLike[str],
    actual_dir: str | os.PathLike[str],
    *,
    keys: Iterable[tuple] | None = None,
) -> CheckReport:
    """Compare the tables in ``actual_dir`` (committed) with ``expected_dir`` (regenerated).

    Every ``<basis>.json`` of either folder is compared: file-level
    ``schema_version``, the set and order of entries (by :func:`record_key`),
    then each entry by :func:`compare_records` (failures, and notes for the
    solver's labels). ``tool.version`` and the solver's iteration counts and
    message are not compared (they describe the run, not the table).

    Parameters
    ----------
    expected_dir, actual_dir : path
        Regenerated and committed tables.
    keys : iterable of tuple, optional
        Compare only these entries (:attr:`SpecEntry.key`); the set and order
        of the other entries are not checked then.
    """
    expected_dir, actual_dir = Path(expected_dir), Path(actual_dir)
    wanted = None if keys is None else set(keys)
    diffs: list[str] = []
    notes: list[str] = []
    n = identical = 0
    for basis in BASIS_NAMES:
        ep, ap = table_path(expected_dir, basis), table_path(actual_dir, basis)
        if not ep.is_file() and not ap.is_file():
            continue
        if wanted is not None and not any(k[0] == basis for k in wanted):
            continue
        fname = ap.name
        if not ap.is_file():
            diffs.append(f"{fname}: missing (the spec has {basis} entries)")
            continue
        if not ep.is_file():
            diffs.append(f"{fname}: the spec has no {basis} entries (stale file)")
            continue
        try:
            actual = read_table(ap)
        except FitError as exc:
            diffs.append(f"{fname}: {exc}")
            continue
        expected = read_table(ep)
        if actual["schema_version"] != expected["schema_version"]:
            diffs.append(
                f"{fname}: schema_version {actual['schema_version']!r}, "
                f"expected {expected['schema_version']!r}"
            )
        try:
            akeys = [record_key(r) for r in actual["entries"]]
        except FitError as exc:
            diffs.append(f"{fname}: {exc}")
            continue
        ekeys = [record_key(r) for r in expected["entries"]]
        amap = dict(zip(akeys, actual["entries"], strict=True))
        if len(amap) != len(akeys):
            diffs.append(f"{fname}: duplicate entries")
        emap = dict(zip(ekeys, expected["entries"], strict=True))
        if wanted is not None:
            akeys = [k for k in akeys if k in wanted]
            ekeys = [k for k in ekeys if k in wanted]
        for key in ekeys:
            if key not in amap:
                diffs.append(f"{fname}: missing entry {_label(key)}")
        for key in akeys:
            if key not in emap:
                diffs.append(f"{fname}: entry not in the spec: {_label(key)}")
        common_a = [k for k in akeys if k in emap]
        common_e = [k for k in ekeys if k in amap]
        if common_a != common_e:
            diffs.append(f"{fname}: entries are not in spec order")
        for key in common_e:
            n += 1
            c, f = amap[key], emap[key]
            if canonical_json(c) == canonical_json(f):
                identical += 1
                continue
            fails, entry_notes = compare_records(c, f)
            diffs += [f"{fname}: {_label(key)}: {d}" for d in fails]
            notes += [f"{fname}: {_label(key)}: {d}" for d in entry_notes]
    return CheckReport(
        ok=not diffs,
        entries=n,
        identical=identical,
        differences=tuple(diffs),
        notes=tuple(notes),
    )


def check(
    spec_path: str | os.PathLike[str] | None = None,
    tables: str | os.PathLike[str] | None = None,
    *,
    only: str | Sequence[str] | None = None,
    jobs: int | None = None,
    progress: Callable[[int, int, SpecEntry | None], None] | None = None,
) -> CheckReport:
    """Regenerate the spec into a temporary folder and compare with ``tables``.

    See :func:`compare_records` for what is compared and the tolerances.
    ``only`` (``--only`` filters, see :func:`parse_filter`) regenerates and
    compares just the matching entries.
    """
    root = existing_folder(tables, "tables") if tables is not None else default_tables_dir()
    keys = None
    if only is not None:
        keys = [e.key for e in select(load_spec(spec_path), only)]
    with tempfile.TemporaryDirectory(prefix="opade-tables-") as tmp:
        regenerate(spec_path, tmp, only=only, jobs=jobs, progress=progress)
        return compare_tables(tmp, root, keys=keys)


# ============================================================================ get_init
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


_TABLE_CACHE: dict[tuple[str, int, int], dict[str, Any]] = {}
_ENTRY_CACHE: dict[tuple, TableEntry] = {}


def _cached_table(path: Path) -> dict[str, Any]:
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    doc = _TABLE_CACHE.get(key)
    if doc is None:
        doc = read_table(path)
        _TABLE_CACHE[key] = doc
    return doc


_MATCH_FIELDS = (
    "basis",
    "denominator",
    "degrees",
    "target",
    "interval",
    "objective",
    "weight",
    "center",
)


def _request_fields(record: dict[str, Any]) -> dict[str, Any]:
    key = record_key(record)
    basis, den, deg, target, params, interval, _c, _p, obj, weight, _lam, center = key
    return {
        "basis": basis,
        "denominator": den,
        "degrees": deg,
        "target": (target, params),
        "interval": interval,
        "objective": obj,
        "weight": weight,
        "center": center,
    }


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
    spec = make_spec(
        target,
        basis=basis,
        denominator=denominator,
        degrees=degrees,
        interval=interval,
        objective=objective,
        params=params,
        weight=weight,
        center=center,
        points=max(2, sum(_degrees(degrees)) + 1),
    )
    want = {
        "basis": spec.form.basis,
        "denominator": spec.form.denominator,
        "degrees": tuple(spec.form.degrees),
        "target": (spec.target.name, tuple(sorted(spec.target.to_dict()["params"].items()))),
        "interval": spec.interval,
        "objective": spec.objective,
        "weight": spec.weight,
        "center": spec.center,
    }
    if spec.target.name == "expression":  # no table holds one; name it as the user wrote it
        want["target"] = (spec.target.expression, ())
    root = Path(tables) if tables is not None else default_tables_dir()
    path = table_path(root, spec.form.basis)
    candidates: list[tuple[Path, int, dict[str, Any]]] = []
    for p in table_files(root):
        for i, rec in enumerate(_cached_table(p)["entries"]):
            candidates.append((p, i, rec))
    for p, i, rec in candidates:
        if p == path and rec.get("derivative_weight") == 0.0 and _request_fields(rec) == want:
            st = p.stat()
            ckey = (str(p.resolve()), st.st_mtime_ns, st.st_size, i)
            entry = _ENTRY_CACHE.get(ckey)
            if entry is None:
                entry = _ENTRY_CACHE[ckey] = TableEntry.from_record(rec)
            return entry
    raise EntryNotFoundError(_missing_message(want, candidates, spec))


def _degrees(degrees) -> tuple[int, int]:
    """``(k, l)`` from ``"K/L"`` or a pair (validated by :func:`~opade_fit.forms.parse_degrees`)."""
    from .forms import parse_degrees

    return parse_degrees(degrees)


def _missing_message(want: dict[str, Any], candidates, spec: FitSpec) -> str:
    def show(fields: dict[str, Any]) -> str:
        name, params = fields["target"]
        p = ", ".join(f"{k}={_fmt_num(v)}" for k, v in params)
        a, b = fields["interval"]
        k, l = fields["degrees"]
        return (
            f"{fields['basis']}/{fields['denominator']} {k}/{l} {name}{f'({p})' if p else ''} "
            f"on [{a:g}, {b:g}], objective {fields['objective']}, weight {fields['weight']}, "
            f"center {fields['center']}"
        )

    scored = []
    seen = set()
    for order, (_p, _i, rec) in enumerate(candidates):
        if rec.get("derivative_weight") != 0.0:
            continue
        fields = _request_fields(rec)
        ident = tuple(sorted((k, repr(v)) for k, v in fields.items()))
        if ident in seen:
            continue
        seen.add(ident)
        differ = [f for f in _MATCH_FIELDS if fields[f] != want[f]]
        # another basis or denominator is another function class: rank those last
        other_class = ("basis" in differ, "denominator" in differ)
        scored.append((other_class, len(differ), order, fields, differ))
    scored.sort(key=lambda t: t[:3])
    closest = "; ".join(
        f"{show(fields)} (differs in {', '.join(differ)})" for *_rank, fields, differ in scored[:3]
    )
    command = _fit_command(
        want["basis"],
        want["denominator"],
        want["degrees"],
        want["target"][0],
        want["target"][1],
        want["interval"],
        want["objective"],
        want["weight"],
        want["center"],
    )
    return (
        f"no init-table entry for {show(want)}; closest entries: {closest or '(no tables)'}; "
        f"fit it with: {command}"
    )


# ============================================================================ export
#: rational_activations' version letter of each monomial denominator (docs/tables.md).
RATIONAL_VERSIONS: dict[str, str] = {"safe": "A", "safe-abs-sum": "B", "plain": "N"}


def export_rational_activations(
    records: Iterable[dict[str, Any]], *, objective: str = "l2"
) -> dict[str, dict[str, dict[str, Any]]]:
    """The monomial entries in rational_activations' ``rationals_config.json`` layout.

    ``{"Rational_version_A5/4": {"leaky_relu": {"init_w_numerator": [...],
    "init_w_denominator": [...], "lb": -3.0, "ub": 3.0}}}``: version ``A`` =
    ``safe``, ``B`` = ``safe-abs-sum``, ``N`` = ``plain``. Exported: monomial
    entries with uniform weight, no zero-centring, derivative weight 0,
    default target parameters (the layout has no place for parameters, so a
    name must mean the defaults) and the requested ``objective`` (the layout
    has no place for it either: export ``l2`` and ``max`` to separate files).

    Raises
    ------
    UsageError
        Unknown ``objective``.
    FitError
        Two exported entries would share one key (e.g. two intervals).
    """
    if objective not in OBJECTIVES:
        raise UsageError(
            f"`objective` must be one of {', '.join(OBJECTIVES)}, got {objective!r}"
            + suggest(str(objective), OBJECTIVES)
        )
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for rec in records:
        form = rec["form"]
        if (
            form["basis"] != "monomial"
            or rec["objective"] != objective
            or rec["weight"] != "uniform"
            or rec["center"]["mode"] != "none"
            or rec["derivative_weight"] != 0.0
        ):
            continue
        name = rec["target"]["name"]
        defaults = get_target(name).to_dict()["params"] if name in TARGET_NAMES else None
        if defaults is None or rec["target"]["params"] != defaults:
            continue
        k, l = form["degrees"]
        version = f"Rational_version_{RATIONAL_VERSIONS[form['denominator']]}{k}/{l}"
        block = out.setdefault(version, {})
        if name in block:
            raise FitError(
                f"two entries export to {version}/{name} (e.g. different intervals); "
                "the rational_activations layout holds one per name"
            )
        lb, ub = rec["interval"]
        block[name] = {
            "init_w_numerator": list(rec["coefficients"]["numerator"]),
            "init_w_denominator": list(rec["coefficients"]["denominator"]),
            "lb": float(lb),
            "ub": float(ub),
        }
    return out


def export_flat(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat object per entry: the inputs, coefficients and headline errors.

    Keys: ``basis, denominator, degrees, target, params, interval, objective,
    weight, derivative_weight, center, dropped, coefficients {numerator,
    denominator}, fit_max_abs, fit_rms, check_interval, check_max_abs,
    check_rms, lower_bound`` (minimax only, else null), ``poles``.
    """
    out = []
    for rec in records:
        cert = rec.get("certificate") or {}
        err = rec["errors"]
        out.append(
            {
                "basis": rec["form"]["basis"],
                "denominator": rec["form"]["denominator"],
                "degrees": list(rec["form"]["degrees"]),
                "target": rec["target"]["name"],
                "params": dict(rec["target"]["params"]),
                "interval": list(rec["interval"]),
                "objective": rec["objective"],
                "weight": rec["weight"],
                "derivative_weight": rec["derivative_weight"],
                "center": rec["center"]["mode"],
                "dropped": rec["center"]["dropped"],
                "coefficients": {
                    "numerator": list(rec["coefficients"]["numerator"]),
                    "denominator": list(rec["coefficients"]["denominator"]),
                },
                "fit_max_abs": err["fit"]["max_abs"],
                "fit_rms": err["fit"]["rms"],
                "check_interval": list(err["check"]["interval"]),
                "check_max_abs": err["check"]["max_abs"],
                "check_rms": err["check"]["rms"],
                "lower_bound": cert.get("lower_bound"),
                "poles": list(rec.get("poles") or []),
            }
        )
    return out
