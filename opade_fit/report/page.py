"""``opade report``: one self-contained HTML page (no JavaScript) with PNG/SVG figures.

Sections: overview heatmaps (basis × target, per denominator and objective; the
group with the most bases first, so the page opens with the answer to "which
basis and form?"); per target, every basis overlaid (value, |error| on a log
scale, derivative) and per-entry figures for HP-1, HP-2 and PAU; the cost of
zero-centring for HP-1/HP-2; and the published tables of other libraries next
to ours. Everything is written under ``out_dir`` and nowhere else.

Modules: :mod:`.data` (records, groups, numbers), :mod:`.figures` (drawing
jobs), this one (sections and the page). A new section is a ``_section_*``
function here that adds HTML and figure jobs to the :class:`_Page`, called from
:func:`build_report` (and listed in its ``nav``); its figure is a ``_draw_*``
function in :mod:`.figures`, registered in ``_draw`` and ``_COST``.
"""

from __future__ import annotations

import html
import os
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..bases import BASIS_NAMES
from ..errors import FitError, UsageError
from ..record import write_atomic
from ..reference import COMPARISON_INTERVALS, PublishedEntry, load_published, published_about
from ..result import form_and_target
from .data import (
    CENTER_BASES,
    CENTER_MODES,
    ENTRY_BASES,
    METRICS,
    SCOPES,
    _basis,
    _center,
    _check_of,
    _den,
    _error,
    _filter,
    _group_key,
    _group_suffix,
    _group_title,
    _label,
    _obj,
    _our_errors,
    _sort_group,
    _target_order,
    heatmap_data,
    target_label,
)
from .figures import run_jobs
from .plots import HeatmapData, format_error

__all__ = ["build_report"]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-")[:60] or "x"


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


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


def _overview_order(item: tuple[tuple, list[dict[str, Any]]]) -> tuple:
    """Groups comparing the most bases (then targets) first: they answer "which basis?"."""
    key, recs = item
    bases = {_basis(r) for r in recs}
    targets = {target_label(r) for r in recs}
    return (-len(bases), -len(targets), _sort_group(key))


def _best_basis_table(key: tuple, recs: Sequence[dict[str, Any]]) -> str:
    """Per target: the basis with the lowest RMS error on the fit interval, and that error."""
    best: dict[str, dict[str, Any]] = {}
    for r in recs:
        t = target_label(r)
        if t not in best or _error(r, "fit", "rms") < _error(best[t], "fit", "rms"):
            best[t] = r
    head = "".join(f"<th>{_esc(t)}</th>" for t in sorted(best, key=_target_order))
    names = "".join(f"<td>{_esc(_basis(best[t]))}</td>" for t in sorted(best, key=_target_order))
    rms = "".join(
        f'<td class="num">{_esc(format_error(_error(best[t], "fit", "rms")))}</td>'
        for t in sorted(best, key=_target_order)
    )
    return (
        f"<p><b>Lowest RMS error per target</b> ({_esc(_group_title(key))}):</p>"
        f'<table class="best"><tr><th>target</th>{head}</tr><tr><th>basis</th>{names}</tr>'
        f"<tr><th>RMS (fit)</th>{rms}</tr></table>"
    )


def _section_overview(page: _Page, groups: dict[tuple, list[dict[str, Any]]]) -> None:
    page.add('<h2 id="overview">1. Overview: which basis and form?</h2>')
    page.add(
        "<p>Each cell is the error of the table entry for that basis (row) and target "
        "(column); the colour scale is logarithmic and the printed number is the error itself "
        "(3 significant digits). Only entries without zero-centring constraint are shown. "
        "Grey cells: no entry. The form that compares the most bases comes first; the "
        "other denominators, objectives and degrees follow.</p>"
    )
    ordered = sorted(groups.items(), key=_overview_order)
    if ordered:
        page.add(_best_basis_table(*ordered[0]))
    for key, recs in ordered:
        title = _group_title(key)
        page.add(f"<h3>{_esc(title)}</h3>")
        for scope, scope_name in SCOPES:
            data = [
                heatmap_data(
                    recs,
                    metric=m,
                    scope=scope,
                    title=f"{name} on the {scope_name}"
                    + (f" {_check_of(recs)}" if scope == "check" else ""),
                )
                for m, name in METRICS
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
                for metric, _ in METRICS
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
    progress: Callable[[int, int, str], None] | None = None,
    jobs: int | None = None,
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
    progress : callable, optional
        Called as ``progress(done, total, path)`` after each figure is written
        (the CLI shows a bar on a terminal, periodic lines elsewhere).
    jobs : int, optional
        Processes drawing figures; default: up to 4 (the CPUs available) when
        there are at least :data:`~opade_fit.report.figures.POOL_THRESHOLD`
        figures, else 1.
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

    run_jobs(page.jobs, jobs=jobs, progress=progress)

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
