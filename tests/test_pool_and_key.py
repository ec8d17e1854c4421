"""The one process pool (opade_fit.pool) and the one fit identity / filter language
(opade_fit.tables.key), checked on their own: order of results, the error of a failed job,
and what a FitKey prints and matches."""

from __future__ import annotations

import math

import pytest

from opade_fit.errors import FitError, UsageError
from opade_fit.pool import run_pool
from opade_fit.problem import DEFAULT_POINTS, make_spec
from opade_fit.tables import FitKey, load_entries, parse_filter
from opade_fit.tables.key import matches


@pytest.mark.parametrize("jobs", [1, 2])
def test_pool_returns_results_in_item_order_and_reports_each_once(jobs):
    items = [16.0, 1.0, 81.0, 9.0]
    seen: list[tuple[int, float]] = []
    out = run_pool(
        math.sqrt, items, jobs=jobs, cost=lambda v: v, done=lambda i, r: seen.append((i, r))
    )
    assert out == [4.0, 1.0, 9.0, 3.0]
    assert sorted(seen) == [(0, 4.0), (1, 1.0), (2, 9.0), (3, 3.0)]


def test_pool_names_the_failed_job_in_one_fit_error():
    with pytest.raises(FitError, match=r"^square root of -1\.0 failed: ValueError: "):
        run_pool(math.sqrt, [4.0, -1.0, 9.0], jobs=2, describe=lambda v: f"square root of {v}")


def _request(**changes) -> FitKey:
    kw = {"basis": "hermite1", "degrees": (5, 4), "interval": (-3.0, 3.0)} | changes
    return FitKey.from_spec(make_spec("leaky_relu", **kw))


def test_key_of_a_request_equals_the_key_of_its_table_record():
    want = _request()
    hits = [r for r in load_entries() if FitKey.from_record(r) == want]
    assert len(hits) == 1
    rec = hits[0]
    assert rec["target"]["params"] == {"negative_slope": 0.01}
    assert want.label() == (
        "hermite1/safe 5/4 leaky_relu(negative_slope=0.01) on [-3, 3], objective l2, "
        "weight uniform, center none"
    )


def test_label_and_command_name_non_default_grid_check_and_derivative_weight():
    key = _request(points=1001, check_interval=(-4.0, 4.0), derivative_weight=0.5)
    assert key.points == 1001 and key.points != DEFAULT_POINTS
    assert key.label().endswith(", derivative weight 0.5, 1001 points, check [-4, 4]")
    cmd = key.fit_command(drop="c0")
    for part in (
        "--points 1001",
        "--check-interval -4.0 4.0",
        "--derivative-weight 0.5",
        "--drop c0",
    ):
        assert part in cmd
    assert "--points" not in _request().fit_command()


def test_filter_terms_and_values_or_and_the_spec_group_as_an_extra_field():
    key = _request(objective="max")
    assert key.matches(parse_filter("basis=hermite1|monomial,objective=max,degrees=5/4"))
    assert not key.matches(parse_filter("basis=hermite1,objective=l2"))
    assert key.matches(parse_filter("group=g1,target=leaky_relu"), group="g1")
    assert not key.matches(parse_filter("group=g2"), group="g1")
    # a record's target matches by its name or its label (the report's --targets)
    assert matches({"target": frozenset({"gelu", "tanh"})}, lambda n: ("gelu", "gelu(x)"))
    assert not matches({"target": frozenset({"tanh"})}, lambda n: "gelu")


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("", "is empty"),
        ("basis", "must be FIELD=VALUE"),
        ("colour=red", "is not one of"),
        ("basis=a,basis=b", "twice"),
    ],
)
def test_bad_filters_are_usage_errors_naming_the_option(text, rule):
    with pytest.raises(UsageError, match=rule) as info:
        parse_filter(text, option="--where")
    assert "`--where`" in str(info.value)


def test_a_record_without_the_key_fields_is_a_fit_error():
    with pytest.raises(FitError, match="not a fit record"):
        FitKey.from_record({"form": {"basis": "monomial"}})
