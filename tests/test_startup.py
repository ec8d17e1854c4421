"""Start-up stays light: the quick commands and reading a table never load the heavy modules.

Each case runs in a fresh interpreter (a subprocess) and prints the heavy modules
present in ``sys.modules`` afterwards; scipy.optimize (the solvers), sympy (the
exact layer) and matplotlib (the figures) must load only when a command needs
them. Speed itself is measured by ``benchmarks/startup.py``, not asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

HEAVY = ("scipy.optimize", "sympy", "matplotlib")

_PROBE = textwrap.dedent(
    """
    import json, sys
    {body}
    print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)), file=sys.stderr)
    """
)

_CLI = textwrap.dedent(
    """
    from opade_fit.cli import main
    try:
        main({argv!r})
    except SystemExit as exc:
        assert exc.code in (0, None), exc.code
    """
)


def _loaded(body: str) -> list[str]:
    code = _PROBE.format(body=body, heavy=HEAVY)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "argv",
    [
        ["--version"],
        ["--help"],
        ["bases"],
        ["targets"],
        ["tables", "list"],
        ["tables", "list", "--basis", "hermite1"],
        ["tables", "show", "--basis", "hermite1", "--target", "leaky_relu"],
        ["tables", "show", "-b", "monomial", "-t", "gelu", "--objective", "max", "--json"],
        ["fit", "--help"],
        ["report", "--help"],
    ],
    ids=" ".join,
)
def test_quick_commands_skip_heavy_modules(argv: list[str]) -> None:
    assert _loaded(_CLI.format(argv=argv)) == []


def test_import_and_get_init_skip_heavy_modules() -> None:
    body = (
        "import opade_fit\n"
        "from opade_fit import get_init\n"
        "e = get_init('leaky_relu', basis='hermite1', denominator='safe', degrees=(5, 4))\n"
        "assert len(e.numerator) == 6 and len(e.denominator) == 4\n"
        "import numpy as np\n"
        "assert np.isfinite(e.evaluate(np.linspace(-3, 3, 7))).all()\n"
    )
    assert _loaded(body) == []


def test_python_m_version_skips_heavy_modules() -> None:
    body = "import runpy, sys\nsys.argv = ['opade', '--version']\n" + textwrap.dedent(
        """
        try:
            runpy.run_module('opade_fit', run_name='__main__')
        except SystemExit as exc:
            assert exc.code in (0, None), exc.code
        """
    )
    assert _loaded(body) == []


def test_fit_attribute_loads_the_solvers() -> None:
    # the probe can fail: the lazy attribute really brings scipy.optimize in
    assert "scipy.optimize" in _loaded("import opade_fit\nopade_fit.fit\n")


def test_bases_of_one_basis_loads_sympy() -> None:
    # printing exact polynomials is the one `bases` form that needs sympy
    assert "sympy" in _loaded(_CLI.format(argv=["bases", "hermite1"]))
