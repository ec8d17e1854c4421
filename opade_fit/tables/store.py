"""The table files: where they are, the one reader (with the schema-version check), the cache.

Every module that reads a table file — regeneration, comparison, lookup,
export, the CLI and the report — reads it through :func:`read_table` (or the
cached :func:`cached_table`), so a table of another major schema version is
refused the same way everywhere.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..bases import BASIS_NAMES
from ..errors import FitError, UsageError
from ..record import SCHEMA_VERSION
from ..result import tool_block
from .key import FitKey

__all__ = [
    "cached_table",
    "check_schema",
    "check_table",
    "default_spec_path",
    "default_tables_dir",
    "existing_folder",
    "load_entries",
    "read_json",
    "read_table",
    "record_key",
    "table_document",
    "table_files",
    "table_path",
]

_SPEC_FILE = "spec.toml"


def _resources_dir() -> Path:
    """The folder of the shipped tables (packaged ``opade_fit/_tables`` or ``<repo>/tables``)."""
    from ..reference import tables_dir  # the one resolver, shared with the reference tables

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


def check_schema(doc: Any, what: str) -> None:
    """Refuse a document whose ``schema_version`` major is not this opade-fit's.

    Raises
    ------
    FitError
        ``doc`` has no ``schema_version`` list or another major version;
        the message names ``what`` (e.g. ``table 'x.json'``).
    """
    version = doc.get("schema_version") if isinstance(doc, dict) else None
    if not isinstance(version, list) or not version or version[0] != SCHEMA_VERSION[0]:
        raise FitError(
            f"{what} has schema_version {version!r}; this opade-fit reads major "
            f"version {SCHEMA_VERSION[0]}"
        )


def read_json(
    path: str | os.PathLike[str], *, what: str, invalid: type[Exception] = FitError
) -> Any:
    """The JSON document in ``path`` (UTF-8).

    Raises
    ------
    FitError
        The file cannot be read (the message names ``what``, e.g. ``table 'x.json'``).
    invalid
        The file is not valid JSON (:class:`FitError` for a file opade-fit wrote,
        :class:`UsageError` for one the user named).
    """
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise FitError(f"cannot read {what}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise invalid(f"{what} is not valid JSON: {exc}") from None


def check_table(doc: Any, what: str) -> dict[str, Any]:
    """``doc`` checked to be a table: a schema of this major version and an ``entries`` list.

    Raises
    ------
    FitError
        Another major schema version, or no ``entries`` list.
    """
    check_schema(doc, what)
    if not isinstance(doc.get("entries"), list):
        raise FitError(f"{what} has no `entries` list")
    return doc


def read_table(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load one table file and check its ``schema_version`` major (:func:`check_table`).

    Raises
    ------
    FitError
        Unreadable, not JSON, or another major schema version.
    """
    what = f"table {str(path)!r}"
    return check_table(read_json(path, what=what), what)


def table_document(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The table file's document: ``{schema_version, tool, entries}``."""
    return {"schema_version": list(SCHEMA_VERSION), "tool": tool_block(), "entries": records}


_TABLE_CACHE: dict[tuple[str, int, int], dict[str, Any]] = {}


def file_identity(path: Path) -> tuple[str, int, int]:
    """(resolved path, mtime in ns, size): a cached read is reused while this is unchanged."""
    st = path.stat()
    return (str(path.resolve()), st.st_mtime_ns, st.st_size)


def cached_table(path: Path) -> dict[str, Any]:
    """:func:`read_table`, cached while the file is unchanged (:func:`file_identity`)."""
    key = file_identity(path)
    doc = _TABLE_CACHE.get(key)
    if doc is None:
        doc = read_table(path)
        _TABLE_CACHE[key] = doc
    return doc


def load_entries(tables: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """Every record of every table (bases in canonical order, entries in file order)."""
    root = Path(tables) if tables is not None else default_tables_dir()
    return [rec for p in table_files(root) for rec in cached_table(p)["entries"]]


def record_key(record: dict[str, Any]) -> FitKey:
    """The identity of a fit record (:meth:`FitKey.from_record`): its inputs, not its results.

    ``center.dropped`` is not part of it (for ``drop = "best"`` it is a result).

    Raises
    ------
    FitError
        Not a fit record of schema 1.x.
    """
    return FitKey.from_record(record)
