"""Counting any slice, grouped by any dimension or time bucket."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from typing import Any

from icetally.query import stored
from icetally.query.expr import count_expr, detail_expr, jsonable
from icetally.query.filters import Slice
from icetally.store.handle import Store
from icetally.vocabulary import parse_by

__all__ = [
    "CountResult",
    "count",
    "count_expr",
    "count_groups",
    "detail_expr",
    "parse_by",
    "rows_csv",
]


@dataclass
class CountResult:
    total: int
    rows: list[dict[str, Any]]
    query: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"total": self.total, "rows": self.rows, "query": self.query}
        if self.warnings:
            out["warnings"] = self.warnings
        return out


# A cell a spreadsheet would run as a formula (OWASP's list: = + - @, tab, CR).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def rows_csv(rows: list[dict[str, Any]]) -> str:
    """A count's rows as CSV (`icetally count --format csv`, `/api/count?format=csv`).

    A text cell that starts like a formula (``=HYPERLINK(…)``, ``@SUM(…)``, ``-1+1``)
    gets a leading ``'`` so that a spreadsheet shows it instead of running it:
    released values (landmarks, facilities, programs) are strangers' text. Numbers
    are written as they are."""
    keys = list(rows[0]) if rows else ["n"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(
            {
                k: "'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v
                for k, v in r.items()
            }
        )
    return buf.getvalue()


OVERLAP_LISTED = 10  # overlapping pairs named one by one; more are summarized


def overlap_warnings(spans: dict[str, tuple[Any, Any]]) -> list[str]:
    """Releases of one dataset that cover the same days may hold the same records
    twice (ICE re-releases and edits records). Say so; never de-duplicate silently.

    Up to ``OVERLAP_LISTED`` pairs are named; beyond that one line summarizes them (500
    overlapping releases would otherwise make 125,250 warnings). Pairs are found with
    a sweep over the spans sorted by start, so the work is the number of pairs found,
    stopped once enough are listed and counted by a second sweep."""
    ordered = sorted(
        ((rid, lo, hi) for rid, (lo, hi) in spans.items() if lo is not None),
        key=lambda x: (x[1], x[0]),
    )
    out: list[str] = []
    pairs = 0
    involved: set[str] = set()
    first, last = None, None
    for i, (ra, alo, ahi) in enumerate(ordered):
        for rb, blo, bhi in ordered[i + 1 :]:
            if blo > ahi:
                break  # sorted by start: no later span can overlap this one
            if alo <= bhi:
                lo, hi = max(alo, blo), min(ahi, bhi)
                pairs += 1
                involved |= {ra, rb}
                first = lo if first is None or lo < first else first
                last = hi if last is None or hi > last else last
                if len(out) < OVERLAP_LISTED:
                    out.append(
                        f"releases {ra} and {rb} both hold records "
                        f"from {jsonable(lo)} to {jsonable(hi)}; the same events may be "
                        f"counted twice — pick one with --release"
                    )
    if pairs > OVERLAP_LISTED:
        out.append(
            f"… and {pairs - OVERLAP_LISTED:,} more overlapping pairs: {len(involved):,} "
            f"releases overlap between {jsonable(first)} and {jsonable(last)}; "
            "list them with `icetally releases` and pick with --release"
        )
    return out


def _order_key(values: tuple[Any, ...]) -> tuple[Any, ...]:
    # SQL's ORDER BY ... NULLS LAST, the order every backend gives
    return tuple((v is None, v if v is not None else 0) for v in values)


def count(
    dataset: str = "arrests",
    *,
    store: Store | str | os.PathLike[str] | None = None,
    db: str | os.PathLike[str] | None = None,
    backend: str | None = None,
    by: str | list[str] | None = None,
    con: Any = None,
    **filters: Any,
) -> CountResult:
    """Count records of ``dataset`` in a slice, optionally grouped. ``store`` is a
    Store or a path (``db`` is the same, by its older name).

    >>> icetally.count("arrests", date_from="2017-09-24", date_to="2017-09-27", by="aor")
    """
    slc = Slice.build(dataset, **filters)
    dims = parse_by(by)
    with Store.borrow(store, db=db, backend=backend, con=con) as s:
        slc.check_known(s)  # an unknown --release or county is an error, not 0
        # a shape compiled by an earlier process: no Ibis, no sqlglot (issue #17)
        found = _stored_detail(s, slc, dims) if s.is_duckdb else None
        if found is None:
            found = _run_detail(s, s.table(dataset), slc, dims)
        detail, sql = found
        backend_name = s.backend_name
    sums: dict[tuple[Any, ...], int] = {}
    spans: dict[str, tuple[Any, Any]] = {}
    for r in detail:
        key = tuple(jsonable(r[d]) for d in dims)
        sums[key] = sums.get(key, 0) + int(r["n"] or 0)
        lo, hi = spans.get(r["_release"], (None, None))
        if r["_lo"] is not None:
            lo = r["_lo"] if lo is None else min(lo, r["_lo"])
            hi = r["_hi"] if hi is None else max(hi, r["_hi"])
        spans[r["_release"]] = (lo, hi)
    total = sum(sums.values())
    if dims:
        # a group that sums to 0 (a count table's reported zeros) is not listed: the
        # same records as rows would give no group at all
        rows = [
            {**dict(zip(dims, key, strict=True)), "n": n}
            for key, n in sorted(sums.items(), key=lambda kv: _order_key(kv[0]))
            if n
        ]
    else:
        rows = [{"n": total}]
    query = {
        "dataset": dataset,
        "filters": slc.to_dict(),
        "by": dims,
        "backend": backend_name,
        # the SQL that gives exactly these rows
        "sql": sql,
        "releases": sorted(spans),
    }
    return CountResult(total=total, rows=rows, query=query, warnings=overlap_warnings(spans))


def count_groups(
    dataset: str = "arrests",
    *,
    store: Store | str | os.PathLike[str] | None = None,
    by: str | list[str] | None = None,
    **filters: Any,
) -> int:
    """How many rows ``count`` would return for this slice and grouping (one cheap
    query: size an answer before fetching it)."""
    slc = Slice.build(dataset, **filters)
    dims = parse_by(by)
    with Store.borrow(store) as s:
        slc.check_known(s)
        return int(count_expr(s.table(dataset), slc, dims).count().to_pyarrow().as_py())


def _run_detail(s: Store, t: Any, slc: Slice, dims: list[str]) -> tuple[list[dict[str, Any]], str]:
    """The detail rows (dimensions, release, n, first and last day) and the count's SQL.

    On DuckDB the SQL is compiled once per query shape and run with bound parameters
    (icetally.query.prepared); elsewhere, and for shapes that cannot be
    parameterised, the Ibis expressions are compiled and run as they are."""
    prepared = prepare(s.ibis, t, slc, dims) if s.is_duckdb else None
    if prepared is None:
        return _detail_by_ibis(t, slc, dims)
    _keep(s, slc, dims, prepared)
    return _fetch(s, prepared.detail_sql, slc), prepared.shown_sql(slc)


def prepare(con: Any, t: Any, slc: Slice, dims: list[str]) -> Any:
    """``icetally.query.prepared.prepare``, imported on first use (it needs sqlglot)."""
    from icetally.query.prepared import prepare as compiled

    return compiled(con, t, slc, dims)


def _fetch(s: Store, detail_sql: str, slc: Slice) -> list[dict[str, Any]]:
    cur = s.duckdb.execute(detail_sql, stored.params(slc))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _columns(s: Store, dataset: str) -> list[tuple[str, str]]:
    """The table's columns, read once per open store (part of a shape's key)."""
    return s.cached(("columns", dataset), lambda: stored.columns_of(s.duckdb, dataset))


_kept: set[str] = set()  # shapes this process has written to disk already


def _keep(s: Store, slc: Slice, dims: list[str], prepared: Any) -> None:
    """Keep a compiled shape on disk for the next process (icetally.query.stored)."""
    if stored.cache_dir() is None:
        return
    name = stored.key(slc.dataset, dims, _columns(s, slc.dataset), slc)
    if name in _kept:
        return
    _kept.add(name)
    shape = prepared.stored()
    if shape is not None:
        stored.save(name, shape)


def _stored_detail(
    s: Store, slc: Slice, dims: list[str]
) -> tuple[list[dict[str, Any]], str] | None:
    """The detail rows and the count's SQL from a shape kept on disk, or None."""
    if stored.cache_dir() is None or not stored.supported(slc):
        return None
    if sum(n for _, n in stored.sizes_of(slc)) >= stored.MAX_VALUES:
        return None
    columns = _columns(s, slc.dataset)
    if not columns:
        return None
    shape = stored.load(stored.key(slc.dataset, dims, columns, slc))
    sql = shape.shown_sql(slc) if shape is not None else None
    if shape is None or sql is None:
        return None
    return _fetch(s, shape.detail_sql, slc), sql


def _detail_by_ibis(t: Any, slc: Slice, dims: list[str]) -> tuple[list[dict[str, Any]], str]:
    import ibis

    detail = detail_expr(t, slc, dims).to_pyarrow().to_pylist()
    return detail, str(ibis.to_sql(count_expr(t, slc, dims)))
