"""Campaign detection (#14): the detector on series the tests generate (a planted
campaign, a level shift, noise, a coverage gap), and `icetally campaigns` / the API on a
small store of records with a planted campaign in one state."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import icetally
from icetally.analysis.campaigns import detect_campaigns
from icetally.cli import app
from icetally.store.handle import Store

FIRST = date(2017, 1, 2)
DAYS = 728  # two years
WEEKDAY = np.array([1.0, 1.1, 1.1, 1.0, 0.9, 0.25, 0.15])


def _series(
    seed: int,
    level: float = 20.0,
    campaign: tuple[int, int, float] | None = None,
    shift: tuple[int, float] | None = None,
) -> tuple[pd.DataFrame, float]:
    """One area's daily counts: NB noise (phi 0.03) around level x weekday profile;
    ``campaign`` = (first day index, days, size) multiplies the mean by 1 + size;
    ``shift`` = (day index, factor) from then on. Returns the frame and the true excess
    (expected extra records) of the campaign."""
    rng = np.random.default_rng(seed)
    dates = [FIRST + timedelta(days=i) for i in range(DAYS)]
    mu = level * WEEKDAY[[d.weekday() for d in dates]]
    extra = 0.0
    if campaign is not None:
        s, n, size = campaign
        extra = float(mu[s : s + n].sum() * size)
        mu[s : s + n] *= 1 + size
    if shift is not None:
        mu[shift[0] :] *= shift[1]
    y = rng.poisson(mu * rng.gamma(1 / 0.03, 0.03, DAYS))
    return pd.DataFrame({"date": dates, "area": "XX", "n": y}), extra


def test_planted_campaign_found_with_its_window_and_excess() -> None:
    start, days = 200, 49  # 2017-07-21, seven weeks at +150%
    df, true_excess = _series(1, campaign=(start, days, 1.5))
    scan = detect_campaigns(df, coverage=(FIRST, FIRST + timedelta(days=DAYS - 1)))
    assert len(scan.campaigns) == 1, scan.campaigns
    c = scan.campaigns[0]
    assert abs((c.start - (FIRST + timedelta(days=start))).days) <= 3
    assert abs((c.end - (FIRST + timedelta(days=start + days - 1))).days) <= 7
    assert not c.ongoing
    assert c.excess_low <= true_excess * 1.1 and true_excess * 0.9 <= c.excess_high
    assert 2.0 < c.ratio < 3.0  # planted: 2.5 times the normal level
    d = c.to_dict()
    assert set(d) == {
        *("id", "area", "start", "end", "ongoing", "weeks", "peak_week", "observed"),
        *("expected", "excess", "excess_low", "excess_high", "ratio"),
    }
    assert d["weeks"] == pytest.approx(days / 7, abs=1.5)
    # day by day: observed and expected sum to the campaign's figures
    assert sum(o for _, o, _ in c.daily if o is not None) == c.observed
    assert sum(e for _, _, e in c.daily) == pytest.approx(c.expected, rel=1e-3)


def test_a_rise_that_stays_is_a_level_change_not_a_campaign() -> None:
    df, _ = _series(2, shift=(300, 2.5))
    scan = detect_campaigns(df, coverage=(FIRST, FIRST + timedelta(days=DAYS - 1)))
    assert scan.campaigns == []
    [lc] = scan.level_changes
    assert abs((lc.date - (FIRST + timedelta(days=300))).days) <= 7
    assert lc.after / lc.before == pytest.approx(2.5, rel=0.2)


def test_a_rise_still_high_at_the_end_is_ongoing() -> None:
    df, _ = _series(3, campaign=(DAYS - 35, 35, 2.0))
    scan = detect_campaigns(df, coverage=(FIRST, FIRST + timedelta(days=DAYS - 1)))
    [c] = scan.campaigns
    assert c.ongoing
    assert c.end == FIRST + timedelta(days=DAYS - 1)
    assert abs((c.start - (FIRST + timedelta(days=DAYS - 35))).days) <= 3


def test_noise_alone_gives_no_campaign() -> None:
    frames = [
        _series(10 + i, level=float(lv))[0].assign(area=f"A{i}")
        for i, lv in enumerate([3, 10, 40, 120])
    ]
    scan = detect_campaigns(pd.concat(frames), coverage=(FIRST, FIRST + timedelta(days=DAYS - 1)))
    assert scan.campaigns == []
    assert scan.areas == 4


def test_a_coverage_gap_is_not_zeros() -> None:
    """Eight weeks with no records: as a gap in coverage nothing is found; treated as
    covered (zeros) the same days would be a fall and a rise back."""
    df, _ = _series(4)
    lo, hi = FIRST + timedelta(days=300), FIRST + timedelta(days=355)
    df = df[(df["date"] < lo) | (df["date"] > hi)]
    end = FIRST + timedelta(days=DAYS - 1)
    spans = [(FIRST, lo - timedelta(days=1)), (hi + timedelta(days=1), end)]
    gap_aware = detect_campaigns(df, coverage=spans)
    assert gap_aware.campaigns == [] and gap_aware.level_changes == []
    as_zeros = detect_campaigns(df, coverage=(FIRST, end))
    assert as_zeros.level_changes or as_zeros.campaigns


def test_two_campaigns_in_one_area() -> None:
    df, _ = _series(5, campaign=(150, 35, 2.0))
    rng = np.random.default_rng(6)
    second = (df.index >= 300) & (df.index < 342)
    df.loc[second, "n"] += rng.poisson(df.loc[second, "n"].to_numpy() * 1.5)
    scan = detect_campaigns(df, coverage=(FIRST, FIRST + timedelta(days=DAYS - 1)))
    starts = [(c.start - FIRST).days for c in scan.campaigns]
    assert len(starts) == 2, scan.campaigns
    assert abs(starts[0] - 150) <= 3 and abs(starts[1] - 300) <= 3


# --------------------------------------------------------------------------- store

STATES = {"IL": 12.0, "TX": 40.0}
STORE_FIRST, STORE_LAST = date(2025, 1, 6), date(2025, 12, 28)
CAMPAIGN = (date(2025, 9, 8), date(2025, 11, 14))  # Illinois, x4


def _write_records(path: Path, seed: int = 11) -> dict[str, int]:
    """One row per arrest (date, aor, state, method); Illinois four times its level
    during CAMPAIGN. Returns records written per state inside CAMPAIGN."""
    rng = np.random.default_rng(seed)
    inside = dict.fromkeys(STATES, 0)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["date", "aor", "state", "method"])
        d = STORE_FIRST
        while d <= STORE_LAST:
            for st, rate in STATES.items():
                mean = rate * WEEKDAY[d.weekday()]
                if st == "IL" and CAMPAIGN[0] <= d <= CAMPAIGN[1]:
                    mean *= 4
                k = int(rng.poisson(mean))
                if CAMPAIGN[0] <= d <= CAMPAIGN[1]:
                    inside[st] += k
                for _ in range(k):
                    w.writerow([d.isoformat(), "CHI" if st == "IL" else "HOU", st, "Located"])
            d += timedelta(days=1)
    return inside


@pytest.fixture(scope="module")
def campaign_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("campaigns")
    src = out / "arrests-2025.csv"
    inside = _write_records(src)
    db = out / "campaigns.duckdb"
    mapping = {"date": "event_date", "aor": "aor", "state": "state", "method": "method"}
    res = icetally.ingest([src], db=db, dataset="arrests", mapping=mapping)
    assert [r.status for r in res] == ["loaded"], res
    return db, inside


def test_cli_json_contract_by_state(campaign_db: tuple[Path, dict[str, int]]) -> None:
    db, inside = campaign_db
    res = CliRunner().invoke(app, ["campaigns", "--area", "state", "--json", "--db", str(db)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert set(out) >= {"campaigns", "level_changes", "query"}
    [c] = out["campaigns"]
    assert c["area"] == "IL"
    assert abs((date.fromisoformat(c["start"]) - CAMPAIGN[0]).days) <= 3
    assert abs((date.fromisoformat(c["end"]) - CAMPAIGN[1]).days) <= 7
    assert c["ongoing"] is False
    assert c["excess_low"] <= c["excess"] <= c["excess_high"]
    assert c["ratio"] == pytest.approx(4.0, rel=0.25)
    if c["start"] == CAMPAIGN[0].isoformat() and c["end"] == CAMPAIGN[1].isoformat():
        assert c["observed"] == inside["IL"]
    assert out["query"]["area"] == "state"
    assert "state_abbr" in out["query"]["series_sql"]
    assert out["level_changes"] == []


def test_api_takes_a_store_and_filters(campaign_db: tuple[Path, dict[str, int]]) -> None:
    db, _ = campaign_db
    with Store.open(db) as store:
        r = icetally.campaigns("arrests", store, area="state", state="TX")
        assert r.campaigns == []
        by_aor = icetally.campaigns("arrests", store)  # default: per AOR
        assert [c.area for c in by_aor.campaigns] == ["CHI"]
        none = icetally.campaigns("arrests", store, area="state", date_to="2025-08-01")
        assert none.campaigns == []


def test_cli_refuses_an_unknown_area(campaign_db: tuple[Path, dict[str, int]]) -> None:
    db, _ = campaign_db
    res = CliRunner().invoke(app, ["campaigns", "--area", "city", "--db", str(db)])
    assert res.exit_code == 2
    assert "--area" in res.output and "city" in res.output


# --------------------------------------------------------------------------- real data

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
FIVE_STATES = SHARED / "daily-counts" / "ice-daily-arrests-5-states-2025-2026.csv"


@pytest.fixture(scope="module")
def five_states(tmp_path_factory: pytest.TempPathFactory) -> dict:
    if not FIVE_STATES.is_file():
        pytest.skip(f"real data not found at {FIVE_STATES}")
    db = tmp_path_factory.mktemp("five") / "five.duckdb"
    res = icetally.ingest([FIVE_STATES], db=db)  # a count table: no flags
    assert res[0].status == "loaded", res[0].error
    out = CliRunner().invoke(app, ["campaigns", "--area", "state", "--json", "--db", str(db)])
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


def test_five_states_illinois_from_september_8(five_states: dict) -> None:
    il = [c for c in five_states["campaigns"] if c["area"] == "IL"]
    assert len(il) == 1, il
    assert abs((date.fromisoformat(il[0]["start"]) - date(2025, 9, 8)).days) <= 4
    assert il[0]["excess_low"] > 1000  # thousands of arrests above normal, by any reckoning


def test_five_states_minnesota_from_early_december(five_states: dict) -> None:
    mn = [c for c in five_states["campaigns"] if c["area"] == "MN"]
    assert len(mn) == 1, mn
    assert date(2025, 12, 1) <= date.fromisoformat(mn[0]["start"]) <= date(2025, 12, 15)
    assert date.fromisoformat(mn[0]["end"]) < date(2026, 3, 1)  # it came back down
    assert not mn[0]["ongoing"]


def test_five_states_gap_is_not_zeros(five_states: dict) -> None:
    """The last row (2026-09-17) lies six months after the others: those months are a
    gap, so nothing is a fall to zero nor an ongoing campaign into the gap."""
    assert five_states["coverage"]["gaps"], five_states["coverage"]
    assert all(c["end"] <= "2026-03-10" for c in five_states["campaigns"])
    assert all(lc["after"] > 0 for lc in five_states["level_changes"])


@pytest.mark.slow
def test_national_arrests_by_aor(national_db: Path) -> None:
    """FY2016-19 (records, per AOR): the early-2017 rise is a level change in many
    AORs, not a campaign."""
    r = icetally.campaigns("arrests", national_db)
    early_2017 = {
        lc.area
        for lc in r.level_changes
        if date(2016, 12, 15) <= lc.date <= date(2017, 3, 15) and lc.after > lc.before
    }
    assert len(early_2017) >= 8, r.level_changes
    assert not [c for c in r.campaigns if c.start <= date(2017, 2, 1) <= c.end and c.weeks > 20]
    assert r.query["area"] == "aor" and "SELECT" in r.query["series_sql"]


def test_web_endpoint_mirrors_the_cli(campaign_db: tuple[Path, dict[str, int]]) -> None:
    from fastapi.testclient import TestClient

    from icetally.web import create_app

    db, _ = campaign_db
    cli = CliRunner().invoke(app, ["campaigns", "--area", "state", "--json", "--db", str(db)])
    assert cli.exit_code == 0, cli.output
    with TestClient(create_app(db)) as client:
        r = client.get("/api/campaigns", params={"area": "state"})
        assert r.status_code == 200, r.text
        assert r.json() == json.loads(cli.stdout)
        again = client.get("/api/campaigns", params={"area": "state"})  # cached
        assert again.json() == r.json()
        bad = client.get("/api/campaigns", params={"areas": "state"})
        assert bad.status_code == 400 and "areas" in bad.text
        tx = client.get("/api/campaigns", params={"area": "state", "state": "TX"}).json()
        assert tx["campaigns"] == [] and tx["query"]["filters"]["state"] == ["TX"]


def test_report_of_a_campaign(campaign_db: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    import html
    import re

    db, _ = campaign_db
    [c] = icetally.campaigns("arrests", db, area="state").campaigns
    out = tmp_path / "campaign.html"
    res = CliRunner().invoke(app, ["report", "--campaign", c.id, "--db", str(db), "-o", str(out)])
    assert res.exit_code == 0, res.output
    page = html.unescape(out.read_text())
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert f"Illinois (IL): {c.observed:,} arrests" in text
    assert f"{round(c.excess):,} more than the {round(c.expected):,} expected" in text
    assert f"{c.start:%d %B %Y} to {c.end:%d %B %Y}" in text
    # day by day: one row per day of the campaign
    assert text.count(" 2025 ") >= (c.end - c.start).days + 1
    assert f"{c.start:%a %d %b %Y}" in text and f"{c.end:%a %d %b %Y}" in text
    # every figure with its query: the recount, the campaign's days, the model's series
    assert page.count("<details") >= 3 and "state_abbr" in page
    assert f"{c.observed:,} records" in text  # icetally count of the window agrees
    missing = CliRunner().invoke(
        app, ["report", "--campaign", "IL-20990101", "--db", str(db), "-o", str(out)]
    )
    assert missing.exit_code == 2 and "no campaign 'IL-20990101'" in missing.output


def test_operation_claim_over_a_campaign_window(
    campaign_db: tuple[Path, dict[str, int]],
) -> None:
    """October 2025, inside the Illinois campaign: the weekly baseline's reference weeks
    (September, November) are campaign weeks too, so the whole month would look normal;
    judged against the level outside the campaign, 300 arrests "in the operation" is
    well below the excess."""
    db, _ = campaign_db
    lo, hi = date(2025, 10, 1), date(2025, 10, 31)
    claim = {
        "id": "il-october",
        "text": "about 300 arrests in Illinois in October in the operation",
        "dataset": "arrests",
        "from": lo.isoformat(),
        "to": hi.isoformat(),
        "state": ["IL"],
        "measure": "operation",
        "value": 300,
    }
    report = icetally.check({"claims": [claim]}, db)
    [r] = report.results
    # the planted normal level of those days: 12 a day times the weekday profile
    normal = sum(
        STATES["IL"] * WEEKDAY[(lo + timedelta(days=i)).weekday()]
        for i in range((hi - lo).days + 1)
    )
    assert r["expected"] == pytest.approx(normal, rel=0.2)
    assert r["verdict"] == "below_excess", r["explanation"]
    assert "outside campaigns (IL-2025" in r["baseline"]["method"]
    assert "state_abbr" in r["baseline_query"]["series_sql"]
    # the same claim over a short window keeps the weekly baseline
    short = {**claim, "id": "il-week", "from": "2025-10-06", "to": "2025-10-10", "value": 30}
    [s] = icetally.check({"claims": [short]}, db).results
    assert "outside campaigns" not in s["baseline"]["method"]


def test_dashboard_shades_and_lists_campaigns(campaign_db: tuple[Path, dict[str, int]]) -> None:
    from fastapi.testclient import TestClient

    from icetally.web import create_app

    db, _ = campaign_db
    [c] = icetally.campaigns("arrests", db).campaigns  # per AOR: CHI
    with TestClient(create_app(db)) as client:
        r = client.get("/")
        assert r.status_code == 200, r.text
    page = r.text
    assert 'id="campaigns"' in page and f"<code>{c.id}</code>" in page
    assert f"{c.start} → {c.end}" in page
    # the campaign's window is shaded in the charts (its label travels with the shape)
    assert page.count(f"campaign {c.id}: {c.start} to {c.end}") >= 2
