"""Cross-checks of the shipped reference tables against the real files in ../shared/data.

The loader itself needs no ../shared; these tests do, and skip with a reason without it.
"""

from __future__ import annotations

import csv
import filecmp
import gzip
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from icetally import reference as ref

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SCRIPT = REPO / "scripts" / "build_reference.py"
DATA_DIR = REPO / "src" / "icetally" / "reference" / "data"
TABLES = (
    "aors.csv",
    "aor_aliases.csv",
    "states.csv",
    "counties.csv",
    "aor_states.csv",
    "countries.csv",
    "methods.csv",
    "criminality.csv",
    "immigration_offenses.csv",
)
# Real citizenship values that are deliberately not a country.
NON_COUNTRIES = {"UNKNOWN", "NA", "OTHER", ""}

needs_shared = pytest.mark.skipif(
    not (SHARED / "reference").is_dir(),
    reason=f"real data not found at {SHARED} (the ../shared/data folder beside the repo)",
)


def _csv(path: Path, **kw: object) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, **kw))  # type: ignore[arg-type]


def _national_rows() -> Iterator[dict[str, str]]:
    for path in sorted((SHARED / "ice-national-fy2016-2019").glob("*.csv.gz")):
        with gzip.open(path, "rt", newline="", encoding="utf-8") as fh:
            for _ in range(5):  # agency, FOUO banner, FOIA number, blank, title
                fh.readline()
            yield from csv.DictReader(fh, delimiter="|")


def _xlsx_columns(wanted: set[str]) -> dict[str, set[str]]:
    """Distinct values of the wanted header names across the Seattle workbooks."""
    openpyxl = pytest.importorskip("openpyxl")
    out: dict[str, set[str]] = {w: set() for w in wanted}
    for path in sorted((SHARED / "ice-seattle-xlsx").glob("*.xlsx")):
        wb = openpyxl.load_workbook(path, read_only=True)
        for ws in wb.worksheets:
            ws.reset_dimensions()  # one real workbook has malformed dimension records
            cols: dict[int, str] | None = None
            for row in ws.iter_rows(values_only=True):
                if cols is None:
                    found = {i: str(c) for i, c in enumerate(row or ()) if str(c) in wanted}
                    cols = found or None
                    continue
                for i, name in cols.items():
                    if i < len(row) and row[i] is not None:
                        out[name].add(str(row[i]))
        wb.close()
    return out


def _ddp_rows() -> Iterator[dict[str, str]]:
    for path in sorted((SHARED / "ddp-format-samples").glob("*.csv")):
        yield from _csv(path)


# --- tables on their own (no ../shared needed) ------------------------------------------


def test_aor_codes_and_table() -> None:
    assert len(ref.AOR_CODES) == 26
    assert [a.code for a in ref.aors()] == sorted(ref.AOR_CODES)
    for code in ref.AOR_CODES:
        assert ref.aor_code(code) == code
        assert ref.aor_code(f"{ref.aor_name(code)} Area of Responsibility") == code
    assert ref.aor_code("St. Paul Area of Responsibility") == "SPM"
    assert ref.aor_code("SAINT PAUL") == "SPM"
    assert ref.aor_code("Boston Field Office") == "BOS"
    assert ref.aor_code("Washington DC") == "WAS"
    assert ref.aor_code("  harlingen  area of responsibility ") == "HLG"
    assert ref.aor_code(None) is None and ref.aor_code("") is None
    assert ref.aor_code("Laredo Field Office") is None  # a CBP office, not an ICE AOR


def test_shipped_keys_are_normalized() -> None:
    for r in _csv(DATA_DIR / "aor_aliases.csv"):
        assert ref.alias_key(r["alias"]) == r["alias"]
        assert r["code"] in ref.AOR_CODES
    for c in ref.countries():
        assert ref.country_key(c.name) == c.name
    for r in _csv(DATA_DIR / "methods.csv"):
        assert " ".join(r["method"].upper().split()) == r["method"]
        assert r["method_class"] in ref.METHOD_CLASSES
        assert r["rationale"].strip()
    for r in _csv(DATA_DIR / "criminality.csv"):
        assert r["criminality"] in ref.CRIMINALITY_VALUES


def test_countries_shape() -> None:
    continents = {"Africa", "Asia", "Europe", "North America", "South America", "Oceania"}
    rows = ref.countries()
    for c in rows:
        assert (c.iso3 == "") <= (c.continent == "")
        if c.continent:
            assert c.continent in continents
            assert re.fullmatch(r"[A-Z]{3}", c.iso3)
    assert ref.country("KOREA, SOUTH") == ("KOR", "Asia")
    assert ref.country("korea,  south") == ("KOR", "Asia")
    assert ref.country("CHINA, PEOPLES REPUBLIC OF") == ("CHN", "Asia")
    assert ref.country("BURMA") == ("MMR", "Asia")
    assert ref.country("MICRONESIA, FEDERATED STATES OF") == ("FSM", "Oceania")
    assert ref.country("EL SALVADOR") == ("SLV", "North America")
    assert ref.country("Türkiye") == ("TUR", "Asia")
    assert ref.country("UNKNOWN") is None
    assert ref.country("(b)(6);(b)(7)(C) ") is None
    assert ref.country(None) is None
    # every ISO country pycountry knows is covered, so new releases mostly map
    pycountry = pytest.importorskip("pycountry")
    iso3 = {c.iso3 for c in rows}
    assert {c.alpha_3 for c in pycountry.countries} <= iso3


def test_method_class_and_criminality() -> None:
    assert ref.method_class("CAP Local Incarceration") == "custodial"
    assert ref.method_class("287(g) Program") == "custodial"
    assert ref.method_class("Non-Custodial Arrest") == "at_large"
    assert ref.method_class(" located ") == "at_large"
    assert ref.method_class("Probation and Parole") == "at_large"
    assert ref.method_class("ERO Reprocessed Arrest") == "other"
    assert ref.method_class("Custodial") == "custodial"
    assert ref.method_class("At-large") == "at_large"
    assert ref.method_class(None) == "other" and ref.method_class("NA") == "other"
    assert ref.criminality("1 Convicted Criminal") == "convicted"
    assert ref.criminality("2 Pending Criminal Charges") == "pending_charges"
    assert ref.criminality("3 Other Immigration Violator") == "immigration_violator"
    assert ref.criminality("other immigration violator") == "immigration_violator"
    assert ref.criminality("1) Convicted Criminal") == "convicted"
    assert ref.criminality(None) == "unknown" and ref.criminality("NA") == "unknown"
    assert ref.criminality("TRUE") == "unknown"


def test_immigration_offenses() -> None:
    entry = "Illegal Entry (INA SEC.101(a)(43)(O), 8USC1325 only)"
    reentry = "Illegal Re-Entry (INA SEC.101(a)(43)(O), 8USC1326 only)"
    assert ref.immigration_offense_kind(entry, "301") == "illegal_entry"
    assert ref.immigration_offense_kind(reentry, "03AB") == "illegal_reentry"
    assert ref.immigration_offense_kind("ILLEGAL REENTRY") == "illegal_reentry"
    assert ref.immigration_offense_kind("re-entry after deportation") == "illegal_reentry"
    assert ref.immigration_offense_kind("8 U.S.C. § 1326(a)") == "illegal_reentry"
    assert ref.immigration_offense_kind("8 USC 1325") == "illegal_entry"
    assert ref.immigration_offense_kind(None, "0301") == "illegal_entry"
    assert ref.immigration_offense_kind("NA", "03AB") == "illegal_reentry"
    assert ref.immigration_offense_kind("Smuggling Aliens") is None  # towards others
    assert ref.is_immigration_offense(entry) and ref.is_immigration_offense(reentry)
    assert ref.is_immigration_offense("False Citizenship")
    assert ref.is_immigration_offense("Immigration (Possess of Fraud. Immigration Docs)")
    for charge, code in [
        ("Smuggling Aliens", "0303"),
        ("Immigration (Trafficking of Fraud. Immigration Documents)", None),
        ("Harboring aliens, 8 USC 1324", None),
        ("Public Peace: Anarchism", "5301"),
        ("18 USC 1325", None),
        ("Marijuana - Smuggle", "3561"),
        ("Burglary - Forced Entry-Residence", None),
        ("Smuggle Contraband", None),
        ("Fraud - False Statement", None),
        ("Bail - Secured Bond", "5001"),  # NCIC 50xx is Obstruct, not immigration
        ("Bail - Personal Recognizance", "5002"),
        ("Probation Violation", "5012"),
        ("No criminal conviction", "0000"),
        (None, None),
    ]:
        assert not ref.is_immigration_offense(charge, code), charge


SAMPLE_CHARGES = [
    ("Illegal Entry (INA SEC.101(a)(43)(O), 8USC1325 only)", "301"),
    ("Illegal Re-Entry (INA SEC.101(a)(43)(O), 8USC1326 only)", "03AB"),
    ("False Citizenship", None),
    ("Immigration (Possess of Fraud. Immigration Docs)", None),
    ("Immigration (Trafficking of Fraud. Immigration Documents)", None),
    ("Smuggling Aliens", "0303"),
    ("Marijuana - Smuggle", "3561"),
    ("Dangerous Drugs", "3599"),
    ("Probation Violation", "5012"),
    ("Public Peace: Anarchism", "5301"),
    (None, "0301"),
    (None, "03AA"),
    ("Domestic Violence", "13AB"),
]


def test_immigration_patterns_work_in_duckdb() -> None:
    """The store ORs every pattern into one RE2 regex over concat_ws(' ', charge, code):
    that must agree with is_immigration_offense."""
    duckdb = pytest.importorskip("duckdb")
    patterns = [r["pattern"] for r in _csv(DATA_DIR / "immigration_offenses.csv")]
    regex = "(?i)(" + "|".join(f"(?:{p})" for p in patterns) + ")"
    con = duckdb.connect()
    for charge, code in SAMPLE_CHARGES:
        (got,) = con.execute(
            "SELECT regexp_matches(concat_ws(' ', ?, ?), ?)", [charge, code, regex]
        ).fetchone()
        assert got == ref.is_immigration_offense(charge, code), (charge, code)


def test_federal_holidays_2019() -> None:
    assert ref.federal_holidays(date(2019, 1, 1), date(2019, 12, 31)) == {
        date(2019, 1, 1): "New Year's Day",
        date(2019, 1, 21): "Birthday of Martin Luther King, Jr.",
        date(2019, 2, 18): "Washington's Birthday",
        date(2019, 5, 27): "Memorial Day",
        date(2019, 7, 4): "Independence Day",
        date(2019, 9, 2): "Labor Day",
        date(2019, 10, 14): "Columbus Day",
        date(2019, 11, 11): "Veterans Day",
        date(2019, 11, 28): "Thanksgiving Day",
        date(2019, 12, 25): "Christmas Day",
    }


def test_federal_holidays_observed_and_juneteenth() -> None:
    h2020 = ref.federal_holidays(date(2020, 1, 1), date(2020, 12, 31))
    assert date(2020, 7, 3) in h2020 and date(2020, 7, 4) not in h2020  # Sat -> Fri
    assert not any("Juneteenth" in n for n in h2020.values())
    h2021 = ref.federal_holidays(date(2021, 1, 1), date(2021, 12, 31))
    assert h2021[date(2021, 6, 18)].startswith("Juneteenth")  # Sat 19th -> Fri 18th
    assert h2021[date(2021, 12, 31)] == "New Year's Day (observed)"  # for Sat 2022-01-01
    assert date(2021, 1, 20) not in h2021  # Inauguration Day is not a federal holiday
    assert ref.federal_holidays(date(2022, 12, 26), date(2022, 12, 26)) == {
        date(2022, 12, 26): "Christmas Day (observed)"  # Sun -> Mon
    }
    assert ref.federal_holidays(date(2020, 1, 2), date(2020, 1, 1)) == {}


def test_states() -> None:
    abbrs = {s.abbr for s in ref.states()}
    assert len(abbrs) == 56 and {"DC", "PR", "GU", "VI", "MP", "AS"} <= abbrs
    assert ref.state_abbr("TX") == ref.state_abbr("TEXAS") == ref.state_abbr("Texas") == "TX"
    assert ref.state_abbr("district of columbia") == "DC"
    assert ref.state_abbr("Narnia") is None and ref.state_abbr(None) is None


def test_data_path() -> None:
    assert ref.data_path("countries.csv").is_file()
    with pytest.raises(FileNotFoundError):
        ref.data_path("../__init__.py")


# --- cross-checks against ../shared/data --------------------------------------------------


@needs_shared
def test_counties_match_county_aor_population() -> None:
    src = {r["geoid"]: r for r in _csv(SHARED / "reference" / "county-aor-population.csv")}
    ours = {c.fips: c for c in ref.counties()}
    assert set(ours) == set(src)
    by_fips = {s.fips: s.abbr for s in ref.states()}
    for fips, c in ours.items():
        r = src[fips]
        assert c.aor == r["aor"], fips
        assert c.population == int(r["estimate"]), fips
        assert c.state_fips == r["geoid_state"] and by_fips[c.state_fips] == c.state_abbr
        assert c.county_name.lower() == r["name"].rsplit(", ", 1)[0], fips
        assert c.aor in ref.AOR_CODES


@needs_shared
def test_field_offices_are_known_aors() -> None:
    offices = {
        r["aor"]: r["field_office_addr"]
        for r in _csv(SHARED / "reference" / "aor-field-offices.csv")
    }
    for code, addr in offices.items():
        ours = ref.aor_code(code)  # the file spells Harlingen "HAL"
        assert ours in ref.AOR_CODES, code
        aor = next(a for a in ref.aors() if a.code == ours)
        assert aor.city.upper() in addr.upper().replace(".", ""), (code, aor.city, addr)
        assert re.search(rf"\b{aor.state_abbr}\b|D\.C\.", addr), (code, addr)
    assert {ref.aor_code(c) for c in offices} == set(ref.AOR_CODES)


@needs_shared
def test_ice_areas_of_responsibility() -> None:
    rows = _csv(SHARED / "reference" / "ice-areas-of-responsibility.csv", skipinitialspace=True)
    pairs = {(a.aor, a.state_abbr): a.split for a in ref.aor_states()}
    counties = ref.counties()
    disagreements = []
    for r in rows:
        code = ref.aor_code(r["office_name"])
        st = ref.state_abbr(r["state_name"])
        assert code and st, r
        assert (code, st) in pairs
        county = r["county_name"].strip().upper()
        if not county:
            continue
        assert pairs[(code, st)] is True  # a county list means a split state
        match = [
            c
            for c in counties
            if c.state_abbr == st and c.county_name.upper().rsplit(" ", 1)[0] == county
        ]
        assert len(match) == 1, r
        if match[0].aor != code:
            disagreements.append((st, county, code, match[0].aor))
    # The two sources differ only in Texas: UWCHR's county map predates the Harlingen
    # field office and puts ten central-Texas counties in SNA rather than HOU.
    assert {d[0] for d in disagreements} <= {"TX"}
    assert all(d[2] in {"HLG", "HOU"} and d[3] in {"SNA", "HOU"} for d in disagreements)


@needs_shared
@pytest.mark.slow
def test_national_files_map() -> None:
    citizenship: set[str] = set()
    aor_text: set[str] = set()
    methods: set[str] = set()
    for row in _national_rows():
        citizenship.add(row["Citizenship"])
        methods.add(row.get("Apprehension Method") or "")
        aor_text.add(
            row.get("Area of Responsibility") or row.get("Event Area of Responsibility") or ""
        )
    known = {c.name: c for c in ref.countries()}
    unmapped = sorted(n for n in citizenship if n not in NON_COUNTRIES and ref.country(n) is None)
    assert not unmapped, f"citizenship names with no ISO code: {unmapped}"
    assert all(ref.country_key(n) in known for n in citizenship if n)
    assert {ref.aor_code(a) for a in aor_text if a} <= set(ref.AOR_CODES)
    assert None not in {ref.aor_code(a) for a in aor_text if a}
    method_keys = {r["method"] for r in _csv(DATA_DIR / "methods.csv")}
    missing = sorted(m for m in methods if m and " ".join(m.upper().split()) not in method_keys)
    assert not missing, f"methods with no explicit class: {missing}"


@needs_shared
@pytest.mark.slow
def test_seattle_workbooks_map() -> None:
    cols = _xlsx_columns(
        {
            "Country of Citizenship",
            "Arrest Method",
            "Apprehension Method",
            "Area of Responsibility",
            "Event Area of Responsibility",
            "Most Serious Conviction",
        }
    )
    for n in cols["Country of Citizenship"]:
        assert n in NON_COUNTRIES or ref.country(n) is not None, n
    method_keys = {r["method"] for r in _csv(DATA_DIR / "methods.csv")}
    for m in cols["Arrest Method"] | cols["Apprehension Method"]:
        assert m == "None" or " ".join(m.upper().split()) in method_keys, m
    for a in cols["Area of Responsibility"] | cols["Event Area of Responsibility"]:
        assert ref.aor_code(a) == "SEA", a
    immigration = {c for c in cols["Most Serious Conviction"] if ref.is_immigration_offense(c)}
    assert immigration == {
        "Illegal Entry (INA SEC.101(a)(43)(O), 8USC1325 only)",
        "Illegal Re-Entry (INA SEC.101(a)(43)(O), 8USC1326 only)",
        "False Citizenship",
        "Immigration (Possess of Fraud. Immigration Docs)",
    }


@needs_shared
def test_ddp_and_cbp_samples_map() -> None:
    method_keys = {r["method"] for r in _csv(DATA_DIR / "methods.csv")}
    for row in _ddp_rows():
        for col, val in row.items():
            base = col.split(".")[0]
            if val in ("", "NA"):
                continue
            if base in {"citizenship_country", "birth_country", "departure_country"}:
                assert ref.country(val) is not None, (col, val)
            elif base.endswith("aor"):
                assert ref.aor_code(val) in ref.AOR_CODES, (col, val)
            elif base in {"apprehension_method", "arrest_street_custodial"}:
                assert " ".join(val.upper().split()) in method_keys, (col, val)
            elif base.endswith("criminality") and base != "criminality":
                assert ref.criminality(val) != "unknown", (col, val)
            elif base in {"facility_state", "apprehension_state", "detention_state"}:
                assert ref.state_abbr(val) is not None, (col, val)
    wa = _csv(SHARED / "ddp-format-samples" / "detainers-joined-wa.csv")
    kinds = {
        (
            r["most_serious_conviction_charge.detainer"],
            r["msc_charge_code.detainer"],
        ): ref.immigration_offense_kind(
            r["most_serious_conviction_charge.detainer"], r["msc_charge_code.detainer"]
        )
        for r in wa
    }
    flagged = {k: v for k, v in kinds.items() if v}
    assert flagged == {
        ("Illegal Entry (INA SEC.101(a)(43)(O), 8USC1325 only)", "301"): "illegal_entry",
        ("Illegal Re-Entry (INA SEC.101(a)(43)(O), 8USC1326 only)", "03AB"): "illegal_reentry",
    }
    cbp = _csv(SHARED / "cbp" / "cbp-nationwide-encounters-aor-head.csv")
    for r in cbp:
        assert ref.aor_code(r["area_of_responsibility"]) == ref.aor_code(r["aor_abbv"])
        assert ref.aor_code(r["aor_abbv"]) in ref.AOR_CODES
        assert r["citizenship"] in NON_COUNTRIES or ref.country(r["citizenship"])
    state_file = SHARED / "cbp" / "cbp-nationwide-encounters-fy20-fy23-state.csv"
    for r in _csv(state_file):
        assert ref.state_abbr(r["State"]) is not None, r["State"]
        assert r["Citizenship"] in NON_COUNTRIES or ref.country(r["Citizenship"]), r


@needs_shared
def test_build_script_is_deterministic(tmp_path: Path) -> None:
    pytest.importorskip("pycountry")
    out = tmp_path / "data"
    subprocess.run(
        [sys.executable, str(SCRIPT), "--shared", str(SHARED), "--out", str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    for name in TABLES:
        assert filecmp.cmp(out / name, DATA_DIR / name, shallow=False), (
            f"{name} differs from a fresh build: run scripts/build_reference.py"
        )
    # this script builds exactly its tables (scripts/build_places.py builds the place ones)
    assert sorted(p.name for p in out.glob("*.csv")) == sorted(TABLES)
    assert set(TABLES) <= {p.name for p in DATA_DIR.glob("*.csv")}
