"""Framework-free test oracle for the layers (not a test module: imported by the layer tests).

The reference is :meth:`RationalForm.evaluate` (float64, what every record is evaluated
with) and the lambdified :meth:`RationalForm.symbolic` derivatives (what `opade derive`
prints; Biswas et al. 2021, eqs. 8-10).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from opade_fit.bases import BASIS_NAMES, get_basis
from opade_fit.forms import DENOMINATORS, RationalForm

#: float64 layer vs float64 reference: max |error| / max |g|.
FLOAT64_RTOL = 1e-12
#: float32 layer vs float64 reference: max |error| / S, where S is the largest first-order
#: rounding sensitivity of g = P/Q, max_x (sum_i |c_i f_i| + |g| sum_j |d_j f_j|) / |Q|
#: (>= max |g|; equal to it up to a small factor unless the coefficients cancel heavily).
FLOAT32_RTOL = 1e-6
#: autodiff gradients vs the lambdified symbolic formulas (float64), relative to max(|want|, 1).
GRADIENT_RTOL = 1e-10
#: gradient points are kept at least this far from kinks (|f_j| = 0, B = 0) and poles.
KINK_MARGIN = 0.05

FORMS = [(b, d) for b in BASIS_NAMES for d in DENOMINATORS]
FORM_IDS = [f"{b}-{d}" for b, d in FORMS]
DEGREES = (5, 4)


def random_coefficients(basis: str, denominator: str, seed: int, degrees=DEGREES):
    """Random c, d for which Q >= 1/2 on [-3, 3] (so `plain` has no pole there)."""
    rng = np.random.default_rng(seed)
    k, l = degrees
    c = rng.normal(size=k + 1)
    d = rng.normal(size=l)
    if denominator == "plain":
        F, _ = get_basis(basis).evaluate(np.linspace(-3, 3, 601), l)
        d = d / np.abs(d).sum() * 0.5 / np.abs(F[1:]).max(axis=1)
    return c, d


def sensitivity(form: RationalForm, x: np.ndarray, c, d) -> float:
    """max_x (sum_i |c_i f_i| + |g| sum_j |d_j f_j|) / |Q|: the float rounding scale of g."""
    F, _ = form.basis_values(x)
    p = form.parts(x, c, d)
    num = np.abs(np.asarray(c)[:, None] * F[: form.k + 1]).sum(axis=0)
    den = np.abs(np.asarray(d)[:, None] * F[1 : form.l + 1]).sum(axis=0)
    return float(np.max((num + np.abs(p.P / p.Q) * den) / np.abs(p.Q)))


def smooth_points(basis: str, d) -> np.ndarray:
    """Points of [-2.5, 2.5] at least KINK_MARGIN away from kinks and from Q = 0."""
    x = np.linspace(-2.5, 2.5, 97) + 0.0123
    F, _ = get_basis(basis).evaluate(x, DEGREES[1])
    B = np.asarray(d) @ F[1:]
    keep = np.abs(F[1:]).min(axis=0) > KINK_MARGIN
    keep &= np.abs(B) > KINK_MARGIN
    keep &= 1.0 + B > 0.2
    assert keep.sum() >= 20
    return x[keep]


def gradient_case(basis: str, denominator: str):
    """(x, c, d) for a gradient test: random coefficients, |d_j| >= KINK_MARGIN, smooth x."""
    c, d = random_coefficients(basis, denominator, seed=7)
    d = np.where(np.abs(d) < KINK_MARGIN, KINK_MARGIN, d)  # |d_j| is a kink at d_j = 0
    return smooth_points(basis, d), c, d


#: The degrees of the two-channel Laguerre cases (every term present: f_i(0) = 1 for all i).
OTHER_DEGREES = [(0, 0), (3, 0), (0, 2), (1, 1), (7, 6)]


def two_channel_case(degrees) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(c, d, x): per-channel Laguerre coefficients at ``degrees`` and x of shape (20, 2)."""
    rng = np.random.default_rng(sum(degrees))
    c, d = rng.normal(size=(2, degrees[0] + 1)), 0.01 * rng.normal(size=(2, degrees[1]))
    return c, d, np.linspace(-2, 2, 40).reshape(20, 2)


def assert_channels_exact(out: np.ndarray, x: np.ndarray, c, d, denominator: str, degrees) -> None:
    """Channel ch of a float64 layer's output equals RationalForm with c[ch], d[ch] (last axis)."""
    form = RationalForm("laguerre", denominator, degrees)
    for ch in range(2):
        want = form.evaluate(x[:, ch], c[ch], d[ch])
        np.testing.assert_allclose(out[:, ch], want, rtol=0, atol=FLOAT64_RTOL * np.abs(want).max())


def missing_extra_message(module: str, missing: str) -> str:
    """What ``import module`` says in a fresh interpreter where ``missing`` is not installed.

    The interpreter first checks that ``import opade_fit`` does not import ``missing``.
    """
    code = textwrap.dedent(
        f"""
        import sys
        import opade_fit
        assert {missing!r} not in sys.modules, "import opade_fit imported {missing}"
        sys.modules[{missing!r}] = None  # makes `import {missing}` fail as if not installed
        try:
            import {module}
        except ImportError as exc:
            print(exc)
        else:
            raise SystemExit("no ImportError")
        """
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return run.stdout


#: Warnings raised by torch itself while compiling: the jit deprecation by its own inductor
#: imports (torch/utils/mkldnn.py), and dynamo instantiating torch.autograd.function.Function
#: when it traces a custom Function. Not raised by opade_fit.
TORCH_COMPILE_WARNINGS = (
    "ignore:`torch.jit.script_method` is deprecated:DeprecationWarning",
    "ignore:.*autograd.function.Function'> should not be instantiated",
)


def torch_compile_case(test):
    """Mark a torch.compile test: slow, torch's own warnings ignored, skipped without a C++
    compiler on PATH (torch.compile's inductor backend compiles C++)."""
    test = pytest.mark.skipif(
        not any(shutil.which(cc) for cc in ("g++", "c++", "clang++")),
        reason="torch.compile (inductor) needs a C++ compiler; none found on PATH",
    )(test)
    for warning in TORCH_COMPILE_WARNINGS:
        test = pytest.mark.filterwarnings(warning)(test)
    return pytest.mark.slow(test)
