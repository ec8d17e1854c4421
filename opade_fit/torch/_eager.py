"""Eager CPU blocks for :class:`opade_fit.torch._function.RationalFunction`.

In eager mode every torch call is one pass through memory plus a fixed cost of a few
microseconds, so the layer works through the input in contiguous blocks of about
``BLOCK`` elements: each block's basis values are the rows of one reused buffer
(:class:`_Block`), written in place by the recurrence (one call per degree,
:func:`_program`); one batched matrix product gives P, the inner sum of Q (and P', Q'),
and one more every coefficient gradient. The buffers of a block stay in the L2 cache,
and they are kept per thread across calls. The denominator enters through its shape
``Q = 1 + h(sum_j w(d_j) phi(f_j))`` (:class:`opade_fit.denominators.Denominator`:
``outer_abs``, ``d_abs``, ``f_abs``); Appell bases (f_i' = kappa_i f_{i-1}:
monomial, both Hermite) take their derivatives from the value rows.

Shapes: the input is viewed as (N, C, M), with C the number of coefficient sets: 1
for one set per layer (then N = 1 and M is everything), else the channels
(dimension 1 of the input). A block is a contiguous slab of that view (:func:`_blocks`).
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Iterator
from typing import NamedTuple

import torch

from ..bases import derivative_factors
from ..denominators import get_denominator

__all__ = ["BLOCK", "derivative_rows", "eager"]

#: Elements per block in eager CPU mode (see the module docstring); measured with
#: ``benchmarks/layer_speed.py --blocks`` (docs/torch.md).
BLOCK = 12 << 10

Recurrence = tuple[tuple[float, float, float], ...]

_HALF_TYPES = (torch.float16, torch.bfloat16)

#: :func:`opade_fit.bases.derivative_factors` by recurrence table, filled outside traced
#: code (:func:`derivative_rows`, called when a layer is built), so that torch.compile
#: reads a constant instead of tracing the exact-arithmetic check.
_KAPPA: dict[Recurrence, tuple[float, ...] | None] = {}


def derivative_rows(table: Recurrence) -> tuple[float, ...] | None:
    """kappa_i with f_i' = kappa_i f_{i-1} (:func:`opade_fit.bases.derivative_factors`), cached."""
    if table not in _KAPPA:
        _KAPPA[table] = derivative_factors(table)
    return _KAPPA[table]


def _work_dtype(dtype: torch.dtype) -> torch.dtype:
    """float16 / bfloat16 are computed in float32; float32 / float64 in their own dtype."""
    return torch.float32 if dtype in _HALF_TYPES else dtype


def _blocks(
    tensors: tuple[torch.Tensor, ...], target: int
) -> Iterator[tuple[slice, list[torch.Tensor]]]:
    """Contiguous slabs of about ``target`` elements covering (N, C, M) tensors of one shape.

    Yields (the channels of the slab, the slab of each tensor): (cb, mb) views within one
    n (cut along M when M >= target, else along C), or (nb, C, M) views of several whole
    n when C * M < target. The views come from ``split``, one call per cut, not from one
    indexing per block.
    """
    N, C, M = tensors[0].shape
    if N * C * M == 0:
        return
    if M >= target:
        rows = [t.flatten(0, 1).split(1) for t in tensors]  # each (1, M), channel = row % C
        for r in range(N * C):
            ch = slice(r % C, r % C + 1)
            for views in zip(*(t[r].split(target, 1) for t in rows), strict=True):
                yield ch, list(views)
    elif C * M >= target:
        cb = max(target // M, 1)
        for n in range(N):
            pieces = zip(*(t[n].split(cb) for t in tensors), strict=True)
            for c0, views in zip(range(0, C, cb), pieces, strict=True):
                yield slice(c0, min(c0 + cb, C)), list(views)
    else:
        nb = max(target // (C * M), 1)
        for views in zip(*(t.split(nb) for t in tensors), strict=True):
            yield slice(0, C), [v[0] if v.shape[0] == 1 else v for v in views]


def _layout(x: torch.Tensor, numerator: torch.Tensor) -> tuple[tuple[int, int, int], torch.dtype]:
    """The (N, C, M) view of x (C coefficient sets) and the work dtype."""
    C = numerator.shape[0] if numerator.dim() == 2 else 1
    shape = (1, 1, x.numel()) if C == 1 else (x.shape[0], C, math.prod(x.shape[2:]))
    return shape, _work_dtype(x.dtype)


# -- eager CPU blocks -------------------------------------------------------------------------
class _Rows(NamedTuple):
    """Where each kind of row sits in a :class:`_Block`'s ``V`` (one layout for all users)."""

    n: int  #: highest degree of the basis rows
    l: int  #: denominator degree
    derivatives: bool  #: backward rows too
    nv: int  #: value rows: r_0..r_n, then phi(r_1)..phi(r_l) when phi = |.|
    first: int  #: the row of phi(r_1)
    recurrent: bool  #: derivative rows r_0'..r_n' of their own (from row nv)
    deriv: int  #: the row holding r_1' (or r_0, when f_i' = kappa_i f_{i-1})
    dB: int  #: the first row B' weighs: phi'(r_j) r_j' (phi = |.|), else the deriv rows
    total: int


def _rows(n: int, l: int, f_abs: bool, kappa, derivatives: bool) -> _Rows:
    """The row layout for degree n, l, phi = |.| (``f_abs``) and derivative factors ``kappa``."""
    nv = n + 1 + (l if f_abs else 0)
    recurrent = derivatives and kappa is None
    total = nv + (n + 1 if recurrent else 0) + (l if derivatives and f_abs else 0)
    deriv = nv + 1 if recurrent else 0
    dB = total - l if f_abs else deriv
    first = n + 1 if f_abs else 1
    return _Rows(n, l, derivatives, nv, first, recurrent, deriv, dB, total)


_CACHE = threading.local()


def _buffers(*key) -> dict[tuple[int, int, int], _Block]:
    """This thread's blocks of one configuration, by (cb, nb, mb): reused across calls.

    Allocating the ~1 MB of block buffers on every call made the allocator hand the
    result tensor fresh pages (page faults on first write); kept per thread (blocks are
    scratch space, so two threads must not share them), at most 8 configurations.
    """
    cache = getattr(_CACHE, "blocks", None)
    if cache is None:
        cache = _CACHE.blocks = {}
    if key not in cache:
        while len(cache) >= 8:
            cache.pop(next(iter(cache)))
        cache[key] = {}
    return cache[key]


class _Block:
    """Buffers of one block shape, reused block after block: rows of (cb, W) points.

    The rows of ``V`` (cb, rows, W) are the values f_0..f_n, then phi(f_1)..phi(f_l) when
    phi = |.| (``f_abs``; otherwise phi(f_j) is row j itself): ``nv`` rows. Backward
    adds the derivative rows: f_0'..f_n' from the derivative recurrence, or none when
    the basis has ``f_i' = kappa_i f_{i-1}`` (``kappa``, from
    :func:`opade_fit.bases.derivative_factors`), whose derivatives are the value rows
    themselves; then phi'(f_j) f_j' (divided by kappa_j) when phi = |.|. One matrix
    product of the weights (:func:`_weights`) with ``V`` gives the rows of ``O``: P and
    the inner sum B of Q (and P', B'); one product of (R, T) with the first ``nv`` rows
    gives every coefficient gradient. f_0 = 1, f_0' = 0 and f_1' = a_0 are filled once.
    All views are made here, once, so that a block costs only its arithmetic.
    """

    def __init__(self, cb: int, nb: int, mb: int, lay: _Rows, a0: float, work: torch.dtype,
                 device: torch.device) -> None:  # fmt: skip
        empty = functools.partial(torch.empty, dtype=work, device=device)
        W, n, l = nb * mb, lay.n, lay.l
        self.V = empty(cb, lay.total, W)
        rows = self.V.unbind(1)
        self.valuesT = self.V[:, : lay.nv].transpose(1, 2)
        self.f = rows[: n + 1]
        self.f[0].fill_(1.0)
        self.F_rows, self.A = self.V[:, 1 : l + 1], self.V[:, lay.first : lay.first + l]
        self.df = None
        if lay.recurrent:
            self.df = rows[lay.nv : lay.nv + n + 1]
            self.df[0].fill_(0.0)
            if n > 0:
                self.df[1].fill_(a0)
        # the rows holding f_j' (or f_j' / kappa_j) for j = 1..l, and phi'(f_j) times them
        self.dF_rows = self.V[:, lay.deriv : lay.deriv + l]
        self.D = self.V[:, lay.dB : lay.dB + l]
        self.lin, self.X, self.S = empty(cb, W), empty(cb, W), empty(cb, W)
        self.Xg = self.X.view(cb, nb, mb).transpose(0, 1)  # gather/scatter view, (nb, cb, mb)
        self.O = empty(cb, 4 if lay.derivatives else 2, W)  # P, B (then Q), P', B'
        self.P, self.Q, *self.dPQ = self.O.unbind(1)
        self.RT = empty(cb, 2, W)  # R = G / Q, T = R g h'(B)
        self.R, self.T = self.RT.unbind(1)
        self.Rg = self.R.view(cb, nb, mb).transpose(0, 1)


@functools.cache
def _program(table: Recurrence) -> tuple[tuple[float, ...], tuple[tuple, ...]]:
    """The recurrence as one in-place step per degree on scaled rows r_i = s_i f_i.

    From ``f_{i+1} = (a_i x + b_i) f_i - c_i f_{i-1}`` (the table of
    :func:`opade_fit.bases.basis_values`): with s_0 = s_1 = 1 and
    ``s_{i+1} = -s_{i-1} / c_i`` the step is ``r_{i+1} = r_{i-1} + v_i lin_i r_i`` (one
    ``addcmul``), where lin_i is x (b_i = 0; a_i goes into v_i) or a_i x + b_i; with
    c_i = 0 it is ``r_{i+1} = lin_i r_i`` (s_{i+1} = s_i / u_i). The derivative rows
    r_i' = s_i f_i' follow ``r'_{i+1} = r'_{i-1} + v_i lin_i r'_i + e_i r_i``. Scaling a
    row changes no result: the weights and gradients carry 1 / s_i.

    Returns
    -------
    inverse scales : tuple of float
        1 / s_i for i = 0..n.
    steps : tuple
        ``(lin, v, e)`` for i = 1..n - 1, lin None for x or (a_i, b_i); v None for
        c_i = 0 (then ``r_{i+1} = lin r_i``).
    """
    scales, steps = [1.0, 1.0], []
    for i, (a, b, c) in enumerate(table[1:], start=1):
        lin, u = (None, a) if b == 0.0 else ((a, b), 1.0)
        if c != 0.0:
            scales.append(-scales[i - 1] / c)
            v = u * scales[i + 1] / scales[i]
            steps.append((lin, v, v * a / u))
        else:
            scales.append(scales[i] / u)
            steps.append((lin, None, a / u))
    return tuple(1.0 / v for v in scales[: len(table) + 1]), tuple(steps)


def _recurrence_rows(x: torch.Tensor, table: Recurrence, blk: _Block) -> None:
    """The scaled rows r_1..r_n (and r_2'..r_n' when the block has derivative rows), in place.

    The steps of :func:`_program`, with ``out=`` and in-place calls so that no temporary
    is allocated; ``lin_i = a_i x + b_i`` is computed once for each run of equal
    (a_i, b_i) where b_i != 0. r_0 = 1, r_0' = 0 and r_1' = a_0 are constant rows.
    """
    f, df = blk.f, blk.df
    if not table:
        return
    a0, b0, _ = table[0]
    torch.mul(x, a0, out=f[1]) if a0 != 1.0 else f[1].copy_(x)
    if b0 != 0.0:
        f[1].add_(f[0], alpha=b0)
    current = None
    for i, (lin_ab, v, e) in enumerate(_program(table)[1], start=1):
        lin = x
        if lin_ab is not None:
            lin = blk.lin
            if lin_ab != current:
                torch.mul(x, lin_ab[0], out=lin).add_(f[0], alpha=lin_ab[1])
                current = lin_ab
        if v is None:
            torch.mul(lin, f[i], out=f[i + 1])
        else:
            torch.addcmul(f[i - 1], lin, f[i], value=v, out=f[i + 1])
        if df is not None:
            if v is None:
                torch.mul(lin, df[i], out=df[i + 1])
            else:
                torch.addcmul(df[i - 1], lin, df[i], value=v, out=df[i + 1])
            df[i + 1].add_(f[i], alpha=e)


def _weights(numerator, denominator, lay: _Rows, table: Recurrence, den, kappa, work):
    """The (C, 2 or 4, rows) weights of :class:`_Block`'s product, and the gradient scales.

    Row 0 puts c_i / s_i on the rows r_i = s_i f_i (:func:`_program`), giving P; row 1
    w(d_j) / phi(s_j) on the phi(r_j) rows, plus 1 on r_0 when h is the identity (then
    it gives Q = 1 + B, else B). For backward, row 2 puts the same on the derivative
    rows r_i' (P') and row 3 on the phi'(r_j) r_j' rows (B'); where the derivative rows
    are value rows (f_i' = kappa_i f_{i-1}) the weights carry kappa_i / s_{i-1}.

    Returns
    -------
    Wt : tensor (C, 2 or 4, rows)
    gc_scale : tensor (k + 1,)
        1 / s_i: dL/dc_i from the product with the r_i rows.
    gd_scale : tensor (C, l)
        -w'(d_j) / phi(s_j): dL/dd_j from the product with the phi(r_j) rows.
    """
    C = numerator.shape[0] if numerator.dim() == 2 else 1
    c = numerator.detach().to(torch.float64).reshape(C, -1)
    d = denominator.detach().to(torch.float64).reshape(C, -1)
    k, l = c.shape[1] - 1, lay.l
    inv = torch.tensor(_program(table)[0], dtype=torch.float64)
    inv_a = inv[1 : l + 1].abs() if den.f_abs else inv[1 : l + 1]  # 1 / phi(s_j)
    w = (d.abs() if den.d_abs else d) * inv_a
    Wt = torch.zeros(C, 4 if lay.derivatives else 2, lay.total, dtype=torch.float64)
    Wt[:, 0, : k + 1] = c * inv[: k + 1]
    Wt[:, 1, lay.first : lay.first + l] = w
    if not den.outer_abs:
        Wt[:, 1, 0] = 1.0
    if lay.recurrent:
        Wt[:, 2, lay.nv : lay.nv + k + 1] = Wt[:, 0, : k + 1]
        Wt[:, 3, lay.dB : lay.dB + l] = w
    elif lay.derivatives:  # f_i' = kappa_i f_{i-1} = kappa_i r_{i-1} / s_{i-1}
        kap = torch.tensor((0.0, *kappa), dtype=torch.float64)
        Wt[:, 2, :k] = c[:, 1:] * kap[1 : k + 1] * inv[:k]
        # phi'(f_j) f_j' = kappa_j sgn(s_j) / s_{j-1} * sgn(r_j) r_{j-1} for phi = |.|
        dw = (d.abs() if den.d_abs else d) * kap[1 : l + 1] * inv[:l]
        if den.f_abs:
            dw = dw * inv[1 : l + 1].sign()
        Wt[:, 3, lay.dB : lay.dB + l] = dw
    gd_scale = -inv_a * (d.sign() if den.d_abs else torch.ones_like(d))
    return (
        Wt.to(device=numerator.device, dtype=work),
        inv[: k + 1].to(device=numerator.device, dtype=work),
        gd_scale.to(device=numerator.device, dtype=work),
    )


def eager(x, numerator, denominator, recurrence, kind, grad=None, needs=(False, False, False)):
    """Forward (``grad`` None: g(x)) or backward ((dL/dx, dL/dc, dL/dd)) by eager CPU blocks.

    Per block: the recurrence writes the rows of :class:`_Block`; one batched matrix
    product gives P, B (and P', B'), with ``Q = 1 + h(B)`` (the ``Denominator`` shape
    ``Q = 1 + h(sum_j w(d_j) phi(f_j))``); then, for backward, R = G / Q, g = P / Q,
    dL/dx = R (P' - g Q') with Q' = h'(B) B', and one product of (R, T = R g h'(B))
    with the value rows gives dL/dc_i = sum R f_i and dL/dd_j = -w'(d_j) sum T phi(f_j).
    Every elementwise step writes in place into the block's buffers or the result.
    """
    shape, work = _layout(x, numerator)
    den = get_denominator(kind)
    backward = grad is not None
    need_x, need_c, need_d = needs
    derivatives = backward and need_x
    n, C = len(recurrence), shape[1]
    k, l = numerator.shape[-1] - 1, denominator.shape[-1]
    kappa = derivative_rows(recurrence)
    lay = _rows(n, l, den.f_abs, kappa, derivatives)
    Wt, gc_scale, gd_scale = _weights(numerator, denominator, lay, recurrence, den, kappa, work)
    x3 = x.reshape(shape)
    g3 = grad.reshape(shape) if backward else None
    out = torch.empty(shape, dtype=x.dtype, device=x.device) if (not backward or need_x) else None
    sums = torch.zeros(C, 2, lay.nv, dtype=work, device=x.device)
    need_sums = need_c or need_d
    buffers = _buffers(recurrence, lay, work, x.device)
    tensors = (x3,) + ((out,) if out is not None else ()) + ((g3,) if backward else ())
    for ch, slabs in _blocks(tensors, BLOCK):
        xs = slabs[0]  # (cb, mb) within one n, else (nb, cb, mb)
        target = slabs[1] if out is not None else None
        nb, (cb, mb) = (1, xs.shape) if xs.dim() == 2 else (xs.shape[0], xs.shape[1:])
        b = buffers.get((cb, nb, mb))
        if b is None:
            a0 = recurrence[0][0] if n else 0.0
            b = buffers[(cb, nb, mb)] = _Block(cb, nb, mb, lay, a0, work, x.device)
        direct = nb == 1 and x.dtype == work
        if direct:
            xb = xs
        else:
            (b.Xg if nb > 1 else b.X).copy_(xs)
            xb = b.X
        _recurrence_rows(xb, recurrence, b)
        if den.f_abs:
            torch.abs(b.F_rows, out=b.A)
            if derivatives:
                torch.sign(b.F_rows, out=b.D).mul_(b.dF_rows)
        torch.bmm(Wt if C == 1 else Wt[ch], b.V, out=b.O)
        P, Q = b.P, b.Q  # Q: 1 + B, or B when h = |.|
        if den.outer_abs:
            if backward:
                torch.sign(Q, out=b.S)
            Q.abs_().add_(b.f[0])
        if not backward:
            if direct:
                torch.div(P, Q, out=target)
            else:
                target.copy_(P.div_(Q) if nb == 1 else P.div_(Q).view(cb, nb, mb).transpose(0, 1))
            continue
        R, T = b.R, b.T
        G = slabs[-1]
        if direct:
            torch.div(G, Q, out=R)
        else:
            (b.Rg if nb > 1 else R).copy_(G)
            R.div_(Q)
        g = P.div_(Q)
        if need_sums:
            torch.mul(g, R, out=T)
            if den.outer_abs:
                T.mul_(b.S)
            (sums if C == 1 else sums[ch]).baddbmm_(b.RT, b.valuesT)
        if need_x:
            dg, dQ = b.dPQ  # P', then P' - g Q'; B'
            if den.outer_abs:
                dQ.mul_(b.S)
            dg.addcmul_(g, dQ, value=-1.0)
            if direct:
                torch.mul(R, dg, out=target)
            else:
                dg.mul_(R)
                target.copy_(dg if nb == 1 else dg.view(cb, nb, mb).transpose(0, 1))
    if not backward:
        return out.view(x.shape)
    gc = gd = None
    if need_c:
        gc = (sums[:, 0, : k + 1] * gc_scale).reshape(numerator.shape).to(numerator.dtype)
    if need_d:
        gd = (sums[:, 1, lay.first : lay.first + l] * gd_scale).reshape(denominator.shape)
        gd = gd.to(denominator.dtype)
    return None if out is None else out.view(x.shape), gc, gd
