"""One handle on the store: what every analysis, the CLI, the report and the web
server take instead of a path, a backend name and a connection each.

    from icetally.store.handle import Store
    with Store.open("ice.duckdb") as store:
        icetally.count("arrests", store=store, by="aor")

A ``Store`` knows where the data are (a DuckDB file, or a connection someone else
opened, such as the web server's pooled read-only cursor), which query backend runs
the Ibis expressions (DuckDB by default, Spark or an Ibis URL), and caches what does
not change while it is open (the releases manifest, coverage). Entry points accept a
``Store`` or, for convenience, a path: ``Store.of(db)`` turns either into a handle.
"""

from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb

from icetally.store.db import resolve_db


class StoreError(RuntimeError):
    """The store cannot be opened or is not an icetally store."""


class Store:
    """A handle on one icetally store (see the module docstring)."""

    def __init__(
        self,
        db: str | os.PathLike[str] | None = None,
        *,
        backend: str | None = None,
        read_only: bool = True,
        connection: duckdb.DuckDBPyConnection | None = None,
        ibis_backend: Any = None,
    ) -> None:
        self.backend_name = (backend or os.environ.get("ICETALLY_BACKEND") or "duckdb").strip()
        self.read_only = read_only
        self.path: Path | None = None if connection is not None else resolve_db(db)
        self._db_arg = db
        self._connection = connection
        self._owns_connection = connection is None
        self._ibis = ibis_backend
        self._cache: dict[Any, Any] = {}

    # ------------------------------------------------------------------ construction

    @classmethod
    def open(
        cls,
        db: str | os.PathLike[str] | None = None,
        *,
        backend: str | None = None,
        read_only: bool = True,
    ) -> Store:
        return cls(db, backend=backend, read_only=read_only)

    @classmethod
    def of(
        cls,
        store: Store | str | os.PathLike[str] | None = None,
        *,
        backend: str | None = None,
        con: Any = None,
    ) -> Store:
        """A Store from whatever an entry point was given: a Store (returned as it
        is), an Ibis backend (``con=``, as the web server passes), or a path."""
        if isinstance(store, Store):
            return store
        if con is not None:
            raw = getattr(con, "con", None)
            if isinstance(raw, duckdb.DuckDBPyConnection):
                return cls(connection=raw, ibis_backend=con, backend="duckdb")
            return cls(store, backend=backend, ibis_backend=con)
        return cls(store, backend=backend)

    # ------------------------------------------------------------------ connections

    @property
    def is_duckdb(self) -> bool:
        return self.backend_name == "duckdb"

    @property
    def duckdb(self) -> duckdb.DuckDBPyConnection:
        """The raw DuckDB connection (DuckDB backend only)."""
        if not self.is_duckdb:
            from icetally.query.backend import BackendError

            raise BackendError(
                f"this needs the DuckDB store; the {self.backend_name} backend cannot run it"
            )
        if self._connection is None:
            assert self.path is not None
            if self.read_only and not self.path.exists():
                raise StoreError(
                    f"no store at {self.path}: run `icetally ingest FILES --db {self.path}` first"
                )
            if self.read_only:
                self._connection = duckdb.connect(str(self.path), read_only=True)
            else:
                from icetally.store.db import connect

                self._connection = connect(self.path)
        return self._connection

    @property
    def ibis(self) -> Any:
        """The Ibis backend the analyses' expressions run on."""
        if self._ibis is None:
            if self.is_duckdb:
                import ibis

                self._ibis = ibis.duckdb.from_connection(self.duckdb)
            else:
                from icetally.query.backend import connect

                self._ibis = connect(self._db_arg, self.backend_name)
        return self._ibis

    def table(self, name: str) -> Any:
        """An Ibis table expression over one of the store's tables."""
        from icetally.query.backend import table

        return table(self.ibis, name)

    def close(self) -> None:
        if self._owns_connection and self._connection is not None:
            self._connection.close()
        self._connection = None
        self._ibis = None
        self._cache.clear()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ cached facts

    def cached(self, key: Any, compute: Any) -> Any:
        """A value that does not change while the store is open, computed once."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def releases(self, dataset: str | None = None) -> list[dict[str, Any]]:
        """The releases manifest, one dict per ingested file or sheet."""
        rows = self.cached("releases", self._read_releases)
        return [r for r in rows if dataset is None or r.get("dataset") == dataset]

    def _read_releases(self) -> list[dict[str, Any]]:
        rel = self.table("releases")
        data = (
            rel.order_by(["dataset", "coverage_start", "file_name", "sheet"])
            .to_pyarrow()
            .to_pylist()
        )
        out = []
        for r in data:
            for k in ("metadata", "redactions", "unmapped"):
                if isinstance(r.get(k), str):
                    r[k] = json.loads(r[k])
            for k, v in list(r.items()):
                if hasattr(v, "isoformat"):
                    r[k] = v.isoformat()
            out.append(r)
        return out

    @cached_property
    def synthetic(self) -> bool:
        """True when the store holds the demo's generated records (the generator
        writes SYNTHETIC into each release's title and preamble)."""
        return any(is_synthetic_release(r) for r in self.releases())

    def coverage(self, dataset: str) -> Any:
        """Days the dataset's releases cover (see icetally.query.series.coverage)."""
        from icetally.query.series import coverage

        return self.cached(("coverage", dataset), lambda: coverage(self.ibis, dataset))


def is_synthetic_release(release: dict[str, Any]) -> bool:
    text = json.dumps(
        [release.get("title"), release.get("metadata"), release.get("file_name")], default=str
    )
    return "SYNTHETIC" in text.upper()
