"""Place resolution: facility names, cities, landmarks and agency names -> county FIPS
and AOR.

Released records name places in free text: ``"MONTGOMERY CNTY JAIL, PA"``, ``"HARRIS
COUNTY JAIL, HOUSTON, TX"``, ``"TULSA COUNTY JAIL-DAVID L. MOSS..."``, a detainer's
facility plus its city, a 287(g) agency's name. Counting by county needs a FIPS code, so
every name goes through the same ordered rules, and each answer says which rule gave it
(``method``) so a reader can judge it:

1. ``facility``: the name is a known detention facility (shipped ``facility_counties.csv``,
   derived from ICE's facility list plus a few documented facts) in the state;
2. ``county_name``: the text names a county ("X COUNTY", "X CNTY", "X CO", "X PARISH")
   that exists in the state (or, with no state, uniquely among the AOR's states);
3. ``city``: the city (given, or parsed from "..., CITY, ST") is a US place in the
   state; the shipped ``place_counties.csv`` gazetteer (derived from the ``zipcodes``
   package's embedded USPS data) says which county holds most of its ZIP codes;
4. ``place_prefix``: the name starts with a place of the state ("HOUSTON ERO ...");
5. ``unresolved``: nothing matched; callers report these names with their counts.

Only the standard library and the shipped tables are used, so this works from an
installed wheel without ``../shared``.
"""

from __future__ import annotations

import csv
import difflib
import re
from collections import defaultdict
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

from icetally import reference
from icetally.reference.keys import county_key, facility_key, fold, place_key

__all__ = [
    "Place",
    "Resolver",
    "resolver",
    "place_key",
    "county_key",
    "facility_key",
]

METHODS = ("facility", "county_name", "city", "place_prefix", "state", "unresolved")


@dataclass(frozen=True, slots=True)
class Place:
    """Where a name resolved to; ``county_fips`` is None when only a state (or nothing)
    was found."""

    county_fips: str | None
    state_abbr: str | None
    aor: str | None
    method: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rows(name: str) -> list[dict[str, str]]:
    with reference.data_path(name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# "X COUNTY", "X CNTY", "X CO.", "X CO" (before JAIL/SHERIFF/punctuation/end), "X PARISH"
_COUNTY_MENTION = re.compile(
    r"((?:[A-Z][A-Z.'\-]*\s+){0,3}?[A-Z][A-Z.'\-]*)\s+"
    r"(?:COUNTY|CNTY|CTY|PARISH|BOROUGH|CO\b\.?(?=\s*(?:$|[,\-/(]|JAIL|SHERIFF|DET|CORR|PRISON|"
    r"HOUSE|ADULT|JUV|SO\b|S\.O\.|PD\b|DEPT|DETENTION|CORRECTIONAL|JUSTICE|COURT|PROBATION)))"
)
_NOISE_WORDS = {
    "THE", "OF", "AND", "CAP", "ICE", "ERO", "USBOP", "BOP", "FCI", "SCI", "USP", "DEPT",
    "DEPARTMENT", "SHERIFFS", "SHERIFF", "OFFICE", "JAIL", "IN", "AT",
}  # fmt: skip


class Resolver:
    """Resolve names to places. Build once (``resolver()``) and reuse: lookups are
    dictionary hits."""

    def __init__(self) -> None:
        counties = reference.counties()
        self.counties = {c.fips: c for c in counties}
        self.by_state: dict[str, dict[str, str]] = defaultdict(dict)
        for c in sorted(counties, key=lambda c: c.fips):
            key = county_key(c.county_name)
            self.by_state[c.state_abbr].setdefault(key, c.fips)
        self.aor_states: dict[str, set[str]] = defaultdict(set)
        for a in reference.aor_states():
            self.aor_states[a.aor].add(a.state_abbr)
        self.facilities: dict[tuple[str, str], tuple[str, str]] = {}
        for r in _rows("facility_counties.csv"):
            self.facilities[(r["state_abbr"], r["name_key"])] = (r["county_fips"], r["aor"])
        self.places: dict[tuple[str, str], tuple[str, float]] = {}
        for r in _rows("place_counties.csv"):
            self.places.setdefault(
                (r["state_abbr"], r["place_key"]), (r["county_fips"], float(r["share"]))
            )
        self._cache: dict[tuple[Any, ...], Place] = {}

    # --- pieces -------------------------------------------------------------------------

    def county_in_state(self, name: str | None, state: str | None) -> str | None:
        """County FIPS for a county name in a state ('Montgomery', 'MC KEAN', 'Baldwin
        Couny'); a close spelling is accepted when it is the only close one."""
        if not name or not state:
            return None
        table = self.by_state.get(state)
        if not table:
            return None
        key = county_key(name)
        if not key:
            return None
        fips = table.get(key) or table.get(key + "CITY")
        if fips:
            return fips
        # typos in hand-kept lists ("Baldwin Couny"): one close match only
        close = difflib.get_close_matches(key, list(table), n=2, cutoff=0.88)
        if len(close) == 1:
            return table[close[0]]
        return None

    def _place(self, city: str | None, states: list[str]) -> tuple[str, str] | None:
        key = place_key(city)
        if not key:
            return None
        hits = {self.places[(s, key)][0] for s in states if (s, key) in self.places}
        if len(hits) == 1:
            fips = hits.pop()
            return fips, self.counties[fips].state_abbr if fips in self.counties else ""
        return None

    def _county_mention(self, text: str, states: list[str]) -> str | None:
        for m in _COUNTY_MENTION.finditer(text):
            words = [w for w in re.split(r"\s+", m.group(1).strip()) if w]
            # longest run first: "SAN BERNARDINO" before "BERNARDINO"
            for k in range(len(words), 0, -1):
                cand = words[-k:]
                if cand[0] in _NOISE_WORDS:
                    continue
                name = " ".join(cand)
                hits = {f for s in states if (f := self._exact_county(name, s))}
                if len(hits) == 1:
                    return hits.pop()
        return None

    def _exact_county(self, name: str, state: str) -> str | None:
        table = self.by_state.get(state) or {}
        key = county_key(name)
        return table.get(key) if key else None

    # --- the rules ----------------------------------------------------------------------

    def resolve(
        self,
        name: str | None = None,
        *,
        city: str | None = None,
        state: str | None = None,
        aor: str | None = None,
        county: str | None = None,
    ) -> Place:
        """Resolve a facility / landmark / agency ``name`` (with its ``city``, ``state``,
        ``aor`` and released ``county`` when known) to a county."""
        ck = (name, city, state, aor, county)
        hit = self._cache.get(ck)
        if hit is None:
            hit = self._resolve(name, city, state, aor, county)
            self._cache[ck] = hit
        return hit

    def _result(self, fips: str, method: str, detail: str) -> Place:
        c = self.counties.get(fips)
        return Place(fips, c.state_abbr if c else None, c.aor if c else None, method, detail)

    def _resolve(
        self,
        name: str | None,
        city: str | None,
        state: str | None,
        aor: str | None,
        county: str | None,
    ) -> Place:
        text = " ".join(fold(name).split()) if name else ""
        st = reference.state_abbr(state) if state else None
        parts = [p.strip() for p in text.split(",")] if text else []
        parsed_city = None
        if not st and len(parts) > 1:
            tail = parts[-1].split()
            st = reference.state_abbr(parts[-1]) or (
                reference.state_abbr(tail[0]) if tail else None
            )  # "HIDALGO COUNTY JAIL, EDINBURG, TXN - TX1080000" style tails
            if not st and tail:
                st = reference.state_abbr(tail[0][:2]) if len(tail[0]) <= 3 else None
        if st and len(parts) > 2:
            parsed_city = parts[-2]
        elif st and len(parts) == 2 and not reference.state_abbr(parts[0]):
            parsed_city = parts[0]  # "ATLANTA, GA"
        aor_code = reference.aor_code(aor) if aor else None
        states = [st] if st else sorted(self.aor_states.get(aor_code or "", set()))

        if county and st:
            fips = self.county_in_state(county, st)
            if fips:
                return self._result(fips, "county_name", f"released county {county!r}")
        if text:
            fkey = facility_key(text)
            for s in states:
                hit = self.facilities.get((s, fkey))
                if hit:
                    return self._result(hit[0], "facility", f"facility {fkey}")
            fips = self._county_mention(text, states)
            if fips:
                return self._result(fips, "county_name", "county named in text")
        for c, how in ((city, "city"), (parsed_city, "city in text")):
            if c:
                hit = self._place(c, states)
                if hit:
                    return self._result(hit[0], "city", f"{how} {c!r}")
        if text and states:
            words = re.sub(r"[^A-Z0-9 ]+", " ", text).split()
            for k in (3, 2, 1):
                if len(words) >= k and words[0] not in _NOISE_WORDS:
                    hit = self._place(" ".join(words[:k]), states)
                    if hit:
                        return self._result(
                            hit[0], "place_prefix", f"place {' '.join(words[:k])!r}"
                        )
        if st:
            return Place(None, st, None, "state", "state only")
        return Place(None, None, aor_code, "unresolved", "")


@cache
def resolver() -> Resolver:
    """The shared resolver (tables are read once per process)."""
    return Resolver()
