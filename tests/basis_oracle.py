"""The bases from scipy.special, independent of opade-fit's recurrence (not a test module).

Imported by tests/test_bases.py (the float evaluation against it) and tests/test_tables.py
(table entries re-evaluated with it).
"""

from __future__ import annotations

import scipy.special as sps

#: basis name -> f(n, x): the degree-n polynomial of the family at x, from scipy.special.
SCIPY_ORACLE = {
    "monomial": lambda n, x: x**n,
    "chebyshev1": sps.eval_chebyt,
    "chebyshev2": sps.eval_chebyu,
    "hermite1": sps.eval_hermitenorm,
    "hermite2": sps.eval_hermite,
    "laguerre": sps.eval_laguerre,
    "legendre": sps.eval_legendre,
}
