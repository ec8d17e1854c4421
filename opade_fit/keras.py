"""Keras 3 layer for safe Padé / orthogonal-Padé activations: :class:`OPAU`.

This module is optional: it needs the ``keras`` extra (``pip install
'opade-fit[keras]'``, which installs ``keras>=3``) and one Keras backend of
your choice (``tensorflow`` or ``tensorflow-cpu``, ``jax``, or ``torch``),
chosen as Keras documents it: the ``KERAS_BACKEND`` environment variable or
``~/.keras/keras.json``, fixed when Keras is first imported.
``import opade_fit`` never imports Keras.

The layer computes exactly the function of a fit record::

    g(x) = P(x) / Q(x),    P(x) = sum_{i=0..k} c_i f_i(x)

=================  ====================================================
denominator        Q(x)
=================  ====================================================
``safe``           1 + sum_j |d_j| |f_j(x)|   (safe PAU / safe OPAU)
``safe-abs-sum``   1 + |sum_j d_j f_j(x)|
``plain``          1 + sum_j d_j f_j(x)       (poles possible)
=================  ====================================================

Coefficients are in increasing degree: ``numerator`` holds c_0..c_k (k + 1
values), ``denominator`` holds d_1..d_l (l values, the leading 1 of Q is
implicit). With per-channel coefficients the channels are the **last** axis
of the input (the Keras convention, ``channels_last``), unlike
:class:`opade_fit.torch.OPAU`, whose channels are dimension 1.

The basis values f_0..f_n are computed with ``keras.ops`` by the basis'
three-term recurrence (:class:`opade_fit.bases.Basis`); gradients are the
backend's autodiff (``tf.GradientTape``, ``jax.grad``, torch autograd)
through it, with sgn(0) = 0 at the kinks of |.|, the convention of
:meth:`opade_fit.forms.RationalForm.jacobian`.

References
----------
.. [1] A. Molina, P. Schramowski, K. Kersting, "Padé Activation Units:
   End-to-end Learning of Flexible Activation Functions in Deep Networks",
   ICLR 2020.
.. [2] K. Biswas, S. Banerjee, A. K. Pandey, "Orthogonal-Padé Activation
   Functions: Trainable activation functions for smooth and faster
   convergence in deep networks", arXiv:2106.09693, 2021.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .layer_init import import_framework

# the real Keras, imported by absolute name (this module is opade_fit.keras)
keras = import_framework(
    "keras",
    "opade_fit.keras",
    "Keras 3",
    "Install it with `pip install 'opade-fit[keras]'` and one backend: `pip install "
    "tensorflow-cpu` (or tensorflow), `pip install jax`, or PyTorch (`pip install "
    "'opade-fit[torch]'`); choose it with the KERAS_BACKEND environment variable.",
)

if int(keras.__version__.split(".", 1)[0]) < 3:  # pragma: no cover - Keras 2 is not supported
    raise ImportError(
        f"opade_fit.keras needs Keras 3 (found keras {keras.__version__}); "
        "install it with `pip install 'opade-fit[keras]'`"
    )

import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

from .bases import basis_values, get_basis, series  # noqa: E402
from .denominators import get_denominator  # noqa: E402
from .errors import UsageError  # noqa: E402
from .forms import RationalForm  # noqa: E402
from .layer_init import INIT_RANDOM, RANDOM_INIT_STD, from_record, initial_coefficients  # noqa: E402
from .result import FitResult  # noqa: E402

__all__ = ["INIT_RANDOM", "OPAU", "RANDOM_INIT_STD", "rational"]

_HALF_TYPES = ("float16", "bfloat16")
_SERIALIZATION_PACKAGE = "opade_fit"


def _recurrence(basis: str, n: int) -> tuple[tuple[float, float, float], ...]:
    """The basis recurrence (a_i, b_i, c_i), i < n: :meth:`Basis.recurrence_table`."""
    return get_basis(basis).recurrence_table(n)


def _column(coefficients: Any, i: int) -> Any:
    """Coefficient i of a (n,) set, or the (C,) column i of a (C, n) set (broadcasts over
    the last axis of x)."""
    return coefficients[i] if len(coefficients.shape) == 1 else coefficients[:, i]


def _rational(
    x: Any,
    numerator: Any,
    denominator: Any,
    recurrence: tuple[tuple[float, float, float], ...],
    denominator_kind: str,
) -> Any:
    """g = P/Q in the dtype of x (all three tensors already of that dtype).

    The recurrence is :func:`opade_fit.bases.basis_values` and Q is
    :meth:`opade_fit.denominators.Denominator.q`, both run with ``xp=keras.ops``.
    """
    k, l = numerator.shape[-1] - 1, denominator.shape[-1]
    f, _ = basis_values(x, recurrence[: max(k, l)], xp=ops)
    P = series(f, [_column(numerator, i) for i in range(k + 1)])
    if l == 0:
        return P
    d = [_column(denominator, j) for j in range(l)]
    return P / get_denominator(denominator_kind).q(f, d, xp=ops)


def _work_dtype(dtype: Any) -> str:
    """float16 / bfloat16 are computed in float32; other float types in their own dtype."""
    name = keras.backend.standardize_dtype(dtype)
    return "float32" if name in _HALF_TYPES else name


def rational(
    x: Any,
    numerator: Any,
    denominator: Any,
    *,
    basis: str = "hermite1",
    denominator_kind: str = "safe",
) -> Any:
    """Evaluate g(x) = P(x) / Q(x) elementwise with ``keras.ops`` (functional :class:`OPAU`).

    Parameters
    ----------
    x : tensor
        Input of any shape (a backend tensor, a NumPy array or a Keras
        variable). With per-channel coefficients (2-D ``numerator``) the
        channels are the last axis of ``x``.
    numerator : tensor, shape (k + 1,) or (C, k + 1)
        c_0..c_k, increasing degree.
    denominator : tensor, shape (l,) or (C, l)
        d_1..d_l, increasing degree (the leading 1 of Q is implicit).
    basis : str
        One of the seven basis names.
    denominator_kind : {"safe", "safe-abs-sum", "plain"}
        How Q is built (module docstring).

    Returns
    -------
    tensor
        g(x), same shape and dtype as ``x`` (dimensionless, like x). float32
        and float64 inputs are computed in their own dtype (the coefficients
        are cast to it); float16 / bfloat16 inputs in float32, and the result
        is cast back.

    Raises
    ------
    UsageError
        For an unknown basis or denominator kind.
    """
    x = ops.convert_to_tensor(x)
    form = RationalForm(basis, denominator_kind, (numerator.shape[-1] - 1, denominator.shape[-1]))
    out = x.dtype
    work = _work_dtype(out)
    g = _rational(
        ops.cast(x, work),
        ops.cast(numerator, work),
        ops.cast(denominator, work),
        _recurrence(form.basis, max(form.degrees)),
        form.denominator,
    )
    return ops.cast(g, out)


@keras.saving.register_keras_serializable(package=_SERIALIZATION_PACKAGE)
class OPAU(keras.layers.Layer):
    r"""Trainable rational activation g = P/Q over a polynomial basis (PAU / OPAU / HP-1 / HP-2).

    Parameters
    ----------
    basis : str, default "hermite1"
        ``monomial`` (PAU), ``chebyshev1``, ``chebyshev2``, ``hermite1``
        (HP-1), ``hermite2`` (HP-2), ``laguerre`` or ``legendre``.
    denominator : {"safe", "safe-abs-sum", "plain"}, default "safe"
        How Q is built from d_1..d_l (module docstring).
    degrees : (int, int), default (5, 4)
        Numerator degree k and denominator degree l.
    init : str, default "leaky_relu"
        Target whose table entry gives the initial coefficients, looked up
        with :func:`opade_fit.get_init`, or ``"random"`` for coefficients
        drawn from N(0, RANDOM_INIT_STD^2) (using ``seed``). Ignored when
        ``coefficients`` is given.
    objective, center, weight, interval, params
        Which table entry to read (passed to :func:`opade_fit.get_init`):
        ``objective`` ``"l2"`` or ``"max"``; ``center`` ``"none"``,
        ``"general"``, ``"drop-one"`` or ``"all-zero"``; ``weight``
        ``"uniform"`` or ``"normal"``; ``interval`` the fit interval;
        ``params`` the target parameters (default: the target's defaults).
    num_parameters : int, default 1
        1: one coefficient set for the whole layer (PAU / OPAU). C > 1: one
        set per channel, the channels being the **last** axis of the input
        (Keras' ``channels_last`` convention).
    coefficients : (numerator, denominator), optional
        Explicit initial coefficients: c_0..c_k and d_1..d_l, each either a
        flat sequence (copied to every channel) or shaped (C, k + 1) / (C, l).
    seed : int, optional
        Seed of the NumPy generator used by ``init="random"`` (the same
        values on every backend).
    **kwargs
        Keras layer arguments (``name``, ``dtype``, ``trainable``). The
        dtype policy decides the weights' dtype (float32 by default; use
        ``dtype="float64"`` to reproduce a record to float64 precision) and
        the output dtype; under ``mixed_float16`` / ``mixed_bfloat16`` the
        weights stay float32 and g is computed in float32, then cast to the
        policy's compute dtype.

    Attributes
    ----------
    numerator : keras.Variable, shape (k + 1,) or (C, k + 1)
        c_0..c_k, increasing degree (trainable).
    denominator : keras.Variable, shape (l,) or (C, l)
        d_1..d_l, increasing degree (trainable).
    form : opade_fit.forms.RationalForm
        Basis, denominator kind and degrees.
    init_record : dict or None
        The fit record the layer was initialised from (None for random or
        explicit coefficients, and after loading a saved model).
    init_name : str
        Where the initial values came from: the target name, ``"random"``
        or ``"coefficients"``.

    Notes
    -----
    Saving: the layer is registered as ``opade_fit>OPAU``; its config holds
    the form, ``num_parameters`` and the *initial* coefficients (float64), so
    ``keras.saving.load_model`` rebuilds it without reading the tables and
    then restores the trained weights.

    Examples
    --------
    >>> import keras
    >>> from opade_fit.keras import OPAU
    >>> model = keras.Sequential([keras.layers.Dense(64), OPAU(init="leaky_relu")])
    """

    def __init__(
        self,
        basis: str = "hermite1",
        denominator: str = "safe",
        degrees: tuple[int, int] = (5, 4),
        *,
        init: str = "leaky_relu",
        objective: str = "l2",
        center: str = "none",
        weight: str = "uniform",
        interval: tuple[float, float] = (-3.0, 3.0),
        params: Mapping[str, float] | None = None,
        num_parameters: int = 1,
        coefficients: tuple[Any, Any] | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        form = RationalForm(basis, denominator, tuple(degrees))
        rng = np.random.default_rng(seed)
        initial = initial_coefficients(
            form,
            init=init,
            coefficients=coefficients,
            num_parameters=num_parameters,
            standard_normal=rng.standard_normal,
            objective=objective,
            center=center,
            weight=weight,
            interval=interval,
            params=params,
        )
        super().__init__(**kwargs)
        self.form = form
        self.num_parameters = num_parameters
        self._recurrence = _recurrence(form.basis, max(form.degrees))
        self.init_record: dict[str, Any] | None = initial.record
        self.init_name = initial.name
        self._initial = (initial.numerator, initial.denominator)
        # autocast=False: under a mixed policy the weights are read as float32, not float16
        self.numerator = self.add_weight(
            name="numerator",
            shape=self._initial[0].shape,
            initializer=_Values(self._initial[0]),
            trainable=True,
            autocast=False,
        )
        self.denominator = self.add_weight(
            name="denominator",
            shape=self._initial[1].shape,
            initializer=_Values(self._initial[1]),
            trainable=True,
            autocast=False,
        )
        self.built = True  # the weights do not depend on the input shape

    @classmethod
    def from_record(
        cls,
        record: Mapping[str, Any] | FitResult | Any,
        *,
        num_parameters: int = 1,
        **kwargs: Any,
    ) -> OPAU:
        """A layer from a fit record (schema 1.x), a :class:`FitResult` or a table entry.

        Basis, denominator kind and degrees are read from ``record["form"]``,
        the coefficients from ``record["coefficients"]``; ``kwargs`` are Keras
        layer arguments (``name``, ``dtype``, ...).

        Raises
        ------
        UsageError
            If ``record`` is not a fit record of a supported schema version.
        """
        entry = from_record(record)
        f = entry.form
        layer = cls(
            f.basis,
            f.denominator,
            f.degrees,
            num_parameters=num_parameters,
            coefficients=(entry.numerator, entry.denominator),
            **kwargs,
        )
        layer.init_record = entry.record
        layer.init_name = entry.name
        return layer

    # -- keras.layers.Layer ------------------------------------------------------------
    def call(self, inputs: Any) -> Any:
        """g(x) elementwise; same shape as ``x``, in the layer's compute dtype."""
        C, shape = self.num_parameters, tuple(inputs.shape)
        if C > 1 and (len(shape) < 1 or (shape[-1] is not None and shape[-1] != C)):
            raise UsageError(
                f"`x` must have {C} channels in its last axis for num_parameters={C}, "
                f"got shape {shape}"
            )
        out = inputs.dtype
        work = _work_dtype(out)
        g = _rational(
            ops.cast(inputs, work),
            ops.cast(self.numerator, work),
            ops.cast(self.denominator, work),
            self._recurrence,
            self.form.denominator,
        )
        return ops.cast(g, out)

    def compute_output_shape(self, input_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        """Same as the input shape (elementwise)."""
        return input_shape

    def get_config(self) -> dict[str, Any]:
        """Form, ``num_parameters``, the initial coefficients and where they came from."""
        config = super().get_config()
        config.update(
            basis=self.form.basis,
            denominator=self.form.denominator,
            degrees=list(self.form.degrees),
            num_parameters=self.num_parameters,
            coefficients=[self._initial[0].tolist(), self._initial[1].tolist()],
            init_name=self.init_name,
        )
        return config

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> OPAU:
        """Inverse of :meth:`get_config` (no table is read)."""
        config = dict(config)
        init_name = config.pop("init_name", "coefficients")
        config["degrees"] = tuple(config["degrees"])
        layer = cls(**config)
        layer.init_name = str(init_name)
        return layer


class _Values(keras.initializers.Initializer):
    """Initializer returning fixed float64 values cast to the weight's dtype (not serialized:
    :meth:`OPAU.get_config` stores the values)."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values

    def __call__(self, shape: Any, dtype: Any = None) -> Any:
        if tuple(shape) != self.values.shape:  # pragma: no cover - add_weight passes our shape
            raise UsageError(f"initializer shape {tuple(shape)} != {self.values.shape}")
        return ops.convert_to_tensor(self.values, dtype=dtype)
