"""`opade report`: the HTML approximation report from tables or fit records."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import UsageError
from .app import app
from .progress import progress_reporter

__all__ = ["report_cmd"]


def _split(values: list[str] | None) -> list[str] | None:
    # accept both `--targets gelu --targets tanh` and `--targets gelu,tanh`
    out = [v.strip() for item in values or () for v in item.split(",") if v.strip()]
    return out or None


def _basis_name(name: str) -> str:
    from ..bases import get_basis

    return get_basis(name).name


def _target_name(name: str) -> str:
    from ..targets import get_target

    return get_target(name).name


def _checked(values: list[str] | None, option: str, canonical) -> list[str] | None:
    """Canonical names, or a usage error that names ``option`` (not the library argument)."""
    if values is None:
        return None
    out = []
    for v in values:
        try:
            out.append(canonical(v))
        except UsageError as exc:
            raise UsageError(
                str(exc).replace("`basis`", f"`{option}`").replace("`target`", f"`{option}`")
            ) from None
    return out


@app.command("report")
def report_cmd(
    records: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="[RECORD.json ...]",
            help="Fit record files or table files ({entries: [...]}). Default: the tables.",
            show_default=False,
        ),
    ] = None,
    tables: Annotated[
        Path | None,
        typer.Option(
            "--tables",
            help="Folder of table files (*.json with `entries`). Default: the packaged tables.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder to write index.html and figures/ into.")
    ] = Path("report"),
    targets: Annotated[
        list[str] | None,
        typer.Option(
            "--targets", help="Only these targets (repeat or comma-separate).", show_default=False
        ),
    ] = None,
    bases: Annotated[
        list[str] | None,
        typer.Option(
            "--bases", help="Only these bases (repeat or comma-separate).", show_default=False
        ),
    ] = None,
    sweep: Annotated[
        Path | None,
        typer.Option(
            "--sweep",
            help="Also show a degree sweep: the --out folder of `opade sweep`.",
            show_default=False,
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            help="Processes drawing figures (default: up to 4 for large reports).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Draw the approximation report: heatmaps, per-target and per-entry figures,
    zero-centring cost and the published tables, as one offline HTML page."""
    from ..reference import tables_dir
    from ..report.data import read_records
    from ..report.page import build_report

    if records and tables is not None:
        raise UsageError("give either `--tables DIR` or RECORD.json files, not both")
    bases_list = _checked(_split(bases), "--bases", _basis_name)
    targets_list = _checked(_split(targets), "--targets", _target_name)
    if out.exists() and not out.is_dir():
        raise UsageError(f"`--out` {str(out)!r} is a file; give a folder")
    sources = list(records) if records else [tables if tables is not None else tables_dir()]
    entries = None
    if sweep is not None:
        from ..sweeps import read_entries

        if not sweep.is_dir():
            raise UsageError(
                f"`--sweep` must be the folder of an `opade sweep` run, got {str(sweep)!r}"
            )
        entries = read_entries(sweep)[0]
        if not entries:
            raise UsageError(f"`--sweep` {str(sweep)!r} holds no sweep records (records.jsonl)")
    recs = read_records(sources)
    if not recs:
        where = ", ".join(str(s) for s in sources)
        raise UsageError(f"`--tables` {where} holds no fit records (regenerate the tables first)")
    with progress_reporter("drawing figures") as progress:
        index = build_report(
            recs,
            out,
            targets=targets_list,
            bases=bases_list,
            progress=progress,
            jobs=jobs,
            sweep=entries,
        )
    typer.echo(f"wrote {index}", err=True)
