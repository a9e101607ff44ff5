"""Constants of normalization, kept in one place so they can be audited."""

from __future__ import annotations

# Any value made only of FOIA exemption codes — b(6), (b)(7)(C), (B)(7)(E) , b(7)(e),
# (b)(6),(b)(7)c) ... — is withheld, not a value. RE2 syntax (DuckDB) and Python re.
REDACTION_PATTERN = (
    r"(?i)\s*(\(?\s*b\s*\)?\s*\(\s*\d+\s*\)\s*(\(\s*[a-z]\s*\)|[a-z]\s*\)?)?\s*\)?\s*[,;]?\s*)+"
)

# What counts as white space around a value: Unicode White_Space, as Arrow's
# utf8_trim_whitespace trims it (the cleaning rules were first written with it).
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

# Tokens that mean "no value" in released files (R's NA, blank cells, etc.).
NULL_TOKENS = ("", "NA", "N/A", "NULL", "NAN", "NONE", "#N/A")

# The quarantine reason of a count-table cell with no count (NA, blank): not reported,
# which is not zero; the day is left out of that area's coverage (docs/counts.md).
NOT_REPORTED = "count not reported (NA): not zero; the day is outside this area's coverage"

# Date and timestamp layouts seen in releases, tried in order.
DATE_FORMATS = (
    "%m/%d/%Y",
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%y",
    "%d-%b-%Y",
    "%d-%b-%y",
)

# Administrations by inauguration day (code, first day): a class of the vocabulary.
from icetally.vocabulary import ADMINISTRATION_STARTS as ADMINISTRATIONS  # noqa: E402, F401

# The plausible span of an event date (documented in docs/safety.md): ICE was formed in
# 2003 and no release holds enforcement events before 2000; an event dated after the
# day of ingest plus a year is a typo or a placeholder (9999-12-31). Rows outside it are
# kept, flagged 'event_date:out_of_range', and left out of daily series and surges.
EVENT_DATE_FIRST = "2000-01-01"
EVENT_DATE_AHEAD_DAYS = 366
OUT_OF_RANGE_FLAG = "event_date:out_of_range"
