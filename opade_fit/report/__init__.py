"""Figures and the HTML report (``opade fit --plot``, ``opade report``).

This package is the only place that imports matplotlib (always with the Agg
canvas, never pyplot), so ``import opade_fit`` and ``opade fit`` stay fast.
"""

from __future__ import annotations

from .plots import HeatmapData, fit_figure, format_error, save_figure, save_fit_figure

__all__ = [
    "HeatmapData",
    "build_report",
    "fit_figure",
    "format_error",
    "heatmap_data",
    "save_figure",
    "save_fit_figure",
]


def __getattr__(name: str):
    # the HTML builder (and rich) load on first use only
    if name in ("build_report", "heatmap_data"):
        from . import html

        return getattr(html, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
