"""Claims: the verdicts. What the records show for a claim (the counts, the baseline,
the share and its unknowns, read from a Store) and the rule that turns them into a
verdict. The rules (``t`` = the claim's tolerance; docs/claims.md):

* ``count``: stated ``S`` vs recorded ``O``: ``consistent`` when ``|S - O| <= t * O``,
  else ``overstated`` (S above) or ``understated`` (S below); ``more than S`` is
  consistent when ``S <= O (1 + t)``, ``fewer than S`` when ``S >= O (1 - t)``.
* ``operation``: total ``T`` in the window, baseline ``E``, excess ``X = T - E``:
  ``consistent`` when ``X (1 - t) <= S <= T (1 + t)``, ``exceeds_records`` above,
  ``below_excess`` below.
* ``share``: stated ``p`` vs the recorded share, an interval ``[q_lo, q_hi]`` when some
  records' class is unknown: ``consistent`` when ``q_lo - t <= p <= q_hi + t``; a
  threshold ("a majority": ``p > 0.5``) is ``consistent`` when ``q_lo > 0.5``,
  ``overstated`` when ``q_hi <= 0.5``, undecided (unverifiable) in between.
* ``unverifiable``: the window lies outside the releases' coverage, a place maps to no
  AOR, a needed field is absent from the release, or the text gives no exact window.

The sentences are written by ``wording.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import ibis

from icetally import reference
from icetally.analysis.baseline import Baseline, BaselineError, reference_span, window_baseline
from icetally.analysis.claims import wording as W
from icetally.analysis.claims.parse import FILTER_KEYS, MAX_COUNT_BASELINE_DAYS, Claim
from icetally.query.count import count as count_query
from icetally.query.filters import Slice
from icetally.store.coverage import Coverage
from icetally.store.handle import Store
from icetally.vocabulary import FILTERS, as_date

BaselineFn = Callable[..., Baseline]

# Canonical column behind each filter, to tell "absent from the release" (all NULL);
# a release id is never absent.
FILTER_COLUMNS = {k: FILTERS[k].column for k in FILTER_KEYS if k != "release"}


@dataclass
class CheckReport:
    results: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"claims": self.results}

    @property
    def verdicts(self) -> dict[str, str]:
        return {r["id"]: r["verdict"] for r in self.results}


# --------------------------------------------------------------------------- rules


def count_verdict(stated: float, total: int, qualifier: str, tol: float) -> tuple[str, str]:
    """(verdict, reason) of a count claim."""
    if qualifier == "more_than":
        ok = stated <= total * (1 + tol)
        return ("consistent", "more_than_fits") if ok else ("overstated", "more_than_above")
    if qualifier == "fewer_than":
        ok = stated >= total * (1 - tol)
        return ("consistent", "fewer_than_fits") if ok else ("understated", "fewer_than_below")
    diff = stated - total
    rel = abs(diff) / total if total else math.inf
    if rel <= tol:
        return "consistent", "within"
    return ("overstated", "above") if diff > 0 else ("understated", "below")


def operation_verdict(
    stated: float, total: int, expected: float, qualifier: str, tol: float
) -> tuple[str, str]:
    """(verdict, reason) of an operation claim against the window's total and baseline."""
    excess = total - expected
    if stated > total * (1 + tol):
        return "exceeds_records", "exceeds"
    if qualifier == "more_than":
        return "consistent", "more_than"
    if stated < max(excess, 0.0) * (1 - tol):
        return "below_excess", "below_excess"
    return "consistent", "between"


def share_verdict(
    p: float, q_lo: float, q_hi: float, qualifier: str, tol: float
) -> tuple[str | None, str]:
    """(verdict, reason) of a share claim; verdict None when the records whose class is
    unknown decide a threshold."""
    if qualifier == "more_than":
        if q_lo > p:
            return "consistent", "holds"
        if q_hi <= p:
            return "overstated", "does_not_hold"
        return None, "undecided"
    if qualifier == "fewer_than":
        if q_hi < p:
            return "consistent", "holds"
        if q_lo >= p:
            return "understated", "below_records"
        return None, "undecided"
    if p > q_hi + tol:
        return "overstated", "above"
    if p < q_lo - tol:
        return "understated", "below"
    return "consistent", "within"


def coverage_problem(cov: Coverage, lo: date, hi: date) -> tuple[str, Any] | None:
    """None when [lo, hi] lies wholly inside one covered span, else what is wrong."""
    if not cov.spans:
        return ("none", None)
    if cov.containing(lo, hi):
        return None
    if lo > cov.end:  # type: ignore[operator]
        return ("after", cov.end)
    if hi < cov.start:  # type: ignore[operator]
        return ("before", cov.start)
    return ("partial", cov.describe())


# --------------------------------------------------------------------------- store facts


def _slice(claim: Claim, lo: date | None = None, hi: date | None = None) -> Slice:
    return Slice.build(
        claim.dataset,
        date_from=lo or claim.date_from,
        date_to=hi or claim.date_to,
        **claim.filters,
    )


def _filter_kwargs(claim: Claim) -> dict[str, Any]:
    return {"date_from": claim.date_from, "date_to": claim.date_to, **claim.filters}


def _present_fields(store: Store, slc: Slice, columns: Iterable[str]) -> dict[str, int]:
    """Non-null count of each column in the slice (0 = absent from these releases)."""
    cols = sorted(set(columns))
    if not cols:
        return {}
    f = slc.apply(store.table(slc.dataset))
    row = store.rows(f.aggregate(**{c: f[c].notnull().sum() for c in cols}))[0]
    return {c: int(row[c] or 0) for c in cols}


def _daily(store: Store, slc: Slice) -> dict[date, int]:
    f = slc.apply(store.table(slc.dataset))
    rows = store.rows(f.group_by(d=f.event_date).aggregate(n=f.n.sum()))
    return {as_date(r["d"]): int(r["n"] or 0) for r in rows if r["d"] is not None}  # type: ignore[misc]


def _field_reasons(claim: Claim, store: Store, cov_ok: bool) -> list[str]:
    """Needed fields that are absent (all NULL) where the claim looks."""
    needed = {FILTER_COLUMNS[k] for k in claim.filters if k in FILTER_COLUMNS}
    num = claim.numerator
    for k in ("criminality", "citizenship", "continent", "method_class"):
        if num.get(k):
            needed.add(FILTER_COLUMNS[k])
    if not needed:
        return []
    # Within the window when it is covered, else over all the dataset's records, so
    # the explanation can say "absent from the release" even for an uncovered window.
    where = Slice.build(
        claim.dataset,
        date_from=claim.date_from if cov_ok else None,
        date_to=claim.date_to if cov_ok else None,
        release=claim.filters.get("release"),
    )
    present = _present_fields(store, where, needed)
    scope = W.field_scope(claim, cov_ok)
    out = [W.absent_field(c, scope) for c, n in sorted(present.items()) if n == 0]
    if num.get("exclude_immigration_only") and present.get("criminality"):
        # The flag is NULL for everyone not convicted, so "absent" means: convictions
        # exist but none carries a most-serious-conviction charge to classify.
        f = where.apply(store.table(claim.dataset))
        conv = f.criminality == "convicted"
        row = store.rows(
            f.aggregate(
                convicted=conv.sum(),
                flagged=(conv & f.immigration_only_conviction.notnull()).sum(),
            )
        )[0]
        if (row["convicted"] or 0) > 0 and not row["flagged"]:
            out.append(W.absent_charge(scope))
    return out


# --------------------------------------------------------------------------- checking


def _base_result(claim: Claim) -> dict[str, Any]:
    return {
        "id": claim.id,
        "measure": claim.measure,
        "verdict": None,
        "stated": claim.value if claim.measure == "share" else int(round(claim.value)),
        "stated_text": claim.value_text,
        "qualifier": claim.qualifier,
        "observed": None,
        "expected": None,
        "excess": None,
        "low": None,
        "high": None,
        "tolerance": claim.tol,
        "dataset": claim.dataset,
        "window": {
            "from": claim.date_from.isoformat() if claim.date_from else None,
            "to": claim.date_to.isoformat() if claim.date_to else None,
            "exact": claim.exact_window,
            "days": claim.days,
        },
        "filters": dict(claim.filters),
        "coverage": None,
        "explanation": "",
        "reasons": [],
        "query": None,
        "source": claim.source,
        "text": claim.text,
        "note": claim.note,
    }


def _unverifiable(res: dict[str, Any], reasons: list[str], lead: str | None = None) -> None:
    res["verdict"] = "unverifiable"
    res["reasons"] = reasons
    res["explanation"] = W.unverifiable(reasons, lead)


def check_claims(
    claims: Sequence[Claim],
    *,
    store: Store,
    baseline: BaselineFn = window_baseline,
) -> CheckReport:
    """Check parsed claims against an open store."""
    cov_cache: dict[tuple[str, tuple[str, ...]], Coverage] = {}
    results = []
    for claim in claims:
        key = (claim.dataset, tuple(claim.filters.get("release", [])))
        if key not in cov_cache:
            cov_cache[key] = store.coverage(claim.dataset, releases=key[1])
        results.append(_check_one(claim, store, cov_cache[key], baseline))
    return CheckReport(results)


def _check_one(claim: Claim, store: Store, cov: Coverage, baseline: BaselineFn) -> dict[str, Any]:
    res = _base_result(claim)
    res["coverage"] = [{"from": a.isoformat(), "to": b.isoformat()} for a, b in cov.spans]
    reasons: list[str] = []
    if claim.measure == "share" and not claim.exact_window and claim.date_from:
        # A share over a whole month is not the share of one operation's arrests.
        reasons.append(W.share_of_unknown_days(claim))
    if claim.unplaced:
        reasons.append(W.unplaced(claim))
        if not claim.exact_window and claim.date_from:
            reasons.append(W.unknown_days(claim))
    if claim.date_from is None or claim.date_to is None:
        reasons.append(W.NO_DATES)
        cov_ok = False
    else:
        problem = coverage_problem(cov, claim.date_from, claim.date_to)
        if problem:
            reasons.append(W.coverage_reason(claim, problem))
        cov_ok = problem is None
    if cov.spans:
        reasons += _field_reasons(claim, store, cov_ok)
    if reasons or claim.date_from is None:
        _unverifiable(res, reasons)
        return res
    if claim.measure == "share":
        _check_share(claim, store, res)
    else:
        _check_number(claim, store, cov, baseline, res)
    return res


def _check_number(
    claim: Claim, store: Store, cov: Coverage, baseline: BaselineFn, res: dict[str, Any]
) -> None:
    assert claim.date_from and claim.date_to
    cq = count_query(claim.dataset, store=store, **_filter_kwargs(claim))
    res["query"] = cq.query
    if cq.warnings:
        res["warnings"] = cq.warnings
    total = cq.total
    res["observed"] = total
    tol = claim.tol

    if not claim.exact_window:
        # Only the span is known ("a five-day operation in June"): the one certain
        # test is that the operation cannot exceed everything recorded in the span.
        res["expected"] = None
        if claim.value > total * (1 + tol):
            res["verdict"] = "exceeds_records"
            res["explanation"] = W.inexact_exceeds(claim, total)
        else:
            _unverifiable(res, [W.inexact_unverifiable(claim, total)])
        return

    base, base_error = _baseline(claim, store, cov, baseline)
    if base is not None:
        res["expected"] = round(base.expected, 1)
        res["low"] = round(base.low, 1)
        res["high"] = round(base.high, 1)
        res["excess"] = round(total - base.expected, 1)
        res["excess_low"] = round(total - base.high, 1)
        res["excess_high"] = round(total - base.low, 1)
        res["baseline"] = base.to_dict()
        res["baseline_query"] = getattr(base, "query", None) or {
            "dataset": claim.dataset,
            "filters": _slice(claim, *_reference_days(claim, cov)).to_dict(),
            "by": ["date"],
        }
    opening = W.against_baseline(
        claim,
        total,
        base.expected if base else None,
        base.low if base else 0.0,
        base.high if base else 0.0,
    )
    if claim.measure == "count":
        verdict, reason = count_verdict(claim.value, total, claim.qualifier, tol)
        res["verdict"] = verdict
        res["explanation"] = W.count_explanation(
            opening, W.count_detail(claim, total, reason), verdict
        )
        return
    # operation
    if base is None:
        if claim.value > total * (1 + tol):
            res["verdict"] = "exceeds_records"
            res["explanation"] = W.operation_without_baseline(claim, opening, total)
        else:
            _unverifiable(res, [base_error or "no baseline"], f"{opening}, but")
        return
    verdict, reason = operation_verdict(claim.value, total, base.expected, claim.qualifier, tol)
    res["verdict"] = verdict
    res["explanation"] = W.operation_explanation(
        claim, opening, total, total - base.expected, reason
    )


def _reference_days(claim: Claim, cov: Coverage) -> tuple[date, date]:
    """The days a window's baseline may read: its reference weeks, inside its span."""
    assert claim.date_from and claim.date_to
    lo, hi = reference_span(claim.date_from, claim.date_to)
    span = cov.containing(claim.date_from, claim.date_to)
    assert span
    return max(lo, span[0]), min(hi, span[1])


def _baseline(
    claim: Claim, store: Store, cov: Coverage, baseline: BaselineFn
) -> tuple[Baseline | None, str | None]:
    """The window's baseline, or why there is none."""
    assert claim.date_from and claim.date_to
    n_days = (claim.date_to - claim.date_from).days + 1
    if claim.measure == "count" and n_days > MAX_COUNT_BASELINE_DAYS:
        # A yearly total has no "normal week" to compare with; the count stands alone.
        return None, "window too long for a weekly baseline"
    if claim.measure == "operation" and n_days >= CAMPAIGN_CLAIM_DAYS:
        camp = _campaign_baseline(claim, store)
        if camp is not None:
            return camp, None
    lo, hi = reference_span(claim.date_from, claim.date_to)
    span = cov.containing(claim.date_from, claim.date_to)
    assert span
    daily = _daily(store, _slice(claim, *_reference_days(claim, cov)))
    if sum(daily.values()) == 0:
        return None, W.no_records_around(claim)
    try:
        hols = reference.federal_holidays(lo, hi)
        base = baseline(daily, claim.date_from, claim.date_to, coverage=span, holidays=list(hols))
    except BaselineError as exc:
        return None, f"no baseline: {exc}"
    return base, None


# An operation claim over a window this long that overlaps a detected campaign is
# judged against the campaign model's baseline: the area's level outside its campaigns.
# The reference weeks of the weekly baseline would lie inside the campaign (and raise
# the expected count); shorter windows are surges, for the weekly baseline.
CAMPAIGN_CLAIM_DAYS = 14


@dataclass(frozen=True)
class CampaignBaseline(Baseline):
    query: dict[str, Any] | None = None


def _campaign_baseline(claim: Claim, store: Store) -> CampaignBaseline | None:
    from icetally.analysis.campaigns_store import outside_campaigns
    from icetally.analysis.windows import counterfactual_interval

    assert claim.date_from and claim.date_to
    area = next((k for k in ("county", "state") if claim.filters.get(k)), "aor")
    slc = Slice.build(claim.dataset, **claim.filters)
    r = outside_campaigns(store, slc, area, claim.date_from, claim.date_to)
    if not r["campaigns"] or r["expected"] <= 0:
        return None
    lo, hi = counterfactual_interval(r["expected"], r["variance"], 0.95)
    return CampaignBaseline(
        expected=r["expected"],
        low=lo,
        high=hi,
        method=f"outside campaigns ({', '.join(r['campaigns'])}): the {area}'s level on "
        "the days around the window in no detected campaign, with weekday and holiday "
        "effects",
        days_used=int(r["days"]),
        query=r["query"],
    )


def _numerator_pred(f: Any, num: Mapping[str, Any]) -> tuple[Any, Any]:
    """(in numerator, class unknown) predicates for a share's numerator."""
    preds = []
    unknown = []
    crim = num.get("criminality")
    if crim:
        in_crim = f.criminality.isin(list(crim))
        if num.get("exclude_immigration_only"):
            # Convictions whose most serious offence is an immigration offence (illegal
            # entry, re-entry) are taken out; a conviction with no charge recorded
            # (NULL flag) stays in, but is also counted as unknown.
            conv_ok = (f.criminality == "convicted") & ~f.immigration_only_conviction.fill_null(
                False
            )
            others = [c for c in crim if c != "convicted"]
            in_crim = conv_ok | f.criminality.isin(others) if others else conv_ok
            unknown.append((f.criminality == "convicted") & f.immigration_only_conviction.isnull())
        preds.append(in_crim)
        unknown.append(f.criminality.isnull() | (f.criminality == "unknown"))
    if num.get("citizenship"):
        vals = [c.upper() for c in num["citizenship"]]
        preds.append(f.citizenship.upper().isin(vals) | f.country_iso3.isin(vals))
        unknown.append(f.country_iso3.isnull())
    if num.get("continent"):
        preds.append(f.continent.isin([c.title() for c in num["continent"]]))
        unknown.append(f.continent.isnull())
    if num.get("method_class"):
        preds.append(f.method_class.isin(list(num["method_class"])))
        unknown.append(f.method_class.isnull())
    inside = preds[0]
    for p in preds[1:]:
        inside = inside & p
    unk = unknown[0]
    for u in unknown[1:]:
        unk = unk | u
    return inside, unk


def _check_share(claim: Claim, store: Store, res: dict[str, Any]) -> None:
    num = claim.numerator
    slc = _slice(claim)
    f = slc.apply(store.table(claim.dataset))
    inside, unk = _numerator_pred(f, num)
    expr = f.aggregate(
        total=f.n.sum(),
        num=f.n.sum(where=inside),
        unknown=f.n.sum(where=unk & ~inside),
    )
    row = store.rows(expr)[0]
    total = int(row["total"] or 0)
    n_in = int(row["num"] or 0)
    n_unk = int(row["unknown"] or 0)
    by = [k for k in ("criminality", "method_class", "continent") if num.get(k)]
    if num.get("exclude_immigration_only"):
        by.append("immigration_only_conviction")
    if num.get("citizenship"):
        by.append("country_iso3")
    cq = count_query(claim.dataset, store=store, by=by, **_filter_kwargs(claim))
    res["query"] = {**cq.query, "numerator": dict(num), "share_sql": str(ibis.to_sql(expr))}
    if cq.warnings:
        res["warnings"] = cq.warnings
    res["numerator"] = dict(num)
    res["denominator"] = total
    res["in_numerator"] = n_in
    res["unknown"] = n_unk
    if total == 0:
        _unverifiable(res, [W.no_share_base(claim)])
        return
    q_lo = n_in / total
    q_hi = (n_in + n_unk) / total
    res["observed"] = round(q_lo, 4) if n_unk == 0 else round((q_lo + q_hi) / 2, 4)
    res["low"] = round(q_lo, 4)
    res["high"] = round(q_hi, 4)
    opening = W.share_opening(claim, total, n_in, n_unk, q_lo, q_hi)
    verdict, reason = share_verdict(claim.value, q_lo, q_hi, claim.qualifier, claim.tol)
    if verdict is None:
        _unverifiable(res, [W.share_undecided(claim, n_unk)], opening)
        return
    res["verdict"] = verdict
    res["explanation"] = W.count_explanation(opening, W.share_detail(claim, reason), verdict)
