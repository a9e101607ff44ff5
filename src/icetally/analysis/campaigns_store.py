"""Campaigns found in the store: the daily series of a slice per area (AOR, state or
county), the area's gap-aware coverage, and the detector in ``analysis/campaigns.py``
tied together, with the query behind every figure."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import ibis

from icetally.analysis.campaigns import (
    DEFAULT_MAX_WEEKS,
    DEFAULT_MIN_EXCESS,
    DEFAULT_MIN_RATIO,
    DEFAULT_MIN_WEEKS,
    Campaign,
    LevelChange,
    detect_campaigns,
    window_outside_campaigns,
)
from icetally.query.filters import QueryError, Slice
from icetally.query.series import daily_expr, daily_series, empty_series_note, metric_slice
from icetally.store.handle import Store
from icetally.vocabulary import DEFAULT_AREA, parse_area

# the filter that picks one area of a kind (a campaign's own query)
AREA_FILTERS = {"aor": "aor", "state": "state", "county": "county"}


@dataclass
class CampaignsResult:
    campaigns: list[Campaign]
    level_changes: list[LevelChange]
    query: dict[str, Any]
    parameters: dict[str, Any]
    coverage: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "campaigns": [c.to_dict() for c in self.campaigns],
            "level_changes": [c.to_dict() for c in self.level_changes],
            "query": self.query,
            "parameters": self.parameters,
            "coverage": self.coverage,
            "notes": self.notes,
        }

    def find(self, campaign_id: str) -> Campaign | None:
        return next((c for c in self.campaigns if c.id == campaign_id), None)


def campaign_sql(store: Store, dataset: str, metric: str, area: str, c: Campaign) -> str:
    """The SQL behind one campaign's daily observed counts."""
    slc = metric_slice(
        Slice.build(
            dataset,
            date_from=c.start.isoformat(),
            date_to=c.end.isoformat(),
            **{AREA_FILTERS[area]: c.area},
        ),
        metric,
    )
    return str(ibis.to_sql(daily_expr(store.table(dataset), slc, area)))


def campaigns(
    dataset: str = "arrests",
    *,
    metric: str = "all",
    area: str = DEFAULT_AREA,
    store: Store | str | os.PathLike[str] | None = None,
    db: str | os.PathLike[str] | None = None,
    backend: str | None = None,
    date_from: str | date | None = None,
    date_to: str | date | None = None,
    min_weeks: int = DEFAULT_MIN_WEEKS,
    max_weeks: int = DEFAULT_MAX_WEEKS,
    min_ratio: float = DEFAULT_MIN_RATIO,
    min_excess: float = DEFAULT_MIN_EXCESS,
    **filters: Any,
) -> CampaignsResult:
    """Campaigns (sustained rises that come back down) and level changes in the daily
    series of each area of kind ``area`` (aor, state or county).

    The model is fitted on the area's whole coverage; ``date_from``/``date_to`` only
    restrict what is reported (campaigns overlapping the window)."""
    area = parse_area(area)
    if not 1 <= min_weeks <= max_weeks <= 52:
        raise QueryError("--min-weeks and --max-weeks: 1 <= min <= max <= 52")
    if min_ratio <= 1:
        raise QueryError("--min-ratio must be above 1")
    window = Slice.build(dataset, date_from=date_from, date_to=date_to)
    slc = metric_slice(Slice.build(dataset, **filters), metric)
    with Store.borrow(store, db=db, backend=backend) as s:
        daily = daily_series(s, slc, area)  # column aor holds the area's code
        cov = s.coverage(dataset, area)
        series_sql = str(ibis.to_sql(daily_expr(s.table(dataset), slc, area)))
        backend_name = s.backend_name
        notes: list[str] = []
        if daily.empty or cov.start is None:
            notes.append(empty_series_note(dataset, area))
            found_c: list[Campaign] = []
            found_l: list[LevelChange] = []
        else:
            scan = detect_campaigns(
                daily,
                coverage=cov.by_area or cov.spans,
                date_from=window.date_from,
                date_to=window.date_to,
                min_weeks=min_weeks,
                max_weeks=max_weeks,
                min_ratio=min_ratio,
                min_excess=min_excess,
            )
            found_c, found_l = scan.campaigns, scan.level_changes
        if cov.gaps:
            notes.append(
                "coverage gaps (not counted as zeros): "
                + ", ".join(f"{a} to {b}" for a, b in cov.gaps)
            )
    query = {
        "dataset": dataset,
        "metric": metric,
        "area": area,
        "filters": slc.to_dict() | window.to_dict(),
        "series_sql": series_sql,
        "backend": backend_name,
    }
    parameters = {
        "min_weeks": min_weeks,
        "max_weeks": max_weeks,
        "min_ratio": min_ratio,
        "min_excess": min_excess,
        "method": "weekly levels with weekday and holiday effects; optimal partitioning "
        "(PELT's exact solution) per area; runs that rise and come back down are "
        "campaigns, edges fitted on daily counts; baseline = the area's level outside "
        "the campaign (docs/methods.md)",
    }
    return CampaignsResult(found_c, found_l, query, parameters, cov.to_dict(), notes)


def area_kind_of(campaign_id: str) -> str:
    """The kind of area a campaign id names, from its code's shape: five digits a
    county (FIPS), two letters a state, otherwise an AOR (three letters)."""
    code = campaign_id.rsplit("-", 1)[0]
    if code.isdigit() and len(code) == 5:
        return "county"
    if code.isalpha() and len(code) == 2:
        return "state"
    return "aor"


def place_name(area: str, code: str) -> str:
    """An area's name for sentences: 'Illinois (IL)', 'Chicago AOR (CHI)'."""
    from icetally import reference

    if area == "state":
        name = next((s.name for s in reference.states() if s.abbr == code), None)
    elif area == "county":
        name = next(
            (f"{c.county_name}, {c.state_abbr}" for c in reference.counties() if c.fips == code),
            None,
        )
    else:
        aor = reference.aor_name(code)
        name = f"{aor} AOR" if aor else None
    return f"{name} ({code})" if name else code


def outside_campaigns(
    store: Store, slc: Slice, area: str, start: date, end: date
) -> dict[str, Any]:
    """A window's observed and expected records at the level outside the campaigns
    detected in the slice's series per ``area`` (``window_outside_campaigns``), with the
    query of the series. ``slc``: the slice without its date window."""
    daily = daily_series(store, slc, area)
    cov = store.coverage(slc.dataset, area)
    if daily.empty or cov.start is None:
        return {"observed": 0.0, "expected": 0.0, "variance": 0.0, "campaigns": [], "days": 0}
    scan = detect_campaigns(daily, coverage=cov.by_area or cov.spans)
    out = window_outside_campaigns(scan, start, end)
    out["query"] = {
        "dataset": slc.dataset,
        "area": area,
        "filters": slc.to_dict(),
        "series_sql": str(ibis.to_sql(daily_expr(store.table(slc.dataset), slc, area))),
        "campaigns": out["campaigns"],
        "method": "campaign model: the area's level outside its detected campaigns "
        "(docs/methods.md, Campaign detection)",
    }
    return out
