"""ICE's published detention statistics, when the store holds them."""

from __future__ import annotations

from icetally.report.context import ReportContext


def build(ctx: ReportContext) -> None:
    """ICE's published detention statistics, when the store holds them
    (report/detention.py; docs/official.md)."""
    from icetally.report import detention

    if not ctx.store.is_duckdb:
        return
    part = detention.section(ctx.store, ctx.start, ctx.end)
    if part is None:
        return
    s = ctx.section("detention", part["title"])
    s.body.extend(part["body"])
    for q in part["queries"]:
        meta = {k: v for k, v in q.items() if k not in ("label", "sql", "dataset")}
        meta["filters"] = {**(q.get("filters") or {}), "table": q.get("table")}
        ctx.add_query(s, q["label"], q["sql"], **{**meta, "dataset": "official"})
