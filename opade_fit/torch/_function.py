"""The g = P/Q autograd Function behind :class:`opade_fit.torch.OPAU`.

Forward and backward are closed-form (Biswas et al. 2021, eqs. 8-10)::

    g       = P / Q
    dg/dx   = (P' - g Q') / Q
    dg/dc_i = f_i / Q
    dg/dd_j = -(dQ/dd_j) P / Q^2

The basis values f_i (and f_i') come from the basis recurrence table
(:func:`opade_fit.bases.basis_values`), Q and its derivatives from the
denominator kind (:func:`opade_fit.denominators.get_denominator`): no formula
is written here. Only the input and the coefficients are saved for backward;
the backward pass runs the recurrence again.

Two paths compute the same numbers (to rounding):

* eager on a CPU (:mod:`opade_fit.torch._eager`): cache-sized blocks whose basis
  values are rows of one reused buffer, matrix products for the sums, every
  step in place;
* under ``torch.compile``, on other devices and with grad mode on in backward
  (``create_graph=True``, second derivatives): the whole tensor as one
  functional expression here (:func:`_evaluate_whole`, :func:`_gradients_whole`),
  which the compiler fuses into one loop and autograd can differentiate.
"""

from __future__ import annotations

from types import SimpleNamespace

import torch

from ..bases import basis_values
from ..denominators import get_denominator
from ._eager import Recurrence, _layout, derivative_rows, eager

__all__ = ["RationalFunction", "rational_apply"]

#: The array namespace handed to the basis and denominator primitives. f_0 = 1 and
#: f_0' = 0 are 0-d tensors that broadcast (no full-size ``ones_like``).
_XP = SimpleNamespace(
    abs=torch.abs,
    sign=torch.sign,
    where=torch.where,
    ones_like=lambda v: torch.ones((), dtype=v.dtype, device=v.device),
    zeros_like=lambda v: torch.zeros((), dtype=v.dtype, device=v.device),
)


def _single_block(x: torch.Tensor) -> bool:
    """The whole-tensor path: under torch.compile and on non-CPU devices (else eager blocks)."""
    return torch.compiler.is_compiling() or x.device.type != "cpu"


def _series(values: list[torch.Tensor], coefficients: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """sum_i c_i v_i as one functional expression (the compiler fuses it).

    0-d values (f_0 = 1, f_0' = 0, f_1' = a_0) are summed first as small
    tensors and added once; the result broadcasts against x. (Not ``addcmul``:
    traced, its implicit ``value = 1`` stays one more multiplication per term.)
    """
    small = [c * v for c, v in zip(coefficients, values, strict=False) if v.dim() == 0]
    full = [(c, v) for c, v in zip(coefficients, values, strict=False) if v.dim() > 0]
    if not full:
        return sum(small[1:], small[0])
    out = full[0][1] * full[0][0]
    for c, v in full[1:]:
        out = out + v * c
    return out + sum(small[1:], small[0]) if small else out


def _channel_sum(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """sum of a * b over dimensions 0 and 2 of the (N, C, M) view: one value per channel.

    (Not ``torch.dot``: the BLAS dot product costs milliseconds per call with two
    threads on a loaded machine, measured with benchmarks/layer_speed.py.)
    """
    return (a * b).sum(dim=(0, 2))


def _columns(numerator: torch.Tensor, denominator: torch.Tensor, work: torch.dtype):
    """The coefficients in ``work`` as (k + 1, 1, C, 1) and (l, 1, C, 1): c_i[0, ch, 0]."""
    C = numerator.shape[0] if numerator.dim() == 2 else 1
    c = numerator.to(work).reshape(C, -1).t().reshape(-1, 1, C, 1)
    d = denominator.to(work).reshape(C, -1).t().reshape(-1, 1, C, 1)
    return c, d


def _evaluate_whole(x, numerator, denominator, recurrence: Recurrence, kind: str) -> torch.Tensor:
    """g(x) = P(x)/Q(x) as one functional expression (compiled, non-CPU); shaped like x."""
    shape, work = _layout(x, numerator)
    c, d = _columns(numerator, denominator, work)
    den = get_denominator(kind)
    l = d.shape[0]
    x3 = x.reshape(shape)
    out = torch.empty(shape, dtype=x.dtype, device=x.device)
    f, _ = basis_values(x3.to(work), recurrence, xp=_XP)
    P = _series(f, c.unbind(0))
    if l == 0:
        out.copy_(P)
    else:
        torch.div(P, den.q(f, d.unbind(0), xp=_XP), out=out)
    return out.view(x.shape)


def _gradients_whole(x, numerator, denominator, grad, recurrence: Recurrence, kind: str, needs):
    """(dL/dx, dL/dc, dL/dd) from dL/dg = ``grad`` as functional expressions; None where not needed.

    The path under ``torch.compile``, on non-CPU devices and with grad mode on
    (``create_graph=True``: autograd differentiates these formulas again).
    """
    shape, work = _layout(x, numerator)
    c, d = _columns(numerator, denominator, work)
    den = get_denominator(kind)
    k, l, C = c.shape[0] - 1, d.shape[0], shape[1]
    need_x, need_c, need_d = needs
    differentiable = torch.is_grad_enabled()
    x3, g3 = x.reshape(shape), grad.reshape(shape)
    gx = torch.empty(shape, dtype=x.dtype, device=x.device) if need_x else None
    gc = torch.zeros(k + 1, C, dtype=work, device=x.device) if need_c else None
    gd = torch.zeros(l, C, dtype=work, device=x.device) if need_d else None
    cs, ds = c.unbind(0), d.unbind(0)
    kappa = derivative_rows(recurrence) if need_x else None
    f, df = basis_values(x3.to(work), recurrence, xp=_XP, derivatives=need_x and kappa is None)
    if kappa is not None:  # f_i' = kappa_i f_{i-1}: no derivative recurrence
        df = [_XP.zeros_like(f[0])] + [kap * f[i] for i, kap in enumerate(kappa)]
    G = g3.to(work)
    g = _series(f, cs)  # P, then g = P / Q
    if l > 0:
        inverse = 1.0 / den.q(f, ds, xp=_XP)  # one division, two products
        G = G * inverse  # R = G / Q: dL/dc_i = sum R f_i
        g = g * inverse
    if need_x:
        dg = _series(df, cs)  # P', then P' - g Q'
        if l > 0:
            dg = dg - g * den.dq_dx(f, df, ds, xp=_XP)
        if differentiable:
            gx = (dg * G).to(x.dtype)
        else:
            torch.mul(dg, G, out=gx)
    if need_c:
        gc += torch.stack([G.sum(dim=(0, 2))] + [_channel_sum(G, f[i]) for i in range(1, k + 1)])
    if need_d and l > 0:
        S = g * G  # G P / Q^2
        gd -= torch.stack([_channel_sum(S, w) for w in den.dq_dd(f, ds, xp=_XP)])
    return (
        None if gx is None else gx.reshape(x.shape),
        None if gc is None else gc.t().reshape(numerator.shape).to(numerator.dtype),
        None if gd is None else gd.t().reshape(denominator.shape).to(denominator.dtype),
    )


class RationalFunction(torch.autograd.Function):
    """g = P/Q with the closed-form backward; saves only x and the coefficients.

    ``apply(x, numerator, denominator, recurrence, kind)``: numerator (k + 1,)
    or (C, k + 1), denominator (l,) or (C, l) (per channel: dimension 1 of x),
    ``recurrence`` the basis table (a_i, b_i, c_i), i < max(k, l), as floats,
    ``kind`` the denominator kind. Second derivatives work: with
    ``create_graph=True`` the backward formulas are evaluated differentiably
    (one block, no ``out=``), so autograd differentiates them again.
    ``torch.func.grad`` / ``vjp`` work; transforms that vmap (``vmap``,
    ``jacrev``, ``jacfwd``) are not supported.
    """

    @staticmethod
    def forward(x, numerator, denominator, recurrence, kind):
        if _single_block(x):
            return _evaluate_whole(x, numerator, denominator, recurrence, kind)
        return eager(x, numerator, denominator, recurrence, kind)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, numerator, denominator, recurrence, kind = inputs
        ctx.save_for_backward(x, numerator, denominator)
        ctx.recurrence = recurrence
        ctx.kind = kind

    @staticmethod
    def backward(ctx, grad):
        x, numerator, denominator = ctx.saved_tensors
        needs = tuple(ctx.needs_input_grad[:3])
        args = (x, numerator, denominator)
        if torch.is_grad_enabled() or _single_block(x):  # create_graph=True, compiled, GPU
            gx, gc, gd = _gradients_whole(*args, grad, ctx.recurrence, ctx.kind, needs)
        else:
            gx, gc, gd = eager(*args, ctx.recurrence, ctx.kind, grad=grad, needs=needs)
        return gx, gc, gd, None, None


def rational_apply(
    x: torch.Tensor,
    numerator: torch.Tensor,
    denominator: torch.Tensor,
    recurrence: Recurrence,
    kind: str,
) -> torch.Tensor:
    """g(x) through :class:`RationalFunction` (arguments as its ``apply``)."""
    return RationalFunction.apply(x, numerator, denominator, recurrence, kind)
