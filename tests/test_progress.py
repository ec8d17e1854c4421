"""Long work reports progress on stderr also when stderr is not a terminal."""

from __future__ import annotations

import pytest

from opade_fit.cli import progress as progress_mod
from opade_fit.cli.progress import progress_reporter


def test_plain_lines_at_start_end_and_at_most_every_interval(capsys, monkeypatch):
    clock = iter([0.0, 0.0, 1.0, 2.0, 12.0, 13.0, 30.0])  # start, then one per update
    monkeypatch.setattr(progress_mod.time, "monotonic", lambda: next(clock))
    with progress_reporter("drawing figures", interval=10.0, tty=False) as update:
        for done in range(1, 7):
            update(done, 6, f"fig{done}.png")
    lines = capsys.readouterr().err.splitlines()
    # first update, the one 10 s after it, and the last one
    assert lines == [
        "drawing figures: 1/6 (17%), 0 s elapsed",
        "drawing figures: 4/6 (67%), 12 s elapsed",
        "drawing figures: 6/6 (100%), 30 s elapsed",
    ]


def test_terminal_mode_draws_a_bar_not_lines(capsys):
    with progress_reporter("fitting", tty=True) as update:
        update(1, 2, None)
        update(2, 2, None)
    err = capsys.readouterr().err
    assert "fitting" in err and "2/2" in err
    assert "elapsed\n" not in err


@pytest.mark.slow
def test_cli_report_prints_progress_lines_when_piped(tmp_path):
    import subprocess
    import sys

    pytest.importorskip("matplotlib")
    out = tmp_path / "rep"
    proc = subprocess.run(
        [sys.executable, "-m", "opade_fit", "report", "--targets", "identity", "--bases",
         "monomial", "--out", str(out), "-j", "1"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert any(line.startswith("drawing figures: ") for line in lines), lines
    assert lines[-2].startswith("drawing figures: ") and "(100%)" in lines[-2]
    assert lines[-1] == f"wrote {out / 'index.html'}"
