"""What every reader yields.

A reader knows one release format. Given a path it yields one ``Part`` per table in
the file (the whole file for a CSV; each data sheet of a workbook). A part carries:

- ``dataset``: which canonical table the rows belong to;
- ``fields``: raw header -> canonical field (see ``icetally.schema.FIELDS``); headers
  not in it are kept as ``raw_<snake>`` text columns;
- ``batches``: an iterator of Arrow record batches whose columns are the raw headers
  (any Arrow type; text, dates or numbers as the file has them) plus ``source_row``
  (int64, 1-based row number in the file or sheet, preamble included);
- ``metadata``: release-level facts (title, FOIA number, coverage dates, footnotes);
- ``text_scan`` (optional): for a delimited text table, how DuckDB's own CSV reader
  can scan the same rows (``TextScan``); ingest then reads the file in SQL instead of
  iterating ``batches`` (which stay valid for every other use).

Readers never normalize values, never drop rows and never touch the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from icetally.errors import IcetallyError

if TYPE_CHECKING:
    import pyarrow as pa

SOURCE_ROW = "source_row"

# Columns one table may have: real releases have up to ~150 (the Deportation Data
# Project's joined files); wider files are refused before any row is read.
MAX_COLUMNS = 512


class FormatError(IcetallyError, ValueError):
    """A file (or sheet, or row) is not what its format promises.

    The message names the file, the sheet and row where known, and what was expected.
    """

    def __init__(
        self,
        path: str | Path,
        problem: str,
        *,
        sheet: str | None = None,
        row: int | None = None,
    ) -> None:
        self.path = str(path)
        self.sheet = sheet
        self.row = row
        self.problem = problem
        where = self.path
        if sheet is not None:
            where += f", sheet {sheet!r}"
        if row is not None:
            where += f", row {row}"
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class TextScan:
    """A delimited text table as DuckDB's ``read_csv`` sees it: every field as text,
    the data after ``header_line`` (0-based record index of the header)."""

    path: Path
    delimiter: str
    header_line: int
    width: int  # fields per record
    gzip: bool
    # whether a quoted value may hold a line break (Deportation Data Project csv) or
    # never does (ERO-LESA exports: a value that runs past its line is a broken quote)
    newlines_in_values: bool = True
    # a record longer than this is quarantined, not read into memory
    max_line_bytes: int = 8 << 20

    def read_csv(self, skip: int, rejects_table: str, rejects_scan: str) -> str:
        """SQL of the table function reading the records after the first ``skip``."""

        def lit(text: str) -> str:
            return "'" + text.replace("'", "''") + "'"

        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(self.width)) + "}"
        return (
            f"read_csv({lit(str(self.path))}, header = false, skip = {skip}, "
            f"columns = {columns}, delim = {lit(self.delimiter)}, quote = '\"', "
            f"escape = '\"', auto_detect = false, compression = "
            f"{lit('gzip' if self.gzip else 'none')}, strict_mode = true, "
            f"max_line_size = {self.max_line_bytes}, store_rejects = true, "
            f"rejects_table = {lit(rejects_table)}, rejects_scan = {lit(rejects_scan)}, "
            "rejects_limit = 0)"
        )


@dataclass
class Part:
    format: str
    dataset: str
    columns: list[str]
    fields: dict[str, str]
    batches: Iterator[pa.RecordBatch]
    sheet: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    # Coverage stated by the release (e.g. a title "... (10/1/2018 - 8/31/2019)").
    coverage_start: date | None = None
    coverage_end: date | None = None
    # Covered spans, when the release says more than one first-to-last range: (area,
    # first, last) with area None for the whole release or "aor:LOS", "state:TX",
    # "county:42101" for one area (days a count table does not report are left out).
    # Default: one span, the stated coverage, else the first and last event.
    coverage_spans: list[tuple[str | None, date, date]] | None = None
    # Number of data rows if the reader knows it up front (for progress bars).
    rows_hint: int | None = None
    # The same rows as a DuckDB text scan, when the format is delimited text.
    text_scan: TextScan | None = None


class Reader(Protocol):
    """One release format."""

    name: str

    def sniff(self, path: Path, head: bytes) -> bool:
        """True if the file's content (``head``: first bytes, decompressed when gzip) is
        this format. Cheap; must not read the whole file."""
        ...

    def read(self, path: Path) -> Iterator[Part]:
        """Yield the file's tables. Raise FormatError for a file that claims this
        format but is broken."""
        ...
