"""TEMPORARY stand-in for ``opade_fit.bases.basis_values`` / ``series`` and
``opade_fit.denominators.get_denominator`` (issue 14), with their signatures.

Removed when those land on main; nothing else may import this module.
"""

from __future__ import annotations

from typing import Any


def basis_values(x: Any, table, *, xp: Any, derivatives: bool = False):
    """f_0..f_n (and derivatives) by the recurrence (see opade_fit.bases)."""
    f = [xp.ones_like(x)]
    df = [xp.zeros_like(x)] if derivatives else None
    for i, (a, b, c) in enumerate(table):
        lin = x if a == 1.0 else a * x
        if b != 0.0:
            lin = lin + b
        nxt = lin if i == 0 else lin * f[i]
        if i > 0 and c != 0.0:
            nxt = nxt - (c if i == 1 else c * f[i - 1])
        if df is not None:
            dnxt = a * f[0] if i == 0 else a * f[i] + lin * df[i]
            if i > 1 and c != 0.0:
                dnxt = dnxt - c * df[i - 1]
            df.append(dnxt)
        f.append(nxt)
    return f, df


def series(values, coefficients):
    """sum_i coefficients[i] * values[i] in increasing degree."""
    out = coefficients[0] * values[0]
    for i in range(1, len(coefficients)):
        out = out + coefficients[i] * values[i]
    return out


class _Den:
    def __init__(self, name: str) -> None:
        self.name = name

    def inner(self, f, d, *, xp):
        if self.name == "safe":
            return series([xp.abs(f[j]) for j in range(1, len(d) + 1)], [xp.abs(v) for v in d])
        return series(f[1 : len(d) + 1], d)

    def q(self, f, d, *, xp):
        b = self.inner(f, d, xp=xp)
        return 1 + (xp.abs(b) if self.name == "safe-abs-sum" else b)

    def dq_dx(self, f, df, d, *, xp):
        if self.name == "safe":
            terms = [xp.sign(f[j]) * df[j] for j in range(1, len(d) + 1)]
            return series(terms, [xp.abs(v) for v in d])
        db = series(df[1 : len(d) + 1], d)
        return xp.sign(self.inner(f, d, xp=xp)) * db if self.name == "safe-abs-sum" else db

    def dq_dd(self, f, d, *, xp):
        if self.name == "safe":
            return [xp.sign(v) * xp.abs(f[j]) for j, v in enumerate(d, start=1)]
        if self.name == "safe-abs-sum":
            s = xp.sign(self.inner(f, d, xp=xp))
            return [s * f[j] for j in range(1, len(d) + 1)]
        return [f[j] for j in range(1, len(d) + 1)]


def get_denominator(name: str) -> _Den:
    return _Den(name)
