"""Plot helpers: `save_fit_figure` writes a PNG, deterministically."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from test_report import _published, make_record

from opade_fit.report.fitplot import save_fit_figure
from opade_fit.report.plots import (
    equioscillation_points,
    new_figure,
    plot_abs_error,
    shade_interval,
)


@pytest.fixture(scope="module")
def record():
    e = _published("rational_activations/A/5-4/leaky_relu")
    return make_record("monomial", "safe", "leaky_relu", e.numerator, e.denominator)


def test_save_fit_figure_writes_png(record, tmp_path):
    path = save_fit_figure(record, tmp_path / "fit.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"Software" not in data  # no matplotlib version stamped in


@pytest.mark.parametrize("objective", ["l2", "max"])
def test_save_fit_figure_is_byte_identical(record, tmp_path, objective):
    rec = {**record, "objective": objective}
    if objective == "max":
        rec["certificate"] = {
            "lower_bound": 0.029,
            "upper_bound": 0.0298,
            "gap": 0.03,
            "scope": "test",
        }
    a = save_fit_figure(rec, tmp_path / "a.png").read_bytes()
    b = save_fit_figure(rec, tmp_path / "b.png").read_bytes()
    assert a == b
    sa = save_fit_figure(rec, tmp_path / "a.svg").read_bytes()
    sb = save_fit_figure(rec, tmp_path / "b.svg").read_bytes()
    assert sa == sb


def test_check_interval_override(record, tmp_path):
    save_fit_figure(record, tmp_path / "wide.png", check_interval=(-8, 8))
    with pytest.raises(ValueError, match="check_interval"):
        save_fit_figure(record, tmp_path / "bad.png", check_interval=(2, 1))
    with pytest.raises(ValueError, match=r"png or \.svg"):
        save_fit_figure(record, tmp_path / "fit.jpg")


def test_helpers_take_an_ax_and_return_artists():
    _fig, axes = new_figure(4, 3)
    ax = axes[0, 0]
    x = np.linspace(-1, 1, 11)
    assert shade_interval(ax, (-0.5, 0.5)) in ax.patches
    line = plot_abs_error(ax, x, x**2, floor=1e-3)
    assert line in ax.lines and ax.get_yscale() == "log"


def test_equioscillation_points():
    x = np.linspace(0, np.pi * 3, 3001)
    idx = equioscillation_points(x, np.cos(x))
    np.testing.assert_allclose(x[idx], [0, np.pi, 2 * np.pi, 3 * np.pi], atol=1e-2)


def test_import_opade_fit_does_not_import_matplotlib():
    import subprocess

    code = "import opade_fit, opade_fit.cli.app, sys; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
