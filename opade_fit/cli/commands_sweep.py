"""`opade sweep`: fit a grid of degrees x bases x denominators and summarise it."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from ..errors import FitError, UsageError
from ..problem import OBJECTIVES
from .app import app, cli_names

__all__ = ["Progress", "sweep_cmd"]

_NAMES = {
    "`targets`": "`--target`",
    "`bases`": "`--basis`",
    "`denominators`": "`--denominator`",
    "`jobs`": "`-j/--jobs`",
    "`out`": "`--out`",
    "`objective`": "`--objective`",
    "`coarse_points`": "`--coarse-points`",
}


class Progress:
    """Progress on stderr: one rewritten line on a terminal, else a line every
    ``every`` seconds (and at 0, 25, 50, 75, 100 %), so logs show it too."""

    def __init__(self, *, tty: bool | None = None, every: float = 30.0) -> None:
        self.tty = sys.stderr.isatty() if tty is None else tty
        self.every = every
        self.t0 = time.perf_counter()
        self.last = -1e9
        self.start = 0
        self.quarter = -1

    def __call__(self, done: int, total: int, entry) -> None:
        now = time.perf_counter()
        if entry is None:
            self.start = done
            self.t0 = now
        elapsed = now - self.t0
        fresh = done - self.start
        left = ""
        if fresh > 0 and done < total:
            left = f", ~{_hms(elapsed / fresh * (total - done))} left"
        reused = f" ({self.start} reused)" if self.start else ""
        text = f"sweep: {done}/{total} fits{reused}, {_hms(elapsed)} elapsed{left}"
        if self.tty:
            end = "\n" if done >= total else ""
            sys.stderr.write(f"\r{text}\x1b[K{end}")
            sys.stderr.flush()
            return
        quarter = 4 * done // max(total, 1)
        if (
            entry is None
            or done >= total
            or quarter > self.quarter
            or now - self.last >= self.every
        ):
            sys.stderr.write(text + "\n")
            sys.stderr.flush()
            self.last, self.quarter = now, quarter


def _hms(seconds: float) -> str:
    s = round(seconds)
    return (
        f"{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s"
        if s >= 3600
        else f"{s // 60}m{s % 60:02d}s"
    )


@app.command("sweep")
def sweep_cmd(
    target: Annotated[
        list[str],
        typer.Option(
            "--target",
            "-t",
            help="Target activation (name or expression in x); repeat for several.",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Sweep folder: records.jsonl (reused on a re-run), summary.txt/.csv, figures.",
            show_default=False,
        ),
    ],
    degrees: Annotated[
        str, typer.Option(help="Degree range K1/L1..K2/L2: every k in [K1,K2], l in [L1,L2].")
    ] = "2/1..12/11",
    basis: Annotated[
        list[str] | None,
        typer.Option("--basis", help="Basis name or 'all' (repeat or comma-separate)."),
    ] = None,
    denominator: Annotated[
        list[str] | None,
        typer.Option(
            "--denominator",
            help="safe, safe-abs-sum, plain or 'all' (repeat or comma-separate). Default: safe.",
        ),
    ] = None,
    objective: Annotated[str, typer.Option(help=f"Objective: {' or '.join(OBJECTIVES)}.")] = "l2",
    interval: Annotated[tuple[float, float], typer.Option(help="Fit interval A B (A < B).")] = (
        -3.0,
        3.0,
    ),
    all_pairs: Annotated[
        bool, typer.Option("--all-pairs", help="Also fit l > k (default: only l <= k).")
    ] = False,
    coarse_points: Annotated[
        int,
        typer.Option(
            help="Search each fit's starts on this many points, refine the winner on the "
            "4001-point fit grid (0: search on the fit grid, as opade fit does)."
        ),
    ] = 1001,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Worker processes (>= 1).")] = 1,
    figures: Annotated[
        bool, typer.Option("--figures/--no-figures", help="Draw the PNG figures into --out.")
    ] = True,
) -> None:
    """Fit every target x basis x denominator x (k, l), in parallel and resumable, and write
    records.jsonl, summary.txt, summary.csv and figures (error vs parameters with Pareto
    fronts, (k, l) heatmaps, fit time and conditioning) into --out."""
    from ..sweeps import failures, nesting_violations, sweep, write_summary

    if isinstance(jobs, bool) or jobs < 1:
        raise UsageError(f"`-j/--jobs` must be an integer >= 1, got {jobs}")
    kwargs = dict(
        degrees=degrees,
        bases=basis if basis else "all",
        denominators=denominator if denominator else "safe",
        objective=objective,
        interval=interval,
        all_pairs=all_pairs,
        coarse_points=coarse_points or None,
        jobs=jobs,
        out=out,
    )
    try:
        entries = sweep(target, progress=Progress(), **kwargs)
    except UsageError as exc:
        raise UsageError(cli_names(str(exc), _NAMES)) from None
    txt, csv_path = write_summary(entries, out)
    typer.echo(f"wrote {txt}", err=True)
    typer.echo(f"wrote {csv_path}", err=True)
    if figures:
        from ..report.sweep import save_sweep_figures  # matplotlib only when asked

        for path in save_sweep_figures(entries, out):
            typer.echo(f"wrote {path}", err=True)
    bad = nesting_violations(entries)
    failed = failures(entries)
    if bad or failed:
        raise FitError(
            f"{len(failed)} failed or non-finite fit(s) and {len(bad)} nesting violation(s); "
            f"see {txt}"
        )
