"""Check stated numbers (a press release's claims) against the records.

A claims file (YAML, format in ``docs/claims.md`` and ``../shared/docs/DESIGN.md``) lists
claims; each names a slice of one dataset (window, AORs, other filters), a measure and
the stated value. ``check`` answers every claim with a verdict, the observed and
baseline figures, an explanation a reporter can quote and the query behind them.

Example (needs a store with the FY2016-2019 national files)::

    report = check("examples/claims/2018-02-northern-california.yaml", db="ice.duckdb")
    report.results[0]["verdict"]   # 'consistent'

Verdict rules (``t`` = the claim's tolerance, default ``DEFAULT_TOLERANCE``):

* ``count``: stated ``S`` vs recorded ``O``: ``consistent`` when ``|S - O| <= t * O``,
  else ``overstated`` (S above) or ``understated`` (S below).
* ``operation``: total recorded ``T`` in the window, baseline ``E``, excess
  ``X = T - E``: ``consistent`` when ``X * (1 - t) <= S <= T * (1 + t)``,
  ``exceeds_records`` above, ``below_excess`` below.
* ``share``: stated proportion ``p`` vs the recorded share, which is an interval
  ``[q_lo, q_hi]`` when some records' class is unknown (they may or may not belong to
  the numerator): ``consistent`` when ``q_lo - t <= p <= q_hi + t`` (share tolerance,
  absolute); a threshold ("a majority": ``p > 0.5``) is ``consistent`` when
  ``q_lo > 0.5``, ``overstated`` when ``q_hi <= 0.5``.
* ``unverifiable``: the window lies outside the releases' coverage, a place maps to no
  AOR, a needed field is absent from the release, or the text gives no exact window.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import ibis
import yaml

from icetally import reference
from icetally.analysis.baseline import Baseline, BaselineError, reference_span, window_baseline
from icetally.query.backend import table
from icetally.query.count import count as count_query
from icetally.query.filters import QueryError, Slice
from icetally.schema import DATASETS
from icetally.store.coverage import Coverage
from icetally.store.handle import Store
from icetally.vocabulary import (
    CRIMINALITY,
    FILTERS,
    METHOD_CLASSES,
    as_date,
    filter_names,
    label_of,
)

__all__ = [
    "DEFAULT_TOLERANCE",
    "DEFAULT_SHARE_TOLERANCE",
    "MEASURES",
    "VERDICTS",
    "Claim",
    "ClaimsError",
    "CheckReport",
    "NoClaimsFound",
    "TooManyClaims",
    "load_claims",
    "parse_claims",
    "check",
    "check_claims",
    "check_text",
    "loads_claims",
]

# Relative tolerance for count and operation claims. Press figures are tallied during
# the operation; the released records are extracted months later, after re-processing,
# late data entry and merges, and a figure "about 200" is itself rounded. 10% absorbs
# that without letting a figure twice the records pass.
DEFAULT_TOLERANCE = 0.10
# Absolute tolerance (proportion points) for share claims: "63 percent" is consistent
# with a recorded 58% to 68%.
DEFAULT_SHARE_TOLERANCE = 0.05
# Count claims over longer windows (a fiscal year) get no baseline: same-weekday
# references from the surrounding weeks say nothing useful about a year.
MAX_COUNT_BASELINE_DAYS = 31

MEASURES = ("count", "operation", "share")
VERDICTS = (
    "consistent",
    "overstated",
    "understated",
    "exceeds_records",
    "below_excess",
    "unverifiable",
)
QUALIFIERS = ("about", "more_than", "fewer_than")

# The claims file's filter keys: the vocabulary's filters that a claim may set.
FILTER_KEYS = filter_names("claims")
NUMERATOR_KEYS = ("criminality", "citizenship", "continent", "method_class",
                  "exclude_immigration_only")  # fmt: skip
CLAIM_KEYS = {
    "id", "source", "text", "dataset", "from", "to", "measure", "value", "qualifier",
    "tolerance", "numerator", "days", "exact_window", "place", "note", *FILTER_KEYS,
}  # fmt: skip
TOP_KEYS = {"claims", "source", "published", "skipped", "extracted_by"}

# Canonical column behind each filter, to tell "absent from the release" (all NULL);
# a release id is never absent.
FILTER_COLUMNS = {k: FILTERS[k].column for k in FILTER_KEYS if k != "release"}
DATASET_NOUNS = {
    "arrests": "arrests",
    "encounters": "encounters",
    "detainers": "detainers",
    "detention_stints": "detention book-ins",
    "removals": "removals",
    "cbp_encounters": "CBP encounters",
}
_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                 "nine", "ten", "eleven", "twelve", "thirteen", "fourteen")  # fmt: skip

BaselineFn = Callable[..., Baseline]


class ClaimsError(ValueError):
    """A claims file or claim is not valid; the message names the file and the claim."""


# --------------------------------------------------------------------------- parsing


@dataclass
class Claim:
    id: str
    measure: str
    value: float
    dataset: str = "arrests"
    date_from: date | None = None
    date_to: date | None = None
    filters: dict[str, list[str]] = field(default_factory=dict)
    qualifier: str = "about"
    tolerance: float | None = None
    numerator: dict[str, Any] = field(default_factory=dict)
    value_text: str | None = None
    exact_window: bool = True
    days: int | None = None
    unplaced: bool = False  # `aor: []` given: the place maps to no AOR
    place: str | None = None
    source: str | None = None
    text: str | None = None
    note: str | None = None

    @property
    def tol(self) -> float:
        if self.tolerance is not None:
            return self.tolerance
        return DEFAULT_SHARE_TOLERANCE if self.measure == "share" else DEFAULT_TOLERANCE


_PCT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:%|percent|per\s*cent)\s*$", re.IGNORECASE)
_QUAL_WORDS = {
    "about": "about", "around": "about", "approximately": "about", "roughly": "about",
    "nearly": "about", "almost": "about", "some": "about", "~": "about", "≈": "about",
    "more than": "more_than", "over": "more_than", "at least": "more_than",
    "upwards of": "more_than", ">": "more_than", ">=": "more_than",
    "fewer than": "fewer_than", "less than": "fewer_than", "under": "fewer_than",
    "at most": "fewer_than", "up to": "fewer_than", "<": "fewer_than", "<=": "fewer_than",
}  # fmt: skip
_QUAL_RE = re.compile(
    r"^\s*(" + "|".join(re.escape(k) for k in sorted(_QUAL_WORDS, key=len, reverse=True)) + r")\s*",
    re.IGNORECASE,
)
_SCALE = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}

# Share phrases -> (qualifier, proportion, note). "Significant" and the like have no
# number: only their "majority" part can be tested, and the result says so.
SHARE_PHRASES: dict[str, tuple[str, float, str]] = {
    "majority": ("more_than", 0.5, ""),
    "a majority": ("more_than", 0.5, ""),
    "most": ("more_than", 0.5, ""),
    "more than half": ("more_than", 0.5, ""),
    "over half": ("more_than", 0.5, ""),
    "minority": ("fewer_than", 0.5, ""),
    "a minority": ("fewer_than", 0.5, ""),
    "fewer than half": ("fewer_than", 0.5, ""),
    "less than half": ("fewer_than", 0.5, ""),
    "half": ("about", 0.5, ""),
    "a third": ("about", 1 / 3, ""),
    "one third": ("about", 1 / 3, ""),
    "two-thirds": ("about", 2 / 3, ""),
    "two thirds": ("about", 2 / 3, ""),
    "a quarter": ("about", 0.25, ""),
    "three-quarters": ("about", 0.75, ""),
    "three quarters": ("about", 0.75, ""),
    "nearly all": ("more_than", 0.9, "'nearly all' is read as more than 90%"),
    "almost all": ("more_than", 0.9, "'almost all' is read as more than 90%"),
    "virtually all": ("more_than", 0.9, "'virtually all' is read as more than 90%"),
}
for _adj in ("significant", "vast", "overwhelming", "large", "great", "clear", "substantial"):
    for _art in ("a ", "the ", ""):
        SHARE_PHRASES[f"{_art}{_adj} majority"] = (
            "more_than",
            0.5,
            f"'{_adj} majority' has no number: only 'more than half' is tested",
        )


def parse_number(value: Any) -> tuple[float, str]:
    """1300, '1,300', 'nearly 1,300', 'more than 200', '1.5 million' -> (value, qualifier)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, int | float):
        return float(value), "about"
    if not isinstance(value, str):
        raise ValueError(f"expected a number, got {value!r}")
    text = value.strip()
    qual = "about"
    m = _QUAL_RE.match(text)
    if m:
        qual = _QUAL_WORDS[m.group(1).lower()]
        text = text[m.end() :]
    m2 = re.fullmatch(
        r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(thousand|million|billion)?", text, re.IGNORECASE
    )
    if not m2:
        raise ValueError(f"cannot read a number from {value!r}")
    num = float(m2.group(1).replace(",", ""))
    if m2.group(2):
        num *= _SCALE[m2.group(2).lower()]
    return num, qual


def parse_share(value: Any) -> tuple[float, str, str]:
    """0.63, '63%', '63 percent', 'a majority' -> (proportion, qualifier, note)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a proportion, got {value!r}")
    if isinstance(value, int | float):
        if not 0 <= value <= 1:
            raise ValueError(f"a share must be between 0 and 1 (or '63%'), got {value!r}")
        return float(value), "about", ""
    if not isinstance(value, str):
        raise ValueError(f"expected a proportion, got {value!r}")
    text = " ".join(value.strip().lower().split())
    qual = "about"
    m = _QUAL_RE.match(text)
    if m and text not in SHARE_PHRASES:  # "nearly all" is a phrase, not "nearly" + "all"
        qual = _QUAL_WORDS[m.group(1).lower()]
        text = text[m.end() :]
    if text in SHARE_PHRASES:
        q, p, note = SHARE_PHRASES[text]
        return p, q, note
    pm = _PCT.match(text)
    if pm:
        p = float(pm.group(1)) / 100
        if not 0 <= p <= 1:
            raise ValueError(f"a percentage must be between 0 and 100, got {value!r}")
        return p, qual, ""
    try:
        p = float(text)
    except ValueError:
        raise ValueError(
            f"cannot read a share from {value!r}; give 0.63, '63%' or a phrase such as 'a majority'"
        ) from None
    if not 0 <= p <= 1:
        raise ValueError(f"a share must be between 0 and 1 (or '63%'), got {value!r}")
    return p, qual, ""


def _as_date(value: Any, key: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{key} must be an ISO date YYYY-MM-DD, got {value!r}") from None


def _as_list(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    raise ValueError(f"{key} must be a list or a comma-separated string, got {value!r}")


def _parse_aor(values: list[str]) -> list[str]:
    """Codes, AOR names ('Chicago') or gazetteer places ('New England') -> codes."""
    from icetally.reference import places

    out: list[str] = []
    for v in values:
        code = v.upper() if v.upper() in reference.AOR_CODES else reference.aor_code(v)
        if code is None:
            place = places.resolve(v)
            if place is None or not place.aors:
                raise ValueError(
                    f"aor {v!r} is not an AOR code, AOR name or known place; use codes such "
                    f"as {', '.join(reference.AOR_CODES[:6])} ..., or `aor: []` with a note "
                    f"for a place with no AOR"
                )
            out.extend(place.aors)
        else:
            out.append(code)
    return sorted(set(out))


def _parse_claim(raw: Any, i: int, origin: str, top_source: str | None) -> Claim:
    if not isinstance(raw, Mapping):
        raise ClaimsError(f"{origin}: claim #{i + 1} is not a mapping (got {type(raw).__name__})")
    cid = raw.get("id")
    where = f"{origin}: claim {cid!r}" if cid else f"{origin}: claim #{i + 1}"
    try:
        if not cid or not isinstance(cid, str | int):
            raise ValueError("needs an `id` (a short name, unique in the file)")
        unknown = sorted(set(raw) - CLAIM_KEYS)
        if unknown:
            raise ValueError(f"unknown key(s) {unknown}; allowed: {', '.join(sorted(CLAIM_KEYS))}")
        measure = raw.get("measure")
        if measure not in MEASURES:
            raise ValueError(f"`measure` must be one of {', '.join(MEASURES)}, got {measure!r}")
        dataset = raw.get("dataset") or "arrests"
        if dataset not in DATASETS:
            raise ValueError(f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}")
        if "value" not in raw:
            raise ValueError("needs a `value` (the stated number or share)")
        note_parts = []
        value_text = raw["value"] if isinstance(raw["value"], str) else None
        if measure == "share":
            value, qual, share_note = parse_share(raw["value"])
            if share_note:
                note_parts.append(share_note)
        else:
            value, qual = parse_number(raw["value"])
            if value < 0:
                raise ValueError(f"`value` must not be negative, got {raw['value']!r}")
        if raw.get("qualifier") is not None:
            qual = str(raw["qualifier"]).strip().lower().replace(" ", "_")
            if qual not in QUALIFIERS:
                raise ValueError(f"`qualifier` must be one of {', '.join(QUALIFIERS)}")
        tol = raw.get("tolerance")
        if tol is not None:
            if isinstance(tol, bool) or not isinstance(tol, int | float) or not 0 <= tol < 1:
                raise ValueError(f"`tolerance` must be a number from 0 to 1, got {tol!r}")
            tol = float(tol)
        d_from = _as_date(raw.get("from"), "from")
        d_to = _as_date(raw.get("to"), "to")
        if (d_from is None) != (d_to is None):
            raise ValueError("give both `from` and `to` (or neither, for an unknown window)")
        if d_from and d_to and d_from > d_to:
            raise ValueError(f"`from` {d_from} is after `to` {d_to}")
        filters: dict[str, list[str]] = {}
        unplaced = False
        for key in FILTER_KEYS:
            if key not in raw:
                continue
            vals = _as_list(raw[key], key)
            if key == "aor":
                if not vals:
                    unplaced = True
                    continue
                vals = _parse_aor(vals)
            if vals:
                filters[key] = vals
        # Validate values the way `icetally count` does, with the same messages.
        Slice.build(dataset, **{k: v for k, v in filters.items()})
        numerator: dict[str, Any] = {}
        if measure == "share":
            num = raw.get("numerator")
            if not isinstance(num, Mapping) or not num:
                raise ValueError(
                    "a share claim needs a `numerator`, e.g. "
                    "`numerator: {criminality: [convicted, pending_charges]}`"
                )
            bad = sorted(set(num) - set(NUMERATOR_KEYS))
            if bad:
                raise ValueError(
                    f"unknown numerator key(s) {bad}; allowed: {', '.join(NUMERATOR_KEYS)}"
                )
            for k in ("criminality", "citizenship", "continent", "method_class"):
                if k in num:
                    numerator[k] = _as_list(num[k], f"numerator.{k}")
            for c in numerator.get("criminality", []):
                if c not in CRIMINALITY:
                    raise ValueError(f"numerator criminality {c!r}: expected {CRIMINALITY}")
            for m in numerator.get("method_class", []):
                if m not in METHOD_CLASSES:
                    raise ValueError(f"numerator method_class {m!r}: expected {METHOD_CLASSES}")
            if num.get("exclude_immigration_only"):
                if "convicted" not in numerator.get("criminality", []):
                    raise ValueError(
                        "exclude_immigration_only needs criminality including `convicted`"
                    )
                numerator["exclude_immigration_only"] = True
            if not any(numerator.get(k) for k in NUMERATOR_KEYS):
                raise ValueError("the numerator selects nothing")
        elif raw.get("numerator"):
            raise ValueError("`numerator` only applies to `measure: share`")
        days = raw.get("days")
        if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 1):
            raise ValueError(f"`days` must be a positive whole number, got {days!r}")
        exact = raw.get("exact_window", True)
        if not isinstance(exact, bool):
            raise ValueError(f"`exact_window` must be true or false, got {exact!r}")
        if d_from and d_to and days and days < (d_to - d_from).days + 1:
            exact = False  # a five-day operation somewhere in June
        if raw.get("note"):
            note_parts.insert(0, str(raw["note"]))
        return Claim(
            id=str(cid),
            measure=measure,
            value=value,
            dataset=dataset,
            date_from=d_from,
            date_to=d_to,
            filters=filters,
            qualifier=qual,
            tolerance=tol,
            numerator=numerator,
            value_text=value_text,
            exact_window=exact,
            days=days,
            unplaced=unplaced,
            place=raw.get("place"),
            source=raw.get("source") or top_source,
            text=raw.get("text"),
            note="; ".join(note_parts) or None,
        )
    except (ValueError, QueryError) as exc:
        raise ClaimsError(f"{where}: {exc}") from None


def parse_claims(data: Any, origin: str = "<claims>") -> list[Claim]:
    """Validate a parsed claims document (``{"claims": [...]}`` or a bare list)."""
    top_source = None
    if isinstance(data, Mapping):
        unknown = sorted(set(data) - TOP_KEYS)
        if unknown:
            raise ClaimsError(f"{origin}: unknown top-level key(s) {unknown}; expected `claims:`")
        top_source = data.get("source")
        items = data.get("claims")
    else:
        items = data
    if not isinstance(items, list):
        raise ClaimsError(f"{origin}: expected a list under `claims:`")
    if not items:
        raise ClaimsError(f"{origin}: no claims")
    claims = [_parse_claim(raw, i, origin, top_source) for i, raw in enumerate(items)]
    seen: set[str] = set()
    for c in claims:
        if c.id in seen:
            raise ClaimsError(f"{origin}: claim id {c.id!r} is used twice")
        seen.add(c.id)
    return claims


def loads_claims(text: str, origin: str = "<claims>") -> list[Claim]:
    """Validate claims YAML given as a string (e.g. the body of ``POST /api/check``)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ClaimsError(f"{origin}: not valid YAML: {exc}") from None
    return parse_claims(data, origin)


def load_claims(path: str | os.PathLike[str]) -> list[Claim]:
    """Read and validate a claims YAML file (errors name the file and the claim)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ClaimsError(f"{p}: cannot read claims file: {exc.strerror or exc}") from None
    return loads_claims(text, str(p))


# --------------------------------------------------------------------------- store facts


def _present_fields(store: Store, slc: Slice, columns: Iterable[str]) -> dict[str, int]:
    """Non-null count of each column in the slice (0 = absent from these releases)."""
    cols = sorted(set(columns))
    if not cols:
        return {}
    t = table(store, slc.dataset)
    f = slc.apply(t)
    row = f.aggregate(**{c: f[c].notnull().sum() for c in cols}).to_pyarrow().to_pylist()[0]
    return {c: int(row[c] or 0) for c in cols}


def _daily(store: Store, slc: Slice) -> dict[date, int]:
    t = table(store, slc.dataset)
    f = slc.apply(t)
    rows = f.group_by(d=f.event_date).aggregate(n=f.n.sum()).to_pyarrow().to_pylist()
    return {as_date(r["d"]): int(r["n"] or 0) for r in rows if r["d"] is not None}  # type: ignore[misc]


# --------------------------------------------------------------------------- wording


def _fmt_n(x: float | None) -> str:
    if x is None:
        return "?"
    return f"{round(x):,}"


def _fmt_pct(x: float) -> str:
    v = x * 100
    return f"{v:.0f}%" if abs(v - round(v)) < 0.05 else f"{v:.1f}%"


def _days_words(n: int) -> str:
    return f"{_NUMBER_WORDS[n]} days" if n < len(_NUMBER_WORDS) else f"{n} days"


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _where(claim: Claim) -> str:
    f = claim.filters
    parts = []
    if f.get("aor"):
        codes = f["aor"]
        parts.append(f"in the {_join(codes)} AOR{'s' if len(codes) > 1 else ''}")
    if f.get("state"):
        parts.append(f"in {_join(f['state'])}")
    if f.get("county"):
        parts.append(f"in county {_join(f['county'])}")
    if not (f.get("aor") or f.get("state") or f.get("county")):
        parts.append("nationwide")
    if f.get("method_class"):
        parts.append(f"by method {' or '.join(m.replace('_', '-') for m in f['method_class'])}")
    if f.get("citizenship"):
        parts.append(f"of citizens of {_join(f['citizenship'])}")
    if f.get("continent"):
        parts.append(f"of citizens of {_join(f['continent'])}")
    if f.get("criminality"):
        parts.append(f"classed {' or '.join(c.replace('_', ' ') for c in f['criminality'])}")
    return " ".join(parts)


def _window(claim: Claim) -> str:
    if claim.date_from == claim.date_to:
        return f"on {claim.date_from}"
    return f"from {claim.date_from} to {claim.date_to}"


def _country_names(values: Iterable[str]) -> list[str]:
    """ISO3 codes -> readable names ('MEX' -> 'Mexico'); other values as given."""
    names: dict[str, str] = {}
    for c in reference.countries():
        if c.iso3 and (c.iso3 not in names or len(c.name) < len(names[c.iso3])):
            names[c.iso3] = c.name
    out = []
    for v in values:
        name = names.get(v.upper())
        out.append(name.title() if name else v)
    return out


def _numerator_words(num: Mapping[str, Any]) -> str:
    parts = []
    if num.get("criminality"):
        words = " or ".join(
            {"pending_charges": "facing pending charges"}.get(c, c.replace("_", " "))
            for c in num["criminality"]
        )
        parts.append(words)
    if num.get("exclude_immigration_only"):
        parts.append("(convictions for immigration offences alone, such as illegal entry, "
                     "not counted)")  # fmt: skip
    if num.get("citizenship"):
        parts.append(f"citizens of {_join(_country_names(num['citizenship']))}")
    if num.get("continent"):
        parts.append(f"from {_join(num['continent'])}")
    if num.get("method_class"):
        parts.append(f"arrested {' or '.join(m.replace('_', '-') for m in num['method_class'])}")
    return " ".join(parts)


def _stated_share(claim: Claim) -> str:
    if claim.value_text and not _PCT.match(claim.value_text):
        return f"'{claim.value_text}'"
    if claim.qualifier == "more_than":
        return f"more than {_fmt_pct(claim.value)}"
    if claim.qualifier == "fewer_than":
        return f"fewer than {_fmt_pct(claim.value)}"
    return _fmt_pct(claim.value)


# --------------------------------------------------------------------------- checking


@dataclass
class CheckReport:
    results: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"claims": self.results}

    @property
    def verdicts(self) -> dict[str, str]:
        return {r["id"]: r["verdict"] for r in self.results}


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


def _slice(claim: Claim, lo: date | None = None, hi: date | None = None) -> Slice:
    return Slice.build(
        claim.dataset,
        date_from=lo or claim.date_from,
        date_to=hi or claim.date_to,
        **claim.filters,
    )


def _unverifiable(res: dict[str, Any], reasons: list[str], lead: str | None = None) -> None:
    res["verdict"] = "unverifiable"
    res["reasons"] = reasons
    head = lead or "This claim cannot be checked against the records"
    res["explanation"] = f"{head}: " + "; also, ".join(reasons) + "."


def _coverage_reason(claim: Claim, cov: Coverage) -> str | None:
    noun = DATASET_NOUNS[claim.dataset]
    lo, hi = claim.date_from, claim.date_to
    assert lo and hi
    if not cov.spans:
        return f"the store holds no {noun} release"
    if cov.containing(lo, hi):
        return None
    first, last = cov.spans[0][0], cov.spans[-1][1]
    span = f"{lo} to {hi}"
    if lo > last:
        return f"the window {span} lies after the end of the {noun} releases' coverage ({last})"
    if hi < first:
        return f"the window {span} lies before the start of the {noun} releases' coverage ({first})"
    return (
        f"the window {span} is not wholly inside the {noun} releases' coverage ({cov.describe()})"
    )


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
    scope = "these records" if cov_ok else f"any {DATASET_NOUNS[claim.dataset]} release"
    out = [
        f"the {label_of(c)} field is absent from {scope} (no values to test)"
        for c, n in sorted(present.items())
        if n == 0
    ]
    if num.get("exclude_immigration_only") and present.get("criminality"):
        # The flag is NULL for everyone not convicted, so "absent" means: convictions
        # exist but none carries a most-serious-conviction charge to classify.
        t = table(store, claim.dataset)
        f = where.apply(t)
        conv = f.criminality == "convicted"
        row = (
            f.aggregate(
                convicted=conv.sum(),
                flagged=(conv & f.immigration_only_conviction.notnull()).sum(),
            )
            .to_pyarrow()
            .to_pylist()[0]
        )
        if (row["convicted"] or 0) > 0 and not row["flagged"]:
            out.append(
                f"the most-serious-conviction charge is absent from {scope}, so "
                "immigration-only convictions cannot be told apart"
            )
    return out


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
        length = f"{_days_words(claim.days)} " if claim.days else ""
        reasons.append(
            f"the text does not say which {length}days between {claim.date_from} and "
            f"{claim.date_to}, so the arrests the share is of cannot be picked out"
        )
    if claim.unplaced:
        where = f"'{claim.place}'" if claim.place else "the claim's place"
        why = f": {claim.note}" if claim.note else ""
        reasons.append(f"{where} maps to no ICE area of responsibility (aor is empty{why})")
        if not claim.exact_window and claim.date_from:
            length = f"{_days_words(claim.days)} " if claim.days else ""
            reasons.append(
                f"the text does not say which {length}days between {claim.date_from} and "
                f"{claim.date_to}"
            )
    if claim.date_from is None:
        reasons.append("the claim gives no date range")
        cov_ok = False
    else:
        cov_reason = _coverage_reason(claim, cov)
        if cov_reason:
            reasons.append(cov_reason)
        cov_ok = cov_reason is None
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
    noun = DATASET_NOUNS[claim.dataset]
    n_days = (claim.date_to - claim.date_from).days + 1
    where, when = _where(claim), _window(claim)
    stated = claim.value
    s_txt = _fmt_n(stated)
    tol = claim.tol
    tol_txt = f"{tol:.0%}"

    if not claim.exact_window:
        # Only the span is known ("a five-day operation in June"): the one certain
        # test is that the operation cannot exceed everything recorded in the span.
        res["expected"] = None
        opening = f"The records show {total:,} {noun} {where} {when}"
        if stated > total * (1 + tol):
            res["verdict"] = "exceeds_records"
            res["explanation"] = (
                f"{opening}, the whole span the text allows; the {s_txt} stated is above "
                f"that even allowing {tol_txt}, so it exceeds the records whichever days "
                f"are meant."
            )
        else:
            length = f"{_days_words(claim.days)} " if claim.days else ""
            _unverifiable(
                res,
                [
                    f"the text does not say which {length}days, so the operation cannot be "
                    f"told apart from the normal baseline ({opening.lower()[0]}"
                    f"{opening[1:]}, the whole span the text allows)"
                ],
            )
        return

    lo, hi = reference_span(claim.date_from, claim.date_to)
    span = cov.containing(claim.date_from, claim.date_to)
    assert span
    base: Baseline | None = None
    base_error = None
    if claim.measure == "count" and n_days > MAX_COUNT_BASELINE_DAYS:
        # A yearly total has no "normal week" to compare with; the count stands alone.
        daily: dict[date, int] = {}
        base_error = "window too long for a weekly baseline"
    else:
        daily = _daily(store, _slice(claim, max(lo, span[0]), min(hi, span[1])))
    if base_error:
        pass
    elif sum(daily.values()) == 0:
        base_error = (
            f"no {noun} at all {where} in the weeks around the window: the releases may "
            f"not cover this place or slice"
        )
    else:
        try:
            hols = reference.federal_holidays(lo, hi)
            base = baseline(
                daily, claim.date_from, claim.date_to, coverage=span, holidays=list(hols)
            )
        except BaselineError as exc:
            base_error = f"no baseline: {exc}"
    if base is not None:
        res["expected"] = round(base.expected, 1)
        res["low"] = round(base.low, 1)
        res["high"] = round(base.high, 1)
        res["excess"] = round(total - base.expected, 1)
        res["excess_low"] = round(total - base.high, 1)
        res["excess_high"] = round(total - base.low, 1)
        res["baseline"] = base.to_dict()
        res["baseline_query"] = {
            "dataset": claim.dataset,
            "filters": _slice(claim, max(lo, span[0]), min(hi, span[1])).to_dict(),
            "by": ["date"],
        }
    opening = f"The records show {total:,} {noun} {where} {when}"
    if base is not None:
        normal = f"against about {_fmt_n(base.expected)} in a normal {_days_words(n_days)}" + (
            f" ({_fmt_n(base.low)} to {_fmt_n(base.high)})"
            if round(base.low) != round(base.high)
            else ""
        )
        opening = f"{opening}, {normal}"

    if claim.measure == "count":
        diff = stated - total
        rel = abs(diff) / total if total else math.inf
        if claim.qualifier == "more_than":
            ok = stated <= total * (1 + tol)
            verdict = "consistent" if ok else "overstated"
            detail = (
                f"'more than {s_txt}' fits the {total:,} recorded"
                if ok
                else f"'more than {s_txt}' is above the {total:,} recorded even allowing {tol_txt}"
            )
        elif claim.qualifier == "fewer_than":
            ok = stated >= total * (1 - tol)
            verdict = "consistent" if ok else "understated"
            detail = (
                f"'fewer than {s_txt}' fits the {total:,} recorded"
                if ok
                else f"'fewer than {s_txt}' is below the {total:,} recorded even allowing {tol_txt}"
            )
        elif rel <= tol:
            verdict = "consistent"
            detail = f"the {s_txt} stated is within {tol_txt} of the {total:,} recorded"
        elif diff > 0:
            verdict = "overstated"
            pct = f"{rel:.0%}" if total else "infinitely"
            detail = (
                f"the {s_txt} stated is {pct} above the {total:,} recorded (more than {tol_txt})"
            )
        else:
            verdict = "understated"
            detail = (
                f"the {s_txt} stated is {rel:.0%} below the {total:,} recorded "
                f"(more than {tol_txt})"
            )
        res["verdict"] = verdict
        res["explanation"] = f"{opening}; {detail}, so it is {verdict}."
        return

    # operation
    if base is None:
        if stated > total * (1 + tol):
            res["verdict"] = "exceeds_records"
            res["explanation"] = (
                f"{opening}. The {s_txt} stated is above the {total:,} recorded "
                f"(even allowing {tol_txt}), so it exceeds the records."
            )
        else:
            _unverifiable(res, [base_error or "no baseline"], f"{opening}, but")
        return
    excess = total - base.expected
    upper = total * (1 + tol)
    lower = max(excess, 0.0) * (1 - tol)
    ex_txt = _fmt_n(excess)
    opening = f"{opening}, an excess of about {ex_txt}" if excess > 0 else f"{opening}, no excess"
    if stated > upper:
        verdict = "exceeds_records"
        detail = (
            f"The {s_txt} stated is above the {total:,} recorded (even allowing {tol_txt}), "
            f"so it exceeds the records"
        )
    elif claim.qualifier == "more_than":
        verdict = "consistent"
        detail = f"'More than {s_txt}' fits the {total:,} recorded, so it is consistent"
    elif stated < lower:
        verdict = "below_excess"
        detail = (
            f"The {s_txt} stated is below that excess (even allowing {tol_txt}): the records "
            f"show more extra {noun} in the window than the operation figure accounts for, "
            f"so it is below the excess"
        )
    else:
        verdict = "consistent"
        detail = (
            f"The {s_txt} stated lies between that excess and the {total:,} recorded "
            f"(allowing {tol_txt}), so it is consistent with the records: the operation can "
            f"account for it"
        )
    res["verdict"] = verdict
    res["explanation"] = f"{opening}. {detail}."


def _filter_kwargs(claim: Claim) -> dict[str, Any]:
    return {"date_from": claim.date_from, "date_to": claim.date_to, **claim.filters}


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
    t = table(store, claim.dataset)
    f = slc.apply(t)
    inside, unk = _numerator_pred(f, num)
    expr = f.aggregate(
        total=f.n.sum(),
        num=f.n.sum(where=inside),
        unknown=f.n.sum(where=unk & ~inside),
    )
    row = expr.to_pyarrow().to_pylist()[0]
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
    noun = DATASET_NOUNS[claim.dataset]
    who = _numerator_words(num)
    if total == 0:
        _unverifiable(
            res, [f"there are no {noun} {_where(claim)} {_window(claim)} to take a share of"]
        )
        return
    q_lo = n_in / total
    q_hi = (n_in + n_unk) / total
    res["observed"] = round(q_lo, 4) if n_unk == 0 else round((q_lo + q_hi) / 2, 4)
    res["low"] = round(q_lo, 4)
    res["high"] = round(q_hi, 4)
    observed = f"{_fmt_pct(q_lo)}"
    if n_unk:
        observed = (
            f"between {_fmt_pct(q_lo)} and {_fmt_pct(q_hi)} ({n_unk:,} records' class unknown)"
        )
    opening = (
        f"Of the {total:,} {noun} {_where(claim)} {_window(claim)}, {n_in:,} were {who}: {observed}"
    )
    p = claim.value
    stated = _stated_share(claim)
    tol = claim.tol
    if claim.qualifier == "more_than":
        if q_lo > p:
            verdict, detail = "consistent", f"the stated {stated} holds"
        elif q_hi <= p:
            verdict, detail = "overstated", f"the stated {stated} does not hold"
        else:
            _unverifiable(
                res,
                [
                    f"whether the share is above {_fmt_pct(p)} depends on the {n_unk:,} "
                    f"records whose class is unknown"
                ],  # fmt: skip
                opening,
            )
            return
    elif claim.qualifier == "fewer_than":
        if q_hi < p:
            verdict, detail = "consistent", f"the stated {stated} holds"
        elif q_lo >= p:
            verdict, detail = "understated", f"the stated {stated} is below the records"
        else:
            _unverifiable(
                res,
                [
                    f"whether the share is below {_fmt_pct(p)} depends on the {n_unk:,} "
                    f"records whose class is unknown"
                ],  # fmt: skip
                opening,
            )
            return
    elif p > q_hi + tol:
        verdict = "overstated"
        detail = f"the stated {stated} is above that by more than {tol * 100:.0f} points"
    elif p < q_lo - tol:
        verdict = "understated"
        detail = f"the stated {stated} is below that by more than {tol * 100:.0f} points"
    else:
        verdict = "consistent"
        detail = f"the stated {stated} is within {tol * 100:.0f} points of that"
    res["verdict"] = verdict
    res["explanation"] = f"{opening}; {detail}, so it is {verdict}."


class NoClaimsFound(ClaimsError):
    """A text holds no checkable claim; ``extraction`` says what was skipped."""

    def __init__(self, message: str, extraction: Any) -> None:
        super().__init__(message)
        self.extraction = extraction


class TooManyClaims(ClaimsError):
    """More claims than the caller allows in one check (the web server's limit)."""

    def __init__(self, n: int, limit: int) -> None:
        super().__init__(f"{n} claims; at most {limit} are checked in one request")
        self.n = n
        self.limit = limit


def check(
    claims: str | os.PathLike[str] | Sequence[Mapping[str, Any]] | Mapping[str, Any],
    *,
    store: Store | str | os.PathLike[str] | None = None,
    db: str | os.PathLike[str] | None = None,
    backend: str | None = None,
    con: Any = None,
    tolerance: float | None = None,
    baseline: BaselineFn = window_baseline,
    max_claims: int | None = None,
) -> CheckReport:
    """Check claims (a YAML path, a parsed document, or a list of claim dicts) against
    the store (a Store or a path; ``db`` is the same, by its older name).

    ``tolerance`` overrides the default for claims that do not set their own.
    ``baseline`` is any function with ``window_baseline``'s signature. ``max_claims``
    refuses (TooManyClaims) a document with more claims, before any query.
    """
    from icetally.analysis import official_claims

    # claims on ICE's published statistics (`official: TABLE`) are checked against the
    # workbooks' figures (analysis/official_claims.py); the rest as below
    split = official_claims.split(claims)
    if split is not None:
        rest, items = split
        rest_items = (rest.get("claims") if isinstance(rest, Mapping) else rest) or []
        if max_claims is not None and len(items) + len(rest_items) > max_claims:
            raise TooManyClaims(len(items) + len(rest_items), max_claims)
        top = claims.get("source") if isinstance(claims, Mapping) else None
        with Store.borrow(store, db=db, backend=backend, con=con) as s:
            off = official_claims.check(
                [c for _, c in items], store=s, tolerance=tolerance, source=top
            )
            records = (
                check(rest, store=s, tolerance=tolerance, baseline=baseline)
                if rest
                else CheckReport([])
            )
        merged, pending = [], iter(records.results)
        positions = dict(zip([i for i, _ in items], off, strict=True))
        for i in range(len(items) + len(records.results)):
            merged.append(positions[i] if i in positions else next(pending))
        return CheckReport(merged)
    is_path = isinstance(claims, str | os.PathLike)
    if max_claims is not None and not is_path:
        items = claims.get("claims") if isinstance(claims, Mapping) else claims
        if isinstance(items, list) and len(items) > max_claims:
            raise TooManyClaims(len(items), max_claims)
    parsed = load_claims(claims) if is_path else parse_claims(claims)  # type: ignore[arg-type]
    if max_claims is not None and len(parsed) > max_claims:
        raise TooManyClaims(len(parsed), max_claims)
    if tolerance is not None:
        if not 0 <= tolerance < 1:
            raise ClaimsError(f"tolerance must be from 0 to 1, got {tolerance!r}")
        for c in parsed:
            if c.tolerance is None:
                c.tolerance = tolerance
    with Store.borrow(store, db=db, backend=backend, con=con) as s:
        report = check_claims(parsed, store=s, baseline=baseline)
        backend_name = s.backend_name
    for r in report.results:
        if r.get("query"):
            r["query"]["backend"] = backend_name
    return report


def check_text(
    text: str,
    *,
    published: str | date | None = None,
    source: str | None = None,
    store: Store | str | os.PathLike[str] | None = None,
    db: str | os.PathLike[str] | None = None,
    backend: str | None = None,
    con: Any = None,
    tolerance: float | None = None,
    baseline: BaselineFn = window_baseline,
    max_claims: int | None = None,
    write_claims: str | os.PathLike[str] | None = None,
) -> tuple[Any, CheckReport]:
    """Extract claims from a press text and check them: ``(extraction, report)``.

    The one "extract, then check" of icetally (the CLI's ``check --text`` and the web's
    ``POST /api/check?text=1`` call it). ``extraction`` is an
    ``icetally.analysis.extract.Extraction``; ``write_claims`` writes it as the editable
    claims YAML before the check. Raises ``NoClaimsFound`` when the text holds no
    checkable claim, ``TooManyClaims`` past ``max_claims``.
    """
    from icetally.analysis.extract import claims_yaml, extract_claims

    ex = extract_claims(text, published=published, source=source)
    if not ex.claims:
        raise NoClaimsFound(f"{source or '<text>'}: no checkable claims found in the text", ex)
    if max_claims is not None and len(ex.claims) > max_claims:
        raise TooManyClaims(len(ex.claims), max_claims)
    if write_claims is not None:
        Path(write_claims).write_text(claims_yaml(ex), encoding="utf-8")
    report = check(
        ex.document(),
        store=store,
        db=db,
        backend=backend,
        con=con,
        tolerance=tolerance,
        baseline=baseline,
    )
    return ex, report
