"""ICE's detention statistics workbooks (``FY19-detentionstats.xlsx`` ...
``FY26_detentionStats12222025.xlsx``): official aggregate figures, not records.

One workbook holds a dozen sheets (Header, ATD, Detention, Facilities, ICLOS, bond,
semiannual, segregation, Footnotes) and each sheet several tables side by side, each
under a title. The reader finds every table by its title (``detention_titles.TITLES``,
data, never positions), reads the block under it and yields one row per published
figure: the table, the figure's fiscal year, the workbook's snapshot date, the
figure's dimensions, its value and unit, and its source (file, sheet, cell, title).
A title-like text that no entry recognizes is reported by name in
``OfficialWorkbook.unrecognized`` (the ingest result shows it), never skipped.

Cells are read with calamine (python-calamine): typed values at their true addresses
(fastexcel 0.21 neither reports where a sheet's used range starts nor keeps full float
precision when a column mixes text and numbers, and these sheets mix them everywhere).

The reader never checks or analyses the figures: icetally.analysis.official does
(printed totals against their parts).
"""

from __future__ import annotations

import calendar
import functools
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from icetally import reference
from icetally.sources.base import FormatError
from icetally.sources.detention_fields import DIMENSIONS, FIGURE_FIELDS, TOTAL_AS_NULL
from icetally.sources.detention_titles import (
    ADP,
    DAYS,
    DOLLARS,
    DOLLARS_PER_DAY,
    PEOPLE,
    PLACEMENTS,
    SHARE,
    TEXT,
    TITLES,
    TitleSpec,
)

if TYPE_CHECKING:
    import pyarrow as pa

FORMAT = "ice_detention_stats"
DATASET = "official"

# The label given to figures printed on a row without a label (reported as a warning).
UNLABELED = "(no label)"
TOTAL_LABELS = frozenset({"total", "grand total", "fy overall", "average"})

NUMBER = (int, float)

# ---------------------------------------------------------------------------- results


@dataclass
class TableFound:
    id: str
    table: str
    title: str
    sheet: str
    cell: str
    fiscal_year: int | None
    figures: int = 0


@dataclass
class OfficialWorkbook:
    """What one workbook holds: its figures (an Arrow table), the tables found by
    title, the title-like texts no entry recognized, and release facts."""

    path: Path
    fiscal_year: int | None
    snapshot: date
    snapshot_source: str
    data_through: dict[str, date]
    tables: list[TableFound]
    unrecognized: list[dict[str, str]]
    warnings: list[str]
    footnotes: list[dict[str, str]]
    figures: pa.Table

    @property
    def titles(self) -> list[str]:
        return [t.title for t in self.tables]


def __getattr__(name: str) -> Any:
    """``FIGURE_SCHEMA``, the Arrow schema of ``FIGURE_FIELDS``, made on first use (PEP
    562): importing this module (every ingest does, to recognize a workbook) then
    needs no pyarrow."""
    if name == "FIGURE_SCHEMA":
        return _figure_schema()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _figure_schema() -> pa.Schema:
    import pyarrow as pa

    types = {
        "VARCHAR": pa.string(),
        "INTEGER": pa.int32(),
        "DATE": pa.date32(),
        "DOUBLE": pa.float64(),
        "BOOLEAN": pa.bool_(),
    }
    return pa.schema([(name, types[t]) for name, t in FIGURE_FIELDS])


# ---------------------------------------------------------------------------- cells


def col_letter(c: int) -> str:
    """0 -> A, 26 -> AA."""
    s = ""
    c += 1
    while c:
        c, rem = divmod(c - 1, 26)
        s = chr(65 + rem) + s
    return s


def cell_address(r: int, c: int) -> str:
    return f"{col_letter(c)}{r + 1}"


def clean(value: Any) -> str:
    """A cell's text, whitespace collapsed (labels carry stray spaces: 'ICE  ')."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return re.sub(r"\s+", " ", str(value)).strip()


def is_number(value: Any) -> bool:
    return isinstance(value, NUMBER) and not isinstance(value, bool)


class Grid:
    """One sheet's cells at their true addresses (row/col 0-based)."""

    def __init__(self, name: str, rows: list[list[Any]]) -> None:
        self.name = name
        self.rows = rows
        self.height = len(rows)
        self.width = max((len(r) for r in rows), default=0)

    def get(self, r: int, c: int) -> Any:
        if 0 <= r < self.height:
            row = self.rows[r]
            if 0 <= c < len(row):
                v = row[c]
                return None if v == "" else v
        return None

    def text(self, r: int, c: int) -> str:
        return clean(self.get(r, c))

    def blank(self, r: int, c0: int, c1: int) -> bool:
        return all(self.get(r, c) is None for c in range(c0, c1 + 1))


def _open(path: Path) -> Any:
    import python_calamine

    try:
        return python_calamine.CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types
        raise FormatError(path, f"cannot read the workbook: {exc}") from exc


def _grid(wb: Any, name: str) -> Grid:
    sheet = wb.get_sheet_by_name(name)
    return Grid(name, sheet.to_python(skip_empty_area=False))


# ---------------------------------------------------------------------------- detection

_SIGNATURE = re.compile(r"^ICE (DETENTION DATA\b|Detention Statistics$)", re.I)


def sniff(path: Path, head: bytes = b"") -> bool:
    """True when the file is an ICE detention statistics workbook: an xlsx whose
    sheets include one titled 'ICE DETENTION DATA, FY..' (or the 'ICE Detention
    Statistics' header sheet). Content, not the file name."""
    if head and not head.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            if "xl/workbook.xml" not in zf.NameToInfo:
                return False
            # cheap first: every detention statistics workbook has a 'Detention ...'
            # sheet; a records workbook (often a million rows) is never parsed here
            names = re.findall(rb'<sheet [^>]*name="([^"]*)"', zf.read("xl/workbook.xml"))
            if not any(re.match(rb"\s*Detention\b", n, re.I) for n in names):
                return False
    except (zipfile.BadZipFile, OSError, EOFError, KeyError):
        return False
    try:
        wb = _open(path)
    except FormatError:
        return False
    return _signature_sheet(wb) is not None


def _signature_sheet(wb: Any) -> str | None:
    for name in wb.sheet_names:
        try:
            rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False, nrows=8)
        except Exception:  # a sheet calamine cannot read is simply not the signature
            continue
        for row in rows[:8]:
            for v in row[:4]:
                if isinstance(v, str) and _SIGNATURE.match(clean(v)):
                    return name
    return None


# ---------------------------------------------------------------------------- dates

_FY = re.compile(r"FY\s?(\d{4}|\d{2})(?!\d)", re.I)
_DATE = r"(\d{1,2})/(\d{1,2})/(\d{4})"
_MONTH_NAMES = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_MONTH_ABBR = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}


def fiscal_years_in(text: str) -> list[int]:
    out = []
    for m in _FY.finditer(text):
        y = int(m.group(1))
        out.append(y + 2000 if y < 100 else y)
    return out


def fiscal_year_of(d: date) -> int:
    return d.year + 1 if d.month >= 10 else d.year


def month_of(label: Any, fiscal_year: int | None) -> str | None:
    """'Oct' in FY2019 -> '2018-10'; a date cell -> its month; None if not a month."""
    if isinstance(label, datetime | date):
        return f"{label.year:04d}-{label.month:02d}"
    key = clean(label).lower()
    n = _MONTH_NAMES.get(key) or (_MONTH_ABBR.get(key[:3]) if 3 <= len(key) <= 4 else None)
    if n is None or fiscal_year is None:
        return None
    year = fiscal_year - 1 if n >= 10 else fiscal_year
    return f"{year:04d}-{n:02d}"


def _mdy(m: re.Match[str]) -> date:
    return date(int(m.group(3)), int(m.group(1)), int(m.group(2)))


def snapshot_from_name(path: Path) -> date | None:
    """FY25_detentionStats09242025.xlsx -> 2025-09-24 (MMDDYYYY in the name)."""
    m = re.search(r"(?<!\d)(\d{2})(\d{2})(20\d{2})(?!\d)", path.stem)
    if not m:
        return None
    try:
        return date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
    except ValueError:
        return None


# ---------------------------------------------------------------------------- labels

_AGENCY = re.compile(r"^(ICE|CBP)(\s+Average)?$|^(Average|Total)$", re.I)
_TECHNOLOGY = re.compile(
    r"^(GPS|SmartLI?NK|VoiceID|TR|No Tech(nology)?|Ankle Monitor|Wrist ?worn|Dual Tech(nology)?"
    r"|Veriwatch)$",
    re.I,
)
_STAY = re.compile(r"^\d+\s*-\s*\d+ Days$|^\d+\+? Days$", re.I)
_BOND_SET = re.compile(r"^Bond Set by (ICE|IJ)$", re.I)
_MEASURE_HEADERS: tuple[tuple[str, str, str], ...] = (
    (r"^Count$|^County$", "participants", PEOPLE),
    (r"^ALIP$|^Average Length in Program$", "alip", DAYS),
    (r"^Daily Tech Cost$", "daily_tech_cost", DOLLARS_PER_DAY),
    (r"^%$", "share", SHARE),
    (r"^Number of Placements$", "placements", PLACEMENTS),
    (r"Consecutive Days", "avg_consecutive_days", DAYS),
    (r"Cumulative Days", "avg_cumulative_days", DAYS),
)
_BOND_ROWS: tuple[tuple[str, str, str], ...] = (
    (r"^Total ICE Final", "final_releases", PEOPLE),
    (r"with Bond Posted$", "bond_posted", PEOPLE),
    (r"\(%\)$", "bond_posted_share", SHARE),
    (r"Average Bond Amount", "average_bond", DOLLARS),
    (r"^ALOS", "alos", DAYS),
)


def is_total(label: str) -> bool:
    return label.lower() in TOTAL_LABELS


def _measure_header(header: str) -> tuple[str, str] | None:
    for pat, measure, unit in _MEASURE_HEADERS:
        if re.search(pat, header, re.I):
            return measure, unit
    return None


def _aor_value(label: str) -> tuple[str, bool]:
    """AOR name -> code (printed text when it does not resolve; flag says so)."""
    if is_total(label):
        return "Total", True
    text = re.sub(r"\s*Area of Responsibility$", "", label, flags=re.I)
    code = reference.aor_code(text) or reference.aor_code(re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text))
    return (code, True) if code else (label, False)


# ---------------------------------------------------------------------------- reading


@dataclass
class _Context:
    path: Path
    workbook_fy: int | None
    snapshot: date
    data_through: date | None
    sheet_fy: int | None = None
    figures: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Title:
    spec: TitleSpec
    match: re.Match[str]
    r: int
    c: int
    text: str


@functools.cache
def _compiled_titles() -> list[tuple[TitleSpec, re.Pattern[str]]]:
    """The title patterns compiled, on the first workbook read rather than at import
    (56 patterns: a start-up cost for every command that imports the module)."""
    return [(spec, re.compile(spec.pattern, re.I)) for spec in TITLES]


@functools.lru_cache(maxsize=8192)  # cell texts repeat (facility lists, labels)
def _match_title(text: str) -> tuple[TitleSpec, re.Match[str]] | None:
    for spec, rx in _compiled_titles():
        m = rx.search(text)
        if m:
            return spec, m
    return None


def _figure(
    ctx: _Context,
    title: _Title,
    grid: Grid,
    r: int,
    c: int,
    value: Any,
    dims: dict[str, Any],
    *,
    measure: str,
    unit: str,
    table_fy: int | None,
    note: str | None = None,
) -> None:
    row: dict[str, Any] = {d: None for d in DIMENSIONS}
    for k, v in dims.items():
        if k in row:
            row[k] = None if v is None else str(v)
    fy = dims.get("fiscal_year")
    month = row.get("month")
    if month:
        y, mo = int(month[:4]), int(month[5:7])
        fy = y + 1 if mo >= 10 else y
    if fy is None:
        fy = table_fy
    placeholder = False
    if is_number(value):
        number: float | None = float(value)
        text = None
        if month and ctx.data_through and number == 0:
            placeholder = month > f"{ctx.data_through:%Y-%m}"
    elif isinstance(value, datetime | date):
        number, text = None, f"{value:%Y-%m-%d}"
        unit = TEXT
    else:
        # '#N/A' where a figure should be keeps its unit (a missing figure); other
        # text (inspection ratings, standards) is a text value
        number, text = None, clean(value)
        if not re.fullmatch(r"#?N/?A", text, re.I):
            unit = TEXT
    ctx.figures.append(
        {
            **row,
            "table_name": title.spec.table,
            "breakdown": title.spec.id,
            "fiscal_year": fy,
            "snapshot": ctx.snapshot,
            "measure": measure,
            "value": number,
            "value_text": text,
            "unit": unit,
            "placeholder": placeholder,
            "note": note,
            "source_file": ctx.path.name,
            "source_sheet": grid.name,
            "source_cell": cell_address(r, c),
            "title": title.text,
            "title_cell": cell_address(title.r, title.c),
        }
    )


def _title_dims(title: _Title) -> dict[str, Any]:
    """Dimensions a title states (semiannual event, segregation quarter, hearing type)."""
    spec, m, dims = title.spec, title.match, dict(title.spec.fixed)
    groups = m.groupdict()
    if groups.get("event"):
        dims["event"] = {"arrests": "arrests", "bookins": "book_ins", "removals": "removals"}[
            groups["event"].lower()
        ]
    if groups.get("quarter"):
        dims["quarter"] = f"Q{groups['quarter']}"
    if groups.get("monthname"):
        dims["month"] = f"{int(groups['year']):04d}-{_MONTH_NAMES[groups['monthname'].lower()]:02d}"
    if spec.id == "atd_court_appearance":
        dims["hearing_type"] = m.group(1).title() + " Hearings"
    return dims


def _table_fy(title: _Title, ctx: _Context) -> int | None:
    if title.match.groupdict().get("fy"):
        return int(title.match.group("fy"))
    years = fiscal_years_in(title.text)
    if years:
        return years[-1]
    return ctx.sheet_fy or ctx.workbook_fy


def _row_label_dims(
    spec: TitleSpec, dim: str, label: str, ctx: _Context, where: str
) -> dict[str, Any]:
    """One label of one row -> its dimension values."""
    if dim == "arresting_agency":
        m = _AGENCY.match(label)
        if not m:
            return {dim: label}
        return {dim: "Total" if m.group(3) else m.group(1).upper()}
    if dim == "release_reason":
        if _BOND_SET.match(label):
            return {"release_reason": "Bonded Out", "release_detail": label}
        return {"release_reason": "Total" if is_total(label) else label, "release_detail": None}
    if dim == "fiscal_year":
        years = fiscal_years_in(label)
        out: dict[str, Any] = {"fiscal_year": years[0] if years else None}
        period = re.search(r"\(([^)]*)\)|\bYTD\b", label)
        if period:
            out["period"] = period.group(1) or "YTD"
        if not years:
            ctx.warnings.append(f"{where}: row label {label!r} names no fiscal year")
        return out
    if dim == "aor":
        value, ok = _aor_value(label)
        if not ok:
            ctx.warnings.append(f"{where}: AOR {label!r} does not resolve to an AOR code")
        return {"aor": value}
    if dim == "measure":
        for pat, measure, unit in _BOND_ROWS:
            if re.search(pat, label, re.I):
                return {"measure": measure, "unit": unit}
        ctx.warnings.append(f"{where}: measure {label!r} is not a known bond measure")
        return {"measure": re.sub(r"[^0-9a-z]+", "_", label.lower()).strip("_"), "unit": PEOPLE}
    if dim == "facility_name" and is_total(label):
        return {dim: "Total"}
    if dim in TOTAL_AS_NULL:
        return {dim: None if is_total(label) else label}
    return {dim: "Total" if is_total(label) else label}


def _column_dims(
    spec: TitleSpec, header: Any, fy: int | None, row_fy: int | None
) -> tuple[dict[str, Any], str, str] | None:
    """A value column's header -> (dimensions, measure, unit); None when the header is
    not a value column."""
    text = clean(header)
    measure, unit = spec.measure, spec.unit
    if spec.columns == "month":
        if text.lower() in ("fy overall", "total"):
            return {"month": None}, measure, unit
        month = month_of(header, row_fy or fy)
        return ({"month": month}, measure, unit) if month else None
    if spec.columns == "criminality":
        return {"criminality": None if is_total(text) else text}, measure, unit
    if spec.columns == "facility_type":
        return {"facility_type": "Total" if is_total(text) else text}, measure, unit
    if spec.columns == "arresting_agency":
        m = re.match(r"^Percent (ICE|CBP)$", text, re.I)
        if m:
            return {"arresting_agency": m.group(1).upper()}, "share", SHARE
        return {"arresting_agency": "Total" if is_total(text) else text}, measure, unit
    if spec.columns == "fiscal_year":
        years = fiscal_years_in(text)
        if not years:
            return None
        dims: dict[str, Any] = {"fiscal_year": years[0]}
        if "YTD" in text.upper():
            dims["period"] = "YTD"
        return dims, measure, unit
    if spec.columns == "measure":
        mu = _measure_header(text)
        if mu is None:
            return None
        if spec.id == "atd_court_appearance" and mu[0] == "participants":
            mu = ("hearings", PEOPLE)
        return {}, mu[0], mu[1]
    return {}, measure, unit


def _right_bound(grid: Grid, titles: list[_Title], t: _Title) -> int:
    """Tables stand side by side: a block ends before the next title to its right on
    the title's row or the two below it."""
    cols = [o.c for o in titles if o is not t and t.r <= o.r <= t.r + 2 and o.c > t.c]
    return min(cols) - 1 if cols else grid.width - 1


def _is_note(text: str) -> bool:
    found = _match_title(text)
    return found is not None and found[0].table is None


Extent = tuple[int, int, int, int]  # first row, last row, first col, last col


def _read_grid(ctx: _Context, grid: Grid, t: _Title, titles: list[_Title]) -> tuple[int, Extent]:
    spec = t.spec
    c0, cmax = t.c, _right_bound(grid, titles, t)
    nlab = spec.label_dims
    fy = _table_fy(t, ctx)
    base = _title_dims(t)
    measure0 = spec.measure
    if spec.table == "releases" and re.search(r"Book Outs", t.text, re.I):
        measure0 = "final_book_outs"
    where0 = f"{ctx.path.name}, sheet {grid.name!r}, table {t.text!r}"
    # header: the first row under the title with a value header right of the labels
    hr = next(
        (
            r
            for r in range(t.r + 1, min(t.r + 4, grid.height))
            if not grid.blank(r, c0 + nlab, cmax)
        ),
        None,
    )
    if hr is None:
        ctx.warnings.append(f"{where0}: no header row under the title")
        return 0, (t.r, t.r, c0, c0)
    headers = {
        c: grid.get(hr, c) for c in range(c0 + nlab, cmax + 1) if grid.get(hr, c) is not None
    }
    body = hr + 1
    if spec.columns == "value" and any(is_number(h) for h in headers.values()):
        # a table printed without its header row (FY2025 'February 2025' segregation):
        # the row under the title is already a figure row
        ctx.warnings.append(
            f"{where0}: no header row under the title; row {hr + 1} read as figures"
        )
        headers = {c: "" for c, h in headers.items() if is_number(h)}
        body = hr
    count = 0
    group: dict[str, Any] = {}
    last_labels: list[str] = [""] * nlab
    row_kind = spec.rows
    category_event: str | None = None
    last = hr
    for r in range(body, grid.height):
        if grid.blank(r, c0, cmax):
            break
        last = r
        labels = [grid.text(r, c0 + i) for i in range(nlab)]
        cells = {c: grid.get(r, c) for c in headers}
        values = {c: v for c, v in cells.items() if v is not None}
        numeric = any(is_number(v) for v in values.values())
        first = labels[0]
        if first and _is_note(first) and not numeric:
            break
        if not values:
            if nlab == 1 and len(row_kind) > 1 and first:
                group = _row_label_dims(spec, row_kind[0], first, ctx, where0)
                continue
            break
        where = f"{where0}, row {r + 1}"
        dims: dict[str, Any] = dict(base)
        row_unit: str | None = None
        row_measure: str | None = None
        if nlab > 1:
            for i, lab in enumerate(labels):
                if lab:
                    last_labels[i] = lab
                    # a new outer label resets the inner ones
                    for j in range(i + 1, nlab):
                        last_labels[j] = labels[j] if labels[j] else ""
            for i, dim in enumerate(row_kind[:nlab]):
                lab = labels[i] if i > 0 else last_labels[0]
                if i > 0 and not lab:
                    # inner label blank: the outer row's total (release reason 'Total')
                    dims.update({dim: None} if dim in TOTAL_AS_NULL else {})
                    continue
                dims.update(_row_label_dims(spec, dim, lab, ctx, where))
        elif spec.id == "transgender_population":
            dims.update(_transgender_dims(first, category_event))
            category_event = dims.get("event") or category_event
        elif len(row_kind) > 1:
            if not first:
                ctx.warnings.append(f"{where}: figures without a row label")
                dims[row_kind[0]] = UNLABELED
            elif _is_group(spec, first):
                group = _row_label_dims(spec, row_kind[0], first, ctx, where)
                for inner in row_kind[1:]:
                    group.setdefault(inner, None)
                dims.update(group)
            else:
                dims.update(group)
                dims.update(_row_label_dims(spec, row_kind[1], first, ctx, where))
        elif row_kind:
            if not first:
                ctx.warnings.append(f"{where}: figures without a row label")
                dims[row_kind[0]] = UNLABELED
            else:
                dims.update(_row_label_dims(spec, row_kind[0], first, ctx, where))
        row_unit = dims.pop("unit", None)
        row_measure = dims.pop("measure", None) if spec.rows[:1] == ("measure",) else None
        row_fy = dims.get("fiscal_year")
        for c, v in values.items():
            col = _column_dims(spec, headers[c], fy, row_fy)
            if col is None:
                ctx.warnings.append(
                    f"{where0}: column {cell_address(hr, c)} {clean(headers[c])!r} "
                    "is not a known header; its figures are not loaded"
                )
                headers[c] = None  # warn once
                continue
            cdims, measure, unit = col
            if spec.columns != "measure" and measure == spec.measure:
                measure = measure0
            _figure(
                ctx,
                t,
                grid,
                r,
                c,
                v,
                {**dims, **cdims},
                measure=row_measure or measure,
                unit=row_unit or unit,
                table_fy=fy,
            )
            count += 1
        headers = {c: h for c, h in headers.items() if h is not None}
    return count, (t.r, last, c0, cmax)


def _is_group(spec: TitleSpec, label: str) -> bool:
    outer = spec.rows[0]
    if outer == "arresting_agency":
        return bool(_AGENCY.match(label))
    if outer == "aor":
        return not _TECHNOLOGY.match(label)
    if outer == "population":
        return not (_STAY.match(label) or is_total(label))
    return False


def _transgender_dims(label: str, event: str | None) -> dict[str, Any]:
    """The transgender tables' rows: book-ins or currently detained, with/without a
    final order, by AOR (labels differ every year)."""
    low = label.lower()
    dims: dict[str, Any] = {"category": label}
    if "book-in" in low or "book-ins" in low or "bookins" in low:
        event = "book_ins"
    elif "currently detained" in low:
        event = "currently_detained"
    dims["event"] = event
    if "without final order" in low:
        dims["final_order"] = "without"
    elif "with final order" in low:
        dims["final_order"] = "with"
    elif "area of responsibility total" in low:
        dims["aor"] = "Total"
    elif "area of responsibility" in low or label.isupper():
        value, _ = _aor_value(label)
        dims["aor"] = value
    return dims


# ---- facilities -----------------------------------------------------------------------

_FACILITY_ATTRS = {
    "name": "facility_name",
    "address": "facility_address",
    "city": "facility_city",
    "state": "facility_state",
    "zip": "facility_zip",
    "aor": "aor",
    "type detailed": "facility_type_detailed",
    "male/female": "facility_gender",
}


@functools.lru_cache(maxsize=1024)
def _facility_column(header: str) -> tuple[str, dict[str, Any], str] | None:
    """A facility list's measure column -> (measure, dims, unit)."""
    h = header
    if re.fullmatch(r"FY\s?\d+ ALOS", h, re.I):
        return "alos", {}, DAYS
    m = re.fullmatch(r"Level ([A-D])", h, re.I)
    if m:
        return "adp", {"classification_level": m.group(1).upper()}, ADP
    m = re.fullmatch(r"(Male|Female) (Crim|Non-Crim)", h, re.I)
    if m:
        crim = "Convicted Criminal" if m.group(2).lower() == "crim" else "Non-Criminal"
        return "adp", {"gender": m.group(1).title(), "criminality": crim}, ADP
    m = re.fullmatch(r"ICE Threat Level (\d)|No ICE Threat Level", h, re.I)
    if m:
        return "adp", {"threat_level": m.group(1) or "None"}, ADP
    if re.fullmatch(r"Mandatory", h, re.I):
        return "adp_mandatory", {}, ADP
    if re.fullmatch(r"Guaranteed Minimum", h, re.I):
        return "guaranteed_minimum", {}, "beds"
    return None


def _read_facilities(ctx: _Context, grid: Grid, t: _Title) -> tuple[int, Extent]:
    fy = _table_fy(t, ctx)
    hr = next(
        (
            r
            for r in range(t.r + 1, min(t.r + 12, grid.height))
            if grid.text(r, 0).lower() == "name"
            and any(grid.text(r, c).upper() == "AOR" for c in range(grid.width))
        ),
        None,
    )
    if hr is None:
        raise FormatError(
            ctx.path, "facility list without a 'Name ... AOR' header row", sheet=grid.name
        )
    headers = {c: grid.text(hr, c) for c in range(grid.width) if grid.text(hr, c)}
    attrs = {
        c: _FACILITY_ATTRS[h.lower()] for c, h in headers.items() if h.lower() in _FACILITY_ATTRS
    }
    count = 0
    last = hr
    for r in range(hr + 1, grid.height):
        filled = [c for c in range(grid.width) if grid.get(r, c) is not None]
        if len(filled) <= 2:  # blank, or a note ('[1] ...', '*The info...')
            if filled:
                continue
            if r + 1 < grid.height and grid.blank(r + 1, 0, grid.width - 1):
                break
            continue
        last = r
        dims: dict[str, Any] = {}
        for c, dim in attrs.items():
            v = grid.get(r, c)
            if v is not None:
                value = clean(v)
                if dim == "facility_zip" and value.isdigit():
                    value = value.zfill(5)
                dims[dim] = value
        for c, h in headers.items():
            if c in attrs:
                continue
            v = grid.get(r, c)
            if v is None:
                continue
            col = _facility_column(h)
            if col is None:
                measure = re.sub(r"[^0-9a-z]+", "_", h.lower()).strip("_")
                cdims, unit = {}, TEXT
            else:
                measure, cdims, unit = col
            _figure(
                ctx, t, grid, r, c, v, {**dims, **cdims}, measure=measure, unit=unit, table_fy=fy
            )
            count += 1
    return count, (t.r, last, 0, grid.width - 1)


# ---- ICLOS ---------------------------------------------------------------------------


def _read_iclos(ctx: _Context, grid: Grid, t: _Title, titles: list[_Title]) -> tuple[int, Extent]:
    spec = t.spec
    yr = next(
        (
            r
            for r in range(t.r + 1, min(t.r + 6, grid.height))
            if grid.text(r, t.c).lower().startswith("population")
        ),
        None,
    )
    if yr is None:
        ctx.warnings.append(f"{ctx.path.name}, sheet {grid.name!r}: {t.text!r} without a year row")
        return 0, (t.r, t.r, t.c, t.c)
    columns: dict[int, tuple[str, str]] = {}
    year = month = None
    for c in range(t.c + 1, grid.width):
        y, mo, pt = grid.get(yr, c), grid.text(yr + 1, c), grid.text(yr + 2, c)
        if is_number(y):
            year = int(y)
        if mo:
            month = _MONTH_NAMES.get(mo.lower())
        if pt and year and month:
            columns[c] = (f"{year:04d}-{month:02d}", pt.lower())
    end = min([o.r for o in titles if o.r > yr and o.c == t.c] or [grid.height])
    group: str | None = None
    count = 0
    for r in range(yr + 3, end):
        label = grid.text(r, t.c)
        if not label:
            continue
        values = {c: grid.get(r, c) for c in columns if grid.get(r, c) is not None}
        if not values:
            group = "Total" if is_total(label) else label
            continue
        if len(spec.rows) > 1:
            dims = {"population": group, "stay_length": None if is_total(label) else label}
        else:
            dims = {"population": "Total" if is_total(label) else label}
        for c, v in values.items():
            month_s, point = columns[c]
            _figure(
                ctx,
                t,
                grid,
                r,
                c,
                v,
                {**dims, "month": month_s, "point": point},
                measure=spec.measure,
                unit=spec.unit,
                table_fy=None,
            )
            count += 1
    return count, (t.r, end - 1, t.c, grid.width - 1)


# ---- footnotes -------------------------------------------------------------------------


def _footnotes(grid: Grid) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    section = ""
    for r in range(grid.height):
        a, b = grid.text(r, 0), grid.text(r, 1)
        if a and not b and r < 5:
            continue
        if a:
            section = a
        if b:
            out.append({"cell": cell_address(r, 1), "section": section, "text": b})
    return out


def _dates_from_footnotes(footnotes: list[dict[str, str]]) -> tuple[date | None, date | None]:
    """(ICE National Docket snapshot date, date the ADP data run through)."""
    snapshot = through = None
    for f in footnotes:
        text = f["text"]
        m = re.search(r"snapshot as (?:of\s+)?" + _DATE, text, re.I)
        if m and snapshot is None and re.search(r"National Docket", text, re.I):
            snapshot = _mdy(m)
        m = re.search(r"(?:through|thru)\s+" + _DATE, text, re.I)
        if m and through is None and re.search(r"Average Daily Population", f["section"], re.I):
            through = _mdy(m)
    return snapshot, through


# ---- title scan ----------------------------------------------------------------------


def _scan_titles(grid: Grid) -> list[_Title]:
    out = []
    for r in range(grid.height):
        for c in range(grid.width):
            v = grid.get(r, c)
            if not isinstance(v, str):
                continue
            text = clean(v)
            if len(text) < 3:
                continue
            found = _match_title(text)
            if found:
                # a multi-line title cell ('September 2024\n\nThis Segregation ...'):
                # its first line is the title, the rest a note
                first = clean(next((ln for ln in v.splitlines() if ln.strip()), v))
                out.append(_Title(found[0], found[1], r, c, first))
    return out


def _unrecognized(grid: Grid, used: set[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """Title-like texts no entry recognizes: a text cell (not inside a read table)
    with, in the rows just below, a header-like row and then figures."""
    out = []
    for r in range(grid.height):
        for c in range(grid.width):
            v = grid.get(r, c)
            if not isinstance(v, str) or (r, c) in used:
                continue
            text = clean(v)
            if len(text) < 8 or _match_title(text):
                continue
            for hr in (r + 1, r + 2):
                header = [grid.get(hr, cc) for cc in range(c, min(c + 15, grid.width))]
                if sum(1 for h in header if isinstance(h, str)) < 2:
                    continue
                body = [grid.get(hr + 1, cc) for cc in range(c, min(c + 15, grid.width))]
                if any(is_number(x) for x in body):
                    out.append((r, c, text))
                break
    return out


# ---------------------------------------------------------------------------- main


def read(path: str | Path) -> OfficialWorkbook:
    """Read one detention statistics workbook; FormatError if it is not one."""
    import pyarrow as pa

    path = Path(path)
    if not path.is_file():
        raise FormatError(path, "no such file")
    wb = _open(path)
    signature = _signature_sheet(wb)
    if signature is None:
        raise FormatError(
            path,
            "not an ICE detention statistics workbook: no sheet titled "
            "'ICE DETENTION DATA, FY..' (or 'ICE Detention Statistics')",
        )
    grids = {name: _grid(wb, name) for name in wb.sheet_names}
    footnotes: list[dict[str, str]] = []
    for name, g in grids.items():
        if name.strip().lower() == "footnotes":
            footnotes = _footnotes(g)
    docket, through = _dates_from_footnotes(footnotes)
    workbook_fy = None
    for g in grids.values():
        for r in range(min(g.height, 8)):
            m = re.match(r"^ICE DETENTION DATA,\s*(.*)", g.text(r, 0), re.I)
            if m and fiscal_years_in(m.group(1)):
                workbook_fy = fiscal_years_in(m.group(1))[-1]
    if workbook_fy is None and fiscal_years_in(path.stem):
        workbook_fy = fiscal_years_in(path.stem)[0]
    snapshot = snapshot_from_name(path)
    source = "file name"
    if snapshot is None and docket is not None:
        snapshot, source = docket, "Footnotes: ICE National Docket snapshot date"
    if snapshot is None and through is not None:
        snapshot, source = through, "Footnotes: data through date"
    if snapshot is None:
        raise FormatError(
            path, "no snapshot date: none in the file name (MMDDYYYY) nor in the Footnotes"
        )
    ctx = _Context(path=path, workbook_fy=workbook_fy, snapshot=snapshot, data_through=through)
    tables: list[TableFound] = []
    unrecognized: list[dict[str, str]] = []
    for name, grid in grids.items():
        if name.strip().lower() in ("footnotes", "header"):
            continue
        titles = _scan_titles(grid)
        ctx.sheet_fy = None
        for t in titles:
            if t.spec.id == "sheet_title" and fiscal_years_in(t.text):
                ctx.sheet_fy = fiscal_years_in(t.text)[-1]
        used: set[tuple[int, int]] = {(t.r, t.c) for t in titles}
        for t in titles:
            if t.spec.table is None:
                continue
            if t.spec.layout == "facilities":
                n, extent = _read_facilities(ctx, grid, t)
            elif t.spec.layout == "iclos":
                n, extent = _read_iclos(ctx, grid, t, titles)
            else:
                n, extent = _read_grid(ctx, grid, t, titles)
            r0, r1, c0, c1 = extent
            used.update((r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1))
            tables.append(
                TableFound(
                    id=t.spec.id,
                    table=t.spec.table,
                    title=t.text,
                    sheet=name,
                    cell=cell_address(t.r, t.c),
                    fiscal_year=_table_fy(t, ctx),
                    figures=n,
                )
            )
            if n == 0:
                ctx.warnings.append(
                    f"{path.name}, sheet {name!r}: table {t.text!r} at "
                    f"{cell_address(t.r, t.c)} yielded no figures"
                )
        for r, c, text in _unrecognized(grid, used):
            unrecognized.append({"sheet": name, "cell": cell_address(r, c), "title": text})
    figures = pa.Table.from_pylist(ctx.figures, schema=_figure_schema())
    return OfficialWorkbook(
        path=path,
        fiscal_year=workbook_fy,
        snapshot=snapshot,
        snapshot_source=source,
        data_through={"adp": through} if through else {},
        tables=tables,
        unrecognized=unrecognized,
        warnings=ctx.warnings,
        footnotes=footnotes,
        figures=figures,
    )


def read_many(paths: Iterable[str | Path]) -> list[OfficialWorkbook]:
    return [read(p) for p in paths]


__all__ = [
    "DATASET",
    "DIMENSIONS",
    "FIGURE_FIELDS",
    "FORMAT",
    "OfficialWorkbook",
    "TableFound",
    "cell_address",
    "read",
    "sniff",
]
