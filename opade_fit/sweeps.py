"""Degree sweeps: fit every (target, basis, denominator, (k, l)) of a grid (``opade sweep``).

A sweep answers "which degrees, which basis": it fits every combination of
targets x bases x denominators x degree pairs (k, l) with
``K1 <= k <= K2``, ``L1 <= l <= L2`` and, unless asked otherwise, l <= k.
Each fit is an ordinary schema-1.0 fit record (:func:`opade_fit.fit`).

Nesting (warm starts)
---------------------
A rational of degrees (k, l) is exactly a rational of degrees (k + 1, l)
and (k, l + 1): append a zero coefficient (for every denominator kind, Q
depends only on d_1..d_l and a zero d_{l+1} adds nothing). Each fit is
therefore also started from the solutions at (k - 1, l) and (k, l - 1),
padded with zeros (``extra_starts`` of :func:`opade_fit.fitting.fit_spec`),
and keeps that warm-started solution unless its usual starts do clearly
better. For least squares (``l2``) the RMS error can then not grow with
either degree; :func:`nesting_violations` checks it on the records. The
fits are scheduled so that lower degrees finish first, in parallel over
processes.

Files (``out``)
---------------
``records.jsonl``
    One JSON object per line and fit, appended (one ``write`` per line,
    flushed to disk) as each fit finishes: ``{"key", "record", "cpu_seconds",
    "wall_seconds", "condition", "condition_raw", "warm_starts"}``; ``record``
    is the fit record. A re-run with the same (or an overlapping) set of
    fits reuses every line whose ``key`` matches; a torn last line (an
    interrupted write) is ignored and refitted.
``summary.txt``, ``summary.csv``
    Written by :func:`write_summary` (``opade sweep`` does).

``condition`` is the 2-norm condition number of the first linearised
least-squares matrix (:func:`opade_fit.lsq.linearised_matrix`) after scaling
its columns to unit norm, as the solver does; ``condition_raw`` is that of
the unscaled matrix. ``cpu_seconds`` is the CPU time of the fit (process
time, so a busy machine does not inflate it), ``wall_seconds`` its wall time.
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import io
import json
import math
import multiprocessing
import os
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .bases import BASIS_NAMES
from .errors import FitError, UsageError, suggest
from .fitting import fit_spec
from .forms import DENOMINATORS, parse_degrees
from .lsq import ROUNDING_FLOOR, linearised_matrix
from .problem import OBJECTIVES, FitSpec, build_problem, make_spec
from .record import write_atomic
from .result import FitResult
from .targets import Target, get_target

__all__ = [
    "COARSE_POINTS",
    "NEST_ATOL",
    "NEST_RTOL",
    "RECORDS_FILE",
    "SweepEntry",
    "best_per_parameters",
    "condition_numbers",
    "failures",
    "fit_key",
    "nesting_violations",
    "parse_degree_range",
    "read_entries",
    "summary_rows",
    "sweep",
    "target_label",
    "write_summary",
]

#: The file of the records in a sweep folder (JSON Lines).
RECORDS_FILE = "records.jsonl"
#: Nesting check: the RMS at a higher degree may exceed the lower one's by at most
#: NEST_RTOL * rms + max(NEST_ATOL, the rounding floor of the fit) (rounding of the error
#: measurement; the warm start itself guarantees the least-squares cost cannot grow). The
#: rounding floor is the level below which the fitter itself calls errors rounding
#: noise: ``lsq.ROUNDING_FLOOR`` * eps * max|g| on the fit interval (docs/fitting.md).
NEST_RTOL = 1e-6
NEST_ATOL = 1e-15
#: Default grid of the start search (``coarse_points`` of fit_spec): 4x fewer points than
#: the fit grid; the winner is refined on the fit grid (docs/sweep.md "Speed").
COARSE_POINTS = 1001
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


# ----------------------------------------------------------------------------- parsing
def parse_degree_range(value: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """Parse ``"K1/L1..K2/L2"`` (or a single ``"K/L"``) into ``((K1, L1), (K2, L2))``.

    Raises
    ------
    UsageError
        If the text is not of that form, or K1 > K2 or L1 > L2.
    """
    text = str(value).strip()
    rule = "must be K1/L1..K2/L2 (e.g. 2/1..12/11) or one K/L"
    parts = text.split("..")
    if len(parts) > 2:
        raise UsageError(f"`degrees` {rule}; got {value!r}")
    try:
        lo, hi = parse_degrees(parts[0]), parse_degrees(parts[-1])
    except UsageError:
        raise UsageError(f"`degrees` {rule}; got {value!r}") from None
    if lo[0] > hi[0] or lo[1] > hi[1]:
        raise UsageError(f"`degrees` {rule} with K1 <= K2 and L1 <= L2; got {value!r}")
    return lo, hi


def _names(values: str | Sequence[str] | None, valid: Sequence[str], arg: str) -> tuple[str, ...]:
    if values is None:
        raise UsageError(f"`{arg}` must name at least one of {', '.join(valid)} or 'all'")
    items = [values] if isinstance(values, str) else list(values)
    out: list[str] = []
    for item in items:
        for v in str(item).split(","):
            v = v.strip().lower()
            if not v:
                continue
            if v == "all":
                out.extend(valid)
            elif v in valid:
                out.append(v)
            else:
                raise UsageError(
                    f"`{arg}` must be one of {', '.join(valid)} or 'all', got {v!r}"
                    + suggest(v, valid)
                )
    if not out:
        raise UsageError(f"`{arg}` must name at least one of {', '.join(valid)} or 'all'")
    return tuple(dict.fromkeys(out))  # keep the order, drop repeats


def _degree_pairs(
    lo: tuple[int, int], hi: tuple[int, int], all_pairs: bool
) -> list[tuple[int, int]]:
    pairs = [
        (k, l)
        for k in range(lo[0], hi[0] + 1)
        for l in range(lo[1], hi[1] + 1)
        if all_pairs or l <= k
    ]
    if not pairs:
        raise UsageError(
            f"`degrees` {lo[0]}/{lo[1]}..{hi[0]}/{hi[1]} holds no pair with l <= k "
            "(pass all_pairs=True / --all-pairs to fit l > k)"
        )
    return pairs


# ----------------------------------------------------------------------------- entries
def _target_key(target: Target) -> str:
    return json.dumps(target.to_dict(), sort_keys=True)


def fit_key(spec: FitSpec, coarse_points: int | None = None) -> str:
    """The identity of one sweep fit (target, form, interval, objective, grids), as text."""
    return json.dumps(
        {
            "coarse_points": coarse_points
            if coarse_points and coarse_points < spec.points
            else None,
            "target": spec.target.to_dict(),
            "basis": spec.form.basis,
            "denominator": spec.form.denominator,
            "degrees": list(spec.form.degrees),
            "interval": list(spec.interval),
            "objective": spec.objective,
            "points": spec.points,
        },
        sort_keys=True,
    )


@dataclass(frozen=True)
class SweepEntry:
    """One fit of a sweep: the fit record plus what the sweep measured.

    Attributes
    ----------
    key : str
        Identity of the fit (JSON text: target, basis, denominator, degrees,
        interval, objective, grid points, coarse search points).
    record : dict
        The schema-1.0 fit record (``FitResult.from_dict(record)`` evaluates it).
    cpu_seconds, wall_seconds : float
        CPU (process) time and wall time of the fit, in seconds.
    condition, condition_raw : float
        2-norm condition number of the first linearised least-squares matrix,
        with unit-norm columns / as built (dimensionless; +inf if singular).
    warm_starts : tuple of str
        Degrees ``"K/L"`` of the lower-degree fits it was also started from.
    """

    key: str
    record: dict[str, Any]
    cpu_seconds: float
    wall_seconds: float
    condition: float
    condition_raw: float
    warm_starts: tuple[str, ...]

    @property
    def degrees(self) -> tuple[int, int]:
        """(k, l)."""
        k, l = self.record["form"]["degrees"]
        return int(k), int(l)

    @property
    def parameters(self) -> int:
        """Trainable parameters k + 1 + l."""
        k, l = self.degrees
        return k + 1 + l

    @property
    def rms(self) -> float:
        """RMS error on the fit interval."""
        return float(self.record["errors"]["fit"]["rms"])

    def to_dict(self) -> dict[str, Any]:
        """The JSON line written to ``records.jsonl`` (non-finite condition -> null)."""

        def num(v: float) -> float | None:
            return float(v) if math.isfinite(v) else None

        return {
            "key": self.key,
            "record": self.record,
            "cpu_seconds": self.cpu_seconds,
            "wall_seconds": self.wall_seconds,
            "condition": num(self.condition),
            "condition_raw": num(self.condition_raw),
            "warm_starts": list(self.warm_starts),
        }

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> SweepEntry:
        """Rebuild from a ``records.jsonl`` line (KeyError/TypeError if malformed)."""

        def num(v: Any) -> float:
            return float("inf") if v is None else float(v)

        rec = obj["record"]
        if not isinstance(rec, dict) or "form" not in rec or "errors" not in rec:
            raise TypeError("not a fit record")
        return cls(
            key=str(obj["key"]),
            record=rec,
            cpu_seconds=float(obj["cpu_seconds"]),
            wall_seconds=float(obj["wall_seconds"]),
            condition=num(obj["condition"]),
            condition_raw=num(obj["condition_raw"]),
            warm_starts=tuple(str(s) for s in obj.get("warm_starts") or ()),
        )


def read_entries(path: str | os.PathLike[str]) -> tuple[list[SweepEntry], int]:
    """Read a sweep folder (or its ``records.jsonl``): (entries, lines skipped).

    Lines that are not complete JSON sweep entries (a torn last line after an
    interrupted run) are skipped and counted. A missing file gives ``([], 0)``.
    Later lines with the same key replace earlier ones.
    """
    p = Path(path)
    if p.is_dir():
        p = p / RECORDS_FILE
    if not p.exists():
        return [], 0
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise FitError(f"cannot read {str(p)!r}: {exc.strerror or exc}") from None
    entries: dict[str, SweepEntry] = {}
    skipped = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            e = SweepEntry.from_dict(json.loads(line))
        except (ValueError, KeyError, TypeError):
            skipped += 1
            continue
        entries[e.key] = e
    return list(entries.values()), skipped


def _append_line(path: Path, entry: SweepEntry) -> None:
    """Append one entry as one line with a single write on an O_APPEND descriptor, fsynced."""
    data = (json.dumps(entry.to_dict(), sort_keys=True, allow_nan=False) + "\n").encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            # a torn line left by an interrupted run must not swallow this one
            if os.fstat(fd).st_size and not _ends_with_newline(path):
                data = b"\n" + data
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise FitError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"\n"


# ----------------------------------------------------------------------------- one fit
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
    tobjs = list({_target_key(t): t for t in tobjs}.values())
    lo, hi = parse_degree_range(degrees)
    pairs = _degree_pairs(lo, hi, all_pairs)
    basis_list = _names(bases, BASIS_NAMES, "bases")
    den_list = _names(denominators, DENOMINATORS, "denominators")
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
                        _Job(fit_key(spec, coarse_points), kw, (_target_key(t), b, den), (k, l))
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
            _append_line(records_path, entry)
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
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else None
    ctx = multiprocessing.get_context(method)
    waiting = list(pending)
    running: dict[cf.Future, Any] = {}
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
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


# ----------------------------------------------------------------------------- checks
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
