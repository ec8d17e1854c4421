"""Figures and the HTML report (``opade fit --plot``, ``opade report``).

This package is the only place that imports matplotlib (always with the Agg
canvas, never pyplot); its names load on first use (module ``__getattr__``),
so ``import opade_fit.report.files`` and the CLI's checks stay light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

_LAZY = {
    "HeatmapData": "data",
    "fit_figure": "fitplot",
    "format_error": "data",
    "save_figure": "plots",
    "save_fit_figure": "fitplot",
    "build_report": "page",
    "heatmap_data": "data",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{module}", __name__), name)
