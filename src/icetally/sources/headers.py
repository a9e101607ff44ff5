"""Raw header names seen in real releases, mapped to canonical fields, and the rules
that tell which dataset a table holds from its headers.

Headers are compared in snake_case, so 'Apprehension Date' (ERO-LESA / DDP raw
workbooks) and 'apprehension_date' (DDP cleaned files) are the same header. Joined DDP
files suffix columns with the table they came from ('facility_aor.detainer'); the
suffix of the table's own dataset is stripped. ``coverage_from_title`` reads the
coverage a release title states (shared by the delimited and workbook readers).
"""

from __future__ import annotations

import re
from datetime import date, datetime

from icetally.schema import snake

# snake_case header -> canonical field. Where several headers map to one field in the
# same table, the first one present in HEADER_PRIORITY order wins (see map_headers).
HEADER_FIELDS: dict[str, str] = {
    # event dates by dataset
    "apprehension_date": "event_date",
    "arrest_date": "event_date",
    "event_date": "event_date",
    "detainer_prepare_date": "event_date",
    "date": "event_date",
    "stay_book_in_date_time": "event_date",
    "book_in_date_time": "event_date",
    "book_in_date": "event_date",
    "departed_date": "departed_date",
    "removal_date": "removal_date",
    "latest_apprehension_date": "latest_apprehension_date",
    # AOR under its many names
    "area_of_responsibility": "aor",
    "event_area_of_responsibility": "aor",
    "apprehension_aor": "aor",
    "toa_current_duty_aor": "aor",
    "facility_aor": "aor",
    "responsible_aor": "aor",
    "book_in_aor": "aor",
    "case_aor": "aor",
    "aor": "aor",
    "aor_abbv": "aor",
    # places
    "state": "state",
    "apprehension_state": "state",
    "facility_state": "state",
    "county": "county",
    "apprehension_county": "county",
    "detention_facility": "facility",
    "detainer_facility": "facility",
    "det_facility": "facility",
    "facility": "facility",
    "detention_facility_code": "facility_code",
    "detainer_facility_code": "facility_code",
    "facility_city": "facility_city",
    "city": "facility_city",
    "apprehension_landmark": "landmark",
    "apprehension_site_landmark": "landmark",
    "event_landmark": "landmark",
    "landmark": "landmark",
    # people (no identification: ids are the release's anonymized ones)
    "citizenship": "citizenship",
    "citizenship_country": "citizenship",
    "country_of_citizenship": "citizenship",
    "gender": "gender",
    "birth_date": "birth_date",
    "date_of_birth": "birth_date",
    "birth_year": "birth_year",
    "anonymized_identifier": "person_id",
    "unique_identifier": "person_id",
    "bln_person_id": "person_id",
    # enforcement
    "apprehension_method": "method",
    "arrest_street_custodial": "method",
    "arrest_method": "method",
    "apprehension_criminality": "criminality",
    "arrest_criminality": "criminality",
    "case_criminality": "case_criminality",
    "detainer_criminality": "criminality",
    "detainer_prepared_criminality": "criminality",
    "encounter_criminality": "criminality",
    "book_in_criminality": "criminality",
    "operation": "operation",
    "processing_disposition": "processing_disposition",
    "processing_disposition_code": "processing_disposition",
    "apprehension_final_program": "program",
    "final_program": "program",
    "case_status": "case_status",
    "case_category": "case_category",
    "case_threat_level": "threat_level",
    "rc_threat_level": "threat_level",
    "encounter_threat_level": "threat_level",
    "detainer_threat_level": "threat_level",
    "detainer_prep_threat_level": "threat_level",
    "arresting_agency": "arresting_agency",
    "departure_country": "departure_country",
    "port_of_departure": "port_of_departure",
    "final_order_yes_no": "final_order",
    "final_order": "final_order",
    "final_order_date": "final_order_date",
    "final_charge_section": "final_charge",
    "final_charge": "final_charge",
    "msc_charge": "msc_charge",
    "most_serious_conviction_charge": "msc_charge",
    "most_serious_conviction": "msc_charge",
    "msc_charge_code": "msc_charge_code",
    "msc_conviction_date": "msc_conviction_date",
    "detainer_type": "detainer_type",
    "detainer_lift_reason": "lift_reason",
    "lift_reason": "lift_reason",
    "event_type": "event_type",
    "stay_book_out_date_time": "book_out_date",
    "book_out_date_time": "book_out_date",
    "stay_book_out_date": "book_out_date",
    "detention_release_reason": "release_reason",
    "stay_release_reason": "release_reason",
    "duplicate_likely": "duplicate_likely",
    # CBP aggregates
    "encounter_count": "encounter_count",
    "fiscal_year": "fiscal_year",
    "month_abbv": "month",
    "component": "component",
    "land_border_region": "land_border_region",
    "demographic": "demographic",
    "title_of_authority": "title_of_authority",
    "encounter_type": "encounter_type",
}

# When two headers of one table map to the same field, the earlier one here wins; the
# other is kept as a raw_ column.
HEADER_PRIORITY: tuple[str, ...] = (
    "stay_book_in_date_time",
    "detainer_prepare_date",
    "apprehension_date",
    "event_date",
    "arrest_date",
    "book_in_date_time",
    "date",
    "apprehension_aor",
    "toa_current_duty_aor",
    "event_area_of_responsibility",
    "responsible_aor",
    "facility_aor",
    "book_in_aor",
    "case_aor",
    "area_of_responsibility",
    "aor_abbv",
    "aor",
    "apprehension_criminality",
    "detainer_prepared_criminality",
    "detainer_criminality",
    "encounter_criminality",
    "book_in_criminality",
    "arrest_criminality",
    "stay_book_out_date_time",
    "stay_book_out_date",
    "stay_release_reason",
    "anonymized_identifier",
    "unique_identifier",
)

# Suffixes DDP joined files give columns ("facility_aor.detainer").
DATASET_SUFFIXES = {
    "arrests": ("arrest", "arrests"),
    "encounters": ("encounter", "encounters"),
    "detainers": ("detainer", "detainers"),
    "detention_stints": ("stint", "stints", "detention", "stay"),
    "removals": ("removal", "removals"),
}


def header_key(header: str) -> str:
    """Normalized lookup key for a raw header."""
    return snake(header)


def _strip_suffix(header: str) -> tuple[str, str | None]:
    if "." in header:
        base, _, suffix = header.rpartition(".")
        if suffix and suffix.isidentifier():
            return base, suffix.lower()
    return header, None


def detect_dataset(headers: list[str]) -> str | None:
    """Which canonical dataset a table with these headers holds, or None."""
    keys = {header_key(_strip_suffix(h)[0]) for h in headers}
    suffixes = {_strip_suffix(h)[1] for h in headers} - {None}
    if "encounter_count" in keys:
        return "cbp_encounters"
    if "detainer_prepare_date" in keys or ("lift_reason" in keys and "det_facility" in keys):
        return "detainers"
    if {"stay_book_in_date_time", "book_in_date_time"} & keys:
        return "detention_stints"
    if "event_date" in keys and (
        "event_area_of_responsibility" in keys
        or "responsible_aor" in keys
        or "event_type" in keys
        or "landmark" in keys
    ):
        return "encounters"
    if (
        "departed_date" in keys
        and (
            "removal_date" in keys
            or "port_of_departure" in keys
            or "latest_apprehension_date" in keys
            or "processing_disposition_code" in keys
        )
        and "apprehension_method" not in keys
    ):
        return "removals"
    if {"apprehension_date", "arrest_date"} & keys:
        return "arrests"
    if suffixes:
        for dataset, names in DATASET_SUFFIXES.items():
            if suffixes & set(names):
                return dataset
    return None


# Per-dataset exceptions: a removal's event is its departure, and its apprehension
# date is a secondary date kept as a raw column.
DATASET_OVERRIDES: dict[str, dict[str, str | None]] = {
    "removals": {
        "departed_date": "event_date",
        "apprehension_date": None,
        "arrest_date": None,
        "latest_apprehension_date": None,
    },
}


def map_headers(headers: list[str], dataset: str | None = None) -> dict[str, str]:
    """raw header -> canonical field, one header per field (see HEADER_PRIORITY)."""
    own = set(DATASET_SUFFIXES.get(dataset or "", ()))
    overrides = DATASET_OVERRIDES.get(dataset or "", {})
    candidates: dict[str, list[str]] = {}
    for h in headers:
        base, suffix = _strip_suffix(h)
        if suffix is not None and own and suffix not in own:
            continue  # a column joined in from another table: keep it raw
        key = header_key(base)
        fld = overrides[key] if key in overrides else HEADER_FIELDS.get(key)
        if fld is None:
            continue
        candidates.setdefault(fld, []).append(h)
    rank = {k: i for i, k in enumerate(HEADER_PRIORITY)}
    out: dict[str, str] = {}
    for fld, hs in candidates.items():
        best = min(hs, key=lambda h: rank.get(header_key(_strip_suffix(h)[0]), len(rank)))
        out[best] = fld
    return out


def looks_like_header(cells: list[object]) -> bool:
    """True if a row of cells reads as a header row of a known table: at least two
    known header names, one of them a date or count column."""
    keys = [header_key(str(c)) for c in cells if isinstance(c, str) and c.strip()]
    known = [k for k in keys if k in HEADER_FIELDS]
    anchor = any(HEADER_FIELDS.get(k) in ("event_date", "encounter_count") for k in known)
    return len(known) >= 2 and anchor


_RANGE = re.compile(r"\(\s*(\d{1,2}/\d{1,2}/\d{4})\s*-\s*(\d{1,2}/\d{1,2}/\d{4})\s*\)")
_THROUGH = re.compile(r"\bthrough\s+(\d{1,2}/\d{1,2}/\d{4})\b", re.I)
_FY = re.compile(r"\bFY\s?(\d{4})\b")


def _mdy(text: str) -> date:
    return datetime.strptime(text, "%m/%d/%Y").date()


def coverage_from_title(title: str) -> tuple[date | None, date | None]:
    """Coverage a title states.

    'FY2012 - FY2019 YTD (01/01/2012 - 07/06/2019) ...' -> 2012-01-01, 2019-07-06;
    'FY2018 YTD ... through 04/27/2018' -> 2017-10-01, 2018-04-27;
    'FY2017 ERO Administrative Arrests ...' -> the fiscal year, 2016-10-01, 2017-09-30.
    """
    try:
        m = _RANGE.search(title)
        if m:
            return _mdy(m.group(1)), _mdy(m.group(2))
        years = [int(y) for y in _FY.findall(title)]
        start = date(min(years) - 1, 10, 1) if years else None
        end = date(max(years), 9, 30) if years else None
        t = _THROUGH.search(title)
        if t:
            end = _mdy(t.group(1))
        return start, end
    except ValueError:  # an impossible date such as 02/30/2019: state no coverage
        return None, None
