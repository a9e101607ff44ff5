"""What a figure of an ICE detention statistics workbook carries, as the store keeps
it: its dimensions and its columns (``sources.detention_stats`` reads the figures,
``store.official`` keeps them, ``query.official`` reads them back).

Apart from the reader so that what only needs the columns (every ingest creates the
``official`` table; a query of it) does not load the reader's title patterns."""

from __future__ import annotations

# Every dimension a figure can carry, in store column order. A dimension a table does
# not have is null; on a total row, agency-like labels keep "Total" as printed and the
# dimensions in TOTAL_AS_NULL are null (criminality null on a total row).
DIMENSIONS: tuple[str, ...] = (
    "arresting_agency",
    "criminality",
    "month",
    "facility_type",
    "processing_disposition",
    "release_reason",
    "release_detail",
    "population",
    "technology",
    "aor",
    "famu_status",
    "hearing_type",
    "court_outcome",
    "parole_status",
    "event",
    "country",
    "category",
    "final_order",
    "stay_length",
    "point",
    "quarter",
    "placement_reason",
    "period",
    "classification_level",
    "threat_level",
    "gender",
    "facility_name",
    "facility_code",
    "facility_address",
    "facility_city",
    "facility_state",
    "facility_zip",
    "facility_type_detailed",
    "facility_gender",
)
TOTAL_AS_NULL = frozenset(
    {
        "criminality",
        "month",
        "stay_length",
        "technology",
        "release_detail",
        "point",
        "parole_status",
        "final_order",
    }
)

# A figure's columns and their types (DuckDB's names): the ``official`` table's
# columns (store/official.py) and, as Arrow types, ``detention_stats.FIGURE_SCHEMA``.
FIGURE_FIELDS: tuple[tuple[str, str], ...] = (
    ("table_name", "VARCHAR"),
    ("breakdown", "VARCHAR"),
    ("fiscal_year", "INTEGER"),
    ("snapshot", "DATE"),
    *[(d, "VARCHAR") for d in DIMENSIONS],
    ("measure", "VARCHAR"),
    ("value", "DOUBLE"),
    ("value_text", "VARCHAR"),
    ("unit", "VARCHAR"),
    ("placeholder", "BOOLEAN"),
    ("note", "VARCHAR"),
    ("source_file", "VARCHAR"),
    ("source_sheet", "VARCHAR"),
    ("source_cell", "VARCHAR"),
    ("title", "VARCHAR"),
    ("title_cell", "VARCHAR"),
)
