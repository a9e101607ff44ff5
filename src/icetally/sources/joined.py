"""Pre-joined Deportation Data Project tables: one csv whose columns come from several
tables of one release, each suffixed with its table (``apprehension_date.arrest``,
``book_in_date_time.detention``...), joined on the release's ``unique_identifier``.

Such a file (e.g. UWCHR's ``detainers-joined-wa.csv``) is a cross product: a person
with 2 arrests and 3 detention stints appears on 6 rows. Read as one table it would
count every arrest three times. This reader splits it back into its tables — one
``Part`` per suffix (``detainers``, ``arrests``, ``encounters``, ``detention_stints``,
``removals``) — each holding a person's *distinct* records of that table, linked by
``unique_identifier``. Every distinct record is kept (its ``source_row`` is the first
joined row it appears on); how many joined rows repeated it is in the part's metadata,
so nothing is lost and nothing is counted twice. A record whose table columns are all
empty (a person with no encounter, from the left join) is not a record.

All parts carry ``metadata["linked_release"]``: they come from one release, so
``icetally.analysis.linking`` links them with each other and with nothing else.

Why the detention part maps the stint's own dates: the stay-level columns of the
joined file (``stay_book_in_date_time``) are not the stay's book-in in the real file
(they repeat its book-out), and a stay is built from its stints anyway
(``analysis/linking.py``); the stay columns are kept as ``raw_`` columns.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from icetally.sources.base import MAX_COLUMNS, SOURCE_ROW, FormatError, Part
from icetally.sources.delimited import open_text
from icetally.sources.headers import DATASET_SUFFIXES, map_headers

if TYPE_CHECKING:
    import pyarrow as pa

PERSON = "unique_identifier"
# Which suffix names which dataset (the inverse of DATASET_SUFFIXES).
SUFFIX_DATASET = {s: ds for ds, names in DATASET_SUFFIXES.items() for s in names}
# Cells the joined files write for "no value" (R's NA) or leave empty.
EMPTY = frozenset({"", "NA", "N/A", "NULL"})
# The stint's own columns, preferred over the stay's (see the module docstring).
STINT_FIELDS = {
    "book_in_date_time": "event_date",
    "detention_book_out_date_time": "book_out_date",
    "book_out_date_time": "book_out_date",
    "detention_release_reason": "release_reason",
}
BATCH_ROWS = 50_000


def _suffix(column: str) -> str | None:
    if "." not in column:
        return None
    return column.rpartition(".")[2].lower()


def joined_tables(columns: list[str]) -> dict[str, list[str]]:
    """dataset -> its suffixed columns, for a header with a person identifier and at
    least two tables' suffixes; {} otherwise."""
    if PERSON not in columns:
        return {}
    out: dict[str, list[str]] = {}
    for c in columns:
        ds = SUFFIX_DATASET.get(_suffix(c) or "")
        if ds is not None:
            out.setdefault(ds, []).append(c)
    return out if len(out) >= 2 else {}


def _header(path: Path) -> tuple[list[str], str]:
    with open_text(path) as raw:
        first = raw.readline().decode("utf-8-sig", errors="replace")
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    try:
        cols = next(csv.reader([first], delimiter=delimiter))
    except (csv.Error, StopIteration):
        cols = []
    return [c.strip() for c in cols], delimiter


class JoinedTable:
    """A Deportation Data Project pre-joined csv (see the module docstring)."""

    name = "ddp_joined_csv"

    def sniff(self, path: Path, head: bytes) -> bool:
        if b"\x00" in head[:4096]:
            return False
        first = head.decode("utf-8-sig", errors="replace").splitlines()[:1]
        if not first:
            return False
        delimiter = "\t" if first[0].count("\t") > first[0].count(",") else ","
        try:
            cols = [c.strip() for c in next(csv.reader(first, delimiter=delimiter))]
        except (csv.Error, StopIteration):
            return False
        return bool(joined_tables(cols))

    def read(self, path: Path) -> Iterator[Part]:
        columns, delimiter = _header(path)
        if len(columns) > MAX_COLUMNS:
            raise FormatError(path, f"{len(columns)} columns, more than {MAX_COLUMNS}", row=1)
        tables = joined_tables(columns)
        if not tables:
            raise FormatError(
                path, f"not a joined table: needs {PERSON!r} and two tables' suffixes", row=1
            )
        records, repeats, bad = self._split(path, columns, delimiter, tables)
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        linked = "file:" + digest.hexdigest()[:16]
        placed = {c for cols in tables.values() for c in cols} | {PERSON}
        unplaced = [c for c in columns if c not in placed]
        for n, (dataset, cols) in enumerate(tables.items()):
            names = [PERSON, *cols]
            fields = map_headers(names, dataset)
            if dataset == "detention_stints":
                fields = self._stint_fields(names, fields)
            rows = records[dataset]
            yield Part(
                format=self.name,
                dataset=dataset,
                columns=names,
                fields=fields,
                batches=_batches(names, rows),
                sheet=dataset,
                metadata={
                    "linked_release": linked,
                    "joined_rows": repeats["rows"],
                    "distinct_records": len(rows),
                    "repeated_by_join": repeats[dataset],
                    # pair-level columns (e.g. days between a detainer and an arrest)
                    # belong to no one table; they follow from the tables' dates
                    "join_columns_not_loaded": unplaced,
                    # rows that cannot be split go to the quarantine once, with the
                    # first table
                    "bad_rows": bad if n == 0 else [],
                    "delimiter": delimiter,
                },
                rows_hint=len(rows),
            )

    @staticmethod
    def _stint_fields(names: list[str], fields: dict[str, str]) -> dict[str, str]:
        by_key = {c.rpartition(".")[0].lower(): c for c in names if "." in c}
        preferred = {by_key[k]: f for k, f in STINT_FIELDS.items() if k in by_key}
        taken = set(preferred.values())
        kept = {h: f for h, f in fields.items() if f not in taken}
        return {**kept, **preferred}

    @staticmethod
    def _split(
        path: Path, columns: list[str], delimiter: str, tables: dict[str, list[str]]
    ) -> tuple[dict[str, list[list[str | int | None]]], dict[str, int], list[dict]]:
        """Each table's distinct records (person, values..., first source row)."""
        index = {c: i for i, c in enumerate(columns)}
        person_at = index[PERSON]
        seen: dict[str, dict[tuple[str, ...], int]] = {ds: {} for ds in tables}
        repeats = {ds: 0 for ds in tables}
        bad: list[dict] = []
        rows = 0
        positions = {ds: [index[c] for c in cols] for ds, cols in tables.items()}
        with open_text(path) as raw:
            text = (line.decode("utf-8-sig", errors="replace") for line in raw)
            reader = csv.reader(text, delimiter=delimiter)
            next(reader, None)
            for line_no, cells in enumerate(reader, start=2):
                if len(cells) != len(columns):
                    bad.append(
                        {
                            "source_row": line_no,
                            "reason": f"{len(cells)} fields, {len(columns)} expected",
                            "raw": delimiter.join(cells),
                        }
                    )
                    continue
                rows += 1
                person = cells[person_at].strip()
                for ds, at in positions.items():
                    values = tuple(cells[i] for i in at)
                    if all(v.strip() in EMPTY for v in values):
                        continue  # no record of this table on this row (the left join)
                    key = (person, *values)
                    if key in seen[ds]:
                        repeats[ds] += 1
                    else:
                        seen[ds][key] = line_no
        records = {
            ds: [[*(None if v.strip() in EMPTY else v for v in key), row] for key, row in d.items()]
            for ds, d in seen.items()
        }
        repeats["rows"] = rows
        return records, repeats, bad


def _batches(names: list[str], rows: list[list[str | int | None]]) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa

    for start in range(0, max(len(rows), 1), BATCH_ROWS):
        chunk = rows[start : start + BATCH_ROWS]
        arrays = [pa.array([r[i] for r in chunk], pa.string()) for i in range(len(names))]
        arrays.append(pa.array([r[-1] for r in chunk], pa.int64()))
        yield pa.RecordBatch.from_arrays(arrays, names=[*names, SOURCE_ROW])
