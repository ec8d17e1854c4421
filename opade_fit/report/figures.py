"""Report figures: drawing jobs (plain data in, one file out), run serially or in a pool.

Each job is ``(kind, spec)`` with picklable data only, so it can run in a
``spawn`` worker that imports just what it draws. Progress is reported through
a callback ``progress(done, total, path)``; this module prints nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..pool import available_cpus, run_pool
from ..reference import COMPARISON_INTERVALS
from .data import CENTER_MODES, METRICS, HeatmapData, _basis, _den

__all__ = ["ENTRY_DPI", "POOL_THRESHOLD", "REPORT_DPI", "our_line_style", "run_jobs"]

#: Resolution of the per-entry figures (many of them: kept small).
ENTRY_DPI = 80
#: Resolution of the other report figures.
REPORT_DPI = 90
#: Below this many figures the report is drawn in-process (a pool costs ~1 s to start).
POOL_THRESHOLD = 40

_MODE_COLORS = {
    "none": "#4c72b0",
    "general": "#55a868",
    "drop-one": "#dd8452",
    "all-zero": "#c44e52",
}
_OUR_COLORS = {(5, 4): "black", (3, 2): "#8c6d31", (7, 6): "#843c39"}
_OUR_STYLES = {"safe": "-", "safe-abs-sum": (0, (6, 2, 1, 2)), "plain": (0, (1, 1.5))}


def _draw(job: tuple[str, dict[str, Any]]) -> str:
    kind, spec = job
    return {
        "heatmap": _draw_heatmaps,
        "target": _draw_target,
        "entry": _draw_entry,
        "center": _draw_center,
        "published": _draw_published,
    }[kind](**spec)


def _draw_heatmaps(*, data: list[HeatmapData], path: str) -> str:
    from .heatmap import heatmap_colorbar, plot_heatmap
    from .plots import new_figure, save_figure

    ncols = max(len(d.cols) for d in data)
    nrows = max(len(d.rows) for d in data)
    height = len(data) * (0.75 + 0.34 * nrows) + 1.0
    fig, axes = new_figure(max(6.0, 1.9 + 0.66 * ncols), height, nrows=len(data))
    for ax, d in zip(axes[:, 0], data, strict=True):
        image, _ = plot_heatmap(ax, d)
        heatmap_colorbar(fig, image, ax)  # tick count from the heatmap's height
    save_figure(fig, path, dpi=REPORT_DPI)
    save_figure(fig, str(Path(path).with_suffix(".svg")))
    return path


#: Inches reserved right of the per-target axes for the legend ("chebyshev1" and its line).
_LEGEND_WIDTH = 1.55


def _margins(width: float, height: float, *, right: float) -> dict[str, float]:
    """Fixed subplot margins in inches (left axis labels, ``right`` inches for a legend)."""
    return {
        "left": 0.8 / width,
        "right": 1 - right / width,
        "top": 1 - 0.35 / height,
        "bottom": 0.55 / height,
        "hspace": 0.08,
    }


def _value_limits(*arrays: np.ndarray) -> tuple[float, float]:
    lo = min(float(np.nanmin(a)) for a in arrays)
    hi = max(float(np.nanmax(a)) for a in arrays)
    pad = 0.15 * max(hi - lo, 1e-3)
    return lo - pad, hi + pad


def _draw_target(
    *,
    records: list[dict[str, Any]],
    title: str,
    interval: Sequence[float],
    check: Sequence[float],
    path: str,
) -> str:
    from .plots import (
        BASIS_COLORS,
        log_limits,
        new_figure,
        plot_abs_error,
        plot_curve,
        plot_target,
        record_curves,
        save_figure,
        shade_interval,
    )

    curves = [(r, record_curves(r, check)) for r in records]
    fig, axes = new_figure(
        7.6,
        7.4,
        nrows=3,
        height_ratios=(1.3, 1.0, 1.0),
        sharex=True,
        margins=_margins(7.6, 7.4, right=_LEGEND_WIDTH),
    )
    ax_v, ax_e, ax_d = axes[:, 0]
    x = curves[0][1].x
    for ax in (ax_v, ax_e, ax_d):
        shade_interval(ax, interval, label=None)
    plot_target(ax_v, x, curves[0][1].f, label="target f")
    plot_target(ax_d, x, curves[0][1].df, label="f′")
    floor, top = log_limits([np.abs(c.error) for _, c in curves])
    for r, c in curves:
        b = _basis(r)
        color = BASIS_COLORS.get(b)
        plot_curve(ax_v, x, c.g, label=b, color=color)
        plot_abs_error(ax_e, x, c.error, color=color, floor=floor, label=b)
        plot_curve(ax_d, x, c.dg, label=b, color=color)
    ax_v.set_ylim(*_value_limits(curves[0][1].f))
    ax_d.set_ylim(*_value_limits(curves[0][1].df))
    ax_e.set_ylim(floor, top)
    ax_v.set_ylabel("g(x), f(x)")
    ax_e.set_ylabel("|g − f|  (log scale)")
    ax_d.set_ylabel("g′(x), f′(x)")
    ax_d.set_xlabel("x   (shaded: fit interval)")
    ax_v.set_xlim(float(check[0]), float(check[1]))
    ax_v.set_title(title, loc="left")
    handles, labels = ax_v.get_legend_handles_labels()
    # anchored at the left of the reserved strip, so it grows into it, not off the page
    fig.legend(
        handles, labels, loc="upper left", bbox_to_anchor=(1 - (_LEGEND_WIDTH - 0.1) / 7.6, 0.97)
    )
    save_figure(fig, path, dpi=REPORT_DPI)
    return path


def _draw_entry(*, record: dict[str, Any], path: str) -> str:
    from .fitplot import fit_figure
    from .plots import save_figure

    save_figure(fit_figure(record, width=6.4), path, dpi=ENTRY_DPI)
    return path


def _draw_center(
    *,
    title: str,
    targets: list[str],
    values: dict[str, dict[str, list[float | None]]],
    path: str,
) -> str:
    from .plots import new_figure, plot_bars, save_figure

    fig, axes = new_figure(max(6.0, 1.6 + 0.55 * len(targets)), 5.6, nrows=2, sharex=True)
    for ax, (metric, name) in zip(axes[:, 0], METRICS, strict=True):
        series = [(m, values[m][metric], _MODE_COLORS[m]) for m in CENTER_MODES if m in values]
        plot_bars(ax, targets, series)
        ax.set_ylabel(f"{name} on fit interval")
    fig.suptitle(title, x=0.01, ha="left", fontsize=9.5)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        ncols=len(labels),
        title="zero-centring (g(0) = 0)",
        title_fontsize=8,
    )
    save_figure(fig, path, dpi=REPORT_DPI)
    return path


def our_line_style(record: dict[str, Any]) -> dict[str, Any]:
    """Line style of an opade-fit entry in the published-table figure.

    Colour by degrees, line style by denominator, and a label naming basis,
    denominator and degrees: entries of one target differ in at least one.
    """
    k, l = record["form"]["degrees"]
    return {
        "color": _OUR_COLORS.get((k, l), "#555555"),
        "linestyle": _OUR_STYLES.get(_den(record), "-"),
        "label": f"opade-fit {record['form']['basis']}/{_den(record)} {k}/{l}",
        "linewidth": 1.8,
    }


def _draw_published(
    *, title: str, theirs: list[dict[str, Any]], ours: list[dict[str, Any]], path: str
) -> str:
    from ..reference import evaluate_formula, reference_target
    from .plots import log_limits, new_figure, plot_abs_error, record_curves, save_figure

    a, b = COMPARISON_INTERVALS[-1]
    x = np.linspace(a, b, 2001)
    fig, axes = new_figure(9.5, 4.4, margins=_margins(9.5, 4.4, right=2.75))
    ax = axes[0, 0]
    lines = []
    for i, t in enumerate(theirs):
        target = reference_target(t["target"])
        with np.errstate(all="ignore"):
            e = evaluate_formula(t["formula"], x, t["numerator"], t["denominator"]) - target(x)
        lines.append(
            (
                e,
                {
                    "color": f"C{i % 10}",
                    "label": t["label"],
                    "linestyle": "-" if t["runtime"] else (0, (2, 1.5)),
                    "linewidth": 2.2 if t.get("differs") and t["runtime"] else 1.2,
                },
            )
        )
    for r in ours:
        lines.append((record_curves(r, (a, b)).error, our_line_style(r)))
    floor, top = log_limits([np.minimum(np.abs(e), 50.0) for e, _ in lines])
    for e, style in lines:
        plot_abs_error(ax, x, e, floor=floor, **style)
    for lo, hi in COMPARISON_INTERVALS[:-1]:
        ax.axvspan(lo, hi, color="#999999", alpha=0.15, linewidth=0)
    ax.set_ylim(floor, top)
    ax.set_xlim(a, b)
    ax.set_xlabel(f"x   (shaded: [{COMPARISON_INTERVALS[0][0]:g}, {COMPARISON_INTERVALS[0][1]:g}])")
    ax.set_ylabel("|g − f|  (log scale)")
    ax.set_title(title, loc="left")
    fig.legend(
        loc="upper left",
        bbox_to_anchor=(1 - 2.65 / 9.5, 0.97),
        fontsize=7,
        title="theirs, solid: as the library evaluates it\ntheirs, dashed: as fitted\n"
        "ours: colour = degrees, style = denominator",
        title_fontsize=7,
    )
    save_figure(fig, path, dpi=REPORT_DPI)
    return path


def run_jobs(
    jobs_list: Sequence[tuple[str, dict[str, Any]]],
    *,
    jobs: int | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[str]:
    """Draw every job; return the paths written, in job order.

    Parameters
    ----------
    jobs_list : sequence of (kind, spec)
        Drawing jobs (see ``_draw``).
    jobs : int, optional
        Worker processes; default: up to 4 (the CPUs available) when there are
        at least :data:`POOL_THRESHOLD` jobs, else 1 (in-process).
    progress : callable, optional
        Called as ``progress(done, total, path)`` after each figure.

    Notes
    -----
    The jobs run in the one process pool (:func:`opade_fit.pool.run_pool`),
    heaviest first, with ``spawn`` workers: no fork of a process that may hold
    threads, and each worker imports only what it draws.
    """
    n = len(jobs_list)
    if jobs is None:
        jobs = min(available_cpus(), 4) if n >= POOL_THRESHOLD else 1
    finished = 0

    def done(_i: int, path: str) -> None:
        nonlocal finished
        finished += 1
        if progress is not None:
            progress(finished, n, path)

    return run_pool(_draw, list(jobs_list), jobs=jobs, cost=_cost, done=done, method="spawn")


#: Relative cost of a drawing job, by kind (the pool starts the heavy ones first).
_COST = {"heatmap": 3, "published": 3, "target": 2, "center": 1, "entry": 1}


def _cost(job: tuple[str, dict[str, Any]]) -> float:
    return _COST[job[0]]
