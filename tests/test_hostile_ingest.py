"""Hostile input at ingest (issue #13): each test makes the input, feeds it to the CLI or
the API, and asserts the new behaviour — rows loaded or refused with their line, one
clear message naming the file, no traceback, the store unchanged after a failure, and
bounded memory (a subprocess under RLIMIT_AS where the input aims at memory)."""

from __future__ import annotations

import gzip
import json
import os
import resource
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from icetally import ingest
from icetally.cli import app
from tests.conftest import ROOT, run_limited, store_fingerprint

HEADER = "apprehension_date,apprehension_aor,citizenship,apprehension_method"


def csv_rows(n: int, start_day: int = 1) -> list[str]:
    """Data lines whose AOR text names their own line (line = index + 2)."""
    return [
        f"2019-0{1 + (i % 9)}-{1 + (i % 28):02d},Line {i + 2},MEXICO,Located"
        for i in range(start_day - 1, start_day - 1 + n)
    ]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def cli_ingest(*args: str) -> tuple[int, str, str]:
    """The CLI in a fresh interpreter (so a traceback would show on stderr)."""
    proc = subprocess.run(
        [sys.executable, "-m", "icetally.cli", "ingest", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    return proc.returncode, proc.stdout, proc.stderr


def no_traceback(text: str) -> None:
    assert "Traceback" not in text, text


def table(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# -- row 2: an unbalanced quote is a refused row with its line, never a merged field --


def test_row2_unbalanced_quote_quarantined_alone(tmp_path: Path) -> None:
    lines = [HEADER, *csv_rows(100)]
    lines[3] = '2019-01-03,"Line 4,MEXICO,Located'  # line 4: a quote never closed
    db = tmp_path / "s.duckdb"
    [r] = ingest([write(tmp_path / "quote.csv", lines)], db=db)
    assert r.status == "loaded", r.error
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (100, 99, 1)
    q = table(db, "SELECT source_row, reason, raw FROM quarantine")
    assert q[0][0] == 4 and "unbalanced quote" in q[0][1]
    assert json.loads(q[0][2])["text"] == lines[3]
    # every loaded row is its own line: no field swallowed the ones after the quote
    rows = table(db, "SELECT source_row, aor_raw FROM arrests ORDER BY source_row")
    assert all(aor == f"Line {n}" for n, aor in rows)
    assert [n for n, _ in rows] == [n for n in range(2, 102) if n != 4]


def test_row2_ero_lesa_quote_closed_lines_later(tmp_path: Path) -> None:
    """In an ERO-LESA export no value holds a line break: a quote that closes on a
    later line is a broken record, refused alone; the lines it ran over still load."""
    pre = [
        '"ERO-LESA Statistical Tracking Unit"|||',
        '"2019-ICFO-53623"|||',
        '"ERO Administrative Arrests for FY2019"|||',
        '"Area of Responsibility"|"Apprehension Date"|"Apprehension Method"|"Citizenship"',
    ]
    data = [f'"Line {i}"|2/{1 + i % 27}/2019|"Located"|"MEXICO"' for i in range(5, 25)]
    data[2] = '"Line 7|2/8/2019|"Located"|"MEXICO"'  # opens a quote ...
    data[4] = '"Line 9"|2/10/2019|"Located|"MEXICO"'  # ... closed here, two lines on
    p = tmp_path / "ero.csv.gz"
    with gzip.open(p, "wt") as fh:
        fh.write("\n".join(pre + data) + "\n")
    db = tmp_path / "s.duckdb"
    [r] = ingest([p], db=db)
    assert r.status == "loaded", r.error
    assert r.rows_read == 20 and r.rows_loaded + r.rows_quarantined == 20
    q = table(db, "SELECT source_row FROM quarantine ORDER BY 1")
    assert q[0][0] == 7
    rows = table(db, "SELECT source_row, aor_raw FROM arrests ORDER BY source_row")
    assert all(aor == f"Line {n}" for n, aor in rows), rows
    assert 8 in {n for n, _ in rows}  # the line the quote ran over still loads
    assert not table(db, "SELECT 1 FROM arrests WHERE contains(aor_raw, chr(10))")


# -- row 3: a header-only release covers nothing ------------------------------------


def test_row3_header_only_release_covers_nothing(tmp_path: Path) -> None:
    pre = [
        '"ERO-LESA Statistical Tracking Unit"|||',
        '"ERO Administrative Arrests for FY2021"|||',
        '"Area of Responsibility"|"Apprehension Date"|"Apprehension Method"|"Citizenship"',
    ]
    p = write(tmp_path / "empty-fy2021.csv", pre)
    db = tmp_path / "s.duckdb"
    [r] = ingest([p], db=db)
    assert r.status == "loaded" and r.rows_read == 0
    rel = table(db, "SELECT coverage_start, coverage_end, metadata FROM releases")
    assert rel[0][:2] == (None, None)
    assert json.loads(rel[0][2])["stated_coverage"] == ["2020-10-01", "2021-09-30"]
    from icetally import check

    report = check(
        [
            {
                "id": "c",
                "dataset": "arrests",
                "from": "2021-01-01",
                "to": "2021-01-31",
                "measure": "count",
                "value": 100,
            }
        ],
        db=db,
    )
    assert report.verdicts == {"c": "unverifiable"}


# -- row 4: source_row stays the file's line after bad rows -------------------------


def test_row4_source_row_is_the_line_after_bad_rows(tmp_path: Path) -> None:
    lines = [HEADER, *csv_rows(60)]
    for at in (5, 6, 30, 55):  # wrong field counts
        lines[at - 1] = "2019-01-01,too,few"
    lines[40 - 1] += ",one,too,many"
    db = tmp_path / "s.duckdb"
    [r] = ingest([write(tmp_path / "bad.csv", lines)], db=db)
    assert (r.rows_read, r.rows_quarantined) == (60, 5)
    q = table(db, "SELECT source_row, reason FROM quarantine ORDER BY 1")
    assert [n for n, _ in q] == [5, 6, 30, 40, 55]
    assert "expected 4 fields, found 3" in q[0][1] and "found 7" in q[3][1]
    rows = table(db, "SELECT source_row, aor_raw FROM arrests ORDER BY source_row")
    assert all(aor == f"Line {n}" for n, aor in rows) and len(rows) == 55


# -- row 5: implausible dates are kept and flagged -----------------------------------


def test_row5_implausible_dates_kept_and_flagged(tmp_path: Path) -> None:
    lines = [HEADER, *csv_rows(5)]
    lines.append("9999-12-31,Line 7,MEXICO,Located")
    lines.append("1990-06-01,Line 8,MEXICO,Located")
    lines.append("99999,Line 9,MEXICO,Located")
    db = tmp_path / "s.duckdb"
    [r] = ingest([write(tmp_path / "dates.csv", lines)], db=db)
    assert r.status == "loaded" and r.rows_read == 8
    flags = dict(table(db, "SELECT source_row, date_flag FROM arrests"))
    assert "event_date:out_of_range" in flags[7] and "event_date:out_of_range" in flags[8]
    assert all(flags[n] is None for n in range(2, 7))
    # a date that is no date at all is refused, with its line
    assert table(db, "SELECT source_row FROM quarantine") == [(9,)]
    # the release's span and the surges ignore them, and say so
    assert table(db, "SELECT max_event_date::VARCHAR, min_event_date::VARCHAR FROM releases") == [
        ("2019-05-05", "2019-01-01")
    ]
    from icetally import surges

    found = surges("arrests", db=db)
    assert any("2 arrests records dated outside the plausible span" in n for n in found.notes)


# -- row 6: a huge field among the lines the reader sniffs ---------------------------


def test_row6_huge_field_in_sniffed_lines(tmp_path: Path) -> None:
    lines = [HEADER, *csv_rows(10)]
    lines[2] = "2019-01-02,Line 3," + "X" * 300_000 + ",Located"
    db = tmp_path / "s.duckdb"
    code, out, err = cli_ingest(str(write(tmp_path / "wide.csv", lines)), "--db", str(db), "--json")
    no_traceback(err)
    assert code == 0, err
    f = json.loads(out)["files"][0]
    assert (f["rows_read"], f["rows_loaded"]) == (10, 10)


# -- rows 7, 8: xlsx zip bomb and absurd dimension, under a memory limit -------------


def _xlsx(path: Path) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Arrests"
    ws.append(["Apprehension Date", "Area of Responsibility", "Citizenship"])
    for i in range(20):
        ws.append([f"2019-01-{i + 1:02d}", "Seattle Area of Responsibility", "MEXICO"])
    wb.save(path)
    return path


def _patch_part(path: Path, member: str, fn) -> None:  # noqa: ANN001 - a str -> str edit
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    parts[member] = fn(parts[member].decode()).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


_limited = run_limited  # a child under an address-space cap (tests/conftest.py)


def test_row7_xlsx_zip_bomb_refused_before_inflating(tmp_path: Path) -> None:
    p = _xlsx(tmp_path / "bomb.xlsx")
    # 400 MB of empty rows, which deflate to ~400 KB (1000x)
    filler = "<row/>" * (400_000_000 // 6)
    _patch_part(
        p, "xl/worksheets/sheet1.xml", lambda x: x.replace("</sheetData>", filler + "</sheetData>")
    )
    assert p.stat().st_size < 5_000_000
    db = tmp_path / "s.duckdb"
    proc = _limited(
        f"""
        import json
        from icetally import ingest
        [r] = ingest([{str(p)!r}], db={str(db)!r})
        print(json.dumps(r.to_dict()))
        """
    )
    no_traceback(proc.stderr)
    r = json.loads(proc.stdout)
    assert r["status"] == "failed" and "zip bomb" in r["error"] and str(p) in r["error"]


def test_row8_absurd_xlsx_dimension(tmp_path: Path) -> None:
    p = _xlsx(tmp_path / "dim.xlsx")
    _patch_part(
        p,
        "xl/worksheets/sheet1.xml",
        lambda x: (
            x.replace('<c r="A1"', '<c r="ZZZZZZZ1"', 1)
            if 'dimension ref="A1:C21"' not in x
            else x.replace('dimension ref="A1:C21"', 'dimension ref="A1:ZZZZZZZ1"')
        ),
    )
    assert p.stat().st_size < 10_000
    db = tmp_path / "s.duckdb"
    proc = _limited(
        f"""
        import json
        from icetally import ingest
        [r] = ingest([{str(p)!r}], db={str(db)!r})
        print(json.dumps(r.to_dict()))
        """
    )
    no_traceback(proc.stderr)
    r = json.loads(proc.stdout)
    assert r["status"] == "failed" and "ZZZZZZZ" in r["error"] and "'Arrests'" in r["error"]


# -- row 9: a column cap; a wide file never widens the tables ------------------------


def test_row9_wide_file_refused_tables_unchanged(small_store: Path, tmp_path: Path) -> None:
    width = 3_000
    header = HEADER + "," + ",".join(f"extra_{i}" for i in range(width))
    row = "2019-01-01,Line 2,MEXICO,Located" + ",x" * width
    p = write(tmp_path / "wide.csv", [header, row])
    before = store_fingerprint(small_store)
    cols_before = table(
        small_store, "SELECT count(*) FROM duckdb_columns() WHERE table_name='arrests'"
    )
    proc = _limited(
        f"""
        import json
        from icetally import ingest
        [r] = ingest([{str(p)!r}], db={str(small_store)!r})
        print(json.dumps(r.to_dict()))
        """
    )
    no_traceback(proc.stderr)
    r = json.loads(proc.stdout)
    assert r["status"] == "failed" and "3,004 columns" in r["error"] and str(p) in r["error"]
    assert store_fingerprint(small_store) == before
    assert (
        table(small_store, "SELECT count(*) FROM duckdb_columns() WHERE table_name='arrests'")
        == cols_before
    )


@pytest.fixture()
def small_store(tmp_path: Path) -> Path:
    db = tmp_path / "small.duckdb"
    [r] = ingest([write(tmp_path / "first.csv", [HEADER, *csv_rows(20)])], db=db)
    assert r.status == "loaded", r.error
    return db


# -- row 10: disk full ---------------------------------------------------------------


def test_row10_write_error_names_it_store_unchanged_later_files_tried(
    small_store: Path, tmp_path: Path
) -> None:
    """A file-size limit (RLIMIT_FSIZE) makes the store's writes fail as a full disk
    does; the real error is reported, the store is unchanged, the next file is tried."""
    big = write(tmp_path / "big.csv", [HEADER, *csv_rows(300_000)])
    small = write(tmp_path / "small.csv", [HEADER, *csv_rows(5, start_day=40)])
    before = store_fingerprint(small_store)
    size = small_store.stat().st_size
    code = textwrap.dedent(
        f"""
        import json, resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({size + (1 << 20)}, {size + (1 << 20)}))
        from icetally import ingest
        print(json.dumps([r.to_dict() for r in ingest([{str(big)!r}, {str(small)!r}],
                                                       db={str(small_store)!r})]))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    no_traceback(proc.stderr)
    res = json.loads(proc.stdout)
    assert res[0]["status"] == "failed"
    assert "File too large" in res[0]["error"] or "No space" in res[0]["error"]
    assert "cannot rollback" not in res[0]["error"]
    assert len(res) == 2  # the later file was tried
    after = store_fingerprint(small_store)
    # the big file left nothing; the small one may have loaded
    assert after["arrests"][0] in (before["arrests"][0], before["arrests"][0] + 5)


# -- row 11: a store that cannot be opened -------------------------------------------


def test_row11_not_a_duckdb_file(tmp_path: Path) -> None:
    db = tmp_path / "notes.duckdb"
    db.write_text("these are my notes, not a database\n" * 100)
    p = write(tmp_path / "a.csv", [HEADER, *csv_rows(3)])
    code, out, err = cli_ingest(str(p), "--db", str(db), "--json")
    no_traceback(err)
    assert code in (1, 2)
    msg = json.loads(out)["error"]
    assert str(db) in msg and "not an icetally store" in msg
    assert db.read_text().startswith("these are my notes")


def test_row11_store_locked_by_another_process(small_store: Path, tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(small_store)!r}); print('ok', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        p = write(tmp_path / "a.csv", [HEADER, *csv_rows(3)])
        code, out, err = cli_ingest(str(p), "--db", str(small_store))
        no_traceback(err)
        assert code in (1, 2)
        assert str(small_store) in err and "in use by another process" in err
        assert "Traceback" not in err
    finally:
        holder.kill()
        holder.wait()


def test_row11_read_only_file_system(tmp_path: Path) -> None:
    target = Path("/proc/icetally-test.duckdb")
    p = write(tmp_path / "a.csv", [HEADER, *csv_rows(3)])
    code, out, err = cli_ingest(str(p), "--db", str(target), "--json")
    no_traceback(err)
    assert code in (1, 2)
    assert str(target) in json.loads(out)["error"]


# -- row 16: the same rows in other bytes --------------------------------------------


def test_row16_same_rows_other_bytes_skipped(tmp_path: Path) -> None:
    plain = write(tmp_path / "rel.csv", [HEADER, *csv_rows(50)])
    gz = tmp_path / "rel.csv.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes(), compresslevel=1))
    gz9 = tmp_path / "rel-again.csv.gz"
    gz9.write_bytes(gzip.compress(plain.read_bytes(), compresslevel=9))
    db = tmp_path / "s.duckdb"
    res = ingest([plain, gz, gz9], db=db)
    assert [r.status for r in res] == ["loaded", "skipped", "skipped"]
    assert "rel.csv" in (res[1].note or "") and "other bytes" in (res[1].note or "")
    assert table(db, "SELECT count(*) FROM arrests") == [(50,)]
    assert table(db, "SELECT count(*) FROM releases") == [(1,)]


# -- minor items ---------------------------------------------------------------------


def test_minor_utf16_and_nul_files_say_what_was_found(tmp_path: Path) -> None:
    text = "\n".join([HEADER, *csv_rows(3)]) + "\n"
    u16 = tmp_path / "u16.csv"
    u16.write_bytes(text.encode("utf-16"))
    nul = tmp_path / "nul.csv"
    nul.write_bytes(b"\x00\x01\x02" + text.encode() + b"\x00" * 10)
    res = ingest([u16, nul], db=tmp_path / "s.duckdb")
    assert res[0].status == "failed" and "UTF-16" in (res[0].error or "")
    assert res[1].status == "failed" and "NUL bytes" in (res[1].error or "")
    assert str(u16) in (res[0].error or "") and str(nul) in (res[1].error or "")


def test_minor_duplicate_header_names_the_file(tmp_path: Path) -> None:
    p = write(
        tmp_path / "dup.csv",
        [
            "apprehension_date,apprehension_aor,citizenship,citizenship",
            *[f"2019-01-0{i},Line {i + 1},MEXICO,GUATEMALA" for i in range(1, 6)],
        ],
    )
    db = tmp_path / "s.duckdb"
    [r] = ingest([p], db=db)
    # loaded (the second header is kept raw) or refused naming the file: never a bare error
    assert r.status == "loaded" or str(p) in (r.error or ""), r.error
    if r.status == "loaded":
        assert r.rows_loaded == 5


def test_minor_empty_and_symlinked_folders(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    real = tmp_path / "real"
    real.mkdir()
    write(real / "a.csv", [HEADER, *csv_rows(4)])
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    outer = tmp_path / "outer"
    outer.mkdir()
    (outer / "data").symlink_to(real, target_is_directory=True)
    db = tmp_path / "s.duckdb"
    res = CliRunner().invoke(app, ["ingest", str(empty), "--db", str(db), "--json"])
    assert res.exit_code == 1
    err = json.loads(res.stdout)["files"][0]["error"]
    assert str(empty) in err and "no release files" in err
    [r] = ingest([outer], db=db)  # data behind a symlinked folder
    assert r.status == "loaded" and r.rows_loaded == 4


def test_rlimit_helper_is_enforced() -> None:
    """The memory cap the tests above rely on is real in a child."""
    proc = _limited("x = bytearray(3 << 30)", limit_bytes=1 << 30)
    assert proc.returncode != 0 and "MemoryError" in proc.stderr
    assert resource.RLIMIT_AS is not None


# -- row 15: 500 overlapping releases are summarized, not listed pairwise ------------


def test_row15_overlaps_summarized() -> None:
    import time
    from datetime import date, timedelta

    from icetally.query.count import OVERLAP_LISTED, overlap_warnings

    start = date(2019, 1, 1)
    spans = {
        f"r{i:03d}": (start + timedelta(days=i % 7), start + timedelta(days=30)) for i in range(500)
    }
    t0 = time.perf_counter()
    out = overlap_warnings(spans)
    assert time.perf_counter() - t0 < 5  # 125,250 pairs counted, not formatted
    assert len(out) == OVERLAP_LISTED + 1
    assert "124,740 more overlapping pairs" in out[-1] and "500 releases" in out[-1]
    # two releases that do not overlap give no warning; two that do give one line
    assert overlap_warnings({"a": (start, start), "b": (start + timedelta(days=2),) * 2}) == []
    assert len(overlap_warnings({"a": (start, start + timedelta(days=3)), "b": (start,) * 2})) == 1
