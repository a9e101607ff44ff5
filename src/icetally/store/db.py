"""The DuckDB file: canonical tables, the ``releases`` manifest and ``quarantine``.

Writes go through DuckDB's own API (Ibis 12's ``create_table`` fails on DuckDB 2.0);
reads go through Ibis (``icetally.query``).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import duckdb

from icetally import normalize, reference
from icetally.errors import IcetallyError
from icetally.schema import COLUMNS, DATASETS
from icetally.store import coverage

DEFAULT_DB = "icetally.duckdb"

RELEASES_DDL = """
CREATE TABLE IF NOT EXISTS releases (
    release_id VARCHAR PRIMARY KEY,
    sha256 VARCHAR NOT NULL,
    path VARCHAR,
    file_name VARCHAR,
    sheet VARCHAR,
    format VARCHAR,
    dataset VARCHAR,
    rows_read BIGINT,
    rows_loaded BIGINT,
    rows_quarantined BIGINT,
    coverage_start DATE,
    coverage_end DATE,
    min_event_date DATE,
    max_event_date DATE,
    title VARCHAR,
    metadata JSON,
    redactions JSON,
    unmapped JSON,
    ingested_at TIMESTAMP,
    icetally_version VARCHAR,
    content_fingerprint VARCHAR
)
"""

QUARANTINE_DDL = """
CREATE TABLE IF NOT EXISTS quarantine (
    release_id VARCHAR,
    source_file VARCHAR,
    source_sheet VARCHAR,
    source_row BIGINT,
    reason VARCHAR,
    raw VARCHAR
)
"""


def resolve_db(db: str | os.PathLike[str] | None) -> Path:
    """--db, else $ICETALLY_DB, else ./icetally.duckdb."""
    if db:
        return Path(db)
    return Path(os.environ.get("ICETALLY_DB") or DEFAULT_DB)


def table_ddl(dataset: str) -> str:
    cols = ",\n    ".join(f'"{name}" {typ}' for name, typ, _ in COLUMNS)
    return f'CREATE TABLE IF NOT EXISTS "{dataset}" (\n    {cols}\n)'


def quiet(con: duckdb.DuckDBPyConnection) -> None:
    """No progress bar: DuckDB draws one on stdout for long statements, which would
    corrupt --json output (a per-connection setting: cursors need it too)."""
    con.execute("SET enable_progress_bar = false")


class StoreError(IcetallyError, OSError):
    """The store cannot be opened or written: one line naming it and what to do."""

    problem = "store-unavailable"


class NoStore(StoreError, FileNotFoundError):
    """There is no store at the path (a read never creates one)."""


def store_problem(path: Path, exc: BaseException) -> str:
    """One line for a store that cannot be opened (locked, not a DuckDB file, read-only
    file system, disk full), naming the file and what to do."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    low = text.lower()
    if "lock" in low:
        pid = re.search(r"PID (\d+)", text)
        holder = f" (PID {pid.group(1)})" if pid else ""
        return (
            f"{path}: the store is in use by another process{holder}; "
            "wait for it to finish or use another --db"
        )
    if "not a valid duckdb" in low or "database file" in low and "not" in low:
        return f"{path}: not an icetally store (not a DuckDB database file); give another --db"
    if "read-only" in low or "read only" in low:
        return f"{path}: cannot write the store: read-only file system; give a writable --db"
    if "no space" in low or "file too large" in low:
        return f"{path}: cannot write the store: {text}; free disk space and run again"
    return f"{path}: cannot open the store: {text}"


def connect(
    db: str | os.PathLike[str] | None = None, *, read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the store. Read-only connections need an existing file.
    A store that cannot be opened raises ``StoreError`` (one line, no traceback)."""
    path = resolve_db(db)
    if read_only:
        if not path.exists():
            raise NoStore(f"no store at {path}: run `icetally ingest FILES --db {path}` first")
        try:
            con = duckdb.connect(str(path), read_only=True)
            quiet(con)
            return con
        except duckdb.Error as exc:
            raise StoreError(store_problem(path, exc)) from exc
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(path))
        quiet(con)
    except (duckdb.Error, OSError) as exc:
        raise StoreError(store_problem(path, exc)) from exc
    try:
        _create_tables(con)
    except duckdb.Error as exc:
        con.close()
        raise StoreError(store_problem(path, exc)) from exc
    return con


def _create_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(RELEASES_DDL)
    con.execute(QUARANTINE_DDL)
    con.execute(coverage.DDL)
    # stores made before content fingerprints (store/ingest.py) gain the column
    con.execute("ALTER TABLE releases ADD COLUMN IF NOT EXISTS content_fingerprint VARCHAR")
    for dataset in DATASETS:
        con.execute(table_ddl(dataset))
    from icetally.store import official  # its own table (not a records dataset)

    official.ensure_table(con)


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read 1 MiB at a time."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def install_reference(con: duckdb.DuckDBPyConnection) -> str:
    """Install normalization's macros and load the country and method names as temp
    tables keyed the way ``_unmapped`` (store/ingest.py) looks them up (one row per
    key). Returns the immigration-offence regex."""
    normalize.install(con)

    def csv(name: str) -> str:
        p = str(reference.data_path(name)).replace("'", "''")
        return f"read_csv('{p}', header=true, all_varchar=true)"

    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE ref_countries AS
            SELECT it_key(name) AS key, any_value(nullif(iso3, '')) AS iso3,
                   any_value(nullif(continent, '')) AS continent
            FROM {csv("countries.csv")} GROUP BY 1;
        CREATE OR REPLACE TEMP TABLE ref_methods AS
            SELECT it_key(method) AS key, any_value(method_class) AS method_class
            FROM {csv("methods.csv")} GROUP BY 1;
        """
    )
    patterns = [
        r[0]
        for r in con.execute(
            f"SELECT pattern FROM {csv('immigration_offenses.csv')} WHERE pattern IS NOT NULL"
        ).fetchall()
    ]
    return "(?i)(" + "|".join(f"(?:{p})" for p in patterns) + ")" if patterns else ""
