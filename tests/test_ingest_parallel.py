"""Files written at the same time (issue #17, store/ingest.py ``_Gate``): two files in
two transactions give the store that writing them one after another gives — the same
rows, quarantine, releases and coverage; the same bytes or rows never loaded twice;
a file that adds columns to a table written alone; results in the files' order."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from icetally import ingest
from icetally.synth.xlsx import write_ddp_arrests_2026

HEADER = "apprehension_date,apprehension_aor,citizenship,apprehension_method"


def rows(n: int, day0: int = 0) -> list[str]:
    return [
        f"2019-0{1 + ((i + day0) % 9)}-{1 + ((i + day0) % 28):02d},Line {i + 2},MEXICO,Located"
        for i in range(n)
    ]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def release_files(folder: Path) -> list[Path]:
    """A run's worth of files: plain ones, two that add different raw columns, one
    with refused records, one that is not a release, a byte copy and the same
    bytes given twice."""
    folder.mkdir()
    a = write(folder / "a.csv", [HEADER, *rows(300)])
    b = write(folder / "b.csv", [HEADER + ",case_note", *(r + ",n" for r in rows(200, 3))])
    c = write(
        folder / "c.csv",
        [HEADER, *rows(40, 5), "2019-02-03,Line x,MEXICO,Located,EXTRA", *rows(10, 7)],
    )
    d = write(folder / "d.csv", [HEADER + ",office_code", *(r + ",X1" for r in rows(120, 9))])
    junk = folder / "junk.csv"
    junk.write_bytes(b"\x00\x01 not a release")
    copy = folder / "a-copy.csv"
    shutil.copy(a, copy)
    # a workbook (streamed while written: it writes alone) of two sheets
    wb = folder / "ddp.xlsx"
    write_ddp_arrests_2026(wb, 250, seed=7, max_data_rows=100)
    return [a, b, junk, wb, c, copy, d, a]


def snapshot(db: Path) -> dict[str, list[tuple]]:
    """Every table's rows (sorted), releases without their ingest time and path."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        cols = [
            r[0]
            for r in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = 'arrests' "
                "ORDER BY column_name"
            ).fetchall()
        ]
        arrests = ", ".join(f'"{c}"' for c in cols)
        return {
            "arrest_columns": [tuple(cols)],
            "arrests": con.execute(f"SELECT {arrests} FROM arrests ORDER BY ALL").fetchall(),
            "quarantine": con.execute("SELECT * FROM quarantine ORDER BY ALL").fetchall(),
            "coverage": con.execute("SELECT * FROM coverage_spans ORDER BY ALL").fetchall(),
            "releases": con.execute(
                "SELECT * EXCLUDE (ingested_at, path) FROM releases ORDER BY ALL"
            ).fetchall(),
        }
    finally:
        con.close()


def brief(results: list) -> list[tuple]:
    return [(r.path, r.status, r.rows_loaded, r.rows_quarantined) for r in results]


def test_two_writers_give_the_store_one_writer_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = release_files(tmp_path / "in")
    runs = {}
    for writers in ("1", "2"):
        monkeypatch.setenv("ICETALLY_INGEST_WRITERS", writers)
        db = tmp_path / f"w{writers}.duckdb"
        runs[writers] = (ingest(files, db=db), snapshot(db))
    (one, store_one), (two, store_two) = runs["1"], runs["2"]
    assert brief(two) == brief(one)
    assert [r.status for r in two] == [
        "loaded",
        "loaded",
        "failed",
        "loaded",
        "loaded",
        "skipped",  # a-copy.csv: the same bytes as a.csv
        "loaded",
        "skipped",  # a.csv again
    ]
    assert [r.rows_loaded for r in two] == [300, 200, 0, 250, 50, 300, 120, 300]
    assert two[4].rows_quarantined == 1
    assert len(two[3].sheets) == 3  # 250 rows in sheets of at most 100
    assert store_two == store_one
    # both raw columns were added, each once; every row counted once
    assert {"raw_case_note", "raw_office_code"} <= set(store_two["arrest_columns"][0])
    assert len(store_two["arrests"]) == 300 + 200 + 250 + 50 + 120
    assert len(store_two["releases"]) == 4 + 3


def test_same_rows_in_flight_at_once_loaded_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two files holding the same rows in other bytes, written at the same time: the
    later one is skipped by the earlier one's content fingerprint (its transaction
    could not see the earlier one's rows)."""
    import gzip

    monkeypatch.setenv("ICETALLY_INGEST_WRITERS", "2")
    plain = write(tmp_path / "rel.csv", [HEADER, *rows(5000)])
    gz = tmp_path / "rel.csv.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    db = tmp_path / "s.duckdb"
    res = ingest([gz, plain], db=db)
    assert [r.status for r in res] == ["loaded", "skipped"]
    assert "rel.csv.gz" in (res[1].note or "")
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM arrests").fetchall() == [(5000,)]
        assert con.execute("SELECT count(*) FROM releases").fetchall() == [(1,)]
    finally:
        con.close()


def test_files_staged_ahead_or_not_give_the_same_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether the later files are read and staged ahead while one waits its turn (small
    files) or not (every file counted large): the store one writer makes."""
    from icetally.store import ingest as ingest_module

    files = release_files(tmp_path / "in")
    monkeypatch.setenv("ICETALLY_INGEST_WRITERS", "1")
    one = ingest(files, db=tmp_path / "one.duckdb")
    monkeypatch.setenv("ICETALLY_INGEST_WRITERS", "2")
    monkeypatch.setattr(ingest_module, "LOOKAHEAD_BYTES", 0)
    large = ingest(files, db=tmp_path / "large.duckdb")
    assert brief(large) == brief(one)
    assert snapshot(tmp_path / "large.duckdb") == snapshot(tmp_path / "one.duckdb")


def test_cores_go_to_files_in_order_never_more_than_their_number() -> None:
    """``_Cores``: files take their first core in the run's order, whatever order their
    threads come in, and no more than ``n`` hold one at once; a file that gives its
    core up gets one again."""
    import threading
    import time

    from icetally.store.ingest import _Cores

    cores = _Cores(2, 0)
    order: list[int] = []
    holding: list[int] = []
    most = [0]
    lock = threading.Lock()

    def work(i: int) -> None:
        cores.acquire(i, first=True)
        with lock:
            order.append(i)
            holding.append(i)
            most[0] = max(most[0], len(holding))
        time.sleep(0.02)
        if i == 1:  # waits for something: gives its core up, then takes one again
            with lock:
                holding.remove(i)
            cores.release()
            time.sleep(0.05)
            cores.acquire(i)
            with lock:
                order.append(-1)
                holding.append(i)
                most[0] = max(most[0], len(holding))
        time.sleep(0.02)
        with lock:
            holding.remove(i)
        cores.release()

    threads = [threading.Thread(target=work, args=(i,)) for i in reversed(range(6))]
    for t in threads:
        t.start()
        time.sleep(0.005)  # the later files' threads ask first
    for t in threads:
        t.join(timeout=10)
    assert [i for i in order if i >= 0] == [0, 1, 2, 3, 4, 5]
    assert most[0] <= 2
    assert -1 in order  # file 1 had a core again
