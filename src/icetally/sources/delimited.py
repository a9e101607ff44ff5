"""Delimited-text releases.

- ``EroLesaCsv``: ICE ERO-LESA exports (FOIA 2019-ICFO-53623): gzip, ``|`` delimiter,
  a preamble (agency, FOUO banner, FOIA number, blank, title) before the header.
- ``DelimitedTable``: a plain header-first CSV whose headers name a known table — the
  Deportation Data Project's cleaned snake_case files, CBP nationwide encounters
  (state and AOR variants), and hand-made extracts (optionally with a stated column
  mapping).

Both stream with pyarrow's incremental CSV reader; rows with the wrong number of
fields are not dropped but handed back as ``bad_rows`` for the quarantine.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from icetally.schema import DATASETS
from icetally.sources.base import SOURCE_ROW, FormatError, Part, TextScan
from icetally.sources.headers import (
    coverage_from_title,
    detect_dataset,
    looks_like_header,
    map_headers,
)

if TYPE_CHECKING:
    import pyarrow as pa

BLOCK_SIZE = 8 << 20  # bytes of text per Arrow batch (~60k national rows)
PREAMBLE_MAX = 20  # header must appear within this many lines


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def open_text(path: Path) -> io.BufferedIOBase:
    """Binary stream of the file's text, transparently gunzipped."""
    if is_gzip(path):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def _split_line(line: str, delimiter: str) -> list[str]:
    """Fields of one line; [] for a line the csv module cannot split (a field over its
    size limit, a NUL byte): such a line is no header, and its rows are DuckDB's to
    read or refuse."""
    try:
        return next(csv.reader([line], delimiter=delimiter, quotechar='"'), [])
    except csv.Error:
        return []


class _BadRows:
    """Collects rows pyarrow cannot parse (wrong field count) for the quarantine."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def __call__(self, row: Any) -> str:
        self.rows.append(
            {
                # pyarrow numbers lines from the top of the file, skipped lines included
                "source_row": row.number,
                "reason": f"expected {row.expected_columns} fields, found {row.actual_columns}",
                "raw": row.text,
            }
        )
        return "skip"


def stream_delimited(
    path: Path,
    *,
    header_line: int,
    delimiter: str,
    columns: list[str],
    bad_rows: _BadRows,
    newlines_in_values: bool = False,
) -> Iterator[pa.RecordBatch]:
    """Yield string batches of the data below ``header_line`` (0-based line index),
    with ``source_row`` = 1-based record number in the file, counting preamble and
    header lines (the line number when no value holds a newline)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    read = pacsv.ReadOptions(
        skip_rows=header_line + 1,
        column_names=[f"c{i}" for i in range(len(columns))],
        block_size=BLOCK_SIZE,
        use_threads=False,  # so pyarrow reports the line number of a bad row
    )
    parse = pacsv.ParseOptions(
        delimiter=delimiter,
        quote_char='"',
        double_quote=True,
        newlines_in_values=newlines_in_values,
        invalid_row_handler=bad_rows,
    )
    convert = pacsv.ConvertOptions(
        column_types={f"c{i}": pa.string() for i in range(len(columns))},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    next_row = header_line + 2  # 1-based line number of the first data line
    stream = open_text(path)
    try:
        try:
            reader = pacsv.open_csv(
                stream, read_options=read, parse_options=parse, convert_options=convert
            )
        except pa.ArrowInvalid as exc:
            if "Empty CSV file" in str(exc):
                return
            raise
        for batch in reader:
            n = batch.num_rows
            if n == 0:
                continue
            rows = pa.array(range(next_row, next_row + n), type=pa.int64())
            next_row += n
            yield pa.RecordBatch.from_arrays([*batch.columns, rows], [*columns, SOURCE_ROW])
    except (OSError, EOFError, pa.ArrowInvalid, gzip.BadGzipFile) as exc:
        raise FormatError(path, f"cannot read past line {next_row}: {exc}") from exc
    finally:
        stream.close()


def _head_lines(path: Path, n: int = PREAMBLE_MAX) -> list[str]:
    try:
        with open_text(path) as fh:
            text = fh.read(256 << 10)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise FormatError(path, f"cannot decompress: {exc}") from exc
    return text.decode("utf-8-sig", errors="replace").splitlines()[:n]


class EroLesaCsv:
    """ERO-LESA pipe-delimited export with a preamble."""

    name = "ero_lesa_csv"

    def sniff(self, path: Path, head: bytes) -> bool:
        text = head.decode("utf-8-sig", errors="replace")
        first = text.splitlines()[:PREAMBLE_MAX]
        has_pipe_header = any(looks_like_header(_split_line(ln, "|")) for ln in first)
        return has_pipe_header and ("ERO-LESA" in text or "ICFO" in text or "ERO " in text)

    def read(self, path: Path) -> Iterator[Part]:
        lines = _head_lines(path)
        header_at = next(
            (i for i, ln in enumerate(lines) if looks_like_header(_split_line(ln, "|"))), None
        )
        if header_at is None:
            raise FormatError(path, "no header row found in the first lines (ERO-LESA export)")
        preamble = [c for ln in lines[:header_at] for c in _split_line(ln, "|") if c.strip()]
        columns = [c.strip() for c in _split_line(lines[header_at], "|")]
        dataset = detect_dataset(columns)
        if dataset is None:
            raise FormatError(path, f"header names no known table: {columns}", row=header_at + 1)
        title = preamble[-1] if preamble else ""
        start, end = coverage_from_title(title)
        foia = next((p for p in preamble if re.search(r"\d{4}-ICFO-\d+", p)), None)
        bad = _BadRows()
        yield Part(
            format=self.name,
            dataset=dataset,
            columns=columns,
            fields=map_headers(columns, dataset),
            batches=stream_delimited(
                path, header_line=header_at, delimiter="|", columns=columns, bad_rows=bad
            ),
            metadata={"preamble": preamble, "title": title, "foia": foia, "bad_rows": bad.rows},
            coverage_start=start,
            coverage_end=end,
            text_scan=TextScan(
                path=path,
                delimiter="|",
                header_line=header_at,
                width=len(columns),
                gzip=is_gzip(path),
                newlines_in_values=False,
            ),
        )


def _sniff_delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in (",", "|", "\t", ";")}
    return max(counts, key=lambda d: counts[d])


class DelimitedTable:
    """Header-first CSV naming a known table (DDP cleaned, CBP, extracts)."""

    name = "csv"

    def __init__(self, dataset: str | None = None, mapping: dict[str, str] | None = None) -> None:
        if dataset is not None and dataset not in DATASETS:
            raise ValueError(f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}")
        self.dataset = dataset
        self.mapping = mapping

    def _header(self, head: bytes) -> tuple[list[str], str] | None:
        lines = head.decode("utf-8-sig", errors="replace").splitlines()
        if not lines:
            return None
        delimiter = _sniff_delimiter(lines[0])
        return [c.strip() for c in _split_line(lines[0], delimiter)], delimiter

    def sniff(self, path: Path, head: bytes) -> bool:
        if b"\x00" in head[:4096]:
            return False
        found = self._header(head)
        if not found:
            return False
        columns, _ = found
        return self.mapping is not None or detect_dataset(columns) is not None

    def read(self, path: Path) -> Iterator[Part]:
        lines = _head_lines(path, 1)
        found = self._header("\n".join(lines).encode())
        if not found or not any(found[0]):
            raise FormatError(path, "empty file: expected a header row", row=1)
        columns, delimiter = found
        # R's write.csv adds an unnamed row-number column
        columns = [c if c else f"column_{i + 1}" for i, c in enumerate(columns)]
        dataset = self.dataset or detect_dataset(columns)
        if dataset is None:
            raise FormatError(path, f"header names no known table: {columns}", row=1)
        if self.mapping is not None:
            missing = [c for c in self.mapping if c not in columns]
            if missing:
                raise FormatError(
                    path, f"--columns names headers not in the file: {missing}", row=1
                )
            fields = dict(self.mapping)
        else:
            fields = map_headers(columns, dataset)
        keys = {c.lower() for c in columns}
        if dataset == "cbp_encounters":
            fmt = "cbp_csv"
        elif self.mapping is not None:
            fmt = "csv_extract"
        elif {"file_original", "row_original"} & keys or any("." in c for c in columns):
            fmt = "ddp_clean_csv"
        elif all(c == c.lower() for c in columns):
            fmt = "csv_snake"
        else:
            fmt = "csv"
        bad = _BadRows()
        yield Part(
            format=fmt,
            dataset=dataset,
            columns=columns,
            fields=fields,
            batches=stream_delimited(
                path,
                header_line=0,
                delimiter=delimiter,
                columns=columns,
                bad_rows=bad,
                newlines_in_values=True,
            ),
            metadata={"bad_rows": bad.rows, "delimiter": delimiter},
            text_scan=TextScan(
                path=path,
                delimiter=delimiter,
                header_line=0,
                width=len(columns),
                gzip=is_gzip(path),
            ),
        )
