"""Progress of long work (table regeneration and checks, the report) on stderr.

On a terminal: a ``rich`` bar. Elsewhere (CI logs, ``nohup``, pipes), where a
bar would print nothing useful: one plain line at the start, then at most one
line every :data:`LINE_INTERVAL` seconds, and one at the end, so long work never
looks hung.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["LINE_INTERVAL", "progress_reporter"]

#: Seconds between two progress lines when stderr is not a terminal.
LINE_INTERVAL = 10.0


@contextmanager
def progress_reporter(
    description: str, *, interval: float = LINE_INTERVAL, tty: bool | None = None
) -> Iterator[Callable[[int, int, Any], None]]:
    """Yield a ``progress(done, total, item)`` callback that reports on stderr.

    Parameters
    ----------
    description : str
        What is counted, e.g. ``"fitting"`` or ``"drawing figures"``.
    interval : float
        Seconds between two plain lines (non-terminal stderr only).
    tty : bool, optional
        Force the terminal (bar) or plain-line mode; default: ``sys.stderr.isatty()``.
    """
    if tty if tty is not None else sys.stderr.isatty():
        with _bar(description) as update:
            yield update
        return
    start = time.monotonic()
    state = {"last": -float("inf"), "done": 0, "total": 0}

    def update(done: int, total: int, _item: Any = None) -> None:
        state["done"], state["total"] = done, total
        now = time.monotonic()
        if done == total or now - state["last"] >= interval:
            state["last"] = now
            pct = 100.0 * done / total if total else 100.0
            sys.stderr.write(
                f"{description}: {done}/{total} ({pct:.0f}%), {now - start:.0f} s elapsed\n"
            )
            sys.stderr.flush()

    yield update


@contextmanager
def _bar(description: str) -> Iterator[Callable[[int, int, Any], None]]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    task = None

    def update(done: int, total: int, _item: Any = None) -> None:
        nonlocal task
        if task is None:
            task = bar.add_task(description, total=total)
        bar.update(task, completed=done)

    with bar:
        yield update
