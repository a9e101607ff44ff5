"""Vega-Lite chart specs of the report, rendered to inline SVG by icetally.render
(offline, no JavaScript in the page). Every chart has a table beside it in the report,
so a missing renderer costs pictures, never figures."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from icetally.render import svg

_FONT = "Helvetica, Arial, sans-serif"
_BLUE = "#2b6cb0"
_GREY = "#718096"
_RED = "#c53030"
_BAND = "#bcd3ea"


def _config() -> dict[str, Any]:
    return {
        "font": _FONT,
        "view": {"stroke": None},
        "axis": {"labelFontSize": 11, "titleFontSize": 11, "grid": True, "gridColor": "#edf2f7"},
        "legend": {"labelFontSize": 11, "titleFontSize": 11},
        "title": {"fontSize": 13, "anchor": "start"},
    }


def render_svg(spec: dict[str, Any]) -> str:
    """A report chart as inline SVG: the report's look (fonts, axes) on the one
    renderer the web pages use too (icetally.render.svg)."""
    return svg.render_svg({"config": _config(), **spec})


def bar_chart(
    rows: list[dict[str, Any]],
    *,
    label: str,
    value: str,
    title: str,
    color: str = _BLUE,
    width: int = 420,
    highlight: str | None = None,
) -> dict[str, Any]:
    """Horizontal bars, longest first."""
    enc_color: dict[str, Any] = {"value": color}
    if highlight:
        enc_color = {
            "condition": {"test": f"datum['{highlight}']", "value": _RED},
            "value": color,
        }
    return {
        "title": title,
        "width": width,
        "height": {"step": 18},
        "data": {"values": rows},
        "layer": [
            {
                "mark": {"type": "bar"},
                "encoding": {
                    "y": {"field": label, "type": "nominal", "sort": "-x", "title": None},
                    "x": {"field": value, "type": "quantitative", "title": "records"},
                    "color": enc_color,
                },
            },
            {
                "mark": {"type": "text", "align": "left", "dx": 3, "fontSize": 10},
                "encoding": {
                    "y": {"field": label, "type": "nominal", "sort": "-x"},
                    "x": {"field": value, "type": "quantitative"},
                    "text": {"field": value, "type": "quantitative", "format": ","},
                },
            },
        ],
    }


def daily_chart(
    points: list[dict[str, Any]],
    *,
    window: tuple[date, date],
    others: list[tuple[date, date, str]],
    title: str,
    band_label: str,
) -> dict[str, Any]:
    """Observed records per day, the baseline and its band, the window shaded.

    ``points``: date (ISO), observed, expected, low, high."""
    shade = [
        {
            "start": window[0].isoformat(),
            "end": (window[1] + timedelta(1)).isoformat(),
            "what": "window",
        }
    ] + [
        {"start": s.isoformat(), "end": (e + timedelta(1)).isoformat(), "what": label}
        for s, e, label in others
    ]
    x = {"field": "date", "type": "temporal", "title": None, "axis": {"format": "%b %d"}}
    return {
        "title": title,
        "width": 640,
        "height": 240,
        "layer": [
            {
                "data": {"values": shade},
                "mark": {"type": "rect", "opacity": 0.18},
                "encoding": {
                    "x": {"field": "start", "type": "temporal"},
                    "x2": {"field": "end"},
                    "color": {
                        "condition": {"test": "datum.what == 'window'", "value": _RED},
                        "value": _GREY,
                    },
                },
            },
            {
                "data": {"values": points},
                "mark": {"type": "area", "color": _BAND, "opacity": 0.8},
                "encoding": {
                    "x": x,
                    "y": {"field": "low", "type": "quantitative", "title": "records per day"},
                    "y2": {"field": "high"},
                },
            },
            {
                "data": {"values": points},
                "mark": {"type": "line", "color": _GREY, "strokeDash": [4, 3]},
                "encoding": {"x": x, "y": {"field": "expected", "type": "quantitative"}},
            },
            {
                "data": {"values": points},
                "mark": {"type": "line", "color": _BLUE, "point": {"size": 14}},
                "encoding": {"x": x, "y": {"field": "observed", "type": "quantitative"}},
            },
        ],
        "description": band_label,
    }


def week_chart(rows: list[dict[str, Any]], *, title: str) -> dict[str, Any]:
    """Stacked bars: baseline and excess per scope (the week, the operation window)."""
    return {
        "title": title,
        "width": 420,
        "height": {"step": 34},
        "data": {"values": rows},
        "layer": [
            {
                "mark": {"type": "bar"},
                "encoding": {
                    "y": {"field": "scope", "type": "nominal", "title": None, "sort": None},
                    "x": {
                        "field": "n",
                        "type": "quantitative",
                        "stack": "zero",
                        "title": "records",
                    },
                    "color": {
                        "field": "part",
                        "type": "nominal",
                        "scale": {
                            "domain": ["normal (baseline)", "above baseline"],
                            "range": [_BAND, _RED],
                        },
                        "legend": {"orient": "bottom", "title": None},
                    },
                    "order": {"field": "order", "type": "quantitative"},
                },
            }
        ],
    }


def tile_map(rows: list[dict[str, Any]], *, title: str) -> dict[str, Any]:
    """The state tile grid coloured by AOR totals; report AORs outlined."""
    xs = {"field": "col", "type": "ordinal", "axis": None, "scale": {"domain": list(range(12))}}
    ys = {"field": "row", "type": "ordinal", "axis": None, "scale": {"domain": list(range(8))}}
    top = max([int(r["total"]) for r in rows] + [1])
    return {
        "title": title,
        "width": 12 * 42,
        "height": 8 * 42,
        "data": {"values": rows},
        "layer": [
            {
                "mark": {"type": "rect", "cornerRadius": 3},
                "encoding": {
                    "x": xs,
                    "y": ys,
                    "color": {
                        "field": "total",
                        "type": "quantitative",
                        "scale": {"scheme": "blues", "domainMin": 0},
                        "legend": {"title": "records in the state's AOR", "orient": "bottom"},
                    },
                    "stroke": {
                        "condition": {"test": "datum.highlight", "value": _RED},
                        "value": "white",
                    },
                    "strokeWidth": {
                        "condition": {"test": "datum.highlight", "value": 3},
                        "value": 1.5,
                    },
                },
            },
            {
                "mark": {"type": "text", "fontSize": 11, "fontWeight": "bold", "dy": -6},
                "encoding": {
                    "x": xs,
                    "y": ys,
                    "text": {"field": "label"},
                    "color": {
                        "condition": {"test": f"datum.total > {top * 0.55}", "value": "white"},
                        "value": "#1a202c",
                    },
                },
            },
            {
                "mark": {"type": "text", "fontSize": 9, "dy": 7},
                "encoding": {
                    "x": xs,
                    "y": ys,
                    "text": {"field": "aor"},
                    "color": {
                        "condition": {"test": f"datum.total > {top * 0.55}", "value": "white"},
                        "value": "#4a5568",
                    },
                },
            },
        ],
    }
