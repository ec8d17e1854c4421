"""`opade report`, the heatmap numbers and the published-reference module."""

from __future__ import annotations

import itertools
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from opade_fit.cli.app import app
from opade_fit.forms import RationalForm
from opade_fit.record import write_json
from opade_fit.reference import (
    COMPARISON_INTERVALS,
    evaluate_formula,
    load_published,
    reference_target,
    tables_dir,
)
from opade_fit.report import format_error, heatmap_data
from opade_fit.report.data import read_records, target_label
from opade_fit.report.heatmap import plot_heatmap
from opade_fit.report.page import build_report
from opade_fit.result import measure_errors
from opade_fit.targets import get_target

#: Relative agreement of two independent error measurements (dense grids of 100,001 points).
ERROR_RTOL = 1e-3


def _published(entry_id: str):
    return next(e for e in load_published() if e.id == entry_id)


def make_record(
    basis,
    denominator,
    target,
    numerator,
    denominator_coef,
    *,
    objective="l2",
    center="none",
    dropped=None,
    params=None,
):
    form = RationalForm(basis, denominator, (len(numerator) - 1, len(denominator_coef)))
    t = get_target(target, params or {})
    fit = measure_errors(form, t, numerator, denominator_coef, (-3.0, 3.0))
    check = measure_errors(form, t, numerator, denominator_coef, (-5.0, 5.0))
    check["interval"] = [-5.0, 5.0]
    return {
        "schema_version": [1, 0],
        "tool": {"name": "opade-fit", "version": "test"},
        "form": {"basis": basis, "denominator": denominator, "degrees": list(form.degrees)},
        "target": t.to_dict(),
        "interval": [-3.0, 3.0],
        "objective": objective,
        "weight": "uniform",
        "derivative_weight": 0.0,
        "center": {
            "mode": center,
            "dropped": dropped,
            "constraint": None if center == "none" else "P(0) = 0",
        },
        "grid": {"kind": "uniform", "points": 1000},
        "coefficients": {"numerator": list(numerator), "denominator": list(denominator_coef)},
        "errors": {"fit": fit, "check": check},
        "solver": {
            "success": True,
            "status": 1,
            "message": "test",
            "iterations": 1,
            "nfev": 1,
            "method": "test",
        },
        "poles": [],
        "certificate": None
        if objective == "l2"
        else {
            "lower_bound": fit["max_abs"] * 0.99,
            "upper_bound": fit["max_abs"],
            "gap": 0.01,
            "scope": "test",
        },
    }


@pytest.fixture(scope="module")
def small_table(tmp_path_factory) -> Path:
    """A table of 8 records: PAU entries from the published tables and a few HP-1 ones."""
    recs = []
    for eid in (
        "rational_activations/A/5-4/leaky_relu",
        "rational_activations/A/5-4/gelu",
        "rational_activations/B/5-4/gelu",
    ):
        e = _published(eid)
        form = e.form()
        recs.append(
            make_record(
                "monomial",
                form.denominator,
                e.target.name,
                e.numerator,
                e.denominator,
                params=e.target.param_dict,
            )
        )
    e = _published("rational_activations/A/5-4/gelu")
    recs.append(
        make_record("monomial", "safe", "gelu", e.numerator, e.denominator, objective="max")
    )
    # HP-1 records (arbitrary smooth coefficients: the report draws any record)
    num, den = [0.02, 0.5, 0.1, 0.05, 0.01, 0.0], [0.1, 0.2, 0.0, 0.01]
    recs.append(make_record("hermite1", "safe", "gelu", num, den))
    recs.append(
        make_record(
            "hermite1", "safe", "gelu", [0.1, 0.5, 0.1, 0.05, 0.0, 0.0], den, center="general"
        )
    )
    recs.append(
        make_record(
            "hermite1", "safe", "gelu", [0.0, 0.5, 0.0, 0.05, 0.0, 0.0], den, center="all-zero"
        )
    )
    recs.append(make_record("hermite1", "safe", "leaky_relu", num, den))
    folder = tmp_path_factory.mktemp("tables")
    write_json(
        folder / "safe.json",
        {
            "schema_version": [1, 0],
            "tool": {"name": "opade-fit", "version": "test"},
            "entries": recs,
        },
    )
    return folder


@pytest.fixture(scope="module")
def report(small_table, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    return build_report(read_records([small_table]), out, jobs=1)


def test_page_is_produced_and_every_figure_exists(report):
    text = report.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    refs = re.findall(r'(?:src|href)="([^"#]+)"', text)
    assert refs, "the page references no figure"
    for ref in refs:
        assert not ref.startswith(("http:", "https:", "//")), f"remote asset {ref}"
        assert (report.parent / ref).is_file(), f"missing {ref}"
    assert "<script" not in text.lower()
    for section in ("overview", "targets", "centring", "published"):
        assert f'id="{section}"' in text
    # per-entry figures for HP-1 and PAU, and the minimax certificate entry
    assert sum("entry-" in r for r in refs if r.endswith(".png")) >= 7
    assert any(r.endswith(".svg") for r in refs)


def test_heatmap_numbers_equal_the_records_errors(small_table):
    recs = [
        r
        for r in read_records([small_table])
        if r["center"]["mode"] == "none"
        and r["objective"] == "l2"
        and r["form"]["denominator"] == "safe"
    ]
    for metric in ("rms", "max_abs"):
        for scope in ("fit", "check"):
            data = heatmap_data(recs, metric=metric, scope=scope)
            seen = 0
            for r in recs:
                i = data.rows.index(r["form"]["basis"])
                j = data.cols.index(target_label(r))
                text = data.texts[i][j]
                assert text == format_error(r["errors"][scope][metric])
                assert float(text) == pytest.approx(r["errors"][scope][metric], rel=5e-3)
                seen += 1
            assert seen == len(recs)
            # and the strings drawn on the axes are exactly these
            from opade_fit.report.plots import new_figure

            _fig, axes = new_figure(6, 3)
            _, artists = plot_heatmap(axes[0, 0], data)
            drawn = [a.get_text() for a in artists]
            assert drawn == [t for row in data.texts for t in row]


def test_heatmap_numbers_are_in_the_page(report, small_table):
    text = report.read_text(encoding="utf-8")
    for r in read_records([small_table]):
        if r["center"]["mode"] == "none":
            assert format_error(r["errors"]["fit"]["rms"]) in text


def test_format_error():
    assert format_error(8.13e-4) == "8.13e-4"
    assert format_error(1.0) == "1.00e0"
    assert format_error(None) == "—"
    assert format_error(0.0) == "0"


def test_cli_report(small_table, tmp_path):
    out = tmp_path / "rep"
    res = CliRunner().invoke(
        app,
        [
            "report",
            "--tables",
            str(small_table),
            "--out",
            str(out),
            "--targets",
            "gelu",
            "--bases",
            "hermite1",
        ],
    )
    assert res.exit_code == 0, res.output
    assert (out / "index.html").is_file()
    assert "leaky_relu — " not in (out / "index.html").read_text(encoding="utf-8")


def test_cli_report_bad_input(small_table, tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["report", str(tmp_path / "missing.json")])
    assert res.exit_code == 2
    assert "does not exist" in res.output
    res = runner.invoke(
        app,
        [
            "report",
            "--tables",
            str(small_table),
            "--out",
            str(tmp_path / "r"),
            "--targets",
            "nonsense",
        ],
    )
    assert res.exit_code == 2
    assert "--targets" in res.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"hello": 1}))
    res = runner.invoke(app, ["report", str(bad)])
    assert res.exit_code == 2


# ---- the published reference ------------------------------------------------------------
def test_reference_is_packaged_data():
    assert (tables_dir() / "reference" / "published.json").is_file()
    entries = load_published()
    assert len(entries) == len({e.id for e in entries})
    for e in entries:
        assert len(e.numerator) == e.degrees[0] + 1
        assert len(e.denominator) == e.degrees[1] + (1 if e.fitted_formula == "C" else 0)
        assert e.interval == (-3.0, 3.0)


def test_rational_activations_leaky_relu_max_error_at_zero():
    e = _published("rational_activations/A/5-4/leaky_relu")
    err = e.errors((-3.0, 3.0))
    assert err["max_abs"] == pytest.approx(2.98e-2, rel=2e-3)
    x = np.linspace(-3, 3, 100_001)
    gap = np.abs(e.evaluate(x) - e.target(x))
    assert abs(x[np.argmax(gap)]) < 1e-9  # at x = 0 (g(0) = a_0 = 0.0298)


def test_rational_kat_cu_gelu_runtime_formula_is_off_by_1_46():
    e = _published("rational_kat_cu/init.json/gelu")
    assert (e.fitted_formula, e.runtime_formula) == ("B", "A")
    assert e.errors((-3.0, 3.0), "A")["max_abs"] == pytest.approx(1.46, abs=0.01)
    assert e.errors((-3.0, 3.0), "B")["max_abs"] < 3e-3  # fine as fitted
    assert e.errors((-3.0, 3.0)) == e.errors((-3.0, 3.0), "A")  # default: runtime


def test_formulas_a_b_n_are_our_monomial_forms_and_c_is_its_own():
    x = np.linspace(-5, 5, 101)
    a, b = [0.1, 0.5, 0.3, 0.1], [0.2, -0.4]
    p = a[0] + a[1] * x + a[2] * x**2 + a[3] * x**3
    np.testing.assert_allclose(
        evaluate_formula("A", x, a, b), p / (1 + 0.2 * abs(x) + 0.4 * x**2), rtol=1e-13
    )
    np.testing.assert_allclose(
        evaluate_formula("B", x, a, b), p / (1 + abs(0.2 * x - 0.4 * x**2)), rtol=1e-13
    )
    np.testing.assert_allclose(evaluate_formula("D", x, a, b), evaluate_formula("B", x, a, b))
    np.testing.assert_allclose(evaluate_formula("N", x, a, [0.1]), p / (1 + 0.1 * x), rtol=1e-13)
    np.testing.assert_allclose(
        evaluate_formula("C", x, a, [1.0, *b]),
        p / (0.1 + abs(1 + 0.2 * x - 0.4 * x**2)),
        rtol=1e-13,
    )


def test_reference_targets():
    assert reference_target("leaky_relu").param_dict == {"negative_slope": 0.01}
    assert reference_target("leaky_relu_0.1").param_dict == {"negative_slope": 0.1}
    x = np.linspace(-4, 4, 9)
    np.testing.assert_allclose(
        reference_target("geglu")(x), x * get_target("gelu")(x), rtol=1e-12, atol=1e-15
    )
    np.testing.assert_allclose(
        reference_target("swishglu")(x), x * get_target("swish")(x), rtol=1e-12, atol=1e-15
    )


def test_published_errors_match_measure_errors():
    e = _published("rational_activations/B/5-4/gelu")
    form = e.form()
    for iv in COMPARISON_INTERVALS:
        ours = measure_errors(form, e.target, e.numerator, e.denominator, iv)
        theirs = e.errors(iv)
        assert theirs["max_abs"] == pytest.approx(ours["max_abs"], rel=ERROR_RTOL)
        assert theirs["rms"] == pytest.approx(ours["rms"], rel=ERROR_RTOL)


def test_published_section_shows_both_formulas(report):
    text = report.read_text(encoding="utf-8")
    assert "rational_kat_cu/init.json/gelu" in text
    assert "A (runtime)" in text and "B (fitted)" in text
    assert (
        format_error(_published("rational_kat_cu/init.json/gelu").errors((-3.0, 3.0))["max_abs"])
        in text
    )


# ---- layout: the overview leads with the answer, labels are readable --------------------
def test_overview_leads_with_the_group_of_most_bases(report):
    text = report.read_text(encoding="utf-8")
    overview = text[text.index('id="overview"') : text.index('id="targets"')]
    # the answer first: the best basis per target, then the heatmap comparing most bases
    assert overview.index("Lowest RMS error per target") < overview.index("<img")
    first = re.search(r'<img src="([^"]+)"', overview).group(1)
    # the fixture's only group with two bases (monomial and hermite1): safe, l2, 5/4
    assert first == "figures/heatmap-safe-l2-5-4-fit.png"


@pytest.mark.parametrize(("lo", "hi"), [(5.41e-3, 3.26e-2), (2.1e-8, 2.1e-2), (1e-3, 1.1e-3)])
@pytest.mark.parametrize("max_ticks", [2, 3, 6])
def test_colorbar_ticks_keep_both_ends_and_never_crowd(lo, hi, max_ticks):
    from opade_fit.report.heatmap import log_colorbar_ticks

    ticks = log_colorbar_ticks(lo, hi, max_ticks=max_ticks)
    assert ticks[0] == lo and ticks[-1] == hi
    assert len(ticks) <= max(2, max_ticks)
    span = math.log10(hi / lo)
    gaps = [math.log10(b / a) for a, b in itertools.pairwise(ticks)]
    assert min(gaps) > 0.15 * span  # neighbouring labels are apart on the bar


def test_published_figure_tells_our_entries_apart():
    from opade_fit.report.figures import our_line_style

    num, den = [0.02, 0.5, 0.1, 0.05, 0.01, 0.0], [0.1, 0.2, 0.0, 0.01]
    recs = [
        make_record("monomial", "safe", "leaky_relu", num, den),
        make_record("monomial", "plain", "leaky_relu", num, den),
        make_record("monomial", "safe", "leaky_relu", num[:4], den[:2]),
        make_record("monomial", "safe", "leaky_relu", [*num, 0.0, 0.0], [*den, 0.0, 0.0]),
    ]
    styles = [our_line_style(r) for r in recs]
    assert len({s["label"] for s in styles}) == len(recs)
    assert len({(s["color"], str(s["linestyle"])) for s in styles}) == len(recs)


def test_read_records_checks_the_schema_version_through_the_tables_reader(tmp_path):
    from opade_fit.errors import FitError

    num, den = [0.02, 0.5, 0.1, 0.05, 0.01, 0.0], [0.1, 0.2, 0.0, 0.01]
    rec = make_record("hermite1", "safe", "gelu", num, den)
    write_json(tmp_path / "t.json", {"schema_version": [2, 0], "entries": [rec]})
    with pytest.raises(FitError, match="schema_version"):
        read_records([tmp_path / "t.json"])
    with pytest.raises(FitError, match="schema_version"):
        read_records([tmp_path])
    write_json(tmp_path / "t.json", {"schema_version": [1, 0], "tool": {}, "entries": [rec]})
    assert read_records([tmp_path]) == [rec]
