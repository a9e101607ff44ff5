"""Enforcement intensity by jurisdiction, and its change after a cooperation change.

* ``intensity``: arrests per 100,000 residents, at-large and custodial shares, by AOR or
  county and period. Populations come from the shipped counties table (ACS totals). A
  release without a county column gets one from its landmark where the resolver can
  (``icetally.analysis.jurisdictions.resolve``); the coverage says how many arrests that placed.
* ``did``: difference in differences of a county's arrests per period before and after a
  date (a detected or known cooperation change) against comparison counties.

The assumptions are written out in docs/methods.md ("Jurisdictions and cooperation").
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

import ibis

from icetally.analysis.jurisdictions.common import (
    aor_population,
    county_label,
    county_population,
    parse_county,
    period_of,
    resolve_place,
)
from icetally.analysis.jurisdictions.stats import did as _did
from icetally.query.filters import QueryError, Slice, parse_date
from icetally.store.handle import Store
from icetally.vocabulary import METHOD_CLASSES, METRICS


def _per_100k(n: float, pop: int | None) -> float | None:
    return n / pop * 100_000 if pop else None


def _pull(
    store: Store, dataset: str, slc: Slice, keys: list[str]
) -> tuple[list[dict[str, Any]], str]:
    t = store.table(dataset)
    f = slc.apply(t)
    cols = [c for c in keys if c in t.columns]
    mc = f.method_class.fill_null("other") if "method_class" in t.columns else ibis.literal("other")
    expr = (
        f.mutate(_mc=mc)
        .group_by([*cols, "_mc"])
        .aggregate(n=f.n.sum(), first=f.event_date.min(), last=f.event_date.max())
    )
    return expr.to_pyarrow().to_pylist(), str(ibis.to_sql(expr))


def intensity(
    store: Store | str | os.PathLike[str] | None = None,
    *,
    db: str | os.PathLike[str] | None = None,
    level: str = "aor",
    by: str = "fiscal_year",
    dataset: str = "arrests",
    aor: str | None = None,
    county: str | None = None,
    date_from: str | date | None = None,
    date_to: str | date | None = None,
    fiscal_year: str | int | None = None,
    release: str | None = None,
    backend: str | None = None,
) -> dict[str, Any]:
    """Arrests per 100,000 residents and at-large / custodial shares per AOR or county
    and period (``by``: fiscal_year, year, quarter, month, or ``none`` for the whole
    span). Returns ``{"level", "by", "rows": [...], "coverage": {...}, "query"}``."""
    if level not in ("aor", "county"):
        raise QueryError(f"level must be aor or county, not {level!r}")
    slc = Slice.build(
        dataset,
        date_from=date_from,
        date_to=date_to,
        aor=aor,
        fiscal_year=fiscal_year,
        release=release,
    )
    want_county = parse_county(county) if county else None
    keys = ["event_date"] if by != "none" else []
    if level == "county":
        keys += ["county_fips", "county", "state", "landmark", "aor"]
    else:
        keys += ["aor"]
    with Store.borrow(store, db=db, backend=backend) as s:
        rows, sql = _pull(s, dataset, slc, keys)
    acc: dict[tuple[str, str], dict[str, Any]] = {}
    placed = Counter[str]()
    total = 0
    for r in rows:
        n = int(r["n"] or 0)
        total += n
        if level == "county":
            place = resolve_place(
                facility=r.get("landmark"),
                state=r.get("state"),
                county=r.get("county"),
                county_fips=r.get("county_fips"),
                aor=r.get("aor"),
            )
            placed[place.method if place.county_fips else "unresolved"] += n
            if not place.county_fips:
                continue
            jid = place.county_fips
            if want_county and jid != want_county:
                continue
        else:
            jid = r["aor"] or "unknown"
        if by == "none":
            label = "all"
        else:
            d = r["event_date"]
            if d is None:
                continue
            label, _ = period_of(d, by)
        a = acc.setdefault(
            (jid, label),
            {"n": 0, "at_large": 0, "custodial": 0, "other": 0, "first": None, "last": None},
        )
        a["n"] += n
        a[r["_mc"] if r["_mc"] in METHOD_CLASSES else "other"] += n
        for k, pick in (("first", min), ("last", max)):
            if r[k] is not None:
                a[k] = r[k] if a[k] is None else pick(a[k], r[k])
    pops = aor_population()
    out: list[dict[str, Any]] = []
    for (jid, label), a in sorted(acc.items()):
        pop = county_population(jid) if level == "county" else pops.get(jid)
        n = a["n"]
        row: dict[str, Any] = (
            {"county_fips": jid, "county": county_label(jid)} if level == "county" else {"aor": jid}
        )
        row.update(
            {
                "period": label,
                "arrests": n,
                "at_large": a["at_large"],
                "custodial": a["custodial"],
                "other": a["other"],
                "population": pop,
                "per_100k": _per_100k(n, pop),
                "at_large_per_100k": _per_100k(a["at_large"], pop),
                "at_large_share": a["at_large"] / n if n else None,
                "custodial_share": a["custodial"] / n if n else None,
                "first": a["first"],
                "last": a["last"],
            }
        )
        out.append(row)
    coverage: dict[str, Any] = {"records": total}
    if level == "county":
        placed_n = total - placed.get("unresolved", 0)
        coverage.update(
            {
                "with_county": placed_n,
                "share": placed_n / total if total else None,
                "by_method": dict(placed.most_common()),
            }
        )
    return {
        "level": level,
        "by": by,
        "rows": out,
        "coverage": coverage,
        "query": {"dataset": dataset, "filters": slc.to_dict(), "county": want_county, "sql": sql},
    }


def _binned(
    store: Store,
    dataset: str,
    metric: str,
    change: date,
    period_days: int,
    lo: date,
    hi: date,
) -> dict[str, dict[date, float]]:
    """Counts per county in periods of ``period_days`` aligned on ``change`` (so no
    period straddles it), over [lo, hi)."""
    slc = Slice.build(
        dataset,
        date_from=lo,
        date_to=hi - timedelta(days=1),
        method_class=METRICS[metric].method_class,
    )
    f = slc.apply(store.table(dataset))
    expr = f.group_by(
        ["event_date", "county_fips", "county", "state", "landmark", "aor"]
    ).aggregate(n=f.n.sum())
    out: dict[str, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    for r in expr.to_pyarrow().to_pylist():
        if r["event_date"] is None:
            continue
        place = resolve_place(
            facility=r["landmark"],
            state=r["state"],
            county=r["county"],
            county_fips=r["county_fips"],
            aor=r["aor"],
        )
        if not place.county_fips:
            continue
        k = (r["event_date"] - change).days // period_days
        out[place.county_fips][change + timedelta(days=k * period_days)] += int(r["n"] or 0)
    return out


def did(
    store: Store | str | os.PathLike[str] | None = None,
    *,
    db: str | os.PathLike[str] | None = None,
    county: str,
    change: str | date,
    metric: str = "at_large",
    dataset: str = "arrests",
    comparison: list[str] | None = None,
    period_days: int = 28,
    window_days: int | None = 365,
    backend: str | None = None,
) -> dict[str, Any]:
    """Difference in differences of ``metric`` arrests (at_large, custodial, other or
    all) in ``county`` before vs after ``change``, against ``comparison`` counties
    (default: every other county with such arrests in the window). Periods are
    ``period_days`` long and aligned on the change date; ``window_days`` on each side
    (None: all data)."""
    fips = parse_county(county)
    when = parse_date(change, "change") if not isinstance(change, date) else change
    if when is None:
        raise QueryError("a change date is needed")
    if metric not in METRICS:
        raise QueryError(f"metric must be {', '.join(METRICS)}, not {metric!r}")
    lo = when - timedelta(days=window_days) if window_days else date(1900, 1, 1)
    hi = when + timedelta(days=window_days) if window_days else date(2100, 1, 1)
    with Store.borrow(store, db=db, backend=backend) as s:
        binned = _binned(s, dataset, metric, when, period_days, lo, hi)
    treated = binned.get(fips, {})
    # every period in the window counts, including those with no arrests (zeros)
    periods = sorted({p for c in binned.values() for p in c})
    controls_ids = (
        [parse_county(c) for c in comparison]
        if comparison
        else sorted(c for c in binned if c != fips)
    )
    full = {p: treated.get(p, 0.0) for p in periods}
    ctrl = [{p: binned.get(c, {}).get(p, 0.0) for p in periods} for c in controls_ids]
    res = _did(full, ctrl, when)
    pop = county_population(fips)
    per_day = res.estimate / period_days
    return {
        "county_fips": fips,
        "county": county_label(fips),
        "change": when,
        "metric": metric,
        "period_days": period_days,
        "treated_before": res.treated_before,
        "treated_after": res.treated_after,
        "control_before": res.control_before,
        "control_after": res.control_after,
        "estimate": res.estimate,
        "low": res.low,
        "high": res.high,
        "se": res.se,
        "estimate_per_day": per_day,
        "estimate_per_100k_per_year": _per_100k(per_day * 365.25, pop),
        "periods_before": res.periods_before,
        "periods_after": res.periods_after,
        "comparison": controls_ids,
        "method": "difference in differences of mean counts per period (docs/methods.md)",
    }
