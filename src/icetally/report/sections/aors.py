"""Per AOR: records, expected and excess in the window, the detector's windows, a tile map."""

from __future__ import annotations

from icetally.report import charts, tiles
from icetally.report import page as P
from icetally.report.context import ReportContext, aor_name


def build(ctx: ReportContext) -> None:
    s = ctx.section("aors", "Records per area of responsibility")
    nat = ctx.count(
        "records per AOR, all AORs (for the map)", s, by="aor", **ctx.filters(aor=False)
    )
    totals = {r["aor"]: r["n"] for r in nat.rows if r.get("aor")}
    missing = sum(r["n"] for r in nat.rows if not r.get("aor"))
    wanted = ctx.aors or sorted(totals, key=lambda a: -totals[a])
    every = {}
    if ctx.cls:
        ev = ctx.count(
            "arrests of all methods per AOR",
            s,
            by="aor",
            **ctx.filters(metric=False, aor=False),
        )
        every = {r["aor"]: r["n"] for r in ev.rows if r.get("aor")}
    det = {p.aor: p for p in (ctx.surge.aors if ctx.surge else [])}
    rows = []
    for a in wanted:
        m = ctx.model_window(ctx.start, ctx.end, [a])
        p = det.get(a)
        row = [a, aor_name(a), P.fmt_int(totals.get(a, 0))]
        if ctx.cls:
            row.append(P.fmt_int(every.get(a, 0)))
        row += [
            P.fmt_int(m["expected"]) if m["aors"] else "–",
            P.fmt_int(m["excess"]) if m["aors"] else "–",
            f"{p.start:%m-%d}→{p.end:%m-%d}: {p.excess:,.0f}" if p else "–",
        ]
        rows.append(row)
    headers = ["AOR", "name", ctx.metric_words()]
    if ctx.cls:
        headers.append("all methods")
    headers += ["expected", "above baseline", "detector window: excess"]
    num = [2, 3, 4, 5, 6] if ctx.cls else [2, 3, 4, 5]
    s.body.append(P.table(headers, rows, numeric=num))
    if missing:
        s.body.append(
            P.note(f"{missing:,} records in the window carry no AOR and are not on the map.")
        )
    svg = ctx.chart(
        charts.tile_map(
            tiles.tile_rows(totals, set(ctx.aors), any_aor=True),
            title=f"{ctx.metric_words().capitalize()}, "
            f"{ctx.start:%d %b} – {ctx.end:%d %b %Y}, by AOR",
        )
    )
    split = "; ".join(f"{st}: {', '.join(a)}" for st, a in tiles.split_states().items())
    s.body.append(
        P.svg_figure(
            svg,
            "Each state takes the colour of its AOR's total over the window (the AOR code "
            "under "
            "the state). States marked * are split between AORs and show the AOR with most of "
            f"their population ({split}). States wholly or partly in the report's AORs are "
            "outlined in red.",
            "Tile map of US states coloured by AOR totals",
        )
    )
