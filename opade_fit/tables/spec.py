"""The table specification: ``spec.toml`` expanded into :class:`SpecEntry` objects.

:func:`load_spec` expands the specification (groups of lists, expanded as a
product in the fixed order :data:`SPEC_FIELDS`) into fully explicit, validated
entries; :func:`select` picks the entries an ``--only`` filter names (the
filter language of :mod:`.key`).
"""

from __future__ import annotations

import itertools
import os
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..bases import BASIS_NAMES
from ..errors import UsageError, suggest
from ..forms import DENOMINATORS
from ..problem import CENTER_MODES, OBJECTIVES, FitSpec, make_spec
from ..targets import TARGET_NAMES, get_target
from .key import FitKey, parse_filter
from .store import default_spec_path

__all__ = ["SPEC_FIELDS", "SPEC_FORMAT", "SpecEntry", "load_spec", "select"]

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


@dataclass(frozen=True)
class SpecEntry:
    """One fully explicit table entry of the spec (what to fit, not the result).

    Attributes
    ----------
    group : str
        Name of the spec group it comes from.
    key : FitKey
        The fit's identity; equal to ``FitKey.from_record`` of its record.
    drop : str or None
        None for "try each admissible coefficient and keep the best" (spec
        value ``"best"``) or ``"cI"``.

    The key's fields are also attributes of the entry (``entry.basis``, ...).
    """

    group: str
    key: FitKey
    drop: str | None

    def __getattr__(self, name: str):
        if name in FitKey.__dataclass_fields__:
            return getattr(self.key, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def fit_spec(self) -> FitSpec:
        """The validated :class:`~opade_fit.problem.FitSpec` of this entry."""
        k = self.key
        return make_spec(
            k.target,
            basis=k.basis,
            denominator=k.denominator,
            degrees=k.degrees,
            interval=k.interval,
            objective=k.objective,
            params=dict(k.params),
            points=k.points,
            check_interval=k.check_interval,
            weight=k.weight,
            derivative_weight=k.derivative_weight,
            center=k.center,
            drop=self.drop,
        )

    def label(self) -> str:
        """A one-line description (:meth:`FitKey.label`)."""
        return self.key.label()

    def fit_command(self) -> str:
        """The ``opade fit`` command that produces this entry's record."""
        return self.key.fit_command(drop=self.drop)

    def field_value(self, name: str) -> str:
        """The canonical string of a filter field (``group`` or a :class:`FitKey` field)."""
        return self.group if name == "group" else self.key.field_value(name)


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
    seen: dict[FitKey, str] = {}
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
        for combo in itertools.product(*(lists[f] for f in SPEC_FIELDS)):
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
            entry = SpecEntry(group=name, key=FitKey.from_spec(spec), drop=spec.drop)
            if entry.key in seen:
                raise UsageError(
                    f"{where}: entry {entry.label()} duplicates one of group {seen[entry.key]!r} "
                    "(the entry identity ignores `drop`: at most one drop-one entry per form)"
                )
            seen[entry.key] = name
            entries.append(entry)
    return entries


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
    chosen = [e for e in entries if any(e.key.matches(t, group=e.group) for t in parsed)]
    if not chosen:
        raise UsageError(f"`--only` {' OR '.join(filters)!r} matches no entry of the spec")
    return chosen
