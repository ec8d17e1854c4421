"""opade-fit: fit, certify and export initial coefficients of rational activations.

Coefficient convention (everywhere): numerator c_0..c_k and denominator
d_1..d_l in increasing degree; the leading 1 of the denominator is implicit.

The public names load on first use (module ``__getattr__``, PEP 562):
``import opade_fit`` and ``get_init(...)`` never import scipy.optimize, sympy
or matplotlib; ``fit`` brings the solvers in when it is first accessed
(tests/test_startup.py checks this).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_names
from ._version import __version__
from .errors import FitError, OpadeError, UsageError

if TYPE_CHECKING:
    from .fitting import fit
    from .forms import RationalForm
    from .result import FitResult
    from .sweeps import sweep
    from .tables import get_init

__all__ = [
    "FitError",
    "FitResult",
    "OpadeError",
    "RationalForm",
    "UsageError",
    "__version__",
    "fit",
    "get_init",
    "sweep",
]

# public name -> module that defines it
__getattr__, __dir__ = lazy_names(
    globals(),
    {
        "fit": "fitting",
        "RationalForm": "forms",
        "FitResult": "result",
        "get_init": "tables",
        "sweep": "sweeps",
    },
)
