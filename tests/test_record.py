"""Deterministic, atomic JSON writing (opade_fit.record)."""

from __future__ import annotations

import math
import os
import stat

import pytest

from opade_fit.errors import FitError
from opade_fit.record import dumps, write_json


def test_dumps_is_sorted_indented_and_ends_with_newline() -> None:
    text = dumps({"b": [1.5, 2], "a": {"z": None, "y": "é"}})
    assert (
        text
        == '{\n  "a": {\n    "y": "é",\n    "z": null\n  },\n  "b": [\n    1.5,\n    2\n  ]\n}\n'
    )


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_dumps_refuses_non_finite_numbers(bad: float) -> None:
    with pytest.raises(FitError, match="non-finite"):
        dumps({"x": bad})


def test_new_file_gets_umask_mode_and_existing_mode_is_kept(tmp_path) -> None:
    path = tmp_path / "rec.json"
    old = os.umask(0o022)
    try:
        write_json(path, {"a": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    path.chmod(0o640)
    write_json(path, {"a": 2})
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.read_text() == '{\n  "a": 2\n}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.json"]  # no temp files left


def test_to_dict_returns_a_copy():
    from opade_fit import fit

    result = fit("relu", basis="hermite1", degrees=(3, 2))
    record = result.to_dict()
    record["errors"]["fit"]["rms"] = -1.0
    record["coefficients"]["numerator"][0] = 123.0
    assert result.to_dict()["errors"]["fit"]["rms"] >= 0.0
    assert result.to_dict()["coefficients"]["numerator"][0] == result.numerator[0] != 123.0


def test_former_record_io_names_are_the_canonical_functions():
    from opade_fit import record

    assert record.dumps is record.canonical_json
    assert record.write_json is record.write_canonical_json
