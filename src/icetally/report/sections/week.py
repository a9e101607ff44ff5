"""The week's total against the operation's excess."""

from __future__ import annotations

from datetime import timedelta

from icetally.report import charts
from icetally.report import page as P
from icetally.report.context import ReportContext


def build(ctx: ReportContext) -> None:
    s = ctx.section("week", "The week's total against the operation's excess")
    w0 = ctx.start
    w1 = min(ctx.start + timedelta(6), ctx.cov.end)
    if w1 < w0:
        s.supported = False
        s.body.append(
            P.unsupported(
                f"The week from {w0} lies after the releases' coverage (to {ctx.cov.end})."
            )
        )
        return
    week = ctx.count(
        "records in the seven days from the window's first day",
        s,
        **ctx.filters(date_from=w0, date_to=w1),
    )
    nat = ctx.count(
        "records in the same seven days, all AORs",
        s,
        **ctx.filters(date_from=w0, date_to=w1, aor=False),
    )
    mw = ctx.model_window(w0, w1, ctx.aors or None)
    m = ctx.model_window(ctx.start, ctx.end, ctx.aors or None)
    rows = []
    if m["aors"]:
        rows += [
            {
                "scope": f"window {ctx.start:%d %b}–{ctx.end:%d %b}",
                "part": "normal (baseline)",
                "n": round(m["expected"]),
                "order": 0,
            },
            {
                "scope": f"window {ctx.start:%d %b}–{ctx.end:%d %b}",
                "part": "above baseline",
                "n": max(round(m["excess"]), 0),
                "order": 1,
            },
        ]
    if mw["aors"]:
        rows += [
            {
                "scope": f"week {w0:%d %b}–{w1:%d %b}",
                "part": "normal (baseline)",
                "n": round(mw["expected"]),
                "order": 0,
            },
            {
                "scope": f"week {w0:%d %b}–{w1:%d %b}",
                "part": "above baseline",
                "n": max(round(mw["observed"] - mw["expected"]), 0),
                "order": 1,
            },
        ]
    svg = (
        ctx.chart(charts.week_chart(rows, title=f"{ctx.where_short()}: normal and extra records"))
        if rows
        else None
    )
    s.body.append(
        P.svg_figure(
            svg,
            "Each bar is what the records hold, split into what the baseline expects and what "
            "lies above it.",
            "Week total against operation excess",
        )
    )
    table_rows = [
        ["records in the week (report AORs)", P.fmt_int(week.total)],
        ["records in the week (all AORs)", P.fmt_int(nat.total)],
    ]
    if mw["aors"]:
        table_rows.append(
            ["a normal week would hold (report AORs, baseline)", P.fmt_int(mw["expected"])]
        )
    if m["aors"]:
        table_rows.append(
            [
                f"excess over the window {ctx.start:%d %b}–{ctx.end:%d %b} (95% interval)",
                f"{P.fmt_int(m['excess'])} "
                f"({P.fmt_int(m['excess_low'])}–{P.fmt_int(m['excess_high'])})",
            ]
        )
    if ctx.surge is not None:
        table_rows.append(
            [f"excess of the operation found ({ctx.surge.id})", P.fmt_int(ctx.surge.excess)]
        )
    s.body.append(P.table(["", "records"], table_rows, numeric=[1]))
    if m["aors"] and week.total:
        s.body.append(
            f"<p>Of the {P.fmt_int(week.total)} records of the week in "
            f"{P.esc(ctx.where_short())}, about "
            f"{P.fmt_int(mw['expected'])} are what a normal week holds there; the window's "
            "excess "
            f"of {P.fmt_int(m['excess'])} is the part an operation could account for. A press "
            "figure "
            "for an operation should lie between that excess and everything recorded in its "
            "window.</p>"
        )
