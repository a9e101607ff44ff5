"""Pull checkable claims out of the plain text of a press release or news story.

The extractor is deliberately literal: it finds arrest counts, the dates and places the
text attaches to them, and stated shares ("a majority of those arrested were ..."), and
writes them as an editable claims file (``docs/claims.md``). It never invents a number:
whatever it cannot place in time or space is either left out (listed under
``skipped`` with the reason) or kept with ``aor: []`` and a ``note`` so ``check`` answers
``unverifiable`` and a person can fill it in.

>>> ex = extract_claims(
...     "ICE arrested 212 people in a five-day operation in the Los Angeles area from "
...     "Feb. 11 to 15.", published="2018-02-20")
>>> c = ex.claims[0]
>>> (c["from"], c["to"], c["aor"], c["measure"], c["value"])
(datetime.date(2018, 2, 11), datetime.date(2018, 2, 15), ['LOS'], 'operation', 212)

How text becomes claims (each rule has a reason in the code):

* **Numbers.** A number is an arrest count when its sentence speaks of arrests
  (arrested, apprehended, detained, custody ...) and the number is followed by people or
  arrests ("597 immigrants", "1,300 ICE arrests") or by a place ("80 across New
  England"). Numbers inside dates, money, percentages, or followed by "states", "days",
  "continents" ... are not counts. Numbers after "meaning that" are the writer's own
  arithmetic and are skipped.
* **Dates.** "September 21 to 25", "Sept. 21-25", "Sept. 30 to Oct. 3", "Feb. 6, 2017",
  "in June", "March of this year", "since the start of the 2017 fiscal year", "in 2011",
  "last month", "that week". A missing year is the latest one not after ``published``.
  A number takes the date in its own clause, else the nearest date before it in the
  sentence, else (when the sentence speaks of "the operation", "those arrested" ...)
  the window of the last operation with exact dates. "That week" is the seven days from
  that operation's first day.
* **Measure.** ``operation`` when the sentence speaks of an operation, surge, raid,
  sweep or roundup ("Enforcement and Removal Operations" does not count); ``count``
  for weekly and yearly totals; ``share`` for proportions. An operation dated only by a
  month ("a five-day operation in June") gets the month as its window, ``days`` when
  known and ``exact_window: false``.
* **Places** (``icetally.reference.places``): regions, states, cities, counties and
  field offices in the number's clause (else earlier in the sentence). "Across the
  United States" or no place at all means nationwide for counts; "across 12 states"
  with the states unnamed gives ``aor: []`` and a note. When the regional figures of an
  operation add up to its total, the total is checked over their AORs.
* **Shares.** "a (significant) majority / most / 63 percent of those arrested were ..."
  and "317 had criminal convictions" (relative to the operation's total). Criminality
  words map to ``numerator.criminality``; "from Mexico and Central America" to
  ``numerator.citizenship`` (ISO3). When the text says ICE counts illegal entry or
  re-entry as crimes, a second claim leaves immigration-only convictions out.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import yaml

from icetally import reference
from icetally.analysis.extract import text as T
from icetally.analysis.extract.dates import (
    _D,
    _MON,
    DateExpr,
    _month,
    _safe,
    find_dates,
    find_duration,
)
from icetally.analysis.extract.numbers import word_numbers
from icetally.reference import places

__all__ = ["Extraction", "extract_claims", "claims_yaml", "detect_published"]

# ----------------------------------------------------------------------------- text

_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": " - "})


def _clean_lines(text: str) -> tuple[list[str], list[str]]:
    """(prose lines, standalone short lines). Markdown headings, links and bylines are
    not prose: joining them into the next sentence would hand it a wrong date or place."""
    prose, loose = [], []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip().translate(_QUOTES).replace("\\$", "$").replace("\\", "")
        if not line:
            continue
        if line.startswith("#") or re.fullmatch(r"[*_]*\[.*\]\(.*\)[*_]*", line):
            loose.append(line.lstrip("# "))
            continue
        if len(line.split()) <= 8 and not re.search(r"[.!?:;,\"']$", line):
            loose.append(line)  # a byline or dateline
            continue
        prose.append(line)
    return prose, loose


def split_sentences(text: str) -> list[str]:
    """Sentences of the prose and list items (icetally.analysis.extract.text)."""
    return [x.text for x in T.sentences(text)]


# ----------------------------------------------------------------------------- numbers

_NUM = re.compile(
    r"(?<![\w$.,/-])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:\s+(million|thousand|billion))?"
    r"(?![\w%]|,\d)"  # not a piece of "1,000th" or of a longer figure
)
_QUALIFIER_BEFORE = re.compile(
    r"(nearly|almost|about|around|approximately|roughly|some|more\s+than|over|at\s+least|"
    r"fewer\s+than|less\s+than|up\s+to|upwards\s+of)\s+$",
    re.IGNORECASE,
)
_QUAL_MAP = {
    "more than": "more_than", "over": "more_than", "at least": "more_than",
    "upwards of": "more_than", "fewer than": "fewer_than", "less than": "fewer_than",
    "up to": "fewer_than",
}  # fmt: skip
_ARREST_WORDS = re.compile(
    r"\b(arrest\w*|apprehen\w*|detain\w*|captur\w*|custody|rounded\s+up|round-?up|booked|removed|"
    r"deported|removals?|deportations?|encounters?)\b",
    re.IGNORECASE,
)
_PEOPLE = re.compile(
    r"^(?:\W*\w+\W+){0,3}?\W*(immigrants?|people|persons?|individuals?|aliens?|noncitizens?|"
    r"non-citizens?|migrants?|foreign\s+nationals?|men|women|workers?|fugitives?|"
    r"undocumented|adults?|children|detainees?|criminals|others|arrests?|apprehensions?|"
    r"removals?|deportations?|encounters?|detainers?|defendants?|suspects?|employees?|"
    r"offenders?|nationals?|protest[eo]rs?|members?|associates?|arrested|apprehended|"
    r"detained|captured|taken\s+into\s+custody)\b",
    re.IGNORECASE,
)
_NON_COUNT = re.compile(
    # "12 states", "5 search warrants", "3 work sites": up to two words before the noun
    r"^\W*(?:US\s+|U\.S\.\s+)?(?:[a-z][\w-]*\s+){0,2}?(states?|countries|continents?|days?|weeks?|months?|years?|"
    r"hours?|percent|per\s+cent|cities|counties|facilities|agencies|jurisdictions|times|"
    r"field\s+offices?|offices?|dollars|refugees|miles|plants?|sites?|locations?|"
    r"businesses|companies|officers|agents|votes?|kilo\w*|pounds?|grams?|ounces?|lbs?|"
    r"doses|pills|firearms|guns|weapons|rounds|vehicles|cars|homes|addresses|warrants|"
    r"charges|counts|murders|shootings|flights|times|minutes|feet|percent)\b",
    re.IGNORECASE,
)
_VERB_JUST_BEFORE = re.compile(
    r"\b(?:arrest(?:s|ed)?|apprehend(?:s|ed)?|detain(?:s|ed)?|captur(?:es|ed)|nets?|netted)\s+$",
    re.IGNORECASE,
)
_BREAKDOWN_AFTER = re.compile(r"^\s*(?:were\s+|are\s+)?from\s+(?:the\s+)?[A-Z]")
_RESTATED_BEFORE = re.compile(r"\b(?:all|the|those|these)\s+$", re.IGNORECASE)
_SUBSET_AFTER = re.compile(r"^\s*of\s+(?:whom|them|those|the|these)\b", re.IGNORECASE)
_SUBSET_BEFORE = re.compile(
    r"\b(?:including|includes|included|among\s+(?:them|those|whom))\s+(?:\w+\s+)?$",
    re.IGNORECASE,
)
_NOT_ARRESTED = re.compile(
    r"^\s*(?:[\w-]+\s+){0,3}?(?:were|was|could\s+be|have\s+been)\s+(?:interviewed|seen|"
    r"released|questioned|screened|identified\s+as\s+victims|rescued|fleeing|fled)\b",
    re.IGNORECASE,
)
_PLACE_PREP = re.compile(r"^\s*(?:in|across|from|at|throughout|within)\b", re.IGNORECASE)
_INFERENCE = re.compile(r"\b(meaning\s+that|which\s+means|in\s+other\s+words)\b", re.IGNORECASE)
_OPERATION = re.compile(
    r"\b(operations?|surges?|raids?|sweeps?|round-?ups?|crackdowns?|targeted\s+enforcement)\b",
    re.IGNORECASE,
)
_WEEK = re.compile(
    r"\b(that|this|the\s+same|a|per|each)\s+week\b|\bweekly\b|\bin\s+a\s+week\b", re.IGNORECASE
)
_REFERS_TO_OP = re.compile(
    r"\b(the|this|that)\s+(operation|surge|raids?|sweep|round-?up)\b|\bthose\s+arrested\b|"
    r"\bof\s+(?:those|them|the\s+(?:arrested|detained))\b|\bthe\s+arrests\b",
    re.IGNORECASE,
)
_CLAUSE_SPLIT = re.compile(
    r";|,\s+(?=(?:which|with|while|but|meaning|including|whereas)\b)|\s+-\s+", re.IGNORECASE
)


@dataclass
class Number:
    start: int
    end: int
    value: float
    qualifier: str
    text: str
    words: bool = False  # written in words ("seventy", "a dozen")
    qual_text: str = ""  # "more than", "nearly" as written
    paren: bool = False  # "Houston (20)": the place is before the figure


def find_numbers(sentence: str, dates: Iterable[DateExpr]) -> list[Number]:
    spans = [(d.start, d.end) for d in dates]
    out = []
    words = word_numbers(sentence)
    in_words = [(w.start, w.end) for w in words]
    for m in _NUM.finditer(sentence):
        if any(a <= m.start() < b for a, b in spans) or any(
            a <= m.start() < b for a, b in in_words
        ):
            continue
        if len(m.group(1)) > 15:
            continue  # a 400-digit string is not a figure anyone stated
        raw = m.group(1).replace(",", "")
        value = float(raw + (m.group(2) or ""))
        if m.group(3):
            value *= {"thousand": 1e3, "million": 1e6, "billion": 1e9}[m.group(3).lower()]
        elif "," not in m.group(1) and 1900 <= value <= 2100 and not m.group(2):
            continue  # a year
        out.append(_qualified(sentence, m.start(), m.end(), value, False))
    for w in words:
        if any(a <= w.start < b for a, b in spans):
            continue
        out.append(_qualified(sentence, w.start, w.end, float(w.value), True))
    out.sort(key=lambda n: n.start)
    return out


def _qualified(sentence: str, start: int, end: int, value: float, words: bool) -> Number:
    qual = "about"
    qual_text = ""
    q = _QUALIFIER_BEFORE.search(sentence[max(0, start - 20) : start])
    if q:
        qual_text = " ".join(q.group(1).lower().split())
        qual = _QUAL_MAP.get(qual_text, "about")
        start = start - (len(q.group(0)))
    if not qual_text and sentence[end : end + 1] == "+":
        qual, qual_text = "more_than", "more than"  # "100+"
    paren = sentence[max(0, start - 1) : start] == "(" and sentence[end : end + 1] == ")"
    return Number(start, end, value, qual, sentence[start:end], words, qual_text, paren)


# ----------------------------------------------------------------------------- shares

_SHARE = re.compile(
    r"\b(?P<q>(?:an?|the)\s+(?:(?:significant|vast|overwhelming|large|great|clear|"
    r"substantial|slim|narrow)\s+)?majority|most|nearly\s+all|almost\s+all|virtually\s+all|"
    r"(?:more|less|fewer)\s+than\s+half|half|two-thirds|two\s+thirds|a\s+third|a\s+quarter|"
    r"three-quarters|(?P<pct>\d+(?:\.\d+)?)\s*(?:%|percent|per\s+cent))\s+of\s+"
    r"(?:those|the|them|these|all)\b(?P<rest>[^.;\d]*)",
    re.IGNORECASE,
)
_SHARE_COUNT = re.compile(
    r"\b(?P<n>\d{1,3}(?:,\d{3})+|\d+)\s+(?:of\s+(?:them|those|the\s+\w+)\s+)?"
    r"(?:had|have|were|are|with)\s+(?P<rest>(?:prior\s+|previous\s+)?(?:criminal\s+)?"
    r"(?:convictions?|records?|histor(?:y|ies)|charges|convicted|pending)[^.;,\d]*)",
    re.IGNORECASE,
)
_IMMIGRATION_CRIMES = re.compile(r"illegal\s+(?:entry|re-?entry)|re-?entry", re.IGNORECASE)

# Country groups a press release names instead of countries (ISO 3166-1 alpha-3).
COUNTRY_GROUPS: dict[str, tuple[str, ...]] = {
    "central america": ("BLZ", "CRI", "SLV", "GTM", "HND", "NIC", "PAN"),
    "northern triangle": ("SLV", "GTM", "HND"),
    "the northern triangle": ("SLV", "GTM", "HND"),
}


def _criminality_of(pred: str) -> tuple[list[str], str]:
    p = pred.lower()
    conv = bool(re.search(r"convict", p))
    pend = bool(re.search(r"pending|charged|charges", p))
    if conv and pend:
        return ["convicted", "pending_charges"], ""
    if conv:
        return ["convicted"], ""
    if pend:
        return ["pending_charges"], ""
    if re.search(r"criminal", p):
        return (
            ["convicted", "pending_charges"],
            "'criminal' is read as convicted or facing pending charges, as ICE uses it",
        )
    return [], ""


def _countries_of(pred: str) -> list[str]:
    m = re.search(r"\b(?:from|citizens\s+of|nationals\s+of)\s+(.*)$", pred, re.IGNORECASE)
    if not m:
        return []
    head = re.split(r",\s*but\b|\bbut\b|\bwhile\b", m.group(1))[0]
    out: list[str] = []
    for part in re.split(r",\s*(?:and\s+|or\s+)?|\s+and\s+|\s+or\s+", head):
        name = part.strip().strip(".")
        if not name:
            continue
        key = name.lower().removeprefix("the ")
        if key in COUNTRY_GROUPS:
            out.extend(COUNTRY_GROUPS[key])
            continue
        hit = reference.country(name) or reference.country(name.removeprefix("the "))
        if hit is None:
            return []  # an unknown word: do not guess a partial list
        out.append(hit[0])
    return sorted(set(out))


# ----------------------------------------------------------------------------- output


@dataclass
class Extraction:
    claims: list[dict[str, Any]]
    skipped: list[dict[str, Any]] = field(default_factory=list)
    source: str | None = None
    published: date | None = None
    warnings: list[str] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        if self.source:
            doc["source"] = self.source
        if self.published:
            doc["published"] = self.published
        doc["extracted_by"] = "icetally check --text"
        if self.warnings:
            doc["warnings"] = list(self.warnings)
        doc["claims"] = self.claims
        if self.skipped:
            doc["skipped"] = self.skipped
        return doc


_HEADER = """\
# Claims extracted by `icetally check --text` (icetally.analysis.extract).
# Edit freely, then run: icetally check THIS_FILE --db ice.duckdb
# Each claim: id, text (the sentence it came from), dataset, from/to (inclusive ISO
# dates), aor (AOR codes; [] = the place maps to no AOR), measure (count | operation |
# share), value. `exact_window: false` marks a window the text only bounds ("a five-day
# operation in June"). `skipped` lists numbers the extractor saw but could not use.
# Format: docs/claims.md
"""


class _Dumper(yaml.SafeDumper):
    """Block style for claims, flow style for short lists (``aor: [CHI, DET]``), and no
    YAML anchors (``&id001``) when two claims share a date object."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(not isinstance(v, dict | list) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def claims_yaml(extraction: Extraction) -> str:
    """The extraction as an editable claims YAML document, with a header comment."""
    body = yaml.dump(
        extraction.document(),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=False,
    )
    return _HEADER + body


# ----------------------------------------------------------------------------- main


def detect_published(text: str) -> date | None:
    """A standalone dateline near the top ("7 October 2019", "October 7, 2019")."""
    _, loose = _clean_lines("\n".join(text.splitlines()[:20]))
    for line in loose:
        s = line.strip()
        for pat, order in (
            (re.compile(rf"^{_D}\s+({_MON}),?\s+((?:19|20)\d\d)$"), "dmy"),
            (re.compile(rf"^({_MON})\s+{_D},?\s+((?:19|20)\d\d)$"), "mdy"),
        ):
            m = pat.match(s)
            if m:
                a, b, y = m.groups()
                d, mon = (a, b) if order == "dmy" else (b, a)
                return _safe(int(y), _month(mon), int(d))
        try:
            return date.fromisoformat(s)
        except ValueError:
            continue
    return None


def _slug(text: str, limit: int = 40) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:limit].rstrip("-") or "claim"


def _clause_bounds(sentence: str, pos: int) -> tuple[int, int]:
    cuts = [0] + [m.end() for m in _CLAUSE_SPLIT.finditer(sentence)] + [len(sentence) + 1]
    starts = [m.start() for m in _CLAUSE_SPLIT.finditer(sentence)] + [len(sentence)]
    for i in range(len(cuts) - 1):
        lo, hi = cuts[i], starts[i] if i < len(starts) else len(sentence)
        if lo <= pos <= hi:
            return lo, hi
    return 0, len(sentence)


_REMOVAL_HEAD = re.compile(
    r"\b(?:removals?|deportations?|were\s+(?:removed|deported|repatriated)|"
    r"(?:removal|deportation|charter)\s+flights?)\b",
    re.IGNORECASE,
)
_VERB_BEFORE = re.compile(
    r"\b(arrest\w*|apprehen\w*|detain\w*|captur\w*|deport\w*|remov\w*|repatriat\w*)\b",
    re.IGNORECASE,
)


def _dataset_for(head: str, sentence: str, pos: int | None = None) -> str:
    """What a figure counts: the words after it ("528 removals"), else the nearest verb
    before it ("deported 528 aliens" is a removals claim, not an arrests one)."""
    h = head.lower()
    if _REMOVAL_HEAD.search(head):
        return "removals"
    if pos is not None:
        verbs = list(_VERB_BEFORE.finditer(sentence[max(0, pos - 50) : pos]))
        if verbs and re.match(r"deport|remov|repatri", verbs[-1].group(1), re.IGNORECASE):
            return "removals"
    if re.search(r"detainer", h):
        return "detainers"
    if re.search(r"apprehension|encounter", h) and re.search(
        r"\bCBP\b|Border\s+Patrol|Customs\s+and\s+Border", sentence
    ):
        return "cbp_encounters"
    if re.search(r"encounter", h):
        return "encounters"
    return "arrests"


def _claim_value(num: Number) -> Any:
    """The value as the claims file takes it: a plain number, or the words with their
    qualifier ("nearly 1,300", "more than 70") for the checker to read."""
    v = int(num.value) if num.value == int(num.value) else num.value
    if not num.qual_text:
        return v
    if num.words or not num.text.lower().startswith(num.qual_text.split()[0]):
        return f"{num.qual_text} {v:,}"
    return " ".join(num.text.split())


@dataclass
class _Op:
    """A figure later sentences refer back to, and its window."""

    claim: dict[str, Any]
    start: date
    end: date


def extract_claims(
    text: str, *, published: str | date | None = None, source: str | None = None
) -> Extraction:
    """Claims found in ``text``; ``published`` (ISO date) supplies missing years and
    "last month"; without it a standalone dateline near the top is used."""
    T.check_size(text)
    pub = date.fromisoformat(published) if isinstance(published, str) else published
    pub = pub or detect_published(text)
    warnings: list[str] = []
    if pub is None:
        warnings.append(
            "no dateline and no --published: dates without a year, weekdays and 'last "
            "week' cannot be placed; claims that need them are marked 'needs a date'"
        )
    all_sentences = T.sentences(text, ero_short=True)
    doc_states = _document_states(all_sentences)
    headline_where = _headline_where(all_sentences, doc_states)
    claims: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    ids: set[str] = set()
    op: _Op | None = None  # the last operation with exact days: "the operation" refers here
    subject: _Op | None = None  # the last figure: "those arrested" in a share refers here
    mentions_immigration_crimes = bool(_IMMIGRATION_CRIMES.search(text.translate(_QUOTES)))

    next_suffix: dict[str, int] = {}
    body_values: set[Any] = set()  # figures stated in the body ("all eight" restates one)

    def new_id(base: str) -> str:
        # one counter per base: a long text with many alike figures stays linear
        cid, k = base, next_suffix.get(base, 2)
        if cid in ids:
            cid = f"{base}-{k}"
            while cid in ids:
                k += 1
                cid = f"{base}-{k}"
            next_suffix[base] = k + 1
        ids.add(cid)
        return cid

    def skip(sentence: str, number: str, reason: str) -> None:
        skipped.append({"text": sentence, "number": number, "reason": reason})

    for sent in all_sentences:
        scan = sent.text  # "Enforcement and Removal Operations" already shortened to ERO
        a0, b0 = sent.span(0, len(scan))
        sentence = " ".join(text[a0:b0].split())
        lead = all_sentences[sent.lead] if sent.lead is not None else None
        context = f"{lead.text} {scan}" if lead is not None else scan
        dates = find_dates(scan, pub)
        lead_dates = []
        if lead is not None and not dates:
            # a table row or bullet under "... June 9 to June 13:" takes its lead's days
            lead_dates = [
                d for d in find_dates(lead.text, pub) if d.kind in ("day", "range") and d.date_from
            ]
        numbers = find_numbers(scan, dates)
        is_op_sentence = bool(_OPERATION.search(context))
        refers_to_op = bool(_REFERS_TO_OP.search(scan)) or lead is not None
        duration = find_duration(scan) or (find_duration(lead.text) if lead else None)
        inference = _INFERENCE.search(scan)
        share_spans: list[tuple[int, int]] = []
        sentence_claims: list[dict[str, Any]] = []
        subset_end: int | None = None  # the end of the last "including ..." figure
        subset_placed = False  # whether that figure was followed by its place

        # --- shares
        for m in _SHARE.finditer(scan):
            share_spans.append((m.start(), m.end()))
            rest = m.group("rest")
            crim, crim_note = _criminality_of(rest)
            countries = [] if crim else _countries_of(rest)
            if not crim and not countries:
                skip(sentence, m.group(0).strip(), "a share of something other than "
                     "criminality or citizenship")  # fmt: skip
                continue
            value: Any = (
                f"{m.group('pct')}%" if m.group("pct") else " ".join(m.group("q").lower().split())
            )
            base = _share_claim(sentence, source, value, crim, countries, crim_note)
            _place_share(base, scan, dates, subject, refers_to_op)
            what = "criminality" if crim else "citizenship"
            start_txt = base["from"].isoformat() if base.get("from") else "undated"
            base["id"] = new_id(f"{start_txt}-share-{what}")
            claims.append(base)
            if crim and "convicted" in crim and mentions_immigration_crimes:
                alt = {k: v for k, v in base.items()}
                alt["numerator"] = {**base["numerator"], "exclude_immigration_only": True}
                alt["note"] = _join_notes(
                    base.get("note"),
                    "the text says ICE counts illegal entry and re-entry as crimes: this "
                    "variant leaves out convictions whose most serious offence is an "
                    "immigration offence",
                )
                alt["id"] = new_id(f"{base['id']}-excluding-immigration-only")
                claims.append(alt)
        for m in _SHARE_COUNT.finditer(scan):
            share_spans.append((m.start(), m.end()))
            n = int(m.group("n").replace(",", ""))
            crim, crim_note = _criminality_of(m.group("rest"))
            total = _denominator(scan, m.start(), numbers, subject)
            if not crim or not total or n > total:
                skip(sentence, m.group("n"), "a count of people with a record but no total "
                     "to take it from")  # fmt: skip
                continue
            base = _share_claim(
                sentence, source, round(n / total, 4), crim, [], crim_note,
                extra_note=f"{n:,} of {total:,}",
            )  # fmt: skip
            _place_share(base, scan, dates, subject, True)
            start_txt = base["from"].isoformat() if base.get("from") else "undated"
            base["id"] = new_id(f"{start_txt}-share-criminality")
            claims.append(base)

        if not _ARREST_WORDS.search(context):
            continue
        # --- counts
        # figures of people separate the places of a list; "12 states" does not
        figures = [n for n in numbers if not _NON_COUNT.match(scan[n.end :])]
        for num in numbers:
            if any(a <= num.start < b for a, b in share_spans):
                if _SUBSET_BEFORE.search(scan[max(0, num.start - 40) : num.start]):
                    subset_end = num.end  # "including 296 with records, 10 gang members"
                    subset_placed = False
                continue
            after = scan[num.end :]
            if _NON_COUNT.match(after):
                continue
            is_item_figure = (
                sent.kind == "item"
                or num.paren
                or bool(_VERB_JUST_BEFORE.search(scan[max(0, num.start - 25) : num.start]))
            )
            if not (_PEOPLE.match(after) or _PLACE_PREP.match(after) or is_item_figure):
                continue
            if _SUBSET_AFTER.match(after) or _NOT_ARRESTED.match(after):
                skip(sentence, num.text, "a part of another figure ('of whom', 'of those')")
                continue
            if num.words and num.value == 1:
                continue  # "one of those arrested", "at least one offender": a person
            if sentence_claims and _BREAKDOWN_AFTER.match(after):
                skip(sentence, num.text, "a breakdown of the figure before it ('two from ...')")
                continue
            if (
                _RESTATED_BEFORE.search(scan[max(0, num.start - 6) : num.start])
                and _claim_value(num) in body_values
            ):
                skip(sentence, num.text, "restates a figure given before ('all eight')")
                continue
            subset = bool(_SUBSET_BEFORE.search(scan[max(0, num.start - 40) : num.start]))
            placed = bool(_PLACE_PREP.match(after))
            if subset:
                subset_placed = placed
            elif subset_end is not None:
                # "including 296 criminal aliens, 10 gang members and 4 fugitives": the
                # rest of an "including" list are parts too, when they read like its first
                # entry ("45 in Orange County and 12 in Riverside County")
                between = scan[subset_end : num.start]
                subset = placed == subset_placed and not re.search(
                    r"[;.]|\barrest|\bapprehen|\bdetain", between
                )
            subset_end = num.end if subset else None
            if inference and num.start > inference.start():
                skip(sentence, num.text, "the writer's arithmetic ('meaning that'), not a "
                     "stated figure")  # fmt: skip
                continue
            c_lo, c_hi = _clause_bounds(scan, num.start)
            head = re.split(r"[,;]|\d", after[:60])[0]
            week = _WEEK.search(scan[num.start : min(c_hi, num.end + 60)])
            # date: own clause, else nearest before in the sentence
            in_clause = [d for d in dates if c_lo <= d.start < c_hi]
            before = [d for d in dates if d.end <= num.start]
            dexpr = None
            if in_clause:
                dexpr = min(in_clause, key=lambda d: abs(d.start - num.start))
            elif before:
                dexpr = before[-1]
            elif len(dates) == 1 and dates[0].kind in ("day", "range"):
                dexpr = dates[0]  # "arrested 422 ..., during an operation from May 4 to 10"
            is_week = bool(week) or (dexpr is not None and dexpr.kind == "week_anaphor")
            measure = "count" if is_week else ("operation" if is_op_sentence else "count")
            claim: dict[str, Any] = {
                "id": "",
                "source": source,
                "text": sentence,
                "dataset": _dataset_for(head, scan, num.start),
            }
            notes: list[str] = []
            spans = [sent.span(num.start, num.end)]
            inherit = False
            d_from: date | None = None
            d_to: date | None = None
            exact = True
            days = None
            needs_date = ""
            if is_week:
                if op is None:
                    skip(sentence, num.text, "'that week' with no operation dated before it")
                    continue
                d_from, d_to = op.start, op.start + timedelta(days=6)
                notes.append(
                    "'that week' is read as the seven days from the operation's first day; "
                    "edit if the release means a calendar week"
                )
            elif dexpr is not None and dexpr.kind != "week_anaphor":
                spans.append(sent.span(dexpr.start, dexpr.end))
                if dexpr.date_from is None or dexpr.date_to is None:
                    needs_date = (
                        f"needs a date: '{dexpr.text}' cannot be placed without a dateline "
                        "or --published"
                    )
                else:
                    d_from, d_to = dexpr.date_from, dexpr.date_to
                if measure == "operation" and d_from is not None and d_to is not None:
                    span = (d_to - d_from).days + 1
                    if duration and duration > 1 and span == 1:
                        d_from, d_to, days, exact, note = _operation_around(scan, dexpr, duration)
                        notes.append(note)
                    elif duration and duration < span:
                        days, exact = duration, False
                        notes.append(
                            f"the text gives a {duration}-day operation in "
                            f"{_bare(dexpr.text)}, not its days"
                        )
                    elif (
                        dexpr.kind in ("month", "year", "fiscal", "since", "relative") and span > 1
                    ):
                        exact = False
                        notes.append(
                            f"the text dates the operation only by '{_bare(dexpr.text)}', "
                            "not its days"
                        )
                if dexpr.kind == "year" and measure == "count":
                    notes.append("'in YYYY' is read as the calendar year; edit for a fiscal year")
            elif lead is not None and lead_dates:
                d_from, d_to = lead_dates[0].date_from, lead_dates[0].date_to
                spans.append(lead.span(lead_dates[0].start, lead_dates[0].end))
            elif op is not None and (refers_to_op or measure == "operation"):
                d_from, d_to = op.start, op.end
                inherit = True
                if sent.kind == "item":
                    measure = op.claim["measure"]
            elif sent.kind == "item" and subject is not None:
                d_from, d_to = subject.start, subject.end  # a list under its lead sentence
                inherit = True
            else:
                needs_date = "no date stated: fill in from/to to check it"
                if sent.kind == "headline":
                    # "ICE arrests 48 ..." over "The arrests occurred during a week-long
                    # operation ending March 8": the body dates the headline's figure
                    body = _body_date(all_sentences, pub)
                    if body is not None:
                        d_from, d_to, exact, days, body_note, body_span = body
                        needs_date = ""
                        notes.append(body_note)
                        spans.append(body_span)
            if needs_date:
                notes.append(needs_date)
            claim["from"], claim["to"] = d_from, d_to
            if not exact:
                claim["exact_window"] = False
                if days:
                    claim["days"] = days
            # place: own clause, else earlier in the sentence, else the headline's
            where = _place_for(scan, num, figures, c_lo, c_hi, doc_states, sent.kind == "item")
            spans += [sent.span(a, b) for a, b in where.spans]
            aors, place_text = where.aors, where.text
            if (
                sent.kind == "headline"
                and where.aors
                and where.office_only
                and (body_where := _body_where(all_sentences, doc_states, arrests_only=True))
            ):
                # "HSI Houston ... apprehend 2" over "... were arrested in Houston and
                # Mesquite": the office and the places the body names
                where.aors = sorted(set(where.aors) | set(body_where.aors))
                where.text = f"{where.text}; {body_where.text}"
                spans += [
                    all_sentences[body_where.sentence].span(a, b) for a, b in body_where.spans
                ]
                aors, place_text = where.aors, where.text
            if where.unplaced:
                claim["aor"] = []
                if where.text:
                    claim["place"] = where.text
                notes.append(where.unplaced)
            elif aors:
                claim["aor"] = aors
                if where.fips:
                    claim["county"] = where.fips
                claim["place"] = place_text
                if where.note:
                    notes.append(where.note)
            elif where.note:
                notes.append(where.note)
            elif inherit and op is not None and op.claim.get("aor"):
                claim["aor"] = list(op.claim["aor"])
            elif sent.kind == "headline" and (body_where := _body_where(all_sentences, doc_states)):
                claim["aor"] = body_where.aors
                claim["place"] = body_where.text
                notes.append(f"place taken from the next sentences: {body_where.text}")
                spans += [
                    all_sentences[body_where.sentence].span(a, b) for a, b in body_where.spans
                ]
            elif headline_where is not None and sent.kind != "headline":
                hw = headline_where
                if hw.unplaced:
                    claim["aor"] = []
                    notes.append(hw.unplaced)
                else:
                    claim["aor"] = hw.aors
                    claim["place"] = hw.text
                    notes.append(f"place taken from the headline or dateline: {hw.text}")
                spans += [all_sentences[hw.sentence].span(a, b) for a, b in hw.spans]
            else:
                notes.append("no place named: checked nationwide")
            claim["measure"] = measure
            claim["value"] = _claim_value(num)
            if notes:
                claim["note"] = "; ".join(notes)
            if is_week:
                role = "week"
            elif aors:
                role = _slug(place_text, 30)
            else:
                role = "total" if measure == "operation" else "nationwide"
            if d_from is None:
                stem = "undated"
            else:
                stem = d_from.isoformat() if exact else d_from.strftime("%Y-%m")
            claim["id"] = new_id(f"{stem}-{measure}-{role}")
            claim["_sent"] = sent.index
            claim["_kind"] = sent.kind
            claim["_num"] = num
            claim["_spans"] = spans
            claim["_needs_date"] = bool(needs_date)
            claim["_where"] = where
            if subset and sentence_claims:
                claim["part_of"] = sentence_claims[-1]["id"]
            claims.append(claim)
            if sent.kind != "headline" and isinstance(claim["value"], int | float):
                body_values.add(claim["value"])
            if not subset:
                sentence_claims.append(claim)
            if inherit:
                subject = op if op is not None else subject  # back to that operation
            elif not is_week and d_from and d_to and not subset:
                subject = _Op(claim, d_from, d_to)
                if (
                    measure == "operation"
                    and exact
                    and (op is None or (op.start, op.end) != (d_from, d_to))
                ):
                    op = subject
    _finish_ops(claims)
    _finish_document(claims)
    for c in claims:
        c.pop("_inherit", None)
        c.pop("_op", None)
        if c.get("source") is None:
            c.pop("source", None)
    # detention-population, book-in and removal sentences: claims on ICE's published
    # statistics (analysis/official_claims.py)
    from icetally.analysis.official_claims import extract as extract_official

    official = extract_official(text, pub, source)
    if official:
        where = {x.text.strip(): x for x in T.sentences(text)}
        for c in official:
            sent_of = where.get(str(c.get("text", "")).strip())
            if sent_of is not None:
                c["spans"] = [list(sent_of.span(0, len(sent_of.text)))]
            c["confidence"] = 0.7  # the whole sentence: the figure's own words are not marked
    claims.extend(official)
    return Extraction(claims, skipped, source, pub, warnings)


_ENDED = re.compile(
    r"\b(?:end(?:ed|ing|s)?|conclud(?:ed|ing|es)|wrapp(?:ed|ing)\s+up|finish(?:ed|ing)|"
    r"clos(?:ed|ing)|through|until|till)\s+(?:on\s+)?$",
    re.IGNORECASE,
)
_BEGAN = re.compile(
    r"\b(?:beg(?:an|inning|ins)|start(?:ed|ing|s)?|launch(?:ed|ing)|kick(?:ed|ing)\s+off|"
    r"from)\s+(?:on\s+)?$",
    re.IGNORECASE,
)


def _operation_around(
    scan: str, dexpr: DateExpr, duration: int
) -> tuple[date, date, int | None, bool, str]:
    """The window of a several-day operation dated by one day: ending on it ("a
    five-day operation that ended Feb. 15"), starting on it ("began Feb. 11"), or, when
    the text does not say which, any `duration` days that include it."""
    assert dexpr.date_from is not None
    day = dexpr.date_from
    lead = scan[max(0, dexpr.start - 40) : dexpr.start]
    back = timedelta(days=duration - 1)
    if _ENDED.search(lead):
        return (
            day - back,
            day,
            None,
            True,
            (f"the {duration}-day operation is read as ending on {day.isoformat()}"),
        )
    if _BEGAN.search(lead):
        return (
            day,
            day + back,
            None,
            True,
            (f"the {duration}-day operation is read as starting on {day.isoformat()}"),
        )
    return (
        day - back,
        day + back,
        duration,
        False,
        (f"the text gives a {duration}-day operation including {_bare(dexpr.text)}, not its days"),
    )


def _bare(date_text: str) -> str:
    """'in June' -> 'June' (for notes)."""
    return re.sub(r"^(?:in|during|throughout|since)\s+", "", date_text.strip(), flags=re.I)


def _join_notes(*notes: str | None) -> str:
    return "; ".join(n for n in notes if n)


def _share_claim(
    sentence: str,
    source: str | None,
    value: Any,
    crim: list[str],
    countries: list[str],
    note: str,
    extra_note: str = "",
) -> dict[str, Any]:
    claim: dict[str, Any] = {"id": "", "source": source, "text": sentence, "dataset": "arrests"}
    claim["measure"] = "share"
    claim["value"] = value
    claim["numerator"] = {"criminality": crim} if crim else {"citizenship": countries}
    n = _join_notes(extra_note, note)
    if n:
        claim["note"] = n
    return claim


def _place_share(
    claim: dict[str, Any],
    scan: str,
    dates: list[DateExpr],
    op: _Op | None,
    refers_to_op: bool,
) -> None:
    """A share's window and places: its own date if it has one, else those of the figure
    it refers to ("of those arrested")."""
    own = [d for d in dates if d.kind not in ("week_anaphor",) and d.date_from]
    out: dict[str, Any] = {}
    if own:
        out["from"], out["to"] = own[0].date_from, own[0].date_to
    elif op is not None and refers_to_op:
        out["from"], out["to"] = op.start, op.end
        if op.claim.get("exact_window") is False:
            # "of those arrested" in an operation known only by its month
            out["exact_window"] = False
            if op.claim.get("days"):
                out["days"] = op.claim["days"]
        out["_inherit"] = True
        out["_op"] = op
    else:
        out["from"] = out["to"] = None
        claim["note"] = _join_notes(claim.get("note"), "no date range found for this share")
    # keep key order readable: id, source, text, dataset, from, to, (aor), measure ...
    items = list(claim.items())
    claim.clear()
    for k, v in items:
        if k == "measure":
            claim.update(out)
        claim[k] = v


def _denominator(scan: str, pos: int, numbers: list[Number], op: _Op | None) -> int | None:
    """The total a "317 had criminal convictions" is taken from: a count earlier in the
    sentence ("Of the 680 arrested, 317 ..."), else the operation's figure."""
    earlier = [n for n in numbers if n.end <= pos]
    if earlier:
        return int(earlier[-1].value)
    if op is not None:
        return int(op.claim["value"])
    return None


@dataclass
class _Where:
    aors: list[str] = field(default_factory=list)
    text: str = ""
    note: str = ""
    unplaced: str = ""  # why the place maps to no AOR
    fips: list[str] = field(default_factory=list)  # counties, when only counties are named
    spans: list[tuple[int, int]] = field(default_factory=list)  # in the sentence
    sentence: int = 0
    office_only: bool = False  # only a field office or agency unit is named


_COURT_DATE = re.compile(r"convict|sentenc|plead|pleaded|indict|charged|born|removed", re.I)


_SINCE_BEGAN = re.compile(
    r"\b(?:began|begun|started|launched|kicked\s+off|since)\s+(?:on\s+)?$", re.IGNORECASE
)


def _body_date(
    sentences: list[T.Sentence], pub: date | None
) -> tuple[date, date, bool, int | None, str, tuple[int, int]] | None:
    """The first exact day or range of the two sentences after the headline, as the
    window of the headline's figure (an operation "ending March 8" of a "week-long"
    operation ends there)."""
    for s in sentences[1:3]:
        for d in find_dates(s.text, pub):
            if d.kind not in ("day", "range") or d.date_from is None or d.date_to is None:
                continue
            if _COURT_DATE.search(s.text[max(0, d.start - 50) : d.start]):
                continue  # "convicted ... on May 13, 2024": a court date, not the arrests
            lo, hi, exact, days = d.date_from, d.date_to, True, None
            note = f"window from the release's body: '{d.text}'"
            if (
                lo == hi
                and pub is not None
                and lo < pub
                and _SINCE_BEGAN.search(s.text[max(0, d.start - 30) : d.start])
            ):
                # "The operation, which began April 22, has led to ...": so far
                hi = pub
                note = f"window from the release's body: from '{d.text}' to the release date"
            duration = find_duration(s.text)
            if duration and duration > 1 and lo == hi:
                lo, hi, days, exact, n2 = _operation_around(s.text, d, duration)
                note = _join_notes(note, n2)
            return lo, hi, exact, days, note, s.span(d.start, d.end)
    return None


def _body_where(
    sentences: list[T.Sentence], doc_states: frozenset[str], arrests_only: bool = False
) -> _Where | None:
    """Places of the two sentences after the headline (with ``arrests_only``, only of a
    sentence that speaks of arrests): where a headline figure that names no place, or
    only an office, happened."""
    for s in sentences[1:3]:
        if s.kind == "headline":
            continue
        if arrests_only and not _ARREST_WORDS.search(s.text):
            continue
        if places.national_scope(s.text):
            continue
        matches = [m for m in places.find_places(s.text, doc_states) if m.place]
        if arrests_only:
            matches = [m for m in matches if m.place and m.place.kind != "field_office"]
        if matches:
            w = _where_of(matches)
            w.sentence = s.index
            return w
    return None


@functools.lru_cache(maxsize=64)
def _sentence_states(scan: str) -> frozenset[str]:
    """States the sentence places itself in (unambiguous places only), to tell which
    "Orange County" is meant. Cached: every figure of a sentence asks."""
    out: set[str] = set()
    for m in places.find_places(scan):
        if m.place and len(m.place.states) == 1:
            out |= m.place.states
        elif m.place and m.place.kind == "field_office":
            out |= _aor_states().get(m.place.aors[0], set())
    return frozenset(out)


@functools.cache
def _aor_states() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for s in reference.aor_states():
        out.setdefault(s.aor, set()).add(s.state_abbr)
    return out


def _document_states(sentences: list[T.Sentence]) -> frozenset[str]:
    """States the whole text places itself in: a bare "Glendale" in a release from ICE
    Los Angeles is Glendale, California."""
    out: set[str] = set()
    for s in sentences:
        out |= _sentence_states(s.text)
    return frozenset(out)


_DATELINE = re.compile(r"^([A-Z][A-Z.' ]*[A-Z])(?:,\s*([A-Z][\w.]*(?:\s+[A-Z][\w.]*)?))?\s+-\s")


def _headline_where(sentences: list[T.Sentence], doc_states: frozenset[str]) -> _Where | None:
    """The place a release's headline or dateline ("HOUSTON - ...") names: the place of
    figures in its body that name none."""
    if not sentences:
        return None
    first = sentences[0]
    m = _DATELINE.match(first.text)
    if m and m.group(1).strip() in ("WASHINGTON", "WASHINGTON D.C.", "WASHINGTON, D.C."):
        m = None  # ICE headquarters' dateline: a national release, not Washington State
    if m:
        name = m.group(1).title()
        states = set(doc_states)
        if m.group(2):
            st = reference.state_abbr(m.group(2).rstrip("."))
            states = {st} if st else states
        hit = places.resolve(name) or places.town_place(name, states)[0]
        if hit is not None and hit.aors:
            return _Where(aors=list(hit.aors), text=name, spans=[(m.start(1), m.end(1))])
    if first.kind != "headline":
        return None
    found = places.find_places(first.text, doc_states)
    matches = [x for x in found if x.place]
    if matches:
        return _where_of(matches)
    unres = [x for x in found if x.place is None and x.note]
    if unres:
        return _Where(unplaced=unres[0].note, text=unres[0].text,
                      spans=[(unres[0].start, unres[0].end)])  # fmt: skip
    return None


def _place_for(
    scan: str,
    num: Number,
    numbers: list[Number],
    c_lo: int,
    c_hi: int,
    doc_states: frozenset[str] = frozenset(),
    item: bool = False,
) -> _Where:
    """Where a figure is: the places between it and the next figure of its clause ("45 in
    Orange County and 12 in Riverside County"), else those just before it ("In Los
    Angeles, officers arrested 212"; "Houston (20)"), else those earlier in the sentence
    ("... Mississippi poultry plants, which detained 680 workers"). A place named but not
    resolved gives ``unplaced`` with the reason, never the whole country."""
    nxt = min([n.start for n in numbers if num.start < n.start < c_hi] + [c_hi])
    colon = scan.find(":", num.end, nxt)
    if colon >= 0:
        nxt = colon  # "arrested 45 people in three cities: Houston (20), ...": a list follows
    prev = max([n.end for n in numbers if c_lo <= n.end <= num.start] + [c_lo])
    segments = [(num.end, nxt), (prev, num.start)]
    if num.paren:
        segments.reverse()  # "Houston (20), Dallas (15)": the place comes first
    ctx = _sentence_states(scan) or doc_states
    for a, b in segments:
        seg = scan[a:b]
        unnamed = places.unnamed_states(seg)
        if unnamed:
            return _Where(
                unplaced=f"the text says '{unnamed}' without naming them; fill in aor to check"
            )
        if places.national_scope(seg):
            return _Where(note="the text says nationwide: no AOR filter")
        found = places.find_places(seg, ctx)
        matches = [m for m in found if m.place]
        if matches:
            return _where_of(matches, a)
        unres = [m for m in found if m.place is None and m.note]
        if unres:
            u = unres[0]
            return _Where(unplaced=u.note, text=u.text, spans=[(a + u.start, a + u.end)])
        if num.paren and b == num.start:
            bare = [m for m in places.bare_town_matches(seg, ctx) if m.place]
            if bare:
                return _where_of(bare[-1:], a)  # "..., Savannah (7)"
    earlier = scan[:c_lo]
    if earlier and not places.national_scope(earlier):
        found = places.find_places(earlier, ctx)
        matches = [m for m in found if m.place]
        if matches:
            return _where_of(matches)
        unres = [m for m in found if m.place is None and m.note]
        if unres:
            u = unres[0]
            return _Where(unplaced=u.note, text=u.text, spans=[(u.start, u.end)])
    later = scan[nxt:c_hi]
    if later and not item and not num.paren:
        # "deported 528 people and arrested 61 in the Houston area": one place for both
        found = places.find_places(later, ctx)
        matches = [m for m in found if m.place]
        if matches and not places.national_scope(later):
            return _where_of(matches, nxt)
    if item:
        bare = places.bare_town_matches(scan, ctx)
        matches = [m for m in bare if m.place]
        if matches:
            return _where_of(matches)
        if bare:
            return _Where(unplaced=bare[0].note, text=bare[0].text,
                          spans=[(bare[0].start, bare[0].end)])  # fmt: skip
    return _Where()


def _where_of(matches: list[places.PlaceMatch], base: int = 0) -> _Where:
    w = _Where(
        office_only=all(
            m.place and m.place.kind == "field_office" or re.match(r"(?:ICE|ERO|HSI)\s", m.text)
            for m in matches
        ),  # fmt: skip
        aors=sorted({a for m in matches for a in m.aors}),
        text=", ".join(m.text for m in matches),
        note="; ".join(m.note for m in matches if m.note),
        spans=[(base + m.start, base + m.end) for m in matches],
    )
    if all(m.place and m.place.kind == "county" for m in matches):
        # A county is finer than an AOR: filter by county too, so a release without
        # county data answers "unverifiable" instead of comparing with the whole AOR.
        w.fips = sorted({f for m in matches if m.place for f in m.place.fips})
        w.note = _join_notes(
            w.note or None, "checked by county (a release without counties cannot answer)"
        )
    return w


def _finish_ops(claims: list[dict[str, Any]]) -> None:
    """Give an operation's total the AORs of its regional figures when they add up to
    it, and hand the total's AORs to shares and figures that inherited its window."""
    by_window: dict[tuple[date, date], list[dict[str, Any]]] = {}
    for c in claims:
        if c.get("measure") == "operation" and c.get("exact_window", True) and c.get("from"):
            by_window.setdefault((c["from"], c["to"]), []).append(c)
    for group in by_window.values():
        total = next((c for c in group if "aor" not in c), None)
        parts = [c for c in group if c is not total and c.get("aor")]
        if total is None or not parts:
            continue
        s = sum(c["value"] for c in parts)
        if abs(s - total["value"]) <= 0.01 * total["value"]:
            total["aor"] = sorted({a for c in parts for a in c["aor"]})
            note = (
                f"the {len(parts)} regional figures add up to {s:,}: the total is checked "
                "over their AORs"
            )
            old = total.get("note", "")
            for said in ("no place named: checked nationwide",
                         "the text says nationwide: no AOR filter"):  # fmt: skip
                old = old.replace(said, "").strip("; ")
            total["note"] = _join_notes(old or None, note)
            _move_after(total, "aor", "to")
    for c in claims:
        op = c.get("_op")
        if op is not None and "aor" not in c and "aor" in op.claim:
            c["aor"] = list(op.claim["aor"])
            _move_after(c, "aor", "to")
            if op.claim.get("county"):
                c["county"] = list(op.claim["county"])
                _move_after(c, "county", "aor")


def _move_after(d: dict[str, Any], key: str, after: str) -> None:
    """Re-insert ``key`` right after ``after`` so the YAML reads in a natural order."""
    if key not in d:
        return
    val = d.pop(key)
    items = list(d.items())
    d.clear()
    for k, v in items:
        d[k] = v
        if k == after:
            d[key] = val
    d.setdefault(key, val)


def _numeric(c: dict[str, Any]) -> tuple[float, str] | None:
    """A count claim's (value, qualifier), None for shares."""
    if c.get("measure") not in ("count", "operation"):
        return None
    from icetally.analysis.claims.parse import parse_number

    try:
        return parse_number(c["value"])
    except ValueError:
        return None


def _same_figure(headline: tuple[float, str], body: tuple[float, str], body_exact: bool) -> bool:
    """A headline's "more than 200" and the body's "206" state one figure."""
    hv, hq = headline
    bv, _ = body
    if hv == bv:
        return True
    if not body_exact:
        return False
    if hq == "more_than":
        return bv >= hv and bv <= 1.5 * hv
    if hq == "fewer_than":
        return bv <= hv and bv >= 0.5 * hv
    return abs(bv - hv) <= 0.1 * hv and hv != bv and hv % 10 == 0


def _finish_document(claims: list[dict[str, Any]]) -> None:
    """Across the text: a headline figure restated in the body is one claim (the body's
    exact figure, both spans); figures that add up to an earlier one are its parts
    (``part_of``); every claim gets ``spans`` and a ``confidence``."""
    numbers = {id(c): _numeric(c) for c in claims}
    # 1. headline + body
    merged_into: dict[str, str] = {}
    for h in [c for c in claims if c.get("_kind") == "headline" and numbers[id(c)]]:
        hn = numbers[id(h)]
        assert hn is not None
        for b in claims:
            bn = numbers[id(b)]
            if (
                b is h
                or bn is None
                or b.get("_kind") == "headline"
                or b.get("part_of")
                or b.get("dataset") != h.get("dataset")
            ):
                continue
            if not _same_figure(hn, bn, isinstance(b["value"], int | float)):
                continue
            b["_spans"] = h["_spans"] + b["_spans"]
            b["_confirmed"] = True
            if b.get("from") is None and h.get("from") is not None:
                for k in ("from", "to", "exact_window", "days"):
                    if k in h:
                        b[k] = h[k]
                b["_needs_date"] = False
                b["note"] = _drop_note(b.get("note"), "no date stated")
            b_unplaced_note = "no place named" in (b.get("note") or "") or "headline" in (
                b.get("note") or ""
            )
            if ("aor" not in b or b_unplaced_note) and "aor" in h:
                b["aor"] = list(h["aor"])
                if h.get("place"):
                    b["place"] = h["place"]
                b["note"] = _drop_note(b.get("note"), "no place named")
            if b.get("measure") == "count" and h.get("measure") == "operation":
                b["measure"] = "operation"
            b["note"] = _join_notes(
                b.get("note"), f"the headline states this figure as '{h['value']}'"
            )
            _reorder(b)
            merged_into[h["id"]] = b["id"]
            h["_merged"] = True
            break
    claims[:] = [c for c in claims if not c.get("_merged")]
    for c in claims:
        if c.get("part_of") in merged_into:
            c["part_of"] = merged_into[c["part_of"]]
    # "arrested 422 ..., including 296 ... and 10 ..., in Houston": the place after the
    # parts of a sentence is the total's too
    parts_of: dict[str, list[dict[str, Any]]] = {}
    for c in claims:
        if c.get("part_of"):
            parts_of.setdefault(c["part_of"], []).append(c)
    for t in claims:
        parts = parts_of.get(t["id"], [])
        aor_sets = {tuple(c.get("aor") or ()) for c in parts}
        if (
            parts
            and "aor" not in t
            and "no place named" in (t.get("note") or "")
            and len(aor_sets) == 1
            and all(c.get("_sent") == t.get("_sent") for c in parts)
            and next(iter(aor_sets))
        ):
            t["aor"] = list(next(iter(aor_sets)))
            t["place"] = parts[0].get("place")
            t["note"] = _drop_note(t.get("note"), "no place named")
            t["_spans"] = t["_spans"] + [s for c in parts for s in c["_spans"][-1:]]
            _reorder(t)
    # 2. parts: a run of later figures adding up to a figure
    for i, t in enumerate(claims):
        tn = numbers.get(id(t))
        if tn is None or t.get("part_of") or tn[1] != "about" or "_num" not in t:
            continue
        if t["_num"].paren or t.get("_kind") == "item":
            continue  # an entry of a list is not the total of the entries after it
        run: list[dict[str, Any]] = []
        total = 0.0
        for c in claims[i + 1 : i + 13]:
            cn = numbers.get(id(c))
            if cn is None or c.get("part_of") or c.get("dataset") != t.get("dataset"):
                continue
            run.append(c)
            total += cn[0]
            if total >= tn[0]:
                break
        if len(run) >= 2 and total == tn[0]:
            for c in run:
                c["part_of"] = t["id"]
    # 3. spans and confidence
    for c in claims:
        if "_spans" not in c:
            continue
        spans = sorted({(a, b) for a, b in c.pop("_spans") if b > a})
        conf = 0.9
        num: Number = c.pop("_num")
        if c.pop("_needs_date", False):
            conf -= 0.3
        if c.get("aor") == []:
            conf -= 0.3
        if "headline" in (c.get("note") or "") and "states this figure" not in c["note"]:
            conf -= 0.1
        if num.words:
            conf -= 0.05
        if c.get("exact_window") is False:
            conf -= 0.1
        if c.pop("_confirmed", False):
            conf += 0.05
        c["spans"] = [list(s) for s in spans]
        c["confidence"] = round(max(0.1, min(1.0, conf)), 2)
        for k in ("_sent", "_kind", "_where"):
            c.pop(k, None)


def _drop_note(note: str | None, starting: str) -> str | None:
    if not note:
        return note
    kept = [p for p in note.split("; ") if not p.startswith(starting)]
    return "; ".join(kept) or None


_ORDER = ("id", "source", "text", "dataset", "from", "to", "exact_window", "days", "aor",
          "county", "place", "measure", "value", "note")  # fmt: skip


def _reorder(c: dict[str, Any]) -> None:
    items = dict(c)
    c.clear()
    for k in _ORDER:
        if k in items and (items[k] is not None or k in ("from", "to")):
            c[k] = items[k]
    for k, v in items.items():
        if k not in c and v is not None:
            c[k] = v
    if c.get("note") is None:
        c.pop("note", None)
