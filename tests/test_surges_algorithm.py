"""Surge detection algorithm (icetally.analysis.surges): synthetic series with known
surges, and the public operations in the real national arrests FY2016-2019."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from icetally.analysis.surges import (
    AorSurge,
    Surge,
    detect_surges,
    fit_baselines,
    holiday_season_days,
    us_federal_holidays,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
NATIONAL = SHARED / "ice-national-fy2016-2019"

START = date(2016, 10, 1)
N_DAYS = 730


def _days(start: date = START, n: int = N_DAYS) -> list[date]:
    return [start + timedelta(days=i) for i in range(n)]


def _mean_series(
    days: list[date], level: float, weekend: float = 0.15, holiday: float = 0.3
) -> np.ndarray:
    """Expected daily count: weekday level, quiet weekends, federal-holiday and
    end-of-year dips, a gentle upward drift."""
    hol = set(us_federal_holidays(days[0].year, days[-1].year))
    season = set(holiday_season_days(days[0].year, days[-1].year))
    mu = np.empty(len(days))
    for i, d in enumerate(days):
        m = level * (1 + 0.15 * i / len(days))
        if d.weekday() >= 5:
            m *= weekend
        if d in hol:
            m *= holiday
        elif d in season:
            m *= 0.6
        mu[i] = m
    return mu


def _draw(rng: np.random.Generator, mu: np.ndarray, phi: float = 0.03) -> np.ndarray:
    return rng.poisson(mu * rng.gamma(1 / phi, phi, len(mu)))


def _frame(counts: dict[str, np.ndarray], days: list[date]) -> pd.DataFrame:
    rows = [
        {"date": d, "aor": a, "n": int(c)}
        for a, arr in counts.items()
        for d, c in zip(days, arr, strict=True)
        if c > 0  # days without rows count as zero
    ]
    return pd.DataFrame(rows)


def _all_aor_surges(surges: list[Surge]) -> list[AorSurge]:
    return [a for s in surges for a in s.aors]


def _overlaps(a: AorSurge, start: date, end: date) -> bool:
    return a.start <= end and a.end >= start


# --------------------------------------------------------------------------- synthetic


def test_planted_surge_found_with_window_and_excess() -> None:
    rng = np.random.default_rng(1)
    days = _days()
    mu = _mean_series(days, 30.0)
    y = _draw(rng, mu)
    # +150% of the weekday level, Tuesday 2017-05-09 to Friday 2017-05-12.
    s0 = days.index(date(2017, 5, 9))
    extra = rng.poisson(1.5 * 30.0, 4)
    y[s0 : s0 + 4] += extra
    surges = detect_surges(_frame({"ATL": y}, days), coverage=(days[0], days[-1]))

    hits = [a for a in _all_aor_surges(surges) if _overlaps(a, date(2017, 5, 9), date(2017, 5, 12))]
    assert len(hits) == 1, surges
    hit = hits[0]
    assert abs((hit.start - date(2017, 5, 9)).days) <= 1
    assert abs((hit.end - date(2017, 5, 12)).days) <= 1
    assert hit.excess == pytest.approx(extra.sum(), rel=0.25)
    assert hit.excess_low <= extra.sum() <= hit.excess_high
    assert hit.observed == int(y[(hit.start - days[0]).days : (hit.end - days[0]).days + 1].sum())
    assert hit.p_value <= 0.01 and hit.score > 0
    # Nothing else in two years of noise.
    assert len(_all_aor_surges(surges)) <= 1


def test_pure_noise_gives_almost_no_surges() -> None:
    """Default threshold: p <= 0.01 per AOR-year. 5 seeds x 3 AORs x 2 years = 30
    AOR-years, so about 0.3 chance surges are expected; allow 2."""
    days = _days()
    false = 0
    for seed in range(5):
        rng = np.random.default_rng(100 + seed)
        counts = {
            a: _draw(rng, _mean_series(days, lvl), phi)
            for a, lvl, phi in [("ATL", 45.0, 0.03), ("BOS", 9.0, 0.08), ("LOS", 25.0, 0.05)]
        }
        surges = detect_surges(_frame(counts, days), coverage=(days[0], days[-1]))
        false += len(_all_aor_surges(surges))
    assert false <= 2


def test_holiday_dips_do_not_create_surges_after_them() -> None:
    """Deep holiday dips (10% of a normal day) and a slow end-of-year week: a baseline
    that did not model them would sag around them and flag the following days."""
    days = _days()
    found = []
    for seed in range(3):
        rng = np.random.default_rng(200 + seed)
        y = _draw(rng, _mean_series(days, 50.0, holiday=0.1), 0.02)
        found += _all_aor_surges(
            detect_surges(_frame({"CHI": y}, days), coverage=(days[0], days[-1]))
        )
    after = [
        a for a in found for h in us_federal_holidays(2016, 2018) if 0 < (a.start - h).days <= 7
    ]
    assert not after, after
    assert len(found) <= 1


def test_surge_right_after_holidays_measured_against_normal_days() -> None:
    """A surge on the first working days after New Year (Tue 2017-01-03 to Fri 01-06,
    right after the end-of-year lull and the observed holiday on Mon 01-02) is found,
    and its expected count is that of normal days, not of the holiday lull."""
    rng = np.random.default_rng(7)
    days = _days()
    mu = _mean_series(days, 40.0, holiday=0.1)
    y = _draw(rng, mu, 0.02)
    i = days.index(date(2017, 1, 3))
    extra = rng.poisson(1.0 * 40.0, 4)
    y[i : i + 4] += extra
    found = _all_aor_surges(detect_surges(_frame({"NYC": y}, days), coverage=(days[0], days[-1])))
    hits = [a for a in found if _overlaps(a, date(2017, 1, 3), date(2017, 1, 6))]
    assert len(hits) == 1
    assert hits[0].start >= date(2017, 1, 3)  # the holiday is not part of it
    assert hits[0].expected == pytest.approx(mu[i : i + 4].sum(), rel=0.15)
    assert hits[0].excess == pytest.approx(extra.sum(), rel=0.3)


def test_baseline_models_holidays_and_weekdays() -> None:
    rng = np.random.default_rng(3)
    days = _days()
    mu = _mean_series(days, 40.0, holiday=0.2)
    bl = fit_baselines(_frame({"DAL": _draw(rng, mu)}, days), coverage=(days[0], days[-1]))["DAL"]
    fit = bl.fit_mask
    # The fitted mean follows the weekday cycle and the holiday dips within ~15%.
    rel = np.abs(bl.expected[fit] - mu[fit]) / mu[fit]
    assert np.median(rel) < 0.06
    i = days.index(date(2017, 7, 4))
    assert bl.expected[i] < 0.5 * bl.expected[i + 7]
    w = bl.window(date(2017, 3, 6), date(2017, 3, 10))
    assert w["expected"] == pytest.approx(mu[days.index(date(2017, 3, 6)) :][:5].sum(), rel=0.1)


def test_coverage_and_incomplete_tail_are_respected() -> None:
    rng = np.random.default_rng(4)
    days = _days()
    cov_end = days[-1]
    y = _draw(rng, _mean_series(days, 30.0))
    # A strong surge 6-9 days before coverage end: inside the default 14-day tail.
    t0 = len(days) - 10
    y[t0 : t0 + 4] += 120
    df = _frame({"PHI": y}, days)
    tail_hits = lambda ss: [  # noqa: E731
        a for a in _all_aor_surges(ss) if a.end >= days[t0] and a.start <= days[t0 + 3]
    ]
    assert not tail_hits(detect_surges(df, coverage=(days[0], cov_end)))
    # It is detectable: with no tail it is found.
    assert tail_hits(detect_surges(df, coverage=(days[0], cov_end), incomplete_tail_days=0))
    # No window reaches into the tail or beyond coverage, whatever the data hold.
    for a in _all_aor_surges(detect_surges(df, coverage=(days[0], cov_end))):
        assert a.end <= cov_end - timedelta(days=14)

    # Rows outside coverage are ignored: a surge after the coverage end is not reported.
    later = _days(cov_end + timedelta(days=1), 30)
    extra = pd.DataFrame({"date": later[5:9], "aor": "PHI", "n": [400] * 4})
    surges = detect_surges(pd.concat([df, extra]), coverage=(days[0], cov_end))
    assert all(a.end <= cov_end for a in _all_aor_surges(surges))

    # Per-AOR coverage: a surge before an AOR's coverage starts is not reported.
    y2 = _draw(rng, _mean_series(days, 30.0))
    y2[100:104] += 150
    both = _frame({"PHI": y, "NYC": y2}, days)
    cov = {"PHI": (days[0], cov_end), "NYC": (days[200], cov_end)}
    nyc = [a for a in _all_aor_surges(detect_surges(both, coverage=cov)) if a.aor == "NYC"]
    assert all(a.start >= days[200] for a in nyc)
    nyc_all = [
        a
        for a in _all_aor_surges(detect_surges(both, coverage=(days[0], cov_end)))
        if a.aor == "NYC"
    ]
    assert any(_overlaps(a, days[100], days[103]) for a in nyc_all)


def test_multi_aor_operation_grouped_with_own_windows() -> None:
    rng = np.random.default_rng(5)
    days = _days()
    counts = {}
    planted = {
        "ATL": (date(2017, 2, 6), 4),
        "CHI": (date(2017, 2, 7), 4),
        "LOS": (date(2017, 2, 6), 5),
    }
    for a, lvl in [("ATL", 40.0), ("CHI", 30.0), ("LOS", 25.0), ("SEA", 20.0)]:
        y = _draw(rng, _mean_series(days, lvl))
        if a in planted:
            s, n = planted[a]
            i = days.index(s)
            y[i : i + n] += rng.poisson(2.0 * lvl, n)
        counts[a] = y
    df = _frame(counts, days)
    surges = detect_surges(df, coverage=(days[0], days[-1]))
    ops = [s for s in surges if s.start <= date(2017, 2, 11) and s.end >= date(2017, 2, 6)]
    assert len(ops) == 1, ops
    op = ops[0]
    assert {a.aor for a in op.aors} == {"ATL", "CHI", "LOS"}
    for a in op.aors:
        s, n = planted[a.aor]
        assert abs((a.start - s).days) <= 1 and abs((a.end - (s + timedelta(days=n - 1))).days) <= 1
    assert op.start == min(a.start for a in op.aors) and op.end == max(a.end for a in op.aors)
    assert op.observed == sum(a.observed for a in op.aors)
    assert op.excess == pytest.approx(sum(a.excess for a in op.aors))
    assert op.id == f"{op.start.isoformat()}-ATL+CHI+LOS"

    # JSON contract: these keys, ISO dates; extra keys allowed.
    d = op.to_dict()
    assert {"id", "start", "end", "observed", "expected", "excess", "score", "aors"} <= set(d)
    assert {"excess_low", "excess_high", "p_value"} <= set(d)
    assert d["start"] == op.start.isoformat()
    for ad in d["aors"]:
        assert {"aor", "start", "end", "observed", "expected", "excess"} <= set(ad)
    json.dumps(d)

    # Deterministic: same input, same output; the id does not depend on row order.
    again = detect_surges(df.sample(frac=1.0, random_state=0), coverage=(days[0], days[-1]))
    assert [s.to_dict() for s in again] == [s.to_dict() for s in surges]


def test_filters_dates_aors_min_excess() -> None:
    rng = np.random.default_rng(6)
    days = _days()
    counts = {}
    for a in ("ATL", "BOS"):
        y = _draw(rng, _mean_series(days, 30.0))
        for d0 in (date(2017, 3, 14), date(2018, 3, 13)):
            i = days.index(d0)
            y[i : i + 3] += 60
        counts[a] = y
    df = _frame(counts, days)
    cov = (days[0], days[-1])
    all_ = _all_aor_surges(detect_surges(df, coverage=cov))
    assert {a.aor for a in all_} == {"ATL", "BOS"}
    only_2018 = _all_aor_surges(
        detect_surges(df, coverage=cov, date_from=date(2018, 1, 1), date_to=date(2018, 12, 31))
    )
    assert only_2018 and all(a.start >= date(2018, 1, 1) for a in only_2018)
    assert {a.aor for a in _all_aor_surges(detect_surges(df, coverage=cov, aors=["BOS"]))} == {
        "BOS"
    }
    big = _all_aor_surges(detect_surges(df, coverage=cov, min_excess=10_000))
    assert big == []
    # datetime64 input and a stricter threshold give a subset.
    df64 = df.assign(date=pd.to_datetime(df["date"]))
    strict = _all_aor_surges(detect_surges(df64, coverage=cov, threshold=1e-6))
    assert len(strict) <= len(all_)


# --------------------------------------------------------------------------- real data

# Provisional at-large set, used when the shipped method table is not available.
AT_LARGE = ("Non-Custodial Arrest", "Located")
AOR_CODES = {
    "Atlanta": "ATL", "Baltimore": "BAL", "Boston": "BOS", "Buffalo": "BUF",
    "Chicago": "CHI", "Dallas": "DAL", "Denver": "DEN", "Detroit": "DET",
    "El Paso": "ELP", "Houston": "HOU", "Los Angeles": "LOS", "Miami": "MIA",
    "Newark": "NEW", "New Orleans": "NOL", "New York City": "NYC",
    "Philadelphia": "PHI", "Phoenix": "PHO", "Seattle": "SEA", "San Francisco": "SFR",
    "Salt Lake City": "SLC", "San Antonio": "SNA", "San Diego": "SND", "St. Paul": "SPM",
    "Washington": "WAS", "HQ": "HQ",
}  # fmt: skip


def _real_at_large_daily() -> pd.DataFrame:
    import duckdb

    files = sorted(str(p) for p in NATIONAL.glob("EROArrests_FY20*.csv.gz"))
    assert len(files) == 4
    con = duckdb.connect()
    raw = con.execute(
        f"""
        SELECT "Area of Responsibility" AS aor_raw,
               strptime("Apprehension Date", '%m/%d/%Y')::DATE AS date,
               "Apprehension Method" AS method, count(*) AS n
        FROM read_csv({files!r}, delim='|', skip=5, header=true, all_varchar=true)
        WHERE "Apprehension Date" IS NOT NULL
        GROUP BY ALL
        """
    ).df()
    try:
        from icetally.reference import method_class

        at_large = {m for m in raw["method"].dropna().unique() if method_class(m) == "at_large"}
    except ImportError:
        at_large = set(AT_LARGE)
    try:
        from icetally.reference import aor_code
    except ImportError:

        def aor_code(text: str | None) -> str | None:
            if not text:
                return None
            return AOR_CODES.get(text.replace(" Area of Responsibility", "").strip())

    raw = raw[raw["method"].isin(at_large)]
    raw["aor"] = [aor_code(t) for t in raw["aor_raw"]]
    raw = raw[raw["aor"].notna() & (raw["aor"] != "HQ")]
    return raw.groupby(["date", "aor"], as_index=False)["n"].sum()


@pytest.mark.slow
def test_real_public_operations_found() -> None:
    if not NATIONAL.is_dir():
        pytest.skip(f"real data not found at {SHARED}")
    daily = _real_at_large_daily()
    assert daily["n"].sum() > 120_000  # Non-Custodial Arrest + Located: 128,675 rows
    surges = detect_surges(daily, coverage=(date(2015, 10, 1), date(2019, 9, 1)))
    found = _all_aor_surges(surges)
    public = [
        ("ATL", date(2017, 2, 6), date(2017, 2, 10)),
        ("CHI", date(2017, 2, 6), date(2017, 2, 10)),
        ("SFR", date(2018, 2, 25), date(2018, 2, 28)),
        ("LOS", date(2018, 2, 11), date(2018, 2, 15)),
    ]
    for aor, start, end in public:
        hits = [a for a in found if a.aor == aor and _overlaps(a, start, end)]
        assert hits, f"{aor} {start}..{end} not found"
        a = hits[0]
        assert a.p_value <= 0.01
        assert a.excess > 80  # each is a few hundred arrests in ICE's statements
        assert a.excess_low > 0
    # Atlanta and Chicago, February 2017, form one national operation.
    feb17 = [s for s in surges if {"ATL", "CHI"} <= {a.aor for a in s.aors}]
    assert any(s.start <= date(2017, 2, 10) and s.end >= date(2017, 2, 6) for s in feb17)
    # Nothing in the incomplete tail (last 14 days before 2019-09-01).
    assert all(a.end <= date(2019, 8, 18) for a in found)
