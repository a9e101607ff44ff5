"""Count tables as input (issue #14, items 1-2): daily counts per state, AOR or county,
long or wide, CSV or xlsx, loaded with no flags; every figure sums their counts.

Expected values are computed here, independently of icetally (csv module), from the
real files read in place (../shared/data/daily-counts) and from small generated ones.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from icetally import api
from icetally.cli import app
from icetally.store.handle import Store
from tests.conftest import SHARED

DAILY = SHARED / "daily-counts"
FIVE_STATES = DAILY / "ice-daily-arrests-5-states-2025-2026.csv"
BY_AOR = DAILY / "ice-daily-by-aor-fy2016-2019.csv.gz"
POSTAL = {
    "TEXAS": "TX",
    "WISCONSIN": "WI",
    "ILLINOIS": "IL",
    "MINNESOTA": "MN",
    "OREGON": "OR",
}


def need_daily() -> None:
    if not FIVE_STATES.is_file():
        pytest.skip(f"real data not found at {DAILY}")


def five_state_cells() -> tuple[dict[str, int], int, list[tuple[int, str, str]], int]:
    """Per-state sums, the total, the NA cells (line, state, date) and the number of
    cells, by csv."""
    sums: Counter[str] = Counter()
    missing: list[tuple[int, str, str]] = []
    with FIVE_STATES.open(newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    for line, row in enumerate(rows[1:], start=2):
        for name, cell in zip(header[2:], row[2:], strict=True):
            if cell == "NA":
                missing.append((line, name, row[1]))
            else:
                sums[POSTAL[name]] += int(cell)
    cells = sum(len(row) - 2 for row in rows[1:])
    return dict(sums), sum(sums.values()), missing, cells


@pytest.fixture(scope="module")
def five_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need_daily()
    db = tmp_path_factory.mktemp("counts") / "five.duckdb"
    res = api.ingest([FIVE_STATES], db=db)  # no flags: recognized by content
    assert res[0].status == "loaded", res[0].error
    return db


def test_five_states_load_with_no_flags_and_total_is_the_sum_of_cells(five_db: Path) -> None:
    sums, total, missing, cells = five_state_cells()
    (rel,) = api.releases(db=five_db)
    assert rel["format"] == "count_table_csv" and rel["dataset"] == "arrests"
    # every cell is a row (lines x 5 states), NA cells quarantined, none lost
    assert rel["rows_read"] == cells == 222 * 5
    assert rel["rows_loaded"] == cells - len(missing)
    assert rel["rows_quarantined"] == len(missing)
    assert api.count("arrests", db=five_db).total == total


def test_count_by_state_cli_sums_the_counts(five_db: Path) -> None:
    sums, total, _, _ = five_state_cells()
    res = CliRunner().invoke(app, ["count", "--by", "state", "--db", str(five_db), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert {r["state"]: r["n"] for r in out["rows"]} == sums
    assert out["total"] == total
    assert "sum" in out["query"]["sql"].lower()


def test_state_names_become_postal_codes_raw_kept(five_db: Path) -> None:
    con = duckdb.connect(str(five_db), read_only=True)
    try:
        pairs = set(con.execute("SELECT DISTINCT state, state_abbr FROM arrests").fetchall())
    finally:
        con.close()
    assert pairs == set(POSTAL.items())


def test_not_reported_cells_are_gaps_in_coverage_not_zeros(five_db: Path) -> None:
    _, _, missing, _ = five_state_cells()
    with Store.open(five_db, read_only=True) as s:
        cov = s.coverage("arrests", "state")
        q = s.duckdb.execute(
            "SELECT source_row, reason, raw FROM quarantine ORDER BY source_row"
        ).fetchall()
    # the last row (2026-09-17) is six months after the others: a gap, not zeros
    assert cov.gaps == ((date(2026, 3, 11), date(2026, 9, 16)),)
    assert cov.spans[-1] == (date(2026, 9, 17), date(2026, 9, 17))
    # each NA cell: quarantined with its line, and its day uncovered for its state
    assert sorted((line, json.loads(raw)["state"]) for line, _, raw in q) == sorted(
        (line, name) for line, name, _ in missing
    )
    assert all("not reported" in reason for _, reason, _ in q)
    for _line, name, day in missing:
        d = date.fromisoformat(day)
        assert not cov.covered(d, POSTAL[name]), (name, day)
    # Texas reports every line: covered on each reported day, not in the gap
    assert cov.by_area["TX"] == cov.spans
    assert not cov.covered(date(2026, 6, 1), "TX")


def test_reingest_is_a_no_op(five_db: Path, tmp_path: Path) -> None:
    before = api.count("arrests", db=five_db).total
    again = api.ingest([FIVE_STATES], db=five_db)
    assert again[0].status == "skipped"
    # the same rows in other bytes (gzip) are found by their content fingerprint
    gz = tmp_path / "five.csv.gz"
    gz.write_bytes(gzip.compress(FIVE_STATES.read_bytes()))
    other = api.ingest([gz], db=five_db)
    assert other[0].status == "skipped" and "already in the store" in (other[0].note or "")
    assert api.count("arrests", db=five_db).total == before


def test_unknown_wide_column_is_a_clear_error(tmp_path: Path) -> None:
    f = tmp_path / "wide.csv"
    f.write_text(
        "date,TEXAS,ILLINOIS,Narnia\n2025-01-01,3,4,5\n2025-01-02,1,NA,2\n", encoding="utf-8"
    )
    db = tmp_path / "s.duckdb"
    res = api.ingest([f], db=db)
    assert res[0].status == "failed"
    assert "'Narnia'" in res[0].error and str(f) in res[0].error
    assert "\n" not in res[0].error
    with Store.open(db, read_only=True) as s:  # atomic: nothing written
        assert s.duckdb.execute("SELECT count(*) FROM arrests").fetchall()[0][0] == 0


def test_bad_cells_are_quarantined_with_their_line(tmp_path: Path) -> None:
    f = tmp_path / "wide.csv"
    good = [f"2025-01-{d:02d},{d},{2 * d}" for d in range(1, 31)]  # lines 2-31
    bad = ["2025-02-01,-1,2", "2025-02-02,2.5,7", "2025-02-03,x,"]  # lines 32-34
    f.write_text("\n".join(["date,TX,IL", *good, *bad]) + "\n", encoding="utf-8")
    db = tmp_path / "s.duckdb"
    (r,) = api.ingest([f], db=db)
    assert r.status == "loaded", r.error
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (66, 62, 4)
    with Store.open(db, read_only=True) as s:
        q = s.duckdb.execute(
            "SELECT source_row, reason, raw FROM quarantine ORDER BY source_row, raw"
        ).fetchall()
    got = [(line, json.loads(raw)["state"], json.loads(raw)["count"]) for line, _, raw in q]
    assert got == [(32, "TX", "-1"), (33, "TX", "2.5"), (34, "IL", ""), (34, "TX", "x")]
    assert "whole number" in q[0][1] and "not reported" in q[2][1]
    assert api.count("arrests", db=db).total == sum(3 * d for d in range(1, 31)) + 2 + 7


def test_aor_long_file_with_columns_names_the_count_column(tmp_path: Path) -> None:
    need_daily()
    db = tmp_path / "aor.duckdb"
    res = CliRunner().invoke(
        app,
        [
            "ingest",
            str(BY_AOR),
            "--dataset",
            "arrests",
            "--columns",
            "date=event_date,aor=aor,n_arrests=n",
            "--db",
            str(db),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    expected: Counter[str] = Counter()
    with gzip.open(BY_AOR, "rt", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="|"):
            expected[row["aor"]] += int(row["n_arrests"])
    got = api.count("arrests", db=db, by="aor")
    assert {r["aor"]: r["n"] for r in got.rows} == dict(expected)


# ------------------------------------------------------------------ long = wide


def _daily_counts(areas: list[str], days: int, seed: int = 7) -> dict[tuple[date, str], int]:
    import random

    rng = random.Random(seed)
    start = date(2024, 1, 1)
    return {(start + timedelta(days=i), a): rng.randint(0, 30) for i in range(days) for a in areas}


def test_long_and_wide_forms_give_the_same_answers(tmp_path: Path) -> None:
    counts = _daily_counts(["Texas", "Illinois", "Oregon"], 60)
    days = sorted({d for d, _ in counts})
    wide = tmp_path / "wide.csv"
    with wide.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["", "apprehension_date", "Texas", "Illinois", "Oregon"])
        for i, d in enumerate(days, 1):
            w.writerow(
                [i, d.isoformat(), *(counts[(d, a)] for a in ("Texas", "Illinois", "Oregon"))]
            )
    long = tmp_path / "long.csv"
    with long.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["date", "state", "n"])
        for (d, a), n in sorted(counts.items()):
            w.writerow([d.isoformat(), a, n])
    answers = []
    for f in (wide, long):
        db = tmp_path / f"{f.stem}.duckdb"
        (r,) = api.ingest([f], db=db)
        assert r.status == "loaded", r.error
        assert r.format == "count_table_csv"
        by = api.count("arrests", db=db, by="state,week").rows
        with Store.open(db, read_only=True) as s:
            cov = s.coverage("arrests", "state")
        answers.append((by, cov.spans, cov.by_area))
    assert answers[0] == answers[1]
    expected: dict[str, int] = defaultdict(int)
    for (_, a), n in counts.items():
        expected[{"Texas": "TX", "Illinois": "IL", "Oregon": "OR"}[a]] += n
    totals: dict[str, int] = defaultdict(int)
    for row in answers[0][0]:
        totals[row["state"]] += row["n"]
    assert totals == expected


# ------------------------------------------------------- count table = its records

AOR_STATES = {"CHI": "IL", "SPM": "MN", "SEA": "OR"}
EQ_START, EQ_DAYS = date(2017, 1, 1), 730
SURGE = ("CHI", date(2017, 9, 11), 9)  # area, first day, days tripled


def _equivalent_counts() -> dict[tuple[date, str], int]:
    """Daily arrests per AOR: weekday effect, a planted surge, never empty at the ends."""
    import random

    rng = random.Random(14)
    out: dict[tuple[date, str], int] = {}
    for i in range(EQ_DAYS):
        d = EQ_START + timedelta(days=i)
        for k, aor in enumerate(AOR_STATES):
            mean = (6 + 4 * k) * (0.4 if d.weekday() >= 5 else 1.0)
            n = sum(rng.random() < mean / 40 for _ in range(40))
            if aor == SURGE[0] and 0 <= (d - SURGE[1]).days < SURGE[2]:
                n *= 4
            out[(d, aor)] = max(n, 1) if i in (0, EQ_DAYS - 1) else n
    return out


@pytest.fixture(scope="module")
def equivalent_stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same arrests as records (one row each), as a wide count table per AOR and as
    a long count table per state, each in its own store."""
    tmp = tmp_path_factory.mktemp("equivalent")
    counts = _equivalent_counts()
    days = sorted({d for d, _ in counts})
    records = tmp / "records.csv"
    with records.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["apprehension_date", "apprehension_aor", "apprehension_state"])
        for (d, aor), n in sorted(counts.items()):
            w.writerows([d.strftime("%m/%d/%Y"), aor, AOR_STATES[aor]] for _ in range(n))
    wide = tmp / "wide-by-aor.csv"
    with wide.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["apprehension_date", *AOR_STATES])
        for d in days:
            w.writerow([d.isoformat(), *(counts[(d, a)] for a in AOR_STATES)])
    long = tmp / "long-by-state.csv"
    with long.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["date", "state", "arrests"])
        for (d, aor), n in sorted(counts.items()):
            w.writerow([d.isoformat(), AOR_STATES[aor], n])
    out = {}
    for name, f in (("records", records), ("wide", wide), ("long", long)):
        db = tmp / f"{name}.duckdb"
        (r,) = api.ingest([f], db=db)
        assert r.status == "loaded" and r.rows_quarantined == 0, r.error
        out[name] = db
    return out


def _claims(area: str) -> list[dict]:
    return [
        {
            "id": "total",
            "from": "2017-03-01",
            "to": "2017-03-31",
            "measure": "count",
            "value": 400,
        },
        {
            "id": "operation",
            "from": SURGE[1].isoformat(),
            "to": (SURGE[1] + timedelta(days=SURGE[2] - 1)).isoformat(),
            **({"aor": ["CHI"]} if area == "aor" else {"state": ["IL"]}),
            "measure": "operation",
            "value": 150,
        },
    ]


def _verdicts(db: Path, area: str) -> list[dict]:
    report = api.check(_claims(area), db=db).to_dict()
    out = []
    for c in report["claims"]:
        keep = {k: v for k, v in c.items() if k not in ("query", "queries", "releases")}
        out.append(json.loads(json.dumps(keep, default=str)))
    return out


@pytest.mark.parametrize(("table", "area"), [("wide", "aor"), ("long", "state")])
def test_count_table_and_its_records_give_identical_answers(
    equivalent_stores: dict[str, Path], table: str, area: str
) -> None:
    from icetally.query.filters import Slice
    from icetally.query.series import daily_series

    rec, cnt = equivalent_stores["records"], equivalent_stores[table]
    by = "aor" if area == "aor" else "state"
    expected: dict[str, int] = defaultdict(int)
    for (_, aor), n in _equivalent_counts().items():
        expected[aor if area == "aor" else AOR_STATES[aor]] += n
    # count
    for db in (rec, cnt):
        got = api.count("arrests", db=db, by=by)
        assert {r[by]: r["n"] for r in got.rows} == expected
    for dims in (f"{by},month", f"{by},date", "date"):
        assert api.count("arrests", db=rec, by=dims).rows == (
            api.count("arrests", db=cnt, by=dims).rows
        ), dims
    # series and coverage
    with Store.open(rec, read_only=True) as a, Store.open(cnt, read_only=True) as b:
        sa = daily_series(a, Slice.build("arrests"), area)
        sb = daily_series(b, Slice.build("arrests"), area)
        nonzero = sum(1 for n in _equivalent_counts().values() if n)
        assert sa.equals(sb) and len(sa) == nonzero
        ca, cb = a.coverage("arrests", area), b.coverage("arrests", area)
        assert (ca.spans, ca.gaps, ca.by_area) == (cb.spans, cb.gaps, cb.by_area)
    # surges: the planted one is found, identically
    sur = [api.surges("arrests", db=db, area=area).to_dict() for db in (rec, cnt)]
    assert sur[0]["surges"] == sur[1]["surges"]
    code = SURGE[0] if area == "aor" else AOR_STATES[SURGE[0]]
    assert any(
        a["area"] == code and a["start"] <= SURGE[1].isoformat() <= a["end"]
        for s in sur[0]["surges"]
        for a in s["aors"]
    )
    # claims
    verdicts = _verdicts(rec, area)
    assert verdicts == _verdicts(cnt, area)
    assert [v["verdict"] for v in verdicts] == ["understated", "consistent"]


def test_count_table_and_its_records_give_the_same_report(
    equivalent_stores: dict[str, Path],
) -> None:
    import re

    pages = []
    for name in ("records", "wide"):
        db = equivalent_stores[name]
        html = api.render_report(db=db, date_from="2017-09-04", date_to="2017-09-24", aor="CHI")
        (rel,) = api.releases(db=db)
        # what differs by construction: the release's id, file and format
        for word in (rel["release_id"], rel["sha256"], rel["file_name"], rel["format"]):
            html = html.replace(word, "RELEASE")
        # and the rows it holds (records are rows, a count table's cells are)
        html = re.sub(
            r"<tr>(?:(?!</tr>).)*RELEASE(?:(?!</tr>).)*</tr>",
            lambda m: re.sub(r">[\d,]+<", ">ROWS<", m.group(0)),
            html,
        )
        pages.append(re.sub(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?", "TIME", html))
    assert "excess" in pages[0] and "Coverage" in pages[0]
    assert pages[0] == pages[1]


# ------------------------------------------------------------------ xlsx, counties, mapping


def test_wide_xlsx_with_date_cells_loads_like_its_csv(tmp_path: Path) -> None:
    from icetally.synth.xlsx import SheetSpec, write_xlsx

    counts = _daily_counts(["ILLINOIS", "MINNESOTA"], 40)
    days = sorted({d for d, _ in counts})
    rows = [[d, counts[(d, "ILLINOIS")], counts[(d, "MINNESOTA")]] for d in days]
    rows[5][2] = "NA"  # not reported: line 7 of the sheet (header on row 2)
    book = tmp_path / "wide.xlsx"
    write_xlsx(
        book,
        [SheetSpec("daily", ["apprehension_date", "ILLINOIS", "MINNESOTA"], rows, ["Arrests"])],
    )
    db = tmp_path / "x.duckdb"
    (r,) = api.ingest([book], db=db)
    assert r.status == "loaded", r.error
    assert r.format == "count_table_xlsx" and (r.rows_loaded, r.rows_quarantined) == (79, 1)
    got = {row["state"]: row["n"] for row in api.count("arrests", db=db, by="state").rows}
    assert got == {
        "IL": sum(counts[(d, "ILLINOIS")] for d in days),
        "MN": sum(counts[(d, "MINNESOTA")] for d in days) - counts[(days[5], "MINNESOTA")],
    }
    with Store.open(db, read_only=True) as s:
        (line,) = s.duckdb.execute("SELECT source_row FROM quarantine").fetchall()[0]
        cov = s.coverage("arrests", "state")
    assert line == 8  # preamble row 1, header row 2, first data row 3
    assert not cov.covered(days[5], "MN") and cov.covered(days[5], "IL")


def test_county_long_table_by_fips(tmp_path: Path) -> None:
    f = tmp_path / "counties.csv"
    f.write_text(
        "day,fips,count\n2025-01-01,17031,5\n2025-01-01,6037,2\n2025-01-02,17031,1\n",
        encoding="utf-8",
    )
    db = tmp_path / "c.duckdb"
    (r,) = api.ingest([f], db=db)
    assert r.status == "loaded", r.error
    rows = api.count("arrests", db=db, by="county_fips,state").rows
    assert rows == [
        {"county_fips": "06037", "state": "CA", "n": 2},
        {"county_fips": "17031", "state": "IL", "n": 6},
    ]


def test_ambiguous_wide_headers_need_columns(tmp_path: Path) -> None:
    f = tmp_path / "wide.csv"
    f.write_text("date,WASHINGTON,NEW YORK\n2025-01-01,3,4\n2025-01-02,5,6\n", encoding="utf-8")
    db = tmp_path / "w.duckdb"
    (r,) = api.ingest([f], db=db)
    assert r.status == "failed" and "count:KIND" in r.error and "'WASHINGTON'" in r.error
    mapping = {"date": "event_date", "WASHINGTON": "count:aor", "NEW YORK": "count:aor"}
    (r,) = api.ingest([f], db=db, dataset="arrests", mapping=mapping)
    assert r.status == "loaded", r.error
    rows = api.count("arrests", db=db, by="aor").rows
    assert rows == [{"aor": "NYC", "n": 10}, {"aor": "WAS", "n": 8}]


def test_surges_per_state_cli_and_web_agree(five_db: Path) -> None:
    from fastapi.testclient import TestClient

    from icetally.web import create_app

    res = CliRunner().invoke(app, ["surges", "--area", "state", "--db", str(five_db), "--json"])
    assert res.exit_code == 0, res.output
    cli = json.loads(res.stdout)
    assert cli["area"] == "state" and cli["query"]["area"] == "state"
    states = {a["area"] for s in cli["surges"] for a in s["aors"]}
    assert states and states <= set(POSTAL.values())
    with TestClient(create_app(five_db)) as c:
        web = c.get("/api/surges", params={"area": "state"})
        assert web.status_code == 200, web.text
        assert web.json()["surges"] == cli["surges"]
        refused = c.get("/api/surges", params={"area": "planet"})
        assert refused.status_code == 400 and "area" in refused.text
    bad = CliRunner().invoke(app, ["surges", "--area", "planet", "--db", str(five_db)])
    assert bad.exit_code == 2 and "planet" in bad.output


def test_coverage_command_shows_each_state_s_unreported_days(five_db: Path) -> None:
    res = CliRunner().invoke(app, ["coverage", "--area", "state", "--db", str(five_db), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["area"] == "state"
    assert out["gaps"] == [{"from": "2026-03-11", "to": "2026-09-16"}]
    with FIVE_STATES.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    days = [date.fromisoformat(r["apprehension_date"]) for r in rows]
    span = (max(days) - min(days)).days + 1
    for name, code in POSTAL.items():
        reported = sum(1 for r in rows if r[name] != "NA")
        assert out["areas"][code]["uncovered_days"] == span - reported, name
    table = CliRunner().invoke(app, ["coverage", "--area", "state", "--db", str(five_db)])
    assert table.exit_code == 0 and "2026-03-11" in table.output
