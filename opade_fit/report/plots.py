"""Plot helpers shared by ``opade fit --plot`` and ``opade report``: style, figures, curves.

The fit figure is in :mod:`.fitplot`, the error heatmaps in :mod:`.heatmap`.

Every ``plot_*`` helper draws on an ``ax`` it is given and returns the
artists it made; figures are :class:`matplotlib.figure.Figure` objects with
an explicit Agg canvas (pyplot and its global state are never used), drawn
inside :data:`RC` and saved with fixed metadata by :func:`save_figure`, so the
same inputs give byte-identical PNG and SVG files.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

from ..errors import UsageError
from ..problem import default_check_interval
from ..record import write_atomic
from ..result import form_and_target
from .files import figure_format

__all__ = [
    "BASIS_COLORS",
    "PLOT_POINTS",
    "PNG_DPI",
    "RC",
    "Curves",
    "check_interval_of",
    "equioscillation_points",
    "log_limits",
    "new_figure",
    "plot_abs_error",
    "plot_bars",
    "plot_curve",
    "plot_signed_error",
    "plot_target",
    "record_curves",
    "save_figure",
    "set_log_y",
    "shade_interval",
]

#: Resolution of PNG files (dots per inch).
PNG_DPI = 100
#: Points of the uniform grid on which curves are drawn.
PLOT_POINTS = 2001
#: Lowest decade shown below the largest error on log axes (1e-6: six decades).
LOG_DECADES = 6


#: Style applied while drawing and saving (a context, never set globally).
RC: dict[str, Any] = {
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.4,
    "legend.framealpha": 0.9,
    "svg.hashsalt": "opade-fit",
    "svg.fonttype": "path",
    "path.simplify": True,
}

#: One fixed colour per basis, the same in every figure.
BASIS_COLORS: dict[str, str] = {
    "monomial": "#1f77b4",
    "chebyshev1": "#ff7f0e",
    "chebyshev2": "#2ca02c",
    "hermite1": "#d62728",
    "hermite2": "#9467bd",
    "laguerre": "#8c564b",
    "legendre": "#e377c2",
}
_TARGET_STYLE = {"color": "black", "linestyle": (0, (4, 2)), "linewidth": 1.3}
_SHADE_STYLE = {"color": "#999999", "alpha": 0.15, "linewidth": 0}


# ---------------------------------------------------------------------------------------
# figures and files
# ---------------------------------------------------------------------------------------
def new_figure(
    width: float,
    height: float,
    *,
    nrows: int = 1,
    ncols: int = 1,
    height_ratios: Sequence[float] | None = None,
    sharex: bool = False,
    margins: dict[str, float] | None = None,
) -> tuple[Figure, np.ndarray]:
    """A :class:`Figure` with an Agg canvas and a grid of axes (always a 2-D array).

    By default the constrained layout engine places everything so labels and
    legends never overlap; ``margins`` (``subplots_adjust`` arguments, in
    figure fractions) fixes the geometry instead, which draws about twice as
    fast (used for the many per-entry figures).
    """
    with mpl.rc_context(RC):
        fig = Figure(figsize=(width, height), layout=None if margins else "constrained")
        if margins:
            fig.subplots_adjust(**margins)
        FigureCanvasAgg(fig)
        axes = fig.subplots(
            nrows,
            ncols,
            squeeze=False,
            sharex=sharex,
            gridspec_kw={"height_ratios": list(height_ratios)} if height_ratios else None,
        )
    return fig, axes


def save_figure(fig: Figure, path: str | Path, *, dpi: float = PNG_DPI) -> Path:
    """Save ``fig`` as PNG or SVG (by suffix) with fixed metadata, atomically.

    PNG: no ``Software`` entry; SVG: no date, a fixed creator and hash salt,
    so re-running gives byte-identical files.

    Raises
    ------
    UsageError
        If the suffix is not ``.png`` or ``.svg``.
    """
    path = Path(path)
    fmt = figure_format(path)
    if fmt == "png":
        metadata: dict[str, Any] = {"Software": None}
    else:
        metadata = {"Date": None, "Creator": "opade-fit"}
    buf = io.BytesIO()
    with mpl.rc_context(RC):
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=metadata)
    return write_atomic(path, buf.getvalue())


# ---------------------------------------------------------------------------------------
# numbers and curves
# ---------------------------------------------------------------------------------------
def check_interval_of(
    record: dict[str, Any], override: Sequence[float] | None = None
) -> tuple[float, float]:
    """The interval to draw a record over.

    ``override`` if given, else ``errors.check.interval`` of the record, else
    the fit interval scaled by 5/3 about its centre (the fit default).
    """
    if override is not None:
        a, b = (float(v) for v in override)
    else:
        check = (record.get("errors") or {}).get("check") or {}
        if "interval" in check:
            a, b = (float(v) for v in check["interval"])
        else:
            a, b = default_check_interval(record["interval"])
    if not (math.isfinite(a) and math.isfinite(b) and a < b):
        raise UsageError(f"`check_interval` must be finite with a < b; got [{a:g}, {b:g}]")
    return a, b


@dataclass(frozen=True)
class Curves:
    """f, f', g, g' of one record on a uniform grid ``x`` (arrays of equal length)."""

    x: np.ndarray
    f: np.ndarray
    df: np.ndarray
    g: np.ndarray
    dg: np.ndarray

    @property
    def error(self) -> np.ndarray:
        """Signed error g - f."""
        return self.g - self.f


def record_curves(
    record: dict[str, Any], interval: Sequence[float], *, points: int = PLOT_POINTS
) -> Curves:
    """Evaluate a fit record's g, g' and its target's f, f' on ``points`` uniform points."""
    form, target = form_and_target(record)
    coef = record["coefficients"]
    x = np.linspace(float(interval[0]), float(interval[1]), points)
    p = form.parts(x, coef["numerator"], coef["denominator"])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        g = p.P / p.Q
        dg = p.dP / p.Q - p.P * p.dQ / p.Q**2
        f = target(x)
        df = target.derivative(x)
    return Curves(x=x, f=f, df=df, g=g, dg=dg)


def equioscillation_points(x: np.ndarray, error: np.ndarray, *, rel: float = 0.9) -> np.ndarray:
    """Indices of the local extrema of |error| that reach ``rel`` times its maximum.

    Endpoints count as extrema. For a minimax fit these are the alternation
    points where the error equioscillates at ±max.
    """
    e = np.abs(np.asarray(error, dtype=np.float64))
    if e.size < 3 or not np.all(np.isfinite(e)):
        return np.zeros(0, dtype=int)
    top = float(e.max())
    if top == 0:
        return np.zeros(0, dtype=int)
    left = np.concatenate([[-np.inf], e[:-1]])
    right = np.concatenate([e[1:], [-np.inf]])
    idx = np.flatnonzero((e >= left) & (e >= right) & (e >= rel * top))
    # keep one index per plateau / per run of neighbouring points
    if idx.size:
        keep = np.concatenate([[True], np.diff(idx) > 1])
        idx = idx[keep]
    return idx


def log_limits(values: Sequence[np.ndarray] | np.ndarray) -> tuple[float, float]:
    """y-limits for errors on a log axis: [top / 10**LOG_DECADES, 2 * top].

    Errors that touch zero make spikes that would otherwise stretch the axis
    down to 1e-16 and squash everything of interest into the top decades.
    """
    arrays = [np.asarray(v, dtype=np.float64).ravel() for v in np.atleast_1d(values)]
    finite = np.concatenate([a[np.isfinite(a)] for a in arrays]) if arrays else np.zeros(0)
    top = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    positive = finite[finite > 0]
    low = max(top / 10**LOG_DECADES, float(positive.min()) / 2 if positive.size else top)
    return low, top * 2.0


# ---------------------------------------------------------------------------------------
# helpers that draw on an ax
# ---------------------------------------------------------------------------------------
def shade_interval(ax, interval: Sequence[float], *, label: str | None = "fit interval"):
    """Shade the fit interval; returns the patch."""
    return ax.axvspan(float(interval[0]), float(interval[1]), label=label, **_SHADE_STYLE)


def plot_target(ax, x: np.ndarray, y: np.ndarray, *, label: str = "target"):
    """The target as a black dashed line; returns the Line2D."""
    (line,) = ax.plot(x, y, label=label, zorder=5, **_TARGET_STYLE)
    return line


def plot_curve(ax, x: np.ndarray, y: np.ndarray, *, label: str, color: str | None = None, **kw):
    """A fitted curve; returns the Line2D."""
    (line,) = ax.plot(x, y, label=label, color=color, **kw)
    return line


def plot_abs_error(
    ax,
    x: np.ndarray,
    error: np.ndarray,
    *,
    label: str | None = None,
    color: str | None = None,
    floor: float | None = None,
    **kw,
):
    """|error| on a log y-axis, clipped below at ``floor``; returns the Line2D."""
    e = np.abs(np.asarray(error, dtype=np.float64))
    if floor is not None:
        e = np.maximum(e, floor)
    else:
        e = np.where(e > 0, e, np.nan)
    set_log_y(ax)
    (line,) = ax.plot(x, e, label=label, color=color, **kw)
    return line


def _decade_label(value: float, _pos: int) -> str:
    exponent = round(math.log10(value)) if value > 0 else 0
    return f"1e{exponent}" if exponent not in (0, 1) else ("1" if exponent == 0 else "10")


def set_log_y(ax) -> None:
    """Log y-axis with one plain-text label per decade (``1e-3``) and no minor ticks.

    Plain text instead of mathtext ``10^{-3}`` keeps the labels readable at small
    sizes and draws several times faster (no TeX-like parsing per label).
    """
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10.0, numticks=8))
    ax.yaxis.set_major_formatter(FuncFormatter(_decade_label))
    ax.yaxis.set_minor_locator(NullLocator())


def plot_signed_error(
    ax, x: np.ndarray, error: np.ndarray, *, level: float | None = None, color: str = "C3"
) -> list:
    """Signed error g - f with ±``level`` lines and markers at the equioscillation points.

    ``level`` defaults to max |error|. Returns [line, upper, lower, markers].
    """
    e = np.asarray(error, dtype=np.float64)
    level = float(np.nanmax(np.abs(e))) if level is None else float(level)
    (line,) = ax.plot(x, e, color=color, label="g − f")
    upper = ax.axhline(level, color="0.35", linestyle=":", linewidth=1.0, label="± max")
    lower = ax.axhline(-level, color="0.35", linestyle=":", linewidth=1.0)
    idx = equioscillation_points(x, e)
    (markers,) = ax.plot(
        x[idx],
        e[idx],
        linestyle="none",
        marker="o",
        markersize=4,
        markerfacecolor="white",
        markeredgecolor=color,
        label=f"extrema ({idx.size})",
    )
    ax.axhline(0.0, color="0.6", linewidth=0.6)
    return [line, upper, lower, markers]


def plot_bars(
    ax,
    groups: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None], str]],
    *,
    log: bool = True,
) -> list:
    """Grouped bars: one group per name in ``groups``, one bar per (label, values, colour).

    Missing values (None/NaN) leave a gap. Returns the bar containers.
    """
    n = max(len(series), 1)
    width = 0.8 / n
    xs = np.arange(len(groups), dtype=np.float64)
    out = []
    for s, (label, values, color) in enumerate(series):
        vals = np.array([np.nan if v is None else float(v) for v in values])
        out.append(ax.bar(xs - 0.4 + width * (s + 0.5), vals, width, label=label, color=color))
    ax.set_xticks(xs, labels=list(groups), rotation=30, ha="right", rotation_mode="anchor")
    if log:
        set_log_y(ax)
    ax.grid(axis="x", visible=False)
    return out
