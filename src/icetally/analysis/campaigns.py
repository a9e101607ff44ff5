"""Campaign detection: sustained rises (about 2 to 26 weeks) in an area's daily counts
that come back down, told apart from rises that stay (level changes).

Pure numpy over daily series per area (AOR, state or county); no database access. The
method is documented in ``docs/methods.md`` ("Campaign detection"). In short:

1. **Day effects.** Each area's counts are modelled as a weekly level times a
   day-of-week factor, times a federal-holiday and a holiday-season factor (Dec 24-31,
   the day after Thanksgiving). The factors are fitted by alternating ratio estimates
   (the Poisson maximum likelihood of a weeks x weekdays table), shrunk towards the
   factors pooled over all areas so a small county borrows strength.
2. **Weekly series.** Each Monday-Sunday week gives observed ``O`` and an exposure
   ``E`` (the sum of the day factors over its *covered* days: a gap is not zeros, a
   half-covered week has half the exposure); ``log((O + 0.5) / E)`` is the week's
   level, with variance ``1/mu + psi`` (count noise plus the area's extra week-to-week
   variance, estimated robustly from first differences).
3. **Segmentation.** The weekly levels are cut into constant-mean segments by optimal
   partitioning (the exact penalised-likelihood solution PELT finds; Jackson et al.
   2005, Killick et al. 2012), all areas at once, with a BIC-type penalty.
4. **Classification.** A run of consecutive segments, each clearly above the segments
   either side, lasting ``min_weeks``..``max_weeks``, at least ``min_ratio`` times the
   level around it and significant, that comes back at least halfway, is a
   *campaign*; one still high at the end of coverage is *ongoing*. Other remaining
   steps between long segments are *level changes*.
5. **Boundaries and figures.** The start and end days are refined on the daily counts
   by a CUSUM (Page 1954) against the baseline; the expected count is the area's own
   level outside the campaign (the segments just before and after, up to 13 weeks each,
   interpolated) times the day factors; the excess has a 95% prediction interval.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from icetally.analysis.surges import holiday_season_days, us_federal_holidays
from icetally.analysis.windows import excess_intervals

__all__ = [
    "Campaign",
    "CampaignScan",
    "LevelChange",
    "detect_campaigns",
    "window_outside_campaigns",
    "DEFAULT_MIN_RATIO",
    "DEFAULT_MIN_WEEKS",
    "DEFAULT_MAX_WEEKS",
]

DEFAULT_MIN_WEEKS = 2
DEFAULT_MAX_WEEKS = 26
# A campaign stands at least this many times above the level around it: below that,
# slow seasonal waves (+-20% in the real national series) would pass for campaigns.
DEFAULT_MIN_RATIO = 1.4
# Each segment of a campaign stands this much above the segments either side.
_MIN_STEP = math.log(1.15)
# Significance of a campaign's rise against its baseline (z on the log scale).
_MIN_Z = 4.0
# A campaign adds at least this many records (as for surges: a few arrests over a tiny
# weekend baseline are not an operation).
DEFAULT_MIN_EXCESS = 10.0
# Penalty per change point, times log(number of weeks): tuned on the noise-only eval
# series for at most one false campaign per 50 area-years (benchmarks/campaign_eval.py).
DEFAULT_PENALTY = 3.0
# Level changes smaller than this (ratio) are not reported.
_MIN_LEVEL_CHANGE = math.log(1.25)
# Segments shorter than this are transient for level changes (a dip, a one-week spike).
_MIN_REGIME_WEEKS = 4
# Shrinkage of an area's day factors towards the pooled ones: pseudo-count of records.
_SHRINK = 30.0
# Neighbouring segments a run is compared with span at least this many weeks.
_NEIGHBOUR_WEEKS = 3
# Days shown around a campaign (report, dashboard)
_CONTEXT_BEFORE, _CONTEXT_AFTER = 56, 28
# How far the baseline reaches on each side of a campaign.
_BASELINE_DAYS = 91
# CUSUM reference value as a share of the campaign's rise: below half (Page's optimum
# for a step) so a ramp is dated from its beginning rather than its middle.
_CUSUM_K = 0.12

_EPOCH_ORD = date(1970, 1, 1).toordinal()


def _day(d: date) -> int:
    return d.toordinal() - _EPOCH_ORD


def _date(i: int | np.integer) -> date:
    return date.fromordinal(int(i) + _EPOCH_ORD)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Campaign:
    """One area's campaign and its figures over [start, end] (covered days only)."""

    id: str
    area: str
    start: date
    end: date
    ongoing: bool
    observed: int
    expected: float
    excess: float
    excess_low: float
    excess_high: float
    peak_week: date
    z: float = 0.0
    variance: float = 0.0  # of the counterfactual count
    # the days around the campaign (8 weeks before, 4 after): (first day number,
    # counts, expected, covered); expected = the area's normal level (before, inside
    # and after the campaign) times the day factors. Read through ``daily``/``context``.
    series: Any = field(default=None, repr=False, compare=False)
    # the out-of-campaign days the baseline comes from
    baseline_spans: tuple[tuple[date, date], ...] = ()

    def _days(self, lo: date | None, hi: date | None) -> tuple[tuple[date, int | None, float], ...]:
        if self.series is None:
            return ()
        first, y, mu, cov = self.series
        out = []
        for k in range(len(y)):
            d = _date(first + k)
            if (lo is None or d >= lo) and (hi is None or d <= hi):
                out.append(
                    (d, int(y[k]) if cov[k] else None, round(float(mu[k]), 3) if cov[k] else 0.0)
                )
        return tuple(out)

    @property
    def daily(self) -> tuple[tuple[date, int | None, float], ...]:
        """(day, observed or None outside coverage, expected) for every day of it."""
        return self._days(self.start, self.end)

    @property
    def context(self) -> tuple[tuple[date, int | None, float], ...]:
        """The same for the weeks around it (8 before, 4 after)."""
        return self._days(None, None)

    @property
    def weeks(self) -> float:
        return round(((self.end - self.start).days + 1) / 7.0, 1)

    @property
    def ratio(self) -> float | None:
        return round(self.observed / self.expected, 3) if self.expected > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "area": self.area,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "ongoing": self.ongoing,
            "weeks": self.weeks,
            "peak_week": self.peak_week.isoformat(),
            "observed": int(self.observed),
            "expected": round(float(self.expected), 1),
            "excess": round(float(self.excess), 1),
            "excess_low": round(float(self.excess_low), 1),
            "excess_high": round(float(self.excess_high), 1),
            "ratio": self.ratio,
        }


@dataclass(frozen=True)
class LevelChange:
    """A rise or fall that stays: mean records per covered day before and after."""

    area: str
    date: date
    before: float
    after: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "area": self.area,
            "date": self.date.isoformat(),
            "before": round(float(self.before), 2),
            "after": round(float(self.after), 2),
        }


@dataclass
class CampaignScan:
    campaigns: list[Campaign]
    level_changes: list[LevelChange]
    areas: int = 0
    area_years: float = 0.0
    # the fitted model (grid, day factors, psi, every campaign per area), for
    # window_outside_campaigns
    fit: Any = field(default=None, repr=False)


# --------------------------------------------------------------------------- input


CoverageArg = (
    None
    | tuple[date, date]
    | Sequence[tuple[date, date]]
    | Mapping[str, Sequence[tuple[date, date]]]
)


def _spans_for(coverage: CoverageArg, area: str, lo: date, hi: date) -> list[tuple[date, date]]:
    if coverage is None:
        return [(lo, hi)]
    if isinstance(coverage, Mapping):
        return list(coverage.get(area, ())) or [(lo, hi)]
    if len(coverage) == 2 and all(isinstance(v, date) for v in coverage):
        return [coverage]  # type: ignore[list-item]
    return list(coverage)  # type: ignore[arg-type]


def _as_days(values: Any) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind == "M":
        return arr.astype("datetime64[D]").astype(np.int64)
    return np.array([_day(v if type(v) is date else date(v.year, v.month, v.day)) for v in arr])


@dataclass
class _Grid:
    """Daily counts of all areas on one Monday-aligned calendar."""

    areas: list[str]
    day0: int  # day number of the grid's first day (a Monday)
    y: np.ndarray  # (A, D) counts, 0 where uncovered
    covered: np.ndarray  # (A, D) bool

    @property
    def n_days(self) -> int:
        return self.y.shape[1]


def _grid(daily: Any, coverage: CoverageArg, areas: Iterable[str] | None) -> _Grid:
    area_col = "area" if "area" in daily else "aor"
    # factorize: one hash pass over millions of rows (county-days), not string sorts
    codes, uniques = pd.factorize(np.asarray(daily[area_col]), sort=True)
    uniques = np.asarray(uniques).astype(str)
    d_raw = _as_days(daily["date"])
    n_raw = np.asarray(daily["n"], dtype=float)
    wanted = sorted(set(areas)) if areas is not None else uniques.tolist()
    lo_all, hi_all = int(d_raw.min()), int(d_raw.max())
    spans = {
        a: [(_day(s), _day(e)) for s, e in _spans_for(coverage, a, _date(lo_all), _date(hi_all))]
        for a in wanted
    }
    first = min([lo_all, *(s for v in spans.values() for s, _ in v)])
    last = max([hi_all, *(e for v in spans.values() for _, e in v)])
    day0 = first - ((first + 3) % 7)  # back to Monday (1970-01-01 was a Thursday)
    n = last - day0 + 1
    n += (-n) % 7
    index = {a: i for i, a in enumerate(wanted)}
    y = np.zeros((len(wanted), n))
    row_of = np.array([index.get(u, -1) for u in uniques], dtype=np.int64)
    rows = row_of[codes]
    keep = rows >= 0
    np.add.at(y, (rows[keep], d_raw[keep] - day0), n_raw[keep])
    cov = np.zeros_like(y, dtype=bool)
    for a, i in index.items():
        for s, e in spans[a]:
            cov[i, max(s - day0, 0) : e - day0 + 1] = True
    y[~cov] = 0.0  # records outside coverage are not in the series
    return _Grid(wanted, day0, y, cov)


def _calendar_flags(day0: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    first, last = _date(day0), _date(day0 + n - 1)
    hol = np.zeros(n, dtype=bool)
    for d in us_federal_holidays(first.year, last.year):
        i = _day(d) - day0
        if 0 <= i < n:
            hol[i] = True
    season = np.zeros(n, dtype=bool)
    for d in holiday_season_days(first.year, last.year):
        i = _day(d) - day0
        if 0 <= i < n:
            season[i] = True
    return hol, season & ~hol


# --------------------------------------------------------------------------- day effects


def _day_factors(g: _Grid) -> np.ndarray:
    """(A, D) multiplicative day factor (weekday x holiday) with weekdays averaging 1;
    a week's level times these factors is the expected daily count."""
    a, n = g.y.shape
    k = n // 7
    hol, season = _calendar_flags(g.day0, n)
    regular = g.covered & ~hol & ~season
    y = (g.y * regular).reshape(a, k, 7)
    r = regular.reshape(a, k, 7).astype(float)
    f = np.ones((a, 7))
    for _ in range(6):
        den_w = (f[:, None, :] * r).sum(axis=2)
        level = np.divide(y.sum(axis=2), den_w, out=np.zeros((a, k)), where=den_w > 0)
        num = y.sum(axis=1)  # (A, 7)
        den = (level[:, :, None] * r).sum(axis=1)
        pooled = num.sum(axis=0) / np.maximum(den.sum(axis=0), 1e-9)
        pooled = pooled / max(pooled.mean(), 1e-9)
        f = (num + _SHRINK * pooled) / (den + _SHRINK)
        f = f / np.maximum(f.mean(axis=1, keepdims=True), 1e-9)
    # a week with no regular day (Christmas week) takes its neighbours' level
    den_w = (f[:, None, :] * r).sum(axis=2)
    level = np.where(den_w > 0, level, np.nan)
    level = pd.DataFrame(level.T).ffill().bfill().fillna(0.0).to_numpy().T
    base = np.repeat(level, 7, axis=1) * np.tile(f, (1, k))  # (A, D) expected, no holidays
    out = np.tile(f, (1, k))
    for flag in (hol, season):
        m = g.covered & flag[None, :]
        num = (g.y * m).sum(axis=1)
        den = (base * m).sum(axis=1)
        pooled = num.sum() / max(den.sum(), 1e-9)
        h = np.clip((num + _SHRINK * pooled) / (den + _SHRINK), 0.02, 3.0)
        out = np.where(flag[None, :], out * h[:, None], out)
    return np.maximum(out, 1e-3)


# --------------------------------------------------------------------------- segmentation


def _optimal_partition(z: np.ndarray, w: np.ndarray, beta: np.ndarray) -> list[list[int]]:
    """Change points of every row of z (weighted Gaussian mean-shift cost, penalty beta
    per segment): the exact optimum, computed for all rows at once. Returns, per row,
    segment start indices (the first is 0)."""
    a, n = z.shape
    # (week, area) layout: the candidate starts of a segment ending at t are the first
    # t rows, one contiguous block; every temporary is a preallocated buffer
    zero = np.zeros((1, a))
    cw = np.vstack([zero, np.cumsum(w.T, axis=0)])
    c1 = np.vstack([zero, np.cumsum((w * z).T, axis=0)])
    c2 = np.vstack([zero, np.cumsum((w * z * z).T, axis=0)])
    best = np.zeros((n + 1, a))
    best[0] = -beta
    last = np.zeros((n + 1, a), dtype=np.int64)
    b_w, b_1, b_2 = np.empty((n, a)), np.empty((n, a)), np.empty((n, a))
    cols = np.arange(a)
    for t in range(1, n + 1):
        sw = np.subtract(cw[t], cw[:t], out=b_w[:t])
        s1 = np.subtract(c1[t], c1[:t], out=b_1[:t])
        s2 = np.subtract(c2[t], c2[:t], out=b_2[:t])
        np.multiply(s1, s1, out=s1)
        np.maximum(sw, 1e-12, out=sw)  # an all-gap segment: s1 = s2 = 0, cost 0
        np.divide(s1, sw, out=s1)
        np.subtract(s2, s1, out=s2)  # the segment's weighted sum of squares
        s2 += best[:t]
        j = np.argmin(s2, axis=0)
        last[t] = j
        best[t] = s2[j, cols] + beta
    out = []
    for i in range(a):
        cps, t = [], n
        while t > 0:
            s = int(last[t, i])
            cps.append(s)
            t = s
        out.append(sorted(cps))
    return out


@dataclass
class _Segment:
    k0: int  # first week
    k1: int  # last week (inclusive)
    obs: float
    exp: float  # exposure (sum of day factors over covered days)
    w: float  # sum of the weeks' inverse variances

    @property
    def level(self) -> float:
        return math.log((self.obs + 0.5) / self.exp) if self.exp > 0 else float("nan")

    @property
    def se(self) -> float:
        return 1.0 / math.sqrt(self.w) if self.w > 0 else float("inf")

    @property
    def weeks(self) -> int:
        return self.k1 - self.k0 + 1


def _pooled(segs: Sequence[_Segment]) -> _Segment:
    return _Segment(
        segs[0].k0,
        segs[-1].k1,
        sum(s.obs for s in segs),
        sum(s.exp for s in segs),
        sum(s.w for s in segs),
    )


# --------------------------------------------------------------------------- detection


def detect_campaigns(
    daily: Any,
    *,
    coverage: CoverageArg = None,
    areas: Iterable[str] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    min_weeks: int = DEFAULT_MIN_WEEKS,
    max_weeks: int = DEFAULT_MAX_WEEKS,
    min_ratio: float = DEFAULT_MIN_RATIO,
    min_excess: float = DEFAULT_MIN_EXCESS,
    penalty: float = DEFAULT_PENALTY,
) -> CampaignScan:
    """Campaigns and level changes in daily counts per area.

    ``daily``: columns ``date``, ``area`` (or ``aor``), ``n``; missing days inside an
    area's coverage count as 0. ``coverage``: (first, last), a list of spans for all
    areas, or spans per area (``Store.coverage(...).by_area``); days outside are gaps,
    never zeros. The whole coverage is fitted; ``date_from``/``date_to`` only restrict
    which campaigns (overlapping the window) and level changes are reported."""
    if len(daily["n"]) == 0:
        return CampaignScan([], [])
    g = _grid(daily, coverage, areas)
    a, n = g.y.shape
    k = n // 7
    df = _day_factors(g)
    dfc = df * g.covered
    obs_w = g.y.reshape(a, k, 7).sum(axis=2)
    exp_w = dfc.reshape(a, k, 7).sum(axis=2)
    valid = exp_w >= 0.5  # at least half a weekday's worth of covered days
    rate = np.where(valid, (obs_w + 0.5) / np.maximum(exp_w, 1e-9), np.nan)
    z = np.where(valid, np.log(np.where(valid, rate, 1.0)), 0.0)
    # expected weekly count for the variance: a running median of the rate (robust to
    # the campaign itself), times the week's exposure
    pad = 4
    padded = np.pad(rate, ((0, 0), (pad, pad)), constant_values=np.nan)
    win = np.lib.stride_tricks.sliding_window_view(padded, 2 * pad + 1, axis=1)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        smooth = np.nanmedian(win, axis=2)
        mu_w = np.where(valid, np.nan_to_num(smooth, nan=0.5) * exp_w, 1.0)
    # extra week-to-week variance psi: robust variance of first differences of
    # consecutive valid weeks, less their count noise
    both = valid[:, 1:] & valid[:, :-1]  # consecutive covered weeks
    d = np.where(both, np.diff(z, axis=1), np.nan)
    noise = np.where(valid, 1.0 / np.maximum(mu_w, 0.5), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # areas with no pair: psi floor
        mad = np.nanmedian(np.abs(d - np.nanmedian(d, axis=1, keepdims=True)), axis=1)
        psi = np.nan_to_num((mad * 1.4826) ** 2 / 2.0 - np.nanmedian(noise, axis=1), nan=0.0)
    psi = np.where(both.sum(axis=1) >= 3, np.maximum(psi, 0.002), 0.002)
    var_w = 1.0 / np.maximum(mu_w, 0.5) + psi[:, None]
    w = np.where(valid, 1.0 / var_w, 0.0)
    n_valid = np.maximum(valid.sum(axis=1), 2)
    beta = penalty * np.log(n_valid)
    starts = _optimal_partition(z, w, beta)

    lo = _day(date_from) - g.day0 if date_from else 0
    hi = _day(date_to) - g.day0 if date_to else n - 1
    campaigns: list[Campaign] = []
    changes: list[LevelChange] = []
    every: dict[int, list[Campaign]] = {}
    for i in range(a):
        if not valid[i].any():
            continue
        cps = starts[i] + [k]
        segs = [
            _Segment(
                s,
                e - 1,
                float(obs_w[i, s:e].sum()),
                float(exp_w[i, s:e].sum()),
                float(w[i, s:e].sum()),
            )
            for s, e in zip(cps, cps[1:], strict=False)
        ]
        segs = [s for s in segs if s.exp > 0]
        runs = _classify(segs, min_weeks, max_weeks, min_ratio, float(psi[i]))
        area_camps: list[Campaign] = []
        for (si, sj), seg_before, seg_after in runs:
            c = _figures(
                g, i, df[i], segs, si, sj, seg_before, seg_after, float(psi[i]), area_camps
            )
            # the edges fitted on daily counts may shorten a run: still min_weeks long,
            # give or take the few days an edge can move
            too_short = c is not None and (c.end - c.start).days + 1 < 7 * min_weeks - 4
            if c is None or too_short or c.excess < min_excess or c.z < _MIN_Z:
                continue
            area_camps.append(c)
        every[i] = area_camps
        for c in area_camps:
            if _day(c.end) - g.day0 >= lo and _day(c.start) - g.day0 <= hi:
                campaigns.append(c)
        for ch in _level_changes(g, i, segs, area_camps, df[i]):
            if lo <= _day(ch.date) - g.day0 <= hi:
                changes.append(ch)
    if campaigns:
        lo_x, hi_x = excess_intervals(
            [c.observed for c in campaigns],
            [c.expected for c in campaigns],
            [c.variance for c in campaigns],
        )
        campaigns = [
            dataclasses.replace(c, excess_low=float(a_), excess_high=float(b_))
            for c, a_, b_ in zip(campaigns, lo_x, hi_x, strict=True)
        ]
    campaigns.sort(key=lambda c: (c.start, c.area))
    changes.sort(key=lambda c: (c.date, c.area))
    years = float(g.covered.sum()) / 365.25
    return CampaignScan(campaigns, changes, areas=a, area_years=years, fit=(g, df, psi, every))


def window_outside_campaigns(scan: CampaignScan, start: date, end: date) -> dict[str, Any]:
    """Observed and expected records over [start, end], summed over the scan's areas,
    the expected count at each area's level *outside* its campaigns: the covered days
    up to 13 weeks before and after the window that lie in no detected campaign (nor in
    the window), interpolated from before to after, times the day factors. What a claim
    about a campaign's window is judged against (``measure: operation``). Returns
    observed, expected, variance (of the counterfactual count), the campaigns it
    overlaps and the baseline days used."""
    if scan.fit is None:
        return {"observed": 0.0, "expected": 0.0, "variance": 0.0, "campaigns": [], "days": 0}
    g, df, psi, every = scan.fit
    n = g.n_days
    w0, w1 = max(_day(start) - g.day0, 0), min(_day(end) - g.day0, n - 1)
    obs = exp = var = 0.0
    used_days = 0
    hit: list[str] = []
    for i in range(len(g.areas)):
        y, cov, dfi = g.y[i], g.covered[i], df[i]
        if w1 < w0 or not cov[w0 : w1 + 1].any():
            continue
        out = cov.copy()
        out[w0 : w1 + 1] = False
        for c in every.get(i, []):
            a_, b_ = _day(c.start) - g.day0, _day(c.end) - g.day0
            out[max(a_, 0) : b_ + 1] = False
            if a_ <= w1 and b_ >= w0:
                hit.append(c.id)
        rates = []
        for lo, hi in ((w0 - _BASELINE_DAYS, w0 - 1), (w1 + 1, w1 + _BASELINE_DAYS)):
            lo, hi = max(lo, 0), min(hi, n - 1)
            m = out[lo : hi + 1] if hi >= lo else np.zeros(0, dtype=bool)
            e_ = float(dfi[lo : hi + 1][m].sum()) if m.size else 0.0
            o_ = float(y[lo : hi + 1][m].sum()) if m.size else 0.0
            rates.append(((o_ + 0.5) / e_, o_, int(m.sum())) if e_ > 1.0 else None)
        known = [r for r in rates if r is not None]
        if not known:
            continue
        rb = (rates[0] or rates[1])[0]  # type: ignore[index]
        ra = (rates[1] or rates[0])[0]  # type: ignore[index]
        idx = np.arange(w0, w1 + 1)
        frac = (idx - w0) / max(w1 - w0, 1)
        mu = dfi[w0 : w1 + 1] * (rb + (ra - rb) * frac)
        keep = cov[w0 : w1 + 1]
        o = float(y[w0 : w1 + 1][keep].sum())
        e = float(mu[keep].sum())
        weeks_mu = np.bincount((idx[keep] - w0) // 7, weights=mu[keep])
        base_obs = sum(r[1] for r in known)
        base_weeks = sum(r[2] for r in known) / 7.0
        v = float(weeks_mu.sum() + psi[i] * (weeks_mu**2).sum())
        v += e * e * (psi[i] / max(base_weeks, 1.0) + 1.0 / max(base_obs, 1.0))
        obs, exp, var = obs + o, exp + e, var + v
        used_days += sum(r[2] for r in known)
    return {
        "observed": obs,
        "expected": exp,
        "variance": var,
        "campaigns": sorted(set(hit)),
        "days": used_days,
    }


def _classify(
    segs: list[_Segment], min_weeks: int, max_weeks: int, min_ratio: float, psi: float
) -> list[tuple[tuple[int, int], _Segment, _Segment | None]]:
    """Runs of segments that rise and come back down (or are still up at the end),
    strongest first, not overlapping."""
    m = len(segs)
    cands: list[tuple[float, int, int]] = []
    for si in range(1, m):
        before = _neighbours(segs[si - 1 :: -1])
        for sj in range(si, m):
            if segs[sj].k1 - segs[si].k0 + 1 > max_weeks:
                break
            if segs[sj].k1 - segs[si].k0 + 1 < min_weeks:
                continue
            after = _neighbours(segs[sj + 1 :]) if sj + 1 < m else None
            run = segs[si : sj + 1]
            edge = max(before.level, after.level) if after is not None else before.level
            if min(s.level for s in run) < edge + _MIN_STEP:
                continue
            level = _pooled(run).level
            if after is None:
                base = before.level
            else:
                base = (before.level + after.level) / 2.0
                # it comes back down, at least halfway to where it was
                if after.level - before.level > 0.5 * (level - before.level):
                    continue
            if level - base < math.log(min_ratio):
                continue
            score = (math.exp(level) - math.exp(base)) * _pooled(run).exp
            cands.append((score, si, sj))
    cands.sort(reverse=True)
    taken: list[tuple[int, int]] = []
    for _score, si, sj in cands:
        if any(not (sj < a - 1 or si > b + 1) for a, b in taken):
            continue  # overlapping or touching a stronger run
        taken.append((si, sj))
    taken.sort()
    runs = [
        (
            (si, sj),
            _neighbours(segs[si - 1 :: -1]),
            _neighbours(segs[sj + 1 :]) if sj + 1 < len(segs) else None,
        )
        for si, sj in taken
    ]
    return runs


def _neighbours(segs: Sequence[_Segment]) -> _Segment:
    """The segments next to a run (nearest first) pooled until they span
    _NEIGHBOUR_WEEKS: a one-week dip (a holiday week, a storm) next to a rise is not
    the level the rise comes back to."""
    taken = []
    for s in segs:
        taken.append(s)
        if sum(t.weeks for t in taken) >= _NEIGHBOUR_WEEKS:
            break
    ordered = sorted(taken, key=lambda t: t.k0)
    return _pooled(ordered)


def _local_rate(
    y: np.ndarray, dfi: np.ndarray, cov: np.ndarray, lo: int, hi: int, default: float
) -> float:
    if hi < lo:
        return default
    m = cov[lo : hi + 1]
    e = float(dfi[lo : hi + 1][m].sum())
    return float(y[lo : hi + 1][m].sum()) / e if e > 1.0 else default


# ramp lengths tried at a campaign's edges (days from the first extra record to full size)
_RAMPS = (0, 3, 6, 9, 12, 15)
_EDGE_SLACK = 0.5


def _fit_edge(
    y: np.ndarray, f: np.ndarray, cov: np.ndarray, r_out: float, r_in: float, last: int
) -> int:
    """The first day of a rise from rate ``r_out`` to ``r_in`` (times the day factors
    ``f``), as a step or a linear ramp, by Poisson maximum likelihood over the days up
    to ``last`` (and the ramp after it). Counts outside coverage are left out."""
    n = len(y)
    if r_in <= r_out or n == 0:
        return 0
    # one window for every candidate, so that their likelihoods compare
    n = min(n, last + max(_RAMPS) + 15)
    y, f, cov = y[:n], f[:n], cov[:n]
    idx = np.arange(n)
    starts = np.arange(0, min(last, n - 1) + 1)
    ramps = np.array(_RAMPS, dtype=float)
    # shares[r, s, d]: how much of the rise day d shows with ramp r starting on day s
    shares = np.clip(
        (idx[None, None, :] - starts[None, :, None] + 1) / (ramps[:, None, None] + 1), 0.0, 1.0
    )
    m = f * (r_out + (r_in - r_out) * shares)
    lls = ((y * np.log(np.maximum(m, 1e-9)) - m) * cov).sum(axis=2)
    # the earliest first day whose profile likelihood is within EDGE_SLACK of the best:
    # the first days of a ramp add little, and an edge is reported where the evidence
    # allows it to begin rather than where it is strongest
    profile = lls.max(axis=0)
    best = int(np.flatnonzero(profile >= profile.max() - _EDGE_SLACK)[0])
    return best


def _cusum_start(inc: np.ndarray) -> int:
    """Index where a sustained rise begins: one after the minimum of the CUSUM."""
    s = np.concatenate([[0.0], np.cumsum(inc)])
    return int(np.argmin(s))


def _figures(
    g: _Grid,
    i: int,
    dfi: np.ndarray,
    segs: list[_Segment],
    si: int,
    sj: int,
    before: _Segment,
    after: _Segment | None,
    psi: float,
    earlier: list[Campaign],
) -> Campaign | None:
    y, cov = g.y[i], g.covered[i]
    n = len(y)
    d0, d1 = segs[si].k0 * 7, segs[sj].k1 * 7 + 6
    rb = math.exp(before.level)
    ra = math.exp(after.level) if after is not None else rb
    run = _pooled(segs[si : sj + 1])
    rc = run.obs / run.exp
    # start and end: a step or ramp fitted to the daily counts, two weeks either side of
    # the weekly boundary
    floor = _day(earlier[-1].end) - g.day0 + 1 if earlier else 0
    s_lo = max(d0 - 14, before.k0 * 7, floor)
    s_hi = min(d0 + 14, d1)
    r_in = _local_rate(y, dfi, cov, d0 + 7, min(d0 + 42, d1), rc)
    start = s_lo + _fit_edge(
        y[s_lo : d1 + 1], dfi[s_lo : d1 + 1], cov[s_lo : d1 + 1], rb, r_in, s_hi - s_lo
    )
    ongoing = after is None
    if ongoing:
        covered_idx = np.flatnonzero(cov)
        end = int(covered_idx[-1])
    else:
        e_lo = max(d1 - 14, start + 6)
        e_hi = min(d1 + 14, after.k1 * 7 + 6, n - 1)
        r_in = _local_rate(y, dfi, cov, max(d1 - 42, start), d1 - 7, rc)
        seg = slice(start, e_hi + 1)
        back = _fit_edge(y[seg][::-1], dfi[seg][::-1], cov[seg][::-1], ra, r_in, e_hi - e_lo)
        end = e_hi - back
    if end - start < 6:
        return None
    # the baseline: out-of-campaign days of the neighbouring segments, up to 13 weeks
    b_lo = max(before.k0 * 7, start - _BASELINE_DAYS, floor)
    b_hi = start - 1
    spans = []
    obs_b = exp_b = 0.0
    if b_hi >= b_lo:
        mb = cov[b_lo : b_hi + 1]
        ob, eb = float(y[b_lo : b_hi + 1][mb].sum()), float(dfi[b_lo : b_hi + 1][mb].sum())
        if eb > 0:
            spans.append((b_lo, b_hi))
            rb = (ob + 0.5) / eb
            obs_b, exp_b = ob, eb
    obs_a = exp_a = 0.0
    if after is not None:
        a_lo, a_hi = end + 1, min(after.k1 * 7 + 6, end + _BASELINE_DAYS, n - 1)
        ma = cov[a_lo : a_hi + 1]
        oa, ea = float(y[a_lo : a_hi + 1][ma].sum()), float(dfi[a_lo : a_hi + 1][ma].sum())
        if ea > 0:
            spans.append((a_lo, a_hi))
            ra = (oa + 0.5) / ea
            obs_a, exp_a = oa, ea
        else:
            ra = rb
    else:
        ra = rb
    idx = np.arange(start, end + 1)
    frac = (idx - start) / max(end - start, 1)
    base_rate = rb + (ra - rb) * frac if after is not None else np.full(len(idx), rb)
    mu = dfi[start : end + 1] * base_rate
    keep = cov[start : end + 1]
    obs = float(y[start : end + 1][keep].sum())
    exp = float(mu[keep].sum())
    if exp <= 0:
        return None
    # variance of the counterfactual: count noise week by week (mu + psi mu^2) plus the
    # baseline level's own uncertainty (its log-variance ~ psi/weeks + 1/count)
    weeks_mu = np.bincount((idx[keep] - start) // 7, weights=mu[keep])
    noise = float(weeks_mu.sum() + psi * (weeks_mu**2).sum())
    wk_b = (exp_b > 0) * max((b_hi - b_lo + 1) / 7.0, 1.0) + (exp_a > 0) * max(
        (after.k1 * 7 + 6 - end) / 7.0 if after is not None else 0.0, 1.0
    )
    base_var_log = psi / max(wk_b, 1.0) + 1.0 / max(obs_b + obs_a, 1.0)
    var = noise + exp * exp * base_var_log
    z = (obs - exp) / math.sqrt(max(var, 1e-9))
    # peak week: the Monday-Sunday week with the largest excess
    wk_start = (idx[keep] // 7) * 7
    wk_ex = {}
    for d, o, e in zip(wk_start, y[start : end + 1][keep], mu[keep], strict=False):
        wk_ex[int(d)] = wk_ex.get(int(d), 0.0) + float(o - e)
    peak = max(wk_ex, key=lambda d: wk_ex[d])
    sd, ed = _date(g.day0 + start), _date(g.day0 + end)
    c_lo, c_hi = max(start - _CONTEXT_BEFORE, 0), min(end + _CONTEXT_AFTER, n - 1)
    around = dfi[c_lo : c_hi + 1].copy()
    around[: start - c_lo] *= rb
    around[start - c_lo : end - c_lo + 1] = mu
    around[end - c_lo + 1 :] *= ra
    series = (
        g.day0 + c_lo,
        y[c_lo : c_hi + 1].copy(),
        around,
        cov[c_lo : c_hi + 1].copy(),
    )
    return Campaign(
        id=f"{g.areas[i]}-{sd:%Y%m%d}",
        area=g.areas[i],
        start=sd,
        end=ed,
        ongoing=ongoing,
        observed=int(round(obs)),
        expected=exp,
        excess=obs - exp,
        excess_low=float("nan"),  # set for all campaigns at once (excess_intervals)
        excess_high=float("nan"),
        variance=var,
        peak_week=_date(g.day0 + peak),
        z=z,
        series=series,
        baseline_spans=tuple((_date(g.day0 + a), _date(g.day0 + b)) for a, b in spans),
    )


def _level_changes(
    g: _Grid, i: int, segs: list[_Segment], camps: list[Campaign], dfi: np.ndarray
) -> list[LevelChange]:
    """Steps between long segments outside campaigns, after merging neighbours that
    differ by less than the smallest change worth reporting."""
    inside = np.zeros(g.n_days // 7, dtype=bool)
    for c in camps:
        inside[(_day(c.start) - g.day0) // 7 : (_day(c.end) - g.day0) // 7 + 1] = True
    regimes = [
        s for s in segs if not inside[s.k0 : s.k1 + 1].any() and s.weeks >= _MIN_REGIME_WEEKS
    ]
    # merge the closest neighbours while they differ by too little to report
    while len(regimes) > 1:
        gaps = [abs(b.level - a.level) for a, b in zip(regimes, regimes[1:], strict=False)]
        j = int(np.argmin(gaps))
        a, b = regimes[j], regimes[j + 1]
        z = gaps[j] / math.hypot(a.se, b.se)
        if gaps[j] >= _MIN_LEVEL_CHANGE and z >= _MIN_Z:
            break
        regimes[j : j + 2] = [_pooled([a, b])]
    y, cov = g.y[i], g.covered[i]
    out = []
    for a, b in zip(regimes, regimes[1:], strict=False):
        a_lo, a_hi = max(a.k0 * 7, a.k1 * 7 + 6 - _BASELINE_DAYS + 1), a.k1 * 7 + 6
        b_lo, b_hi = b.k0 * 7, min(b.k1 * 7 + 6, b.k0 * 7 + _BASELINE_DAYS - 1)
        ma, mb = cov[a_lo : a_hi + 1], cov[b_lo : b_hi + 1]
        if not ma.any() or not mb.any():
            continue
        before = float(y[a_lo : a_hi + 1][ma].mean())
        after = float(y[b_lo : b_hi + 1][mb].mean())
        # the step as seen over the adjacent days, weekdays and holidays allowed for
        ra_ = float(y[a_lo : a_hi + 1][ma].sum() + 0.5) / float(dfi[a_lo : a_hi + 1][ma].sum())
        rb_ = float(y[b_lo : b_hi + 1][mb].sum() + 0.5) / float(dfi[b_lo : b_hi + 1][mb].sum())
        if abs(math.log(rb_ / ra_)) < _MIN_LEVEL_CHANGE:
            continue
        # the day of the step: CUSUM over the two weeks either side of the boundary
        lo, hi = max(b_lo - 14, a_lo), min(b_lo + 13, b_hi)
        ra, rb = math.exp(a.level), math.exp(b.level)
        m = cov[lo : hi + 1]
        sign = 1.0 if rb > ra else -1.0
        inc = sign * (y[lo : hi + 1] - dfi[lo : hi + 1] * (ra + 0.5 * (rb - ra))) * m
        day = lo + _cusum_start(inc)
        out.append(LevelChange(g.areas[i], _date(g.day0 + day), before, after))
    return out
