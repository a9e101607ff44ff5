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
the Rio Grande Valley       HLG     Harlingen field office (Cameron, Hidalgo, Starr,
                                    Willacy ...: ice-areas-of-responsibility.csv)
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
    "rio grande valley": (("HLG",), ("TX",)),
    "rgv": (("HLG",), ("TX",)),
    "coastal bend": (("HLG",), ("TX",)),
    "east texas": (("HOU", "DAL"), ("TX",)),
    "houston area": (("HOU",), ("TX",)),
    "san fernando valley": (("LOS",), ("CA",)),
    "orange county, california": (("LOS",), ("CA",)),
    "northern virginia": (("WAS",), ("VA",)),
    "washington metropolitan area": (("WAS", "BAL"), ("DC", "VA", "MD")),
    "twin cities": (("SPM",), ("MN",)),
    "martha's vineyard": (("BOS",), ("MA",)),
    "cape cod": (("BOS",), ("MA",)),
    "florida panhandle": (("MIA",), ("FL",)),
    "central florida": (("MIA",), ("FL",)),
    "north florida": (("MIA",), ("FL",)),
    "southern nevada": (("SLC",), ("NV",)),
    "northern nevada": (("SLC",), ("NV",)),
    "eastern washington": (("SEA",), ("WA",)),
    "western washington": (("SEA",), ("WA",)),
    "puget sound": (("SEA",), ("WA",)),
    "silicon valley": (("SFR",), ("CA",)),
    "gulf coast": (("NOL", "HOU"), ("LA", "MS", "AL", "TX")),
    "new york metropolitan area": (("NYC", "NEW"), ("NY", "NJ")),
    "long island, new york": (("NYC",), ("NY",)),
    # ERO's San Juan office is part of the Miami field office; Puerto Rico's municipios
    # are not in the shipped county table, so the city is named here
    "san juan": (("MIA",), ("PR",)),
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
    """County FIPS -> (AOR, state). Press releases name today's field offices, so the
    counties whose office changed (``county_field_offices.csv``: the Rio Grande Valley
    counties now in Harlingen) take their current office."""
    out = {c.fips: (c.aor, c.state_abbr) for c in reference.counties()}
    for r in _csv_rows("county_field_offices.csv"):
        if r["county_fips"] in out:
            out[r["county_fips"]] = (r["aor"], out[r["county_fips"]][1])
    return out


def _csv_rows(name: str) -> list[dict[str, str]]:
    import csv

    with reference.data_path(name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@dataclass(frozen=True)
class _Town:
    state: str
    name: str
    population: int
    fips: str


@cache
def _gazetteer() -> dict[str, list[_Town]]:
    """place key -> the US cities and towns of that name (``us_places.csv``: GeoNames
    places of 500 people or more, with their county), largest first."""
    out: dict[str, list[_Town]] = {}
    for r in _csv_rows("us_places.csv"):
        out.setdefault(r["place_key"], []).append(
            _Town(r["state_abbr"], r["name"], int(r["population"]), r["county_fips"])
        )
    for towns in out.values():
        towns.sort(key=lambda t: -t.population)
    return out


@cache
def _postal_places() -> dict[tuple[str, str], str]:
    """(state, place key) -> county FIPS for every postal place (``place_counties.csv``,
    from USPS ZIP data): small towns the GeoNames list leaves out, when a state is given."""
    return {(r["state_abbr"], r["place_key"]): r["county_fips"] for r in _csv_rows(
        "place_counties.csv")}  # fmt: skip


# A bare town name is read as its largest namesake only when that one is this many times
# larger than the next ("Lowell" is Lowell, MA; "Huntsville" could be AL or TX).
DOMINANT_RATIO = 8


def town_place(name: str, states: Iterable[str] = ()) -> tuple[Place | None, str]:
    """A US city or town by name, in ``states`` when given: (place, note). ``place`` is
    None with a "place not resolved" note when the name is ambiguous."""
    from icetally.reference.keys import place_key

    key = place_key(name)
    if not key:
        return None, ""
    states = set(states)
    towns = _gazetteer().get(key, [])
    aor_of = _county_aor()
    chosen: _Town | None = None
    note = ""
    if states:
        inside = [t for t in towns if t.state in states]
        if inside:
            chosen = inside[0]
        else:
            for st in sorted(states):
                fips = _postal_places().get((st, key))
                if fips and fips in aor_of:
                    chosen = _Town(st, name, 0, fips)
                    break
    if chosen is None and states:
        return None, ""  # no place of that name in the states the text names
    if chosen is None and towns:
        top = towns[0]
        nxt = towns[1] if len(towns) > 1 else None
        same_aor = len({aor_of.get(t.fips, ("?",))[0] for t in towns}) == 1
        if nxt is None or same_aor or top.population >= DOMINANT_RATIO * max(1, nxt.population):
            chosen = top
            if nxt is not None:
                note = (
                    f"'{name}' is read as {top.name}, {top.state} (the largest of "
                    f"{len(towns)} US places of that name)"
                )
    if chosen is None:
        if not towns:
            return None, ""
        where = ", ".join(sorted({t.state for t in towns})[:6])
        return None, f"place not resolved: '{name}' (US places of that name in {where})"
    if chosen.fips not in aor_of:
        return None, ""
    aor, st = aor_of[chosen.fips]
    return Place(chosen.name, (aor,), frozenset({st}), "city", (chosen.fips,)), note


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
    return _spellings().get(words.lower(), words)


@cache
def _spellings() -> dict[str, str]:
    """Lower-case name -> its spelling in the tables (cities after states: a state wins)."""
    out = {n.lower(): n for n in CITIES}
    out.update({n.lower(): n for n in _state_names()})
    return out


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
            start = m.start(1) + len(" ".join(words[:i])) + (1 if i else 0)
            note = ""
            if len(hits) > 1:
                # "Harris County" is Texas's (4.7 million people, Georgia's 35,000);
                # "Orange County" could be California's or Florida's: not resolved
                by_pop = sorted(hits, key=lambda c: -(c.population or 0))
                top, nxt = by_pop[0], by_pop[1]
                if (top.population or 0) >= DOMINANT_RATIO * max(1, nxt.population or 0):
                    hits = [top]
                    note = (
                        f"'{text[start : m.end()]}' is read as {top.county_name}, "
                        f"{top.state_abbr} (the largest of {len(by_pop)} counties of that name)"
                    )
            aor_of = _county_aor()
            aors = tuple(sorted({aor_of.get(c.fips, (c.aor,))[0] for c in hits}))
            states = frozenset(c.state_abbr for c in hits)
            if len(aors) > 1 and len(states) > 1:
                note = (
                    f"place not resolved: '{text[start : m.end()]}' (counties of that name "
                    f"in {', '.join(sorted(states))}; name the state)"
                )
                out.append(PlaceMatch(text[start : m.end()], start, m.end(), None, note))
                break
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


# "Texas Department of Public Safety", "Wyoming Valley Pallets": a state or city name
# that only starts a longer proper name is not a place.
_NAME_GOES_ON = re.compile(
    r"^\s+(?!County\b|Parish\b|Borough\b|Area\b|Region\b|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|"
    r"Sep|Oct|Nov|Dec|Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\b)[A-Z][a-z]"
)


def _part_of_a_name(text: str, c: PlaceMatch) -> bool:
    if c.place is None or c.place.kind not in ("state", "city"):
        return False
    if not _NAME_GOES_ON.match(text[c.end : c.end + 20]):
        return False
    run = _CAP_RUN.match(text, c.start)
    return not (run and town_place(run.group(0))[0] is not None)


_CAP_WORD = r"(?:[A-Z][\w.'\u2019-]*|Mc[A-Z]\w*)"
_CAP_RUN = re.compile(rf"{_CAP_WORD}(?:\s+(?:de\s+|del\s+|la\s+)?{_CAP_WORD}){{0,3}}")
_AGENCY_OFFICE = re.compile(
    r"\b(?:ICE|ERO|HSI)(?:\s+(?:ERO|HSI|Homeland\s+Security\s+Investigations))?\s+"
    rf"({_CAP_WORD}(?:\s+{_CAP_WORD}){{0,3}})"
)
_NOT_OFFICE = {"ICE", "ERO", "HSI", "DHS", "CBP", "FBI", "DEA", "ATF", "USMS", "U.S.", "US",
               "Director", "Acting", "Secretary", "Deputy", "Special", "Agent", "Agents",
               "Officers", "Officer", "Enforcement", "Homeland"}  # fmt: skip


def _office_or_place(words: list[str]) -> Place | None:
    name = " ".join(words).rstrip(".,")
    code = reference.aor_code(name)
    if code:
        return Place(name, (code,), frozenset(), "field_office")
    hit = _lookup_name(name)
    if hit is not None:
        return hit
    town, _ = town_place(name)
    return town


def _agency_office_matches(text: str) -> list[PlaceMatch]:
    """'ICE Houston', 'ERO Boston', 'HSI Tucson', 'ICE Rio Grande Valley': the field
    office (or the place whose office it is) named after the agency."""
    out = []
    for m in _AGENCY_OFFICE.finditer(text):
        words = m.group(1).split()
        if words[0] in _NOT_OFFICE:
            continue
        for n in range(len(words), 0, -1):
            place = _office_or_place(words[:n])
            if place is not None:
                end = m.start(1) + len(" ".join(words[:n]))
                out.append(PlaceMatch(text[m.start() : end], m.start(), end, place))
                break
    return out


@cache
def _state_suffix_pattern() -> re.Pattern[str]:
    names = sorted(set(_state_names()), key=len, reverse=True)
    body = "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in names)
    abbr = "|".join(sorted({v for v in _state_names().values()}))
    return re.compile(rf",\s*(?:the\s+state\s+of\s+)?({body}|(?:{abbr})\b)(?![\w-])")


_LIST_BEFORE = re.compile(
    rf"({_CAP_WORD}(?:\s+{_CAP_WORD}){{0,3}})(?:\s*(?:,\s*and|,|and|&|or)\s+)?$"
)


def _town_list_matches(text: str) -> list[PlaceMatch]:
    """'Lynn, Massachusetts', 'Conroe and Cleveland, Texas', 'Albuquerque, Santa Fe and
    Roswell, New Mexico', 'Houston, TX': each town resolved in the state after it."""
    out = []
    names = _state_names()
    for m in _state_suffix_pattern().finditer(text):
        st_text = " ".join(m.group(1).split())
        abbr = names.get(_title(st_text)) or (st_text if st_text in names.values() else None)
        if abbr is None:
            continue
        pos = m.start()
        found: list[PlaceMatch] = []
        for _ in range(6):  # at most six towns in one list
            window = text[max(0, pos - 60) : pos]
            lm = _LIST_BEFORE.search(window)
            if not lm:
                break
            a = pos - len(window) + lm.start(1)
            b = pos - len(window) + lm.end(1)
            name = text[a:b]
            if names.get(_title(name)):
                break  # "Mobile, Alabama, and Jackson, Mississippi": a state ends the list
            place, note = town_place(name, {abbr})
            if place is None:
                region = _lookup_name(name)
                if region is None or region.kind == "state":
                    break
                place = region
            found.append(PlaceMatch(name, a, b, place, note))
            pos = a
            gap = text[max(0, a - 8) : a]
            if not re.search(r"(?:,|\band|&|\bor)\s*$", gap):
                break
            pos = a - len(re.search(r"\s*(?:,\s*and|,|and|&|or)\s*$", gap).group(0))  # type: ignore[union-attr]
        out.extend(reversed(found))
    return out


_PREP_RUN = re.compile(
    r"\b(?:in|near|around|outside|throughout|across|on|during|of|at)\s+(?:the\s+)?"
    rf"({_CAP_WORD}(?:\s+{_CAP_WORD}){{0,3}})"
)
_LIST_NEXT = re.compile(rf"^(?:\s*,\s*(?:and\s+)?|\s+and\s+|\s*&\s*)({_CAP_RUN.pattern})")
_NOT_TOWNS = {"ICE", "U.S.", "US", "America", "United States", "Operation", "Mexico",
              "Congress", "Washington"}  # fmt: skip
_WEAK_PREPS = ("of", "at", "during", "on")


def _preposition_town_matches(
    text: str, states_in_text: set[str], context: set[str]
) -> list[PlaceMatch]:
    """Towns named after a preposition ("in Lowell", "near Conroe", "in Houston and
    Mesquite", "on Nantucket"). The whole capitalised run must be the place: "at Glenn
    Valley Foods" is a business. A name several US places share is resolved in the
    states the text names; otherwise it is reported as not resolved."""
    out = []
    for m in _PREP_RUN.finditer(text):
        weak = m.group(0).split()[0].lower() in _WEAK_PREPS
        runs = [(m.start(1), m.end(1))]
        pos = m.end(1)
        while len(runs) < 6:
            nm = _LIST_NEXT.match(text[pos : pos + 80])
            if not nm:
                break
            runs.append((pos + nm.start(1), pos + nm.end(1)))
            pos += nm.end(1)
        if any(re.search(r"\s(?:County|Counties|Parish)$", text[a:b]) for a, b in runs):
            continue  # "in Bay, Leon County": a list of counties, read by the county matcher
        for a, b in runs:
            name = text[a:b].rstrip(".")
            b = a + len(name)
            if name in _NOT_TOWNS or name.split()[0] in _NOT_TOWNS:
                continue
            if reference.country(name) or _lookup_name(name) is not None:
                continue  # a country, or a state / region / big city found elsewhere
            if re.match(r"^(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|Mon|Tue|Wed|"
                        r"Thu|Fri|Sat|Sun)", name):  # fmt: skip
                continue
            place, note = town_place(name, states_in_text or context)
            if place is None and (states_in_text or context):
                place, note = town_place(name)
            if place is None and weak:
                continue  # "of Smith", "at Acme": say nothing
            if place is None and not note:
                continue  # not a known place name: a business, a person, a building
            out.append(PlaceMatch(name, a, b, place, note))
    return out


def bare_town_matches(text: str, states: Iterable[str] = ()) -> list[PlaceMatch]:
    """Capitalised names read as towns with no preposition before them: the cells of a
    pasted table or the entries of a bulleted list ("Aurora | 11")."""
    out = []
    for m in _CAP_RUN.finditer(text):
        name = m.group(0).rstrip(".")
        if _lookup_name(name) is not None or reference.country(name):
            continue
        place, note = town_place(name, states)
        if place is not None or note:
            out.append(PlaceMatch(name, m.start(), m.start() + len(name), place, note))
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
    cands = [c for c in cands if not _part_of_a_name(text, c)]
    states_in_text = {s for c in cands if c.place for s in c.place.states}
    # a town with its state written after it, or an office after ICE/ERO/HSI, is the
    # surest reading: it goes first among candidates at the same position
    cands = _agency_office_matches(text) + _town_list_matches(text) + cands
    cands += _county_matches(text, states_in_text | set(context_states))
    cands += _preposition_town_matches(text, states_in_text, set(context_states))
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
        if (
            p is not None
            and p.kind == "region"
            and len(p.aors) > 1
            and any(
                s.place
                and s.place.kind in ("city", "county")
                and s.place.states <= p.states
                and set(s.place.aors) <= set(p.aors)
                for s in specific
            )
        ):
            continue  # "South Texas ... in Harlingen": the town says which office
        if (
            p is not None
            and p.kind == "region"
            and any(
                q is not c
                and q.place
                and q.place.aors
                and set(q.place.aors) < set(p.aors)
                and (q.place.kind == "field_office" or q.place.states <= p.states)
                for q in chosen
            )
        ):
            continue  # "South Texas ... ICE Rio Grande Valley": the narrower one says
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
