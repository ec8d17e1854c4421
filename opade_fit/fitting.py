"""`fit()`: the main job of opade-fit, from a target to a fit record.

Data flow: :mod:`~opade_fit.problem` (spec -> arrays) -> a solver
(:mod:`~opade_fit.lsq` for ``l2``, :mod:`~opade_fit.minimax` for ``max``)
-> errors measured densely on the fit and check intervals -> a
:class:`~opade_fit.result.FitResult` whose ``to_dict()`` is the record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from threadpoolctl import threadpool_limits

from .choice import choose
from .errors import UsageError
from .lsq import ROUNDING_FLOOR, TIE_RTOL, solve_lsq
from .problem import DEFAULT_POINTS, FitSpec, Problem, build_problem, drop_candidates, make_spec
from .record import SCHEMA_VERSION
from .result import FitResult, measure_errors, tool_block
from .solution import Solution
from .targets import Target

__all__ = ["POLE_REACH", "WARM_START_ATOL", "WARM_START_RTOL", "fit", "fit_spec"]

#: ``extra_starts``: the best warm-started candidate is kept unless the usual starts
#: reach a least-squares cost lower by more than this relative (and absolute) margin.
WARM_START_RTOL = 1e-8
WARM_START_ATOL = (64 * np.finfo(np.float64).eps) ** 2

_EPS = float(np.finfo(np.float64).eps)
#: The record's ``poles`` lists the real roots of Q with |x| <= POLE_REACH (units of x);
#: farther roots (a nearly vanishing leading d_l) are ill-conditioned in float64.
POLE_REACH = 1e3


def fit(
    target: str | Target,
    *,
    basis: str = "monomial",
    denominator: str = "safe",
    degrees: tuple[int, int] | str = (5, 4),
    interval: tuple[float, float] = (-3.0, 3.0),
    objective: str = "l2",
    params: dict[str, float] | None = None,
    points: int = DEFAULT_POINTS,
    check_interval: tuple[float, float] | None = None,
    weight: str = "uniform",
    derivative_weight: float = 0.0,
    center: str = "none",
    drop: str | None = None,
) -> FitResult:
    """Fit the coefficients of a rational form g = P/Q to a target activation.

    Parameters
    ----------
    target : str or Target
        Built-in name (``"leaky_relu"``, ``"gelu"`` ...) or an expression in
        ``x`` such as ``"x*erf(x)"``.
    basis : str, default "monomial"
        ``monomial``, ``chebyshev1``, ``chebyshev2``, ``hermite1`` (HP-1),
        ``hermite2`` (HP-2), ``laguerre`` or ``legendre``.
    denominator : {"safe", "safe-abs-sum", "plain"}, default "safe"
    degrees : (int, int) or "K/L", default (5, 4)
        Numerator degree k and denominator degree l.
    interval : (float, float), default (-3, 3)
        Fit interval [a, b] (units of the activation's input).
    objective : {"l2", "max"}, default "l2"
        Least squares, or minimax (smallest maximum error, with certificate).
    params : dict, optional
        Target parameters (e.g. ``{"negative_slope": 0.2}``).
    points : int, default 4001
        Uniform grid points on the fit interval.
    check_interval : (float, float), optional
        Where errors are also reported; default: the fit interval scaled by
        5/3 about its centre ([-3, 3] -> [-5, 5]).
    weight : str, default "uniform"
        ``"uniform"``, ``"normal"`` (standard normal density) or ``"normal:SIGMA"``.
    derivative_weight : float, default 0
        lambda: also fit lambda * (g' - f') in least squares.
    center : {"none", "general", "drop-one", "all-zero"}, default "none"
        Zero-centring g(0) = 0 (the OPAU paper's cases 3, 2, 1).
    drop : str, optional
        ``"cI"``: the coefficient ``drop-one`` sets to 0; default: try each
        candidate and keep the best.

    Returns
    -------
    FitResult
        ``success``, ``status``, ``message``, coefficients (increasing
        degree; Q's leading 1 implicit), errors and ``to_dict()`` record.

    Notes
    -----
    g(x) = P(x) / Q(x), P = sum_i c_i f_i, Q as chosen by ``denominator``
    (docs/spec.md §3). The least-squares objective is sum_i w_i (g(x_i) - f(x_i))^2
    (+ lambda^2 w_i (g' - f')^2) on the uniform grid, w normalised to sum 1.

    References
    ----------
    .. [1] Molina et al., "Padé Activation Units", ICLR 2020.
    .. [2] Biswas et al., "Orthogonal-Padé Activation Functions", arXiv:2106.09693.
    """
    # the arguments above are make_spec's keywords, passed on as they are
    return fit_spec(make_spec(**locals()))


def _solve(
    problem: Problem,
    extra_starts: Sequence[np.ndarray] | None = None,
    coarse_points: int | None = None,
) -> Solution:
    """Run the solver for the objective (least squares, then minimax for ``max``)."""
    sol = _usual_starts(problem, coarse_points)
    if extra_starts:
        warm = solve_lsq(problem, extra_starts=list(extra_starts), only_extra=True)
        warm = replace(warm, start=warm.start.replace("extra-", "warm-"))
        # a near-tie goes to the warm start (fixed rule, not the last bits): the result
        # is then never worse than the function the warm start represents
        if warm.value <= sol.value * (1.0 + WARM_START_RTOL) + WARM_START_ATOL:
            sol = warm
    if problem.spec.objective == "max":
        from .minimax import solve_minimax  # imported lazily: LP machinery

        return solve_minimax(problem, sol)
    return sol


def _usual_starts(problem: Problem, coarse_points: int | None) -> Solution:
    """:func:`solve_lsq` with its own starts, searched on a coarser grid if asked.

    With ``coarse_points``, the whole start search runs on that many uniform
    points and only its winner is refined on the fit grid (as a single start).
    """
    if not coarse_points or coarse_points >= problem.spec.points:
        return solve_lsq(problem)
    coarse = solve_lsq(build_problem(problem.spec.with_(points=coarse_points)))
    if not np.isfinite(coarse.value) or coarse.start == "forced-zero":
        return solve_lsq(problem)
    z = np.linalg.lstsq(problem.N, coarse.numerator, rcond=None)[0]
    fine = solve_lsq(
        problem, extra_starts=[np.concatenate([z, coarse.denominator])], only_extra=True
    )
    if not np.isfinite(fine.value):  # pragma: no cover - the coarse solution is finite
        return solve_lsq(problem)
    return replace(
        fine,
        start=f"{coarse.start} on {coarse_points} points",
        nfev=coarse.nfev + fine.nfev,
        iterations=coarse.iterations + fine.iterations,
    )


def fit_spec(
    spec: FitSpec,
    *,
    extra_starts: Sequence[np.ndarray] | None = None,
    coarse_points: int | None = None,
) -> FitResult:
    """Fit a validated :class:`~opade_fit.problem.FitSpec` (see :func:`fit`).

    BLAS runs single-threaded during a fit: the matrices are tall and thin
    (grid x coefficients), where thread start-up costs 10-50x the work on a
    busy machine; parallelism comes from fitting several forms at once.

    Parameters
    ----------
    spec : FitSpec
    extra_starts : sequence of ndarray, optional
        Additional least-squares starts ``theta = (z, d)`` (free numerator
        coefficients, then d_1..d_l), refined apart from the usual ones; the
        warm-started solution is kept unless the usual starts are better by
        more than :data:`WARM_START_RTOL` (relative cost). ``opade
        sweep`` passes the lower-degree solution padded with zeros, which is
        the same function g, so the fit is never worse than it.
    coarse_points : int, optional
        Least squares only: search the usual starts on a uniform grid of this
        many points (e.g. 1001 for the default 4001) and refine only the
        winner on the fit grid, about 3x faster for ``safe-abs-sum``. The
        record's ``grid`` stays the fit grid and its errors are measured as
        always. Default: the full search on the fit grid (as the tables do).
    """
    if extra_starts and spec.center == "drop-one" and spec.drop is None:
        raise UsageError("`extra_starts` needs a fixed numerator parametrisation (give `drop`)")
    if coarse_points is not None and (
        isinstance(coarse_points, bool)
        or not isinstance(coarse_points, int | np.integer)
        or coarse_points < max(spec.form.n_coefficients, 2)
    ):
        raise UsageError(
            f"`coarse_points` must be an integer >= the number of coefficients "
            f"({spec.form.n_coefficients}) and 2, got {coarse_points!r}"
        )
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_spec(spec, extra_starts, coarse_points)


def _fit_spec(
    spec: FitSpec,
    extra_starts: Sequence[np.ndarray] | None = None,
    coarse_points: int | None = None,
) -> FitResult:
    if spec.center == "drop-one" and spec.drop is None:
        # try every admissible dropped coefficient, keep the best: objective values within
        # TIE_RTOL are ties, decided by the check-interval max error, then the lowest index
        results = [_fit_spec(spec.with_(drop=cand)) for cand in drop_candidates(spec.form)]
        if not results:  # no coefficient can be dropped: identical to general
            return _fit_spec(spec.with_(center="general"))
        keys = [(_objective_value(r), r.errors["check"]["max_abs"]) for r in results]
        floor = ROUNDING_FLOOR * _EPS
        return results[choose(keys, [(TIE_RTOL, floor), (TIE_RTOL, floor)])]
    problem = build_problem(spec)
    return _result(problem, _solve(problem, extra_starts, coarse_points))


def _objective_value(res: FitResult) -> float:
    if res.record["objective"] == "max":
        return res.errors["fit"]["max_abs"]
    return res.errors["fit"]["rms"]


def _result(problem: Problem, sol: Solution) -> FitResult:
    spec = problem.spec
    certificate, solver = sol.certificate, sol.solver_block()
    form = spec.form
    c = np.asarray(sol.numerator, dtype=np.float64)
    d = np.asarray(sol.denominator, dtype=np.float64)
    c = np.where(c == 0, 0.0, c)  # no negative zeros in JSON
    d = np.where(d == 0, 0.0, d)
    fit_err = measure_errors(form, spec.target, c, d, spec.interval)
    check_err = measure_errors(form, spec.target, c, d, spec.check_interval)
    if certificate is not None and spec.weight == "uniform":
        # weighted minimax certifies max w|g - f|; max_abs stays the plain max |g - f|
        fit_err["max_abs"] = certificate["upper_bound"]
    record = {
        "schema_version": list(SCHEMA_VERSION),
        "tool": tool_block(),
        "form": {
            "basis": form.basis,
            "denominator": form.denominator,
            "degrees": list(form.degrees),
        },
        "target": spec.target.to_dict(),
        "interval": list(spec.interval),
        "objective": spec.objective,
        "weight": spec.weight,
        "derivative_weight": spec.derivative_weight,
        "center": {
            "mode": spec.center,
            "dropped": problem.dropped if spec.center == "drop-one" else None,
            "constraint": problem.constraint,
        },
        "grid": {"kind": "uniform", "points": spec.points},
        "coefficients": {"numerator": [float(v) for v in c], "denominator": [float(v) for v in d]},
        "errors": {
            "fit": fit_err,
            "check": {"interval": list(spec.check_interval), **check_err},
        },
        "solver": solver,
        # every real root of Q (plain only), and those on the check interval
        "poles": form.poles(d, (-POLE_REACH, POLE_REACH)),
        "poles_in_check": form.poles(d, spec.check_interval),
        "certificate": certificate,
    }
    return FitResult(
        form=form,
        target=spec.target,
        numerator=tuple(record["coefficients"]["numerator"]),
        denominator=tuple(record["coefficients"]["denominator"]),
        success=bool(solver["success"]),
        status=int(solver["status"]),
        message=str(solver["message"]),
        record=record,
    )
