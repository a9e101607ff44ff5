"""The titles of ICE's detention statistics workbooks, and what each table is.

This is data, not positions: the reader finds every table by its title (a regular
expression over the title cell's text, case-insensitive, whitespace collapsed) and then
reads the block under it. Each entry names the contract table (``book_ins``, ``adp``,
...), the breakdown, what the row labels and the column headers are (dimensions), the
unit, and how the block is laid out:

- ``grid``: row labels in the title's column (``label_dims`` columns of them), value
  columns to the right under one header row. ``rows`` lists the dimensions a single
  label column can hold, outermost first: a label of the first kind starts a group,
  a label of the next kind is a part of the current group (ADP's "CBP Average" then
  its criminality rows; ATD's AOR then its technologies).
- ``facilities``: the facility list, one row per facility; its header row is found by
  content ("Name" ... "AOR").
- ``iclos``: three header rows (year, month, mid/end) over row labels.

Entries with ``table=None`` are known texts that are not tables (banners, notes,
section headings): recognized, so that nothing else goes unreported.

Every year's workbook differs (tables added, renamed, moved, sheets renamed); the
patterns below were written from the FY2019-FY2026 workbooks and document which years
print which variant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Months in the order of the US federal fiscal year (October first).
FISCAL_MONTHS = ("oct", "nov", "dec", "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep")

# Units, as shown to users.
PEOPLE = "people"
ADP = "average daily population"
DAYS = "days"
DOLLARS = "dollars"
DOLLARS_PER_DAY = "dollars per day"
SHARE = "share"
PLACEMENTS = "placements"
TEXT = "text"

# How a printed total relates to its parts, by unit (see icetally.analysis.official).
ADDITIVE_UNITS = frozenset({PEOPLE, ADP, DOLLARS, DOLLARS_PER_DAY, PLACEMENTS})


@dataclass(frozen=True)
class TitleSpec:
    """One kind of table (or known non-table text), recognized by its title."""

    id: str
    pattern: str
    table: str | None = None
    layout: str = "grid"
    # Dimensions a row label holds; with label_dims > 1, one per label column.
    rows: tuple[str, ...] = ()
    label_dims: int = 1
    # What the value column headers are: a dimension ("month", "criminality", ...),
    # "measure" (each header names a measure), or "value" (one value column).
    columns: str = "value"
    measure: str = "count"
    unit: str = PEOPLE
    fixed: dict[str, str] = field(default_factory=dict)
    note: str = ""


def _t(id: str, pattern: str, table: str, **kw: object) -> TitleSpec:
    return TitleSpec(id=id, pattern=pattern, table=table, **kw)  # type: ignore[arg-type]


TITLES: tuple[TitleSpec, ...] = (
    # ---- Detention sheet -------------------------------------------------------------
    _t(
        "currently_detained_by_disposition_facility_type",
        r"^ICE Currently Detained by Processing Disposition( and (Detention )?Facility Type)?\b",
        "currently_detained",
        rows=("processing_disposition",),
        columns="facility_type",
        measure="currently_detained",
        note="FY2024 prints only the Adult and Total columns and drops 'Facility Type'.",
    ),
    _t(
        "currently_detained_by_criminality_agency",
        r"^ICE Currently Detained by Criminality and Arresting Agency",
        "currently_detained",
        rows=("criminality",),
        columns="arresting_agency",
        measure="currently_detained",
    ),
    _t(
        "currently_detained_stateless_by_facility",
        r"^ICE Currently Detained of Stateless (Aliens|Noncitizens|Non-Citizens) "
        r"by Detention Facility",
        "currently_detained",
        rows=("facility_name", "facility_code"),
        label_dims=2,
        measure="currently_detained",
        fixed={"population": "Stateless"},
        note="FY2024 onwards.",
    ),
    _t(
        "book_ins_by_agency_month",
        r"^ICE Initial Book-Ins by Arresting Agency and Month",
        "book_ins",
        rows=("arresting_agency",),
        columns="month",
        measure="initial_book_ins",
    ),
    _t(
        "book_ins_by_facility_type_criminality",
        r"^ICE Initial Book-Ins by (Facility Type and )?Criminality",
        "book_ins",
        rows=("facility_type",),
        columns="criminality",
        measure="initial_book_ins",
        note="FY2024 titles it 'by Criminality' (one facility type, Adult).",
    ),
    _t(
        "releases_by_facility_type",
        r"^ICE Final (Releases|Book Outs)( by Facility Type)?\s*:",
        "releases",
        rows=("facility_type",),
        measure="final_releases",
        note="From FY2024 ICE reports final book-outs (which include removals and "
        "transfers) instead of final releases; the measure says which.",
    ),
    _t(
        "releases_by_reason_criminality",
        r"^ICE Final (Releases|Book Outs) by Release Reason and Criminality",
        "releases",
        rows=("release_reason",),
        columns="criminality",
        measure="final_releases",
        note="FY2019-FY2020 layout.",
    ),
    _t(
        "releases_by_reason_month_criminality",
        r"^ICE Final (Releases|Book Outs) by Release Reason, Month and Criminality",
        "releases",
        rows=("release_reason", "criminality"),
        label_dims=2,
        columns="month",
        measure="final_releases",
        note="FY2021 onwards.",
    ),
    _t(
        "removals",
        r"^ICE Removals\s*:",
        "removals",
        rows=("population",),
        measure="removals",
    ),
    _t(
        "adp_by_agency_month_criminality",
        r"^ICE Average Daily Population by Arresting Agency, Month and Criminality",
        "adp",
        rows=("arresting_agency", "criminality"),
        columns="month",
        measure="adp",
        unit=ADP,
    ),
    _t(
        "adp_by_facility_type_month",
        r"^ICE Average Daily Population by (Facility Type and )?Month",
        "adp",
        rows=("facility_type",),
        columns="month",
        measure="adp",
        unit=ADP,
        note="FY2024 titles it 'by Month'.",
    ),
    _t(
        "alos_by_agency_month_criminality",
        r"^ICE Average Length of Stay by Arresting Agency, Month and Criminality",
        "alos",
        rows=("arresting_agency", "criminality"),
        columns="month",
        measure="alos",
        unit=DAYS,
    ),
    _t(
        "alos_by_facility_type_month",
        r"^ICE Average Length of Stay by (Facility Type and )?Month",
        "alos",
        rows=("facility_type",),
        columns="month",
        measure="alos",
        unit=DAYS,
    ),
    _t(
        "alos_adult_by_month_agency",
        r"^ICE Average Length of Stay Adult Facility Type by Month and Arresting Agency",
        "alos",
        rows=("arresting_agency",),
        columns="month",
        measure="alos",
        unit=DAYS,
        fixed={"facility_type": "Adult"},
        note="FY2021 onwards.",
    ),
    _t(
        "fear_decision_to_release_days",
        r"^Average Time from USCIS Fear Decision Service Date to ICE Release",
        "credible_fear",
        rows=("fiscal_year",),
        columns="facility_type",
        measure="days_fear_decision_to_release",
        unit=DAYS,
        note="FY2020 onwards.",
    ),
    _t(
        "fear_decisions_detained",
        r"^(Aliens|Noncitizens|Non-Citizens) with USCIS-Established Fear Decisions in an ICE "
        r"Detention Facility",
        "credible_fear",
        rows=("facility_type",),
        measure="detained_with_fear_decision",
        note="FY2020 onwards.",
    ),
    _t(
        "credible_fear_parole_requested",
        r"^(Individuals|Aliens|Noncitizens) with Positive Credible Fear Determination Parole "
        r"Requested",
        "credible_fear",
        rows=("fiscal_year",),
        columns="month",
        measure="parole_requested",
        note="FY2022 onwards; each row is a fiscal year, its months that year's.",
    ),
    _t(
        "credible_fear_parole_status",
        r"^(Individuals|Aliens|Noncitizens) with Positive Credible Fear Determination "
        r"Parole Status",
        "credible_fear",
        rows=("fiscal_year", "parole_status"),
        label_dims=2,
        columns="month",
        measure="parole_decisions",
        note="FY2022 onwards.",
    ),
    # ---- ATD sheet ---------------------------------------------------------------
    _t(
        "atd_by_technology",
        r"^ATD Active Population Counts and Daily Cost by Technology",
        "atd",
        rows=("technology",),
        columns="measure",
        note="FY2022 onwards.",
    ),
    _t(
        "atd_by_status",
        r"^ATD Active Population by Status",
        "atd",
        rows=("famu_status",),
        columns="measure",
    ),
    _t(
        "atd_by_aor_technology",
        r"^Active ATD Participants and Average Length in Program",
        "atd",
        rows=("aor", "technology"),
        columns="measure",
    ),
    _t(
        "atd_court_appearance",
        r"Court Appearance:\s*(Total|Final) Hearings",
        "atd",
        rows=("court_outcome",),
        columns="measure",
        measure="hearings",
        note="FY2023 onwards; the hearing type comes from the title.",
    ),
    # ---- Facilities ----------------------------------------------------------------
    _t(
        "facilities",
        r"^ICE Facilities Data\b",
        "facilities",
        layout="facilities",
    ),
    # ---- Transgender detainee population (FY2021-FY2024) ---------------------------
    _t(
        "transgender_population",
        r"^ICE (Detained )?Transgender\*? (Detainee )?Population",
        "transgender",
        rows=("category",),
        measure="people",
    ),
    # ---- ICLOS (FY2022 onwards) ------------------------------------------------------
    _t(
        "iclos_average",
        r"^Average In Custody Length of Stay \(ICLOS\)$",
        "iclos",
        layout="iclos",
        rows=("population",),
        measure="average_iclos",
        unit=DAYS,
    ),
    _t(
        "iclos_detainees",
        r"^Detainees$",
        "iclos",
        layout="iclos",
        rows=("population", "stay_length"),
        measure="detainees",
    ),
    # ---- Monthly bond statistics (FY2022 onwards) --------------------------------------
    _t(
        "bond_monthly",
        r"Bonded Out (Releases|Book Outs)(/Releases)? Count and ALOS",
        "bond",
        rows=("measure",),
        columns="month",
    ),
    # ---- Semiannual (FY2022 onwards) ---------------------------------------------------
    _t(
        "semiannual_armed_forces",
        r"^United States Armed Forces (Noncitizen|Alien) (?P<event>Arrests|Bookins|Removals)\b",
        "semiannual",
        rows=("fiscal_year",),
        fixed={"population": "United States Armed Forces"},
    ),
    _t(
        "semiannual_us_citizens",
        r"^United States Citizens? (?P<event>Arrests|Bookins|Removals)\b",
        "semiannual",
        rows=("fiscal_year",),
        fixed={"population": "United States Citizens"},
    ),
    _t(
        "semiannual_parents_of_usc",
        r"^Parents of USC (?P<event>Arrests|Bookins|Removals)\b",
        "semiannual",
        rows=("fiscal_year",),
        fixed={"population": "Parents of United States Citizens"},
    ),
    _t(
        "semiannual_tps_countries",
        r"^Temporary Protected Status Countries (?P<event>Arrests|Bookins|Removals)\b",
        "semiannual",
        rows=("country",),
        columns="fiscal_year",
        fixed={"population": "Temporary Protected Status countries"},
    ),
    # ---- Segregation ------------------------------------------------------------------
    _t(
        "segregation_quarterly",
        r"^(Fiscal Year \(FY\)|FY)\s*(?P<fy>\d{4}) Quarter (?P<quarter>\d) Data",
        "segregation",
        rows=("placement_reason",),
        columns="measure",
        note="Vulnerable & Special Population sheet, FY2022 onwards (the FY2022 workbook "
        "titles Q2 'FY 2022 Quarter 2 Data').",
    ),
    _t(
        "segregation_monthly",
        r"^(?P<monthname>January|February|March|April|May|June|July|August|September|October|"
        r"November|December) (?P<year>\d{4})(\s|$)",
        "segregation",
        rows=("facility_name",),
        measure="placements",
        unit=PLACEMENTS,
        note="Monthly Segregation sheet, FY2024 onwards.",
    ),
    # ---- Known texts that are not tables ------------------------------------------------
    TitleSpec("banner", r"^U\.S\. Immigration and Customs Enforcement"),
    TitleSpec("statistics_header", r"^ICE Detention Statistics$"),
    TitleSpec("sheet_title", r"^ICE (Detention|Alternatives to Detention) Data,"),
    TitleSpec("footnotes_title", r"^ICE Footnotes$"),
    TitleSpec("appropriations", r"^These statistics are made available"),
    TitleSpec("ero_data", r"^ICE Enforcement and Removal Operations Data"),
    TitleSpec("facility_information", r"^Facility Information$"),
    TitleSpec("data_source", r"^(Data )?Source:"),
    TitleSpec("data_from", r"^(Court )?Data from|^Court Data"),
    TitleSpec("costs_note", r"^Costs listed above"),
    TitleSpec("semiannual_note", r"^The data contained within this Semiannual page"),
    TitleSpec("vulnerable_definition", r"^Definition for Vulnerable and Special Populations"),
    TitleSpec("segregation_basis", r"^The Basis for Any Use of Facility-Initiated Segregation"),
    TitleSpec("segregation_process", r"^The Process for and Frequency of Re-Evaluating"),
    TitleSpec("facility_list_limits", r"^This list is limited to facilities"),
    TitleSpec("famu_release_note", r"^From '[^']*' and '[^']*', \d+ FAMU individuals"),
    TitleSpec("starred_note", r"^\*|^\[\d+\]|^\(\*\)"),
)
