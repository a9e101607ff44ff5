"""Charts of the web pages: Vega-Lite specs, rendered to inline SVG on the server by the
renderer the reports use (icetally.render.render_svg).

Why server-side SVG rather than Vega-Lite in the browser: no JavaScript bundle to
vendor and keep current, charts that show with scripts off and on any phone, the same
renderer as the HTML reports, and charts a test can read as text. The price is no
hover tooltips; the table under every chart carries the exact figures, and surge
markers are SVG links to the surge's page.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from icetally.vocabulary import TIME_BUCKETS

ACCENT = "#c2410c"
INK = "#1f4e79"
CAMPAIGN = "#7c9cbf"  # campaigns: weeks to months, shaded lighter than surges


def _base(width: int, height: int, title: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "width": width,
        "height": height,
        "config": {
            "font": "system-ui, sans-serif",
            "view": {"stroke": None},
            "axis": {"labelFontSize": 11, "titleFontSize": 11, "grid": True, "gridColor": "#eee"},
            "legend": {"orient": "bottom", "labelFontSize": 11},
        },
    }
    if title:
        spec["title"] = {"text": title, "anchor": "start", "fontSize": 13}
    return spec


def _surge_rows(surges: list[dict[str, Any]], link: str, per_aor: bool) -> list[dict[str, Any]]:
    rows = []
    for s in surges:
        parts = s["aors"] if per_aor else [s]
        for part in parts:
            end = date.fromisoformat(part["end"]) + timedelta(days=1)
            rows.append(
                {
                    "kind": "surge",
                    "aor": part.get("aor"),
                    "start": part["start"],
                    "end": end.isoformat(),
                    "excess": part["excess"],
                    "href": link.format(id=s["id"]),
                    "label": f"surge {s['id']}: {part['start']} to {part['end']}, "
                    f"excess {part['excess']:.0f}",
                }
            )
    return rows


def _campaign_rows(campaigns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Campaign windows (icetally campaigns --json) as chart rows."""
    return [
        {
            "kind": "campaign",
            "aor": c["area"],
            "start": c["start"],
            "end": (date.fromisoformat(c["end"]) + timedelta(days=1)).isoformat(),
            "label": f"campaign {c['id']}: {c['start']} to {c['end']}, "
            f"excess {c['excess']:,.0f} ({c['ratio']}x normal)",
        }
        for c in campaigns
    ]


def _campaign_layer(mark: dict[str, Any]) -> dict[str, Any]:
    """Campaign windows: a lighter band behind the surges."""
    return {
        "transform": [{"filter": "datum.kind == 'campaign'"}],
        "mark": {"type": "rect", "color": CAMPAIGN, **mark},
        "encoding": {
            "x": {"field": "start", "type": "temporal"},
            "x2": {"field": "end"},
            "description": {"field": "label"},
        },
    }


def series_with_surges(
    rows: list[dict[str, Any]],
    surges: list[dict[str, Any]],
    *,
    link: str,
    title: str,
    bucket: str = "week",
    width: int = 720,
    height: int = 220,
    campaigns: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A national series (rows: {bucket, n}) with each surge's window shaded (and each
    campaign's, lighter, when given)."""
    data = [{"kind": "count", "t": r[bucket], "n": r["n"]} for r in rows]
    data += _surge_rows(surges, link, per_aor=False)
    data += _campaign_rows(campaigns or [])
    spec = _base(width, height, title)
    spec["data"] = {"values": data}
    spec["layer"] = [
        _campaign_layer({"opacity": 0.3}),
        _surge_layer({"opacity": 0.35, "cursor": "pointer"}),
        _count_layer(
            1.5,
            {"field": "t", "type": "temporal", "title": None},
            {"field": "n", "type": "quantitative", "title": f"records per {bucket}"},
        ),
    ]
    return spec


def aor_small_multiples(
    rows: list[dict[str, Any]],
    surges: list[dict[str, Any]],
    *,
    link: str,
    bucket: str = "week",
    columns: int = 3,
    campaigns: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One small series per AOR (rows: {bucket, aor, n}), each with its own surges
    (and campaigns, when given)."""
    data = [{"kind": "count", "t": r[bucket], "aor": r["aor"], "n": r["n"]} for r in rows]
    aors = {r["aor"] for r in rows}
    data += [s for s in _surge_rows(surges, link, per_aor=True) if s["aor"] in aors]
    data += [c for c in _campaign_rows(campaigns or []) if c["aor"] in aors]
    spec = _base(0, 0)
    del spec["width"], spec["height"]
    spec["data"] = {"values": data}
    spec["facet"] = {
        "field": "aor",
        "type": "nominal",
        "title": None,
        "header": {"labelFontSize": 12, "labelFontWeight": "bold"},
    }
    spec["columns"] = columns
    spec["resolve"] = {"scale": {"y": "independent"}}
    spec["spec"] = {
        "width": 220,
        "height": 70,
        "layer": [
            _campaign_layer({"opacity": 0.35}),
            _surge_layer({"opacity": 0.45}),
            _count_layer(
                1,
                {
                    "field": "t",
                    "type": "temporal",
                    "title": None,
                    "axis": {"format": "%Y", "tickCount": 4},
                },
                {"field": "n", "type": "quantitative", "title": None, "axis": {"tickCount": 3}},
            ),
        ],
    }
    return spec


def _surge_layer(mark: dict[str, Any]) -> dict[str, Any]:
    """Surge windows as shaded rectangles linking to their detail page."""
    return {
        "transform": [{"filter": "datum.kind == 'surge'"}],
        "mark": {"type": "rect", "color": ACCENT, **mark},
        "encoding": {
            "x": {"field": "start", "type": "temporal"},
            "x2": {"field": "end"},
            "href": {"field": "href"},
            "description": {"field": "label"},
        },
    }


def _count_layer(width: float, x: dict[str, Any], y: dict[str, Any]) -> dict[str, Any]:
    """The records series as a line."""
    return {
        "transform": [{"filter": "datum.kind == 'count'"}],
        "mark": {"type": "line", "color": INK, "strokeWidth": width},
        "encoding": {"x": x, "y": y},
    }


def _top(rows: list[dict[str, Any]], dim: str, k: int) -> set[Any]:
    totals: dict[Any, int] = {}
    for r in rows:
        totals[r[dim]] = totals.get(r[dim], 0) + r["n"]
    return {v for v, _ in sorted(totals.items(), key=lambda kv: -kv[1])[:k]}


def count_chart(rows: list[dict[str, Any]], by: list[str], title: str) -> dict[str, Any] | None:
    """A chart of a count's rows: a line over the first time dimension (coloured by
    the first other one), else bars of the first dimension. Only the first two
    dimensions are drawn; the table below holds every row."""
    if not by or not rows:
        return None
    time_dim = next((d for d in by if d in TIME_BUCKETS), None)
    others = [d for d in by if d != time_dim]
    color = others[0] if others else None
    keep = _top(rows, color, 8) if color else set()
    values = []
    for r in rows:
        v = {"n": r["n"]}
        for d in by[:3]:
            v[d] = "(none)" if r.get(d) is None else r[d]
        if color:
            v[color] = v[color] if r[color] in keep else "other"
        values.append(v)
    spec = _base(680, 260, title)
    spec["data"] = {"values": values}
    color_enc = (
        {
            "color": {
                "field": color,
                "type": "nominal",
                "title": color,
                "sort": "-y" if not time_dim else None,
            }
        }
        if color
        else {}
    )
    if time_dim:
        if color:
            # "other" is a sum of many series: aggregate so each colour is one line.
            spec["transform"] = [
                {
                    "aggregate": [{"op": "sum", "field": "n", "as": "n"}],
                    "groupby": [time_dim, color],
                }
            ]
        points = len({r[time_dim] for r in rows})
        if time_dim == "date" and points <= 400 and not color:
            # Days without records have no row: bars leave them empty where a line
            # would draw a slope across them.
            spec["mark"] = {"type": "bar", "color": INK}
            spec["encoding"] = {
                "x": {
                    "field": time_dim,
                    "type": "temporal",
                    "timeUnit": "yearmonthdate",
                    "title": time_dim,
                },
                "y": {"field": "n", "type": "quantitative", "title": "records"},
            }
            return spec
        spec["mark"] = {"type": "line", "point": points <= 40, "strokeWidth": 1.5}
        spec["encoding"] = {
            "x": {"field": time_dim, "type": "temporal", "title": time_dim},
            "y": {"field": "n", "type": "quantitative", "title": "records"},
            **color_enc,
        }
        if not color:
            spec["mark"]["color"] = INK
        return spec
    first = by[0]
    if first == "fiscal_year":
        spec["mark"] = {"type": "bar", "color": INK} if not color else {"type": "bar"}
        spec["encoding"] = {
            "x": {"field": first, "type": "ordinal", "title": "fiscal year"},
            "y": {"field": "n", "type": "quantitative", "aggregate": "sum", "title": "records"},
            **color_enc,
        }
        return spec
    top = _top(rows, first, 40)
    spec["transform"] = [{"filter": {"field": first, "oneOf": sorted(map(str, top))}}]
    for v in values:
        v[first] = str(v[first])
    spec["height"] = {"step": 16}
    spec["mark"] = {"type": "bar", "color": INK} if not color else {"type": "bar"}
    spec["encoding"] = {
        "y": {"field": first, "type": "nominal", "sort": "-x", "title": first},
        "x": {"field": "n", "type": "quantitative", "aggregate": "sum", "title": "records"},
        **color_enc,
    }
    return spec


def surge_detail_chart(
    rows: list[dict[str, Any]], surge: dict[str, Any], *, title: str
) -> dict[str, Any]:
    """Daily records of the surge's AORs around its window (rows: {date, aor, n}), the
    window of each AOR's part shaded."""
    data = [{"kind": "count", "t": r["date"], "aor": r["aor"], "n": r["n"]} for r in rows]
    data += _surge_rows([surge], "", per_aor=True)
    spec = _base(0, 0, title)
    del spec["width"], spec["height"]
    spec["data"] = {"values": data}
    spec["facet"] = {"field": "aor", "type": "nominal", "title": None}
    spec["columns"] = 2
    spec["resolve"] = {"scale": {"y": "independent"}}
    spec["spec"] = {
        "width": 300,
        "height": 110,
        "layer": [
            {
                "transform": [{"filter": "datum.kind == 'surge'"}],
                "mark": {"type": "rect", "color": ACCENT, "opacity": 0.35},
                "encoding": {"x": {"field": "start", "type": "temporal"}, "x2": {"field": "end"}},
            },
            {
                "transform": [{"filter": "datum.kind == 'count'"}],
                "mark": {"type": "bar", "color": INK},
                "encoding": {
                    "x": {
                        "field": "t",
                        "type": "temporal",
                        "timeUnit": "yearmonthdate",
                        "title": None,
                        "axis": {"format": "%b %d"},
                    },
                    "y": {"field": "n", "type": "quantitative", "title": "per day"},
                },
            },
        ],
    }
    return spec
