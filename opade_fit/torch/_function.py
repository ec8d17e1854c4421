"""The g = P/Q autograd Function behind :class:`opade_fit.torch.OPAU`.

Forward and backward are closed-form (Biswas et al. 2021, eqs. 8-10)::

    g       = P / Q
    dg/dx   = (P' - g Q') / Q
    dg/dc_i = f_i / Q
    dg/dd_j = -(dQ/dd_j) P / Q^2

The basis values f_i (and f_i') come from the basis recurrence
(:func:`opade_fit.bases.basis_values`), Q and its derivatives from the
denominator kind
(:func:`opade_fit.denominators.get_denominator`): no formula is written here.
Only the input and the coefficients are saved for backward; the backward pass
runs the recurrence again, once, for values and derivatives together.

Blocks: in eager CPU mode each pass works through the input in contiguous
blocks of about ``BLOCK`` elements, so the ~20 (forward) and ~60 (backward)
elementwise steps run on cache-resident temporaries instead of full-size
ones, and writes the results in place (``out=`` into the output and input
gradient, ``+=`` into the coefficient gradients). Under ``torch.compile`` and
on non-CPU devices the whole tensor is one block: the compiler fuses the
steps, and on a GPU more kernel launches would only cost.

Shapes: the input is viewed as (N, C, M), with C the number of coefficient
sets: 1 for one set per layer (then N = 1 and M is everything), else the
channels (dimension 1 of the input). A block is a contiguous (nb, cb, mb)
slab of that view.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from types import SimpleNamespace

import torch

from ..bases import basis_values
from ..denominators import get_denominator

__all__ = ["BLOCK", "RationalFunction", "rational_apply"]

#: Elements per block in eager CPU mode (see the module docstring); measured with
#: ``benchmarks/layer_speed.py --blocks`` (docs/torch.md).
BLOCK = 1 << 15

Recurrence = tuple[tuple[float, float, float], ...]

_HALF_TYPES = (torch.float16, torch.bfloat16)

#: The array namespace handed to the basis and denominator primitives. f_0 = 1 and
#: f_0' = 0 are 0-d tensors that broadcast (no full-size ``ones_like``).
_XP = SimpleNamespace(
    abs=torch.abs,
    sign=torch.sign,
    where=torch.where,
    ones_like=lambda v: torch.ones((), dtype=v.dtype, device=v.device),
    zeros_like=lambda v: torch.zeros((), dtype=v.dtype, device=v.device),
)


def _work_dtype(dtype: torch.dtype) -> torch.dtype:
    """float16 / bfloat16 are computed in float32; float32 / float64 in their own dtype."""
    return torch.float32 if dtype in _HALF_TYPES else dtype


def _single_block(x: torch.Tensor) -> bool:
    """One block for the whole tensor: under torch.compile and on non-CPU devices."""
    return torch.compiler.is_compiling() or x.device.type != "cpu"


def _blocks(shape: tuple[int, int, int], target: int) -> Iterator[tuple[slice, slice, slice]]:
    """Contiguous (nb, cb, mb) slabs covering an (N, C, M) view, each about ``target`` elements."""
    N, C, M = shape
    if M >= target:
        for n in range(N):
            for ch in range(C):
                for m0 in range(0, M, target):
                    yield slice(n, n + 1), slice(ch, ch + 1), slice(m0, min(m0 + target, M))
    elif C * M >= target:
        cb = max(target // M, 1)
        for n in range(N):
            for c0 in range(0, C, cb):
                yield slice(n, n + 1), slice(c0, min(c0 + cb, C)), slice(0, M)
    else:
        nb = max(target // (C * M), 1)
        for n0 in range(0, N, nb):
            yield slice(n0, min(n0 + nb, N)), slice(0, C), slice(0, M)


def _layout(x: torch.Tensor, numerator: torch.Tensor, denominator: torch.Tensor):
    """(N, C, M), the work dtype, and the coefficients as (k + 1, 1, C, 1), (l, 1, C, 1)."""
    work = _work_dtype(x.dtype)
    C = numerator.shape[0] if numerator.dim() == 2 else 1
    shape = (1, 1, x.numel()) if C == 1 else (x.shape[0], C, math.prod(x.shape[2:]))
    c = numerator.to(work).reshape(C, -1).t().reshape(-1, 1, C, 1)
    d = denominator.to(work).reshape(C, -1).t().reshape(-1, 1, C, 1)
    return shape, work, c, d


def _series(values: list[torch.Tensor], coefficients: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """sum_i c_i v_i, accumulated in place (one pass per full-size term).

    0-d values (f_0 = 1, f_0' = 0, f_1' = a_0) are summed first as small
    tensors and added once; the result broadcasts against the block.
    """
    small = [c * v for c, v in zip(coefficients, values, strict=False) if v.dim() == 0]
    full = [(c, v) for c, v in zip(coefficients, values, strict=False) if v.dim() > 0]
    if not full:
        return sum(small[1:], small[0])
    out = full[0][1] * full[0][0]
    for c, v in full[1:]:
        out.addcmul_(v, c)
    return out.add_(sum(small[1:], small[0])) if small else out


def _channel_sum(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """sum of a * b over a block's dimensions 0 and 2: one value per channel.

    (Not ``torch.dot``: the BLAS dot product costs milliseconds per call with two
    threads on a loaded machine, measured with benchmarks/layer_speed.py.)
    """
    return (a * b).sum(dim=(0, 2))


def _evaluate(x, numerator, denominator, recurrence: Recurrence, kind: str) -> torch.Tensor:
    """g(x) = P(x)/Q(x) blockwise; same shape and dtype as x."""
    shape, work, c, d = _layout(x, numerator, denominator)
    den = get_denominator(kind)
    l = d.shape[0]
    x3 = x.reshape(shape)
    out = torch.empty(shape, dtype=x.dtype, device=x.device)
    target = x.numel() if _single_block(x) else BLOCK
    for blk in _blocks(shape, target):
        ch = blk[1]
        f, _ = basis_values(x3[blk].to(work), recurrence, xp=_XP)
        P = _series(f, c[:, :, ch].unbind(0))
        if l == 0:
            out[blk].copy_(P)
        else:
            torch.div(P, den.q(f, d[:, :, ch].unbind(0), xp=_XP), out=out[blk])
    return out.view(x.shape)


def _gradients(x, numerator, denominator, grad, recurrence: Recurrence, kind: str, needs):
    """(dL/dx, dL/dc, dL/dd) from dL/dg = ``grad``, blockwise; None where not needed.

    With grad mode on (``create_graph=True``) the whole tensor is one block and
    the input gradient is built without ``out=``, so autograd can differentiate
    these formulas again (second derivatives).
    """
    shape, work, c, d = _layout(x, numerator, denominator)
    den = get_denominator(kind)
    k, l, C = c.shape[0] - 1, d.shape[0], shape[1]
    need_x, need_c, need_d = needs
    differentiable = torch.is_grad_enabled()
    x3, g3 = x.reshape(shape), grad.reshape(shape)
    gx = torch.empty(shape, dtype=x.dtype, device=x.device) if need_x else None
    gc = torch.zeros(k + 1, C, dtype=work, device=x.device) if need_c else None
    gd = torch.zeros(l, C, dtype=work, device=x.device) if need_d else None
    target = x.numel() if differentiable or _single_block(x) else BLOCK
    for blk in _blocks(shape, target):
        ch = blk[1]
        cs, ds = c[:, :, ch].unbind(0), d[:, :, ch].unbind(0)
        f, df = basis_values(x3[blk].to(work), recurrence, xp=_XP, derivatives=need_x)
        G = g3[blk].to(work)
        g = _series(f, cs)  # P, then g = P / Q
        if l > 0:
            Q = den.q(f, ds, xp=_XP)
            G = G / Q  # R = G / Q: dL/dc_i = sum R f_i
            g = g / Q
        if need_x:
            dg = _series(df, cs)  # P', then P' - g Q'
            if l > 0:
                dg = dg - g * den.dq_dx(f, df, ds, xp=_XP)
            if differentiable:
                gx = (dg * G).to(x.dtype).expand(shape)
            else:
                torch.mul(dg, G, out=gx[blk])
        if need_c:
            sums = [G.sum(dim=(0, 2))] + [_channel_sum(G, f[i]) for i in range(1, k + 1)]
            gc[:, ch] += torch.stack(sums)
        if need_d and l > 0:
            S = g * G  # G P / Q^2
            gd[:, ch] -= torch.stack([_channel_sum(S, w) for w in den.dq_dd(f, ds, xp=_XP)])
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
        return _evaluate(x, numerator, denominator, recurrence, kind)

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
        gx, gc, gd = _gradients(x, numerator, denominator, grad, ctx.recurrence, ctx.kind, needs)
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
