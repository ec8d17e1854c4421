"""Benchmark: start-up time of the quick commands next to a bare ``python -c pass``.

Each command runs as a fresh process (the way a user or a framework layer starts
it), ``--repeat`` times, interleaved round by round so machine noise hits every
command alike; the script prints the median wall time of each and its excess
over the median of ``python -c pass``. Issue 15's goals: ``opade --version``,
``--help``, ``bases`` and ``tables show`` within 0.35 s of ``python -c pass``
on a quiet machine, ``import opade_fit; get_init(...)`` within 0.5 s.

Usage::

    python benchmarks/startup.py [--repeat 7]

``opade`` is run as ``python -m opade_fit`` with the interpreter running this
script (same environment, no dependence on PATH); the console script adds only
its tiny wrapper.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

GET_INIT = (
    "from opade_fit import get_init; "
    "get_init('leaky_relu', basis='hermite1', denominator='safe', degrees=(5, 4))"
)

#: (label, argv after the interpreter, goal in seconds over `python -c pass` or None)
COMMANDS: list[tuple[str, list[str], float | None]] = [
    ("python -c pass", ["-c", "pass"], None),
    ("opade --version", ["-m", "opade_fit", "--version"], 0.35),
    ("opade --help", ["-m", "opade_fit", "--help"], 0.35),
    ("opade bases", ["-m", "opade_fit", "bases"], 0.35),
    ("opade targets", ["-m", "opade_fit", "targets"], None),
    ("opade tables list", ["-m", "opade_fit", "tables", "list"], None),
    (
        "opade tables show -b hermite1 -t leaky_relu",
        ["-m", "opade_fit", "tables", "show", "-b", "hermite1", "-t", "leaky_relu"],
        0.35,
    ),
    ("import opade_fit; get_init(...)", ["-c", GET_INIT], 0.5),
    ("import opade_fit (all: fit too)", ["-c", "import opade_fit; opade_fit.fit"], None),
]


def _time(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *argv], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    """Time every command and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per command (default 7)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    times: dict[str, list[float]] = {label: [] for label, _, _ in COMMANDS}
    for _ in range(args.repeat):
        for label, argv, _goal in COMMANDS:
            times[label].append(_time(argv))
    base = statistics.median(times["python -c pass"])
    print(f"median of {args.repeat} runs each ({sys.executable})")
    print(f"{'command':44s} {'median s':>9s} {'- pass s':>9s}  goal")
    for label, _argv, goal in COMMANDS:
        med = statistics.median(times[label])
        extra = med - base
        verdict = "" if goal is None else f"<= {goal:.2f} s: {'yes' if extra <= goal else 'NO'}"
        print(f"{label:44s} {med:9.3f} {extra:9.3f}  {verdict}")


if __name__ == "__main__":
    main()
