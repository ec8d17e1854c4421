"""Regeneration: fit the spec's entries in the process pool and write the tables.

:func:`regenerate` fits the entries (all cores by default, costliest first,
:func:`opade_fit.pool.run_pool`) and writes one table per basis,
``{schema_version, tool, entries: [records ...]}``, with entries in spec
order, deterministically and atomically, holding the folder's lock. With
``only`` it refits just the matching entries and keeps every other entry of
the files exactly as it was.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..bases import BASIS_NAMES
from ..errors import FitError, UsageError
from ..pool import available_cpus, run_pool
from ..record import canonical_json, write_atomic
from . import store
from .key import FitKey
from .spec import SpecEntry, load_spec, select
from .store import existing_folder, record_key, table_document, table_path

__all__ = ["LOCK_NAME", "LOCK_TIMEOUT", "RegenerateReport", "regenerate"]


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
    from ..fitting import fit_spec

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


def _run_fits(
    entries: Sequence[SpecEntry],
    jobs: int,
    progress: Callable[[int, int, SpecEntry | None], None] | None,
) -> tuple[list[dict[str, Any]], list[str]]:
    total = len(entries)
    finished = 0

    def done(i: int, _result: Any) -> None:
        nonlocal finished
        finished += 1
        if progress is not None:
            progress(finished, total, entries[i])

    if progress is not None:
        progress(0, total, None)
    results = run_pool(
        _fit_entry,
        entries,
        jobs=jobs,
        cost=_cost,
        done=done,
        describe=lambda e: f"fitting table entry {e.label()}",
    )
    pairs = zip(entries, results, strict=True)
    notes = [f"{e.label()}: {m}" for e, (_r, msgs) in pairs for m in msgs]
    return [r for r, _m in results], notes


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
    records, notes = _run_fits(chosen, jobs or available_cpus(), progress)
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
    new: dict[FitKey, dict[str, Any]],
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
            documents[path] = canonical_json(table_document([new[k] for k in spec_keys]))
            continue
        if not any(e.basis == basis for e in chosen):
            continue  # file untouched
        existing = store.read_table(path)["entries"] if path.is_file() else []
        old: dict[FitKey, dict[str, Any]] = {}
        for rec in existing:
            key = record_key(rec)
            if key in old:
                raise FitError(f"table {str(path)!r} holds entry {key.label()} twice")
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
        documents[path] = canonical_json(table_document(merged + stale))
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
