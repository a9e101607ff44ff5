"""A campaign (`icetally report --campaign ID`): what happened, when, how many records
above the area's normal level, week by week and day by day, each figure with its
query. The figures are the campaign detector's (icetally.analysis.campaigns)."""

from __future__ import annotations

from datetime import date, timedelta

from icetally.analysis.campaigns_store import AREA_FILTERS, campaign_sql
from icetally.report import charts
from icetally.report import page as P
from icetally.report.context import ReportContext


def build(ctx: ReportContext) -> None:
    c = ctx.campaign
    if c is None:
        return
    s = ctx.section("campaign", "The campaign")
    place = ctx.where()
    words = ctx.metric_words()
    # the observed total, recounted by icetally count with its SQL and releases
    area_filter = {AREA_FILTERS[ctx.campaign_area]: [c.area]}
    counted = ctx.count(
        f"{words} in {place}, {c.start} to {c.end}",
        s,
        **ctx.filters(aor=False, **area_filter),
    )
    ctx.add_query(
        s,
        "records per day of the campaign (observed, day by day)",
        campaign_sql(ctx.store, ctx.dataset, ctx.metric, ctx.campaign_area, c),
        filters={"area": ctx.campaign_area, "code": c.area},
    )
    res = ctx.campaign_result
    ctx.add_query(
        s,
        "the daily series per area the model is fitted on (expected counts)",
        res.query["series_sql"],
        filters=res.query["filters"],
        result=f"campaign {c.id}: expected {c.expected:,.1f} over its covered days",
    )
    status = (
        "and was still above normal at the end of the records (ongoing)"
        if c.ongoing
        else "and came back down"
    )
    s.body.append(
        f"<p class='lede'>{P.esc(place)}: <strong>{P.fmt_int(c.observed)}</strong> "
        f"{P.esc(words)} from {c.start:%d %B %Y} to {c.end:%d %B %Y} ({c.weeks:g} weeks), "
        f"<strong>{P.fmt_int(round(c.excess))}</strong> more than the "
        f"{P.fmt_int(round(c.expected))} expected at the area's own level outside the "
        f"campaign (95% interval {P.fmt_int(round(c.excess_low))} to "
        f"{P.fmt_int(round(c.excess_high))}; {c.ratio:.1f} times normal). The rise peaked "
        f"in the week of {c.peak_week:%d %B %Y} {status}.</p>"
    )
    if counted.total != c.observed:
        ctx.notes.append(
            f"campaign {c.id}: icetally count gives {counted.total:,} records in the window, "
            f"the series {c.observed:,} (records without a date in the plausible span)"
        )
    base = ", ".join(f"{a:%d %b %Y} to {b:%d %b %Y}" for a, b in c.baseline_spans)
    s.body.append(
        "<p>Expected: the area's level on the covered days outside the campaign"
        + (f" ({P.esc(base)})" if base else "")
        + ", interpolated from before to after, times each day's weekday and holiday "
        "factors. Days outside the area's coverage are gaps, not zeros. Method: "
        "docs/methods.md, “Campaign detection”.</p>"
    )
    points = [
        {
            "date": d.isoformat(),
            "observed": o,
            "expected": round(e, 2),
            "low": round(e, 2),
            "high": round(e, 2),
        }
        for d, o, e in c.context
        if o is not None
    ]
    others = [
        (o.start, o.end, o.id)
        for o in res.campaigns
        if o.area == c.area and o is not c and o.end >= c.context[0][0]
    ]
    svg = ctx.chart(
        charts.daily_chart(
            points,
            window=(c.start, c.end),
            others=others,
            title=f"{words.capitalize()} per day, {place}",
            band_label="expected at the normal level",
        )
    )
    s.body.append(
        P.svg_figure(
            svg,
            "Blue: records per day. Dashed: expected at the area's normal level (outside "
            "the campaign, with weekday and holiday effects). Red shading: the campaign.",
            "Daily records during the campaign",
        )
    )
    weeks: dict[date, list[float]] = {}
    for d, o, e in c.daily:
        if o is None:
            continue
        w = weeks.setdefault(d - timedelta(days=d.weekday()), [0.0, 0.0, 0.0])
        w[0] += o
        w[1] += e
        w[2] += 1
    s.body.append(
        P.table(
            ["week of", "covered days", "records", "expected", "above normal"],
            [
                [
                    f"{w:%d %b %Y}",
                    f"{int(v[2])}",
                    P.fmt_int(v[0]),
                    f"{v[1]:,.1f}",
                    f"{v[0] - v[1]:+,.1f}",
                ]
                for w, v in sorted(weeks.items())
            ],
            numeric=[1, 2, 3, 4],
            caption="Week by week",
        )
    )
    s.body.append(
        P.table(
            ["day", "records", "expected", "above normal"],
            [
                [
                    f"{d:%a %d %b %Y}",
                    "gap" if o is None else P.fmt_int(o),
                    "" if o is None else f"{e:.1f}",
                    "" if o is None else f"{o - e:+.1f}",
                ]
                for d, o, e in c.daily
            ],
            numeric=[1, 2, 3],
            caption="Day by day",
        )
    )
    changes = [lc for lc in res.level_changes if lc.area == c.area]
    if changes:
        s.body.append(
            P.table(
                ["date", "records a day before", "after"],
                [[str(lc.date), f"{lc.before:,.1f}", f"{lc.after:,.1f}"] for lc in changes],
                numeric=[1, 2],
                caption="Level changes in this area (rises or falls that stay)",
            )
        )
