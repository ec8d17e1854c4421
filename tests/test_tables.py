"""Init tables: the spec, the shipped tables, regenerate/check, get_init, the CLI and the docs.

The golden test "regenerate the whole spec and compare with the committed tables" is
`opade tables check` (run by CI); here a small sample of committed entries is refitted and
compared, and the machinery is exercised on a tiny spec in a temporary folder.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from basis_oracle import SCIPY_ORACLE
from typer.testing import CliRunner

import opade_fit
from opade_fit.bases import BASIS_NAMES
from opade_fit.cli import app
from opade_fit.errors import UsageError
from opade_fit.fitting import POLE_REACH
from opade_fit.forms import DENOMINATORS, RationalForm
from opade_fit.record import dumps
from opade_fit.result import RMS_POINTS, FitResult
from opade_fit.tables import (
    SPEC_FIELDS,
    EntryNotFoundError,
    TableEntry,
    compare_records,
    compare_tables,
    export_rational_activations,
    get_init,
    load_entries,
    load_spec,
    parse_filter,
    record_key,
    regenerate,
    select,
    table_path,
)
from opade_fit.targets import TARGET_NAMES, get_target

REPO = Path(__file__).resolve().parent.parent
TABLES = REPO / "tables"
SPEC = TABLES / "spec.toml"
SCHEMA = TABLES / "schema" / "table-1.json"
DOCS = REPO / "docs" / "tables.md"

#: Entries of the committed spec, per group (docs/tables.md).
GROUP_COUNTS = {
    "all-forms": 364,
    "plain-forms": 154,
    "zero-centred": 48,
    "pau-degrees": 8,
    "normal-weight": 52,
}
#: Targets the plain group leaves out (their fits have poles near +-5; tables/spec.toml).
PLAIN_LEFT_OUT = {"gelu", "gelu_tanh"}
#: Relative agreement of a stored max_abs with an independent dense re-evaluation
#: (the issue promises the true maximum to 3 significant digits).
MAX_ABS_RTOL = 1e-3
#: Relative agreement of a stored RMS with the same definition evaluated independently
#: (scipy.special bases instead of the recurrence: only rounding differs).
RMS_RTOL = 1e-7
#: Absolute floor of both (exact fits such as identity have errors ~1e-16).
ABS_FLOOR = 1e-13
#: Points of the independent max grid (odd: contains the centre 0, where kinks are).
INDEPENDENT_POINTS = 200_001
#: Exported / documented evaluations vs FitResult.evaluate (same float64 formula, other code).
EVAL_TOL = 1e-12

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


TINY_SPEC = """
spec_format = 1

[[group]]
name = "tiny"
basis = ["monomial", "hermite1"]
denominator = ["safe"]
degrees = [[3, 2]]
target = [{ name = "gelu", params = {} }, { name = "tanh", params = {} }]
center = [{ mode = "none" }]
weight = ["uniform"]
interval = [[-3.0, 3.0]]
check_interval = [[-5.0, 5.0]]
points = [401]
derivative_weight = [0.0]
objective = ["l2"]
"""


@pytest.fixture(scope="module")
def spec_entries():
    return load_spec(SPEC)


@pytest.fixture(scope="module")
def committed():
    return {b: json.loads(table_path(TABLES, b).read_text()) for b in BASIS_NAMES}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny spec regenerated (in-process) into a temporary folder; returns (spec, folder)."""
    root = tmp_path_factory.mktemp("tiny")
    spec = root / "spec.toml"
    spec.write_text(TINY_SPEC)
    regenerate(spec, root, jobs=1)
    return spec, root


def _copy_tiny(tiny, tmp_path) -> tuple[Path, Path]:
    _spec, root = tiny
    for p in root.iterdir():
        (tmp_path / p.name).write_bytes(p.read_bytes())
    return tmp_path / "spec.toml", tmp_path


# -- the spec ------------------------------------------------------------------------------
def test_spec_counts(spec_entries):
    assert Counter(e.group for e in spec_entries) == GROUP_COUNTS
    assert len(spec_entries) == 626
    # every basis x denominator x target x objective at 5/4 uniform/none (plain: but two)
    main = [e for e in spec_entries if e.group in ("all-forms", "plain-forms")]
    assert {(e.basis, e.denominator, e.target, e.objective) for e in main} == {
        (b, d, t, o)
        for b in BASIS_NAMES
        for d in DENOMINATORS
        for t in TARGET_NAMES
        for o in ("l2", "max")
        if d != "plain" or t not in PLAIN_LEFT_OUT
    }
    zc = Counter((e.basis, e.center) for e in spec_entries if e.group == "zero-centred")
    assert zc == {
        (b, c): 8 for b in ("hermite1", "hermite2") for c in ("general", "drop-one", "all-zero")
    }


def test_spec_order_is_the_product_in_field_order(spec_entries):
    first = spec_entries[:4]
    assert [(e.basis, e.denominator, e.target, e.objective) for e in first] == [
        ("monomial", "safe", "leaky_relu", "l2"),
        ("monomial", "safe", "leaky_relu", "max"),
        ("monomial", "safe", "relu", "l2"),
        ("monomial", "safe", "relu", "max"),
    ]
    assert spec_entries[26].denominator == "safe-abs-sum"  # 13 targets x 2 objectives later
    assert spec_entries[78].basis == "chebyshev1"
    groups = [e.group for e in spec_entries]
    assert groups == sorted(groups, key=list(GROUP_COUNTS).index)  # groups in file order
    assert SPEC_FIELDS[-1] == "objective"


def test_spec_entries_are_explicit(spec_entries):
    for e in spec_entries:
        full = get_target(e.target).to_dict()["params"]
        assert dict(e.params) == full  # every parameter written out, = defaults here
        assert e.interval == (-3.0, 3.0)
        assert e.check_interval == (-5.0, 5.0)
        assert e.points == 4001
        assert e.derivative_weight == 0.0
    selu = next(e for e in spec_entries if e.target == "selu")
    assert dict(selu.params) == {"alpha": 1.6732632423543772, "scale": 1.0507009873554805}
    assert len({e.key for e in spec_entries}) == len(spec_entries)
    drop = [e for e in spec_entries if e.center == "drop-one"]
    assert drop and all(e.drop is None for e in drop)  # "best": try each, keep the best


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.replace("points = [401]\n", ""), "missing field `points`"),
        (
            lambda s: s.replace('{ name = "tanh", params = {} }', '{ name = "elu", params = {} }'),
            "must list every parameter explicitly; missing alpha",
        ),
        (lambda s: s.replace('"tanh"', '"tanhh"'), "did you mean 'tanh'"),
        (lambda s: s.replace('objective = ["l2"]', 'objective = ["l2", "l2"]'), "duplicates"),
        (lambda s: s + "colour = 1\n", "unknown fields colour"),
        (
            lambda s: s.replace('{ mode = "none" }', '{ mode = "drop-one" }'),
            "`drop` is required",
        ),
    ],
)
def test_spec_errors(tmp_path, edit, message):
    path = tmp_path / "spec.toml"
    path.write_text(edit(TINY_SPEC))
    with pytest.raises(UsageError, match=re.escape(message)):
        load_spec(path)


def test_filter_syntax(spec_entries):
    assert parse_filter("basis=hermite1|hermite2, objective=max") == {
        "basis": frozenset({"hermite1", "hermite2"}),
        "objective": frozenset({"max"}),
    }
    chosen = select(spec_entries, "basis=hermite1,target=swish,objective=max")
    assert [(e.group, e.center, e.weight) for e in chosen] == [
        ("all-forms", "none", "uniform"),
        ("all-forms", "none", "uniform"),
        ("plain-forms", "none", "uniform"),
        ("zero-centred", "general", "uniform"),
        ("zero-centred", "drop-one", "uniform"),
        ("zero-centred", "all-zero", "uniform"),
        ("normal-weight", "none", "normal"),
    ]
    assert len(select(spec_entries, ["group=pau-degrees", "degrees=3/2"])) == 8
    for bad, message in [
        ("basis", "must be FIELD=VALUE"),
        ("colour=red", "is not one of"),
        ("basis=hermite3", "matches no entry of the spec"),
        ("basis=a,basis=b", "twice"),
        ("degrees=3/2,center=general", "matches no entry"),
    ]:
        with pytest.raises(UsageError, match=message):
            select(spec_entries, bad)


# -- the shipped tables --------------------------------------------------------------------
def test_every_shipped_table_validates_against_the_schema(committed):
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for basis, doc in committed.items():
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        assert not errors, (basis, [f"{list(e.path)}: {e.message}" for e in errors[:5]])
    bad = json.loads(json.dumps(committed["hermite1"]))
    del bad["entries"][0]["errors"]
    bad["entries"][1]["weight"] = "gaussian"
    assert len(list(validator.iter_errors(bad))) == 2


def test_every_property_of_the_schema_is_described():
    def walk(node, path):
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                assert "description" in sub, f"{path}/{name}"
            for key, sub in node.items():
                walk(sub, f"{path}/{key}")
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                walk(sub, f"{path}/{i}")

    walk(json.loads(SCHEMA.read_text()), "")


def test_shipped_tables_hold_the_spec_in_order(committed, spec_entries):
    for basis, doc in committed.items():
        assert [record_key(r) for r in doc["entries"]] == [
            e.key for e in spec_entries if e.basis == basis
        ]
        assert table_path(TABLES, basis).read_text() == dumps(doc)  # byte-stable form


def _oracle_basis(basis: str, n: int, x: np.ndarray) -> list[np.ndarray]:
    """f_0..f_n from scipy.special (not opade-fit's recurrence)."""
    return [SCIPY_ORACLE[basis](i, x) for i in range(n + 1)]


def _oracle_g(rec: dict, x: np.ndarray) -> np.ndarray:
    """g(x) of a record, written out from docs/spec.md §3 with the scipy.special bases."""
    c, d = rec["coefficients"]["numerator"], rec["coefficients"]["denominator"]
    f = _oracle_basis(rec["form"]["basis"], max(len(c) - 1, len(d)), x)
    P = sum(ci * fi for ci, fi in zip(c, f, strict=False))
    B = [dj * fj for dj, fj in zip(d, f[1:], strict=False)]
    Q = {
        "safe": 1.0 + sum(abs(dj) * np.abs(fj) for dj, fj in zip(d, f[1:], strict=False)),
        "safe-abs-sum": 1.0 + np.abs(sum(B, np.zeros_like(x))),
        "plain": 1.0 + sum(B, np.zeros_like(x)),
    }[rec["form"]["denominator"]]
    return P / Q


def test_stored_errors_agree_with_an_independent_re_evaluation(committed):
    """Stored errors vs the coefficients re-evaluated with scipy.special bases.

    max_abs: on another grid (INDEPENDENT_POINTS); rms: its definition (mean over
    RMS_POINTS uniform points) with the independent evaluation.
    """
    bad = []
    for doc in committed.values():
        for rec in doc["entries"]:
            target = get_target(rec["target"]["name"], rec["target"]["params"])
            blocks = [("fit", rec["interval"])]
            if not rec.get("poles_in_check", rec["poles"]):  # a pole makes max_abs grid-bound
                blocks.append(("check", rec["errors"]["check"]["interval"]))
            for block, (a, b) in blocks:
                stored = rec["errors"][block]
                x = np.linspace(a, b, INDEPENDENT_POINTS)
                max_abs = float(np.max(np.abs(_oracle_g(rec, x) - target(x))))
                x = np.linspace(a, b, RMS_POINTS)
                rms = float(np.sqrt(np.mean((_oracle_g(rec, x) - target(x)) ** 2)))
                label = (rec["form"]["basis"], rec["form"]["denominator"], rec["target"]["name"])
                if abs(max_abs - stored["max_abs"]) > MAX_ABS_RTOL * stored["max_abs"] + ABS_FLOOR:
                    bad.append((*label, block, "max_abs", stored["max_abs"], max_abs))
                if abs(rms - stored["rms"]) > RMS_RTOL * stored["rms"] + ABS_FLOOR:
                    bad.append((*label, block, "rms", stored["rms"], rms))
            cert = rec["certificate"]
            if rec["objective"] == "max":
                if rec["weight"] == "uniform":  # a weighted certificate bounds max w|g - f|
                    assert cert["upper_bound"] == rec["errors"]["fit"]["max_abs"]
                assert 0 <= cert["lower_bound"] <= cert["upper_bound"]
            else:
                assert cert is None
    assert not bad, bad[:10]


def test_poles_only_for_plain_and_never_on_the_guard_interval(committed):
    """poles = every real root of Q; a plain entry has none on the guard interval.

    The guard interval is the check interval widened by its own length on each side
    (docs/tables.md "Plain entries"); the roots are recomputed independently here from
    the monomial expansion of Q (numpy.polynomial), not read from the record.
    """
    n_plain = 0
    for doc in committed.values():
        for rec in doc["entries"]:
            assert rec["schema_version"] == [1, 1]
            d = rec["coefficients"]["denominator"]
            if rec["form"]["denominator"] != "plain":
                assert rec["poles"] == [] and rec["poles_in_check"] == []
                continue
            n_plain += 1
            ca, cb = rec["errors"]["check"]["interval"]
            lo, hi = ca - (cb - ca), cb + (cb - ca)
            q = _monomial_q(rec["form"]["basis"], d)
            roots = np.roots(q[::-1])
            real = sorted(
                r.real
                for r in roots
                if abs(r.imag) <= 1e-7 * max(1.0, abs(r)) and abs(r.real) <= POLE_REACH
            )
            assert not any(lo <= r <= hi for r in real), (_label_of(rec), real)
            np.testing.assert_allclose(rec["poles"], real, rtol=1e-6, atol=1e-9)
            assert rec["poles_in_check"] == []
    assert n_plain == GROUP_COUNTS["plain-forms"]


def _monomial_q(basis: str, d) -> np.ndarray:
    """Monomial coefficients (increasing degree) of Q = 1 + sum_j d_j f_j (plain)."""
    from opade_fit.bases import get_basis

    x = np.cos(np.linspace(0.0, np.pi, 2 * len(d) + 3))  # Chebyshev points: exact interpolation
    x = 3.0 * x
    F, _ = get_basis(basis).evaluate(x, len(d))
    q = 1.0 + np.asarray(d) @ F[1:]
    return np.polynomial.polynomial.polyfit(x, q, len(d))


def _label_of(rec) -> str:
    form = rec["form"]
    return f"{form['basis']}/{form['denominator']} {rec['target']['name']} {rec['objective']}"


#: Committed entries refitted in test_sample_of_committed_entries_regenerates (spread over
#: bases, denominators, objectives, centring and weighting).
SAMPLE = [
    "basis=monomial,denominator=safe,degrees=5/4,target=gelu,objective=l2,weight=uniform,center=none",
    "basis=chebyshev2,denominator=plain,target=swish,objective=l2",
    "basis=hermite1,denominator=safe,target=leaky_relu,objective=max,weight=uniform,center=none",
    "basis=hermite2,denominator=safe,target=relu,center=general,objective=l2",
    "basis=laguerre,denominator=safe-abs-sum,target=tanh,objective=l2",
    "basis=legendre,denominator=safe,target=elu,objective=max",
]


@pytest.mark.parametrize("only", SAMPLE)
def test_sample_of_committed_entries_regenerates(only, spec_entries, committed):
    from opade_fit.fitting import fit_spec

    (entry,) = select(spec_entries, only)
    stored = next(r for r in committed[entry.basis]["entries"] if record_key(r) == entry.key)
    fresh = fit_spec(entry.fit_spec()).to_dict()
    failures, _notes = compare_records(stored, fresh)
    assert failures == []


# -- regenerate / check on a tiny spec -----------------------------------------------------
def test_regenerate_is_byte_stable_with_a_pool(tiny, tmp_path):
    spec, root = tiny
    regenerate(spec, tmp_path, jobs=2)
    for basis in ("monomial", "hermite1"):
        assert table_path(tmp_path, basis).read_bytes() == table_path(root, basis).read_bytes()
    doc = json.loads(table_path(root, "hermite1").read_text())
    assert [r["target"]["name"] for r in doc["entries"]] == ["gelu", "tanh"]
    assert set(doc) == {"schema_version", "tool", "entries"}
    report = compare_tables(tmp_path, root)
    assert report.ok and report.entries == 4 and report.identical == 4


def test_only_keeps_siblings_byte_identical(tiny, tmp_path):
    spec, root = _copy_tiny(tiny, tmp_path)
    mono, herm = table_path(root, "monomial"), table_path(root, "hermite1")
    # make every entry differ from a fresh fit, and add an entry the spec does not list
    doc = json.loads(mono.read_text())
    for rec in doc["entries"]:
        rec["coefficients"]["numerator"][0] += 0.5
    stale = json.loads(json.dumps(doc["entries"][1]))
    stale["target"]["name"] = "sigmoid"
    doc["entries"].append(stale)
    mono.write_text(dumps(doc))
    herm_doc = json.loads(herm.read_text())
    herm_doc["entries"][0]["coefficients"]["numerator"][0] += 0.5
    herm.write_text(dumps(herm_doc))
    herm_before = herm.read_bytes()
    herm_mtime = herm.stat().st_mtime_ns

    report = regenerate(spec, root, only="basis=monomial,target=gelu", jobs=1)
    assert (report.fitted, report.kept, report.written) == (1, 2, (mono,))
    assert herm.read_bytes() == herm_before and herm.stat().st_mtime_ns == herm_mtime
    new = json.loads(mono.read_text())["entries"]
    fresh = json.loads(table_path(tiny[1], "monomial").read_text())["entries"]
    assert dumps(new[0]) == dumps(fresh[0])  # refitted
    assert dumps(new[1]) == dumps(doc["entries"][1])  # sibling kept exactly
    assert dumps(new[2]) == dumps(stale)  # not in the spec: kept (last) by --only
    # a full regeneration drops it and restores everything
    regenerate(spec, root, jobs=1)
    for basis in ("monomial", "hermite1"):
        assert table_path(root, basis).read_bytes() == table_path(tiny[1], basis).read_bytes()


def test_check_passes_and_reports_a_tampered_entry(tiny, tmp_path):
    spec, root = _copy_tiny(tiny, tmp_path)
    result = run("tables", "check", "--spec", spec, "--tables", root, "--jobs", "1")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("tables OK: 4 entries match the spec (4 identical")

    herm = table_path(root, "hermite1")
    doc = json.loads(herm.read_text())
    doc["entries"][1]["coefficients"]["denominator"][0] *= 1.01
    doc["entries"][0]["errors"]["fit"]["rms"] *= 1.1
    doc["entries"][0]["weight"] = "normal"
    herm.write_text(dumps(doc))
    result = run("tables", "check", "--spec", spec, "--tables", root, "--jobs", "1")
    assert result.exit_code == 1
    err = result.stderr
    assert "tables differ from a regeneration" in err
    assert "hermite1.json: missing entry hermite1/safe 3/2 gelu on [-3, 3]" in err
    assert (
        "entry not in the spec: hermite1/safe 3/2 gelu on [-3, 3], objective l2, weight normal"
        in err
    )
    assert re.search(r"hermite1/safe 3/2 tanh .*: g differs by up to \S+ on \[-5, 5\]", err)
    assert "monomial.json" not in err

    doc["entries"][0]["weight"] = "uniform"
    herm.write_text(dumps(doc))
    report = compare_tables(tiny[1], root)
    assert not report.ok
    assert any("errors.fit.rms: committed" in d for d in report.differences)


def test_check_notes_labels_and_fails_on_what_users_depend_on(tiny, tmp_path):
    """A start label / status code is a note; g, errors, bounds and poles are failures."""
    fresh = json.loads(table_path(tiny[1], "hermite1").read_text())["entries"][0]

    def edited(edit) -> tuple[list[str], list[str]]:
        rec = json.loads(json.dumps(fresh))
        edit(rec)
        return compare_records(rec, fresh)

    def relabel(rec):
        rec["solver"].update(method="lsq-trf (seeded-3 start)", status=1, success=False)

    fails, notes = edited(relabel)
    assert fails == [] and len(notes) == 3 and notes[0].startswith("solver.method: committed")

    def better(rec):  # the committed entry was better: the regenerated one is worse
        rec["errors"]["fit"]["rms"] *= 0.9

    fails, _ = edited(better)
    assert len(fails) == 1 and fails[0].endswith("(the regenerated entry is worse)")

    def far_out(rec):  # g differs only beyond the fit interval, on the check interval
        rec["coefficients"]["numerator"][3] += 1e-4

    fails, _ = edited(far_out)
    assert any(f.startswith("g differs by up to") and "[-5, 5]" in f for f in fails)

    def pole(rec):
        rec["poles"] = [7.5]

    fails, _ = edited(pole)
    assert fails == ["poles on [-15, 15]: committed [7.5], regenerated []"]

    def far_pole(rec):
        rec["poles"] = [40.0]

    fails, notes = edited(far_pole)
    assert fails == [] and notes == ["poles (outside [-15, 15]): committed [40.0], regenerated []"]

    _spec, root = _copy_tiny(tiny, tmp_path)
    herm = table_path(root, "hermite1")
    doc = json.loads(herm.read_text())
    relabel(doc["entries"][0])
    herm.write_text(dumps(doc))
    report = compare_tables(tiny[1], root)
    assert report.ok and report.identical == 3 and len(report.notes) == 3
    assert "note: hermite1.json: hermite1/safe 3/2 gelu" in report.text()
    only = compare_tables(tiny[1], root, keys=[record_key(doc["entries"][1])])
    assert only.ok and only.entries == 1 and only.notes == ()


def test_regenerate_cli_prints_the_time(tiny, tmp_path):
    spec, root = _copy_tiny(tiny, tmp_path)
    result = run(
        "tables",
        "regenerate",
        "--spec",
        spec,
        "--tables",
        root,
        "--only",
        "target=tanh",
        "--jobs",
        "1",
    )
    assert result.exit_code == 0, result.stderr
    assert re.search(r"regenerated 2 entries \(kept 2\) in [0-9.]+ s", result.stderr)
    assert result.stdout == ""
    bad = run("tables", "regenerate", "--spec", spec, "--tables", root, "--only", "target=elu")
    assert bad.exit_code == 2
    assert "`--only` target='elu' matches no entry of the spec" in bad.stderr


# -- get_init ------------------------------------------------------------------------------
def test_get_init_returns_the_entry(committed):
    entry = get_init("leaky_relu", basis="hermite1")
    assert isinstance(entry, TableEntry) and opade_fit.get_init is get_init
    assert len(entry.numerator) == 6 and len(entry.denominator) == 4
    rec = committed["hermite1"]["entries"][0]
    assert entry.record == rec and dict(entry) == rec and entry["form"] == rec["form"]
    assert entry.numerator == tuple(rec["coefficients"]["numerator"])
    x = np.linspace(-4, 4, 801)
    np.testing.assert_array_equal(entry.evaluate(x), FitResult.from_dict(rec).evaluate(x))
    assert get_init("leaky_relu", basis="hermite1") is entry  # cached
    silu = get_init("silu", basis="monomial", objective="max", weight="normal")
    assert silu.record["target"]["name"] == "swish"
    assert silu.record["weight"] == "normal" and silu.record["certificate"] is not None
    zc = get_init("gelu", basis="hermite2", center="drop-one", degrees="5/4")
    assert zc.record["center"]["dropped"] in {"c0", "c2", "c4"}
    assert abs(zc.evaluate(np.zeros(1))[0]) < 1e-14
    pau = get_init("gelu", basis="monomial", degrees=(7, 6), objective="max")
    assert len(pau.numerator) == 8


def test_get_init_missing_entry_names_alternatives_and_the_command():
    with pytest.raises(EntryNotFoundError) as info:
        get_init("gelu", basis="chebyshev1", weight="normal")
    msg = str(info.value)
    assert isinstance(info.value, UsageError) and isinstance(info.value, ValueError)
    assert msg.startswith("no init-table entry for chebyshev1/safe 5/4 gelu on [-3, 3]")
    assert (
        "closest entries: chebyshev1/safe 5/4 gelu on [-3, 3], objective l2, weight uniform" in msg
    )
    assert "(differs in weight)" in msg
    assert msg.endswith(
        "fit it with: opade fit --basis chebyshev1 --target gelu --denominator safe "
        "--degrees 5/4 --interval -3.0 3.0 --objective l2 --weight normal --center none "
        "--json --out FILE.json"
    )
    with pytest.raises(EntryNotFoundError, match=r"--param negative_slope=0\.2"):
        get_init("leaky_relu", basis="hermite1", params={"negative_slope": 0.2})
    with pytest.raises(UsageError, match="did you mean 'hermite1'"):
        get_init("gelu", basis="hermit1")


# -- CLI: list / show / export -------------------------------------------------------------
def test_list_json_parses(committed):
    result = run("tables", "list", "--json")
    assert result.exit_code == 0, result.stderr
    records = json.loads(result.stdout)
    assert len(records) == 626
    assert records == load_entries(TABLES)
    text = run("tables", "list")
    assert text.exit_code == 0 and len(text.stdout.splitlines()) == 627


def test_show_one_entry():
    result = run(
        "tables", "show", "--basis", "hermite1", "--target", "leaky_relu", "--objective", "max"
    )
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "form         hermite1/safe, degrees 5/4  [HP-1]" in out
    assert "objective max" in out and "certificate  minimax error" in out
    js = run(
        "tables",
        "show",
        "--basis",
        "hermite2",
        "--target",
        "gelu",
        "--center",
        "all-zero",
        "--json",
    )
    assert json.loads(js.stdout)["center"]["mode"] == "all-zero"
    missing = run("tables", "show", "--basis", "hermite2", "--target", "gelu", "--degrees", "3/2")
    assert missing.exit_code == 2
    assert "fit it with: opade fit --basis hermite2" in missing.stderr
    assert len(missing.stderr.splitlines()) == 1


def test_export_rational_activations_round_trips(tmp_path):
    out = tmp_path / "rationals_config.json"
    result = run("tables", "export", "--format", "rational_activations", "--out", out)
    assert result.exit_code == 0, result.stderr
    data = json.loads(out.read_text())
    assert sorted(data) == [
        "Rational_version_A3/2",
        "Rational_version_A5/4",
        "Rational_version_A7/6",
        "Rational_version_B5/4",
        "Rational_version_N5/4",
    ]
    assert sum(len(v) for v in data.values()) == 41
    formulas = {"A": "safe", "B": "safe-abs-sum", "N": "plain"}
    for version, block in data.items():
        m = re.fullmatch(r"Rational_version_([ABN])(\d+)/(\d+)", version)
        denominator, degrees = formulas[m[1]], (int(m[2]), int(m[3]))
        form = RationalForm("monomial", denominator, degrees)
        for name, row in block.items():
            assert set(row) == {"init_w_numerator", "init_w_denominator", "lb", "ub"}
            assert (row["lb"], row["ub"]) == (-3.0, 3.0)
            entry = get_init(name, basis="monomial", denominator=denominator, degrees=degrees)
            x = np.linspace(row["lb"], row["ub"], 1201)
            g = form.evaluate(x, row["init_w_numerator"], row["init_w_denominator"])
            np.testing.assert_allclose(g, entry.evaluate(x), rtol=0, atol=EVAL_TOL)
    maxed = export_rational_activations(load_entries(TABLES), objective="max")
    assert maxed["Rational_version_A5/4"]["gelu"]["init_w_numerator"] == list(
        get_init("gelu", basis="monomial", objective="max").numerator
    )


def test_export_json_is_flat(tmp_path):
    out = tmp_path / "entries.json"
    result = run("tables", "export", "--format", "json", "--out", out)
    assert result.exit_code == 0, result.stderr
    rows = json.loads(out.read_text())
    assert len(rows) == 626
    assert rows[0]["basis"] == "monomial" and rows[0]["coefficients"]["denominator"]
    assert all(
        not isinstance(v, dict) for k, v in rows[0].items() if k not in ("params", "coefficients")
    )


# -- docs ----------------------------------------------------------------------------------
def test_docs_layer_example_runs_and_matches_evaluate():
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.S)
    code = next(b for b in blocks if "def hp1_safe" in b)
    namespace: dict = {}
    exec(compile(code, str(DOCS), "exec"), namespace)
    entry = namespace["entry"]
    x = namespace["x"]
    np.testing.assert_allclose(namespace["y"], entry.evaluate(x), rtol=0, atol=EVAL_TOL)
    np.testing.assert_allclose(namespace["y"], entry.to_result().evaluate(x), rtol=0, atol=EVAL_TOL)


def test_readme_get_init_example_runs():
    text = (TABLES / "README.md").read_text()
    code = re.findall(r"```python\n(.*?)```", text, flags=re.S)[0]
    namespace: dict = {}
    exec(compile(code, "tables/README.md", "exec"), namespace)
    assert namespace["init"].record["form"]["basis"] == "hermite1"
