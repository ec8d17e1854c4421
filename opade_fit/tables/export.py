"""Export of table records for other libraries (``opade tables export``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import FitError, UsageError, suggest
from ..problem import OBJECTIVES
from ..targets import TARGET_NAMES, get_target

__all__ = ["RATIONAL_VERSIONS", "export_flat", "export_rational_activations"]

#: rational_activations' version letter of each monomial denominator (docs/tables.md).
RATIONAL_VERSIONS: dict[str, str] = {"safe": "A", "safe-abs-sum": "B", "plain": "N"}


def export_rational_activations(
    records: Iterable[dict[str, Any]], *, objective: str = "l2"
) -> dict[str, dict[str, dict[str, Any]]]:
    """The monomial entries in rational_activations' ``rationals_config.json`` layout.

    ``{"Rational_version_A5/4": {"leaky_relu": {"init_w_numerator": [...],
    "init_w_denominator": [...], "lb": -3.0, "ub": 3.0}}}``: version ``A`` =
    ``safe``, ``B`` = ``safe-abs-sum``, ``N`` = ``plain``. Exported: monomial
    entries with uniform weight, no zero-centring, derivative weight 0,
    default target parameters (the layout has no place for parameters, so a
    name must mean the defaults) and the requested ``objective`` (the layout
    has no place for it either: export ``l2`` and ``max`` to separate files).

    Raises
    ------
    UsageError
        Unknown ``objective``.
    FitError
        Two exported entries would share one key (e.g. two intervals).
    """
    if objective not in OBJECTIVES:
        raise UsageError(
            f"`objective` must be one of {', '.join(OBJECTIVES)}, got {objective!r}"
            + suggest(str(objective), OBJECTIVES)
        )
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for rec in records:
        form = rec["form"]
        if (
            form["basis"] != "monomial"
            or rec["objective"] != objective
            or rec["weight"] != "uniform"
            or rec["center"]["mode"] != "none"
            or rec["derivative_weight"] != 0.0
        ):
            continue
        name = rec["target"]["name"]
        defaults = get_target(name).to_dict()["params"] if name in TARGET_NAMES else None
        if defaults is None or rec["target"]["params"] != defaults:
            continue
        k, l = form["degrees"]
        version = f"Rational_version_{RATIONAL_VERSIONS[form['denominator']]}{k}/{l}"
        block = out.setdefault(version, {})
        if name in block:
            raise FitError(
                f"two entries export to {version}/{name} (e.g. different intervals); "
                "the rational_activations layout holds one per name"
            )
        lb, ub = rec["interval"]
        block[name] = {
            "init_w_numerator": list(rec["coefficients"]["numerator"]),
            "init_w_denominator": list(rec["coefficients"]["denominator"]),
            "lb": float(lb),
            "ub": float(ub),
        }
    return out


def export_flat(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat object per entry: the inputs, coefficients and headline errors.

    Keys: ``basis, denominator, degrees, target, params, interval, objective,
    weight, derivative_weight, center, dropped, coefficients {numerator,
    denominator}, fit_max_abs, fit_rms, check_interval, check_max_abs,
    check_rms, lower_bound`` (minimax only, else null), ``poles``.
    """
    out = []
    for rec in records:
        cert = rec.get("certificate") or {}
        err = rec["errors"]
        out.append(
            {
                "basis": rec["form"]["basis"],
                "denominator": rec["form"]["denominator"],
                "degrees": list(rec["form"]["degrees"]),
                "target": rec["target"]["name"],
                "params": dict(rec["target"]["params"]),
                "interval": list(rec["interval"]),
                "objective": rec["objective"],
                "weight": rec["weight"],
                "derivative_weight": rec["derivative_weight"],
                "center": rec["center"]["mode"],
                "dropped": rec["center"]["dropped"],
                "coefficients": {
                    "numerator": list(rec["coefficients"]["numerator"]),
                    "denominator": list(rec["coefficients"]["denominator"]),
                },
                "fit_max_abs": err["fit"]["max_abs"],
                "fit_rms": err["fit"]["rms"],
                "check_interval": list(err["check"]["interval"]),
                "check_max_abs": err["check"]["max_abs"],
                "check_rms": err["check"]["rms"],
                "lower_bound": cert.get("lower_bound"),
                "poles": list(rec.get("poles") or []),
            }
        )
    return out
