"""Helpers shared by the cooperation and intensity analyses: time buckets, the store's
Ibis table, and resolving the distinct places of a table to counties."""

from __future__ import annotations

from collections import Counter
from datetime import date
from functools import cache

from icetally import reference
from icetally.analysis.jurisdictions.resolve import Place, resolver
from icetally.query.filters import QueryError

PERIODS = ("week", "month", "quarter", "year", "fiscal_year")


def period_of(d: date, by: str) -> tuple[str, date]:
    """(label, first day) of the period holding ``d``."""
    if by == "month":
        return f"{d.year:04d}-{d.month:02d}", date(d.year, d.month, 1)
    if by == "quarter":
        q = (d.month - 1) // 3
        return f"{d.year:04d}-Q{q + 1}", date(d.year, 3 * q + 1, 1)
    if by == "year":
        return f"{d.year:04d}", date(d.year, 1, 1)
    if by == "fiscal_year":
        fy = d.year + (1 if d.month >= 10 else 0)
        return f"FY{fy}", date(fy - 1, 10, 1)
    if by == "week":
        start = date.fromordinal(d.toordinal() - d.weekday())
        return start.isoformat(), start
    raise QueryError(f"--by must be one of {', '.join(PERIODS)}, not {by!r}")


def county_label(fips: str | None) -> str | None:
    if not fips:
        return None
    c = _counties().get(fips)
    return f"{c.county_name}, {c.state_abbr}" if c else fips


@cache
def _counties() -> dict[str, reference.County]:
    return {c.fips: c for c in reference.counties()}


def county_population(fips: str) -> int | None:
    c = _counties().get(fips)
    return c.population if c else None


def aor_population() -> dict[str, int]:
    """Residents per AOR: the sum of its counties (a county belongs to one AOR in the
    shipped table; Harlingen's counties are counted under San Antonio there)."""
    out: dict[str, int] = Counter()
    for c in _counties().values():
        out[c.aor] += c.population
    return dict(out)


def parse_county(text: str) -> str:
    """'42091', '42091 ', 'Montgomery County, PA' -> '42091' (QueryError otherwise)."""
    t = text.strip()
    if t.isdigit():
        fips = t.zfill(5)
        if fips not in _counties():
            raise QueryError(f"--county {text!r} is not a county FIPS code")
        return fips
    parts = [p.strip() for p in t.split(",")]
    st = reference.state_abbr(parts[-1]) if len(parts) > 1 else None
    fips = resolver().county_in_state(",".join(parts[:-1]), st) if st else None
    if not fips:
        raise QueryError(f"--county {text!r}: give a 5-digit FIPS code or 'Name County, ST'")
    return fips


def resolve_place(
    *,
    facility: str | None = None,
    city: str | None = None,
    state: str | None = None,
    county: str | None = None,
    county_fips: str | None = None,
    aor: str | None = None,
) -> Place:
    """County of a record's place: the released county FIPS when the release has one,
    else the resolver on its facility/landmark, city, state and AOR."""
    if county_fips and county_fips in _counties():
        c = _counties()[county_fips]
        return Place(county_fips, c.state_abbr, c.aor, "released", "county in release")
    return resolver().resolve(facility, city=city, state=state, aor=aor, county=county)
