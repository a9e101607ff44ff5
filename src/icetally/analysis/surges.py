"""Surge detection: multi-day enforcement operations that stand above a daily baseline.

Pure functions over daily counts per area of responsibility (AOR); no database access.
The method is documented in ``docs/methods.md`` ("Surge detection"). In short:

1. **Baseline.** For each AOR a negative-binomial log-linear model of the daily count:
   a cubic B-spline trend (knots every ``trend_knot_days``), day-of-week effects, a
   federal-holiday effect and a holiday-season effect (Christmas week, day after
   Thanksgiving). It is fitted by iteratively reweighted least squares with Tukey
   biweight weights on deviance residuals, so surge days (and outage days) get zero
   weight and cannot inflate their own baseline. The overdispersion ``phi``
   (Var = mu + phi * mu^2) is estimated per AOR from the inlying days.
2. **Scan.** Every window of 1..``max_window`` days inside the scannable range gets an
   expectation-based negative-binomial log-likelihood ratio (observed window sum vs the
   baseline sum), computed for all windows at once from cumulative sums.
3. **Significance.** A parametric bootstrap: null series are drawn from each AOR's own
   fitted model, scanned the same way, and a Gumbel law is fitted to the replicate
   maxima. ``p_value`` is the probability that one AOR, in one year of null data, shows
   a window scoring at least as high (the inverse of a recurrence interval); the
   multiplicity of windows inside the year is accounted for by construction.
4. **Selection.** Per AOR, greedy non-overlapping selection of windows whose
   ``p_value <= threshold``, strongest first; then AOR surges whose windows overlap are
   grouped into (national) operations, each AOR keeping its own window and figures.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import Any

import numpy as np
from scipy import sparse, stats
from scipy.interpolate import BSpline

from icetally.analysis.defaults import DEFAULT_MAX_WINDOW, DEFAULT_THRESHOLD
from icetally.analysis.windows import excess_interval, window_figures
from icetally.reference import federal_holidays, nth_weekday

__all__ = [
    "AorBaseline",
    "AorSurge",
    "Surge",
    "detect_surges",
    "fit_baselines",
    "us_federal_holidays",
    "holiday_season_days",
    "DEFAULT_THRESHOLD",
    "DEFAULT_INCOMPLETE_TAIL_DAYS",
]

# ICE/ERO extracts are pulled shortly after the period they cover and arrests keep being
# entered for weeks; the last two weeks before the coverage end are treated as lagged
# (incomplete) data: not fitted, not scanned. Two weeks also equals the longest window.
DEFAULT_INCOMPLETE_TAIL_DAYS = 14
DEFAULT_TREND_KNOT_DAYS = 42
DEFAULT_N_SIM = 60
# An AOR joins a multi-AOR window when its own LLR there exceeds 2 (a one-sided
# window-level p of about 0.02-0.03): weak enough to pool evidence across AORs (the
# eval's recall of multi-AOR operations rises from 0.56 to 0.62 overall), strong enough
# that a national operation seldom picks up an unrelated AOR (precision 0.99 -> 0.99).
DEFAULT_JOINT_PENALTY = 2.0

# Tukey biweight tuning constant: 95% efficiency under normal errors; residuals beyond
# 4.685 standard deviations get zero weight in the baseline fit.
_BIWEIGHT_C = 4.685
_WEEKEND_KNOT_DAYS = 182
_SD_ETA_CAP = 1.0
_EPS_MU = 1e-6
_PHI_FLOOR = 1e-8
_EULER_GAMMA = 0.5772156649015329


# --------------------------------------------------------------------------- results


def _window_figures(w: AorSurge | Surge) -> dict[str, Any]:
    """The window and its figures, as both JSON shapes carry them."""
    return {
        "start": w.start.isoformat(),
        "end": w.end.isoformat(),
        "days": (w.end - w.start).days + 1,
        "observed": int(w.observed),
        "expected": round(float(w.expected), 2),
        "excess": round(float(w.excess), 2),
        "excess_low": round(float(w.excess_low), 2),
        "excess_high": round(float(w.excess_high), 2),
    }


@dataclass(frozen=True)
class AorSurge:
    """One AOR's window of excess counts."""

    aor: str
    start: date
    end: date
    observed: int
    expected: float
    excess: float
    excess_low: float
    excess_high: float
    score: float
    p_value: float
    # "aor": significant on its own (p_value <= threshold); "joint": added by the
    # multi-AOR scan, significant only together with other AORs (joint_p_value).
    evidence: str = "aor"
    joint_p_value: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "aor": self.aor,
            **_window_figures(self),
            "ratio": round(float(self.observed / self.expected), 3) if self.expected > 0 else None,
            "score": round(float(self.score), 3),
            "p_value": float(f"{self.p_value:.4g}"),
            "evidence": self.evidence,
            "joint_p_value": None
            if self.joint_p_value is None
            else float(f"{self.joint_p_value:.4g}"),
        }


@dataclass(frozen=True)
class Surge:
    """An operation: one or more AOR surges whose windows overlap."""

    id: str
    start: date
    end: date
    observed: int
    expected: float
    excess: float
    excess_low: float
    excess_high: float
    score: float
    p_value: float
    aors: tuple[AorSurge, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **_window_figures(self),
            "score": round(float(self.score), 3),
            "p_value": float(f"{self.p_value:.4g}"),
            "n_aors": len(self.aors),
            "aors": [a.to_dict() for a in self.aors],
        }


# --------------------------------------------------------------------------- holidays


def us_federal_holidays(first_year: int, last_year: int) -> list[date]:
    """US federal holidays (observed dates) in the years given, from the shipped
    reference rules (``icetally.reference.federal_holidays``)."""
    return sorted(federal_holidays(date(first_year, 1, 1), date(last_year, 12, 31)))


def holiday_season_days(first_year: int, last_year: int) -> list[date]:
    """Low-activity days that are not federal holidays: Dec 24-31 and the day after
    Thanksgiving. Modelled separately so that the slow trend is not dragged down by
    the end-of-year lull (which would make early January look like a surge)."""
    out: list[date] = []
    for y in range(first_year, last_year + 1):
        out.extend(date(y, 12, d) for d in range(24, 32))
        out.append(nth_weekday(y, 11, 3, 4) + timedelta(days=1))
    return out


# --------------------------------------------------------------------------- input


def _to_day_numbers(values: Any) -> np.ndarray:
    """Dates (date objects, strings, datetime64 of any unit) -> int64 days since epoch."""
    arr = np.asarray(values)
    if arr.dtype.kind == "M":
        return arr.astype("datetime64[D]").astype(np.int64)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    try:  # date objects and ISO strings convert in one vectorised call
        return arr.astype("datetime64[D]").astype(np.int64)
    except (TypeError, ValueError):
        pass
    out = np.empty(len(arr), dtype=np.int64)
    for i, v in enumerate(arr):
        if isinstance(v, date):
            out[i] = (v if type(v) is date else date(v.year, v.month, v.day)).toordinal()
            out[i] -= _EPOCH_ORD
        else:
            out[i] = np.datetime64(str(v)[:10], "D").astype(np.int64)
    return out


_EPOCH_ORD = date(1970, 1, 1).toordinal()


def _day_to_date(d: int) -> date:
    return date.fromordinal(int(d) + _EPOCH_ORD)


def _date_to_day(d: date | Any) -> int:
    if isinstance(d, date):
        return date(d.year, d.month, d.day).toordinal() - _EPOCH_ORD
    return int(np.datetime64(str(d)[:10], "D").astype(np.int64))


def _column(daily: Any, name: str) -> np.ndarray:
    col = daily[name]
    if hasattr(col, "to_numpy"):
        try:
            return np.asarray(col.to_numpy())
        except TypeError:  # pyarrow ChunkedArray needs zero_copy_only=False
            return np.asarray(col.to_numpy(zero_copy_only=False))
    return np.asarray(col)


# --------------------------------------------------------------------------- baseline


@dataclass(frozen=True)
class AorBaseline:
    """Fitted daily baseline of one AOR over its coverage (day numbers since 1970)."""

    aor: str
    first_day: int
    observed: np.ndarray  # int counts per covered day, zeros filled
    expected: np.ndarray  # fitted mean per day
    phi: float  # NB overdispersion: Var = mu + phi * mu^2
    fit_mask: np.ndarray  # days used in the fit (coverage minus incomplete tail)
    robust_weight: np.ndarray  # final biweight weights (0 = treated as outlier)
    design: np.ndarray  # model matrix, for the baseline-uncertainty of window sums
    cov: np.ndarray  # approximate covariance of the coefficients
    n_trend: int  # the first n_trend design columns are the B-spline trend
    excluded: np.ndarray  # days kept out of the fit because they lie in detected surges
    # days inside the releases' coverage; a gap between releases is uncovered: not
    # fitted, never in a window, and not counted as days of zero records
    covered: np.ndarray

    @cached_property
    def design_sparse(self) -> sparse.csr_matrix:
        return sparse.csr_matrix(self.design)

    @cached_property
    def sd_eta(self) -> np.ndarray:
        """Standard error of the fitted log-mean per day, capped at 1: where it is larger
        (weekends of an AOR that almost never acts on weekends) the mean is ~0 and the
        linearisation is meaningless anyway."""
        v = np.asarray((self.design_sparse @ self.cov) * self.design).sum(axis=1)
        return np.minimum(np.sqrt(np.maximum(v, 0.0)), _SD_ETA_CAP)

    def refit(self, exclude: np.ndarray) -> AorBaseline:
        """The same model fitted again with the days in ``exclude`` given zero weight."""
        mask = self.fit_mask & ~exclude
        mu, _b, phi, rw, cov = _fit_nb_robust(
            self.observed.astype(float), self.design, self.n_trend, mask
        )
        return dataclasses.replace(
            self, expected=mu, phi=float(phi), robust_weight=rw, cov=cov, excluded=exclude.copy()
        )

    @property
    def n_days(self) -> int:
        return len(self.observed)

    def window_index(self, start: date, end: date) -> tuple[int, int]:
        return _date_to_day(start) - self.first_day, _date_to_day(end) - self.first_day

    def window(self, start: date, end: date, level: float = 0.95) -> dict[str, float]:
        """Observed, expected and excess (with a prediction interval) for [start, end]."""
        i, j = self.window_index(start, end)
        i, j = max(i, 0), min(j, self.n_days - 1)
        if j < i:
            raise ValueError("window outside this AOR's coverage")
        return self.figures(i, j, level)

    def figures(self, i: int, j: int, level: float = 0.95) -> dict[str, float]:
        """Observed, expected and excess (with a prediction interval) for the covered
        days among i..j."""
        c = float(self.observed[i : j + 1][self.covered[i : j + 1]].sum())
        b, v = self.window_variance(i, j)
        lo, hi = excess_interval(c, b, v, level)
        return {"observed": c, "expected": b, "excess": c - b, "excess_low": lo, "excess_high": hi}

    def window_variance(self, i: int, j: int) -> tuple[float, float]:
        """Expected sum over the covered days among i..j and the variance of the
        counterfactual count: NB noise of the window plus the uncertainty of the fitted
        baseline (delta method)."""
        keep = self.covered[i : j + 1]
        mu = self.expected[i : j + 1][keep]
        b = float(mu.sum())
        noise = b + self.phi * float((mu**2).sum())
        grad = mu @ self.design[i : j + 1][keep]
        base_var = float(grad @ self.cov @ grad)
        return b, noise + max(base_var, 0.0)


def _bspline_basis(x: np.ndarray, knot_spacing: float) -> np.ndarray:
    """Cubic B-spline basis over [x.min(), x.max()] with equally spaced knots."""
    lo, hi = float(x.min()), float(x.max())
    n_int = max(1, int(round((hi - lo) / knot_spacing)))
    inner = np.linspace(lo, hi, n_int + 1)
    k = 3
    t = np.concatenate([[lo] * k, inner, [hi] * k])
    return BSpline.design_matrix(x.astype(float), t, k).toarray()


def _design(days: np.ndarray, holiday: np.ndarray, season: np.ndarray, knot_days: int):
    trend = _bspline_basis(days, knot_days)
    # 1970-01-01 was a Thursday: (day + 3) % 7 gives Monday = 0.
    dow = (days + 3) % 7
    wd = np.zeros((len(days), 6))
    for d in range(1, 7):
        wd[:, d - 1] = dow == d
    cols = [trend, wd]
    # Weekend activity is a few percent of weekdays and its share drifts (at-large
    # arrests: 4% to 15% by quarter in FY2016-19), so the weekend level gets its own
    # slow trend (knots every ~6 months) on top of the constant Saturday/Sunday effects.
    weekend = (dow >= 5).astype(float)
    if days[-1] - days[0] >= 2 * _WEEKEND_KNOT_DAYS:
        coarse = _bspline_basis(days, _WEEKEND_KNOT_DAYS)
        cols.append(weekend[:, None] * coarse[:, 1:])
    if holiday.any():
        cols.append(holiday[:, None].astype(float))
    if season.any():
        cols.append(season[:, None].astype(float))
    return np.hstack(cols), trend.shape[1]


def _nb_deviance_residual(y: np.ndarray, mu: np.ndarray, phi: float) -> np.ndarray:
    """Signed NB deviance residuals. Unlike Pearson residuals they stay near N(0, 1) at
    small means: one arrest on a Sunday whose mean is 0.05 is a Pearson residual of 4.2
    (and would be rejected, dragging the weekend mean towards zero in a runaway loop)
    but a deviance residual of 2.1."""
    k = 1.0 / max(phi, _PHI_FLOOR)
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / mu), 0.0)
        dev = 2.0 * (t1 - (y + k) * np.log1p((y - mu) / (mu + k)))
    return np.sign(y - mu) * np.sqrt(np.maximum(dev, 0.0))


def _biweight(r: np.ndarray, c: float = _BIWEIGHT_C) -> np.ndarray:
    u = r / c
    return np.where(np.abs(u) < 1.0, (1.0 - u**2) ** 2, 0.0)


def _phi_median(y: np.ndarray, mu: np.ndarray, mask: np.ndarray) -> float | None:
    """Robust overdispersion: the phi for which the median squared Pearson residual
    equals the median of a chi-square(1), 0.4549 (like a MAD scale; up to half the days
    may be outliers). Days with mean < 2 are left out: their residuals are too discrete.
    None when fewer than 20 such days."""
    sel = mask & (mu >= 2.0)
    if sel.sum() < 20:
        return None
    r2 = (y[sel] - mu[sel]) ** 2
    m = mu[sel]

    def med(phi: float) -> float:
        return float(np.median(r2 / (m * (1.0 + phi * m))))

    target = 0.4549
    if med(0.0) <= target:
        return _PHI_FLOOR
    lo, hi = 0.0, 1.0
    while med(hi) > target and hi < 1e3:
        hi *= 4.0
    for _ in range(30):  # relative precision ~1e-9 of the bracket: ample
        mid = 0.5 * (lo + hi)
        if med(mid) > target:
            lo = mid
        else:
            hi = mid
    return max(0.5 * (lo + hi), _PHI_FLOOR)


def _fit_nb_robust(
    y: np.ndarray,
    X: np.ndarray,
    n_trend: int,
    fit_mask: np.ndarray,
    max_iter: int = 40,
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, np.ndarray]:
    """Robust NB log-linear fit by IRLS. Returns (mu, beta, phi, robust weights, cov).

    The design is ~85% zeros (B-splines, dummies); sparse products avoid multi-threaded
    BLAS, which on small matrices is no faster and under CPU contention is 10x slower."""
    n, p = X.shape
    Xs = sparse.csr_matrix(X)
    XsT = Xs.T.tocsr()
    # Second-difference penalty on the spline coefficients (P-spline style, small) keeps
    # the trend stable where data are sparse (zero weekends, excluded tail) without
    # changing it where data are plentiful; a tiny ridge keeps the system invertible.
    D = np.diff(np.eye(n_trend), n=2, axis=0)
    pen = np.zeros((p, p))
    pen[:n_trend, :n_trend] = D.T @ D
    ym = y[fit_mask]
    level = max(float(ym.mean()) if ym.size else 0.0, 0.05)
    pen_scale = 1.0 * level
    ridge = 1e-6 * level * np.eye(p)

    # Start from the log of the smoothed weekday-free mean: a flat start converges fine.
    beta = np.zeros(p)
    beta[:n_trend] = math.log(level)
    eta = Xs @ beta
    phi = 0.1
    phi_r: float | None = None
    rw = fit_mask.astype(float)
    for it in range(max_iter):
        mu = np.maximum(np.exp(eta), _EPS_MU)
        w_glm = mu / (1.0 + phi * mu)
        z = eta + (y - mu) / mu
        W = rw * w_glm
        A = (XsT @ Xs.multiply(W[:, None])).toarray() + pen_scale * pen + ridge
        beta_new = np.linalg.solve(A, XsT @ (W * z))
        eta_new = Xs @ beta_new
        # Damp big steps (early iterations on sparse series can overshoot in log space).
        step = np.max(np.abs(eta_new - eta)[fit_mask]) if fit_mask.any() else 0.0
        if step > 3.0:
            eta_new = eta + (eta_new - eta) * (3.0 / step)
            beta_new = beta + (beta_new - beta) * (3.0 / step)
        beta, eta = beta_new, eta_new
        mu = np.maximum(np.exp(eta), _EPS_MU)
        # Overdispersion by moments over clear inliers. Inliers are judged with a
        # median-based phi, not the moment one: on a short series a surge inflates the
        # moment estimate, which then makes the surge look like an inlier, and so on.
        if it < 3 or it % 4 == 0:  # it settles fast; recomputing every time costs
            phi_r = _phi_median(y, mu, fit_mask)
        r = _nb_deviance_residual(y, mu, phi if phi_r is None else phi_r)
        inl = fit_mask & (np.abs(r) < _BIWEIGHT_C)
        if inl.sum() > p:
            num = float(((y[inl] - mu[inl]) ** 2 - mu[inl]).sum())
            phi = max(num / float((mu[inl] ** 2).sum()), _PHI_FLOOR)
        r = _nb_deviance_residual(y, mu, phi)
        # First iterations without robust weights would let surges pull the start; so
        # robust weights from iteration 1 on, once a rough fit exists.
        # Redescending weights can flip-flop for days right at the cut-off; after 20
        # iterations they are frozen so that the fit converges.
        rw_new = _biweight(r) * fit_mask if it < 20 else rw
        # Converged when the fitted log-means move by < 1e-4 (0.01%) and the robust
        # weights settle; tighter tolerances change no reported figure.
        if it >= 2 and step < 1e-4 and np.max(np.abs(rw_new - rw)) < 1e-3:
            rw = rw_new
            break
        rw = rw_new
    mu = np.maximum(np.exp(Xs @ beta), _EPS_MU)
    W = rw * mu / (1.0 + phi * mu)
    A = (XsT @ Xs.multiply(W[:, None])).toarray() + pen_scale * pen + ridge
    try:
        cov = np.linalg.inv(A)
    except np.linalg.LinAlgError:
        cov = np.linalg.pinv(A)
    return mu, beta, phi, rw, cov


# Coverage as detect_surges/fit_baselines take it: one (first, last) pair or a list
# of covered spans, for every AOR or per AOR (icetally.store.coverage.Coverage.by_area).
Spans = tuple[date, date] | Sequence[tuple[date, date]]
CoverageArg = Mapping[str, Spans] | Spans | None


def _day_spans(spans: Spans) -> list[tuple[int, int]]:
    if len(spans) == 2 and isinstance(spans[0], date):
        spans = [spans]  # type: ignore[list-item]
    return [(_date_to_day(a), _date_to_day(b)) for a, b in spans]  # type: ignore[misc]


def _coverage_for(
    aor: str, coverage: CoverageArg, data_lo: int, data_hi: int
) -> list[tuple[int, int]]:
    """The AOR's covered spans as day numbers (the data's range when not given)."""
    if coverage is None:
        return [(data_lo, data_hi)]
    if isinstance(coverage, Mapping):
        if aor in coverage:
            return _day_spans(coverage[aor])
        return [(data_lo, data_hi)]
    return _day_spans(coverage)


def fit_baselines(
    daily: Any,
    *,
    coverage: CoverageArg = None,
    holidays: Iterable[date] | None = None,
    aors: Iterable[str] | None = None,
    incomplete_tail_days: int = DEFAULT_INCOMPLETE_TAIL_DAYS,
    trend_knot_days: int = DEFAULT_TREND_KNOT_DAYS,
) -> dict[str, AorBaseline]:
    """Fit the robust daily baseline of every AOR in ``daily`` (columns date, aor, n).

    Days without rows inside an AOR's coverage count as zero; days in a gap between
    covered spans are uncovered (not fitted, not zero). ``holidays=None`` uses the
    US federal holidays by rule; pass an explicit iterable to override (``()`` = none).
    Exposed for claims checking: ``fit_baselines(...)[aor].window(start, end)``.
    """
    days = _to_day_numbers(_column(daily, "date"))
    aor_col = np.asarray(_column(daily, "aor"), dtype=object)
    n_col = np.asarray(_column(daily, "n"), dtype=float)
    keep = np.array([isinstance(a, str) and a != "" for a in aor_col], dtype=bool)
    days, aor_col, n_col = days[keep], aor_col[keep], n_col[keep]
    if days.size == 0:
        return {}
    data_lo, data_hi = int(days.min()), int(days.max())
    wanted = set(aors) if aors is not None else None
    names = sorted({str(a) for a in aor_col})
    if wanted is not None:
        names = [a for a in names if a in wanted]

    out: dict[str, AorBaseline] = {}
    for aor in names:
        spans = [(a, b) for a, b in _coverage_for(aor, coverage, data_lo, data_hi) if a <= b]
        if not spans:
            continue
        lo, hi = min(a for a, _ in spans), max(b for _, b in spans)
        grid = np.arange(lo, hi + 1, dtype=np.int64)
        covered = np.zeros(len(grid), dtype=bool)
        for a, b in spans:
            covered[a - lo : b - lo + 1] = True
        sel = (aor_col == aor) & (days >= lo) & (days <= hi)
        sel[sel] = covered[days[sel] - lo]
        y = np.zeros(hi - lo + 1)
        np.add.at(y, days[sel] - lo, n_col[sel])
        fit_hi = hi - max(int(incomplete_tail_days), 0)
        fit_mask = (grid <= fit_hi) & covered
        if fit_mask.sum() < 28 or y[fit_mask].sum() <= 0:
            continue  # too short or empty: no baseline can be estimated
        y0, y1 = _day_to_date(lo).year, _day_to_date(hi).year
        hol_days = (
            us_federal_holidays(y0, y1)
            if holidays is None
            else [h for h in holidays if h is not None]
        )
        hol_set = {_date_to_day(h) for h in hol_days}
        season_set = {_date_to_day(h) for h in holiday_season_days(y0, y1)} - hol_set
        holiday = np.fromiter((d in hol_set for d in grid), bool, len(grid))
        season = np.fromiter((d in season_set for d in grid), bool, len(grid))
        X, n_trend = _design(grid, holiday, season, trend_knot_days)
        mu, _beta, phi, rw, cov = _fit_nb_robust(y, X, n_trend, fit_mask)
        out[aor] = AorBaseline(
            aor=aor,
            first_day=lo,
            observed=y.astype(np.int64),
            expected=mu,
            phi=float(phi),
            fit_mask=fit_mask,
            robust_weight=rw,
            design=X,
            cov=cov,
            n_trend=n_trend,
            excluded=np.zeros(len(grid), dtype=bool),
            covered=covered,
        )
    return out


# --------------------------------------------------------------------------- scan


def _nb_llr(C: np.ndarray, B: np.ndarray, extra: np.ndarray) -> np.ndarray:
    """Expectation-based NB log-likelihood ratio for window sums, one-sided (C > B).

    H0: the window sum C has mean B and variance B + extra, where extra = phi * sum(mu^2)
    (day-level overdispersion) + Var(B_hat) (baseline uncertainty); that is an NB with
    size k = B^2 / extra. H1: mean q*B with q > 1 and the same size k. The MLE of the
    mean under H1 is C, so
        LLR = C ln(C/B) - (C + k) ln((C + k)/(B + k)),
    which tends to the Poisson C ln(C/B) - (C - B) as extra -> 0.
    """
    k = B**2 / np.maximum(extra, _PHI_FLOOR * np.maximum(B, _EPS_MU))
    with np.errstate(divide="ignore", invalid="ignore"):
        llr = C * np.log(C / B) - (C + k) * np.log1p((C - B) / (B + k))
    # C > B > 0 wherever the value is kept, so the masked-out NaNs (C = 0) never leak.
    return np.where(C > B, llr, 0.0)


def _window_sums(cs: np.ndarray, w: int) -> np.ndarray:
    """Sums over windows of length w from a cumulative sum with a leading 0 (last axis)."""
    return cs[..., w:] - cs[..., :-w]


def _csum(x: np.ndarray) -> np.ndarray:
    pad = [(0, 0)] * (x.ndim - 1) + [(1, 0)]
    return np.pad(np.cumsum(x, axis=-1), pad)


def _scan_scores(
    y: np.ndarray, mu: np.ndarray, u: np.ndarray, phi: float, max_window: int
) -> list[np.ndarray]:
    """LLR for every window length w (list index w-1); entry i is the window [i, i+w-1].

    ``u`` = mu * se(log mu) per day; the baseline error of a window sum is bounded by
    sum(u) (the trend error is strongly correlated over two weeks), and that bound is
    used as its standard deviation: cheap, and slightly conservative."""
    cy, cm, cm2, cu = _csum(y), _csum(mu), _csum(mu**2), _csum(u)
    out = []
    for w in range(1, max_window + 1):
        B = _window_sums(cm, w)
        extra = phi * _window_sums(cm2, w) + _window_sums(cu, w) ** 2
        out.append(_nb_llr(_window_sums(cy, w), B, extra))
    return out


def _null_maxima(
    bl: AorBaseline,
    lo: int,
    hi: int,
    max_window: int,
    n_sim: int,
    rng: np.random.Generator,
    penalty: float | None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Scan n_sim null series of days lo..hi; return the maximum window LLR of each and
    (unless penalty is None) the penalised contributions max(LLR - penalty, 0) of every
    window for the joint multi-AOR null, shape (n_sim, max_window, hi - lo + 1), float32.

    Each replicate draws a baseline from the fitted coefficients' sampling distribution
    and then NB counts around it, and is scanned against the fitted baseline, exactly as
    the real series is: the null includes both the count noise and the error of the
    estimated baseline."""
    mu = bl.expected[lo : hi + 1]
    Xs = bl.design_sparse[lo : hi + 1]
    u = mu * bl.sd_eta[lo : hi + 1]
    phi = bl.phi
    shape = 1.0 / max(phi, _PHI_FLOOR)
    try:
        L = np.linalg.cholesky(bl.cov + 1e-12 * np.eye(len(bl.cov)))
    except np.linalg.LinAlgError:
        w_, v_ = np.linalg.eigh(bl.cov)
        L = v_ * np.sqrt(np.maximum(w_, 0))
    n = len(mu)
    # windows touching a day outside coverage are never scanned (nor in the null)
    blocked = _csum((~bl.covered[lo : hi + 1]).astype(float))
    maxima = np.zeros(n_sim)
    contrib = None if penalty is None else np.zeros((n_sim, max_window, n), dtype=np.float32)
    batch = max(1, min(n_sim, 1_000_000 // max(n, 1)))
    for s in range(0, n_sim, batch):
        m = min(batch, n_sim - s)
        coef = rng.standard_normal((m, L.shape[1])) @ L.T  # (m, p) baseline draws
        delta = np.asarray(Xs @ coef.T).T  # (m, days)
        delta = np.clip(delta, -2.0 * _SD_ETA_CAP, 2.0 * _SD_ETA_CAP)
        # Gamma-Poisson mixture = NB(mean, Var mean + phi mean^2).
        lam = mu * np.exp(delta) * rng.gamma(shape, 1.0 / shape, size=(m, n))
        ysim = rng.poisson(lam).astype(float)
        best = np.zeros(m)
        for w, sc in enumerate(_scan_scores(ysim, mu, u, phi, max_window), start=1):
            if sc.shape[-1]:
                sc = np.where(_window_sums(blocked, w) == 0, sc, 0.0)
                best = np.maximum(best, sc.max(axis=-1))
                if contrib is not None:
                    contrib[s : s + m, w - 1, : n - w + 1] = np.maximum(sc - penalty, 0.0)
        maxima[s : s + m] = best
    return maxima, contrib


@dataclass(frozen=True)
class _Gumbel:
    loc: float
    scale: float
    length_days: int

    def p_year(self, s: np.ndarray | float) -> np.ndarray:
        """P(a null AOR-year contains a window scoring >= s). The max over L days is
        Gumbel(loc, scale); with Poisson clumping the exceedance rate per day is
        exp(-(s - loc)/scale)/L, so over 365 days P = 1 - exp(-365/L exp(-(s-loc)/scale))."""
        z = np.exp(-(np.asarray(s, dtype=float) - self.loc) / self.scale)
        return -np.expm1(-(365.0 / self.length_days) * z)

    def score_for(self, p: float) -> float:
        p = min(max(p, 1e-300), 1.0 - 1e-12)
        return self.loc - self.scale * math.log(-math.log1p(-p) * self.length_days / 365.0)


def _fit_gumbel(maxima: np.ndarray, length_days: int) -> _Gumbel:
    # Method of moments; a Gumbel tail for scan-statistic maxima follows Abrams,
    # Kleinman & Kulldorff (2010) and lets a few dozen replicates give small p-values.
    sd = float(np.std(maxima, ddof=1)) if len(maxima) > 1 else 0.0
    scale = max(sd * math.sqrt(6.0) / math.pi, 1e-3)
    loc = float(np.mean(maxima)) - _EULER_GAMMA * scale
    return _Gumbel(loc, scale, max(length_days, 1))


def _aor_seed(seed: int, aor: str) -> int:
    # crc32, not hash(): Python's str hash is salted per process.
    return (int(seed) * 1_000_003 + zlib.crc32(aor.encode())) & 0xFFFFFFFF


def _surge_id(start: date, aors: list[str]) -> str:
    codes = sorted(set(aors))
    if len(codes) <= 4:
        return f"{start.isoformat()}-{'+'.join(codes)}"
    digest = hashlib.sha1("+".join(codes).encode()).hexdigest()[:6]
    return f"{start.isoformat()}-{len(codes)}aors-{digest}"


@dataclass
class _AorScan:
    """Everything the selection steps need about one AOR (day indices are local)."""

    bl: AorBaseline
    lo: int  # reporting range, inclusive
    hi: int
    y: np.ndarray
    mu: np.ndarray
    u: np.ndarray
    scores: list[np.ndarray]  # LLR per window length w (index w-1), by start day
    gum: _Gumbel
    day_p: np.ndarray
    taken: np.ndarray
    null_contrib: np.ndarray | None  # penalised null contributions over the fitted range
    f_lo: int

    def window_ok(self, w: int) -> np.ndarray:
        """Windows of length w inside the reporting range and free of taken days."""
        n = len(self.scores[w - 1])
        ok = np.zeros(n, dtype=bool)
        last = self.hi - w + 1
        if last >= self.lo:
            ok[self.lo : last + 1] = True
        busy = _window_sums(_csum((self.taken | ~self.bl.covered).astype(float)), w)
        return ok & (busy == 0)


def _prepare_scan(
    bl: AorBaseline,
    lo: int,
    hi: int,
    *,
    max_window: int,
    n_sim: int,
    seed: int,
    penalty: float | None,
) -> _AorScan:
    fit_idx = np.flatnonzero(bl.fit_mask)
    # The null is simulated over the whole fitted range whatever the reporting range, so
    # that p-values per AOR-year do not depend on the dates requested.
    f_lo, f_hi = int(fit_idx[0]), int(fit_idx[-1])
    rng = np.random.default_rng(_aor_seed(seed, bl.aor))
    maxima, contrib = _null_maxima(bl, f_lo, f_hi, max_window, n_sim, rng, penalty)
    y = bl.observed.astype(float)
    mu = bl.expected
    u = mu * bl.sd_eta
    return _AorScan(
        bl=bl,
        lo=lo,
        hi=hi,
        y=y,
        mu=mu,
        u=u,
        scores=_scan_scores(y, mu, u, bl.phi, max_window),
        gum=_fit_gumbel(maxima, int(bl.covered[f_lo : f_hi + 1].sum())),
        day_p=np.where(bl.covered, _day_pvalues(y, mu, u, bl.phi), 1.0),
        taken=np.zeros(bl.n_days, dtype=bool),
        null_contrib=contrib,
        f_lo=f_lo,
    )


def _refine(sc: _AorScan, s: int, e: int, max_len: int) -> tuple[int, int]:
    """Edge refinement of a selected window (marks its days taken).

    The window with the highest LLR is the evidence, but not always the operation's
    extent: the NB score favours the part with the highest ratio (an operation's weekend
    days, where the baseline is tiny) over the whole. (1) Grow into free adjacent days
    that are themselves clearly high (one-sided day p <= 0.05 against the baseline);
    (2) trim edge days without excess."""
    taken, day_p, y, mu = sc.taken, sc.day_p, sc.y, sc.mu
    taken[s : e + 1] = True
    while s > sc.lo and not taken[s - 1] and e - s + 1 < max_len and day_p[s - 1] <= 0.05:
        s -= 1
        taken[s] = True
    while e < sc.hi and not taken[e + 1] and e - s + 1 < max_len and day_p[e + 1] <= 0.05:
        e += 1
        taken[e] = True
    while s < e and y[s] <= mu[s]:
        taken[s] = False
        s += 1
    while e > s and y[e] <= mu[e]:
        taken[e] = False
        e -= 1
    return s, e


def _aor_surge(
    sc: _AorScan,
    s: int,
    e: int,
    score: float,
    evidence: str = "aor",
    joint_p: float | None = None,
) -> AorSurge:
    bl = sc.bl
    w = bl.figures(s, e)
    return AorSurge(
        aor=bl.aor,
        start=_day_to_date(bl.first_day + s),
        end=_day_to_date(bl.first_day + e),
        observed=int(round(w["observed"])),
        expected=w["expected"],
        excess=w["excess"],
        excess_low=w["excess_low"],
        excess_high=w["excess_high"],
        # The evidence: the selected window's LLR and its p-value per AOR-year.
        score=score,
        p_value=float(sc.gum.p_year(score)),
        evidence=evidence,
        joint_p_value=joint_p,
    )


def _select_aor(
    sc: _AorScan, *, threshold: float, min_excess: float, max_window: int
) -> list[AorSurge]:
    """Greedy non-overlapping selection of one AOR's significant windows."""
    s_star = sc.gum.score_for(threshold)
    cy, cm = _csum(sc.y), _csum(sc.mu)
    cands_s, cands_w, cands_llr = [], [], []
    for w, llr in enumerate(sc.scores, start=1):
        if llr.size == 0:
            continue
        ok = (llr >= s_star) & sc.window_ok(w)
        if min_excess > 0:
            ok &= (_window_sums(cy, w) - _window_sums(cm, w)) >= min_excess
        idx = np.flatnonzero(ok)
        cands_s.append(idx)
        cands_w.append(np.full(idx.size, w))
        cands_llr.append(llr[idx])
    if not cands_s:
        return []
    starts = np.concatenate(cands_s)
    widths = np.concatenate(cands_w)
    llrs = np.concatenate(cands_llr)
    # Strongest first; ties broken by earlier start then shorter window (deterministic).
    order = np.lexsort((widths, starts, -llrs))
    cores: list[tuple[int, int, float]] = []
    for o in order:
        s, w = int(starts[o]), int(widths[o])
        e = s + w - 1
        if sc.taken[s : e + 1].any():
            continue
        sc.taken[s : e + 1] = True
        cores.append((s, e, float(llrs[o])))
    out = []
    for s, e, score in cores:  # strongest first: they get first claim on free days
        s, e = _refine(sc, s, e, 2 * max_window)
        out.append(_aor_surge(sc, s, e, score))
    return out


def _joint_stage(
    scans: Mapping[str, _AorScan],
    null_t: np.ndarray,
    covered: np.ndarray,
    g0: int,
    *,
    threshold: float,
    penalty: float,
    max_window: int,
    min_excess: float,
    max_rounds: int = 500,
) -> list[AorSurge]:
    """Multi-AOR scan for operations too weak in each AOR alone.

    For every time window the penalised subset-scan statistic
        T = max over AOR subsets A of sum_{a in A} (LLR_a - penalty)
          = sum_a max(LLR_a - penalty, 0)
    (Speakman, Somanchi, McFowland & Neill 2016: additive penalty per included AOR;
    with free per-AOR relative risks the subset LLR is the sum of the AOR LLRs) is
    computed over the AOR-days not already in a surge. Its null law comes from the same
    replicates as the AOR scans (independent AORs), summed day by day. Windows with a
    national p per year <= threshold are taken strongest first; their members are the
    AORs contributing (LLR > penalty), each with its own refined window."""
    if len(scans) < 2:
        return []
    n_sim, _, n_glob = null_t.shape
    gum = _fit_gumbel(null_t.reshape(n_sim, -1).max(axis=1), int(covered.sum()))
    t_star = gum.score_for(threshold)

    aors = sorted(scans)
    offs = {a: scans[a].bl.first_day - g0 for a in aors}
    cy = {a: _csum(scans[a].y) for a in aors}
    cm = {a: _csum(scans[a].mu) for a in aors}
    blocked: dict[str, set[tuple[int, int]]] = {a: set() for a in aors}

    def contributions(a: str, w: int) -> np.ndarray:
        sc = scans[a]
        c = np.maximum(sc.scores[w - 1] - penalty, 0.0) * sc.window_ok(w)
        if min_excess > 0:
            c *= (_window_sums(cy[a], w) - _window_sums(cm[a], w)) >= min_excess
        for ww, s in blocked[a]:
            if ww == w:
                c[s] = 0.0
        return c

    contrib = {a: [contributions(a, w) for w in range(1, max_window + 1)] for a in aors}
    out: list[AorSurge] = []
    for _ in range(max_rounds):
        T = np.zeros((max_window, n_glob))
        for a in aors:
            for w in range(1, max_window + 1):
                c = contrib[a][w - 1]
                T[w - 1, offs[a] : offs[a] + len(c)] += c
        k = int(np.argmax(T))
        w_i, t = divmod(k, n_glob)
        t_max = float(T[w_i, t])
        if t_max < t_star:
            break
        w = w_i + 1
        members = [
            a
            for a in aors
            if 0 <= t - offs[a] < len(contrib[a][w_i]) and contrib[a][w_i][t - offs[a]] > 0
        ]
        if len(members) < 2:
            # One AOR alone: that is the AOR scan's business (it was not significant
            # there); block this window for it and look further.
            for a in members:
                blocked[a].add((w, t - offs[a]))
                contrib[a][w_i][t - offs[a]] = 0.0
            continue
        p_joint = float(gum.p_year(t_max))
        for a in members:
            sc = scans[a]
            s = t - offs[a]
            score = float(sc.scores[w_i][s])
            s, e = _refine(sc, s, s + w - 1, 2 * max_window)
            out.append(_aor_surge(sc, s, e, score, "joint", p_joint))
            contrib[a] = [contributions(a, ww) for ww in range(1, max_window + 1)]
    return out


def _day_pvalues(y: np.ndarray, mu: np.ndarray, u: np.ndarray, phi: float) -> np.ndarray:
    """One-sided P(Y >= y) per day under the baseline (NB with variance
    mu + phi mu^2 + u^2, u the baseline's standard error)."""
    extra = np.maximum(phi * mu**2 + u**2, _PHI_FLOOR * mu)
    k = mu**2 / extra
    return stats.nbinom.sf(y - 1, k, k / (k + mu))


def _merge_touching(parts: list[AorSurge], bl: AorBaseline) -> list[AorSurge]:
    """Merge one AOR's selected windows that touch (one ends the day before the next
    starts). Operations often start on a weekend, where the baseline is tiny, so the
    scan may split one operation into a weekend window and a weekday window; both are
    significant on their own and the union is what users mean by the operation. The
    union keeps the strongest part's score and p-value."""
    parts = sorted(parts, key=lambda a: a.start)
    merged: list[list[AorSurge]] = []
    for a in parts:
        if merged and (a.start - merged[-1][-1].end).days == 1:
            merged[-1].append(a)
        else:
            merged.append([a])
    out: list[AorSurge] = []
    for g in merged:
        if len(g) == 1:
            out.append(g[0])
            continue
        w = bl.window(g[0].start, g[-1].end)
        own = [a for a in g if a.evidence == "aor"]
        best = max(own or g, key=lambda a: a.score)
        joint_ps = [a.joint_p_value for a in g if a.joint_p_value is not None]
        out.append(
            AorSurge(
                aor=bl.aor,
                start=g[0].start,
                end=g[-1].end,
                observed=int(round(w["observed"])),
                expected=w["expected"],
                excess=w["excess"],
                excess_low=w["excess_low"],
                excess_high=w["excess_high"],
                score=best.score,
                p_value=best.p_value,
                evidence=best.evidence,
                joint_p_value=min(joint_ps) if joint_ps else None,
            )
        )
    return out


def _group(aor_surges: list[AorSurge], bls: Mapping[str, AorBaseline], n_aors: int) -> list[Surge]:
    """Group AOR surges whose windows overlap (single linkage in time) into operations."""
    items = sorted(aor_surges, key=lambda a: (a.start, a.end, a.aor))
    groups: list[list[AorSurge]] = []
    cur_end: date | None = None
    for a in items:
        if groups and cur_end is not None and a.start <= cur_end:
            groups[-1].append(a)
            cur_end = max(cur_end, a.end)
        else:
            groups.append([a])
            cur_end = a.end
    out: list[Surge] = []
    for g in groups:
        g = sorted(g, key=lambda a: (a.aor, a.start))
        # the operation's figures: every AOR over its own window
        w = window_figures([(bls[a.aor], a.start, a.end) for a in g])
        obs, exp_, lo_x, hi_x = w["observed"], w["expected"], w["excess_low"], w["excess_high"]
        p_min = min(a.p_value for a in g)
        # Sidak over the AORs scanned: chance that at least one of them shows a window
        # as strong as this operation's strongest in a null year ...
        p_op = -math.expm1(n_aors * math.log1p(-min(p_min, 1.0 - 1e-16)))
        # ... or the joint multi-AOR scan's national p per year, if that is smaller.
        joint = [a.joint_p_value for a in g if a.joint_p_value is not None]
        if joint:
            p_op = min(p_op, min(joint))
        start = min(a.start for a in g)
        out.append(
            Surge(
                id=_surge_id(start, [a.aor for a in g]),
                start=start,
                end=max(a.end for a in g),
                observed=int(obs),
                expected=exp_,
                excess=obs - exp_,
                excess_low=lo_x,
                excess_high=hi_x,
                # Sum of per-AOR LLRs = LLR of the multi-AOR cluster with a free
                # relative risk per AOR (independent AOR series).
                score=float(sum(a.score for a in g)),
                p_value=float(p_op),
                aors=tuple(g),
            )
        )
    out.sort(key=lambda s: (s.start, s.id))
    return out


def detect_surges(
    daily: Any,
    *,
    coverage: CoverageArg = None,
    holidays: Iterable[date] | None = None,
    min_excess: float = 0,
    threshold: float = DEFAULT_THRESHOLD,
    max_window: int = DEFAULT_MAX_WINDOW,
    date_from: date | None = None,
    date_to: date | None = None,
    aors: Iterable[str] | None = None,
    incomplete_tail_days: int = DEFAULT_INCOMPLETE_TAIL_DAYS,
    n_sim: int = DEFAULT_N_SIM,
    seed: int = 0,
    trend_knot_days: int = DEFAULT_TREND_KNOT_DAYS,
    baselines: Mapping[str, AorBaseline] | None = None,
    refit: bool = True,
    joint: bool = True,
    joint_penalty: float = DEFAULT_JOINT_PENALTY,
) -> list[Surge]:
    """Find surges in daily counts per AOR.

    ``daily``: columns ``date``, ``aor``, ``n`` (one row per AOR-day; missing days inside
    coverage count as 0; duplicate rows are summed). ``coverage``: one (first, last) pair
    or a list of covered spans for all AORs, a dict of them per AOR (AORs missing from
    it use the data's date range; ``Store.coverage(...).by_area``), or None for the
    data's date range. Days in a gap between spans are uncovered, never zeros. Windows
    never extend outside coverage nor into the last ``incomplete_tail_days`` days before
    the coverage end. ``threshold`` is the largest ``p_value`` reported: the chance that
    a null AOR-year contains a window at least as strong. ``date_from``/``date_to``
    restrict the reported windows (the baseline still uses the whole coverage). Results
    are deterministic for a given ``seed``; surges are sorted by start date.
    """
    if max_window < 1:
        raise ValueError("max_window must be >= 1")
    if not 0 < threshold < 1:
        raise ValueError("threshold is a p-value per AOR-year, in (0, 1)")
    wanted = list(aors) if aors is not None else None
    if baselines is None:
        baselines = fit_baselines(
            daily,
            coverage=coverage,
            holidays=holidays,
            aors=wanted,
            incomplete_tail_days=incomplete_tail_days,
            trend_knot_days=trend_knot_days,
        )
    elif wanted is not None:
        baselines = {a: b for a, b in baselines.items() if a in set(wanted)}
    d_from = _date_to_day(date_from) if date_from is not None else None
    d_to = _date_to_day(date_to) if date_to is not None else None
    use_joint = joint and len(baselines) > 1
    common = dict(
        max_window=max_window,
        n_sim=n_sim,
        seed=seed,
        penalty=joint_penalty if use_joint else None,
    )
    select = dict(threshold=threshold, min_excess=min_excess, max_window=max_window)
    found: list[AorSurge] = []
    scans: dict[str, _AorScan] = {}
    # The joint scan's null: every AOR's penalised replicate scores summed day by day on
    # one calendar (accumulated AOR by AOR so that only one AOR's replicates are held).
    g0 = min((b.first_day for b in baselines.values()), default=0)
    g1 = max((b.first_day + b.n_days for b in baselines.values()), default=0)
    null_t = np.zeros((n_sim, max_window, g1 - g0) if use_joint else (0, 0, 0), np.float32)
    covered = np.zeros(g1 - g0, dtype=bool)
    for aor in sorted(baselines):
        bl = baselines[aor]
        fit_idx = np.flatnonzero(bl.fit_mask)
        if fit_idx.size == 0:
            continue
        f_lo, f_hi = int(fit_idx[0]), int(fit_idx[-1])  # coverage minus incomplete tail
        lo = max(f_lo, d_from - bl.first_day) if d_from is not None else f_lo
        hi = min(f_hi, d_to - bl.first_day) if d_to is not None else f_hi
        if hi < lo:
            continue
        # Pass 1 over the whole fitted range (surges outside the requested dates still
        # must not leak into the baseline), pass 2 after refitting without them.
        sc = _prepare_scan(bl, f_lo, f_hi, **common)
        first = _select_aor(sc, **select)
        if refit and first:
            # Robust weights already ignore strong surge days; moderate ones (+50% for a
            # few days) are not outliers day by day but do lift a smooth trend. Refit
            # with every detected window (and a day either side) left out, then rescan:
            # the excess is then measured against a baseline the surge did not touch.
            excl = np.zeros(bl.n_days, dtype=bool)
            for a in first:
                i, j = bl.window_index(a.start, a.end)
                excl[max(i - 1, 0) : j + 2] = True
            sc = _prepare_scan(bl.refit(excl), lo, hi, **common)
            found.extend(_select_aor(sc, **select))
        else:
            sc.lo, sc.hi = lo, hi
            keep = [a for a in first if _in_range(a, bl, lo, hi)]
            sc.taken[:] = False
            for a in keep:
                i, j = bl.window_index(a.start, a.end)
                sc.taken[i : j + 1] = True
            found.extend(keep)
        if use_joint and sc.null_contrib is not None:
            off = bl.first_day + sc.f_lo - g0
            n = sc.null_contrib.shape[2]
            null_t[:, :, off : off + n] += sc.null_contrib
            covered[off : off + n] = True
        sc.null_contrib = None
        scans[aor] = sc
    if use_joint and len(scans) > 1:
        found.extend(_joint_stage(scans, null_t, covered, g0, penalty=joint_penalty, **select))
    final = {a: sc.bl for a, sc in scans.items()}
    merged: list[AorSurge] = []
    for aor in sorted(final):
        merged.extend(_merge_touching([a for a in found if a.aor == aor], final[aor]))
    return _group(merged, final, max(len(final), 1))


def _in_range(a: AorSurge, bl: AorBaseline, lo: int, hi: int) -> bool:
    i, j = bl.window_index(a.start, a.end)
    return lo <= i and j <= hi
