"""Ingest release files into the store: detect, read, normalize, write — one DuckDB
transaction per file, so a failure (or a kill) mid-file leaves the store as it was.
Idempotent by content hash: a file already loaded is ``skipped``."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import re
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from icetally import __version__, reference, sources
from icetally.normalize import (
    canonical_fields,
    clean_view_sql,
    event_field,
    keys_sql,
    select_sql,
)
from icetally.normalize import install as install_normalize
from icetally.normalize.codes import CodeKey, code_keys, date_key
from icetally.normalize.rules import OUT_OF_RANGE_FLAG
from icetally.schema import raw_column_name, snake
from icetally.sources.base import MAX_COLUMNS, FormatError, Part
from icetally.sources.counts import AREA_FIELDS
from icetally.store import coverage, official, stage
from icetally.store.db import (
    COLUMN_TYPES,
    file_sha256,
    install_reference,
    quiet,
    rows_table,
    stored_columns,
    widen,
)
from icetally.store.handle import Store
from icetally.store.stage import Reject, Staged

DATA_SUFFIXES = (".csv", ".gz", ".xlsx", ".xlsm", ".parquet", ".tsv", ".psv", ".txt")

Progress = Callable[..., None]


@dataclass
class SheetResult:
    release_id: str
    sheet: str | None
    dataset: str
    format: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    redactions: dict[str, int] = field(default_factory=dict)
    unmapped: dict[str, dict[str, int]] = field(default_factory=dict)
    # content fingerprint of the parsed rows (see _fingerprint)
    fingerprint: str | None = None


@dataclass
class FileResult:
    path: str
    status: str  # loaded | skipped | failed
    format: str | None = None
    dataset: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    error: str | None = None
    sha256: str | None = None
    sheets: list[SheetResult] = field(default_factory=list)
    # official-statistics workbooks (store/official.py): the tables found by title,
    # title-like texts no table entry recognized, and reader warnings
    tables: list[str] = field(default_factory=list)
    unrecognized: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # why a file was skipped (already loaded, in these bytes or in others)
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sheets"] = [
            {k: v for k, v in s.items() if k not in ("redactions", "fingerprint")}
            for s in d["sheets"]
        ]
        return d


def _folder_files(folder: Path) -> list[Path]:
    """Data files under a folder, recursively and sorted, following symbolic links to
    folders (each real folder once, so a link cycle ends)."""
    out: list[Path] = []
    seen: set[str] = set()
    for root, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            f = Path(root) / name
            if not name.startswith(".") and name.lower().endswith(DATA_SUFFIXES) and f.is_file():
                out.append(f)
    return sorted(out)


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files as given; folders expand (recursively, sorted, through symbolic links) to
    their data files. A folder with none stays in the list, so it is reported."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(_folder_files(p) or [p])
        else:
            out.append(p)
    return out


def _raw_columns(part: Part) -> dict[str, str]:
    """Headers kept as raw_* text columns: unmapped ones and mapped ones whose field
    has no canonical column."""
    keep = canonical_fields()
    out: dict[str, str] = {}
    used: set[str] = set()
    for header in part.columns:
        fld = part.fields.get(header)
        if fld is not None and fld in keep:
            continue
        name = raw_column_name(header)
        base, i = name, 2
        while name in used:
            name, i = f"{base}_{i}", i + 1
        used.add(name)
        out[header] = name
    return out


_TITLE_AOR = re.compile(r"(?:for|in) the ([A-Z][A-Za-z. ]+?) (?:Area of Responsibility|AOR)\b")


def aor_from_title(title: str | None) -> tuple[str, str] | None:
    """(code, phrase) when a release title names one AOR ("... for the Seattle Area of
    Responsibility", "... in the Seattle AOR")."""
    m = _TITLE_AOR.search(title or "")
    if not m:
        return None
    code = reference.aor_code(m.group(1))
    return (code, m.group(0)) if code else None


def _writes_alone(
    con: duckdb.DuckDBPyConnection, prep: _Prepared, immigration_pattern: str
) -> bool:
    """Whether the file is written with no other file's transaction open: it adds
    columns to a dataset's table (an ALTER, which no other transaction on the table
    may overlap: a column no file before filled, or a raw_* column), is an official
    workbook, or is read while it is written (a workbook's sheets, streamed chunk by
    chunk to keep memory near a bare parse's: two at once would double it)."""
    if prep.official or not all(_staged_ahead(part) for part in prep.parts):
        return True
    have: dict[str, set[str]] = {}
    for part in prep.parts:
        cols = have.setdefault(part.dataset, set(stored_columns(con, part.dataset)))
        plan = _plan(
            part,
            path=prep.path,
            release_id="",
            immigration_pattern=immigration_pattern,
            view="",
            raw_view="",
            table="",
        )
        if any(c not in cols for c in plan.columns):
            return True
    return False


def _crash_point() -> None:
    """Test hook: SIGKILL this process after N batches, to prove a kill mid-file leaves
    the store as it was (tests/test_ingest_errors.py)."""
    left = os.environ.get("ICETALLY_TEST_KILL_AFTER_BATCHES")
    if left is None:
        return
    if int(left) <= 1:
        os.kill(os.getpid(), signal.SIGKILL)
    os.environ["ICETALLY_TEST_KILL_AFTER_BATCHES"] = str(int(left) - 1)


def _release_id(sha: str, sheet: str | None) -> str:
    return sha[:16] + (f"/{snake(sheet)}" if sheet else "")


@dataclass
class _Plan:
    """What the SQL needs to know about a part: its width, lookups, statements and the
    columns it fills."""

    width: int
    keys: list[CodeKey]
    insert_sql: str
    quarantine_sql: str
    columns: dict[str, str]  # the table's columns the rows fill -> DuckDB type


def _keys(part: Part) -> tuple[dict[str, str], list[CodeKey], str | None]:
    """(batch column -> field, the lookups, the parsed event date's column or None)."""
    # Columns are queried under positional names (c0, c1, ...): real headers can be
    # empty, duplicated or full of punctuation.
    safe = {h: f"c{i}" for i, h in enumerate(part.columns)}
    fields = {safe[h]: f for h, f in part.fields.items()}
    keys = code_keys(fields)
    # the event date parsed once per distinct text (a year of arrests has 365)
    event_ts = None
    by_field = {f: c for c, f in reversed(fields.items())}
    event_col = by_field.get(event_field(part.dataset, set(by_field)))
    if event_col is not None and part.dataset != "cbp_encounters":
        event_ts = "_event_ts"
        keys.append(date_key(event_col, event_ts))
    return fields, keys, event_ts


def _plan(
    part: Part,
    *,
    path: Path,
    release_id: str,
    immigration_pattern: str,
    view: str,
    raw_view: str,
    table: str,
) -> _Plan:
    """``table``: the SQL name of the table the rows go to (``db.rows_table``)."""
    raw_columns = _raw_columns(part)
    safe = {h: f"c{i}" for i, h in enumerate(part.columns)}
    fields, keys, event_ts = _keys(part)
    codes = {c for k in keys for c in k.codes if k.name != "event_ts"}
    insert, quarantine, filled = select_sql(
        dataset=part.dataset,
        fields=fields,
        codes=codes,
        event_ts=event_ts,
        raw_columns={safe[h]: c for h, c in raw_columns.items()},
        release_id=release_id,
        source_file=path.name,
        source_sheet=part.sheet,
        immigration_pattern=immigration_pattern,
        default_aor=aor_from_title(part.metadata.get("title")),
        labels={v: k for k, v in safe.items()},
        view=view,
        raw_view=raw_view,
        # the cells of one line of a wide count table are rows told apart by area
        row_key=next((c for c, f in fields.items() if f in AREA_FIELDS.values()), None)
        if "count" in fields.values()
        else None,
    )
    return _Plan(
        width=len(part.columns),
        keys=keys,
        insert_sql=f"INSERT INTO {table} BY NAME {insert}",
        quarantine_sql=f"INSERT INTO quarantine BY NAME {quarantine}",
        columns={
            **{c: COLUMN_TYPES[c] for c in filled},
            **dict.fromkeys(raw_columns.values(), "VARCHAR"),
        },
    )


# Lookups whose unmapped values are reported (with counts, never dropped), and the
# condition on their lookup table.
_UNMAPPED = {
    "aor": 'k0 IS NOT NULL AND "_code_aor" IS NULL',
    # names known to be no country (UNKNOWN, STATELESS...) are not "unmapped"
    "citizenship": 'k0 IS NOT NULL AND "_code_iso3" IS NULL '
    "AND it_key(k0) NOT IN (SELECT key FROM ref_countries)",
    "method": "k0 IS NOT NULL AND it_key(k0) NOT IN (SELECT key FROM ref_methods)",
    "criminality": "k0 IS NOT NULL AND coalesce(\"_code_criminality\", 'unknown') = 'unknown'",
}


def _load_chunk(
    con: duckdb.DuckDBPyConnection,
    plan: _Plan,
    *,
    dataset: str,
    relation: str,
    view: str,
    sheet_result: SheetResult,
    redactions: list[int],
    unmapped: dict[str, dict[str, int]],
    content: list[int],
    precleaned: bool = False,
    keyed: list[tuple] | None = None,
) -> None:
    """Group, look up, clean and write one staged chunk (rows that cannot be loaded go
    to the quarantine): two passes over the stage, both in SQL on every core (the
    first, ``keyed``, done already when the file was staged on the reading thread)."""
    if keyed is None:
        keyed = con.execute(
            keys_sql(relation, plan.width, plan.keys, precleaned=precleaned)
        ).fetchall()
    nkeys = len(plan.keys)
    groups: dict[str, list[tuple[tuple[str | None, ...], int]]] = {k.name: [] for k in plan.keys}
    widths = [len(k.key_parts()) for k in plan.keys]
    nvalues = sum(widths)
    total = 0
    for row in keyed:
        flags, values = row[:nkeys], row[nkeys : nkeys + nvalues]
        n, reds = int(row[nkeys + nvalues]), row[nkeys + nvalues + 1 :]
        if all(flags):  # the grand total
            total = n
            *reds, row_hash = reds
            content[0] += n
            content[1] = (content[1] + int(row_hash or 0)) % (1 << 64)
            for i, r in enumerate(reds):
                redactions[i] += int(r or 0)
            continue
        at = 0
        for key, flag, w in zip(plan.keys, flags, widths, strict=True):
            if flag == 0:
                groups[key.name].append((tuple(values[at : at + w]), n))
            at += w
    tables: dict[str, str] = {}
    try:
        for key in plan.keys:
            name = f"_k_{key.name}"
            sql, params = key.create_sql(name, groups[key.name])
            con.execute(sql, params)
            tables[key.name] = name
            if key.sql:  # codes computed in SQL on the distinct values
                derived = ", ".join(f"{sql} AS {col}" for col, sql in key.sql)
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {name}_sql AS SELECT *, {derived} FROM {name}"
                )
                tables[key.name] = f"{name}_sql"
            if key.name in _UNMAPPED and not (key.name == "aor" and dataset == "cbp_encounters"):
                for value, n in con.execute(
                    f"SELECT k0, n FROM {name} WHERE {_UNMAPPED[key.name]}"
                ).fetchall():
                    found = unmapped.setdefault(key.name, {})
                    found[str(value)] = found.get(str(value), 0) + int(n)
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {view} AS "
            + clean_view_sql(relation, plan.width, plan.keys, tables, precleaned=precleaned)
        )
        loaded = _insert_unordered(con, plan.insert_sql)
        # a second pass only when some rows were refused (rare)
        quarantined = (
            int(con.execute(plan.quarantine_sql).fetchall()[0][0]) if loaded < total else 0
        )
    finally:
        # after a failed statement DuckDB refuses everything until ROLLBACK; don't let
        # that mask the original error
        with contextlib.suppress(duckdb.Error):
            con.execute(f"DROP VIEW IF EXISTS {view}")
        for key in plan.keys:
            with contextlib.suppress(duckdb.Error):
                con.execute(f"DROP TABLE IF EXISTS _k_{key.name}_sql")
            with contextlib.suppress(duckdb.Error):
                con.execute(f"DROP TABLE IF EXISTS _k_{key.name}")
    sheet_result.rows_read += total
    sheet_result.rows_loaded += loaded
    sheet_result.rows_quarantined += quarantined


def _insert_unordered(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """Run an INSERT without keeping the rows' physical order (each row carries its
    line, ``source_row``; nothing reads the canonical tables by position): DuckDB
    then writes row groups as its threads finish them, about a fifth less CPU for a
    large file. Only this cursor's session is changed, and only for the statement."""
    con.execute("SET SESSION preserve_insertion_order = false")
    try:
        return int(con.execute(sql).fetchall()[0][0])
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute("RESET SESSION preserve_insertion_order")


def _stages(
    con: duckdb.DuckDBPyConnection,
    part: Part,
    *,
    path: Path,
    prefix: str,
    staged: Staged | None,
) -> Iterator[tuple[str, list[Reject], bool, list[tuple] | None]]:
    """(relation, refused records) per chunk of the part: the text scan staged already
    (``staged``), staged now, or the reader's Arrow batches registered chunk by chunk."""
    if staged is None and part.text_scan is not None:
        cur = con.cursor()
        try:
            staged = stage_part(cur, part, prefix, path)
        finally:
            cur.close()
    if staged is not None:
        yield staged.relation, staged.rejects, staged.precleaned, staged.keyed
        return
    for i, table in enumerate(stage.arrow_chunks(part, path)):
        name = f"{prefix}_arrow{i}"
        con.register(name, table)
        try:
            # cleaned once per distinct value (store/stage.py), not once per cell
            view = stage.cleaned_view(con, name, len(part.columns), name, table.num_rows)
            yield view, [], True, None
        finally:
            stage.drop(con, name, "temp")
            with contextlib.suppress(duckdb.Error):
                con.unregister(name)
        del table


def stage_part(cur: duckdb.DuckDBPyConnection, part: Part, prefix: str, path: Path) -> Staged:
    """Stage a part's text scan (or, for ``stage.STAGED_FORMATS``, its Arrow batches)
    on ``cur``: a cursor of the store's connection in auto-commit mode, used by one
    thread only."""
    quiet(cur)
    # a delimited file's staged rows are numbered by their order (row ids are lines):
    # whatever the cursor's last write set (``_insert_unordered``)
    cur.execute("SET SESSION preserve_insertion_order = true")
    stage.attach(cur)
    install_normalize(cur)
    if part.text_scan is None:
        return stage.stage_arrow(cur, part, path, prefix)
    return stage.stage_text(cur, part.text_scan, prefix)


def _staged_ahead(part: Part) -> bool:
    """Whether a part is staged on the reading thread, ahead of its write."""
    return part.text_scan is not None or part.format in stage.STAGED_FORMATS


def _check_width(part: Part, path: Path) -> None:
    """Unmapped headers become raw_* columns of the canonical table: a file wider than
    any release would widen it for good (and cost memory per column): refused before
    a row is read."""
    if len(part.columns) > MAX_COLUMNS:
        raise FormatError(
            path,
            f"{len(part.columns):,} columns; icetally reads at most {MAX_COLUMNS:,} "
            "(no release format has more): split the file or keep the columns you need",
            sheet=part.sheet,
        )


def _load_part(
    con: duckdb.DuckDBPyConnection,
    part: Part,
    *,
    path: Path,
    sha: str,
    immigration_pattern: str,
    progress: Progress | None,
    staged: Staged | None = None,
    prefix: str = "p",
) -> SheetResult:
    release_id = _release_id(sha, part.sheet)
    result = SheetResult(
        release_id=release_id, sheet=part.sheet, dataset=part.dataset, format=part.format
    )
    _check_width(part, path)
    view = "_clean_rows"
    plan = _plan(
        part,
        path=path,
        release_id=release_id,
        immigration_pattern=immigration_pattern,
        view=view,
        raw_view="_raw_rows",
        table=rows_table(con, part.dataset),
    )
    widen(con, part.dataset, plan.columns)
    redactions = [0] * plan.width
    unmapped: dict[str, dict[str, int]] = {}
    content = [0, 0]  # rows, sum of row hashes (mod 2**64): order-free
    bad_rows: list[Reject] = []
    raw_cols = ", ".join([*(f"c{i}" for i in range(plan.width)), "source_row"])
    for relation, rejects, precleaned, keyed in _stages(
        con, part, path=path, prefix=prefix, staged=staged
    ):
        con.execute(f"CREATE OR REPLACE TEMP VIEW _raw_rows AS SELECT {raw_cols} FROM {relation}")
        try:
            _load_chunk(
                con,
                plan,
                dataset=part.dataset,
                relation=relation,
                view=view,
                sheet_result=result,
                redactions=redactions,
                unmapped=unmapped,
                content=content,
                precleaned=precleaned,
                keyed=keyed,
            )
        finally:
            with contextlib.suppress(duckdb.Error):
                con.execute("DROP VIEW IF EXISTS _raw_rows")
        bad_rows.extend(rejects)
        if progress:
            progress("rows", n=result.rows_read)
        _crash_point()
    # rows the reader could not split into fields (wrong field count, broken quote)
    bad_rows.extend(
        Reject(line=r.get("source_row"), reason=r["reason"], text=r.get("raw"))
        for r in part.metadata.get("bad_rows") or []
    )
    if bad_rows:
        con.executemany(
            "INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?)",
            [
                (release_id, path.name, part.sheet, r.line, r.reason, json.dumps({"text": r.text}))
                for r in sorted(bad_rows, key=lambda r: r.line or 0)
            ],
        )
        result.rows_read += len(bad_rows)
        result.rows_quarantined += len(bad_rows)
    result.redactions = {h: n for h, n in zip(part.columns, redactions, strict=True) if n}
    result.fingerprint = _fingerprint(part, content, bad_rows)
    _refuse_known_content(con, result, path, sha)
    result.unmapped = {
        name: dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))[:200])
        for name, found in unmapped.items()
    }
    stats = con.execute(
        # over plausible dates only: one row dated 9999-12-31 must not stretch the
        # release's span (coverage, series, surges read it)
        f'SELECT min(event_date), max(event_date) FROM "{part.dataset}" WHERE release_id = ? '
        "AND (date_flag IS NULL OR NOT contains(date_flag, ?))",
        [release_id, OUT_OF_RANGE_FLAG],
    ).fetchall()[0]
    metadata = {k: v for k, v in part.metadata.items() if k != "bad_rows"}
    stated = (part.coverage_start, part.coverage_end)
    if result.rows_read == 0:
        # a release with no rows covers nothing, whatever its title states: a count in
        # the stated span is then unverifiable, never "0 recorded"
        if any(stated):
            metadata["stated_coverage"] = [str(d) if d else None for d in stated]
        stated = (None, None)
    con.execute(
        "INSERT INTO releases (release_id, sha256, path, file_name, sheet, format, dataset, "
        "rows_read, rows_loaded, rows_quarantined, coverage_start, coverage_end, "
        "min_event_date, max_event_date, title, metadata, redactions, unmapped, ingested_at, "
        "icetally_version, content_fingerprint) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            release_id,
            sha,
            str(path.resolve()),
            path.name,
            part.sheet,
            part.format,
            part.dataset,
            result.rows_read,
            result.rows_loaded,
            result.rows_quarantined,
            stated[0],
            stated[1],
            stats[0],
            stats[1],
            metadata.get("title"),
            json.dumps(metadata, default=str),
            json.dumps(result.redactions),
            json.dumps(result.unmapped),
            datetime.now().replace(microsecond=0),
            __version__,
            result.fingerprint,
        ],
    )
    spans = part.coverage_spans
    if spans is None and "count" in part.fields.values():
        # a count table covers the days it reports, per area: a cell not reported
        # (NA) or a day without a row is a gap in coverage, never a zero
        kinds = [k for k, f in AREA_FIELDS.items() if f in part.fields.values()]
        spans = coverage.reported_spans(con, part.dataset, release_id, kinds)
    coverage.write_spans(
        con,
        release_id,
        # what the release covers: the reader's spans, else its stated coverage, else
        # its first and last plausible event; nothing when it has no rows
        (spans or [(None, stated[0] or stats[0], stated[1] or stats[1])])
        if result.rows_read
        else [],
    )
    return result


class KnownContent(Exception):
    """A part holds rows already in the store under other bytes (a gunzipped or
    re-compressed copy): the file is skipped, never counted twice."""


def _fingerprint(part: Part, content: list[int], bad_rows: list[Reject]) -> str:
    """The parsed rows' identity, independent of the file's bytes and compression:
    dataset, headers, row count and an order-free sum of row hashes (cell text and
    line), plus the refused records' lines and text."""
    refused = hashlib.sha256(
        json.dumps([(r.line, r.text) for r in sorted(bad_rows, key=lambda r: r.line or 0)]).encode()
    ).hexdigest()[:16]
    head = hashlib.sha256(json.dumps([part.dataset, part.columns]).encode()).hexdigest()[:16]
    return f"{head}:{content[0]}:{content[1]:016x}:{refused}"


def _refuse_known_content(
    con: duckdb.DuckDBPyConnection, result: SheetResult, path: Path, sha: str
) -> None:
    same = con.execute(
        "SELECT file_name, sheet, release_id FROM releases "
        "WHERE content_fingerprint = ? AND sha256 <> ? LIMIT 1",
        [result.fingerprint, sha],
    ).fetchall()
    if same and result.rows_read:
        raise _known_content(path, *same[0])


def _known_content(path: Path, name: str, sheet: str | None, rid: str) -> KnownContent:
    """The refusal of a file whose rows ``name`` (``sheet``, release ``rid``) holds."""
    where = name + (f", sheet {sheet!r}" if sheet else "")
    return KnownContent(
        f"{path}: the same rows as {where} (release {rid}) are already in the store, "
        "in other bytes (e.g. a gunzipped or re-compressed copy); not loaded again"
    )


@dataclass
class _Prepared:
    """A file read ahead of its write: hash, parts, and text scans staged."""

    path: Path
    prefix: str
    sha: str | None = None
    parts: list[Part] = field(default_factory=list)
    staged: dict[int, Staged] = field(default_factory=dict)
    error: BaseException | None = None
    official: bool = False  # an ICE detention statistics workbook (store/official.py)


def _prepare(
    cur: duckdb.DuckDBPyConnection,
    path: Path,
    prefix: str,
    *,
    dataset: str | None,
    mapping: dict[str, str] | None,
) -> _Prepared:
    """Everything about one file that needs no write: safe on a worker thread (its
    SQL runs on ``cur``, a cursor of its own, closed here), so the next file is read
    while one is written."""
    try:
        return _prepare_on(cur, path, prefix, dataset=dataset, mapping=mapping)
    finally:
        with contextlib.suppress(duckdb.Error):
            cur.close()


def _prepare_on(
    cur: duckdb.DuckDBPyConnection,
    path: Path,
    prefix: str,
    *,
    dataset: str | None,
    mapping: dict[str, str] | None,
) -> _Prepared:
    prep = _Prepared(path=path, prefix=prefix)
    if path.is_dir():
        prep.error = FormatError(
            path,
            "a folder with no release files in it (looked for "
            + ", ".join(f"*{s}" for s in DATA_SUFFIXES)
            + "); give the files or the folder that holds them",
        )
        return prep
    try:
        prep.sha = file_sha256(path)
    except OSError as exc:
        prep.error = OSError(f"{path}: cannot read: {exc.strerror or exc}")
        return prep
    try:
        if dataset is None and mapping is None and official.claims(path):
            prep.official = True
            return prep
        prep.parts = list(sources.read(path, dataset=dataset, mapping=mapping))
        for part in prep.parts:
            _check_width(part, path)
        for i, part in enumerate(prep.parts):
            if _staged_ahead(part):
                staged = prep.staged[i] = stage_part(cur, part, f"{prefix}_{i}", path)
                # the grouping pass too, here: the writing thread then only writes
                _, keys, _ = _keys(part)
                staged.keyed = cur.execute(
                    keys_sql(staged.relation, len(part.columns), keys, precleaned=True)
                ).fetchall()
    except Exception as exc:  # noqa: BLE001 - reported for this file, in the main thread
        prep.error = exc
    return prep


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Undo the file's transaction; a ROLLBACK that fails (no transaction left after a
    fatal I/O error) must not hide the error that caused it."""
    with contextlib.suppress(duckdb.Error):
        con.execute("ROLLBACK")


class _Cores:
    """At most ``n`` of a run's files at work (read, staged or written) at once, one per
    core. A file that must wait its turn in the gate gives its core up meanwhile, so a
    later file is read and staged instead of a core idling (a file that widens a table
    writes alone: the next file, staged already, would wait for its commit). Files take
    their first core in order; a freed core goes first to the next file to start (so
    the last files are staged while earlier ones write, and the run does not end on
    one file's reading and writing in turn on one core), then to the earliest file
    waiting to go on."""

    def __init__(self, n: int, first: int) -> None:
        self._cond = threading.Condition()
        self._free = n
        self._starting: set[int] = set()
        self._resuming: set[int] = set()
        self._next = first  # the next file to take its first core

    def _turn(self, index: int, first: bool) -> bool:
        if self._free <= 0:
            return False
        if first:
            return index == self._next
        return self._next not in self._starting and index == min(self._resuming)

    def acquire(self, index: int, *, first: bool = False) -> None:
        waiting = self._starting if first else self._resuming
        with self._cond:
            waiting.add(index)
            self._cond.wait_for(lambda: self._turn(index, first))
            waiting.discard(index)
            self._free -= 1
            if first:
                self._next += 1
            self._cond.notify_all()

    def release(self) -> None:
        with self._cond:
            self._free += 1
            self._cond.notify_all()

    def defer(self, index: int) -> None:
        """Hand the core to an earlier file waiting to go on, and wait for a core
        again: the earlier file commits first, so a later one that took the core while
        it waited would only wait at its own commit."""
        with self._cond:
            if not any(j < index for j in self._resuming):
                return
            self._free += 1
            self._cond.notify_all()
        self.acquire(index)


class _Gate:
    """How files written at the same time, each in its own transaction on its own
    cursor, keep the guarantees of writing them one after another (``index`` is a
    file's position in the run):

    - a file whose bytes an earlier file of the run has waits for it (then it is
      ``skipped`` as already loaded, or loads if that one failed);
    - files start their transactions in order; one that adds columns to a table (an
      ALTER) or is an official workbook writes alone (no other transaction open);
    - files commit in order, and a file holding the same rows as an earlier file of
      the run (its content fingerprint) is skipped: a transaction does not see rows
      committed after it began, so the run's own fingerprints are checked here.

    With ``cores``, a file that has to wait in any of these gives its core up while it
    waits (``_Cores``), and takes one again before it goes on.
    """

    def __init__(self, shas: dict[int, str | None], cores: _Cores | None = None) -> None:
        self._cond = threading.Condition()
        self._done: set[int] = set()
        self._entered: set[int] = set()
        self._shared = 0
        self._alone = False
        self._shas = shas  # known once a file is prepared (hashed)
        self._loaded: dict[str, tuple[str, str | None, str]] = {}  # fingerprint -> where
        self._cores = cores

    def _wait(self, ready: Callable[[], bool], gave: bool) -> bool:
        """Wait (the gate's lock held) until ``ready``, giving the file's core up first
        if it has to wait; returns whether the core is given up."""
        if ready():
            return gave
        if not gave and self._cores is not None:
            self._cores.release()
            gave = True
        self._cond.wait_for(ready)
        return gave

    def _resume(self, index: int, gave: bool) -> None:
        """Take a core again (outside the gate's lock) after waiting without one."""
        if gave and self._cores is not None:
            self._cores.acquire(index)

    def may_start(self, index: int, first: int, ahead: int) -> None:
        """Wait until file ``index`` is at most ``ahead`` places past the earliest file
        of the run (from ``first``) not done yet: bounds the files staged in memory."""
        with self._cond:
            self._cond.wait_for(
                lambda: (
                    index < next(j for j in range(first, index + 1) if j not in self._done) + ahead
                )
            )

    def prepared(self, index: int, sha: str | None) -> None:
        with self._cond:
            self._shas[index] = sha
            self._cond.notify_all()

    def wait_same_bytes(self, index: int, sha: str) -> None:
        with self._cond:
            gave = self._wait(
                lambda: all(
                    j in self._done or (j in self._shas and self._shas[j] != sha)
                    for j in range(index)
                ),
                False,
            )
        self._resume(index, gave)

    def enter(self, index: int, alone: Callable[[], bool]) -> bool:
        """Wait for the file's turn to begin its transaction; returns whether it writes
        alone. ``alone`` (must the file write alone?) is asked once no file that writes
        alone is open, since such a file may add the very columns asked about."""
        with self._cond:
            gave = self._wait(
                lambda: all(j in self._entered or j in self._done for j in range(index)), False
            )
            while True:
                gave = self._wait(lambda: not self._alone, gave)
                if not alone():
                    self._shared += 1
                    by_itself = False
                    break
                if self._shared == 0:
                    self._alone = by_itself = True
                    break
                gave = self._wait(lambda: self._shared == 0 or self._alone, gave)
            self._entered.add(index)
        if gave:
            self._resume(index, gave)
        elif self._cores is not None:
            self._cores.defer(index)
        return by_itself

    def leave(self, index: int, alone: bool) -> None:
        with self._cond:
            if alone:
                self._alone = False
            else:
                self._shared -= 1
            self._cond.notify_all()

    def commit_turn(self, index: int, sheets: list[SheetResult], path: Path) -> None:
        with self._cond:
            gave = self._wait(lambda: all(j in self._done for j in range(index)), False)
            if gave:
                # take the core back first: the COMMIT writes the file's last rows
                self._cond.release()
                try:
                    self._resume(index, gave)
                finally:
                    self._cond.acquire()
            for sheet in sheets:
                where = self._loaded.get(sheet.fingerprint or "")
                if where and sheet.rows_read:
                    raise _known_content(path, *where)

    def done(self, index: int, result: FileResult | None) -> None:
        with self._cond:
            if result is not None and result.status == "loaded":
                for sheet in result.sheets:
                    if sheet.fingerprint:
                        self._loaded.setdefault(
                            sheet.fingerprint,
                            (Path(result.path).name, sheet.sheet, sheet.release_id),
                        )
            self._done.add(index)
            self._entered.add(index)
            self._cond.notify_all()


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    immigration_pattern: str,
    dataset: str | None = None,
    mapping: dict[str, str] | None = None,
    progress: Progress | None = None,
    prepared: _Prepared | None = None,
    gate: _Gate | None = None,
    index: int = 0,
) -> FileResult:
    path = Path(path)
    prep = prepared or _prepare(con.cursor(), path, "p", dataset=dataset, mapping=mapping)
    result = FileResult(path=str(path), status="failed")
    try:
        return _ingest_prepared(con, prep, result, immigration_pattern, progress, gate, index)
    finally:
        with contextlib.suppress(duckdb.Error):
            stage.drop(con, prep.prefix)


def _ingest_prepared(
    con: duckdb.DuckDBPyConnection,
    prep: _Prepared,
    result: FileResult,
    immigration_pattern: str,
    progress: Progress | None,
    gate: _Gate | None = None,
    index: int = 0,
) -> FileResult:
    path = prep.path
    if prep.sha is None:
        result.error = str(prep.error)
        return result
    sha = result.sha256 = prep.sha
    if gate is not None:
        gate.wait_same_bytes(index, sha)
    known = con.execute(
        "SELECT format, string_agg(DISTINCT dataset, ','), sum(rows_read), sum(rows_loaded),"
        " sum(rows_quarantined) FROM releases WHERE sha256 = ? GROUP BY format",
        [sha],
    ).fetchall()
    if known:
        fmt, ds, read, loaded, quarantined = known[0]
        result.status = "skipped"
        result.format, result.dataset = fmt, ds
        result.rows_read, result.rows_loaded = int(read), int(loaded)
        result.rows_quarantined = int(quarantined)
        return result
    if prep.error is not None and not prep.official:
        if isinstance(prep.error, FormatError | ValueError | duckdb.Error | OSError):
            result.error = str(prep.error)
        else:
            result.error = (
                f"{path}: not loaded: the file could not be read "
                f"({type(prep.error).__name__}: {str(prep.error)[:200]}); please report this file"
            )
        return result
    alone = gate is not None and gate.enter(
        index, lambda: _writes_alone(con, prep, immigration_pattern)
    )
    try:
        if prep.official:
            return _ingest_official(con, path, sha, result)
        return _write_parts(con, prep, result, immigration_pattern, progress, gate, index)
    finally:
        if gate is not None:
            gate.leave(index, alone)


def _write_parts(
    con: duckdb.DuckDBPyConnection,
    prep: _Prepared,
    result: FileResult,
    immigration_pattern: str,
    progress: Progress | None,
    gate: _Gate | None,
    index: int,
) -> FileResult:
    """The file's parts in one transaction."""
    path, sha = prep.path, result.sha256
    assert sha is not None
    con.execute("BEGIN TRANSACTION")
    try:
        for i, part in enumerate(prep.parts):
            if progress:
                progress(
                    "part",
                    path=path,
                    sheet=part.sheet,
                    dataset=part.dataset,
                    rows_hint=part.rows_hint,
                )
            sheet = _load_part(
                con,
                part,
                path=path,
                sha=sha,
                immigration_pattern=immigration_pattern,
                progress=progress,
                staged=prep.staged.get(i),
                prefix=f"{prep.prefix}_{i}",
            )
            result.sheets.append(sheet)
        if not result.sheets:
            raise FormatError(path, "no table of records found in the file")
        if gate is not None:
            gate.commit_turn(index, result.sheets, path)
        con.execute("COMMIT")
    except KnownContent as exc:
        _rollback(con)
        result.status, result.note, result.sheets = "skipped", str(exc), []
        return result
    except BaseException as exc:
        _rollback(con)
        if isinstance(exc, duckdb.IOException | duckdb.FatalException):
            result.error = _cannot_write(path, exc)
            result.sheets = []
            return result
        if isinstance(exc, FormatError | ValueError | duckdb.Error | OSError):
            result.error = str(exc)
            result.sheets = []
            return result
        if isinstance(exc, Exception):
            # a reader's own defect on a malformed file: the file fails with one line,
            # the store is unchanged, the other files still load
            result.error = (
                f"{path}: not loaded, the store is unchanged: the file could not be read "
                f"({type(exc).__name__}: {str(exc)[:200]}); please report this file"
            )
            result.sheets = []
            return result
        raise
    result.status = "loaded"
    result.format = ",".join(dict.fromkeys(s.format for s in result.sheets))
    result.dataset = ",".join(dict.fromkeys(s.dataset for s in result.sheets))
    result.rows_read = sum(s.rows_read for s in result.sheets)
    result.rows_loaded = sum(s.rows_loaded for s in result.sheets)
    result.rows_quarantined = sum(s.rows_quarantined for s in result.sheets)
    return result


def _cannot_write(path: Path, exc: BaseException) -> str:
    """The one line of a file not loaded because the store cannot be written."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return (
        f"{path}: not loaded, the store is unchanged: cannot write the store: {first}"
        " — free disk space (or fix the file system) and run again"
    )


def _ingest_official(
    con: duckdb.DuckDBPyConnection, path: Path, sha: str, result: FileResult
) -> FileResult:
    """An ICE detention statistics workbook: official figures, one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        wb, release_id = official.load(con, path, sha=sha)
        con.execute("COMMIT")
    except BaseException as exc:
        con.execute("ROLLBACK")
        if isinstance(exc, FormatError | ValueError | duckdb.Error | OSError):
            result.error = str(exc)
            return result
        raise
    n = wb.figures.num_rows
    result.status, result.dataset = "loaded", "official"
    result.format = official.detention_stats.FORMAT
    result.rows_read = result.rows_loaded = n
    result.tables = [f"{t.sheet}!{t.cell}: {t.title}" for t in wb.tables]
    result.unrecognized = wb.unrecognized
    result.warnings = wb.warnings
    result.sheets = [
        SheetResult(
            release_id=release_id,
            sheet=None,
            dataset="official",
            format=official.detention_stats.FORMAT,
            rows_read=n,
            rows_loaded=n,
        )
    ]
    return result


def _usable(con: duckdb.DuckDBPyConnection) -> bool:
    try:
        con.execute("SELECT 1").fetchall()
        return True
    except duckdb.Error:
        return False


# Files written at the same time, each in its own transaction on its own cursor
# (DuckDB appends to one table from concurrent transactions): one per core.
WRITERS = 2


# Files a run may read and stage ahead of the ones being written, while a file waits its
# turn (``_Gate``), when they are small (``LOOKAHEAD_BYTES`` on disk at most): a staged
# file is held in memory until written, and a 500,000-row file takes about 0.8 GB.
LOOKAHEAD = 2
LOOKAHEAD_BYTES = 16 << 20


def _small(path: Path) -> bool:
    try:
        return path.stat().st_size <= LOOKAHEAD_BYTES
    except OSError:
        return True  # fails at once when read


def _writers() -> int:
    """``ICETALLY_INGEST_WRITERS`` (1: one file written at a time, the next read ahead)."""
    try:
        return max(1, int(os.environ.get("ICETALLY_INGEST_WRITERS", WRITERS)))
    except ValueError:
        return WRITERS


def ingest(
    paths: Iterable[str | os.PathLike[str]],
    store: Store | str | os.PathLike[str] | None = None,
    *,
    db: str | os.PathLike[str] | None = None,
    dataset: str | None = None,
    mapping: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> list[FileResult]:
    """Ingest files or folders into the store (a writable Store, or a path: the file is
    created if needed; ``db`` is the same, by its older name). Each file is one
    transaction; a failed file is reported and the others still load.

    Files are independent until their write: two files are read, staged and written at
    once, each in its own transaction on its own cursor, so two files use both cores
    (``_Gate`` keeps the result what writing them in turn gives: commits in order, the
    same bytes or rows never loaded twice, a file that widens a table or streams a
    workbook written alone)."""
    files = expand_paths(paths)
    with Store.borrow(store, db=db, read_only=False) as handle:
        con = handle.duckdb
        stage.attach(con)
        vacuum = _no_vacuum(con)
        results: list[FileResult] = []
        start = 0
        writers = _writers()
        while start < len(files):
            run = _ingest_parallel if writers > 1 and len(files) - start > 1 else _ingest_in_turn
            got, stopped = run(
                con, files, start, dataset=dataset, mapping=mapping, progress=progress
            )
            results.extend(got)
            if stopped is None:
                break
            # a fatal write error (disk full) invalidates the connection: open the
            # store again so the later files are still tried
            con = handle.reconnect()
            stage.attach(con)
            vacuum = _no_vacuum(con)
            start = stopped
        with contextlib.suppress(duckdb.Error):
            if vacuum is not None and results and _small_files(results):
                # many small files: let the checkpoint merge their row groups
                con.execute(f"SET max_vacuum_tasks = {vacuum}")
            con.execute("CHECKPOINT")  # a full disk may refuse it: the commits stand
        with contextlib.suppress(duckdb.Error):
            if vacuum is not None:
                con.execute(f"SET max_vacuum_tasks = {vacuum}")
        return results


# Rows a loaded file holds on average below which the closing checkpoint still merges
# row groups (each file's last row group is partial).
SMALL_FILE_ROWS = 50_000


def _small_files(results: list[FileResult]) -> bool:
    loaded = [r.rows_loaded for r in results if r.status == "loaded"]
    return bool(loaded) and sum(loaded) / len(loaded) < SMALL_FILE_ROWS


def _no_vacuum(con: duckdb.DuckDBPyConnection) -> int | None:
    """Turn off the checkpoint's merging of adjacent row groups for the run (returns
    the setting to restore). Each file commits its rows as whole row groups plus a
    partial last one; merging those rewrote the whole table at the closing CHECKPOINT
    (1.6 s of a 7 s ingest of the national arrests, for no query speed gained)."""
    try:
        old = int(con.execute("SELECT current_setting('max_vacuum_tasks')").fetchall()[0][0])
        con.execute("SET max_vacuum_tasks = 0")
        return old
    except (duckdb.Error, ValueError, TypeError):
        return None


def _ingest_in_turn(
    con: duckdb.DuckDBPyConnection,
    files: list[Path],
    start: int,
    *,
    dataset: str | None,
    mapping: dict[str, str] | None,
    progress: Progress | None,
) -> tuple[list[FileResult], int | None]:
    """Files ``start``.. written one at a time, the next read ahead on a worker thread.
    Returns the results and, after a fatal write error, where to go on."""
    pattern = install_reference(con)
    results: list[FileResult] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="icetally-read") as pool:

        def submit(i: int) -> Future[_Prepared] | None:
            if i >= len(files):
                return None
            # the cursor is made here: a connection is not shared across threads
            return pool.submit(
                _prepare, con.cursor(), files[i], f"f{i}", dataset=dataset, mapping=mapping
            )

        ahead = submit(start)
        for i in range(start, len(files)):
            f = files[i]
            assert ahead is not None
            prep = ahead.result()
            ahead = submit(i + 1)
            if progress:
                progress("file", path=f, size=f.stat().st_size if f.exists() else 0)
            r = ingest_file(
                con,
                f,
                immigration_pattern=pattern,
                dataset=dataset,
                mapping=mapping,
                progress=progress,
                prepared=prep,
            )
            if progress:
                progress("done", result=r)
            results.append(r)
            if r.status == "failed" and not _usable(con):
                if ahead is not None:
                    with contextlib.suppress(Exception):
                        ahead.result()
                return results, i + 1
    return results, None


def _ingest_parallel(
    con: duckdb.DuckDBPyConnection,
    files: list[Path],
    start: int,
    *,
    dataset: str | None,
    mapping: dict[str, str] | None,
    progress: Progress | None,
) -> tuple[list[FileResult], int | None]:
    """Files ``start``.. read, staged and written ``_writers()`` at a time (one per
    core, ``_Cores``), each on a cursor of its own (its temporary lookups and views are
    the cursor's), results in file order; a small file may be read and staged up to
    ``LOOKAHEAD`` places further ahead, while a file waits its turn in the gate.
    Returns the results and, after a fatal write error, where to go on."""
    writers = min(_writers(), len(files) - start)
    threads = min(writers + LOOKAHEAD, len(files) - start)
    free: queue.SimpleQueue[duckdb.DuckDBPyConnection] = queue.SimpleQueue()
    cursors: list[duckdb.DuckDBPyConnection] = []
    made = threading.Lock()  # one thread at a time makes a cursor of the connection

    def new_cursor() -> tuple[duckdb.DuckDBPyConnection, str]:
        with made:
            cur = con.cursor()
            cursors.append(cur)
        quiet(cur)
        return cur, install_reference(cur)

    def cursor() -> duckdb.DuckDBPyConnection:
        """A free cursor, or a new one (its reference tables installed on the thread
        that first needs it, so the first file does not wait for every cursor's)."""
        try:
            return free.get_nowait()
        except queue.Empty:
            return new_cursor()[0]

    first, pattern = new_cursor()
    free.put(first)
    cores = _Cores(writers, start)
    gate = _Gate({}, cores)
    said_lock = threading.Lock()
    stop = threading.Event()

    def said(event: str, **kw: Any) -> None:
        assert progress is not None
        with said_lock:
            progress(event, **kw)

    def task(i: int) -> FileResult | None:
        r: FileResult | None = None
        try:
            gate.may_start(i, start, writers + (LOOKAHEAD if _small(files[i]) else 0))
            cores.acquire(i, first=True)
            try:
                cur = cursor()
            except duckdb.Error as exc:  # the connection is lost (a fatal write error)
                cores.release()
                r = FileResult(
                    path=str(files[i]), status="failed", error=_cannot_write(files[i], exc)
                )
                return r
            try:
                if stop.is_set():
                    return None
                prep = _prepare_on(cur, files[i], f"f{i}", dataset=dataset, mapping=mapping)
                gate.prepared(i, prep.sha)
                r = ingest_file(
                    cur,
                    files[i],
                    immigration_pattern=pattern,
                    dataset=dataset,
                    mapping=mapping,
                    progress=said if progress else None,
                    prepared=prep,
                    gate=gate,
                    index=i,
                )
            finally:
                free.put(cur)
                cores.release()
            return r
        finally:
            gate.done(i, r)

    results: list[FileResult] = []
    try:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="icetally-write") as pool:
            futures = [pool.submit(task, i) for i in range(start, len(files))]
            for i, fut in zip(range(start, len(files)), futures, strict=True):
                f = files[i]
                if progress:
                    said("file", path=f, size=f.stat().st_size if f.exists() else 0)
                r = fut.result()
                assert r is not None
                if progress:
                    said("done", result=r)
                results.append(r)
                if r.status == "failed" and not _usable(con):
                    stop.set()
                    for later in futures[i - start + 1 :]:
                        with contextlib.suppress(Exception):
                            later.result()
                    return results, i + 1
    finally:
        for cur in cursors:
            with contextlib.suppress(duckdb.Error):
                cur.close()
    return results, None
