"""One handle on the store: what every analysis, the CLI, the report and the web
server take instead of a path, a backend name and a connection each.

    from icetally.store.handle import Store
    with Store.open("ice.duckdb") as store:
        icetally.count("arrests", store=store, by="aor")

A ``Store`` knows where the data are (a DuckDB file, or a connection someone else
opened, such as the web server's pooled read-only cursor), which query backend runs
the Ibis expressions (DuckDB by default, Spark or an Ibis URL), and caches what does
not change while it is open (the releases manifest, coverage). Entry points accept a
``Store`` or, for convenience, a path; they get their handle with ``Store.borrow``,
which closes it afterwards only if it opened it:

    def my_analysis(store=None, *, db=None, backend=None):
        with Store.borrow(store, db=db, backend=backend) as s:
            t = s.table("arrests")           # an Ibis table
            cov = s.coverage("arrests")      # days covered, overall and per AOR
            ...
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb

from icetally.store.coverage import Coverage
from icetally.store.db import NoStore, StoreError, resolve_db

__all__ = ["NoStore", "Store", "StoreError", "is_synthetic_release"]


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
        facts: dict[Any, Any] | None = None,
    ) -> None:
        self.backend_name = (backend or os.environ.get("ICETALLY_BACKEND") or "duckdb").strip()
        self.read_only = read_only
        self.path: Path | None = resolve_db(db) if connection is None or db else None
        self._db_arg = db
        self._connection = connection
        self._owns_connection = connection is None
        self._ibis = ibis_backend
        # Facts that do not change while the store is open; handles pooled over one
        # connection (the web server's, one per thread) share one dict.
        self._owns_facts = facts is None
        self._cache: dict[Any, Any] = {} if facts is None else facts

    # ------------------------------------------------------------------ construction

    @classmethod
    def open(
        cls,
        db: str | os.PathLike[str] | None = None,
        *,
        backend: str | None = None,
        read_only: bool = True,
    ) -> Store:
        """A handle on the store at ``db`` (default $ICETALLY_DB, else
        ./icetally.duckdb); ``read_only=False`` creates the file and its tables."""
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
        is), an Ibis backend (``con=``), or a path."""
        if isinstance(store, Store):
            return store
        if con is not None:
            raw = getattr(con, "con", None)
            if isinstance(raw, duckdb.DuckDBPyConnection):
                return cls(store, connection=raw, ibis_backend=con, backend="duckdb")
            # the backend's own name, as --backend spells it
            name = backend or {"pyspark": "spark"}.get(con.name, con.name)
            return cls(store, backend=name, ibis_backend=con)
        return cls(store, backend=backend)

    @classmethod
    @contextmanager
    def borrow(
        cls,
        store: Store | str | os.PathLike[str] | None = None,
        *,
        db: str | os.PathLike[str] | None = None,
        backend: str | None = None,
        con: Any = None,
        read_only: bool = True,
    ) -> Iterator[Store]:
        """The handle an entry point works with: ``store`` (a Store or a path) or
        ``db`` (a path, the older keyword), or ``con`` (an Ibis backend). A handle
        opened here is closed on exit; one passed in is left open for its owner."""
        given = store if store is not None else db
        if isinstance(given, Store):
            if not read_only and given.read_only:
                raise StoreError(f"{given.path}: this needs a store opened with read_only=False")
            yield given
            return
        if con is not None:
            yield cls.of(given, backend=backend, con=con)
            return
        handle = cls(given, backend=backend, read_only=read_only)
        try:
            yield handle
        finally:
            handle.close()

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
            from icetally.store.db import connect

            assert self.path is not None
            self._connection = connect(self.path, read_only=self.read_only)
        return self._connection

    def reconnect(self) -> duckdb.DuckDBPyConnection:
        """Open the store's file again (after a fatal write error invalidated the
        connection, as a full disk does); only a handle that opened its own."""
        if not self._owns_connection or self.path is None:
            raise StoreError("this store's connection belongs to someone else: cannot reopen")
        with contextlib.suppress(duckdb.Error):
            if self._connection is not None:
                self._connection.close()
        self._connection = None
        self._ibis = None
        return self.duckdb

    @property
    def ibis(self) -> Any:
        """The Ibis backend the analyses' expressions run on."""
        if self._ibis is None:
            self._ibis = self._make_ibis()
        return self._ibis

    def _make_ibis(self) -> Any:
        import ibis

        from icetally.query.backend import BackendError

        name = self.backend_name
        if name == "duckdb":
            return ibis.duckdb.from_connection(self.duckdb)
        if name == "spark":
            try:
                from icetally.query import spark
            except ImportError as exc:  # pragma: no cover - the optional extra
                from icetally.install import needs

                raise BackendError(needs("the spark backend", exc, extra="spark")) from exc
            return spark.backend(self._db_arg)
        if "://" in name:
            return ibis.connect(name)
        raise BackendError(f"unknown backend {name!r}: use duckdb, spark or an Ibis URL")

    def table(self, name: str) -> Any:
        """An Ibis table expression over one of the store's tables."""
        from icetally.query.backend import table

        return table(self.ibis, name)

    def has_table(self, name: str) -> bool:
        """Whether the store has this table (probed one by one: Ibis 12's list_tables
        fails on DuckDB 2.0)."""
        if self.is_duckdb:
            # a table or a view (a dataset is a view over its rows, store/db.py)
            rows = self.duckdb.execute(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_catalog = current_database() AND table_schema = 'main' "
                "AND table_name = ?",
                [name],
            ).fetchall()
            return bool(rows[0][0])
        from icetally.query.backend import BackendError

        try:
            self.table(name)
        except BackendError:
            return False
        return True

    def rows(self, expr: Any) -> list[dict[str, Any]]:
        """The rows of an Ibis expression over this store, as dicts."""
        return expr.to_pyarrow().to_pylist()

    def close(self) -> None:
        if self._owns_connection and self._connection is not None:
            self._connection.close()
        if self._owns_connection:
            self._connection = None
            self._ibis = None
        if self._owns_facts:
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

    def __repr__(self) -> str:
        where = self.path or "a connection"
        mode = "read-only" if self.read_only else "writable"
        return f"Store({where}, {self.backend_name}, {mode})"

    # ------------------------------------------------------------------ cached facts

    def cached(self, key: Any, compute: Callable[[], Any]) -> Any:
        """A value that does not change while the store is open, computed once."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def releases(self, dataset: str | None = None) -> list[dict[str, Any]]:
        """The releases manifest, one dict per ingested file or sheet (JSON-able:
        dates as ISO text, JSON columns parsed)."""
        rows = self.cached("releases", self._read_releases)
        return [r for r in rows if dataset is None or r.get("dataset") == dataset]

    def _read_releases(self) -> list[dict[str, Any]]:
        rel = self.table("releases")
        data = self.rows(rel.order_by(["dataset", "coverage_start", "file_name", "sheet"]))
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

    @property
    def datasets(self) -> list[str]:
        """The datasets the store holds releases of, in the schema's order."""
        from icetally.schema import DATASETS

        held = {r["dataset"] for r in self.releases()}
        return [d for d in DATASETS if d in held]

    @property
    def synthetic(self) -> bool:
        """True when the store holds the demo's generated records (the generator
        writes SYNTHETIC into each release's title and preamble)."""
        return self.cached("synthetic", lambda: any(map(is_synthetic_release, self.releases())))

    @property
    def only_synthetic(self) -> bool:
        """True when every release in the store is synthetic (the demo may replace it)."""
        return all(map(is_synthetic_release, self.releases()))

    def coverage(
        self, dataset: str, area_kind: str | None = None, *, releases: Sequence[str] = ()
    ) -> Coverage:
        """Days the dataset's releases cover, with their gaps: ``spans`` overall and
        ``by_area`` per area of ``area_kind`` (default ``aor``; also ``state``,
        ``county``); ``releases`` restricts it to some release ids. See
        icetally.store.coverage."""
        from icetally.store.coverage import read_coverage

        key = ("coverage", dataset, area_kind, tuple(sorted(releases)))
        return self.cached(key, lambda: read_coverage(self, dataset, area_kind, releases))


def is_synthetic_release(release: dict[str, Any]) -> bool:
    """The one test of "is this release synthetic?": the demo's generator writes
    SYNTHETIC into each release's title and preamble (metadata)."""
    text = json.dumps(
        [release.get("title"), release.get("metadata"), release.get("file_name")], default=str
    )
    return "SYNTHETIC" in text.upper()
