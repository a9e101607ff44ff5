"""Day by day around the window, against the baseline band."""

from __future__ import annotations

from datetime import date, timedelta

from icetally.analysis.windows import daily_band
from icetally.report import charts
from icetally.report import page as P
from icetally.report.context import ReportContext

CONTEXT_BEFORE = 56  # days of normal records shown before the window (eight weeks)
CONTEXT_AFTER = 28
BAND = 0.90  # the daily chart's band: where nine normal days in ten fall


def build(ctx: ReportContext) -> None:
    s = ctx.section("daily", "Day by day, against the baseline")
    c0 = max(ctx.cov.start, ctx.start - timedelta(CONTEXT_BEFORE))
    c1 = min(ctx.cov.end, ctx.end + timedelta(CONTEXT_AFTER))
    if c1 < c0:
        s.supported = False
        s.body.append(P.unsupported("The window lies outside the releases' coverage."))
        return
    obs = ctx.count(
        "records per day around the window",
        s,
        by="date",
        **ctx.filters(date_from=c0, date_to=c1),
    )
    per_day = {r["date"]: r["n"] for r in obs.rows}
    bls = ctx.baselines()
    points = []
    for k in range((c1 - c0).days + 1):
        d = c0 + timedelta(k)
        band = daily_band(bls.values(), d, BAND) if ctx.cov.covered(d) else None
        if band is None:
            continue  # a gap between releases: no records, not zero records
        mu, lo, hi = band
        points.append(
            {
                "date": d.isoformat(),
                "observed": int(per_day.get(d.isoformat(), 0)),
                "expected": round(mu, 2),
                "low": lo,
                "high": hi,
            }
        )
    others = [
        (s2.start, s2.end, s2.id)
        for s2 in ctx.all_surges
        if s2.end >= c0
        and s2.start <= c1
        and s2 is not ctx.surge
        and (not ctx.aors or {a.aor for a in s2.aors} & set(ctx.aors))
    ]
    svg = ctx.chart(
        charts.daily_chart(
            points,
            window=(ctx.start, ctx.end),
            others=others,
            title=f"{ctx.metric_words().capitalize()} per day, {ctx.where_short()}",
            band_label="baseline band",
        )
    )
    s.body.append(
        P.svg_figure(
            svg,
            f"Blue: records per day. Dashed: the baseline (negative-binomial model per AOR: "
            f"trend, weekday, holidays; fitted without detected operations). Band: where "
            f"{BAND:.0%} of normal days fall. Red shading: the report window"
            + ("; grey: other operations found in these AORs." if others else "."),
            "Daily records with baseline band",
        )
    )
    win = [p for p in points if ctx.start.isoformat() <= p["date"] <= ctx.end.isoformat()]
    s.body.append(
        P.table(
            ["day", "records", "expected", f"{BAND:.0%} band"],
            [
                [
                    f"{date.fromisoformat(p['date']):%a %d %b %Y}",
                    P.fmt_int(p["observed"]),
                    f"{p['expected']:.1f}",
                    f"{p['low']:.0f}–{p['high']:.0f}",
                ]
                for p in win
            ],
            numeric=[1, 2, 3],
            caption="Days of the window",
        )
    )
