"""Custodial and at-large arrests: method classes and apprehension methods."""

from __future__ import annotations

from icetally.report import charts
from icetally.report import page as P
from icetally.report.context import ReportContext


def build(ctx: ReportContext) -> None:
    s = ctx.section("method", "Custodial and at-large arrests")
    if ctx.dataset != "arrests":
        s.supported = False
        s.body.append(
            P.unsupported(
                f"Apprehension methods are an arrests field; this report is on {ctx.dataset}."
            )
        )
        return
    cls = ctx.count(
        "arrests by method class (all methods)",
        s,
        by="method_class",
        **ctx.filters(metric=False),
    )
    meth = ctx.count(
        "arrests by apprehension method (all methods)",
        s,
        by="method",
        **ctx.filters(metric=False),
    )
    total = cls.total
    if not total:
        s.body.append(P.note("No arrests in the window."))
        return
    if not any(r.get("method") for r in meth.rows):
        s.supported = False
        s.body.append(P.unsupported("These releases give no apprehension method."))
        return
    s.body.append(
        P.table(
            ["class", "arrests", "share"],
            [
                [
                    r.get("method_class") or "none",
                    P.fmt_int(r["n"]),
                    P.fmt_pct(r["n"] / total, 1),
                ]
                for r in cls.rows
            ],
            numeric=[1, 2],
        )
    )
    top = sorted(meth.rows, key=lambda r: -r["n"])[:10]
    s.body.append(
        P.svg_figure(
            ctx.chart(
                charts.bar_chart(
                    [{"method": r.get("method") or "(none)", "n": r["n"]} for r in top],
                    label="method",
                    value="n",
                    title="Apprehension methods (all)",
                )
            ),
            "Methods as released; classes from the shipped table (reference/data/methods.csv): "
            "CAP "
            "and 287(g) are custodial (a jail or prison hands the person over), Located and "
            "Non-Custodial Arrest are at-large (in the community).",
            "Apprehension methods",
        )
    )
    if ctx.cls:
        s.body.append(
            P.note(f"The headline, the map and the daily series count {ctx.metric_words()} only.")
        )
