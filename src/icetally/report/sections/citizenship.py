"""Citizenship and continent of the records in the window."""

from __future__ import annotations

from icetally.report import charts
from icetally.report import page as P
from icetally.report.context import ReportContext


def build(ctx: ReportContext) -> None:
    s = ctx.section("citizenship", "Citizenship")
    cit = ctx.count("records by citizenship", s, by="citizenship", **ctx.filters())
    cont = ctx.count("records by continent", s, by="continent", **ctx.filters())
    total = cit.total
    if not total:
        s.body.append(P.note("No records in the window."))
        return
    known = [r for r in cit.rows if r.get("citizenship")]
    if not known:
        s.supported = False
        s.body.append(P.unsupported("These releases give no citizenship."))
        return
    top = sorted(known, key=lambda r: -r["n"])[:10]
    s.body.append(
        P.svg_figure(
            ctx.chart(
                charts.bar_chart(
                    [{"country": r["citizenship"], "n": r["n"]} for r in top],
                    label="country",
                    value="n",
                    title="Top citizenship countries",
                )
            ),
            f"The ten most frequent citizenships of {total:,} records ({len(known)} countries "
            "in all).",
            "Top citizenship countries",
        )
    )
    s.body.append(
        P.table(
            ["citizenship (as released)", "records", "share"],
            [[r["citizenship"], P.fmt_int(r["n"]), P.fmt_pct(r["n"] / total, 1)] for r in top],
            numeric=[1, 2],
        )
    )
    crow = sorted(cont.rows, key=lambda r: -r["n"])
    unknown = sum(r["n"] for r in crow if not r.get("continent"))
    s.body.append(
        P.table(
            ["continent", "records", "share"],
            [
                [
                    r.get("continent") or "not mapped / unknown",
                    P.fmt_int(r["n"]),
                    P.fmt_pct(r["n"] / total, 1),
                ]
                for r in crow
            ],
            numeric=[1, 2],
        )
    )
    n_cont = len([r for r in crow if r.get("continent")])
    s.body.append(
        f"<p>{n_cont} continent(s) and {len(known)} countries of citizenship"
        + (f"; {unknown:,} records with no mappable country." if unknown else ".")
        + "</p>"
    )
