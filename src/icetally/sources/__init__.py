"""Readers, one per release format, and the detector that picks one from a file's
content (never from its name alone)."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path

from icetally.sources.base import FormatError, Part, Reader
from icetally.sources.counts import CountTable
from icetally.sources.delimited import DelimitedTable, EroLesaCsv
from icetally.sources.joined import JoinedTable
from icetally.sources.parquet import ParquetTable

HEAD_BYTES = 256 << 10

EXPECTED = (
    "an ERO-LESA pipe-delimited export (gzip or plain text, preamble then header), "
    "an ERO-LESA or Deportation Data Project xlsx workbook, a Deportation Data Project "
    "cleaned csv or parquet file, a CBP nationwide encounters csv, or a count table "
    "(a date column and counts per state, AOR or county: docs/counts.md)"
)


def _workbook_readers() -> list[Reader]:
    from icetally.sources import workbook

    return list(workbook.READERS)


def readers(*, workbooks: bool = True) -> list[Reader]:
    """All built-in readers, most specific first (``workbooks=False``: but the
    workbook readers, for a file that is not a zip)."""
    # a count table first: its date header alone would make it an arrests extract;
    # a joined csv before the plain one: its header also names a table
    return [
        CountTable(),
        *(_workbook_readers() if workbooks else []),
        ParquetTable(),
        EroLesaCsv(),
        JoinedTable(),
        DelimitedTable(),
    ]


def read_head(path: Path) -> bytes:
    """First bytes of the file's content, gunzipped when the file is gzip."""
    with open(path, "rb") as fh:
        raw = fh.read(HEAD_BYTES)
    if raw[:2] == b"\x1f\x8b":
        try:
            # a partial stream: decompress what we have without demanding the end
            return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(raw, HEAD_BYTES)
        except zlib.error as exc:
            raise FormatError(path, f"not a valid gzip stream: {exc}") from exc
    return raw


def detect(path: Path) -> Reader:
    """The reader for this file, or FormatError naming the file and what was expected."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(path, "no such file")
    if path.stat().st_size == 0:
        raise FormatError(path, f"empty file; expected {EXPECTED}")
    head = read_head(path)
    if not head.strip():
        raise FormatError(path, f"no content; expected {EXPECTED}")
    # a workbook is a zip: its readers (and fastexcel, pyarrow) are loaded only for one
    for reader in readers(workbooks=head.startswith(b"PK")):
        if reader.sniff(path, head):
            return reader
    encoding = text_encoding_problem(head)
    if encoding:
        raise FormatError(path, f"{encoding}; save it as UTF-8 text (or give the original)")
    raise FormatError(path, f"not a recognized release format; expected {EXPECTED}")


def text_encoding_problem(head: bytes) -> str | None:
    """What is wrong with text that is not UTF-8 (or None): releases are UTF-8."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "the text is UTF-16 (byte-order mark found), not UTF-8"
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "the text is UTF-32, not UTF-8"
    sample = head[:4096]
    if sample and sample.count(b"\x00") > len(sample) // 4:
        odd = sample[1::2].count(b"\x00") > sample[0::2].count(b"\x00")
        return (
            f"the text looks like UTF-16 ({'little' if odd else 'big'}-endian, no byte-order "
            "mark), not UTF-8"
        )
    if b"\x00" in sample:
        at = sample.index(b"\x00")
        return f"the file holds NUL bytes (first at byte {at}): binary data, not UTF-8 text"
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # not just a character cut at the sample's end
            return f"the text is not UTF-8 (byte {exc.start} cannot be decoded)"
    return None


def read(
    path: Path, *, dataset: str | None = None, mapping: dict[str, str] | None = None
) -> Iterator[Part]:
    """Parts of one file. With ``mapping`` (raw header -> canonical field) the file is
    read as a plain delimited extract of ``dataset``, or as a wide count table when the
    mapping names count columns (``HEADER=count:state``). A count table recognized
    by content is read as counts of ``dataset`` when given."""
    path = Path(path)
    if mapping is not None and any(f.startswith("count:") for f in mapping.values()):
        if dataset is None:
            raise ValueError("a column mapping needs --dataset")
        return CountTable(dataset, mapping).read(path)
    if mapping is not None:
        if dataset is None:
            raise ValueError("a column mapping needs --dataset")
        head = read_head(path) if path.is_file() and path.stat().st_size else b""
        if not head.strip():
            raise FormatError(path, "empty file; expected a header row")
        return DelimitedTable(dataset, mapping).read(path)
    reader = detect(path)
    if isinstance(reader, CountTable) and dataset is not None:
        reader = CountTable(dataset)
    return reader.read(path)


__all__ = [
    "EXPECTED",
    "FormatError",
    "Part",
    "Reader",
    "detect",
    "read",
    "read_head",
    "readers",
    "text_encoding_problem",
]
