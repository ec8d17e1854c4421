"""`opade bases`, `opade targets`, `opade derive`."""

from __future__ import annotations

from typing import Annotated

import typer

from ..bases import BASIS_NAMES, get_basis
from .app import app


@app.command("bases")
def bases_cmd(
    name: Annotated[str | None, typer.Argument(help=f"One of: {', '.join(BASIS_NAMES)}.")] = None,
    degree: Annotated[int, typer.Option("--degree", "-n", help="Highest degree N to print.")] = 5,
) -> None:
    """List the bases, or print f_0..f_N of one basis exactly."""
    if name is None:
        for b in BASIS_NAMES:
            typer.echo(f"{b:12s} {get_basis(b).family}")
        return
    basis = get_basis(name)
    for i, p in enumerate(basis.sympy_polys(degree)):
        typer.echo(f"f_{i}(x) = {p}")
