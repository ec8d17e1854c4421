"""Minimax fit of a rational form with a certified optimality gap (objective ``max``).

Problem
-------
Minimise the (weighted) maximum error ``max_x w(x) |g(x) - f(x)|`` over the
fit interval, g = P/Q, with the numerator ``c = N z``
(:mod:`opade_fit.problem`; every zero-centring mode works). ``w = 1`` for
uniform weighting; for ``normal`` / ``normal:SIGMA`` it is the normal
density divided by its peak, ``w(x) = exp(-x^2 / (2 SIGMA^2))``.

The LPs
-------
For a level h, ``w |f Q - P| <= h Q`` at a point is linear in (z, d) once Q
is linear in d: for ``safe`` with d_j >= 0 standing for |d_j|, for ``plain``
as it is, for ``safe-abs-sum`` for a fixed sign pattern of B. Each such
choice is an LP family; the LPs themselves are :mod:`opade_fit.minimax_lp`.

Method
------
1. **Differential correction** (Cheney & Loeb 1961; Barrodale, Powell &
   Roberts 1972) from the least-squares fit: with the incumbent (P_k, Q_k)
   of level h_k, one LP (:func:`scipy.optimize.linprog`, HiGHS) minimises
   ``t`` subject to ``(w |f Q - P| - h_k Q) / Q_k <= t`` at every point;
   the new level h_{k+1} < h_k unless h_k is already optimal. Convergence is
   superlinear (every LP in scaled variables around the incumbent).
2. **Exchange**: the LP points start as the fit grid; after convergence the
   error is measured on the dense 100,001-point grid and its local maxima
   above the level are added, until the dense level is within
   :data:`EXCHANGE_RTOL` of the level on the points.
3. **Certificate**: the same LP at a level ``h_lo = h (1 - gamma)`` with
   optimum ``tau* > CERT_TOL`` proves that *no* coefficient set of the
   family reaches ``h_lo`` on the LP points, hence none reaches it on the
   interval (the points are a subset of it): ``h_lo`` is a lower bound. The
   certificate LP reads the form homogeneously, Q = q_0 + sum_j d_j phi_j with
   q_0 >= 0 free and the scale fixed by one linear equation, so it also covers
   the limit of unbounded coefficients (q_0 -> 0) and never mistakes a tiny
   optimum caused by a huge incumbent for a proof. The
   LP is tried with the gammas of :data:`CERT_GAMMAS` (2e-4, 1e-3, 4e-3, ...,
   smallest first: the first infeasible one gives the bound); a feasible LP
   instead yields a better incumbent and the iteration resumes.

For ``safe-abs-sum`` the sign patterns searched are, in this order, B >= 0,
B with the sign of x, and the sign pattern of every least-squares candidate
within :data:`ALT_MARGIN` of the best cost (``B~lsq:<start>``, in the fixed
start order; none is dropped as a repeat, so no rounding-level comparison
decides the set); the lower bound is the minimum over the patterns, so it
holds only for forms whose B has one of these patterns on the LP points.
The best family is chosen by :func:`~opade_fit.choice.choose` (levels within
:data:`LEVEL_TIE_RTOL` tie).

The certificate reports ``upper_bound`` (the achieved weighted max error on
the dense grid), ``lower_bound`` and ``gap = (upper - lower) /
max(lower, floor)`` where ``floor = ROUNDING_FLOOR * eps * max w|f|``; for
every fit with lower >= floor (all but targets that are themselves forms)
this is ``upper / lower - 1``. Everything is deterministic.

References
----------
.. [1] E. W. Cheney, H. L. Loeb, "Two new algorithms for rational
   approximation", Numer. Math. 3 (1961) 72-75.
.. [2] I. Barrodale, M. J. D. Powell, F. D. K. Roberts, "The differential
   correction algorithm for rational l-infinity approximation", SIAM J.
   Numer. Anal. 9 (1972) 493-504.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .choice import check_error, choose
from .denominators import Denominator
from .lsq import OpadeFitWarning
from .minimax_lp import Family, Points, level_on, solve_lp
from .problem import Problem, parse_weight
from .result import DENSE_POINTS
from .solution import Solution

__all__ = ["MESSAGES", "METHOD", "minimax_weight", "solve_minimax"]

_EPS = np.finfo(np.float64).eps
#: Stop the differential correction when a step improves the level by less than this.
DC_RTOL = 1e-7
#: Differential-correction steps per LP family at most (all exchange rounds together).
MAX_DC_STEPS = 80
#: Base LP points taken from the fit grid (the dense error peaks are added to them).
BASE_POINTS = 201
#: After each accepted step the dense error peaks above this fraction of the level are added.
PEAK_FRACTION = 0.8
#: Exchange rounds at most.
MAX_EXCHANGE_ROUNDS = 8
#: The dense level may exceed the level on the LP points by this factor - 1.
EXCHANGE_RTOL = 1e-4
#: Dense local maxima added per exchange round at most.
EXCHANGE_POINTS = 40
#: A certificate LP proves infeasibility when its optimum tau exceeds this (scaled units).
CERT_TOL = 1e-6
#: Relative distances below the incumbent level at which a lower bound is tried.
CERT_GAMMAS = (2e-4, 1e-3, 4e-3, 1.6e-2, 6.4e-2, 0.25, 0.6)
#: Times a certificate LP may hand a better incumbent back to the descent.
MAX_CERT_RESTARTS = 3
#: Exchange rounds (dense peaks added to the points) within one certification.
MAX_CERT_EXCHANGES = 12
#: Levels below ROUNDING_FLOOR * eps * max(w|f|) are rounding noise (exact targets).
ROUNDING_FLOOR = 1e3
#: Levels within this relative distance (plus the rounding floor) are ties between
#: families: the check-interval error, then the family order decides (docs/minimax.md).
LEVEL_TIE_RTOL = 1e-6
#: ``safe-abs-sum``: every least-squares candidate within ALT_MARGIN (relative cost) of
#: the best contributes its sign pattern of B as a family.
ALT_MARGIN = 0.25
#: Target relative gap for status 1.
GAP_TARGET = 1e-2

#: Fixed messages for the status codes of the minimax solver.
MESSAGES = {
    0: "step limit reached before the differential correction converged",
    1: "converged: certified gap below 1%",
    2: "converged, but the certified gap is above 1%",
    3: "numerator forced to zero by the constraint: g = 0 identically",
    4: "LP solver failed; returning the best solution found",
    5: "converged: the error is at rounding level (the target is a form of this class)",
}


#: The record's ``solver.method`` (:class:`~opade_fit.solution.Solution`).
METHOD = "minimax differential correction + LP certificate (HiGHS), {start}"


def minimax_weight(weight: str, x: np.ndarray) -> np.ndarray:
    """Weight of the minimax objective: 1, or the normal density over its peak.

    ``"normal:SIGMA"`` gives ``exp(-x^2 / (2 SIGMA^2))`` (1 at x = 0).
    """
    kind, sigma = parse_weight(weight)
    x = np.asarray(x, dtype=np.float64)
    if kind == "uniform":
        return np.ones_like(x)
    return np.exp(-0.5 * (x / sigma) ** 2)


class _Solver:
    """The dense grid, the LP points and the descent/certification steps of one fit."""

    def __init__(self, problem: Problem):
        self.problem = problem
        form = problem.form
        self.form = form
        self.den = form.denominator_object
        self.k, self.l = form.degrees
        self.N = problem.N
        self.nz = problem.N.shape[1]
        spec = problem.spec
        self.weight = spec.weight
        a, b = spec.interval
        self.interval = (a, b)
        # dense grid: the same points as result.measure_errors uses for max_abs
        self.xd = np.linspace(a, b, DENSE_POINTS)
        self.Fd = form.basis_values(self.xd)[0]
        self.fd = spec.target(self.xd)
        self.wd = minimax_weight(spec.weight, self.xd)
        self.psi_d = self.N.T @ self.Fd[: self.k + 1]
        self.scale_f = float(np.max(self.wd * np.abs(self.fd)))
        self.floor = ROUNDING_FLOOR * _EPS * max(self.scale_f, np.finfo(np.float64).tiny)
        # base LP points: about BASE_POINTS points of the fit grid (ends included)
        m = problem.x.size
        sel = np.unique(np.linspace(0, m - 1, min(m, BASE_POINTS)).round().astype(np.int64))
        x = problem.x[sel]
        self.points0 = Points(x, problem.f[sel], minimax_weight(spec.weight, x), problem.F[:, sel])

    # -- evaluation -------------------------------------------------------------------
    def dense_error(self, theta: np.ndarray) -> np.ndarray:
        """Signed weighted error w (f - g) on the dense grid (nan-free: inf at poles)."""
        z, d = theta[: self.nz], theta[self.nz :]
        P = z @ self.psi_d
        Q = self.den.q(self.Fd, d)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            e = self.wd * (self.fd - P / Q)
        return np.where(np.isfinite(e), e, np.inf)

    def level_on(self, pts: Points, fam: Family, theta: np.ndarray) -> float:
        """Weighted max error at the LP points, or inf if a side constraint fails."""
        return level_on(pts, fam, theta, self.N, self.k)

    def lp(self, pts: Points, fam: Family, theta: np.ndarray, h: float, hs: float, **kw):
        """One LP of the family around theta (:func:`~opade_fit.minimax_lp.solve_lp`)."""
        return solve_lp(pts, fam, theta, h, hs, self.N, self.k, **kw)

    # -- differential correction + exchange -----------------------------------------------
    def add_points(self, pts: Points, xs: np.ndarray) -> Points:
        xs = np.setdiff1d(xs, pts.x)
        if xs.size == 0:
            return pts
        F = self.form.basis_values(xs)[0]
        x = np.concatenate([pts.x, xs])
        order = np.argsort(x, kind="stable")
        return Points(
            x[order],
            np.concatenate([pts.f, self.problem.spec.target(xs)])[order],
            np.concatenate([pts.w, minimax_weight(self.weight, xs)])[order],
            np.concatenate([pts.F, F], axis=1)[:, order],
        )

    def dense_level(self, theta: np.ndarray) -> float:
        """Weighted max error on the dense grid (inf if g has a pole there)."""
        v = float(np.max(np.abs(self.dense_error(theta))))
        return v if np.isfinite(v) else np.inf

    def peaks(self, theta: np.ndarray, above: float) -> np.ndarray:
        """Dense local maxima of the error above ``above`` (worst first, capped), + poles."""
        e = np.abs(self.dense_error(theta))
        e = np.where(np.isfinite(e), e, np.finfo(np.float64).max)
        left = np.concatenate([[-1.0], e[:-1]])
        right = np.concatenate([e[1:], [-1.0]])
        idx = np.nonzero((e >= left) & (e >= right) & (e > above))[0]
        idx = idx[np.argsort(-e[idx], kind="stable")][:EXCHANGE_POINTS]
        xs = list(self.xd[idx])
        if self.form.denominator == "plain" and self.l > 0:
            xs += self.form.poles(theta[self.nz :], self.interval)
        return np.array(sorted(xs), dtype=np.float64)

    def descend(self, pts: Points, fam: Family, theta: np.ndarray):
        """Differential correction with exchange from ``theta``.

        The level is always the dense one; each LP runs on the working points,
        which gain the dense error peaks of every new iterate.

        Returns (points, theta, dense level, feasible) where ``feasible`` says the
        side constraints hold at the points.
        """
        H = self.dense_level(theta)
        ok = np.isfinite(self.level_on(pts, fam, theta))
        rounds = 0
        while fam.steps < MAX_DC_STEPS:
            if not np.isfinite(H):
                H = max(self.scale_f, self.floor)
            if H <= self.floor:  # exact to rounding: nothing left to resolve
                break
            out = self.lp(pts, fam, theta, H, H)
            fam.steps += 1
            if out is None:
                fam.failed = True
                break
            new = out[1]
            h_pts = self.level_on(pts, fam, new)
            H_new = self.dense_level(new)
            progress = H_new < H * (1 - DC_RTOL) or (not ok and np.isfinite(h_pts))
            if progress:
                pts = self.add_points(pts, self.peaks(new, PEAK_FRACTION * H_new))
                theta, H, ok = new, H_new, True
                continue
            # no progress on the dense grid: converged, unless the points miss a peak
            if not np.isfinite(h_pts) or H_new <= h_pts * (1 + EXCHANGE_RTOL) + self.floor:
                break
            rounds += 1
            if rounds > MAX_EXCHANGE_ROUNDS:
                break
            xs = self.peaks(new, h_pts * (1 + EXCHANGE_RTOL / 4))
            pts2 = self.add_points(pts, xs)
            if pts2.x.size == pts.x.size:
                break
            pts = pts2
        return pts, theta, H, ok

    def certify(self, pts: Points, fam: Family, theta: np.ndarray, target: float):
        """Largest certified lower bound below ``target`` (improving theta when possible).

        The LP at level h_lo = target (1 - gamma) without the trust region is
        infeasible (tau* > CERT_TOL) only if no coefficient set of the family
        reaches h_lo at the points. Returns (lower_bound, points, theta).
        """
        level = self.dense_level(theta)
        i, restarts, exchanges = 0, 0, 0
        while i < len(CERT_GAMMAS):
            h_lo = target * (1 - CERT_GAMMAS[i])
            if h_lo <= self.floor:
                break
            out = self.lp(pts, fam, theta, h_lo, target, trust=None)
            if out is None:
                fam.failed = True
                i += 1
                continue
            tau, new = out
            if tau > CERT_TOL:
                return h_lo, pts, theta
            if self.dense_level(new) < level and restarts < MAX_CERT_RESTARTS:
                # a better incumbent: resume the descent, then certify below it
                pts = self.add_points(pts, self.peaks(new, 0.0))
                pts, theta, level, _ = self.descend(pts, fam, new)
                target, i, restarts = min(target, level), 0, restarts + 1
                continue
            # feasible on the points only: add the dense peaks it hides, try again
            grown = self.add_points(pts, self.peaks(new, h_lo))
            if grown.x.size > pts.x.size and exchanges < MAX_CERT_EXCHANGES:
                pts, exchanges = grown, exchanges + 1
                continue
            i += 1
        return 0.0, pts, theta


def _z_from_c(N: np.ndarray, c: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(N, c, rcond=None)[0]


def _solution(c, d, upper, lower, floor, status, steps, lps, start, scope) -> Solution:
    """A minimax :class:`~opade_fit.solution.Solution` with its certificate."""
    return Solution(
        numerator=c,
        denominator=d,
        value=float(upper),
        status=status,
        success=status in (1, 2, 3, 5),
        message=MESSAGES[status],
        method=METHOD,
        start=start,
        iterations=int(steps),
        nfev=int(lps),
        certificate=_certificate(lower, upper, floor, scope),
    )


def solve_minimax(problem: Problem, lsq_solution: Solution) -> Solution:
    """Minimax fit of ``problem`` from the least-squares fit (see module docstring).

    Parameters
    ----------
    problem : Problem
        The discretised fit (its grid is the first set of LP points).
    lsq_solution : Solution
        The least-squares fit of the same problem (:func:`~opade_fit.lsq.solve_lsq`):
        the warm start, and its candidates the sign patterns of ``safe-abs-sum``.

    Returns
    -------
    Solution
        ``value`` is the achieved weighted max error (target units); ``certificate``
        holds ``lower_bound, upper_bound, gap, scope`` (floats and a sentence).
    """
    form = problem.form
    k, l = form.degrees
    s = _Solver(problem)
    weighted = s.weight != "uniform"
    what = (
        f"the weighted max error max w(x)|g(x) - f(x)| with w = exp(-x^2/(2 sigma^2)) ({s.weight})"
        if weighted
        else "the max abs error"
    )
    if s.nz == 0:  # P = 0: g = 0 whatever Q
        lvl = s.scale_f
        scope = f"{what}; the constraint forces P = 0, so g = 0"
        return _solution(
            np.zeros(k + 1), np.zeros(l), lvl, lvl, s.floor, 3, 0, 0, "forced-zero", scope
        )

    c0 = np.asarray(lsq_solution.numerator, dtype=np.float64)
    d0 = np.asarray(lsq_solution.denominator, dtype=np.float64)
    theta0 = np.concatenate([_z_from_c(problem.N, c0), d0])
    den = s.den
    fams: list[tuple[Family, np.ndarray]] = []
    if den.sign_pattern:
        fams.extend(_abs_families(s, theta0, lsq_solution))
    elif den.nonnegative_d:
        th = theta0.copy()
        th[s.nz :] = np.abs(th[s.nz :])
        fams.append((Family(den.name, den), th))
    else:
        fams.append((Family(den.name, den), theta0))

    results = []
    for fam, th in fams:
        pts = s.add_points(s.points0, s.peaks(th, PEAK_FRACTION * s.dense_level(th)))
        pts, th, H, ok = s.descend(pts, fam, th)
        results.append([fam, pts, th, H if ok else np.inf])
    # best by dense level; levels within LEVEL_TIE_RTOL are ties, decided by the max error
    # on the check interval, then the family order (choice.choose)
    ib = _best_family(s, results)
    upper = results[ib][3]
    # certify every family below the best upper bound
    lower = np.inf
    for i, r in enumerate(results):
        fam, pts, th, _ = r
        lb, pts, th = s.certify(pts, fam, th, upper)
        H = s.dense_level(th)
        r[1:] = [pts, th, H]
        if H < upper * (1 - LEVEL_TIE_RTOL) - s.floor:
            upper, ib = H, i  # certification found a clearly better solution in this family
        lower = min(lower, lb)
    fam, pts, th, _ = results[ib]
    lower = float(min(lower, upper))
    z, d = th[: s.nz], th[s.nz :]
    c = problem.N @ z
    steps = sum(r[0].steps for r in results)
    lps = sum(r[0].lps for r in results)
    failed = any(r[0].failed for r in results)
    gap = _gap(upper, lower, s.floor)
    if failed and gap > GAP_TARGET:
        status = 4
    elif any(r[0].steps >= MAX_DC_STEPS for r in results):
        status = 0
    elif upper <= s.floor:
        status = 5
    else:
        status = 1 if gap <= GAP_TARGET else 2
    if status in (0, 4):
        warnings.warn(
            f"minimax for {form.label()}: {MESSAGES[status]} (gap {gap:.3g}); "
            "the record's solver block says so",
            OpadeFitWarning,
            stacklevel=2,
        )
    scope = _scope(what, den, [r[0].name for r in results])
    return _solution(c, d.copy(), upper, lower, s.floor, status, steps, lps, fam.name, scope)


def _best_family(s: _Solver, results: list) -> int:
    """Index of the best family result ``[fam, pts, theta, level]`` (:func:`choice.choose`).

    Keys: the dense level, then the max error on the check interval, then the family order.
    """
    keys = [(level, check_error(s.problem, th)) for _fam, _pts, th, level in results]
    return choose(keys, [(LEVEL_TIE_RTOL, s.floor), (LEVEL_TIE_RTOL, s.floor)])


def _abs_families(s: _Solver, theta0: np.ndarray, lsq: Solution) -> list[tuple[Family, np.ndarray]]:
    """Sign patterns for safe-abs-sum, each with a least-squares start (sign of d chosen to fit).

    B >= 0, B ~ sign(x), then the pattern of every least-squares candidate whose cost is within
    :data:`ALT_MARGIN` of the best (``B~lsq:<start>``, the solution among them, in the fixed
    start order of :func:`~opade_fit.lsq.solve_lsq`). No candidate is left out for resembling
    another: whether two patterns are "the same" would be decided by the sign of B at a grid
    point where B vanishes at the optimum, or by the distance between two d at convergence
    level, both of which move with the last bits (issue 11; docs/minimax.md). A repeated
    pattern costs LPs, not correctness.
    """
    nz = s.nz
    x0 = s.points0.x

    def pattern_of(d):
        def sign(x, d=d):
            b = s.den.inner(s.form.basis_values(np.atleast_1d(x))[0], d)
            return np.where(b >= 0, 1.0, -1.0)

        return sign

    cands = [
        ("B>=0", lambda x: np.ones_like(np.asarray(x, dtype=np.float64)), theta0),
        ("B~sign(x)", lambda x: np.where(np.asarray(x) >= 0, 1.0, -1.0), theta0),
    ]
    # costs below the least-squares rounding floor are all exact fits: ties, whatever the noise
    floor = 0.5 * (ROUNDING_FLOOR * _EPS * max(s.scale_f, 1.0)) ** 2
    for c, d, name, cost in lsq.candidates:
        if cost <= lsq.value * (1.0 + ALT_MARGIN) + floor:
            th = np.concatenate([_z_from_c(s.N, c), d])
            cands.append((f"B~lsq:{name}", pattern_of(th[nz:]), th))
    out = []
    for name, sign, th0 in cands:
        th = th0.copy()
        if np.sum(sign(x0) * s.den.inner(s.points0.F, th0[nz:])) < 0:
            th[nz:] = -th[nz:]
        out.append((Family(name, s.den, sign), th))
    return out


def _gap(upper: float, lower: float, floor: float) -> float:
    return float(max(upper - lower, 0.0) / max(lower, floor))


def _certificate(lower: float, upper: float, floor: float, scope: str) -> dict[str, Any]:
    big = float(np.finfo(np.float64).max)
    lower = float(lower) if np.isfinite(lower) else 0.0
    upper = float(upper) if np.isfinite(upper) else big
    gap = _gap(upper, lower, floor)
    return {
        "lower_bound": lower,
        "upper_bound": upper,
        "gap": gap if np.isfinite(gap) else big,
        "scope": scope,
    }


def _scope(what: str, den: Denominator, families: list[str]) -> str:
    base = (
        f"bounds on {what} over the fit interval; the lower bound holds for every "
        f"coefficient set of the form"
    )
    if not den.lp_q_min_imposed:
        rest = ""
    elif not den.sign_pattern:
        rest = f" with Q >= {den.lp_q_min:g} at the LP points (a finite subset of the interval)"
    else:
        rest = (
            " whose inner sum B = sum_j d_j f_j has one of the sign patterns searched "
            f"({', '.join(families)}) at the LP points (a finite subset of the interval); "
            "other sign patterns are not covered"
        )
    return base + rest + "; the upper bound is measured on 100,001 uniform points"
