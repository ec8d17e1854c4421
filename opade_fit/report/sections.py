"""Report sections built from our records: overview heatmaps, per target, zero-centring cost.

Each ``section_*`` function adds HTML and figure jobs to the :class:`~.fragments.Page`;
its figures are ``_draw_*`` functions in :mod:`.figures`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..bases import BASIS_NAMES
from .data import (
    CENTER_BASES,
    CENTER_MODES,
    ENTRY_BASES,
    METRICS,
    SCOPES,
    GroupKey,
    _basis,
    _center,
    _check_of,
    _den,
    _error,
    _obj,
    _target_order,
    format_error,
    heatmap_data,
    target_label,
)
from .fragments import Page, esc, numbers_table, slug

__all__ = ["section_center", "section_overview", "section_targets"]


def _overview_order(item: tuple[tuple, list[dict[str, Any]]]) -> tuple:
    """Groups comparing the most bases (then targets) first: they answer "which basis?"."""
    key, recs = item
    bases = {_basis(r) for r in recs}
    targets = {target_label(r) for r in recs}
    return (-len(bases), -len(targets), key.order())


def _best_basis_table(key: tuple, recs: Sequence[dict[str, Any]]) -> str:
    """Per target: the basis with the lowest RMS error on the fit interval, and that error."""
    best: dict[str, dict[str, Any]] = {}
    for r in recs:
        t = target_label(r)
        if t not in best or _error(r, "fit", "rms") < _error(best[t], "fit", "rms"):
            best[t] = r
    head = "".join(f"<th>{esc(t)}</th>" for t in sorted(best, key=_target_order))
    names = "".join(f"<td>{esc(_basis(best[t]))}</td>" for t in sorted(best, key=_target_order))
    rms = "".join(
        f'<td class="num">{esc(format_error(_error(best[t], "fit", "rms")))}</td>'
        for t in sorted(best, key=_target_order)
    )
    return (
        f"<p><b>Lowest RMS error per target</b> ({esc(key.title())}):</p>"
        f'<table class="best"><tr><th>target</th>{head}</tr><tr><th>basis</th>{names}</tr>'
        f"<tr><th>RMS (fit)</th>{rms}</tr></table>"
    )


def section_overview(page: Page, groups: dict[tuple, list[dict[str, Any]]]) -> None:
    """Section 1: basis × target heatmaps per form, the group comparing the most bases first."""
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
        title = key.title()
        page.add(f"<h3>{esc(title)}</h3>")
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
                    f"heatmap-{key.denominator}-{key.objective}-{key.suffix()}-{scope}",
                    {"data": data},
                    f"{title}: RMS and max error on the {scope_name}",
                    svg=True,
                )
            )
            page.add("".join(numbers_table(d) for d in data))


def section_targets(page: Page, records: Sequence[dict[str, Any]]) -> None:
    """Section 2: per target, every basis overlaid, and the per-entry figures of HP-1, HP-2, PAU."""
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
        page.add(f'<h3 id="t-{esc(slug(label))}">{esc(label)}</h3>')
        groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
        for r in recs:
            if _center(r) == "none":
                groups[GroupKey.of(r)].append(r)
        for key in sorted(groups, key=GroupKey.order):
            grp = sorted(groups[key], key=lambda r: BASIS_NAMES.index(_basis(r)))
            firsts = list({_basis(r): r for r in reversed(grp)}.values())[::-1]
            title = f"{label} — {key.title()}"
            page.add(
                page.add_figure(
                    "target",
                    f"target-{label}-{key.denominator}-{key.objective}-{key.suffix()}",
                    {
                        "records": firsts,
                        "title": title,
                        "interval": key.interval,
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
                GroupKey.of(r).order(),
                CENTER_MODES.index(_center(r)) if _center(r) in CENTER_MODES else 9,
            )
        )
        if entries:
            figs = []
            for r in entries:
                c = r.get("center") or {}
                name = (
                    f"entry-{label}-{_basis(r)}-{_den(r)}-{_obj(r)}-{_center(r)}"
                    f"-{c.get('dropped') or ''}-{GroupKey.of(r).suffix()}"
                )
                alt = f"{_basis(r)} — {GroupKey.of(r).title()}, centring {_center(r)}" + (
                    f" ({c['dropped']} = 0)" if c.get("dropped") else ""
                )
                figs.append(page.add_figure("entry", name, {"record": r}, alt, lazy=True))
            page.add(
                f"<details><summary>{len(entries)} per-entry figures (HP-1, HP-2, PAU)"
                f"</summary>{''.join(figs)}</details>"
            )


def section_center(page: Page, records: Sequence[dict[str, Any]]) -> None:
    """Section 3: the cost of zero-centring for HP-1 and HP-2, per target."""
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
            groups[(_basis(r), GroupKey.of(r))].append(r)
    shown = False
    for key in sorted(groups, key=lambda k: (CENTER_BASES.index(k[0]), k[1].order())):
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
        basis, group = key
        title = f"{basis} — {group.title()}"
        page.add(f"<h3>{esc(title)}</h3>")
        page.add(
            page.add_figure(
                "center",
                f"centring-{basis}-{group.denominator}-{group.objective}-{group.suffix()}",
                {"title": title, "targets": targets, "values": values},
                f"{title}: zero-centring cost",
                lazy=True,
            )
        )
        head = "".join(f"<th colspan=2>{esc(m)}</th>" for m in modes)
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
                tag = f' title="{esc(drop)} = 0"' if drop else ""
                cells.append(
                    f'<td class="num"{tag}>{esc(format_error(_error(r, "fit", "rms")))}</td>'
                    f'<td class="num"{tag}>{esc(format_error(_error(r, "fit", "max_abs")))}</td>'
                )
            rows.append(f"<tr><th>{esc(t)}</th>{''.join(cells)}</tr>")
        page.add(
            f'<table class="heat"><tr><th rowspan=2>target</th>{head}</tr><tr>{sub}</tr>'
            f"{''.join(rows)}</table>"
        )
    if not shown:
        page.add("<p>No zero-centred HP-1/HP-2 entries in these records.</p>")
