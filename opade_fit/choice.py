"""Choosing among candidate fits so that the last bits never decide (issue 11).

Every solver choice among candidates -- least-squares starts, ``drop-one``
coefficients, minimax sign-pattern families -- goes through :func:`choose`:
lexicographic keys, each compared with a stated tolerance, and the fixed
candidate order for what is still tied. The keys they share are here too:
the max error on the check interval (:func:`check_error`) and the roots of a
``plain`` Q on the guard interval (:func:`guard_poles`). docs/fitting.md
("Choosing among candidates") states the rules.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .problem import Problem

__all__ = ["CHECK_POINTS", "check_error", "choose", "guard_interval", "guard_poles"]

#: Points of the check-interval grid on which tied candidates are compared.
CHECK_POINTS = 2001


def choose(keys: Sequence[Sequence[float]], tolerances: Sequence[tuple[float, float]]) -> int:
    """Index of the best candidate: lexicographic keys, each compared with a tolerance.

    Candidate i ties with the best on key j when ``key_ij <= m_j + rtol_j *
    |m_j| + atol_j``, m_j the smallest key j among the candidates still tied;
    the first key that separates them decides, and candidates tied on every key
    go by their fixed order (the lowest index). So a difference at rounding
    level (another BLAS kernel or SIMD path) never decides, unlike ``argmin``.

    Parameters
    ----------
    keys : sequence of sequences of float
        One row per candidate, most important key first (smaller is better;
        non-finite keys lose).
    tolerances : sequence of (rtol, atol)
        One pair per key.

    Returns
    -------
    int
        The chosen row.
    """
    if not keys:
        raise ValueError("no candidates to choose from")
    alive = list(range(len(keys)))
    for j, (rtol, atol) in enumerate(tolerances):
        vals = [float(keys[i][j]) for i in alive]
        finite = [v for v in vals if np.isfinite(v)]
        if not finite:
            continue
        m = min(finite)
        lim = m + rtol * abs(m) + atol
        alive = [i for i, v in zip(alive, vals, strict=True) if np.isfinite(v) and v <= lim]
        if len(alive) == 1:
            break
    return alive[0]


def check_error(problem: Problem, theta: np.ndarray) -> float:
    """max |g - f| on :data:`CHECK_POINTS` uniform points of the check interval (inf at a pole).

    ``theta = (z, d)``: the free numerator coefficients (``c = N z``), then d_1..d_l.
    In the target's units.
    """
    a, b = problem.spec.check_interval
    x = np.linspace(a, b, CHECK_POINTS)
    nz = problem.N.shape[1]
    with np.errstate(all="ignore"):
        g = problem.form.evaluate(x, problem.N @ theta[:nz], theta[nz:])
        v = float(np.max(np.abs(g - problem.spec.target(x))))
    return v if np.isfinite(v) else np.inf


def guard_interval(check_interval: tuple[float, float]) -> tuple[float, float]:
    """The check interval widened by its own length on each side: [a - L, b + L], L = b - a.

    ``plain`` fits prefer candidates without a root of Q there, and a
    ``plain`` init-table entry must have none there (docs/tables.md).
    """
    a, b = check_interval
    length = b - a
    return (a - length, b + length)


def guard_poles(problem: Problem, d: np.ndarray) -> int:
    """Number of real roots of Q on the guard interval (:func:`guard_interval`); 0 unless plain."""
    if problem.form.denominator != "plain":
        return 0
    return len(problem.form.poles(d, guard_interval(problem.spec.check_interval)))
