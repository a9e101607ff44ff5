"""The expected number of records in a window had nothing unusual happened.

``window_baseline`` is a small, pure function over daily counts; it knows nothing about
the store. It is the baseline ``icetally check`` uses for the ``expected`` of ``count``
and ``operation`` claims, and it is meant to be swappable (any function with the same
signature returning a ``Baseline`` will do, e.g. one built on the surge module's fitted
model).

Method ("same-weekday interquartile mean"):

1. For every day ``d`` of the window, the reference days are the same weekday in the
   ``weeks`` weeks before the window and the ``weeks`` weeks after it (``d - 7k`` and
   ``d + 7k``), skipping days inside the window itself, federal holidays and days outside
   the release's coverage; when a reference day is skipped the search goes one week
   further out, so each side still supplies up to ``weeks`` days. Days inside coverage
   that have no records count as 0.
2. The day's expectation is the interquartile mean of its reference values (the mean of
   the middle half): robust to another operation or an outage in the reference weeks,
   and less jumpy than a median on small counts.
3. ``expected`` is the sum over the window's days.
4. The interval: the window is laid over each of the reference weeks in turn (shifted by
   whole weeks so it does not touch itself), giving up to ``2 * weeks`` "normal" window
   totals (a skipped day inside a shifted window takes that day's expectation). ``low``
   and ``high`` are their 10th and 90th percentiles: the range in which eight normal
   weeks out of ten fall.

Same-weekday references matter because ICE arrest counts have a strong weekly cycle
(few weekend arrests); weeks on both sides cancel a slow trend to first order.

>>> from datetime import date, timedelta
>>> days = {date(2020, 1, 6) + timedelta(i): 10 for i in range(140)}
>>> b = window_baseline(days, date(2020, 3, 2), date(2020, 3, 6),
...                     coverage=(date(2020, 1, 6), date(2020, 5, 24)))
>>> (b.expected, b.low, b.high)
(50.0, 50.0, 50.0)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from icetally.errors import IcetallyError

__all__ = [
    "Baseline",
    "BaselineError",
    "window_baseline",
    "model_window_baseline",
    "DEFAULT_WEEKS",
    "MIN_REFERENCE_DAYS",
]

DEFAULT_WEEKS = 8
# Fewer than this many reference values for a day (e.g. a window at the very edge of a
# short release) gives no baseline rather than a guess.
MIN_REFERENCE_DAYS = 4
# Percentiles of the shifted-window totals that bound the interval.
_LOW_Q, _HIGH_Q = 0.10, 0.90
# How far past `weeks` the search may go to replace skipped days.
_EXTRA_WEEKS = 4


class BaselineError(IcetallyError, ValueError):
    """The window has too few usable reference days for a baseline."""


@dataclass(frozen=True)
class Baseline:
    expected: float
    low: float
    high: float
    method: str
    days_used: int  # reference day-values used, over all days of the window
    per_day: dict[date, float] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, object]:
        return {
            "expected": round(self.expected, 1),
            "low": round(self.low, 1),
            "high": round(self.high, 1),
            "method": self.method,
            "days_used": self.days_used,
        }


def interquartile_mean(values: list[float]) -> float:
    """Mean of the middle half (25% trimmed from each end, fractional at the edges)."""
    xs = sorted(values)
    n = len(xs)
    if n == 0:
        raise ValueError("no values")
    if n < 4:
        return sum(xs) / n
    # Weighted so that exactly n/4 values are cut from each end, even when n/4 is not
    # an integer (the boundary values get a partial weight).
    cut = n / 4
    total = 0.0
    weight = 0.0
    for i, x in enumerate(xs):
        w = max(0.0, min(i + 1, n - cut) - max(i, cut))
        total += w * x
        weight += w
    return total / weight


def _quantile(xs: list[float], q: float) -> float:
    s = sorted(xs)
    pos = q * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def reference_span(start: date, end: date, weeks: int = DEFAULT_WEEKS) -> tuple[date, date]:
    """The days whose counts ``window_baseline`` may read: query at least this span."""
    reach = 7 * (weeks + _EXTRA_WEEKS + math.ceil(((end - start).days + 1) / 7))
    return start - timedelta(days=reach), end + timedelta(days=reach)


def window_baseline(
    daily: Mapping[date, int],
    start: date,
    end: date,
    *,
    coverage: tuple[date, date],
    holidays: Iterable[date] = (),
    weeks: int = DEFAULT_WEEKS,
) -> Baseline:
    """Expected records in ``[start, end]`` (inclusive) from the same weekdays around it.

    ``daily`` maps days to counts (missing days inside ``coverage`` are 0). Raises
    ``BaselineError`` when a window day has fewer than ``MIN_REFERENCE_DAYS`` usable
    reference days.
    """
    if end < start:
        raise ValueError(f"window end {end} is before its start {start}")
    cov_lo, cov_hi = coverage
    skip = set(holidays)
    length = (end - start).days + 1
    window = [start + timedelta(days=i) for i in range(length)]
    in_window = set(window)

    def usable(d: date) -> bool:
        return cov_lo <= d <= cov_hi and d not in skip and d not in in_window

    def value(d: date) -> float:
        return float(daily.get(d, 0))

    per_day: dict[date, float] = {}
    used = 0
    max_k = weeks + _EXTRA_WEEKS + math.ceil(length / 7)
    for d in window:
        refs: list[float] = []
        for sign in (-1, 1):
            found = 0
            for k in range(1, max_k + 1):
                r = d + timedelta(days=sign * 7 * k)
                if usable(r):
                    refs.append(value(r))
                    found += 1
                    if found == weeks:
                        break
        if len(refs) < MIN_REFERENCE_DAYS:
            raise BaselineError(
                f"only {len(refs)} usable reference days for {d} "
                f"(coverage {cov_lo} to {cov_hi}); at least {MIN_REFERENCE_DAYS} needed"
            )
        per_day[d] = interquartile_mean(refs)
        used += len(refs)
    expected = sum(per_day.values())

    # Whole-week shifts that keep the shifted window clear of the window itself.
    first = math.ceil(length / 7)
    totals: list[float] = []
    for sign in (-1, 1):
        for k in range(first, first + weeks):
            shift = timedelta(days=sign * 7 * k)
            days = [d + shift for d in window]
            real = [usable(s) for s in days]
            if sum(real) * 2 < length:  # mostly imputed: says little about the spread
                continue
            totals.append(
                sum(
                    value(s) if ok else per_day[d]
                    for d, s, ok in zip(window, days, real, strict=True)
                )
            )
    if len(totals) >= MIN_REFERENCE_DAYS:
        low = min(_quantile(totals, _LOW_Q), expected)
        high = max(_quantile(totals, _HIGH_Q), expected)
    else:
        low = high = expected
    return Baseline(
        expected=expected,
        low=low,
        high=high,
        method=f"same-weekday interquartile mean, {weeks} weeks before and after",
        days_used=used,
        per_day=per_day,
    )


def model_window_baseline(
    daily: Mapping[date, int],
    start: date,
    end: date,
    *,
    coverage: tuple[date, date],
    holidays: Iterable[date] = (),
) -> Baseline:
    """The surge detector's baseline for one window, with ``window_baseline``'s
    signature (``icetally.check(..., baseline=model_window_baseline)``).

    A robust negative-binomial model of the daily series (trend, weekday, holidays; see
    docs/methods.md, "Surge detection") fitted with the window's own days excluded;
    ``low``/``high`` bound the window's normal total at 80% (as ``window_baseline``'s
    10th-90th percentiles do). Less transparent than the same-weekday mean, but the
    same model the surge figures use."""
    import numpy as np
    import pandas as pd

    from icetally.analysis.surges import fit_baselines

    days = sorted(d for d in daily if coverage[0] <= d <= coverage[1])
    if not days:
        raise BaselineError("no days inside coverage")
    frame = pd.DataFrame({"date": days, "aor": "ALL", "n": [daily[d] for d in days]})
    fits = fit_baselines(
        frame, coverage=coverage, holidays=list(holidays) or None, incomplete_tail_days=0
    )
    if "ALL" not in fits:
        raise BaselineError("no days to fit a model on")
    fit = fits["ALL"]
    i, j = fit.window_index(start, end)
    if j < 0 or i >= fit.n_days:
        raise BaselineError("window outside coverage")
    exclude = np.zeros(fit.n_days, dtype=bool)
    exclude[max(i, 0) : j + 1] = True
    fit = fit.refit(exclude)
    w = fit.window(start, end, level=0.8)
    return Baseline(
        expected=w["expected"],
        low=max(w["observed"] - w["excess_high"], 0.0),
        high=w["observed"] - w["excess_low"],
        method="robust negative-binomial model of the daily series, window excluded "
        "(the surge baseline)",
        days_used=int((fit.fit_mask & ~exclude).sum()),
    )
