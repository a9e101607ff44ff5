"""Counting any slice, grouped by any dimension or time bucket."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import ibis

from icetally.query.backend import connect, table
from icetally.query.filters import QueryError, Slice
from icetally.schema import BY_DIMENSIONS

# time bucket -> Ibis truncation unit (weeks start on Monday)
BUCKETS = {"week": "W", "month": "M", "quarter": "Q", "year": "Y"}


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


def parse_by(by: str | list[str] | None) -> list[str]:
    dims = [d.strip() for d in (by.split(",") if isinstance(by, str) else (by or []))]
    dims = [d for d in dims if d]
    bad = [d for d in dims if d not in BY_DIMENSIONS]
    if bad:
        raise QueryError(f"cannot group by {bad}; expected any of {', '.join(BY_DIMENSIONS)}")
    if len(set(dims)) != len(dims):
        raise QueryError(f"--by names a dimension twice: {dims}")
    return dims


def _dimension(t: Any, dim: str) -> Any:
    if dim == "date":
        return t.event_date
    if dim in BUCKETS:
        return t.event_date.truncate(BUCKETS[dim])
    return t[dim]


def _jsonable(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.date().isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    if v != v:  # NaN
        return None
    return v


def count_expr(t: Any, slc: Slice, dims: list[str]) -> Any:
    filtered = slc.apply(t)
    if not dims:
        return filtered.aggregate(n=filtered.n.sum())
    groups = {d: _dimension(filtered, d) for d in dims}
    return filtered.group_by(**groups).aggregate(n=filtered.n.sum()).order_by(dims)


def overlap_warnings(con: Any, t: Any, slc: Slice) -> list[str]:
    """Releases of one dataset that cover the same days may hold the same records
    twice (ICE re-releases and edits records). Say so; never de-duplicate silently."""
    filtered = slc.apply(t)
    spans = (
        filtered.group_by("release_id")
        .aggregate(lo=filtered.event_date.min(), hi=filtered.event_date.max(), n=filtered.n.sum())
        .order_by("lo")
        .to_pyarrow()
        .to_pylist()
    )
    out = []
    for i, a in enumerate(spans):
        for b in spans[i + 1 :]:
            if a["lo"] and b["lo"] and b["lo"] <= a["hi"] and a["lo"] <= b["hi"]:
                lo, hi = max(a["lo"], b["lo"]), min(a["hi"], b["hi"])
                out.append(
                    f"releases {a['release_id']} and {b['release_id']} both hold records "
                    f"from {lo} to {hi}; the same events may be counted twice — "
                    f"pick one with --release"
                )
    return out


def count(
    dataset: str = "arrests",
    *,
    db: str | os.PathLike[str] | None = None,
    backend: str | None = None,
    by: str | list[str] | None = None,
    con: Any = None,
    **filters: Any,
) -> CountResult:
    """Count records of ``dataset`` in a slice, optionally grouped.

    >>> icetally.count("arrests", date_from="2017-09-24", date_to="2017-09-27", by="aor")
    """
    slc = Slice.build(dataset, **filters)
    dims = parse_by(by)
    con = con or connect(db, backend)
    t = table(con, dataset)
    expr = count_expr(t, slc, dims)
    total_expr = slc.apply(t).n.sum()
    total = total_expr.to_pyarrow().as_py() or 0
    rows = []
    if dims:
        for r in expr.to_pyarrow().to_pylist():
            rows.append({k: _jsonable(v) for k, v in r.items()})
    else:
        rows = [{"n": int(total)}]
    for r in rows:
        r["n"] = int(r["n"] or 0)
    query = {
        "dataset": dataset,
        "filters": slc.to_dict(),
        "by": dims,
        "backend": backend or "duckdb",
        "sql": str(ibis.to_sql(expr)),
    }
    releases = slc.apply(t).release_id.value_counts().to_pyarrow().to_pylist()
    query["releases"] = sorted(r["release_id"] for r in releases)
    return CountResult(
        total=int(total), rows=rows, query=query, warnings=overlap_warnings(con, t, slc)
    )
