"""Speed of campaign detection over 3,000 counties x 3 years of daily counts.

    .venv/bin/python -m benchmarks.campaign_speed [--out FILE.json] [--areas 3000]

Synthetic daily counts (seeded): each county's weekday mean log-uniform in 0.2-40
records a day, a weekday profile with low weekends, holidays, negative-binomial noise,
and a campaign (+100%..+500%, 3-12 weeks) in one county of five; the long
``date, area, n`` table a count table or a store's daily series gives, rows with
``n = 0`` left out. Target: under 30 s. The floor, measured in the same run, is pandas
summing the same table to county-weeks (the least any per-area weekly analysis does);
the ratio is campaigns / floor.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FIRST = date(2023, 1, 1)
DAYS = 1096


def counts_table(areas: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range(FIRST, periods=DAYS, freq="D")
    dow = dates.day_of_week.to_numpy()
    level = np.exp(rng.uniform(np.log(0.2), np.log(40), areas))[:, None]
    prof = np.array([1.0, 1.1, 1.1, 1.05, 0.95, 0.3, 0.2])[dow][None, :]
    mu = level * prof * np.ones((areas, DAYS))
    for a in range(0, areas, 5):  # a campaign in one county of five
        s = int(rng.integers(60, DAYS - 150))
        mu[a, s : s + int(rng.integers(21, 85))] *= 1 + rng.uniform(1, 5)
    phi = 0.05
    y = rng.poisson(mu * rng.gamma(1 / phi, phi, mu.shape))
    codes = np.array([f"{10001 + i:05d}" for i in range(areas)])
    a_idx, d_idx = np.nonzero(y)
    return pd.DataFrame({"date": dates[d_idx], "area": codes[a_idx], "n": y[a_idx, d_idx]})


def run(areas: int = 3000, repeats: int = 2) -> dict[str, Any]:
    from icetally.analysis.campaigns import detect_campaigns

    df = counts_table(areas)
    last = (pd.Timestamp(FIRST) + pd.Timedelta(days=DAYS - 1)).date()
    runs, floors, found = [], [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        weekly = df.groupby(["area", df["date"].dt.to_period("W")])["n"].sum()
        floors.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        found = detect_campaigns(df, coverage=(FIRST, last))
        runs.append(time.perf_counter() - t0)
    assert found is not None
    best, floor = min(runs), min(floors)
    return {
        "benchmark": "campaigns_counties",
        "areas": areas,
        "days": DAYS,
        "rows": len(df),
        "weekly_cells": int(len(weekly)),
        "campaigns_found": len(found.campaigns),
        "level_changes_found": len(found.level_changes),
        "seconds": round(best, 3),
        "seconds_all": [round(r, 3) for r in runs],
        "floor_pandas_weekly_sum_seconds": round(floor, 3),
        "ratio_to_floor": round(best / floor, 1),
        "target_seconds": 30,
        "met": best < 30,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path)
    ap.add_argument("--areas", type=int, default=3000)
    a = ap.parse_args(argv)
    res = run(a.areas)
    print(json.dumps(res, indent=2))
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
