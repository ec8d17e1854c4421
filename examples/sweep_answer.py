"""Print the tables of docs/sweep.md's answer from a sweep's ``summary.csv``.

docs/sweep.md answers "which degrees, which basis?" from the docs sweep
(``opade sweep -t leaky_relu -t gelu -t swish --degrees 2/1..12/11 --basis all
--denominator safe,safe-abs-sum --objective l2 -j 2 --out docs-sweep/``). Its
``summary.csv`` is committed as ``docs/data/sweep-summary.csv``; this script turns it
into the Markdown tables the page quotes, and tests/test_sweep_docs.py checks that
every table printed here stands in docs/sweep.md verbatim, so the page cannot drift
from the data.

Run: ``python examples/sweep_answer.py [path/to/summary.csv]`` (default: the
committed file).
"""

from __future__ import annotations

import csv
import statistics
import sys
from collections import defaultdict
from pathlib import Path

DEFAULT_CSV = Path(__file__).resolve().parent.parent / "docs" / "data" / "sweep-summary.csv"
#: Targets in the order of the page, with their column titles.
TARGETS = {
    "gelu": "gelu",
    "leaky_relu(negative_slope=0.01)": "leaky_relu",
    "swish(beta=1)": "swish",
}
DENOMINATORS = ("safe", "safe-abs-sum")
ORTHOGONAL = ("chebyshev1", "chebyshev2", "hermite1", "hermite2", "laguerre", "legendre")
#: Parameter counts k + 1 + l shown in the "smallest RMS" table.
COUNTS = (4, 6, 8, 10, 12, 14, 16, 18, 20, 24)
#: A basis "beats" monomial at a degree pair when its RMS is below this fraction of
#: monomial's (1 % better: smaller differences are within the fits' own tolerances).
BEAT = 0.99
#: Degree pairs of the condition-number table (median over the three targets).
CONDITION_ROWS = (("safe", 5, 4), ("safe", 9, 8), ("safe", 12, 11), ("safe-abs-sum", 12, 11))


def read_rows(path: Path) -> list[dict]:
    """The summary rows with numeric fields converted."""
    rows = []
    with path.open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            for name in ("k", "l", "parameters", "status"):
                r[name] = int(r[name])
            for name in ("rms", "max_abs", "cpu_seconds", "condition", "condition_raw"):
                r[name] = float(r[name])
            rows.append(r)
    return rows


def _sci(v: float, digits: int = 2) -> str:
    """``3.2e3`` / ``6.4e-12``: ``digits`` significant digits, no exponent padding."""
    mant, exp = f"{v:.{digits - 1}e}".split("e")
    return f"{mant}e{int(exp)}"


def _short(den: str) -> str:
    return "abs-sum" if den == "safe-abs-sum" else den


def _rank(r: dict) -> tuple:
    return (float(f"{r['rms']:.3e}"), r["l"], r["basis"], r["denominator"])


def smallest_table(rows: list[dict]) -> str:
    """Smallest RMS per parameter count, per target (form and RMS)."""
    best: dict[tuple[str, int], dict] = {}
    for r in rows:
        key = (r["target"], r["parameters"])
        # RMS equal to 4 digits is a tie (e.g. safe and safe-abs-sum at l = 1 are the same
        # class), decided by fewer denominator degrees, then the names, not the last bits
        cur = best.get(key)
        if cur is None or _rank(r) < _rank(cur):
            best[key] = r
    lines = ["| parameters | " + " | ".join(TARGETS.values()) + " |", "|---|---|---|---|"]
    for n in COUNTS:
        cells = []
        for t in TARGETS:
            r = best[(t, n)]
            cells.append(
                f"{r['basis']} {_short(r['denominator'])} {r['k']}/{r['l']} {_sci(r['rms'])}"
            )
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def beats_table(rows: list[dict]) -> str:
    """Degree pairs where an orthogonal basis beats monomial by > 1 %, and the best ratio."""
    rms = {(r["target"], r["denominator"], r["basis"], r["k"], r["l"]): r["rms"] for r in rows}
    pairs = sorted({(r["k"], r["l"]) for r in rows})
    head = "| target / denominator | " + " | ".join(ORTHOGONAL) + " |"
    lines = [head, "|---|" + "---|" * len(ORTHOGONAL)]
    for t, title in TARGETS.items():
        for den in DENOMINATORS:
            cells = []
            for b in ORTHOGONAL:
                wins = []
                for k, l in pairs:
                    mono, other = rms[(t, den, "monomial", k, l)], rms[(t, den, b, k, l)]
                    if other < BEAT * mono:
                        wins.append((other / mono, k, l))
                if wins:
                    ratio, k, l = min(wins)
                    cells.append(f"{len(wins)} (best {ratio:.2f} at {k}/{l})")
                else:
                    cells.append("0")
            lines.append(f"| {title} {_short(den)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def at_table(rows: list[dict], k: int, l: int) -> str:
    """RMS of every basis at one degree pair, per target and denominator."""
    bases = ("monomial", *ORTHOGONAL)
    rms = {
        (r["target"], r["denominator"], r["basis"]): r["rms"]
        for r in rows
        if (r["k"], r["l"]) == (k, l)
    }
    lines = [f"| {k}/{l} | " + " | ".join(bases) + " |", "|---|" + "---|" * len(bases)]
    for t, title in TARGETS.items():
        for den in DENOMINATORS:
            cells = [_sci(rms[(t, den, b)], 3) for b in bases]
            lines.append(f"| {title} {_short(den)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def condition_table(rows: list[dict]) -> str:
    """Median (over the targets) condition numbers, unit-norm columns / raw."""
    bases = ("monomial", *ORTHOGONAL)
    lines = ["| k/l | " + " | ".join(bases) + " |", "|---|" + "---|" * len(bases)]
    for den, k, l in CONDITION_ROWS:
        cells = []
        for b in bases:
            sel = [
                r for r in rows if (r["denominator"], r["basis"], r["k"], r["l"]) == (den, b, k, l)
            ]
            scaled = statistics.median(r["condition"] for r in sel)
            raw = statistics.median(r["condition_raw"] for r in sel)
            cells.append(f"{_sci(scaled)} / {_sci(raw)}")
        lines.append(f"| {_short(den)} {k}/{l} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cost_table(rows: list[dict]) -> str:
    """CPU seconds: total and median per fit, per denominator and degree band."""
    bands = ((2, 5), (6, 8), (9, 12))
    lines = [
        "| denominator | fits | CPU s total | median s/fit k 2–5 | k 6–8 | k 9–12 |",
        "|---|---|---|---|---|---|",
    ]
    for den in DENOMINATORS:
        sel = [r for r in rows if r["denominator"] == den]
        med = [
            statistics.median(r["cpu_seconds"] for r in sel if lo <= r["k"] <= hi)
            for lo, hi in bands
        ]
        total = sum(r["cpu_seconds"] for r in sel)
        lines.append(
            f"| {den} | {len(sel)} | {total:.0f} | " + " | ".join(f"{m:.2f}" for m in med) + " |"
        )
    total = sum(r["cpu_seconds"] for r in rows)
    lines.append(f"| all | {len(rows)} | {total:.0f} | | | |")
    return "\n".join(lines)


def status_line(rows: list[dict]) -> str:
    """Counts of the solver status codes over all fits."""
    counts: dict[int, int] = defaultdict(int)
    for r in rows:
        counts[r["status"]] += 1
    return "solver status " + ", ".join(f"{s}: {n}" for s, n in sorted(counts.items()))


def blocks(rows: list[dict]) -> dict[str, str]:
    """Every text the page quotes, by name."""
    return {
        "smallest": smallest_table(rows),
        "beats": beats_table(rows),
        "at 5/4": at_table(rows, 5, 4),
        "condition": condition_table(rows),
        "cost": cost_table(rows),
        "status": status_line(rows),
    }


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT_CSV
    for name, text in blocks(read_rows(path)).items():
        print(f"<!-- {name} -->\n{text}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
