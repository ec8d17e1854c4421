"""The result of a solver: coefficients and the solver's report, one type for both solvers.

:func:`opade_fit.lsq.solve_lsq` and :func:`opade_fit.minimax.solve_minimax`
both return a :class:`Solution`; :mod:`opade_fit.fitting` writes its
:meth:`~Solution.solver_block` and ``certificate`` into the record.
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
        weighted residuals (least squares; target units squared) or the
        weighted max error on the dense grid (minimax; target units).
    status : int
        Solver status code; ``message`` says what it means.
    success : bool
        Whether the status counts as converged.
    message : str
        The fixed sentence for ``status`` (the solver module's ``MESSAGES``).
    method : str
        The record's ``solver.method`` with ``{start}`` where the start's name goes
        (``method.format(start=start)``), so a renamed start renames the method.
    start : str
        The winning start (least squares) or sign-pattern family (minimax).
    iterations : int
        Jacobian evaluations (least squares) or differential-correction steps (minimax).
    nfev : int
        Function evaluations (least squares) or LPs solved (minimax).
    candidates : tuple
        Least squares: every refined candidate, the winner among them, as
        ``(numerator, denominator, start, value)`` in the fixed start order (the
        minimax fit of ``safe-abs-sum`` tries their sign patterns of B); else empty.
    certificate : dict or None
        Minimax: ``lower_bound, upper_bound, gap, scope``; None for least squares.
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
    candidates: tuple = ()
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
