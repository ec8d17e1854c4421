"""The one process pool: run independent jobs, most expensive first, results in job order.

Used by the table regeneration (one fit per job) and the report (one figure
per job). A job is a picklable item given to a module-level function; the
pool starts the slow jobs first so its tail is short, reports each result as
it arrives, and turns a worker's exception into one :class:`FitError` naming
the job. Workers ignore Ctrl-C: the parent handles it (one message, no
worker tracebacks) and cancels what has not started.

``opade sweep`` schedules its own fits (:mod:`opade_fit.sweeps.run`): a fit
waits for the lower-degree fits it is warm-started from, so its jobs are not
independent; it shares :func:`pool_context` and :func:`available_cpus`.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from .errors import FitError

__all__ = ["available_cpus", "pool_context", "run_pool"]

T = TypeVar("T")
R = TypeVar("R")


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def pool_context(method: str = "forkserver") -> multiprocessing.context.BaseContext:
    """The multiprocessing context for worker pools.

    ``forkserver`` (the default, where available; else the platform's default)
    forks workers from a clean server process; ``spawn`` starts each worker as
    a fresh interpreter that imports only what its jobs need.
    """
    if method == "forkserver" and method not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context(None)
    return multiprocessing.get_context(method)


def _ignore_sigint() -> None:
    """Worker initializer: Ctrl-C is handled by the parent (one message, no worker tracebacks)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_pool(
    func: Callable[[T], R],
    items: Sequence[T],
    *,
    jobs: int,
    cost: Callable[[T], float] | None = None,
    done: Callable[[int, R], None] | None = None,
    describe: Callable[[T], str] | None = None,
    method: str = "forkserver",
) -> list[R]:
    """``[func(item) for item in items]``, in ``jobs`` worker processes.

    Parameters
    ----------
    func : callable
        A module-level function (it is pickled by name) of one item.
    items : sequence
        Picklable job inputs.
    jobs : int
        Worker processes; 1 (or a single item) runs in this process, in order.
    cost : callable, optional
        Relative cost of an item (dimensionless); the costliest start first.
        Ties keep the item order.
    done : callable, optional
        Called in the parent as ``done(index, result)`` as each job finishes
        (in completion order).
    describe : callable, optional
        Names an item in the error of a failed job:
        ``"<describe(item)> failed: <type>: <message>"``. Without it the
        worker's exception propagates unchanged.
    method : {"forkserver", "spawn"}
        Start method (:func:`pool_context`).

    Returns
    -------
    list
        The results, in item order.

    Raises
    ------
    FitError
        A job raised (with ``describe``); the jobs not started are cancelled.
    """
    n = len(items)
    results: list[Any] = [None] * n
    if jobs <= 1 or n <= 1:
        for i, item in enumerate(items):
            results[i] = func(item)
            if done is not None:
                done(i, results[i])
        return results
    order = sorted(range(n), key=lambda i: -cost(items[i])) if cost is not None else range(n)
    with cf.ProcessPoolExecutor(
        max_workers=min(jobs, n), mp_context=pool_context(method), initializer=_ignore_sigint
    ) as pool:
        futures = {pool.submit(func, items[i]): i for i in order}
        try:
            for fut in cf.as_completed(futures):
                i = futures[fut]
                try:
                    results[i] = fut.result()
                except Exception as exc:
                    if describe is None:
                        raise
                    raise FitError(
                        f"{describe(items[i])} failed: {type(exc).__name__}: {exc}"
                    ) from exc
                if done is not None:
                    done(i, results[i])
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return results
