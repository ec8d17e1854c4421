"""Figures and the HTML report (``opade fit --plot``, ``opade report``).

This package is the only place that imports matplotlib (always with the Agg
canvas, never pyplot); its names load on first use (module ``__getattr__``),
so ``import opade_fit.report.files`` and the CLI's checks stay light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from .data import HeatmapData, format_error, heatmap_data
    from .fitplot import fit_figure, save_fit_figure
    from .page import build_report
    from .plots import save_figure

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
        "HeatmapData": "data",
        "fit_figure": "fitplot",
        "format_error": "data",
        "save_figure": "plots",
        "save_fit_figure": "fitplot",
        "build_report": "page",
        "heatmap_data": "data",
    },
)
