"""opade-fit: fit, certify and export initial coefficients of rational activations.

Coefficient convention (everywhere): numerator c_0..c_k and denominator
d_1..d_l in increasing degree; the leading 1 of the denominator is implicit.
"""

from ._version import __version__
from .errors import FitError, OpadeError, UsageError
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
