"""Hostile and extreme input: bounded work, only our errors, no silent wrong answer, no lost update.

The contract (docs/limits.md): every input ends, within a bounded amount of work, either as a
correct result or as exactly one line on stderr naming the argument and the rule, with exit 2
(usage) or 1 (failure) -- never a traceback, never ``opade: error: unexpected ...``, and
nothing from LAPACK, numpy or sympy on stdout or stderr.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from opade_fit import tables
from opade_fit.record import dumps
from opade_fit.tables import regenerate, table_path

# -- concurrent regenerations of one table file ----------------------------------------------
LOCK_SPEC = """
spec_format = 1

[[group]]
name = "lock"
basis = ["monomial"]
denominator = ["safe"]
degrees = [[2, 1]]
target = [{ name = "gelu", params = {} }, { name = "tanh", params = {} }]
center = [{ mode = "none" }]
weight = ["uniform"]
interval = [[-3.0, 3.0]]
check_interval = [[-5.0, 5.0]]
points = [201]
derivative_weight = [0.0]
objective = ["l2"]
"""


@pytest.fixture(scope="module")
def lock_tables(tmp_path_factory):
    """The two-entry spec regenerated once; returns (spec, folder with the fresh table)."""
    root = tmp_path_factory.mktemp("lock")
    spec = root / "spec.toml"
    spec.write_text(LOCK_SPEC)
    regenerate(spec, root, jobs=1)
    return spec, root


def _stale_copy(lock_tables, folder: Path) -> tuple[Path, Path, list[str]]:
    """Copy spec and table to ``folder``, both entries stale; returns (spec, table, fresh)."""
    spec, root = lock_tables
    fresh_path = table_path(root, "monomial")
    doc = json.loads(fresh_path.read_text())
    fresh = [dumps(rec) for rec in doc["entries"]]
    for rec in doc["entries"]:
        rec["coefficients"]["numerator"][0] += 0.5
    (folder / "spec.toml").write_text(spec.read_text())
    table = table_path(folder, "monomial")
    table.write_text(dumps(doc))
    return folder / "spec.toml", table, fresh


def _entries(table: Path) -> list[str]:
    return [dumps(rec) for rec in json.loads(table.read_text())["entries"]]


def test_regenerations_interleaved_inside_the_read_modify_write_lose_nothing(
    lock_tables, tmp_path, monkeypatch
):
    """B fits and tries to write while A sits between reading and writing the same file.

    Without the lock B would read the stale file, write it, and A would then overwrite B's
    entry with the stale one it read (a lost update, deterministically: A waits for B).
    With the lock B waits for A's write and merges into it.
    """
    spec, table, fresh = _stale_copy(lock_tables, tmp_path)
    original = tables.read_table
    a_has_read, b_finished = threading.Event(), threading.Event()

    def read_then_wait(path):
        doc = original(path)
        if threading.current_thread().name == "A":
            a_has_read.set()
            b_finished.wait(timeout=5)  # B is blocked on the lock: give up waiting and write
        return doc

    monkeypatch.setattr(tables, "read_table", read_then_wait)
    errors: list[BaseException] = []

    def run(only: str, before=None, after=None):
        try:
            if before is not None:
                before.wait(timeout=60)
            regenerate(spec, tmp_path, only=only, jobs=1)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            if after is not None:
                after.set()

    a = threading.Thread(target=run, args=("target=gelu",), name="A")
    b = threading.Thread(target=run, args=("target=tanh", a_has_read, b_finished), name="B")
    a.start()
    b.start()
    a.join(timeout=120)
    b.join(timeout=120)
    assert not errors, errors
    assert _entries(table) == fresh


@pytest.mark.slow
@pytest.mark.parametrize("pair", range(3))
def test_concurrent_cli_regenerations_of_one_file_both_land(lock_tables, tmp_path, pair):
    """Two ``opade tables regenerate --only`` processes on different entries of one file."""
    spec, table, fresh = _stale_copy(lock_tables, tmp_path)
    cmd = [sys.executable, "-m", "opade_fit", "tables", "regenerate", "--spec", str(spec)]
    cmd += ["--tables", str(tmp_path), "--jobs", "1", "--only"]
    procs = [
        subprocess.Popen(
            [*cmd, f"target={t}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for t in ("gelu", "tanh")
    ]
    for p in procs:
        _out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    assert _entries(table) == fresh
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp"))
    assert leftovers == []


@pytest.mark.parametrize(
    "command", [["list"], ["check"], ["show", "-b", "hermite1", "-t", "gelu"], ["regenerate"]]
)
def test_a_missing_tables_folder_is_a_usage_error(command, tmp_path):
    missing = tmp_path / "nope"
    result = subprocess.run(
        [sys.executable, "-m", "opade_fit", "tables", *command, "--tables", str(missing)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"opade: error: `--tables` {str(missing)!r} is not an existing folder\n"


def test_library_refuses_a_missing_tables_folder(tmp_path):
    from opade_fit import get_init
    from opade_fit.errors import UsageError

    with pytest.raises(UsageError, match=r"`tables` .* is not an existing folder"):
        get_init("gelu", basis="hermite1", tables=tmp_path / "nope")
    with pytest.raises(UsageError, match=r"`tables` .* is not an existing folder"):
        tables.load_entries(tmp_path / "nope")
