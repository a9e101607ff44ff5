"""The surge model's figures for a window: observed, expected and excess with its
prediction interval, for one AOR or summed over several. One definition, used by the
surge detector (each AOR's window, each operation), the claims' model baseline and
the report (headline, per-AOR table, daily band, the week).

The expected count of a window is the fitted negative-binomial mean summed over its
covered days; its variance adds the count noise (``mu + phi mu^2`` per day) and the
uncertainty of the fitted baseline (delta method, ``AorBaseline.window_variance``).
The counterfactual count is then taken as negative binomial with that mean and
variance (Poisson when the variance is not above the mean), and the excess interval
is the observed count minus its central quantiles. Method: docs/methods.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from scipy import stats

if TYPE_CHECKING:
    from icetally.analysis.surges import AorBaseline

__all__ = [
    "baselines_without",
    "counterfactual_interval",
    "daily_band",
    "excess_interval",
    "excess_intervals",
    "window_figures",
]


def counterfactual_interval(mean: float, var: float, level: float) -> tuple[float, float]:
    """Central ``level`` interval of a count with this mean and variance: negative
    binomial, or Poisson when the variance is not above the mean."""
    if mean <= 0:
        return 0.0, 0.0
    a = (1.0 - level) / 2.0
    if var > mean * (1.0 + 1e-9):
        k = mean * mean / (var - mean)
        d = stats.nbinom(k, k / (k + mean))
    else:
        d = stats.poisson(mean)
    return float(d.ppf(a)), float(d.ppf(1.0 - a))


def excess_interval(
    observed: float, expected: float, var: float, level: float = 0.95
) -> tuple[float, float]:
    """Prediction interval of excess = observed - counterfactual count."""
    if expected <= 0:
        return observed, observed
    lo, hi = counterfactual_interval(expected, var, level)
    return observed - hi, observed - lo


def excess_intervals(observed: Any, expected: Any, var: Any, level: float = 0.95) -> Any:
    """``excess_interval`` for arrays at once (one scipy call: the campaign scan of
    thousands of counties needs it). Returns (low, high) arrays."""
    import numpy as np

    obs = np.asarray(observed, dtype=float)
    mu = np.asarray(expected, dtype=float)
    v = np.asarray(var, dtype=float)
    a = (1.0 - level) / 2.0
    nb = v > mu * (1.0 + 1e-9)
    safe_mu = np.where(mu > 0, mu, 1.0)
    k = np.where(nb, safe_mu**2 / np.where(nb, v - safe_mu, 1.0), 1.0)
    p = k / (k + safe_mu)
    lo = np.where(nb, stats.nbinom.ppf(a, k, p), stats.poisson.ppf(a, safe_mu))
    hi = np.where(nb, stats.nbinom.ppf(1.0 - a, k, p), stats.poisson.ppf(1.0 - a, safe_mu))
    lo, hi = np.where(mu > 0, lo, 0.0), np.where(mu > 0, hi, 0.0)
    return obs - hi, obs - lo


def window_figures(
    baselines: Mapping[str, AorBaseline] | Iterable[tuple[AorBaseline, date, date]],
    start: date | None = None,
    end: date | None = None,
    *,
    aors: Iterable[str] | None = None,
    level: float = 0.95,
) -> dict[str, Any]:
    """Observed, expected, excess and its interval over a window summed over AORs.

    ``baselines``: fitted baselines per AOR with one window ``start``..``end`` for all
    (``aors`` picks some), or (baseline, start, end) parts, one window each (an
    operation whose AORs have their own windows). Days outside an AOR's coverage are
    left out. ``aors`` in the result: the AORs that had covered days in the window."""
    if isinstance(baselines, Mapping):
        assert start is not None and end is not None
        wanted = set(aors) if aors is not None else None
        parts = [(bl, start, end) for a, bl in baselines.items() if wanted is None or a in wanted]
    else:
        parts = list(baselines)
    c = b = v = 0.0
    used = []
    for bl, s, e in parts:
        i, j = bl.window_index(s, e)
        i, j = max(i, 0), min(j, bl.n_days - 1)
        if j < i:
            continue
        c += float(bl.observed[i : j + 1][bl.covered[i : j + 1]].sum())
        bb, vv = bl.window_variance(i, j)
        b += bb
        v += vv
        used.append(bl.aor)
    lo, hi = excess_interval(c, b, v, level)
    return {
        "observed": c,
        "expected": b,
        "excess": c - b,
        "excess_low": lo,
        "excess_high": hi,
        "aors": used,
    }


def daily_band(
    baselines: Iterable[AorBaseline], day: date, level: float
) -> tuple[float, float, float] | None:
    """(expected, low, high) records on one day summed over the AORs whose coverage
    holds it (count noise only: where ``level`` of normal days fall); None when none
    does."""
    mu = var = 0.0
    seen = False
    for bl in baselines:
        i = bl.window_index(day, day)[0]
        if 0 <= i < bl.n_days and bl.covered[i]:
            m = float(bl.expected[i])
            mu += m
            var += m + bl.phi * m * m
            seen = True
    if not seen:
        return None
    lo, hi = counterfactual_interval(mu, var, level)
    return mu, lo, hi


def baselines_without(
    daily: Any,
    *,
    coverage: Any,
    aors: Iterable[str] | None,
    windows: Mapping[str, Iterable[tuple[date, date]]],
) -> dict[str, AorBaseline]:
    """The surge model's baseline per AOR, refitted without the given windows per AOR
    (and a day either side), so that neither a detected operation nor the window a
    report is about lifts its own baseline. ``windows["*"]`` apply to every AOR."""
    import numpy as np

    from icetally.analysis.surges import fit_baselines

    fits = fit_baselines(daily, coverage=coverage, aors=aors) if len(daily) else {}
    out = {}
    for a, bl in fits.items():
        excl = np.zeros(bl.n_days, dtype=bool)
        for s, e in [*windows.get(a, ()), *windows.get("*", ())]:
            i, j = bl.window_index(s, e)
            excl[max(i - 1, 0) : max(j + 2, 0)] = True
        try:
            out[a] = bl.refit(excl)
        except Exception:  # noqa: BLE001 - too few days left: keep the robust fit
            out[a] = bl
    return out
