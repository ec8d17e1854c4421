"""`opade fit`: fit one form to one target and print / write the record."""

from __future__ import annotations

import enum
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer

from ..bases import BASIS_NAMES
from ..errors import UsageError
from ..problem import CENTER_MODES, DEFAULT_POINTS, OBJECTIVES, make_spec
from ..record import dumps, write_atomic
from ..report.files import check_output_path, figure_format
from ..result import FitResult
from ..targets import TARGET_NAMES, parse_params
from .app import app, cli_names
from .commands_core import Denominator

__all__ = ["fit_cmd", "format_center_comparison", "format_summary"]

Objective = enum.Enum("Objective", {o: o for o in OBJECTIVES}, type=str)
Center = enum.Enum("Center", {m.replace("-", "_"): m for m in (*CENTER_MODES, "compare")}, type=str)

_BASIS_HELP = f"Polynomial basis: {', '.join(BASIS_NAMES)} (hermite1 = HP-1, hermite2 = HP-2)."
_TARGET_HELP = (
    f"Target activation: {', '.join(TARGET_NAMES)}, silu, or an expression in x such as 'x*erf(x)'."
)


def _fmt(v: float) -> str:
    return f"{v: .10e}"


def format_summary(result: FitResult) -> str:
    """The readable summary printed by ``opade fit``: form, target, coefficients, errors, solver."""
    rec = result.to_dict()
    form, grid, err, solver = rec["form"], rec["grid"], rec["errors"], rec["solver"]
    a, b = rec["interval"]
    ca, cb = err["check"]["interval"]
    hp = {"hermite1": "  [HP-1]", "hermite2": "  [HP-2]", "monomial": "  [PAU]"}.get(
        form["basis"], ""
    )
    lines = [
        f"form         {form['basis']}/{form['denominator']}, degrees {form['degrees'][0]}/"
        f"{form['degrees'][1]}{hp}",
        f"target       {result.target.label()}    f(x) = {rec['target']['expression']}",
        f"fit          [{a:g}, {b:g}], {grid['points']} {grid['kind']} points, objective "
        f"{rec['objective']}, weight {rec['weight']}, "
        f"derivative weight {rec['derivative_weight']:g}",
    ]
    center = rec["center"]
    if center["mode"] != "none":
        dropped = f", dropped {center['dropped']}" if center["dropped"] else ""
        lines.append(f"center       {center['mode']}{dropped}: {center['constraint']}")
    lines.append("numerator    (c_0 .. c_k, increasing degree)")
    lines += [f"  c{i:<3d} {_fmt(v)}" for i, v in enumerate(rec["coefficients"]["numerator"])]
    lines.append("denominator  (d_1 .. d_l, increasing degree; leading 1 implicit)")
    lines += [
        f"  d{j:<3d} {_fmt(v)}" for j, v in enumerate(rec["coefficients"]["denominator"], start=1)
    ]
    lines.append("errors                      max |g-f|     rms(g-f)      max |g'-f'|   rms(g'-f')")
    for label, e in (
        (f"fit   [{a:g}, {b:g}]", err["fit"]),
        (f"check [{ca:g}, {cb:g}]", err["check"]),
    ):
        lines.append(
            f"  {label:25s} {e['max_abs']:.4e}    {e['rms']:.4e}    "
            f"{e['derivative_max_abs']:.4e}    {e['derivative_rms']:.4e}"
        )
    cert = rec.get("certificate")
    if cert:
        lines.append(
            f"certificate  minimax error {cert['upper_bound']:.6e} >= optimum >= "
            f"{cert['lower_bound']:.6e} (gap {cert['gap']:.2%}); {cert['scope']}"
        )
    if form["denominator"] == "plain":
        poles = rec.get("poles_in_check", rec["poles"])
        lines.append(
            "poles        none on the check interval"
            if not poles
            else "poles        Q = 0 at x = "
            + ", ".join(f"{p:.6g}" for p in poles)
            + " (check interval)"
        )
    state = "success" if solver["success"] else "NOT CONVERGED"
    lines.append(
        f"solver       {state}, status {solver['status']}: {solver['message']} "
        f"({solver['nfev']} evaluations, {solver['method']})"
    )
    return "\n".join(lines)


def format_center_comparison(results: dict[str, FitResult]) -> str:
    """Side-by-side errors of the zero-centring modes (``--center compare``)."""
    lines = [
        f"{'center':10s} {'dropped':8s} {'rms fit':>11s} {'max fit':>11s} {'rms check':>11s} "
        f"{'max check':>11s}  constraint"
    ]
    for mode, r in results.items():
        e, c = r.errors["fit"], r.errors["check"]
        center = r.record["center"]
        lines.append(
            f"{mode:10s} {center['dropped'] or '-':8s} {e['rms']:11.4e} {e['max_abs']:11.4e} "
            f"{c['rms']:11.4e} {c['max_abs']:11.4e}  {center['constraint'] or '-'}"
        )
    return "\n".join(lines)


def _warn_to_stderr(caught: list[warnings.WarningMessage]) -> None:
    for w in caught:
        typer.echo(f"opade: warning: {' '.join(str(w.message).split())}", err=True)


@app.command("fit")
def fit_cmd(
    target: Annotated[str, typer.Option("--target", "-t", help=_TARGET_HELP)],
    basis: Annotated[str, typer.Option("--basis", "-b", help=_BASIS_HELP)] = "monomial",
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="Target parameter NAME=VALUE (repeatable)."),
    ] = None,
    denominator: Annotated[
        Denominator,
        typer.Option(case_sensitive=False, help="Denominator: safe, safe-abs-sum or plain."),
    ] = Denominator.safe,
    degrees: Annotated[
        str, typer.Option(help="Numerator/denominator degrees K/L (K, L >= 0).")
    ] = "5/4",
    interval: Annotated[tuple[float, float], typer.Option(help="Fit interval A B (A < B).")] = (
        -3.0,
        3.0,
    ),
    points: Annotated[
        int, typer.Option(help="Uniform grid points on the fit interval.")
    ] = DEFAULT_POINTS,
    check_interval: Annotated[
        tuple[float, float] | None,
        typer.Option(help="Check interval A B (default: fit interval scaled by 5/3)."),
    ] = None,
    objective: Annotated[
        Objective,
        typer.Option(case_sensitive=False, help="l2 (least squares) or max (minimax, certified)."),
    ] = Objective.l2,
    weight: Annotated[
        str, typer.Option(help="uniform, normal (N(0,1) density) or normal:SIGMA.")
    ] = "uniform",
    derivative_weight: Annotated[
        float, typer.Option(help="lambda >= 0: also fit lambda*(g' - f') (least squares).")
    ] = 0.0,
    center: Annotated[
        Center,
        typer.Option(
            case_sensitive=False,
            help="Zero-centring g(0)=0: none, general, drop-one, all-zero, or compare (all four).",
        ),
    ] = Center.none,
    drop: Annotated[
        str | None, typer.Option(help="With --center drop-one: the coefficient to drop, e.g. c2.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the JSON record (only) on stdout.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option(help="Write the JSON record to this file (atomically).")
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Write a figure (.png or .svg): target vs fit, and |g - f| on a log scale "
            "(one fit: not with --center compare)."
        ),
    ] = None,
) -> None:
    """Fit a rational form to a target activation and report coefficients and errors."""
    kwargs: dict[str, Any] = dict(
        basis=basis,
        denominator=denominator.value,
        degrees=degrees,
        interval=interval,
        objective=objective.value,
        params=parse_params(param),
        points=points,
        check_interval=check_interval,
        weight=weight,
        derivative_weight=derivative_weight,
        drop=drop,
    )
    # every option combination is checked here, before the first fit starts
    modes = CENTER_MODES if center.value == "compare" else (center.value,)
    if center.value == "compare" and drop is not None:
        raise UsageError("`--drop` cannot be combined with `--center compare`")
    if plot is not None:
        if center.value == "compare":
            raise UsageError(
                "`--plot` draws one fit and cannot be combined with `--center compare`; "
                "plot one mode with --center none|general|drop-one|all-zero"
            )
        figure_format(plot, option="--plot")
        check_output_path(plot, option="--plot")
    if out is not None:
        check_output_path(out, option="--out")
    specs = {}
    for mode in modes:
        try:
            # `drop` goes through unchanged: the library rejects it unless mode is drop-one
            specs[mode] = make_spec(target, center=mode, **kwargs)
        except UsageError as exc:
            raise UsageError(cli_names(str(exc))) from None
    from ..fitting import fit_spec  # the solvers (scipy.optimize) load only to fit
    from ..lsq import OpadeFitWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", OpadeFitWarning)  # numpy's stay errors (app.py)
        results = {mode: fit_spec(spec) for mode, spec in specs.items()}
    _warn_to_stderr(caught)

    if center.value == "compare":
        records = [r.to_dict() for r in results.values()]
        text = dumps(records) if as_json else format_center_comparison(results) + "\n"
        if out is not None:
            write_atomic(out, dumps(records))
            typer.echo(f"wrote {out}", err=True)
        typer.echo(text, nl=False)
        return
    result = results[modes[0]]
    record = result.to_dict()
    if out is not None:
        write_atomic(out, dumps(record))
        typer.echo(f"wrote {out}", err=True)
    if plot is not None:
        from ..report.fitplot import save_fit_figure  # matplotlib only when asked

        save_fit_figure(record, plot)
        typer.echo(f"wrote {plot}", err=True)
    typer.echo(dumps(record) if as_json else format_summary(result) + "\n", nl=False)
