"""Workbook (xlsx) releases: ERO-LESA FOIA workbooks and Deportation Data Project raw
releases.

How a workbook is read
----------------------
1. **Scan** (cheap, no cell data): the workbook's sheet list and, for every sheet, the
   first rows of its XML, streamed straight out of the zip (shared strings are
   resolved only for the cells seen). This finds each sheet's header row *by content*
   (``headers.looks_like_header``, or ``is_header_row``'s variant for ERO-LESA sheets
   whose only date is 'Departed Date' or that have no date), its preamble and title,
   its dimension (a row hint for progress bars), and which sheets hold no
   records at all ("Summary", "Footnotes", anything without a recognizable header):
   their text becomes release metadata of every data part, which is why it is read
   before any data sheet is streamed.
2. **Load one data sheet at a time**, when its part's batches are first iterated, with
   fastexcel (calamine) eagerly and every column as text (``dtypes="string"``,
   ``eager=True``). fastexcel 0.21 has no chunked or record-batch API, and ``n_rows``
   still parses the whole sheet, so one parse per sheet is the floor; the eager path
   borrows shared strings instead of copying every cell, and measured on 1M x 25 it
   peaks at ~1.66 GB against ~1.94 GB for a plain ``load_sheet(...).to_arrow()``.
   The sheet's Arrow batch is handed out as zero-copy slices of ``BATCH_ROWS`` rows
   (only date cells are rewritten per slice) and released when the batches are
   exhausted or closed: never a second full copy; one sheet at a time as long as the
   parts are consumed one after the other.
3. **Fallback**: when calamine rejects the workbook (the Seattle 2018 workbook's
   dimension record ``ref="1:1416"`` fails with "Range is missing the expected column
   component"), its sheets are streamed with openpyxl in read-only mode after
   ``ws.reset_dimensions()``; ``metadata["calamine_error"]`` says why.

Cell text: a date cell becomes ``YYYY-MM-DD`` (``YYYY-MM-DD HH:MM:SS[.fff]`` when it
has a time of day), numbers plain (``1985``, ``1.5``, never ``1985.0`` or exponents),
booleans ``true``/``false``, strings exactly as stored (redactions untouched).
``source_row`` is the Excel row number (1-based, preamble included). Rows with no
non-blank cell are not records: they are skipped and counted in
``metadata["blank_rows"]``; values in a column with no header are not dropped
silently but counted and listed in ``metadata["stray_cells"]`` (both final once the
part's batches are exhausted).

Which format and dataset
------------------------
- ``ddp_xlsx`` when the header holds a Deportation Data Project column: a person
  identifier ('Anonymized Identifier', 'Unique Identifier') or one of 'TOA Current
  Duty AOR', 'EID Case ID', 'EID Subject ID', 'Arrest Created By'. ERO-LESA FOIA
  workbooks carry none of these (no person identifier at all). Otherwise
  ``ero_lesa_xlsx``.
- The dataset is the one the sheet's title line (the last preamble line) names, when it
  names exactly one (arrests, encounters, removals, detainers, book-ins/detention);
  else the one the sheet's name names; else ``headers.detect_dataset`` (with the
  workbook-only rules 'Book In Date' -> detention_stints, 'Departed Date' ->
  removals, 'Event Area of Responsibility' -> encounters). The title goes first
  because ICE's own label is the least ambiguous fact: the Seattle 2018 removals
  sheets carry only an 'Arrest Date', which the header rules would call arrests.
  Each sheet is one ``Part``; a dataset continued on further sheets is several
  parts of the same dataset.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree.ElementTree import iterparse

import fastexcel
import pyarrow as pa
import pyarrow.compute as pc

from icetally.sources.base import SOURCE_ROW, FormatError, Part
from icetally.sources.headers import (
    HEADER_FIELDS,
    coverage_from_title,
    detect_dataset,
    header_key,
    looks_like_header,
    map_headers,
)

BATCH_ROWS = 65_536
# Excel's own limits: a cell reference beyond them is a forged or broken sheet.
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
# Decompressed size a workbook may claim: a sheet of Excel's full height and ~25
# columns is ~0.5 GB of XML and compresses ~10x. A part past this, or past
# MAX_INFLATION times the file's size, is refused as a zip bomb before any of it is
# inflated (override with $ICETALLY_XLSX_MAX_BYTES).
MAX_UNCOMPRESSED = 2 << 30
MAX_INFLATION = 100
HEAD_ROWS = 40  # rows scanned for a header (preambles run 5-6 rows in practice)
NOTE_ROWS = 2_000  # rows of a metadata sheet kept as text
FORMAT_ERO = "ero_lesa_xlsx"
FORMAT_DDP = "ddp_xlsx"

DDP_MARKERS = frozenset(
    {
        "anonymized_identifier",
        "unique_identifier",
        "toa_current_duty_aor",
        "eid_case_id",
        "eid_subject_id",
        "arrest_created_by",
    }
)

EXPECTED_HEADER = (
    "expected, within the first {n} rows of a sheet, a header row with at least two "
    "known column names, one of them a date (e.g. 'Apprehension Date', 'Arrest Date', "
    "'Event Date', 'Book In Date', 'Departed Date', 'Detainer Prepare Date')"
)

_DATE_FIELDS = frozenset(
    {"event_date", "departed_date", "removal_date", "book_out_date", "latest_apprehension_date"}
)

# Words in a title or sheet name that name a dataset.
_DATASET_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("arrests", re.compile(r"\barrests?\b", re.I)),
    ("encounters", re.compile(r"\bencounters?\b", re.I)),
    ("removals", re.compile(r"\bremovals?\b", re.I)),
    ("detainers", re.compile(r"\bdetainers?\b", re.I)),
    ("detention_stints", re.compile(r"\bbook[- ]?ins?\b|\bdetention (stays?|stints?)\b", re.I)),
)

_FOIA = re.compile(r"\b\d{4}-IC[A-Z]{2}-\d+\b")
_MIDNIGHT = re.compile(r"^(\d{4}-\d{2}-\d{2}) 00:00:00$")
_CELL_REF = re.compile(r"^([A-Z]+)(\d+)$")


def _rel_id(el: Any) -> str:
    """The sheet's r:id, whatever the relationships namespace (transitional or strict)."""
    for key, value in el.attrib.items():
        if key.endswith("}id") and "relationships" in key:
            return str(value)
    return str(el.get("id", ""))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _col_letter(index: int) -> str:
    out = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def _named_dataset(text: str | None) -> str | None:
    """The dataset a title or sheet name names, if it names exactly one."""
    if not text:
        return None
    named = {ds for ds, rx in _DATASET_WORDS if rx.search(text)}
    return named.pop() if len(named) == 1 else None


def is_header_row(cells: Sequence[object]) -> bool:
    """``headers.looks_like_header``, or (workbooks only) a row of three or more text
    cells naming known headers, two of them when one is a date column and three
    otherwise: ERO-LESA removals sheets have 'Departed Date' as their only date and
    the 2018 Seattle encounters sheets have no date column at all."""
    if looks_like_header(list(cells)):
        return True
    keys = [header_key(c) for c in cells if isinstance(c, str) and c.strip()]
    known = [HEADER_FIELDS[k] for k in keys if k in HEADER_FIELDS]
    if len(keys) < 3:
        return False
    return len(known) >= 3 or (len(known) >= 2 and bool(_DATE_FIELDS & set(known)))


def _dataset_from_headers(headers: list[str]) -> str | None:
    found = detect_dataset(headers)
    if found is not None:
        return found
    keys = {header_key(h) for h in headers}
    if "book_in_date" in keys:
        return "detention_stints"
    if "departed_date" in keys and "apprehension_method" not in keys:
        return "removals"
    if {"event_area_of_responsibility", "event_landmark", "responsible_aor"} & keys:
        return "encounters"
    return None


def choose_dataset(headers: list[str], title: str | None, sheet: str) -> tuple[str | None, str]:
    """(dataset, which rule decided): the title, the sheet name, then the headers."""
    by_title = _named_dataset(title)
    if by_title:
        return by_title, "title"
    by_sheet = _named_dataset(sheet)
    if by_sheet:
        return by_sheet, "sheet name"
    return _dataset_from_headers(headers), "headers"


def choose_format(headers: list[str]) -> str:
    keys = {header_key(h) for h in headers}
    return FORMAT_DDP if keys & DDP_MARKERS else FORMAT_ERO


# --------------------------------------------------------------------------------------
# Cell text, shared by both back ends so a workbook reads the same either way.


def _float_text(v: float) -> str:
    if v != v or v in (float("inf"), float("-inf")):
        return str(v)
    if v.is_integer():
        return str(int(v))
    return format(Decimal(repr(v)), "f")  # positional, like calamine: 1e-07 -> 0.0000001


def _datetime_text(v: datetime) -> str:
    if v.hour == v.minute == v.second == v.microsecond == 0:
        return f"{v:%Y-%m-%d}"
    text = f"{v:%Y-%m-%d %H:%M:%S}"
    if v.microsecond:
        text += f".{v.microsecond // 1000:03d}"
    return text


def cell_text(v: object) -> str | None:
    """One cell as text (openpyxl values; mirrors fastexcel's string rendering)."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _float_text(v)
    if isinstance(v, datetime):
        return _datetime_text(v)
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, time):
        return v.isoformat()
    if isinstance(v, timedelta):
        return str(v)
    return str(v)


def _blank(v: str | None) -> bool:
    return v is None or not v.strip()


# --------------------------------------------------------------------------------------
# Scan: sheet list and head rows straight from the package XML.


@dataclass
class _Cell:
    kind: str  # 's' shared-string index, 'v' literal text
    value: str


@dataclass
class SheetHead:
    """What the scan learned about one sheet."""

    name: str
    part: str  # zip member of the sheet XML
    state: str = "visible"
    rows: list[tuple[int, dict[int, str]]] = field(default_factory=list)  # (excel row, col->text)
    last_row: int | None = None  # from the dimension record, when it has one
    header_at: int | None = None  # index into rows
    truncated: bool = False  # more rows than were scanned
    bad_ref: str | None = None  # a dimension or cell reference beyond Excel's limits

    @property
    def header_row(self) -> int | None:
        return self.rows[self.header_at][0] if self.header_at is not None else None

    def header_cells(self) -> dict[int, str]:
        return self.rows[self.header_at][1] if self.header_at is not None else {}

    def lines(self, upto: int | None = None) -> list[str]:
        """Text of each non-empty row (cells joined by a space) before row ``upto``."""
        out = []
        for rn, cells in self.rows:
            if upto is not None and rn >= upto:
                break
            texts = [cells[c].strip() for c in sorted(cells) if cells[c].strip()]
            if texts:
                out.append(" ".join(texts))
        return out

    def table(self) -> list[list[str | None]]:
        """Non-empty rows as lists of cell text (for a Summary sheet)."""
        out: list[list[str | None]] = []
        for _, cells in self.rows:
            if not any(v.strip() for v in cells.values()):
                continue
            width = max(cells) + 1
            out.append([cells.get(i) for i in range(width)])
        return out


def _resolve(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    parts: list[str] = []
    for piece in (PurePosixPath(base).parent / target).parts:
        if piece == "..":
            if parts:
                parts.pop()
        elif piece != ".":
            parts.append(piece)
    return "/".join(parts)


def _workbook_parts(zf: zipfile.ZipFile) -> tuple[list[SheetHead], str | None]:
    """Sheets in workbook order (name, XML member, visibility) and the shared-strings
    member."""
    rels: dict[str, tuple[str, str]] = {}
    rels_name = "xl/_rels/workbook.xml.rels"
    if rels_name in zf.NameToInfo:
        with zf.open(rels_name) as fh:
            for _, el in iterparse(fh):
                if _local(el.tag) == "Relationship":
                    rels[el.get("Id", "")] = (
                        el.get("Type", ""),
                        _resolve("xl/workbook.xml", el.get("Target", "")),
                    )
    sheets: list[SheetHead] = []
    with zf.open("xl/workbook.xml") as fh:
        for _, el in iterparse(fh):
            if _local(el.tag) == "sheet":
                rid = _rel_id(el)
                target = rels.get(rid, ("", ""))[1]
                if not target:
                    continue  # a chart sheet or a dangling entry: no cells to read
                sheets.append(
                    SheetHead(
                        name=el.get("name", ""), part=target, state=el.get("state", "visible")
                    )
                )
    sst = next((t for typ, t in rels.values() if typ.endswith("/sharedStrings")), None)
    if sst is None and "xl/sharedStrings.xml" in zf.NameToInfo:
        sst = "xl/sharedStrings.xml"
    return sheets, sst


def _scan_sheet(
    zf: zipfile.ZipFile, head: SheetHead, max_rows: int
) -> list[tuple[int, dict[int, _Cell]]]:
    """The first ``max_rows`` rows of the sheet that hold a value, as (Excel row
    number, column -> cell), shared strings unresolved. Sets ``head.last_row`` from
    the dimension record and ``head.truncated``."""
    out: list[tuple[int, dict[int, _Cell]]] = []
    head.truncated = False
    if head.part not in zf.NameToInfo:
        return out
    row_no = 0
    with zf.open(head.part) as fh:
        for _, el in iterparse(fh, events=("end",)):
            tag = _local(el.tag)
            if tag == "dimension":
                ref = el.get("ref", "")
                for letters, digits in re.findall(r"([A-Za-z]+)(\d*)", ref):
                    if not _ref_ok(letters.upper(), digits or None):
                        head.bad_ref = ref[:40]
                        return out
                m = re.search(r"(\d+)\s*$", ref)
                head.last_row = int(m.group(1)) if m else None
            elif tag == "row":
                r = el.get("r")
                row_no = int(r) if r and r.isdigit() else row_no + 1
                if row_no > EXCEL_MAX_ROWS:
                    head.bad_ref = f"row {r}"[:40]
                    return out
                cells: dict[int, _Cell] = {}
                col = -1
                for c in el:
                    if _local(c.tag) != "c":
                        continue
                    ref = c.get("r")
                    m = _CELL_REF.match(ref) if ref else None
                    if m and not _ref_ok(m.group(1), m.group(2)):
                        head.bad_ref = ref[:40]
                        return out
                    col = _col_index(m.group(1)) if m else col + 1
                    cell = _cell_of(c)
                    if cell is not None:
                        cells[col] = cell
                el.clear()  # keep memory flat on wide, styled rows
                if cells:
                    if len(out) >= max_rows:
                        head.truncated = True
                        break
                    out.append((row_no, cells))
            elif tag == "sheetData":
                break
    return out


def _cell_of(c: Any) -> _Cell | None:
    t = c.get("t", "n")
    v = None
    text_parts: list[str] = []
    for child in c:
        name = _local(child.tag)
        if name == "v":
            v = child.text or ""
        elif name == "is":
            text_parts.extend(x.text or "" for x in child.iter() if _local(x.tag) == "t")
    if t == "inlineStr":
        return _Cell("v", "".join(text_parts)) if text_parts else None
    if v is None:
        return None
    if t == "s":
        return _Cell("s", v)
    if t == "b":
        return _Cell("v", "true" if v.strip() in ("1", "true") else "false")
    if t in ("str", "e"):
        return _Cell("v", v)
    try:  # numbers print as fastexcel prints them
        return _Cell("v", _float_text(float(v)))
    except ValueError:
        return _Cell("v", v)


def _shared_strings(zf: zipfile.ZipFile, member: str | None, wanted: set[int]) -> dict[int, str]:
    """Only the shared strings whose index is in ``wanted``; stops reading the table
    at the last one (the table of a 1M-row release holds a million identifiers)."""
    out: dict[int, str] = {}
    if not wanted or member is None or member not in zf.NameToInfo:
        return out
    last = max(wanted)
    i = 0
    with zf.open(member) as fh:
        for _, el in iterparse(fh, events=("end",)):
            if _local(el.tag) != "si":
                continue
            if i in wanted:
                # rich text runs concatenate; phonetic hints (rPh) are not text
                texts = []
                for child in el:
                    name = _local(child.tag)
                    if name == "t":
                        texts.append(child.text or "")
                    elif name == "r":
                        texts.extend(x.text or "" for x in child if _local(x.tag) == "t")
                out[i] = "".join(texts)
            el.clear()
            i += 1
            if i > last:
                break
    return out


def _wanted(raws: list[list[tuple[int, dict[int, _Cell]]]]) -> set[int]:
    return {
        int(c.value)
        for raw in raws
        for _, cells in raw
        for c in cells.values()
        if c.kind == "s" and c.value.isdigit()
    }


def _resolve_rows(
    raw: list[tuple[int, dict[int, _Cell]]], strings: dict[int, str]
) -> list[tuple[int, dict[int, str]]]:
    return [
        (
            rn,
            {
                col: strings.get(int(c.value), "") if c.kind == "s" else c.value
                for col, c in cells.items()
            },
        )
        for rn, cells in raw
    ]


def _find_header(head: SheetHead, limit: int) -> int | None:
    return next(
        (i for i, (_, cells) in enumerate(head.rows[:limit]) if is_header_row(_row_list(cells))),
        None,
    )


def scan_workbook(path: Path, head_rows: int = HEAD_ROWS) -> list[SheetHead]:
    """Every sheet's first rows (as text), header row and dimension, read from the
    package XML without loading any sheet. Sheets without a header are read further
    (up to NOTE_ROWS rows), since their text is kept as metadata."""
    try:
        with zipfile.ZipFile(path) as zf:
            if "xl/workbook.xml" not in zf.NameToInfo:
                raise FormatError(path, "a zip file but not an xlsx workbook (no xl/workbook.xml)")
            _check_sizes(path, zf)
            sheets, sst = _workbook_parts(zf)
            raws = [_scan_sheet(zf, sh, head_rows) for sh in sheets]
            for sh in sheets:
                _check_extent(path, sh)
            strings = _shared_strings(zf, sst, _wanted(raws))
            for sh, raw in zip(sheets, raws, strict=True):
                sh.rows = _resolve_rows(raw, strings)
                sh.header_at = _find_header(sh, head_rows)
            more = [sh for sh in sheets if sh.header_at is None and sh.truncated]
            if more:
                raws = [_scan_sheet(zf, sh, NOTE_ROWS) for sh in more]
                strings = _shared_strings(zf, sst, _wanted(raws))
                for sh, raw in zip(more, raws, strict=True):
                    sh.rows = _resolve_rows(raw, strings)
    except FormatError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise FormatError(
            path, f"not a readable xlsx workbook (corrupt or truncated zip: {exc})"
        ) from exc
    except Exception as exc:  # zlib.error, XML ParseError, KeyError of a broken package
        raise FormatError(
            path, f"not a readable xlsx workbook ({type(exc).__name__}: {exc})"
        ) from exc
    return sheets


def _check_sizes(path: Path, zf: zipfile.ZipFile) -> None:
    """Refuse a zip bomb from the sizes the package declares, before inflating it (a
    part whose real size exceeds its declared one fails the zip reader's own check)."""
    limit = int(os.environ.get("ICETALLY_XLSX_MAX_BYTES") or MAX_UNCOMPRESSED)
    total = sum(i.file_size for i in zf.infolist())
    size = max(path.stat().st_size, 1)
    biggest = max(zf.infolist(), key=lambda i: i.file_size, default=None)
    if biggest is None:
        return
    if total > limit or total > MAX_INFLATION * size + (64 << 20):
        raise FormatError(
            path,
            f"the workbook inflates to {total:,} bytes ({total // size:,} times its size; "
            f"part {biggest.filename!r} alone {biggest.file_size:,}), over the "
            f"{min(limit, MAX_INFLATION * size + (64 << 20)):,}-byte limit: refused as a "
            "possible zip bomb (set ICETALLY_XLSX_MAX_BYTES to read a real one this big)",
        )


def _check_extent(path: Path, sheet: SheetHead) -> None:
    """A dimension or cell reference beyond Excel's limits is refused (it would make
    a reader allocate for billions of cells)."""
    if sheet.last_row is not None and sheet.last_row > EXCEL_MAX_ROWS:
        raise FormatError(
            path,
            f"the sheet claims {sheet.last_row:,} rows; Excel has at most {EXCEL_MAX_ROWS:,}",
            sheet=sheet.name,
        )
    if sheet.bad_ref:
        raise FormatError(
            path,
            f"cell reference {sheet.bad_ref!r} is beyond Excel's limits "
            f"({EXCEL_MAX_COLUMNS:,} columns, {EXCEL_MAX_ROWS:,} rows)",
            sheet=sheet.name,
        )


def _ref_ok(letters: str, digits: str | None) -> bool:
    if len(letters) > 3 or _col_index(letters) >= EXCEL_MAX_COLUMNS:
        return False
    return digits is None or int(digits) <= EXCEL_MAX_ROWS


def _row_list(cells: dict[int, str]) -> list[str | None]:
    if not cells:
        return []
    return [cells.get(i) for i in range(max(cells) + 1)]


# --------------------------------------------------------------------------------------
# The reader

STRAY_EXAMPLES = 100  # stray cells listed in metadata (all are counted)


@dataclass
class _DataSheet:
    head: SheetHead
    columns: list[str]  # header text per kept column, de-duplicated
    col_index: list[int]  # sheet column of each
    dataset: str
    dataset_rule: str
    fmt: str
    title: str | None
    preamble: list[str]


def _header_columns(cells: dict[int, str]) -> tuple[list[str], list[int]]:
    """Named header cells (stripped, de-duplicated) and their sheet columns."""
    names: list[str] = []
    idx: list[int] = []
    seen: set[str] = set()
    for col in sorted(cells):
        text = cells[col].strip()
        if not text:
            continue
        name, i = text, 2
        while name in seen:
            name, i = f"{text}_{i}", i + 1
        seen.add(name)
        names.append(name)
        idx.append(col)
    return names, idx


class _Backend:
    """Which library reads the workbook's cells. Shared by the parts of one read, so
    once calamine rejects the workbook the remaining sheets go straight to openpyxl."""

    def __init__(self, path: Path, choice: str) -> None:
        self.path = path
        self.choice = choice  # auto | calamine | openpyxl
        self.reason: str | None = None  # why calamine was given up

    def give_up_calamine(self, exc: Exception, sheet: str) -> None:
        if self.choice == "calamine":
            raise FormatError(
                self.path, f"calamine cannot read the sheet: {exc}", sheet=sheet
            ) from exc
        self.choice = "openpyxl"
        self.reason = str(exc).splitlines()[0]


class WorkbookReader:
    """ERO-LESA FOIA workbooks and Deportation Data Project raw xlsx releases.

    ``backend``: 'auto' (fastexcel; openpyxl when calamine rejects the workbook),
    'calamine' or 'openpyxl' (the tests compare the two).

    Parts are cheap to create: a sheet is loaded when its batches are first iterated
    and released when they are exhausted (or closed), so consuming parts one after the
    other holds one sheet at a time, whether or not the parts were listed first.
    """

    name = "xlsx"

    def __init__(self, backend: str = "auto", batch_rows: int = BATCH_ROWS) -> None:
        if backend not in ("auto", "calamine", "openpyxl"):
            raise ValueError(f"unknown backend {backend!r}")
        self.backend = backend
        self.batch_rows = batch_rows

    def sniff(self, path: Path, head: bytes) -> bool:
        """A zip whose package has xl/workbook.xml. A zip that cannot be opened is
        claimed too, so a truncated workbook gets a workbook error, not 'unknown
        format'."""
        if not head.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(path) as zf:
                return "xl/workbook.xml" in zf.NameToInfo
        except (zipfile.BadZipFile, OSError, EOFError):
            return True

    def plan(self, path: Path) -> tuple[list[_DataSheet], dict[str, Any]]:
        """Which sheets hold records (and how), and the workbook's metadata text."""
        path = Path(path)
        sheets = scan_workbook(path)
        data: list[_DataSheet] = []
        notes: dict[str, Any] = {"workbook_sheets": [s.name for s in sheets]}
        other: dict[str, list[list[str | None]]] = {}
        for sh in sheets:
            if sh.header_at is None:
                low = sh.name.lower().strip()
                if "footnote" in low or low in ("notes", "note"):
                    notes.setdefault("footnotes", []).extend(sh.lines())
                elif "summary" in low:
                    notes["summary"] = sh.table()
                elif sh.rows:
                    other[sh.name] = sh.table()
                continue
            columns, col_index = _header_columns(sh.header_cells())
            preamble = sh.lines(upto=sh.header_row)
            title = preamble[-1] if preamble else None
            dataset, rule = choose_dataset(columns, title, sh.name)
            if dataset is None:
                other[sh.name] = sh.table()
                continue
            data.append(
                _DataSheet(
                    head=sh,
                    columns=columns,
                    col_index=col_index,
                    dataset=dataset,
                    dataset_rule=rule,
                    fmt=choose_format(columns),
                    title=title,
                    preamble=preamble,
                )
            )
        if other:
            notes["other_sheets"] = other
        if not data:
            names = ", ".join(repr(s.name) for s in sheets) or "none"
            raise FormatError(
                path,
                "no sheet has a recognizable header row; "
                + EXPECTED_HEADER.format(n=HEAD_ROWS)
                + f" (sheets: {names})",
            )
        return data, notes

    def read(self, path: Path) -> Iterator[Part]:
        path = Path(path)
        data, notes = self.plan(path)
        backend = _Backend(path, self.backend)
        for ds in data:
            meta = self._metadata(ds, notes, data)
            start, end = coverage_from_title(ds.title or "")
            last = ds.head.last_row
            header_row = ds.head.header_row or 0
            yield Part(
                format=ds.fmt,
                dataset=ds.dataset,
                columns=list(ds.columns),
                fields=map_headers(ds.columns, ds.dataset),
                batches=self._batches(path, backend, ds, meta),
                sheet=ds.head.name,
                metadata=meta,
                coverage_start=start,
                coverage_end=end,
                # from the dimension record: a hint for progress bars, not a count
                rows_hint=last - header_row if last and last > header_row else None,
            )

    def _metadata(
        self, ds: _DataSheet, notes: dict[str, Any], data: list[_DataSheet]
    ) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "sheet": ds.head.name,
            "title": ds.title,
            "preamble": ds.preamble,
            "header_row": ds.head.header_row,
            "dataset_rule": ds.dataset_rule,
            "dataset_sheets": [d.head.name for d in data if d.dataset == ds.dataset],
            # completed while the batches are read:
            "backend": None,
            "blank_rows": 0,
            "stray_cells": {"count": 0, "examples": []},
        }
        foia = _FOIA.search(" ".join(ds.preamble))
        if foia:
            meta["foia"] = foia.group()
        if ds.head.state != "visible":
            meta["sheet_state"] = ds.head.state
        meta.update(notes)
        return meta

    def _batches(
        self, path: Path, backend: _Backend, ds: _DataSheet, meta: dict[str, Any]
    ) -> Iterator[pa.RecordBatch]:
        if backend.choice != "openpyxl":
            gen = None
            excel = None
            try:
                excel = fastexcel.read_excel(str(path))
                # one parse of the whole sheet, every cell as text, shared strings
                # borrowed (eager) rather than copied per cell
                rb = excel.load_sheet(ds.head.name, header_row=None, dtypes="string", eager=True)
            except fastexcel.FastExcelError as exc:
                backend.give_up_calamine(exc, ds.head.name)
            else:
                meta["backend"] = "calamine"
                gen = _calamine_batches(path, rb, ds, self.batch_rows, meta)
                del rb  # the generator holds the only reference now
            excel = None  # the open workbook (and its shared strings) is not needed
            if gen is not None:
                yield from gen
                return
        meta["backend"] = "openpyxl"
        if backend.reason:
            meta["calamine_error"] = backend.reason
        yield from _openpyxl_batches(path, ds, self.batch_rows, meta)


def _stray(meta: dict[str, Any], row: int, col: int, value: str) -> None:
    """A value in a column with no header: reported, never silently dropped."""
    stray = meta["stray_cells"]
    stray["count"] += 1
    if len(stray["examples"]) < STRAY_EXAMPLES:
        stray["examples"].append({"row": row, "column": _col_letter(col), "value": value})


def _align(rb: pa.RecordBatch, head: SheetHead) -> tuple[int, int]:
    """Excel row of the batch's first row and sheet column of its first column.

    calamine's range starts at the first row and column holding a value, and fastexcel
    drops leading empty rows; the scan saw the real row numbers, so find the offsets at
    which the cells holding values in the first rows agree (a cell calamine reads as
    empty, such as an error value, may be missing on its side, never extra).
    """
    if not head.rows:
        raise ValueError("the sheet has no cells")
    scanned = {rn: frozenset(cells) for rn, cells in head.rows}
    first_scanned, last_scanned = head.rows[0][0], head.rows[-1][0]
    span = min(rb.num_rows, last_scanned - first_scanned + 1, 4 * HEAD_ROWS)
    top = rb.slice(0, span)
    values = [top.column(j).to_pylist() for j in range(top.num_columns)]
    arrow_rows = [
        frozenset(j for j in range(len(values)) if values[j][i] is not None) for i in range(span)
    ]
    min_col = min(min(c) for c in scanned.values() if c)
    header_row = head.header_row
    for first_col in range(min_col, -1, -1):
        for start in sorted(scanned):
            ok = True
            for i, pattern in enumerate(arrow_rows):
                rn = start + i
                if rn > last_scanned:
                    break
                expect = frozenset(c - first_col for c in scanned.get(rn, frozenset()))
                if not pattern <= expect or (rn == header_row and pattern != expect):
                    ok = False
                    break
            if ok:
                return start, first_col
    raise ValueError(
        "cannot match calamine's rows to the sheet's row numbers (source_row would be wrong)"
    )


def _fix_dates(col: pa.Array) -> pa.Array:
    """'2012-01-01 00:00:00' -> '2012-01-01' (a date cell with no time of day)."""
    if col.null_count == len(col):
        return col
    mask = pc.ends_with(col, " 00:00:00")
    if not pc.any(mask).as_py():
        return col
    return pc.replace_substring_regex(col, pattern=_MIDNIGHT.pattern, replacement=r"\1")


def _blank_mask(arrays: list[pa.Array]) -> pa.Array | None:
    """True where every cell of the row is null or whitespace; None if no such row."""
    blank = None
    for a in arrays:
        b = pc.fill_null(pc.match_substring_regex(a, r"^\s*$"), True)
        blank = b if blank is None else pc.and_(blank, b)
        if not pc.any(blank).as_py():
            return None
    return blank


def _calamine_batches(
    path: Path, rb: pa.RecordBatch, ds: _DataSheet, size: int, meta: dict[str, Any]
) -> Iterator[pa.RecordBatch]:
    """Zero-copy slices of the loaded sheet; ``rb`` is released when this ends."""
    try:
        try:
            first_row, first_col = _align(rb, ds.head)
        except ValueError as exc:
            raise FormatError(path, str(exc), sheet=ds.head.name) from exc
        data_start = (ds.head.header_row or 0) - first_row + 1
        if data_start < 0:
            raise FormatError(
                path,
                f"calamine starts the sheet at row {first_row}, below its header row "
                f"{ds.head.header_row}: the sheet's cells and its row numbers disagree",
                sheet=ds.head.name,
            )
        total = rb.num_rows
        sources = [c - first_col for c in ds.col_index]
        sources_ok = [s if 0 <= s < rb.num_columns else None for s in sources]
        stray = [j for j in range(rb.num_columns) if j not in set(sources)]
        names = [*ds.columns, SOURCE_ROW]
        for lo in range(data_start, total, size):
            n = min(size, total - lo)
            arrays: list[pa.Array] = []
            for s in sources_ok:
                if s is None:  # a header over a column calamine saw no value in
                    arrays.append(pa.nulls(n, pa.string()))
                    continue
                a = rb.column(s).slice(lo, n)
                if a.type != pa.string():
                    a = a.cast(pa.string())
                arrays.append(_fix_dates(a))
            rows = pa.array(range(first_row + lo, first_row + lo + n), type=pa.int64())
            for j in stray:
                a = rb.column(j).slice(lo, n)
                if a.null_count < n:
                    for i, v in enumerate(a.to_pylist()):
                        if v is not None and v.strip():
                            _stray(meta, first_row + lo + i, j + first_col, v)
            batch = pa.RecordBatch.from_arrays([*arrays, rows], names=names)
            blank = _blank_mask(arrays) if arrays else None
            if blank is not None:
                meta["blank_rows"] += pc.sum(blank).as_py() or 0
                batch = batch.filter(pc.invert(blank))
            if batch.num_rows:
                yield batch
    finally:
        del rb  # the only reference: the sheet's memory goes with it


def _openpyxl_batches(
    path: Path, ds: _DataSheet, size: int, meta: dict[str, Any]
) -> Iterator[pa.RecordBatch]:
    """Stream a sheet with openpyxl read-only, after ``reset_dimensions()`` since the
    dimension record may be the broken part."""
    import openpyxl

    sheet = ds.head.name
    header_row = ds.head.header_row or 0
    names = [*ds.columns, SOURCE_ROW]
    picks = list(ds.col_index)
    named = set(picks)
    buf: list[list[str | None]] = [[] for _ in picks]
    rows: list[int] = []

    def flush() -> pa.RecordBatch:
        arrays = [pa.array(b, type=pa.string()) for b in buf]
        batch = pa.RecordBatch.from_arrays([*arrays, pa.array(rows, type=pa.int64())], names=names)
        for b in buf:
            b.clear()
        rows.clear()
        return batch

    rn = 0
    pending_blank = 0  # empty rows count only between records, as calamine sees them
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken packages
        raise FormatError(
            path, f"not a readable xlsx workbook ({type(exc).__name__}: {exc})"
        ) from exc
    try:
        ws = book[sheet]
        ws.reset_dimensions()
        for rn, values in enumerate(ws.iter_rows(values_only=True), 1):
            if rn <= header_row:
                continue
            texts = [cell_text(v) for v in values]
            if all(_blank(t) for t in texts):
                if any(t is not None for t in texts):
                    meta["blank_rows"] += 1
                else:
                    pending_blank += 1
                continue
            meta["blank_rows"] += pending_blank
            pending_blank = 0
            for i, t in enumerate(texts):
                if i not in named and t is not None and t.strip():
                    _stray(meta, rn, i, t)
            for b, i in zip(buf, picks, strict=True):
                b.append(texts[i] if i < len(texts) else None)
            rows.append(rn)
            if len(rows) >= size:
                yield flush()
        if rows:
            yield flush()
    except FormatError:
        raise
    except Exception as exc:  # zlib/XML errors deep inside a damaged sheet
        raise FormatError(
            path, f"cannot read past row {rn}: {type(exc).__name__}: {exc}", sheet=sheet
        ) from exc
    finally:
        book.close()


READERS: list[WorkbookReader] = [WorkbookReader()]

__all__ = [
    "BATCH_ROWS",
    "DDP_MARKERS",
    "FORMAT_DDP",
    "FORMAT_ERO",
    "READERS",
    "SheetHead",
    "WorkbookReader",
    "cell_text",
    "choose_dataset",
    "choose_format",
    "coverage_from_title",
    "is_header_row",
    "scan_workbook",
]
