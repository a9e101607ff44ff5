"""Claims checked against the records (icetally.check)."""

from __future__ import annotations

from typing import Any

from icetally.render import shared
from icetally.report import page as P
from icetally.report.context import ReportContext


def build(ctx: ReportContext) -> None:
    s = ctx.section("claims", "Claims checked against the records")
    if not ctx.claims:
        s.body.append(P.note("No claims file was given (icetally report --claims FILE)."))
        return
    from icetally.analysis.claims import check

    paths = ctx.claims if isinstance(ctx.claims, list | tuple) else [ctx.claims]
    results: list[dict[str, Any]] = []
    for c in paths:
        results += check(c, store=ctx.store).results
    counts: dict[str, int] = {}
    for r in results:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    s.body.append(
        "<p>"
        + ", ".join(f"{n} {P.esc(v)}" for v, n in sorted(counts.items()))
        + f" of {len(results)} claims (tolerances: docs/claims.md).</p>"
    )
    rows = []
    for r in results:
        stated = r["stated"]
        if r["measure"] == "share" and isinstance(stated, float):
            st = P.fmt_pct(stated)
            ob = P.fmt_pct(r["observed"], 1) if r["observed"] is not None else "–"
        else:
            st = P.fmt_int(stated)
            ob = P.fmt_int(r["observed"])
        rows.append(
            [
                P.esc(r["id"]),
                P.esc(r["measure"]),
                str(shared().verdict(r["verdict"], r["id"])),
                P.esc(st),
                P.esc(ob),
                P.esc(P.fmt_int(r["expected"])),
                P.esc(P.fmt_int(r["excess"])),
                P.esc(r["explanation"]),
            ]
        )
        if r.get("query"):
            q = r["query"]
            ctx.add_query(
                s,
                f"claim {r['id']}",
                q.get("sql"),
                dataset=q.get("dataset"),
                filters=q.get("filters"),
                releases=q.get("releases", []),
            )
    s.body.append(
        P.table(
            [
                "claim",
                "measure",
                "verdict",
                "stated",
                "observed",
                "expected",
                "excess",
                "explanation",
            ],
            rows,
            numeric=[3, 4, 5, 6],
            raw=range(8),
        )
    )
