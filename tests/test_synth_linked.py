"""The SYNTHETIC linked release (icetally.synth.linked): its files read as DDP tables,
share identifiers, and agree with the plan the generator records. Every expected value
here is computed in the test from the written files with plain DuckDB SQL, or is a
published figure the generator is calibrated on -- never taken from the generator's
own summary alone."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from icetally.synth.linked import PATHWAY_RATES, scaled_plan, write_linked_release

ARRESTS = 40_000


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("linked")
    m = write_linked_release(out / "parquet", scaled_plan(ARRESTS, seed=3), seed=3, chunk_rows=8000)
    return m.to_dict()


def _con(m: dict) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for t, path in m["files"].items():
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{path}')")
    for t, path in m["plan_files"].items():
        con.execute(f"CREATE VIEW plan_{t} AS SELECT * FROM read_parquet('{path}')")
    return con


def test_files_are_ddp_tables_that_ingest_whole(release: dict, tmp_path: Path) -> None:
    import icetally

    results = icetally.ingest(list(release["files"].values()), db=tmp_path / "s.duckdb")
    got = {r.dataset: r.rows_loaded for r in results}
    assert got == release["rows"]  # each file read as its own table, every row loaded
    assert all(r.status != "failed" for r in results)
    con = duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0
    # the identifiers link the tables inside the release
    linked = con.execute(
        "SELECT count(DISTINCT a.person_id) FROM arrests a "
        "JOIN detention_stints s USING (person_id)"
    ).fetchone()[0]
    assert linked > 0.7 * con.execute("SELECT count(DISTINCT person_id) FROM arrests").fetchone()[0]


def test_match_rates_are_planted_and_calibrated(release: dict) -> None:
    con = _con(release)
    planted = release["planted"]["match_rates"]
    # share of arrested people found in detention, computed from the files
    with_stay = con.execute(
        "SELECT avg((unique_identifier IN (SELECT unique_identifier FROM detention_stints))::INT) "
        "FROM (SELECT DISTINCT unique_identifier FROM arrests)"
    ).fetchone()[0]
    # re-arrested people (one id, two episodes) make persons and episodes differ slightly
    assert abs(with_stay - planted["arrests_with_stay"]) < 0.01
    # "81-85% of arrest identifiers appear in detention"
    assert 0.81 <= with_stay <= 0.85
    stays_with_arrest = con.execute(
        "SELECT avg((unique_identifier IN (SELECT unique_identifier FROM arrests))::INT) FROM "
        "(SELECT DISTINCT unique_identifier, stay_book_in_date_time FROM detention_stints)"
    ).fetchone()[0]
    assert abs(stays_with_arrest - planted["stays_with_arrest"]) < 0.005
    removals_with_stay = con.execute(
        "SELECT avg((unique_identifier IN (SELECT unique_identifier FROM detention_stints))::INT) "
        "FROM removals"
    ).fetchone()[0]
    assert abs(removals_with_stay - planted["removals_with_stay"]) < 0.005


def test_stays_from_stints_equal_the_plan(release: dict) -> None:
    con = _con(release)
    from_files = con.execute(
        """SELECT unique_identifier, stay_book_in_date_time::TIMESTAMP AS b_in,
                  max(stay_book_out_date_time)::TIMESTAMP AS b_out, count(*) AS stints,
                  list(detention_facility ORDER BY book_in_date_time::TIMESTAMP) AS facs,
                  min(book_in_date_time::TIMESTAMP) AS first_in
           FROM detention_stints GROUP BY 1, 2"""
    ).fetchall()
    plan = con.execute(
        "SELECT person_id, stay_book_in, stay_book_out, stints, facilities, stay_book_in "
        "FROM plan_stays"
    ).fetchall()
    assert sorted(from_files) == sorted(plan)
    # about two stints per stay ("counting detention rows overstates stays about twofold")
    per_stay = len(con.execute("SELECT 1 FROM detention_stints").fetchall()) / len(plan)
    assert 1.9 <= per_stay <= 2.2
    # transfers: each stint but the last begins when the previous one ended
    gaps = con.execute(
        """SELECT count(*) FILTER (WHERE prev_out IS NOT NULL AND prev_out <> book_in_date_time),
                  count(*) FILTER (WHERE prev_out IS NOT NULL)
           FROM (SELECT book_in_date_time, lag(book_out_date_time) OVER (
                   PARTITION BY unique_identifier, stay_book_in_date_time
                   ORDER BY book_in_date_time::TIMESTAMP) AS prev_out
                 FROM detention_stints)"""
    ).fetchone()
    assert gaps[0] == 0 and gaps[1] > 0.4 * len(plan)


def test_nothing_after_the_extract_and_open_stays_flagged(release: dict) -> None:
    con = _con(release)
    extract = release["extract_date"]
    for table, col in [
        ("arrests", "apprehension_date"),
        ("detention_stints", "book_in_date_time"),
        ("detention_stints", "book_out_date_time"),
        ("removals", "departed_date"),
        ("detainers", "detainer_prepare_date"),
    ]:
        last = con.execute(f"SELECT max({col}::DATE) FROM {table}").fetchone()[0]
        assert str(last) <= extract, (table, col, last)
    # an open stay has no book-out and no stay release reason; its last stint is open
    bad = con.execute(
        "SELECT count(*) FROM detention_stints WHERE stay_book_out_date_time IS NULL AND "
        "(stay_release_reason IS NOT NULL OR stay_book_out_date IS NOT NULL)"
    ).fetchone()[0]
    assert bad == 0
    opened = con.execute("SELECT count(*) FROM plan_stays WHERE stay_open").fetchone()[0]
    open_stints = con.execute(
        "SELECT count(*) FROM detention_stints WHERE book_out_date_time IS NULL"
    ).fetchone()[0]
    assert opened == open_stints > 0


def test_episode_outcomes_follow_the_files(release: dict) -> None:
    """The plan's outcome per episode matches what its files show, for people arrested
    once (a removal of the person -> removed; a closed stay -> released with the
    stay's reason; an open stay -> detained; neither -> no_detention)."""
    con = _con(release)
    rows = con.execute(
        """WITH once AS (SELECT person_id FROM plan_episodes GROUP BY 1 HAVING count(*) = 1),
           st AS (SELECT unique_identifier AS id, max(stay_release_reason) AS reason,
                         bool_or(stay_book_out_date_time IS NULL) AS open
                  FROM detention_stints GROUP BY 1),
           rm AS (SELECT DISTINCT unique_identifier AS id FROM removals)
           SELECT e.outcome,
                  CASE WHEN rm.id IS NOT NULL THEN 'removed'
                       WHEN st.open THEN 'detained'
                       WHEN st.id IS NOT NULL THEN 'released'
                       ELSE 'no_detention' END AS seen,
                  e.release_reason, st.reason
           FROM plan_episodes e JOIN once USING (person_id)
           LEFT JOIN st ON st.id = e.person_id LEFT JOIN rm ON rm.id = e.person_id"""
    ).fetchall()
    assert len(rows) > 0.9 * ARRESTS
    assert all(o == s for o, s, _r, _sr in rows)
    assert all(r == sr for o, _s, r, sr in rows if o == "released")


def test_surge_planted_difference(release: dict) -> None:
    con = _con(release)
    got = {
        r[0]: r[1:]
        for r in con.execute(
            """SELECT planted_op = 'september-2019-surge' AS surge,
                      avg((outcome = 'removed')::INT), avg((outcome = 'no_detention')::INT),
                      median(days_detained), count(*)
               FROM plan_episodes GROUP BY 1"""
        ).fetchall()
    }
    surge, background = got[True], got[False]
    assert surge[3] > 50
    assert surge[1] < background[1]  # more of them detained
    assert surge[2] > 1.3 * background[2]  # detained longer
    # the background's removed share among closed stays is the calibrated one
    closed = con.execute(
        "SELECT avg((release_reason = 'Removed')::INT) FROM plan_stays WHERE NOT stay_open"
    ).fetchone()[0]
    assert abs(closed - PATHWAY_RATES.removed_share_of_stays) < 0.02


def test_csv_output_equals_parquet(tmp_path: Path) -> None:
    p = scaled_plan(3000, seed=5)
    a = write_linked_release(tmp_path / "pq", p, seed=5, chunk_rows=1000)
    b = write_linked_release(tmp_path / "csv", p, seed=5, fmt="csv", chunk_rows=1000)
    con = duckdb.connect()
    for t in a.files:
        cols = pq.read_schema(a.files[t]).names
        sel = ", ".join(f'"{c}"::VARCHAR' for c in cols)
        left = con.execute(f"SELECT {sel} FROM read_parquet('{a.files[t]}')").fetchall()
        right = con.execute(
            f"SELECT {sel} FROM read_csv('{b.files[t]}', all_varchar=true, header=true)"
        ).fetchall()
        assert left == right, t
    assert pq.ParquetFile(a.files["arrests"]).num_row_groups > 1  # written in chunks
    manifest = json.loads((tmp_path / "csv" / "plan" / "manifest.json").read_text())
    assert manifest["synthetic"] is True and manifest["format"] == "csv"
