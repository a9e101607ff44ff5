"""One gap-aware coverage: a store whose releases leave a gap between them. The gap is
uncovered everywhere (Store.coverage, surges, claims, the report), never days of zero
arrests."""

from __future__ import annotations

import csv
import shutil
from datetime import date, timedelta
from html import unescape
from pathlib import Path

import duckdb
import numpy as np
import pytest

import icetally
import icetally.api
from icetally.analysis.surges import detect_surges, fit_baselines
from icetally.query.series import daily_series
from icetally.store import coverage as coverage_mod
from icetally.store.handle import Store

AORS = ("LOS", "PHI")
RATE = {"LOS": 30.0, "PHI": 12.0}  # weekday arrests per day; weekends a tenth
FIRST = (date(2019, 1, 1), date(2019, 3, 31))
SECOND = (date(2019, 7, 1), date(2019, 12, 31))
GAP = (date(2019, 4, 1), date(2019, 6, 30))


def _write(path: Path, lo: date, hi: date, seed: int) -> int:
    rng = np.random.default_rng(seed)
    n = 0
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["date", "aor", "method"])
        d = lo
        while d <= hi:
            for aor in AORS:
                mean = RATE[aor] * (0.1 if d.weekday() >= 5 else 1.0)
                for _ in range(rng.poisson(mean)):
                    w.writerow([d.isoformat(), aor, "Located"])
                    n += 1
            d += timedelta(days=1)
    return n


@pytest.fixture(scope="module")
def gap_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gap")
    a, b = out / "first-quarter.csv", out / "second-half.csv"
    _write(a, *FIRST, seed=1)
    _write(b, *SECOND, seed=2)
    db = out / "gap.duckdb"
    mapping = {"date": "event_date", "aor": "aor", "method": "method"}
    res = icetally.ingest([a, b], db=db, dataset="arrests", mapping=mapping)
    assert [r.status for r in res] == ["loaded", "loaded"], res
    return db


def test_ingest_writes_one_span_per_release(gap_db: Path) -> None:
    con = duckdb.connect(str(gap_db), read_only=True)
    try:
        rows = con.execute(
            "SELECT r.file_name, s.area, s.span_start, s.span_end FROM coverage_spans s "
            "JOIN releases r USING (release_id) ORDER BY 3"
        ).fetchall()
    finally:
        con.close()
    assert rows == [
        ("first-quarter.csv", None, *FIRST),
        ("second-half.csv", None, *SECOND),
    ]


def test_store_coverage_has_the_gap(gap_db: Path) -> None:
    with Store.open(gap_db) as store:
        cov = store.coverage("arrests")
    assert cov.spans == (FIRST, SECOND)
    assert cov.gaps == (GAP,)
    assert (cov.start, cov.end) == (FIRST[0], SECOND[1])
    assert cov.by_area == {a: (FIRST, SECOND) for a in AORS}
    assert cov.contains(date(2019, 2, 1), date(2019, 2, 7))
    assert not cov.contains(date(2019, 3, 25), date(2019, 4, 2))  # runs into the gap
    assert not cov.covered(date(2019, 5, 1))
    assert cov.to_dict()["gaps"] == [{"from": "2019-04-01", "to": "2019-06-30"}]


def test_a_store_from_before_the_table_falls_back_to_the_releases(
    gap_db: Path, tmp_path: Path
) -> None:
    old = tmp_path / "old.duckdb"
    shutil.copy(gap_db, old)
    con = duckdb.connect(str(old))
    con.execute("DROP TABLE coverage_spans")
    con.close()
    with Store.open(old) as store:
        assert store.coverage("arrests").spans == (FIRST, SECOND)


def test_a_reader_may_give_spans_per_area(gap_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "spans.duckdb"
    shutil.copy(gap_db, db)
    with Store.open(db, read_only=False) as store:
        rid = next(r["release_id"] for r in store.releases() if r["file_name"] == "second-half.csv")
        # PHI did not report in August: the release says so for that AOR only
        coverage_mod.write_spans(
            store.duckdb,
            rid,
            [
                (None, *SECOND),
                ("aor:PHI", date(2019, 7, 1), date(2019, 7, 31)),
                ("aor:PHI", date(2019, 9, 1), date(2019, 12, 31)),
            ],
        )
        with pytest.raises(ValueError, match="KIND:CODE"):
            coverage_mod.write_spans(store.duckdb, rid, [("region:west", *SECOND)])
    with Store.open(db) as store:
        cov = store.coverage("arrests")
        assert cov.by_area["LOS"] == (FIRST, SECOND)
        assert cov.by_area["PHI"] == (
            FIRST,
            (date(2019, 7, 1), date(2019, 7, 31)),
            (date(2019, 9, 1), date(2019, 12, 31)),
        )
        assert cov.spans == (FIRST, SECOND)  # the whole release is still covered
        with pytest.raises(ValueError, match="area kind"):
            store.coverage("arrests", area_kind="planet")


def test_the_surge_model_leaves_the_gap_out(gap_db: Path) -> None:
    with Store.open(gap_db) as store:
        cov = store.coverage("arrests")
        daily = daily_series(store, icetally.api.slice_of("arrests"))
    fits = fit_baselines(daily, coverage=cov.by_area)
    bl = fits["LOS"]
    gap_idx = bl.window_index(*GAP)
    assert not bl.covered[gap_idx[0] : gap_idx[1] + 1].any()
    assert not bl.fit_mask[gap_idx[0] : gap_idx[1] + 1].any()
    # the first weeks after the gap: the baseline is the normal rate (5 weekdays at 30,
    # 2 weekend days at 3 = 156 a week), not dragged down by three months of "zeros"
    week = bl.window(date(2019, 7, 8), date(2019, 7, 14))
    assert 156 * 0.8 < week["expected"] < 156 * 1.2
    # a window over the gap's edge counts only its covered days
    edge = bl.window(date(2019, 3, 25), date(2019, 4, 7))
    inside = bl.window(date(2019, 3, 25), date(2019, 3, 31))
    assert edge["observed"] == inside["observed"]
    assert edge["expected"] == pytest.approx(inside["expected"])
    # what the gap did before: its days fitted as zeros. The smaller AOR's July
    # baseline fell to well under half its rate, and the scan "found" operations on
    # both sides of the gap
    phi_week = (date(2019, 7, 1), date(2019, 7, 7))
    zeros = fit_baselines(daily, coverage=(FIRST[0], SECOND[1]))
    assert (
        zeros["PHI"].window(*phi_week)["expected"] < 0.6 * fits["PHI"].window(*phi_week)["expected"]
    )
    false = detect_surges(daily, coverage=(FIRST[0], SECOND[1]), min_excess=0)
    assert any(s.end == FIRST[1] or s.start == SECOND[0] for s in false)
    assert detect_surges(daily, coverage=cov.by_area, min_excess=0) == []


def test_no_surge_comes_out_of_the_gap(gap_db: Path) -> None:
    res = icetally.surges("arrests", db=gap_db, min_excess=0)
    for s in res.surges:
        for part in s.aors:
            assert part.end < GAP[0] or part.start > GAP[1], part
    assert res.to_dict()["coverage"]["gaps"] == [{"from": "2019-04-01", "to": "2019-06-30"}]
    # without the gap's days fitted as zeros, the series has no surge at all
    assert res.surges == []


def test_claims_and_the_report_call_the_gap_uncovered(gap_db: Path) -> None:
    report = icetally.check(
        [
            {
                "id": "in-gap",
                "measure": "count",
                "value": 10,
                "from": "2019-05-01",
                "to": "2019-05-03",
            },
            {
                "id": "after",
                "measure": "count",
                "value": 120,
                "from": "2019-07-08",
                "to": "2019-07-12",
            },
        ],
        db=gap_db,
    )
    gap, after = report.results
    assert gap["verdict"] == "unverifiable" and "coverage" in gap["explanation"]
    assert gap["observed"] is None  # not "0 arrests"
    assert after["verdict"] != "unverifiable" and after["observed"] > 0
    html = unescape(icetally.render_report(gap_db, date_from="2019-05-01", date_to="2019-05-07"))
    assert "outside the releases' coverage" in html
    assert "2019-01-01 to 2019-03-31, 2019-07-01 to 2019-12-31" in html
