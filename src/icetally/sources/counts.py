"""Count tables: daily counts per area, not records (docs/counts.md).

Researchers often publish the releases as aggregate tables, e.g. daily ICE arrests per
state computed from the Deportation Data Project release. Two layouts, CSV (any
delimiter, gzip or not) or xlsx, recognized by content:

- **long**: a date column, one area column (``aor``, ``state``, ``county``...) and one
  count column (``n``, ``count``, ``arrests``...), nothing else but an unnamed
  row-number column (R's ``write.csv``);
- **wide**: a date column and one count column per area, every header naming an area
  of one kind: states (``TEXAS``, ``Texas``, ``TX``), AORs (``Chicago``, ``CHI``) or
  counties (5-digit FIPS ``17031``).

The cells must be whole numbers or a "not reported" token (``NA``, blank...). Each cell
becomes one row: the date, the area as released and the count, mapped to the fields
``event_date``, ``aor``/``state``/``county`` and ``count`` (normalization puts the
count in ``n``, which every count and series sums). A cell not reported is a row with
no count: normalization quarantines it with its line ("count not reported"), and the
day is left out of that area's coverage (never a zero). A wide header that names no
area of the table's kind is a FormatError naming it; so is a table whose headers name
areas of two kinds equally well (``WASHINGTON``: a state and an AOR), which
``--columns HEADER=count:KIND`` settles.

Readers never normalize: the area text is kept as released (``state`` = ``TEXAS``);
normalization resolves it to ``state_abbr`` = ``TX``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from icetally import reference
from icetally.normalize.rules import NULL_TOKENS
from icetally.schema import DATASETS
from icetally.sources.base import SOURCE_ROW, FormatError, Part, TextScan
from icetally.sources.headers import HEADER_FIELDS, header_key
from icetally.vocabulary import AREAS

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "AREA_FIELDS",
    "CountTable",
    "Layout",
    "area_code",
    "layout_of",
]

# The raw field an area of each kind is released in (normalization resolves it).
AREA_FIELDS: dict[str, str] = {"aor": "aor", "state": "state", "county": "county"}
# Headers of a long table's area column, by kind ("area": the kind from its values).
_AREA_HEADERS: dict[str, str | None] = {
    **{k: f for k, f in HEADER_FIELDS.items() if f in ("aor", "state", "county")},
    "area": None,
    "county_fips": "county",
    "fips": "county",
    "geoid": "county",
    "state_abbr": "state",
    "state_code": "state",
    "state_name": "state",
}
# Headers of a date column.
_DATE_HEADERS = {
    k for k, f in HEADER_FIELDS.items() if f in ("event_date", "departed_date", "removal_date")
} | {"day", "encounter_date", "book_in_date", "detainer_date"}
# Headers of a count column, and the dataset they name (None: they name none).
_COUNT_HEADERS: dict[str, str | None] = {
    "n": None,
    "count": None,
    "counts": None,
    "total": None,
    "value": None,
    **{
        f"{prefix}{word}": ds
        for ds, words in (
            ("arrests", ("arrests", "arrest")),
            ("encounters", ("encounters", "encounter")),
            ("removals", ("removals", "removal")),
            ("detainers", ("detainers", "detainer")),
            ("detention_stints", ("book_ins", "book_in")),
        )
        for word in words
        for prefix in ("", "n_", "num_", "number_of_")
    },
}
# An unnamed first column (R's row names, pandas' index) is not a count.
_ROW_NUMBER_HEADERS = {"column", "x", "unnamed_0", "rownames", "row_names", "index", "row"}
# Words in the date or count header that name the dataset.
_DATASET_WORDS = (
    ("arrests", ("apprehension", "arrest")),
    ("encounters", ("encounter",)),
    ("removals", ("departed", "removal", "departure")),
    ("detainers", ("detainer",)),
    ("detention_stints", ("book_in",)),
)

_COUNT_CELL = re.compile(r"\s*\d[\d,]*(\.0*)?\s*")
_DATE_CELL = re.compile(r"\s*(\d{4}-\d{1,2}-\d{1,2}([ T][\d:.]+)?|\d{1,2}/\d{1,2}/\d{2,4})\s*")
_SERIAL_CELL = re.compile(r"\s*\d{5}(\.0*)?\s*")  # an xlsx date cell as its serial number
SAMPLE_ROWS = 50  # data rows the content check reads
NOT_REPORTED_TOKENS = frozenset(t.upper() for t in NULL_TOKENS) | {"-", "."}


@cache
def _county_codes() -> frozenset[str]:
    return frozenset(c.fips for c in reference.counties())


def area_code(kind: str, text: str | None) -> str | None:
    """The code of an area named ``text`` as an area of ``kind`` (None if it names none):
    state names, postal codes or FIPS; AOR names or codes; 5-digit county FIPS."""
    if text is None or not str(text).strip():
        return None
    text = str(text).strip()
    if kind == "state":
        return reference.state_abbr(text)
    if kind == "aor":
        return reference.aor_code(text)
    if kind == "county":
        digits = text.zfill(5) if text.isdigit() and len(text) == 4 else text
        return digits if digits in _county_codes() else None
    raise ValueError(f"unknown area kind {kind!r}; expected one of {', '.join(AREAS)}")


def _not_reported(cell: str | None) -> bool:
    return cell is None or cell.strip().upper() in NOT_REPORTED_TOKENS


def _count_like(cell: str | None) -> bool:
    return _not_reported(cell) or bool(_COUNT_CELL.fullmatch(cell or ""))


def _mostly_counts(cells: Sequence[str | None]) -> bool:
    """Cells of count columns: whole numbers or not reported, bar a few bad cells
    (which are quarantined later, with their line): at least 9 in 10, one a number."""
    numbers = sum(1 for c in cells if c is not None and _COUNT_CELL.fullmatch(c))
    like = sum(1 for c in cells if _count_like(c))
    return numbers > 0 and like >= 0.9 * len(cells)


def _date_like(cell: str | None, serials: bool) -> bool:
    if cell is None:
        return False
    return bool(_DATE_CELL.fullmatch(cell) or (serials and _SERIAL_CELL.fullmatch(cell)))


@dataclass
class Layout:
    """How a count table is laid out (columns by index into the header)."""

    form: str  # "long" or "wide"
    kind: str  # area kind: aor, state or county
    date_col: int
    dataset: str | None  # what the headers name, None when they name nothing
    skip: list[int] = field(default_factory=list)  # row-number columns, not counts
    area_col: int | None = None  # long
    count_col: int | None = None  # long
    areas: dict[int, str] = field(default_factory=dict)  # wide: column -> area code
    unknown: list[str] = field(default_factory=list)  # wide headers naming no area
    ambiguous: list[str] = field(default_factory=list)  # kinds that fit equally well


def _dataset_named(*headers: str) -> str | None:
    keys = " ".join(header_key(h) for h in headers)
    for ds, words in _DATASET_WORDS:
        if any(w in keys for w in words):
            return ds
    return None


def _kind_of_values(values: Sequence[str | None]) -> str | None:
    """The one area kind every value of a generic 'area' column names."""
    seen = [v for v in values if v is not None and v.strip()]
    if not seen:
        return None
    fits = [k for k in ("state", "aor", "county") if all(area_code(k, v) for v in seen)]
    return fits[0] if len(fits) == 1 else None


def layout_of(
    header: Sequence[str], rows: Sequence[Sequence[str | None]], *, serials: bool = False
) -> Layout | None:
    """The count-table layout of a header and its first data rows, or None when the
    table is not a count table. ``serials``: date cells may be spreadsheet serial
    numbers (an xlsx scan sees them so)."""
    keys = [header_key(h) if h else "column" for h in header]
    dates = [i for i, k in enumerate(keys) if k in _DATE_HEADERS]
    if len(dates) != 1 or not rows:
        return None
    date_col = dates[0]

    def cells(i: int) -> list[str | None]:
        return [r[i] if i < len(r) else None for r in rows]

    if not all(_date_like(c, serials) for c in cells(date_col) if not _not_reported(c)):
        return None
    # an unnamed first column: R's row names or a pandas index, not counts
    first = keys[0] if keys else ""
    unnamed = first in _ROW_NUMBER_HEADERS or bool(re.fullmatch(r"column_\d+", first))
    skip = [0] if date_col != 0 and unnamed else []
    rest = [i for i in range(len(keys)) if i != date_col and i not in skip]
    areas = [i for i in rest if keys[i] in _AREA_HEADERS]
    counts = [i for i in rest if keys[i] in _COUNT_HEADERS]
    if len(areas) == 1 and len(counts) == 1 and len(rest) == 2:
        # long: the area column's header says so (its cells may be FIPS numbers)
        if not _mostly_counts(cells(counts[0])):
            return None
        kind = _AREA_HEADERS[keys[areas[0]]] or _kind_of_values(cells(areas[0]))
        if kind is None:
            return None
        return Layout(
            form="long",
            kind=kind,
            date_col=date_col,
            dataset=_dataset_named(header[date_col], header[counts[0]]),
            skip=skip,
            area_col=areas[0],
            count_col=counts[0],
        )
    if not rest or not _mostly_counts([c for i in rest for c in cells(i)]):
        return None
    # wide: every other column is counts; its header names an area of one kind
    fits = {k: {i: area_code(k, header[i]) for i in rest} for k in ("state", "aor", "county")}
    resolved = {k: sum(1 for c in v.values() if c) for k, v in fits.items()}
    best = max(resolved.values())
    if best == 0:
        return None
    kinds = [k for k in ("state", "aor", "county") if resolved[k] == best]
    kind = kinds[0]
    return Layout(
        form="wide",
        kind=kind,
        date_col=date_col,
        dataset=_dataset_named(header[date_col]),
        skip=skip,
        areas={i: c for i, c in fits[kind].items() if c},
        unknown=[header[i] for i, c in fits[kind].items() if not c],
        ambiguous=kinds if len(kinds) > 1 else [],
    )


def layout_from_mapping(header: Sequence[str], mapping: dict[str, str]) -> Layout:
    """A wide layout stated with ``--columns``: ``DATE=event_date`` and
    ``HEADER=count:KIND`` for each count column (KIND: aor, state or county)."""
    index = {h: i for i, h in enumerate(header)}
    date_cols = [index[h] for h, f in mapping.items() if f == "event_date" and h in index]
    counts = {h: f.split(":", 1)[1] for h, f in mapping.items() if f.startswith("count:")}
    kinds = set(counts.values())
    if len(date_cols) != 1:
        raise ValueError("a wide count table needs one column mapped to event_date")
    if len(kinds) != 1 or not kinds <= set(AREAS):
        raise ValueError(
            f"--columns count columns must all be count:KIND of one KIND ({', '.join(AREAS)})"
        )
    kind = kinds.pop()
    areas: dict[int, str] = {}
    unknown: list[str] = []
    for h in counts:
        code = area_code(kind, h)
        if code is None:
            unknown.append(h)
        else:
            areas[index[h]] = code
    return Layout(
        form="wide",
        kind=kind,
        date_col=date_cols[0],
        dataset=None,
        areas=areas,
        unknown=unknown,
        skip=[i for i, h in enumerate(header) if h not in mapping],
    )


def _problems(path: Path, layout: Layout, header: Sequence[str], sheet: str | None) -> None:
    """The one-line errors of a wide table whose headers do not all name areas."""
    if layout.ambiguous:
        raise FormatError(
            path,
            f"the count columns name {' and '.join(AREAS[k].plural for k in layout.ambiguous)}"
            f" equally well ({', '.join(repr(header[i]) for i in layout.areas)}); say which "
            "with --dataset D --columns 'DATE=event_date,HEADER=count:KIND,...'",
            sheet=sheet,
            row=1 if sheet is None else None,
        )
    if layout.unknown:
        known = ", ".join(repr(header[i]) for i in list(layout.areas)[:3])
        raise FormatError(
            path,
            f"unknown count column{'s' if len(layout.unknown) > 1 else ''} "
            f"{', '.join(repr(u) for u in layout.unknown)}: not {AREAS[layout.kind].label} "
            f"names like the other columns ({known}...); rename or remove "
            f"{'them' if len(layout.unknown) > 1 else 'it'}",
            sheet=sheet,
            row=1 if sheet is None else None,
        )


# The columns of a wide table's part: one row per cell.
_COUNT = "count"


def _wide_part(
    path: Path,
    layout: Layout,
    header: Sequence[str],
    batches: Iterator[pa.RecordBatch],
    *,
    fmt: str,
    dataset: str,
    sheet: str | None,
    metadata: dict[str, Any],
) -> Part:
    """A wide table as rows (date, area as released, count, source_row): each cell one
    row, in file order within each area column."""
    area_header = AREA_FIELDS[layout.kind]
    date_header = header[layout.date_col]  # as the quarantine names a cell's values
    columns = [date_header, area_header, _COUNT]
    fields = {date_header: "event_date", area_header: AREA_FIELDS[layout.kind], _COUNT: "count"}
    if layout.kind == "county":
        # the county's state, from its FIPS code, so normalization resolves both
        columns.append("state")
        fields["state"] = "state"
    states = {c.fips: c.state_abbr for c in reference.counties()}

    def melt() -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        for batch in batches:
            n = batch.num_rows
            if not n:
                continue
            date = batch.column(layout.date_col)
            rows = batch.column(batch.num_columns - 1)
            for i, code in layout.areas.items():
                arrays = [date, pa.array([header[i]] * n, pa.string()), batch.column(i)]
                if layout.kind == "county":
                    arrays.append(pa.array([states.get(code)] * n, pa.string()))
                yield pa.RecordBatch.from_arrays([*arrays, rows], names=[*columns, SOURCE_ROW])

    metadata = {
        **metadata,
        "count_table": {
            "layout": "wide",
            "area": layout.kind,
            "areas": {header[i]: code for i, code in layout.areas.items()},
            "date_column": header[layout.date_col],
        },
    }
    return Part(
        format=fmt,
        dataset=dataset,
        columns=columns,
        fields=fields,
        batches=melt(),
        sheet=sheet,
        metadata=metadata,
    )


def _long_fields(layout: Layout, header: Sequence[str], meta: dict[str, Any]) -> dict[str, str]:
    """A long table's fields (date, area, count), described in ``meta`` too."""
    assert layout.area_col is not None and layout.count_col is not None
    date, area, count = (header[layout.date_col], header[layout.area_col], header[layout.count_col])
    meta["count_table"] = {
        "layout": "long",
        "area": layout.kind,
        "date_column": date,
        "area_column": area,
        "count_column": count,
    }
    return {date: "event_date", area: AREA_FIELDS[layout.kind], count: "count"}


def _choose_dataset(layout: Layout, given: str | None) -> tuple[str, str]:
    if given is not None:
        return given, "--dataset"
    if layout.dataset is not None:
        return layout.dataset, "headers"
    return "arrests", "default (the headers name no dataset; give --dataset to say)"


class CountTable:
    """Daily counts per area, long or wide, CSV or xlsx (see the module docstring).

    ``dataset``: the dataset the counts are of (default: what the headers name, else
    arrests); ``mapping``: a wide layout stated with ``--columns``."""

    name = "count_table"

    def __init__(self, dataset: str | None = None, mapping: dict[str, str] | None = None) -> None:
        if dataset is not None and dataset not in DATASETS:
            raise ValueError(f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}")
        self.dataset = dataset
        self.mapping = mapping

    # ------------------------------------------------------------------ sniffing

    def sniff(self, path: Path, head: bytes) -> bool:
        if head.startswith(b"PK\x03\x04"):
            try:
                return self._xlsx_layout(path) is not None
            except (FormatError, OSError):
                return False
        if b"\x00" in head[:4096]:
            return False
        found = _text_table(head)
        if found is None:
            return False
        header, rows, _ = found
        return layout_of(header, rows) is not None

    def _xlsx_layout(self, path: Path) -> tuple[Any, int, Layout] | None:
        """(sheet head, header index, layout) of the first sheet holding a count
        table, by its scanned first rows."""
        from icetally.sources.workbook import _row_list, scan_workbook

        for sh in scan_workbook(path, head_rows=SAMPLE_ROWS):
            rows = [_row_list(cells) for _, cells in sh.rows]
            for at, row in enumerate(rows[:20]):
                texts = [c or "" for c in row]
                if sum(1 for t in texts if t.strip()) < 2:
                    continue
                layout = layout_of(texts, rows[at + 1 :], serials=True)
                if layout is not None:
                    return sh, at, layout
                break  # the first row with two cells is the header, or no table
        return None

    # ------------------------------------------------------------------ reading

    def read(self, path: Path) -> Iterator[Part]:
        path = Path(path)
        with open(path, "rb") as fh:
            if fh.read(4) == b"PK\x03\x04":
                yield from self._read_xlsx(path)
                return
        yield from self._read_text(path)

    def _read_text(self, path: Path) -> Iterator[Part]:
        from icetally.sources import read_head
        from icetally.sources.delimited import _BadRows, is_gzip, stream_delimited

        found = _text_table(read_head(path))
        if found is None:
            raise FormatError(path, "empty file: expected a header row", row=1)
        header, rows, delimiter = found
        header = [h if h else f"column_{i + 1}" for i, h in enumerate(header)]
        layout = (
            layout_from_mapping(header, self.mapping)
            if self.mapping is not None
            else layout_of(header, rows)
        )
        if layout is None:
            raise FormatError(path, "not a count table (date, area, count columns)", row=1)
        _problems(path, layout, header, None)
        dataset, rule = _choose_dataset(layout, self.dataset)
        bad = _BadRows()
        meta: dict[str, Any] = {"bad_rows": bad.rows, "delimiter": delimiter, "dataset_rule": rule}
        if layout.form == "long":
            yield Part(
                format="count_table_csv",
                dataset=dataset,
                columns=list(header),
                fields=_long_fields(layout, header, meta),
                batches=stream_delimited(
                    path,
                    header_line=0,
                    delimiter=delimiter,
                    columns=list(header),
                    bad_rows=bad,
                ),
                metadata=meta,
                text_scan=TextScan(
                    path=path,
                    delimiter=delimiter,
                    header_line=0,
                    width=len(header),
                    gzip=is_gzip(path),
                    newlines_in_values=False,
                ),
            )
            return
        batches = stream_delimited(
            path, header_line=0, delimiter=delimiter, columns=list(header), bad_rows=bad
        )
        yield _wide_part(
            path,
            layout,
            header,
            batches,
            fmt="count_table_csv",
            dataset=dataset,
            sheet=None,
            metadata=meta,
        )

    def _read_xlsx(self, path: Path) -> Iterator[Part]:
        from icetally.sources.workbook import (
            WorkbookReader,
            _Backend,
            _DataSheet,
            _header_columns,
        )

        found = self._xlsx_layout(path)
        if found is None:
            raise FormatError(path, "no sheet holds a count table (date, area, count columns)")
        sh, at, _ = found
        sh.header_at = at
        columns, col_index = _header_columns(sh.header_cells())
        # the layout again, over the kept (named) columns the batches will carry
        rows = [[cells.get(c) for c in col_index] for _, cells in sh.rows[at + 1 :]]
        layout = (
            layout_from_mapping(columns, self.mapping)
            if self.mapping is not None
            else layout_of(columns, rows, serials=True)
        )
        if layout is None:
            raise FormatError(path, "not a count table", sheet=sh.name)
        _problems(path, layout, columns, sh.name)
        dataset, rule = _choose_dataset(layout, self.dataset)
        ds = _DataSheet(
            head=sh,
            columns=columns,
            col_index=col_index,
            dataset=dataset,
            dataset_rule=rule,
            fmt="count_table_xlsx",
            title=None,
            preamble=sh.lines(upto=sh.header_row),
        )
        meta: dict[str, Any] = {
            "sheet": sh.name,
            "header_row": sh.header_row,
            "dataset_rule": rule,
            "backend": None,
            "blank_rows": 0,
            "stray_cells": {"count": 0, "examples": []},
        }
        batches = WorkbookReader()._batches(path, _Backend(path, "auto"), ds, meta)
        if layout.form == "long":
            yield Part(
                format="count_table_xlsx",
                dataset=dataset,
                columns=columns,
                fields=_long_fields(layout, columns, meta),
                batches=batches,
                sheet=sh.name,
                metadata=meta,
            )
            return
        yield _wide_part(
            path,
            layout,
            columns,
            batches,
            fmt="count_table_xlsx",
            dataset=dataset,
            sheet=sh.name,
            metadata=meta,
        )


def _text_table(head: bytes) -> tuple[list[str], list[list[str]], str] | None:
    """(header, first data rows, delimiter) of delimited text, or None."""
    import csv

    text = head.decode("utf-8-sig", errors="replace")
    lines = text.splitlines()
    if len(lines) > SAMPLE_ROWS + 1:
        lines = lines[: SAMPLE_ROWS + 1]
    elif lines and not text.endswith(("\n", "\r")) and len(head) >= (256 << 10):
        lines = lines[:-1]  # cut at the end of the sample
    if not lines:
        return None
    counts = {d: lines[0].count(d) for d in (",", "|", "\t", ";")}
    delimiter = max(counts, key=lambda d: counts[d])
    if counts[delimiter] == 0:
        return None
    try:
        parsed = list(csv.reader(lines, delimiter=delimiter, quotechar='"'))
    except csv.Error:
        return None
    header = [c.strip() for c in parsed[0]]
    rows = [r for r in parsed[1:] if r]
    if any(len(r) != len(header) for r in rows):
        return None
    return header, rows, delimiter
