"""Figures and the HTML report (``opade fit --plot``, ``opade report``).

This package is the only place that imports matplotlib (always with the Agg
canvas, never pyplot); its names load on first use (module ``__getattr__``),
so ``import opade_fit.report.files`` and the CLI's checks stay light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

_LAZY = {
    "HeatmapData": "plots",
    "fit_figure": "plots",
    "format_error": "plots",
    "save_figure": "plots",
    "save_fit_figure": "plots",
    "build_report": "page",
    "heatmap_data": "data",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{module}", __name__), name)
