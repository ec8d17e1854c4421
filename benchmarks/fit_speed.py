"""Benchmark: least-squares fit speed and quality against the incumbent method.

For every built-in target x basis x denominator at degrees (5, 4) on [-3, 3]
this script times ``opade_fit.fit`` (in-process, median of ``--repeat``
runs) and, in the same process right after it, a re-enactment of the
incumbent method used to produce today's public tables (rational_activations'
generator): ``scipy.optimize.curve_fit`` Levenberg-Marquardt from an all-ones
start with a finite-difference Jacobian on 100,000 uniform points, fitting the
same form. It prints per-case time and RMS ratios and the summary figures
that issue 3 asks for.

Usage::

    python benchmarks/fit_speed.py [--jobs 2] [--repeat 3] [--no-incumbent]
        [--targets gelu,swish] [--bases monomial] [--denominators safe]

Ratios are measured side by side in one process per case, so machine noise
affects both methods alike; quote medians.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
from _grid import add_grid_arguments, run_grid
from scipy.optimize import OptimizeWarning, curve_fit
from threadpoolctl import threadpool_limits

from opade_fit import fit
from opade_fit.forms import RationalForm
from opade_fit.result import measure_errors
from opade_fit.targets import get_target

INCUMBENT_POINTS = 100_000


def incumbent(target: str, basis: str, denominator: str) -> tuple[float, float]:
    """curve_fit (LM, all-ones start, finite differences, 100k points); returns (rms, seconds)."""
    form = RationalForm(basis, denominator, (5, 4))
    t = get_target(target)
    x = np.linspace(-3.0, 3.0, INCUMBENT_POINTS)
    y = t(x)
    k = form.k

    def model(xx, *theta):
        th = np.asarray(theta)
        with np.errstate(all="ignore"):
            return form.evaluate(xx, th[: k + 1], th[k + 1 :])

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizeWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            popt, _ = curve_fit(model, x, y, p0=np.ones(form.n_coefficients))
        except RuntimeError:  # "Optimal parameters not found": keep what the library would not
            popt = np.ones(form.n_coefficients)
    dt = time.perf_counter() - t0
    if not np.all(np.isfinite(popt)):
        return float("inf"), dt
    rms = measure_errors(form, t, popt[: k + 1], popt[k + 1 :], (-3.0, 3.0))["rms"]
    return rms, dt


def run_case(args: tuple[str, str, str, int, bool]) -> dict:
    target, basis, den, repeat, with_incumbent = args
    with threadpool_limits(limits=1, user_api="blas"):
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = fit(target, basis=basis, denominator=den)
            times.append(time.perf_counter() - t0)
        out = {
            "case": f"{basis}/{den}/{target}",
            "denominator": den,
            "seconds": statistics.median(times),
            "rms": r.errors["fit"]["rms"],
            "success": r.success,
        }
        if with_incumbent:
            inc_rms, inc_t = incumbent(target, basis, den)
            out.update(inc_rms=inc_rms, inc_seconds=inc_t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_grid_arguments(ap, repeat=3)
    ap.add_argument("--no-incumbent", action="store_true")
    ns = ap.parse_args()
    rows, wall = run_grid(ns, run_case, not ns.no_incumbent)
    print(f"{'case':42s} {'ours s':>8s} {'ours rms':>10s}", end="")
    print(
        ""
        if ns.no_incumbent
        else f" {'inc s':>8s} {'inc rms':>10s} {'speedup':>8s} {'rms ratio':>9s}"
    )
    for r in rows:
        line = f"{r['case']:42s} {r['seconds']:8.3f} {r['rms']:10.3e}"
        if "inc_rms" in r:
            ratio = r["rms"] / r["inc_rms"] if r["inc_rms"] > 0 else float("nan")
            line += (
                f" {r['inc_seconds']:8.3f} {r['inc_rms']:10.3e} "
                f"{r['inc_seconds'] / r['seconds']:8.1f} {ratio:9.4f}"
            )
        print(line + ("" if r["success"] else "  NOT CONVERGED"))
    secs = [r["seconds"] for r in rows]
    print(f"\n{len(rows)} fits, {ns.jobs} jobs, wall {wall:.1f} s")
    print(f"opade-fit seconds per fit: median {statistics.median(secs):.3f}, max {max(secs):.3f}")
    for den in ns.denominators.split(","):
        s = [r["seconds"] for r in rows if r["denominator"] == den]
        print(f"  {den:13s} median {statistics.median(s):.3f}, max {max(s):.3f}")
    if not ns.no_incumbent:
        speed = [r["inc_seconds"] / r["seconds"] for r in rows]
        ratios = [r["rms"] / r["inc_rms"] for r in rows if r["inc_rms"] > 0]
        worse = [r["case"] for r in rows if r["rms"] > r["inc_rms"] * (1 + 1e-9)]
        print(
            f"speed-up vs incumbent: median {statistics.median(speed):.1f}x, min {min(speed):.1f}x"
        )
        print(
            f"rms ratio ours/incumbent: median {statistics.median(ratios):.3g}, "
            f"max {max(ratios):.4g}; cases where ours is worse: {len(worse)} {worse}"
        )


if __name__ == "__main__":
    main()
