"""Initial coefficients for the framework layers (PyTorch, Keras), framework-free.

A layer is initialised from one of: a table entry (:func:`opade_fit.get_init`),
a fit record (schema 1.x, a :class:`~opade_fit.result.FitResult` or a table
entry), explicit coefficients, or random values. This module resolves the
first two into float64 numpy arrays ``c_0..c_k`` and ``d_1..d_l`` (increasing
degree, the leading 1 of Q implicit) plus the record they came from, so that
every layer reads tables and records the same way. It imports no framework.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from .errors import UsageError
from .forms import RationalForm
from .result import FitResult

__all__ = [
    "INIT_RANDOM",
    "RANDOM_INIT_STD",
    "LayerInit",
    "check_init_name",
    "from_record",
    "from_table",
    "plain_record",
]

#: Value of ``init`` that draws random coefficients instead of reading a table.
INIT_RANDOM = "random"
#: Standard deviation of the normal distribution used by ``init="random"``.
RANDOM_INIT_STD = 0.1


class LayerInit(NamedTuple):
    """Resolved initial values of a layer.

    Attributes
    ----------
    form : RationalForm
        Basis, denominator kind and degrees.
    numerator : ndarray, shape (k + 1,)
        c_0..c_k (float64, increasing degree).
    denominator : ndarray, shape (l,)
        d_1..d_l (float64, increasing degree).
    record : dict
        The fit record the values come from.
    name : str
        The target's name in the record (e.g. ``"leaky_relu"``).
    """

    form: RationalForm
    numerator: np.ndarray
    denominator: np.ndarray
    record: dict[str, Any]
    name: str


def check_init_name(init: Any) -> bool:
    """Validate ``init`` (a target name or ``"random"``); True when it asks for random values.

    Raises
    ------
    UsageError
        If ``init`` is not a string.
    """
    if not isinstance(init, str):
        raise UsageError(
            f"`init` must be a target name or 'random', got {init!r}; "
            "use `coefficients=` or `OPAU.from_record` for explicit values"
        )
    return init.strip().lower() == INIT_RANDOM


def plain_record(obj: Any) -> dict[str, Any]:
    """The plain dict of a record, :class:`FitResult` or table entry (anything with `.record`)."""
    inner = getattr(obj, "record", obj)
    if not isinstance(inner, Mapping):
        raise UsageError(f"`record` must be a fit record (a mapping), got {type(obj).__name__}")
    return dict(inner)


def from_record(record: Mapping[str, Any] | FitResult | Any) -> LayerInit:
    """Form and coefficients of a fit record (schema 1.x), a :class:`FitResult` or a table entry.

    Raises
    ------
    UsageError
        If ``record`` is not a fit record of a supported schema version.
    """
    result = record if isinstance(record, FitResult) else FitResult.from_dict(plain_record(record))
    return LayerInit(
        result.form,
        np.asarray(result.numerator, dtype=np.float64),
        np.asarray(result.denominator, dtype=np.float64),
        dict(result.record),
        result.target.name,
    )


def from_table(
    init: str,
    form: RationalForm,
    *,
    objective: str = "l2",
    center: str = "none",
    weight: str = "uniform",
    interval: tuple[float, float] = (-3.0, 3.0),
    params: Mapping[str, float] | None = None,
) -> LayerInit:
    """The table entry of target ``init`` for ``form`` (see :func:`opade_fit.get_init`).

    Raises
    ------
    UsageError
        No such entry (the message names the closest ones), invalid arguments,
        or an entry whose form differs from ``form``.
    """
    from . import get_init  # lazy: the tables are only read when asked for

    entry = get_init(
        init,
        basis=form.basis,
        denominator=form.denominator,
        degrees=form.degrees,
        objective=objective,
        center=center,
        weight=weight,
        interval=tuple(interval),
        params=None if params is None else dict(params),
    )
    record = plain_record(entry)
    try:
        rf = record["form"]
        rec_form = RationalForm(rf["basis"], rf["denominator"], tuple(rf["degrees"]))
        coef = record["coefficients"]
        c, d = list(coef["numerator"]), list(coef["denominator"])
    except (KeyError, TypeError) as exc:
        raise UsageError(f"`record` is not a fit record (schema 1.x): missing {exc}") from None
    if rec_form != form:
        raise UsageError(
            f"the table entry is for {rec_form.label()}, but the layer is {form.label()}"
        )
    name = str(record.get("target", {}).get("name", init))
    return LayerInit(
        form, np.asarray(c, dtype=np.float64), np.asarray(d, dtype=np.float64), record, name
    )
