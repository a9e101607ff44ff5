"""Statistics for cooperation signals: Wilson intervals, change points in a binomial
series (binary segmentation with a permutation likelihood-ratio test), and a
difference-in-differences estimate on count series. See docs/methods.md, section
"Jurisdictions and cooperation".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np

Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """Wilson score interval for k successes in n trials (None, None when n == 0).
    Chosen over the normal interval because decline rates are often near 0."""
    if n <= 0:
        return None, None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # at k = 0 (or k = n) the bound is exactly 0 (1); float rounding must not move it
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return lo, hi


def _xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.zeros_like(y, dtype=float)
    mask = x > 0
    out[mask] = x[mask] * np.log(y[mask])
    return out


def _loglik(k: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Binomial log-likelihood at the MLE rate, elementwise (constant terms dropped)."""
    k = k.astype(float)
    n = n.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n > 0, k / np.where(n > 0, n, 1), 0.0)
        return _xlogy(k, p) + _xlogy(n - k, 1 - p)


def _best_split(k: np.ndarray, n: np.ndarray, min_n: int) -> tuple[int, float]:
    """Split index t (segment = [0,t) and [t,len)) maximizing the likelihood ratio of two
    rates vs one, with at least ``min_n`` trials on each side; (-1, 0) when none."""
    ck, cn = np.cumsum(k), np.cumsum(n)
    K, N = ck[-1], cn[-1]
    left_k, left_n = ck[:-1], cn[:-1]
    right_k, right_n = K - left_k, N - left_n
    ok = (left_n >= min_n) & (right_n >= min_n)
    if not ok.any():
        return -1, 0.0
    llr = (
        _loglik(left_k, left_n)
        + _loglik(right_k, right_n)
        - _loglik(np.array([K]), np.array([N]))[0]
    )
    llr = np.where(ok, llr, -np.inf)
    t = int(np.argmax(llr))
    return t + 1, float(llr[t])


def _max_llr_perm(
    k: np.ndarray, n: np.ndarray, min_n: int, rng: np.random.Generator, b: int
) -> np.ndarray:
    """Max split LLR of ``b`` random reorderings of the days (the null: the days are
    exchangeable, i.e. one rate with whatever day-to-day noise the data has)."""
    m = len(k)
    idx = np.argsort(rng.random((b, m)), axis=1)
    kk, nn = k[idx].astype(float), n[idx].astype(float)
    ck, cn = np.cumsum(kk, axis=1)[:, :-1], np.cumsum(nn, axis=1)[:, :-1]
    K, N = float(k.sum()), float(n.sum())
    rk, rn = K - ck, N - cn
    whole = _loglik(np.array([K]), np.array([N]))[0]
    llr = _loglik(ck, cn) + _loglik(rk, rn) - whole
    llr = np.where((cn >= min_n) & (rn >= min_n), llr, -np.inf)
    return llr.max(axis=1)


@dataclass
class Change:
    index: int  # first day index of the new regime
    llr: float
    p_value: float


def binary_segmentation(
    k: np.ndarray,
    n: np.ndarray,
    *,
    min_n: int = 30,
    alpha: float = 0.01,
    min_shift: float = 0.05,
    max_changes: int = 5,
    permutations: int = 199,
    seed: int = 0,
) -> list[Change]:
    """Change points in a binomial series (k successes of n per time step).

    Binary segmentation: find the split with the largest likelihood ratio, keep it when a
    permutation test says it is significant (p < alpha) and the two rates differ by at
    least ``min_shift``, then look again on each side. Deterministic for a given seed."""
    rng = np.random.default_rng(seed)
    found: list[Change] = []
    stack = [(0, len(k))]
    while stack and len(found) < max_changes:
        lo, hi = stack.pop()
        if hi - lo < 2 or n[lo:hi].sum() < 2 * min_n:
            continue
        sk, sn = k[lo:hi], n[lo:hi]
        t, llr = _best_split(sk, sn, min_n)
        if t <= 0:
            continue
        r1 = sk[:t].sum() / max(sn[:t].sum(), 1)
        r2 = sk[t:].sum() / max(sn[t:].sum(), 1)
        if abs(r2 - r1) < min_shift:
            continue
        null = _max_llr_perm(sk, sn, min_n, rng, permutations)
        p = (1 + int((null >= llr - 1e-9).sum())) / (permutations + 1)
        if p >= alpha:
            continue
        found.append(Change(lo + t, llr, p))
        stack.append((lo, lo + t))
        stack.append((lo + t, hi))
    return sorted(found, key=lambda c: c.index)


@dataclass
class DiD:
    """Difference in differences of a per-period count (e.g. at-large arrests a month)."""

    treated_before: float
    treated_after: float
    control_before: float
    control_after: float
    estimate: float  # (treated after - before) - (control after - before), per period
    se: float | None
    low: float | None
    high: float | None
    periods_before: int
    periods_after: int
    controls: int


def did(
    treated: dict[date, float],
    controls: list[dict[date, float]],
    change: date,
) -> DiD:
    """Mean per-period outcome before/after ``change`` in the treated unit and the mean
    of the comparison units. The standard error comes from the variance of the
    treated-minus-control gap across periods (periods treated as independent; see
    docs/methods.md for what this assumes)."""
    periods = sorted(set(treated) | {p for c in controls for p in c})
    gap_before, gap_after = [], []
    tb, ta, cb, ca = [], [], [], []
    for p in periods:
        tv = treated.get(p, 0.0)
        cv = float(np.mean([c.get(p, 0.0) for c in controls])) if controls else 0.0
        if p < change:
            tb.append(tv)
            cb.append(cv)
            gap_before.append(tv - cv)
        else:
            ta.append(tv)
            ca.append(cv)
            gap_after.append(tv - cv)

    def mean(x: list[float]) -> float:
        return float(np.mean(x)) if x else float("nan")

    est = mean(gap_after) - mean(gap_before)
    se = None
    if len(gap_before) > 1 and len(gap_after) > 1:
        se = math.sqrt(
            float(np.var(gap_before, ddof=1)) / len(gap_before)
            + float(np.var(gap_after, ddof=1)) / len(gap_after)
        )
    return DiD(
        treated_before=mean(tb),
        treated_after=mean(ta),
        control_before=mean(cb),
        control_after=mean(ca),
        estimate=est,
        se=se,
        low=est - Z95 * se if se is not None else None,
        high=est + Z95 * se if se is not None else None,
        periods_before=len(tb),
        periods_after=len(ta),
        controls=len(controls),
    )
