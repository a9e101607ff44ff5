"""Earlier comparable operations the detector found in the same AORs."""

from __future__ import annotations

from icetally.report import page as P
from icetally.report.context import ReportContext


def build(ctx: ReportContext) -> None:
    s = ctx.section("earlier", "Earlier comparable operations in the records")
    qid = ctx.add_query(
        s,
        "daily series scanned by the surge detector",
        ctx.surge_result.query.get("series_sql", ""),
        filters=ctx.surge_result.query.get("filters"),
        releases=[r["release_id"] for r in ctx.cov.releases],
    )
    want = set(ctx.aors) if ctx.aors else None
    earlier = [
        x
        for x in ctx.all_surges
        if x.end < ctx.start and (want is None or {a.aor for a in x.aors} & want)
    ]
    earlier.sort(key=lambda x: -x.excess)
    shown = sorted(earlier[:15], key=lambda x: x.start, reverse=True)
    if not shown:
        s.body.append(
            P.note(
                f"No operation before {ctx.start} in {ctx.where()} stands out in these "
                "records "
                f"(coverage from {ctx.cov.start}; p ≤ {ctx.threshold} per AOR-year)."
            )
        )
        return
    rows = []
    for x in shown:
        common = [a.aor for a in x.aors if want is None or a.aor in want]
        rows.append(
            [
                x.id,
                f"{x.start} → {x.end:%m-%d}"
                if x.start.year == x.end.year
                else f"{x.start} → {x.end}",
                ", ".join(common),
                str(len(x.aors)),
                P.fmt_int(x.observed),
                P.fmt_int(x.expected),
                P.fmt_int(x.excess),
                f"{x.p_value:.1g}",
            ]
        )
    s.body.append(
        f"<p>{len(earlier)} earlier operation(s) found in {P.esc(ctx.where_short())} since "
        f"{ctx.cov.start} ({P.esc(ctx.metric)} records); the largest {len(shown)} by "
        "excess:</p>"
    )
    s.body.append(
        P.table(
            [
                "operation",
                "dates",
                "AORs in common",
                "AORs",
                "observed",
                "expected",
                "excess",
                "p (per AOR-year)",
            ],
            rows,
            numeric=[3, 4, 5, 6, 7],
        )
    )
    s.body.append(
        f'<p><a href="#{qid}">The series the detector scans</a>; method in the last section.</p>'
    )
