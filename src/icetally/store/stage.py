"""Staging: a part's rows as a DuckDB relation that normalization reads twice (once
to group the coded values, once to write the rows).

Every staged relation has the part's fields as text columns ``c0``..``cN`` plus
``source_row``, the record's line (delimited text) or row (workbook, parquet) in the
file. Two kinds:

- **text scans** (``TextScan``: ERO-LESA exports, header-first csv): DuckDB's own CSV
  reader loads the file into an in-memory table (``ingest_stage`` database), records it
  cannot split (wrong field count, a quote never closed, a line over the size limit,
  bytes that are not UTF-8) go to its rejects table with their line, and the good
  records are numbered by their position in the file, counting the refused ones, so
  ``source_row`` stays the file's line after a bad row. A quote that runs past the end
  of its line (or to the end of the file) is never a merged field: the record where it
  opened is refused alone and reading resumes on the next line.
- **Arrow batches** (every other reader): batches are gathered into chunks of up to
  ``CHUNK_ROWS`` rows (zero-copy for a workbook sheet, which is one Arrow batch
  already) and registered as views.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from icetally.normalize.clean import as_text
from icetally.sources.base import SOURCE_ROW, FormatError, Part, TextScan

if TYPE_CHECKING:
    import pyarrow as pa

STAGE_DB = "ingest_stage"
CHUNK_ROWS = 1 << 20  # rows per Arrow chunk: a whole workbook sheet is one chunk
RAW_TEXT_MAX = 64 << 10  # characters of a refused record kept in the quarantine


@dataclass
class Reject:
    """A record the CSV reader refused: its line in the file, why, and its text."""

    line: int
    reason: str
    text: str


@dataclass
class Staged:
    """One staged chunk of a part."""

    relation: str  # SQL name of the relation: c0..cN text, source_row
    rows: int
    rejects: list[Reject] = field(default_factory=list)
    # the relation carries x0..xN (cleaned text) and r0..rN (redacted) too
    precleaned: bool = False
    # the rows of normalize.keys_sql over it, when computed on the reading thread
    keyed: list[tuple] | None = None


def attach(con: duckdb.DuckDBPyConnection) -> None:
    """The in-memory database that holds staged tables (shared by the connection's
    cursors, so a file can be staged on another thread while one is written)."""
    attached = {
        r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()
    }
    if STAGE_DB not in attached:
        con.execute(f"ATTACH ':memory:' AS {STAGE_DB}")


def drop(con: duckdb.DuckDBPyConnection, prefix: str, db: str = STAGE_DB) -> None:
    """Drop every staged table and view whose name starts with ``prefix``."""
    rows = con.execute(
        "SELECT table_name, table_type FROM information_schema.tables "
        "WHERE table_catalog = ? AND starts_with(table_name, ?)",
        [db, prefix],
    ).fetchall()
    for name, kind in sorted(rows, key=lambda r: r[1] != "VIEW"):  # views first
        what = "VIEW" if kind == "VIEW" else "TABLE"
        with contextlib.suppress(duckdb.Error):
            con.execute(f'DROP {what} IF EXISTS {db}."{name}"')


def _fields_in(text: str, delimiter: str) -> int:
    """Fields of one record's text, quotes respected."""
    line = text.rstrip("\r\n")
    return len(next(csv.reader([line], delimiter=delimiter, quotechar='"'), []))


def _reason(scan: TextScan, error_type: str, text: str, message: str) -> str:
    if error_type in ("MISSING COLUMNS", "TOO MANY COLUMNS"):
        return f"expected {scan.width} fields, found {_fields_in(text, scan.delimiter)}"
    if error_type == "UNQUOTED VALUE":
        return "unbalanced quote: a quoted value is never closed on its line"
    if error_type == "LINE SIZE OVER MAXIMUM":
        return f"record longer than {scan.max_line_bytes:,} bytes (not read)"
    if error_type == "INVALID UNICODE":
        return "not valid UTF-8 text"
    return f"{error_type.lower()}: {message}"


def _first_line(text: str | None) -> str:
    line = (text or "").split("\n", 1)[0].rstrip("\r")
    return line[:RAW_TEXT_MAX]


def _copy_lines_after(src: Path, gz: bool, lines: int, dest: Path) -> None:
    """Write the physical lines of ``src`` after its first ``lines`` to ``dest``."""
    opener = gzip.open if gz else open
    with opener(src, "rb") as fin, open(dest, "wb") as fout:  # type: ignore[operator]
        for _ in range(lines):
            if not fin.readline():
                break
        shutil.copyfileobj(fin, fout, 1 << 20)


def _line_of_byte(src: Path, gz: bool, position: int) -> int:
    """1-based physical line holding byte ``position`` of the (decompressed) text."""
    opener = gzip.open if gz else open
    n, seen = 1, 0
    with opener(src, "rb") as fh:  # type: ignore[operator]
        while seen < position:
            chunk = fh.read(min(1 << 20, position - seen))
            if not chunk:
                break
            n += chunk.count(b"\n")
            seen += len(chunk)
    return n


def stage_text(cur: duckdb.DuckDBPyConnection, scan: TextScan, prefix: str) -> Staged:
    """Load a delimited text table into ``ingest_stage`` (on ``cur``, a cursor in
    auto-commit mode so row ids are the records' order) and return the view over it."""
    src, gz, skip, line0 = scan.path, scan.gzip, scan.header_line + 1, 1
    views: list[str] = []
    rejects: list[Reject] = []
    rows = 0
    tmpdir: str | None = None
    try:
        for seg in range(1_000_000):
            table = f'{STAGE_DB}."{prefix}_seg{seg}"'
            segment = TextScan(
                path=src,
                delimiter=scan.delimiter,
                header_line=scan.header_line,
                width=scan.width,
                gzip=gz,
                newlines_in_values=scan.newlines_in_values,
                max_line_bytes=scan.max_line_bytes,
            )
            cur.execute("DROP TABLE IF EXISTS _rejects; DROP TABLE IF EXISTS _reject_scans")
            raw = ", ".join(f"c{i}" for i in range(scan.width))
            try:
                # the text as read (cleaned below, once per distinct value)
                cur.execute(
                    f"CREATE TABLE {table} AS SELECT {raw} "
                    f"FROM {segment.read_csv(skip, '_rejects', '_reject_scans')}"
                )
            except duckdb.Error as exc:
                first = str(exc).strip().splitlines()[0]
                raise FormatError(scan.path, f"cannot read the text: {first}") from exc
            errs = cur.execute(
                "SELECT line, min(byte_position), any_value(error_type), NULL, "
                "any_value(error_message), any_value(csv_line) "
                "FROM _rejects GROUP BY line ORDER BY line"
            ).fetchall()
            staged = int(cur.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])
            # the first record that runs past its line: a quote never closed, or (in a
            # format whose values never hold a line break) one closed lines later
            cut: tuple[int, int] | None = None  # (record number, physical line)
            for line, byte_pos, _etype, _found, _msg, text in errs:
                if "\n" in (text or "").rstrip("\r\n"):
                    cut = (int(line), _line_of_byte(src, gz, int(byte_pos or 0)))
                    break
            # the columns' dictionaries, and the search for a line break among them
            search = not scan.newlines_in_values and scan.width > 0
            cleaned = cleaned_columns(
                cur, table, scan.width, f"{prefix}_seg{seg}", staged, newline=search
            )
            if search:
                k = cleaned.newline_row
                if k is not None:
                    before = 0
                    record = skip + 1 + int(k)
                    for line, *_ in errs:  # records refused before it shift its number
                        if int(line) <= record + before:
                            before += 1
                    record += before
                    if cut is None or record < cut[0]:
                        # every earlier record is one line: record number = line
                        cut = (record, record)
            bad = [e for e in errs if cut is None or int(e[0]) < cut[0]]
            first_record = skip + 1
            keep = staged
            if cut is not None:
                keep = (cut[0] - first_record) - len(bad)
            # good row k is record first_record + k + (refused records before it)
            # refused records in a row share a threshold: the last count wins
            thresholds = {int(b[0]) - first_record - i: i + 1 for i, b in enumerate(bad)}
            view = f'{STAGE_DB}."{prefix}_v{seg}"'
            cols, joins = cleaned.select, cleaned.joins
            base = line0 - 1 + first_record
            if thresholds:
                values = ", ".join(f"({t}, {j})" for t, j in thresholds.items())
                cur.execute(
                    f'CREATE TABLE {STAGE_DB}."{prefix}_t{seg}" AS '
                    f"SELECT * FROM (VALUES {values}) t(t, j)"
                )
                cur.execute(
                    f"CREATE VIEW {view} AS SELECT {cols}, "
                    f"CAST(s.rowid + {base} + coalesce(t.j, 0) AS BIGINT) AS {SOURCE_ROW} "
                    f'FROM {table} s ASOF LEFT JOIN {STAGE_DB}."{prefix}_t{seg}" t '
                    f"ON s.rowid >= t.t {joins} WHERE s.rowid < {keep}"
                )
            else:
                cur.execute(
                    f"CREATE VIEW {view} AS SELECT {cols}, "
                    f"CAST(s.rowid + {base} AS BIGINT) AS {SOURCE_ROW} "
                    f"FROM {table} s {joins} WHERE s.rowid < {keep}"
                )
            views.append(view)
            rows += keep
            for line, _pos, etype, _found, msg, text in bad:
                rejects.append(
                    Reject(
                        line=line0 - 1 + int(line),
                        reason=_reason(scan, etype, text or "", msg),
                        text=_first_line(text),
                    )
                )
            if cut is None:
                break
            record, physical = cut
            broken_text = next((e[5] for e in errs if int(e[0]) == record), None)
            if broken_text is None:
                broken_text = cur.execute(
                    f"SELECT concat_ws({_lit(scan.delimiter)}, "
                    f"{', '.join(f'c{i}' for i in range(scan.width))}) "
                    f"FROM {table} WHERE rowid = {keep}"
                ).fetchall()[0][0]
            rejects.append(
                Reject(
                    line=line0 - 1 + physical,
                    reason="unbalanced quote: a quoted value runs past the end of its line",
                    text=_first_line(broken_text),
                )
            )
            # read on from the next physical line, in a copy of the rest of the text
            if tmpdir is None:
                tmpdir = tempfile.mkdtemp(prefix="icetally-rest-")
            rest = Path(tmpdir) / f"rest{seg}.txt"
            _copy_lines_after(src, gz, physical, rest)
            line0 = line0 + physical
            src, gz, skip = rest, False, 0
            if rest.stat().st_size == 0:
                break
    finally:
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
    relation = f'{STAGE_DB}."{prefix}_rows"'
    cur.execute(
        f"CREATE VIEW {relation} AS " + " UNION ALL ".join(f"SELECT * FROM {v}" for v in views)
    )
    return Staged(relation=relation, rows=rows, rejects=rejects, precleaned=True)


# A column whose values cleaning changes are this few is cleaned by a CASE over them
# instead of a join.
INLINE_CHANGES = 16

# A column is cleaned once per distinct value (a dictionary joined back) unless it has
# more distinct values than this share of its rows (ids, free text): then per cell.
DICTIONARY_SHARE = 0.5

# Rows under which a column's distinct values are not estimated (every column is then
# cleaned through its dictionary).
ESTIMATE_ROWS = 10_000

# Rows at the head of a relation whose distinct values, estimated, screen its columns:
# a column with few distinct values there (dates, codes, countries) is taken to have
# few in all and is not estimated over every row (``_per_cell_columns``).
HEAD_ROWS = 16_384


def _per_cell_columns(
    cur: duckdb.DuckDBPyConnection,
    relation: str,
    width: int,
    rows: int,
    *,
    numbered: bool,
    newline: bool,
) -> tuple[set[int], int | None, bool]:
    """(columns cleaned per cell, first row holding a line break in a column estimated
    over every row, whether that search was made) over ``relation``.

    A column has more distinct values than ``DICTIONARY_SHARE`` of its rows if its
    head (``HEAD_ROWS``) does and an estimate over every row agrees: only the columns
    many-valued at the head (ids, free text) are estimated in full, so a release of
    dates, codes and countries is read once more for its head only. A column whose
    head repeats but whose rest does not is cleaned through its dictionary still: as
    correct, only slower. ``numbered``: ``relation`` is a table (its ``rowid`` is the
    row's order), so the head is read by row id and a line break can be searched."""
    if rows < ESTIMATE_ROWS or width == 0:
        return set(), None, False
    head = min(rows, HEAD_ROWS)
    if numbered:
        source = f"{relation} WHERE rowid < {head}"
    else:
        cols = ", ".join(f"c{i}" for i in range(width))
        source = f"(SELECT {cols} FROM {relation} LIMIT {head})"
    estimates = cur.execute(
        f"SELECT {', '.join(f'approx_count_distinct(c{i})' for i in range(width))} FROM {source}"
    ).fetchall()[0]
    many = [i for i in range(width) if int(estimates[i] or 0) > DICTIONARY_SHARE * head]
    if not many or rows <= head:  # the head was every row
        return set(many), None, False
    items = [f"approx_count_distinct(c{i})" for i in many]
    if newline and numbered:
        # the per-cell columns' line breaks, in the same scan (``cleaned_columns``)
        items.append(_first_line_break(many))
    got = cur.execute(f"SELECT {', '.join(items)} FROM {relation}").fetchall()[0]
    per_cell = {i for i, n in zip(many, got, strict=False) if int(n or 0) > DICTIONARY_SHARE * rows}
    if newline and numbered:
        # a column estimated but grouped has its line breaks found in its dictionary:
        # the row searched covers them too (the earliest row is the one asked for)
        return per_cell, got[-1], True
    return per_cell, None, False


def _first_line_break(columns: list[int]) -> str:
    """Aggregate: the first row (by rowid) with a line break in one of ``columns``."""
    test = " OR ".join(f"contains(c{i}, chr(10))" for i in columns)
    return f"min(rowid) FILTER (WHERE {test})"


@dataclass
class Cleaned:
    """How a relation's columns are cleaned (``cleaned_columns``)."""

    select: str  # c0.., x0.. (cleaned), r0.. (redacted) over the relation aliased s
    joins: str  # the dictionaries they read, joined
    # with ``newline``: the first row (by rowid) holding a line break, or None
    newline_row: int | None = None


def cleaned_columns(
    cur: duckdb.DuckDBPyConnection,
    relation: str,
    width: int,
    prefix: str,
    rows: int,
    db: str = STAGE_DB,
    *,
    numbered: bool = True,
    newline: bool = False,
) -> Cleaned:
    """The select list and joins giving ``c0``.. as read, ``x0``.. cleaned and ``r0``..
    (the cell was a redaction) over ``relation`` aliased ``s``, and with ``newline``
    (``relation`` a table, ``numbered``) the first row holding a line break.

    Why dictionaries: a release's columns repeat a few values (25 AORs, 365 dates, one
    redaction code in every birth date), and cleaning a cell (trim, redaction pattern,
    empty tokens: ``it_clean``) costs several times reading it; cleaning each distinct
    value once and joining it back costs a fraction. Every such column's distinct
    values are gathered first and cleaned by ONE statement: cleaning is planned once,
    not once per column (its plan alone costs about what grouping a column does).
    Only the values cleaning changes are kept (a table in ``db`` named after
    ``prefix``), and the values holding a line break (so the search for one reads the
    dictionary, not every cell). Most of a release's
    values are clean as read: a column with none changed is taken as it is (no join),
    one where cleaning changes a few values (``INLINE_CHANGES``: a redaction code in
    every birth date) gets a CASE over those, and only the others are joined to their
    changed values (a value not among them is as read). A column of mostly distinct
    values (identifiers, ``_per_cell_columns``) is cleaned per cell. A NULL cell stays
    NULL, as cleaning NULL gives."""
    if width == 0:
        return Cleaned("", "")
    search = newline and numbered
    per_cell, newline_row, searched = _per_cell_columns(
        cur, relation, width, rows, numbered=numbered, newline=search
    )
    grouped = [i for i in range(width) if i not in per_cell]
    d = f'{db}."{prefix}_dict"'
    changes: dict[int, int] = {}
    pairs: dict[int, list[tuple[str, str | None, bool]]] = {}
    broken = False  # a grouped column holds a line break
    if grouped:
        temp = "TEMP " if db == "temp" else ""
        values = f'{db}."{prefix}_values"'
        kept = "changed OR contains(v, chr(10))" if search else "changed"
        # one column's distinct values per statement (one hash table at a time: an
        # aggregate of every column at once held 3-10 times the memory), all in one
        # call, and all cleaned by one statement
        cur.execute(
            ";\n".join(
                [
                    f"CREATE {temp}TABLE {values} (i INTEGER, v VARCHAR)",
                    *(
                        f"INSERT INTO {values} SELECT {i}, c{i} FROM {relation} "
                        f"WHERE c{i} IS NOT NULL GROUP BY c{i}"
                        for i in grouped
                    ),
                    f"CREATE {temp}TABLE {d} AS SELECT i, v, x, r, changed FROM ("
                    "SELECT i, v, x, r, r OR x IS DISTINCT FROM v AS changed FROM ("
                    f"SELECT i, v, it_clean(v) AS x, it_redacted(v) AS r FROM {values})) "
                    f"WHERE {kept}",
                    f"DROP TABLE {values}",
                ]
            )
        )
        for i, n, lines in cur.execute(
            f"SELECT i, count_if(changed), bool_or(contains(v, chr(10))) FROM {d} GROUP BY i"
        ).fetchall():
            changes[int(i)] = int(n)
            broken = broken or bool(lines)
        few = [i for i, n in changes.items() if 0 < n <= INLINE_CHANGES]
        if few:
            for i, v, x, r in cur.execute(
                f"SELECT i, v, x, r FROM {d} WHERE changed AND i IN ({', '.join(map(str, few))}) "
                "ORDER BY i, v"
            ).fetchall():
                pairs.setdefault(int(i), []).append((v, x, r))
    # the first row holding a line break: in a grouped column (seen in its dictionary)
    # any column's may come first; else only per-cell columns not searched yet can
    search_in = (
        list(range(width)) if broken else sorted(per_cell) if search and not searched else []
    )
    if search and search_in:
        newline_row = cur.execute(
            f"SELECT {_first_line_break(search_in)} FROM {relation}"
        ).fetchall()[0][0]
    select: list[str] = []
    joins: list[str] = []
    for i in range(width):
        if i in per_cell:
            select.append(f"s.c{i}, it_clean(s.c{i}) AS x{i}, it_redacted(s.c{i}) AS r{i}")
            continue
        if not changes.get(i):  # every value as read: nothing to join
            select.append(f"s.c{i}, s.c{i} AS x{i}, false AS r{i}")
            continue
        few_pairs = pairs.get(i, [])
        if few_pairs and all(v.isprintable() for v, _, _ in few_pairs):
            # a few values (a redaction code in every birth date): a CASE, no join
            cases = " ".join(f"WHEN {_lit(v)} THEN {_lit_or_null(x)}" for v, x, _ in few_pairs)
            redacted = [_lit(v) for v, _, r in few_pairs if r]
            red = f"s.c{i} IN ({', '.join(redacted)})" if redacted else "false"
            select.append(
                f"s.c{i}, CASE s.c{i} {cases} ELSE s.c{i} END AS x{i}, "
                f"coalesce({red}, false) AS r{i}"
            )
            continue
        select.append(
            f"s.c{i}, CASE WHEN d{i}.v IS NULL THEN s.c{i} ELSE d{i}.x END AS x{i}, "
            f"coalesce(d{i}.r, false) AS r{i}"
        )
        joins.append(
            f"LEFT JOIN (SELECT v, x, r FROM {d} WHERE i = {i} AND changed) d{i} ON d{i}.v = s.c{i}"
        )
    return Cleaned(", ".join(select), " ".join(joins), newline_row)


# Readers whose Arrow batches are staged whole on the reading thread, like a text scan
# (so a file is staged while the one before it is written): parquet, whose rows take
# memory no different from a delimited file's. A workbook's sheets are streamed chunk
# by chunk instead, to keep its peak memory near a bare parse's (docs/performance.md).
STAGED_FORMATS = frozenset({"ddp_clean_parquet"})


def stage_arrow(cur: duckdb.DuckDBPyConnection, part: Part, path: Path, prefix: str) -> Staged:
    """Load a reader's Arrow batches into ``ingest_stage`` (on ``cur``) and return the
    view over them with the cleaned columns beside (see ``cleaned_columns``)."""
    table = f'{STAGE_DB}."{prefix}_arrow"'
    width = len(part.columns)
    names = ", ".join([*(f"c{i}" for i in range(width)), SOURCE_ROW])
    cur.execute(
        f"CREATE TABLE {table} AS SELECT * FROM (VALUES "
        f"({', '.join(['CAST(NULL AS VARCHAR)'] * width + ['CAST(NULL AS BIGINT)'])})) t({names}) "
        "WHERE false"
    )
    rows = 0
    chunk = f"{prefix}_chunk"
    for data in arrow_chunks(part, path):
        cur.register(chunk, data)
        try:
            cur.execute(f"INSERT INTO {table} SELECT * FROM {chunk}")
        finally:
            cur.unregister(chunk)
        rows += data.num_rows
        del data
    cleaned = cleaned_columns(cur, table, width, f"{prefix}_arrow", rows)
    cols, joins = cleaned.select, cleaned.joins
    view = f'{STAGE_DB}."{prefix}_rows"'
    sep = ", " if cols else ""
    cur.execute(f"CREATE VIEW {view} AS SELECT {cols}{sep}s.{SOURCE_ROW} FROM {table} s {joins}")
    return Staged(relation=view, rows=rows, precleaned=True)


def cleaned_view(
    con: duckdb.DuckDBPyConnection, relation: str, width: int, prefix: str, rows: int
) -> str:
    """A temporary view over ``relation`` (``c0``.., ``source_row``: a reader's Arrow
    chunk) with the cleaned columns ``x0``.. and ``r0``.. beside them (see
    ``cleaned_columns``); ``drop(con, prefix, "temp")`` drops it and its dictionaries.
    Temporary: it is made inside the file's transaction, which writes to the store (a
    transaction writes to one attached database, and to temp)."""
    cleaned = cleaned_columns(con, relation, width, prefix, rows, db="temp", numbered=False)
    cols, joins = cleaned.select, cleaned.joins
    view = f'temp."{prefix}_clean"'
    sep = ", " if cols else ""
    con.execute(
        f"CREATE TEMP VIEW {view} AS SELECT {cols}{sep}s.{SOURCE_ROW} FROM {relation} s {joins}"
    )
    return view


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _lit_or_null(text: str | None) -> str:
    return "CAST(NULL AS VARCHAR)" if text is None else _lit(text)


def arrow_chunks(part: Part, path: Path) -> Iterator[pa.Table]:
    """The part's batches as tables of ``c0``..``cN`` text columns and ``source_row``,
    ``CHUNK_ROWS`` rows at most (more only when one batch is larger)."""
    import pyarrow as pa

    expected = [*part.columns, SOURCE_ROW]
    names = [*(f"c{i}" for i in range(len(part.columns))), SOURCE_ROW]
    pending: list[pa.RecordBatch] = []
    size = 0
    for batch in part.batches:
        if batch.num_rows == 0:
            continue
        if batch.schema.names != expected:
            missing = [c for c in expected if c not in batch.schema.names]
            if missing:
                raise FormatError(
                    path, f"reader yielded a batch without columns {missing}", sheet=part.sheet
                )
            batch = pa.RecordBatch.from_arrays([batch.column(c) for c in expected], names=expected)
        arrays = [as_text(c) for c in batch.columns[:-1]]
        rows = batch.column(len(arrays)).cast(pa.int64())
        pending.append(pa.RecordBatch.from_arrays([*arrays, rows], names=names))
        size += batch.num_rows
        if size >= CHUNK_ROWS:
            yield pa.Table.from_batches(pending)
            pending, size = [], 0
    if pending:
        yield pa.Table.from_batches(pending)
