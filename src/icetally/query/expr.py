"""The Ibis expressions of a count: one definition, which ``icetally.query.count`` runs
and ``icetally.query.prepared`` compiles once per shape."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from icetally.query.filters import Slice
from icetally.vocabulary import DIMENSIONS

__all__ = ["count_expr", "detail_expr", "dimension", "jsonable"]


def dimension(t: Any, dim: str) -> Any:
    """The expression a count groups by for a dimension of the vocabulary."""
    d = DIMENSIONS[dim]
    col = t[d.column]
    return col.truncate(d.bucket) if d.bucket else col


def count_expr(t: Any, slc: Slice, dims: list[str]) -> Any:
    filtered = slc.apply(t)
    if not dims:
        return filtered.aggregate(n=filtered.n.sum())
    groups = {d: dimension(filtered, d) for d in dims}
    return filtered.group_by(**groups).aggregate(n=filtered.n.sum()).order_by(dims)


def detail_expr(t: Any, slc: Slice, dims: list[str]) -> Any:
    """The slice grouped by the dimensions *and* the release: one query from which the
    rows, the total, the releases behind them and their overlaps all follow."""
    filtered = slc.apply(t)
    groups = {d: dimension(filtered, d) for d in dims}
    groups["_release"] = filtered.release_id
    return filtered.group_by(**groups).aggregate(
        n=filtered.n.sum(), _lo=filtered.event_date.min(), _hi=filtered.event_date.max()
    )


def jsonable(v: Any) -> Any:
    """A value from a query result as JSON writes it (dates as ISO text)."""
    if isinstance(v, datetime):
        return v.date().isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    if v != v:  # NaN
        return None
    return v
