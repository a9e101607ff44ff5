"""Dates a release gives relative to its own date: weekdays ("concluded Tuesday",
"since Monday", "Monday through Thursday"), "over the weekend", "this week",
"yesterday". They resolve against the dateline or ``--published``; without one they
are found but left undated, so the claim says it needs a date.

A weekday is the latest such day on or before the publication date (a release dated
Thursday that says "ended Tuesday" means two days earlier); "last Tuesday" is the latest
strictly before it. "Over the weekend" is the Saturday and Sunday before the
publication date.

>>> from datetime import date
>>> [(t, a.isoformat(), b.isoformat()) for _, _, t, a, b in
...  find_relative("the operation, which concluded Tuesday", date(2025, 3, 13))]
[('Tuesday', '2025-03-11', '2025-03-11')]
"""

from __future__ import annotations

import re
from datetime import date, timedelta

__all__ = ["WEEKDAYS", "find_relative", "weekday_on_or_before"]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WD = r"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day"
_RANGE = re.compile(
    rf"\b(?:(?i:from|between)\s+)?({_WD})\s*(?:to|through|thru|until|-|and)\s*({_WD})\b"
)
_SINCE = re.compile(rf"\b(?i:since)\s+((?i:last)\s+)?({_WD})\b")
_DAY = re.compile(
    rf"\b((?i:last)\s+|(?i:this)\s+(?:past\s+)?|(?i:on)\s+)?({_WD})\b(?!\s*,?\s*[A-Z][a-z]{{2}})"
)
_WEEKEND = re.compile(
    r"\b(?:over|during|on|throughout)\s+the\s+(?:past\s+|last\s+)?weekend\b|\blast\s+weekend\b|"
    r"\bthis\s+(?:past\s+)?weekend\b",
    re.IGNORECASE,
)
_THIS_WEEK = re.compile(r"\b(?:earlier\s+)?this\s+week\b|\bthe\s+past\s+week\b", re.IGNORECASE)
_YESTERDAY = re.compile(r"\byesterday\b|\btoday\b", re.IGNORECASE)


def _wd(token: str) -> int:
    return WEEKDAYS.index(next(w for w in WEEKDAYS if w.startswith(token.lower()[:3])))


def weekday_on_or_before(day: date, weekday: int, strictly: bool = False) -> date:
    back = (day.weekday() - weekday) % 7
    if strictly and back == 0:
        back = 7
    return day - timedelta(days=back)


Found = tuple[int, int, str, date | None, date | None]


def find_relative(sentence: str, published: date | None) -> list[Found]:
    """(start, end, text, from, to) of each relative date; from/to are None without a
    publication date."""
    out: list[Found] = []
    taken: list[tuple[int, int]] = []

    def add(a: int, b: int, lo: date | None, hi: date | None) -> None:
        if any(a < y and x < b for x, y in taken):
            return
        taken.append((a, b))
        out.append((a, b, sentence[a:b], lo if published else None, hi if published else None))

    pub = published or date(2000, 1, 1)  # placeholder: dates are dropped without it
    for m in _RANGE.finditer(sentence):
        hi = weekday_on_or_before(pub, _wd(m.group(2)))
        lo = hi - timedelta(days=(_wd(m.group(2)) - _wd(m.group(1))) % 7)
        add(m.start(), m.end(), lo, hi)
    for m in _SINCE.finditer(sentence):
        lo = weekday_on_or_before(pub, _wd(m.group(2)), strictly=bool(m.group(1)))
        add(m.start(), m.end(), lo, pub)
    for m in _WEEKEND.finditer(sentence):
        sun = weekday_on_or_before(pub - timedelta(days=1), 6)
        add(m.start(), m.end(), sun - timedelta(days=1), sun)
    for m in _THIS_WEEK.finditer(sentence):
        monday = pub - timedelta(days=pub.weekday())
        if m.group(0).lower().startswith("the past"):
            monday = pub - timedelta(days=6)
        add(m.start(), m.end(), monday, pub)
    for m in _YESTERDAY.finditer(sentence):
        d = pub - timedelta(days=1 if m.group(0).lower() == "yesterday" else 0)
        add(m.start(), m.end(), d, d)
    for m in _DAY.finditer(sentence):
        lead = (m.group(1) or "").lower()
        d = weekday_on_or_before(pub, _wd(m.group(2)), strictly=lead.startswith("last"))
        a = m.start(2) if lead.startswith("on") else m.start()
        add(a, m.end(), d, d)
    return sorted(out)
