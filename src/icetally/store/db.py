"""The DuckDB file: canonical tables, the ``releases`` manifest and ``quarantine``.

Writes go through DuckDB's own API (Ibis 12's ``create_table`` fails on DuckDB 2.0);
reads go through Ibis (``icetally.query``).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
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


# A dataset's rows are kept in ``rowdata.<dataset>``, a table of only the columns its
# releases fill (a national arrests file fills 22 of the ~60 canonical columns, and
# DuckDB's cost of writing a row grows with the table's columns, even all-NULL ones:
# about a quarter of an ingest's CPU, docs/performance.md). Readers see the dataset as
# the view ``main.<dataset>``: every canonical column, in canonical order (NULL where no
# release filled it), then the ``raw_*`` columns. Ingest adds a column to the table,
# and makes the view again, in the transaction of the first file that fills it, so a
# failed file leaves both as they were. Stores made before this keep ``main.<dataset>``
# as a table of every column, and are written as before (``rows_table``).
ROWS_SCHEMA = "rowdata"

# Columns every row carries (its provenance): the table starts with these.
ROWS_BASE = ("release_id", "source_file", "source_sheet", "source_row")

COLUMN_TYPES: dict[str, str] = {name: typ for name, typ, _ in COLUMNS}


def table_ddl(dataset: str) -> str:
    """The whole canonical table, every column (a store's layout before ``ROWS_SCHEMA``;
    still how a store copied for a benchmark or a test may hold a dataset)."""
    cols = ",\n    ".join(f'"{name}" {typ}' for name, typ, _ in COLUMNS)
    return f'CREATE TABLE IF NOT EXISTS "{dataset}" (\n    {cols}\n)'


def _layouts(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """dataset -> 'table' (every column in ``main``), 'view' (``main`` view over
    ``rowdata``) or 'rows' (only the ``rowdata`` table), for the datasets present."""
    found: dict[str, str] = {}
    for schema, name, kind in con.execute(
        "SELECT table_schema, table_name, table_type FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema IN ('main', ?)",
        [ROWS_SCHEMA],
    ).fetchall():
        if name not in DATASETS:
            continue
        if schema == "main":
            found[name] = "view" if kind == "VIEW" else "table"
        else:
            found.setdefault(name, "rows")
    return found


def rows_table(con: duckdb.DuckDBPyConnection, dataset: str) -> str:
    """SQL name of the table a dataset's rows are written to."""
    if _layouts(con).get(dataset) == "table":
        return f'"{dataset}"'
    return f'{ROWS_SCHEMA}."{dataset}"'


def stored_columns(con: duckdb.DuckDBPyConnection, dataset: str) -> list[str]:
    """The columns of the table a dataset's rows are written to, in its order."""
    schema = "main" if _layouts(con).get(dataset) == "table" else ROWS_SCHEMA
    return [
        r[0]
        for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
            "AND schema_name = ? AND table_name = ? ORDER BY column_index",
            [schema, dataset],
        ).fetchall()
    ]


def widen(con: duckdb.DuckDBPyConnection, dataset: str, columns: dict[str, str]) -> list[str]:
    """Add to a dataset's table the columns (name -> DuckDB type) it lacks, and make its
    view again; returns the names added. Run it inside the transaction that writes the
    rows: no other transaction may change the table meanwhile (store/ingest.py)."""
    have = set(stored_columns(con, dataset))
    added = [c for c in columns if c not in have]
    table = rows_table(con, dataset)
    for col in added:
        con.execute(f'ALTER TABLE {table} ADD COLUMN IF NOT EXISTS "{col}" {columns[col]}')
    if added and table.startswith(ROWS_SCHEMA):
        _make_view(con, dataset)
    return added


def writable(con: duckdb.DuckDBPyConnection, dataset: str, columns: Iterable[str]) -> str:
    """SQL name of the table to write a dataset's rows to, widened (``widen``) for
    ``columns`` (canonical names, or ``raw_*`` text): for a test or a benchmark that
    writes rows itself; ingest widens with the types its insert gives."""
    widen(con, dataset, {c: COLUMN_TYPES.get(c, "VARCHAR") for c in columns})
    return rows_table(con, dataset)


def _make_view(con: duckdb.DuckDBPyConnection, dataset: str) -> None:
    stored = stored_columns(con, dataset)
    have = set(stored)
    canonical = [
        f'"{name}"' if name in have else f'CAST(NULL AS {typ}) AS "{name}"'
        for name, typ, _ in COLUMNS
    ]
    extra = [f'"{c}"' for c in stored if c not in COLUMN_TYPES]
    con.execute(
        f'CREATE OR REPLACE VIEW main."{dataset}" AS SELECT '
        f'{", ".join([*canonical, *extra])} FROM {ROWS_SCHEMA}."{dataset}"'
    )


def _create_datasets(con: duckdb.DuckDBPyConnection) -> None:
    """Each dataset's table and view, for the datasets a store lacks (an older store's
    whole tables are kept as they are)."""
    layouts = _layouts(con)
    if all(layouts.get(d) in ("table", "view") for d in DATASETS):
        return
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {ROWS_SCHEMA}")
    for dataset in DATASETS:
        kind = layouts.get(dataset)
        if kind in ("table", "view"):
            continue
        if kind is None:
            cols = ", ".join(f'"{c}" {COLUMN_TYPES[c]}' for c in ROWS_BASE)
            con.execute(f'CREATE TABLE IF NOT EXISTS {ROWS_SCHEMA}."{dataset}" ({cols})')
        _make_view(con, dataset)


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
    _create_datasets(con)
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
