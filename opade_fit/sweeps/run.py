"""Running a sweep: each fit warm-started from its lower-degree neighbours, scheduled by degree.

The fits of a sweep are not independent (a fit waits for the fits it is
warm-started from), so they are scheduled here rather than in the shared
:func:`opade_fit.pool.run_pool`; the start method and the CPU count are the
pool module's.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..bases import BASIS_NAMES
from ..errors import FitError, UsageError, suggest
from ..fitting import fit_spec
from ..forms import DENOMINATORS
from ..lsq import linearised_matrix
from ..pool import pool_context
from ..problem import OBJECTIVES, FitSpec, build_problem, make_spec
from ..targets import Target, get_target
from .grid import COARSE_POINTS, degree_pairs, fit_key, names, parse_degree_range, target_key
from .records import RECORDS_FILE, SweepEntry, append_line, read_entries

__all__ = ["condition_numbers", "sweep"]


def condition_numbers(spec: FitSpec) -> tuple[float, float]:
    """(scaled, raw) 2-norm condition numbers of the first linearised LS matrix of ``spec``.

    Notes
    -----
    cond(A) = sigma_max / sigma_min of ``A`` (:func:`opade_fit.lsq.linearised_matrix`);
    "scaled" divides every column by its 2-norm first, as the solver does.
    +inf when A is rank deficient.
    """
    A = linearised_matrix(build_problem(spec))
    norms = np.linalg.norm(A, axis=0)
    norms[norms == 0] = 1.0

    def cond(M: np.ndarray) -> float:
        s = np.linalg.svd(M, compute_uv=False)
        return float(s[0] / s[-1]) if s.size and s[-1] > 0 else float("inf")

    return cond(A / norms), cond(A)


def _pad(coefs: Sequence[float], n: int) -> np.ndarray:
    out = np.zeros(n)
    out[: len(coefs)] = coefs
    return out


def _run_one(
    job: tuple[dict[str, Any], list[tuple[str, list[float], list[float]]], int | None],
) -> dict:
    """Worker: fit one spec (with warm starts) and measure it; returns a JSON line dict."""
    kwargs, warm, coarse = job
    spec = make_spec(**kwargs)
    k, l = spec.form.degrees
    starts = [np.concatenate([_pad(c, k + 1), _pad(d, l)]) for _, c, d in warm]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the record's solver block states non-convergence
        t0, w0 = time.process_time(), time.perf_counter()
        result = fit_spec(spec, extra_starts=starts or None, coarse_points=coarse)
        cpu, wall = time.process_time() - t0, time.perf_counter() - w0
        scaled, raw = condition_numbers(spec)
    return SweepEntry(
        key=fit_key(spec, coarse),
        record=result.to_dict(),
        cpu_seconds=round(cpu, 4),
        wall_seconds=round(wall, 4),
        condition=scaled,
        condition_raw=raw,
        warm_starts=tuple(name for name, _, _ in warm),
    ).to_dict()


# ----------------------------------------------------------------------------- the sweep
@dataclass(frozen=True)
class _Job:
    key: str
    kwargs: dict[str, Any]
    group: tuple[str, str, str]  # target key, basis, denominator
    degrees: tuple[int, int]


def sweep(
    targets: str | Target | Sequence[str | Target],
    *,
    degrees: str = "2/1..12/11",
    bases: str | Sequence[str] = "all",
    denominators: str | Sequence[str] = "safe",
    objective: str = "l2",
    interval: tuple[float, float] = (-3.0, 3.0),
    all_pairs: bool = False,
    coarse_points: int | None = COARSE_POINTS,
    jobs: int = 1,
    out: str | os.PathLike[str] | None = None,
    progress: Callable[[int, int, SweepEntry | None], None] | None = None,
) -> list[SweepEntry]:
    """Fit every target x basis x denominator x (k, l) of a degree grid.

    Parameters
    ----------
    targets : str, Target or sequence of them
        Built-in names or expressions in ``x`` (as for :func:`opade_fit.fit`).
    degrees : str, default "2/1..12/11"
        ``"K1/L1..K2/L2"``: every k in [K1, K2] and l in [L1, L2] (and l <= k
        unless ``all_pairs``).
    bases : str or sequence of str, default "all"
        Basis names, or ``"all"`` (the seven bases).
    denominators : str or sequence of str, default "safe"
        ``safe``, ``safe-abs-sum``, ``plain``, or ``"all"``.
    objective : {"l2", "max"}, default "l2"
    interval : (float, float), default (-3, 3)
        Fit interval (the check interval is the default, scaled by 5/3).
    all_pairs : bool, default False
        Also fit l > k.
    coarse_points : int or None, default 1001
        Search each fit's usual starts on this many points and refine the
        winner on the 4001-point fit grid (``coarse_points`` of
        :func:`opade_fit.fitting.fit_spec`); None: search on the fit grid.
    jobs : int, default 1
        Worker processes (1: in this process).
    out : path, optional
        Sweep folder: existing ``records.jsonl`` lines with matching keys are
        reused, new fits are appended as they finish. None: nothing is read
        or written.
    progress : callable, optional
        ``progress(done, total, entry)``: first with ``done`` = the reused
        count and ``entry = None``, then after each fit.

    Returns
    -------
    list of SweepEntry
        One per requested fit, ordered by target, basis, denominator, k, l
        (``entry.record`` is the fit record).

    Notes
    -----
    Parameters per fit: k + 1 + l. A fit at (k, l) is warm-started from
    (k - 1, l) and (k, l - 1) when those are in the sweep (see the module
    docstring), so for ``l2`` its RMS is not above theirs.
    """
    # ---- validation first
    if isinstance(targets, str | Target):
        targets = [targets]
    targets = list(targets)
    if not targets:
        raise UsageError("`targets` must name at least one target")
    tobjs = [get_target(t) for t in targets]
    tobjs = list({target_key(t): t for t in tobjs}.values())
    lo, hi = parse_degree_range(degrees)
    pairs = degree_pairs(lo, hi, all_pairs)
    basis_list = names(bases, BASIS_NAMES, "bases")
    den_list = names(denominators, DENOMINATORS, "denominators")
    if str(objective).strip().lower() not in OBJECTIVES:
        raise UsageError(
            f"`objective` must be one of {', '.join(OBJECTIVES)}, got {objective!r}"
            + suggest(str(objective), OBJECTIVES)
        )
    if coarse_points is not None and (
        isinstance(coarse_points, bool) or not isinstance(coarse_points, int) or coarse_points < 2
    ):
        raise UsageError(f"`coarse_points` must be an integer >= 2 or None, got {coarse_points!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise UsageError(f"`jobs` must be an integer >= 1, got {jobs!r}")
    out_dir = None if out is None else Path(out)
    if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"`out` must be a folder, got the file {str(out_dir)!r}")

    jobs_list: list[_Job] = []
    for t in tobjs:
        tkw: dict[str, Any] = (
            {"target": t.expression}
            if t.name == "expression"
            else {"target": t.name, "params": t.param_dict}
        )
        for b in basis_list:
            for den in den_list:
                for k, l in pairs:
                    kw = dict(
                        tkw,
                        basis=b,
                        denominator=den,
                        degrees=(k, l),
                        interval=tuple(interval),
                        objective=objective,
                    )
                    spec = make_spec(**kw)  # validates interval, target on it, ...
                    jobs_list.append(
                        _Job(fit_key(spec, coarse_points), kw, (target_key(t), b, den), (k, l))
                    )

    # ---- resume
    done: dict[str, SweepEntry] = {}
    records_path = None
    if out_dir is not None:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FitError(f"cannot create {str(out_dir)!r}: {exc.strerror or exc}") from None
        records_path = out_dir / RECORDS_FILE
        wanted = {j.key for j in jobs_list}
        for e in read_entries(records_path)[0]:
            if e.key in wanted:
                done[e.key] = e
    by_group_deg = {(j.group, j.degrees): j for j in jobs_list}
    total = len(jobs_list)
    if progress is not None:
        progress(len(done), total, None)

    def deps(j: _Job) -> list[_Job]:
        k, l = j.degrees
        return [
            by_group_deg[(j.group, d)]
            for d in ((k - 1, l), (k, l - 1))
            if (j.group, d) in by_group_deg
        ]

    def job_input(j: _Job):
        warm = []
        for d in deps(j):
            rec = done[d.key].record
            c = rec["coefficients"]
            warm.append((f"{d.degrees[0]}/{d.degrees[1]}", c["numerator"], c["denominator"]))
        return (j.kwargs, warm, coarse_points)

    def finish(line: dict[str, Any]) -> None:
        entry = SweepEntry.from_dict(line)
        done[entry.key] = entry
        if records_path is not None:
            append_line(records_path, entry)
        if progress is not None:
            progress(len(done), total, entry)

    pending = [j for j in jobs_list if j.key not in done]
    # lower degrees first; the expensive denominator first among equals
    pending.sort(key=lambda j: (sum(j.degrees), j.group[2] != "safe-abs-sum", j.degrees))
    if jobs == 1 or len(pending) <= 1:
        for j in pending:  # sorted by k + l: every dependency comes first
            finish(_run_one(job_input(j)))
    else:
        _run_pool(pending, deps, job_input, finish, done, jobs)
    return [done[j.key] for j in jobs_list]


def _run_pool(pending, deps, job_input, finish, done, jobs: int) -> None:
    waiting = list(pending)
    running: dict[cf.Future, Any] = {}
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=pool_context()) as pool:
        try:
            while waiting or running:
                # keep every worker busy plus one queued job each
                i = 0
                while i < len(waiting) and len(running) < 2 * jobs:
                    j = waiting[i]
                    if all(d.key in done for d in deps(j)):
                        running[pool.submit(_run_one, job_input(j))] = j
                        waiting.pop(i)
                    else:
                        i += 1
                if not running:  # pragma: no cover - dependencies always resolve
                    raise FitError("sweep scheduling stalled (unresolved dependencies)")
                finished, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
                for fut in sorted(finished, key=lambda f: running[f].key):
                    j = running.pop(fut)
                    try:
                        line = fut.result()
                    except Exception as exc:
                        raise FitError(
                            f"sweep fit {j.kwargs['basis']}/{j.kwargs['denominator']} "
                            f"{j.degrees[0]}/{j.degrees[1]} failed: {type(exc).__name__}: {exc}"
                        ) from exc
                    finish(line)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
