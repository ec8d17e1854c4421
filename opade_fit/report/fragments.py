"""The report page's building blocks: escaping, figure names, and the page being assembled."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from .data import HeatmapData

__all__ = ["Page", "esc", "numbers_table", "slug"]


def slug(text: str) -> str:
    """A file-name part: runs of other characters than letters, digits and dots become ``-``."""
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-")[:60] or "x"


def esc(text: Any) -> str:
    """``text`` escaped for HTML text and attribute values."""
    return html.escape(str(text), quote=True)


class Page:
    """Collects HTML fragments and the figure jobs they reference."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.parts: list[str] = []
        self.jobs: list[tuple[str, dict[str, Any]]] = []
        self.names: set[str] = set()

    def figure_path(self, name: str) -> tuple[str, str]:
        """(relative, absolute) path of a new PNG named after ``name`` (numbered if taken)."""
        base, n = slug(name), 1
        rel = f"figures/{base}.png"
        while rel in self.names:
            n += 1
            rel = f"figures/{base}-{n}.png"
        self.names.add(rel)
        return rel, str(self.out_dir / rel)

    def add_figure(
        self,
        kind: str,
        name: str,
        spec: dict[str, Any],
        alt: str,
        *,
        svg: bool = False,
        lazy: bool = False,
    ) -> str:
        """Queue the drawing job ``(kind, spec)`` and return the ``<figure>`` showing it."""
        rel, full = self.figure_path(name)
        self.jobs.append((kind, {**spec, "path": full}))
        loading = ' loading="lazy"' if lazy else ""
        link = f' <a href="{esc(rel[:-4])}.svg">SVG</a>' if svg else ""
        return (
            f'<figure><a href="{esc(rel)}"><img src="{esc(rel)}" alt="{esc(alt)}"{loading}>'
            f"</a><figcaption>{esc(alt)}{link}</figcaption></figure>"
        )

    def add(self, fragment: str) -> None:
        """Append an HTML fragment to the page."""
        self.parts.append(fragment)


def numbers_table(data: HeatmapData) -> str:
    """A folded HTML table of a heatmap's cells (the same strings as printed in the figure)."""
    head = "".join(f"<th>{esc(c)}</th>" for c in data.cols)
    rows = []
    for name, texts in zip(data.rows, data.texts, strict=True):
        cells = "".join(f'<td class="num">{esc(t)}</td>' for t in texts)
        rows.append(f"<tr><th>{esc(name)}</th>{cells}</tr>")
    return (
        f'<details><summary>numbers: {esc(data.title)}</summary><table class="heat">'
        f"<tr><th></th>{head}</tr>{''.join(rows)}</table></details>"
    )
