"""Error heatmaps: a basis × target grid of errors on a log colour scale, and its colour bar."""

from __future__ import annotations

import math

import matplotlib as mpl
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from .data import HeatmapData, format_error

__all__ = ["HEATMAP_DECADES", "heatmap_colorbar", "log_colorbar_ticks", "plot_heatmap"]

#: Decades of the colour scale of heatmaps (smaller errors get the darkest colour).
HEATMAP_DECADES = 6


def plot_heatmap(ax, data: HeatmapData, *, cmap: str = "viridis"):
    """Draw an error heatmap (log colour scale, value printed in each cell).

    Returns
    -------
    (AxesImage, list of Text)
        The image and the cell texts (row-major, same strings as ``data.texts``).
    """
    v = np.asarray(data.values, dtype=np.float64)
    finite = v[np.isfinite(v) & (v > 0)]
    lo = float(finite.min()) if finite.size else 1e-3
    hi = float(finite.max()) if finite.size else 1.0
    # exact entries (1e-15) would stretch the scale over 15 decades and paint every
    # ordinary error the same colour: show at most HEATMAP_DECADES, darker = below
    lo = max(lo, hi / 10**HEATMAP_DECADES)
    if hi <= lo:
        lo, hi = lo / 10, hi * 10
    norm = LogNorm(vmin=lo, vmax=hi, clip=True)
    colormap = mpl.colormaps[cmap].with_extremes(bad="#eeeeee")
    shown = np.ma.masked_invalid(np.where(v > 0, v, np.nan))
    image = ax.imshow(shown, cmap=colormap, norm=norm, aspect="auto", interpolation="nearest")
    ax.set_xticks(
        range(len(data.cols)), labels=data.cols, rotation=35, ha="right", rotation_mode="anchor"
    )
    ax.set_yticks(range(len(data.rows)), labels=data.rows)
    ax.tick_params(length=0)
    ax.grid(False)
    ax.set_title(data.title, loc="left")
    texts = []
    for i, row in enumerate(data.texts):
        for j, text in enumerate(row):
            val = v[i, j]
            if math.isfinite(val) and val > 0:
                r, g, b, _ = colormap(norm(val))
                dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
                color = "white" if dark else "black"
            else:
                color = "0.4"
            texts.append(ax.text(j, i, text, ha="center", va="center", fontsize=7, color=color))
    for edge in ax.spines.values():
        edge.set_visible(False)
    return image, texts


def log_colorbar_ticks(lo: float, hi: float, *, max_ticks: int) -> list[float]:
    """Ticks of a log colour bar over [lo, hi]: both ends, and the decades between them.

    A decade closer to an end than 15 % of the bar's log span is dropped (its
    label would touch the end's), then decades are thinned evenly so that at
    most ``max_ticks`` labels remain (the ends always stay).
    """
    if not (lo > 0 and hi > lo):
        return [v for v in (lo, hi) if v > 0][:1]
    span = math.log10(hi / lo)
    decades = [
        10.0**k
        for k in range(math.ceil(math.log10(lo)), math.floor(math.log10(hi)) + 1)
        if min(math.log10(10.0**k / lo), math.log10(hi / 10.0**k)) > 0.15 * span
    ]
    room = max(0, max_ticks - 2)
    if len(decades) > room:
        step = len(decades) / room if room else float("inf")
        decades = [decades[int(i * step)] for i in range(room)] if room else []
    return [lo, *decades, hi]


def heatmap_colorbar(fig: Figure, image, ax, *, label_height: float = 0.2):
    """A colour bar beside a heatmap with non-overlapping tick labels (ends and decades).

    ``label_height`` is the vertical room one label needs, in inches; the number
    of ticks follows the height of ``ax``.
    """
    bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.01, extend="min")
    norm = image.norm
    height = ax.get_position().height * fig.get_figheight()
    ticks = log_colorbar_ticks(
        float(norm.vmin), float(norm.vmax), max_ticks=max(2, int(height / label_height))
    )
    bar.ax.yaxis.set_minor_locator(NullLocator())
    ends = (ticks[0], ticks[-1])
    labels = [format_error(t) if t in ends else f"1e{round(math.log10(t))}" for t in ticks]
    bar.set_ticks(ticks, labels=labels)
    bar.ax.tick_params(labelsize=7)
    return bar
