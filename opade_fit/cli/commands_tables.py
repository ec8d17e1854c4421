"""`opade tables regenerate|check|list|show|export`: the committed init tables.

Thin wrappers over :mod:`opade_fit.tables`; data on stdout, progress and
human messages on stderr.
"""

from __future__ import annotations

import enum
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import UsageError, suggest
from ..problem import CENTER_MODES
from ..record import dumps, write_atomic
from ..report.files import check_output_path
from ..targets import parse_params
from .app import app, cli_names
from .commands_core import Denominator
from .commands_fit import Objective, format_summary
from .progress import progress_reporter

if TYPE_CHECKING:
    from ..tables import FitKey

__all__ = ["tables_app"]

tables_app = typer.Typer(
    name="tables",
    help="The committed init tables: regenerate, check, list, show and export them.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(tables_app, name="tables")

#: Zero-centring modes a table entry can have (``compare`` is a fit-only choice).
TableCenter = enum.Enum("TableCenter", {m.replace("-", "_"): m for m in CENTER_MODES}, type=str)

ExportFormat = enum.Enum(
    "ExportFormat", {"rational_activations": "rational_activations", "json": "json"}, type=str
)

_SPEC_HELP = "Table specification (default: spec.toml next to the tables)."
_TABLES_HELP = "Folder of the tables (default: the shipped tables / the checkout's tables/)."
_JOBS_HELP = "Worker processes (default: every available core)."

SpecOpt = Annotated[Path | None, typer.Option("--spec", help=_SPEC_HELP)]
TablesOpt = Annotated[Path | None, typer.Option("--tables", help=_TABLES_HELP)]
JobsOpt = Annotated[int | None, typer.Option("--jobs", "-j", min=1, help=_JOBS_HELP)]


def _spec_and_tables(spec: Path | None, tables: Path | None, *, for_writing: bool):
    from ..tables import default_tables_dir, existing_folder

    if tables is not None:
        existing_folder(tables, "--tables")
    root = tables if tables is not None else default_tables_dir(for_writing=for_writing)
    spec_path = spec if spec is not None else root / "spec.toml"
    return spec_path, root


@tables_app.command("regenerate")
def regenerate_cmd(
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help="Refit only entries matching FIELD=VALUE[|VALUE][,FIELD=VALUE...] (fields: "
            "group, basis, denominator, degrees, target, center, weight, objective); repeat "
            "for OR. Every other entry is kept exactly as it was.",
        ),
    ] = None,
    jobs: JobsOpt = None,
    spec: SpecOpt = None,
    tables: TablesOpt = None,
) -> None:
    """Refit the table specification and rewrite the tables (atomically, byte-stable)."""
    from ..tables import regenerate

    spec_path, root = _spec_and_tables(spec, tables, for_writing=True)
    start = time.perf_counter()
    with progress_reporter("fitting") as update:
        report = regenerate(spec_path, root, only=only or None, jobs=jobs, progress=update)
    elapsed = time.perf_counter() - start
    for note in report.warnings:
        typer.echo(f"opade: warning: {note}", err=True)
    for path in report.written:
        typer.echo(f"wrote {path}", err=True)
    for path in report.removed:
        typer.echo(f"removed {path} (no entries in the spec)", err=True)
    typer.echo(
        f"regenerated {report.fitted} entries (kept {report.kept}) in {elapsed:.1f} s",
        err=True,
    )


@tables_app.command("check")
def check_cmd(
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help="Check only entries matching FIELD=VALUE[|VALUE][,FIELD=VALUE...] (as for "
            "regenerate); repeat for OR.",
        ),
    ] = None,
    jobs: JobsOpt = None,
    spec: SpecOpt = None,
    tables: TablesOpt = None,
) -> None:
    """Regenerate into a temporary folder and compare with the tables; exit 1 on a difference."""
    from ..tables import check

    spec_path, root = _spec_and_tables(spec, tables, for_writing=False)
    start = time.perf_counter()
    with progress_reporter("checking") as update:
        report = check(spec_path, root, only=only or None, jobs=jobs, progress=update)
    elapsed = time.perf_counter() - start
    if not report.ok:
        typer.echo(report.text(), err=True)
        typer.echo(f"checked in {elapsed:.1f} s", err=True)
        raise typer.Exit(1)
    typer.echo(f"{report.text()} ({root}, {elapsed:.1f} s)")


def _short(rec: dict) -> str:
    form, target, err = rec["form"], rec["target"], rec["errors"]["fit"]
    params = ",".join(f"{k}={v:g}" for k, v in target["params"].items())
    name = target["name"] + (f"({params})" if params else "")
    center = rec["center"]["mode"] + (
        f":{rec['center']['dropped']}" if rec["center"]["dropped"] else ""
    )
    k, l = form["degrees"]
    a, b = rec["interval"]
    return (
        f"{form['basis']:10s} {form['denominator']:12s} {k}/{l}  {name:32s} {f'[{a:g},{b:g}]':9s} "
        f"{rec['objective']:3s} {rec['weight']:8s} {center:12s} "
        f"{err['rms']:.3e} {err['max_abs']:.3e}"
    )


def _list_filter(
    keyed: list[tuple[FitKey, dict]],
    option: str,
    values: list[str] | None,
    field: str,
    canonical=None,
) -> list[tuple[FitKey, dict]]:
    """Keep the entries whose key's ``field`` is one of ``values`` (repeatable or a,b).

    ``canonical`` maps a user spelling to the stored one and raises UsageError
    for an invalid value; a value valid but absent from the tables is refused
    too, naming the values present. The kept values form one term of the
    tables' filter language (:func:`opade_fit.tables.key.matches`).
    """
    wanted = [v.strip() for item in values or () for v in item.split(",") if v.strip()]
    if not wanted:
        return keyed
    present = sorted({key.field_value(field) for key, _r in keyed})
    keep = set()
    for raw in wanted:
        try:
            value = canonical(raw) if canonical is not None else raw
        except UsageError as exc:
            raise UsageError(cli_names(str(exc))) from None
        if value not in present:
            raise UsageError(
                f"`{option}` {raw!r} matches no table entry; the tables hold "
                + ", ".join(present)
                + suggest(raw, present)
            )
        keep.add(value)
    terms = {field: frozenset(keep)}
    return [(key, r) for key, r in keyed if key.matches(terms)]


def _basis_name(name: str) -> str:
    from ..bases import get_basis

    return get_basis(name).name


def _degrees_text(text: str) -> str:
    from ..forms import parse_degrees

    k, l = parse_degrees(text)
    return f"{k}/{l}"


def _choice(valid: tuple[str, ...], option: str):
    def canonical(value: str) -> str:
        v = value.lower()
        if v not in valid:
            raise UsageError(
                f"`{option}` must be one of {', '.join(valid)}, got {value!r}" + suggest(v, valid)
            )
        return v

    return canonical


@tables_app.command("list")
def list_cmd(
    basis: Annotated[
        list[str] | None,
        typer.Option(
            "--basis", "-b", help="Only these bases (repeat or comma-separate).", show_default=False
        ),
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target",
            "-t",
            help="Only these targets (repeat or comma-separate).",
            show_default=False,
        ),
    ] = None,
    denominator: Annotated[
        list[str] | None,
        typer.Option(
            "--denominator",
            "-d",
            help="Only these denominators: safe, safe-abs-sum, plain (repeat or comma-separate).",
            show_default=False,
        ),
    ] = None,
    degrees: Annotated[
        list[str] | None,
        typer.Option(
            "--degrees",
            help="Only these degrees K/L (repeat or comma-separate).",
            show_default=False,
        ),
    ] = None,
    objective: Annotated[
        list[str] | None,
        typer.Option("--objective", help="Only this objective: l2 or max.", show_default=False),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON array of the entries (the records).")
    ] = False,
    tables: TablesOpt = None,
) -> None:
    """List the table entries (one line each, or the records as JSON); filters combine with AND."""
    from ..forms import DENOMINATORS
    from ..problem import OBJECTIVES
    from ..tables import FitKey, load_entries

    _spec, root = _spec_and_tables(None, tables, for_writing=False)
    records = load_entries(root)
    options = (
        ("--basis", basis, "basis", _basis_name),
        ("--target", target, "target", str.lower),
        (
            "--denominator",
            denominator,
            "denominator",
            _choice(tuple(DENOMINATORS), "--denominator"),
        ),
        ("--degrees", degrees, "degrees", _degrees_text),
        ("--objective", objective, "objective", _choice(OBJECTIVES, "--objective")),
    )
    if any(values for _o, values, _f, _c in options):
        keyed = [(FitKey.from_record(r), r) for r in records]
        for option, values, field, canonical in options:
            keyed = _list_filter(keyed, option, values, field, canonical)
        records = [r for _key, r in keyed]
    if as_json:
        typer.echo(dumps(records), nl=False)
        return
    typer.echo(
        f"{'basis':10s} {'denominator':12s} deg  {'target':32s} {'interval':9s} obj "
        f"{'weight':8s} {'center':12s} {'rms':9s} {'max_abs':9s}"
    )
    for rec in records:
        typer.echo(_short(rec))


@tables_app.command("show")
def show_cmd(
    basis: Annotated[str, typer.Option("--basis", "-b", help="Basis of the entry.")],
    target: Annotated[str, typer.Option("--target", "-t", help="Built-in target name.")],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="Target parameter NAME=VALUE (default: defaults)."),
    ] = None,
    denominator: Annotated[
        Denominator, typer.Option(case_sensitive=False, help="Denominator of the entry.")
    ] = Denominator.safe,
    degrees: Annotated[str, typer.Option(help="Degrees K/L of the entry.")] = "5/4",
    interval: Annotated[
        tuple[float, float], typer.Option(help="Fit interval A B of the entry.")
    ] = (-3.0, 3.0),
    objective: Annotated[
        Objective, typer.Option(case_sensitive=False, help="Objective of the entry: l2 or max.")
    ] = Objective.l2,
    center: Annotated[
        TableCenter,
        typer.Option(
            case_sensitive=False,
            help="Zero-centring of the entry: none, general, drop-one, all-zero.",
        ),
    ] = TableCenter.none,
    weight: Annotated[str, typer.Option(help="Weighting of the entry: uniform or normal.")] = (
        "uniform"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print the entry's record.")] = False,
    tables: TablesOpt = None,
) -> None:
    """Show one table entry (readable summary, or its JSON record)."""
    from ..tables import get_init

    _spec, root = _spec_and_tables(None, tables, for_writing=False)
    entry = get_init(
        target,
        basis=basis,
        denominator=denominator.value,
        degrees=degrees,
        objective=objective.value,
        center=center.value,
        weight=weight,
        interval=interval,
        params=parse_params(param),
        tables=root,
    )
    text = dumps(entry.record) if as_json else format_summary(entry.to_result()) + "\n"
    typer.echo(text, nl=False)


@tables_app.command("export")
def export_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write (atomically).")],
    fmt: Annotated[
        ExportFormat,
        typer.Option(
            "--format",
            case_sensitive=False,
            help="rational_activations (rationals_config.json layout, monomial entries) or json "
            "(one flat object per entry).",
        ),
    ] = ExportFormat.rational_activations,
    objective: Annotated[
        Objective | None,
        typer.Option(
            case_sensitive=False,
            help="rational_activations only: which objective's entries, l2 (default) or max "
            "(the layout holds one).",
            show_default=False,
        ),
    ] = None,
    tables: TablesOpt = None,
) -> None:
    """Export the tables for other libraries."""
    from ..tables import export_flat, export_rational_activations, load_entries

    if fmt.value == "json" and objective is not None:
        raise UsageError(
            "`--objective` selects entries for --format rational_activations only; "
            "--format json exports every entry"
        )
    check_output_path(out, option="--out")
    _spec, root = _spec_and_tables(None, tables, for_writing=False)
    records = load_entries(root)
    if fmt.value == "json":
        data = export_flat(records)
        n = len(data)
    else:
        data = export_rational_activations(
            records, objective=objective.value if objective is not None else "l2"
        )
        n = sum(len(v) for v in data.values())
    write_atomic(out, dumps(data))
    typer.echo(f"wrote {out} ({n} entries, format {fmt.value})", err=True)
