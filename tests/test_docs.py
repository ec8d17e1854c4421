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

import functools
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


def _python(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``python argv`` in ``cwd``, importing this checkout's opade_fit, output captured."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return _python(["-m", "opade_fit", *args], cwd)


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
    proc = _python([str(script)], tmp_path)
    assert proc.returncode == 0, (doc, index, proc.stderr[-2000:])


# --------------------------------------------------------------------------- quoted numbers
# Every number the docs quote that the code determines (constants, counts, errors of the
# committed tables, a few fits) is recomputed here: each check is (doc, quoted text, ok),
# where the quoted text must still be in the doc (whitespace-normalised) and ok must hold.
# Most quoted texts are built from the recomputed value, so a changed value fails as a
# missing quote. Timings are not checked: the docs name the script and command that printed
# them and the machine/load.
Check = tuple[str, str, bool]

_SKIP_MODULES = ("opade_fit.__main__", "opade_fit.torch", "opade_fit.keras")


@functools.cache
def _constants() -> dict[str, list[tuple[str, object]]]:
    """Module-level UPPER_CASE names of opade_fit (not torch/keras): name -> [(module, value)]."""
    import importlib
    import pkgutil

    import opade_fit

    found: dict[str, list[tuple[str, object]]] = {}
    for info in pkgutil.walk_packages(opade_fit.__path__, "opade_fit."):
        if info.name.startswith(_SKIP_MODULES):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if name.lstrip("_").isupper() and not callable(value):
                found.setdefault(name, []).append((info.name, value))
    return found


def _const(name: str):
    """The value of the constant ``name``, wherever in opade_fit it is defined (one value)."""
    values = _constants().get(name, [])
    assert values, f"no module of opade_fit defines {name}: update the docs and this test"
    distinct = {repr(v) for _m, v in values}
    assert len(distinct) == 1, (name, values)
    return values[0][1]


def _e(value: float, digits: int = 0) -> str:
    """``value`` as the docs write it: 1e-6, 1e100, 2.6347e-2 (``digits`` after the point)."""
    mantissa, exponent = f"{value:.{digits}e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _minus(text: str) -> str:
    return text.replace("-", "−")


def _line(doc: str, prefix: str) -> str:
    """The line of ``doc`` that starts with ``prefix`` (a table row)."""
    lines = [ln for ln in (ROOT / doc).read_text(encoding="utf-8").splitlines()]
    hits = [ln for ln in lines if ln.startswith(prefix)]
    assert len(hits) == 1, (doc, prefix, hits)
    return hits[0]


@functools.cache
def _table_records() -> list[dict]:
    from opade_fit.tables import load_entries

    return list(load_entries(ROOT / "tables"))


def _entry(basis: str, target: str, **fields) -> dict:
    from opade_fit import get_init

    return get_init(target, basis=basis, tables=ROOT / "tables", **fields).record


def _safe_entries_with_tiny_d() -> tuple[int, int, float, float]:
    safe = [r for r in _table_records() if r["form"]["denominator"] == "safe"]
    tiny = [
        abs(v) for r in safe for v in r["coefficients"]["denominator"] if v != 0 and abs(v) < 1e-12
    ]
    holders = sum(
        any(v != 0 and abs(v) < 1e-12 for v in r["coefficients"]["denominator"]) for r in safe
    )
    return holders, len(safe), min(tiny), max(tiny)


def _readme_checks() -> list[Check]:
    import tomllib

    from opade_fit.bases import BASIS_NAMES
    from opade_fit.forms import DENOMINATORS
    from opade_fit.problem import FitSpec, default_check_interval
    from opade_fit.record import SCHEMA_VERSION

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    words = {3: "three", 7: "seven"}
    a, b = FitSpec.__dataclass_fields__["interval"].default
    ca, cb = default_check_interval((a, b))
    return [
        ("README.md", f"schema {SCHEMA_VERSION[0]}.{SCHEMA_VERSION[1]}", True),
        ("README.md", f"{words[len(BASIS_NAMES)]} bases", True),
        ("README.md", f"{words[len(DENOMINATORS)]} denominators", True),
        ("docs/index.md", f"the {words[len(BASIS_NAMES)]} bases", True),
        ("docs/index.md", f"the {words[len(DENOMINATORS)]} denominators", True),
        ("README.md", f"`{project['optional-dependencies']['torch'][0]}`", True),
        ("README.md", f"Python ≥ {project['requires-python'].removeprefix('>=')}", True),
        ("README.md", f"errors on [{a:g}, {b:g}] and [{ca:g}, {cb:g}]", True),
    ]


def _limits_checks() -> list[Check]:
    rows = [
        ("MAX_EXPRESSION_LENGTH", lambda v: f"{v} characters"),
        ("MAX_EXPRESSION_DEPTH", lambda v: f"{v} levels"),
        ("MAX_EXPONENT", str),
        ("MAX_MAGNITUDE", _e),
        ("MAX_DEGREE", str),
        ("MAX_BASES_DEGREE", str),
        ("MAX_GRID_VALUES", lambda v: f"{v:,}"),
        ("MAX_INTERVAL_END", _e),
        ("MIN_INTERVAL_WIDTH", _e),
        ("MIN_RELATIVE_WEIGHT", _e),
        ("EXPRESSION_SECONDS", lambda v: f"{v:g} s"),
        ("CONTINUITY_SECONDS", lambda v: f"{v:g} s"),
    ]
    max_values = _const("MAX_GRID_VALUES")
    k = l = _const("MAX_DEGREE")
    doc = "docs/limits.md"
    return [
        *[(doc, f"| `{name}` | {show(_const(name))} |", True) for name, show in rows],
        (doc, f"{max_values // (k + l + 1):,} points at {k}/{l}", True),
        (doc, f"the {_const('_GAP_CANDIDATES')} steepest steps", True),
        (doc, f"a grid of {_const('_GAP_CELLS'):,} cells", True),
        (doc, f"A jump smaller than {_e(_const('_GAP_RATIO'))} of the steepest", True),
    ]


def _tables_checks() -> list[Check]:
    from collections import Counter

    from opade_fit.lsq import guard_interval
    from opade_fit.tables import export_rational_activations, load_spec, select

    doc = "docs/tables.md"
    spec = load_spec(ROOT / "tables" / "spec.toml")
    groups = Counter(e.group for e in spec)
    gr = guard_interval((-5.0, 5.0))
    portability = (ROOT / "tests" / "test_portability.py").read_text(encoding="utf-8")
    block = re.search(r"^SAMPLE = \((.*?)^\)", portability, flags=re.M | re.S).group(1)
    sample = re.findall(r'"([^"]*)"', block)
    exported = {
        objective: sum(
            len(v)
            for v in export_rational_activations(_table_records(), objective=objective).values()
        )
        for objective in ("l2", "max")
    }
    uniform = {(e.points, e.check_interval, e.derivative_weight) for e in spec}
    rtol = _const("ERROR_RTOL")
    return [
        (doc, f"The committed spec has {len(spec)} entries", True),
        (doc, f"in {len(_table_records())} compared entries", len(_table_records()) == len(spec)),
        *[
            (doc, _line(doc, f"| `{group}`:"), _line(doc, f"| `{group}`:").endswith(f"| {n} |"))
            for group, n in groups.items()
        ],
        (
            doc,
            "All entries use the 4001-point uniform grid, the check interval [−5, 5] and "
            "derivative weight 0",
            uniform == {(4001, (-5.0, 5.0), 0.0)},
        ),
        (doc, f"`FUNCTION_GRID_POINTS` = {_const('FUNCTION_GRID_POINTS')} points", True),
        (doc, f"`FUNCTION_RTOL` = {_e(_const('FUNCTION_RTOL'))} ×", True),
        (doc, f"`FUNCTION_ATOL` = {_e(_const('FUNCTION_ATOL'))}", True),
        (doc, f"({_e(rtol['l2'])} for `l2`; {_e(rtol['max'])} for `max`", True),
        (doc, f"a relative gap of about {_e(_const('CERT_GAMMAS')[0])}", True),
        (doc, f"`ERROR_ATOL` = {_e(_const('ERROR_ATOL'))}", True),
        (doc, f"({_e(_const('POLE_ATOL'))} + {_e(_const('POLE_RTOL'))} · |p|)", True),
        (doc, f"({len(select(spec, sample))} entries, exact fits included)", True),
        (doc, _minus(f"[{gr[0]:g}, {gr[1]:g}] for the check interval [-5, 5]"), True),
        (doc, f"`LOCK_TIMEOUT` ({_const('LOCK_TIMEOUT'):g} s)", True),
        (doc, f"this is {exported['l2']} entries per objective", exported["l2"] == exported["max"]),
        (doc, '"schema_version": [{}, {}]'.format(*_const("SCHEMA_VERSION")), True),
    ]


def _fitting_checks() -> list[Check]:
    import sympy as sp

    from opade_fit.forms import RationalForm
    from opade_fit.lsq import guard_interval
    from opade_fit.problem import center_parametrisation

    doc = "docs/fitting.md"
    eps = float(np.finfo(np.float64).eps)
    holders, total, smallest, largest = _safe_entries_with_tiny_d()
    general = _entry("hermite1", "leaky_relu", center="general")["errors"]["fit"]["rms"]
    gr = guard_interval((-5.0, 5.0))

    def relation(basis: str) -> str:
        text = center_parametrisation(RationalForm(basis, "safe", (5, 4)), "general")[1]
        return text.replace("*", "").replace(" - ", " − ")

    ftol = [_const(n) / eps for n in ("FTOL", "XTOL", "GTOL")]
    return [
        (doc, f"`SK_ITERATIONS` = {_const('SK_ITERATIONS')} times", True),
        (doc, f"`SIGN_CHANGES` = {_const('SIGN_CHANGES')} interior", True),
        (doc, f"`RANDOM_STARTS` = {_const('RANDOM_STARTS')} scattered", True),
        (doc, f"`SCREEN_KEEP` = {_const('SCREEN_KEEP')} are", True),
        (doc, f"`SCREEN_MARGIN` = {_const('SCREEN_MARGIN'):.0%}".replace("%", " %"), True),
        (doc, f"`STAGE_NFEV` = {_const('STAGE_NFEV')} evaluations", True),
        (doc, f"`STAGE_MARGIN` = {_const('STAGE_MARGIN'):.0%}".replace("%", " %"), True),
        (doc, "`FTOL = XTOL = GTOL = 1e4 eps`", np.allclose(ftol, 1e4, rtol=1e-12)),
        (doc, f"`TIE_RTOL` = {_e(_const('TIE_RTOL'))}", True),
        (doc, f"`ROUNDING_FLOOR` = {_e(_const('ROUNDING_FLOOR'))}", True),
        (doc, f"`CHECK_POINTS` = {_const('CHECK_POINTS')} points", True),
        (doc, f"`SNAP` = {_e(_const('SNAP'))}", True),
        (doc, f"`MAX_SAFE_D` = {_e(_const('MAX_SAFE_D'))}", True),
        (doc, f"(default {_const('DEFAULT_POINTS'):,}:", True),
        (doc, f"max |g − f| on {_const('DENSE_POINTS'):,} uniform points", True),
        (doc, f"sqrt(mean (g − f)²) on {_const('RMS_POINTS'):,} uniform points", True),
        (
            doc,
            "scaled by 5/3 about its centre",
            sp.nsimplify(_const("CHECK_SCALE")) == sp.Rational(5, 3),
        ),
        (doc, _minus(f"[{gr[0]:g}, {gr[1]:g}] for [-5, 5]"), True),
        (doc, f"{holders} of the {total} `safe` table entries", True),
        (doc, f"between 1e-45 and 1e-13 (the largest {largest:.1e})", 1e-45 <= smallest),
        (doc, f"({_e(general, 4)} either way for HP-1 Leaky ReLU)", True),
        (doc, f"for HP-1 (He_n) the constraint reads {relation('hermite1')}", True),
        (doc, f"for HP-2 {relation('hermite2')}", True),
        (
            doc,
            f"for Chebyshev T/U {relation('chebyshev1')}",
            relation("chebyshev1") == relation("chebyshev2"),
        ),
        (doc, f"for Legendre {relation('legendre')}", True),
        (
            doc,
            "for Laguerre c0 + c1 + … + c5 = 0",
            relation("laguerre") == "c0 + c1 + c2 + c3 + c4 + c5 = 0",
        ),
        (doc, f"for monomials {relation('monomial')}", True),
    ]


def _record_checks() -> list[Check]:
    from opade_fit.forms import RationalForm
    from opade_fit.problem import center_parametrisation

    doc = "docs/record.md"
    hp1 = _entry("hermite1", "leaky_relu")
    form = RationalForm("hermite1", "safe", (5, 4))
    constraints = [
        center_parametrisation(form, "general")[1],
        center_parametrisation(form, "drop-one", "c2")[1],
        center_parametrisation(form, "all-zero")[1],
    ]
    return [
        (doc, "# The fit record (schema {}.{})".format(*_const("SCHEMA_VERSION")), True),
        (doc, "| [{}, {}] |".format(*_const("SCHEMA_VERSION")), True),
        (doc, f"(default {_const('DEFAULT_POINTS'):,})", True),
        (doc, f"over {_const('DENSE_POINTS'):,} uniform points (the true maximum", True),
        (doc, f"over {_const('RMS_POINTS'):,} uniform points of the fit interval", True),
        (doc, f"with \\|x\\| ≤ {_const('POLE_REACH'):g} (`fitting.POLE_REACH`", True),
        (doc, ", ".join(f'`"{c}"`' for c in constraints), True),
        (doc, f'"rms": {hp1["errors"]["fit"]["rms"]:.9f}'[:13] + "…", True),  # digits cut
        (doc, f'"method": "{hp1["solver"]["method"]}"', True),
        (doc, f'"status": {hp1["solver"]["status"]}, "success": true', hp1["solver"]["success"]),
        (doc, f'"points": {hp1["grid"]["points"]}', True),
    ]


def _bases_checks() -> list[Check]:
    from opade_fit.bases import BASIS_NAMES, get_basis

    doc = "docs/bases.md"
    checks = []
    for name in BASIS_NAMES:
        values = ", ".join(_minus(str(v)) for v in get_basis(name).values_at_zero(5))
        row = _line(doc, f"| `{name}` |")
        checks.append((doc, row, row.endswith(f"| {values} |")))
    return checks


def _forms_checks() -> list[Check]:
    from opade_fit.forms import RationalForm

    doc = "docs/forms.md"
    t = RationalForm("chebyshev1", "plain", (3, 2))
    sqrt3_2 = t.poles(np.array([0.0, -2.0]), (-5, 5))
    double = t.poles(np.array([0.0, 1.0]), (-5, 5))
    m = RationalForm("monomial", "plain", (1, 2))
    poles = m.poles(np.array([1.0, 1e-17]), (-5, 5))
    near = m.poles(np.array([1.0, 1e-8]), (-5, 5))
    exact = (-1 + np.sqrt(1 - 4e-8)) / 2e-8  # the root of 1 + x + 1e-8 x^2 near -1
    h = RationalForm("hermite1", "safe", (1, 1))
    c, d = np.array([0.3, 0.7]), np.array([0.5])
    dgdx = h.derivative(np.array([0.0]), c, d)[0]
    dgdd = h.jacobian(np.array([0.0]), c, d)[0, -1]
    return [
        (doc, "poles ±√3/2", np.allclose(sqrt3_2, [-np.sqrt(3) / 2, np.sqrt(3) / 2], atol=1e-12)),
        (
            doc,
            "`chebyshev1` with d = [0, 1]: Q = 1 + T_2 = 2x²",
            np.allclose(double, [0.0], atol=1e-6),
        ),
        (doc, f"`{json.dumps([round(p, 12) for p in poles])}`", poles == [-1.0]),
        (
            doc,
            "with d = [1, 1e-8] the pole near −1 is found to about 1e-8",
            len(near) == 1 and abs(near[0] - exact) < 1e-7,
        ),
        (doc, "g'(0) = c_1 and ∂g/∂d_1 = 0", dgdx == c[1] and dgdd == 0.0),
    ]


def _minimax_checks() -> list[Check]:
    doc = "docs/minimax.md"
    gammas = _const("CERT_GAMMAS")

    def upper(basis: str, denominator: str, target: str) -> str:
        rec = _entry(basis, target, denominator=denominator, objective="max")
        return _e(rec["certificate"]["upper_bound"], 5)

    return [
        (doc, f"Q >= {_e(_const('PLAIN_LP_Q_MIN'))} (`denominators.PLAIN_LP_Q_MIN`)", True),
        (doc, f"`Q <= {_const('TRUST_Q'):g} Q_k`", True),
        (doc, f"start as {_const('BASE_POINTS')} points of the fit grid", True),
        (doc, f"local maxima above {_const('PEAK_FRACTION'):g} of the level", True),
        (doc, f"within {_e(_const('EXCHANGE_RTOL'))} of the level at the points", True),
        (doc, "(γ = {}, {}, {}, …)".format(*(_e(g) for g in gammas[:3])), True),
        (doc, f"τ* > {_e(_const('CERT_TOL'))}", True),
        (doc, f"dense {_const('DENSE_POINTS'):,}-point grid", True),
        (doc, f"measured on {_const('DENSE_POINTS'):,} uniform points", True),
        (doc, f"`floor = {_const('ROUNDING_FLOOR'):g} · eps · max w|f|`", True),
        (doc, f"gap {_e(gammas[0])} (the first γ)", True),
        (doc, f"`ALT_MARGIN` = {_const('ALT_MARGIN'):.0%}".replace("%", " %"), True),
        (doc, f"`LEVEL_TIE_RTOL` = {_e(_const('LEVEL_TIE_RTOL'))}", True),
        (doc, f"the bound |d_j| = {_e(_const('MAX_SAFE_D'))}", True),
        (doc, f"safe Leaky ReLU {upper('monomial', 'safe', 'leaky_relu')}", True),
        (doc, f"safe GELU {upper('monomial', 'safe', 'gelu')}", True),
        (doc, f"safe-abs-sum GELU {upper('monomial', 'safe-abs-sum', 'gelu')}", True),
    ]


def _report_checks() -> list[Check]:
    from opade_fit.reference import load_published

    doc = "docs/report.md"
    kat = [
        e
        for e in load_published()
        if e.library.endswith("/rational_kat_cu") and e.target_name == "gelu" and e.formula_differs
    ]
    off = [e.errors((-3.0, 3.0))["max_abs"] for e in kat]
    return [
        (doc, f"when there are {_const('POOL_THRESHOLD')} figures or", True),
        (doc, f"a line every {_const('LINE_INTERVAL'):g} s", True),
        (
            doc,
            f"off by {off[0]:.2f} on [-3, 3]" if len(off) == 1 else "rational_kat_cu",
            len(off) == 1,
        ),
    ]


def _test_constant(test_file: str, name: str) -> str:
    """The right-hand side of ``NAME = ...`` in a test module (the docs describe the tests)."""
    source = (ROOT / "tests" / test_file).read_text(encoding="utf-8")
    return re.search(rf"^{name} = (.+)$", source, flags=re.M).group(1).strip()


def _eps_multiple(test_file: str, name: str) -> str:
    """``1e6 ε`` for ``NAME = 1e6 * EPS``."""
    factor, eps = _test_constant(test_file, name).split(" * ")
    assert eps == "EPS", (test_file, name)
    return f"{factor} ε"


def _described_tests_checks() -> list[Check]:
    bases, forms = "docs/bases.md", "docs/forms.md"
    degrees = _test_constant("test_forms.py", "DEGREES").strip("[]")
    kink = _test_constant("test_forms.py", "KINK_MARGIN")
    return [
        (bases, f"For degrees 0–{_test_constant('test_bases.py', 'MAX_DEGREE')} and every", True),
        (bases, f"{_eps_multiple('test_bases.py', 'NUMERIC_TOL')} × max|f_n| on the grid", True),
        (forms, f"every basis × denominator at {degrees}: numeric g", True),
        (forms, f"(within {_eps_multiple('test_forms.py', 'SYMBOLIC_TOL')} relative)", True),
        (
            forms,
            f"(step {_test_constant('test_forms.py', 'FD_STEP')}, within "
            f"{_test_constant('test_forms.py', 'FD_TOL')} relative)",
            True,
        ),
        (forms, f"(|f_j| > {kink}, |B| > {kink} for `safe-abs-sum`)", True),
        (forms, f"poles (|Q| > {_test_constant('test_forms.py', 'POLE_MARGIN')})", True),
    ]


def _torch_checks() -> list[Check]:
    """Bytes the torch layer keeps for backward per input element (saved_tensors_hooks)."""
    torch = pytest.importorskip("torch")
    from opade_fit.torch import OPAU

    layer = OPAU(init="random", generator=torch.Generator().manual_seed(0))
    x = torch.randn(4, 16384, requires_grad=True)
    storages: dict[int, int] = {}

    def pack(t):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        layer(x)
    per_element = sum(storages.values()) / x.numel()  # x, plus 40 bytes of coefficients
    doc = "docs/torch.md"
    return [
        (doc, f"keeps only the input x and the coefficients for backward — {per_element:.0f} "
              "bytes per element for float32 input", True),
        (doc, f"Saved for backward: {per_element:.0f} bytes per element (the input)", True),
    ]  # fmt: skip


FAST_CHECKS = [
    _torch_checks,
    _readme_checks,
    _limits_checks,
    _tables_checks,
    _fitting_checks,
    _record_checks,
    _bases_checks,
    _forms_checks,
    _minimax_checks,
    _report_checks,
    _described_tests_checks,
]


def _assert_quoted(checks: list[Check]) -> None:
    for doc, quoted, ok in checks:
        text = " ".join((ROOT / doc).read_text(encoding="utf-8").split())
        assert " ".join(quoted.split()) in text, (doc, quoted, "not quoted: update doc or test")
        assert isinstance(ok, bool | np.bool_) and ok, (doc, quoted)


@pytest.mark.parametrize("checks", FAST_CHECKS, ids=lambda f: f.__name__.strip("_"))
def test_numbers_quoted_in_the_docs_are_recomputed(checks) -> None:
    _assert_quoted(checks())


def _fitted_checks() -> list[Check]:
    """The quoted numbers that need fits (a few seconds each)."""
    from opade_fit import fit

    cert = fit("leaky_relu", objective="max").certificate
    relu = fit("relu", interval=(-1.0, 1.0), objective="max").certificate["upper_bound"]
    zero_l2 = fit("gelu", basis="laguerre", center="all-zero")
    zero_max = fit("gelu", basis="laguerre", center="all-zero", objective="max")
    identity = _entry("monomial", "identity", objective="max")
    plain = {t: fit(t, basis="monomial", denominator="plain") for t in ("gelu", "gelu_tanh")}
    poly = {t: fit(t, basis="monomial", degrees=(5, 0)) for t in plain}
    radii = [abs(p) for r in plain.values() for p in r.to_dict()["poles"]]
    ratio = {t: poly[t].errors["fit"]["rms"] / plain[t].errors["fit"]["rms"] for t in plain}
    checks = plain["gelu"].errors["check"]["max_abs"], plain["gelu_tanh"].errors["check"]["max_abs"]
    fitting, minimax, record, tables = (
        "docs/fitting.md",
        "docs/minimax.md",
        "docs/record.md",
        "docs/tables.md",
    )
    return [
        (minimax, f"'lower_bound': {cert['lower_bound']:.12f}"[:23] + "...", True),
        (minimax, f"'upper_bound': {cert['upper_bound']:.12f}"[:24] + "...", True),
        (minimax, f"'gap': {cert['gap']:.1g}", True),
        (minimax, f"ReLU on [-1,1] {_e(relu, 5)} = half", True),
        (minimax, f"error of |x|, {_e(2 * relu, 4)}", True),
        (
            fitting,
            'is returned anyway as g ≡ 0 with solver status 5, message "numerator forced '
            'to zero by the constraint: g = 0 identically"',
            zero_l2.status == 5
            and zero_l2.message == "numerator forced to zero by the constraint: g = 0 identically",
        ),
        (record, "5 numerator forced to zero by the constraint (g ≡ 0).", zero_l2.status == 5),
        (
            record,
            "3 numerator forced to zero by the constraint (g ≡ 0, e.g. all-zero centring)",
            zero_max.status == 3,
        ),
        (
            record,
            "5 error at rounding level (the target is a form of the class)",
            identity["solver"]["status"] == 5,
        ),
        (tables, f"poles at about ±{min(radii):.1f}–{max(radii):.1f}", len(radii) == 4),
        (tables, f"check-interval max errors of {checks[0]:.3g} and {checks[1]:.2g}", True),
        (tables, f"has {min(ratio.values()):.0f}–{max(ratio.values()):.0f}× their RMS", True),
    ]


@pytest.mark.slow
def test_numbers_quoted_in_the_docs_need_fits() -> None:
    _assert_quoted(_fitted_checks())
