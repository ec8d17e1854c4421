"""``opade report``: one self-contained HTML page (no JavaScript) with PNG/SVG figures.

Sections: overview heatmaps (basis × target, per denominator and objective);
per target, every basis overlaid (value, |error| on a log scale, derivative)
and per-entry figures for HP-1, HP-2 and PAU; the cost of zero-centring for
HP-1/HP-2; and the published tables of other libraries next to ours.

Figures are drawn by independent jobs (each job is plain data: records and
numbers), serially or in a process pool, with a ``rich`` progress bar on
stderr. Everything is written under ``out_dir`` and nowhere else.
"""

from __future__ import annotations

import functools
import html
import math
import multiprocessing
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..bases import BASIS_NAMES, get_basis
from ..errors import FitError, UsageError
from ..record import write_atomic
from ..reference import (
    COMPARISON_INTERVALS,
    PublishedEntry,
    load_published,
    published_about,
)
from ..result import form_and_target, measure_errors
from ..targets import TARGET_NAMES, get_target
from .plots import HeatmapData, format_error

__all__ = [
    "CENTER_MODES",
    "ENTRY_BASES",
    "build_report",
    "heatmap_data",
    "read_records",
    "target_label",
]

#: Bases that get one figure per table entry (HP-1, HP-2 and PAU).
ENTRY_BASES: tuple[str, ...] = ("hermite1", "hermite2", "monomial")
#: Zero-centring cases, in the order they are shown.
CENTER_MODES: tuple[str, ...] = ("none", "general", "drop-one", "all-zero")
#: Bases whose zero-centring cost is shown.
CENTER_BASES: tuple[str, ...] = ("hermite1", "hermite2")
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
_OUR_STYLES = {"safe": "-", "safe-abs-sum": (0, (6, 2, 1, 2)), "plain": (0, (1, 1.5))}
_METRICS = (("rms", "RMS error"), ("max_abs", "max error"))
_SCOPES = (("fit", "fit interval"), ("check", "check interval"))


# ---------------------------------------------------------------------------------------
# records
# ---------------------------------------------------------------------------------------
def read_records(paths: Iterable[str | os.PathLike[str]]) -> list[dict[str, Any]]:
    """Read fit records from table files (``{"entries": [...]}``) and single-record files.

    A folder is read as every ``*.json`` file directly in it (sorted by name;
    files without fit records, such as ``reference/``, are skipped).

    Raises
    ------
    UsageError
        If a file does not exist or holds neither a table nor a fit record.
    FitError
        If a file cannot be read.
    """
    import json

    records: list[dict[str, Any]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.glob("*.json") if p.is_file())
            if not files:
                raise UsageError(f"`--tables` folder {str(path)!r} holds no *.json table files")
            for f in files:
                records.extend(_records_of(f, json, strict=False))
        elif path.is_file():
            records.extend(_records_of(path, json, strict=True))
        else:
            raise UsageError(f"`RECORD` {str(path)!r} does not exist")
    return records


def _records_of(path: Path, json, *, strict: bool) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FitError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"{str(path)!r} is not JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("entries"), list):
        entries = [e for e in data["entries"] if _is_record(e)]
        if len(entries) == len(data["entries"]):
            return entries
    elif _is_record(data):
        return [data]
    if strict:
        raise UsageError(
            f"{str(path)!r} is neither a fit record nor a table of fit records "
            "(schema 1.x: `form`, `target`, `coefficients`, `errors`)"
        )
    return []


def _is_record(obj: Any) -> bool:
    return isinstance(obj, dict) and all(
        k in obj for k in ("form", "target", "coefficients", "errors", "interval")
    )


def _center(record: dict[str, Any]) -> str:
    return (record.get("center") or {}).get("mode") or "none"


def _basis(record: dict[str, Any]) -> str:
    return record["form"]["basis"]


def _den(record: dict[str, Any]) -> str:
    return record["form"]["denominator"]


def _obj(record: dict[str, Any]) -> str:
    return record.get("objective", "l2")


@functools.cache
def _label(name: str, params: tuple[tuple[str, float], ...], expression: str) -> str:
    if name == "expression":
        return get_target(expression).expression
    defaults = get_target(name).params
    given = dict(params)
    if all(given.get(k, v) == v for k, v in defaults):
        return name
    return get_target(name, given).label()


def target_label(record: dict[str, Any]) -> str:
    """Column label of a record's target: its name, with parameters only when not default."""
    t = record["target"]
    params = tuple(sorted((t.get("params") or {}).items()))
    return _label(t["name"], params, t.get("expression") or "")


def _target_order(label: str) -> tuple[int, str]:
    name = label.split("(")[0]
    return (TARGET_NAMES.index(name), label) if name in TARGET_NAMES else (len(TARGET_NAMES), label)


def _group_key(record: dict[str, Any]) -> tuple:
    """Records that share one heatmap: same denominator, objective, degrees, interval, weights."""
    return (
        _den(record),
        _obj(record),
        tuple(record["form"]["degrees"]),
        tuple(float(v) for v in record["interval"]),
        record.get("weight", "uniform"),
        float(record.get("derivative_weight", 0.0) or 0.0),
    )


def _group_title(key: tuple) -> str:
    den, obj, deg, interval, weight, dw = key
    text = (
        f"{den}, objective {obj}, degrees {deg[0]}/{deg[1]}, fit [{interval[0]:g}, {interval[1]:g}]"
    )
    if weight != "uniform":
        text += f", weight {weight}"
    if dw:
        text += f", derivative weight {dw:g}"
    return text


def _error(record: dict[str, Any], scope: str, metric: str) -> float:
    v = ((record.get("errors") or {}).get(scope) or {}).get(metric)
    return float("nan") if v is None else float(v)


def heatmap_data(
    records: Sequence[dict[str, Any]],
    *,
    metric: str = "rms",
    scope: str = "fit",
    title: str = "",
) -> HeatmapData:
    """Basis × target matrix of ``errors[scope][metric]`` for records of one group.

    Rows follow the canonical basis order, columns the built-in target order
    (then expressions). If two records fall in one cell, the first one wins.
    ``HeatmapData.texts`` are the exact strings printed in the cells.

    Raises
    ------
    UsageError
        If ``metric`` or ``scope`` is unknown.
    """
    if metric not in ("rms", "max_abs"):
        raise UsageError(f"`metric` must be 'rms' or 'max_abs'; got {metric!r}")
    if scope not in ("fit", "check"):
        raise UsageError(f"`scope` must be 'fit' or 'check'; got {scope!r}")
    rows = tuple(b for b in BASIS_NAMES if any(_basis(r) == b for r in records))
    cols = tuple(sorted({target_label(r) for r in records}, key=_target_order))
    values = np.full((len(rows), len(cols)), np.nan)
    seen: set[tuple[int, int]] = set()
    for r in records:
        cell = (rows.index(_basis(r)), cols.index(target_label(r)))
        if cell not in seen:
            seen.add(cell)
            values[cell] = _error(r, scope, metric)
    return HeatmapData(title=title, rows=rows, cols=cols, values=values)


# ---------------------------------------------------------------------------------------
# drawing jobs (plain data in, one file or two out; run in-process or in a pool)
# ---------------------------------------------------------------------------------------
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
    from .plots import new_figure, plot_heatmap, save_figure

    ncols = max(len(d.cols) for d in data)
    nrows = max(len(d.rows) for d in data)
    height = len(data) * (0.75 + 0.34 * nrows) + 1.0
    fig, axes = new_figure(max(6.0, 1.9 + 0.66 * ncols), height, nrows=len(data))
    for ax, d in zip(axes[:, 0], data, strict=True):
        image, _ = plot_heatmap(ax, d)
        bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.01, extend="min")
        bar.ax.tick_params(labelsize=7)
    save_figure(fig, path, dpi=REPORT_DPI)
    save_figure(fig, str(Path(path).with_suffix(".svg")))
    return path


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
        margins=_margins(7.6, 7.4, right=1.45),
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
    fig.legend(handles, labels, loc="upper right", bbox_to_anchor=(1.0, 0.97))
    save_figure(fig, path, dpi=REPORT_DPI)
    return path


def _draw_entry(*, record: dict[str, Any], path: str) -> str:
    from .plots import fit_figure, save_figure

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
    for ax, (metric, name) in zip(axes[:, 0], _METRICS, strict=True):
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
        c = record_curves(r, (a, b))
        lines.append(
            (
                c.error,
                {
                    "color": "black",
                    "linestyle": _OUR_STYLES.get(_den(r), "-"),
                    "label": f"opade-fit {r['form']['basis']}/{_den(r)}",
                    "linewidth": 1.8,
                },
            )
        )
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
        loc="upper right",
        bbox_to_anchor=(1.0, 0.97),
        fontsize=7,
        title="solid: as the library evaluates it\ndashed: as fitted",
        title_fontsize=7,
    )
    save_figure(fig, path, dpi=REPORT_DPI)
    return path


# ---------------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------------
def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-")[:60] or "x"


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _filter(
    records: Sequence[dict[str, Any]], targets: Sequence[str] | None, bases: Sequence[str] | None
) -> list[dict[str, Any]]:
    out = list(records)
    if bases:
        wanted = {get_basis(b).name for b in bases}
        out = [r for r in out if _basis(r) in wanted]
    if targets:
        wanted_t = {str(t).strip() for t in targets}
        out = [r for r in out if target_label(r) in wanted_t or r["target"]["name"] in wanted_t]
        if not out:
            raise UsageError(
                f"`--targets` {', '.join(sorted(wanted_t))} match no record "
                "(use target names such as gelu or leaky_relu)"
            )
    return out


class _Page:
    """Collects HTML fragments and the figure jobs they reference."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.parts: list[str] = []
        self.jobs: list[tuple[str, dict[str, Any]]] = []
        self.names: set[str] = set()

    def figure_path(self, name: str) -> tuple[str, str]:
        base, n = _slug(name), 1
        rel = f"figures/{base}.png"
        while rel in self.names:
            n += 1
            rel = f"figures/{base}-{n}.png"
        self.names.add(rel)
        return rel, str(self.out_dir / rel)

    def add_figure(
        self,
        kind: str,
        name: str,
        spec: dict[str, Any],
        alt: str,
        *,
        svg: bool = False,
        lazy: bool = False,
    ) -> str:
        rel, full = self.figure_path(name)
        self.jobs.append((kind, {**spec, "path": full}))
        loading = ' loading="lazy"' if lazy else ""
        link = f' <a href="{_esc(rel[:-4])}.svg">SVG</a>' if svg else ""
        return (
            f'<figure><a href="{_esc(rel)}"><img src="{_esc(rel)}" alt="{_esc(alt)}"{loading}>'
            f"</a><figcaption>{_esc(alt)}{link}</figcaption></figure>"
        )

    def add(self, fragment: str) -> None:
        self.parts.append(fragment)


def _numbers_table(data: HeatmapData) -> str:
    head = "".join(f"<th>{_esc(c)}</th>" for c in data.cols)
    rows = []
    for name, texts in zip(data.rows, data.texts, strict=True):
        cells = "".join(f'<td class="num">{_esc(t)}</td>' for t in texts)
        rows.append(f"<tr><th>{_esc(name)}</th>{cells}</tr>")
    return (
        f'<details><summary>numbers: {_esc(data.title)}</summary><table class="heat">'
        f"<tr><th></th>{head}</tr>{''.join(rows)}</table></details>"
    )


def _section_overview(page: _Page, groups: dict[tuple, list[dict[str, Any]]]) -> None:
    page.add('<h2 id="overview">1. Overview: which basis and form?</h2>')
    page.add(
        "<p>Each cell is the error of the table entry for that basis (row) and target "
        "(column); the colour scale is logarithmic and the printed number is the error itself "
        "(3 significant digits). Only entries without zero-centring constraint are shown. "
        "Grey cells: no entry.</p>"
    )
    for key, recs in groups.items():
        title = _group_title(key)
        page.add(f"<h3>{_esc(title)}</h3>")
        for scope, scope_name in _SCOPES:
            data = [
                heatmap_data(
                    recs,
                    metric=m,
                    scope=scope,
                    title=f"{name} on the {scope_name}"
                    + (f" {_check_of(recs)}" if scope == "check" else ""),
                )
                for m, name in _METRICS
            ]
            if all(np.all(np.isnan(d.values)) for d in data):
                continue
            page.add(
                page.add_figure(
                    "heatmap",
                    f"heatmap-{key[0]}-{key[1]}-{_group_suffix(key)}-{scope}",
                    {"data": data},
                    f"{title}: RMS and max error on the {scope_name}",
                    svg=True,
                )
            )
            page.add("".join(_numbers_table(d) for d in data))


def _check_of(recs: Sequence[dict[str, Any]]) -> str:
    intervals = {
        tuple(((r.get("errors") or {}).get("check") or {}).get("interval", ())) for r in recs
    }
    if len(intervals) == 1:
        (iv,) = intervals
        if len(iv) == 2:
            return f"[{iv[0]:g}, {iv[1]:g}]"
    return ""


def _section_targets(page: _Page, records: Sequence[dict[str, Any]]) -> None:
    from .plots import check_interval_of

    page.add('<h2 id="targets">2. Per target</h2>')
    page.add(
        "<p>Top: every basis against the target over the check interval (fit interval "
        "shaded). Middle: |g − f| on a log scale (six decades below the largest error; dips "
        "are where g crosses f). Bottom: the derivative g′ against f′. Per-entry figures for "
        "HP-1 (hermite1), HP-2 (hermite2) and PAU (monomial) are folded below each target; "
        "minimax entries show the signed error with its equioscillation and the certificate."
        "</p>"
    )
    by_target: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_target[target_label(r)].append(r)
    for label in sorted(by_target, key=_target_order):
        recs = by_target[label]
        page.add(f'<h3 id="t-{_esc(_slug(label))}">{_esc(label)}</h3>')
        groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
        for r in recs:
            if _center(r) == "none":
                groups[_group_key(r)].append(r)
        for key in sorted(groups, key=_sort_group):
            grp = sorted(groups[key], key=lambda r: BASIS_NAMES.index(_basis(r)))
            firsts = list({_basis(r): r for r in reversed(grp)}.values())[::-1]
            title = f"{label} — {_group_title(key)}"
            page.add(
                page.add_figure(
                    "target",
                    f"target-{label}-{key[0]}-{key[1]}-{_group_suffix(key)}",
                    {
                        "records": firsts,
                        "title": title,
                        "interval": key[3],
                        "check": check_interval_of(firsts[0]),
                    },
                    title,
                    lazy=True,
                )
            )
        entries = [r for r in recs if _basis(r) in ENTRY_BASES]
        entries.sort(
            key=lambda r: (
                ENTRY_BASES.index(_basis(r)),
                _sort_group(_group_key(r)),
                CENTER_MODES.index(_center(r)) if _center(r) in CENTER_MODES else 9,
            )
        )
        if entries:
            figs = []
            for r in entries:
                c = r.get("center") or {}
                name = (
                    f"entry-{label}-{_basis(r)}-{_den(r)}-{_obj(r)}-{_center(r)}"
                    f"-{c.get('dropped') or ''}-{_group_suffix(_group_key(r))}"
                )
                alt = f"{_basis(r)} — {_group_title(_group_key(r))}, centring {_center(r)}" + (
                    f" ({c['dropped']} = 0)" if c.get("dropped") else ""
                )
                figs.append(page.add_figure("entry", name, {"record": r}, alt, lazy=True))
            page.add(
                f"<details><summary>{len(entries)} per-entry figures (HP-1, HP-2, PAU)"
                f"</summary>{''.join(figs)}</details>"
            )


def _group_suffix(key: tuple) -> str:
    """File-name part for what distinguishes a group beyond denominator and objective."""
    _, _, deg, interval, weight, dw = key
    text = f"{deg[0]}-{deg[1]}"
    if interval != (-3.0, 3.0):
        text += f"-{interval[0]:g}-{interval[1]:g}"
    if weight != "uniform":
        text += f"-{weight}"
    if dw:
        text += f"-dw{dw:g}"
    return text


def _sort_group(key: tuple) -> tuple:
    from ..forms import DENOMINATORS

    den, obj = key[0], key[1]
    return (DENOMINATORS.index(den) if den in DENOMINATORS else 9, obj != "l2", key[2:])


def _section_center(page: _Page, records: Sequence[dict[str, Any]]) -> None:
    page.add('<h2 id="centring">3. Zero-centring cost (HP-1, HP-2)</h2>')
    page.add(
        "<p>g(0) = 0 costs approximation accuracy. For each target: the entry without "
        "constraint (none), with the general constraint P(0) = 0, with one coefficient "
        "dropped (drop-one; the best of the dropped choices) and with every coefficient "
        "whose basis function is non-zero at 0 set to 0 (all-zero). Errors on the fit "
        "interval, log scale.</p>"
    )
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if _basis(r) in CENTER_BASES:
            groups[(_basis(r), *_group_key(r))].append(r)
    shown = False
    for key in sorted(groups, key=lambda k: (CENTER_BASES.index(k[0]), _sort_group(k[1:]))):
        recs = groups[key]
        if not any(_center(r) != "none" for r in recs):
            continue
        shown = True
        # only targets that have centred entries: the others have no bars to compare
        targets = sorted({target_label(r) for r in recs if _center(r) != "none"}, key=_target_order)
        best: dict[tuple[str, str], dict[str, Any]] = {}
        for r in recs:
            cell = (_center(r), target_label(r))
            if cell not in best or _error(r, "fit", "rms") < _error(best[cell], "fit", "rms"):
                best[cell] = r
        modes = [m for m in CENTER_MODES if any(k[0] == m for k in best)]
        values = {
            m: {
                metric: [
                    (_error(best[(m, t)], "fit", metric) if (m, t) in best else None)
                    for t in targets
                ]
                for metric, _ in _METRICS
            }
            for m in modes
        }
        title = f"{key[0]} — {_group_title(key[1:])}"
        page.add(f"<h3>{_esc(title)}</h3>")
        page.add(
            page.add_figure(
                "center",
                f"centring-{key[0]}-{key[1]}-{key[2]}-{_group_suffix(key[1:])}",
                {"title": title, "targets": targets, "values": values},
                f"{title}: zero-centring cost",
                lazy=True,
            )
        )
        head = "".join(f"<th colspan=2>{_esc(m)}</th>" for m in modes)
        sub = "".join("<th>RMS</th><th>max</th>" for _ in modes)
        rows = []
        for t in targets:
            cells = []
            for m in modes:
                r = best.get((m, t))
                if r is None:
                    cells.append('<td class="num">—</td><td class="num">—</td>')
                    continue
                drop = (r.get("center") or {}).get("dropped")
                tag = f' title="{_esc(drop)} = 0"' if drop else ""
                cells.append(
                    f'<td class="num"{tag}>{_esc(format_error(_error(r, "fit", "rms")))}</td>'
                    f'<td class="num"{tag}>{_esc(format_error(_error(r, "fit", "max_abs")))}</td>'
                )
            rows.append(f"<tr><th>{_esc(t)}</th>{''.join(cells)}</tr>")
        page.add(
            f'<table class="heat"><tr><th rowspan=2>target</th>{head}</tr><tr>{sub}</tr>'
            f"{''.join(rows)}</table>"
        )
    if not shown:
        page.add("<p>No zero-centred HP-1/HP-2 entries in these records.</p>")


def _our_errors(record: dict[str, Any]) -> list[dict[str, float]]:
    form, target = form_and_target(record)
    coef = record["coefficients"]
    return [
        measure_errors(form, target, coef["numerator"], coef["denominator"], iv)
        for iv in COMPARISON_INTERVALS
    ]


def _section_published(
    page: _Page, records: Sequence[dict[str, Any]], targets: Sequence[str] | None
) -> None:
    page.add('<h2 id="published">4. Against the published tables</h2>')
    page.add(
        "<p>Initial coefficients shipped by rational_activations, ml-research/pau and "
        "rational_kat_cu (copied with source and commit into <code>tables/reference/</code>). "
        "Each is measured with the formula it was fitted with and, where the library's "
        "kernels evaluate it with another formula, with that runtime formula too: the "
        "runtime error is what users of the library actually get. Ours: the opade-fit entry "
        "of the same form (monomial, same denominator and degrees, least squares on "
        "[-3, 3], no centring).</p>"
    )
    page.add(f'<p class="about">{_esc(published_about())}</p>')
    ours_by: dict[tuple, dict[str, Any]] = {}
    for r in records:
        if (
            _basis(r) == "monomial"
            and _obj(r) == "l2"
            and _center(r) == "none"
            and tuple(float(v) for v in r["interval"]) == COMPARISON_INTERVALS[0]
        ):
            key = (_den(r), tuple(r["form"]["degrees"]), target_label(r))
            ours_by.setdefault(key, r)
    by_target: dict[str, list[PublishedEntry]] = defaultdict(list)
    for e in load_published():
        label = (
            e.target.expression
            if e.target.name == "expression"
            else _label(e.target.name, e.target.params, e.target.expression)
        )
        if (
            targets
            and label not in targets
            and e.target.name not in targets
            and e.target_name not in targets
        ):
            continue
        by_target[label].append(e)
    cache: dict[int, list[dict[str, float]]] = {}
    ivs = "".join(f"<th colspan=2>[{a:g}, {b:g}]</th>" for a, b in COMPARISON_INTERVALS)
    for label in sorted(by_target, key=_target_order):
        page.add(f"<h3>{_esc(label)}</h3>")
        rows, theirs, ours_used = [], [], {}
        for e in by_target[label]:
            formulas = [e.fitted_formula] + ([e.runtime_formula] if e.formula_differs else [])
            for f in formulas:
                runtime = f == e.runtime_formula
                role = (
                    "runtime"
                    if runtime and e.formula_differs
                    else ("fitted" if e.formula_differs else "fitted = runtime")
                )
                their = [e.errors(iv, f) for iv in COMPARISON_INTERVALS]
                form = e.form(f)
                ours_cells = '<td class="num" colspan=4>— (no such form in opade-fit)</td>'
                if form is not None:
                    r = ours_by.get((form.denominator, form.degrees, label))
                    if r is None:
                        ours_cells = '<td class="num" colspan=4>— (no entry in these records)</td>'
                    else:
                        ours_used.setdefault(id(r), r)
                        if id(r) not in cache:
                            cache[id(r)] = _our_errors(r)
                        ours_cells = "".join(
                            f'<td class="num">{_esc(format_error(m["max_abs"]))}</td>'
                            f'<td class="num">{_esc(format_error(m["rms"]))}</td>'
                            for m in cache[id(r)]
                        )
                their_cells = "".join(
                    f'<td class="num">{_esc(format_error(m["max_abs"]))}</td>'
                    f'<td class="num">{_esc(format_error(m["rms"]))}</td>'
                    for m in their
                )
                commit = f" @ {e.commit[:10]}" if e.commit else ""
                cls = ' class="runtime"' if role == "runtime" else ""
                rows.append(
                    f"<tr{cls}><td>{_esc(e.id)}</td><td>{_esc(e.library)}: "
                    f"<code>{_esc(e.where)}</code>{_esc(commit)}</td>"
                    f"<td>{_esc(f)} ({_esc(role)})</td>"
                    f"<td>{e.degrees[0]}/{e.degrees[1]}</td>"
                    f"<td>{_esc(form.label() if form else 'formula C')}</td>"
                    f"{their_cells}{ours_cells}</tr>"
                )
                theirs.append(
                    {
                        "label": f"{e.id} [{f}]",
                        "formula": f,
                        "runtime": runtime,
                        "differs": e.formula_differs,
                        "target": e.target_name,
                        "numerator": list(e.numerator),
                        "denominator": list(e.denominator),
                    }
                )
        page.add(
            page.add_figure(
                "published",
                f"published-{label}",
                {
                    "title": f"{label}: |g − f| of the published entries and ours",
                    "theirs": theirs,
                    "ours": list(ours_used.values()),
                },
                f"{label}: error of the published entries (each formula) and ours on "
                f"[{COMPARISON_INTERVALS[-1][0]:g}, {COMPARISON_INTERVALS[-1][1]:g}]",
                lazy=True,
            )
        )
        page.add(
            '<table class="pub"><tr><th rowspan=2>entry</th><th rowspan=2>source</th>'
            "<th rowspan=2>formula</th><th rowspan=2>deg.</th><th rowspan=2>as opade form</th>"
            f"{ivs}{ivs}</tr><tr>"
            + "<th>max</th><th>RMS</th>"
            * (2 * len(COMPARISON_INTERVALS))
            + "</tr><tr><th colspan=5></th>"
            f"<th colspan={2 * len(COMPARISON_INTERVALS)}>theirs</th>"
            f"<th colspan={2 * len(COMPARISON_INTERVALS)}>ours (same form)</th></tr>"
            + "".join(rows)
            + "</table>"
        )


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;
max-width:1200px;padding:0 1em;color:#222;line-height:1.45}
h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
figure{margin:1em 0;display:inline-block;vertical-align:top}
figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85em;color:#555}
table{border-collapse:collapse;font-size:.82em;margin:.5em 0 1.5em}
td,th{border:1px solid #ddd;padding:2px 6px}
th{background:#f5f5f5;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;font-family:ui-monospace,monospace}
tr.runtime td{background:#fff4e5}
details{margin:.5em 0 1em}
summary{cursor:pointer;color:#245}
.about{font-size:.85em;color:#444;background:#fafafa;padding:.6em;border-left:3px solid #ccc}
nav li{margin:.15em 0}
"""


def build_report(
    records: Sequence[dict[str, Any]],
    out_dir: str | os.PathLike[str],
    *,
    targets: Sequence[str] | None = None,
    bases: Sequence[str] | None = None,
    progress: bool | None = None,
    jobs: int | None = None,
    on_figure: Callable[[str], None] | None = None,
    sweep: Sequence[Any] | None = None,
) -> Path:
    """Write ``out_dir/index.html`` and its figures (``out_dir/figures/``) for fit records.

    Parameters
    ----------
    records : sequence of dict
        Fit records (schema 1.x), e.g. the ``entries`` of the committed tables.
    out_dir : path
        Folder to write into (created if missing); nothing is written elsewhere.
    targets, bases : sequence of str, optional
        Keep only records of these targets (names or column labels) / bases.
    progress : bool, optional
        Show a progress bar on stderr; default: when stderr is a terminal.
    jobs : int, optional
        Processes drawing figures; default: up to 4 (the CPUs available) when
        there are at least :data:`POOL_THRESHOLD` figures, else 1.
    on_figure : callable, optional
        Called with each figure path when it is written.
    sweep : sequence of SweepEntry, optional
        Degree-sweep results (:func:`opade_fit.sweeps.read_entries`): adds the
        "Degree sweep" section with its figures (docs/sweep.md).

    Returns
    -------
    Path
        The ``index.html`` written.

    Raises
    ------
    UsageError
        If no record is left after filtering, or an argument is invalid.
    FitError
        If a file cannot be written.
    """
    if jobs is not None and jobs < 1:
        raise UsageError(f"`jobs` must be >= 1; got {jobs}")
    records = _filter(records, targets, bases)
    if not records:
        raise UsageError("`records` is empty: nothing to report")
    for r in records:
        form_and_target(r)  # validate every record before drawing anything
    out = Path(out_dir)
    try:
        (out / "figures").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FitError(f"cannot create {str(out)!r}: {exc.strerror or exc}") from None

    page = _Page(out)
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if _center(r) == "none":
            groups[_group_key(r)].append(r)
    groups = {k: groups[k] for k in sorted(groups, key=_sort_group)}
    _section_overview(page, groups)
    _section_targets(page, records)
    _section_center(page, records)
    _section_published(page, records, targets)
    if sweep:
        from .sweep import sweep_section

        page.add(sweep_section(sweep, out))

    _run(page.jobs, progress=progress, jobs=jobs, on_figure=on_figure)

    versions = sorted({str((r.get("tool") or {}).get("version", "?")) for r in records})
    nav = (
        '<nav><ol><li><a href="#overview">Overview heatmaps</a></li>'
        '<li><a href="#targets">Per target</a><ul>'
        + "".join(
            f'<li><a href="#t-{_esc(_slug(t))}">{_esc(t)}</a></li>'
            for t in sorted({target_label(r) for r in records}, key=_target_order)
        )
        + '</ul></li><li><a href="#centring">Zero-centring cost</a></li>'
        '<li><a href="#published">Against the published tables</a></li>'
        + ('<li><a href="#sweep">Degree sweep</a></li>' if sweep else "")
        + "</ol></nav>"
    )
    doc = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>opade-fit approximation report</title><style>{_CSS}</style></head><body>"
        "<h1>opade-fit approximation report</h1>"
        f"<p>{len(records)} fit records (written by opade-fit {_esc(', '.join(versions))}); "
        f"report drawn by opade-fit {_esc(__version__)}. Click a figure for full size. "
        "Errors: max = maximum |g − f| on a dense grid, RMS = root-mean-square over the "
        "interval.</p>" + nav + "".join(page.parts) + "</body></html>\n"
    )
    return write_atomic(out / "index.html", doc)


def _run(
    jobs_list: list[tuple[str, dict[str, Any]]],
    *,
    progress: bool | None,
    jobs: int | None,
    on_figure: Callable[[str], None] | None,
) -> None:
    import sys

    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    n = len(jobs_list)
    if jobs is None:
        jobs = (
            min(
                len(os.sched_getaffinity(0))
                if hasattr(os, "sched_getaffinity")
                else (os.cpu_count() or 1),
                4,
            )
            if n >= POOL_THRESHOLD
            else 1
        )
    show = sys.stderr.isatty() if progress is None else bool(progress)
    bar = Progress(
        TextColumn("drawing figures"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not show,
        transient=False,
    )
    with bar:
        task = bar.add_task("figures", total=n)
        if jobs <= 1 or n < 2:
            results: Iterable[str] = map(_draw, jobs_list)
            for path in results:
                bar.advance(task)
                if on_figure:
                    on_figure(path)
            return
        # spawn: no fork of a process that may hold threads; workers import only what they draw
        ctx = multiprocessing.get_context("spawn")
        # heavy jobs first so the pool's tail is short
        order = sorted(range(n), key=lambda i: _COST[jobs_list[i][0]], reverse=True)
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            chunk = max(1, min(8, math.ceil(n / (jobs * 8))))
            for path in pool.map(_draw, [jobs_list[i] for i in order], chunksize=chunk):
                bar.advance(task)
                if on_figure:
                    on_figure(path)


_COST = {"heatmap": 3, "published": 3, "target": 2, "center": 1, "entry": 1}
