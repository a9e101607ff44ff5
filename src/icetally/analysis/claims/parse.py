"""Claims files: parse and validate (the claims-file format, docs/claims.md).

A claims file (YAML) lists claims; each names a slice of one dataset (window, AORs,
other filters: the vocabulary's ``claims`` group), a measure and the stated value.
Numbers in words ("nearly 1,300", "more than 200") and shares ("63%", "a majority")
are read here; every error names the file and the claim.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from icetally import reference, safeyaml
from icetally.errors import IcetallyError
from icetally.query.filters import QueryError, Slice
from icetally.schema import DATASETS
from icetally.vocabulary import CRIMINALITY, METHOD_CLASSES, filter_names

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
    # written by the text extractor, kept for the reader (not used by the check):
    "spans", "confidence", "part_of",
}  # fmt: skip
TOP_KEYS = {"claims", "source", "published", "skipped", "extracted_by", "warnings"}


class ClaimsError(IcetallyError, ValueError):
    """A claims file or claim is not valid; the message names the file and the claim."""


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
        try:
            return _finite(float(value), value), "about"
        except OverflowError:  # an int past a float's range
            raise ValueError("expected a number a count can be, got a huge integer") from None
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
    return _finite(num, value), qual


def _finite(num: float, value: Any) -> float:
    """No infinity or NaN (``.inf``, a 400-digit number): no verdict can use them."""
    if not math.isfinite(num):
        shown = value if len(str(value)) <= 40 else f"{str(value)[:20]}… ({len(str(value))} chars)"
        raise ValueError(f"expected a finite number, got {shown!r}")
    return num


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
    """Validate claims YAML given as a string (e.g. the body of ``POST /api/check``),
    read by the bounded loader (icetally.safeyaml: no aliases, depth and size limits)."""
    try:
        data = safeyaml.load(text, origin)
    except safeyaml.YamlError as exc:
        raise ClaimsError(str(exc)) from None
    return parse_claims(data, origin)


def load_claims(path: str | os.PathLike[str]) -> list[Claim]:
    """Read and validate a claims YAML file (errors name the file and the claim)."""
    p = Path(path)
    try:
        data = safeyaml.load_file(p)
    except OSError as exc:
        raise ClaimsError(f"{p}: cannot read claims file: {exc.strerror or exc}") from None
    except safeyaml.YamlError as exc:
        raise ClaimsError(str(exc)) from None
    return parse_claims(data, str(p))


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
