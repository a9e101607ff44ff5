"""A dataset's rows are kept in a table of only the columns its releases fill
(``rowdata.<dataset>``); readers see every canonical column through the view
``main.<dataset>`` (store/db.py). Stores made before keep a whole table, and are
written and read as before."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb

from icetally import ingest
from icetally.schema import COLUMNS, DATASETS
from icetally.store import db as storedb
from tests.conftest import NATIONAL, ROOT, SHARED, need_shared

FY2016 = NATIONAL / "EROArrests_FY2016.csv.gz"  # 110,104 rows, 9 columns
LA_HEAD = SHARED / "ddp-format-samples" / "arrests-derived-la-head.csv"  # 12 rows, 24 columns

# What a national arrests file fills, read off its 9 headers (FORMATS.md): the fields
# it maps, their codes, what the event date gives, and every row's provenance.
NATIONAL_FILLS = {
    *("release_id", "source_file", "source_sheet", "source_row"),
    *("event_date", "date_flag", "fiscal_year", "administration"),
    *("aor", "aor_raw", "citizenship", "country_iso3", "continent", "method", "method_class"),
    *("landmark", "operation", "processing_disposition", "gender", "birth_year"),
    *("n", "duplicate_likely", "raw_birth_date"),
}


def _stored(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
            "ORDER BY column_index",
            [schema, table],
        ).fetchall()
    ]


def _view(con: duckdb.DuckDBPyConnection, name: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f'DESCRIBE "{name}"').fetchall()]


def _rows(db: Path) -> tuple[int, int, dict[str, int]]:
    """Rows, an order-free hash of every row as readers see it, and each column's
    non-NULL cells."""
    with duckdb.connect(str(db), read_only=True) as con:
        n, h = con.execute("SELECT count(*), sum(hash(a)) FROM arrests a").fetchone()
        names = [c for c, _ in _view(con, "arrests")]
        filled = con.execute(
            "SELECT " + ", ".join(f'count("{c}")' for c in names) + " FROM arrests"
        ).fetchone()
    return int(n), int(h), dict(zip(names, map(int, filled), strict=True))


def test_a_table_holds_only_the_columns_its_releases_fill(tmp_path: Path) -> None:
    need_shared()
    db = tmp_path / "s.duckdb"
    [r] = ingest([FY2016], db=db)
    assert r.status == "loaded" and r.rows_loaded == 110_104
    with duckdb.connect(str(db), read_only=True) as con:
        assert set(_stored(con, storedb.ROWS_SCHEMA, "arrests")) == NATIONAL_FILLS
        # readers see every canonical column, in order and typed, then the raw ones
        view = _view(con, "arrests")
        assert view == [(n, t) for n, t, _ in COLUMNS] + [("raw_birth_date", "VARCHAR")]
        assert con.execute(
            "SELECT count(criminality), count(person_id) FROM arrests"
        ).fetchone() == (0, 0)
        # a dataset no release has filled is an empty view of every column
        for name in DATASETS:
            assert [c for c, _ in _view(con, name)][: len(COLUMNS)] == [c for c, *_ in COLUMNS]
        assert set(_stored(con, storedb.ROWS_SCHEMA, "detainers")) == set(storedb.ROWS_BASE)
    # a release filling more columns widens the table; earlier rows hold NULL there
    [r2] = ingest([LA_HEAD], db=db)
    assert r2.status == "loaded" and r2.rows_loaded == 12
    with duckdb.connect(str(db), read_only=True) as con:
        stored = set(_stored(con, storedb.ROWS_SCHEMA, "arrests"))
        assert stored > NATIONAL_FILLS
        assert {"criminality", "person_id", "departed_date", "departure_country"} <= stored
        with LA_HEAD.open(newline="") as fh:
            departed = sum(1 for row in csv.DictReader(fh) if row["departed_date"].strip())
        assert con.execute(
            "SELECT count(*), count(criminality), count(person_id), count(departed_date) "
            "FROM arrests"
        ).fetchone() == (110_116, 12, 12, departed)
        view = _view(con, "arrests")
        assert view[: len(COLUMNS)] == [(n, t) for n, t, _ in COLUMNS]
        assert {c for c, _ in view} == stored | {n for n, *_ in COLUMNS}


def test_a_killed_file_leaves_the_table_and_its_view_as_they_were(tmp_path: Path) -> None:
    need_shared()
    db = tmp_path / "s.duckdb"
    ingest([FY2016], db=db)
    with duckdb.connect(str(db), read_only=True) as con:
        before = (_stored(con, storedb.ROWS_SCHEMA, "arrests"), _view(con, "arrests"))
    proc = subprocess.run(
        [sys.executable, "-m", "icetally.cli", "ingest", str(LA_HEAD), "--db", str(db)],
        env={**os.environ, "ICETALLY_TEST_KILL_AFTER_BATCHES": "1"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        assert (_stored(con, storedb.ROWS_SCHEMA, "arrests"), _view(con, "arrests")) == before
        assert con.execute("SELECT count(*) FROM arrests").fetchone() == (110_104,)


def test_a_store_with_whole_tables_is_written_and_read_as_before(tmp_path: Path) -> None:
    """A store made before the narrow tables: ``main.arrests`` a table of every
    column. Ingest appends to it (widening it for raw columns); readers see the same
    rows as in a new store."""
    need_shared()
    old = tmp_path / "old.duckdb"
    with duckdb.connect(str(old)) as con:
        for name in DATASETS:
            con.execute(storedb.table_ddl(name))
    new = tmp_path / "new.duckdb"
    for db in (old, new):
        results = ingest([FY2016, LA_HEAD], db=db)
        assert [r.rows_loaded for r in results] == [110_104, 12]
    with duckdb.connect(str(old), read_only=True) as con:
        assert _stored(con, storedb.ROWS_SCHEMA, "arrests") == []
        assert con.execute(
            "SELECT table_type FROM information_schema.tables WHERE table_name = 'arrests'"
        ).fetchall() == [("BASE TABLE",)]
    assert _rows(old) == _rows(new)
