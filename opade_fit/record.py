"""Deterministic, atomic JSON output shared by fit records and tables.

A *fit record* (schema 1.0) is a plain dict; see ``docs/record.md`` for every
field. It is written with sorted keys, indent 2, ``allow_nan=False`` and a
trailing newline, so the same inputs give byte-identical files.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import FitError

__all__ = ["SCHEMA_VERSION", "dumps", "write_atomic", "write_json"]

#: (major, minor) of the fit-record / table schema.
SCHEMA_VERSION: tuple[int, int] = (1, 1)


def dumps(obj: Any) -> str:
    """Serialise ``obj`` deterministically (sorted keys, indent 2, no NaN, final newline).

    Raises
    ------
    FitError
        If ``obj`` holds NaN or infinity (never written silently).
    """
    try:
        return json.dumps(obj, sort_keys=True, indent=2, allow_nan=False, ensure_ascii=False) + "\n"
    except ValueError as exc:
        raise FitError(f"refusing to write non-finite numbers to JSON: {exc}") from None


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Write ``data`` to ``path`` atomically: temp file in the same folder, fsync, rename.

    A failure leaves an existing file untouched and removes the temp file.

    Raises
    ------
    FitError
        If the folder does not exist or is not writable.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise FitError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _mode_for(path))  # mkstemp makes 0600; keep the usual file mode
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise FitError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
        raise
    return path


def _mode_for(path: Path) -> int:
    """The mode of an existing file, else 0666 minus the process umask."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """:func:`dumps` then :func:`write_atomic`."""
    return write_atomic(path, dumps(obj))
