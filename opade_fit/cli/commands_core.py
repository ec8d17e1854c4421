"""`opade bases`, `opade targets`, `opade derive`.

Each command is a thin wrapper: it validates its options (usage errors name
the CLI option), calls the library, and prints data on stdout.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated

import typer

from .._version import __version__
from ..bases import BASIS_NAMES, get_basis
from ..errors import UsageError
from ..forms import DENOMINATORS, RationalForm, SymbolicForm, parse_degrees
from ..limits import MAX_BASES_DEGREE
from ..targets import ALIASES, FUNCTIONS, TARGETS
from .app import app, cli_names

if TYPE_CHECKING:  # sympy loads in the commands that print formulas, not at start-up
    import sympy as sp

__all__ = [
    "Denominator",
    "bases_cmd",
    "derive_cmd",
    "derive_text",
    "format_bases",
    "format_targets",
    "targets_cmd",
]

Denominator = enum.Enum("Denominator", {d.replace("-", "_"): d for d in DENOMINATORS}, type=str)
Denominator.__doc__ = "Denominator kinds of docs/spec.md §3 (CLI choice, case-insensitive)."


# ----------------------------------------------------------------------------- bases
def format_bases(name: str | None = None, *, degree: int = 5, latex: bool = False) -> list[str]:
    """Lines printed by ``opade bases``: the list of bases, or f_0..f_N of one basis.

    Raises
    ------
    UsageError
        Unknown basis name (with a suggestion) or ``degree < 0``.
    """
    if name is None:
        width = max(map(len, BASIS_NAMES))
        return [f"{b:{width}s}  {get_basis(b).family}" for b in BASIS_NAMES]
    basis = get_basis(name)
    if isinstance(degree, bool) or not isinstance(degree, int) or degree < 0:
        raise UsageError(f"`--degree` must be an integer >= 0, got {degree!r}")
    if degree > MAX_BASES_DEGREE:
        raise UsageError(f"`--degree` must be at most {MAX_BASES_DEGREE}, got {degree!r}")
    import sympy as sp

    polys = basis.sympy_polys(degree)
    if latex:
        return [f"f_{{{i}}}(x) = {sp.latex(p)}" for i, p in enumerate(polys)]
    return [f"f_{i}(x) = {sp.sstr(p)}" for i, p in enumerate(polys)]


@app.command("bases")
def bases_cmd(
    name: Annotated[
        str | None,
        typer.Argument(
            help=f"Basis to print ({', '.join(BASIS_NAMES)}); omit it to list the bases.",
            show_default=False,
        ),
    ] = None,
    degree: Annotated[
        int | None,
        typer.Option(
            "--degree",
            "-n",
            help="Highest degree N: print f_0..f_N exactly (with NAME; default 5).",
            show_default=False,
        ),
    ] = None,
    latex: Annotated[
        bool,
        typer.Option("--latex", help="Print the polynomials as LaTeX instead of text (with NAME)."),
    ] = False,
) -> None:
    """List the bases, or print f_0..f_N of one basis exactly."""
    if name is None and (degree is not None or latex):
        given = "`--degree`" if degree is not None else "`--latex`"
        raise UsageError(f"{given} applies to one basis; give its NAME, e.g. opade bases hermite1")
    for line in format_bases(name, degree=5 if degree is None else degree, latex=latex):
        typer.echo(line)


# ----------------------------------------------------------------------------- targets
def format_targets() -> list[str]:
    """Lines printed by ``opade targets``: built-ins, parameters, formulas, expressions."""
    lines = ["built-in targets (name, parameters with defaults, formula):"]
    width = max(map(len, [*TARGETS, *ALIASES]))
    for name, b in TARGETS.items():
        params = ", ".join(f"{k}={v!r}" for k, v in b.defaults) or "-"
        lines.append(f"  {name:{width}s}  params: {params}")
        lines.append(f"  {'':{width}s}  f(x) = {b.expression}    # {b.description}")
    for alias, (canon, fixed) in ALIASES.items():
        fixed_txt = ", ".join(f"{k}={v!r}" for k, v in fixed.items())
        lines.append(f"  {alias:{width}s}  alias of {canon} with {fixed_txt} (takes no parameters)")
    lines += [
        "",
        "parameters: --param NAME=VALUE (repeatable); every value, defaults included, is "
        "recorded in each output.",
        "",
        "expressions: any other --target is an expression in x, parsed safely",
        "  (no Python is run), e.g. 'x*erf(x)' or 'x*tanh(log(1+exp(x)))'. Allowed: numbers,",
        "  x, the constants pi and e, the operators + - * / ** (^ means **), and the functions:",
        "  " + ", ".join(sorted(FUNCTIONS)) + ".",
    ]
    return lines


@app.command("targets")
def targets_cmd() -> None:
    """List the target activations with their parameters, defaults and formulas."""
    for line in format_targets():
        typer.echo(line)


# ----------------------------------------------------------------------------- derive
def _structured(sym: SymbolicForm) -> tuple[sp.Expr, sp.Expr]:
    """P'(x) and Q'(x) of the form (sgn(0) = 0 at kinks, as sympy's sign)."""
    import sympy as sp

    return sp.diff(sym.P, sym.x), sp.diff(sym.Q, sym.x)


def derive_text(form: RationalForm) -> list[str]:
    """Plain-text derivation: one ``name = sympy expression`` line per quantity.

    Lines starting with ``#`` are comments (the form, the coefficient
    convention and the structured formula dg/dx = P'/Q - P Q'/Q^2).
    """
    import sympy as sp

    sym = form.symbolic()
    dP, dQ = _structured(sym)
    polys = form.basis_object.sympy_polys(max(form.k, form.l))
    lines = [
        f"# {form.label()}: g(x) = P(x)/Q(x), basis {form.basis_object.family}",
        f"# numerator ({', '.join(map(str, sym.c))}), denominator ({', '.join(map(str, sym.d))})"
        " in increasing degree; the leading 1 of Q is implicit; sgn(0) = 0",
    ]
    lines += [f"f{i}(x) = {sp.sstr(p)}" for i, p in enumerate(polys)]
    lines += [f"P(x) = {sp.sstr(sym.P)}", f"Q(x) = {sp.sstr(sym.Q)}"]
    lines += [f"P'(x) = {sp.sstr(dP)}", f"Q'(x) = {sp.sstr(dQ)}"]
    lines += [
        "# g = P/Q;  dg/dx = P'/Q - P*Q'/Q**2;  dg/dc_i = f_i/Q;  dg/dd_j = -(dQ/dd_j)*P/Q**2",
        f"g(x) = {sp.sstr(sym.g)}",
        f"dg/dx = {sp.sstr(sym.dg_dx)}",
    ]
    lines += [f"dg/d{s} = {sp.sstr(e)}" for s, e in zip(sym.c, sym.dg_dc, strict=True)]
    lines += [f"dg/d{s} = {sp.sstr(e)}" for s, e in zip(sym.d, sym.dg_dd, strict=True)]
    return lines


def derive_latex(form: RationalForm) -> list[str]:
    """LaTeX derivation: one ``lhs = rhs`` line per quantity (math mode, no delimiters)."""
    import sympy as sp

    sym = form.symbolic()
    dP, dQ = _structured(sym)

    def sub(s: sp.Symbol) -> str:
        return sp.latex(s)  # c0 -> c_{0}

    lines = [
        f"% {form.label()}: g(x) = P(x)/Q(x)",
        f"P(x) = {sp.latex(sym.P)}",
        f"Q(x) = {sp.latex(sym.Q)}",
        f"P'(x) = {sp.latex(dP)}",
        f"Q'(x) = {sp.latex(dQ)}",
        r"\frac{\partial g}{\partial x} = \frac{P'(x)}{Q(x)} - \frac{P(x)\,Q'(x)}{Q(x)^{2}}",
        f"g(x) = {sp.latex(sym.g)}",
        rf"\frac{{\partial g}}{{\partial x}} = {sp.latex(sym.dg_dx)}",
    ]
    for s, e in [*zip(sym.c, sym.dg_dc, strict=True), *zip(sym.d, sym.dg_dd, strict=True)]:
        lines.append(rf"\frac{{\partial g}}{{\partial {sub(s)}}} = {sp.latex(e)}")
    return lines


def derive_python(form: RationalForm) -> list[str]:
    """A self-contained Python module (numpy) with g, dg/dx, each dg/dθ and the Jacobian.

    Every function takes ``(x, c, d)``: points, numerator ``c_0..c_k`` and
    denominator ``d_1..d_l`` (increasing degree), and returns an array shaped
    like ``x``; ``jacobian`` returns shape ``x.shape + (k + 1 + l,)``.
    """
    from sympy.printing.numpy import NumPyPrinter

    sym = form.symbolic()
    printer = NumPyPrinter({"fully_qualified_modules": True})
    cs = [str(s) for s in sym.c]
    ds = [str(s) for s in sym.d]
    unpack = [f"    {', '.join(cs)}, = c"]
    unpack.append(f"    {', '.join(ds)}, = d" if ds else "    () = tuple(d)")
    lines = [
        f'"""{form.label()}: g(x) = P(x)/Q(x) and its derivatives.',
        "",
        f"Generated by opade-fit {__version__}: opade derive --basis {form.basis} "
        f"--denominator {form.denominator} --degrees {form.k}/{form.l} --python",
        f"Arguments: x (array), c = ({', '.join(cs)}), d = ({', '.join(ds)})"
        + " (increasing degree;",
        "the leading 1 of Q is implicit). sgn(0) = 0 at kinks.",
        '"""',
        "",
        "import numpy",
        "",
        "",
        "def _shaped(x, value):",
        "    return numpy.broadcast_to(numpy.asarray(value, dtype=numpy.float64), numpy.shape(x))",
    ]
    names = []
    quantities = [("P", sym.P), ("Q", sym.Q), ("g", sym.g), ("dg_dx", sym.dg_dx)]
    quantities += [(f"dg_d{s}", e) for s, e in zip(sym.c, sym.dg_dc, strict=True)]
    quantities += [(f"dg_d{s}", e) for s, e in zip(sym.d, sym.dg_dd, strict=True)]
    for fname, expr in quantities:
        names.append(fname)
        lines += [
            "",
            "",
            f"def {fname}(x, c, d):",
            "    x = numpy.asarray(x, dtype=numpy.float64)",
            *unpack,
            f"    return _shaped(x, {printer.doprint(expr)})",
        ]
    columns = ", ".join(f"{n}(x, c, d)" for n in names[4:])
    lines += [
        "",
        "",
        "def jacobian(x, c, d):",
        '    """dg/d[c0..ck, d1..dl], shape x.shape + (k + 1 + l,)."""',
        f"    return numpy.stack([{columns}], axis=-1)",
    ]
    return lines


@app.command("derive")
def derive_cmd(
    basis: Annotated[
        str,
        typer.Option("--basis", "-b", help=f"Polynomial basis: {', '.join(BASIS_NAMES)}."),
    ],
    denominator: Annotated[
        Denominator,
        typer.Option(
            "--denominator",
            "-d",
            case_sensitive=False,
            help="Denominator Q: safe = 1 + sum |d_j||f_j|, safe-abs-sum = 1 + |sum d_j f_j|, "
            "plain = 1 + sum d_j f_j.",
        ),
    ] = Denominator.safe,
    degrees: Annotated[
        str,
        typer.Option(
            "--degrees", "-k", help="Numerator/denominator degrees K/L, integers >= 0 (e.g. 5/4)."
        ),
    ] = "5/4",
    latex: Annotated[bool, typer.Option("--latex", help="Print LaTeX instead of text.")] = False,
    python: Annotated[
        bool,
        typer.Option(
            "--python", help="Print a numpy Python module with g, dg/dx and the Jacobian."
        ),
    ] = False,
) -> None:
    """Print g(x), dg/dx, dg/dc_i and dg/dd_j of one rational form, derived with sympy."""
    if latex and python:
        raise UsageError("`--latex` and `--python` are mutually exclusive; choose one")
    try:
        name = get_basis(basis).name
    except UsageError as exc:
        raise UsageError(cli_names(str(exc))) from None
    try:
        kl = parse_degrees(degrees)
    except UsageError as exc:
        raise UsageError(cli_names(str(exc))) from None
    form = RationalForm(name, Denominator(denominator).value, kl)
    render = derive_latex if latex else derive_python if python else derive_text
    for line in render(form):
        typer.echo(line)
