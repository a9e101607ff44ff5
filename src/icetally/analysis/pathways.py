"""Pathways: what happened to the people arrested in a slice.

Built on the episodes of one linked release (``icetally.analysis.linking``): outcome
shares (removed, released by reason, still detained, never detained), days detained,
days to removal, removal countries, criminality and the match rates of the linking,
overall and per ``--by`` group. The figures are counted in the query engine (grouped
counts and day histograms, so DuckDB and Spark give the same answer) and the
quantiles are computed exactly from the histograms here.

    >>> icetally.pathways(store, date_from="2019-09-01", aor="LOS", by="month")
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import ibis

from icetally.analysis.linking import (
    COLLAPSE_DAYS,
    EPISODE_COLUMNS,
    OUTCOMES,
    STAY_WINDOW_DAYS,
    TRANSFER_GAP_DAYS,
    Linked,
    LinkedRelease,
    LinkingError,
    columns_read,
    linked,
    resolve_linked_release,
)
from icetally.query.expr import dimension, jsonable
from icetally.query.filters import Slice
from icetally.store.handle import Store
from icetally.vocabulary import DIMENSIONS, QueryError, parse_by

__all__ = ["PathwaysResult", "pathways", "quantiles", "summarize"]

QUANTILES = {"median": 0.5, "p25": 0.25, "p75": 0.75, "p90": 0.9}


@dataclass
class PathwaysResult:
    """The figures of one slice (``summary``), per group (``rows``) and the query."""

    summary: dict[str, Any]
    rows: list[dict[str, Any]]
    query: dict[str, Any]
    linked_release: LinkedRelease
    warnings: list[str] = field(default_factory=list)
    comparison: dict[str, Any] | None = None
    # value -> episodes, for the comparison's bootstrap (not part of the JSON)
    histograms: dict[str, dict[int, int]] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.summary)
        if self.query.get("by"):
            out["rows"] = self.rows
        if self.comparison is not None:
            out["comparison"] = self.comparison
        out["linked_release"] = self.linked_release.to_dict()
        out["rules"] = rules()
        out["query"] = self.query
        if self.warnings:
            out["warnings"] = self.warnings
        return out


def rules() -> dict[str, Any]:
    """The linking rules' parameters (docs/methods.md, "Pathways")."""
    return {
        "transfer_gap_days": TRANSFER_GAP_DAYS,
        "collapse_arrests_within_days": COLLAPSE_DAYS,
        "stay_window_days": [0, STAY_WINDOW_DAYS],
    }


def quantiles(hist: dict[int, int]) -> dict[str, float | None]:
    """Exact quantiles (linear interpolation between order statistics, as numpy's
    default and SQL's quantile_cont) of values given as value -> count."""
    n = sum(hist.values())
    if n == 0:
        return dict.fromkeys(QUANTILES)
    values = sorted(hist.items())

    def at(k: int) -> int:  # the k-th smallest value, 0-based
        seen = 0
        for v, c in values:
            seen += c
            if k < seen:
                return v
        return values[-1][0]

    out: dict[str, float | None] = {}
    for name, q in QUANTILES.items():
        h = (n - 1) * q
        lo, hi = math.floor(h), math.ceil(h)
        a, b = at(lo), at(hi)
        out[name] = round(a + (b - a) * (h - lo), 2)
    return out


def require_detention(lr: LinkedRelease) -> None:
    """Outcomes need the release's detention stints: without them every arrest would
    read as never detained."""
    missing = [d for d in ("arrests", "detention_stints") if not lr.has(d)]
    if missing:
        raise LinkingError(
            f"linked release {lr.id} ({lr.label}) has no {' or '.join(missing)} with "
            "identifiers: what happened after an arrest cannot be told without both"
        )


def pathway_dimensions(by: str | list[str] | None) -> list[str]:
    """``--by`` for pathways: the vocabulary's dimensions an episode carries (those of
    its arrest)."""
    dims = parse_by(by)
    bad = [d for d in dims if DIMENSIONS[d].column not in EPISODE_COLUMNS]
    if bad:
        ok = [n for n, d in DIMENSIONS.items() if d.column in EPISODE_COLUMNS]
        raise QueryError(
            f"pathways cannot group by {', '.join(bad)} (not a property of an arrest); "
            f"use one of {', '.join(ok)}"
        )
    return dims


def _share(n: int, of: int) -> float | None:
    return round(n / of, 4) if of else None


def summarize(
    counts: list[dict[str, Any]],
    detained_hist: dict[int, int],
    removal_hist: dict[int, int],
    countries: dict[str, int],
    persons: int,
) -> dict[str, Any]:
    """One group's figures from its grouped counts (keys: outcome, reason,
    criminality, has_stay, stay_open, collapsed, n, arrest_records)."""
    episodes = sum(r["n"] for r in counts)
    outcomes: dict[str, Any] = {}
    for o in OUTCOMES:
        n = sum(r["n"] for r in counts if r["outcome"] == o)
        outcomes[o] = {"n": n, "share": _share(n, episodes)}
    reasons: dict[str, int] = {}
    for r in counts:
        if r["outcome"] == "released":
            key = r["reason"] or "unknown"
            reasons[key] = reasons.get(key, 0) + r["n"]
    released = outcomes["released"]["n"]
    outcomes["released"]["by_reason"] = [
        {"reason": k, "n": v, "share": _share(v, released)}
        for k, v in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    crim: dict[str, int] = {}
    for r in counts:
        key = r["criminality"] or "unknown"
        crim[key] = crim.get(key, 0) + r["n"]
    with_stay = sum(r["n"] for r in counts if r["has_stay"])
    open_stays = sum(r["n"] for r in counts if r["stay_open"])
    removed = outcomes["removed"]["n"]
    return {
        "persons": persons,
        "episodes": episodes,
        "arrest_records": sum(r["arrest_records"] for r in counts),
        "collapsed_episodes": sum(r["n"] for r in counts if r["collapsed"]),
        "outcomes": outcomes,
        "days_detained": {
            "n": sum(detained_hist.values()),
            "open": open_stays,
            **quantiles(detained_hist),
        },
        "days_to_removal": {"n": sum(removal_hist.values()), **quantiles(removal_hist)},
        "removal_countries": [
            {"country": k, "n": v, "share": _share(v, removed)}
            for k, v in sorted(countries.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "criminality": {k: {"n": v, "share": _share(v, episodes)} for k, v in sorted(crim.items())},
        "arrests_with_stay": {"n": with_stay, "of": episodes, "rate": _share(with_stay, episodes)},
    }


def _grouped(s: Store, e: Any, dims: list[str]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Per group of ``dims`` (the empty tuple: everything), the inputs of summarize."""
    keys = {d: dimension(e, d) for d in dims}
    out: dict[tuple[Any, ...], dict[str, Any]] = {}

    def slot(row: dict[str, Any]) -> dict[str, Any]:
        key = tuple(jsonable(row[d]) for d in dims)
        return out.setdefault(
            key, {"counts": [], "detained": {}, "removal": {}, "countries": {}, "persons": 0}
        )

    counts = e.group_by(
        **keys,
        outcome=e.outcome,
        reason=ibis.ifelse(e.outcome == "released", e.release_reason, ibis.null("string")),
        criminality=e.criminality,
        has_stay=e.stay.notnull(),
        stay_open=e.stay_open.fill_null(False),
        collapsed=e.collapsed,
    ).aggregate(n=e.count(), arrest_records=e.arrest_records.sum())
    for r in s.rows(counts):
        slot(r)["counts"].append(
            {k: (int(v) if k in ("n", "arrest_records") else v) for k, v in r.items()}
        )
    det = e.filter(e.stay.notnull())
    for r in s.rows(det.group_by(**keys, days=det.days_detained).aggregate(n=det.count())):
        if r["days"] is not None:
            slot(r)["detained"][int(r["days"])] = int(r["n"])
    rem = e.filter(e.outcome == "removed")
    for r in s.rows(rem.group_by(**keys, days=rem.days_to_removal).aggregate(n=rem.count())):
        if r["days"] is not None:
            slot(r)["removal"][int(r["days"])] = int(r["n"])
    country = rem.departure_country.fill_null("unknown")
    for r in s.rows(rem.group_by(**keys, country=country).aggregate(n=rem.count())):
        slot(r)["countries"][r["country"]] = int(r["n"])
    persons = (
        e.group_by(**keys).aggregate(persons=e._pk.nunique())
        if keys
        else e.aggregate(persons=e._pk.nunique())
    )
    for r in s.rows(persons):
        slot(r)["persons"] = int(r["persons"])
    return out


def _match_rates(
    s: Store, tables: Linked, slc: Slice, arrests_rate: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The three match rates and their SQL. Stays and removals are taken in the
    slice's date window (by book-in and departure day); area filters apply to arrests
    only (a stay's facility may lie in another area)."""
    rates: dict[str, Any] = {"arrests_with_stay": arrests_rate}
    sql: dict[str, str] = {}
    lr, stays, all_episodes = tables.release, tables.stays, tables.episodes

    def window(t: Any, col: str) -> Any:
        if slc.date_from:
            t = t.filter(t[col] >= ibis.date(slc.date_from))
        if slc.date_to:
            t = t.filter(t[col] <= ibis.date(slc.date_to))
        return t

    if stays is None:
        rates["stays_with_arrest"] = {"n": 0, "of": 0, "rate": None}
        rates["removals_with_stay"] = {"n": 0, "of": 0, "rate": None}
        return rates, sql
    # a stay is linked to at most one episode (its nearest earlier arrest) and an
    # episode to at most one stay, so the linked stays are counted on the episodes
    # themselves: no join of every stay with every episode
    st = window(stays, "book_in")
    linked = window(all_episodes.filter(all_episodes.stay.notnull()), "book_in")
    q = st.aggregate(of=st.count()).cross_join(linked.aggregate(n=linked.count()))
    row = s.rows(q)[0]
    n, of = int(row["n"]), int(row["of"])
    rates["stays_with_arrest"] = {"n": n, "of": of, "rate": _share(n, of)}
    sql["stays_with_arrest"] = _named(str(ibis.to_sql(q)), tables)
    deps = tables.departures
    if deps is None:
        rates["removals_with_stay"] = {"n": 0, "of": 0, "rate": None}
        return rates, sql
    d = window(deps, "departed_date")
    end = ibis.date(lr.extract_date) if lr.extract_date else None
    sv = stays.select(
        _sp=stays._pk,
        _in=stays.book_in,
        _out=stays.book_out.fill_null(end) if end is not None else stays.book_out,
    )
    # departures are one per person and day: those with a stay around them (a semi
    # join: each counted once, however many stays match)
    hits = d.semi_join(
        sv,
        [
            d._pk == sv._sp,
            sv._in <= d.departed_date,
            d.departed_date <= sv._out + ibis.interval(days=TRANSFER_GAP_DAYS),
        ],
    )
    n = int(s.rows(hits.aggregate(n=hits.count()))[0]["n"])
    of = int(s.rows(d.aggregate(n=d.count()))[0]["n"])
    rates["removals_with_stay"] = {"n": n, "of": of, "rate": _share(n, of)}
    sql["removals_with_stay"] = _named(str(ibis.to_sql(hits.aggregate(n=hits.count()))), tables)
    return rates, sql


def pathways(
    store: Store | str | os.PathLike[str] | None = None,
    *,
    db: str | os.PathLike[str] | None = None,
    backend: str | None = None,
    by: str | list[str] | None = None,
    con: Any = None,
    **filters: Any,
) -> PathwaysResult:
    """What happened to the people arrested in a slice of one linked release.

    Filters are the vocabulary's (applied to each episode's arrest); ``release``
    picks the linked release (release ids or a linked release id; default the latest)
    and may not name two: identifiers do not link across releases (LinkingError).
    """
    release = filters.pop("release", None)
    slc = Slice.build("arrests", **filters)
    dims = pathway_dimensions(by)
    with Store.borrow(store, db=db, backend=backend, con=con) as s:
        lr = resolve_linked_release(s, release)
        require_detention(lr)
        with linked(s, lr, carried(s, lr, slc, dims), person_ids=False) as tables:
            return _pathways(s, tables, slc, dims)


def carried(
    s: Store, lr: LinkedRelease, slc: Slice, dims: list[str], *uses: Any
) -> tuple[str, ...]:
    """The arrest columns the episodes must carry for ``_pathways`` over this slice,
    these dimensions and the extra predicates or subsets ``uses`` (a surge's or a
    campaign's): the slice's filters, the dimensions, and criminality (every
    figure's breakdown)."""
    return columns_read(
        s,
        lr,
        slc.apply,
        lambda e: e.criminality,
        *(lambda e, d=d: dimension(e, d) for d in dims),
        *uses,
    )


def _named(sql: str, tables: Linked) -> str:
    """SQL over the materialized steps, with each step's name in place of its
    temporary table's (the steps' own SQL is in query.sql too)."""
    for name, temp in tables.temps.items():
        sql = sql.replace(temp, name)
    return sql


def _pathways(
    s: Store,
    tables: Linked,
    slc: Slice,
    dims: list[str],
    where: Any = None,
    subset: Any = None,
) -> PathwaysResult:
    """The figures of one slice over the materialized tables; ``where(episodes)``: an
    extra predicate (a surge's AOR windows); ``subset(episodes)``: an extra filtered
    table (a campaign's area and weeks)."""
    lr = tables.release
    e = slc.apply(tables.episodes)
    if where is not None:
        e = e.filter(where(e))
    if subset is not None:
        e = subset(e)
    groups = _grouped(s, e, dims)
    total = _combine(groups)
    summary = summarize(total["counts"], total["detained"], total["removal"], total["countries"], 0)
    summary["persons"] = (
        int(s.rows(e.aggregate(n=e._pk.nunique()))[0]["n"]) if dims else total["persons"]
    )
    rates, rate_sql = _match_rates(s, tables, slc, summary.pop("arrests_with_stay"))
    summary["match_rates"] = rates
    rows = []
    if dims:
        for key in sorted(groups, key=_order_key):
            g = groups[key]
            one = summarize(g["counts"], g["detained"], g["removal"], g["countries"], 0)
            one["persons"] = g["persons"]
            one["match_rates"] = {"arrests_with_stay": one.pop("arrests_with_stay")}
            rows.append({**dict(zip(dims, key, strict=True)), **one})
    query = {
        "dataset": "arrests",
        "filters": slc.to_dict(),
        "by": dims,
        "backend": s.backend_name,
        "linked_release": lr.id,
        "releases": lr.all_release_ids,
        # each step's SQL reads the steps before it by name: stays, departures,
        # arrest_episodes, ..., episodes; "pathways" is the slice the figures count
        "sql": {**tables.sql, "pathways": _named(str(ibis.to_sql(e)), tables), **rate_sql},
    }
    warnings = []
    if summary["episodes"] == 0:
        warnings.append("no arrests with identifiers in this slice of the linked release")
    if summary["days_detained"]["open"]:
        warnings.append(
            f"{summary['days_detained']['open']} stays were still open at the release's "
            f"extract date ({lr.extract_date}); their days detained run to that date"
        )
    return PathwaysResult(
        summary=summary,
        rows=rows,
        query=query,
        linked_release=lr,
        warnings=warnings,
        histograms={"days_detained": total["detained"], "days_to_removal": total["removal"]},
    )


def _combine(groups: dict[tuple[Any, ...], dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"counts": [], "detained": {}, "removal": {}, "countries": {}}
    out["persons"] = sum(g["persons"] for g in groups.values())
    for g in groups.values():
        out["counts"].extend(g["counts"])
        for k in ("detained", "removal", "countries"):
            for v, n in g[k].items():
                out[k][v] = out[k].get(v, 0) + n
    return out


def _order_key(values: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((v is None, v if v is not None else 0) for v in values)


__all__ += ["LinkingError", "QueryError"]


def run(
    store: Store | str | os.PathLike[str] | None = None,
    *,
    surge: str | None = None,
    campaign: str | None = None,
    weeks_before: int = 4,
    **kwargs: Any,
) -> PathwaysResult:
    """``pathways``, or with ``surge``/``campaign`` the group against the weeks before
    (see icetally.api.pathways)."""
    if surge and campaign:
        raise QueryError("give --surge or --campaign, not both")
    if campaign:
        from icetally.analysis.pathways_compare import compare_campaign

        return compare_campaign(store, campaign, weeks_before=weeks_before, **kwargs)
    if surge:
        from icetally.analysis.pathways_compare import compare_surge

        return compare_surge(store, surge, weeks_before=weeks_before, **kwargs)
    return pathways(store, **kwargs)
