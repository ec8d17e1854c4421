"""docs/sweep.md quotes the committed docs sweep, and the data is what the sweep computes.

* every table examples/sweep_answer.py prints from docs/data/sweep-summary.csv stands
  in docs/sweep.md verbatim (the page cannot drift from the data);
* the data's lower corner is reproduced by running the sweep again: the same targets,
  2/1..5/4 (a closed set: every warm start of a pair in it comes from a pair in it),
  RMS within the tables check's tolerance.
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CSV = ROOT / "docs" / "data" / "sweep-summary.csv"
PAGE = ROOT / "docs" / "sweep.md"


def _answer_module():
    spec = importlib.util.spec_from_file_location(
        "sweep_answer", ROOT / "examples" / "sweep_answer.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_quoted_table_is_in_the_page() -> None:
    mod = _answer_module()
    page = PAGE.read_text(encoding="utf-8")
    rows = mod.read_rows(CSV)
    # 3 targets x 76 pairs 2/1..12/11 (l <= k) x 7 bases x 2 denominators
    assert len(rows) == 3 * 76 * 7 * 2
    for name, text in mod.blocks(rows).items():
        assert text in page, (
            name,
            "docs/sweep.md does not quote this; paste the script's output:\n" + text,
        )


@pytest.mark.slow
def test_the_committed_sweep_is_reproduced_in_its_lower_corner() -> None:
    from opade_fit import sweep
    from opade_fit.sweeps import summary_rows

    bases = ("monomial", "hermite1")
    entries = sweep(
        ["gelu", "swish"],
        degrees="2/1..5/4",
        bases=bases,
        denominators=("safe",),
        objective="l2",
        jobs=1,
        out=None,
    )
    fresh = {(r["target"], r["basis"], r["k"], r["l"]): r["rms"] for r in summary_rows(entries)}
    with CSV.open(newline="", encoding="utf-8") as fh:
        committed = {
            (r["target"], r["basis"], int(r["k"]), int(r["l"])): float(r["rms"])
            for r in csv.DictReader(fh)
            if r["denominator"] == "safe"
            and r["basis"] in bases
            and int(r["k"]) <= 5
            and int(r["l"]) <= 4
            and r["target"] in ("gelu", "swish(beta=1)")
        }
    assert set(fresh) == set(committed)
    for key, rms in committed.items():
        assert fresh[key] == pytest.approx(rms, rel=1e-4, abs=1e-12), key
