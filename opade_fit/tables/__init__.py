"""Init tables: the committed, reproducible coefficient tables for framework layers.

Data flow (see ``docs/tables.md`` and ``tables/README.md``)::

    tables/spec.toml --load_spec--> [SpecEntry ...] --regenerate--> tables/<basis>.json
                                                        (fit_spec in a process pool)

One module a job:

* :mod:`.key` — :class:`FitKey`, the named identity of a fit (label, ``opade
  fit`` command) and the one filter language (:func:`parse_filter`,
  :meth:`FitKey.matches`);
* :mod:`.store` — where the tables are, the one reader with the schema-version
  check (:func:`read_table`), the cache, :func:`load_entries`;
* :mod:`.spec` — ``spec.toml`` expanded into :class:`SpecEntry` objects,
  :func:`select`;
* :mod:`.regeneration` — fitting in the process pool, atomic writes under a lock;
* :mod:`.compare` — one committed record against a regenerated one;
* :mod:`.checking` — whole tables: :func:`compare_tables`, :func:`check`;
* :mod:`.lookup` — :func:`get_init` and :class:`TableEntry` for framework layers;
* :mod:`.export` — other libraries' layouts.

Every public name of these modules is importable from ``opade_fit.tables``
(each module's ``__all__``). None of them imports the solvers, sympy or
matplotlib at import time (``get_init`` stays light); the fits run in workers.

Coefficient convention (as everywhere in opade-fit): numerator c_0..c_k,
denominator d_1..d_l, increasing degree, the leading 1 of Q implicit.
"""

from __future__ import annotations

from . import checking, compare, export, key, lookup, regeneration, spec, store
from .checking import *  # noqa: F403
from .compare import *  # noqa: F403
from .export import *  # noqa: F403
from .key import *  # noqa: F403
from .lookup import *  # noqa: F403
from .regeneration import *  # noqa: F403
from .spec import *  # noqa: F403
from .store import *  # noqa: F403

__all__ = [
    *key.__all__,
    *store.__all__,
    *spec.__all__,
    *regeneration.__all__,
    *compare.__all__,
    *checking.__all__,
    *lookup.__all__,
    *export.__all__,
]
