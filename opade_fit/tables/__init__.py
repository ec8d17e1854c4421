"""Init tables: the committed, reproducible coefficient tables for framework layers.

Data flow (see ``docs/tables.md`` and ``tables/README.md``)::

    tables/spec.toml --load_spec--> [SpecEntry ...] --regenerate--> tables/<basis>.json
                                                        (fit_spec in a process pool)

One module a job:

* :mod:`.key` — :class:`FitKey`, the named identity of a fit (label, ``opade
  fit`` command) and the one filter language (:func:`parse_filter`,
  :meth:`FitKey.matches`);
* :mod:`.store` — where the tables are, the one reader with the schema-version
  check (:func:`read_table`), the cache, :func:`load_entries`;
* :mod:`.spec` — ``spec.toml`` expanded into :class:`SpecEntry` objects,
  :func:`select`;
* :mod:`.regeneration` — fitting in the process pool, atomic writes under a lock;
* :mod:`.compare` — one committed record against a regenerated one;
* :mod:`.checking` — whole tables: :func:`compare_tables`, :func:`check`;
* :mod:`.lookup` — :func:`get_init` and :class:`TableEntry` for framework layers;
* :mod:`.export` — other libraries' layouts.

Every name is importable from ``opade_fit.tables``; each loads its module on
first use, so ``get_init`` never imports the regeneration or the solvers.

Coefficient convention (as everywhere in opade-fit): numerator c_0..c_k,
denominator d_1..d_l, increasing degree, the leading 1 of Q implicit.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .checking import CheckReport, check, compare_tables
    from .compare import (
        ERROR_ATOL,
        ERROR_RTOL,
        FUNCTION_ATOL,
        FUNCTION_GRID_POINTS,
        FUNCTION_RTOL,
        POLE_ATOL,
        POLE_RTOL,
        compare_records,
    )
    from .export import RATIONAL_VERSIONS, export_flat, export_rational_activations
    from .key import FILTER_FIELDS, KEY_FIELDS, FitKey, parse_filter
    from .lookup import GET_INIT_FIELDS, EntryNotFoundError, TableEntry, get_init
    from .regeneration import LOCK_NAME, LOCK_TIMEOUT, RegenerateReport, regenerate
    from .spec import SPEC_FIELDS, SPEC_FORMAT, SpecEntry, load_spec, select
    from .store import (
        default_spec_path,
        default_tables_dir,
        existing_folder,
        load_entries,
        read_table,
        record_key,
        table_files,
        table_path,
    )

_MODULES: dict[str, tuple[str, ...]] = {
    "checking": ("CheckReport", "check", "compare_tables"),
    "compare": (
        "ERROR_ATOL",
        "ERROR_RTOL",
        "FUNCTION_ATOL",
        "FUNCTION_GRID_POINTS",
        "FUNCTION_RTOL",
        "POLE_ATOL",
        "POLE_RTOL",
        "compare_records",
    ),
    "export": ("RATIONAL_VERSIONS", "export_flat", "export_rational_activations"),
    "key": ("FILTER_FIELDS", "KEY_FIELDS", "FitKey", "parse_filter"),
    "lookup": ("GET_INIT_FIELDS", "EntryNotFoundError", "TableEntry", "get_init"),
    "regeneration": ("LOCK_NAME", "LOCK_TIMEOUT", "RegenerateReport", "regenerate"),
    "spec": ("SPEC_FIELDS", "SPEC_FORMAT", "SpecEntry", "load_spec", "select"),
    "store": (
        "default_spec_path",
        "default_tables_dir",
        "existing_folder",
        "load_entries",
        "read_table",
        "record_key",
        "table_files",
        "table_path",
    ),
}
_LAZY = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
    "ERROR_ATOL",
    "ERROR_RTOL",
    "FILTER_FIELDS",
    "FUNCTION_ATOL",
    "FUNCTION_GRID_POINTS",
    "FUNCTION_RTOL",
    "GET_INIT_FIELDS",
    "KEY_FIELDS",
    "LOCK_NAME",
    "LOCK_TIMEOUT",
    "POLE_ATOL",
    "POLE_RTOL",
    "RATIONAL_VERSIONS",
    "SPEC_FIELDS",
    "SPEC_FORMAT",
    "CheckReport",
    "EntryNotFoundError",
    "FitKey",
    "RegenerateReport",
    "SpecEntry",
    "TableEntry",
    "check",
    "compare_records",
    "compare_tables",
    "default_spec_path",
    "default_tables_dir",
    "existing_folder",
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
    "table_files",
    "table_path",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
