"""The g = P/Q autograd Function behind :class:`opade_fit.torch.OPAU`.

Forward and backward are closed-form (Biswas et al. 2021, eqs. 8-10)::

    g       = P / Q
    dg/dx   = (P' - g Q') / Q
    dg/dc_i = f_i / Q
    dg/dd_j = -(dQ/dd_j) P / Q^2

The basis values f_i (and f_i') come from the basis recurrence
(:func:`opade_fit.bases.basis_values`), the series from
:func:`opade_fit.bases.series`, Q and its derivatives from the denominator
kind (:func:`opade_fit.denominators.get_denominator`): no formula is written
here. Only the input and the coefficients are saved for backward; the
backward pass runs the recurrence again, once, for values and derivatives
together.

Two ways through the same formulas:

* **Blocks** (eager mode on a CPU): each pass works through the input in
  contiguous blocks of about ``BLOCK`` elements. A block's basis values are
  *stacked* in one preallocated (n + 1, block) buffer, reused from block to
  block, so every elementwise step of Q and its derivatives is one call on
  the whole stack, the series ``sum_i c_i f_i`` and the coefficient
  gradients ``sum_x R f_i`` are one matrix-vector product each, and the
  temporaries stay in the CPU cache. The results are written in place (the
  output and input gradient by ``out=``, the coefficient gradients by
  ``+=``).
* **One block** (under ``torch.compile``, on non-CPU devices, and when the
  backward itself is differentiated): the whole tensor, per-degree lists,
  no ``out=``: the compiler fuses the steps, a GPU would only pay more
  kernel launches for blocks, and autograd can differentiate the formulas
  again (second derivatives).

Shapes: the input is viewed as (N, C, M), with C the number of coefficient
sets: 1 for one set per layer (then N = 1 and M is everything), else the
channels (dimension 1 of the input). A block is a contiguous (nb, cb, mb)
slab of that view; a block of one channel is handled as a flat vector.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from types import SimpleNamespace

import torch

from ..bases import basis_values, basis_values_into, series
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
    multiply=torch.mul,
    empty_like=torch.empty_like,
    axpy=lambda v, alpha, u: v.add_(u, alpha=alpha),
)


def _work_dtype(dtype: torch.dtype) -> torch.dtype:
    """float16 / bfloat16 are computed in float32; float32 / float64 in their own dtype."""
    return torch.float32 if dtype in _HALF_TYPES else dtype


def _one_block(x: torch.Tensor) -> bool:
    """The whole tensor as one block: under torch.compile and on non-CPU devices."""
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


class _Stack:
    """Stacked basis values (and derivatives) of one block, in a buffer reused across blocks.

    ``values(xb)`` returns F of shape (n + 1, *xb.shape) with F[i] = f_i(xb),
    and with derivatives dF likewise with f_i'(xb), computed in place by
    :func:`opade_fit.bases.basis_values_into` (values and derivatives of a
    degree side by side, as one pair).
    """

    def __init__(self, recurrence: Recurrence, size: int, dtype, device, derivatives: bool):
        self.recurrence, self.derivatives = recurrence, derivatives
        self.rows = (len(recurrence) + 1) * (2 if derivatives else 1)
        self.flat = torch.empty(self.rows * size, dtype=dtype, device=device)

    def values(self, xb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        n1 = len(self.recurrence) + 1
        lead = (n1, 2) if self.derivatives else (n1,)
        out = self.flat[: self.rows * xb.numel()].view(*lead, *xb.shape)
        return basis_values_into(xb, self.recurrence, out, xp=_XP, derivatives=self.derivatives)


def _block_views(x3, c, d, blk, work):
    """x of one block (flat for one channel) in the work dtype, and its coefficients.

    One channel: c (k + 1,), d (l,); several: c (k + 1, 1, cb, 1), d (l, 1, cb, 1).
    """
    ch = blk[1]
    xb = x3[blk].to(work)
    if ch.stop - ch.start == 1:
        return xb.reshape(-1), c[:, 0, ch.start, 0], d[:, 0, ch.start, 0]
    return xb, c[:, :, ch], d[:, :, ch]


def _reduce(rows: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """sum over a block of rows[i] * w: (rows,) for a flat block, else (rows, cb) per channel."""
    if w.dim() == 1:
        return torch.mv(rows, w)
    return (rows * w).sum(dim=(1, 3))


def _channels(t: torch.Tensor, blk) -> torch.Tensor:
    """The columns of a (rows, C) gradient accumulator that a block's channels update."""
    ch = blk[1]
    return t[:, ch.start] if ch.stop - ch.start == 1 else t[:, ch]


def _evaluate(x, numerator, denominator, recurrence: Recurrence, kind: str) -> torch.Tensor:
    """g(x) = P(x)/Q(x); same shape and dtype as x."""
    shape, work, c, d = _layout(x, numerator, denominator)
    den = get_denominator(kind)
    k1, l = c.shape[0], d.shape[0]
    x3 = x.reshape(shape)
    if _one_block(x):
        f, _ = basis_values(x3.to(work), recurrence, xp=_XP)
        g = series(f, c.unbind(0))
        if l:
            g = g / den.q(f, d.unbind(0), xp=_XP)
        return torch.broadcast_to(g, shape).to(x.dtype).reshape(x.shape)
    out = torch.empty(shape, dtype=x.dtype, device=x.device)
    stack = _Stack(recurrence, min(BLOCK, x.numel()), work, x.device, derivatives=False)
    for blk in _blocks(shape, BLOCK):
        xb, cs, ds = _block_views(x3, c, d, blk, work)
        F, _ = stack.values(xb)
        P = series(F[:k1], cs)
        res = out[blk].view(xb.shape)
        if l == 0:
            res.copy_(P)
        else:
            torch.div(P, den.q(F, ds, xp=_XP), out=res)
    return out.view(x.shape)


def _gradients(x, numerator, denominator, grad, recurrence: Recurrence, kind: str, needs):
    """(dL/dx, dL/dc, dL/dd) from dL/dg = ``grad``; None where not needed.

    With grad mode on (``create_graph=True``) the whole tensor is one block and
    nothing is written in place, so autograd can differentiate these formulas
    again (second derivatives).
    """
    shape, work, c, d = _layout(x, numerator, denominator)
    den = get_denominator(kind)
    k1, l, C = c.shape[0], d.shape[0], shape[1]
    need_x, need_c, need_d = needs
    x3, g3 = x.reshape(shape), grad.reshape(shape)
    if torch.is_grad_enabled() or _one_block(x):
        gx, gc, gd = _gradients_one_block(x3, g3, c, d, recurrence, den, work, needs)
    else:
        gx = torch.empty(shape, dtype=x.dtype, device=x.device) if need_x else None
        gc = torch.zeros(k1, C, dtype=work, device=x.device) if need_c else None
        gd = torch.zeros(l, C, dtype=work, device=x.device) if need_d else None
        stack = _Stack(recurrence, min(BLOCK, x.numel()), work, x.device, derivatives=need_x)
        for blk in _blocks(shape, BLOCK):
            xb, cs, ds = _block_views(x3, c, d, blk, work)
            F, dF = stack.values(xb)
            G = g3[blk].to(work).view(xb.shape)
            g = series(F[:k1], cs)  # P, then g = P / Q
            if l:
                Q = den.q(F, ds, xp=_XP)
                G = G / Q  # R = G / Q: dL/dc_i = sum R f_i
                g.div_(Q)
            if need_x:
                dg = series(dF[:k1], cs)  # P', then P' - g Q'
                if l:
                    dg.addcmul_(g, den.dq_dx(F, dF, ds, xp=_XP), value=-1.0)
                torch.mul(dg, G, out=gx[blk].view(xb.shape))
            if need_c:
                _channels(gc, blk).add_(_reduce(F[:k1], G))
            if need_d and l:  # dL/dd_j = -sum (dQ/dd_j) R P / Q
                _channels(gd, blk).sub_(_reduce(den.dq_dd(F, ds, xp=_XP), g.mul_(G)))
    return (
        None if gx is None else gx.reshape(x.shape).to(x.dtype),
        None if gc is None else gc.t().reshape(numerator.shape).to(numerator.dtype),
        None if gd is None else gd.t().reshape(denominator.shape).to(denominator.dtype),
    )


def _gradients_one_block(x3, g3, c, d, recurrence, den, work, needs):
    """The backward formulas on the whole (N, C, M) tensor, without in-place steps."""
    k1, l, C = c.shape[0], d.shape[0], x3.shape[1]
    need_x, need_c, need_d = needs
    cs, ds = c.unbind(0), d.unbind(0)
    f, df = basis_values(x3.to(work), recurrence, xp=_XP, derivatives=need_x)
    G = g3.to(work)
    g = series(f, cs)
    if l:
        Q = den.q(f, ds, xp=_XP)
        G = G / Q
        g = g / Q
    gx = gc = gd = None
    if need_x:
        dg = series(df, cs)
        if l:
            dg = dg - g * den.dq_dx(f, df, ds, xp=_XP)
        gx = (dg * G).expand(x3.shape)
    if need_c:
        gc = torch.stack([G.sum(dim=(0, 2))] + [(G * f[i]).sum(dim=(0, 2)) for i in range(1, k1)])
    if need_d:
        S = g * G
        sums = [(S * w).sum(dim=(0, 2)) for w in den.dq_dd(f, ds, xp=_XP)]
        gd = -torch.stack(sums) if sums else torch.zeros(0, C, dtype=work, device=x3.device)
    return gx, gc, gd


class RationalFunction(torch.autograd.Function):
    """g = P/Q with the closed-form backward; saves only x and the coefficients.

    ``apply(x, numerator, denominator, recurrence, kind)``: numerator (k + 1,)
    or (C, k + 1), denominator (l,) or (C, l) (per channel: dimension 1 of x),
    ``recurrence`` the basis table (a_i, b_i, c_i), i < max(k, l), as floats,
    ``kind`` the denominator kind. Second derivatives work: with
    ``create_graph=True`` the backward formulas are evaluated differentiably
    (one block, nothing in place), so autograd differentiates them again.
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
