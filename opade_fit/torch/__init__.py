"""PyTorch layer for safe Padé / orthogonal-Padé activations: :class:`OPAU`.

This module is optional: it needs the ``torch`` extra
(``pip install 'opade-fit[torch]'``, which pins ``torch==2.13.0``).
``import opade_fit`` never imports it.

The layer computes exactly the function of a fit record (docs/spec.md §3)::

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
implicit). The basis values f_0..f_n are computed by the basis' three-term
recurrence (:class:`opade_fit.bases.Basis`), whose exact rational table is
converted to Python floats once; no expanded monomial form is evaluated.
The layer is one custom autograd Function (:mod:`opade_fit.torch._function`):
the backward pass uses the closed-form gradients (Biswas et al. 2021, eqs.
8-10), recomputing the basis values from the input, so only the input and the
coefficients are kept for backward (4 bytes per element for float32). At kinks
(|.| of zero) sgn(0) = 0, the convention of
:meth:`opade_fit.forms.RationalForm.jacobian` and of autograd. Second
derivatives work; ``torch.compile`` traces the layer without graph breaks.

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

from ..layer_init import import_framework

torch = import_framework(
    "torch",
    "opade_fit.torch",
    "PyTorch",
    "Install it with `pip install 'opade-fit[torch]'` (or `pip install torch==2.13.0`; a "
    "bare `pip install torch` may pull a multi-GB CUDA build).",
)
from torch import nn  # noqa: E402

from ..bases import get_basis  # noqa: E402
from ..errors import UsageError  # noqa: E402
from ..forms import RationalForm  # noqa: E402
from ..layer_init import (  # noqa: E402
    INIT_RANDOM,
    RANDOM_INIT_STD,
    from_record,
    initial_coefficients,
)
from ..result import FitResult  # noqa: E402
from ._eager import derivative_rows  # noqa: E402
from ._function import rational_apply  # noqa: E402

__all__ = ["INIT_RANDOM", "OPAU", "RANDOM_INIT_STD", "rational"]


def _recurrence(basis: str, n: int) -> tuple[tuple[float, float, float], ...]:
    """The basis recurrence (a_i, b_i, c_i), i < n: :meth:`Basis.recurrence_table`.

    Also settles, outside any traced code, whether its derivatives come from its values
    (:func:`opade_fit.torch._eager.derivative_rows`).
    """
    table = get_basis(basis).recurrence_table(n)
    derivative_rows(table)
    return table


def rational(
    x: torch.Tensor,
    numerator: torch.Tensor,
    denominator: torch.Tensor,
    *,
    basis: str = "hermite1",
    denominator_kind: str = "safe",
) -> torch.Tensor:
    """Evaluate g(x) = P(x) / Q(x) elementwise (the functional form of :class:`OPAU`).

    Parameters
    ----------
    x : torch.Tensor
        Input of any shape. With per-channel coefficients (2-D ``numerator``)
        the channels are dimension 1 of ``x``, as for :class:`torch.nn.PReLU`.
    numerator : torch.Tensor, shape (k + 1,) or (C, k + 1)
        c_0..c_k, increasing degree.
    denominator : torch.Tensor, shape (l,) or (C, l)
        d_1..d_l, increasing degree (the leading 1 of Q is implicit).
    basis : str
        One of the seven basis names.
    denominator_kind : {"safe", "safe-abs-sum", "plain"}
        How Q is built (module docstring).

    Returns
    -------
    torch.Tensor
        g(x), same shape and dtype as ``x``. float32 and float64 inputs are
        computed in their own dtype (the coefficients are cast to it);
        float16 / bfloat16 inputs are computed in float32 and the result is
        cast back.

    Raises
    ------
    UsageError
        For an unknown basis or denominator, coefficient tensors that are not
        both 1-D or both (C, .), or an ``x`` without C channels in dimension 1.
    """
    form = RationalForm(basis, denominator_kind, (numerator.shape[-1] - 1, denominator.shape[-1]))
    if (
        numerator.dim() not in (1, 2)
        or denominator.dim() != numerator.dim()
        or (numerator.dim() == 2 and numerator.shape[0] != denominator.shape[0])
    ):
        raise UsageError(
            "`numerator` and `denominator` must be shaped (k + 1,) and (l,), or (C, k + 1) "
            f"and (C, l); got {tuple(numerator.shape)} and {tuple(denominator.shape)}"
        )
    if numerator.dim() == 2:
        _check_channels(x, numerator.shape[0])
    recurrence = _recurrence(form.basis, max(form.degrees))
    return rational_apply(x, numerator, denominator, recurrence, form.denominator)


def _check_channels(x: torch.Tensor, channels: int) -> None:
    """Per-channel coefficients need ``channels`` channels in dimension 1 of x."""
    if channels > 1 and (x.dim() < 2 or x.shape[1] != channels):
        raise UsageError(
            f"`x` must have {channels} channels in dimension 1 for "
            f"num_parameters={channels}, got shape {tuple(x.shape)}"
        )


class OPAU(nn.Module):
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
        with :func:`opade_fit.get_init`, or
        ``"random"`` for coefficients drawn from N(0, RANDOM_INIT_STD^2)
        (using ``generator``). Ignored when ``coefficients`` is given.
    objective, center, weight, interval, params
        Which table entry to read (passed to :func:`opade_fit.get_init`):
        ``objective`` ``"l2"`` or ``"max"``; ``center`` ``"none"``,
        ``"general"``, ``"drop-one"`` or ``"all-zero"``; ``weight``
        ``"uniform"`` or ``"normal"``; ``interval`` the fit interval;
        ``params`` the target parameters (default: the target's defaults).
    num_parameters : int, default 1
        1: one coefficient set for the whole layer (PAU / OPAU). C > 1: one
        set per channel, channels being dimension 1 of the input (like
        :class:`torch.nn.PReLU`).
    coefficients : (numerator, denominator), optional
        Explicit initial coefficients: c_0..c_k and d_1..d_l, each either a
        flat sequence (copied to every channel) or shaped (C, k + 1) /
        (C, l).
    generator : torch.Generator, optional
        Random source for ``init="random"`` (default: torch's global one).
    device, dtype
        Of the parameters (default float32). ``dtype=torch.float64`` stores the
        record's coefficients unrounded and reproduces it to float64
        precision; ``.double()`` on a float32 layer only widens the
        float32-rounded coefficients (g then differs from the record by about
        1e-8 to 1e-5 relative).

    Attributes
    ----------
    numerator : torch.nn.Parameter, shape (k + 1,) or (C, k + 1)
        c_0..c_k, increasing degree.
    denominator : torch.nn.Parameter, shape (l,) or (C, l)
        d_1..d_l, increasing degree.
    form : opade_fit.forms.RationalForm
        Basis, denominator kind and degrees.
    init_record : dict or None
        The fit record the layer was initialised from (None for random or
        explicit coefficients).

    Notes
    -----
    The forward pass evaluates f_0..f_max(k,l) by the basis' three-term
    recurrence and returns P/Q; see :func:`rational`. The backward pass is
    closed-form (Biswas et al. (2021), eqs. 8-10) and saves only the input
    and the coefficients (module docstring).

    Examples
    --------
    >>> from opade_fit.torch import OPAU
    >>> act = OPAU(init="leaky_relu")                      # HP-1, safe, (5, 4)
    >>> pau = OPAU(basis="monomial", init="leaky_relu")    # safe PAU
    """

    numerator: nn.Parameter
    denominator: nn.Parameter

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
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        form = RationalForm(basis, denominator, degrees)
        if coefficients is not None and isinstance(coefficients, tuple | list):
            coefficients = tuple(
                v.detach().to("cpu", torch.float64) if torch.is_tensor(v) else v
                for v in coefficients
            )
        initial = initial_coefficients(
            form,
            init=init,
            coefficients=coefficients,
            num_parameters=num_parameters,
            standard_normal=lambda size: torch.randn(
                size, generator=generator, dtype=torch.float64
            ).numpy(),
            objective=objective,
            center=center,
            weight=weight,
            interval=interval,
            params=params,
        )
        factory = {"device": device, "dtype": dtype or torch.get_default_dtype()}
        self.form = form
        self.num_parameters = num_parameters
        self._recurrence = _recurrence(form.basis, max(form.degrees))
        self.init_record: dict[str, Any] | None = initial.record
        self.init_name = initial.name
        self.numerator = nn.Parameter(torch.as_tensor(initial.numerator).to(**factory))
        self.denominator = nn.Parameter(torch.as_tensor(initial.denominator).to(**factory))

    @classmethod
    def from_record(
        cls,
        record: Mapping[str, Any] | FitResult | Any,
        *,
        num_parameters: int = 1,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> OPAU:
        """A layer from a fit record (schema 1.x), a :class:`FitResult` or a table entry.

        Basis, denominator kind and degrees are read from ``record["form"]``,
        the coefficients from ``record["coefficients"]``.

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
            device=device,
            dtype=dtype,
        )
        layer.init_record = entry.record
        layer.init_name = entry.name
        return layer

    # -- nn.Module -------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """g(x) elementwise; same shape and dtype as ``x`` (see :func:`rational`)."""
        _check_channels(x, self.num_parameters)
        return rational_apply(
            x, self.numerator, self.denominator, self._recurrence, self.form.denominator
        )

    def extra_repr(self) -> str:
        k, l = self.form.degrees
        return (
            f"basis={self.form.basis!r}, denominator={self.form.denominator!r}, "
            f"degrees=({k}, {l}), num_parameters={self.num_parameters}, init={self.init_name!r}"
        )
