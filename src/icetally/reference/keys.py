"""Keys for matching place names: one definition each, used by normalization (county
FIPS of released county names), place resolution (facilities, cities, counties) and
the scripts that build the shipped gazetteer.

Spacing, punctuation and accents in released names are unreliable ("DeKalb" and
"De Kalb", "Wilkes-Barre" and "WILKESBARRE", "Doña Ana"), so a key keeps only letters
and digits after folding accents and unifying the common abbreviations.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["county_key", "facility_key", "fold", "place_key"]


def fold(text: str) -> str:
    """Upper case with accents removed ('Doña Ana' -> 'DONA ANA')."""
    return "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    ).upper()


_ABBREV = (
    (r"\bSAINTE?\b", "ST"),
    (r"\bSTE\b", "ST"),
    (r"\bMOUNT\b", "MT"),
    (r"\bFORT\b", "FT"),
    (r"\bPOINT\b", "PT"),
    (r"&", " AND "),
)


def place_key(text: str | None) -> str:
    """'Wilkes-Barre' and 'WILKESBARRE' -> 'WILKESBARRE'; 'Saint Paul' -> 'STPAUL'."""
    if not text:
        return ""
    s = fold(str(text))
    for pat, rep in _ABBREV:
        s = re.sub(pat, rep, s)
    return re.sub(r"[^A-Z0-9]+", "", s)


_COUNTY_WORDS = re.compile(
    r"\b(CITY AND BOROUGH OF|CITY AND BOROUGH|MUNICIPALITY OF|COUNTY|PARISH|BOROUGH|"
    r"CENSUS AREA|MUNICIPALITY|CNTY|CTY)\b"
)


def county_key(text: str | None) -> str:
    """'St. Lucie County' -> 'STLUCIE'; 'DeKalb' and 'De Kalb' -> 'DEKALB';
    'Baltimore city' -> 'BALTIMORECITY' (a city keeps its word: it is another county)."""
    if not text:
        return ""
    s = _COUNTY_WORDS.sub(" ", fold(str(text)))
    return place_key(s)


_STATE_SUFFIX = re.compile(r"\(([A-Z .]+)\)$")


def facility_key(text: str | None) -> str:
    """Facility name key: like place_key, and a trailing '(PENNSYLVANIA)' or ', PA' is
    dropped (ICE appends the state to disambiguate same-named jails)."""
    from icetally.reference import state_abbr

    if not text:
        return ""
    s = " ".join(fold(str(text)).split())
    m = _STATE_SUFFIX.search(s)
    if m and state_abbr(m.group(1)):
        s = s[: m.start()]
    parts = [p.strip() for p in s.split(",")]
    if len(parts) > 1 and state_abbr(parts[-1]):
        s = ",".join(parts[:-1])
    s = re.sub(r"\bCNTY\b|\bCO\b\.?", "COUNTY", s)
    return place_key(s)
