"""Headline figures: records in the window, the baseline, the excess and the operation found."""

from __future__ import annotations

from datetime import timedelta

from icetally.analysis.surges import DEFAULT_INCOMPLETE_TAIL_DAYS
from icetally.report import page as P
from icetally.report.context import ReportContext


def build(ctx: ReportContext) -> None:
    s = ctx.section("headline", "Headline figures")
    total = ctx.count(f"{ctx.metric_words()} in the window", s, **ctx.filters())
    cards = [
        P.figure_card(
            "records",
            f"{ctx.metric_words()}, {ctx.start:%d %b %Y} – {ctx.end:%d %b %Y}, {ctx.where_short()}",
            total.total,
            P.fmt_int(total.total),
            query=total.query["_id"],
        )
    ]
    if ctx.cls:
        every = ctx.count("arrests of all methods in the window", s, **ctx.filters(metric=False))
        share = total.total / every.total if every.total else None
        cards.append(
            P.figure_card(
                "records_all_methods",
                "arrests of all methods in the same window and AORs",
                every.total,
                P.fmt_int(every.total),
                query=every.query["_id"],
                note=f"{P.fmt_pct(share)} {ctx.cls.replace('_', '-')}" if share is not None else "",
            )
        )
    m = ctx.model_window(ctx.start, ctx.end, ctx.aors or None)
    mid = ctx.add_query(
        s,
        "daily series behind the baseline (per AOR and day; the model is fitted in Python)",
        ctx.series_sql,
        filters=ctx.metric_slice.to_dict(),
        releases=[r["release_id"] for r in ctx.cov.releases],
    )
    if m["aors"]:
        cards.append(
            P.figure_card(
                "expected",
                "expected in a normal window (baseline model)",
                round(m["expected"], 1),
                P.fmt_int(m["expected"]),
                query=mid,
            )
        )
        cards.append(
            P.figure_card(
                "excess",
                "above the baseline (95% interval)",
                round(m["excess"], 1),
                P.fmt_int(m["excess"]),
                query=mid,
                note=f"{P.fmt_int(m['excess_low'])} to {P.fmt_int(m['excess_high'])}",
            )
        )
    if ctx.surge is not None:
        su = ctx.surge
        cards.append(
            P.figure_card(
                "surge_excess",
                f"operation found: {su.id}",
                round(su.excess, 1),
                P.fmt_int(su.excess),
                query=mid,
                note=f"{su.start:%d %b} – {su.end:%d %b %Y}, {len(su.aors)} AOR(s), "
                f"{su.observed:,} observed vs {su.expected:,.0f} expected",
            )
        )
    s.body.append(f'<div class="figures">{"".join(cards)}</div>')
    tail_from = ctx.cov.end - timedelta(DEFAULT_INCOMPLETE_TAIL_DAYS) if ctx.cov.end else None
    if not ctx.cov.contains(ctx.start, ctx.end):
        s.body.append(
            P.unsupported(
                f"The window runs outside the releases' coverage ({ctx.cov.describe()}); "
                "days outside it have no records, which is not zero arrests."
            )
        )
    elif tail_from and ctx.end > tail_from:
        s.body.append(
            P.note(
                f"The window reaches into the last {DEFAULT_INCOMPLETE_TAIL_DAYS} days of the "
                f"coverage (after {tail_from}): records there are still being entered when a "
                "release is extracted, so counts may be low."
            )
        )
    if ctx.surge is None:
        s.body.append(
            P.note(
                "The surge detector finds no operation overlapping this window "
                f"({ctx.metric} records, p ≤ {ctx.threshold} per AOR-year)."
            )
        )
