"""Tests of the Keras layer :class:`opade_fit.keras.OPAU` on the backend of this process.

Keras fixes its backend when it is first imported, so these cases are run once per backend
in a subprocess by tests/test_keras.py (`KERAS_BACKEND=jax python -m pytest
tests/keras_backend_cases.py` runs one by hand; the name does not start with `test_`, so a
plain `pytest` does not collect it in the main process). JAX is run with
JAX_ENABLE_X64=1 so that float64 layers are float64.

Exactness is checked against the float64 reference :meth:`RationalForm.evaluate`, gradients
against the lambdified symbolic derivatives of :meth:`RationalForm.symbolic` (the formulas of
`opade derive`; Biswas et al. 2021, eqs. 8-10).
"""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras", reason="Keras is not installed (pip install keras)")

from layer_oracle import (  # noqa: E402
    DEGREES,
    FLOAT32_RTOL,
    FLOAT64_RTOL,
    FORM_IDS,
    FORMS,
    GRADIENT_RTOL,
    OTHER_DEGREES,
    assert_channels_exact,
    gradient_case,
    random_coefficients,
    sensitivity,
    two_channel_case,
)

import opade_fit  # noqa: E402
from opade_fit.errors import UsageError  # noqa: E402
from opade_fit.forms import DENOMINATORS, RationalForm  # noqa: E402
from opade_fit.keras import OPAU, rational  # noqa: E402
from opade_fit.result import FitResult  # noqa: E402

BACKEND = keras.backend.backend()
ops = keras.ops


# numpy >= 2.x warns when a tensor's `__array__` lacks the `copy` keyword; TensorFlow's
# tensors and variables, torch 2.13's tensors and Keras' variables do, inside
# keras.ops.convert_to_numpy, model.save and model.predict. Not raised by opade_fit.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)


def _np(t) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(t))


def _check_exact(layer64: OPAU, layer32: OPAU, reference, form, c, d, interval=(-5.0, 5.0)):
    """The float64 and float32 layers reproduce the float64 reference function."""
    x64 = np.linspace(*interval, 2001)
    ref = reference(x64)
    out = layer64(x64)
    assert keras.backend.standardize_dtype(out.dtype) == "float64"
    assert np.max(np.abs(_np(out) - ref)) <= FLOAT64_RTOL * np.max(np.abs(ref))

    x32 = x64.astype(np.float32)
    ref32 = reference(x32.astype(np.float64))  # the same (float32-rounded) points
    out32 = layer32(x32)
    assert keras.backend.standardize_dtype(out32.dtype) == "float32"
    s = sensitivity(form, x32.astype(np.float64), c, d)
    assert np.max(np.abs(_np(out32).astype(np.float64) - ref32)) <= FLOAT32_RTOL * s


@pytest.fixture(autouse=True)
def _float32_policy():
    """Every case starts (and leaves) the global dtype policy at float32."""
    keras.mixed_precision.set_global_policy("float32")
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_backend_is_the_requested_one():
    import os

    assert os.environ.get("KERAS_BACKEND", BACKEND) == BACKEND


# -- exactness at init ---------------------------------------------------------------------
@pytest.mark.parametrize(("basis", "denominator"), FORMS, ids=FORM_IDS)
def test_exact_table_entries(basis, denominator):
    entry = opade_fit.get_init("leaky_relu", basis=basis, denominator=denominator)
    result = FitResult.from_dict(entry.record)
    layer64 = OPAU(basis, denominator, init="leaky_relu", dtype="float64")
    layer32 = OPAU(basis, denominator, init="leaky_relu")
    assert layer64.init_record == entry.record and layer64.init_name == "leaky_relu"
    c, d = result.numerator, result.denominator
    _check_exact(layer64, layer32, result.evaluate, result.form, c, d)


@pytest.mark.parametrize(("basis", "denominator"), FORMS, ids=FORM_IDS)
def test_exact_random_coefficients(basis, denominator):
    form = RationalForm(basis, denominator, DEGREES)
    c, d = random_coefficients(basis, denominator, seed=len(basis) + len(denominator))
    layer64 = OPAU(basis, denominator, DEGREES, coefficients=(c, d), dtype="float64")
    layer32 = OPAU(basis, denominator, DEGREES, coefficients=(c, d))
    _check_exact(layer64, layer32, lambda x: form.evaluate(x, c, d), form, c, d, (-3.0, 3.0))


def test_exact_from_record():
    entry = opade_fit.get_init("gelu", basis="chebyshev2", denominator="safe-abs-sum")
    result = FitResult.from_dict(entry.record)
    layer64 = OPAU.from_record(entry.record, dtype="float64")
    layer32 = OPAU.from_record(result)
    assert layer64.form == result.form and layer64.init_name == "gelu"
    c, d = result.numerator, result.denominator
    _check_exact(layer64, layer32, result.evaluate, result.form, c, d)


@pytest.mark.parametrize("degrees", OTHER_DEGREES)
@pytest.mark.parametrize("denominator", DENOMINATORS)
def test_exact_other_degrees_per_channel(degrees, denominator):
    c, d, x = two_channel_case(degrees)
    layer = OPAU(
        "laguerre", denominator, degrees, coefficients=(c, d), num_parameters=2, dtype="float64"
    )
    assert_channels_exact(_np(layer(x)), x, c, d, denominator, degrees)


def test_per_channel_is_the_last_axis():
    C = 3
    rng = np.random.default_rng(1)
    c, d = rng.normal(size=(C, 6)), rng.normal(size=(C, 4))
    layer = OPAU("legendre", coefficients=(c, d), num_parameters=C, dtype="float64")
    assert tuple(layer.numerator.shape) == (C, 6) and tuple(layer.denominator.shape) == (C, 4)
    x = rng.normal(size=(2, 4, 5, C))
    out = _np(layer(x))
    for ch in range(C):
        want = layer.form.evaluate(x[..., ch], c[ch], d[ch])
        np.testing.assert_allclose(out[..., ch], want, rtol=1e-13, atol=1e-13)
    with pytest.raises(UsageError, match="3 channels in its last axis"):
        layer(rng.normal(size=(3, 4)))


def test_shared_coefficients_are_flat_and_copied_per_channel():
    c, d = [0.0, 1.0, 0.1, 0.0, 0.01, 0.0], [0.1, 0.2, 0.0, 0.01]
    assert tuple(OPAU(coefficients=(c, d)).numerator.shape) == (6,)
    layer = OPAU(coefficients=(c, d), num_parameters=4)
    assert tuple(layer.numerator.shape) == (4, 6)
    np.testing.assert_array_equal(_np(layer.numerator)[2], np.float32(c))


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_computes_in_float32(policy):
    c, d = random_coefficients("hermite2", "safe", seed=3)
    reference = OPAU("hermite2", coefficients=(c, d))
    half = policy.split("_")[1]
    # the policy casts inputs to `half`: give the float32 reference the same points
    x = np.linspace(-3, 3, 257).astype(np.float32)
    x = _np(ops.cast(ops.cast(ops.convert_to_tensor(x), half), "float32"))
    want = _np(reference(x))
    keras.mixed_precision.set_global_policy(policy)
    layer = OPAU("hermite2", coefficients=(c, d))
    assert keras.backend.standardize_dtype(layer.numerator.dtype) == "float32"
    out = layer(x)
    assert keras.backend.standardize_dtype(out.dtype) == half
    # the float32 result cast once: the same as the float32 layer's output, cast to half
    expect = _np(ops.cast(ops.convert_to_tensor(want), half))
    np.testing.assert_array_equal(_np(out), expect)


# -- gradients -----------------------------------------------------------------------------
def _sum_gradients(f, *args: np.ndarray) -> list[np.ndarray]:
    """Gradients of sum(f(*args)) with respect to every argument, by the backend's autodiff."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        ts = [tf.constant(a) for a in args]
        with tf.GradientTape() as tape:
            tape.watch(ts)
            y = tf.reduce_sum(f(*ts))
        return [g.numpy() for g in tape.gradient(y, ts)]
    if BACKEND == "jax":
        import jax
        import jax.numpy as jnp

        # jit: one compilation instead of one per eager op (several seconds per case)
        grad = jax.jit(jax.grad(lambda *a: jnp.sum(f(*a)), argnums=tuple(range(len(args)))))
        return [np.asarray(g) for g in grad(*(jnp.asarray(a) for a in args))]
    if BACKEND == "torch":
        import torch

        ts = [torch.tensor(a, requires_grad=True) for a in args]
        return [g.numpy() for g in torch.autograd.grad(f(*ts).sum(), ts)]
    raise AssertionError(f"no gradient helper for the {BACKEND} backend")


@pytest.mark.parametrize(("basis", "denominator"), FORMS, ids=FORM_IDS)
def test_autodiff_equals_symbolic_gradients(basis, denominator):
    x, c, d = gradient_case(basis, denominator)
    m = x.shape[0]
    # one coefficient set per point (channels = the last axis of x): d(sum g)/dc[p, i] is
    # dg/dc_i at x_p, so one reverse pass gives every pointwise derivative
    cs, ds = np.tile(c, (m, 1)), np.tile(d, (m, 1))

    def g(x, c, d):
        return rational(x, c, d, basis=basis, denominator_kind=denominator)

    dx, dc, dd = _sum_gradients(g, x, cs, ds)
    sym = RationalForm(basis, denominator, DEGREES).symbolic().lambdify()

    def close(got, name):
        want = np.broadcast_to(sym[name](x, c, d), x.shape)
        scale = max(np.max(np.abs(want)), 1.0)
        np.testing.assert_allclose(got, want, rtol=0, atol=GRADIENT_RTOL * scale, err_msg=name)

    close(_np(g(x, cs, ds)), "g(x)")
    close(dx, "dg/dx")
    k, l = DEGREES
    for i in range(k + 1):
        close(dc[:, i], f"dg/dc{i}")
    for j in range(1, l + 1):
        close(dd[:, j - 1], f"dg/dd{j}")


def test_layer_weight_gradients_are_the_summed_pointwise_ones():
    basis, denominator = "hermite1", "safe"
    x, c, d = gradient_case(basis, denominator)
    layer = OPAU(basis, denominator, coefficients=(c, d), dtype="float64")
    sym = RationalForm(basis, denominator, DEGREES).symbolic().lambdify()
    want_c = [np.sum(sym[f"dg/dc{i}"](x, c, d) * np.ones_like(x)) for i in range(6)]
    want_d = [np.sum(sym[f"dg/dd{j}"](x, c, d) * np.ones_like(x)) for j in range(1, 5)]
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            y = tf.reduce_sum(layer(x))
        gc, gd = (g.numpy() for g in tape.gradient(y, [layer.numerator, layer.denominator]))
    elif BACKEND == "jax":
        import jax
        import jax.numpy as jnp

        def loss(trainable):
            out, _ = layer.stateless_call(trainable, [], jnp.asarray(x))
            return jnp.sum(out)

        values = [v.value for v in layer.trainable_variables]
        gc, gd = (np.asarray(g) for g in jax.grad(loss)(values))
    else:
        y = layer(x).sum()
        y.backward()
        gc, gd = (v.value.grad.numpy() for v in (layer.numerator, layer.denominator))
    np.testing.assert_allclose(gc, want_c, rtol=1e-10)
    np.testing.assert_allclose(gd, want_d, rtol=1e-10)


# -- training, saving ----------------------------------------------------------------------
def _model(num_parameters: int = 1, **opau) -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8),
            OPAU(num_parameters=num_parameters, **opau),
            keras.layers.Dense(1),
        ]
    )


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype(np.float32)
    y = (np.sin(x[:, :1]) + np.abs(x[:, 1:2]) - 0.5 * x[:, 2:3] * x[:, 3:4]).astype(np.float32)
    return x, y


def test_compile_and_fit_trains_the_coefficients():
    x, y = _data()
    model = _model(8)
    opau = model.layers[1]
    c0, d0 = _np(opau.numerator).copy(), _np(opau.denominator).copy()
    assert {v.path.split("/")[-1] for v in opau.trainable_variables} == {"numerator", "denominator"}
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    before = model.evaluate(x, y, verbose=0)
    history = model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    after = model.evaluate(x, y, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert after < 0.7 * before
    assert np.max(np.abs(_np(opau.numerator) - c0)) > 1e-3
    assert np.max(np.abs(_np(opau.denominator) - d0)) > 1e-3


@pytest.mark.parametrize(
    "opau",
    [
        {"basis": "hermite1", "denominator": "safe", "num_parameters": 8},
        {"basis": "monomial", "denominator": "plain", "init": "random", "seed": 3},
        {"basis": "laguerre", "denominator": "safe-abs-sum", "init": "gelu"},
    ],
    ids=["hermite1-safe-per-channel", "monomial-plain-random", "laguerre-abs-sum-gelu"],
)
def test_save_and_load_model_gives_the_same_function(tmp_path, opau):
    x, y = _data()
    model = _model(**opau)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    model.fit(x, y, epochs=2, batch_size=64, verbose=0)
    layer = model.layers[1]
    trained_c, trained_d = _np(layer.numerator), _np(layer.denominator)
    assert not np.array_equal(trained_c, layer._initial[0].astype(np.float32))

    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    twin = loaded.layers[1]
    assert isinstance(twin, OPAU)
    assert twin.form == layer.form and twin.num_parameters == layer.num_parameters
    assert twin.init_name == layer.init_name
    np.testing.assert_array_equal(_np(twin.numerator), trained_c)
    np.testing.assert_array_equal(_np(twin.denominator), trained_d)
    np.testing.assert_array_equal(
        _np(loaded.predict(x, verbose=0)), _np(model.predict(x, verbose=0))
    )
    xs = np.linspace(-4, 4, 101, dtype=np.float32)
    if layer.num_parameters > 1:
        xs = np.tile(xs[:, None], (1, layer.num_parameters))
    np.testing.assert_array_equal(_np(twin(xs)), _np(layer(xs)))


def test_config_round_trip_reads_no_table_and_keeps_the_initial_values():
    layer = OPAU("chebyshev1", "safe", init="swish", num_parameters=2, name="act")
    config = layer.get_config()
    assert config["coefficients"][0] == [layer._initial[0][0].tolist()] * 2
    twin = OPAU.from_config(config)
    assert twin.name == "act" and twin.init_name == "swish" and twin.init_record is None
    np.testing.assert_array_equal(_np(twin.numerator), _np(layer.numerator))
    np.testing.assert_array_equal(_np(twin.denominator), _np(layer.denominator))
    registered = keras.saving.get_registered_object("opade_fit>OPAU")
    assert registered is OPAU


def test_random_init_is_reproducible_with_a_seed():
    a, b = OPAU(init="random", seed=5), OPAU(init="random", seed=5)
    np.testing.assert_array_equal(_np(a.numerator), _np(b.numerator))
    np.testing.assert_array_equal(_np(a.denominator), _np(b.denominator))
    assert a.init_record is None and a.init_name == "random"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"basis": "hermite3"}, "`basis` must be one of"),
        ({"denominator": "unsafe"}, "`denominator` must be one of"),
        ({"degrees": (5, -1)}, "`degrees` must be K/L"),
        ({"num_parameters": 0}, "`num_parameters` must be an integer >= 1"),
        ({"coefficients": ([1.0, 2.0], [0.0] * 4)}, r"`numerator` coefficients must have shape"),
        ({"coefficients": ([0.0] * 6, [float("nan")] * 4)}, "must be finite"),
        ({"coefficients": [0.0] * 6}, "must be a pair"),
        ({"init": 3}, "`init` must be a target name or 'random'"),
    ],
)
def test_invalid_arguments_are_usage_errors(kwargs, match):
    with pytest.raises(UsageError, match=match):
        OPAU(**{"init": "random", **kwargs})


def test_unknown_table_entry_is_a_usage_error():
    with pytest.raises(UsageError):
        OPAU(init="leaky_relu", degrees=(9, 9))
