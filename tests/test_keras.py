"""The Keras layer on every backend: runs tests/keras_backend_cases.py once per backend.

Keras fixes its backend (KERAS_BACKEND) when it is first imported, so each backend gets its
own pytest process. A backend that is not installed is skipped with the install command;
under CI (CI=true) a missing backend is a failure, so CI always tests all three.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from layer_oracle import missing_extra_message

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
CASES = TESTS / "keras_backend_cases.py"

#: backend name -> (module it needs, how to install it)
BACKENDS = {
    "tensorflow": ("tensorflow", "pip install tensorflow-cpu"),
    "jax": ("jax", "pip install jax"),
    "torch": ("torch", "pip install 'opade-fit[torch]'"),
}
#: a whole backend run; far above the ~1-2 min one takes on a loaded 2-core machine
RUN_TIMEOUT_S = 1800


def _missing(module: str) -> bool:
    return importlib.util.find_spec(module) is None


def _require(backend: str) -> None:
    """Skip (or fail under CI) when Keras or the backend's library is not installed."""
    module, install = BACKENDS[backend]
    missing = [m for m, cmd in (("keras", "pip install keras"), (module, install)) if _missing(m)]
    if not missing:
        return
    how = "; ".join(
        cmd for m, cmd in (("keras", "pip install 'opade-fit[keras]'"), (module, install))
        if m in missing
    )  # fmt: skip
    message = f"Keras backend {backend!r} not tested: {', '.join(missing)} not installed ({how})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + "; CI must test every Keras backend")
    pytest.skip(message)


@pytest.mark.slow
@pytest.mark.parametrize("backend", list(BACKENDS))
def test_keras_backend(backend: str) -> None:
    _require(backend)
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "JAX_ENABLE_X64": "1",  # float64 layers are float64 on JAX only with x64 enabled
        "TF_CPP_MIN_LOG_LEVEL": "2",  # TensorFlow's start-up banner
        "CUDA_VISIBLE_DEVICES": "",  # CPU, whatever the machine has
    }
    cmd = [sys.executable, "-m", "pytest", str(CASES), "-q", "-p", "no:cacheprovider", "-rfEs"]
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )
    out = proc.stdout + proc.stderr
    summary = [line for line in proc.stdout.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    assert proc.returncode == 0, f"KERAS_BACKEND={backend} pytest {CASES.name} failed:\n{out}"
    assert summary, f"no pytest summary line:\n{out}"
    assert "skipped" not in summary[-1], f"cases skipped on {backend}:\n{out}"
    assert int(re.search(r"(\d+) passed", summary[-1]).group(1)) >= 90, summary[-1]


def test_import_opade_fit_does_not_import_keras() -> None:
    code = "import sys, opade_fit; print(sorted(m for m in ('keras', 'tensorflow', 'jax') " \
        "if m in sys.modules))"  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_import_without_keras_names_the_extra() -> None:
    message = missing_extra_message("opade_fit.keras", "keras")
    assert "pip install 'opade-fit[keras]'" in message
    assert "KERAS_BACKEND" in message


def test_ci_installs_every_backend() -> None:
    """The README's test command (= .ci/run) installs Keras and its three backends."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = re.findall(r"```bash\n(.*?)\n```", readme.split("## Quick start", 1)[1])[1]
    extras = re.search(r"pip install -e '\.\[([^\]]*)\]'", command).group(1).split(",")
    assert {"torch", "keras-backends"} <= set(extras)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    optional = pyproject["project"]["optional-dependencies"]
    names = {re.split(r"[<>=;\s\[]", req, maxsplit=1)[0] for req in optional["keras-backends"]}
    assert {"keras", "jax", "tensorflow-cpu"} <= names
    assert optional["keras"] == ["keras>=3"]
