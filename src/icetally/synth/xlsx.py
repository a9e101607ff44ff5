"""A small, fast, streaming xlsx writer and a synthetic DDP 2026 arrests workbook.

Why not openpyxl/xlsxwriter: a 1,000,000-row x 25-column benchmark workbook must be
written in well under a minute and without holding the rows in memory. SpreadsheetML
is just XML in a zip, so rows are streamed straight into a deflate stream; strings go
to a shared-strings table (as Excel itself writes them, which is what calamine and
openpyxl are tuned for), dates become serial numbers with a date style.

Every workbook ``write_ddp_arrests_2026`` writes says in its preamble that it is
SYNTHETIC: random values in the layout of a real release, never real records.
"""

from __future__ import annotations

import random
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

Cell = str | int | float | bool | date | datetime | None

EXCEL_MAX_ROWS = 1_048_576  # rows per sheet, header and preamble included
EXCEL_MAX_COLS = 16_384
_EPOCH = datetime(1899, 12, 30)
_EPOCH_DATE = _EPOCH.date()

# XML 1.0 forbids most control characters; Excel escapes them as _xHHHH_.
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

STYLE_DATE = 1  # cellXfs index: numFmtId 14 (m/d/yyyy)
STYLE_DATETIME = 2  # cellXfs index: numFmtId 22 (m/d/yy h:mm)


def _xml_text(s: str) -> str:
    s = _BAD_XML.sub(lambda m: f"_x{ord(m.group()):04X}_", s)
    return escape(s)


def _t_element(s: str) -> str:
    # leading/trailing whitespace is only kept with xml:space="preserve"
    if s and (s[0].isspace() or s[-1].isspace()):
        return f'<t xml:space="preserve">{_xml_text(s)}</t>'
    return f"<t>{_xml_text(s)}</t>"


def column_letter(index: int) -> str:
    """0 -> 'A', 25 -> 'Z', 26 -> 'AA'."""
    out = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def excel_serial(value: date | datetime) -> float | int:
    """Excel's 1900 date system serial number (days since 1899-12-30)."""
    if isinstance(value, datetime):
        delta = value - _EPOCH
        return delta.days + delta.seconds / 86400 + delta.microseconds / 86_400_000_000
    return (value - _EPOCH_DATE).days


@dataclass
class SheetSpec:
    """One table to write: preamble lines, a header row, then the rows.

    Rows past ``max_data_rows`` continue on a new sheet named by ``continuation``
    (``{name}`` and ``{n}``, n = 2, 3, ...), which repeats the preamble and header.
    By default a sheet holds as many data rows as Excel allows below the preamble
    and header (1,048,575 with no preamble).
    """

    name: str
    header: Sequence[str]
    rows: Iterable[Sequence[Cell]]
    preamble: Sequence[str] = ()
    max_data_rows: int | None = None
    continuation: str = "{name} ({n})"

    def data_rows_per_sheet(self) -> int:
        fits = EXCEL_MAX_ROWS - len(self.preamble) - 1
        if self.max_data_rows is None:
            return fits
        if not 1 <= self.max_data_rows <= fits:
            raise ValueError(f"max_data_rows must be between 1 and {fits}")
        return self.max_data_rows


class _Strings:
    """Shared-strings table: each distinct string is written (and escaped) once."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.count = 0  # references, for the sst count attribute

    def ref(self, s: str) -> int:
        self.count += 1
        i = self.index.get(s)
        if i is None:
            i = self.index[s] = len(self.index)
        return i

    def xml(self) -> Iterator[str]:
        yield (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            f'count="{self.count}" uniqueCount="{len(self.index)}">'
        )
        for s in self.index:  # dicts keep insertion order = index order
            yield f"<si>{_t_element(s)}</si>"
        yield "</sst>"


_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    "<sheetData>"
)
_SHEET_TAIL = "</sheetData></worksheet>"


class _SheetWriter:
    """Formats rows of one sheet as SpreadsheetML and streams them out."""

    def __init__(self, strings: _Strings | None, width: int) -> None:
        self.strings = strings
        self.letters = [column_letter(i) for i in range(max(width, 1))]

    def _grow(self, width: int) -> None:
        if width > EXCEL_MAX_COLS:
            raise ValueError(f"row has {width} cells; a sheet holds at most {EXCEL_MAX_COLS}")
        self.letters.extend(column_letter(i) for i in range(len(self.letters), width))

    def row_xml(self, rn: int, row: Sequence[Cell]) -> str:
        if len(row) > len(self.letters):
            self._grow(len(row))
        letters = self.letters
        strings = self.strings
        parts = [f'<row r="{rn}">']
        append = parts.append
        for i, v in enumerate(row):
            if v is None:
                continue
            ref = letters[i]
            t = type(v)
            if t is str:
                if strings is not None:
                    append(f'<c r="{ref}{rn}" t="s"><v>{strings.ref(v)}</v></c>')
                else:
                    append(f'<c r="{ref}{rn}" t="inlineStr"><is>{_t_element(v)}</is></c>')
            elif t is int:
                append(f'<c r="{ref}{rn}"><v>{v}</v></c>')
            elif t is date:
                append(f'<c r="{ref}{rn}" s="{STYLE_DATE}"><v>{excel_serial(v)}</v></c>')
            elif t is datetime:
                append(f'<c r="{ref}{rn}" s="{STYLE_DATETIME}"><v>{excel_serial(v)!r}</v></c>')
            elif t is float:
                append(f'<c r="{ref}{rn}"><v>{v!r}</v></c>')
            elif t is bool:
                append(f'<c r="{ref}{rn}" t="b"><v>{int(v)}</v></c>')
            else:  # subclasses (numpy scalars, str subclasses): normalize once
                append(self._other(ref, rn, v))
        append("</row>")
        return "".join(parts)

    def _other(self, ref: str, rn: int, v: object) -> str:
        if isinstance(v, bool):
            return f'<c r="{ref}{rn}" t="b"><v>{int(v)}</v></c>'
        if isinstance(v, datetime):
            return f'<c r="{ref}{rn}" s="{STYLE_DATETIME}"><v>{excel_serial(v)!r}</v></c>'
        if isinstance(v, date):
            return f'<c r="{ref}{rn}" s="{STYLE_DATE}"><v>{excel_serial(v)}</v></c>'
        if isinstance(v, int):
            return f'<c r="{ref}{rn}"><v>{int(v)}</v></c>'
        if isinstance(v, float):
            return f'<c r="{ref}{rn}"><v>{float(v)!r}</v></c>'
        s = str(v)
        if self.strings is not None:
            return f'<c r="{ref}{rn}" t="s"><v>{self.strings.ref(s)}</v></c>'
        return f'<c r="{ref}{rn}" t="inlineStr"><is>{_t_element(s)}</is></c>'


def _write_sheet(
    zf: zipfile.ZipFile,
    part_name: str,
    writer: _SheetWriter,
    preamble: Sequence[str],
    header: Sequence[str],
    rows: Iterator[Sequence[Cell]],
    limit: int,
) -> tuple[int, bool]:
    """Write one sheet; returns (data rows written, whether rows remain)."""
    written = 0
    more = True
    buf: list[str] = [_SHEET_HEAD]
    with zf.open(part_name, "w", force_zip64=True) as out:
        rn = 0
        for line in preamble:
            rn += 1
            buf.append(writer.row_xml(rn, [line] if line else []))
        rn += 1
        buf.append(writer.row_xml(rn, list(header)))
        for row in rows:
            rn += 1
            buf.append(writer.row_xml(rn, row))
            written += 1
            if len(buf) >= 2048:  # amortize the deflate call over many rows
                out.write("".join(buf).encode())
                buf.clear()
            if written >= limit:
                break
        else:
            more = False
        buf.append(_SHEET_TAIL)
        out.write("".join(buf).encode())
    return written, more


def _content_types(n_sheets: int, shared: bool) -> str:
    sheets = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, n_sheets + 1)
    )
    sst = (
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        if shared
        else ""
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/'
        'vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/docProps/core.xml" ContentType="application/'
        'vnd.openxmlformats-package.core-properties+xml"/>'
        f"{sheets}{sst}</Types>"
    )


_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/'
    'relationships/metadata/core-properties" Target="docProps/core.xml"/>'
    "</Relationships>"
)

_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="22" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _workbook_xml(names: list[str]) -> str:
    sheets = "".join(
        f'<sheet name={quoteattr(n)} sheetId="{i}" r:id="rId{i}"/>' for i, n in enumerate(names, 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f"<sheets>{sheets}</sheets></workbook>"
    )


def _workbook_rels(n_sheets: int, shared: bool) -> str:
    rels = [
        f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/'
        f'2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, n_sheets + 1)
    ]
    rels.append(
        f'<Relationship Id="rId{n_sheets + 1}" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/styles" Target="styles.xml"/>'
    )
    if shared:
        rels.append(
            f'<Relationship Id="rId{n_sheets + 2}" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f"{''.join(rels)}</Relationships>"
    )


def _core_xml(title: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
        'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:title>{_xml_text(title)}</dc:title><dc:creator>icetally.synth</dc:creator>"
        "</cp:coreProperties>"
    )


def write_xlsx(
    path: str | Path,
    sheets: Iterable[SheetSpec],
    *,
    shared_strings: bool = True,
    compresslevel: int = 1,
    title: str = "",
) -> dict[str, int]:
    """Stream ``sheets`` into an xlsx file; returns data rows written per sheet name.

    ``compresslevel`` 1 keeps writing fast; the files are still ~10x smaller than the
    XML. ``shared_strings=False`` writes inline strings instead.
    """
    path = Path(path)
    strings = _Strings() if shared_strings else None
    names: list[str] = []
    counts: dict[str, int] = {}
    tmp = path.with_name(path.name + ".part")
    with zipfile.ZipFile(
        tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel
    ) as zf:
        for spec in sheets:
            limit = spec.data_rows_per_sheet()
            rows = iter(spec.rows)
            writer = _SheetWriter(strings, len(spec.header))
            n = 1
            while True:
                name = spec.name if n == 1 else spec.continuation.format(name=spec.name, n=n)
                if len(name) > 31 or name in names:
                    raise ValueError(f"sheet name {name!r} is too long or repeated")
                names.append(name)
                written, more = _write_sheet(
                    zf,
                    f"xl/worksheets/sheet{len(names)}.xml",
                    writer,
                    spec.preamble,
                    spec.header,
                    rows,
                    limit,
                )
                counts[name] = written
                if not more:
                    break
                # only open a continuation sheet if a row is really left
                try:
                    first = next(rows)
                except StopIteration:
                    break
                rows = _chain_one(first, rows)
                n += 1
        if not names:
            raise ValueError("a workbook needs at least one sheet")
        if strings is not None:
            with zf.open("xl/sharedStrings.xml", "w", force_zip64=True) as out:
                buf: list[str] = []
                for piece in strings.xml():
                    buf.append(piece)
                    if len(buf) >= 4096:
                        out.write("".join(buf).encode())
                        buf.clear()
                out.write("".join(buf).encode())
        zf.writestr("[Content_Types].xml", _content_types(len(names), shared_strings))
        zf.writestr("_rels/.rels", _ROOT_RELS)
        zf.writestr("docProps/core.xml", _core_xml(title))
        zf.writestr("xl/workbook.xml", _workbook_xml(names))
        zf.writestr("xl/_rels/workbook.xml.rels", _workbook_rels(len(names), shared_strings))
        zf.writestr("xl/styles.xml", _STYLES)
    tmp.replace(path)  # never leave a half-written workbook under the real name
    return counts


def _chain_one(first: Sequence[Cell], rest: Iterator[Sequence[Cell]]) -> Iterator[Sequence[Cell]]:
    yield first
    yield from rest


# --------------------------------------------------------------------------------------
# Deportation Data Project, 2026 arrests layout (FORMATS.md section 3)

DDP_ARRESTS_2026_COLUMNS: tuple[str, ...] = (
    "Apprehension Date",
    "Apprehension Type",
    "State",
    "County",
    "TOA Current Duty AOR",
    "Apprehension Final Program",
    "Arresting Agency",
    "Apprehension Method",
    "Apprehension Criminality",
    "Case Status",
    "Case Category",
    "Departure Country",
    "Final Order Yes No",
    "Birth Date",
    "Birth Year",
    "Citizenship Country",
    "Gender",
    "Departed Date",
    "Final Order Date",
    "Apprehension Site Landmark",
    "Operation",
    "TOA Current Duty Site",
    "Case Criminality",
    "Case Threat Level",
    "Anonymized Identifier",
)

# AOR code -> (AOR name, field office city, [(state, [counties])]). A plausible subset
# of each AOR's territory; the demo issue calibrates weights against real releases.
_AORS: dict[str, tuple[str, str, list[tuple[str, list[str]]]]] = {
    "ATL": (
        "Atlanta",
        "ATLANTA",
        [
            ("GEORGIA", ["FULTON", "GWINNETT", "COBB"]),
            ("NORTH CAROLINA", ["MECKLENBURG", "WAKE"]),
            ("SOUTH CAROLINA", ["GREENVILLE"]),
        ],
    ),
    "BAL": ("Baltimore", "BALTIMORE", [("MARYLAND", ["BALTIMORE", "MONTGOMERY"])]),
    "BOS": (
        "Boston",
        "BURLINGTON",
        [("MASSACHUSETTS", ["SUFFOLK", "MIDDLESEX"]), ("CONNECTICUT", ["HARTFORD"])],
    ),
    "BUF": ("Buffalo", "BUFFALO", [("NEW YORK", ["ERIE", "MONROE"])]),
    "CHI": (
        "Chicago",
        "BROADVIEW",
        [
            ("ILLINOIS", ["COOK", "DUPAGE", "LAKE"]),
            ("INDIANA", ["MARION"]),
            ("WISCONSIN", ["MILWAUKEE"]),
        ],
    ),
    "DAL": (
        "Dallas",
        "DALLAS",
        [("TEXAS", ["DALLAS", "TARRANT", "COLLIN"]), ("OKLAHOMA", ["OKLAHOMA", "TULSA"])],
    ),
    "DEN": ("Denver", "AURORA", [("COLORADO", ["DENVER", "ARAPAHOE"]), ("WYOMING", ["LARAMIE"])]),
    "DET": ("Detroit", "DETROIT", [("MICHIGAN", ["WAYNE", "KENT"]), ("OHIO", ["FRANKLIN"])]),
    "ELP": ("El Paso", "EL PASO", [("TEXAS", ["EL PASO"]), ("NEW MEXICO", ["DONA ANA"])]),
    "HOU": ("Houston", "HOUSTON", [("TEXAS", ["HARRIS", "FORT BEND", "MONTGOMERY"])]),
    "LOS": (
        "Los Angeles",
        "LOS ANGELES",
        [("CALIFORNIA", ["LOS ANGELES", "ORANGE", "SAN BERNARDINO"])],
    ),
    "MIA": ("Miami", "MIRAMAR", [("FLORIDA", ["MIAMI-DADE", "BROWARD", "ORANGE"])]),
    "NEW": ("Newark", "NEWARK", [("NEW JERSEY", ["ESSEX", "HUDSON", "MIDDLESEX"])]),
    "NOL": (
        "New Orleans",
        "NEW ORLEANS",
        [("LOUISIANA", ["ORLEANS", "JEFFERSON"]), ("TENNESSEE", ["DAVIDSON"])],
    ),
    "NYC": ("New York City", "NEW YORK", [("NEW YORK", ["KINGS", "QUEENS", "BRONX"])]),
    "PHI": ("Philadelphia", "PHILADELPHIA", [("PENNSYLVANIA", ["PHILADELPHIA", "LANCASTER"])]),
    "PHO": ("Phoenix", "PHOENIX", [("ARIZONA", ["MARICOPA", "PIMA"])]),
    "SEA": ("Seattle", "TUKWILA", [("WASHINGTON", ["KING", "YAKIMA"]), ("OREGON", ["MULTNOMAH"])]),
    "SFR": ("San Francisco", "SAN FRANCISCO", [("CALIFORNIA", ["ALAMEDA", "SANTA CLARA"])]),
    "SLC": ("Salt Lake City", "WEST VALLEY CITY", [("UTAH", ["SALT LAKE"]), ("NEVADA", ["CLARK"])]),
    "SNA": ("San Antonio", "SAN ANTONIO", [("TEXAS", ["BEXAR", "TRAVIS", "HIDALGO"])]),
    "SND": ("San Diego", "SAN DIEGO", [("CALIFORNIA", ["SAN DIEGO", "IMPERIAL"])]),
    "SPM": (
        "St. Paul",
        "FORT SNELLING",
        [("MINNESOTA", ["HENNEPIN", "RAMSEY"]), ("IOWA", ["POLK"])],
    ),
    "WAS": ("Washington", "CHANTILLY", [("VIRGINIA", ["FAIRFAX", "PRINCE WILLIAM"])]),
}
_AOR_WEIGHTS: dict[str, float] = {
    "ATL": 9,
    "BAL": 2,
    "BOS": 3,
    "BUF": 1,
    "CHI": 5,
    "DAL": 10,
    "DEN": 3,
    "DET": 3,
    "ELP": 3,
    "HOU": 11,
    "LOS": 6,
    "MIA": 8,
    "NEW": 3,
    "NOL": 7,
    "NYC": 3,
    "PHI": 3,
    "PHO": 5,
    "SEA": 2,
    "SFR": 2,
    "SLC": 4,
    "SNA": 7,
    "SND": 2,
    "SPM": 2,
    "WAS": 3,
}
_METHODS: dict[str, float] = {
    "CAP Local Incarceration": 40,
    "CAP State Incarceration": 7,
    "CAP Federal Incarceration": 3,
    "287(g) Program": 10,
    "Non-Custodial Arrest": 14,
    "Located": 11,
    "Probation and Parole": 2,
    "Other efforts": 2,
    "ERO Reprocessed Arrest": 3,
    "Law Enforcement Agency Response Unit": 3,
    "Worksite Enforcement": 1,
    "Traffic Check": 1,
    "Inspections - Land": 1,
}
_CRIMINALITY: dict[str, float] = {
    "1 Convicted Criminal": 45,
    "2 Pending Criminal Charges": 25,
    "3 Other Immigration Violator": 30,
}
_PROGRAMS: dict[str, float] = {
    "ERO Criminal Alien Program": 50,
    "287(g) Program": 10,
    "Fugitive Operations": 15,
    "Non-Detained Docket Control": 12,
    "Detained Docket Control": 5,
    "Alternatives to Detention": 4,
    "Mobile Criminal Alien Team": 4,
}
_COUNTRIES: dict[str, float] = {
    "MEXICO": 45,
    "GUATEMALA": 12,
    "HONDURAS": 11,
    "EL SALVADOR": 6,
    "VENEZUELA": 5,
    "COLOMBIA": 3,
    "ECUADOR": 3,
    "NICARAGUA": 2,
    "CUBA": 2,
    "HAITI": 1.5,
    "DOMINICAN REPUBLIC": 1.5,
    "BRAZIL": 1,
    "INDIA": 1,
    "PERU": 0.8,
    "CHINA, PEOPLES REPUBLIC OF": 0.7,
    "KOREA, SOUTH": 0.2,
    "BURMA": 0.1,
    "ROMANIA": 0.3,
    "JAMAICA": 0.5,
    "UNKNOWN": 0.4,
}
_CASE_STATUS: dict[str, float] = {
    "ACTIVE": 45,
    "8-Excluded/Removed - Inadmissible": 20,
    "6-Deported/Removed - Deportability": 20,
    "A-Proved": 5,
    "9-VR Witnessed": 3,
    "B-Relief Granted": 2,
    "E-Terminated": 5,
}
_CASE_CATEGORY: dict[str, float] = {
    "[16] Reinstated Final Order": 20,
    "[8G] Expedited Removal - Credible Fear Referral": 8,
    "[8F] Expedited Removal": 8,
    "[3] Deportable - Administratively Final Order": 12,
    "[11] Deportable - Under Adjudication by IJ": 30,
    "[8C] Excludable / Inadmissible - Administrative Final Order Issued": 8,
    "[10] Visa Waiver Deportation / Removal": 2,
    "[1A] Voluntary Departure - Un-Expired": 2,
}
_GENDER: dict[str, float] = {"Male": 86, "Female": 13.5, "Unknown": 0.5}
_REDACTED_BIRTH = "(b)(6), (b)(7)(C)"


def _picker(rng: random.Random, table: dict[str, float]) -> Callable[[], str]:
    keys = list(table)
    cum: list[float] = []
    total = 0.0
    for k in keys:
        total += table[k]
        cum.append(total)

    def pick() -> str:
        return rng.choices(keys, cum_weights=cum)[0]

    return pick


def ddp_arrests_2026_rows(
    rows: int,
    *,
    seed: int = 0,
    start: date = date(2023, 9, 1),
    end: date = date(2026, 3, 10),
    weekday_factor: float = 0.55,
    repeat_share: float = 0.08,
) -> Iterator[tuple[Cell, ...]]:
    """Random arrest rows in DDP_ARRESTS_2026_COLUMNS order, sorted by date.

    Weekends get ``weekday_factor`` of a weekday's arrests; ``repeat_share`` of rows
    reuse an earlier person's identifier (people are arrested more than once).
    """
    rng = random.Random(seed)
    days = (end - start).days + 1
    weights = [
        weekday_factor if (start + timedelta(d)).weekday() >= 5 else 1.0 for d in range(days)
    ]
    # rows per day drawn up front (sorted output, no need to hold the rows)
    day_of_row = sorted(rng.choices(range(days), weights=weights, k=rows))
    aor = _picker(rng, _AOR_WEIGHTS)
    method = _picker(rng, _METHODS)
    criminality = _picker(rng, _CRIMINALITY)
    program = _picker(rng, _PROGRAMS)
    country = _picker(rng, _COUNTRIES)
    status = _picker(rng, _CASE_STATUS)
    category = _picker(rng, _CASE_CATEGORY)
    gender = _picker(rng, _GENDER)
    ids: list[str] = []
    for d in day_of_row:
        when = start + timedelta(d)
        code = aor()
        name, city, places = _AORS[code]
        state, counties = rng.choice(places)
        county = rng.choice(counties)
        m = method()
        crim = criminality()
        final_order = rng.random() < 0.45
        departed = final_order and rng.random() < 0.6
        departed_date = when + timedelta(rng.randint(1, 120)) if departed else None
        citizen = country()
        if ids and rng.random() < repeat_share:
            person = rng.choice(ids)
        else:
            person = f"{rng.getrandbits(64):016x}"
            if len(ids) < 200_000:
                ids.append(person)
        landmark = (
            f"{code} {county} COUNTY JAIL"
            if m.startswith(("CAP", "287"))
            else f"{code} NON-SPECIFIC"
            if rng.random() < 0.6
            else f"{city} AREA"
        )
        yield (
            when,
            "Administrative Arrest" if rng.random() < 0.97 else "Criminal Arrest",
            state,
            county,
            f"{name} Area of Responsibility",
            program(),
            "ERO" if rng.random() < 0.9 else "Border Patrol",
            m,
            crim,
            status(),
            category(),
            citizen if departed else None,
            "YES" if final_order else "NO",
            _REDACTED_BIRTH,
            rng.randint(1950, 2008),
            citizen,
            gender(),
            departed_date,
            when - timedelta(rng.randint(0, 3000)) if final_order else None,
            landmark,
            "(b)(7)(E)" if rng.random() < 0.05 else None,
            f"{city}, {code} FIELD OFFICE",
            crim if rng.random() < 0.9 else criminality(),
            rng.choice((1, 2, 3)) if rng.random() < 0.7 else None,
            person,
        )


def synthetic_preamble(n: int, *, seed: int, start: date, end: date, what: str) -> list[str]:
    """``n`` preamble lines in the ERO-LESA style; the first says SYNTHETIC, the last
    is a title stating coverage (parsed like a real one)."""
    if n < 1:
        raise ValueError("a synthetic workbook needs at least one preamble row to say so")
    title = (
        f"SYNTHETIC {what} ({start:%m/%d/%Y} - {end:%m/%d/%Y}) - random values, not real records"
    )
    lines = [
        "SYNTHETIC DATA - NOT REAL ENFORCEMENT RECORDS",
        f"Generated by icetally.synth (seed {seed}) in the layout of a Deportation Data "
        "Project raw release",
        "Every value in this workbook is random; no person, event or count is real",
        "",
    ]
    if n == 1:
        return [lines[0] + f" - {title}"]
    body = lines[: n - 1]
    body += [""] * (n - 1 - len(body))
    return [*body, title]


def write_ddp_arrests_2026(
    path: str | Path,
    rows: int,
    seed: int = 0,
    preamble: int = 6,
    *,
    start: date = date(2023, 9, 1),
    end: date = date(2026, 3, 10),
    max_data_rows: int | None = None,
    sheet_name: str = "Arrests",
    shared_strings: bool = True,
) -> dict[str, int]:
    """Write a SYNTHETIC workbook in the DDP 2026 arrests layout (25 columns).

    Returns data rows per sheet. ``max_data_rows`` splits into more sheets earlier than
    Excel's row limit (for tests).
    """
    lines = synthetic_preamble(
        preamble, seed=seed, start=start, end=end, what="ERO Administrative Arrests"
    )
    spec = SheetSpec(
        name=sheet_name,
        header=DDP_ARRESTS_2026_COLUMNS,
        rows=ddp_arrests_2026_rows(rows, seed=seed, start=start, end=end),
        preamble=lines,
        max_data_rows=max_data_rows,
    )
    return write_xlsx(
        path,
        [spec],
        shared_strings=shared_strings,
        title="SYNTHETIC DDP-layout arrests (random values, not real records)",
    )
