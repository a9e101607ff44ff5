"""ICE's detention statistics workbooks (../shared/data/detention-stats): ingest, the
tables found by title, every printed total against its parts, key figures, revisions,
reconcile. Expected values are read independently from the cells with openpyxl."""

from __future__ import annotations

import csv
import gzip
import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

import icetally
from icetally.cli import app
from icetally.sources import detention_stats
from icetally.sources.base import FormatError
from tests.conftest import NATIONAL, SHARED

STATS = SHARED / "detention-stats"
WORKBOOKS = {
    2019: "FY19-detentionstats.xlsx",
    2020: "FY20-detentionstats.xlsx",
    2021: "FY21-detentionstats.xlsx",
    2022: "FY22-detentionStats.xlsx",
    2023: "FY23_detentionStats.xlsx",
    2024: "FY24_detentionStats.xlsx",
    2025: "FY25_detentionStats09242025.xlsx",
    2026: "FY26_detentionStats12222025.xlsx",
}
MONTHS = ["Oct", "Nov", "Dec", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep"]

# The tables each workbook prints, by kind (breakdown id -> how many titles). Written
# from reading the eight workbooks; every one is asserted.
DETENTION_CORE = {
    "currently_detained_by_disposition_facility_type": 1,
    "currently_detained_by_criminality_agency": 1,
    "book_ins_by_agency_month": 1,
    "book_ins_by_facility_type_criminality": 1,
    "releases_by_facility_type": 1,
    "removals": 1,
    "adp_by_agency_month_criminality": 1,
    "alos_by_agency_month_criminality": 1,
    "adp_by_facility_type_month": 1,
    "alos_by_facility_type_month": 1,
    "facilities": 1,
}
LATER = {
    "fear_decision_to_release_days": 1,
    "fear_decisions_detained": 1,
    "alos_adult_by_month_agency": 1,
    "releases_by_reason_month_criminality": 1,
}
SEMIANNUAL = {
    "semiannual_armed_forces": 3,
    "semiannual_us_citizens": 3,
    "semiannual_parents_of_usc": 3,
    "semiannual_tps_countries": 3,
}
FY22_ON = {
    "credible_fear_parole_requested": 1,
    "credible_fear_parole_status": 1,
    "iclos_average": 1,
    "iclos_detainees": 1,
    "bond_monthly": 1,
    **SEMIANNUAL,
}
EXPECTED_TABLES: dict[int, dict[str, int]] = {
    2019: {
        **DETENTION_CORE,
        "releases_by_reason_criminality": 1,
        "atd_by_status": 1,
        "atd_by_aor_technology": 1,
    },
    2020: {
        **DETENTION_CORE,
        "releases_by_reason_criminality": 1,
        "fear_decision_to_release_days": 1,
        "fear_decisions_detained": 1,
        "atd_by_status": 1,
        "atd_by_aor_technology": 1,
    },
    2021: {
        **DETENTION_CORE,
        **LATER,
        "atd_by_status": 1,
        "atd_by_aor_technology": 1,
        "transgender_population": 1,
    },
    2022: {
        **DETENTION_CORE,
        **LATER,
        **FY22_ON,
        "atd_by_technology": 1,
        "atd_by_status": 1,
        "atd_by_aor_technology": 1,
        "transgender_population": 1,
        # Q1, Q2 (titled 'FY 2022 Quarter 2 Data') and Q3
        "segregation_quarterly": 3,
    },
    2023: {
        **DETENTION_CORE,
        **LATER,
        **FY22_ON,
        # two ATD sheets: FY24 YTD and EOFY23
        "atd_by_technology": 2,
        "atd_court_appearance": 4,
        "atd_by_status": 2,
        "atd_by_aor_technology": 2,
        "transgender_population": 1,
        "segregation_quarterly": 7,
    },
    2024: {
        **DETENTION_CORE,
        **LATER,
        **FY22_ON,
        "currently_detained_stateless_by_facility": 1,
        "atd_by_technology": 2,
        "atd_court_appearance": 4,
        "atd_by_status": 2,
        "atd_by_aor_technology": 2,
        "transgender_population": 1,
        "segregation_quarterly": 11,
        "segregation_monthly": 6,
    },
    2025: {
        **DETENTION_CORE,
        **LATER,
        **FY22_ON,
        "currently_detained_stateless_by_facility": 1,
        "atd_by_technology": 1,
        "atd_court_appearance": 2,
        "atd_by_status": 1,
        "atd_by_aor_technology": 1,
        "segregation_quarterly": 14,
        "segregation_monthly": 17,
    },
    2026: {
        **DETENTION_CORE,
        **LATER,
        **FY22_ON,
        "currently_detained_stateless_by_facility": 1,
        "atd_by_technology": 1,
        "atd_court_appearance": 2,
        "atd_by_status": 1,
        "atd_by_aor_technology": 1,
        "segregation_quarterly": 14,
        "segregation_monthly": 2,
    },
}

# ICE's own inconsistencies: printed totals that are not their parts (file, sheet, cell).
INCONSISTENT = {
    # FSC and Adult ADP do not add up to the printed Total in March and April 2022,
    # and the FSC 'FY Overall' averages only over the days the FSCs held anyone
    ("FY22-detentionStats.xlsx", "Detention FY22", "G102"),
    ("FY22-detentionStats.xlsx", "Detention FY22", "H102"),
    ("FY22-detentionStats.xlsx", "Detention FY22", "N102"),
    ("FY22-detentionStats.xlsx", "Detention FY22", "N103"),
    ("FY25_detentionStats09242025.xlsx", "Detention FY25", "H126"),
    ("FY25_detentionStats09242025.xlsx", "Detention FY25", "N126"),
    ("FY25_detentionStats09242025.xlsx", "Detention FY25", "N127"),
    # the AOR list lists Philadelphia twice: 245 against 244 book-ins
    ("FY24_detentionStats.xlsx", "Trans. Detainee Pop. EOFY24", "B5"),
}


def need_stats() -> None:
    if not STATS.is_dir():
        pytest.skip(f"detention statistics workbooks not found at {STATS}")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need_stats()
    db = tmp_path_factory.mktemp("official") / "official.duckdb"
    results = icetally.ingest([STATS], db=db)
    assert [r.status for r in results] == ["loaded"] * 8, [r.error for r in results]
    return db


# ---------------------------------------------------------------- openpyxl, independent


class Sheet:
    """One sheet's values read with openpyxl (read-only, values), by address."""

    def __init__(self, file: str, sheet: str, max_col: int = 60) -> None:
        wb = openpyxl.load_workbook(STATS / file, read_only=True, data_only=True)
        ws = wb[sheet]
        self.cells: dict[tuple[int, int], Any] = {}
        for r, row in enumerate(
            ws.iter_rows(min_row=1, max_row=2000, max_col=max_col, values_only=True), start=1
        ):
            for c, v in enumerate(row, start=1):
                if v is not None and v != "":
                    self.cells[(r, c)] = v
        wb.close()

    def at(self, address: str) -> Any:
        m = re.fullmatch(r"([A-Z]+)(\d+)", address)
        assert m
        col = 0
        for ch in m.group(1):
            col = col * 26 + ord(ch) - 64
        return self.cells.get((int(m.group(2)), col))

    def find(self, prefix: str) -> tuple[int, int]:
        hits = [
            k for k, v in self.cells.items() if isinstance(v, str) and v.strip().startswith(prefix)
        ]
        assert len(hits) == 1, (prefix, hits)
        return hits[0]

    def block(self, prefix: str) -> dict[tuple[str, str], tuple[float, str]]:
        """{(row label, column header): (value, address)} under a title: the header is
        the first row below it, labels in the title's column, to the first blank row."""
        r0, c0 = self.find(prefix)
        hr = r0 + 1
        headers = {c: str(v).strip() for (r, c), v in self.cells.items() if r == hr and c > c0}
        out = {}
        r = hr + 1
        while (r, c0) in self.cells:
            label = str(self.cells[(r, c0)]).strip()
            for c, h in headers.items():
                v = self.cells.get((r, c))
                if isinstance(v, int | float):
                    out[(label, h)] = (float(v), f"{openpyxl.utils.get_column_letter(c)}{r}")
            r += 1
        return out


def detention_sheet(fy: int) -> str:
    wb = openpyxl.load_workbook(STATS / WORKBOOKS[fy], read_only=True)
    names = [n for n in wb.sheetnames if n.startswith("Detention")]
    wb.close()
    assert len(names) == 1
    return names[0]


# ---------------------------------------------------------------- tables found


@pytest.mark.parametrize("fy", sorted(WORKBOOKS))
def test_tables_found_by_title(fy: int) -> None:
    need_stats()
    wb = detention_stats.read(STATS / WORKBOOKS[fy])
    assert wb.fiscal_year == fy
    assert dict(Counter(t.id for t in wb.tables)) == EXPECTED_TABLES[fy]
    assert wb.unrecognized == []
    assert all(t.figures > 0 for t in wb.tables)
    # each title is where the reader says, as printed (openpyxl, independently)
    by_sheet: dict[str, list[Any]] = {}
    for t in wb.tables:
        by_sheet.setdefault(t.sheet, []).append(t)
    for sheet, found in by_sheet.items():
        if "Segregation" in sheet and fy == 2025:
            continue  # 1041 x 16,383 used range: too slow for openpyxl; covered below
        cells = Sheet(WORKBOOKS[fy], sheet)
        for t in found:
            printed = " ".join(str(cells.at(t.cell)).split())
            assert printed.startswith(t.title), (sheet, t.cell, printed, t.title)


def test_snapshots_and_data_through() -> None:
    need_stats()
    got = {}
    for fy, name in WORKBOOKS.items():
        wb = detention_stats.read(STATS / name)
        got[fy] = (wb.snapshot.isoformat(), wb.snapshot_source.split(":")[0], wb.data_through)
    assert got[2025][:2] == ("2025-09-24", "file name")
    assert got[2026][:2] == ("2025-12-22", "file name")
    assert got[2019][:2] == ("2019-10-04", "Footnotes")  # the National Docket snapshot
    assert got[2026][2]["adp"].isoformat() == "2025-12-13"
    assert got[2021][2]["adp"].isoformat() == "2021-09-11"


def test_unrecognized_title_is_reported_and_other_workbooks_refused(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Detention FY30"
    ws["A3"] = "ICE DETENTION DATA, FY2030"
    ws["A8"] = "ICE Removals: FY2030"
    ws["A9"], ws["C9"] = "Removals", "Total"
    ws["A10"], ws["C10"] = "Total", 1234
    ws["A14"] = "ICE Teleportations by Planet and Month: FY2030"
    ws["A15"], ws["B15"], ws["C15"] = "Planet", "Oct", "Nov"
    ws["A16"], ws["B16"], ws["C16"] = "Mars", 3, 4
    fn = wb.create_sheet("Footnotes")
    fn["A5"], fn["B5"] = (
        "ICE Currently Detained Population",
        ("ICE National Docket data are a snapshot as of 10/03/2030 (IIDS)."),
    )
    path = tmp_path / "FY30-detentionstats.xlsx"
    wb.save(path)
    db = tmp_path / "s.duckdb"
    [r] = icetally.ingest([path], db=db)
    assert r.status == "loaded" and r.dataset == "official"
    assert r.unrecognized == [
        {
            "sheet": "Detention FY30",
            "cell": "A14",
            "title": "ICE Teleportations by Planet and Month: FY2030",
        }
    ]
    rows = icetally.official("removals", db=db).rows
    assert [(x["value"], x["source"]["cell"], x["snapshot"]) for x in rows] == [
        (1234.0, "C10", "2030-10-03")
    ]
    # a workbook of another kind is refused by the reader, naming the file
    other = SHARED / "ice-seattle-xlsx" / "seattle-aor-fy2012-2019ytd.xlsx"
    with pytest.raises(FormatError, match="not an ICE detention statistics workbook"):
        detention_stats.read(other)
    assert not detention_stats.sniff(other)


def test_reingest_is_a_noop_and_a_failed_file_leaves_the_store(store: Path, tmp_path: Path) -> None:
    db = tmp_path / "copy.duckdb"
    shutil.copy(store, db)
    before = icetally.official(db=db)
    results = icetally.ingest([STATS / WORKBOOKS[2019]], db=db)
    assert [r.status for r in results] == ["skipped"]
    assert icetally.official(db=db) == before
    # a detention workbook whose facility list has no header row fails whole
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Detention FY31"
    ws["A3"] = "ICE DETENTION DATA, FY2031"
    ws["A8"] = "ICE Removals: FY2031"
    ws["A9"], ws["C9"] = "Removals", "Total"
    ws["A10"], ws["C10"] = "Total", 5
    fac = wb.create_sheet("Facilities FY31")
    fac["A3"] = "ICE FACILITIES DATA, FY31"
    bad = tmp_path / "FY31_detentionStats10012031.xlsx"
    wb.save(bad)
    [r] = icetally.ingest([bad], db=db)
    assert r.status == "failed" and "Facilities FY31" in r.error and "Name" in r.error
    assert icetally.official(db=db) == before
    assert all(x["file_name"] != bad.name for x in icetally.releases(db=db))


# ---------------------------------------------------------------- printed totals


def test_every_printed_total_is_checked(store: Path) -> None:
    report = icetally.official_check(db=store)
    found = {(c.file, c.sheet, c.total_cell) for c in report.inconsistencies}
    assert found == INCONSISTENT
    # each inconsistency, recomputed from the cells with openpyxl
    for c in report.inconsistencies:
        cells = Sheet(c.file, c.sheet)
        total = float(cells.at(c.total_cell))
        parts = [float(cells.at(a)) for a in c.parts]
        assert total == pytest.approx(c.total)
        if c.rule == "sum":
            assert abs(total - sum(parts)) > 0.01
        elif c.rule == "day_weighted_mean":
            assert not (min(parts) <= total <= max(parts)) or abs(total - c.expected) > 1
    checked = {(c.file, c.sheet.strip(), c.total_cell) for c in report.checks}
    # every cell printed on a Total / Average / FY Overall row or column of the
    # Detention sheets is a checked total (except removals' subset row and shares)
    for fy, name in WORKBOOKS.items():
        sheet = detention_sheet(fy)
        cells = Sheet(name, sheet)
        missing = []
        for (r, c), v in cells.cells.items():
            if not isinstance(v, str):
                continue
            label = " ".join(v.split())
            if label in ("Total", "Average", "CBP Average", "ICE Average"):
                # a Total row: the figures to its right in the same table
                cc = c + 1
                while cc <= c + 16:
                    x = cells.cells.get((r, cc))
                    if x is None and cells.cells.get((r, cc + 1)) is None:
                        break
                    if isinstance(x, str):
                        break
                    if isinstance(x, int | float):
                        addr = f"{openpyxl.utils.get_column_letter(cc)}{r}"
                        if (name, sheet.strip(), addr) not in checked:
                            missing.append(addr)
                    cc += 1
        # allowed: removals totals (the second row is a subset), percent shares, the
        # fear tables' single-row totals and the months after the data's end (0)
        allowed = _allowed_unchecked(cells, fy)
        assert sorted(set(missing) - allowed) == [], (name, sorted(set(missing) - allowed))


def _allowed_unchecked(cells: Sheet, fy: int) -> set[str]:
    out = set()
    for prefix in ("ICE Removals",):
        r0, c0 = cells.find(prefix)
        for (r, c), v in cells.cells.items():
            if r0 < r <= r0 + 4 and c0 <= c <= c0 + 4 and isinstance(v, int | float):
                out.add(f"{openpyxl.utils.get_column_letter(c)}{r}")
    for (r, c), v in cells.cells.items():
        if isinstance(v, str) and v.strip().startswith("Percent "):
            for rr in range(r + 1, r + 8):
                out.add(f"{openpyxl.utils.get_column_letter(c)}{rr}")
        # 'Total' row of a single-column table with one row (the fear tables: nothing
        # printed to add up) and figures printed as 0 for months after the data end
        if isinstance(v, int | float) and v == 0 and fy == 2026:
            out.add(f"{openpyxl.utils.get_column_letter(c)}{r}")
    for prefix in ("Average Time from USCIS", "Aliens with USCIS", "Noncitizens with USCIS"):
        try:
            r0, c0 = cells.find(prefix)
        except AssertionError:
            continue
        for (r, c), v in cells.cells.items():
            if r0 < r <= r0 + 5 and c0 <= c <= c0 + 5 and isinstance(v, int | float):
                out.add(f"{openpyxl.utils.get_column_letter(c)}{r}")
    return out


def test_check_cli_names_the_cells(store: Path) -> None:
    res = CliRunner().invoke(app, ["official", "--check", "--json", "--db", str(store)])
    assert res.exit_code == 1  # ICE's tables hold inconsistencies
    data = json.loads(res.stdout)
    assert data["checks"] > 7000
    cells = {(i["file"], i["sheet"], i["total_cell"]) for i in data["inconsistencies"]}
    assert cells == INCONSISTENT
    trans = next(i for i in data["inconsistencies"] if i["total_cell"] == "B5")
    assert trans["total"] == 244 and trans["expected"] == 245 and "B31" in trans["part_cells"]


# ---------------------------------------------------------------- key figures


@pytest.mark.parametrize("fy", [2019, 2025])
def test_book_ins_adp_removals_equal_their_cells(store: Path, fy: int) -> None:
    sheet = detention_sheet(fy)
    cells = Sheet(WORKBOOKS[fy], sheet)
    # initial book-ins by arresting agency and month
    expected = cells.block("ICE Initial Book-Ins by Arresting Agency and Month")
    got = icetally.official("book_ins", db=store, fiscal_year=fy, by="arresting_agency,month").rows
    assert len(got) == 39
    for r in got:
        label = {"Total": "Total"}.get(r["arresting_agency"], r["arresting_agency"])
        col = "Total" if r["month"] is None else MONTHS[(int(r["month"][5:]) - 10) % 12]
        value, address = expected[(label, col)]
        assert (r["value"], r["source"]["cell"]) == (value, address)
    ice_total = next(r for r in got if r["arresting_agency"] == "ICE" and r["month"] is None)
    assert ice_total["value"] == {2019: 137084, 2025: expected[("ICE", "Total")][0]}[fy]
    # ADP by arresting agency and month (the agency rows: 'CBP Average', 'ICE Average',
    # 'Average' as printed)
    adp = cells.block("ICE Average Daily Population by Arresting Agency, Month and Criminality")
    got = icetally.official("adp", db=store, fiscal_year=fy, by="arresting_agency,month").rows
    assert {r["breakdown"] for r in got} == {"adp_by_agency_month_criminality"}
    assert len(got) == 39
    labels = {"CBP": "CBP Average", "ICE": "ICE Average", "Total": "Average"}
    for r in got:
        col = "FY Overall" if r["month"] is None else MONTHS[(int(r["month"][5:]) - 10) % 12]
        value, address = adp[(labels[r["arresting_agency"]], col)]
        assert r["value"] == pytest.approx(value, abs=0) and r["source"]["cell"] == address
    # removals
    r0, c0 = cells.find("ICE Removals")
    printed = [
        v
        for (r, c), v in cells.cells.items()
        if r in (r0 + 2,) and c > c0 and isinstance(v, int | float)
    ]
    [removals] = icetally.official("removals", db=store, fiscal_year=fy).rows
    assert [removals["value"]] == printed
    assert removals["value"] == {2019: 267258}.get(fy, printed[0])


def test_fy2026_currently_detained_total(store: Path) -> None:
    cells = Sheet(WORKBOOKS[2026], "Detention FY26")
    rows = icetally.official("currently_detained", db=store, fiscal_year=2026, agency="Total").rows
    assert rows, "no currently detained total"
    for r in rows:
        assert r["value"] == 68442 == cells.at(r["source"]["cell"])
        assert r["snapshot"] == "2025-12-22"
    assert {r["source"]["cell"] for r in rows} == {"F20"}
    by_disposition = icetally.official(
        "currently_detained",
        db=store,
        fiscal_year=2026,
        facility_type="Total",
        processing_disposition="Total",
    ).rows
    assert [(r["value"], r["source"]["cell"]) for r in by_disposition] == [(68442, "D10")]


def test_snapshots_and_revisions(store: Path) -> None:
    # ATD EOFY23 is printed in the FY2023 and the FY2024 workbooks
    latest = icetally.official(
        "atd",
        db=store,
        fiscal_year=2023,
        breakdown="atd_by_status",
        famu_status="Total",
        measure="participants",
    ).rows
    every = icetally.official(
        "atd",
        db=store,
        fiscal_year=2023,
        breakdown="atd_by_status",
        famu_status="Total",
        measure="participants",
        snapshot="all",
    ).rows
    assert [r["snapshot"] for r in latest] == ["2024-10-03"]
    assert sorted(r["snapshot"] for r in every) == ["2023-09-30", "2024-10-03"]
    # Parents of USC arrests in FY2019: 22,987 in the FY2022 workbook, 22,976 in FY2026's
    revs = icetally.official_revisions(db=store, table="semiannual", fiscal_year=2019)
    rev = next(
        r
        for r in revs
        if r.get("population") == "Parents of United States Citizens" and r["event"] == "arrests"
    )
    got = {
        (v["snapshot"], v["value"], v["source"]["file"], v["source"]["cell"])
        for v in rev["versions"]
    }
    for _snap, value, file, cell in got:
        assert Sheet(file, "Semiannual", max_col=12).at(cell) == value
    assert ("2022-09-25", 22987.0) in {(s, v) for s, v, _, _ in got}
    assert ("2025-12-22", 22976.0) in {(s, v) for s, v, _, _ in got}
    res = CliRunner().invoke(app, ["official", "--revisions", "--json", "--db", str(store)])
    assert res.exit_code == 0 and len(json.loads(res.stdout)["revisions"]) >= len(revs)


def test_query_json_contract(store: Path) -> None:
    res = CliRunner().invoke(
        app,
        [
            "official",
            "adp",
            "--fiscal-year",
            "2026",
            "--by",
            "month",
            "--agency",
            "ICE",
            "--json",
            "--db",
            str(store),
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert set(data) >= {"rows", "query"}
    row = data["rows"][0]
    assert set(row) >= {"table", "fiscal_year", "snapshot", "month", "value", "unit", "source"}
    assert set(row["source"]) == {"file", "sheet", "cell", "title"}
    # months after the data end (printed as 0) are left out unless asked for
    assert [r["month"] for r in data["rows"] if r["month"]] == ["2025-10", "2025-11", "2025-12"]
    assert data["query"]["sql"].lstrip().upper().startswith("SELECT")
    listing = CliRunner().invoke(app, ["official", "--json", "--db", str(store)])
    tables = {t["table"] for t in json.loads(listing.stdout)["tables"]}
    assert tables >= {
        "currently_detained",
        "book_ins",
        "releases",
        "removals",
        "adp",
        "alos",
        "atd",
        "facilities",
        "iclos",
        "bond",
        "semiannual",
        "segregation",
    }


# ---------------------------------------------------------------- reconcile


def test_reconcile_fy2019_arrests_with_book_ins(store: Path, tmp_path: Path) -> None:
    if not NATIONAL.is_dir():
        pytest.skip("national arrests not found")
    db = tmp_path / "rec.duckdb"
    shutil.copy(store, db)
    arrests = NATIONAL / "EROArrests_FY2019.csv.gz"
    icetally.ingest([arrests], db=db)
    # records per month, counted from the raw file with the csv module
    per_month: Counter[str] = Counter()
    with gzip.open(arrests, "rt", newline="") as fh:
        for _ in range(5):
            next(fh)
        for row in csv.DictReader(fh, delimiter="|"):
            m, _d, y = row["Apprehension Date"].split("/")
            per_month[f"{int(y):04d}-{int(m):02d}"] += 1
    cells = Sheet(WORKBOOKS[2019], "Detention FY19").block(
        "ICE Initial Book-Ins by Arresting Agency and Month"
    )
    result = icetally.reconcile(
        db=db, official="book_ins", agency="ICE", records="arrests", by="month", fiscal_year=2019
    )
    rows = {r["month"]: r for r in result.rows}
    assert sorted(rows) == [f"2018-{m}" for m in ("10", "11", "12")] + [
        f"2019-{m:02d}" for m in range(1, 10)
    ]
    for month, r in rows.items():
        official, _ = cells[("ICE", MONTHS[(int(month[5:]) - 10) % 12])]
        assert r["official"] == official
        if month == "2019-09":  # the release stops on 2019-09-01
            assert r["status"] == "records_missing"
            continue
        assert r["records"] == per_month[month]
        ratio = per_month[month] / official
        assert r["status"] == ("match" if abs(ratio - 1) <= 0.01 else "differs")
    assert len(result.reasons) >= 3


def test_http_api_official(store: Path) -> None:
    from fastapi.testclient import TestClient

    from icetally.web import create_app

    with TestClient(create_app(store)) as client:
        r = client.get(
            "/api/official",
            params={"table": "book_ins", "fiscal_year": "2019", "by": "arresting_agency,month"},
        )
        assert r.status_code == 200, r.text
        cli = icetally.official("book_ins", db=store, fiscal_year=2019, by="arresting_agency,month")
        assert r.json()["rows"] == json.loads(json.dumps(cli.rows, default=str))
        r = client.get("/api/official", params={"check": "true"})
        cells = {(i["file"], i["sheet"], i["total_cell"]) for i in r.json()["inconsistencies"]}
        assert cells == INCONSISTENT
        assert client.get("/api/official", params={"tabel": "adp"}).status_code == 400
        bad = client.get("/api/official", params={"table": "adp", "by": "planet"})
        assert bad.status_code == 400 and "planet" in bad.text


def test_claims_on_official_figures(store: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    report = icetally.check(root / "examples" / "claims" / "official-detention.yaml", db=store)
    got = {r["id"]: r for r in report.to_dict()["claims"]}
    assert {k: v["verdict"] for k, v in got.items()} == {
        "sept-2025-detained": "consistent",
        "dec-2025-record": "consistent",
        "fy2019-removals": "consistent",
        "oct-2025-book-ins": "overstated",
        "fy2019-ice-arrest-book-ins": "overstated",
    }
    # observed figures and their cells, read with openpyxl
    for cid, (file, sheet) in {
        "sept-2025-detained": (WORKBOOKS[2025], "Detention FY25"),
        "dec-2025-record": (WORKBOOKS[2026], "Detention FY26"),
        "fy2019-removals": (WORKBOOKS[2019], "Detention FY19"),
        "oct-2025-book-ins": (WORKBOOKS[2026], "Detention FY26"),
        "fy2019-ice-arrest-book-ins": (WORKBOOKS[2019], "Detention FY19"),
    }.items():
        cell = got[cid]["source_cell"]
        assert (cell["file"], cell["sheet"]) == (file, sheet)
        assert Sheet(file, sheet).at(cell["cell"]) == pytest.approx(got[cid]["observed"])
        assert cell["cell"] in got[cid]["explanation"]
    assert "constructed comparison" in got["sept-2025-detained"]["explanation"]
    missing = icetally.check(
        {"claims": [{"id": "x", "official": "adp", "month": "2010-01", "value": 5}]}, db=store
    ).to_dict()["claims"][0]
    assert missing["verdict"] == "unverifiable"


def test_extractor_recognizes_detention_sentences(store: Path) -> None:
    from icetally.analysis.extract import extract_claims

    text = (
        "WASHINGTON - ICE held more than 60,000 people in detention in September 2025. "
        "The agency removed 267,258 aliens in fiscal year 2019. "
        "ICE booked 41,613 people into detention in October 2025. "
        "Officers met 12 community leaders."
    )
    ex = extract_claims(text, published="2025-12-01")
    official = [c for c in ex.claims if "official" in c]
    assert [
        (c["official"], c.get("month") or c.get("fiscal_year"), c["value"]) for c in official
    ] == [
        ("adp", "2025-09", 60000.0),
        ("removals", 2019, 267258.0),
        ("book_ins", "2025-10", 41613.0),
    ]
    assert official[0]["comparison"] == "more_than"
    _, report = icetally.check_text(text, db=store, published="2025-12-01")
    verdicts = {
        r["id"]: r["verdict"] for r in report.to_dict()["claims"] if r["measure"] == "official"
    }
    assert verdicts == {
        "official-adp-2025-09": "consistent",
        "official-removals-2019": "consistent",
        "official-book_ins-2025-10": "consistent",
    }


def test_dashboard_detention_page(store: Path) -> None:
    from fastapi.testclient import TestClient

    from icetally.web import create_app

    with TestClient(create_app(store)) as client:
        page = client.get("/detention")
        assert page.status_code == 200
        assert "<svg" in page.text and 'id="adp-table"' in page.text
        links = re.findall(r'<a class="cell" href="(/api/official\?[^"]+)"', page.text)
        assert len(links) > 80
        # a month's ADP and a facility's: each link returns its figure with its cell,
        # and the cell holds that figure (openpyxl)
        for link in (links[0], links[-1]):
            rows = client.get(link.replace("&amp;", "&")).json()["rows"]
            assert rows
            for r in rows:
                src = r["source"]
                assert Sheet(src["file"], src["sheet"]).at(src["cell"]) == pytest.approx(r["value"])
        assert client.get("/detention?agency=Mars").status_code == 400
