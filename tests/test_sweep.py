"""`opade sweep` / `opade_fit.sweeps`: the grid, schema records, nesting through warm
starts, resuming, determinism across worker counts, summary, figures and bad input."""

from __future__ import annotations

import copy
import csv
import json
import os
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from typer.testing import CliRunner

from opade_fit import fit
from opade_fit.cli import app
from opade_fit.errors import UsageError
from opade_fit.fitting import fit_spec
from opade_fit.lsq import linearised_matrix
from opade_fit.problem import build_problem, make_spec
from opade_fit.sweeps import (
    COARSE_POINTS,
    RECORDS_FILE,
    SweepEntry,
    condition_numbers,
    failures,
    nesting_violations,
    parse_degree_range,
    read_entries,
    sweep,
    write_summary,
)

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
SMALL = dict(degrees="2/1..4/3", bases=["monomial", "hermite1"])
#: (k, l) pairs of 2/1..4/3 with l <= k
SMALL_PAIRS = [(2, 1), (2, 2), (3, 1), (3, 2), (3, 3), (4, 1), (4, 2), (4, 3)]


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, list[SweepEntry]]:
    """gelu x {monomial, hermite1} x {safe, safe-abs-sum} x 2/1..4/3, in process."""
    out = tmp_path_factory.mktemp("sweep")
    entries = sweep("gelu", denominators="all", out=out, **SMALL)
    return out, entries


def _record_validator():
    schema = json.loads((ROOT / "tables" / "schema" / "table-1.json").read_text())
    sub = {"$defs": schema["$defs"], "$ref": "#/$defs/record"}
    return jsonschema.Draft202012Validator(sub)


# ----------------------------------------------------------------------------- grid
def test_parse_degree_range():
    assert parse_degree_range("2/1..12/11") == ((2, 1), (12, 11))
    assert parse_degree_range(" 5/4 ") == ((5, 4), (5, 4))
    for bad in (
        "2/1..",
        "2/1..3",
        "3/1..2/1",
        "2/2..4/1",
        "a/b..3/2",
        "1/1..2/2..3/3",
        "-1/0..2/1",
    ):
        with pytest.raises(UsageError, match=r"`degrees` must be K1/L1\.\.K2/L2"):
            parse_degree_range(bad)


def test_small_sweep_has_every_combination_as_a_schema_record(small):
    _, entries = small
    validator = _record_validator()
    seen = set()
    for e in entries:
        validator.validate(e.record)
        f = e.record["form"]
        seen.add((f["basis"], f["denominator"], tuple(f["degrees"])))
        assert e.record["target"]["name"] == "gelu"
        assert e.cpu_seconds >= 0 and e.wall_seconds >= 0
        assert e.condition >= 1 and e.condition_raw >= 1
    expected = {
        (b, d, p)
        for b in ("monomial", "hermite1")
        for d in ("safe", "safe-abs-sum", "plain")
        for p in SMALL_PAIRS
    }
    assert seen == expected and len(entries) == len(expected)


def test_warm_starts_come_from_the_degrees_just_below(small):
    _, entries = small
    for e in entries:
        k, l = e.degrees
        below = {f"{k - 1}/{l}", f"{k}/{l - 1}"} & {f"{a}/{b}" for a, b in SMALL_PAIRS}
        assert set(e.warm_starts) == below, (e.degrees, e.warm_starts)


def test_no_fit_is_worse_than_the_one_below_and_none_failed(small):
    _, entries = small
    assert failures(entries) == []
    assert nesting_violations(entries) == []
    for e in entries:
        for key in ("rms", "max_abs"):
            assert np.isfinite(e.record["errors"]["fit"][key])


def test_unwarmed_corner_equals_a_plain_fit(small):
    # the lowest corner has no warm start: it is exactly what fit() gives
    _, entries = small
    e = next(e for e in entries if e.degrees == (2, 1) and e.record["form"]["basis"] == "hermite1")
    den = e.record["form"]["denominator"]
    spec = make_spec("gelu", basis="hermite1", denominator=den, degrees=(2, 1))
    assert e.record == fit_spec(spec, coarse_points=COARSE_POINTS).to_dict()


def test_nesting_check_reports_a_worse_higher_degree(small):
    _, entries = small
    low = next(e for e in entries if e.degrees == (3, 2))
    high = next(
        e
        for e in entries
        if e.degrees == (4, 2) and e.record["form"] == {**low.record["form"], "degrees": [4, 2]}
    )
    rec = copy.deepcopy(high.record)
    rec["errors"]["fit"]["rms"] = low.rms * 1.01
    worse = SweepEntry.from_dict({**high.to_dict(), "record": rec})
    rest = [e for e in entries if e.key != high.key]
    assert (low.key, worse.key) in {(a.key, b.key) for a, b in nesting_violations([*rest, worse])}


def test_failures_flags_an_unsuccessful_fit(small):
    _, entries = small
    rec = copy.deepcopy(entries[0].record)
    rec["solver"]["success"] = False
    bad = SweepEntry.from_dict({**entries[0].to_dict(), "record": rec})
    assert failures([bad, *entries[1:]]) == [bad]


# ----------------------------------------------------------------------------- warm-start hook
def test_extra_start_is_never_worse_than_the_function_it_embeds():
    low = fit("swish", basis="laguerre", denominator="safe-abs-sum", degrees=(3, 2))
    spec = make_spec("swish", basis="laguerre", denominator="safe-abs-sum", degrees=(4, 3))
    start = np.concatenate([low.numerator, [0.0], low.denominator, [0.0]])
    warm = fit_spec(spec, extra_starts=[start])
    assert warm.errors["fit"]["rms"] <= low.errors["fit"]["rms"] * (1 + 1e-9)
    cold = fit_spec(spec)
    # the warm start is one more candidate: never clearly worse than the usual starts
    assert warm.errors["fit"]["rms"] <= cold.errors["fit"]["rms"] * (1 + 1e-6)


def test_extra_start_at_an_exact_solution_is_kept():
    # the target is itself a (2, 1) safe form: the padded exact solution is a start at (3, 2)
    spec = make_spec("x*x/(1 + abs(x))", basis="monomial", denominator="safe", degrees=(3, 2))
    exact = np.array([0.0, 0.0, 1.0, 0.0, 1.0, 0.0])
    res = fit_spec(spec, extra_starts=[exact])
    assert res.errors["fit"]["max_abs"] < 1e-12


def test_coarse_search_is_validated_finds_exact_forms_and_matches_the_full_search():
    spec = make_spec("x*x/(1 + abs(x))", basis="monomial", denominator="safe", degrees=(2, 1))
    for bad in (1, True, 2.5):
        with pytest.raises(UsageError, match="`coarse_points` must be an integer"):
            fit_spec(spec, coarse_points=bad)
    assert fit_spec(spec, coarse_points=101).errors["fit"]["max_abs"] < 1e-12
    spec = make_spec("gelu", basis="hermite1", denominator="safe-abs-sum", degrees=(5, 4))
    coarse = fit_spec(spec, coarse_points=1001)
    assert coarse.record["grid"]["points"] == 4001
    assert "on 1001 points" in coarse.record["solver"]["method"]
    assert coarse.errors["fit"]["rms"] <= fit_spec(spec).errors["fit"]["rms"] * 1.01


def test_condition_numbers_match_numpy():
    spec = make_spec("gelu", basis="monomial", denominator="safe", degrees=(6, 5))
    A = linearised_matrix(build_problem(spec))
    scaled, raw = condition_numbers(spec)
    assert raw == pytest.approx(np.linalg.cond(A), rel=1e-6)
    assert scaled == pytest.approx(np.linalg.cond(A / np.linalg.norm(A, axis=0)), rel=1e-6)
    assert A.shape == (4001, 7 + 5)


# ----------------------------------------------------------------------------- files, resume
def test_resume_reuses_records_and_refits_a_torn_line(tmp_path):
    kw = dict(bases="hermite1", denominators="safe")
    first = sweep("gelu", degrees="2/1..3/2", out=tmp_path, **kw)
    path = tmp_path / RECORDS_FILE
    assert len(path.read_text().splitlines()) == len(first) == 4
    calls = []
    more = sweep(
        "gelu", degrees="2/1..4/3", out=tmp_path, progress=lambda *a: calls.append(a), **kw
    )
    assert calls[0][:2] == (4, 8) and calls[-1][:2] == (8, 8)
    by_key = {e.key: e for e in more}
    for e in first:
        assert by_key[e.key] == e  # reused as written
    # a torn last line (interrupted append) is skipped, refitted and does not break the file
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    path.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
    entries, skipped = read_entries(tmp_path)
    assert skipped == 1 and len(entries) == 7
    again = sweep("gelu", degrees="2/1..4/3", out=tmp_path, **kw)
    assert [e.record for e in again] == [e.record for e in more]
    entries, skipped = read_entries(tmp_path)
    assert skipped == 1 and len(entries) == 8  # the torn fragment stays on a line of its own


def test_a_different_coarse_grid_is_not_reused(tmp_path):
    kw = dict(degrees="2/1..2/2", bases="legendre", denominators="safe", out=tmp_path)
    sweep("swish", **kw)
    calls = []
    sweep("swish", coarse_points=None, progress=lambda *a: calls.append(a[:2]), **kw)
    assert calls[0] == (0, 2)
    assert len(read_entries(tmp_path)[0]) == 4


def test_two_workers_give_the_same_records_as_one(small, tmp_path):
    _, entries = small
    subset = [e for e in entries if e.record["form"]["denominator"] == "safe-abs-sum"]
    par = sweep("gelu", denominators="safe-abs-sum", jobs=2, out=tmp_path, **SMALL)
    assert {e.key: e.record for e in par} == {e.key: e.record for e in subset}


def test_summary_files(small):
    out, entries = small
    txt, csv_path = write_summary(entries, out)
    rows = list(csv.DictReader(csv_path.read_text().splitlines()))
    assert len(rows) == len(entries)
    row = next(
        r
        for r in rows
        if (r["basis"], r["denominator"], r["k"], r["l"]) == ("hermite1", "safe", "4", "3")
    )
    e = next(
        e
        for e in entries
        if e.record["form"] == {"basis": "hermite1", "denominator": "safe", "degrees": [4, 3]}
    )
    assert float(row["rms"]) == e.rms and int(row["parameters"]) == 8
    text = txt.read_text()
    assert "Nesting" in text and "holds for every pair" in text
    assert "Failed or non-finite fits: 0" in text
    assert "Smallest RMS per number of trainable parameters" in text


def test_sweep_figures_are_written(small, tmp_path):
    from opade_fit.report.sweep import pareto_front, save_sweep_figures

    _, entries = small
    paths = save_sweep_figures(entries, tmp_path)
    names = sorted(p.name for p in paths)
    assert names == ["sweep-cost.png", "sweep-heatmap-gelu.png", "sweep-pareto.png"]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    front = pareto_front(entries)
    rms = [e.rms for e in front]
    assert rms == sorted(rms, reverse=True) and len(set(e.parameters for e in front)) == len(front)
    assert min(rms) == min(e.rms for e in entries)


# ----------------------------------------------------------------------------- CLI
def _one_line(result, code: int, *needles: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    err = result.stderr
    assert err.count("\n") == 1 and err.startswith("opade: error: "), err
    assert "Traceback" not in err
    for n in needles:
        assert n in err, (n, err)


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--degrees", "5/4..3/2"], ["`--degrees`", "K1 <= K2"]),
        (["--degrees", "5"], ["`--degrees`"]),
        (["--basis", "hermit1"], ["`--basis`", "hermite1"]),
        (["--denominator", "sfe"], ["`--denominator`", "safe"]),
        (["--objective", "l3"], ["`--objective`"]),
        (["--interval", "3", "-3"], ["`--interval`", "A < B"]),
        (["-j", "0"], ["`-j/--jobs`", ">= 1"]),
        (["--degrees", "1/3..1/4"], ["`--degrees`", "l <= k"]),
    ],
)
def test_cli_bad_arguments_exit_2_with_one_line(tmp_path, args, needles):
    result = runner.invoke(app, ["sweep", "--target", "gelu", "--out", str(tmp_path / "s"), *args])
    _one_line(result, 2, *needles)
    assert not (tmp_path / "s").exists()  # validated before anything is written


def test_cli_bad_target_and_out_is_a_file(tmp_path):
    _one_line(runner.invoke(app, ["sweep", "--target", "gelux", "--out", str(tmp_path)]), 2, "gelu")
    f = tmp_path / "file"
    f.write_text("x")
    _one_line(runner.invoke(app, ["sweep", "--target", "gelu", "--out", str(f)]), 2, "`--out`")


def test_cli_writes_records_summary_figures_and_progress(tmp_path):
    out = tmp_path / "s"
    args = [
        "sweep",
        "-t",
        "leaky_relu",
        "--degrees",
        "2/1..3/2",
        "--basis",
        "legendre",
        "--denominator",
        "safe",
        "-o",
        str(out),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert "sweep: 0/4 fits" in result.stderr and "sweep: 4/4 fits" in result.stderr
    for name in (
        "records.jsonl",
        "summary.txt",
        "summary.csv",
        "sweep-pareto.png",
        "sweep-cost.png",
        "sweep-heatmap-leaky-relu-negative-slope-0-01.png",
    ):
        assert (out / name).is_file(), name
    again = runner.invoke(app, [*args, "--no-figures"])
    assert again.exit_code == 0 and "(4 reused)" in again.stderr
    assert len((out / "records.jsonl").read_text().splitlines()) == 4
    assert os.path.getsize(out / "summary.csv") > 0


def test_report_shows_a_sweep_and_rejects_a_folder_without_one(small, tmp_path):
    out_sweep, entries = small
    rec = tmp_path / "rec.json"
    rec.write_text(json.dumps(entries[0].record))
    out = tmp_path / "report"
    result = runner.invoke(
        app, ["report", str(rec), "--sweep", str(out_sweep), "--out", str(out), "-j", "1"]
    )
    assert result.exit_code == 0, result.stderr
    page = (out / "index.html").read_text()
    assert 'id="sweep"' in page and 'href="#sweep"' in page
    assert "Nesting (no fit worse than the one a degree below): holds" in page
    for name in ("sweep-pareto.png", "sweep-cost.png", "sweep-heatmap-gelu.png"):
        assert (out / "figures" / name).is_file() and f"figures/{name}" in page
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = runner.invoke(app, ["report", str(rec), "--sweep", str(empty), "--out", str(out)])
    _one_line(bad, 2, "`--sweep`", "no sweep records")
