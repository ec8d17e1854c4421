"""The case grid shared by fit_speed.py and minimax_speed.py: targets x bases x denominators.

Both scripts take ``--jobs``, ``--repeat``, ``--targets``, ``--bases`` and
``--denominators``, build one case per (target, basis, denominator) and run them in a
process pool; this module is that piece, once. Imported as ``_grid`` (the scripts run as
``python benchmarks/NAME.py``, which puts this folder on ``sys.path``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from opade_fit.bases import BASIS_NAMES
from opade_fit.forms import DENOMINATORS
from opade_fit.targets import TARGET_NAMES


def add_grid_arguments(ap: argparse.ArgumentParser, *, repeat: int) -> None:
    """Add ``--jobs``, ``--repeat`` (default ``repeat``) and the three comma lists to ``ap``."""
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=repeat)
    ap.add_argument("--targets", default=",".join(TARGET_NAMES))
    ap.add_argument("--bases", default=",".join(BASIS_NAMES))
    ap.add_argument("--denominators", default=",".join(DENOMINATORS))


def run_grid(
    ns: argparse.Namespace, run_case: Callable[[tuple], dict], extra: Any
) -> tuple[list[dict], float]:
    """Run ``run_case((target, basis, denominator, repeat, extra))`` over the grid.

    Cases are ordered denominator, basis, target (outermost first) and run in
    ``ns.jobs`` worker processes. Returns the rows in case order and the wall time (s).
    """
    cases = [
        (t, b, d, ns.repeat, extra)
        for d in ns.denominators.split(",")
        for b in ns.bases.split(",")
        for t in ns.targets.split(",")
    ]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=ns.jobs) as pool:
        rows = list(pool.map(run_case, cases))
    return rows, time.perf_counter() - t0
