"""Regenerate the shipped reference tables in ``src/icetally/reference/data/``.

Run from the repository root::

    .venv/bin/python scripts/build_reference.py            # writes the shipped tables
    .venv/bin/python scripts/build_reference.py --out DIR  # writes elsewhere (tests use this)

Sources, and nothing else:

* ``../shared/data/reference/county-aor-population.csv`` (UWCHR): county FIPS -> AOR code and
  ACS population. Read, reshaped into our own columns; never copied.
* ``../shared/data/reference/ice-areas-of-responsibility.csv`` (deportationdata/ice, CC0):
  field office -> states, and the counties of split states. Used for ``aor_states.csv``.
* ``pycountry`` (ISO 3166-1 / 3166-3 names and codes) for ``countries.csv``.
* Facts written in this file: AOR codes/names/office cities, state FIPS codes, the UN M49
  continent of each ISO country, the ICE citizenship names seen in real releases and their
  ISO codes where pycountry's spelling differs, the apprehension-method classes, the
  criminality labels and the immigration-offence patterns. Each carries its reasoning; the
  human-readable account is ``docs/reference.md``.

The real ICE spellings listed here were read off the real files in ``../shared/data``
(national FY2016-2019 exports, Seattle workbooks, DDP samples, CBP files);
``tests/test_reference.py`` re-reads those files and fails when a value is missing here.

Output is deterministic: rows sorted, ``\\n`` line ends, UTF-8, no timestamps. The same
inputs and pycountry version give byte-identical files.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import pycountry

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = REPO.parent / "shared" / "data"
DEFAULT_OUT = REPO / "src" / "icetally" / "reference" / "data"

# --------------------------------------------------------------------------------------
# Key normalizations. These must stay identical to icetally.reference (the loader); the
# test suite checks that every shipped key is a fixed point of the loader's function.
# --------------------------------------------------------------------------------------


def alias_key(text: str) -> str:
    """Upper-case, drop 'AREA OF RESPONSIBILITY' / 'FIELD OFFICE', collapse whitespace."""
    s = text.upper()
    s = re.sub(r"AREA OF RESPONSIBILITY|FIELD OFFICE", " ", s)
    return " ".join(s.split())


def fold(text: str) -> str:
    """Strip diacritics so 'TÜRKIYE' and 'TURKIYE' share a key."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def country_key(text: str) -> str:
    return " ".join(fold(text).upper().split())


def upper_key(text: str) -> str:
    return " ".join(text.upper().split())


# --------------------------------------------------------------------------------------
# AORs
# --------------------------------------------------------------------------------------

# code -> (name as ICE writes it before " Area of Responsibility", office city, state).
# Office city/state are where the field office sits (aor-field-offices.csv addresses;
# the test checks each city appears in that file's address for the code).
AORS: dict[str, tuple[str, str, str]] = {
    "ATL": ("Atlanta", "Atlanta", "GA"),
    "BAL": ("Baltimore", "Baltimore", "MD"),
    "BOS": ("Boston", "Burlington", "MA"),
    "BUF": ("Buffalo", "Buffalo", "NY"),
    "CHI": ("Chicago", "Chicago", "IL"),
    "DAL": ("Dallas", "Dallas", "TX"),
    "DEN": ("Denver", "Centennial", "CO"),
    "DET": ("Detroit", "Detroit", "MI"),
    "ELP": ("El Paso", "El Paso", "TX"),
    "HLG": ("Harlingen", "Harlingen", "TX"),
    "HOU": ("Houston", "Houston", "TX"),
    "LOS": ("Los Angeles", "Los Angeles", "CA"),
    "MIA": ("Miami", "Plantation", "FL"),
    "NEW": ("Newark", "Newark", "NJ"),
    "NOL": ("New Orleans", "New Orleans", "LA"),
    "NYC": ("New York City", "New York", "NY"),
    "PHI": ("Philadelphia", "Philadelphia", "PA"),
    "PHO": ("Phoenix", "Phoenix", "AZ"),
    "SEA": ("Seattle", "Seattle", "WA"),
    "SFR": ("San Francisco", "San Francisco", "CA"),
    "SLC": ("Salt Lake City", "West Valley City", "UT"),
    "SNA": ("San Antonio", "San Antonio", "TX"),
    "SND": ("San Diego", "San Diego", "CA"),
    "SPM": ("St. Paul", "Fort Snelling", "MN"),
    "WAS": ("Washington", "Chantilly", "VA"),
    "HQ": ("Headquarters", "Washington", "DC"),
}

# Extra spellings per code, beyond the code itself, its name and "<name> AOR".
# Sources: national exports ("St. Paul Area of Responsibility", "HQ Area of
# Responsibility"), ice-areas-of-responsibility.csv ("St Paul", "New York City"),
# aor-field-offices.csv ("HAL" for Harlingen), CBP files ("New York Field Office"), and
# common writing. Two-letter forms ("LA", "NY") are left out: they read as states.
# CBP field offices are CBP's own areas, not ICE AORs: only CBP offices
# that share an ICE field office's city name are aliased, and that is a name match, not a
# boundary match (see docs/reference.md).
AOR_EXTRA_ALIASES: dict[str, tuple[str, ...]] = {
    "ELP": ("ELPASO",),
    "HLG": ("HAL", "HARLINGEN TX"),
    "HQ": ("HEADQUARTERS", "ICE HEADQUARTERS", "ERO HEADQUARTERS", "HQ AOR"),
    "NOL": ("NEW ORLEANS LA",),
    "NYC": ("NEW YORK", "NEW YORK CITY NY", "NY CITY"),
    "SFR": ("SAN FRANCISCO CA",),
    "SLC": ("SALT LAKE",),
    "SPM": ("ST PAUL", "SAINT PAUL", "ST. PAUL MN", "ST PAUL MN", "SAINT PAUL MN"),
    "WAS": (
        "WASHINGTON DC",
        "WASHINGTON D.C.",
        "WASHINGTON, DC",
        "WASHINGTON, D.C.",
        "WASHINGTON D C",
    ),
}

# --------------------------------------------------------------------------------------
# States and territories: postal code -> (name, FIPS). Census FIPS state codes.
# --------------------------------------------------------------------------------------

STATES: dict[str, tuple[str, str]] = {
    "AL": ("Alabama", "01"),
    "AK": ("Alaska", "02"),
    "AZ": ("Arizona", "04"),
    "AR": ("Arkansas", "05"),
    "CA": ("California", "06"),
    "CO": ("Colorado", "08"),
    "CT": ("Connecticut", "09"),
    "DE": ("Delaware", "10"),
    "DC": ("District of Columbia", "11"),
    "FL": ("Florida", "12"),
    "GA": ("Georgia", "13"),
    "HI": ("Hawaii", "15"),
    "ID": ("Idaho", "16"),
    "IL": ("Illinois", "17"),
    "IN": ("Indiana", "18"),
    "IA": ("Iowa", "19"),
    "KS": ("Kansas", "20"),
    "KY": ("Kentucky", "21"),
    "LA": ("Louisiana", "22"),
    "ME": ("Maine", "23"),
    "MD": ("Maryland", "24"),
    "MA": ("Massachusetts", "25"),
    "MI": ("Michigan", "26"),
    "MN": ("Minnesota", "27"),
    "MS": ("Mississippi", "28"),
    "MO": ("Missouri", "29"),
    "MT": ("Montana", "30"),
    "NE": ("Nebraska", "31"),
    "NV": ("Nevada", "32"),
    "NH": ("New Hampshire", "33"),
    "NJ": ("New Jersey", "34"),
    "NM": ("New Mexico", "35"),
    "NY": ("New York", "36"),
    "NC": ("North Carolina", "37"),
    "ND": ("North Dakota", "38"),
    "OH": ("Ohio", "39"),
    "OK": ("Oklahoma", "40"),
    "OR": ("Oregon", "41"),
    "PA": ("Pennsylvania", "42"),
    "RI": ("Rhode Island", "44"),
    "SC": ("South Carolina", "45"),
    "SD": ("South Dakota", "46"),
    "TN": ("Tennessee", "47"),
    "TX": ("Texas", "48"),
    "UT": ("Utah", "49"),
    "VT": ("Vermont", "50"),
    "VA": ("Virginia", "51"),
    "WA": ("Washington", "53"),
    "WV": ("West Virginia", "54"),
    "WI": ("Wisconsin", "55"),
    "WY": ("Wyoming", "56"),
    "AS": ("American Samoa", "60"),
    "GU": ("Guam", "66"),
    "MP": ("Northern Mariana Islands", "69"),
    "PR": ("Puerto Rico", "72"),
    "VI": ("U.S. Virgin Islands", "78"),
}

# Names in ice-areas-of-responsibility.csv that are not our state names.
STATE_NAME_VARIANTS: dict[str, str] = {
    "COMMONWEALTH OF THE NORTHERN MARIANA ISLANDS": "MP",
    "UNITED STATES VIRGIN ISLANDS": "VI",
}

# Census county names whose capitals a plain title-case loses (source is lower-case).
COUNTY_WORD_CASE: dict[str, str] = {
    "dekalb": "DeKalb",
    "desoto": "DeSoto",
    "dewitt": "DeWitt",
    "dupage": "DuPage",
    "lagrange": "LaGrange",
    "lamoure": "LaMoure",
    "laporte": "LaPorte",
    "larue": "LaRue",
    "lasalle": "LaSalle",
}
COUNTY_SMALL_WORDS = {"and", "of", "the", "qui"}


def _title_word(word: str) -> str:
    if word in COUNTY_WORD_CASE:
        return COUNTY_WORD_CASE[word]
    if word.startswith("mc") and len(word) > 2:
        return "Mc" + word[2:].capitalize()
    if word.startswith("o'") and len(word) > 2:
        return "O'" + word[2:].capitalize()
    return word.capitalize()


def county_title(name: str) -> str:
    """'prince george's county' -> "Prince George's County"; 'mcdonough' -> 'McDonough'."""
    words = name.strip().split()
    out = []
    for i, w in enumerate(words):
        if i > 0 and w in COUNTY_SMALL_WORDS:
            out.append(w)
        else:
            out.append("-".join(_title_word(p) for p in w.split("-")))
    return " ".join(out)


# --------------------------------------------------------------------------------------
# Countries
# --------------------------------------------------------------------------------------

# Every distinct citizenship value in the real files (national FY2016-2019 arrests,
# encounters and removals; Seattle workbooks; DDP samples incl. birth/departure country;
# CBP files), upper-case as released. The test re-reads the files against this list.
ICE_CITIZENSHIP_NAMES: tuple[str, ...] = (
    "AFGHANISTAN", "ALBANIA", "ALGERIA", "ANDORRA", "ANGOLA", "ANGUILLA", "ANTIGUA-BARBUDA",
    "ARGENTINA", "ARMENIA", "ARUBA", "AUSTRALIA", "AUSTRIA", "AZERBAIJAN", "BAHAMAS",
    "BAHRAIN", "BANGLADESH", "BARBADOS", "BELARUS", "BELGIUM", "BELIZE", "BENIN", "BERMUDA",
    "BHUTAN", "BOLIVIA", "BOSNIA-HERZEGOVINA", "BOTSWANA", "BRAZIL", "BRITISH VIRGIN ISLANDS",
    "BRUNEI", "BULGARIA", "BURKINA FASO", "BURMA", "BURUNDI", "CAMBODIA", "CAMEROON",
    "CANADA", "CAPE VERDE", "CAYMAN ISLANDS", "CENTRAL AFRICAN REPUBLIC", "CHAD", "CHILE",
    "CHINA, PEOPLES REPUBLIC OF", "CHRISTMAS ISLAND", "COLOMBIA", "COMOROS", "CONGO",
    "COSTA RICA", "CROATIA", "CUBA", "CYPRUS", "CZECH REPUBLIC", "CZECHOSLOVAKIA",
    "DEM REP OF THE CONGO", "DENMARK", "DJIBOUTI", "DOMINICA", "DOMINICAN REPUBLIC",
    "EAST TIMOR", "ECUADOR", "EGYPT", "EL SALVADOR", "EQUATORIAL GUINEA", "ERITREA",
    "ESTONIA", "ESWATINI", "ETHIOPIA", "FIJI", "FINLAND", "FRANCE", "FRENCH GUIANA",
    "FRENCH POLYNESIA", "GABON", "GAMBIA", "GEORGIA", "GERMANY", "GHANA", "GREECE",
    "GRENADA", "GUADELOUPE", "GUATEMALA", "GUINEA", "GUINEA-BISSAU", "GUYANA", "HAITI",
    "HONDURAS", "HONG KONG", "HUNGARY", "ICELAND", "INDIA", "INDONESIA", "IRAN", "IRAQ",
    "IRELAND", "ISRAEL", "ITALY", "IVORY COAST", "JAMAICA", "JAPAN", "JORDAN", "KAZAKHSTAN",
    "KENYA", "KIRIBATI", "KOREA", "KOSOVO", "KUWAIT", "KYRGYZSTAN", "LAOS", "LATVIA",
    "LEBANON", "LESOTHO", "LIBERIA", "LIBYA", "LITHUANIA", "LUXEMBOURG", "MACAU",
    "MACEDONIA", "MADAGASCAR", "MALAWI", "MALAYSIA", "MALDIVES", "MALI", "MALTA",
    "MARSHALL ISLANDS", "MAURITANIA", "MAURITIUS", "MEXICO",
    "MICRONESIA, FEDERATED STATES OF", "MOLDOVA", "MONACO", "MONGOLIA", "MONTENEGRO",
    "MONTSERRAT", "MOROCCO", "MOZAMBIQUE", "MYANMAR (BURMA)", "NA", "NAMIBIA", "NAURU",
    "NEPAL", "NETHERLANDS", "NETHERLANDS ANTILLES", "NEW CALEDONIA", "NEW ZEALAND",
    "NICARAGUA", "NIGER", "NIGERIA", "NORTH KOREA", "NORTH MACEDONIA", "NORWAY", "OMAN",
    "OTHER", "PAKISTAN", "PALAU", "PANAMA", "PAPUA NEW GUINEA", "PARAGUAY", "PERU",
    "PHILIPPINES", "PITCAIRN ISLANDS", "POLAND", "PORTUGAL", "QATAR", "REUNION", "ROMANIA",
    "RUSSIA", "RWANDA", "SAMOA", "SAN MARINO", "SAO TOME AND PRINCIPE", "SAUDI ARABIA",
    "SENEGAL", "SERBIA", "SERBIA AND MONTENEGRO", "SEYCHELLES", "SIERRA LEONE", "SINGAPORE",
    "SLOVAKIA", "SLOVENIA", "SOLOMON ISLANDS", "SOMALIA", "SOUTH AFRICA", "SOUTH KOREA",
    "SOUTH SUDAN", "SPAIN", "SRI LANKA", "ST. KITTS-NEVIS", "ST. LUCIA",
    "ST. VINCENT-GRENADINES", "SUDAN", "SURINAME", "SWAZILAND", "SWEDEN", "SWITZERLAND",
    "SYRIA", "TAIWAN", "TAJIKISTAN", "TANZANIA", "THAILAND", "TOGO", "TONGA",
    "TRINIDAD AND TOBAGO", "TUNISIA", "TURKEY", "TURKMENISTAN", "TURKS AND CAICOS ISLANDS",
    "UGANDA", "UKRAINE", "UNITED ARAB EMIRATES", "UNITED KINGDOM", "UNKNOWN", "URUGUAY",
    "USSR", "UZBEKISTAN", "VANUATU", "VENEZUELA", "VIETNAM", "YEMEN", "YUGOSLAVIA", "ZAMBIA",
    "ZIMBABWE",
)  # fmt: skip

# Known spellings that are not pycountry's (name, official or common). None = not a
# country: the row is kept so the name is *known*, with empty iso3/continent.
COUNTRY_OVERRIDES: dict[str, str | None] = {
    # ICE spellings seen in the real files
    "ANTIGUA-BARBUDA": "ATG",
    "BOSNIA-HERZEGOVINA": "BIH",
    "BRITISH VIRGIN ISLANDS": "VGB",
    "BRUNEI": "BRN",
    "BURMA": "MMR",
    "CAPE VERDE": "CPV",
    "CHINA, PEOPLES REPUBLIC OF": "CHN",
    "DEM REP OF THE CONGO": "COD",
    "EAST TIMOR": "TLS",  # renamed, same state: current code, not the withdrawn TMP
    "IVORY COAST": "CIV",
    # Older ICE code for the Republic of Korea; the same files carry NORTH KOREA separately.
    "KOREA": "KOR",
    "KOSOVO": "XKX",  # no ISO code; XKX is the user-assigned code used by the EU and IMF
    "MACAU": "MAC",
    "MACEDONIA": "MKD",
    "MYANMAR (BURMA)": "MMR",
    "PITCAIRN ISLANDS": "PCN",
    "RUSSIA": "RUS",
    "ST. KITTS-NEVIS": "KNA",
    "ST. LUCIA": "LCA",
    "ST. VINCENT-GRENADINES": "VCT",
    "SWAZILAND": "SWZ",
    "TURKEY": "TUR",
    # Dissolved states keep their ISO 3166-3 code: their successors cannot be told apart.
    "CZECHOSLOVAKIA": "CSK",
    "NETHERLANDS ANTILLES": "ANT",
    "SERBIA AND MONTENEGRO": "SCG",
    "USSR": "SUN",
    "YUGOSLAVIA": "YUG",
    # Not countries
    "NA": None,
    "OTHER": None,  # CBP: all other citizenships, aggregated
    "UNKNOWN": None,
    "STATELESS": None,
    "N/A": None,
    "NONE": None,
    "NOT REPORTED": None,
    # Redaction strings (FORMATS.md): withheld, not a country
    "B(6), B(7)C": None,
    "(B)(6), (B)(7)(C)": None,
    "(B)(6);(B)(7)(C)": None,
    "(B)(6),(B)(7)C)": None,
    "(B)(7)E)": None,
    "(B)(7)(E)": None,
    "B(7)(E)": None,
    # Spellings plausible in later releases (DHS yearbook / DDP style)
    "KOREA, SOUTH": "KOR",
    "KOREA, NORTH": "PRK",
    "SOUTH KOREA": "KOR",
    "NORTH KOREA": "PRK",
    "CHINA": "CHN",
    "PEOPLES REPUBLIC OF CHINA": "CHN",
    "CONGO, DEMOCRATIC REPUBLIC OF THE": "COD",
    "CONGO, DEMOCRATIC REPUBLIC": "COD",
    "DEMOCRATIC REPUBLIC OF THE CONGO": "COD",
    "CONGO, REPUBLIC OF THE": "COG",
    "REPUBLIC OF THE CONGO": "COG",
    "SOVIET UNION": "SUN",
    "CZECHIA": "CZE",
    "TURKIYE": "TUR",
    "CABO VERDE": "CPV",
    "COTE D'IVOIRE": "CIV",
    "TIMOR-LESTE": "TLS",
    "ST. KITTS AND NEVIS": "KNA",
    "ST. VINCENT AND THE GRENADINES": "VCT",
    "ST KITTS-NEVIS": "KNA",
    "ST LUCIA": "LCA",
    "ST VINCENT-GRENADINES": "VCT",
    "ZAIRE": "COD",  # renamed, same state
    "EAST GERMANY": "DDR",
    "WEST GERMANY": "DEU",
    "GERMAN DEMOCRATIC REPUBLIC": "DDR",
    "PALESTINE": "PSE",
    "VATICAN CITY": "VAT",
    "GREAT BRITAIN": "GBR",
    "UNITED STATES": "USA",
    "UNITED STATES OF AMERICA": "USA",
    "U.S. VIRGIN ISLANDS": "VIR",
}

# ISO 3166-3 (withdrawn) codes used above, with the continent of their territory.
HISTORIC_CONTINENT: dict[str, str] = {
    "ANT": "North America",  # Caribbean
    "CSK": "Europe",
    "DDR": "Europe",
    "SCG": "Europe",
    "SUN": "Europe",  # transcontinental; UN M49 puts the Russian Federation in Europe
    "YUG": "Europe",
    "XKX": "Europe",  # Kosovo, UN M49 Southern Europe region
}

# UN M49 regions by ISO alpha-2, with the Americas split as the brief asks: Caribbean,
# Central America and Northern America -> North America; South America stays.
# Antarctica (AQ) has no M49 continent and gets none.
M49_CONTINENTS: dict[str, str] = {
    "Africa": (
        # Northern Africa
        "DZ EG LY MA SD TN EH "
        # Eastern Africa
        "IO BI KM DJ ER ET TF KE MG MW MU YT MZ RE RW SC SO SS UG TZ ZM ZW "
        # Middle Africa
        "AO CM CF TD CG CD GQ GA ST "
        # Southern Africa
        "BW SZ LS NA ZA "
        # Western Africa
        "BJ BF CV CI GM GH GN GW LR ML MR NE NG SH SN SL TG"
    ),
    "North America": (
        # Caribbean
        "AI AG AW BS BB BQ VG KY CU CW DM DO GD GP HT JM MQ MS PR BL KN LC MF VC SX TT TC VI "
        # Central America
        "BZ CR SV GT HN MX NI PA "
        # Northern America
        "BM CA GL PM US"
    ),
    "South America": "AR BO BV BR CL CO EC FK GF GY PY PE GS SR UY VE",
    "Asia": (
        # Central, Eastern, South-eastern, Southern, Western Asia
        "KZ KG TJ TM UZ "
        "CN HK MO KP JP MN KR TW "
        "BN KH ID LA MY MM PH SG TH TL VN "
        "AF BD BT IN IR MV NP PK LK "
        "AM AZ BH CY GE IQ IL JO KW LB OM QA SA PS SY TR AE YE"
    ),
    "Europe": (
        # Eastern, Northern, Southern, Western Europe
        "BY BG CZ HU PL MD RO RU SK UA "
        "AX DK EE FO FI GG IS IE IM JE LV LT NO SJ SE GB "
        "AL AD BA HR GI GR VA IT MT ME MK PT SM RS SI ES "
        "AT BE FR DE LI LU MC NL CH"
    ),
    "Oceania": (
        # Australia and New Zealand, Melanesia, Micronesia, Polynesia
        "AU CX CC HM NZ NF FJ NC PG SB VU GU KI MH FM NR MP PW UM AS CK PF NU PN WS TK TO TV WF"
    ),
}
CONTINENTS = ("Africa", "Asia", "Europe", "North America", "South America", "Oceania")

# --------------------------------------------------------------------------------------
# Apprehension methods -> class. Keys are upper-case method text. Evidence cited is from
# the FY2016-2019 national arrests (Apprehension Landmark text per method).
# --------------------------------------------------------------------------------------

CUSTODIAL = "custodial"
AT_LARGE = "at_large"
OTHER = "other"

METHODS: dict[str, tuple[str, str]] = {
    "CAP LOCAL INCARCERATION": (
        CUSTODIAL,
        "Criminal Alien Program: ICE takes the person from a local jail; landmarks are "
        "county jails (60% name a jail/sheriff/detention site)",
    ),
    "CAP STATE INCARCERATION": (
        CUSTODIAL,
        "Criminal Alien Program: transfer from a state prison (e.g. TEXAS DEPT OF CRIMINAL "
        "JUSTICE, WENDE CORRECTIONAL FACILITY)",
    ),
    "CAP FEDERAL INCARCERATION": (
        CUSTODIAL,
        "Criminal Alien Program: transfer from a federal prison (BOP facilities)",
    ),
    "CRIMINAL ALIEN PROGRAM": (
        CUSTODIAL,
        "Generic CAP label: a jail or prison hand-over like the three CAP lines",
    ),
    "287(G) PROGRAM": (
        CUSTODIAL,
        "Deputized local officers in jails (jail enforcement model; 72% of landmarks are "
        "jails). Task-force-model 287(g) arrests, revived in 2025, cannot be told apart in "
        "this label",
    ),
    "CUSTODIAL ARREST": (
        CUSTODIAL,
        "DDP 2023+ label: arrest of a person already held by another agency",
    ),
    "CUSTODIAL": (CUSTODIAL, "Derived DDP-style label (street vs custodial): custodial"),
    "LAW ENFORCEMENT AGENCY RESPONSE UNIT": (
        CUSTODIAL,
        "ICE answers a call from a police agency that is holding the person (landmarks: "
        "LEAR - ARIZONA DEPARTMENT OF PUBLIC SAFETY, LEAR - PHOENIX POLICE DEPARTMENT)",
    ),
    "OTHER AGENCY (TURNED OVER TO INS)": (
        CUSTODIAL,
        "Another agency hands the person over (landmarks: US Marshals, county jails)",
    ),
    "NON-CUSTODIAL ARREST": (
        AT_LARGE,
        "Arrest of a person not in any agency's custody; landmarks are fugitive-operations "
        "teams and cities",
    ),
    "LOCATED": (
        AT_LARGE,
        "A fugitive (final order, failure to appear) found by fugitive operations; 20% of "
        "landmarks name fugitive operations, 8% a jail, so a minority may be in custody",
    ),
    "PROBATION AND PAROLE": (
        AT_LARGE,
        "Arrest of a person under community supervision, at a probation/parole office or "
        "by fugitive teams (28% probation/parole landmarks, 13% fugitive ops, 5% jails): "
        "the person is not held by another agency",
    ),
    "WORKSITE ENFORCEMENT": (AT_LARGE, "Arrest at a workplace during an ICE operation"),
    "AT-LARGE": (AT_LARGE, "Derived DDP-style label (street vs custodial): at-large"),
    "AT LARGE": (AT_LARGE, "Spelling variant of AT-LARGE"),
    "AT-LARGE ARREST": (AT_LARGE, "Spelling variant of AT-LARGE"),
    "NON-CUSTODIAL": (AT_LARGE, "Short form of NON-CUSTODIAL ARREST"),
    "ERO REPROCESSED ARREST": (
        OTHER,
        "Administrative re-booking of someone already in ICE's system; 68% have no "
        "landmark: not a new arrest in either setting",
    ),
    "OTHER EFFORTS": (OTHER, "Unspecified by ICE"),
    "OTHER TASK FORCE": (
        OTHER,
        "Joint task force: the partner agency may make the arrest on criminal charges "
        "first; setting unclear",
    ),
    "ORGANIZED CRIME DRUG ENFORCEMENT TASK FORCE": (
        OTHER,
        "Joint OCDETF operation; setting unclear, as for OTHER TASK FORCE",
    ),
    "ANTI-SMUGGLING": (OTHER, "Legacy INS/border method: smuggling investigations"),
    "BOAT PATROL": (OTHER, "Legacy INS/border method"),
    "CREWMAN/STOWAWAY": (OTHER, "Legacy INS/port-of-entry method"),
    "INSPECTIONS": (OTHER, "Port-of-entry inspections; 70% have no landmark"),
    "PATROL BORDER": (OTHER, "Border patrol method (border landmarks)"),
    "PATROL INTERIOR": (OTHER, "Legacy INS interior patrol; too few and mixed to classify"),
    "TRAFFIC CHECK": (OTHER, "Legacy Border Patrol checkpoint method"),
    "TRANSPORTATION CHECK AIRCRAFT": (
        OTHER,
        "Legacy Border Patrol transport check; landmarks are mostly jails, so coding is unreliable",
    ),
    "TRANSPORTATION CHECK BUS": (OTHER, "Legacy Border Patrol transport check"),
    "TRANSPORTATION CHECK FREIGHT TRAIN": (OTHER, "Legacy Border Patrol transport check"),
    "TRANSPORTATION CHECK PASSENGER TRAIN": (OTHER, "Legacy Border Patrol transport check"),
}

# --------------------------------------------------------------------------------------
# Criminality labels (ICE's three-way classification) -> canonical value.
# --------------------------------------------------------------------------------------

CRIMINALITY: dict[str, str] = {
    "1 CONVICTED CRIMINAL": "convicted",
    "2 PENDING CRIMINAL CHARGES": "pending_charges",
    "3 OTHER IMMIGRATION VIOLATOR": "immigration_violator",
    "CONVICTED CRIMINAL": "convicted",
    "PENDING CRIMINAL CHARGES": "pending_charges",
    "OTHER IMMIGRATION VIOLATOR": "immigration_violator",
    "1-CONVICTED CRIMINAL": "convicted",
    "2-PENDING CRIMINAL CHARGES": "pending_charges",
    "3-OTHER IMMIGRATION VIOLATOR": "immigration_violator",
    "1 - CONVICTED CRIMINAL": "convicted",
    "2 - PENDING CRIMINAL CHARGES": "pending_charges",
    "3 - OTHER IMMIGRATION VIOLATOR": "immigration_violator",
    "CONVICTED_CRIMINAL": "convicted",
    "PENDING_CRIMINAL_CHARGES": "pending_charges",
    "OTHER_IMMIGRATION_VIOLATOR": "immigration_violator",
    "CONVICTED": "convicted",
    "PENDING CHARGES": "pending_charges",
    "PENDING_CHARGES": "pending_charges",
    "IMMIGRATION VIOLATOR": "immigration_violator",
    "IMMIGRATION_VIOLATOR": "immigration_violator",
    "NA": "unknown",
    "UNKNOWN": "unknown",
}

# --------------------------------------------------------------------------------------
# Immigration offences in most-serious-conviction (MSC) fields: the offences about the
# person's own entry or status that make ICE's "convicted criminal" label rest on
# immigration law alone. Every row counts; offences towards other people (smuggling,
# harboring, document trafficking) are deliberately absent (docs/reference.md).
#
# Patterns are case-insensitive, RE2-compatible (DuckDB: no lookaround) and safe when all
# rows are OR-ed and searched in concat_ws(' ', charge, code): code patterns only match
# a whole trailing token. field says which column a row is written for.
# Codes are NCIC Uniform Offense Codes: group 03 is "Immigration" (0301 Illegal Entry,
# 0302 False Citizenship, 0303 Smuggling Aliens, 0399 Immigration); 03AB is paired with
# "Illegal Re-Entry (... 8USC1326 only)" in the DDP sample. 50xx is "Obstruct" (5001 Bail
# - Secured Bond, 5002 Bail - Personal Recognizance, 5012 Probation Violation): not
# immigration.
# --------------------------------------------------------------------------------------

USC = r"(?:^|[^0-9])8\s*U\.?\s*S\.?\s*C\.?\s*(?:§+|SEC\.?|SECTION)?\s*"
USC18 = r"(?:^|[^0-9])18\s*U\.?\s*S\.?\s*C\.?\s*(?:§+|SEC\.?|SECTION)?\s*"
INA = r"\bINA\s*(?:§+|SEC\.?|SECTION)?\s*"
CODE = r"(?:^|\s)(?:{})\s*$"  # the whole code, or the last token after the charge text

IMMIGRATION_OFFENSES: tuple[tuple[str, str, str, str], ...] = (
    # (pattern, kind, field, what it is for)
    (r"ILLEGAL\s+RE-?\s*ENTRY", "illegal_reentry", "charge", "Illegal Re-Entry (INA ... 1326)"),
    (
        r"\bRE-?\s*ENTRY\b.*\b(?:AFTER|FOLLOWING)\s+(?:DEPORT|REMOV|EXCLU)",
        "illegal_reentry",
        "charge",
        "re-entry after deportation",
    ),
    (
        r"\bRE-?\s*ENTRY\s+OF\s+(?:A\s+)?(?:REMOVED|DEPORTED)",
        "illegal_reentry",
        "charge",
        "reentry of removed alien",
    ),
    (USC + r"1326", "illegal_reentry", "charge", "8 USC 1326"),
    (INA + r"276\b", "illegal_reentry", "charge", "INA 276"),
    (r"ILLEGAL\s+ENTRY", "illegal_entry", "charge", "Illegal Entry (INA ... 1325 only)"),
    (r"IMPROPER\s+ENTRY", "illegal_entry", "charge", "improper entry by alien"),
    (r"ENTRY\s+WITHOUT\s+INSPECTION", "illegal_entry", "charge", "entry without inspection"),
    (r"ELUD\w*\s+(?:EXAMINATION|INSPECTION)", "illegal_entry", "charge", "eluding inspection"),
    (USC + r"1325", "illegal_entry", "charge", "8 USC 1325"),
    (INA + r"275\b", "illegal_entry", "charge", "INA 275"),
    (
        r"FALSE\s+(?:CLAIM\s+(?:OF|TO)\s+(?:U\.?\s*S\.?\s+)?)?CITIZENSHIP",
        "other_immigration",
        "charge",
        "False Citizenship",
    ),
    (
        r"^\s*IMMIGRATION\s*\(\s*POSSESS",
        "other_immigration",
        "charge",
        "Immigration (Possess of Fraud. Immigration Docs)",
    ),
    (r"^\s*IMMIGRATION\s*$", "other_immigration", "charge", "NCIC label IMMIGRATION (0399)"),
    (r"\bVISA\s+FRAUD", "other_immigration", "charge", "visa fraud"),
    (USC18 + r"(?:911|1546)\b", "other_immigration", "charge", "18 USC 911 / 1546"),
    (CODE.format("0?301"), "illegal_entry", "code", "NCIC 0301 Illegal Entry"),
    (CODE.format("03AB"), "illegal_reentry", "code", "03AB Illegal Re-Entry (DDP sample)"),
    (CODE.format("0?302"), "other_immigration", "code", "NCIC 0302 False Citizenship"),
    (CODE.format("0?399"), "other_immigration", "code", "NCIC 0399 Immigration (free text)"),
    (
        CODE.format("03(?:[1-9A-Z][0-9A-Z]|0[0-24-9A-Z])"),
        "other_immigration",
        "code",
        "other NCIC group-03 codes except 0303 Smuggling Aliens",
    ),
)

# Recognised, documented, and kept out of the table on purpose (tests check they do not
# match): acts towards other people rather than the person's own entry or status.
NOT_COUNTED_EXAMPLES: tuple[str, ...] = (
    "Smuggling Aliens",
    "Immigration (Trafficking of Fraud. Immigration Documents)",
    "8 USC 1324 harboring aliens",
)

# --------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        # skipinitialspace: ice-areas-of-responsibility.csv writes '"a", "b"'.
        return list(csv.DictReader(fh, skipinitialspace=True))


def _write(out: Path, name: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    body = sorted(
        (["true" if v is True else "false" if v is False else str(v) for v in r] for r in rows),
    )
    with (out / name).open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(body)
    return len(body)


def build_aors() -> list[tuple[str, str, str, str]]:
    return [(code, name, city, st) for code, (name, city, st) in AORS.items()]


def build_aor_aliases(office_names: Iterable[str]) -> dict[str, str]:
    aliases: dict[str, str] = {}

    def add(alias: str, code: str) -> None:
        key = alias_key(alias)
        if not key:
            return
        if aliases.setdefault(key, code) != code:
            raise SystemExit(f"alias {key!r} maps to both {aliases[key]} and {code}")

    for code, (name, _city, _st) in AORS.items():
        add(code, code)
        add(name, code)
        add(f"{name} Area of Responsibility", code)
        add(f"{name} AOR", code)
        add(f"{code} AOR", code)
        for extra in AOR_EXTRA_ALIASES.get(code, ()):
            add(extra, code)
    for office in office_names:
        if alias_key(office) not in aliases:
            raise SystemExit(f"office name {office!r} in ice-areas file has no AOR alias")
    return aliases


def build_states() -> list[tuple[str, str, str]]:
    return [(abbr, name, fips) for abbr, (name, fips) in STATES.items()]


def state_abbr_for(name: str) -> str:
    key = upper_key(name)
    for abbr, (n, _f) in STATES.items():
        if upper_key(n) == key or abbr == key:
            return abbr
    if key in STATE_NAME_VARIANTS:
        return STATE_NAME_VARIANTS[key]
    raise SystemExit(f"unknown state name {name!r}")


def build_counties(shared: Path) -> list[tuple[str, str, str, str, str, int]]:
    by_fips = {fips: abbr for abbr, (_n, fips) in STATES.items()}
    rows = []
    for r in _read_csv(shared / "reference" / "county-aor-population.csv"):
        geoid = r["geoid"].zfill(5)
        state_fips = r["geoid_state"].zfill(2)
        abbr = by_fips[state_fips]
        county_part, _, state_part = r["name"].rpartition(", ")
        if upper_key(STATES[abbr][0]) != upper_key(state_part):
            raise SystemExit(f"{geoid}: state {state_part!r} does not match FIPS {state_fips}")
        aor = r["aor"].strip()
        if aor not in AORS:
            raise SystemExit(f"{geoid}: unknown AOR {aor!r}")
        rows.append((geoid, state_fips, abbr, county_title(county_part), aor, int(r["estimate"])))
    return rows


def build_aor_states(
    shared: Path, aliases: dict[str, str], counties: list[tuple[str, str, str, str, str, int]]
) -> list[tuple[str, str, bool, str]]:
    split: dict[tuple[str, str], bool] = {}
    sources: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in _read_csv(shared / "reference" / "ice-areas-of-responsibility.csv"):
        code = aliases[alias_key(r["office_name"])]
        key = (code, state_abbr_for(r["state_name"]))
        split[key] = split.get(key, False) or bool(r["county_name"].strip())
        sources[key].add("ice_areas")
    aors_by_state: dict[str, set[str]] = defaultdict(set)
    for _f, _sf, abbr, _n, aor, _p in counties:
        aors_by_state[abbr].add(aor)
    for abbr, codes in aors_by_state.items():
        for code in codes:
            key = (code, abbr)
            split[key] = split.get(key, False) or len(codes) > 1
            sources[key].add("county_aor")
    return [(a, s, split[(a, s)], "+".join(sorted(sources[(a, s)]))) for a, s in split]


def continent_of_alpha2() -> dict[str, str]:
    out: dict[str, str] = {}
    for continent, codes in M49_CONTINENTS.items():
        for a2 in codes.split():
            if a2 in out:
                raise SystemExit(f"{a2} listed under two continents")
            out[a2] = continent
    missing = {c.alpha_2 for c in pycountry.countries} - set(out) - {"AQ"}
    if missing:
        raise SystemExit(f"no continent for ISO codes {sorted(missing)}")
    return out


def build_countries() -> tuple[list[tuple[str, str, str]], list[str]]:
    a2cont = continent_of_alpha2()
    cont_by_a3: dict[str, str] = dict(HISTORIC_CONTINENT)
    pyc: dict[str, str] = {}  # key -> iso3, from pycountry names
    for c in pycountry.countries:
        cont_by_a3[c.alpha_3] = a2cont.get(c.alpha_2, "")
        for attr in ("name", "official_name", "common_name"):
            val = getattr(c, attr, None)
            if val:
                key = country_key(val)
                if pyc.setdefault(key, c.alpha_3) != c.alpha_3:
                    raise SystemExit(f"pycountry name {key!r} is ambiguous")
    table: dict[str, str | None] = dict(pyc)
    for name, iso3 in COUNTRY_OVERRIDES.items():
        table[country_key(name)] = iso3  # our spellings win over pycountry's
    unmapped = []
    for name in ICE_CITIZENSHIP_NAMES:
        key = country_key(name)
        if key not in table:
            unmapped.append(name)
            table[key] = None
    rows = []
    for key, iso3 in table.items():
        if iso3 and iso3 not in cont_by_a3:
            raise SystemExit(f"{key}: no continent for {iso3}")
        cont = cont_by_a3[iso3] if iso3 else ""
        if cont and cont not in CONTINENTS:
            raise SystemExit(f"{key}: bad continent {cont}")
        rows.append((key, iso3 or "", cont))
    return rows, unmapped


def build_methods() -> list[tuple[str, str, str]]:
    for m, (cls, _why) in METHODS.items():
        if upper_key(m) != m or cls not in (CUSTODIAL, AT_LARGE, OTHER):
            raise SystemExit(f"bad method row {m!r}")
    return [(m, cls, why) for m, (cls, why) in METHODS.items()]


def build_immigration_offenses() -> list[tuple[str, str, str, str]]:
    pats = [re.compile(p, re.IGNORECASE) for p, _k, _f, _e in IMMIGRATION_OFFENSES]
    for text in NOT_COUNTED_EXAMPLES:
        if any(p.search(text) for p in pats):
            raise SystemExit(f"an immigration pattern matches {text!r}, which must not count")
    return list(IMMIGRATION_OFFENSES)


def build(shared: Path, out: Path) -> dict[str, int]:
    if not (shared / "reference").is_dir():
        raise SystemExit(f"{shared / 'reference'} not found (pass --shared)")
    out.mkdir(parents=True, exist_ok=True)
    office_names = {
        r["office_name"]
        for r in _read_csv(shared / "reference" / "ice-areas-of-responsibility.csv")
    }
    aliases = build_aor_aliases(office_names)
    counties = build_counties(shared)
    countries, unmapped = build_countries()
    counts = {
        "aors.csv": _write(out, "aors.csv", ("code", "name", "city", "state_abbr"), build_aors()),
        "aor_aliases.csv": _write(out, "aor_aliases.csv", ("alias", "code"), aliases.items()),
        "states.csv": _write(out, "states.csv", ("abbr", "name", "fips"), build_states()),
        "counties.csv": _write(
            out,
            "counties.csv",
            ("fips", "state_fips", "state_abbr", "county_name", "aor", "population"),
            counties,
        ),
        "aor_states.csv": _write(
            out,
            "aor_states.csv",
            ("aor", "state_abbr", "split", "sources"),
            build_aor_states(shared, aliases, counties),
        ),
        "countries.csv": _write(out, "countries.csv", ("name", "iso3", "continent"), countries),
        "methods.csv": _write(
            out, "methods.csv", ("method", "method_class", "rationale"), build_methods()
        ),
        "criminality.csv": _write(
            out, "criminality.csv", ("label", "criminality"), CRIMINALITY.items()
        ),
        "immigration_offenses.csv": _write(
            out,
            "immigration_offenses.csv",
            ("pattern", "kind", "field", "note"),
            build_immigration_offenses(),
        ),
    }
    if unmapped:
        print(f"real names with no country mapping: {unmapped}", file=sys.stderr)
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="../shared/data")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = ap.parse_args(argv)
    for name, n in build(args.shared, args.out).items():
        print(f"{name}: {n} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
