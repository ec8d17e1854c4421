"""The 13 built-in targets: exact expression, parameters with defaults and rules, float64 f, f'.

Each entry's ``expression`` (in the safe language of :mod:`opade_fit.targets.expressions`,
parameters by name) is the exact oracle; ``f`` and ``df`` are vectorised float64
implementations that are numerically safe (no overflow at |x| = 50); ``kinks`` lists the
points where f' jumps. A new target is one more :class:`Builtin` here (docs/architecture.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .numeric import scipy_special

__all__ = ["ALIASES", "BUILTINS", "TARGETS", "TARGET_NAMES", "Builtin"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_GELU_TANH_C = math.sqrt(2.0 / math.pi)


def _expit(z):
    return scipy_special("expit")(z)


def _softplus(z):
    return np.logaddexp(0.0, z)


@dataclass(frozen=True)
class Builtin:
    """One built-in target: name, description, exact expression, parameters, f, f', kinks, rules."""

    name: str
    description: str
    expression: str
    defaults: tuple[tuple[str, float], ...]
    f: Callable[..., np.ndarray]
    df: Callable[..., np.ndarray]
    kinks: Callable[..., tuple[float, ...]] = lambda **p: ()
    rules: tuple[tuple[str, Callable[[float], bool], str], ...] = ()


def _gelu_tanh(x):
    u = _GELU_TANH_C * (x + 0.044715 * x**3)
    return 0.5 * x * (1.0 + np.tanh(u))


def _gelu_tanh_d(x):
    u = _GELU_TANH_C * (x + 0.044715 * x**3)
    t = np.tanh(u)
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _GELU_TANH_C * (1.0 + 3 * 0.044715 * x**2)


def _mish_d(x):
    t = np.tanh(_softplus(x))
    return t + x * (1.0 - t * t) * _expit(x)


_POSITIVE = (lambda v: v > 0, "> 0")
_NONNEG = (lambda v: v >= 0, ">= 0")

BUILTINS: dict[str, Builtin] = {
    b.name: b
    for b in [
        Builtin(
            "leaky_relu",
            "x for x >= 0, negative_slope*x otherwise (PyTorch default slope 0.01)",
            "Max(x, 0) + negative_slope*Min(x, 0)",
            (("negative_slope", 0.01),),
            lambda x, negative_slope: np.where(x >= 0, x, negative_slope * x),
            lambda x, negative_slope: np.where(x >= 0, 1.0, negative_slope),
            lambda **p: (0.0,),
        ),
        Builtin(
            "relu",
            "max(x, 0)",
            "Max(x, 0)",
            (),
            lambda x: np.maximum(x, 0.0),
            lambda x: np.where(x >= 0, 1.0, 0.0),
            lambda **p: (0.0,),
        ),
        Builtin(
            "gelu",
            "exact GELU x*Phi(x) = x/2*(1 + erf(x/sqrt(2)))",
            "x/2*(1 + erf(x/sqrt(2)))",
            (),
            lambda x: 0.5 * x * (1.0 + scipy_special("erf")(x / math.sqrt(2.0))),
            lambda x: scipy_special("ndtr")(x) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi),
        ),
        Builtin(
            "gelu_tanh",
            "tanh approximation of GELU",
            "x/2*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x**3)))",
            (),
            _gelu_tanh,
            _gelu_tanh_d,
        ),
        Builtin(
            "swish",
            "x*sigmoid(beta*x) (SiLU for beta = 1)",
            "x/(1 + exp(-beta*x))",
            (("beta", 1.0),),
            lambda x, beta: x * _expit(beta * x),
            lambda x, beta: _expit(beta * x) * (1.0 + beta * x * (1.0 - _expit(beta * x))),
        ),
        Builtin(
            "mish",
            "x*tanh(softplus(x))",
            "x*tanh(log(1 + exp(x)))",
            (),
            lambda x: x * np.tanh(_softplus(x)),
            _mish_d,
        ),
        Builtin(
            "tanh",
            "hyperbolic tangent",
            "tanh(x)",
            (),
            np.tanh,
            lambda x: 1.0 - np.tanh(x) ** 2,
        ),
        Builtin(
            "sigmoid",
            "logistic sigmoid 1/(1 + exp(-x))",
            "1/(1 + exp(-x))",
            (),
            _expit,
            lambda x: _expit(x) * (1.0 - _expit(x)),
        ),
        Builtin(
            "elu",
            "x for x > 0, alpha*(exp(x) - 1) otherwise",
            "Max(x, 0) + alpha*(exp(Min(x, 0)) - 1)",
            (("alpha", 1.0),),
            lambda x, alpha: np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0))),
            lambda x, alpha: np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0))),
            lambda **p: (0.0,),
            (("alpha", *_NONNEG),),
        ),
        Builtin(
            "selu",
            "scale*(x for x > 0, alpha*(exp(x) - 1) otherwise), self-normalising constants",
            "scale*(Max(x, 0) + alpha*(exp(Min(x, 0)) - 1))",
            (("alpha", _SELU_ALPHA), ("scale", _SELU_SCALE)),
            lambda x, alpha, scale: (
                scale * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))
            ),
            lambda x, alpha, scale: (
                scale * np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))
            ),
            lambda **p: (0.0,),
            (("alpha", *_NONNEG), ("scale", *_POSITIVE)),
        ),
        Builtin(
            "softplus",
            "log(1 + exp(beta*x))/beta",
            "log(1 + exp(beta*x))/beta",
            (("beta", 1.0),),
            lambda x, beta: _softplus(beta * x) / beta,
            lambda x, beta: _expit(beta * x),
            rules=(("beta", *_POSITIVE),),
        ),
        Builtin(
            "hardswish",
            "x*relu6(x + 3)/6",
            "x*Min(Max(x + 3, 0), 6)/6",
            (),
            lambda x: x * np.clip(x + 3.0, 0.0, 6.0) / 6.0,
            lambda x: np.where(x < -3.0, 0.0, np.where(x > 3.0, 1.0, (2.0 * x + 3.0) / 6.0)),
            lambda **p: (-3.0, 3.0),
        ),
        Builtin("identity", "x", "x", (), lambda x: np.array(x, dtype=np.float64), np.ones_like),
    ]
}
#: Other names of built-ins: alias -> (canonical name, fixed parameters).
ALIASES: dict[str, tuple[str, dict[str, float]]] = {"silu": ("swish", {"beta": 1.0})}

#: Names of the built-in targets (canonical spellings).
TARGET_NAMES: tuple[str, ...] = tuple(BUILTINS)
#: The built-ins by canonical name (public name of :data:`BUILTINS`).
TARGETS = BUILTINS
