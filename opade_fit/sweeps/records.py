"""The records of a sweep folder: ``records.jsonl``, one :class:`SweepEntry` a line."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FitError

__all__ = ["RECORDS_FILE", "SweepEntry", "append_line", "read_entries"]

#: The file of the records in a sweep folder (JSON Lines).
RECORDS_FILE = "records.jsonl"


@dataclass(frozen=True)
class SweepEntry:
    """One fit of a sweep: the fit record plus what the sweep measured.

    Attributes
    ----------
    key : str
        Identity of the fit (JSON text: target, basis, denominator, degrees,
        interval, objective, grid points, coarse search points).
    record : dict
        The schema-1.0 fit record (``FitResult.from_dict(record)`` evaluates it).
    cpu_seconds, wall_seconds : float
        CPU (process) time and wall time of the fit, in seconds.
    condition, condition_raw : float
        2-norm condition number of the first linearised least-squares matrix,
        with unit-norm columns / as built (dimensionless; +inf if singular).
    warm_starts : tuple of str
        Degrees ``"K/L"`` of the lower-degree fits it was also started from.
    """

    key: str
    record: dict[str, Any]
    cpu_seconds: float
    wall_seconds: float
    condition: float
    condition_raw: float
    warm_starts: tuple[str, ...]

    @property
    def degrees(self) -> tuple[int, int]:
        """(k, l)."""
        k, l = self.record["form"]["degrees"]
        return int(k), int(l)

    @property
    def parameters(self) -> int:
        """Trainable parameters k + 1 + l."""
        k, l = self.degrees
        return k + 1 + l

    @property
    def rms(self) -> float:
        """RMS error on the fit interval."""
        return float(self.record["errors"]["fit"]["rms"])

    def to_dict(self) -> dict[str, Any]:
        """The JSON line written to ``records.jsonl`` (non-finite condition -> null)."""

        def num(v: float) -> float | None:
            return float(v) if math.isfinite(v) else None

        return {
            "key": self.key,
            "record": self.record,
            "cpu_seconds": self.cpu_seconds,
            "wall_seconds": self.wall_seconds,
            "condition": num(self.condition),
            "condition_raw": num(self.condition_raw),
            "warm_starts": list(self.warm_starts),
        }

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> SweepEntry:
        """Rebuild from a ``records.jsonl`` line (KeyError/TypeError if malformed)."""

        def num(v: Any) -> float:
            return float("inf") if v is None else float(v)

        rec = obj["record"]
        if not isinstance(rec, dict) or "form" not in rec or "errors" not in rec:
            raise TypeError("not a fit record")
        return cls(
            key=str(obj["key"]),
            record=rec,
            cpu_seconds=float(obj["cpu_seconds"]),
            wall_seconds=float(obj["wall_seconds"]),
            condition=num(obj["condition"]),
            condition_raw=num(obj["condition_raw"]),
            warm_starts=tuple(str(s) for s in obj.get("warm_starts") or ()),
        )


def read_entries(path: str | os.PathLike[str]) -> tuple[list[SweepEntry], int]:
    """Read a sweep folder (or its ``records.jsonl``): (entries, lines skipped).

    Lines that are not complete JSON sweep entries (a torn last line after an
    interrupted run) are skipped and counted. A missing file gives ``([], 0)``.
    Later lines with the same key replace earlier ones.
    """
    p = Path(path)
    if p.is_dir():
        p = p / RECORDS_FILE
    if not p.exists():
        return [], 0
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise FitError(f"cannot read {str(p)!r}: {exc.strerror or exc}") from None
    entries: dict[str, SweepEntry] = {}
    skipped = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            e = SweepEntry.from_dict(json.loads(line))
        except (ValueError, KeyError, TypeError):
            skipped += 1
            continue
        entries[e.key] = e
    return list(entries.values()), skipped


def append_line(path: Path, entry: SweepEntry) -> None:
    """Append one entry as one line with a single write on an O_APPEND descriptor, fsynced."""
    data = (json.dumps(entry.to_dict(), sort_keys=True, allow_nan=False) + "\n").encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            # a torn line left by an interrupted run must not swallow this one
            if os.fstat(fd).st_size and not _ends_with_newline(path):
                data = b"\n" + data
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise FitError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"\n"
