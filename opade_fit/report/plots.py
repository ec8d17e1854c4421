"""Plot helpers shared by ``opade fit --plot`` and ``opade report``.

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
from matplotlib.colors import LogNorm
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
    "HeatmapData",
    "certificate_text",
    "check_interval_of",
    "equioscillation_points",
    "fit_figure",
    "format_error",
    "heatmap_colorbar",
    "log_colorbar_ticks",
    "log_limits",
    "new_figure",
    "plot_abs_error",
    "plot_bars",
    "plot_curve",
    "plot_heatmap",
    "plot_signed_error",
    "plot_target",
    "record_curves",
    "save_figure",
    "save_fit_figure",
    "set_log_y",
    "shade_interval",
]

#: Resolution of PNG files (dots per inch).
PNG_DPI = 100
#: Points of the uniform grid on which curves are drawn.
PLOT_POINTS = 2001
#: Lowest decade shown below the largest error on log axes (1e-6: six decades).
LOG_DECADES = 6

#: Decades of the colour scale of heatmaps (smaller errors get the darkest colour).
HEATMAP_DECADES = 6

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
def format_error(value: float | None) -> str:
    """An error to 3 significant digits, compact exponent: ``8.13e-4``; ``—`` if missing."""
    if value is None or not math.isfinite(value):
        return "—" if value is None or math.isnan(value) else "inf"
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.2e}".split("e")
    return f"{mantissa}e{int(exponent)}"


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


@dataclass(frozen=True)
class HeatmapData:
    """Cells of an error heatmap: ``values[i, j]`` for ``rows[i]`` × ``cols[j]`` (NaN: none).

    ``texts[i][j]`` is exactly what is printed in the cell
    (:func:`format_error` of the value).
    """

    title: str
    rows: tuple[str, ...]
    cols: tuple[str, ...]
    values: np.ndarray

    @property
    def texts(self) -> tuple[tuple[str, ...], ...]:
        """Cell texts, row by row."""
        return tuple(
            tuple(format_error(None if math.isnan(v) else float(v)) for v in row)
            for row in self.values
        )


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


def certificate_text(certificate: dict[str, Any] | None, *, scope: bool = True) -> str | None:
    """One line describing a minimax certificate (``scope`` text optional), or None."""
    if not certificate:
        return None
    lo, up = certificate.get("lower_bound"), certificate.get("upper_bound")
    gap = certificate.get("gap")
    where = certificate.get("scope") if scope else None
    text = f"certified best max error ∈ [{format_error(lo)}, {format_error(up)}]"
    if gap is not None:
        text += f", gap {format_error(gap)}"
    if where:
        text += f" ({where})"
    return text


def _record_title(record: dict[str, Any]) -> str:
    form, target = form_and_target(record)
    center = (record.get("center") or {}).get("mode", "none")
    dropped = (record.get("center") or {}).get("dropped")
    extra = "" if center in (None, "none") else f", centred {center}"
    if dropped:
        extra += f" ({dropped} = 0)"
    a, b = record["interval"]
    return (
        f"{form.label()} → {target.label()}   [{a:g}, {b:g}], "
        f"objective {record.get('objective', 'l2')}{extra}"
    )


# ---------------------------------------------------------------------------------------
# the fit figure (opade fit --plot, and per-entry figures of the report)
# ---------------------------------------------------------------------------------------
def fit_figure(
    record: dict[str, Any],
    *,
    check_interval: Sequence[float] | None = None,
    width: float = 7.0,
) -> Figure:
    """Figure of one fit record.

    Top: target and fit over the check interval, fit interval shaded. For a
    minimax record (``objective == "max"``) a middle panel shows the signed
    error on the fit interval with ±max lines and the equioscillation
    extrema, and the certificate is printed. Bottom: |g − f| on a log scale
    over the check interval, with the fit-interval max error as a level line.
    """
    interval = tuple(float(v) for v in record["interval"])
    check = check_interval_of(record, check_interval)
    lo, hi = min(check[0], interval[0]), max(check[1], interval[1])
    curves = record_curves(record, (lo, hi))
    form, target = form_and_target(record)
    minimax = record.get("objective") == "max"
    color = BASIS_COLORS.get(form.basis, "C0")

    nrows = 3 if minimax else 2
    ratios = (1.4, 1.0, 1.0) if minimax else (1.4, 1.0)
    height = 2.2 * sum(ratios) + 0.5
    # fixed geometry (in inches, turned into fractions): fast and the same for every record
    margins = {
        "left": 0.85 / width,
        "right": 1 - 0.15 / width,
        "top": 1 - 0.3 / height,
        "bottom": 0.5 / height,
        "hspace": 0.24,
    }
    fig, axes = new_figure(
        width, height, nrows=nrows, height_ratios=ratios, sharex=True, margins=margins
    )
    with mpl.rc_context(RC):
        ax = axes[0, 0]
        shade_interval(ax, interval)
        plot_target(ax, curves.x, curves.f, label=f"target {target.label()}")
        plot_curve(ax, curves.x, curves.g, label=f"fit {form.label()}", color=color)
        ax.set_xlim(lo, hi)
        ax.set_ylabel("value")
        ax.legend(loc="upper left")
        ax.set_title(_record_title(record), loc="left", fontsize=8.5)

        if minimax:
            ax = axes[1, 0]
            fine = record_curves(record, interval, points=6001)
            fit_max = ((record.get("errors") or {}).get("fit") or {}).get("max_abs")
            err = fine.error
            peak = float(np.nanmax(np.abs(err))) if np.any(np.isfinite(err)) else 1.0
            exp10 = math.floor(math.log10(peak)) if peak > 0 and math.isfinite(peak) else 0
            scale = 10.0**exp10
            artists = plot_signed_error(
                ax, fine.x, err / scale, level=None if fit_max is None else fit_max / scale
            )
            ax.set_xlim(lo, hi)
            shade_interval(ax, interval, label=None)
            ax.set_ylabel(f"g − f  (×1e{exp10})" if exp10 else "g − f")
            # no legend (it would cover extrema at ±max): the title says what is drawn
            n_ext = len(artists[-1].get_xdata())
            text = f"g − f: ±max dotted, {n_ext} extrema ○"
            cert = certificate_text(record.get("certificate"), scope=False)
            if cert:  # compact: the full line (with scope) is in certificate_text / the record
                cert = cert.replace("certified best max error ∈ ", "min max|g − f| ∈ ")
            ax.set_title(text + (f"  ·  {cert}" if cert else ""), loc="left", fontsize=8)

        ax = axes[-1, 0]
        floor, top = log_limits(np.abs(curves.error))
        shade_interval(ax, interval, label=None)
        plot_abs_error(ax, curves.x, curves.error, color=color, floor=floor, label="|g − f|")
        errors = record.get("errors") or {}
        fit_err = errors.get("fit") or {}
        chk_err = errors.get("check") or {}
        if fit_err.get("max_abs"):
            ax.axhline(fit_err["max_abs"], color="0.35", linestyle=":", linewidth=1.0)
            ax.annotate(
                "max on fit interval",
                (interval[0], fit_err["max_abs"]),
                xytext=(3, 2),
                textcoords="offset points",
                fontsize=7,
                color="0.3",
                va="bottom",
            )
        ax.set_ylim(floor, top)
        ax.set_xlim(lo, hi)
        ax.set_xlabel("x")
        ax.set_ylabel("|g − f|  (log scale)")
        summary = (
            f"fit [{interval[0]:g}, {interval[1]:g}]: max {format_error(fit_err.get('max_abs'))},"
            f" RMS {format_error(fit_err.get('rms'))}"
        )
        if chk_err:
            summary += (
                f"  ·  check [{check[0]:g}, {check[1]:g}]: max "
                f"{format_error(chk_err.get('max_abs'))}, RMS {format_error(chk_err.get('rms'))}"
            )
        ax.set_title(summary, loc="left", fontsize=8)
    return fig


def save_fit_figure(
    record: dict[str, Any],
    path: str | Path,
    *,
    check_interval: Sequence[float] | None = None,
    dpi: float = PNG_DPI,
) -> Path:
    """Draw :func:`fit_figure` for a fit record and save it (PNG or SVG) to ``path``.

    This is what ``opade fit --plot FILE.png`` calls. Re-running with the same
    record gives a byte-identical file.

    Parameters
    ----------
    record : dict
        A fit record (schema 1.x), e.g. ``FitResult.to_dict()``.
    path : str or Path
        Output file, ``.png`` or ``.svg``; written atomically.
    check_interval : pair of float, optional
        Interval to draw over (default: the record's check interval).
    dpi : float
        PNG resolution.
    """
    fig = fit_figure(record, check_interval=check_interval)
    return save_figure(fig, path, dpi=dpi)
