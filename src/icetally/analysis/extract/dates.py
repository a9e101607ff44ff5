"""Dates in a sentence: absolute days and ranges ("Sept. 21-25", "Dec. 28 to Jan. 3",
"Feb. 6, 2017"), months, years, fiscal years, "since the start of the 2017 fiscal
year", "last month", "that week", and (through ``relative``) weekdays and "over the
weekend"; and an operation's stated duration ("a five-day operation", "week-long").

A missing year is the latest one not after the publication date. Dates a sentence
reports rather than states ("statistics published in July") are left out.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta

from icetally.analysis.extract.relative import find_relative

__all__ = ["DateExpr", "find_dates", "find_duration"]

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8,
    "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MON = (
    r"(?:Jan(?:uary|\.)?|Feb(?:ruary|\.)?|Mar(?:ch|\.)?|Apr(?:il|\.)?|May|June?\.?|July?\.?|"
    r"Aug(?:ust|\.)?|Sept?(?:ember|\.)?|Oct(?:ober|\.)?|Nov(?:ember|\.)?|Dec(?:ember|\.)?)"
)
_D = r"(\d{1,2})(?:st|nd|rd|th)?"
_Y = r"(?:,?\s*((?:19|20)\d\d))"
_TO = r"\s*(?:to|through|thru|until|-|and)\s*"
_WORD_NUM = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "a": 1,
}  # fmt: skip

_P_RANGE2 = re.compile(rf"\b(?:from\s+|between\s+)?({_MON})\s+{_D}{_Y}?{_TO}({_MON})\s+{_D}{_Y}?")
_P_RANGE1 = re.compile(rf"\b(?:from\s+|between\s+)?({_MON})\s+{_D}{_TO}{_D}\b{_Y}?")
_P_DAY = re.compile(rf"\b({_MON})\s+{_D}\b{_Y}?")
_P_DAY_UK = re.compile(rf"\b{_D}\s+({_MON}){_Y}")
_P_SINCE_FY = re.compile(
    r"\bsince\s+(?:the\s+(?:start|beginning)\s+of\s+)?(?:the\s+)?(?:fiscal\s+year\s+|FY\s*)?"
    rf"((?:19|20)\d\d)(?:\s+fiscal\s+year)?(?:\s+(?:to|through|until)\s+({_MON})"
    r"(?:\s+of\s+(this|last)\s+year|,?\s*((?:19|20)\d\d))?)?",
    re.IGNORECASE,
)
_P_FY = re.compile(
    r"\b(?:in\s+|during\s+)?(?:fiscal\s+year\s+|FY\s*)((?:19|20)\d\d)\b|"
    r"\b(?:in\s+|during\s+)?the\s+((?:19|20)\d\d)\s+fiscal\s+year\b",
    re.IGNORECASE,
)
_P_MONTH = re.compile(
    rf"\b(?:(in|during|throughout|since|early|mid|late|last|this)[- ]\s*)?({_MON})(?![a-z])"
    r"(?:\s+of\s+(this|last)\s+year|,?\s*((?:19|20)\d\d))?(?!\s*\d)"
)
_P_SINCE_DAY = re.compile(rf"\b[Ss]ince\s+({_MON})\s+{_D}\b{_Y}?")
_P_WEEK_OF = re.compile(rf"\b(?:the\s+)?week\s+of\s+({_MON})\s+{_D}\b{_Y}?", re.IGNORECASE)
_P_YEAR = re.compile(r"\b(?:in|during|throughout)\s+((?:19|20)\d\d)\b(?!\s*fiscal)")
_P_REL = re.compile(
    r"\b(last|this|that|the\s+same|previous)\s+(week|month|year)\b|\bthe\s+week\s+before\b",
    re.IGNORECASE,
)
_P_DURATION = re.compile(
    r"\b(\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
    r"fourteen)[- ]day\b|\b(?:spanning|over|lasting|for|in|during)\s+(\d+|two|three|four|"
    r"five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen)\s+days\b|"
    r"\b(week-?long|one-week|two-week)\b",
    re.IGNORECASE,
)
_REPORTING = re.compile(
    r"\b(?:published|released|announced|reported|issued|dated|posted|said)\s+(?:on\s+|in\s+)?$",
    re.IGNORECASE,
)


@dataclass
class DateExpr:
    start: int
    end: int
    kind: str  # range | day | month | year | fiscal | since | week_anaphor | relative
    date_from: date | None
    date_to: date | None
    text: str


def _month(token: str) -> int:
    return _MONTHS[token.lower()[:3]]


def _year_for(month: int, day: int, published: date | None, explicit: str | None) -> int | None:
    if explicit:
        return int(explicit)
    if published is None:
        return None
    y = published.year
    try:
        if date(y, month, day) > published:
            y -= 1
    except ValueError:
        return None
    return y


def _safe(y: int | None, m: int, d: int) -> date | None:
    if y is None:
        return None
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _month_span(y: int | None, m: int) -> tuple[date | None, date | None]:
    if y is None:
        return None, None
    return date(y, m, 1), date(y, m, monthrange(y, m)[1])


def find_dates(sentence: str, published: date | None) -> list[DateExpr]:
    """Date expressions in a sentence, non-overlapping, most specific first."""
    found: list[DateExpr] = []

    def add(m: re.Match[str], kind: str, lo: date | None, hi: date | None) -> None:
        if _REPORTING.search(sentence[max(0, m.start() - 25) : m.start()]):
            return  # "statistics published in July": when it was said, not when it happened
        found.append(DateExpr(m.start(), m.end(), kind, lo, hi, m.group(0)))

    for m in _P_SINCE_FY.finditer(sentence):
        lo = date(int(m.group(1)) - 1, 10, 1)
        hi: date | None = published
        if m.group(2):
            mon = _month(m.group(2))
            if m.group(4):
                y = int(m.group(4))
            elif m.group(3) and published:
                y = published.year - (m.group(3).lower() == "last")
            else:
                y = _year_for(mon, 1, published, None)
            hi = _month_span(y, mon)[1]
        add(m, "since", lo, hi)
    for m in _P_FY.finditer(sentence):
        fy = int(m.group(1) or m.group(2))
        add(m, "fiscal", date(fy - 1, 10, 1), date(fy, 9, 30))
    for m in _P_RANGE2.finditer(sentence):
        m1, d1, y1, m2, d2, y2 = m.groups()
        mo1, mo2 = _month(m1), _month(m2)
        y_end = _year_for(mo2, int(d2), published, y2)
        y_start = int(y1) if y1 else (y_end - (mo1 > mo2) if y_end else None)
        add(m, "range", _safe(y_start, mo1, int(d1)), _safe(y_end, mo2, int(d2)))
    for m in _P_RANGE1.finditer(sentence):
        mon_t, d1, d2, y = m.groups()
        mon = _month(mon_t)
        if int(d2) <= int(d1):
            continue
        yy = _year_for(mon, int(d2), published, y)
        add(m, "range", _safe(yy, mon, int(d1)), _safe(yy, mon, int(d2)))
    for m in _P_DAY.finditer(sentence):
        mon_t, d, y = m.groups()
        mon = _month(mon_t)
        yy = _year_for(mon, int(d), published, y)
        day = _safe(yy, mon, int(d))
        add(m, "day", day, day)
    for m in _P_DAY_UK.finditer(sentence):
        d, mon_t, y = m.groups()
        day = _safe(int(y), _month(mon_t), int(d))
        add(m, "day", day, day)
    for m in _P_MONTH.finditer(sentence):
        lead, mon_t, rel_year, y = m.groups()
        if mon_t.lower().startswith("may") and not (lead or y or rel_year):
            continue  # "may" the verb
        if mon_t[0].islower():
            continue
        mon = _month(mon_t)
        if y:
            yy: int | None = int(y)
        elif rel_year and published:
            yy = published.year - (rel_year.lower() == "last")
        else:
            yy = _year_for(mon, 1, published, None)
            if lead and lead.lower() == "last" and yy is not None and published:
                # "last June" written in June means a year ago
                yy = yy - 1 if (yy, mon) == (published.year, published.month) else yy
        lo, hi = _month_span(yy, mon)
        if lead and lead.lower() == "since" and lo and published and lo <= published:
            hi = published  # "since January": from its first day to the release date
            add(m, "since", lo, hi)
            continue
        add(m, "month", lo, hi)
    for m in _P_SINCE_DAY.finditer(sentence):
        mon = _month(m.group(1))
        first = _safe(_year_for(mon, int(m.group(2)), published, m.group(3)), mon, int(m.group(2)))
        if first and published and first <= published:
            add(m, "since", first, published)  # "since Jan. 20": to the release date
    for m in _P_WEEK_OF.finditer(sentence):
        mon = _month(m.group(1))
        first = _safe(_year_for(mon, int(m.group(2)), published, m.group(3)), mon, int(m.group(2)))
        # "the week of March 10": the seven days from that day
        add(m, "range", first, first + timedelta(days=6) if first else None)
    for m in _P_YEAR.finditer(sentence):
        y = int(m.group(1))
        add(m, "year", date(y, 1, 1), date(y, 12, 31))
    for m in _P_REL.finditer(sentence):
        which = (m.group(1) or "").lower().replace("  ", " ")
        unit = (m.group(2) or "week").lower()
        if which in ("that", "the same") and unit == "week":
            add(m, "week_anaphor", None, None)
            continue
        if published is None or which in ("that", "the same"):
            continue
        if unit == "month":
            y, mo = published.year, published.month
            if which in ("last", "previous"):
                y, mo = (y - 1, 12) if mo == 1 else (y, mo - 1)
            lo, hi = _month_span(y, mo)
            add(m, "month", lo, min(hi, published) if hi else hi)
        elif unit == "year":
            y = published.year - (which in ("last", "previous"))
            add(m, "year", date(y, 1, 1), min(date(y, 12, 31), published))
        else:
            monday = published - timedelta(days=published.weekday())
            if which in ("last", "previous"):
                monday -= timedelta(days=7)
            add(m, "relative", monday, monday + timedelta(days=6))
    for a, b, txt, lo, hi in find_relative(sentence, published):
        if not _REPORTING.search(sentence[max(0, a - 25) : a]):
            found.append(DateExpr(a, b, "day" if lo == hi else "range", lo, hi, txt))
    # Keep the longest expression where they overlap ("March of this year" inside a
    # "since ... to March of this year" range).
    order = {"since": 0, "fiscal": 1, "range": 2, "day": 3, "month": 4, "year": 5}
    found.sort(key=lambda e: (-(e.end - e.start), order.get(e.kind, 9)))
    chosen: list[DateExpr] = []
    for e in found:
        if all(e.end <= c.start or e.start >= c.end for c in chosen):
            chosen.append(e)
    return sorted(chosen, key=lambda e: e.start)


def find_duration(sentence: str) -> int | None:
    m = _P_DURATION.search(sentence)
    if not m:
        return None
    if m.group(3):
        return 14 if m.group(3).lower().startswith("two") else 7
    tok = (m.group(1) or m.group(2)).lower()
    return int(tok) if tok.isdigit() else _WORD_NUM.get(tok)
