"""Lazy public names of a package (PEP 562): imported from their module on first access.

A package lists ``name -> submodule`` once and gets its module ``__getattr__`` and
``__dir__`` from :func:`lazy_names`; the submodule is imported (and the value cached in
the package's namespace) only when the name is first used, so that importing the package
stays light (tests/test_startup.py).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(
    namespace: dict[str, Any], names: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package whose ``names`` load on first use.

    Parameters
    ----------
    namespace : dict
        The package's ``globals()``; ``namespace["__name__"]`` is the package, and a loaded
        value is stored there so that later lookups skip ``__getattr__``.
    names : mapping
        Public name -> submodule defining it, relative to the package (e.g. ``"fitting"``).

    Returns
    -------
    getattr_, dir_ : callable
        To be bound as the package's module-level ``__getattr__`` and ``__dir__``.
        ``getattr_`` raises :class:`AttributeError` for any other name.
    """
    package = namespace["__name__"]

    def getattr_(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted({*namespace, *namespace.get("__all__", ()), *names})

    return getattr_, dir_
