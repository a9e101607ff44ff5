"""Surges found in the store: the daily series of a slice, its coverage, and the
detector in ``analysis/surges.py`` tied together, with the query behind every figure."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import ibis

from icetally.analysis.defaults import DEFAULT_MAX_WINDOW, DEFAULT_MIN_EXCESS, DEFAULT_THRESHOLD
from icetally.analysis.surges import Surge, detect_surges
from icetally.normalize.rules import EVENT_DATE_FIRST
from icetally.query.filters import QueryError, Slice
from icetally.query.series import (
    daily_expr,
    daily_series,
    empty_series_note,
    metric_slice,
    out_of_range_count,
)
from icetally.store.handle import Store
from icetally.vocabulary import AREAS, DEFAULT_AREA, parse_area


@dataclass
class SurgesResult:
    surges: list[Surge]
    query: dict[str, Any]
    parameters: dict[str, Any]
    coverage: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    # the kind of area the series are per (vocabulary AREAS); each surge's "aors"
    # entries name an area of this kind (their "aor" and "area" keys hold its code)
    area: str = DEFAULT_AREA

    def to_dict(self) -> dict[str, Any]:
        surges = []
        for s in self.surges:
            d = s.to_dict()
            for part in d["aors"]:
                part["area"] = part["aor"]
            surges.append(d)
        return {
            "area": self.area,
            "surges": surges,
            "query": self.query,
            "parameters": self.parameters,
            "coverage": self.coverage,
            "notes": self.notes,
        }


def surges(
    dataset: str = "arrests",
    *,
    metric: str = "all",
    store: Store | str | os.PathLike[str] | None = None,
    db: str | os.PathLike[str] | None = None,
    backend: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    aor: str | list[str] | None = None,
    area: str = DEFAULT_AREA,
    min_excess: float = DEFAULT_MIN_EXCESS,
    threshold: float = DEFAULT_THRESHOLD,
    max_window: int = DEFAULT_MAX_WINDOW,
    con: Any = None,
    **filters: Any,
) -> SurgesResult:
    """Find multi-day operations standing above the daily baseline of each area:
    AOR by default, ``area="state"`` or ``"county"`` per state or county (records and
    count tables alike: the series sum ``n``).

    The baseline is fitted on the whole coverage of the dataset (so a window near the
    edge of ``date_from``/``date_to`` still has a baseline); ``date_from``/``date_to``
    only restrict which windows are reported.

    >>> icetally.surges("arrests", metric="at_large", date_from="2017-02-01",
    ...                 date_to="2017-02-28", db="ice.duckdb")
    """
    area = parse_area(area)
    window = Slice.build(dataset, date_from=date_from, date_to=date_to)
    base = Slice.build(dataset, aor=aor, **filters)
    slc = metric_slice(base, metric)
    if not 1 <= max_window <= 62:
        raise QueryError("--max-window must be between 1 and 62 days")
    if not 0 < threshold < 1:
        raise QueryError("--threshold is a p-value per AOR-year, between 0 and 1")
    with Store.borrow(store, db=db, backend=backend, con=con) as s:
        daily = daily_series(s, slc, area)
        skipped = out_of_range_count(s, slc)
        cov = s.coverage(dataset, area)
        backend_name = s.backend_name
        expr = daily_expr(s.table(dataset), slc, area)
        series_sql = str(ibis.to_sql(expr))
    notes: list[str] = []
    if skipped:
        notes.append(
            f"{skipped:,} {dataset} records dated outside the plausible span (from "
            f"{EVENT_DATE_FIRST} to a year after ingest) are left out of the series: "
            "see date_flag 'event_date:out_of_range'"
        )
    if daily.empty or cov.start is None:
        notes.append(empty_series_note(dataset, area))
        found: list[Surge] = []
    else:
        found = detect_surges(
            daily,
            coverage=cov.by_area or cov.spans,
            date_from=window.date_from,
            date_to=window.date_to,
            aors=_areas_of(slc, area),
            min_excess=min_excess,
            threshold=threshold,
            max_window=max_window,
        )
    query = {
        "dataset": dataset,
        "metric": metric,
        "filters": slc.to_dict() | window.to_dict(),
        "area": area,
        "series_sql": series_sql,
        "backend": backend_name,
    }
    parameters = {
        "threshold": threshold,
        "max_window": max_window,
        "min_excess": min_excess,
        "area": area,
        "method": f"robust negative-binomial baseline per {AREAS[area].label}; "
        "expectation-based scan over 1..max_window-day windows; p-value per "
        f"{AREAS[area].label}-year (docs/methods.md)",
    }
    return SurgesResult(found, query, parameters, cov.to_dict(), notes, area)


def _areas_of(slc: Slice, area: str) -> list[str] | None:
    """The areas of the kind the slice names (its --aor, --state or --county), to
    restrict the scan to; None for all. (The slice filters the records either way.)"""
    if area == "aor":
        return slc.aor or None
    if area == "state":
        return slc.state or None
    return [c.zfill(5) for c in slc.county if c.isdigit()] or None
