"""The figure of one fit record (``opade fit --plot``, the report's per-entry figures)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

from ..result import form_and_target
from .data import format_error
from .plots import (
    BASIS_COLORS,
    PNG_DPI,
    RC,
    check_interval_of,
    log_limits,
    new_figure,
    plot_abs_error,
    plot_curve,
    plot_signed_error,
    plot_target,
    record_curves,
    save_figure,
    shade_interval,
)

__all__ = ["certificate_text", "fit_figure", "save_fit_figure"]


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
