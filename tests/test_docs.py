"""The docs run: every command and Python snippet in README.md, docs/ and tables/README.md.

* Python snippets (```python blocks) run as scripts in a fresh interpreter, in a
  temporary folder that sees the repository's ``tables/`` (torch snippets need torch).
* Command lines (```bash / ```console / bare ``` blocks and 4-space indented blocks whose
  lines start with ``opade``) run as ``python -m opade_fit ...`` in a temporary folder.
  A command that takes minutes runs in a short form listed in :data:`SHORT` (same
  subcommand and options, a smaller job); the long originals run in CI (.ci/run).
  Install / venv / test-runner commands are listed in :data:`NOT_RUN`, with the reason.
  Every command line in the docs must be one or the other: a new command that is neither
  run nor listed fails :func:`test_every_doc_command_is_run_or_listed`.
* Numbers the docs quote are recomputed in :data:`NUMBERS`; the quoted text must still be
  in the file, so changing either side without the other fails.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "tables/README.md"]


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _fenced(text: str) -> list[tuple[str, str]]:
    return re.findall(r"^```(\w*)\n(.*?)^```", text, flags=re.S | re.M)


def _indented(text: str) -> list[str]:
    outside = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return [m.group(0) for m in re.finditer(r"(?:^    \S[^\n]*\n)+", outside, flags=re.M)]


def _python_snippets() -> list[tuple[str, int, str]]:
    out = []
    for path in DOC_FILES:
        for i, (_lang, body) in enumerate(
            b for b in _fenced(path.read_text(encoding="utf-8")) if b[0] == "python"
        ):
            out.append((_rel(path), i, body))
    return out


def _command_lines() -> list[tuple[str, str]]:
    """(file, command) for every shell line of the docs, comments and ``$ `` stripped."""
    out = []
    for path in DOC_FILES:
        text = path.read_text(encoding="utf-8")
        bodies = [b for lang, b in _fenced(text) if lang in ("", "bash", "console", "sh")]
        bodies += [
            re.sub(r"^    ", "", b, flags=re.M)
            for b in _indented(text)
            if re.match(r"\s*(\$ )?(opade|pip|python)", b)
        ]
        for body in bodies:
            body = re.sub(r"\\\n\s*", " ", body)  # join backslash-continued lines
            for line in body.splitlines():
                line = re.sub(r"^\$ ", "", line.strip())
                line = re.sub(r"^nice -n \d+ ", "", line)  # the same command, lower priority
                line = re.sub(r"\s+#.*$", "", line)  # trailing comment
                if not line or line.startswith("#"):
                    continue
                for part in line.split(" && "):
                    out.append((_rel(path), part.strip()))
    return out


# --------------------------------------------------------------------------- commands
#: Commands not run here, with the reason.
NOT_RUN = {
    "python3 -m venv .venv": "environment setup (CI starts from it)",
    ". .venv/bin/activate": "environment setup",
    "pip install -e .": "install (CI installs the project)",
    "pip install torch==2.13.0": "install (CI runs it)",
    "pip install -e '.[test,torch,keras-backends,docs]'": "install (CI runs it)",
    "mkdocs build --strict": "CI runs it (.ci/run)",
    "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu": "install",
    "pip install 'opade-fit[torch]'": "install from an index, not the checkout",
    "python -m pytest": "this test suite itself",
    ".ci/min-versions": "CI runs it (a separate venv, minutes)",
    "pip install 'opade-fit[keras]'": "install from an index, not the checkout",
    "pip install tensorflow-cpu": "install (the keras-backends extra in CI)",
    "export KERAS_BACKEND=jax": "environment setting (tests/test_keras.py covers each backend)",
}

#: Commands run elsewhere, with where: `opade sweep` fits whole degree grids (minutes);
#: tests/test_sweep.py runs the command on small grids.
ELSEWHERE_PREFIXES = ("opade sweep ",)

#: Long commands -> the short form run here (same subcommand, a job of seconds). The
#: originals run in CI: `opade tables check` regenerates all 654 entries (minutes).
SHORT = {
    "opade tables check": "opade tables check --help",
    "opade tables regenerate": "opade tables regenerate --help",
    "opade tables regenerate --jobs 2": "opade tables regenerate --jobs 2 --help",
    "opade report": "opade report --targets identity --bases monomial -j 1",
    "opade report --tables tables/ --out /tmp/report --targets gelu,leaky_relu "
    "--bases hermite1,monomial": "opade report --tables tables/ --out report-short "
    "--targets identity --bases monomial -j 1",
    "opade report fit1.json fit2.json": "opade report fit1.json fit2.json -j 1",
}

#: `--only` filters are checked against the spec (select) instead of refitting their entries.
_ONLY = re.compile(r"^opade tables regenerate(?: --only \S+)+$")


def _doc_commands() -> list[tuple[str, str]]:
    """Each distinct ``opade`` command once, with the first file that shows it."""
    first: dict[str, str] = {}
    for f, c in _command_lines():
        if c.startswith("opade ") and not c.startswith(ELSEWHERE_PREFIXES):
            first.setdefault(c, f)
    return [(f, c) for c, f in first.items()]


def test_every_doc_command_is_run_or_listed() -> None:
    unknown = [
        (f, c) for f, c in _command_lines() if not c.startswith("opade ") and c not in NOT_RUN
    ]
    assert unknown == [], "add these doc commands to NOT_RUN with a reason, or run them"
    unused = set(SHORT) - {c for _f, c in _doc_commands()}
    assert unused == set(), "SHORT lists commands the docs no longer hold"


def _workdir(tmp_path: Path) -> Path:
    (tmp_path / "tables").symlink_to(ROOT / "tables")
    return tmp_path


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "opade_fit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def _fit_records(cwd: Path) -> None:
    """fit1.json and fit2.json for `opade report fit1.json fit2.json`."""
    for name, target in (("fit1.json", "identity"), ("fit2.json", "relu")):
        proc = _run(["fit", "-t", target, "--degrees", "2/1", "--out", name], cwd)
        assert proc.returncode == 0, proc.stderr


_FAST = [
    (f, c)
    for f, c in _doc_commands()
    if c not in SHORT and not _ONLY.match(c) and not c.startswith("opade report")
]
_SLOW = [(f, c) for f, c in _doc_commands() if c in SHORT]


def _check_command(command: str, tmp_path: Path) -> None:
    cwd = _workdir(tmp_path)
    args = shlex.split(SHORT.get(command, command))[1:]
    if "fit1.json" in args:
        _fit_records(cwd)
    proc = _run(args, cwd)
    assert proc.returncode == 0, (command, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(("doc", "command"), _FAST, ids=[c for _f, c in _FAST])
def test_doc_command_runs(doc: str, command: str, tmp_path: Path) -> None:
    _check_command(command, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize(("doc", "command"), _SLOW, ids=[c for _f, c in _SLOW])
def test_doc_command_runs_in_short_form(doc: str, command: str, tmp_path: Path) -> None:
    _check_command(command, tmp_path)


_ONLY_COMMANDS = [(f, c) for f, c in _doc_commands() if _ONLY.match(c)]


@pytest.mark.parametrize(("doc", "command"), _ONLY_COMMANDS, ids=[c for _f, c in _ONLY_COMMANDS])
def test_doc_regenerate_filters_select_spec_entries(doc: str, command: str) -> None:
    from opade_fit.tables import load_spec, select

    filters = shlex.split(command)[4::2]
    assert shlex.split(command)[3::2] == ["--only"] * len(filters)
    assert select(load_spec(ROOT / "tables" / "spec.toml"), filters)


# --------------------------------------------------------------------------- python snippets
#: Snippet text -> short form (the original draws the whole gelu report: minutes).
SHORT_PY = {
    'targets=["gelu"])': 'targets=["identity"], bases=["monomial"], jobs=1)',
}


@pytest.mark.parametrize(
    ("doc", "index", "code"),
    _python_snippets(),
    ids=[f"{d}#{i}" for d, i, _c in _python_snippets()],
)
def test_doc_python_snippet_runs(doc: str, index: int, code: str, tmp_path: Path) -> None:
    if re.search(r"^\s*(from|import) torch\b|opade_fit\.torch", code, flags=re.M):
        pytest.importorskip("torch")
    if re.search(r"^\s*(from|import) keras\b|opade_fit\.keras", code, flags=re.M):
        # tests/test_keras.py fails under CI=true when a Keras backend is missing
        pytest.importorskip("keras", reason="keras snippets need the keras-backends extra")
    for long, short in SHORT_PY.items():
        code = code.replace(long, short)
    script = _workdir(tmp_path) / "snippet.py"
    script.write_text(code, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, (doc, index, proc.stderr[-2000:])


# --------------------------------------------------------------------------- quoted numbers
def _safe_entries_with_tiny_d() -> tuple[int, int, float]:
    from opade_fit.tables import load_entries

    safe = [r for r in load_entries(ROOT / "tables") if r["form"]["denominator"] == "safe"]
    tiny = [
        abs(v) for r in safe for v in r["coefficients"]["denominator"] if v != 0 and abs(v) < 1e-12
    ]
    holders = sum(
        any(v != 0 and abs(v) < 1e-12 for v in r["coefficients"]["denominator"]) for r in safe
    )
    return holders, len(safe), max(tiny)


def _minimax_certificate() -> dict:
    from opade_fit import fit

    return fit("leaky_relu", objective="max").certificate


def _hp1_leaky_relu_rms() -> float:
    from opade_fit import get_init

    return get_init("leaky_relu", basis="hermite1", tables=ROOT / "tables")["errors"]["fit"]["rms"]


def _check_numbers() -> list[tuple[str, str, object]]:
    from opade_fit.forms import RationalForm
    from opade_fit.lsq import MAX_SAFE_D

    holders, total, largest = _safe_entries_with_tiny_d()
    cert = _minimax_certificate()
    poles = RationalForm("monomial", "plain", (1, 2)).poles(np.array([1.0, 1e-17]), (-5, 5))
    return [
        ("docs/fitting.md", f"{holders} of the {total} `safe` table entries", True),
        ("docs/fitting.md", f"the largest {largest:.1e}", True),
        ("docs/fitting.md", "`MAX_SAFE_D` = 1e4", MAX_SAFE_D == 1e4),
        ("docs/minimax.md", "the bound |d_j| = 1e4", MAX_SAFE_D == 1e4),
        ("docs/forms.md", f"`{json.dumps([round(p, 12) for p in poles])}`", poles == [-1.0]),
        ("docs/minimax.md", "'lower_bound': 0.012622...", f"{cert['lower_bound']:.8f}"[:8]),
        ("docs/minimax.md", "'upper_bound': 0.0126247...", f"{cert['upper_bound']:.9f}"[:9]),
        ("docs/minimax.md", "'gap': 0.0002", f"{cert['gap']:.1g}"),
        ("docs/record.md", '"rms": 0.0207…', f"{_hp1_leaky_relu_rms():.6f}"[:6]),
    ]


_EXPECTED = {
    "'lower_bound': 0.012622...": "0.012622",
    "'upper_bound': 0.0126247...": "0.0126247",
    "'gap': 0.0002": "0.0002",
    '"rms": 0.0207…': "0.0207",
}


@pytest.mark.slow
def test_numbers_quoted_in_the_docs_are_recomputed() -> None:
    for doc, quoted, value in _check_numbers():
        text = (ROOT / doc).read_text(encoding="utf-8")
        assert quoted in text, (doc, quoted, "the docs no longer quote this: update the test")
        if value is True or value is False:
            assert value, (doc, quoted)
        else:
            assert value == _EXPECTED[quoted], (doc, quoted, value)
