"""The grid of a sweep: degree ranges, name lists, and the identity of one fit."""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..errors import UsageError, suggest
from ..forms import parse_degrees
from ..problem import FitSpec
from ..targets import Target

__all__ = ["COARSE_POINTS", "degree_pairs", "fit_key", "names", "parse_degree_range", "target_key"]

#: Default grid of the start search (``coarse_points`` of fit_spec): 4x fewer points than
#: the fit grid; the winner is refined on the fit grid (docs/sweep.md "Speed").
COARSE_POINTS = 1001


def parse_degree_range(value: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """Parse ``"K1/L1..K2/L2"`` (or a single ``"K/L"``) into ``((K1, L1), (K2, L2))``.

    Raises
    ------
    UsageError
        If the text is not of that form, or K1 > K2 or L1 > L2.
    """
    text = str(value).strip()
    rule = "must be K1/L1..K2/L2 (e.g. 2/1..12/11) or one K/L"
    parts = text.split("..")
    if len(parts) > 2:
        raise UsageError(f"`degrees` {rule}; got {value!r}")
    try:
        lo, hi = parse_degrees(parts[0]), parse_degrees(parts[-1])
    except UsageError:
        raise UsageError(f"`degrees` {rule}; got {value!r}") from None
    if lo[0] > hi[0] or lo[1] > hi[1]:
        raise UsageError(f"`degrees` {rule} with K1 <= K2 and L1 <= L2; got {value!r}")
    return lo, hi


def names(values: str | Sequence[str] | None, valid: Sequence[str], arg: str) -> tuple[str, ...]:
    """The names ``values`` lists (comma-separated or a sequence; ``all`` = every ``valid``).

    Raises
    ------
    UsageError
        A name not in ``valid`` or none at all; the message names the argument ``arg``.
    """
    if values is None:
        raise UsageError(f"`{arg}` must name at least one of {', '.join(valid)} or 'all'")
    items = [values] if isinstance(values, str) else list(values)
    out: list[str] = []
    for item in items:
        for v in str(item).split(","):
            v = v.strip().lower()
            if not v:
                continue
            if v == "all":
                out.extend(valid)
            elif v in valid:
                out.append(v)
            else:
                raise UsageError(
                    f"`{arg}` must be one of {', '.join(valid)} or 'all', got {v!r}"
                    + suggest(v, valid)
                )
    if not out:
        raise UsageError(f"`{arg}` must name at least one of {', '.join(valid)} or 'all'")
    return tuple(dict.fromkeys(out))  # keep the order, drop repeats


def degree_pairs(
    lo: tuple[int, int], hi: tuple[int, int], all_pairs: bool
) -> list[tuple[int, int]]:
    """Every (k, l) with lo <= (k, l) <= hi componentwise, and l <= k unless ``all_pairs``.

    Raises
    ------
    UsageError
        The range holds no such pair.
    """
    pairs = [
        (k, l)
        for k in range(lo[0], hi[0] + 1)
        for l in range(lo[1], hi[1] + 1)
        if all_pairs or l <= k
    ]
    if not pairs:
        raise UsageError(
            f"`degrees` {lo[0]}/{lo[1]}..{hi[0]}/{hi[1]} holds no pair with l <= k "
            "(pass all_pairs=True / --all-pairs to fit l > k)"
        )
    return pairs


def target_key(target: Target) -> str:
    """A target's identity as text (its record block, keys sorted): one sweep group per target."""
    return json.dumps(target.to_dict(), sort_keys=True)


def fit_key(spec: FitSpec, coarse_points: int | None = None) -> str:
    """The identity of one sweep fit (target, form, interval, objective, grids), as text."""
    return json.dumps(
        {
            "coarse_points": coarse_points
            if coarse_points and coarse_points < spec.points
            else None,
            "target": spec.target.to_dict(),
            "basis": spec.form.basis,
            "denominator": spec.form.denominator,
            "degrees": list(spec.form.degrees),
            "interval": list(spec.interval),
            "objective": spec.objective,
            "points": spec.points,
        },
        sort_keys=True,
    )
