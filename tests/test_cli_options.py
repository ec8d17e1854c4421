"""Every option either works or is refused (exit 2, one line) before any fitting starts.

The solver entry point is replaced by one that fails the test, so a refusal
that came only after a fit (or a fit that ran although an option was wrong)
is caught; the messages name the CLI option, not the library argument.
"""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

import opade_fit.fitting
from opade_fit.cli import app

runner = CliRunner()


@pytest.fixture
def no_fitting(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("a fit started although the options are invalid")

    monkeypatch.setattr(opade_fit.fitting, "fit_spec", refuse)


def refused(*args: str, needles: tuple[str, ...]) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2, (args, result.exit_code, result.stdout, result.stderr)
    err = result.stderr
    assert err.startswith("opade: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "unexpected" not in err
    for needle in needles:
        assert needle in err, (needle, err)
    assert result.stdout == ""
    return err


@pytest.mark.usefixtures("no_fitting")
@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("--center", "compare", "--plot", "cmp.png"), ("`--plot`", "--center compare")),
        (("--objective", "max", "--derivative-weight", "1"), ("`--derivative-weight`", "l2")),
        (("--plot", "out.pdf", "--out", "x.json"), ("`--plot`", ".png or .svg")),
        (("--plot", "no-such-folder/fit.png"), ("`--plot`", "does not exist")),
        (("--out", "no-such-folder/x.json"), ("`--out`", "does not exist")),
        (("--center", "compare", "--drop", "c2"), ("`--drop`", "compare")),
        (("--drop", "c2"), ("`--drop`",)),
        (("--degrees", "5"), ("`--degrees`",)),
        (("--interval", "3", "-3"), ("`--interval`",)),
    ],
)
def test_fit_refuses_bad_combinations_before_fitting(tmp_path, args, needles) -> None:
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        refused("fit", "--target", "gelu", *args, needles=needles)
        assert os.listdir(tmp_path) == []  # and nothing was written
    finally:
        os.chdir(cwd)


def test_fit_refuses_an_output_that_is_a_folder(tmp_path, no_fitting) -> None:
    refused("fit", "-t", "gelu", "--out", str(tmp_path), needles=("`--out`", "folder"))


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("bases", "--latex"), ("`--latex`", "NAME")),
        (("bases", "--degree", "3"), ("`--degree`", "NAME")),
        (("report", "--bases", "hermite9"), ("`--bases`", "hermite1")),
        (("report", "--targets", "gelux"), ("`--targets`", "gelu")),
        (("tables", "show", "-b", "hermite1", "-t", "gelu", "--center", "compare"), ("compare",)),
        (("tables", "export", "--format", "json", "--objective", "max", "-o", "x.json"),
         ("`--objective`", "rational_activations")),
        (("tables", "list", "--basis", "hermite9"), ("`--basis`", "hermite1")),
        (("tables", "list", "--target", "gelux"), ("`--target`", "gelu")),
        (("tables", "list", "--denominator", "safe-abs"), ("`--denominator`", "safe-abs-sum")),
        (("tables", "list", "--degrees", "9/9"), ("`--degrees`", "5/4")),
        (("tables", "list", "--objective", "l1"), ("`--objective`", "max")),
    ],
)  # fmt: skip
def test_other_commands_refuse_bad_options(tmp_path, args, needles) -> None:
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        refused(*args, needles=needles)
        assert os.listdir(tmp_path) == []
    finally:
        os.chdir(cwd)


def test_tables_show_help_offers_only_table_centring_modes() -> None:
    result = runner.invoke(app, ["tables", "show", "--help"])
    assert result.exit_code == 0
    assert "all-zero" in result.stdout and "compare" not in result.stdout


def test_tables_show_suggests_a_runnable_fit_for_an_expression() -> None:
    result = runner.invoke(app, ["tables", "show", "-b", "hermite1", "-t", "x*tanh(x)"])
    assert result.exit_code == 2
    assert "--target 'x*tanh(x)'" in result.stderr
    assert "--target expression" not in result.stderr


def _list_rows(*args: str) -> list[str]:
    result = runner.invoke(app, ["tables", "list", *args])
    assert result.exit_code == 0, result.stderr
    return result.stdout.splitlines()[1:]


def test_tables_list_filters_combine_with_and() -> None:
    every = _list_rows()
    some = _list_rows("--basis", "hermite1", "--target", "gelu,swish", "-d", "safe")
    assert 0 < len(some) < len(every)
    assert set(some) <= set(every)
    for row in some:
        basis, den, _deg, target = row.split()[:4]
        assert basis == "hermite1" and den == "safe"
        assert target.split("(")[0] in ("gelu", "swish")
    # repeating an option is the same as comma-separating it
    assert _list_rows("-b", "hermite1", "-t", "gelu", "-t", "swish", "-d", "safe") == some
    assert all(r.split()[2] == "3/2" for r in _list_rows("--degrees", "3/2"))
    assert all(" max " in r for r in _list_rows("--objective", "max"))
