"""Where queries run. Every analysis builds Ibis expressions over the canonical tables;
this module hands them a backend: the DuckDB store by default (read-only), or another
Ibis backend named by ``--backend`` (``duckdb``, ``spark``, or an Ibis connection URL).
"""

from __future__ import annotations

import os
from typing import Any

import ibis
from ibis.backends import BaseBackend

from icetally.store.db import resolve_db


class BackendError(ValueError):
    pass


def connect(db: str | os.PathLike[str] | None = None, backend: str | None = None) -> BaseBackend:
    """An Ibis backend over the store. ``backend``: None/'duckdb' (the DuckDB file at
    ``db``), 'spark' (see icetally.query.spark), or an Ibis URL ('duckdb:///path')."""
    name = (backend or os.environ.get("ICETALLY_BACKEND") or "duckdb").strip()
    if name == "duckdb":
        path = resolve_db(db)
        if not path.exists():
            raise BackendError(f"no store at {path}: run `icetally ingest FILES --db {path}` first")
        return ibis.duckdb.connect(str(path), read_only=True)
    if name == "spark":
        try:
            from icetally.query import spark
        except ImportError as exc:  # pragma: no cover - optional extra
            from icetally.install import needs

            raise BackendError(needs("the spark backend", exc, extra="spark")) from exc
        return spark.connect(db)
    if "://" in name:
        return ibis.connect(name)
    raise BackendError(f"unknown backend {name!r}: use duckdb, spark or an Ibis URL")


def table(con: BaseBackend, dataset: str) -> Any:
    try:
        return con.table(dataset)
    except Exception as exc:  # noqa: BLE001 - backends raise different types
        raise BackendError(f"the store has no table {dataset!r}: {exc}") from exc
