"""CLI: `opade --version`, `bases`, `targets`, `derive`, and bad input (exit 2, one stderr line)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from typer.testing import CliRunner

from opade_fit._version import __version__
from opade_fit.bases import BASIS_NAMES
from opade_fit.cli import app
from opade_fit.forms import RationalForm
from opade_fit.targets import TARGET_NAMES, TARGETS

#: generated Python vs the library's numeric Jacobian, relative to max(1, |value|)
CODE_TOL = 1e-12

runner = CliRunner()  # this typer version keeps stdout and stderr apart


def run(*args: str):
    return runner.invoke(app, list(args))


def ok(*args: str) -> str:
    result = run(*args)
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    assert result.stderr == ""
    return result.stdout


def test_version():
    assert ok("--version") == f"opade-fit {__version__}\n"


def test_help_lists_the_core_commands():
    out = ok("--help")
    for cmd in ("bases", "targets", "derive"):
        assert cmd in out


def test_bases_lists_all_seven():
    lines = ok("bases").splitlines()
    assert [line.split()[0] for line in lines] == list(BASIS_NAMES)
    assert "probabilists' Hermite" in lines[BASIS_NAMES.index("hermite1")]


def test_bases_prints_exact_polynomials():
    out = ok("bases", "hermite1", "--degree", "4").splitlines()
    assert out == [
        "f_0(x) = 1",
        "f_1(x) = x",
        "f_2(x) = x**2 - 1",
        "f_3(x) = x**3 - 3*x",
        "f_4(x) = x**4 - 6*x**2 + 3",
    ]
    legendre = ok("bases", "LEGENDRE", "-n", "2").splitlines()
    assert legendre[-1] == "f_2(x) = 3*x**2/2 - 1/2"
    assert ok("bases", "laguerre", "--degree", "0") == "f_0(x) = 1\n"


def test_bases_latex():
    out = ok("bases", "hermite2", "--degree", "2", "--latex").splitlines()
    assert out[-1] == "f_{2}(x) = 4 x^{2} - 2"


def test_targets_lists_builtins_parameters_formulas_and_expressions():
    out = ok("targets")
    for name in TARGET_NAMES:
        assert f"  {name} " in out
        assert TARGETS[name].expression in out
    assert "negative_slope=0.01" in out
    assert "beta=1.0" in out and "alpha=1.0" in out
    assert "silu" in out and "alias of swish with beta=1.0" in out
    assert "x*erf(x)" in out and "erf" in out and "tanh" in out


def _parse_text(out: str) -> dict[str, sp.Expr]:
    """`name = expr` lines of `opade derive` text output, parsed back with sympy."""
    names = {
        s: sp.Symbol(s, real=True)
        for s in ["x", *(f"c{i}" for i in range(10)), *(f"d{j}" for j in range(1, 10))]
    }
    parsed = {}
    for line in out.splitlines():
        if line.startswith("#"):
            continue
        lhs, sep, rhs = line.partition(" = ")
        assert sep, line
        parsed[lhs] = sp.sympify(rhs, locals=names)
    return parsed


def test_derive_text_is_the_symbolic_derivation():
    out = ok("derive", "--basis", "hermite1", "--denominator", "safe", "--degrees", "5/4")
    parsed = _parse_text(out)
    sym = RationalForm("hermite1", "safe", (5, 4)).symbolic()
    expected = dict(sym.items())
    for key in ["P(x)", "Q(x)", "g(x)", "dg/dx", *(f"dg/dc{i}" for i in range(6))]:
        assert sp.expand(parsed[key] - expected[key]) == 0, key
    for j in range(1, 5):
        assert sp.expand(parsed[f"dg/dd{j}"] - expected[f"dg/dd{j}"]) == 0
    # HP-1 basis and the paper's eq. 10 shape for dg/dd_j
    assert (
        parsed["f4(x)"] == sp.Symbol("x", real=True) ** 4 - 6 * sp.Symbol("x", real=True) ** 2 + 3
    )
    assert "sign(d1)" in out.split("dg/dd1 = ")[1].splitlines()[0]
    assert "dg/dx = P'/Q - P*Q'/Q**2" in out


def test_derive_latex():
    out = ok(
        "derive", "--basis", "hermite1", "--denominator", "safe", "--degrees", "5/4", "--latex"
    )
    assert r"\frac{\partial g}{\partial d_{4}} = " in out
    assert r"\frac{\partial g}{\partial c_{0}} = " in out
    assert r"\operatorname{sign}{\left(d_{1} \right)}" in out
    assert "Abs" not in out and "**" not in out


@pytest.mark.parametrize(
    ("basis", "denominator", "degrees"),
    [
        ("hermite1", "safe", "5/4"),
        ("laguerre", "plain", "2/3"),
        ("chebyshev2", "SAFE-ABS-SUM", "1/0"),
    ],
)
def test_derive_python_evaluates_to_the_numeric_jacobian(basis, denominator, degrees):
    code = ok(
        "derive", "--basis", basis, "--denominator", denominator, "--degrees", degrees, "--python"
    )
    namespace: dict = {}
    exec(compile(code, f"<opade derive {basis}>", "exec"), namespace)
    form = RationalForm(basis, denominator.lower(), degrees)
    rng = np.random.default_rng(0)
    c = rng.normal(size=form.k + 1)
    d = rng.choice([-1.0, 1.0], size=form.l) * rng.uniform(0.2, 1.0, size=form.l)
    x = np.linspace(-2.3, 2.1, 37)
    keep = np.abs(form.parts(x, c, d).Q) > 0.1  # plain: stay away from poles
    x = x[keep]
    for got, want in [
        (namespace["g"](x, c, d), form.evaluate(x, c, d)),
        (namespace["dg_dx"](x, c, d), form.derivative(x, c, d)),
        (namespace["jacobian"](x, c, d), form.jacobian(x, c, d)),
    ]:
        assert got.shape == want.shape
        scale = np.maximum(1.0, np.abs(want))
        assert np.all(np.abs(got - want) <= CODE_TOL * scale)


def test_derive_latex_and_python_are_exclusive():
    result = run("derive", "--basis", "monomial", "--latex", "--python")
    assert result.exit_code == 2
    assert "--latex" in result.stderr and "--python" in result.stderr


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["derive", "--basis", "hermit"], ["`--basis`", "did you mean 'hermite"]),
        (["derive", "--basis", "hermite1", "--degrees", "5"], ["`--degrees`", "K/L", "'5'"]),
        (["derive", "--basis", "hermite1", "--degrees", "-1/2"], ["`--degrees`", ">= 0"]),
        (["derive", "--basis", "hermite1", "--degrees", "a/b"], ["`--degrees`", "'a/b'"]),
        (["derive", "--basis", "hermite1", "--denominator", "saf"], ["--denominator", "'saf'"]),
        (["derive"], ["--basis"]),
        (["bases", "legendr"], ["`basis`", "did you mean 'legendre'"]),
        (["bases", "hermite1", "--degree", "-1"], ["`--degree`", ">= 0", "-1"]),
        (["bases", "hermite1", "--degree", "x"], ["--degree"]),
        (["nosuchcommand"], ["nosuchcommand"]),
    ],
)
def test_bad_input_exits_2_with_one_line(args, needles):
    result = run(*args)
    assert result.exit_code == 2, (args, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("opade: error: ")
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def test_denominator_choice_is_case_insensitive():
    a = ok("derive", "--basis", "monomial", "--denominator", "Plain", "--degrees", "1/1")
    b = ok("derive", "--basis", "MONOMIAL", "--denominator", "plain", "--degrees", "1/1")
    assert a == b
    assert "Q(x) = d1*x + 1" in a
