"""Ingest release files into the store: detect, read, normalize, write — one DuckDB
transaction per file, so a failure (or a kill) mid-file leaves the store as it was.
Idempotent by content hash: a file already loaded is ``skipped``."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from icetally import __version__, reference, sources
from icetally.normalize import canonical_fields, select_sql
from icetally.normalize.clean import clean_batch
from icetally.normalize.codes import code_columns, code_names
from icetally.schema import raw_column_name, snake
from icetally.sources.base import SOURCE_ROW, FormatError, Part
from icetally.store import coverage, official
from icetally.store.db import file_sha256, install_reference
from icetally.store.handle import Store

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

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sheets"] = [
            {k: v for k, v in s.items() if k not in ("redactions",)} for s in d["sheets"]
        ]
        return d


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files as given; folders expand (recursively, sorted) to their data files."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(
                f
                for f in sorted(p.rglob("*"))
                if f.is_file()
                and not f.name.startswith(".")
                and f.name.lower().endswith(DATA_SUFFIXES)
            )
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


def _load_part(
    con: duckdb.DuckDBPyConnection,
    part: Part,
    *,
    path: Path,
    sha: str,
    immigration_pattern: str,
    progress: Progress | None,
) -> SheetResult:
    release_id = _release_id(sha, part.sheet)
    result = SheetResult(
        release_id=release_id, sheet=part.sheet, dataset=part.dataset, format=part.format
    )
    raw_columns = _raw_columns(part)
    for col in raw_columns.values():
        con.execute(f'ALTER TABLE "{part.dataset}" ADD COLUMN IF NOT EXISTS "{col}" VARCHAR')
    # Batches are queried under positional names (c0, c1, ...): real headers can be
    # empty, duplicated or full of punctuation.
    safe = {h: f"c{i}" for i, h in enumerate(part.columns)}
    fields = {safe[h]: f for h, f in part.fields.items()}
    insert, quarantine = select_sql(
        dataset=part.dataset,
        fields=fields,
        codes=code_names(fields),
        raw_columns={safe[h]: c for h, c in raw_columns.items()},
        release_id=release_id,
        source_file=path.name,
        source_sheet=part.sheet,
        immigration_pattern=immigration_pattern,
        default_aor=aor_from_title(part.metadata.get("title")),
        labels={v: k for k, v in safe.items()},
    )
    insert_sql = f'INSERT INTO "{part.dataset}" BY NAME {insert}'
    quarantine_sql = f"INSERT INTO quarantine BY NAME {quarantine}"
    redactions = dict.fromkeys(part.columns, 0)
    names = [*safe.values(), SOURCE_ROW]
    expected = [*part.columns, SOURCE_ROW]
    for batch in part.batches:
        if batch.num_rows == 0:
            continue
        if batch.schema.names == expected:
            batch = batch.rename_columns(names)
        else:
            missing = [c for c in expected if c not in batch.schema.names]
            if missing:
                raise FormatError(
                    path, f"reader yielded a batch without columns {missing}", sheet=part.sheet
                )
            batch = pa.RecordBatch.from_arrays([batch.column(c) for c in expected], names=names)
        cleaned, counts = clean_batch(batch)
        codes = code_columns(cleaned, fields)
        if codes:
            for name, arr in codes.items():
                cleaned = cleaned.append_column(name, arr)
        con.register("batch", pa.Table.from_batches([cleaned]))
        con.register("batch_raw", pa.Table.from_batches([batch]))
        try:
            loaded = con.execute(insert_sql).fetchall()[0][0]
            # a second pass only when some rows were refused (rare)
            quarantined = (
                con.execute(quarantine_sql).fetchall()[0][0] if loaded < batch.num_rows else 0
            )
        finally:
            # after a failed statement DuckDB refuses everything until ROLLBACK; don't
            # let that mask the original error
            with contextlib.suppress(duckdb.Error):
                con.unregister("batch")
                con.unregister("batch_raw")
        for h, n in zip(part.columns, counts, strict=True):
            redactions[h] += n
        result.rows_read += batch.num_rows
        result.rows_loaded += int(loaded)
        result.rows_quarantined += int(quarantined)
        if progress:
            progress("rows", n=batch.num_rows)
        _crash_point()
    # rows the reader could not split into fields (wrong field count)
    bad_rows = part.metadata.get("bad_rows") or []
    if bad_rows:
        con.executemany(
            "INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    release_id,
                    path.name,
                    part.sheet,
                    r.get("source_row"),
                    r["reason"],
                    json.dumps({"text": r.get("raw")}),
                )
                for r in bad_rows
            ],
        )
        result.rows_read += len(bad_rows)
        result.rows_quarantined += len(bad_rows)
    result.redactions = {h: n for h, n in redactions.items() if n}
    result.unmapped = _unmapped(con, part.dataset, release_id)
    stats = con.execute(
        f'SELECT min(event_date), max(event_date) FROM "{part.dataset}" WHERE release_id = ?',
        [release_id],
    ).fetchall()[0]
    metadata = {k: v for k, v in part.metadata.items() if k != "bad_rows"}
    con.execute(
        "INSERT INTO releases VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            part.coverage_start,
            part.coverage_end,
            stats[0],
            stats[1],
            metadata.get("title"),
            json.dumps(metadata, default=str),
            json.dumps(result.redactions),
            json.dumps(result.unmapped),
            datetime.now().replace(microsecond=0),
            __version__,
        ],
    )
    coverage.write_spans(
        con,
        release_id,
        part.coverage_spans
        or [(None, part.coverage_start or stats[0], part.coverage_end or stats[1])],
    )
    return result


def _unmapped(
    con: duckdb.DuckDBPyConnection, dataset: str, release_id: str
) -> dict[str, dict[str, int]]:
    """Raw values that did not map to a code, with counts (reported, never dropped)."""
    checks = {
        # names known to be no country (UNKNOWN, STATELESS...) are not "unmapped"
        "citizenship": "citizenship IS NOT NULL AND country_iso3 IS NULL "
        "AND it_key(citizenship) NOT IN (SELECT key FROM ref_countries)",
        "method": "method IS NOT NULL AND it_key(method) NOT IN (SELECT key FROM ref_methods)",
        "criminality": "criminality_raw IS NOT NULL AND criminality = 'unknown'",
    }
    if dataset != "cbp_encounters":
        checks["aor"] = "aor_raw IS NOT NULL AND aor IS NULL"
    out: dict[str, dict[str, int]] = {}
    for name, cond in checks.items():
        col = "aor_raw" if name == "aor" else ("criminality_raw" if name == "criminality" else name)
        rows = con.execute(
            f'SELECT {col}, count(*) FROM "{dataset}" WHERE release_id = ? AND {cond} '
            f"GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 200",
            [release_id],
        ).fetchall()
        if rows:
            out[name] = {str(k): int(n) for k, n in rows}
    return out


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    immigration_pattern: str,
    dataset: str | None = None,
    mapping: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> FileResult:
    path = Path(path)
    result = FileResult(path=str(path), status="failed")
    try:
        sha = file_sha256(path)
    except OSError as exc:
        result.error = f"{path}: cannot read: {exc.strerror or exc}"
        return result
    result.sha256 = sha
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
    if dataset is None and mapping is None and official.claims(path):
        return _ingest_official(con, path, sha, result)
    con.execute("BEGIN TRANSACTION")
    try:
        for part in sources.read(path, dataset=dataset, mapping=mapping):
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
            )
            result.sheets.append(sheet)
        if not result.sheets:
            raise FormatError(path, "no table of records found in the file")
        con.execute("COMMIT")
    except BaseException as exc:
        con.execute("ROLLBACK")
        if isinstance(exc, FormatError | ValueError | duckdb.Error | OSError):
            result.error = str(exc)
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
    transaction; a failed file is reported and the others still load."""
    files = expand_paths(paths)
    with Store.borrow(store, db=db, read_only=False) as handle:
        con = handle.duckdb
        pattern = install_reference(con)
        results = []
        for f in files:
            if progress:
                progress("file", path=f, size=f.stat().st_size if f.exists() else 0)
            r = ingest_file(
                con,
                f,
                immigration_pattern=pattern,
                dataset=dataset,
                mapping=mapping,
                progress=progress,
            )
            if progress:
                progress("done", result=r)
            results.append(r)
        con.execute("CHECKPOINT")
        return results
