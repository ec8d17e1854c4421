"""Output file rules shared by the figures and the command line (no matplotlib import).

The CLI checks every output path with these before any fitting starts, so a
bad ``--plot`` or ``--out`` is refused in a second, not after a long fit.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import UsageError

__all__ = ["FIGURE_FORMATS", "check_output_path", "figure_format"]

#: Figure file formats, by suffix (lower case, without the dot).
FIGURE_FORMATS: tuple[str, ...] = ("png", "svg")


def figure_format(path: str | os.PathLike[str], *, option: str = "path") -> str:
    """The figure format of ``path`` by its suffix: ``"png"`` or ``"svg"``.

    Raises
    ------
    UsageError
        Another suffix; the message names ``option`` (e.g. ``--plot``).
    """
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FIGURE_FORMATS:
        raise UsageError(
            f"`{option}` must end in {' or '.join('.' + f for f in FIGURE_FORMATS)}; "
            f"got {str(path)!r}"
        )
    return fmt


def check_output_path(path: str | os.PathLike[str], *, option: str) -> Path:
    """Refuse an output file whose folder is missing or which names a folder.

    Raises
    ------
    UsageError
        The parent folder does not exist or is not a folder, or ``path`` is a
        folder; the message names ``option``.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UsageError(f"`{option}` {str(path)!r} is a folder; give a file name")
    if not folder.is_dir():
        raise UsageError(f"`{option}` {str(path)!r}: folder {str(folder)!r} does not exist")
    return path
