"""The linear programs of the minimax fit (:mod:`opade_fit.minimax`).

Linear structure
----------------
For a level h, ``w |f Q - P| <= h Q`` at a point is linear in (z, d) once
Q is linear in d, ``Q = 1 + sum_j d_j phi_j`` with the rows phi_j of the
form's :class:`~opade_fit.denominators.Denominator`
(:meth:`~opade_fit.denominators.Denominator.linear_rows`):

* ``safe``: phi_j = |f_j| with d_j >= 0 standing for |d_j| (``nonnegative_d``);
* ``plain``: phi_j = f_j, plus ``Q >= lp_q_min`` (1e-3) at the points;
* ``safe-abs-sum``: for a fixed sign pattern s(x) of B = sum_j d_j f_j,
  phi_j = s f_j, plus ``s B >= 0`` at the points (then 1 + s B = 1 + |B|).

One such choice is an LP *family* (:class:`Family`). :func:`solve_lp` solves
one LP of the differential correction or of the certificate in scaled
variables around the incumbent: ``theta = theta_k + hs D u`` and
``t = hs tau`` with D the inverse column norms, so all entries and right-hand
sides are O(1) whatever the error level (a cold start makes HiGHS report
false infeasibility near 1e-9).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linprog

from .denominators import Denominator
from .lsq import MAX_SAFE_D

__all__ = ["TAU_MIN", "TRUST_Q", "Family", "Points", "level_on", "solve_lp"]

#: Lower bound on tau in every LP (harmless for the certificate, keeps LPs bounded).
TAU_MIN = -100.0
#: Differential-correction steps keep Q <= TRUST_Q * Q_k at the points (normalisation).
TRUST_Q = 4.0


@dataclass
class Points:
    """The LP points with the data every LP needs there."""

    x: np.ndarray
    f: np.ndarray  # target
    w: np.ndarray  # weight
    F: np.ndarray  # basis values (max(k,l)+1, m)


@dataclass
class Family:
    """One LP family: Q = 1 + d . phi(x) with the denominator's side constraints.

    ``sign`` is the fixed sign pattern s(x) of B (a callable) for a kind with
    ``sign_pattern``, else None. ``steps``, ``lps`` and ``failed`` count the
    work done in the family.
    """

    name: str
    den: Denominator
    sign: Any = None
    steps: int = 0
    lps: int = 0
    failed: bool = False

    def rows(self, F: np.ndarray, l: int, x: np.ndarray) -> np.ndarray:
        """phi_1..phi_l at the points x (shape (l, m)); F the basis values there."""
        return self.den.linear_rows(F, l, sign=None if self.sign is None else self.sign(x))


def level_on(pts: Points, fam: Family, theta: np.ndarray, N: np.ndarray, k: int) -> float:
    """Weighted max error at the LP points, or inf if a side constraint fails.

    ``theta = (z, d)`` with the numerator ``c = N z`` of degree k.
    """
    nz = N.shape[1]
    z, d = theta[:nz], theta[nz:]
    P = z @ (N.T @ pts.F[: k + 1])
    Qp = 1.0 + d @ fam.rows(pts.F, d.size, pts.x)
    den = fam.den
    if den.lp_q_min_imposed and np.any(Qp < den.lp_q_min * (1 - 1e-9)):
        return np.inf
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        e = np.abs(pts.w * (pts.f - P / Qp))
    return float(np.max(e)) if np.all(np.isfinite(e)) else np.inf


def solve_lp(
    pts: Points,
    fam: Family,
    theta: np.ndarray,
    h: float,
    hs: float,
    N: np.ndarray,
    k: int,
    *,
    trust: float | None = TRUST_Q,
) -> tuple[float, np.ndarray] | None:
    """min tau s.t. (w|fQ - P| - hQ)/rho <= hs*tau, in u with theta = theta_k + hs*D*u.

    Parameters
    ----------
    pts : Points
    fam : Family
    theta : ndarray
        The incumbent ``(z, d)`` (numerator ``c = N z`` of degree k).
    h, hs : float
        The level (target units) and the scale of the step variables.
    N : ndarray
    k : int
    trust : float or None, default TRUST_Q
        Also Q <= trust * rho at the points (the differential correction's
        normalisation). None gives the certificate LP: the form is read
        homogeneously, Q = q_0 + sum_j d_j phi_j with q_0 >= 0 free and the
        scale fixed by one linear equation.

    Returns
    -------
    (tau, theta_new) or None
        None if HiGHS failed.
    """
    nz = N.shape[1]
    z, d = theta[:nz], theta[nz:]
    l = d.size
    den = fam.den
    psi = N.T @ pts.F[: k + 1]  # (nz, m)
    phi = fam.rows(pts.F, l, pts.x)  # (l, m)
    P = z @ psi
    Qp = 1.0 + d @ phi
    lim = den.lp_q_min
    rho = np.maximum(np.abs(Qp), lim)
    if den.sign_pattern:
        rho = np.maximum(rho, den.q(pts.F, d))
    w, f = pts.w, pts.f
    r0 = w * (f * Qp - P) / rho
    q0 = Qp / rho
    Mz = (w * psi / rho).T  # (m, nz)
    Md1 = (((w * f - h) / rho) * phi).T
    Md2 = (((-w * f - h) / rho) * phi).T
    # the column of q_0, the constant term of Q (1 for the family; free in the
    # certificate, where the form is read homogeneously)
    Mq1 = ((w * f - h) / rho)[:, None]
    Mq2 = ((-w * f - h) / rho)[:, None]
    A1 = np.hstack([-Mz, Md1, Mq1])
    A2 = np.hstack([Mz, Md2, Mq2])
    col = np.max(np.abs(np.vstack([A1, A2])), axis=0)
    col[~(col > 0)] = 1.0
    D = 1.0 / col
    m = len(f)
    blocks = [A1 * D, A2 * D]
    rhs = [(h * q0 - r0) / hs, (h * q0 + r0) / hs]
    taus = [-np.ones(m), -np.ones(m)]
    zeros = np.zeros((m, nz))
    if den.lp_q_min_imposed and l > 0:  # Q >= lim * q_0 (plain), s B >= 0 (safe-abs-sum)
        side = np.hstack([zeros, -(phi / rho).T, -((1.0 - lim) / rho)[:, None]]) * D
        blocks.append(side)
        rhs.append((q0 - lim / rho) / hs)
        taus.append(np.zeros(m))
    if trust is not None and l > 0:
        blocks.append(np.hstack([zeros, (phi / rho).T, np.zeros((m, 1))]) * D)
        rhs.append((trust - q0) / hs)
        taus.append(np.zeros(m))
    A = np.vstack(blocks)
    A = np.hstack([A, np.concatenate(taus)[:, None]])
    bvec = np.concatenate(rhs)
    n = nz + l + 1
    bounds = [(None, None)] * nz
    homogeneous = trust is None
    if den.nonnegative_d:
        # descent steps keep |d_j| <= MAX_SAFE_D like least squares; the
        # homogeneous certificate LP stays unbounded (a bound for every form)
        bounds += [
            (
                -d[j] / (hs * D[nz + j]),
                None if homogeneous else max(MAX_SAFE_D - d[j], 0.0) / (hs * D[nz + j]),
            )
            for j in range(l)
        ]
    else:
        bounds += [(None, None)] * l
    bounds.append((-1.0 / (hs * D[-1]), None) if homogeneous else (0.0, 0.0))
    bounds.append((TAU_MIN, None))
    eq = {}
    if homogeneous:  # scale: sum_i Q(x_i)/rho_i stays at its incumbent value
        row = np.concatenate([np.zeros(nz), np.sum(phi / rho, axis=1), [np.sum(1.0 / rho)]])
        row = row * D
        eq = {
            "A_eq": np.concatenate([row / np.max(np.abs(row)), [0.0]])[None, :],
            "b_eq": [0.0],
        }
    cost = np.zeros(n + 1)
    cost[-1] = 1.0
    fam.lps += 1
    # presolve costs 5x the solve on these tall, dense, well-scaled LPs
    res = linprog(
        cost,
        A_ub=A,
        b_ub=bvec,
        bounds=bounds,
        method="highs",
        options={"presolve": False},
        **eq,
    )
    if res.status != 0 or res.x is None or not np.all(np.isfinite(res.x)):
        return None
    step = hs * D * res.x[:n]
    new = theta + step[:-1]
    q_const = 1.0 + step[-1]
    if homogeneous:  # back to q_0 = 1 (q_0 -> 0 is the limit of huge coefficients)
        new = new / q_const if q_const > 1e-12 else theta.copy()
    if den.nonnegative_d:
        new[nz:] = np.maximum(new[nz:], 0.0)
    return float(res.x[-1]), new
