"""Checking whole tables: regenerate into a temporary folder and compare file by file.

:func:`check` regenerates the spec into a temporary folder and compares it
with the committed tables (:func:`compare_tables`): file-level metadata and
entry order exactly, each entry by :func:`~.compare.compare_records`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..bases import BASIS_NAMES
from ..errors import FitError
from ..record import canonical_json
from .compare import compare_records
from .key import FitKey
from .regeneration import regenerate
from .spec import SpecEntry, load_spec, select
from .store import default_tables_dir, existing_folder, read_table, record_key, table_path

__all__ = ["CheckReport", "check", "compare_tables"]


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


def compare_tables(
    expected_dir: str | os.PathLike[str],
    actual_dir: str | os.PathLike[str],
    *,
    keys: Iterable[FitKey] | None = None,
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
    keys : iterable of FitKey, optional
        Compare only these entries (:attr:`SpecEntry.key`, :func:`record_key`); the set and order
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
        if wanted is not None and not any(k.basis == basis for k in wanted):
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
                diffs.append(f"{fname}: missing entry {key.label()}")
        for key in akeys:
            if key not in emap:
                diffs.append(f"{fname}: entry not in the spec: {key.label()}")
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
            diffs += [f"{fname}: {key.label()}: {d}" for d in fails]
            notes += [f"{fname}: {key.label()}: {d}" for d in entry_notes]
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
