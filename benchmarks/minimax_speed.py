"""Benchmark: minimax fit (``objective="max"``) speed and certificate quality.

For every built-in target x basis x denominator at degrees (5, 4) on [-3, 3]
(the full sweep, 13 x 7 x 3 = 273 fits by default) this script times
``opade_fit.fit(..., objective="max")`` in-process (median of ``--repeat``
runs, the least-squares warm start included) and prints, per case, the
achieved max error (``certificate.upper_bound``), the certified lower bound,
the gap ``upper/lower - 1`` and the least-squares fit's max error for
comparison; then median / max seconds per denominator kind and the gap
distribution (median / max) — the figures issue 4 asks for.

Usage::

    python benchmarks/minimax_speed.py [--jobs 2] [--repeat 1]
        [--targets gelu,swish] [--bases monomial] [--denominators safe]
        [--interval -3 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

from _grid import add_grid_arguments, run_grid
from threadpoolctl import threadpool_limits

from opade_fit import fit


def run_case(args: tuple[str, str, str, int, tuple[float, float]]) -> dict:
    target, basis, den, repeat, interval = args
    with threadpool_limits(limits=1, user_api="blas"):
        times = []
        caught: list[str] = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                r = fit(target, basis=basis, denominator=den, interval=interval, objective="max")
            times.append(time.perf_counter() - t0)
            caught = [str(x.message) for x in w]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ls = fit(target, basis=basis, denominator=den, interval=interval)
    cert = r.certificate
    return {
        "case": f"{basis}/{den}/{target}",
        "denominator": den,
        "seconds": statistics.median(times),
        "upper": cert["upper_bound"],
        "lower": cert["lower_bound"],
        "gap": cert["gap"],
        "ls_max": ls.errors["fit"]["max_abs"],
        "status": r.status,
        "warnings": caught,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_grid_arguments(ap, repeat=1)
    ap.add_argument("--interval", type=float, nargs=2, default=(-3.0, 3.0))
    ns = ap.parse_args()
    interval = (float(ns.interval[0]), float(ns.interval[1]))
    rows, wall = run_grid(ns, run_case, interval)
    print(
        f"{'case':42s} {'sec':>6s} {'max (upper)':>11s} {'lower':>11s} {'gap':>9s} "
        f"{'lsq max':>10s} {'st':>2s}"
    )
    for r in rows:
        flag = "" if r["status"] == 1 else "  <- status"
        flag += "  <- warning: " + "; ".join(r["warnings"]) if r["warnings"] else ""
        print(
            f"{r['case']:42s} {r['seconds']:6.2f} {r['upper']:11.4e} {r['lower']:11.4e} "
            f"{r['gap']:9.2e} {r['ls_max']:10.3e} {r['status']:2d}{flag}"
        )
    print(
        f"\n{len(rows)} minimax fits at (5,4) on [{interval[0]:g}, {interval[1]:g}], "
        f"{ns.jobs} jobs, wall {wall:.1f} s"
    )
    for den in ns.denominators.split(","):
        sub = [r for r in rows if r["denominator"] == den]
        secs = [r["seconds"] for r in sub]
        gaps = [r["gap"] for r in sub]
        print(
            f"  {den:13s} seconds median {statistics.median(secs):.2f}, max {max(secs):.2f};"
            f"  gap median {statistics.median(gaps):.2e}, max {max(gaps):.2e}"
        )
    gaps = [r["gap"] for r in rows]
    ratio = [r["ls_max"] / r["upper"] for r in rows if r["upper"] > 0]
    bad = [r["case"] for r in rows if r["status"] != 1]
    print(f"all: gap median {statistics.median(gaps):.2e}, max {max(gaps):.2e}")
    print(
        f"lsq max error / minimax max error: median {statistics.median(ratio):.2f}, "
        f"min {min(ratio):.3f}"
    )
    print(f"status != 1: {len(bad)} {bad}")


if __name__ == "__main__":
    main()
