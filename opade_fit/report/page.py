"""``opade report``: one self-contained HTML page (no JavaScript) with PNG/SVG figures.

Sections: overview heatmaps (basis × target, per denominator and objective; the
group with the most bases first, so the page opens with the answer to "which
basis and form?"); per target, every basis overlaid (value, |error| on a log
scale, derivative) and per-entry figures for HP-1, HP-2 and PAU; the cost of
zero-centring for HP-1/HP-2; and the published tables of other libraries next
to ours. Everything is written under ``out_dir`` and nowhere else.

Modules: :mod:`.data` (records, groups, numbers), :mod:`.figures` (drawing
jobs), :mod:`.fragments` (escaping, the :class:`~.fragments.Page` being
assembled), :mod:`.sections` and :mod:`.published` (the sections), this one
(the page). A new section is a ``section_*`` function that adds HTML and figure
jobs to the ``Page``, called from :func:`build_report` (and listed in its
``nav``); its figure is a ``_draw_*`` function in :mod:`.figures`, registered
in ``_draw`` and ``_COST``.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import FitError, UsageError
from ..record import write_atomic
from ..result import form_and_target
from .data import GroupKey, _center, _filter, _target_order, target_label
from .figures import run_jobs
from .fragments import Page, esc, slug
from .published import section_published
from .sections import section_center, section_overview, section_targets

__all__ = ["build_report"]


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

    page = Page(out)
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if _center(r) == "none":
            groups[GroupKey.of(r)].append(r)
    groups = {k: groups[k] for k in sorted(groups, key=GroupKey.order)}
    section_overview(page, groups)
    section_targets(page, records)
    section_center(page, records)
    section_published(page, records, targets)
    if sweep:
        from .sweep import sweep_section

        page.add(sweep_section(sweep, out))

    run_jobs(page.jobs, jobs=jobs, progress=progress)

    versions = sorted({str((r.get("tool") or {}).get("version", "?")) for r in records})
    nav = (
        '<nav><ol><li><a href="#overview">Overview heatmaps</a></li>'
        '<li><a href="#targets">Per target</a><ul>'
        + "".join(
            f'<li><a href="#t-{esc(slug(t))}">{esc(t)}</a></li>'
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
        f"<p>{len(records)} fit records (written by opade-fit {esc(', '.join(versions))}); "
        f"report drawn by opade-fit {esc(__version__)}. Click a figure for full size. "
        "Errors: max = maximum |g − f| on a dense grid, RMS = root-mean-square over the "
        "interval.</p>" + nav + "".join(page.parts) + "</body></html>\n"
    )
    return write_atomic(out / "index.html", doc)
