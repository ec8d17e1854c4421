"""Figures of a degree sweep (``opade sweep``, ``opade report --sweep``).

* :func:`pareto_figure`: RMS error vs trainable parameters k + 1 + l, every
  fit as a dot and the Pareto front (smallest RMS reached with at most that
  many parameters) per basis as a line; one panel per target and denominator.
* :func:`heatmap_figure`: the RMS over the (k, l) grid, one panel per form
  (basis/denominator), one figure per target.
* :func:`cost_figure`: CPU time of a fit and the condition number of the
  first linearised least-squares matrix (column-scaled and raw) per basis as
  the degree grows.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.colors import LogNorm

from ..bases import BASIS_NAMES
from ..sweeps import SweepEntry, target_label
from .plots import BASIS_COLORS, new_figure, save_figure, set_log_y

__all__ = [
    "cost_figure",
    "heatmap_figure",
    "pareto_figure",
    "pareto_front",
    "save_sweep_figures",
    "sweep_section",
]

_DEN_STYLE = {"safe": "-", "safe-abs-sum": "--", "plain": ":"}


def _form(e: SweepEntry) -> tuple[str, str]:
    f = e.record["form"]
    return f["basis"], f["denominator"]


def _ordered(values, order: Sequence[str]) -> list[str]:
    rank = {v: i for i, v in enumerate(order)}
    return sorted(set(values), key=lambda v: (rank.get(v, len(rank)), v))


def pareto_front(entries: Sequence[SweepEntry]) -> list[SweepEntry]:
    """The entries not beaten by one with at most as many parameters (by RMS).

    Sorted by parameter count; ties in RMS keep the fewer parameters.
    """
    front: list[SweepEntry] = []
    best = math.inf
    for e in sorted(entries, key=lambda e: (e.parameters, e.rms, e.degrees)):
        if e.rms < best:
            front.append(e)
            best = e.rms
    return front


def _targets(entries: Sequence[SweepEntry]) -> list[str]:
    return sorted({target_label(e.record) for e in entries})


def _dens(entries: Sequence[SweepEntry]) -> list[str]:
    return _ordered((_form(e)[1] for e in entries), list(_DEN_STYLE))


def _bases(entries: Sequence[SweepEntry]) -> list[str]:
    return _ordered((_form(e)[0] for e in entries), BASIS_NAMES)


def _floor(v: float) -> float:
    return max(v, 1e-16)


def pareto_figure(entries: Sequence[SweepEntry]):
    """RMS vs parameters with Pareto fronts per basis; rows: denominators, columns: targets."""
    targets, dens, bases = _targets(entries), _dens(entries), _bases(entries)
    fig, axes = new_figure(
        3.6 * len(targets) + 0.4, 3.0 * len(dens) + 0.3, nrows=len(dens), ncols=len(targets)
    )
    cells: dict[tuple[str, str, str], list[SweepEntry]] = defaultdict(list)
    for e in entries:
        b, d = _form(e)
        cells[(target_label(e.record), d, b)].append(e)
    for i, den in enumerate(dens):
        for j, t in enumerate(targets):
            ax = axes[i, j]
            set_log_y(ax)
            for b in bases:
                es = cells.get((t, den, b), [])
                if not es:
                    continue
                color = BASIS_COLORS.get(b, "0.3")
                ax.scatter(
                    [e.parameters for e in es],
                    [_floor(e.rms) for e in es],
                    s=7,
                    color=color,
                    alpha=0.25,
                    linewidths=0,
                )
                front = pareto_front(es)
                ax.plot(
                    [e.parameters for e in front],
                    [_floor(e.rms) for e in front],
                    color=color,
                    marker="o",
                    markersize=2.5,
                    linewidth=1.2,
                    label=b,
                )
            ax.set_title(f"{t}\n{den}", loc="left")
            ax.set_xlabel("trainable parameters k + 1 + l")
            if j == 0:
                ax.set_ylabel("RMS error on the fit interval")
    axes[0, -1].legend(loc="lower left", ncols=2, title="Pareto front per basis", fontsize=7)
    return fig


def heatmap_figure(entries: Sequence[SweepEntry], target: str):
    """RMS over (k, l) for every form of one target (shared log colour scale)."""
    es = [e for e in entries if target_label(e.record) == target]
    dens, bases = _dens(es), _bases(es)
    ks = sorted({e.degrees[0] for e in es})
    ls = sorted({e.degrees[1] for e in es})
    vals = np.array([_floor(e.rms) for e in es])
    hi = float(vals.max())
    lo = max(float(vals.min()), hi / 1e12)
    norm = LogNorm(vmin=lo, vmax=hi if hi > lo else lo * 10, clip=True)
    w = 0.18 * len(ks) + 0.6
    fig, axes = new_figure(
        w * len(bases) + 1.2,
        (0.22 * len(ls) + 0.9) * len(dens) + 0.3,
        nrows=len(dens),
        ncols=len(bases),
    )
    grid = {(_form(e), e.degrees): e.rms for e in es}
    image = None
    for i, den in enumerate(dens):
        for j, b in enumerate(bases):
            ax = axes[i, j]
            m = np.full((len(ls), len(ks)), np.nan)
            for (form, (k, l)), v in grid.items():
                if form == (b, den):
                    m[ls.index(l), ks.index(k)] = _floor(v)
            image = ax.imshow(
                np.ma.masked_invalid(m),
                origin="lower",
                norm=norm,
                cmap="viridis",
                aspect="auto",
                interpolation="nearest",
            )
            ax.grid(False)
            ax.set_xticks(range(len(ks)), labels=[str(k) for k in ks], fontsize=6)
            ax.set_yticks(range(len(ls)), labels=[str(l) for l in ls], fontsize=6)
            ax.tick_params(length=0)
            ax.set_title(f"{b}\n{den}", fontsize=8)
            if i == len(dens) - 1:
                ax.set_xlabel("k")
            if j == 0:
                ax.set_ylabel("l")
    if image is not None:
        bar = fig.colorbar(image, ax=axes, shrink=0.8, pad=0.01)
        bar.set_label(f"RMS error, {target}")
    return fig


def _series(es: Sequence[SweepEntry], attr: str) -> tuple[list[int], list[float]]:
    """Median of ``attr`` per numerator degree k, over the diagonal l = k - 1 if present."""
    diag = [e for e in es if e.degrees[1] == e.degrees[0] - 1]
    use = diag if len({e.degrees[0] for e in diag}) >= 2 else es
    by_k: dict[int, list[float]] = defaultdict(list)
    for e in use:
        v = float(getattr(e, attr))
        if math.isfinite(v):
            by_k[e.degrees[0]].append(v)
    ks = sorted(by_k)
    return ks, [float(np.median(by_k[k])) for k in ks]


def cost_figure(entries: Sequence[SweepEntry]):
    """Fit CPU time and linearised-LS condition numbers per basis vs degree.

    Columns: denominators; rows: CPU seconds per fit, condition number with
    unit-norm columns (what the solver sees), raw condition number. Each
    point: median over targets at degrees k/(k-1).
    """
    dens, bases = _dens(entries), _bases(entries)
    rows = (
        ("cpu_seconds", "CPU seconds per fit"),
        ("condition", "cond, unit-norm columns"),
        ("condition_raw", "cond, raw columns"),
    )
    fig, axes = new_figure(4.0 * len(dens) + 0.4, 7.6, nrows=len(rows), ncols=len(dens))
    by_form: dict[tuple[str, str], list[SweepEntry]] = defaultdict(list)
    for e in entries:
        by_form[_form(e)].append(e)
    for j, den in enumerate(dens):
        for i, (attr, label) in enumerate(rows):
            ax = axes[i, j]
            if attr == "cpu_seconds":
                ax.set_yscale("log")  # often less than a decade: keep the minor labels
            else:
                set_log_y(ax)
            ticks: set[int] = set()
            for b in bases:
                es = by_form.get((b, den))
                if not es:
                    continue
                ks, ys = _series(es, attr)
                ticks.update(ks)
                ax.plot(ks, ys, marker="o", markersize=3, color=BASIS_COLORS.get(b), label=b)
            ax.set_xticks(sorted(ticks), labels=[f"{k}/{k - 1}" for k in sorted(ticks)])
            ax.tick_params(axis="x", labelsize=7)
            if j == 0:
                ax.set_ylabel(label)
            if i == 0:
                ax.set_title(f"{den}: median over targets", loc="left")
            if i == len(rows) - 1:
                ax.set_xlabel("degrees k/l")
    axes[1, -1].legend(loc="upper left", ncols=2, fontsize=7)
    return fig


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "target"


def save_sweep_figures(
    entries: Sequence[SweepEntry], out: str | Path, *, prefix: str = "sweep-"
) -> list[Path]:
    """Write ``{prefix}pareto.png``, ``{prefix}cost.png`` and ``{prefix}heatmap-<target>.png``
    into the folder ``out`` (deterministic PNGs, atomically); returns the paths."""
    out = Path(out)
    paths = [
        save_figure(pareto_figure(entries), out / f"{prefix}pareto.png"),
        save_figure(cost_figure(entries), out / f"{prefix}cost.png"),
    ]
    for t in _targets(entries):
        paths.append(
            save_figure(heatmap_figure(entries, t), out / f"{prefix}heatmap-{_slug(t)}.png")
        )
    return paths


def sweep_section(entries: Sequence[SweepEntry], out_dir: str | Path) -> str:
    """Draw the sweep figures into ``out_dir/figures/`` and return the report's HTML section.

    The section (``id="sweep"``) shows the Pareto and cost figures, the (k, l)
    heatmaps folded per target, and the smallest RMS per parameter count.
    """
    import html

    from ..sweeps import best_per_parameters, failures, nesting_violations

    if not entries:
        return ""
    figures = Path(out_dir) / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    paths = save_sweep_figures(entries, figures)
    esc = html.escape

    def fig(path: Path, alt: str) -> str:
        rel = f"figures/{path.name}"
        return (
            f'<figure><a href="{esc(rel)}"><img src="{esc(rel)}" alt="{esc(alt)}" '
            f'loading="lazy"></a><figcaption>{esc(alt)}</figcaption></figure>'
        )

    bad, failed = nesting_violations(entries), failures(entries)
    parts = [
        '<section id="sweep"><h2>Degree sweep</h2>',
        f"<p>{len(entries)} fits of <code>opade sweep</code>. Nesting (no fit worse than the "
        f"one a degree below): {'holds' if not bad else f'{len(bad)} violation(s)'}; failed "
        f"or non-finite fits: {len(failed)}.</p>",
        fig(paths[0], "RMS error vs trainable parameters k + 1 + l, Pareto front per basis"),
        fig(paths[1], "CPU time per fit and condition number of the linearised LS matrix"),
    ]
    for p in paths[2:]:
        parts.append(f"<details><summary>{esc(p.stem)}</summary>{fig(p, p.stem)}</details>")
    for target, best in best_per_parameters(entries).items():
        rows = "".join(
            f"<tr><td>{e.parameters}</td><td>{esc(e.record['form']['basis'])}/"
            f"{esc(e.record['form']['denominator'])}</td><td>{e.degrees[0]}/{e.degrees[1]}</td>"
            f'<td class="num">{e.rms:.3e}</td></tr>'
            for e in best
        )
        parts.append(
            f"<details><summary>smallest RMS per parameter count: {esc(target)}</summary>"
            "<table><tr><th>parameters</th><th>form</th><th>degrees</th><th>RMS</th></tr>"
            f"{rows}</table></details>"
        )
    parts.append("</section>")
    return "".join(parts)
