"""Deterministic, atomic JSON output shared by fit records and tables.

A *fit record* (schema 1.0) is a plain dict; see ``docs/record.md`` for every
field. It is written with sorted keys, indent 2, ``allow_nan=False`` and a
trailing newline, so the same inputs give byte-identical files.
"""

from __future__ import annotations

import json
import os
import stat
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

    A symbolic link is followed: the file it points to is replaced (atomically, next to
    it) and the link is kept. Only a regular file is ever replaced: a folder, device node,
    pipe or socket at ``path`` is refused. A failure or an interrupt (Ctrl-C) leaves an
    existing file untouched and removes the temp file.

    Returns
    -------
    Path
        ``path`` as given.

    Raises
    ------
    FitError
        If ``path`` (or what it links to) exists and is not a regular file, or the folder
        does not exist or is not writable.
    """
    path = Path(path)
    real = Path(os.path.realpath(path))  # follows symlinks (also chains); == path otherwise
    try:
        st = real.stat()
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise FitError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise FitError(
            f"cannot write {str(path)!r}: it is not a regular file (refusing to replace it)"
        )
    folder = real.parent
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise FitError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _mode_for(real))  # mkstemp makes 0600; keep the usual file mode
        os.replace(tmp, real)
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
