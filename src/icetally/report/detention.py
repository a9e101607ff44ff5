"""The detention section of the report and the dashboard's detention page: ICE's
published figures (docs/official.md), each with its workbook cell.

- ADP per month, FY2019 onwards, by arresting agency, across snapshots (a chart and
  its table);
- ADP by arresting agency and criminality for chosen months;
- the largest facilities by ADP (the sum of the facility list's four criminality
  columns: a constructed figure, said so).

The figures come from ``icetally.official`` (one query each, kept with the result).
"""

from __future__ import annotations

import html
from datetime import date
from typing import Any
from urllib.parse import urlencode

from icetally.query.official import select, tables
from icetally.store.handle import Store

AGENCY_ORDER = ("Total", "ICE", "CBP")


def has_official(store: Store) -> bool:
    try:
        return any(t["table"] == "adp" for t in tables(store))
    except Exception:  # noqa: BLE001 - a store without the official table
        return False


def cell_ref(source: dict[str, Any]) -> str:
    return f"{source['file']} › {source['sheet'].strip()}!{source['cell']}"


def api_link(row: dict[str, Any]) -> str:
    """The /api/official query that returns exactly this figure, with its cell."""
    params = {"table": row["table"], "fiscal_year": row["fiscal_year"], "snapshot": row["snapshot"]}
    if row.get("breakdown"):
        params["breakdown"] = row["breakdown"]
    if row.get("measure"):
        params["measure"] = row["measure"]
    by = []
    for k in ("arresting_agency", "criminality", "month", "facility_type", "facility_name"):
        if k in row:
            by.append(k)
            if row[k] is not None:
                key = {"arresting_agency": "agency", "facility_name": "facility"}.get(k, k)
                params[key] = row[k]
    params["by"] = ",".join(by)
    return "/api/official?" + urlencode(params)


def adp_series(store: Store) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """ADP per month by arresting agency, every snapshot."""
    res = select(
        store,
        "adp",
        breakdown="adp_by_agency_month_criminality",
        by="arresting_agency,month",
        snapshot="all",
    )
    rows = [r for r in res.rows if r["month"] and r["value"] is not None]
    return rows, res.query


def adp_by_criminality(
    store: Store, months: list[str]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    res = select(
        store,
        "adp",
        breakdown="adp_by_agency_month_criminality",
        by="arresting_agency,criminality,month",
        filters={"month": ",".join(months)} if months else None,
    )
    return [r for r in res.rows if r["value"] is not None], res.query


def largest_facilities(
    store: Store, fiscal_year: int | None = None, n: int = 10
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Facilities by ADP (sum of the four gender x criminality ADP columns), latest
    snapshot of ``fiscal_year`` (default: the latest fiscal year printed)."""
    if fiscal_year is None:
        fys = [t["fiscal_years"][1] for t in tables(store) if t["table"] == "facilities"]
        fiscal_year = fys[0] if fys else None
    res = select(
        store,
        "facilities",
        fiscal_year=fiscal_year,
        measure="adp",
        by="facility_name,gender,criminality",
    )
    per: dict[str, dict[str, Any]] = {}
    for r in res.rows:
        if r.get("gender") is None or r["value"] is None:
            continue
        f = per.setdefault(
            r["facility_name"],
            {
                "facility_name": r["facility_name"],
                "aor": r.get("aor"),
                "city": r.get("facility_city"),
                "state": r.get("facility_state"),
                "type": r.get("facility_type_detailed"),
                "adp": 0.0,
                "fiscal_year": r["fiscal_year"],
                "snapshot": r["snapshot"],
                "cells": [],
                "file": r["source"]["file"],
                "sheet": r["source"]["sheet"],
            },
        )
        f["adp"] += r["value"]
        f["cells"].append(r["source"]["cell"])
    out = sorted(per.values(), key=lambda f: -f["adp"])[:n]
    for f in out:
        cells = sorted(f["cells"], key=lambda c: (len(c), c))
        f["cell_range"] = f"{f['sheet'].strip()}!{cells[0]}:{cells[-1]}"
    return out, res.query


def adp_chart_spec(
    rows: list[dict[str, Any]], *, window: tuple[date, date] | None = None
) -> dict[str, Any]:
    """ADP per month, one line per arresting agency and snapshot (points show every
    snapshot's figure where ICE reprinted a month)."""
    data = [
        {
            "month": f"{r['month']}-15",
            "adp": round(r["value"], 1),
            "agency": r["arresting_agency"],
            "snapshot": r["snapshot"],
            "cell": cell_ref(r["source"]),
        }
        for r in rows
    ]
    layers: list[dict[str, Any]] = []
    if window:
        layers.append(
            {
                "data": {"values": [{"a": window[0].isoformat(), "b": window[1].isoformat()}]},
                "mark": {"type": "rect", "color": "#f4d35e", "opacity": 0.35},
                "encoding": {"x": {"field": "a", "type": "temporal"}, "x2": {"field": "b"}},
            }
        )
    layers.append(
        {
            "data": {"values": data},
            "mark": {"type": "line", "point": True, "strokeWidth": 1.5},
            "encoding": {
                "x": {"field": "month", "type": "temporal", "title": "month"},
                "y": {"field": "adp", "type": "quantitative", "title": "average daily population"},
                "color": {
                    "field": "agency",
                    "type": "nominal",
                    "sort": list(AGENCY_ORDER),
                    "title": "arresting agency",
                },
                "detail": {"field": "snapshot"},
                "tooltip": [
                    {"field": "month", "type": "temporal", "format": "%b %Y"},
                    {"field": "agency"},
                    {"field": "adp", "format": ",.0f"},
                    {"field": "snapshot"},
                    {"field": "cell"},
                ],
            },
        }
    )
    return {
        "title": "ICE detention: average daily population per month, by arresting agency "
        "(ICE's published figures, every snapshot)",
        "width": 640,
        "height": 260,
        "layer": layers,
    }


def _n(v: float) -> str:
    return f"{v:,.0f}"


def section(store: Store, start: date, end: date) -> dict[str, Any] | None:
    """The report's detention section (title, HTML parts, queries), or None when the
    store holds no official figures."""
    if not has_official(store):
        return None
    from icetally.report import charts
    from icetally.report import page as P

    series, q_series = adp_series(store)
    body: list[str] = [
        P.note(
            "ICE's own published detention statistics (its detention statistics workbooks, "
            "one per fiscal year), not the released records: each figure names its workbook "
            "cell. ADP is the average number of people held on a day of the month."
        )
    ]
    try:
        svg = charts.render_svg(adp_chart_spec(series, window=(start, end)))
    except Exception:  # noqa: BLE001 - the table below gives the same figures
        svg = None
    body.append(
        P.svg_figure(
            svg,
            "ADP per month by arresting agency, FY2019 onwards; shaded: this report's window",
            "line chart of ICE detention average daily population per month",
        )
    )
    months = sorted(
        {r["month"] for r in series if f"{start:%Y-%m}" <= r["month"] <= f"{end:%Y-%m}"}
    )
    if not months:
        latest = sorted({r["month"] for r in series})[-3:]
        body.append(
            P.note(
                f"No published ADP covers {start:%B %Y}–{end:%B %Y}; the table shows the "
                f"latest months ({', '.join(latest)})."
            )
        )
        months = latest
    crim, q_crim = adp_by_criminality(store, months)
    rows = []
    for r in sorted(
        crim,
        key=lambda r: (
            r["month"] or "",
            AGENCY_ORDER.index(r["arresting_agency"])
            if r["arresting_agency"] in AGENCY_ORDER
            else 9,
            r.get("criminality") or "",
        ),
    ):
        rows.append(
            [
                r["month"],
                r["arresting_agency"],
                r.get("criminality") or "all",
                _n(r["value"]),
                f"<code>{html.escape(cell_ref(r['source']))}</code>",
            ]
        )
    body.append(
        P.table(
            ["month", "arresting agency", "criminality", "ADP", "workbook cell"],
            rows,
            numeric=[3],
            raw=[4],
            caption="ADP by arresting agency and criminality (latest snapshot)",
        )
    )
    fy_end = end.year + 1 if end.month >= 10 else end.year
    fac, q_fac = largest_facilities(store, fy_end)
    if not fac:
        fac, q_fac = largest_facilities(store)
    if fac:
        body.append(
            P.table(
                ["facility", "AOR", "city", "type", "ADP", "workbook cells"],
                [
                    [
                        f["facility_name"],
                        f.get("aor") or "",
                        f"{f.get('city') or ''}, {f.get('state') or ''}",
                        f.get("type") or "",
                        _n(f["adp"]),
                        f"<code>{html.escape(f['file'] + ' › ' + f['cell_range'])}</code>",
                    ]
                    for f in fac
                ],
                numeric=[4],
                raw=[5],
                caption=f"Largest facilities by ADP, FY{fac[0]['fiscal_year']} (snapshot "
                f"{fac[0]['snapshot']}): the sum of the facility list's male/female × "
                "criminal/non-criminal ADP columns (a constructed total)",
            )
        )
    queries = [
        {"label": "ADP per month by agency, every snapshot", "dataset": "official", **q_series},
        {"label": "ADP by agency and criminality", "dataset": "official", **q_crim},
        {"label": "facility ADP by gender and criminality", "dataset": "official", **q_fac},
    ]
    return {"title": "Detention: ICE's published statistics", "body": body, "queries": queries}
