"""Where queries run. Every analysis builds Ibis expressions over the canonical tables
of a ``Store`` (icetally.store.handle), whose backend is the DuckDB store by default,
or another Ibis backend named by ``--backend`` (``spark``, or an Ibis connection URL).
"""

from __future__ import annotations

from typing import Any

from icetally.errors import IcetallyError


class BackendError(IcetallyError, ValueError):
    """The backend cannot be reached or lacks what the query needs."""


def table(con: Any, dataset: str) -> Any:
    """An Ibis table of ``con`` (an Ibis backend or a Store), with one error type."""
    try:
        return con.table(dataset)
    except BackendError:
        raise
    except Exception as exc:  # noqa: BLE001 - backends raise different types
        raise BackendError(f"the store has no table {dataset!r}: {exc}") from exc
