"""Checks and summaries of a sweep: nesting, failures, the best form per parameter count."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..lsq import ROUNDING_FLOOR
from ..record import write_atomic
from ..result import FitResult
from ..targets import get_target
from .records import SweepEntry

__all__ = [
    "NEST_ATOL",
    "NEST_RTOL",
    "SUMMARY_COLUMNS",
    "best_per_parameters",
    "failures",
    "nesting_violations",
    "summary_rows",
    "target_label",
    "write_summary",
]

#: Nesting check: the RMS at a higher degree may exceed the lower one's by at most
#: NEST_RTOL * rms + max(NEST_ATOL, the rounding floor of the fit) (rounding of the error
#: measurement; the warm start itself guarantees the least-squares cost cannot grow). The
#: rounding floor is the level below which the fitter itself calls errors rounding
#: noise: ``lsq.ROUNDING_FLOOR`` * eps * max|g| on the fit interval (docs/fitting.md).
NEST_RTOL = 1e-6
NEST_ATOL = 1e-15
#: Columns of the summary table.
SUMMARY_COLUMNS = (
    "target",
    "basis",
    "denominator",
    "k",
    "l",
    "parameters",
    "rms",
    "max_abs",
    "check_rms",
    "status",
    "start",
    "cpu_seconds",
    "condition",
    "condition_raw",
)


def _group_of(e: SweepEntry) -> tuple:
    r = e.record
    return (
        json.dumps(r["target"], sort_keys=True),
        r["form"]["basis"],
        r["form"]["denominator"],
        tuple(r["interval"]),
        r["objective"],
    )


def nesting_violations(
    entries: Iterable[SweepEntry], *, rtol: float = NEST_RTOL, atol: float = NEST_ATOL
) -> list[tuple[SweepEntry, SweepEntry]]:
    """Pairs (lower, higher) where a fit one degree up is worse (RMS) than the one below.

    "One degree up" is (k + 1, l) or (k, l + 1) with the same target, basis,
    denominator, interval and objective; worse means
    ``rms_high > rms_low * (1 + rtol) + max(atol, floor)`` with ``floor`` the
    rounding floor of the lower fit, ``lsq.ROUNDING_FLOOR * eps * max|g|`` over
    its fit grid: differences below it are the rounding of evaluating g, which
    the fitter itself treats as ties (docs/fitting.md).
    """
    index = {(_group_of(e), e.degrees): e for e in entries}
    bad = []
    for (g, (k, l)), low in sorted(index.items(), key=lambda t: (t[0][0], t[0][1])):
        for d in ((k + 1, l), (k, l + 1)):
            high = index.get((g, d))
            if high is None or high.rms <= low.rms * (1 + rtol) + atol:
                continue
            if high.rms > low.rms * (1 + rtol) + max(atol, _rounding_floor(low)):
                bad.append((low, high))
    return bad


def _rounding_floor(entry: SweepEntry) -> float:
    """``ROUNDING_FLOOR * eps * max(1, max|g|)`` of a fit on its fit grid (same units as g)."""
    r = entry.record
    a, b = r["interval"]
    x = np.linspace(a, b, int(r["grid"]["points"]))
    with np.errstate(all="ignore"):
        g = FitResult.from_dict(r).evaluate(x)
    scale = float(np.max(np.abs(g))) if np.all(np.isfinite(g)) else 1.0
    return ROUNDING_FLOOR * float(np.finfo(np.float64).eps) * max(scale, 1.0)


def failures(entries: Iterable[SweepEntry]) -> list[SweepEntry]:
    """Entries whose fit did not succeed or whose errors are not finite."""
    big = np.finfo(np.float64).max
    out = []
    for e in entries:
        err = e.record["errors"]["fit"]
        vals = [err["rms"], err["max_abs"]]
        if not e.record["solver"]["success"] or not all(math.isfinite(v) and v < big for v in vals):
            out.append(e)
    return out


# ----------------------------------------------------------------------------- summary
def target_label(record: dict[str, Any]) -> str:
    """Readable target label of a record, e.g. ``leaky_relu(negative_slope=0.01)``."""
    t = record["target"]
    if t["name"] == "expression":
        return str(t["expression"])
    return get_target(t["name"], t.get("params")).label()


def summary_rows(entries: Iterable[SweepEntry]) -> list[dict[str, Any]]:
    """One dict per entry with the :data:`SUMMARY_COLUMNS` (sorted by target, form, k, l)."""
    rows = []
    for e in entries:
        r = e.record
        k, l = e.degrees
        method = str(r["solver"].get("method", ""))
        start = method[method.find("(") + 1 : method.rfind(" start)")] if "(" in method else method
        rows.append(
            {
                "target": target_label(r),
                "basis": r["form"]["basis"],
                "denominator": r["form"]["denominator"],
                "k": k,
                "l": l,
                "parameters": k + 1 + l,
                "rms": r["errors"]["fit"]["rms"],
                "max_abs": r["errors"]["fit"]["max_abs"],
                "check_rms": r["errors"]["check"]["rms"],
                "status": r["solver"]["status"],
                "start": start,
                "cpu_seconds": e.cpu_seconds,
                "condition": e.condition,
                "condition_raw": e.condition_raw,
            }
        )
    rows.sort(key=lambda r: (r["target"], r["basis"], r["denominator"], r["k"], r["l"]))
    return rows


def best_per_parameters(entries: Iterable[SweepEntry]) -> dict[str, list[SweepEntry]]:
    """Per target label: for each parameter count, the entry with the smallest RMS.

    Ties (RMS within 1e-9 relative) go to the first in a fixed order
    (basis, denominator, k).
    """
    groups: dict[str, dict[int, SweepEntry]] = {}
    for e in sorted(
        entries,
        key=lambda e: (e.record["form"]["basis"], e.record["form"]["denominator"], e.degrees),
    ):
        label = target_label(e.record)
        best = groups.setdefault(label, {})
        cur = best.get(e.parameters)
        if cur is None or e.rms < cur.rms * (1 - 1e-9):
            best[e.parameters] = e
    return {t: [g[n] for n in sorted(g)] for t, g in sorted(groups.items())}


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3e}" if math.isfinite(v) else "inf"
    return str(v)


def write_summary(entries: Sequence[SweepEntry], out: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``summary.txt`` (aligned table + best form per parameter count + checks)
    and ``summary.csv`` (full precision) into the folder ``out``, atomically.

    Returns
    -------
    (Path, Path)
        The text and CSV files.
    """
    out = Path(out)
    rows = summary_rows(entries)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(SUMMARY_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in r.items()})
    csv_path = write_atomic(out / "summary.csv", buf.getvalue())

    cols = list(SUMMARY_COLUMNS)
    cells = [[_fmt(r[c]) for c in cols] for r in rows]
    widths = [
        max(len(c), *(len(row[i]) for row in cells)) if cells else len(c)
        for i, c in enumerate(cols)
    ]
    lines = [f"opade sweep: {len(rows)} fits", ""]
    lines.append("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip())
    for row in cells:
        lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    lines += ["", "Smallest RMS per number of trainable parameters (k + 1 + l):"]
    for target, best in best_per_parameters(entries).items():
        lines.append(f"  {target}")
        for e in best:
            f = e.record["form"]
            k, l = e.degrees
            lines.append(
                f"    {e.parameters:3d}  {f['basis']}/{f['denominator']} {k}/{l}  rms {e.rms:.3e}"
            )
    bad = nesting_violations(entries)
    failed = failures(entries)
    lines += [
        "",
        f"Nesting (RMS not above the fit one degree lower, rtol {NEST_RTOL:g} "
        "+ the lower fit's rounding floor): "
        + ("holds for every pair" if not bad else f"{len(bad)} violation(s)"),
    ]
    for low, high in bad:
        f = low.record["form"]
        lines.append(
            f"  {target_label(low.record)} {f['basis']}/{f['denominator']} "
            f"{low.degrees[0]}/{low.degrees[1]} rms {low.rms:.6e} -> "
            f"{high.degrees[0]}/{high.degrees[1]} rms {high.rms:.6e}"
        )
    lines.append(
        f"Failed or non-finite fits: {len(failed)}" + "".join(f"\n  {e.key}" for e in failed)
    )
    txt_path = write_atomic(out / "summary.txt", "\n".join(lines) + "\n")
    return txt_path, csv_path
