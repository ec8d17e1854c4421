"""Initial coefficients for the framework layers (PyTorch, Keras), framework-free.

A layer is initialised from one of: a table entry (:func:`opade_fit.get_init`),
a fit record (schema 1.x, a :class:`~opade_fit.result.FitResult` or a table
entry), explicit coefficients, or random values. This module resolves all
four into float64 numpy arrays ``c_0..c_k`` and ``d_1..d_l`` (increasing
degree, the leading 1 of Q implicit), shaped and validated for one
coefficient set or one per channel, plus the record they came from
(:func:`initial_coefficients`), so that every layer reads tables, records and
arguments the same way; a framework layer only turns the arrays into its
parameters. It also imports a layer's framework with the one error message
format (:func:`import_framework`). It imports no framework itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from .errors import UsageError
from .forms import RationalForm
from .result import FitResult

__all__ = [
    "INIT_RANDOM",
    "RANDOM_INIT_STD",
    "InitialCoefficients",
    "LayerInit",
    "check_init_name",
    "check_num_parameters",
    "from_record",
    "from_table",
    "import_framework",
    "initial_coefficients",
    "plain_record",
    "shaped_coefficients",
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


class InitialCoefficients(NamedTuple):
    """A layer's validated initial values (:func:`initial_coefficients`).

    Attributes
    ----------
    numerator : ndarray, shape (k + 1,) or (C, k + 1)
        c_0..c_k (float64, increasing degree), one row per channel when C > 1.
    denominator : ndarray, shape (l,) or (C, l)
        d_1..d_l likewise.
    record : dict or None
        The fit record the values come from (None for random or explicit values).
    name : str
        Where the values came from: the target name, ``"random"`` or ``"coefficients"``.
    """

    numerator: np.ndarray
    denominator: np.ndarray
    record: dict[str, Any] | None
    name: str


def check_num_parameters(num_parameters: Any) -> int:
    """Validate ``num_parameters`` (an integer >= 1: coefficient sets, one per channel).

    Raises
    ------
    UsageError
        If it is not an integer >= 1.
    """
    if isinstance(num_parameters, bool) or not isinstance(num_parameters, int | np.integer):
        raise UsageError(f"`num_parameters` must be an integer >= 1, got {num_parameters!r}")
    if num_parameters < 1:
        raise UsageError(f"`num_parameters` must be an integer >= 1, got {num_parameters!r}")
    return int(num_parameters)


def shaped_coefficients(
    values: Any, n: int, channels: int, name: str, form: RationalForm
) -> np.ndarray:
    """Validate coefficients and shape them (n,) for one set, (C, n) per channel (float64).

    A flat (n,) vector is copied to every channel; a (C, n) array is used as
    it is (and flattened when C = 1).

    Raises
    ------
    UsageError
        For values that are not numbers, not finite, or of another shape.
    """
    try:
        t = np.array(np.asarray(values, dtype=np.float64))
    except (TypeError, ValueError):
        raise UsageError(f"`{name}` coefficients must be numbers, got {values!r}") from None
    if t.ndim == 1 and t.shape[0] == n:
        t = t if channels == 1 else np.tile(t, (channels, 1))
    elif t.ndim == 2 and t.shape == (channels, n):
        t = t.reshape(n) if channels == 1 else t
    else:
        raise UsageError(
            f"`{name}` coefficients must have shape ({n},) or ({channels}, {n}) for "
            f"{form.label()} with num_parameters={channels}, got {tuple(t.shape)}"
        )
    if not np.all(np.isfinite(t)):
        raise UsageError(f"`{name}` coefficients must be finite, got {t.tolist()}")
    return t


def initial_coefficients(
    form: RationalForm,
    *,
    init: str,
    coefficients: tuple[Any, Any] | None,
    num_parameters: int,
    standard_normal: Callable[[int], Any],
    objective: str = "l2",
    center: str = "none",
    weight: str = "uniform",
    interval: tuple[float, float] = (-3.0, 3.0),
    params: Mapping[str, float] | None = None,
) -> InitialCoefficients:
    """A layer's initial coefficients, from explicit values, random draws or a table entry.

    In that order of precedence: ``coefficients=(c, d)`` if given; for
    ``init="random"`` c and d drawn from N(0, RANDOM_INIT_STD^2), k + 1 then
    l values from ``standard_normal(size)`` (the framework's generator, so that
    a seeded layer is reproducible); else the table entry of target ``init``
    (:func:`from_table`, with the table-selection arguments).

    Parameters
    ----------
    form : RationalForm
        The layer's basis, denominator kind and degrees (k, l).
    init : str
        A target name or ``"random"``.
    coefficients : (numerator, denominator) or None
        Explicit values, flat or per channel (:func:`shaped_coefficients`).
    num_parameters : int
        Coefficient sets: 1, or one per channel.
    standard_normal : callable
        ``size -> size`` draws from N(0, 1) (array-like).
    objective, center, weight, interval, params
        Which table entry to read (:func:`opade_fit.get_init`).

    Returns
    -------
    InitialCoefficients
        Validated float64 arrays, shaped (k + 1,) / (l,) or (C, k + 1) / (C, l).

    Raises
    ------
    UsageError
        For invalid arguments or values, or a table entry that does not exist.
    """
    channels = check_num_parameters(num_parameters)
    random = check_init_name(init)
    record: dict[str, Any] | None = None
    if coefficients is not None:
        try:
            c, d = coefficients
        except (TypeError, ValueError):
            raise UsageError(
                f"`coefficients` must be a pair (numerator, denominator), got {coefficients!r}"
            ) from None
        name = "coefficients"
    elif random:
        c = RANDOM_INIT_STD * np.asarray(standard_normal(form.k + 1), dtype=np.float64)
        d = RANDOM_INIT_STD * np.asarray(standard_normal(form.l), dtype=np.float64)
        name = INIT_RANDOM
    else:
        entry = from_table(
            init,
            form,
            objective=objective,
            center=center,
            weight=weight,
            interval=interval,
            params=params,
        )
        c, d, record, name = entry.numerator, entry.denominator, entry.record, entry.name
    return InitialCoefficients(
        shaped_coefficients(c, form.k + 1, channels, "numerator", form),
        shaped_coefficients(d, form.l, channels, "denominator", form),
        record,
        name,
    )


def import_framework(module: str, layer: str, requirement: str, install: str) -> ModuleType:
    """Import a layer's framework, or raise ImportError saying how to install it.

    Parameters
    ----------
    module : str
        The framework's module name (``"torch"``, ``"keras"``).
    layer : str
        The opade_fit module that needs it (named in the message).
    requirement : str
        What is needed, e.g. ``"PyTorch"``.
    install : str
        The install instructions, appended to the message.

    Raises
    ------
    ImportError
        ``"<layer> needs <requirement>, which is an optional extra of opade-fit.
        <install>"`` when the module cannot be imported.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise ImportError(
            f"{layer} needs {requirement}, which is an optional extra of opade-fit. {install}"
        ) from exc
