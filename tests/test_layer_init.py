"""The framework-free part of the layer constructors (opade_fit.layer_init), shared by
opade_fit.torch.OPAU and opade_fit.keras.OPAU."""

from __future__ import annotations

import numpy as np
import pytest

from opade_fit.errors import UsageError
from opade_fit.forms import RationalForm
from opade_fit.layer_init import (
    RANDOM_INIT_STD,
    import_framework,
    initial_coefficients,
    shaped_coefficients,
)

FORM = RationalForm("hermite1", "safe", (2, 1))


def _draws(values):
    it = iter(values)
    return lambda size: np.array([next(it) for _ in range(size)])


def test_explicit_random_and_table_values():
    got = initial_coefficients(
        FORM, init="random", coefficients=([1, 2, 3], [4]), num_parameters=2,
        standard_normal=_draws([]),
    )  # fmt: skip
    assert got.name == "coefficients" and got.record is None
    np.testing.assert_array_equal(got.numerator, [[1, 2, 3], [1, 2, 3]])
    np.testing.assert_array_equal(got.denominator, [[4], [4]])

    got = initial_coefficients(
        FORM, init=" Random", coefficients=None, num_parameters=1,
        standard_normal=_draws([1.0, -2.0, 0.5, 3.0]),
    )  # fmt: skip
    assert got.name == "random"
    np.testing.assert_array_equal(got.numerator, RANDOM_INIT_STD * np.array([1.0, -2.0, 0.5]))
    np.testing.assert_array_equal(got.denominator, [RANDOM_INIT_STD * 3.0])

    hp1 = RationalForm("hermite1", "safe", (5, 4))
    got = initial_coefficients(
        hp1, init="leaky_relu", coefficients=None, num_parameters=1, standard_normal=_draws([])
    )
    assert got.name == "leaky_relu" and got.record["form"]["basis"] == "hermite1"
    assert got.numerator.shape == (6,) and got.denominator.shape == (4,)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_parameters": 0}, "num_parameters"),
        ({"num_parameters": True}, "num_parameters"),
        ({"init": 3}, "`init` must be a target name"),
        ({"coefficients": (1, 2, 3)}, "must be a pair"),
        ({"coefficients": ([1, 2], [1])}, r"shape \(3,\) or \(1, 3\)"),
        ({"coefficients": ([1, 2, np.inf], [1])}, "must be finite"),
        ({"coefficients": ([1, 2, "a"], [1])}, "must be numbers"),
    ],
)
def test_invalid_arguments_are_usage_errors(kwargs, match):
    args = {"init": "random", "coefficients": None, "num_parameters": 1} | kwargs
    with pytest.raises(UsageError, match=match):
        initial_coefficients(FORM, standard_normal=np.zeros, **args)


def test_per_channel_values_keep_their_rows():
    values = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(shaped_coefficients(values, 3, 2, "numerator", FORM), values)
    np.testing.assert_array_equal(
        shaped_coefficients(values[:1], 3, 1, "numerator", FORM), [0, 1, 2]
    )


def test_import_framework_names_the_install_command():
    assert import_framework("json", "x", "y", "z").__name__ == "json"
    with pytest.raises(
        ImportError, match=r"opade_fit.demo needs Demo, which is an optional .* pip"
    ):
        import_framework("no_such_module_xyz", "opade_fit.demo", "Demo", "pip install demo")
