"""Least-squares fit of a rational form (objective ``l2``).

Method
------
The residual on the grid x_1..x_m is ``r = sqrt(w) * (g(x) - f(x))``,
stacked with ``lambda * sqrt(w) * (g'(x) - f'(x))`` when derivative matching
is on. Coefficients are ``theta = (z, d)`` with the numerator ``c = N z``
(:mod:`opade_fit.problem`).

1. **Linearised starts** (Sanathanan-Koerner): minimise
   ``|| sqrt(w) (P - f Q) / Q_prev ||`` which is *linear* in (z, d) once the
   absolute values of Q are resolved:

   * ``safe``: Q = 1 + sum_j d_j |f_j| with d_j >= 0 (|d_j| written as a
     bounded variable; Q depends only on |d_j|), solved by
     :func:`scipy.optimize.lsq_linear` with bounds;
   * ``safe-abs-sum``: Q = 1 + s(x) B(x) for a fixed sign pattern s
     (s = +1, and s = sign(x)), one start per pattern, plus patterns with
     one sign change at each of 11 interior points, screened by a brief
     refinement, together with 12 scattered starts from a fixed seed (the
     best two, and those within :data:`SCREEN_MARGIN` of the second, are
     refined fully);
   * ``plain``: Q = 1 + B(x), plus the pole-free start d = 0.

   Each start is refined by a few SK re-weightings.
2. **Nonlinear refinement**: :func:`scipy.optimize.least_squares` (trust
   region reflective, analytic Jacobian, Jacobian column scaling) from every
   start (for ``safe-abs-sum`` every candidate gets :data:`STAGE_NFEV`
   evaluations, and those within :data:`STAGE_MARGIN` of the best continue).
   For ``plain``, a result with a real root of Q in the fit interval is
   rejected.
3. **Choice** (:func:`opade_fit.choice.choose`): the lowest cost wins, but costs within
   :data:`TIE_RTOL` (or below the rounding floor) are ties, decided by the
   fewer roots of Q on the guard interval (``plain``), the smaller max error
   on the check interval, the smaller coefficient norm, then the fixed start
   order -- never by the last bits of the cost.

Everything is deterministic: the scattered starts come from a fixed seed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares, lsq_linear

from .choice import check_error, choose, guard_interval, guard_poles
from .problem import Problem
from .solution import Solution

__all__ = [
    "METHOD",
    "OpadeFitWarning",
    "guard_interval",
    "linearised_matrix",
    "solve_lsq",
]

_EPS = np.finfo(np.float64).eps
#: Relative tolerances of the nonlinear refinement (multiples of machine epsilon).
FTOL = XTOL = GTOL = 1e4 * _EPS
#: Upper bound on |d_j| of ``safe`` forms. Some zero-centred fits (HP-1/HP-2
#: Leaky ReLU, ``center="general"``) approach their infimum only as every
#: coefficient grows without bound (the 1 of Q becomes negligible); unbounded,
#: they end at ~1e10, useless as a float32 initialisation. With the bound the
#: fit stays at the best error reachable with |d_j| <= 1e4 (docs/fitting.md).
MAX_SAFE_D = 1e4
#: ``safe``: d_j below SNAP * max(1, max d) is set to its bound 0 (see snap_to_bounds).
SNAP = 1e-12
#: Sanathanan-Koerner re-weightings per start.
SK_ITERATIONS = 4
#: Maximum function evaluations per refinement, per free coefficient.
MAX_NFEV_PER_COEF = 60
#: A winner stopped by that limit continues for up to this many further budgets
#: (``safe-abs-sum`` fits at high degree creep over the kinks of |B|).
WINNER_EXTRA_BUDGETS = 4
#: safe-abs-sum: interior points where a one-sign-change pattern of B is tried.
SIGN_CHANGES = 11
#: safe-abs-sum: scattered starts (fixed seed) added to the screened pool.
RANDOM_STARTS = 12
RANDOM_SEED = 20211
#: safe-abs-sum: evaluations each fully refined candidate gets before only the best continues.
STAGE_NFEV = 120
#: Function evaluations of the brief refinement that screens those extra starts ...
SCREEN_NFEV = 15
#: ... and how many of them are then refined fully, at least: every screened start whose
#: cost is within SCREEN_MARGIN (relative) of the SCREEN_KEEP-th best is refined too, so
#: a rounding-level change of the screening costs cannot move the cut.
SCREEN_KEEP = 2
SCREEN_MARGIN = 0.25
#: safe-abs-sum: every candidate stopped by STAGE_NFEV whose cost is within STAGE_MARGIN
#: (relative) of the best candidate continues to the full budget.
STAGE_MARGIN = 0.25
#: Candidate costs within TIE_RTOL (relative) of each other are ties, decided by the next
#: key (docs/fitting.md "Choosing among candidates"): rounding moves a converged cost by
#: ~1e-12 relative, distinct local minima are much further apart.
TIE_RTOL = 1e-6
#: Costs below 0.5 * (ROUNDING_FLOOR * eps * max|f|)^2 are rounding noise (exact fits).
ROUNDING_FLOOR = 1e3
#: The record's ``solver.method`` (:class:`~opade_fit.solution.Solution`).
METHOD = "lsq-trf ({start} start)"

#: Fixed messages for the status codes reported in the record.
MESSAGES = {
    -1: "improper input to least_squares",
    0: "maximum number of function evaluations reached before convergence",
    1: "converged: gradient norm below gtol",
    2: "converged: relative change of the cost below ftol",
    3: "converged: relative step below xtol",
    4: "converged: cost and step tolerances met",
    5: "numerator forced to zero by the constraint: g = 0 identically",
}


class OpadeFitWarning(UserWarning):
    """A fit did not converge or hit a limit; details are in the record's ``solver``."""


def _solution(c, d, cost, status, nfev, njev, start, candidates=()) -> Solution:
    """A least-squares :class:`~opade_fit.solution.Solution` (iterations = Jacobian evaluations)."""
    ok = status >= 1
    return Solution(
        c, d, float(cost), status, ok, MESSAGES[status], METHOD, start, njev, nfev, candidates
    )


class _Model:
    """Residual and Jacobian of the (weighted) fit.

    Q and its derivatives come from the form's
    :class:`~opade_fit.denominators.Denominator` with the one-sided signs at the
    kinks (``one_sided=True``): the side the optimiser stays on, d_j >= 0 for
    ``safe`` (bounded variables standing for |d_j|) and the sign pattern s = +1
    of B = 0 for ``safe-abs-sum``.
    """

    def __init__(self, problem: Problem):
        self.p = problem
        self.form = problem.form
        self.den = problem.form.denominator_object
        self.k, self.l = self.form.degrees
        self.lam = problem.spec.derivative_weight
        self.nz = problem.N.shape[1]
        self.Fn = problem.N.T @ problem.F[: self.k + 1]  # numerator columns in z
        self.dFn = problem.N.T @ problem.dF[: self.k + 1]
        self.F = problem.F[: self.l + 1]  # f_0..f_l, what the Denominator reads
        self.dF = problem.dF[: self.l + 1]

    def split(self, theta):
        return theta[: self.nz], theta[self.nz :]

    def residual(self, theta):
        z, d = self.split(theta)
        P = z @ self.Fn
        Q = self.den.q(self.F, d)
        sw = self.p.sqrt_w
        r = sw * (P / Q - self.p.f)
        if self.lam:
            dP = z @ self.dFn
            dQ = self.den.dq_dx(self.F, self.dF, d, one_sided=True)
            dg = dP / Q - P * dQ / Q**2
            r = np.concatenate([r, self.lam * sw * (dg - self.p.df)])
        return r

    def jacobian(self, theta):
        z, d = self.split(theta)
        P = z @ self.Fn
        Q = self.den.q(self.F, d)
        shape = (self.l, Q.size)
        sw = self.p.sqrt_w
        iq = 1.0 / Q
        a = np.reshape(self.den.dq_dd(self.F, d, one_sided=True), shape)  # dQ/dd_j
        Jz = (self.Fn * iq).T
        Jd = (-(P * iq**2) * a).T
        J = np.hstack([Jz, Jd]) * sw[:, None]
        if self.lam:
            dP = z @ self.dFn
            dQ = self.den.dq_dx(self.F, self.dF, d, one_sided=True)
            b = np.reshape(self.den.dq_dx_dd(self.F, self.dF, d, one_sided=True), shape)
            dJz = (self.dFn * iq - self.Fn * dQ * iq**2).T
            dJd = (-dP * a * iq**2 - P * b * iq**2 + 2 * P * dQ * a * iq**3).T
            J = np.vstack([J, self.lam * sw[:, None] * np.hstack([dJz, dJd])])
        return J

    def bounds(self):
        lo = np.full(self.nz + self.l, -np.inf)
        hi = np.full(self.nz + self.l, np.inf)
        if self.den.nonnegative_d:
            lo[self.nz :] = 0.0
            hi[self.nz :] = MAX_SAFE_D
        return lo, hi

    def snap_to_bounds(self, theta: np.ndarray, cost: float) -> tuple[np.ndarray, float]:
        """Set d_j that TRF left a hair above the bound 0 (e.g. 1e-41) to exactly 0.

        TRF approaches an active bound from the interior only; the snapped
        point is kept when its cost is not larger (it never is measurably).
        """
        z, d = self.split(theta)
        tiny = d < SNAP * max(1.0, float(np.max(d, initial=0.0)))
        if not np.any(tiny & (d != 0)):
            return theta, cost
        snapped = np.concatenate([z, np.where(tiny, 0.0, d)])
        new = 0.5 * float(np.sum(self.residual(snapped) ** 2))
        return (snapped, new) if new <= cost else (theta, cost)

    def sk_system(self, s: np.ndarray | float, qprev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Matrix A and right-hand side of the SK step: A theta ~ rhs."""
        sw = self.p.sqrt_w / qprev
        rows = self.den.linear_rows(self.F, self.l, sign=s)  # Q = 1 + s B, linear in d
        A = np.hstack([self.Fn.T, -(self.p.f * rows).T]) * sw[:, None]
        return A, self.p.f * sw

    def linearised(self, s: np.ndarray | float, qprev: np.ndarray) -> np.ndarray:
        """SK step: min || sqrt(w) (P - f (1 + s*B)) / qprev || (bounded for safe)."""
        A, rhs = self.sk_system(s, qprev)
        scale = np.linalg.norm(A, axis=0)
        scale[scale == 0] = 1.0
        As = A / scale
        lo, hi = self.bounds()
        if np.isfinite(lo).any():
            sol = lsq_linear(
                As, rhs, bounds=(lo * scale, hi * scale), method="bvls", lsmr_tol="auto"
            )
            theta = sol.x / scale
        else:
            theta = np.linalg.lstsq(As, rhs, rcond=None)[0] / scale
        return theta

    def start(self, s) -> np.ndarray:
        qprev = np.ones_like(self.p.x)
        theta = np.zeros(self.nz + self.l)
        for _ in range(SK_ITERATIONS):
            theta = self.linearised(s, qprev)
            Q = self.den.q(self.F, self.split(theta)[1])
            if np.any(Q <= 0.05):  # plain: linearisation crossed a pole; stop re-weighting
                break
            qprev = Q
        return theta

    def refine(self, theta0, max_nfev: int | None = None):
        lo, hi = self.bounds()
        theta0 = np.clip(theta0, lo, hi)
        return least_squares(
            self.residual,
            theta0,
            jac=self.jacobian,
            bounds=(lo, hi),
            method="trf",
            x_scale="jac",
            ftol=FTOL,
            xtol=XTOL,
            gtol=GTOL,
            max_nfev=max_nfev or MAX_NFEV_PER_COEF * (self.nz + self.l + 1),
        )


def _starts(problem: Problem) -> list[tuple[str, np.ndarray, bool]]:
    """(name, start theta, screened) in a fixed order.

    ``screened`` starts are first refined briefly and only the best
    :data:`SCREEN_KEEP` of them are refined fully.
    """
    den = problem.form.denominator
    m = _Model(problem)
    out = []
    if den == "safe":
        out.append(("sk-safe", m.start(1.0), False))
    elif den == "safe-abs-sum":
        x = problem.x
        out.append(("sk-B>=0", m.start(1.0), False))
        out.append(("sk-B~sign(x)", m.start(np.where(x >= 0, 1.0, -1.0)), False))
        # B changing sign once at t: the kink of |B| can sit anywhere, and the
        # optimum for some bases/targets puts it away from 0
        a, b = problem.spec.interval
        for t in np.linspace(a, b, SIGN_CHANGES + 2)[1:-1]:
            if t != 0.0:
                s = np.where(x >= t, 1.0, -1.0)
                out.append((f"sk-B~sign(x-{t:g})", m.start(s), True))
        # B with several sign changes is reached from scattered starts; a fixed
        # seed keeps the fit deterministic
        rng = np.random.default_rng(RANDOM_SEED)
        for i in range(RANDOM_STARTS):
            th = rng.standard_normal(m.nz + m.l) * 10.0 ** rng.uniform(-2, 1)
            out.append((f"seeded-{i}", th, True))
    else:
        out.append(("sk-plain", m.start(1.0), False))
        zero = np.zeros(m.nz + m.l)
        zero[: m.nz] = m.linearised(0.0, np.ones_like(problem.x))[: m.nz]
        out.append(("polynomial", zero, False))
    return out


@dataclass
class _Candidate:
    """A refined start: the pieces :func:`~opade_fit.choice.choose` ranks it by."""

    name: str
    theta: np.ndarray
    cost: float
    status: int
    nfev: int
    njev: int


def _continue(model: _Model, c: _Candidate, max_nfev: int, interval: tuple[float, float]) -> bool:
    """Refine candidate ``c`` further from where it stopped, for ``max_nfev`` evaluations.

    The result replaces ``c``'s coefficients, cost and status when its cost is finite and
    not larger (after snapping d_j to the bound for ``safe``) and, for ``plain``, Q has no
    root on ``interval``; the evaluations count either way. Returns whether it was kept.
    """
    with np.errstate(all="ignore"):
        res = model.refine(c.theta, max_nfev=max_nfev)
    c.nfev += int(res.nfev)
    c.njev += int(res.njev or 0)
    theta, cost = res.x, float(res.cost)
    if np.isfinite(cost) and model.den.nonnegative_d:
        theta, cost = model.snap_to_bounds(theta, cost)
    if not np.isfinite(cost) or cost > c.cost:
        return False
    if model.form.denominator == "plain" and model.form.poles(model.split(theta)[1], interval):
        return False
    c.theta, c.cost, c.status = theta, cost, int(res.status)
    return True


def _rank(problem: Problem, cands: list[_Candidate], floor: float) -> int:
    """The winner among refined candidates (:func:`~opade_fit.choice.choose` with the lsq keys).

    Keys, in order: the cost (ties within :data:`TIE_RTOL`, or both below the
    rounding floor), plain only: the number of roots of Q on the guard
    interval, the max error on the check interval (ties within
    :data:`TIE_RTOL` + the floor), the coefficient norm (within
    :data:`TIE_RTOL`), then the fixed start order.
    """
    keys = []
    for c in cands:
        z, d = c.theta[: problem.N.shape[1]], c.theta[problem.N.shape[1] :]
        keys.append(
            (
                c.cost,
                float(guard_poles(problem, d)),
                check_error(problem, c.theta),
                float(np.linalg.norm(np.concatenate([problem.N @ z, d]))),
            )
        )
    rounding = np.sqrt(2.0 * floor)
    tols = [(TIE_RTOL, floor), (0.0, 0.0), (TIE_RTOL, rounding), (TIE_RTOL, 0.0)]
    return choose(keys, tols)


def solve_lsq(
    problem: Problem,
    *,
    extra_starts: list[np.ndarray] | None = None,
    only_extra: bool = False,
) -> Solution:
    """Least-squares fit of ``problem`` (see module docstring).

    Parameters
    ----------
    problem : Problem
    extra_starts : list of ndarray, optional
        Additional starting vectors ``(z, d)`` (e.g. from a neighbouring fit).
    only_extra : bool, default False
        Refine only ``extra_starts`` (skip the built-in start set).

    Returns
    -------
    Solution
        ``value`` is the cost 0.5 * sum r^2; ``candidates`` every refined
        candidate. Never NaN/inf: candidates with non-finite cost are
        discarded; if none is finite the zero function is returned with
        status 0 and a warning.
    """
    form = problem.form
    den = form.denominator_object
    k, l = form.degrees
    nz = problem.N.shape[1]
    if nz == 0:  # all-zero centring with every f_i(0) != 0 (Laguerre): g = 0
        return _solution(np.zeros(k + 1), np.zeros(l), 0.0, 5, 0, 0, "forced-zero")
    # costs below the rounding floor are exact fits (the target is a form of the family)
    scale = float(np.max(np.abs(problem.f))) if problem.f.size else 0.0
    floor = 0.5 * (ROUNDING_FLOOR * _EPS * max(scale, 1.0)) ** 2
    starts = [] if only_extra else _starts(problem)
    for i, th in enumerate(extra_starts or ()):
        starts.append((f"extra-{i}", np.asarray(th, dtype=np.float64), False))
    starts = [s for s in starts if np.all(np.isfinite(s[1]))]
    model = _Model(problem)
    screened = []
    for i, (name, theta0, screen) in enumerate(starts):
        if screen:
            with np.errstate(all="ignore"):
                r = model.refine(theta0, max_nfev=SCREEN_NFEV)
            if np.isfinite(r.cost):
                screened.append((r.cost, i, name, r.x))
    screened.sort(key=lambda t: t[0])  # stable: ties keep the fixed order
    kept = screened[:SCREEN_KEEP]
    if len(screened) > SCREEN_KEEP:
        # the screening costs are still moving: every start near the cut goes on too
        cut = screened[SCREEN_KEEP - 1][0] * (1.0 + SCREEN_MARGIN) + floor
        kept += [s for s in screened[SCREEN_KEEP:] if s[0] <= cut]
    kept.sort(key=lambda t: t[1])  # back to the fixed start order
    starts = [s for s in starts if not s[2]]
    starts += [(name, th, True) for _, _, name, th in kept]
    a, b = problem.spec.interval
    full_nfev = MAX_NFEV_PER_COEF * (nz + l + 1)
    lo, hi = model.bounds()
    cands: list[_Candidate] = []
    for name, theta0, _ in starts:
        start = np.clip(theta0, lo, hi)
        with np.errstate(all="ignore"):
            # safe-abs-sum: every candidate first gets STAGE_NFEV evaluations (|B|'s
            # kinks make TRF creep); the ones near the best continue below
            res = model.refine(theta0, max_nfev=STAGE_NFEV if den.sign_pattern else full_nfev)
            # TRF starts strictly inside the bounds; when the linearised start is
            # already optimal (an exactly representable target), keep it
            start_cost = 0.5 * float(np.sum(model.residual(start) ** 2))
        theta, cost = res.x, float(res.cost)
        if np.isfinite(start_cost) and start_cost < cost * (1.0 - TIE_RTOL) - floor:
            theta, cost = start, start_cost
        if not np.isfinite(cost):
            continue
        if den.nonnegative_d:
            theta, cost = model.snap_to_bounds(theta, cost)
        z, d = model.split(theta)
        if form.denominator == "plain" and form.poles(d, (a, b)):
            # the refinement ran into a pole; keep the start if it is pole-free (the
            # polynomial start d = 0 always is), so plain never falls back to g = 0
            theta = start
            z, d = model.split(theta)
            if not np.isfinite(start_cost) or form.poles(d, (a, b)):
                continue
            cost, name = start_cost, f"unrefined {name}"
        cands.append(
            _Candidate(name, theta, cost, int(res.status), int(res.nfev), int(res.njev or 0))
        )
        if start_cost <= floor:
            # an exact start (the target is a form of the family) is a candidate of its own:
            # TRF may leave it by rounding-level steps that grow beyond the fit interval.
            # Added whether or not TRF moved (that is decided by the last bits), so the
            # candidate set does not depend on the machine; an unmoved copy ties and loses
            # to its original by the fixed order
            if form.denominator != "plain" or not form.poles(model.split(start)[1], (a, b)):
                # status 1: the gradient is zero to rounding at an exact fit
                cands.append(_Candidate(f"exact {name}", start, start_cost, 1, int(res.nfev), 0))
    if den.sign_pattern and cands:
        # continue every candidate stopped by STAGE_NFEV whose cost is within
        # STAGE_MARGIN of the best: the cap must not decide between them
        cut = min(c.cost for c in cands) * (1.0 + STAGE_MARGIN) + floor
        for c in cands:
            if c.status == 0 and c.cost <= cut:
                _continue(model, c, full_nfev - STAGE_NFEV, (a, b))
    if not cands:
        warnings.warn(
            f"no finite, pole-free least-squares solution for {form.label()}; returning g = 0",
            OpadeFitWarning,
            stacklevel=2,
        )
        return _solution(np.zeros(k + 1), np.zeros(l), float("inf"), 0, 0, 0, "none")
    win = cands[_rank(problem, cands, floor)]
    if win.status == 0:
        # the ranking is done; the winner alone continues until TRF converges
        for _ in range(WINNER_EXTRA_BUDGETS):
            if not _continue(model, win, full_nfev, (a, b)) or win.status != 0:
                break
    candidates = tuple(
        (problem.N @ c.theta[:nz], c.theta[nz:].copy(), c.name, c.cost) for c in cands
    )
    z, d = win.theta[:nz], win.theta[nz:]
    best = _solution(
        problem.N @ z, d.copy(), win.cost, win.status, win.nfev, win.njev, win.name, candidates
    )
    if best.status == 0:
        warnings.warn(
            f"least squares for {form.label()} stopped at the evaluation limit "
            f"(start {best.start}); the record's solver block says so",
            OpadeFitWarning,
            stacklevel=2,
        )
    return best


def linearised_matrix(problem: Problem) -> np.ndarray:
    """The matrix of the first linearised (Sanathanan-Koerner) least-squares step.

    ``A = sqrt(w) [f_0 .. f_k | -f * b_1 .. -f * b_l]`` (one row per grid
    point; b_j = |f_j| for ``safe``, f_j otherwise; numerator columns in the
    free coefficients z), i.e. the system ``A (z, d) ~ sqrt(w) f`` solved for
    the first start with Q_prev = 1 and s = +1. Its condition number (after
    the unit-column scaling the solver applies) measures how well the basis
    separates the coefficients.
    """
    return _Model(problem).sk_system(1.0, np.ones_like(problem.x))[0]
