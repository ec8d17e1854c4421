"""The ``opade`` command line (a thin layer over the library).

Conventions: data on stdout, human messages on stderr; bad arguments exit 2
and failures exit 1, each with one line on stderr and no traceback (set
``OPADE_DEBUG=1`` to see the traceback of an unexpected error).
"""

from __future__ import annotations

from .app import app, main

__all__ = ["app", "main"]
