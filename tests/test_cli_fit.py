"""CLI: `opade fit` — summary, --json, atomic --out, --plot, --center compare, bad input.

Bad input exits 2 with exactly one line on stderr naming the option and the
rule (and nothing on stdout); runtime failures (cannot write) exit 1, one line.
"""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from opade_fit import fit
from opade_fit.cli import app
from opade_fit.record import dumps

runner = CliRunner()  # this typer version keeps stdout and stderr apart

MAIN_JOB = ("fit", "--basis", "hermite1", "--target", "leaky_relu")


def run(*args: str):
    return runner.invoke(app, list(args))


def ok(*args: str):
    result = run(*args)
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result


def assert_one_line_error(result, code: int, *needles: str) -> str:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    err = result.stderr
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("opade: error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)
    assert result.stdout == ""
    return err


@pytest.fixture(scope="module")
def main_json() -> str:
    """`opade fit --basis hermite1 --target leaky_relu --json` stdout."""
    result = ok(*MAIN_JOB, "--json")
    assert result.stderr == ""
    return result.stdout


def test_main_job_prints_a_summary_with_coefficients_and_errors(main_json):
    out = ok(*MAIN_JOB).stdout
    rec = json.loads(main_json)
    assert "hermite1/safe" in out and "HP-1" in out and "leaky_relu" in out
    for i, c in enumerate(rec["coefficients"]["numerator"]):
        assert f"c{i}" in out and f"{c: .10e}" in out
    for j, d in enumerate(rec["coefficients"]["denominator"], start=1):
        assert f"d{j}" in out and f"{d: .10e}" in out
    assert f"{rec['errors']['fit']['rms']:.4e}" in out
    assert f"{rec['errors']['fit']['max_abs']:.4e}" in out
    assert f"{rec['errors']['check']['rms']:.4e}" in out
    assert "[-5, 5]" in out and "success" in out


def test_json_is_exactly_one_document_on_stdout(main_json):
    rec = json.loads(main_json)  # raises on trailing data: exactly one document
    assert main_json == dumps(rec)
    assert rec["form"]["basis"] == "hermite1" and rec["target"]["name"] == "leaky_relu"


def test_out_writes_the_json_record_atomically(tmp_path, main_json):
    path = tmp_path / "hp1.json"
    result = ok(*MAIN_JOB, "--out", str(path))
    assert path.read_text(encoding="utf-8") == main_json
    assert str(path) in result.stderr  # human message on stderr, the summary on stdout
    assert "numerator" in result.stdout
    assert os.listdir(tmp_path) == ["hp1.json"]


def test_failing_run_leaves_an_existing_out_file_untouched(tmp_path):
    path = tmp_path / "keep.json"
    path.write_text("old content\n", encoding="utf-8")
    result = run("fit", "--target", "leaky_rlu", "--out", str(path))
    assert_one_line_error(result, 2, "`--target`")
    assert path.read_text(encoding="utf-8") == "old content\n"
    assert os.listdir(tmp_path) == ["keep.json"]


def test_crash_during_the_write_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    import opade_fit.record as record

    path = tmp_path / "keep.json"
    path.write_text("old content\n", encoding="utf-8")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(record.os, "replace", broken_replace)
    result = run("fit", "--target", "relu", "--degrees", "2/1", "--out", str(path))
    assert_one_line_error(result, 1, "cannot write", "keep.json")
    assert path.read_text(encoding="utf-8") == "old content\n"
    assert os.listdir(tmp_path) == ["keep.json"]


def test_out_path_in_missing_folder_exits_2_before_fitting(tmp_path):
    path = tmp_path / "no-such-folder" / "x.json"
    result = run("fit", "--target", "relu", "--degrees", "2/1", "--out", str(path))
    assert_one_line_error(result, 2, "`--out`", "does not exist")
    assert os.listdir(tmp_path) == []


def test_negative_numbers_as_option_values():
    out = ok(
        "fit", "--target", "gelu", "--degrees", "3/2", "--interval", "-5", "5",
        "--check-interval", "-6", "7", "--json",
    ).stdout  # fmt: skip
    rec = json.loads(out)
    assert rec["interval"] == [-5.0, 5.0]
    assert rec["errors"]["check"]["interval"] == [-6.0, 7.0]
    out = ok("fit", "-t", "gelu", "--degrees", "3/2", "--interval", "-1.5", "-0.5", "--json").stdout
    assert json.loads(out)["interval"] == [-1.5, -0.5]


def test_param_is_recorded_and_used():
    rec = json.loads(
        ok(*MAIN_JOB, "--param", "negative_slope=0.2", "--degrees", "3/2", "--json").stdout
    )
    assert rec["target"]["params"] == {"negative_slope": 0.2}
    api = fit("leaky_relu", basis="hermite1", degrees=(3, 2), params={"negative_slope": 0.2})
    assert rec == api.to_dict()


def test_cli_options_reach_the_record():
    rec = json.loads(
        ok(
            "fit", "--target", "swish", "--param", "beta=2", "--basis", "legendre",
            "--denominator", "PLAIN", "--degrees", "4/3", "--points", "1001",
            "--weight", "normal:0.5", "--derivative-weight", "0.5", "--json",
        ).stdout
    )  # fmt: skip
    assert rec["form"] == {"basis": "legendre", "denominator": "plain", "degrees": [4, 3]}
    assert rec["target"]["params"] == {"beta": 2.0}
    assert rec["grid"] == {"kind": "uniform", "points": 1001}
    assert rec["weight"] == "normal:0.5" and rec["derivative_weight"] == 0.5
    assert rec["poles_in_check"] == []  # Q of odd degree 3 has a real root, beyond [-5, 5]
    assert all(abs(p) > 5 for p in rec["poles"])


BAD_INPUT = [
    # (arguments after `fit`, *strings the one stderr line must contain)
    (["--basis", "hermit1", "--target", "gelu"], "`--basis`", "'hermite1'"),
    (["--target", "leaky_rlu"], "`--target`", "'leaky_relu'"),
    (["--target", "leaky_relu", "--param", "slope=0.2"], "`--param`", "slope"),
    (["--target", "leaky_relu", "--param", "negative_slope=abc"], "`--param`", "number"),
    (["--target", "leaky_relu", "--param", "negative_slope"], "`--param`", "NAME=VALUE"),
    (["--target", "leaky_relu", "--param", "negative_slope=inf"], "`--param`", "finite"),
    (["--target", "gelu", "--interval", "3", "-3"], "`--interval`", "A < B"),
    (["--target", "gelu", "--interval", "1", "1"], "`--interval`", "A < B"),
    (["--target", "gelu", "--interval", "-inf", "3"], "`--interval`", "finite"),
    (["--target", "gelu", "--interval", "nan", "3"], "`--interval`", "finite"),
    (["--target", "gelu", "--interval", "a", "3"], "--interval"),
    (["--target", "gelu", "--check-interval", "5", "-5"], "`--check-interval`", "A < B"),
    (["--target", "gelu", "--degrees", "5"], "`--degrees`", "K/L"),
    (["--target", "gelu", "--degrees", "5/-1"], "`--degrees`", "K/L"),
    (["--target", "gelu", "--degrees", "a/b"], "`--degrees`", "K/L"),
    (["--target", "gelu", "--degrees", "5/4/3"], "`--degrees`", "K/L"),
    (["--target", "gelu", "--points", "9"], "`--points`", "number of coefficients"),
    (["--target", "x + y"], "`--target`", "'y'"),
    (["--target", "__import__('os')"], "`--target`", "__import__"),
    (["--target", "x.real"], "`--target`", "Attribute"),
    (["--target", "().__class__"], "`--target`", "Attribute"),
    (["--target", "x[0]"], "`--target`", "Subscript"),
    (["--target", "lambda: x"], "`--target`", "Lambda"),
    (["--target", "x +"], "`--target`", "syntax"),
    (["--target", "log(x)"], "`--target`", "finite", "[-3, 3]"),
    (["--target", "1/x"], "`--target`", "finite"),
    (["--target", "sqrt(x)", "--interval", "0", "3"], "`--target`", "finite"),  # check [-1, 4]
    (["--target", "gelu", "--denominator", "bogus"], "--denominator"),
    (["--target", "gelu", "--objective", "l3"], "--objective"),
    (["--target", "gelu", "--weight", "gauss"], "`--weight`"),
    (["--target", "gelu", "--derivative-weight", "-1"], "`--derivative-weight`"),
    (["--target", "gelu", "--center", "middle"], "--center"),
]


@pytest.mark.parametrize(
    ("args", "needles"), [(a, n) for a, *n in BAD_INPUT], ids=[" ".join(a) for a, *_ in BAD_INPUT]
)
def test_bad_input_exits_2_with_one_line_naming_the_argument(args, needles):
    assert_one_line_error(run("fit", *args), 2, *needles)


def test_missing_target_is_a_usage_error():
    assert_one_line_error(run("fit", "--basis", "hermite1"), 2, "--target")


def test_center_compare_prints_the_four_modes():
    out = ok(*MAIN_JOB, "--degrees", "5/2", "--center", "compare").stdout
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["center", "dropped"]
    assert [line.split()[0] for line in lines[1:]] == ["none", "general", "drop-one", "all-zero"]
    assert "c0 - c2 + 3*c4 = 0" in lines[2]
    assert "c0 = 0, c2 = 0, c4 = 0" in lines[4]
    rms = [float(line.split()[2]) for line in lines[1:]]
    assert rms == sorted(rms)  # centring costs accuracy, never gains it


def test_center_compare_json_is_one_document_with_four_records():
    recs = json.loads(ok(*MAIN_JOB, "--degrees", "5/2", "--center", "compare", "--json").stdout)
    assert [r["center"]["mode"] for r in recs] == ["none", "general", "drop-one", "all-zero"]


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib", reason="report plots not installed")
    path = tmp_path / "fit.png"
    result = ok(*MAIN_JOB, "--degrees", "3/2", "--plot", str(path))
    assert str(path) in result.stderr
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert os.listdir(tmp_path) == ["fit.png"]
