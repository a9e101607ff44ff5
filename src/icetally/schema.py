"""The canonical store's vocabulary: datasets, the fields readers map raw columns to,
and the typed columns every dataset table carries.

Readers map each raw header to one of ``FIELDS`` (or leave it unmapped, in which case
it is kept as a ``raw_<snake_name>`` text column). Normalization turns those raw text
fields into the typed ``COLUMNS`` below. Nothing downstream of ``normalize/`` knows a
raw column name.
"""

from __future__ import annotations

import re

# One table per dataset.
DATASETS: tuple[str, ...] = (
    "arrests",
    "encounters",
    "detainers",
    "detention_stints",
    "removals",
    "cbp_encounters",
)

# Which raw field holds each dataset's event date (the one `event_date` is built from).
EVENT_DATE_FIELD = "event_date"

# Raw fields a reader can map a header to. All arrive as text (or typed cells from a
# workbook) and are normalized in normalize/.
FIELDS: tuple[str, ...] = (
    "event_date",  # apprehension / encounter / detainer prepare / book-in / departure date
    "event_time",
    "aor",
    "state",
    "county",
    "citizenship",
    "method",
    "criminality",
    "landmark",
    "operation",
    "processing_disposition",
    "gender",
    "birth_date",
    "birth_year",
    "person_id",
    "program",
    "case_status",
    "case_category",
    "threat_level",
    "arresting_agency",
    "departure_country",
    "departed_date",
    "removal_date",
    "final_order",
    "final_order_date",
    "final_charge",
    "port_of_departure",
    "msc_charge",
    "msc_charge_code",
    "msc_conviction_date",
    "facility",
    "facility_code",
    "facility_city",
    "detainer_type",
    "lift_reason",
    "event_type",
    "book_out_date",
    "release_reason",
    "duplicate_likely",
    "case_criminality",  # fallback when the table has no event-level criminality
    "latest_apprehension_date",
    # count tables (sources/counts.py): how many records the row stands for
    "count",
    # CBP aggregate rows
    "encounter_count",
    "fiscal_year",
    "month",
    "component",
    "land_border_region",
    "demographic",
    "title_of_authority",
    "encounter_type",
)

# Typed canonical columns, in table order. (name, DuckDB type, meaning)
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("event_date", "DATE", "the dataset's event date"),
    ("event_time", "VARCHAR", "time of the event as released (no documented time zone)"),
    ("date_flag", "VARCHAR", "'absurd_year' or 'unparsed' when the event date is doubtful"),
    ("aor", "VARCHAR", "3-letter AOR code, HQ or HLG"),
    ("aor_raw", "VARCHAR", "AOR text as released"),
    ("state", "VARCHAR", "state as released"),
    ("state_abbr", "VARCHAR", "2-letter postal code when resolvable"),
    ("county", "VARCHAR", "county as released"),
    ("county_fips", "VARCHAR", "5-digit county FIPS when resolvable"),
    ("citizenship", "VARCHAR", "citizenship country as released"),
    ("country_iso3", "VARCHAR", "ISO 3166-1 alpha-3 of citizenship"),
    ("continent", "VARCHAR", "continent of citizenship"),
    ("method", "VARCHAR", "apprehension method as released"),
    ("method_class", "VARCHAR", "custodial, at_large or other"),
    ("criminality", "VARCHAR", "convicted, pending_charges, immigration_violator or unknown"),
    ("criminality_raw", "VARCHAR", "criminality label as released"),
    ("immigration_only_conviction", "BOOLEAN", "most serious conviction is an immigration offence"),
    ("person_id", "VARCHAR", "the release's anonymized identifier (never linked across releases)"),
    ("fiscal_year", "INTEGER", "US federal fiscal year of event_date (starts Oct 1)"),
    ("administration", "VARCHAR", "presidential administration at event_date"),
    ("landmark", "VARCHAR", "apprehension / event landmark"),
    ("operation", "VARCHAR", "operation as released (usually redacted)"),
    ("processing_disposition", "VARCHAR", "processing disposition as released"),
    ("gender", "VARCHAR", "gender as released"),
    ("birth_year", "INTEGER", "birth year when released"),
    ("program", "VARCHAR", "final / current program"),
    ("case_status", "VARCHAR", "case status"),
    ("case_category", "VARCHAR", "case category"),
    ("threat_level", "VARCHAR", "threat level"),
    ("arresting_agency", "VARCHAR", "arresting agency"),
    ("departure_country", "VARCHAR", "departure country"),
    ("departed_date", "DATE", "departed date"),
    ("removal_date", "DATE", "removal date"),
    ("final_order", "VARCHAR", "final order yes/no"),
    ("final_order_date", "DATE", "final order date"),
    ("final_charge", "VARCHAR", "final charge section"),
    ("port_of_departure", "VARCHAR", "port of departure"),
    ("msc_charge", "VARCHAR", "most serious conviction charge"),
    ("msc_charge_code", "VARCHAR", "most serious conviction charge code"),
    ("msc_conviction_date", "DATE", "most serious conviction date"),
    ("facility", "VARCHAR", "detainer / detention facility"),
    ("facility_code", "VARCHAR", "facility code"),
    ("facility_city", "VARCHAR", "facility city"),
    ("detainer_type", "VARCHAR", "detainer type"),
    ("lift_reason", "VARCHAR", "detainer lift reason"),
    ("event_type", "VARCHAR", "encounter event type"),
    ("book_out_date", "DATE", "book-out date (detention)"),
    ("release_reason", "VARCHAR", "detention release reason"),
    ("component", "VARCHAR", "CBP component"),
    ("land_border_region", "VARCHAR", "CBP land border region"),
    ("demographic", "VARCHAR", "CBP demographic"),
    ("title_of_authority", "VARCHAR", "CBP title of authority"),
    ("encounter_type", "VARCHAR", "CBP encounter type"),
    ("n", "BIGINT", "records this row stands for: 1, a count table's cell, or a CBP count"),
    ("duplicate_likely", "BOOLEAN", "flag only; rows are never dropped"),
    ("release_id", "VARCHAR", "the release (file/sheet) the row came from"),
    ("source_file", "VARCHAR", "file name as ingested"),
    ("source_sheet", "VARCHAR", "sheet name for workbooks"),
    ("source_row", "BIGINT", "1-based row number in the file or sheet, preamble included"),
)

COLUMN_NAMES: tuple[str, ...] = tuple(c[0] for c in COLUMNS)


def snake(name: str) -> str:
    """'Apprehension Date' -> 'apprehension_date'; 'Month (abbv)' -> 'month_abbv'."""
    s = re.sub(r"[^0-9a-zA-Z]+", "_", name.strip()).strip("_").lower()
    return s or "column"


def raw_column_name(header: str) -> str:
    """Column name under which an unmapped raw column is kept."""
    return "raw_" + snake(header)
