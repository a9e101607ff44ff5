"""Workbook reader: the real Seattle FOIA workbooks, synthetic DDP workbooks written by
icetally.synth, and broken inputs. Expected counts and cells come from openpyxl read
independently of the reader."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pytest

from icetally.sources.base import SOURCE_ROW, FormatError, Part
from icetally.sources.workbook import (
    FORMAT_DDP,
    FORMAT_ERO,
    WorkbookReader,
    coverage_from_title,
)
from icetally.synth.xlsx import (
    DDP_ARRESTS_2026_COLUMNS,
    EXCEL_MAX_ROWS,
    SheetSpec,
    ddp_arrests_2026_rows,
    write_ddp_arrests_2026,
    write_xlsx,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SEATTLE = SHARED / "ice-seattle-xlsx"
AOR_BOOK = SEATTLE / "seattle-aor-fy2012-2019ytd.xlsx"
CAP_BOOK = SEATTLE / "seattle-2018-ICFO-36170-fy2017-2018.xlsx"


def need(path: Path) -> None:
    if not path.is_file():
        pytest.skip(f"real workbook not found at {path}; clone the project beside ../shared")


def read_all(path: Path, backend: str = "auto") -> list[tuple[Part, pa.Table]]:
    """Every part with its batches gathered (parts consumed one after the other)."""
    out = []
    for part in WorkbookReader(backend=backend, batch_rows=5_000).read(path):
        batches = list(part.batches)
        for b in batches:
            assert b.schema.names == [*part.columns, SOURCE_ROW]
            assert b.schema.field(SOURCE_ROW).type == pa.int64()
            assert all(b.schema.field(c).type == pa.string() for c in part.columns)
        table = pa.Table.from_batches(batches) if batches else None
        out.append((part, table))
    return out


def openpyxl_sheets(path: Path) -> dict[str, dict[int, tuple[Any, ...]]]:
    """Sheet -> Excel row number -> values, for every row holding a non-blank cell."""
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        out = {}
        for ws in wb.worksheets:
            ws.reset_dimensions()
            out[ws.title] = {
                i: row
                for i, row in enumerate(ws.iter_rows(values_only=True), 1)
                if any(c is not None and str(c).strip() for c in row)
            }
        return out
    finally:
        wb.close()


def openpyxl_rows(path: Path, sheet: str) -> dict[int, tuple[Any, ...]]:
    return openpyxl_sheets(path)[sheet]


@pytest.fixture(scope="module")
def aor_book() -> tuple[list[tuple[Part, pa.Table]], dict[str, dict[int, tuple[Any, ...]]]]:
    need(AOR_BOOK)
    return read_all(AOR_BOOK), openpyxl_sheets(AOR_BOOK)


@pytest.fixture(scope="module")
def cap_book() -> tuple[list[tuple[Part, pa.Table]], dict[str, dict[int, tuple[Any, ...]]]]:
    need(CAP_BOOK)
    return read_all(CAP_BOOK), openpyxl_sheets(CAP_BOOK)


def as_text(v: Any) -> str | None:
    """Independent expectation of a cell's text (dates written without time)."""
    if isinstance(v, datetime):
        return v.date().isoformat() if v.time() == datetime.min.time() else str(v)
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return None if v is None else str(v)


def check_rows_against_openpyxl(
    rows: dict[int, tuple[Any, ...]], part: Part, table: pa.Table, header_row: int
) -> None:
    """Row count = non-empty rows below the header; cells at source_row match."""
    header = rows[header_row]
    below = sorted(r for r in rows if r > header_row)
    assert table.num_rows == len(below)
    assert table.column(SOURCE_ROW).to_pylist() == below
    columns = {str(h).strip(): i for i, h in enumerate(header) if h is not None}
    records = table.to_pylist()
    picks = sorted({0, 1, len(records) // 3, len(records) // 2, len(records) - 1})
    for k in picks:
        rec = records[k]
        excel = rows[rec[SOURCE_ROW]]
        for name in part.columns:
            assert rec[name] == as_text(excel[columns[name]]), (part.sheet, rec[SOURCE_ROW], name)


# --------------------------------------------------------------------------------------
# Real Seattle workbooks


def test_seattle_aor_workbook_sheets_and_metadata(aor_book: Any) -> None:
    parts, _ = aor_book
    got = {p.sheet: (p.dataset, p.format, t.num_rows) for p, t in parts}
    # counts: openpyxl non-empty rows of each sheet minus 6 non-empty preamble/header rows
    assert got == {
        "Arrests": ("arrests", FORMAT_ERO, 32_549),
        "Book Ins": ("detention_stints", FORMAT_ERO, 36_811),
        "Expedited Removals": ("removals", FORMAT_ERO, 6_529),
        "Other Removals": ("removals", FORMAT_ERO, 20_384),
    }
    for part, _ in parts:
        m = part.metadata
        assert m["backend"] == "calamine"
        assert m["header_row"] == 7
        assert part.coverage_start == date(2012, 1, 1)
        assert part.coverage_end == date(2019, 7, 6)
        assert m["title"].startswith("FY2012 - FY2019 YTD (01/01/2012 - 07/06/2019)")
        assert m["preamble"][0] == "ERO-LESA Statistical Tracking Unit"
        # Summary and Footnotes are release metadata, not records
        assert "Most Serious Conviction was not recorded prior to FY2015." in m["footnotes"]
        assert ["FY2012", "6620"] in m["summary"]
        assert m["workbook_sheets"][0] == "Summary"
    arrests = next(p for p, _ in parts if p.sheet == "Arrests")
    assert arrests.fields["Arrest Date"] == "event_date"
    book_ins = next(p for p, _ in parts if p.sheet == "Book Ins")
    assert book_ins.fields["Book In Date"] == "event_date"


@pytest.mark.parametrize("sheet", ["Arrests", "Book Ins", "Expedited Removals", "Other Removals"])
def test_seattle_aor_rows_match_openpyxl(aor_book: Any, sheet: str) -> None:
    parts, excel = aor_book
    part, table = next((p, t) for p, t in parts if p.sheet == sheet)
    check_rows_against_openpyxl(excel[sheet], part, table, header_row=7)
    # redactions are kept exactly as released
    assert table.column("Date of Birth")[0].as_py() == "(b)(6),(b)(7)c)"


CAP_COUNTS = {
    "FY2018 Arrests": ("arrests", 1_410),
    "FY2018 Encounters": ("encounters", 7_829),
    "FY2018 Removals": ("removals", 1_267),
    "FY2017 Arrests": ("arrests", 2_656),
    "FY2017 Encounters": ("encounters", 11_712),
    "FY2017 Removals": ("removals", 1_917),
}


def test_seattle_2018_malformed_workbook_reads_with_fallback(cap_book: Any) -> None:
    parts, _ = cap_book
    assert {p.sheet: (p.dataset, t.num_rows) for p, t in parts} == CAP_COUNTS
    for part, table in parts:
        m = part.metadata
        assert part.format == FORMAT_ERO
        assert m["backend"] == "openpyxl"
        assert "Range is missing the expected column component" in m["calamine_error"]
        assert m["header_row"] == 6
        assert table.column("Event Number")[0].as_py() == "(b)(7)(E )"
        fy = 2018 if part.sheet.startswith("FY2018") else 2017
        assert part.coverage_start == date(fy - 1, 10, 1)
        assert part.coverage_end == (date(2018, 4, 27) if fy == 2018 else date(2017, 9, 30))
    # the removals sheets only carry an 'Arrest Date': the title decides the dataset
    removals = next(p for p, _ in parts if p.sheet == "FY2018 Removals")
    assert removals.metadata["dataset_rule"] == "title"


@pytest.mark.parametrize("sheet", list(CAP_COUNTS))
def test_seattle_2018_rows_match_openpyxl(cap_book: Any, sheet: str) -> None:
    parts, excel = cap_book
    part, table = next((p, t) for p, t in parts if p.sheet == sheet)
    check_rows_against_openpyxl(excel[sheet], part, table, header_row=6)


def test_calamine_really_rejects_the_2018_workbook() -> None:
    """The fallback is needed, not decorative: strict calamine fails clearly."""
    need(CAP_BOOK)
    with pytest.raises(FormatError, match="Range is missing"):
        read_all(CAP_BOOK, backend="calamine")


# --------------------------------------------------------------------------------------
# Synthetic DDP workbooks round-trip


def expected_ddp(rows: int, seed: int) -> list[list[str | None]]:
    return [[as_text(v) for v in row] for row in ddp_arrests_2026_rows(rows, seed=seed)]


@pytest.mark.parametrize("backend", ["calamine", "openpyxl"])
def test_ddp_2026_workbook_round_trips_over_several_sheets(tmp_path: Path, backend: str) -> None:
    path = tmp_path / "ddp.xlsx"
    counts = write_ddp_arrests_2026(path, 250, seed=7, max_data_rows=100)
    assert counts == {"Arrests": 100, "Arrests (2)": 100, "Arrests (3)": 50}
    parts = read_all(path, backend=backend)
    assert [p.sheet for p, _ in parts] == list(counts)
    got: list[list[str | None]] = []
    for part, table in parts:
        assert part.format == FORMAT_DDP
        assert part.dataset == "arrests"
        assert part.columns == list(DDP_ARRESTS_2026_COLUMNS)
        assert part.fields["TOA Current Duty AOR"] == "aor"
        assert part.fields["Anonymized Identifier"] == "person_id"
        assert part.metadata["header_row"] == 7  # six preamble rows, then headers
        assert part.metadata["dataset_sheets"] == list(counts)
        assert "SYNTHETIC" in part.metadata["preamble"][0]
        assert part.coverage_start == date(2023, 9, 1)
        assert part.coverage_end == date(2026, 3, 10)
        assert table.column(SOURCE_ROW).to_pylist() == list(range(8, 8 + table.num_rows))
        got.extend([r[c] for c in part.columns] for r in table.to_pylist())
    assert got == expected_ddp(250, seed=7)
    assert got[0][DDP_ARRESTS_2026_COLUMNS.index("Birth Date")] == "(b)(6), (b)(7)(C)"


def test_generated_preamble_says_synthetic(tmp_path: Path) -> None:
    path = tmp_path / "s.xlsx"
    write_ddp_arrests_2026(path, 3, seed=1, preamble=6)
    rows = openpyxl_rows(path, "Arrests")
    assert "SYNTHETIC" in rows[1][0]
    assert "SYNTHETIC" in rows[6][0]  # the title line too
    assert list(rows[7]) == list(DDP_ARRESTS_2026_COLUMNS)
    with pytest.raises(ValueError, match="preamble"):
        write_ddp_arrests_2026(tmp_path / "none.xlsx", 3, preamble=0)


def test_split_threshold_defaults_to_excel_limit() -> None:
    spec = SheetSpec("S", ["a"], [], preamble=["x"] * 6)
    assert spec.data_rows_per_sheet() == EXCEL_MAX_ROWS - 7
    assert SheetSpec("S", ["a"], []).data_rows_per_sheet() == 1_048_575


def typed_book(path: Path) -> list[list[Any]]:
    rows: list[list[Any]] = [
        [date(2020, 1, 2), "Male", 1985, 1.5, True, datetime(2020, 1, 2, 13, 45, 7)],
        [None, None, None, None, None, None],  # an empty row between records
        [None, "  ", None, None, None, None],  # whitespace only: not a record
        [date(2020, 1, 4), "(b)(6), (b)(7)(C)", 2.0, 1e-07, False, None],
    ]
    write_xlsx(
        path,
        [
            SheetSpec(
                "Arrests",
                ["Apprehension Date", "Gender", "Birth Year", "Score", "Flag", "Book In"],
                rows,
                preamble=["", "", "Arrests (01/01/2020 - 01/31/2020)"],  # leading empty rows
            )
        ],
    )
    return rows


@pytest.mark.parametrize("backend", ["calamine", "openpyxl"])
def test_cell_text_and_blank_rows_agree_across_backends(tmp_path: Path, backend: str) -> None:
    path = tmp_path / "typed.xlsx"
    typed_book(path)
    [(part, table)] = read_all(path, backend=backend)
    assert part.metadata["header_row"] == 4
    assert part.metadata["blank_rows"] == 2
    assert part.coverage_start == date(2020, 1, 1)
    assert table.to_pylist() == [
        {
            "Apprehension Date": "2020-01-02",
            "Gender": "Male",
            "Birth Year": "1985",
            "Score": "1.5",
            "Flag": "true",
            "Book In": "2020-01-02 13:45:07",
            SOURCE_ROW: 5,
        },
        {
            "Apprehension Date": "2020-01-04",
            "Gender": "(b)(6), (b)(7)(C)",
            "Birth Year": "2",
            "Score": "0.0000001",
            "Flag": "false",
            "Book In": None,
            SOURCE_ROW: 8,
        },
    ]


@pytest.mark.parametrize("backend", ["calamine", "openpyxl"])
def test_values_under_an_empty_header_are_reported(tmp_path: Path, backend: str) -> None:
    path = tmp_path / "stray.xlsx"
    write_xlsx(
        path,
        [
            SheetSpec(
                "Arrests",
                ["Arrest Date", "Gender", "Apprehension Landmark"],
                [
                    [date(2020, 1, 1), "Male", "JAIL"],
                    [date(2020, 1, 2), "Male", "JAIL", None, "a note"],
                ],
            )
        ],
    )
    [(part, table)] = read_all(path, backend=backend)
    assert table.num_rows == 2
    stray = part.metadata["stray_cells"]
    assert stray["count"] == 1
    assert stray["examples"] == [{"row": 3, "column": "E", "value": "a note"}]


def test_columns_offset_from_a1_keep_their_rows(tmp_path: Path) -> None:
    """A table starting in column B below empty rows: calamine's range starts there,
    source_row must still be the Excel row."""
    path = tmp_path / "offset.xlsx"
    write_xlsx(
        path,
        [
            SheetSpec(
                "Encounters",
                [None, "Event Date", "Event Area of Responsibility", "Gender"],
                [[None, date(2019, 5, 1), "Seattle Area of Responsibility", "Female"]],
                preamble=["", "", ""],
            )
        ],
    )
    for backend in ("calamine", "openpyxl"):
        [(part, table)] = read_all(path, backend=backend)
        assert part.dataset == "encounters"
        assert table.to_pylist() == [
            {
                "Event Date": "2019-05-01",
                "Event Area of Responsibility": "Seattle Area of Responsibility",
                "Gender": "Female",
                SOURCE_ROW: 5,
            }
        ]


# --------------------------------------------------------------------------------------
# Bad inputs


def test_no_recognizable_header_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "budget.xlsx"
    write_xlsx(path, [SheetSpec("Budget", ["Item", "Amount"], [["Paper", 12], ["Ink", 3]])])
    reader = WorkbookReader()
    assert reader.sniff(path, path.read_bytes()[:64])
    with pytest.raises(FormatError) as err:
        list(reader.read(path))
    assert str(path) in str(err.value)
    assert "no sheet has a recognizable header row; expected" in str(err.value)


def test_truncated_workbook_is_a_format_error(tmp_path: Path) -> None:
    good = tmp_path / "good.xlsx"
    write_ddp_arrests_2026(good, 2_000, seed=3)
    bad = tmp_path / "truncated.xlsx"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    reader = WorkbookReader()
    assert reader.sniff(bad, bad.read_bytes()[:64])  # claimed, so the error is specific
    with pytest.raises(FormatError, match="truncated.xlsx.*not a readable xlsx workbook"):
        list(reader.read(bad))


def test_corrupt_sheet_xml_is_a_format_error(tmp_path: Path) -> None:
    good = tmp_path / "good.xlsx"
    write_ddp_arrests_2026(good, 10, seed=3)
    bad = tmp_path / "corrupt.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 3] + b"<<garbage"
            dst.writestr(item, data)
    with pytest.raises(FormatError, match="corrupt.xlsx"):
        for part in WorkbookReader().read(bad):
            list(part.batches)


def test_sniff_rejects_other_files(tmp_path: Path) -> None:
    reader = WorkbookReader()
    z = tmp_path / "data.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("arrests.csv", "a,b\n1,2\n")
    assert not reader.sniff(z, z.read_bytes()[:64])
    csv = tmp_path / "a.csv"
    csv.write_text("Apprehension Date,Gender\n")
    assert not reader.sniff(csv, csv.read_bytes())


def test_coverage_from_title() -> None:
    assert coverage_from_title(
        "FY2012 - FY2019 YTD (01/01/2012 - 07/06/2019) ERO Administrative Arrests"
    ) == (date(2012, 1, 1), date(2019, 7, 6))
    assert coverage_from_title(
        "FY2018 YTD ERO Encounters by the Criminal Area Program through 04/27/2018"
    ) == (date(2017, 10, 1), date(2018, 4, 27))
    assert coverage_from_title("FY2017 ICE Removals") == (date(2016, 10, 1), date(2017, 9, 30))
    assert coverage_from_title("Arrests") == (None, None)


def test_parts_listed_first_still_read_every_sheet(tmp_path: Path) -> None:
    """Sheets load when their batches are iterated, so collecting the parts before
    reading them loses nothing (and still holds one sheet at a time)."""
    path = tmp_path / "ddp.xlsx"
    write_ddp_arrests_2026(path, 30, seed=2, max_data_rows=10)
    parts = list(WorkbookReader().read(path))
    assert [p.metadata["backend"] for p in parts] == [None, None, None]  # nothing loaded
    assert [sum(b.num_rows for b in p.batches) for p in parts] == [10, 10, 10]
    assert [p.metadata["backend"] for p in parts] == ["calamine"] * 3


# Header rows of the DDP raw layouts (FORMATS.md section 3), abridged where the list
# is long; each must read as ddp_xlsx and the right dataset from its headers alone.
DDP_LAYOUTS = {
    "arrests 2026": ("arrests", list(DDP_ARRESTS_2026_COLUMNS)),
    "arrests July 2025": (
        "arrests",
        [
            "Apprehension Date",
            "Apprehension State",
            "Apprehension County",
            "Apprehension AOR",
            "Final Program",
            "Final Program Group",
            "Apprehension Method",
            "Apprehension Criminality",
            "Case Status",
            "Case Category",
            "Departed Date",
            "Departure Country",
            "Final Order Yes No",
            "Final Order Date",
            "Birth Date",
            "Birth Year",
            "Citizenship Country",
            "Gender",
            "Apprehension Site Landmark",
            "Alien File Number",
            "EID Case ID",
            "EID Subject ID",
            "Unique Identifier",
        ],
    ),
    "arrests 2012-2023": (
        "arrests",
        [
            "Apprehension Date",
            "Apprehension Method",
            "Arrest Created By",
            "Case ID",
            "Subject ID",
            "Alien File Number",
            "Anonymized Identifier",
        ],
    ),
    "detainers": (
        "detainers",
        [
            "Detainer Prepare Date",
            "Facility State",
            "Facility AOR",
            "Port of Departure",
            "Departure Country",
            "Departed Date",
            "Case Status",
            "Detainer Criminality",
            "Detainer Facility",
            "Detainer Facility Code",
            "Facility City",
            "Gender",
            "Citizenship Country",
            "Apprehension Method",
            "Apprehension Date",
            "Detainer Lift Reason",
            "Detainer Type",
            "Anonymized Identifier",
        ],
    ),
    "detention stints": (
        "detention_stints",
        [
            "Stay Book In Date Time",
            "Book In Date Time",
            "Detention Facility",
            "Book Out Date Time",
            "Stay Book Out Date Time",
            "Detention Release Reason",
            "Stay Book Out Date",
            "Stay Release Reason",
            "Gender",
            "Case Status",
            "Departed Date",
            "Book In Criminality",
            "Book In AOR",
            "Anonymized Identifier",
        ],
    ),
    "removals": (
        "removals",
        [
            "Departed Date",
            "Port of Departure",
            "Departure Country",
            "Case AOR",
            "State",
            "County",
            "Case Status",
            "Gender",
            "Case Criminality",
            "Case Threat Level",
            "Processing Disposition",
            "Case Category",
            "Final Program",
            "Arresting Agency",
            "Latest Apprehension Date",
            "Final Order",
            "Anonymized Identifier",
        ],
    ),
    "encounters": (
        "encounters",
        [
            "Event Date",
            "Event Type",
            "Event Landmark",
            "Operation",
            "Encounter Threat Level",
            "Responsible AOR",
            "Responsible Site",
            "Lead Event Type",
            "Final Program",
            "Encounter Criminality",
            "Processing Disposition",
            "Birth Year",
            "Citizenship Country",
            "Gender",
            "Anonymized Identifier",
        ],
    ),
}


@pytest.mark.parametrize("layout", list(DDP_LAYOUTS))
def test_ddp_layouts_detected_from_headers(tmp_path: Path, layout: str) -> None:
    dataset, header = DDP_LAYOUTS[layout]
    path = tmp_path / "ddp.xlsx"
    row = [date(2024, 1, 2) if "Date" in h else "x" for h in header]
    preamble = [
        "SYNTHETIC",
        "ERO-LESA Statistical Tracking Unit",
        "",
        "FOIA 2025-ICFO-00001",
        "",
        "Data release (01/01/2024 - 06/30/2024)",
    ]  # names no dataset
    write_xlsx(path, [SheetSpec("Sheet1", header, [row], preamble=preamble)])
    [(part, table)] = read_all(path)
    assert (part.format, part.dataset, part.metadata["dataset_rule"]) == (
        FORMAT_DDP,
        dataset,
        "headers",
    )
    assert part.metadata["header_row"] == 7
    assert part.metadata["foia"] == "2025-ICFO-00001"
    assert table.column(SOURCE_ROW).to_pylist() == [8]


@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("backend", ["calamine", "openpyxl"])
def test_writer_strings_round_trip(tmp_path: Path, shared: bool, backend: str) -> None:
    odd = ["A & B <c>", "  leading and trailing  ", "quote \" and ' apostrophe", "ñandú 東京"]
    path = tmp_path / "odd.xlsx"
    write_xlsx(
        path,
        [
            SheetSpec(
                "Arrests",
                ["Arrest Date", "Gender", "Apprehension Landmark"],
                [[date(2020, 1, 1), "Male", s] for s in odd],
                preamble=["SYNTHETIC", "Arrests <& title>"],
            )
        ],
        shared_strings=shared,
    )
    [(part, table)] = read_all(path, backend=backend)
    assert part.metadata["title"] == "Arrests <& title>"
    assert table.column("Apprehension Landmark").to_pylist() == odd
    assert table.column(SOURCE_ROW).to_pylist() == [4, 5, 6, 7]
