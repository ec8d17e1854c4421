"""Tests of the PyTorch layer :class:`opade_fit.torch.OPAU` (skipped without torch).

Exactness is checked against :meth:`RationalForm.evaluate` / :meth:`FitResult.evaluate`
(the float64 reference that every record is evaluated with); gradients against
``torch.autograd.gradcheck`` and against the symbolic derivatives of
:meth:`RationalForm.symbolic` (Biswas et al. 2021, eqs. 8-10).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

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
    missing_extra_message,
    torch_compile_case,
    two_channel_case,
)
from layer_oracle import random_coefficients as _random_coefficients  # noqa: E402
from layer_oracle import sensitivity as _sensitivity  # noqa: E402

import opade_fit  # noqa: E402
from opade_fit.errors import UsageError  # noqa: E402
from opade_fit.forms import DENOMINATORS, RationalForm  # noqa: E402
from opade_fit.result import FitResult  # noqa: E402
from opade_fit.torch import OPAU, rational  # noqa: E402


def _check_exact(layer64: OPAU, layer32: OPAU, reference, form, c, d, interval=(-5.0, 5.0)):
    """The float64 and float32 layers reproduce the float64 reference function."""
    x64 = torch.linspace(*interval, 2001, dtype=torch.float64)
    ref = reference(x64.numpy())
    out = layer64(x64).detach().numpy()
    scale = np.max(np.abs(ref))
    assert np.max(np.abs(out - ref)) <= FLOAT64_RTOL * scale

    x32 = x64.to(torch.float32)
    ref32 = reference(x32.double().numpy())  # the same (float32-rounded) points
    out32 = layer32(x32)
    assert out32.dtype == torch.float32
    s = _sensitivity(form, x32.double().numpy(), c, d)
    assert np.max(np.abs(out32.detach().double().numpy() - ref32)) <= FLOAT32_RTOL * s


# -- import hygiene ------------------------------------------------------------------------
def test_import_without_torch_names_the_extra():
    message = missing_extra_message("opade_fit.torch", "torch")
    assert "pip install 'opade-fit[torch]'" in message
    assert "torch==2.13.0" in message


# -- exactness -----------------------------------------------------------------------------
@pytest.mark.parametrize(("basis", "denominator"), FORMS, ids=FORM_IDS)
def test_exact_random_coefficients(basis, denominator):
    form = RationalForm(basis, denominator, DEGREES)
    c, d = _random_coefficients(basis, denominator, seed=len(basis) + len(denominator))
    layer64 = OPAU(basis, denominator, DEGREES, coefficients=(c, d), dtype=torch.float64)
    layer32 = OPAU(basis, denominator, DEGREES, coefficients=(c, d))
    _check_exact(layer64, layer32, lambda x: form.evaluate(x, c, d), form, c, d, (-3.0, 3.0))


@pytest.fixture(scope="module")
def fitted_records():
    """A few real fits (each takes ~0.3-0.6 s; the table test covers every form)."""
    forms = [("hermite1", "safe"), ("chebyshev1", "safe-abs-sum"), ("legendre", "plain")]
    return [opade_fit.fit("leaky_relu", basis=b, denominator=d).to_dict() for b, d in forms]


def test_exact_fit_records(fitted_records):
    for record in fitted_records:
        result = FitResult.from_dict(record)
        layer64 = OPAU.from_record(record, dtype=torch.float64)
        layer32 = OPAU.from_record(result)
        c, d = result.numerator, result.denominator
        _check_exact(layer64, layer32, result.evaluate, result.form, c, d)


@pytest.mark.parametrize(("basis", "denominator"), FORMS, ids=FORM_IDS)
def test_exact_table_entries(basis, denominator):
    if not hasattr(opade_fit, "get_init"):
        pytest.skip("opade_fit.get_init (the init tables) is not available yet")
    entry = opade_fit.get_init("leaky_relu", basis=basis, denominator=denominator)
    record = getattr(entry, "record", entry)  # a TableEntry (a mapping over its record)
    result = FitResult.from_dict(record)
    layer64 = OPAU(basis, denominator, init="leaky_relu", dtype=torch.float64)
    layer32 = OPAU(basis, denominator, init="leaky_relu")
    assert layer64.init_record == record
    assert torch.equal(OPAU.from_record(entry).numerator, layer32.numerator)
    c, d = result.numerator, result.denominator
    _check_exact(layer64, layer32, result.evaluate, result.form, c, d)


@pytest.mark.parametrize("degrees", OTHER_DEGREES)
@pytest.mark.parametrize("denominator", DENOMINATORS)
def test_exact_other_degrees(degrees, denominator):
    c, d, x = two_channel_case(degrees)
    layer = OPAU(
        "laguerre", denominator, degrees, coefficients=(c, d), num_parameters=2, dtype=torch.float64
    )
    out = layer(torch.from_numpy(x)).detach().numpy()
    assert_channels_exact(out, x, c, d, denominator, degrees)


# -- gradients -----------------------------------------------------------------------------
@pytest.mark.parametrize(("basis", "denominator"), FORMS, ids=FORM_IDS)
def test_gradcheck(basis, denominator):
    x, c, d = gradient_case(basis, denominator)
    inputs = tuple(torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (x[::3], c, d))

    def g(x, c, d):
        return rational(x, c, d, basis=basis, denominator_kind=denominator)

    assert torch.autograd.gradcheck(g, inputs)


@pytest.mark.parametrize(("basis", "denominator"), FORMS, ids=FORM_IDS)
def test_gradients_equal_symbolic_formulas(basis, denominator):
    x, c, d = gradient_case(basis, denominator)
    sym = RationalForm(basis, denominator, DEGREES).symbolic().lambdify()
    k, l = DEGREES
    ct = torch.tensor(c)
    dt = torch.tensor(d)
    xt = torch.tensor(x, requires_grad=True)

    def g(x, c, d):
        return rational(x, c, d, basis=basis, denominator_kind=denominator)

    # each output depends on its own x only, so d(sum g)/dx is dg/dx pointwise
    (dx,) = torch.autograd.grad(g(xt, ct, dt).sum(), xt)
    jacobian = torch.autograd.functional.jacobian
    dc = jacobian(lambda c: g(xt.detach(), c, dt), ct)  # (m, k + 1)
    dd = jacobian(lambda d: g(xt.detach(), ct, d), dt)  # (m, l)

    def close(got, name):
        want = np.broadcast_to(sym[name](x, c, d), x.shape)
        scale = max(np.max(np.abs(want)), 1.0)
        np.testing.assert_allclose(got.detach().numpy(), want, rtol=0, atol=GRADIENT_RTOL * scale)

    close(g(xt, ct, dt), "g(x)")
    close(dx, "dg/dx")
    for i in range(k + 1):
        close(dc[:, i], f"dg/dc{i}")
    for j in range(1, l + 1):
        close(dd[:, j - 1], f"dg/dd{j}")


# -- layer behaviour -----------------------------------------------------------------------
def test_per_channel_broadcasts_over_dim_1():
    C = 3
    rng = np.random.default_rng(1)
    c, d = rng.normal(size=(C, 6)), rng.normal(size=(C, 4))
    layer = OPAU("legendre", coefficients=(c, d), num_parameters=C, dtype=torch.float64)
    assert layer.numerator.shape == (C, 6) and layer.denominator.shape == (C, 4)
    form = layer.form
    for shape in [(2, C), (2, C, 4, 5)]:
        x = torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        out = layer(x).detach().numpy()
        for ch in range(C):
            want = form.evaluate(x[:, ch].numpy(), c[ch], d[ch])
            np.testing.assert_allclose(out[:, ch], want, rtol=1e-13, atol=1e-13)
    with pytest.raises(UsageError, match="3 channels in dimension 1"):
        layer(torch.randn(2, 4, dtype=torch.float64))


def test_shared_coefficients_are_flat_and_copied_per_channel():
    c, d = [0.0, 1.0, 0.1, 0.0, 0.01, 0.0], [0.1, 0.2, 0.0, 0.01]
    assert OPAU(coefficients=(c, d)).numerator.shape == (6,)
    layer = OPAU(coefficients=(c, d), num_parameters=4)
    assert layer.numerator.shape == (4, 6)
    assert torch.equal(layer.numerator[2], torch.tensor(c, dtype=torch.float32))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_inputs_are_computed_in_float32(dtype):
    c, d = _random_coefficients("hermite2", "safe", seed=3)
    layer = OPAU("hermite2", coefficients=(c, d))
    x = torch.linspace(-3, 3, 257).to(dtype)
    out = layer(x)
    assert out.dtype == dtype
    assert torch.equal(out, layer(x.float()).to(dtype))


def test_float64_input_with_float32_parameters_computes_in_float64():
    layer = OPAU(coefficients=([0.0, 1.0, 0.1, 0.0, 0.01, 0.0], [0.1, 0.2, 0.0, 0.01]))
    x = torch.linspace(-3, 3, 11, dtype=torch.float64)
    out = layer(x)
    assert out.dtype == torch.float64
    want = layer.form.evaluate(x.numpy(), layer.numerator.detach(), layer.denominator.detach())
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-14)


def test_parameters_train_and_state_dict_round_trips():
    layer = OPAU("hermite1", "safe-abs-sum", (3, 2), init="random",
                 generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert {n for n, _ in layer.named_parameters()} == {"numerator", "denominator"}
    layer(torch.linspace(-2, 2, 9)).pow(2).sum().backward()
    assert layer.numerator.grad.shape == (4,) and layer.denominator.grad.shape == (2,)
    other = OPAU("hermite1", "safe-abs-sum", (3, 2), init="random")
    other.load_state_dict(layer.state_dict())
    assert torch.equal(other.numerator, layer.numerator)


def test_random_init_is_reproducible_with_a_generator():
    a = OPAU(init="random", generator=torch.Generator().manual_seed(5))
    b = OPAU(init="random", generator=torch.Generator().manual_seed(5))
    assert torch.equal(a.numerator, b.numerator) and torch.equal(a.denominator, b.denominator)
    assert a.init_record is None


def test_from_record_reads_the_form_and_repr(fitted_records):
    record = fitted_records[0]
    layer = OPAU.from_record(record, num_parameters=2)
    assert layer.form == RationalForm("hermite1", "safe", (5, 4))
    assert layer.numerator.shape == (2, 6)
    assert layer.init_record == record
    assert repr(layer) == (
        "OPAU(basis='hermite1', denominator='safe', degrees=(5, 4), num_parameters=2, "
        "init='leaky_relu')"
    )
    with pytest.raises(UsageError, match="schema_version"):
        OPAU.from_record({**record, "schema_version": [2, 0]})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"basis": "hermite3"}, "`basis` must be one of"),
        ({"denominator": "unsafe"}, "`denominator` must be one of"),
        ({"degrees": (5, -1)}, "`degrees` must be K/L"),
        ({"num_parameters": 0}, "`num_parameters` must be an integer >= 1"),
        ({"coefficients": ([1.0, 2.0], [0.0] * 4)}, r"`numerator` coefficients must have shape"),
        ({"coefficients": ([0.0] * 6, [float("nan")] * 4)}, "must be finite"),
        ({"init": 3}, "`init` must be a target name or 'random'"),
    ],
)
def test_invalid_arguments_are_usage_errors(kwargs, match):
    with pytest.raises(UsageError, match=match):
        OPAU(**{"init": "random", **kwargs})


# -- torch.compile -------------------------------------------------------------------------
@torch_compile_case
def test_torch_compile_matches_eager():
    import torch._inductor.config as inductor_config

    rng = np.random.default_rng(2)
    layer = OPAU(coefficients=(rng.normal(size=(3, 6)), rng.normal(size=(3, 4))), num_parameters=3)
    compiled = torch.compile(layer)
    x = torch.randn(4, 3, 5, generator=torch.Generator().manual_seed(0), requires_grad=True)
    with inductor_config.patch(compile_threads=1):  # a worker pool costs more than it saves here
        out = compiled(x)
        out.square().sum().backward()
    grads = [x.grad.clone(), layer.numerator.grad.clone(), layer.denominator.grad.clone()]
    for t in (x, layer.numerator, layer.denominator):
        t.grad = None
    want = layer(x)
    want.square().sum().backward()
    torch.testing.assert_close(out, want, rtol=1e-5, atol=1e-6)
    for got, ref in zip(grads, [x.grad, layer.numerator.grad, layer.denominator.grad], strict=True):
        torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)


def test_float64_construction_reproduces_the_record_double_only_widens():
    """The documented promise: dtype=torch.float64 holds the record's coefficients exactly;
    ``.double()`` of a float32 layer holds their float32 roundings."""
    if not hasattr(opade_fit, "get_init"):
        pytest.skip("opade_fit.get_init (the init tables) is not available yet")
    layer64 = OPAU(init="leaky_relu", dtype=torch.float64)
    coef = layer64.init_record["coefficients"]
    c = torch.tensor(coef["numerator"], dtype=torch.float64)
    d = torch.tensor(coef["denominator"], dtype=torch.float64)
    assert torch.equal(layer64.numerator.detach(), c)
    assert torch.equal(layer64.denominator.detach(), d)
    widened = OPAU(init="leaky_relu").double()
    assert torch.equal(widened.numerator.detach(), c.float().double())
    assert not torch.equal(widened.numerator.detach(), c)  # the rounding is real
