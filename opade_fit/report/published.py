"""Report section: the published tables of other libraries next to our entries of the same form."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from ..reference import COMPARISON_INTERVALS, PublishedEntry, load_published, published_about
from .data import (
    _basis,
    _center,
    _den,
    _label,
    _obj,
    _our_errors,
    _target_order,
    format_error,
    target_label,
)
from .fragments import Page, esc

__all__ = ["section_published"]


def section_published(
    page: Page, records: Sequence[dict[str, Any]], targets: Sequence[str] | None
) -> None:
    """Section 4: published coefficients (fitted and runtime formula) against ours."""
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
    page.add(f'<p class="about">{esc(published_about())}</p>')
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
        page.add(f"<h3>{esc(label)}</h3>")
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
                            f'<td class="num">{esc(format_error(m["max_abs"]))}</td>'
                            f'<td class="num">{esc(format_error(m["rms"]))}</td>'
                            for m in cache[id(r)]
                        )
                their_cells = "".join(
                    f'<td class="num">{esc(format_error(m["max_abs"]))}</td>'
                    f'<td class="num">{esc(format_error(m["rms"]))}</td>'
                    for m in their
                )
                commit = f" @ {e.commit[:10]}" if e.commit else ""
                cls = ' class="runtime"' if role == "runtime" else ""
                rows.append(
                    f"<tr{cls}><td>{esc(e.id)}</td><td>{esc(e.library)}: "
                    f"<code>{esc(e.where)}</code>{esc(commit)}</td>"
                    f"<td>{esc(f)} ({esc(role)})</td>"
                    f"<td>{e.degrees[0]}/{e.degrees[1]}</td>"
                    f"<td>{esc(form.label() if form else 'formula C')}</td>"
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
