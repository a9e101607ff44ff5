"""Local cooperation: detainers, decline rates and 287(g) agreements."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from icetally.query.backend import table
from icetally.report import page as P
from icetally.report.context import ReportContext, aor_name


def build(ctx: ReportContext) -> None:
    s = ctx.section("cooperation", "Local cooperation: detainers and 287(g)")
    tbls = ctx.tables()
    has_det = False
    if "detainers" in tbls:
        t = table(ctx.con, "detainers")
        has_det = bool(t.count().to_pyarrow().as_py())
    has_287 = "jurisdictions" in tbls
    if not has_det and not has_287:
        s.supported = False
        s.body.append(
            P.unsupported(
                "The store holds no detainers and no 287(g) lists, so whether these AORs "
                "cooperate with ICE cannot be read from it. Load a detainers release "
                "(icetally ingest) or the 287(g) lists (icetally jurisdictions load) and "
                "render again."
            )
        )
        return
    from icetally.analysis.jurisdictions import cooperation, jurisdictions

    lo = ctx.end - timedelta(364)
    aors = ctx.aors or None
    if has_det:
        co = cooperation(
            ctx.store,
            level="aor",
            by="year",
            date_from=lo,
            date_to=ctx.end,
        )
        agg: dict[str, list[int]] = {}
        for r in co["series"]:
            a = agg.setdefault(r["jurisdiction"], [0, 0])
            a[0] += r["detainers"]
            a[1] += r["declined"]
        ctx.add_query(
            s,
            f"detainers by AOR and lift reason, {lo} to {ctx.end}",
            co["query"]["sql"],
            dataset="detainers",
            filters=co["query"]["filters"],
            releases=[],
        )
        if not agg:
            s.body.append(P.note(f"No detainers recorded from {lo} to {ctx.end}."))
        else:
            want = aors or sorted(agg)
            rows = []
            for a in want:
                n, k = agg.get(a, [0, 0])
                m = ctx.model_window(ctx.start, ctx.end, [a])
                rows.append(
                    [
                        a,
                        aor_name(a),
                        P.fmt_int(n),
                        P.fmt_int(k),
                        P.fmt_pct(k / n, 1) if n else "–",
                        P.fmt_int(m["excess"]) if m["aors"] else "–",
                    ]
                )
            s.body.append(
                f"<p>Detainers issued in the year to {ctx.end} and how many the local agency "
                "declined (lift reason “Detainer Declined by LEA”), beside each AOR's excess "
                "in "
                "the window.</p>"
            )
            s.body.append(
                P.table(
                    [
                        "AOR",
                        "name",
                        "detainers",
                        "declined",
                        "decline rate",
                        "excess in window",
                    ],
                    rows,
                    numeric=[2, 3, 4, 5],
                )
            )
            cc = cooperation(
                ctx.store,
                level="county",
                by="year",
                date_from=lo,
                date_to=ctx.end,
            )
            per: dict[str, dict[str, Any]] = {}
            for r in cc["series"]:
                if aors and r.get("aor") not in aors:
                    continue
                p = per.setdefault(
                    r["jurisdiction"],
                    {"county": r.get("county"), "aor": r.get("aor"), "n": 0, "k": 0},
                )
                p["n"] += r["detainers"]
                p["k"] += r["declined"]
            top = sorted(
                (p for p in per.values() if p["n"] >= 30), key=lambda p: -(p["k"] / p["n"])
            )[:10]
            if top and top[0]["k"]:
                s.body.append(
                    P.table(
                        ["county", "AOR", "detainers", "declined", "decline rate"],
                        [
                            [
                                p["county"],
                                p["aor"],
                                P.fmt_int(p["n"]),
                                P.fmt_int(p["k"]),
                                P.fmt_pct(p["k"] / p["n"], 1),
                            ]
                            for p in top
                        ],
                        numeric=[2, 3, 4],
                        caption="Counties with the highest decline rates (at least 30 detainers)",
                    )
                )
            s.body.append(
                "<p>A decline is a refusal recorded by ICE; a jurisdiction that limits "
                "cooperation "
                "may also simply receive fewer detainers. Whether extra enforcement followed a "
                "change in cooperation is a before/after question: <code>icetally "
                "cooperation</code> "
                "finds change points and <code>did</code> compares counties "
                "(docs/jurisdictions.md).</p>"
            )
    else:
        s.body.append(
            P.unsupported("The store holds no detainers, so decline rates cannot be computed.")
        )
    if has_287:
        j = jurisdictions(ctx.store, level="aor", on=ctx.end)
        rows = [
            [
                r["aor"],
                r.get("name"),
                P.fmt_int(r["g287_agreements"]),
                P.fmt_int(r["g287_pending"]),
                r["cooperation"],
            ]
            for r in j["rows"]
            if not aors or r["aor"] in aors
        ]
        s.body.append(
            P.table(["AOR", "name", "287(g) agreements", "pending", "status"], rows, numeric=[2, 3])
        )
        for w in j["warnings"]:
            s.body.append(P.note(w))
    else:
        s.body.append(
            P.unsupported(
                "The store holds no 287(g) lists (icetally jurisdictions load "
                "../shared/data/287g/), "
                "so agreements are not shown."
            )
        )
