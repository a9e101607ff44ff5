"""Methods, the releases used and their coverage."""

from __future__ import annotations

import json

from icetally.analysis.surges import DEFAULT_INCOMPLETE_TAIL_DAYS
from icetally.report import page as P
from icetally.report.context import ReportContext


def build(ctx: ReportContext) -> None:
    s = ctx.section("methods", "Methods, releases and coverage")
    s.body.append(
        "<p><strong>Counting.</strong> Every released record counts once, as the agency counts "
        "(no de-duplication: the releases' person identifiers are not linked). Windows are "
        "inclusive. Each figure's query is printed under its section: the SQL, the filters and "
        "the releases it read; run the same slice with <code>icetally count</code>.</p>"
        "<p><strong>Baseline.</strong> Per AOR, a negative-binomial model of the daily count "
        "with a smooth trend (B-spline, knots every six weeks), weekday effects, federal "
        "holidays and the year-end lull, fitted robustly (Tukey biweight) and refitted without "
        "the operations the detector finds and without the report window, so an operation does "
        f"not raise its own baseline. The last {DEFAULT_INCOMPLETE_TAIL_DAYS} days of a "
        "release "
        "are treated as incomplete. Intervals are 95% prediction intervals (count noise and "
        "baseline error).</p>"
        f"<p><strong>Operations.</strong> icetally's surge detector: every 1–14-day window "
        "of every AOR is scored against the baseline (expectation-based negative-binomial "
        "scan); "
        "a window is reported when a normal AOR-year would show one as strong with "
        "probability "
        f"≤ {ctx.threshold}; AORs acting together are found by a joint scan. Details and the "
        "evaluation: docs/methods.md. The records do not label operations: an operation's size "
        "can only be bracketed between its excess over baseline and everything recorded in its "
        "window.</p>"
    )
    used = sorted({r for q in ctx.queries for r in (q.get("releases") or [])})
    rel = ctx.releases_by_id()
    rows = []
    picked = [rel[i] for i in (used or list(rel)) if i in rel]
    picked.sort(key=lambda r: (r["dataset"], str(r.get("coverage_start") or ""), r["file_name"]))
    for r in picked:
        rows.append(
            [
                r["file_name"] + (f" / {r['sheet']}" if r.get("sheet") else ""),
                r["dataset"],
                r.get("title") or "",
                f"{r.get('coverage_start') or r.get('min_event_date')} – "
                f"{r.get('coverage_end') or r.get('max_event_date')}",
                P.fmt_int(r.get("rows_loaded")),
                P.fmt_int(r.get("rows_quarantined")),
                (r.get("sha256") or "")[:16],
            ]
        )
    s.body.append("<h3>Releases used</h3>")
    s.body.append(
        P.table(
            ["file", "dataset", "title", "coverage", "rows", "quarantined", "sha256"],
            rows,
            numeric=[4, 5],
        )
    )
    s.body.append("<h3>Coverage</h3>")
    s.body.append(
        f"<p>{P.esc(ctx.dataset)}: {ctx.cov.start} to {ctx.cov.end} (from the releases' "
        "stated coverage, else their first and last event). A day outside the coverage has no "
        "records, which is not the same as no arrests.</p>"
    )
    s.body.append(
        "<details><summary>Surge detection parameters</summary><pre>"
        + P.esc(json.dumps(ctx.surge_result.parameters, indent=1, default=str))
        + "</pre></details>"
    )
