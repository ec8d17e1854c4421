"""Comparing a committed record with a regenerated one: what users depend on, within tolerances.

The fits are deterministic: on one machine the regenerated tables are
byte-identical. :func:`compare_records` allows for another BLAS / CPU with the
named tolerances below; :mod:`.checking` applies it to whole tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import UsageError
from ..result import FitResult

__all__ = [
    "ERROR_ATOL",
    "ERROR_RTOL",
    "FUNCTION_ATOL",
    "FUNCTION_GRID_POINTS",
    "FUNCTION_RTOL",
    "POLE_ATOL",
    "POLE_RTOL",
    "compare_records",
]

# regenerated tables are byte-identical; these allow for another BLAS / CPU).
#: Points of the uniform grid on the fit interval where committed and regenerated g are compared.
FUNCTION_GRID_POINTS = 2001
#: |g_committed - g_regenerated| <= FUNCTION_RTOL * (the entry's fit max error) + FUNCTION_ATOL.
FUNCTION_RTOL = 1e-3
#: Absolute floor of the function tolerance (exact fits such as identity have error ~1e-16).
FUNCTION_ATOL = 1e-10
#: Relative tolerance on stored errors and certificate bounds, per objective. The minimax
#: lower bound is certified at the first of minimax.CERT_GAMMAS (2e-4 below the upper
#: bound, or a larger step), so the bounds may move by that much.
ERROR_RTOL: dict[str, float] = {"l2": 1e-4, "max": 1e-3}
#: Absolute floor of the error tolerance.
ERROR_ATOL = 1e-12
#: Tolerance on the location p of a real root of Q (``poles``) on the guard interval:
#: POLE_ATOL + POLE_RTOL * |p|, in units of x.
POLE_ATOL = 1e-6
POLE_RTOL = 1e-6


_EXACT_FIELDS = (
    "schema_version",
    "form",
    "target",
    "interval",
    "objective",
    "weight",
    "derivative_weight",
    "center",
    "grid",
)
_ERROR_FIELDS = ("max_abs", "rms", "derivative_max_abs", "derivative_rms")
#: The stored error each objective minimises (a regenerated entry must not be worse in it).
_OBJECTIVE_ERROR = {"l2": "rms", "max": "max_abs"}


def _close(a: float, b: float, rtol: float) -> bool:
    return abs(a - b) <= rtol * max(abs(a), abs(b)) + ERROR_ATOL


def _poles_in(poles: Sequence[float], interval: tuple[float, float]) -> list[float]:
    a, b = interval
    return [p for p in poles if a <= p <= b]


def _same_poles(a: Sequence[float], b: Sequence[float]) -> bool:
    return len(a) == len(b) and all(
        abs(p - q) <= POLE_ATOL + POLE_RTOL * max(abs(p), abs(q)) for p, q in zip(a, b, strict=True)
    )


def compare_records(
    committed: dict[str, Any], fresh: dict[str, Any]
) -> tuple[list[str], list[str]]:
    """Compare a committed and a regenerated record of the same entry.

    Returns
    -------
    failures : list of str
        What users depend on and differs beyond the named tolerances: the
        inputs (:data:`_EXACT_FIELDS`, ``errors.check.interval``), g on
        :data:`FUNCTION_GRID_POINTS` points of the check interval, every stored
        error (:data:`ERROR_RTOL`), the certificate's bounds and scope, the
        real roots of Q on the guard interval (:data:`POLE_ATOL`,
        :data:`POLE_RTOL`); a regenerated entry worse in its objective's error
        is named as such.
    notes : list of str
        The solver's start label (``solver.method``), ``status`` and
        ``success`` when they differ: another machine may reach the same
        function from another start or stop by another rule.
    """
    out: list[str] = []
    notes: list[str] = []
    for name in _EXACT_FIELDS:
        if committed.get(name) != fresh.get(name):
            out.append(
                f"{name}: committed {committed.get(name)!r}, regenerated {fresh.get(name)!r}"
            )
    if committed.get("tool", {}).get("name") != fresh.get("tool", {}).get("name"):
        out.append(f"tool.name: committed {committed.get('tool')!r}")
    cs, fs = committed.get("solver", {}), fresh.get("solver", {})
    for name in ("method", "success", "status"):
        if cs.get(name) != fs.get(name):
            notes.append(f"solver.{name}: committed {cs.get(name)!r}, regenerated {fs.get(name)!r}")
    ce, fe = committed["errors"], fresh["errors"]
    check_iv = ce["check"].get("interval")
    if check_iv != fe["check"].get("interval"):
        out.append(
            f"errors.check.interval: committed {check_iv!r}, "
            f"regenerated {fe['check'].get('interval')!r}"
        )
    objective = committed.get("objective")
    rtol = ERROR_RTOL.get(objective, min(ERROR_RTOL.values()))
    cp, fp = committed.get("poles") or [], fresh.get("poles") or []
    ci = tuple(check_iv) if check_iv else tuple(committed["interval"])
    # a root of Q on the check interval makes its errors depend on the grid's distance to it
    pole_on_check = bool(_poles_in(cp, ci) or _poles_in(fp, ci))
    blocks = ["fit"] + ([] if pole_on_check else ["check"])
    key = _OBJECTIVE_ERROR.get(objective)
    for block in blocks:
        for name in _ERROR_FIELDS:
            a, b = ce[block][name], fe[block][name]
            if not _close(a, b, rtol):
                worse = (
                    " (the regenerated entry is worse)"
                    if (block, name)
                    == (
                        "fit",
                        key,
                    )
                    and b > a
                    else ""
                )
                out.append(
                    f"errors.{block}.{name}: committed {a:.6e}, regenerated {b:.6e} "
                    f"(relative difference {abs(a - b) / max(abs(a), abs(b)):.2e} > {rtol:g})"
                    + worse
                )
    from ..choice import guard_interval  # not on the get_init path

    guard = guard_interval(ci)
    if not _same_poles(_poles_in(cp, guard), _poles_in(fp, guard)):
        out.append(
            f"poles on [{guard[0]:g}, {guard[1]:g}]: committed {_poles_in(cp, guard)!r}, "
            f"regenerated {_poles_in(fp, guard)!r}"
        )
    elif not _same_poles(cp, fp):
        notes.append(
            f"poles (outside [{guard[0]:g}, {guard[1]:g}]): committed {cp!r}, regenerated {fp!r}"
        )
    cc, fc = committed.get("certificate"), fresh.get("certificate")
    if (cc is None) != (fc is None):
        out.append(f"certificate: committed {cc!r}, regenerated {fc!r}")
    elif cc is not None:
        for name in ("lower_bound", "upper_bound"):
            if not _close(cc[name], fc[name], rtol):
                out.append(
                    f"certificate.{name}: committed {cc[name]:.6e}, regenerated {fc[name]:.6e}"
                )
        if cc.get("scope") != fc.get("scope"):
            # the scope says which forms the lower bound covers; a lower bound of 0 (an
            # exact fit: nothing above rounding to certify) covers every form either way
            trivial = cc["lower_bound"] == 0 and fc["lower_bound"] == 0
            (notes if trivial else out).append(
                f"certificate.scope: committed {cc.get('scope')!r}, regenerated {fc.get('scope')!r}"
            )
    try:
        rc, rf = FitResult.from_dict(committed), FitResult.from_dict(fresh)
        a, b = committed["interval"] if pole_on_check else ci
        x = np.linspace(a, b, FUNCTION_GRID_POINTS)
        with np.errstate(all="ignore"):
            diff = float(np.max(np.abs(rc.evaluate(x) - rf.evaluate(x))))
        scale = (
            ce["fit"]["max_abs"]
            if pole_on_check
            else max(ce["fit"]["max_abs"], ce["check"]["max_abs"])
        )
        tol = FUNCTION_RTOL * scale + FUNCTION_ATOL
        if not diff <= tol:
            out.append(
                f"g differs by up to {diff:.3e} on [{a:g}, {b:g}] (tolerance {tol:.3e} = "
                f"{FUNCTION_RTOL:g} x the entry's max error there + {FUNCTION_ATOL:g})"
            )
    except (UsageError, KeyError, TypeError, ValueError) as exc:
        out.append(f"cannot evaluate the committed record: {exc}")
    return out, notes
