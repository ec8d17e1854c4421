"""The result of a solver: coefficients and the solver's report, one type for every solver.

:func:`opade_fit.lsq.solve_lsq` and :func:`opade_fit.minimax.solve_minimax`
both return a :class:`Solution`; :mod:`opade_fit.fitting` turns it into the
record's ``solver`` block (:meth:`Solution.solver_block`) and ``certificate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Solution"]


@dataclass(frozen=True)
class Solution:
    """Coefficients and diagnostics of one fit, whichever solver produced them.

    Attributes
    ----------
    numerator : ndarray
        c_0..c_k (increasing degree).
    denominator : ndarray
        d_1..d_l (increasing degree; the leading 1 of Q is implicit).
    value : float
        The solver's objective at the solution: half the sum of squared
        weighted residuals (least squares) or the weighted max error on the
        dense grid (minimax), in the target's units (squared for least squares).
    status : int
        Solver status code; its meaning is ``message``.
    success : bool
        Whether the status counts as converged.
    message : str
        Fixed sentence for ``status`` (the solver module's ``MESSAGES``).
    method : str
        The method, with ``{start}`` where the record names the start: the
        record's ``solver.method`` is ``method.format(start=start)``.
    start : str
        Name of the winning start (least squares) or LP family (minimax).
    iterations : int
        Jacobian evaluations (least squares) or differential-correction steps (minimax).
    nfev : int
        Function evaluations (least squares) or LPs solved (minimax).
    certificate : dict or None
        Minimax only: ``lower_bound, upper_bound, gap, scope``.
    """

    numerator: np.ndarray
    denominator: np.ndarray
    value: float
    status: int
    success: bool
    message: str
    method: str
    start: str
    iterations: int
    nfev: int
    certificate: dict[str, Any] | None = None

    def solver_block(self) -> dict[str, Any]:
        """The record's ``solver`` object: method, success, status, message, iterations, nfev."""
        return {
            "method": self.method.format(start=self.start),
            "success": bool(self.success),
            "status": int(self.status),
            "message": self.message,
            "iterations": int(self.iterations),
            "nfev": int(self.nfev),
        }
