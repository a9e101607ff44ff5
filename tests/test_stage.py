"""Staging a delimited file (store/stage.py): the cleaned columns a staged view carries
must be what cleaning every cell gives (``it_clean``, ``it_redacted``: the definition),
whichever way a column is cleaned (as read, a CASE over a few values, a join to its
changed values, per cell), and a record that runs past its line must be refused at its
own line whether the line break sits in a many-valued or a few-valued column. Files
are generated here, above the row counts where columns are screened and estimated."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import duckdb
import pytest

from icetally import ingest
from icetally.normalize import install
from icetally.sources.base import TextScan
from icetally.store import stage

ROWS = 40_000  # over stage.HEAD_ROWS and stage.ESTIMATE_ROWS: every screen runs
COLUMNS = ("id", "date", "code", "place", "late", "method")


def cells(i: int) -> list[str]:
    """Row i: a unique id (per cell), a date (few values, all clean: as read), a code
    redacted in two spellings or an empty token (a CASE), a place with stray spaces in
    40 of its values (a join), a value that repeats at the head and is unique after
    (many values the head does not show), and a clean method."""
    code = ("(b)(6) ", "(B)(6);(B)(7)(C)", "N/A", "E1", "E2")[i % 5]
    place = f"PLACE {i % 300}" + ("  " if i % 300 < 40 else "")
    late = "SAME" if i < stage.HEAD_ROWS else f"L{i}"
    method = ("Located", "Traffic Check", "")[i % 3]
    return [f"P{i:07d}", f"2019-01-{1 + i % 28:02d}", code, place, late, method]


def write_pipe(path: Path, rows: int) -> Path:
    lines = ["|".join(COLUMNS), *("|".join(cells(i)) for i in range(rows))]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_staged_columns_equal_per_cell_cleaning(tmp_path: Path) -> None:
    path = write_pipe(tmp_path / "t.txt", ROWS)
    scan = TextScan(path=path, delimiter="|", header_line=0, width=len(COLUMNS), gzip=False)
    con = duckdb.connect()
    install(con)
    stage.attach(con)
    cur = con.cursor()
    install(cur)
    staged = stage.stage_text(cur, scan, "t")
    assert staged.rows == ROWS and not staged.rejects
    # every way of cleaning is used (else this test would not test them)
    cleaned = stage.cleaned_columns(cur, f'{stage.STAGE_DB}."t_seg0"', len(COLUMNS), "u", ROWS)
    per_column = re.split(r" AS r\d+(?:, |$)", cleaned.select)  # one column's x and r each
    assert "it_clean(s.c0)" in per_column[0]  # id: per cell
    assert "s.c1 AS x1" in per_column[1]  # date: as read
    assert "CASE s.c2 WHEN" in per_column[2]  # code: a CASE
    assert "d3.x" in per_column[3] and "d3 ON" in cleaned.joins  # place: a join
    assert "it_clean" not in per_column[4]  # late: grouped though many-valued
    wrong = cur.execute(
        "SELECT count(*) FROM "
        f"(SELECT * FROM {staged.relation}) WHERE "
        + " OR ".join(
            f"x{i} IS DISTINCT FROM it_clean(c{i}) "
            f"OR r{i} IS DISTINCT FROM coalesce(it_redacted(c{i}), false)"
            for i in range(len(COLUMNS))
        )
    ).fetchall()[0][0]
    assert wrong == 0
    # and against values written out here: a redaction, an empty token, a trim
    got = dict(
        cur.execute(
            f"SELECT source_row, (x2, r2, x3, x5) FROM {staged.relation} "
            "WHERE source_row IN (2, 4, 5, 6)"
        ).fetchall()
    )
    assert got[2] == (None, True, "PLACE 0", "Located")  # "(b)(6) "; "PLACE 0  "
    assert got[4] == (None, False, "PLACE 2", None)  # "N/A"; an empty method
    assert got[5] == ("E1", False, "PLACE 3", "Located")
    assert got[6] == ("E2", False, "PLACE 4", "Traffic Check")


ERO_HEAD = [
    '"ERO-LESA Statistical Tracking Unit"|||',
    '"2019-ICFO-53623"|||',
    '"ERO Administrative Arrests for FY2019"|||',
    '"Area of Responsibility"|"Apprehension Date"|"Apprehension Method"|"Citizenship"',
]


@pytest.mark.parametrize("column", ["aor", "method"])
def test_quote_closed_lines_later_refused_at_its_line(tmp_path: Path, column: str) -> None:
    """A quote opened deep in a large ERO-LESA export and closed on the next line so
    that the two lines read as one record of the right width (the reader accepts it:
    only the line break in a value shows it): in the AOR column (a unique text per
    line: cleaned per cell) or the method column (two values: cleaned through its
    dictionary), the record is refused at its own line and the lines around load."""
    first = len(ERO_HEAD) + 1  # line of the first data record
    data = [
        f'"Line {first + i}"|2/{1 + i % 27}/2019|"{("Located", "Traffic")[i % 2]}"|"MEXICO"'
        for i in range(ROWS)
    ]
    broken = 30_000  # index of the record whose quote runs on
    line = first + broken
    if column == "aor":
        data[broken] = f'"Line {line}'
        data[broken + 1] = 'x"|2/8/2019|"Located"|"MEXICO"'
    else:
        data[broken] = f'"Line {line}"|2/8/2019|"Loc'
        data[broken + 1] = 'ated"|"MEXICO"'
    p = tmp_path / "ero.csv.gz"
    with gzip.open(p, "wt") as fh:
        fh.write("\n".join(ERO_HEAD + data) + "\n")
    db = tmp_path / "s.duckdb"
    [r] = ingest([p], db=db)
    assert r.status == "loaded", r.error
    with duckdb.connect(str(db), read_only=True) as con:
        q = con.execute("SELECT source_row, reason FROM quarantine ORDER BY 1").fetchall()
        rows = con.execute("SELECT source_row, aor_raw FROM arrests ORDER BY 1").fetchall()
    # the record where the quote opened, refused at its line (what the rest of the
    # next line makes alone is the other tests' business)
    assert q[0][0] == line and "runs past the end of its line" in q[0][1], q
    loaded = {n: aor for n, aor in rows}
    assert line not in loaded
    assert all(loaded[n] == f"Line {n}" for n in (first, line - 1, line + 2, first + ROWS - 1))
    assert len(rows) + len(q) == ROWS
