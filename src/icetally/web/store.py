"""The web server's handle on the store: one read-only DuckDB database per app, a pool
of ``Store`` handles over it (one per worker thread, each on its own cursor), a
watchdog that interrupts queries running past their time, and caches that are valid
for as long as the store is open. Everything the server computes (counts, surges,
claims, reports, jurisdictions) runs on a pooled Store under a time limit; nothing
opens the file by its path again.

Why one long-lived read-only connection: opening the file costs ~20 ms, a cursor ~1 ms.
DuckDB's read-only lock also guarantees that nothing changes the file while the server
holds it (an ``icetally ingest`` into the same file waits for the server to stop), so
every cached answer stays true until the handle is reopened.
"""

from __future__ import annotations

import functools
import heapq
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import ibis

from icetally.api import Store
from icetally.cache import LruCache
from icetally.store.db import connect, resolve_db
from icetally.web.problems import register_private

T = TypeVar("T")
log = logging.getLogger("icetally.web")


class StoreUnavailable(RuntimeError):
    """The store file is missing or cannot be opened (HTTP 503). The message is for
    the public: the store's file name and what to do, never its folder, DuckDB's own
    words (they name the interpreter holding a lock and its process id) or a PID."""


class QueryTimeout(RuntimeError):
    """A query ran past its time limit and was interrupted (HTTP 422)."""


@dataclass
class StoreInfo:
    """Facts about the open store that pages show on every request."""

    path: str  # the store's full path: for the server's log, never for a response
    releases: list[dict[str, Any]]  # `icetally releases --json`, without the files' paths
    synthetic: bool
    datasets: list[str]


class WebStore:
    """Read-only access to one store file for the lifetime of an app."""

    def __init__(
        self, db: str | os.PathLike[str] | None, *, threads: int = 2, memory_limit: str = "2GB"
    ) -> None:
        self.path: Path = resolve_db(db)
        self._threads = threads
        self._memory_limit = memory_limit
        self._base: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        self._info: StoreInfo | None = None
        self._generation = 0  # bumped whenever the file is (re)opened
        self._local = threading.local()
        # Caches hang off the handle: they are emptied whenever the file is reopened.
        self.caches: dict[str, LruCache] = {}
        # Facts about the store (releases, coverage) that the pooled Stores share.
        self._facts: dict[Any, Any] = {}
        # Folders no response may show (every problem's text is cut by them).
        register_private(_private_paths(self.path, []))

    # ------------------------------------------------------------------ connections

    def _open(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._base is not None:
                return self._base
            if not self.path.exists():
                log.warning("no store at %s", self.path)
                raise StoreUnavailable(
                    f"no store {self.path.name} yet: run `icetally ingest FILES --db "
                    f"{self.path.name}` and restart the server"
                )
            try:
                # No config= here: DuckDB refuses a second connection to the same file
                # with a different config, and a script in this process may open one.
                # SET applies to the shared instance instead.
                base = connect(self.path, read_only=True)
                base.execute(f"SET threads = {int(self._threads)}")
                base.execute("SET memory_limit = ?", [self._memory_limit])
            except (duckdb.Error, OSError) as exc:
                # Most often another process holds the write lock (an ingest running).
                # DuckDB's message names that process's interpreter and PID: logged only.
                log.warning("cannot open the store %s: %s", self.path, exc)
                raise StoreUnavailable(_unavailable(self.path.name, exc)) from None
            for cache in self.caches.values():
                cache.clear()
            self._facts.clear()
            self._info = None
            self._generation += 1
            self._base = base
            return base

    def cache(self, name: str, size: int) -> LruCache:
        if name not in self.caches:
            self.caches[name] = LruCache(size)
        return self.caches[name]

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A DuckDB cursor of its own for one request (cursors may run concurrently;
        one connection object may not)."""
        cur = self._open().cursor()
        try:
            yield cur
        finally:
            cur.close()

    @contextmanager
    def handle(self) -> Iterator[Store]:
        """The calling thread's Store: what icetally.api's functions take as
        ``store=``; its ``.duckdb`` cursor is what the watchdog interrupts.

        One Store per worker thread, kept between requests: requests on different
        threads run concurrently on their own cursors; each Store's Ibis backend caches
        its table expressions, because Ibis would otherwise ask DuckDB for a table's
        schema on every query (~8 ms) although a read-only store cannot change; and the
        Stores share one cache of facts (releases, coverage).
        """
        base = self._open()
        slot = getattr(self._local, "slot", None)
        if slot is None or slot[0] != self._generation:
            cur = base.cursor()
            backend = ibis.duckdb.from_connection(cur)
            backend.table = functools.lru_cache(maxsize=64)(backend.table)
            store = Store(self.path, connection=cur, ibis_backend=backend, facts=self._facts)
            slot = (self._generation, store)
            self._local.slot = slot
        yield slot[1]

    def close(self) -> None:
        with self._lock:
            if self._base is not None:
                self._base.close()
                self._base = None
                self._info = None
                self._generation += 1

    # ------------------------------------------------------------------ facts

    def info(self) -> StoreInfo:
        self._open()
        if self._info is not None:
            return self._info
        from icetally.api import BackendError, releases

        with self.handle() as store:
            try:
                # The CLI's own function, so /api/releases is `icetally releases --json`.
                rows = releases(store)
                datasets = [d for d in store.datasets if store.has_table(d)]
                synthetic = store.synthetic
            except (duckdb.Error, BackendError) as exc:
                log.warning("%s is not an icetally store: %s", self.path, exc)
                raise StoreUnavailable(f"{self.path.name} is not an icetally store") from None
        # Where the files were read from is the operator's business, not the public's:
        # the web's releases name each file, not its folder (issue #13, row 17).
        public = [{k: v for k, v in r.items() if k != "path"} for r in rows]
        register_private(_private_paths(self.path, [r.get("path") for r in rows]))
        self._info = StoreInfo(
            path=str(self.path), releases=public, synthetic=synthetic, datasets=datasets
        )
        return self._info


def _unavailable(name: str, exc: BaseException) -> str:
    """Why the store cannot be opened, in words fit for a response."""
    low = str(exc).lower()
    if "lock" in low:
        return (
            f"the store {name} is in use by another process (an ingest?); retry when it "
            "has finished, then restart the server"
        )
    if "not a valid duckdb" in low or ("database file" in low and "not" in low):
        return f"{name} is not an icetally store (not a DuckDB database file)"
    return f"the store {name} cannot be opened; the server's log says why"


def _private_paths(store: Path, files: list[Any]) -> set[str]:
    """Folders a response must not show: the store's, the ingested files', the
    interpreter's, the home and working folders."""
    import sys

    dirs = {str(store.resolve().parent), str(store.parent.absolute()), sys.prefix,
            sys.exec_prefix, sys.base_prefix, os.path.expanduser("~"), os.getcwd()}  # fmt: skip
    dirs.update(str(Path(f).parent) for f in files if f)
    dirs.update(str(Path(f).resolve().parent) for f in files if f)
    return dirs


class _Watch:
    __slots__ = ("cur", "deadline", "done", "expired")

    def __init__(self, cur: duckdb.DuckDBPyConnection, deadline: float) -> None:
        self.cur = cur
        self.deadline = deadline
        self.done = False
        self.expired = False


class _Watchdog:
    """One thread for every query being timed: it sleeps until the earliest deadline,
    then interrupts that query's cursor, and again every 10 ms until the query returns
    (a count runs several short queries; an interrupt between two would be lost).
    A thread per query cost ~0.13 ms per count, more under load."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Watch]] = []
        self._seq = 0
        self._thread: threading.Thread | None = None

    def watch(self, cur: duckdb.DuckDBPyConnection, seconds: float) -> _Watch:
        w = _Watch(cur, time.monotonic() + seconds)
        with self._cond:
            self._push(w)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="icetally-query-watchdog", daemon=True
                )
                self._thread.start()
            elif self._heap[0][2] is w:
                self._cond.notify()  # the new deadline is the earliest
        return w

    def release(self, w: _Watch) -> None:
        with self._cond:
            w.done = True

    def _push(self, w: _Watch) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (w.deadline, self._seq, w))

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                _, _, w = heapq.heappop(self._heap)
                w.expired = True
                try:
                    w.cur.interrupt()
                except duckdb.Error:  # pragma: no cover - closed under our feet
                    continue
                w.deadline = time.monotonic() + 0.01
                self._push(w)


_watchdog = _Watchdog()


def run_limited(fn: Callable[[], T], cur: duckdb.DuckDBPyConnection, seconds: float) -> T:
    """Run ``fn`` (which queries through ``cur``) with a time limit.

    DuckDB has no statement timeout, so a watchdog interrupts the cursor once the
    deadline passes, and keeps interrupting until ``fn`` returns. A call that finished
    after its deadline is still refused, so the limit means one thing.
    """
    w = _watchdog.watch(cur, seconds)
    try:
        result = fn()
    except Exception as exc:
        if w.expired:
            raise QueryTimeout(
                f"the query ran longer than the {seconds:g} s limit and was stopped"
            ) from exc
        raise
    finally:
        _watchdog.release(w)
    if w.expired:
        raise QueryTimeout(f"the query ran longer than the {seconds:g} s limit and was stopped")
    return result
