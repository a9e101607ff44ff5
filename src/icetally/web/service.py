"""What the JSON API and the dashboard pages both do: validate parameters with
icetally's vocabulary, check the limits, run icetally's Python API (icetally.api, and
nothing else) on the thread's pooled Store under a time limit, and cache the answers.

Nothing here writes SQL from user input: filters become a ``Slice`` (validated by
``icetally.api.slice_of``) and queries are Ibis expressions built by icetally.query.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb

from icetally import api
from icetally.api import (
    DEFAULT_MAX_WINDOW,
    DEFAULT_MIN_EXCESS,
    DEFAULT_THRESHOLD,
    BackendError,
    ClaimsError,
    IcetallyError,
    NoClaimsFound,
    QueryError,
    Store,
    StoreError,
    TextTooLong,
    TooManyClaims,
)
from icetally.vocabulary import DIMENSIONS, filter_names, parse_by
from icetally.web.problems import WebProblem
from icetally.web.store import QueryTimeout, StoreUnavailable, WebStore, run_limited

# The list filters a count takes besides its window (icetally.vocabulary).
FILTERS = filter_names("filters")


CLIENT_TIMEOUT_ENV = "ICETALLY_WEB_CLIENT_TIMEOUT"
DEFAULT_CLIENT_TIMEOUT = 10.0  # seconds for a request's headers, and for its body


def client_timeout() -> float:
    """Seconds a client has to send a request's headers, and its body
    (``$ICETALLY_WEB_CLIENT_TIMEOUT``, set by ``icetally serve --client-timeout``)."""
    try:
        return float(os.environ.get(CLIENT_TIMEOUT_ENV) or DEFAULT_CLIENT_TIMEOUT)
    except ValueError:
        return DEFAULT_CLIENT_TIMEOUT


@dataclass(frozen=True)
class Limits:
    """What one request may cost. Defaults fit a laptop serving a newsroom."""

    max_by: int = 3  # group-by dimensions in one count
    max_rows: int = 5000  # rows a count may return (checked before they are fetched)
    max_daily_span_days: int = 1830  # a by=date series may span at most ~5 years
    query_timeout: float = 5.0  # seconds, per count (DuckDB interrupted past it)
    concurrent_queries: int = max(2, os.cpu_count() or 2)  # counts computed at once
    check_timeout: float = 30.0  # seconds, per POST /api/check
    surge_timeout: float = 120.0  # seconds, per surge scan's queries
    report_timeout: float = 180.0  # seconds, per HTML report (its own scan included)
    aggregate_timeout: float = 60.0  # seconds, per jurisdictions or official answer
    max_body_bytes: int = 200_000  # POST bodies (a press release is ~10 kB)
    body_timeout: float = field(default_factory=client_timeout)  # seconds to send a body
    max_claims: int = 40  # claims checked in one request
    max_param_chars: int = 2000  # all values of one query parameter together
    surge_scans_per_minute: int = 6  # new (uncached) surge scans, server-wide
    reports_per_minute: int = 6  # new (uncached) HTML reports, server-wide
    count_cache_size: int = 2048  # cached count answers (small JSON each)
    surge_cache_size: int = 32  # cached surge scans
    report_cache_size: int = 16  # cached HTML reports (~0.5 MB each)


def bad(detail: str, **extra: Any) -> WebProblem:
    return WebProblem("invalid-parameter", detail, extra)


def join_param(name: str, values: str | list[str] | None, limits: Limits) -> str | None:
    """Query parameters come as ``aor=LOS,PHI`` or ``aor=LOS&aor=PHI``: one
    comma-separated string, as the CLI takes them."""
    if values is None:
        return None
    items = [values] if isinstance(values, str) else list(values)
    text = ",".join(v.strip() for v in items if v and v.strip())
    if len(text) > limits.max_param_chars:
        raise bad(f"{name} is longer than {limits.max_param_chars} characters")
    if any(ord(ch) < 32 for ch in text):
        raise bad(f"{name} contains control characters")
    return text or None


@dataclass(frozen=True)
class CountParams:
    """A validated count request, in canonical form (the cache key)."""

    dataset: str
    filters: tuple[tuple[str, Any], ...]  # Slice.build keyword arguments, all strings
    by: tuple[str, ...]
    slice: Any  # the validated icetally.query.filters.Slice

    @classmethod
    def build(
        cls,
        dataset: str,
        date_from: str | None,
        date_to: str | None,
        filters: dict[str, str | list[str] | None],
        by: str | list[str] | None,
        limits: Limits,
    ) -> CountParams:
        kwargs: dict[str, Any] = {"date_from": date_from or None, "date_to": date_to or None}
        for name in FILTERS:
            kwargs[name] = join_param(name, filters.get(name), limits)
        try:
            slc = api.slice_of(dataset, **kwargs)
            dims = parse_by(join_param("by", by, limits))
        except QueryError as exc:
            raise bad(str(exc).replace("--", "")) from None
        if len(dims) > limits.max_by:
            raise WebProblem(
                "query-too-costly",
                f"by names {len(dims)} dimensions; the server groups by at most "
                f"{limits.max_by} at once",
                {"limit": "max_by", "max_by": limits.max_by},
            )
        # The key is the canonical slice, so LOS,PHI and PHI,los share an answer.
        canon = tuple(sorted((k, json.dumps(v, default=str)) for k, v in slc.to_dict().items()))
        return cls(dataset=dataset, filters=canon, by=tuple(dims), slice=slc)

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.dataset, self.filters, self.by)

    def count_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for icetally.count (what the CLI would pass)."""
        s = self.slice
        return {
            "by": list(self.by),
            "date_from": s.date_from.isoformat() if s.date_from else None,
            "date_to": s.date_to.isoformat() if s.date_to else None,
            **{name: getattr(s, name) or None for name in FILTERS},
        }


def _distinct_values(store: WebStore, s: Store, dataset: str, dim: str) -> int:
    """How many values a column holds in the store, a null included: asked once per
    column while the store is open (a read-only store cannot change)."""
    cache = store.cache("distinct-values", 256)
    n = cache.peek((dataset, dim))
    if n is None:
        column = s.table(dataset)[DIMENSIONS[dim].column]
        n = int(column.nunique().to_pyarrow().as_py() or 0) + 1
        cache.put((dataset, dim), n)
    return n


def _span(s: Store, p: CountParams) -> tuple[date | None, date | None]:
    """The days a count covers: its from/to, else the dataset's coverage."""
    lo, hi = p.slice.date_from, p.slice.date_to
    if lo is None or hi is None:
        cov = s.coverage(p.dataset)
        lo, hi = lo or cov.start, hi or cov.end
    return lo, hi


def _max_groups(store: WebStore, s: Store, p: CountParams) -> float:
    """An upper bound on a count's rows, from the dimensions alone: when it is within
    the limit, the answer is not sized by a query first (a query saved per request)."""
    lo, hi = _span(s, p)
    bound = 1.0
    for d in p.by:
        dim = DIMENSIONS[d]
        if dim.max_values is not None:
            bound *= dim.max_values
        elif dim.days is not None:
            if not (lo and hi):
                return float("inf")
            bound *= (hi - lo).days // dim.days + 3
        else:  # citizenship, county, facility...: what the store holds
            bound *= _distinct_values(store, s, p.dataset, d)
    return bound


def _check_span(s: Store, p: CountParams, limits: Limits) -> None:
    if "date" not in p.by:
        return
    lo, hi = _span(s, p)
    if lo and hi and (hi - lo).days + 1 > limits.max_daily_span_days:
        raise WebProblem(
            "query-too-costly",
            f"a daily series (by=date) may span at most {limits.max_daily_span_days} days; "
            f"this one spans {(hi - lo).days + 1} ({lo} to {hi}): set from/to, or group "
            "by week or month",
            {"limit": "max_daily_span_days", "max_daily_span_days": limits.max_daily_span_days},
        )


def problem_of(exc: Exception) -> WebProblem:
    """icetally's own exceptions -> problems."""
    if isinstance(exc, WebProblem):
        return exc
    if isinstance(exc, QueryTimeout):
        return WebProblem("query-timeout", str(exc))
    if isinstance(exc, StoreUnavailable):
        return WebProblem("store-unavailable", str(exc))
    if isinstance(exc, BackendError) and "has no table" in str(exc):
        return WebProblem("invalid-parameter", f"the store holds no such dataset: {exc}")
    if isinstance(exc, TextTooLong):
        return WebProblem("request-too-large", str(exc), {"max_text_chars": exc.limit})
    if isinstance(exc, NoClaimsFound):
        return WebProblem(
            "no-claims-found",
            "no checkable claims found in the text",
            {"skipped": _jsonable(exc.extraction.skipped)},
        )
    if isinstance(exc, TooManyClaims):
        return WebProblem(
            "query-too-costly",
            f"{exc.n} claims; the server checks at most {exc.limit} in one request",
            {"limit": "max_claims", "max_claims": exc.limit},
        )
    if isinstance(exc, StoreError | FileNotFoundError):
        return WebProblem("store-unavailable", str(exc))
    if isinstance(exc, IcetallyError) and not isinstance(exc, ClaimsError):
        # every other error icetally words for a person: its own problem type
        return WebProblem(exc.problem, str(exc).replace("--", ""))
    if isinstance(exc, ClaimsError):
        # a claims document posted to the server has no file name: say what it is
        return bad(str(exc).replace("<claims>", "the request body", 1))
    if isinstance(exc, QueryError | ClaimsError | ValueError):
        return bad(str(exc).replace("--", ""))
    raise exc


class FairSlots:
    """At most ``n`` holders at once, the waiting served in arrival order: a freed slot
    passes straight to the longest waiter. (threading.Semaphore lets a thread arriving
    as a slot frees take it first; under load some counts then waited ten times the
    median, and the p95 doubled.)"""

    def __init__(self, n: int) -> None:
        self._free = n
        self._lock = threading.Lock()
        self._waiting: deque[threading.Lock] = deque()

    def __enter__(self) -> FairSlots:
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return self
            turn = threading.Lock()
            turn.acquire()
            self._waiting.append(turn)
        turn.acquire()  # released by the holder that hands its slot over
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().release()
            else:
                self._free += 1


_slots: dict[int, FairSlots] = {}
_slots_lock = threading.Lock()


def _compute_slots(limits: Limits) -> FairSlots:
    with _slots_lock:
        if limits.concurrent_queries not in _slots:
            _slots[limits.concurrent_queries] = FairSlots(limits.concurrent_queries)
        return _slots[limits.concurrent_queries]


def cached_count(store: WebStore, p: CountParams, limits: Limits) -> dict[str, Any] | None:
    """The cached answer to a count, if any (no query)."""
    return store.cache("count", limits.count_cache_size).peek(p.key)


def count(store: WebStore, p: CountParams, limits: Limits) -> dict[str, Any]:
    """The same dict as ``icetally.count(...).to_dict()``, cached per canonical query."""
    cache = store.cache("count", limits.count_cache_size)
    key = p.key
    hit = cache.get(key)
    if hit is not None:
        return hit
    try:
        with store.handle() as s:
            _check_span(s, p, limits)

            def work() -> dict[str, Any]:
                if p.by and _max_groups(store, s, p) > limits.max_rows:
                    # Size the answer before fetching it: one cheap count of groups.
                    groups = api.count_groups(p.dataset, store=s, **p.count_kwargs())
                    if groups > limits.max_rows:
                        raise WebProblem(
                            "result-too-large",
                            f"the answer has {groups:,} rows; the server sends at most "
                            f"{limits.max_rows:,}",
                            {"rows": groups, "max_rows": limits.max_rows},
                        )
                return api.count(p.dataset, store=s, **p.count_kwargs()).to_dict()

            # Building and compiling Ibis expressions is Python work under the GIL:
            # more counts at once than cores only slow each other and the cached
            # answers waiting for the GIL. The wait does not count against the limit.
            with _compute_slots(limits):
                result = run_limited(work, s.duckdb, limits.query_timeout)
    except (QueryError, QueryTimeout, StoreUnavailable, BackendError, ValueError) as exc:
        raise problem_of(exc) from None
    except duckdb.Error as exc:
        raise WebProblem("store-unavailable", f"the store could not answer: {exc}") from None
    cache.put(key, result)
    return result


def count_csv(result: dict[str, Any]) -> str:
    """What ``icetally count --format csv`` prints."""
    return api.rows_csv(result["rows"])  # formulas neutralized


# --------------------------------------------------------------------------- surges


@dataclass(frozen=True)
class SurgeParams:
    dataset: str = "arrests"
    metric: str = "all"
    date_from: str | None = None
    date_to: str | None = None
    aor: str | None = None
    area: str = "aor"  # the vocabulary's DEFAULT_AREA: series per AOR, state or county
    # The surge command's own defaults, so a bare /api/surges is `icetally surges`.
    min_excess: float = float(DEFAULT_MIN_EXCESS)
    threshold: float = DEFAULT_THRESHOLD
    max_window: int = DEFAULT_MAX_WINDOW

    def query(self) -> dict[str, Any]:
        """The parameters as query-string values (for links that reproduce a scan)."""
        out: dict[str, Any] = {"dataset": self.dataset, "metric": self.metric}
        for k, name in (("date_from", "from"), ("date_to", "to"), ("aor", "aor")):
            if getattr(self, k):
                out[name] = getattr(self, k)
        defaults = SurgeParams()
        for k in ("area", "min_excess", "threshold", "max_window"):
            if getattr(self, k) != getattr(defaults, k):
                out[k] = getattr(self, k)
        return out


class Budget:
    """At most ``per_minute`` costly computations started in any 60 seconds."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._started: deque[float] = deque()
        self._lock = threading.Lock()

    def take(self, per_minute: int) -> None:
        now = time.monotonic()
        with self._lock:
            while self._started and now - self._started[0] > 60:
                self._started.popleft()
            if len(self._started) >= per_minute:
                wait = int(60 - (now - self._started[0])) + 1
                raise WebProblem(
                    "too-many-requests",
                    f"the server already made {per_minute} new {self.what} in the last "
                    f"minute; retry in {wait} s",
                    headers={"Retry-After": str(wait)},
                )
            self._started.append(now)


class SurgeScans:
    """Surge scans cost seconds of CPU: one runs at a time, each distinct scan is
    computed once per open store, and new scans are budgeted per minute so that a
    client varying parameters cannot keep the CPU busy."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.budget = Budget("surge scans")

    def get(self, store: WebStore, p: SurgeParams, limits: Limits) -> dict[str, Any]:
        cache = store.cache("surges", limits.surge_cache_size)
        hit = cache.get(p)
        if hit is not None:
            return hit
        # Validate before taking the budget: a bad request must not use up a scan.
        try:
            api.slice_of(p.dataset, date_from=p.date_from, date_to=p.date_to, aor=p.aor)
        except QueryError as exc:
            raise bad(str(exc).replace("--", "")) from None
        with self._lock:
            hit = cache.get(p)  # another request may have computed it meanwhile
            if hit is not None:
                return hit
            self.budget.take(limits.surge_scans_per_minute)
            try:
                with store.handle() as s:
                    result = run_limited(
                        lambda: api.surges(
                            p.dataset,
                            store=s,
                            metric=p.metric,
                            date_from=p.date_from,
                            date_to=p.date_to,
                            aor=p.aor,
                            area=p.area,
                            min_excess=p.min_excess,
                            threshold=p.threshold,
                            max_window=p.max_window,
                        ).to_dict(),
                        s.duckdb,
                        limits.surge_timeout,
                    )
            except (QueryError, QueryTimeout, StoreUnavailable, BackendError, ValueError) as e:
                raise problem_of(e) from None
            cache.put(p, result)
            return result


# --------------------------------------------------------------------------- claims


def check_yaml(
    store: WebStore, text: str, limits: Limits, *, tolerance: float | None = None
) -> dict[str, Any]:
    """Check a claims document (YAML, or JSON, which is YAML): ``icetally check --json``."""
    store.info()  # no store: 503 before any work on the body
    try:
        # the bounded loader: no aliases, limited depth and size (icetally.safeyaml)
        data = api.load_yaml(text, "the request body")
    except api.YamlError as exc:
        raise bad(str(exc)) from None
    try:
        with store.handle() as s:
            report = run_limited(
                lambda: api.check(data, s, tolerance=tolerance, max_claims=limits.max_claims),
                s.duckdb,
                limits.check_timeout,
            )
    except (QueryError, ClaimsError, QueryTimeout, StoreUnavailable, ValueError) as exc:
        raise problem_of(exc) from None
    return report.to_dict()


def check_text(
    store: WebStore,
    text: str,
    limits: Limits,
    *,
    published: str | None = None,
    source: str | None = None,
    tolerance: float | None = None,
) -> dict[str, Any]:
    """Extract claims from a press text and check them (icetally.api.check_text): the
    check JSON plus the extraction (the claims as YAML a person can edit, and the
    numbers skipped)."""
    store.info()  # no store: 503 before any work on the text
    try:
        with store.handle() as s:
            ex, report = run_limited(
                lambda: api.check_text(
                    text,
                    s,
                    published=published,
                    source=source,
                    tolerance=tolerance,
                    max_claims=limits.max_claims,
                ),
                s.duckdb,
                limits.check_timeout,
            )
    except (QueryError, ClaimsError, QueryTimeout, StoreUnavailable, ValueError) as exc:
        raise problem_of(exc) from None
    out = report.to_dict()
    out["extraction"] = api.extraction_dict(ex)
    return out


def run_on_store(
    store: WebStore, limits: Limits, seconds: float, fn: Any, *args: Any, **kwargs: Any
) -> Any:
    """``fn(pooled_store, *args, **kwargs)`` under a time limit: how the report and the
    jurisdictions answers run (on the server's read-only connection, like the rest)."""
    try:
        with store.handle() as s:
            return run_limited(lambda: fn(s, *args, **kwargs), s.duckdb, seconds)
    except (QueryError, QueryTimeout, StoreUnavailable, BackendError) as exc:
        raise problem_of(exc) from None
    except duckdb.Error as exc:
        raise WebProblem("store-unavailable", f"the store could not answer: {exc}") from None


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))
