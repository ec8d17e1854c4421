"""The Typer application, its error handling and the registration of commands."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from .._version import __version__
from ..errors import OpadeError, UsageError

__all__ = ["app", "cli_names", "fail", "main"]

PROG = "opade"


def fail(message: str, code: int) -> None:
    """Print ``opade: error: message`` as one line on stderr and exit with ``code``."""
    text = " ".join(str(message).split())
    sys.stderr.write(f"{PROG}: error: {text}\n")
    sys.stderr.flush()
    sys.exit(code)


_CLI_NAMES = {
    "`interval`": "`--interval`",
    "`check_interval`": "`--check-interval`",
    "`degrees`": "`--degrees`",
    "`points`": "`--points`",
    "`weight`": "`--weight`",
    "`derivative_weight`": "`--derivative-weight`",
    "`drop`": "`--drop`",
    "`basis`": "`--basis`",
    "`target`": "`--target`",
    "`denominator`": "`--denominator`",
}


def cli_names(message: str, names: Mapping[str, str] | None = None) -> str:
    """Replace library argument names with the CLI option names in a message.

    ``names`` (a command's own ``"`arg`" -> "`--option`"`` spellings) are replaced first,
    then the names shared by every command.
    """
    for lib, cli in [*(names or {}).items(), *_CLI_NAMES.items()]:
        message = message.replace(lib, cli)
    return message


def _is_click_error(exc: Exception) -> bool:
    """True for click's own errors (ClickException and its UsageError subclasses).

    Recognised by their public interface (``format_message()`` and an integer
    ``exit_code``) rather than by class: typer re-exports only some of click's
    exception classes, and older typer releases use the ``click`` package while
    newer ones carry a private copy (``typer._click``); importing the classes from
    either would break the other half of the supported range.
    """
    return callable(getattr(exc, "format_message", None)) and isinstance(
        getattr(exc, "exit_code", None), int
    )


def _fail_click(exc: Any) -> None:
    """One stderr line for a click error; usage errors (exit code 2) get a ``--help`` hint."""
    code = exc.exit_code or 1
    hint = ""
    ctx = getattr(exc, "ctx", None)
    if code == 2 and ctx is not None and ctx.command_path:
        hint = f" (see '{ctx.command_path} --help')"
    fail(exc.format_message() + hint, code)


class _Interrupted(Exception):
    """Ctrl-C inside a command (click would print an empty line and raise ``Abort``)."""


#: Exit code of a command stopped by Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130


class _Group(TyperGroup):
    """Root group that turns every error into one stderr line and an exit code.

    Warnings of numpy, scipy and sympy (``RuntimeWarning`` and its subclasses such as
    ``ComplexWarning``) are errors in the command line: a computation that overflows or
    drops an imaginary part must not end as a result (exit 1 with one line). opade-fit's
    own warnings stay warnings.
    """

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise _Interrupted from None

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        import warnings

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", RuntimeWarning)
                rv = super().main(
                    args=args,
                    prog_name=prog_name or PROG,
                    complete_var=complete_var,
                    standalone_mode=False,
                    **extra,
                )
        except UsageError as exc:
            fail(str(exc), 2)
        except OpadeError as exc:
            fail(str(exc), 1)
        except (_Interrupted, KeyboardInterrupt):
            fail("interrupted (Ctrl-C); files being written were left unchanged", EXIT_INTERRUPTED)
        except typer.Abort:
            fail("aborted", 1)
        except BrokenPipeError:
            sys.exit(1)
        except RuntimeWarning as exc:  # numpy / scipy: see the class docstring
            fail(f"numerical failure ({type(exc).__name__}: {exc}); nothing was written", 1)
        except (RecursionError, MemoryError) as exc:
            fail(f"the input is too large to process ({type(exc).__name__})", 1)
        except Exception as exc:
            if _is_click_error(exc):  # click's usage errors (bad option, missing value ...)
                _fail_click(exc)
            if os.environ.get("OPADE_DEBUG"):
                raise
            fail(f"unexpected {type(exc).__name__}: {exc} (set OPADE_DEBUG=1 for a traceback)", 1)
        if not standalone_mode:
            return rv
        sys.exit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    cls=_Group,
    name=PROG,
    help="Fit, certify and export initial coefficients of safe Padé and orthogonal-Padé "
    "(OPAU, HP-1/HP-2) rational activations.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"opade-fit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Fit rational activations (PAU / OPAU) to target activations."""


def _register() -> None:
    # each command lives in its own module; importing it registers it on `app`
    import importlib

    for mod in (
        "commands_core",
        "commands_fit",
        "commands_tables",
        "commands_report",
        "commands_sweep",
    ):
        try:
            importlib.import_module(f"{__package__}.{mod}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{mod}":
                raise


_register()


def main(argv: list[str] | None = None) -> Any:
    """Entry point of the ``opade`` console script."""
    return app(args=argv, prog_name=PROG)
