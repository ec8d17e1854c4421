"""Figures and the HTML report (``opade fit --plot``, ``opade report``).

This package is the only place that imports matplotlib (always with the Agg
canvas, never pyplot); its names load on first use (module ``__getattr__``),
so ``import opade_fit.report.files`` and the CLI's checks stay light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from .data import heatmap_data
    from .page import build_report
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

__getattr__, __dir__ = lazy_names(
    globals(),
    {
        "HeatmapData": "plots",
        "fit_figure": "plots",
        "format_error": "plots",
        "save_figure": "plots",
        "save_fit_figure": "plots",
        "build_report": "page",
        "heatmap_data": "data",
    },
)
