"""What happened to those arrested: outcomes of the window's (or the surge's) arrests
in a linked release, when the store holds one (analysis/pathways.py)."""

from __future__ import annotations

from typing import Any

from icetally.analysis.linking import LinkingError, linked_releases
from icetally.report import page as P
from icetally.report.context import ReportContext


def build(ctx: ReportContext) -> None:
    """Outcomes, durations and match rates; against the weeks before for a surge."""
    from icetally.analysis.pathways import run
    from icetally.analysis.pathways_compare import compare_surge

    found = linked_releases(ctx.store)
    if not any(lr.has("arrests") and lr.has("detention_stints") for lr in found):
        return  # no release whose arrests and stays link: the section does not apply
    s = ctx.section("pathways", "What happened to those arrested")
    try:
        if ctx.surge is not None:
            res = compare_surge(ctx.store, ctx.surge.id, detected=ctx.surge, aor=ctx.aors or None)
        else:
            res = run(ctx.store, date_from=ctx.start, date_to=ctx.end, aor=ctx.aors or None)
    except LinkingError as exc:
        s.supported = False
        s.body.append(P.unsupported(f"The arrests cannot be followed: {exc}."))
        return
    d = res.to_dict()
    lr = d["linked_release"]
    if not d["episodes"]:
        s.supported = False
        s.body.append(
            P.unsupported(
                f"No arrests with identifiers in this window in the linked release "
                f"{lr['label']}: the people arrested cannot be followed."
            )
        )
        return
    comp = d.get("comparison")
    s.body.append(
        f"<p>{P.fmt_int(d['persons'])} people, {P.fmt_int(d['episodes'])} arrests in the "
        f"release {P.esc(lr['label'])} (extract date {P.esc(lr['extract_date'])}), each "
        "followed to the detention stay after it and the departure after that. Identifiers "
        "are never linked across releases.</p>"
    )
    diffs = {r["figure"]: r for r in comp["differences"]} if comp else {}
    headers = ["outcome", "arrests", "share"]
    if comp:
        headers += [f"{comp['before']['weeks']} weeks before", "difference (95% interval)"]
    rows: list[list[Any]] = []
    for name, o in d["outcomes"].items():
        row = [name.replace("_", " "), P.fmt_int(o["n"]), P.fmt_pct(o["share"], 1)]
        if comp:
            b = comp["before"]["outcomes"][name]
            row += [P.fmt_pct(b["share"], 1), _diff_pts(diffs.get(f"share {name}"))]
        rows.append(row)
    s.body.append(P.table(headers, rows, numeric=list(range(1, len(headers)))))
    released = d["outcomes"]["released"]["by_reason"]
    if released:
        reasons = ", ".join(f"{P.esc(r['reason'])} {P.fmt_int(r['n'])}" for r in released[:6])
        s.body.append(f"<p>Released: {reasons}.</p>")
    dd, dr = d["days_detained"], d["days_to_removal"]
    s.body.append(
        f"<p>Days detained: median {dd['median']} (25% {dd['p25']}, 75% {dd['p75']}, 90% "
        f"{dd['p90']}; {P.fmt_int(dd['n'])} stays, {P.fmt_int(dd['open'])} still open at the "
        f"extract date and counted to it). Days from arrest to removal: median {dr['median']} "
        f"({P.fmt_int(dr['n'])} removals).</p>"
    )
    if comp:
        longer = diffs.get("median days detained")
        if longer and longer["difference"] is not None:
            s.body.append(
                f"<p>Against the arrests in the same AORs from {comp['before']['from']} to "
                f"{comp['before']['to']}: median days detained {longer['surge']} against "
                f"{longer['before']} ({_diff_days(longer)}).</p>"
            )
    m = d["match_rates"]
    s.body.append(
        "<p>How well the records link: "
        + "; ".join(
            f"{k.replace('_', ' ')} {P.fmt_pct(v['rate'], 1)} ({P.fmt_int(v['n'])} of "
            f"{P.fmt_int(v['of'])})"
            for k, v in m.items()
        )
        + ". Later arrests have had less time to end in a removal before the extract date.</p>"
    )
    for name, sql in d["query"]["sql"].items():
        ctx.add_query(
            s,
            f"pathways: {name}",
            sql,
            filters=d["query"]["filters"],
            releases=d["query"]["releases"],
        )


def _diff_pts(r: dict[str, Any] | None) -> str:
    if not r or r["difference"] is None:
        return "–"
    return f"{r['difference'] * 100:+.1f} pts ({r['low'] * 100:+.1f} to {r['high'] * 100:+.1f})"


def _diff_days(r: dict[str, Any]) -> str:
    return f"{r['difference']:+g} days, 95% interval {r['low']:+g} to {r['high']:+g}"
