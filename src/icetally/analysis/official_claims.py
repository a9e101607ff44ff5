"""Claims about ICE's published detention statistics (docs/official.md).

A claim names an official table instead of a records dataset::

    - id: sept-2025-detained
      text: "ICE held more than 60,000 people in detention in September 2025"
      official: adp              # book_ins, adp, alos, currently_detained, removals, ...
      month: 2025-09             # any dimension of `icetally official`
      arresting_agency: Total
      value: 60000
      comparison: more_than      # more_than | about (default) | fewer_than

It is checked against the one published figure the table, fiscal year, measure and
dimensions select (``icetally.official``; a dimension not named is its printed
total), with the usual verdicts: ``consistent``, ``overstated``, ``understated``, or
``unverifiable`` (no such figure, or several). The result carries the figure's cell.

``extract`` recognizes detention-population, book-in and removal sentences in a press
text and writes them as such claims (the text extractor, icetally.analysis.extract,
appends them).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from icetally.analysis.claims import ClaimsError
from icetally.query.official import ALIASES, OfficialQueryError, select
from icetally.sources.detention_stats import DIMENSIONS
from icetally.store.handle import Store

DEFAULT_TOLERANCE = 0.05
OFFICIAL_KEYS = {
    "id",
    "text",
    "source",
    "note",
    "official",
    "figure",
    "breakdown",
    "fiscal_year",
    "snapshot",
    "value",
    "comparison",
    "tolerance",
    "agency",
    "spans",  # written by the text extractor for the reader; not used by the check
    "confidence",
    *DIMENSIONS,
}
COMPARISONS = {"about", "more_than", "fewer_than"}
UNIT_WORDS = {
    "average daily population": "people (average daily population)",
    "people": "people",
}


class OfficialClaimError(ClaimsError):
    """A malformed official claim (names the claim and the problem)."""


def is_official(raw: Any) -> bool:
    return isinstance(raw, Mapping) and "official" in raw


def split(document: Any) -> tuple[Any, list[tuple[int, Mapping[str, Any]]]] | None:
    """(the document without its official claims, [(position, official claim)]), or
    None when it has none. ``document`` is a parsed claims document, a list, or a path."""
    import os

    from icetally import safeyaml

    if isinstance(document, str | os.PathLike):
        # An unreadable or invalid file is reported by the records claims loader.
        try:
            document = safeyaml.load_file(document)
        except (OSError, ValueError):
            return None
    items = document.get("claims") if isinstance(document, Mapping) else document
    if not isinstance(items, list) or not any(is_official(c) for c in items):
        return None
    official = [(i, c) for i, c in enumerate(items) if is_official(c)]
    rest = [c for c in items if not is_official(c)]
    if isinstance(document, Mapping):
        rest_doc: Any = {**document, "claims": rest} if rest else None
    else:
        rest_doc = rest or None
    return rest_doc, official


def _number(raw: Mapping[str, Any]) -> tuple[float, str]:
    from icetally.analysis.claims import parse_number

    value, qualifier = parse_number(raw.get("value"))
    comparison = raw.get("comparison")
    if comparison is not None:
        if comparison not in COMPARISONS:
            raise OfficialClaimError(
                f"comparison {comparison!r}: expected one of {', '.join(sorted(COMPARISONS))}"
            )
        qualifier = comparison
    return value, qualifier


def _filters(raw: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in raw.items():
        k = ALIASES.get(k, k)
        if k in DIMENSIONS and v is not None:
            out[k] = str(v) if not isinstance(v, list) else ",".join(map(str, v))
    return out


def check(
    items: Sequence[Mapping[str, Any]],
    *,
    db: Any = None,
    store: Store | None = None,
    tolerance: float | None = None,
    source: str | None = None,
) -> list[dict[str, Any]]:
    """Check official claims; one result dict per claim, in order."""
    with Store.borrow(store, db=db) as st:
        return [_check_one(raw, st, tolerance, source) for raw in items]


def _check_one(
    raw: Mapping[str, Any], st: Store, tolerance: float | None, top_source: str | None
) -> dict[str, Any]:
    unknown = sorted(set(raw) - OFFICIAL_KEYS)
    cid = str(raw.get("id") or "official-claim")
    if unknown:
        raise OfficialClaimError(
            f"claim {cid!r}: unknown key(s) {unknown}; allowed: {', '.join(sorted(OFFICIAL_KEYS))}"
        )
    try:
        stated, qualifier = _number(raw)
    except ValueError as exc:
        raise OfficialClaimError(f"claim {cid!r}: {exc}") from None
    tol = raw.get("tolerance", tolerance if tolerance is not None else DEFAULT_TOLERANCE)
    filters = _filters(raw)
    table = str(raw["official"])
    res: dict[str, Any] = {
        "id": cid,
        "measure": "official",
        "verdict": None,
        "stated": stated,
        "stated_text": str(raw.get("value")),
        "qualifier": qualifier,
        "observed": None,
        "expected": None,
        "excess": None,
        "low": None,
        "high": None,
        "tolerance": tol,
        "dataset": None,
        "official": {
            "table": table,
            "figure": raw.get("figure"),
            "breakdown": raw.get("breakdown"),
            "fiscal_year": raw.get("fiscal_year"),
            "snapshot": raw.get("snapshot", "latest"),
            "filters": filters,
        },
        "explanation": "",
        "reasons": [],
        "query": None,
        "source": raw.get("source") or top_source,
        "source_cell": None,
        "text": raw.get("text"),
        "note": raw.get("note"),
    }
    fiscal_year = raw.get("fiscal_year")
    if fiscal_year is None and filters.get("month"):
        y, m = int(filters["month"][:4]), int(filters["month"][5:7])
        fiscal_year = y + 1 if m >= 10 else y
    try:
        result = select(
            st,
            table,
            fiscal_year=fiscal_year,
            snapshot=raw.get("snapshot", "latest"),
            by=list(filters),
            measure=raw.get("figure"),
            breakdown=raw.get("breakdown"),
            filters=filters,
        )
    except OfficialQueryError as exc:
        res["verdict"] = "unverifiable"
        res["reasons"] = [str(exc)]
        res["explanation"] = f"Unverifiable: {exc}"
        return res
    res["query"] = result.query
    rows = [r for r in result.rows if r["value"] is not None]
    if not rows:
        res["verdict"] = "unverifiable"
        res["reasons"] = ["no published figure matches the claim's table and dimensions"]
        res["explanation"] = (
            f"Unverifiable: ICE's workbooks in the store publish no {table} figure for "
            f"{_describe(filters, fiscal_year)}."
        )
        return res
    if len({(r["breakdown"], r["measure"]) for r in rows}) > 1 or len(rows) > 1:
        # the same figure printed in two breakdowns (ADP Total by agency and by facility
        # type) is one figure when the values agree
        values = {round(r["value"], 6) for r in rows}
        if len(values) > 1:
            res["verdict"] = "unverifiable"
            res["reasons"] = [
                "several published figures match: name the figure (measure) or breakdown"
            ]
            res["candidates"] = rows
            res["explanation"] = (
                "Unverifiable: several published figures match ("
                + "; ".join(
                    f"{r['breakdown']} {r['measure']} = {r['value']:,.0f} ({r['source']['cell']})"
                    for r in rows[:6]
                )
                + ")."
            )
            return res
    row = rows[0]
    observed = row["value"]
    res["observed"] = observed
    res["source_cell"] = row["source"]
    res["official"]["snapshot"] = row["snapshot"]
    res["official"]["figure"] = row["measure"]
    verdict = _verdict(stated, observed, qualifier, float(tol))
    res["verdict"] = verdict
    where = f"{row['source']['file']}, {row['source']['sheet'].strip()}!{row['source']['cell']}"
    what = _figure_words(row)
    says = {"about": "about", "more_than": "more than", "fewer_than": "fewer than"}[qualifier]
    text = (
        f"ICE's published {what} for {_describe(filters, row['fiscal_year'])} is "
        f"{_fmt(observed)} ({where}, workbook snapshot {row['snapshot']}); the claim says "
        f"{says} {_fmt(stated)}: {verdict}."
    )
    if row["table"] == "adp":
        text += (
            " ICE publishes an average daily population for the month (people held on an "
            "average day), not a count of everyone held: the claim is compared with it, a "
            "constructed comparison rather than a quotation."
        )
    if qualifier == "about":
        text += f" Tolerance: {tol:.0%}."
    res["explanation"] = text
    return res


def _verdict(stated: float, observed: float, qualifier: str, tol: float) -> str:
    if qualifier == "more_than":
        return "consistent" if observed > stated else "overstated"
    if qualifier == "fewer_than":
        return "consistent" if observed < stated else "understated"
    if abs(stated - observed) <= tol * abs(observed):
        return "consistent"
    return "overstated" if stated > observed else "understated"


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 or float(v).is_integer() else f"{v:,.2f}"


def _figure_words(row: Mapping[str, Any]) -> str:
    return {
        "adp": "average daily population in detention",
        "initial_book_ins": "initial book-ins",
        "removals": "removals",
        "currently_detained": "number of people currently detained",
        "alos": "average length of stay (days)",
    }.get(row["measure"], f"{row['table']} {row['measure']}")


def _describe(filters: Mapping[str, Any], fiscal_year: Any) -> str:
    parts = []
    month = filters.get("month")
    if month:
        y, m = int(month[:4]), int(month[5:7])
        parts.append(f"{calendar.month_name[m]} {y}")
    elif fiscal_year:
        parts.append(f"fiscal year {fiscal_year}")
    agency = filters.get("arresting_agency")
    if agency and agency != "Total":
        parts.append(f"people arrested by {agency}")
    for k, v in filters.items():
        if k not in ("month", "arresting_agency"):
            parts.append(f"{k.replace('_', ' ')} {v}")
    return ", ".join(parts) or "the claim's slice"


# ---------------------------------------------------------------------------- extraction

_NUM = (
    r"(?P<qual>more than|over|nearly|almost|about|around|approximately|at least|fewer than|"
    r"less than|a record(?: high of)?|record)?\s*(?P<num>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
    r"(?:\s*(?P<scale>thousand|million))?"
)
_MONTHS = "|".join(calendar.month_name[1:])
_MONTH_YEAR = re.compile(rf"\b(?:in|during|for|of)\s+(?P<m>{_MONTHS})\s+(?P<y>\d{{4}})\b")
_ON_DATE = re.compile(rf"\b(?:on|as of)\s+(?P<m>{_MONTHS})\s+(?P<d>\d{{1,2}}),?\s+(?P<y>\d{{4}})")
_FISCAL = re.compile(r"\b(?:fiscal year|FY)\s?(?P<y>\d{4})\b", re.I)
_DETAINED = re.compile(
    r"\b(held|detained|in (ICE )?(detention|custody)|detention population|were in detention)\b",
    re.I,
)
_BOOKED = re.compile(r"\b(book(ed)?[- ]ins?|booked)\b", re.I)
_REMOVED = re.compile(r"\b(removed|removals|deported|deportations)\b", re.I)
_PEOPLE = (
    r"(?:people|persons|individuals|immigrants|noncitizens|non-citizens|aliens|detainees|migrants)"
)


def extract(
    text: str, published: date | None = None, source: str | None = None
) -> list[dict[str, Any]]:
    """Detention-population, book-in and removal sentences -> official claims."""
    from icetally.analysis.extract import split_sentences

    out: list[dict[str, Any]] = []
    ids: set[str] = set()
    for sentence in split_sentences(text):
        kind = None
        if _BOOKED.search(sentence):
            kind = "book_ins"
        elif _REMOVED.search(sentence) and re.search(
            _PEOPLE + "|removals|deportations", sentence, re.I
        ):
            kind = "removals"
        elif _DETAINED.search(sentence) and re.search(_PEOPLE, sentence, re.I):
            kind = "detained"
        if kind is None:
            continue
        m = re.search(
            _NUM + r"\s+(?:" + _PEOPLE + r"|removals|book-ins|deportations)", sentence, re.I
        )
        if not m:
            continue
        value = float(m.group("num").replace(",", ""))
        if m.group("scale"):
            value *= {"thousand": 1_000, "million": 1_000_000}[m.group("scale").lower()]
        if value < 100:
            continue  # "2 people": not a population figure
        qual = (m.group("qual") or "").lower()
        comparison = (
            "more_than"
            if qual in ("more than", "over", "at least")
            else "fewer_than"
            if qual in ("fewer than", "less than")
            else "about"
        )
        claim: dict[str, Any] = {"text": sentence.strip(), "value": value}
        if source:
            claim["source"] = source
        month = _MONTH_YEAR.search(sentence)
        on = _ON_DATE.search(sentence)
        fy = _FISCAL.search(sentence)
        if kind == "detained":
            if on:
                d = date(
                    int(on.group("y")),
                    list(calendar.month_name).index(on.group("m")),
                    int(on.group("d")),
                )
                claim.update(official="currently_detained", fiscal_year=d.year + (d.month >= 10))
                claim["arresting_agency"] = "Total"
                claim["note"] = (
                    f"a population on {d.isoformat()}: compared with the currently detained "
                    "count of the latest workbook of that fiscal year"
                )
            elif month:
                mo = list(calendar.month_name).index(month.group("m"))
                claim.update(official="adp", month=f"{int(month.group('y')):04d}-{mo:02d}")
                claim["arresting_agency"] = "Total"
            else:
                continue
        elif kind == "book_ins":
            if month:
                mo = list(calendar.month_name).index(month.group("m"))
                claim.update(official="book_ins", month=f"{int(month.group('y')):04d}-{mo:02d}")
            elif fy:
                claim.update(official="book_ins", fiscal_year=int(fy.group("y")))
            else:
                continue
            claim["arresting_agency"] = (
                "ICE" if re.search(r"arrested by ICE|ICE arrests", sentence) else "Total"
            )
        else:
            if not fy:
                continue
            claim.update(official="removals", fiscal_year=int(fy.group("y")), population="Total")
        claim["comparison"] = comparison
        when = claim.get("month") or claim.get("fiscal_year")
        base = f"official-{claim['official']}-{when}"
        cid, k = base, 2
        while cid in ids:
            cid, k = f"{base}-{k}", k + 1
        ids.add(cid)
        out.append({"id": cid, **claim})
    return out
