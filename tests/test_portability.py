"""The committed tables regenerate on other CPUs: `opade tables check` on other BLAS/SIMD paths.

A table must be a function of its inputs, not of the machine. The differences between machines
are produced here in subprocesses: OpenBLAS picks its kernels from ``OPENBLAS_CORETYPE``,
numpy's SIMD paths are switched off with ``NPY_DISABLE_CPU_FEATURES``, and the BLAS thread
count changes reduction order. Each configuration regenerates a sample of the spec and
compares it with the committed tables (`opade tables check --only ...`, which fails on a
difference in g, the stored errors, the certificate bounds or the poles; docs/tables.md).

The sample: every basis x denominator for two targets (identity, with its exact fits, among
them laguerre/safe-abs-sum, and softplus), both objectives (84 entries), and the
safe-abs-sum tanh minimax entries of every basis (7 entries: tanh's odd optimum puts a zero of
B at x = 0, where the computed sign of B is convergence noise; their certificate scope, which
lists the sign patterns searched, flipped under OpenBLAS Sandybridge before issue 11's last
fix).

A configuration is run only where the CPU can execute it: a forced OpenBLAS kernel the CPU
lacks the instructions for would crash (SIGILL), so it is skipped with the reason. The
``NPY_DISABLE_CPU_FEATURES`` values are accepted on every x86-64 CPU: numpy refuses only
disabling a *baseline* feature (X86_V2 for the wheels in use), and disabling a dispatched
feature the CPU lacks is a no-op (at most an ImportWarning), which
:func:`test_numpy_accepts_every_configuration` checks.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
TABLES = REPO / "tables"
SPEC = TABLES / "spec.toml"

#: The regenerated sample (`opade tables check --only` filters, OR-ed).
SAMPLE = (
    "degrees=5/4,target=identity|softplus,center=none,weight=uniform",
    "degrees=5/4,denominator=safe-abs-sum,target=tanh,objective=max,center=none,weight=uniform",
)
#: Entries in SAMPLE: 7 bases x 3 denominators x 2 targets x 2 objectives, + 7 bases.
SAMPLE_SIZE = 91

_AVX512_OFF = "X86_V4 AVX512_ICL AVX512_SPR"
_SIMD_OFF = "X86_V3 " + _AVX512_OFF
#: (name, environment, CPU features the forced OpenBLAS kernel needs).
CONFIGS = [
    # the machine of issue 11: AVX2 without AVX-512 (OpenBLAS Haswell, numpy's X86_V3 path)
    (
        "haswell-avx2",
        {"OPENBLAS_CORETYPE": "Haswell", "NPY_DISABLE_CPU_FEATURES": _AVX512_OFF},
        ("AVX2", "FMA3"),
    ),
    # AVX without AVX2, numpy at its baseline (X86_V2: SSE4.2)
    (
        "sandybridge-baseline",
        {"OPENBLAS_CORETYPE": "Sandybridge", "NPY_DISABLE_CPU_FEATURES": _SIMD_OFF},
        ("AVX",),
    ),
    # SSE only, numpy at its baseline, 2 BLAS threads outside the fits
    (
        "nehalem-baseline-2threads",
        {
            "OPENBLAS_CORETYPE": "Nehalem",
            "NPY_DISABLE_CPU_FEATURES": _SIMD_OFF,
            "OPENBLAS_NUM_THREADS": "2",
            "OMP_NUM_THREADS": "2",
        },
        ("SSE42",),
    ),
]

pytestmark = pytest.mark.skipif(
    platform.machine().lower() not in ("x86_64", "amd64"),
    reason="OPENBLAS_CORETYPE / NPY_DISABLE_CPU_FEATURES values are x86-64 names",
)


def _cpu_has(features: tuple[str, ...]) -> bool:
    from numpy._core._multiarray_umath import __cpu_features__

    return all(__cpu_features__.get(f, False) for f in features)


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENBLAS_", "NPY_"))}
    env.update(extra)
    return env


def test_numpy_accepts_every_configuration():
    """numpy imports under each NPY_DISABLE_CPU_FEATURES value and turns those paths off."""
    for name, extra, _needs in CONFIGS:
        code = (
            "from numpy._core._multiarray_umath import __cpu_features__ as f; "
            "print(' '.join(k for k, v in f.items() if v))"
        )
        env = _env({"NPY_DISABLE_CPU_FEATURES": extra["NPY_DISABLE_CPU_FEATURES"]})
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
        )
        assert out.returncode == 0, (name, out.stderr)
        on = set(out.stdout.split())
        assert not on & set(extra["NPY_DISABLE_CPU_FEATURES"].split()), (name, on)


@pytest.mark.parametrize("name,extra,needs", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_sample_regenerates_under_another_cpu_configuration(name, extra, needs):
    if not _cpu_has(needs):
        pytest.skip(f"{name}: this CPU lacks {', '.join(needs)} for that OpenBLAS kernel")
    cmd = [sys.executable, "-m", "opade_fit", "tables", "check"]
    cmd += [arg for only in SAMPLE for arg in ("--only", only)]
    cmd += ["--spec", str(SPEC), "--tables", str(TABLES), "--jobs", "2"]
    out = subprocess.run(cmd, env=_env(extra), capture_output=True, text=True, check=False)
    assert out.returncode == 0, f"{name}:\n{out.stderr[-6000:]}"
    assert out.stdout.startswith(f"tables OK: {SAMPLE_SIZE} entries match the spec"), out.stdout


def test_sample_covers_every_basis_and_denominator():
    from opade_fit.bases import BASIS_NAMES
    from opade_fit.forms import DENOMINATORS
    from opade_fit.tables import load_spec, select

    chosen = select(load_spec(SPEC), SAMPLE)
    assert len(chosen) == SAMPLE_SIZE
    assert {(e.basis, e.denominator, e.target, e.objective) for e in chosen} == {
        (b, d, t, o)
        for b in BASIS_NAMES
        for d in DENOMINATORS
        for t in ("identity", "softplus")
        for o in ("l2", "max")
    } | {(b, "safe-abs-sum", "tanh", "max") for b in BASIS_NAMES}
    assert np.all([e.degrees == (5, 4) for e in chosen])
