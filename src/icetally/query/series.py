"""Daily series: what the analyses read from the store (coverage is a fact of the
store: ``Store.coverage``, icetally.store.coverage).

It is an Ibis expression, so the same code serves DuckDB and Spark; the heavy lifting
(grouping millions of rows to AOR-days) happens in the backend and only the small
daily table comes back.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from icetally.normalize.rules import OUT_OF_RANGE_FLAG
from icetally.query.backend import table
from icetally.query.filters import QueryError, Slice
from icetally.vocabulary import AREAS, DEFAULT_AREA, METRICS, as_date, parse_area


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


def daily_expr(t: Any, slc: Slice, area: str = DEFAULT_AREA) -> Any:
    """Records per area-day of the slice: ``n`` sums the rows' ``n`` (1 per record, a
    count table's cell as counted). ``area``: the kind of area (vocabulary ``AREAS``:
    aor, state, county); the area's code is in the column ``aor`` whatever the kind,
    the name the surge model keys its series by."""
    col = AREAS[parse_area(area)].column
    f = slc.apply(t)
    # a count table's reported zero adds nothing: left out, so its series is the one
    # its records give (a day without rows inside coverage is zero either way)
    f = f.filter(f.event_date.notnull(), f[col].notnull(), plausible(f), f.n != 0)
    return f.group_by(date=f.event_date, aor=f[col]).aggregate(n=f.n.sum())


def empty_series_note(dataset: str, area: str) -> str:
    """The note an analysis gives when the slice has no dated records in any area."""
    where = "an AOR" if area == "aor" else f"a {AREAS[area].label}"
    return f"no {dataset} records with a date and {where} in this slice"


def out_of_range_count(con: Any, slc: Slice) -> int:
    """Records of the slice left out of series because their date is implausible."""
    f = slc.apply(table(con, slc.dataset))
    f = f.filter(f.date_flag.notnull() & f.date_flag.contains(OUT_OF_RANGE_FLAG))
    return int(f.n.sum().fill_null(0).to_pyarrow().as_py() or 0)


def daily_series(con: Any, slc: Slice, area: str = DEFAULT_AREA) -> pd.DataFrame:
    """Columns date (datetime.date), aor, n: records per area-day in the slice (per
    AOR by default; ``area="state"``: ``aor`` holds the state's postal code)."""
    df = daily_expr(table(con, slc.dataset), slc, area).to_pandas()
    if df.empty:
        return pd.DataFrame({"date": [], "aor": [], "n": []})
    df["date"] = [as_date(v) for v in df["date"]]
    df["n"] = df["n"].astype("int64")
    return df.sort_values(["aor", "date"]).reset_index(drop=True)
