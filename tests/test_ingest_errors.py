"""Bad input: a clear error naming the file, exit status 1, and a store left exactly
as it was (tables compared by content fingerprint)."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from icetally import ingest
from icetally.cli import app
from tests.conftest import NATIONAL, ROOT, need_shared, store_fingerprint

SMALL_ERO = """\
"ERO-LESA Statistical Tracking Unit"||||||||
"For Official Use Only (FOUO)/Pre-decisional"||||||||
"2019-ICFO-53623"||||||||
||||||||
"ERO Administrative Arrests for FY2017"||||||||
"Area of Responsibility"|"Apprehension Date"|"Apprehension Method"|"Apprehension Landmark"|"Operation"|"Processing Disposition"|"Birth Date"|"Citizenship"|"Gender"
"Chicago Area of Responsibility"|2/6/2017|"Non-Custodial Arrest"|"CHI GENERAL AREA"||"Bag and Baggage"|"(B)(6);(B)(7)(C) "|"MEXICO"|"Male"
"Atlanta Area of Responsibility"|2/7/2017|"Located"|"ATL"|"(B)(7)(E) "|"Bag and Baggage"|"b(6), b(7)c"|"KOREA, SOUTH"|"Female"
"Atlanta Area of Responsibility"|13/45/2017|"Located"|"ATL"||"x"|""|"MEXICO"|"Male"
"Atlanta Area of Responsibility"|2/8/0199|"Located"|"ATL"||"x"|""|"NARNIA"|"Male"
"Atlanta Area of Responsibility"|2/8/2017|"Located"
"""


def write_small(path: Path) -> Path:
    with gzip.open(path, "wt") as fh:
        fh.write(SMALL_ERO)
    return path


@pytest.fixture()
def small_store(tmp_path: Path) -> Path:
    db = tmp_path / "s.duckdb"
    res = ingest([write_small(tmp_path / "small.csv.gz")], db=db)
    assert res[0].status == "loaded", res[0].error
    return db


def test_small_file_rows_quarantine_redactions_and_flags(small_store: Path) -> None:
    import duckdb

    con = duckdb.connect(str(small_store), read_only=True)
    rows = con.execute(
        "SELECT source_row, aor, event_date::VARCHAR, date_flag, operation, country_iso3, "
        "continent, method_class FROM arrests ORDER BY source_row"
    ).fetchall()
    assert rows == [
        (7, "CHI", "2017-02-06", None, None, "MEX", "North America", "at_large"),
        (8, "ATL", "2017-02-07", None, None, "KOR", "Asia", "at_large"),
        (
            10,
            "ATL",
            "0199-02-08",
            "event_date:absurd_year;event_date:out_of_range",
            None,
            None,
            None,
            "at_large",
        ),
    ]
    q = con.execute("SELECT source_row, reason FROM quarantine ORDER BY source_row").fetchall()
    assert q[0][0] == 9 and q[0][1].startswith("unreadable event date: 13/45/2017")
    assert q[1][0] == 11 and "expected 9 fields, found 3" in q[1][1]
    rel = con.execute(
        "SELECT rows_read, rows_loaded, rows_quarantined, redactions, unmapped FROM releases"
    ).fetchall()[0]
    assert rel[:3] == (5, 3, 2)
    assert json.loads(rel[3]) == {"Operation": 1, "Birth Date": 2}
    assert json.loads(rel[4])["citizenship"] == {"NARNIA": 1}


def _bad_files(tmp: Path) -> dict[str, Path]:
    need_shared()
    good = (NATIONAL / "EROArrests_FY2016.csv.gz").read_bytes()
    files = {
        "truncated.csv.gz": good[: len(good) // 2],
        "random.bin": os.urandom(200_000),
        "empty.csv": b"",
    }
    out = {}
    for name, data in files.items():
        (tmp / name).write_bytes(data)
        out[name] = tmp / name
    # a workbook whose sheets hold no recognizable header
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    for i in range(20):
        ws.append([f"note {i}", i, "nothing here"])
    wb.save(tmp / "noheader.xlsx")
    out["noheader.xlsx"] = tmp / "noheader.xlsx"
    return out


@pytest.mark.parametrize("name", ["truncated.csv.gz", "random.bin", "empty.csv", "noheader.xlsx"])
def test_bad_file_clear_error_exit_1_store_unchanged(
    small_store: Path, tmp_path: Path, name: str
) -> None:
    bad = _bad_files(tmp_path)[name]
    before = store_fingerprint(small_store)
    res = CliRunner().invoke(app, ["ingest", str(bad), "--db", str(small_store), "--json"])
    assert res.exit_code == 1, res.output
    out = json.loads(res.stdout)["files"][0]
    assert out["status"] == "failed"
    assert str(bad) in out["error"] or bad.name in out["error"]
    assert store_fingerprint(small_store) == before


def test_failed_file_does_not_stop_the_others(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    (tmp_path / "junk.csv").write_bytes(b"\x00\x01garbage")
    res = ingest([tmp_path / "junk.csv", write_small(tmp_path / "ok.csv.gz")], db=db)
    assert [r.status for r in res] == ["failed", "loaded"]
    # binary junk: the message says what was found instead of a release
    assert "NUL bytes" in res[0].error and "junk.csv" in res[0].error


def test_kill_mid_file_leaves_store_as_it_was(small_store: Path) -> None:
    """SIGKILL the ingest of a real file after its first batch: the store reopens
    with exactly its earlier tables."""
    need_shared()
    before = store_fingerprint(small_store)
    env = {**os.environ, "ICETALLY_TEST_KILL_AFTER_BATCHES": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "icetally.cli",
            "ingest",
            str(NATIONAL / "EROArrests_FY2018.csv.gz"),
            "--db",
            str(small_store),
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert store_fingerprint(small_store) == before
    # and the store still works: the same file now loads in full
    res = ingest([NATIONAL / "EROArrests_FY2018.csv.gz"], db=small_store)
    assert res[0].status == "loaded" and res[0].rows_loaded == 158_581


def test_unknown_format_names_what_was_expected(tmp_path: Path) -> None:
    p = tmp_path / "notes.csv"
    p.write_text("a,b,c\n1,2,3\n")
    res = CliRunner().invoke(app, ["ingest", str(p), "--db", str(tmp_path / "d.duckdb"), "--json"])
    assert res.exit_code == 1
    err = json.loads(res.stdout)["files"][0]["error"]
    assert str(p) in err and "ERO-LESA" in err and "CBP" in err


def test_corrupt_zip_workbook(tmp_path: Path) -> None:
    p = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook>")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) - 10])
    res = ingest([p], db=tmp_path / "d.duckdb")
    assert res[0].status == "failed" and str(p) in res[0].error
