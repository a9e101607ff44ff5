"""One row per county or AOR: cooperation status (287(g) agreements, user policies,
detainer declines) beside enforcement intensity (arrests per 100,000 residents)."""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import date
from typing import Any

from icetally import reference
from icetally.analysis.jurisdictions.common import aor_population
from icetally.analysis.jurisdictions.cooperation import cooperation
from icetally.analysis.jurisdictions.intensity import intensity
from icetally.query.backend import BackendError
from icetally.query.filters import QueryError
from icetally.store.handle import Store


def _store_rows(store: Store, table: str, columns: list[str]) -> list[dict[str, Any]] | None:
    """The columns of one of the store's tables; None when the table is absent."""
    if not store.has_table(table):
        return None
    return store.rows(store.table(table).select(*columns))


def _has_rows(store: Store, dataset: str) -> bool:
    return store.has_table(dataset) and bool(store.table(dataset).count().to_pyarrow().as_py())


def jurisdictions(
    store: Store | str | os.PathLike[str] | None = None,
    *,
    db: str | os.PathLike[str] | None = None,
    level: str = "county",
    on: str | date | None = None,
    aor: str | None = None,
    state: str | None = None,
    only_active: bool = False,
    backend: str | None = None,
) -> dict[str, Any]:
    """Cooperation status and enforcement intensity per county (``level='county'``) or
    AOR (``level='aor'``). ``on``: the date at which 287(g) agreements and policies are
    read (default: the latest list). ``only_active``: leave out counties with no
    agreement, policy, detainer or arrest. Returns ``{"level", "rows", "warnings"}``."""
    with Store.borrow(store, db=db, backend=backend) as s:
        return _jurisdictions(s, level=level, on=on, aor=aor, state=state, only_active=only_active)


def _jurisdictions(
    store: Store,
    *,
    level: str,
    on: str | date | None,
    aor: str | None,
    state: str | None,
    only_active: bool,
) -> dict[str, Any]:
    if level not in ("county", "aor"):
        raise QueryError(f"level must be county or aor, not {level!r}")
    warnings: list[str] = []
    on_date = date.fromisoformat(on) if isinstance(on, str) else on
    st = reference.state_abbr(state) if state else None
    if state and not st:
        raise QueryError(f"unknown state {state!r}")
    want_aor = aor.upper() if aor else None

    # --- 287(g) agreements in force on the date (or on the latest list)
    agreements = _store_rows(
        store,
        "jurisdictions",
        [
            "status",
            "scope",
            "state_abbr",
            "county_fips",
            "aor",
            "agency_key",
            "model",
            "start_date",
            "end_date",
            "as_of",
            "source_kind",
        ],
    )
    if agreements is None:
        agreements = []
        warnings.append(
            "no 287(g) lists in the store: run `icetally jurisdictions load "
            "../shared/data/287g/` for agreement counts"
        )
    current = [a for a in agreements if a["status"] in ("participating", "pending")]
    if current:
        as_ofs = sorted({a["as_of"] for a in current if a["as_of"]})
        pick = as_ofs[-1] if as_ofs else None
        if on_date and as_ofs:
            before = [d for d in as_ofs if d <= on_date]
            pick = before[-1] if before else None
        current = [a for a in current if a["as_of"] == pick]
        if pick is None:
            warnings.append(f"no 287(g) list dated on or before {on_date}")
    hist = [a for a in agreements if a["status"] == "historical"]

    policies = (
        _store_rows(
            store,
            "jurisdiction_policies",
            [
                "jurisdiction",
                "scope",
                "state_abbr",
                "county_fips",
                "aor",
                "policy",
                "start_date",
                "end_date",
            ],
        )
        or []
    )

    def key_of(row: dict[str, Any]) -> str | None:
        return row["county_fips"] if level == "county" else row["aor"]

    g: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "agencies": set(),
            "models": set(),
            "agreements": 0,
            "pending": 0,
            "historical": set(),
            "state_agreements": 0,
        }
    )
    state_level: dict[str, int] = defaultdict(int)
    for a in current:
        if a["scope"] == "state" and not a["county_fips"]:
            state_level[a["state_abbr"] or "?"] += 1
            continue
        k = key_of(a)
        if not k:
            continue
        if a["status"] == "pending":
            g[k]["pending"] += 1
        else:
            g[k]["agreements"] += 1
            g[k]["agencies"].add(a["agency_key"])
            g[k]["models"].add(a["model"])
    for a in hist:
        k = key_of(a)
        if k:
            g[k]["historical"].add(a["agency_key"])

    pol: dict[str, list[str]] = defaultdict(list)
    for p in policies:
        active = on_date is None or (
            p["start_date"] <= on_date and (p["end_date"] is None or p["end_date"] >= on_date)
        )
        if not active:
            continue
        label = f"{p['policy']} (from {p['start_date']}" + (
            f" to {p['end_date']})" if p["end_date"] else ")"
        )
        if p["scope"] == "state":
            for c in reference.counties():
                if c.state_abbr == p["state_abbr"]:
                    pol[c.fips if level == "county" else c.aor].append(label)
        else:
            k = key_of(p)
            if k:
                pol[k].append(label)

    # --- detainers and arrests already in the store
    det: dict[str, dict[str, Any]] = {}
    try:
        if _has_rows(store, "detainers"):
            co = cooperation(store, level=level, by="year")
            for s in co["series"]:
                d = det.setdefault(s["jurisdiction"], {"detainers": 0, "declined": 0})
                d["detainers"] += s["detainers"]
                d["declined"] += s["declined"]
            for c in co["changes"]:
                det.setdefault(c["jurisdiction"], {"detainers": 0, "declined": 0}).setdefault(
                    "changes", []
                ).append(f"{c['date']}: {c['before_rate']:.0%} -> {c['after_rate']:.0%}")
        arr: dict[str, dict[str, Any]] = {}
        if _has_rows(store, "arrests"):
            it = intensity(store, level=level, by="fiscal_year")
            # one span for every unit: the years the arrests data covers, so a county
            # with no arrests in some year is not divided by fewer years
            firsts = [r["first"] for r in it["rows"] if r["first"]]
            lasts = [r["last"] for r in it["rows"] if r["last"]]
            span_years = ((max(lasts) - min(firsts)).days + 1) / 365.25 if firsts and lasts else 0.0
            for r in it["rows"]:
                k = r["county_fips"] if level == "county" else r["aor"]
                a = arr.setdefault(
                    k, {"arrests": 0, "at_large": 0, "custodial": 0, "years": span_years}
                )
                a["arrests"] += r["arrests"]
                a["at_large"] += r["at_large"]
                a["custodial"] += r["custodial"]
            if level == "county":
                cov = it["coverage"]
                warnings.append(
                    f"arrests placed in a county: {cov['with_county']:,} of {cov['records']:,} "
                    f"({(cov['share'] or 0):.0%}); the rest name no resolvable place"
                )
    except (BackendError, QueryError) as exc:
        warnings.append(str(exc))
        arr = {}

    rows: list[dict[str, Any]] = []
    if level == "county":
        units = [
            (
                c.fips,
                {
                    "county_fips": c.fips,
                    "county": f"{c.county_name}, {c.state_abbr}",
                    "state": c.state_abbr,
                    "aor": c.aor,
                    "population": c.population,
                },
            )
            for c in reference.counties()
        ]
    else:
        pops = aor_population()
        units = [
            (a.code, {"aor": a.code, "name": a.name, "population": pops.get(a.code)})
            for a in reference.aors()
        ]
    for k, base in units:
        if want_aor and base.get("aor") != want_aor:
            continue
        if st and level == "county" and base.get("state") != st:
            continue
        gg = g.get(k)
        d = det.get(k)
        a = arr.get(k)
        row = dict(base)
        pop = row.get("population")
        row.update(
            {
                "g287_agreements": gg["agreements"] if gg else 0,
                "g287_agencies": len(gg["agencies"]) if gg else 0,
                "g287_models": sorted(gg["models"]) if gg else [],
                "g287_pending": gg["pending"] if gg else 0,
                "g287_historical_agencies": len(gg["historical"]) if gg else 0,
                "policies": pol.get(k, []),
                "detainers": d["detainers"] if d else 0,
                "declined": d["declined"] if d else 0,
                "decline_rate": (d["declined"] / d["detainers"]) if d and d["detainers"] else None,
                "decline_changes": (d or {}).get("changes", []),
                "arrests": a["arrests"] if a else 0,
                "years_covered": round(a["years"], 2) if a else 0,
                "arrests_per_100k_per_year": (
                    a["arrests"] / a["years"] / pop * 100_000 if a and a["years"] and pop else None
                ),
                "at_large_share": a["at_large"] / a["arrests"] if a and a["arrests"] else None,
                "custodial_share": a["custodial"] / a["arrests"] if a and a["arrests"] else None,
            }
        )
        row["cooperation"] = _status(row)
        if only_active and not (
            row["g287_agreements"]
            or row["g287_pending"]
            or row["policies"]
            or row["detainers"]
            or row["arrests"]
            or row["g287_historical_agencies"]
        ):
            continue
        rows.append(row)
    if state_level:
        warnings.append(
            "state-wide 287(g) agreements (not counted per county): "
            + ", ".join(f"{s} {n}" for s, n in sorted(state_level.items()))
        )
    return {"level": level, "on": on_date, "rows": rows, "warnings": warnings}


def _status(row: dict[str, Any]) -> str:
    """A short label; the numbers beside it are the evidence."""
    parts = []
    if row["g287_agreements"]:
        parts.append("287(g)")
    elif row["g287_pending"]:
        parts.append("287(g) pending")
    if row["policies"]:
        parts.append("limits cooperation (policy)")
    if row["decline_rate"] is not None and row["detainers"] >= 30 and row["decline_rate"] >= 0.1:
        parts.append("declines detainers")
    return "; ".join(parts) or "no recorded agreement or policy"
