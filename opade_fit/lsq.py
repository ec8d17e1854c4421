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
     best two are refined fully);
   * ``plain``: Q = 1 + B(x), plus the pole-free start d = 0.

   Each start is refined by a few SK re-weightings.
2. **Nonlinear refinement**: :func:`scipy.optimize.least_squares` (trust
   region reflective, analytic Jacobian, Jacobian column scaling) from every
   start; the best final RMS wins (for ``safe-abs-sum`` every candidate gets
   :data:`STAGE_NFEV` evaluations and only the best continues). For
   ``plain``, a result with a real root of Q in the fit interval is rejected.

Everything is deterministic: the scattered starts come from a fixed seed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares, lsq_linear

from .problem import Problem

__all__ = ["LsqSolution", "OpadeFitWarning", "linearised_matrix", "solve_lsq"]

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
#: safe-abs-sum: interior points where a one-sign-change pattern of B is tried.
SIGN_CHANGES = 11
#: safe-abs-sum: scattered starts (fixed seed) added to the screened pool.
RANDOM_STARTS = 12
RANDOM_SEED = 20211
#: safe-abs-sum: evaluations each fully refined candidate gets before only the best continues.
STAGE_NFEV = 120
#: Function evaluations of the brief refinement that screens those extra starts ...
SCREEN_NFEV = 15
#: ... and how many of them are then refined fully.
SCREEN_KEEP = 2

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


@dataclass(frozen=True)
class LsqSolution:
    """Coefficients and solver diagnostics of one least-squares fit."""

    numerator: np.ndarray
    denominator: np.ndarray
    cost: float
    status: int
    nfev: int
    njev: int
    start: str

    @property
    def success(self) -> bool:
        return self.status >= 1

    @property
    def message(self) -> str:
        return MESSAGES[self.status]


class _Model:
    """Residual and Jacobian of the (weighted) fit for one sign convention of Q."""

    def __init__(self, problem: Problem, pattern: str):
        self.p = problem
        self.form = problem.form
        self.k, self.l = self.form.degrees
        self.pattern = pattern  # "safe", "abs", "plain"
        self.lam = problem.spec.derivative_weight
        self.nz = problem.N.shape[1]
        self.Fn = problem.N.T @ problem.F[: self.k + 1]  # numerator columns in z
        self.dFn = problem.N.T @ problem.dF[: self.k + 1]
        self.Fd = problem.F[1 : self.l + 1]
        self.dFd = problem.dF[1 : self.l + 1]
        if pattern == "safe":
            self.Fd_eff = np.abs(self.Fd)
            self.dFd_eff = np.sign(self.Fd) * self.dFd
        else:
            self.Fd_eff, self.dFd_eff = self.Fd, self.dFd

    def split(self, theta):
        return theta[: self.nz], theta[self.nz :]

    def pieces(self, theta):
        z, d = self.split(theta)
        P = z @ self.Fn
        dP = z @ self.dFn
        B = d @ self.Fd_eff
        dB = d @ self.dFd_eff
        if self.pattern == "abs":
            s = np.where(B >= 0, 1.0, -1.0)
            Q, dQ, sa = 1.0 + s * B, s * dB, s
        else:
            Q, dQ, sa = 1.0 + B, dB, 1.0
        return P, dP, Q, dQ, sa

    def residual(self, theta):
        P, dP, Q, dQ, _ = self.pieces(theta)
        sw = self.p.sqrt_w
        r = sw * (P / Q - self.p.f)
        if self.lam:
            dg = dP / Q - P * dQ / Q**2
            r = np.concatenate([r, self.lam * sw * (dg - self.p.df)])
        return r

    def jacobian(self, theta):
        P, dP, Q, dQ, sa = self.pieces(theta)
        sw = self.p.sqrt_w
        iq = 1.0 / Q
        a = sa * self.Fd_eff  # dQ/dd_j
        Jz = (self.Fn * iq).T
        Jd = (-(P * iq**2) * a).T
        J = np.hstack([Jz, Jd]) * sw[:, None]
        if self.lam:
            b = sa * self.dFd_eff  # dQ'/dd_j
            dJz = (self.dFn * iq - self.Fn * dQ * iq**2).T
            dJd = (-dP * a * iq**2 - P * b * iq**2 + 2 * P * dQ * a * iq**3).T
            J = np.vstack([J, self.lam * sw[:, None] * np.hstack([dJz, dJd])])
        return J

    def bounds(self):
        lo = np.full(self.nz + self.l, -np.inf)
        hi = np.full(self.nz + self.l, np.inf)
        if self.pattern == "safe":
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
        A = np.hstack([self.Fn.T, -(self.p.f * s * self.Fd_eff).T]) * sw[:, None]
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
            _, _, Q, _, _ = self.pieces(theta)
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


def _starts(problem: Problem) -> list[tuple[str, str, np.ndarray, bool]]:
    """(name, pattern, start theta, screened) in a fixed order.

    ``screened`` starts are first refined briefly and only the best
    :data:`SCREEN_KEEP` of them are refined fully.
    """
    den = problem.form.denominator
    out = []
    if den == "safe":
        m = _Model(problem, "safe")
        out.append(("sk-safe", "safe", m.start(1.0), False))
    elif den == "safe-abs-sum":
        m = _Model(problem, "abs")
        x = problem.x
        out.append(("sk-B>=0", "abs", m.start(1.0), False))
        out.append(("sk-B~sign(x)", "abs", m.start(np.where(x >= 0, 1.0, -1.0)), False))
        # B changing sign once at t: the kink of |B| can sit anywhere, and the
        # optimum for some bases/targets puts it away from 0
        a, b = problem.spec.interval
        for t in np.linspace(a, b, SIGN_CHANGES + 2)[1:-1]:
            if t != 0.0:
                s = np.where(x >= t, 1.0, -1.0)
                out.append((f"sk-B~sign(x-{t:g})", "abs", m.start(s), True))
        # B with several sign changes is reached from scattered starts; a fixed
        # seed keeps the fit deterministic
        rng = np.random.default_rng(RANDOM_SEED)
        for i in range(RANDOM_STARTS):
            th = rng.standard_normal(m.nz + m.l) * 10.0 ** rng.uniform(-2, 1)
            out.append((f"seeded-{i}", "abs", th, True))
    else:
        m = _Model(problem, "plain")
        out.append(("sk-plain", "plain", m.start(1.0), False))
        zero = np.zeros(m.nz + m.l)
        zero[: m.nz] = m.linearised(0.0, np.ones_like(problem.x))[: m.nz]
        out.append(("polynomial", "plain", zero, False))
    return out


def solve_lsq(
    problem: Problem,
    *,
    extra_starts: list[np.ndarray] | None = None,
    only_extra: bool = False,
) -> LsqSolution:
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
    LsqSolution
        Never NaN/inf: candidates with non-finite cost are discarded; if none
        is finite the zero function is returned with status 0 and a warning.
    """
    form = problem.form
    k, l = form.degrees
    nz = problem.N.shape[1]
    if nz == 0:  # all-zero centring with every f_i(0) != 0 (Laguerre): g = 0
        return LsqSolution(np.zeros(k + 1), np.zeros(l), 0.0, 5, 0, 0, "forced-zero")
    pattern = {"safe": "safe", "safe-abs-sum": "abs", "plain": "plain"}[form.denominator]
    starts = [] if only_extra else _starts(problem)
    for i, th in enumerate(extra_starts or ()):
        starts.append((f"extra-{i}", pattern, np.asarray(th, dtype=np.float64), False))
    starts = [s for s in starts if np.all(np.isfinite(s[2]))]
    screened = []
    for name, pat, theta0, screen in starts:
        if screen:
            with np.errstate(all="ignore"):
                r = _Model(problem, pat).refine(theta0, max_nfev=SCREEN_NFEV)
            if np.isfinite(r.cost):
                screened.append((r.cost, name, pat, r.x))
    screened.sort(key=lambda t: t[0])  # stable: ties keep the fixed order
    starts = [s for s in starts if not s[3]]
    starts += [(name, pat, th, True) for _, name, pat, th in screened[:SCREEN_KEEP]]
    best = None
    best_theta = None
    a, b = problem.spec.interval
    full_nfev = MAX_NFEV_PER_COEF * (problem.N.shape[1] + l + 1)
    for name, pat, theta0, _ in starts:
        model = _Model(problem, pat)
        with np.errstate(all="ignore"):
            # safe-abs-sum: every candidate gets STAGE_NFEV evaluations; only the
            # best one continues to the full budget (below), as |B|'s kinks make
            # TRF creep and the creeping rarely reorders the candidates
            res = model.refine(theta0, max_nfev=STAGE_NFEV if pat == "abs" else full_nfev)
            # TRF starts strictly inside the bounds; when the linearised start is
            # already optimal (an exactly representable target), keep it
            start_cost = 0.5 * float(np.sum(model.residual(np.clip(theta0, *model.bounds())) ** 2))
        theta = res.x
        if np.isfinite(start_cost) and start_cost < res.cost:
            theta, res.cost = np.clip(theta0, *model.bounds()), start_cost
        if not np.isfinite(res.cost):
            continue
        if pat == "safe":
            theta, res.cost = model.snap_to_bounds(theta, res.cost)
        z, d = model.split(theta)
        if form.denominator == "plain" and form.poles(d, (a, b)):
            # the refinement ran into a pole; keep the start if it is pole-free (the
            # polynomial start d = 0 always is), so plain never falls back to g = 0
            theta = np.clip(theta0, *model.bounds())
            z, d = model.split(theta)
            if not np.isfinite(start_cost) or form.poles(d, (a, b)):
                continue
            res.cost, name = start_cost, f"unrefined {name}"
        c = problem.N @ z
        cand = LsqSolution(
            c, d.copy(), float(res.cost), int(res.status), int(res.nfev), int(res.njev or 0), name
        )
        if best is None or cand.cost < best.cost:
            best, best_theta = cand, (pat, theta)
    if best is not None and best.status == 0 and best_theta[0] == "abs":
        model = _Model(problem, "abs")
        with np.errstate(all="ignore"):
            res = model.refine(best_theta[1], max_nfev=full_nfev - STAGE_NFEV)
        if np.isfinite(res.cost) and res.cost <= best.cost:
            z, d = model.split(res.x)
            best = LsqSolution(
                problem.N @ z,
                d.copy(),
                float(res.cost),
                int(res.status),
                best.nfev + int(res.nfev),
                best.njev + int(res.njev or 0),
                best.start,
            )
    if best is None:
        warnings.warn(
            f"no finite, pole-free least-squares solution for {form.label()}; returning g = 0",
            OpadeFitWarning,
            stacklevel=2,
        )
        return LsqSolution(np.zeros(k + 1), np.zeros(l), float("inf"), 0, 0, 0, "none")
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
    pattern = {"safe": "safe", "safe-abs-sum": "abs", "plain": "plain"}[problem.form.denominator]
    model = _Model(problem, pattern)
    return model.sk_system(1.0, np.ones_like(problem.x))[0]
