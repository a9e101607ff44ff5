"""Daily series and coverage: what the analyses read from the store.

Both are Ibis expressions, so the same code serves DuckDB and Spark; the heavy lifting
(grouping millions of rows to AOR-days) happens in the backend and only the small
daily table comes back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd

from icetally.normalize.rules import OUT_OF_RANGE_FLAG
from icetally.query.backend import table
from icetally.query.filters import QueryError, Slice
from icetally.vocabulary import METRICS


def metric_slice(slc: Slice, metric: str) -> Slice:
    """The slice restricted to a metric: all records, or one method class."""
    if metric not in METRICS:
        raise QueryError(f"unknown metric {metric!r}; expected one of {', '.join(METRICS)}")
    cls = METRICS[metric].method_class
    if cls is None:
        return slc
    if slc.method_class and slc.method_class != [cls]:
        raise QueryError(f"--metric {metric} conflicts with --method-class {slc.method_class}")
    out = Slice(**{**slc.__dict__})
    out.method_class = [cls]
    return out


def plausible(f: Any) -> Any:
    """Rows whose event date lies in the plausible span (normalize/rules.py): a row
    flagged out of range (9999-12-31, 1990) is kept in the store but stays out of
    daily series and surges, where one such date would stretch the calendar."""
    return f.date_flag.isnull() | ~f.date_flag.contains(OUT_OF_RANGE_FLAG)


def daily_expr(t: Any, slc: Slice) -> Any:
    f = slc.apply(t)
    f = f.filter(f.event_date.notnull(), f.aor.notnull(), plausible(f))
    return f.group_by(date=f.event_date, aor=f.aor).aggregate(n=f.n.sum())


def out_of_range_count(con: Any, slc: Slice) -> int:
    """Records of the slice left out of series because their date is implausible."""
    f = slc.apply(table(con, slc.dataset))
    f = f.filter(f.date_flag.notnull() & f.date_flag.contains(OUT_OF_RANGE_FLAG))
    return int(f.n.sum().fill_null(0).to_pyarrow().as_py() or 0)


def _as_date(v: Any) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return pd.Timestamp(v).date()


def daily_series(con: Any, slc: Slice) -> pd.DataFrame:
    """Columns date (datetime.date), aor, n: records per AOR-day in the slice."""
    df = daily_expr(table(con, slc.dataset), slc).to_pandas()
    if df.empty:
        return pd.DataFrame({"date": [], "aor": [], "n": []})
    df["date"] = [_as_date(v) for v in df["date"]]
    df["n"] = df["n"].astype("int64")
    return df.sort_values(["aor", "date"]).reset_index(drop=True)


@dataclass(frozen=True)
class Coverage:
    """Days the releases of a dataset cover, overall and per AOR."""

    start: date | None
    end: date | None
    by_aor: dict[str, tuple[date, date]]
    releases: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "releases": self.releases,
        }

    def contains(self, start: date, end: date) -> bool:
        return bool(self.start and self.end and self.start <= start and end <= self.end)


def coverage(con: Any, dataset: str) -> Coverage:
    """Coverage from the releases manifest: the dates a release states in its title
    (else its first and last event), unioned per AOR over the releases holding it."""
    rel = table(con, "releases")
    rel = rel.filter(rel.dataset == dataset)
    rows = (
        rel.select(
            "release_id",
            "file_name",
            "sheet",
            "coverage_start",
            "coverage_end",
            "min_event_date",
            "max_event_date",
        )
        .order_by("release_id")  # a stable order on every backend
        .to_pyarrow()
        .to_pylist()
    )
    spans: dict[str, tuple[date, date]] = {}
    for r in rows:
        lo = r["coverage_start"] or r["min_event_date"]
        hi = r["coverage_end"] or r["max_event_date"]
        if lo and hi:
            spans[r["release_id"]] = (_as_date(lo), _as_date(hi))
    if not spans:
        return Coverage(None, None, {}, [])
    t = table(con, dataset)
    t = t.filter(t.aor.notnull())
    pairs = t.group_by(["release_id", "aor"]).aggregate(k=t.n.count()).to_pyarrow().to_pylist()
    by_aor: dict[str, tuple[date, date]] = {}
    for p in pairs:
        span = spans.get(p["release_id"])
        if span is None:
            continue
        lo, hi = by_aor.get(p["aor"], span)
        by_aor[p["aor"]] = (min(lo, span[0]), max(hi, span[1]))
    releases = [
        {
            "release_id": r["release_id"],
            "file": r["file_name"],
            "sheet": r["sheet"],
            "start": spans[r["release_id"]][0].isoformat(),
            "end": spans[r["release_id"]][1].isoformat(),
        }
        for r in rows
        if r["release_id"] in spans
    ]
    return Coverage(
        start=min(s for s, _ in spans.values()),
        end=max(e for _, e in spans.values()),
        by_aor=by_aor,
        releases=releases,
    )
