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

Modules
-------
:mod:`.grid` (the requested grid and each fit's identity), :mod:`.run`
(fitting with warm starts, scheduled by degree), :mod:`.records` (the
``records.jsonl`` lines) and :mod:`.summary` (checks and the summary files).
Every public name of these modules is importable from ``opade_fit.sweeps``
(each module's ``__all__``).
"""

from __future__ import annotations

from . import grid, records, run, summary
from .grid import *  # noqa: F403
from .records import *  # noqa: F403
from .run import *  # noqa: F403
from .summary import *  # noqa: F403

__all__ = [*grid.__all__, *records.__all__, *run.__all__, *summary.__all__]
