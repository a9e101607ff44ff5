"""Detainer outcomes as a cooperation signal.

A detainer asks a local jail to hold a person for ICE. Its lift reason says how it
ended; "Detainer Declined by LEA" means the local law-enforcement agency refused it.
Per facility, county or AOR and period: detainers issued, declined, booked into ICE
custody, lifted, other outcomes and still open; the decline rate (declined / issued)
with a Wilson interval; and change points where the daily decline rate shifts
(binary segmentation, permutation likelihood-ratio test; docs/methods.md).
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from icetally.analysis.jurisdictions.common import (
    PERIODS,
    county_label,
    parse_county,
    period_of,
    resolve_place,
)
from icetally.analysis.jurisdictions.resolve import facility_key
from icetally.analysis.jurisdictions.stats import binary_segmentation, wilson
from icetally.query.filters import QueryError, Slice
from icetally.store.handle import Store

LEVELS = ("facility", "county", "aor")
OUTCOMES = ("declined", "booked", "lifted", "other", "open")


def outcome_of(lift_reason: str | None) -> str:
    """Outcome class of a lift reason as released. Matching is on words, so DDP's
    'Detainer Declined by LEA' and older spellings land in the same class."""
    if lift_reason is None or not lift_reason.strip():
        return "open"
    t = lift_reason.upper()
    if "DECLINED" in t:
        return "declined"
    if "BOOKED" in t:
        return "booked"
    if t.startswith("LIFTED"):
        return "lifted"
    return "other"


@dataclass
class _Cell:
    counts: np.ndarray  # detainers, declined, booked, lifted, other, open


def _rate_row(c: np.ndarray) -> dict[str, Any]:
    n, k = int(c[0]), int(c[1])
    lo, hi = wilson(k, n)
    return {
        "detainers": n,
        "declined": k,
        "booked": int(c[2]),
        "lifted": int(c[3]),
        "other": int(c[4]),
        "open": int(c[5]),
        "decline_rate": (k / n) if n else None,
        "low": lo,
        "high": hi,
    }


def _daily(store: Store, slc: Slice) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Daily counts per distinct place and lift reason (one query), plus the query."""
    f = slc.apply(store.table("detainers"))
    keys = ["facility", "facility_city", "state", "county", "county_fips", "aor", "lift_reason"]
    expr = f.group_by([*keys, "event_date"]).aggregate(n=f.n.sum())
    rows = expr.to_pyarrow().to_pylist()
    import ibis

    return rows, {"dataset": "detainers", "filters": slc.to_dict(), "sql": str(ibis.to_sql(expr))}


def cooperation(
    store: Store | str | os.PathLike[str] | None = None,
    *,
    db: str | os.PathLike[str] | None = None,
    county: str | None = None,
    facility: str | None = None,
    aor: str | None = None,
    level: str | None = None,
    by: str = "month",
    date_from: str | date | None = None,
    date_to: str | date | None = None,
    release: str | None = None,
    backend: str | None = None,
    min_n: int = 30,
    alpha: float = 0.01,
    min_shift: float = 0.05,
) -> dict[str, Any]:
    """Detainer outcome series and decline-rate change points.

    ``county`` (FIPS or 'Name County, ST'), ``facility`` (name, or part of it) or ``aor``
    (code) select what to look at; ``level`` (facility|county|aor) is what each series
    row is about (default: the selector's level, else county). Returns
    ``{"level", "by", "series": [...], "changes": [...], "resolution": {...}, "query"}``.
    """
    if by not in PERIODS:
        raise QueryError(f"--by must be month, quarter or year (or week, fiscal_year), not {by!r}")
    level = level or (
        "facility" if facility else "county" if county else "aor" if aor else "county"
    )
    if level not in LEVELS:
        raise QueryError(f"--level must be one of {', '.join(LEVELS)}, not {level!r}")
    want_county = parse_county(county) if county else None
    want_aor = aor.strip().upper() if aor else None
    want_fac = facility_key(facility) if facility else None
    slc = Slice.build("detainers", date_from=date_from, date_to=date_to, release=release)
    with Store.borrow(store, db=db, backend=backend) as s:
        rows, query = _daily(s, slc)

    # --- resolve each row's place (the resolver memoises distinct places)
    daily: dict[str, dict[date, np.ndarray]] = defaultdict(dict)
    names: dict[str, dict[str, Any]] = {}
    method_n: Counter[str] = Counter()
    unresolved: Counter[tuple[str, str, str]] = Counter()
    total = undated = resolved = 0
    for r in rows:
        place = resolve_place(
            facility=r["facility"],
            city=r["facility_city"],
            state=r["state"],
            county=r["county"],
            county_fips=r["county_fips"],
            aor=r["aor"],
        )
        n = int(r["n"] or 0)
        total += n
        method_n[place.method] += n
        if place.county_fips:
            resolved += n
        else:
            unresolved[(r["facility"] or "", r["facility_city"] or "", r["state"] or "")] += n
        fips = place.county_fips
        p_aor = place.aor or (r["aor"] or None)
        if want_county and fips != want_county:
            continue
        if want_aor and p_aor != want_aor:
            continue
        if want_fac:
            fk = facility_key(r["facility"])
            if not fk or want_fac not in fk:
                continue
        if r["event_date"] is None:
            undated += n
            continue
        if level == "facility":
            jid = f"{r['facility'] or '?'}|{place.state_abbr or r['state'] or '?'}"
            names.setdefault(
                jid,
                {
                    "facility": r["facility"],
                    "city": r["facility_city"],
                    "state": place.state_abbr or r["state"],
                    "county_fips": fips,
                    "county": county_label(fips),
                    "aor": p_aor,
                },
            )
        elif level == "county":
            if not fips:
                continue
            jid = fips
            names.setdefault(jid, {"county_fips": fips, "county": county_label(fips), "aor": p_aor})
        else:
            if not p_aor:
                continue
            jid = p_aor
            names.setdefault(jid, {"aor": p_aor})
        d = r["event_date"]
        cell = daily[jid].get(d)
        if cell is None:
            cell = daily[jid][d] = np.zeros(6, dtype=np.int64)
        cell[0] += n
        cell[1 + OUTCOMES.index(outcome_of(r["lift_reason"]))] += n

    series: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for jid in sorted(daily):
        days = daily[jid]
        per: dict[tuple[str, date], np.ndarray] = {}
        for d, c in days.items():
            label, start = period_of(d, by)
            key = (label, start)
            per[key] = per.get(key, np.zeros(6, dtype=np.int64)) + c
        for (label, start), c in sorted(per.items(), key=lambda kv: kv[0][1]):
            series.append(
                {
                    "jurisdiction": jid,
                    **names[jid],
                    "period": label,
                    "period_start": start,
                    **_rate_row(c),
                }
            )
        changes += _changes(jid, names[jid], days, min_n=min_n, alpha=alpha, min_shift=min_shift)

    top = [
        {"facility": f, "city": c, "state": s, "n": n}
        for (f, c, s), n in sorted(unresolved.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return {
        "level": level,
        "by": by,
        "series": series,
        "changes": changes,
        "resolution": {
            "detainers": total,
            "resolved_county": resolved,
            "share": resolved / total if total else None,
            "by_method": dict(method_n.most_common()),
            "unresolved": top,
            "undated": undated,
        },
        "query": {
            **query,
            "level": level,
            "by": by,
            "county": want_county,
            "facility": facility,
            "aor": want_aor,
        },
    }


def _changes(
    jid: str,
    meta: dict[str, Any],
    days: dict[date, np.ndarray],
    *,
    min_n: int,
    alpha: float,
    min_shift: float,
) -> list[dict[str, Any]]:
    order = sorted(days)
    k = np.array([days[d][1] for d in order], dtype=np.int64)
    n = np.array([days[d][0] for d in order], dtype=np.int64)
    if n.sum() < 2 * min_n or k.sum() == 0:
        return []
    found = binary_segmentation(k, n, min_n=min_n, alpha=alpha, min_shift=min_shift)
    bounds = [0, *(c.index for c in found), len(order)]
    out = []
    for i, c in enumerate(found):
        b0, b1, b2 = bounds[i], bounds[i + 1], bounds[i + 2]
        kb, nb = int(k[b0:b1].sum()), int(n[b0:b1].sum())
        ka, na = int(k[b1:b2].sum()), int(n[b1:b2].sum())
        lb, hb = wilson(kb, nb)
        la, ha = wilson(ka, na)
        out.append(
            {
                "jurisdiction": jid,
                **meta,
                "date": order[b1],
                "last_before": order[b1 - 1],
                "before_from": order[b0],
                "after_to": order[b2 - 1],
                "before_rate": kb / nb if nb else None,
                "before_low": lb,
                "before_high": hb,
                "before_detainers": nb,
                "before_declined": kb,
                "after_rate": ka / na if na else None,
                "after_low": la,
                "after_high": ha,
                "after_detainers": na,
                "after_declined": ka,
                "direction": "more_declines"
                if na and nb and ka / na > kb / nb
                else "fewer_declines",
                "llr": c.llr,
                "p_value": c.p_value,
            }
        )
    return out
