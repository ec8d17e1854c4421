"""Q and its derivatives on torch blocks (the one place to swap for ``opade_fit.denominators``).

For stacked basis rows ``F[j-1] = f_j`` (shape (l, *block)), their
x-derivatives ``dF`` and coefficients ``d`` (shape (l, 1, cb, 1)):

=================  =======================  ===========================  ==================
kind               Q                        dQ/dx                        dQ/dd_j
=================  =======================  ===========================  ==================
``safe``           1 + sum |d_j| |f_j|      sum |d_j| sgn(f_j) f_j'      sgn(d_j) |f_j|
``safe-abs-sum``   1 + |B|, B = sum d_j f_j  sgn(B) sum d_j f_j'          sgn(B) f_j
``plain``          1 + B                    sum d_j f_j'                 f_j
=================  =======================  ===========================  ==================

with sgn(0) = 0 (the convention of :meth:`opade_fit.forms.RationalForm.jacobian`).
"""

from __future__ import annotations

import torch


def denominator(
    kind: str, F: torch.Tensor, dF: torch.Tensor | None, d: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """(Q, dQ/dx or None when ``dF`` is None, dQ/dd_j rows) for one block (l >= 1)."""
    if kind == "safe":
        A = F.abs()
        ad = d.abs()
        Q = (ad * A).sum(0).add_(1.0)
        dQdx = None if dF is None else (ad * torch.sign(F) * dF).sum(0)
        return Q, dQdx, A.mul_(torch.sign(d))
    B = (d * F).sum(0)
    dB = None if dF is None else (d * dF).sum(0)
    if kind == "safe-abs-sum":
        s = torch.sign(B)
        return B.abs().add_(1.0), None if dB is None else dB.mul_(s), F * s
    return B.add(1.0), dB, F
