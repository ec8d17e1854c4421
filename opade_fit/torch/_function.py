"""The fused g = P/Q autograd Function behind :class:`opade_fit.torch.OPAU`.

Forward and backward are closed-form (Biswas et al. 2021, eqs. 8-10)::

    g       = P / Q
    dg/dx   = (P' - g Q') / Q
    dg/dc_i = f_i / Q
    dg/dd_j = -(dQ/dd_j) P / Q^2

Only the input and the coefficients are saved for backward; the backward
pass recomputes the basis values f_i and their derivatives f_i' by the
three-term recurrence. Each pass works through the input in blocks of
``BLOCK`` elements with preallocated scratch rows and in-place /
``out=`` arithmetic, so the ~20 (forward) and ~60 (backward) elementwise
steps run on cache-resident data instead of full-size temporaries. Under
``torch.compile`` and on non-CPU devices the whole tensor is one block (the
compiler fuses the steps; on a GPU more kernel launches would only cost).

Shapes: the input is viewed as (N, C, M), with C the coefficient sets
(1 for one set per layer, where N = 1 and M is everything; else the
channels, dimension 1 of the input). Coefficient tables are (C, k + 1) and
(C, l). A block is a contiguous (nb, cb, mb) slab of that view.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from torch.autograd.function import once_differentiable

from ._denominator import denominator as denominator_block

__all__ = ["BLOCK", "RationalFunction", "rational_apply"]

#: Elements per block in eager CPU mode (a scratch row of 16 Ki float32 values is 64 KiB;
#: the backward pass uses ~20 rows, which stay in a 2 MiB L2 cache). Measured on a
#: Xeon (AVX-512, 2 MiB L2 per core) with benchmarks/layer_speed.py --blocks.
BLOCK = 1 << 14

_HALF_TYPES = (torch.float16, torch.bfloat16)

Recurrence = tuple[tuple[float, float, float], ...]


def _work_dtype(dtype: torch.dtype) -> torch.dtype:
    """float16 / bfloat16 are computed in float32; float32 / float64 in their own dtype."""
    return torch.float32 if dtype in _HALF_TYPES else dtype


def _single_block(x: torch.Tensor) -> bool:
    """One block for the whole tensor: under torch.compile and on non-CPU devices."""
    return torch.compiler.is_compiling() or x.device.type != "cpu"


def _blocks(shape: tuple[int, int, int], target: int) -> Iterator[tuple[slice, slice, slice]]:
    """Contiguous (nb, cb, mb) slabs of an (N, C, M) view, each about ``target`` elements."""
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


class _Scratch:
    """Preallocated rows for one block: ``rows(r)`` gives r rows shaped like the block."""

    def __init__(
        self, n_rows: int, block_numel: int, dtype: torch.dtype, device: torch.device
    ) -> None:
        self.flat = torch.empty(n_rows * block_numel, dtype=dtype, device=device)
        self.used = 0

    def start(self, shape: torch.Size) -> None:
        """Begin a block of ``shape``: rows handed out from now on have that shape."""
        self.shape = shape
        self.numel = shape.numel()
        self.used = 0

    def rows(self, r: int) -> torch.Tensor:
        """The next ``r`` rows, a (r, *shape) tensor (uninitialised)."""
        start = self.used * self.numel
        self.used += r
        return self.flat[start : start + r * self.numel].view(r, *self.shape)


def _basis(x: torch.Tensor, recurrence: Recurrence, F: torch.Tensor, D: torch.Tensor | None):
    """``F[i-1] = f_i(x)`` (and ``D[i-1] = f_i'(x)`` if given), i = 1..n, by the recurrence.

    f_1 = a_0 x + b_0,  f_{i+1} = a_i x f_i + b_i f_i - c_i f_{i-1}  (f_0 = 1),
    f_1' = a_0,         f_{i+1}' = a_i f_i + a_i x f_i' + b_i f_i' - c_i f_{i-1}'  (f_0' = 0).
    """
    n = F.shape[0]
    if n == 0:
        return
    a, b, _ = recurrence[0]
    torch.mul(x, a, out=F[0])
    if b != 0.0:
        F[0].add_(b)
    if D is not None:
        D[0].fill_(a)
    for i in range(1, n):
        a, b, c = recurrence[i]
        f, f1 = F[i], F[i - 1]
        if c == 0.0:
            torch.mul(x, f1, out=f)
            if a != 1.0:
                f.mul_(a)
        else:
            if i == 1:
                f.fill_(-c)
            else:
                torch.mul(F[i - 2], -c, out=f)
            f.addcmul_(x, f1, value=a)
        if b != 0.0:
            f.add_(f1, alpha=b)
        if D is not None:
            g = D[i]
            torch.mul(f1, a, out=g)
            g.addcmul_(x, D[i - 1], value=a)
            if b != 0.0:
                g.add_(D[i - 1], alpha=b)
            if c != 0.0 and i >= 2:
                g.add_(D[i - 2], alpha=-c)


def _series(rows: torch.Tensor, coefficients: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """out = sum_i coefficients[i] rows[i] (coefficients (r, 1, cb, 1), r >= 1)."""
    torch.mul(rows[0], coefficients[0], out=out)
    for i in range(1, rows.shape[0]):
        out.addcmul_(rows[i], coefficients[i])
    return out


def _row_sums(rows: torch.Tensor, weight: torch.Tensor, tmp: torch.Tensor) -> torch.Tensor:
    """sum over the block of rows[i] * weight, per channel: shape (r, cb)."""
    torch.mul(rows, weight, out=tmp)
    return tmp.sum(dim=(1, 3))


def _prepare(x: torch.Tensor, numerator: torch.Tensor, denominator: torch.Tensor):
    """The (N, C, M) view of x and the coefficient tables as (k+1, 1, C, 1), (l, 1, C, 1)."""
    work = _work_dtype(x.dtype)
    C = numerator.shape[0] if numerator.dim() == 2 else 1
    if C == 1:
        shape = (1, 1, x.numel())
    else:
        shape = (x.shape[0], C, x[0, 0].numel())
    c = numerator.to(work).reshape(C, -1).t().reshape(-1, 1, C, 1)
    d = denominator.to(work).reshape(C, -1).t().reshape(-1, 1, C, 1)
    return shape, work, c, d


def _evaluate(
    x: torch.Tensor,
    numerator: torch.Tensor,
    denominator: torch.Tensor,
    recurrence: Recurrence,
    kind: str,
) -> torch.Tensor:
    """g(x) = P(x)/Q(x), blockwise; same shape and dtype as x."""
    shape, work, c, d = _prepare(x, numerator, denominator)
    k, l = c.shape[0] - 1, d.shape[0]
    n = max(k, l)
    x3 = x.reshape(shape)
    out = torch.empty(shape, dtype=x.dtype, device=x.device)
    target = x.numel() if _single_block(x) else BLOCK
    scratch = _Scratch(n + 1, min(target, x.numel()), work, x.device)
    for blk in _blocks(shape, target):
        xb = x3[blk].to(work)
        scratch.start(xb.shape)
        cs, ds = c[:, :, blk[1]], d[:, :, blk[1]]
        F = scratch.rows(n)
        _basis(xb, recurrence, F, None)
        P = _numerator(F, cs, scratch.rows(1)[0])
        if l == 0:
            out[blk].copy_(P)
        else:
            Q, _, _ = denominator_block(kind, F[:l], None, ds)
            torch.div(P, Q, out=out[blk])
    return out.view(x.shape)


def _numerator(F: torch.Tensor, c: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """P = c_0 + sum_{i=1..k} c_i f_i into ``out`` (c shaped (k + 1, 1, cb, 1))."""
    k = c.shape[0] - 1
    if k == 0:
        return out.copy_(c[0].expand_as(out))
    return _series(F[:k], c[1:], out).add_(c[0])


def _gradients(
    x: torch.Tensor,
    numerator: torch.Tensor,
    denominator: torch.Tensor,
    grad: torch.Tensor,
    recurrence: Recurrence,
    kind: str,
    needs: tuple[bool, bool, bool],
) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
    """dL/dx, dL/dc, dL/dd from dL/dg = ``grad``, blockwise (module docstring)."""
    shape, work, c, d = _prepare(x, numerator, denominator)
    k, l = c.shape[0] - 1, d.shape[0]
    n = max(k, l)
    C = shape[1]
    x3 = x.reshape(shape)
    g3 = grad.reshape(shape)
    need_x, need_c, need_d = needs
    need_d = need_d and l > 0
    gx = torch.empty(shape, dtype=x.dtype, device=x.device) if need_x else None
    gc = torch.zeros(k + 1, C, dtype=work, device=x.device) if need_c else None
    gd = torch.zeros(l, C, dtype=work, device=x.device) if need_d else None
    target = x.numel() if _single_block(x) else BLOCK
    scratch = _Scratch(2 * n + 3, min(target, x.numel()), work, x.device)
    for blk in _blocks(shape, target):
        xb = x3[blk].to(work)
        scratch.start(xb.shape)
        cs, ds = c[:, :, blk[1]], d[:, :, blk[1]]
        F, D = scratch.rows(n), scratch.rows(n)
        _basis(xb, recurrence, F, D if need_x else None)
        g, R, dP = scratch.rows(3)
        _numerator(F, cs, g)  # P, turned into g below
        if l == 0:
            Q = dQdx = dQdd = None
            R.copy_(g3[blk])
        else:
            Q, dQdx, dQdd = denominator_block(kind, F[:l], D[:l] if need_x else None, ds)
            torch.div(g3[blk], Q, out=R)  # R = G / Q
            g.div_(Q)
        if need_x:
            if k == 0:
                dP.zero_()
            else:
                _series(D[:k], cs[1:], dP)
            if dQdx is not None:
                dP.addcmul_(g, dQdx, value=-1.0)  # P' - g Q'
            torch.mul(dP, R, out=gx[blk])
        tmp = D  # the derivative rows are free now
        if need_c:
            gc[0, blk[1]] += R.sum(dim=(0, 2))
            if k > 0:
                gc[1:, blk[1]] += _row_sums(F[:k], R, tmp[:k])
        if need_d:
            gd[:, blk[1]] -= _row_sums(dQdd, g.mul_(R), tmp[:l])  # g R = G P / Q^2
    return (
        None if gx is None else gx.view(x.shape),
        None if gc is None else gc.t().reshape(numerator.shape).to(numerator.dtype),
        None if gd is None else gd.t().reshape(denominator.shape).to(denominator.dtype),
    )


class RationalFunction(torch.autograd.Function):
    """g = P/Q with the closed-form backward; saves only x and the coefficients.

    ``apply(x, numerator, denominator, recurrence, kind)``: numerator (k + 1,)
    or (C, k + 1), denominator (l,) or (C, l), ``recurrence`` the basis'
    (a_i, b_i, c_i) as floats for i < max(k, l), ``kind`` the denominator kind.
    Second derivatives are not available: differentiating the gradient raises
    (see :data:`SECOND_DERIVATIVE_ERROR`).
    """

    @staticmethod
    def forward(ctx, x, numerator, denominator, recurrence, kind):  # noqa: D102
        ctx.save_for_backward(x, numerator, denominator)
        ctx.recurrence = recurrence
        ctx.kind = kind
        return _evaluate(x, numerator, denominator, recurrence, kind)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):  # noqa: D102
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
