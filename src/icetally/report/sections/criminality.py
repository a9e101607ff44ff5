"""Criminality, and convictions for immigration offences only."""

from __future__ import annotations

from icetally.query.backend import BackendError
from icetally.query.filters import QueryError
from icetally.report import page as P
from icetally.report.context import ReportContext, Section


def build(ctx: ReportContext) -> None:
    s = ctx.section("criminality", "Criminality, and convictions for immigration offences only")
    cr = ctx.count("records by criminality class", s, by="criminality", **ctx.filters())
    known = [r for r in cr.rows if r.get("criminality") and r["criminality"] != "unknown"]
    releases = ctx.release_names(cr.query.get("releases", []))
    if not cr.total:
        s.body.append(P.note("No records in the window."))
        return
    if not known:
        s.supported = False
        s.body.append(
            P.unsupported(
                f"The releases behind this window ({releases}) have no criminality field "
                "(the FY2016–2019 ERO-LESA national releases never do), so the share of people "
                "convicted or charged cannot be computed from them, and neither can the "
                "immigration-only split."
            )
        )
        return
    total = cr.total
    order = ["convicted", "pending_charges", "immigration_violator", "unknown", None]
    rows = sorted(
        cr.rows,
        key=lambda r: order.index(r.get("criminality")) if r.get("criminality") in order else 9,
    )
    s.body.append(
        P.table(
            ["criminality", "records", "share"],
            [
                [
                    r.get("criminality") or "not given",
                    P.fmt_int(r["n"]),
                    P.fmt_pct(r["n"] / total, 1),
                ]
                for r in rows
            ],
            numeric=[1, 2],
        )
    )
    conv = sum(r["n"] for r in cr.rows if r.get("criminality") in ("convicted", "pending_charges"))
    s.body.append(
        f"<p>Convicted or with charges pending: {P.fmt_int(conv)} of {P.fmt_int(total)} "
        f"({P.fmt_pct(conv / total, 1)}). ICE counts illegal entry and re-entry as crimes, so "
        "“convicted” includes people whose only conviction is an immigration offence.</p>"
    )
    io = ctx.count(
        "convicted records by immigration-only conviction",
        s,
        by="immigration_only_conviction",
        **ctx.filters(criminality=["convicted"]),
    )
    split = {r.get("immigration_only_conviction"): r["n"] for r in io.rows}
    if split.get(True) is None and split.get(False) is None:
        s.body.append(
            P.unsupported(
                "The immigration-only split needs the most serious conviction charge, which "
                "these "
                f"releases ({releases}) do not have."
            )
        )
        _detainer_split(ctx, s)
    else:
        t, f, u = split.get(True, 0), split.get(False, 0), split.get(None, 0)
        s.body.append(
            P.table(
                ["convicted records whose most serious conviction is…", "records"],
                [
                    ["an immigration offence only (illegal entry/re-entry, …)", P.fmt_int(t)],
                    ["another offence", P.fmt_int(f)],
                    ["not recorded", P.fmt_int(u)],
                ],
                numeric=[1],
            )
        )


def _detainer_split(ctx: ReportContext, s: Section) -> None:
    """Context from the detainers table, when the store has one with charges."""
    if "detainers" not in ctx.tables():
        return
    try:
        io = ctx.count(
            "detainers issued in the window, convicted, by immigration-only conviction",
            s,
            dataset="detainers",
            by="immigration_only_conviction",
            **ctx.filters(metric=False, criminality=["convicted"]),
        )
    except (QueryError, BackendError):
        return
    split = {r.get("immigration_only_conviction"): r["n"] for r in io.rows}
    if not (split.get(True) or split.get(False)):
        return
    t, f = split.get(True, 0), split.get(False, 0)
    s.body.append(
        f"<p>For context only – a different population: of the {P.fmt_int(t + f)} detainers "
        f"issued in the same window and AORs for people with a recorded conviction charge, "
        f"{P.fmt_int(t)} ({P.fmt_pct(t / (t + f), 1)}) had an immigration offence as their "
        "most "
        "serious conviction (detainers table, MSC charge).</p>"
    )
