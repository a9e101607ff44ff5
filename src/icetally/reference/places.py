"""A small gazetteer: place names as press releases write them, resolved to AOR codes.

ICE news releases describe operations by field-office region ("97 across the Midwest",
"45 in south and central Texas") rather than by AOR code. This module maps those
phrases, US states, big cities, counties and field-office names to the AOR codes of the
canonical store, using the shipped reference tables (``aor_states``, ``counties``,
``aor_aliases``) wherever they can answer, and a short list of facts written here, each
with its reason, where they cannot.

Regions are the ones ICE field offices use for their own area in news releases:

==========================  ======  =================================================
phrase                      AOR     why
==========================  ======  =================================================
the Midwest                 CHI     the Chicago field office (IL, IN, WI, MO, KY, KS)
                                    calls its area "the Midwest"; in general usage the
                                    Midwest is wider (DET, SPM), so a plain-English
                                    "Midwest" in a non-ICE text may need editing
the Upper Midwest           SPM     St. Paul field office (MN, IA, NE, ND, SD)
New England                 BOS     Boston field office: MA, NH, ME, VT, RI, CT
New York City, Hudson       NYC     New York City field office: the five boroughs,
Valley, Long Island                 Hudson Valley counties, Nassau and Suffolk
upstate / western New York  BUF     Buffalo field office
north Texas                 DAL     Dallas field office: north Texas and Oklahoma
south Texas                 SNA,    San Antonio field office: "south and central
                            HLG     Texas"; Harlingen (HLG) was part of it in the
                                    FY2016-2019 releases (no HLG rows) and is its own
                                    AOR in later ones, so both are listed
central Texas               SNA     San Antonio field office
west Texas                  ELP     El Paso field office: west Texas and New Mexico
southeast Texas             HOU     Houston field office
Northern California         SFR     San Francisco field office (incl. Central Valley)
Southern California         LOS,    Los Angeles and San Diego field offices
                            SND
the Carolinas               ATL     Atlanta field office: GA, NC, SC
Pacific Northwest           SEA     Seattle field office: WA, OR, AK
South Florida               MIA     Miami field office
==========================  ======  =================================================

Cities are listed with their county FIPS; their AOR is read from the shipped
``counties`` table, so a city can never disagree with the county map.

>>> [(m.text, m.aors) for m in find_places("46 in Michigan and Ohio")]
[('Michigan', ('DET',)), ('Ohio', ('DET',))]
>>> resolve("south and central Texas").aors
('HLG', 'SNA')
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from icetally import reference

__all__ = ["Place", "PlaceMatch", "REGIONS", "CITIES", "find_places", "resolve", "national_scope"]


@dataclass(frozen=True)
class Place:
    name: str
    aors: tuple[str, ...]  # sorted AOR codes
    states: frozenset[str]  # postal codes the place lies in
    kind: str  # region | city | state | county | field_office
    fips: tuple[str, ...] = ()  # county FIPS, for counties (finer than an AOR)


@dataclass(frozen=True)
class PlaceMatch:
    text: str  # as written
    start: int
    end: int
    place: Place | None  # None: recognised as a place but not resolvable
    note: str = ""

    @property
    def aors(self) -> tuple[str, ...]:
        return self.place.aors if self.place else ()


# phrase (lower case) -> (AORs, states); see the module docstring for the reasons.
REGIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "midwest": (("CHI",), ("IL", "IN", "WI", "MO", "KY", "KS")),
    "upper midwest": (("SPM",), ("MN", "IA", "NE", "ND", "SD")),
    "new england": (("BOS",), ("MA", "NH", "ME", "VT", "RI", "CT")),
    "new york city": (("NYC",), ("NY",)),
    "nyc": (("NYC",), ("NY",)),
    "five boroughs": (("NYC",), ("NY",)),
    "hudson valley": (("NYC",), ("NY",)),
    "long island": (("NYC",), ("NY",)),
    "upstate new york": (("BUF",), ("NY",)),
    "western new york": (("BUF",), ("NY",)),
    "central new york": (("BUF",), ("NY",)),
    "north texas": (("DAL",), ("TX",)),
    "south texas": (("SNA", "HLG"), ("TX",)),
    "central texas": (("SNA",), ("TX",)),
    "west texas": (("ELP",), ("TX",)),
    "southeast texas": (("HOU",), ("TX",)),
    "rio grande valley": (("SNA", "HLG"), ("TX",)),
    "northern california": (("SFR",), ("CA",)),
    "central california": (("SFR",), ("CA",)),
    "central valley": (("SFR",), ("CA",)),
    "bay area": (("SFR",), ("CA",)),
    "southern california": (("LOS", "SND"), ("CA",)),
    "inland empire": (("LOS",), ("CA",)),
    "carolinas": (("ATL",), ("NC", "SC")),
    "pacific northwest": (("SEA",), ("WA", "OR", "AK")),
    "south florida": (("MIA",), ("FL",)),
}

# Directions a press release puts before a split state ("north Texas"); "northern",
# "southern" ... are folded onto these.
_DIRECTIONS = ("north", "south", "east", "west", "central", "southeast", "southwest",
               "northeast", "northwest", "upstate", "western")  # fmt: skip

# city -> (state, county FIPS of its core); AOR comes from the counties table.
# Names that are ambiguous between big cities (Portland, Springfield, Aurora) are left out.
CITIES: dict[str, tuple[str, str]] = {
    "New York City": ("NY", "36061"),
    "Los Angeles": ("CA", "06037"),
    "Chicago": ("IL", "17031"),
    "Houston": ("TX", "48201"),
    "Phoenix": ("AZ", "04013"),
    "Philadelphia": ("PA", "42101"),
    "San Antonio": ("TX", "48029"),
    "San Diego": ("CA", "06073"),
    "Dallas": ("TX", "48113"),
    "San Jose": ("CA", "06085"),
    "Austin": ("TX", "48453"),
    "Jacksonville": ("FL", "12031"),
    "Fort Worth": ("TX", "48439"),
    "Columbus": ("OH", "39049"),
    "Charlotte": ("NC", "37119"),
    "San Francisco": ("CA", "06075"),
    "Indianapolis": ("IN", "18097"),
    "Seattle": ("WA", "53033"),
    "Denver": ("CO", "08031"),
    "Boston": ("MA", "25025"),
    "El Paso": ("TX", "48141"),
    "Nashville": ("TN", "47037"),
    "Detroit": ("MI", "26163"),
    "Oklahoma City": ("OK", "40109"),
    "Las Vegas": ("NV", "32003"),
    "Memphis": ("TN", "47157"),
    "Louisville": ("KY", "21111"),
    "Baltimore": ("MD", "24510"),
    "Milwaukee": ("WI", "55079"),
    "Albuquerque": ("NM", "35001"),
    "Tucson": ("AZ", "04019"),
    "Fresno": ("CA", "06019"),
    "Sacramento": ("CA", "06067"),
    "Kansas City": ("MO", "29095"),
    "Atlanta": ("GA", "13121"),
    "Miami": ("FL", "12086"),
    "Raleigh": ("NC", "37183"),
    "Omaha": ("NE", "31055"),
    "Minneapolis": ("MN", "27053"),
    "St. Paul": ("MN", "27123"),
    "Saint Paul": ("MN", "27123"),
    "Tulsa": ("OK", "40143"),
    "Cleveland": ("OH", "39035"),
    "New Orleans": ("LA", "22071"),
    "Tampa": ("FL", "12057"),
    "Orlando": ("FL", "12095"),
    "Pittsburgh": ("PA", "42003"),
    "Cincinnati": ("OH", "39061"),
    "St. Louis": ("MO", "29510"),
    "Newark": ("NJ", "34013"),
    "Jersey City": ("NJ", "34017"),
    "Buffalo": ("NY", "36029"),
    "Salt Lake City": ("UT", "49035"),
    "Honolulu": ("HI", "15003"),
    "Anchorage": ("AK", "02020"),
    "Boise": ("ID", "16001"),
    "Hartford": ("CT", "09003"),
    "Providence": ("RI", "44007"),
    "Richmond": ("VA", "51760"),
    "Norfolk": ("VA", "51710"),
    "Birmingham": ("AL", "01073"),
    "Little Rock": ("AR", "05119"),
    "Des Moines": ("IA", "19153"),
    "Harlingen": ("TX", "48061"),
    "McAllen": ("TX", "48215"),
    "Laredo": ("TX", "48479"),
    "Santa Ana": ("CA", "06059"),
    "Riverside": ("CA", "06065"),
    "San Bernardino": ("CA", "06071"),
    "Oakland": ("CA", "06001"),
    "Yonkers": ("NY", "36119"),
    "Jackson, Mississippi": ("MS", "28049"),
}

# "Washington" alone is the state; the capital needs DC after it (handled by the state
# lookup, which knows "Washington, DC").
_DC = ("Washington, D.C.", "Washington, DC", "Washington DC", "Washington D.C.",
       "District of Columbia")  # fmt: skip


@cache
def _county_aor() -> dict[str, tuple[str, str]]:
    return {c.fips: (c.aor, c.state_abbr) for c in reference.counties()}


@cache
def _state_aors() -> dict[str, tuple[str, ...]]:
    out: dict[str, set[str]] = {}
    for s in reference.aor_states():
        out.setdefault(s.state_abbr, set()).add(s.aor)
    return {k: tuple(sorted(v)) for k, v in out.items()}


def state_place(abbr: str, name: str | None = None) -> Place | None:
    aors = _state_aors().get(abbr)
    if not aors:
        return None
    return Place(name or abbr, aors, frozenset({abbr}), "state")


def _fold_direction(key: str) -> str:
    """'northern california' -> 'north california', so either spelling finds a region."""
    first, _, rest = key.partition(" ")
    return f"{_direction(first)} {rest}" if rest else key


@cache
def _regions_folded() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    return {_fold_direction(k): v for k, v in REGIONS.items()}


def _region(key: str) -> Place | None:
    hit = REGIONS.get(key) or _regions_folded().get(_fold_direction(key))
    if hit is None:
        return None
    aors, states = hit
    return Place(key, tuple(sorted(aors)), frozenset(states), "region")


def _city(name: str) -> Place:
    state, fips = CITIES[name]
    aor, _ = _county_aor()[fips]
    return Place(name, (aor,), frozenset({state}), "city")


def _direction(word: str) -> str:
    w = word.lower()
    if w.endswith("ern") and w[:-3] in _DIRECTIONS:
        return w[:-3]
    return w


@cache
def _state_names() -> dict[str, str]:
    """Spelling in text -> postal code, for the 50 states, DC and territories."""
    out = {s.name: s.abbr for s in reference.states()}
    for v in _DC:
        out[v] = "DC"
    return out


@cache
def _name_pattern() -> re.Pattern[str]:
    names = set(_state_names()) | set(CITIES) | {k for k in REGIONS if " " in k or k.isalpha()}
    alts = sorted(names, key=len, reverse=True)
    body = "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in alts)
    return re.compile(rf"(?<![\w-])(?:the\s+)?({body})(?![\w-])", re.IGNORECASE)


_DIR_WORD = r"(?:north|south|east|west|central|southeast|southwest|northeast|northwest)(?:ern)?"


@cache
def _directional_pattern() -> re.Pattern[str]:
    states = sorted(_state_names(), key=len, reverse=True)
    body = "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in states)
    return re.compile(
        rf"\b({_DIR_WORD}(?:\s*(?:,|and|&|,\s*and)\s*{_DIR_WORD})*)\s+({body})\b", re.IGNORECASE
    )


_COUNTY = re.compile(r"\b((?:[A-Z][\w.'-]*\s+){1,3})(County|Parish|Borough)\b")
_FIELD_OFFICE = re.compile(
    r"\b((?:[A-Z][\w.'-]*\s+){1,3})(?:field\s+office|Area\s+of\s+Responsibility|AOR)\b"
)
_NATIONAL = re.compile(
    r"\b(?:nationwide|nationally|across\s+the\s+(?:United\s+States|U\.?S\.?|country|nation)"
    r"|(?:throughout|in|across)\s+the\s+(?:United\s+States|U\.S\.|US|country))\b",
    re.IGNORECASE,
)
_STATE_COUNT = re.compile(
    r"\b(?:across|in|throughout)\s+(\d+|two|three|four|five|six|seven|eight|nine|ten|eleven|"
    r"twelve|a\s+dozen|several|multiple)\s+(?:US\s+|U\.S\.\s+)?states\b",
    re.IGNORECASE,
)


def national_scope(text: str) -> bool:
    """True when the text speaks of the whole country ("across the United States")."""
    return bool(_NATIONAL.search(text))


def unnamed_states(text: str) -> str | None:
    """'across 12 states' -> '12 states' when states are counted but not named."""
    m = _STATE_COUNT.search(text)
    return f"{m.group(1)} states" if m else None


def _resolve_directional(dirs: str, state_text: str) -> tuple[Place | None, str]:
    abbr = _state_names().get(_title(state_text))
    if abbr is None:
        return None, ""
    parts = [_direction(p) for p in re.split(r"\s*(?:,\s*and|,|and|&)\s*", dirs) if p.strip()]
    aors: set[str] = set()
    missing = []
    for d in parts:
        reg = _region(f"{d} {_title(state_text).lower()}")
        if reg is None:
            missing.append(d)
        else:
            aors.update(reg.aors)
    note = ""
    whole = state_place(abbr)
    if missing or not aors:
        # "east Texas": no mapping written; use the whole state and say so.
        note = (
            f"'{' and '.join(missing)} {state_text}' has no AOR mapping in "
            f"icetally.reference.places; the whole state is used"
        )
        if whole:
            aors.update(whole.aors)
    name = f"{dirs} {state_text}"
    return Place(name, tuple(sorted(aors)), frozenset({abbr}), "region"), note


def _title(text: str) -> str:
    """Match table spellings: collapse whitespace and title-case ('new  york' -> 'New York')."""
    words = " ".join(text.split())
    for n in _state_names():
        if n.lower() == words.lower():
            return n
    for n in CITIES:
        if n.lower() == words.lower():
            return n
    return words


def _lookup_name(text: str) -> Place | None:
    key = " ".join(text.split())
    low = key.lower()
    reg = _region(low)
    if reg is not None:
        return reg
    title = _title(key)
    if title in CITIES:
        return _city(title)
    abbr = _state_names().get(title)
    if abbr:
        return state_place(abbr, title)
    return None


@cache
def _counties_by_name() -> dict[str, list[reference.County]]:
    """Lower-case county name -> the counties of that name (read-only)."""
    by_name: dict[str, list[reference.County]] = {}
    for c in reference.counties():
        by_name.setdefault(c.county_name.lower(), []).append(c)
    return by_name


def _county_matches(text: str, states_in_text: set[str]) -> list[PlaceMatch]:
    out = []
    by_name = _counties_by_name()
    for m in _COUNTY.finditer(text):
        words = m.group(1).split()
        # "the Hudson Valley and Westchester County": try the longest name first.
        for i in range(len(words)):
            name = " ".join([*words[i:], m.group(2)]).lower()
            hits = by_name.get(name)
            if not hits:
                continue
            if len(hits) > 1 and states_in_text:
                hits = [c for c in hits if c.state_abbr in states_in_text] or hits
            aors = tuple(sorted({c.aor for c in hits}))
            states = frozenset(c.state_abbr for c in hits)
            start = m.start(1) + len(" ".join(words[:i])) + (1 if i else 0)
            note = ""
            if len(aors) > 1:
                note = (
                    f"'{m.group(0).strip()}' names counties in several states "
                    f"({', '.join(sorted(states))}); all their AORs are used"
                )
            out.append(
                PlaceMatch(
                    text[start : m.end()],
                    start,
                    m.end(),
                    Place(name.title(), aors, states, "county", tuple(c.fips for c in hits)),
                    note,
                )
            )
            break
    return out


def _field_office_matches(text: str) -> list[PlaceMatch]:
    out = []
    for m in _FIELD_OFFICE.finditer(text):
        words = m.group(1).split()
        for i in range(len(words)):
            code = reference.aor_code(" ".join(words[i:]))
            if code:
                start = m.start(1) + len(" ".join(words[:i])) + (1 if i else 0)
                place = Place(code, (code,), frozenset(), "field_office")
                out.append(PlaceMatch(text[start : m.end()], start, m.end(), place))
                break
    return out


def find_places(text: str, context_states: Iterable[str] = ()) -> list[PlaceMatch]:
    """Places named in ``text``, in order, longest match first, resolved to AORs.

    A state that only locates a more specific place before it ("Long Island in New
    York") is dropped, so it does not widen the AOR list to the whole state. A county
    name found in several states ("Orange County") is narrowed to the states named in
    ``text`` or given as ``context_states`` (e.g. those of the surrounding sentence).
    """
    cands: list[PlaceMatch] = []
    cands += _field_office_matches(text)
    for m in _directional_pattern().finditer(text):
        place, note = _resolve_directional(m.group(1), m.group(2))
        if place is not None:
            cands.append(PlaceMatch(m.group(0), m.start(), m.end(), place, note))
    for m in _name_pattern().finditer(text):
        raw = m.group(1)
        place = _lookup_name(raw)
        if place is None:
            continue
        # Cities and states are proper nouns: "new jersey" in lower case is not one.
        if place.kind in ("city", "state") and not raw[0].isupper():
            continue
        cands.append(PlaceMatch(raw, m.start(1), m.end(1), place))
    states_in_text = {s for c in cands if c.place for s in c.place.states}
    cands += _county_matches(text, states_in_text | set(context_states))
    # Non-overlapping, longest first at each position.
    cands.sort(key=lambda c: (c.start, -(c.end - c.start)))
    chosen: list[PlaceMatch] = []
    for c in cands:
        if chosen and c.start < chosen[-1].end:
            continue
        chosen.append(c)
    specific = [c for c in chosen if c.place and c.place.kind not in ("state", "field_office")]
    kept = []
    for c in chosen:
        p = c.place
        if (
            p is not None
            and p.kind == "state"
            and len(p.aors) > 1
            and any(s.start < c.start and s.place and s.place.states <= p.states for s in specific)
        ):
            continue  # "... and Long Island in New York": New York only says where
        kept.append(c)
    return kept


def resolve(text: str) -> Place | None:
    """All places named in ``text`` combined into one ``Place`` (union of AORs), or None."""
    matches = [m for m in find_places(text) if m.place]
    if not matches:
        return None
    aors = sorted({a for m in matches for a in m.aors})
    states = frozenset(s for m in matches for s in m.place.states)  # type: ignore[union-attr]
    kinds = {m.place.kind for m in matches}  # type: ignore[union-attr]
    return Place(text.strip(), tuple(aors), states, kinds.pop() if len(kinds) == 1 else "mixed")
