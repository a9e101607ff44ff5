"""Derive the demo generator's calibration from the real national FY2016-2019 arrests.

    .venv/bin/python scripts/calibrate_synth.py [--shared ../shared/data] \
        [--out src/icetally/synth/calibration.json]

Reads the raw ERO-LESA files (FOIA 2019-ICFO-53623) with DuckDB's own CSV reader, not
through icetally's ingest, and writes only aggregates: daily rates per AOR, method class
and weekday; month-of-year and fiscal-year multipliers; holiday and year-end factors;
overdispersion; method, citizenship and gender mixes; the operations that icetally's
surge detector finds in the real at-large series. No record is copied.

What the files cannot give is stated in the JSON as an assumption (``assumptions``):
criminality (no such field in FY2016-19), the county of an arrest (no county field),
detainer volume and outcomes (no national detainer file here), levels before FY2016 and
after 2019-09-01.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from icetally import reference
from icetally.analysis.surges import detect_surges, fit_baselines, holiday_season_days
from icetally.store.db import file_sha256

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ("custodial", "at_large", "other")
COVER = (date(2015, 10, 1), date(2019, 9, 1))  # the release's stated coverage
TAIL_DAYS = 14  # the last two weeks are lagged (still being entered when extracted)
# The article: 597 surge arrests were "part of nearly 1,300 ICE arrests that week", i.e.
# about 700 others. The real FY2019 records give ~690 at-large arrests in an average
# week and ~2,700 arrests of all methods, so the 700 can only be an at-large week.
TARGET_AT_LARGE_WEEK = 700
TARGET_WEEK = (date(2019, 9, 21), date(2019, 9, 27))


def _fy(d: date) -> int:
    return d.year + (d.month >= 10)


def load(shared: Path) -> tuple[duckdb.DuckDBPyConnection, list[dict[str, Any]]]:
    files = sorted((shared / "ice-national-fy2016-2019").glob("EROArrests_FY*.csv.gz"))
    if not files:
        sys.exit(f"no EROArrests_FY*.csv.gz under {shared}/ice-national-fy2016-2019")
    con = duckdb.connect()
    con.execute(
        f"""CREATE TABLE raw AS SELECT
              "Area of Responsibility" AS aor_raw,
              strptime("Apprehension Date", '%m/%d/%Y')::DATE AS d,
              "Apprehension Method" AS method,
              upper(trim("Citizenship")) AS citizenship,
              "Gender" AS gender
            FROM read_csv({[str(f) for f in files]!r}, delim='|', skip=5, header=true,
                          all_varchar=true, quote='"')"""
    )
    # AOR names and method labels are few: map them with the shipped reference tables
    aors = {
        r[0]: reference.aor_code(r[0])
        for r in con.sql("SELECT DISTINCT aor_raw FROM raw").fetchall()
    }
    methods = {
        r[0]: reference.method_class(r[0])
        for r in con.sql("SELECT DISTINCT method FROM raw").fetchall()
    }
    con.execute("CREATE TABLE aor_map (aor_raw VARCHAR, aor VARCHAR)")
    con.executemany("INSERT INTO aor_map VALUES (?, ?)", list(aors.items()))
    con.execute("CREATE TABLE method_map (method VARCHAR, cls VARCHAR)")
    con.executemany("INSERT INTO method_map VALUES (?, ?)", list(methods.items()))
    con.execute(
        """CREATE TABLE a AS SELECT r.d, m.aor, r.method, coalesce(mm.cls, 'other') AS cls,
                  r.citizenship, r.gender
           FROM raw r LEFT JOIN aor_map m USING (aor_raw)
           LEFT JOIN method_map mm USING (method)"""
    )
    info = []
    for f in files:
        info.append({"file": f.name, "sha256": file_sha256(f)})
    return con, info


def daily_cube(con: duckdb.DuckDBPyConnection, aors: list[str]) -> np.ndarray:
    """counts[aor, class, day] over the coverage (zeros filled)."""
    n_days = (COVER[1] - COVER[0]).days + 1
    cube = np.zeros((len(aors), len(CLASSES), n_days))
    ai = {a: i for i, a in enumerate(aors)}
    for aor, cls, d, n in con.sql(
        "SELECT aor, cls, d, count(*) FROM a WHERE aor IS NOT NULL GROUP BY ALL"
    ).fetchall():
        k = (d - COVER[0]).days
        if 0 <= k < n_days:
            cube[ai[aor], CLASSES.index(cls), k] += n
    return cube


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--out", default=str(ROOT / "src/icetally/synth/calibration.json"))
    args = ap.parse_args()
    con, files = load(Path(args.shared))

    aors = [
        r[0]
        for r in con.sql("SELECT DISTINCT aor FROM a WHERE aor IS NOT NULL ORDER BY 1").fetchall()
    ]
    cube = daily_cube(con, aors)
    n_days = cube.shape[2]
    days = [COVER[0] + timedelta(k) for k in range(n_days)]
    wd = np.array([d.weekday() for d in days])
    month = np.array([d.month for d in days])
    fy = np.array([_fy(d) for d in days])
    hol = set(reference.federal_holidays(COVER[0], COVER[1]))
    season = set(holiday_season_days(COVER[0].year, COVER[1].year)) - hol
    is_hol = np.array([d in hol for d in days])
    is_season = np.array([d in season for d in days])
    tail = np.array([d > COVER[1] - timedelta(TAIL_DAYS) for d in days])
    normal = ~is_hol & ~is_season & ~tail

    # --- operations in the real at-large series (icetally's own detector); their days
    # are left out of the rates so that planting them again does not count them twice
    al = CLASSES.index("at_large")
    rows = [(days[k], a, cube[i, al, k]) for i, a in enumerate(aors) for k in range(n_days)]
    daily = {"date": [r[0] for r in rows], "aor": [r[1] for r in rows], "n": [r[2] for r in rows]}
    found = detect_surges(daily, coverage=COVER)
    in_op = np.zeros((len(aors), n_days), dtype=bool)
    operations = []
    for s in found:
        for p in s.aors:
            i = aors.index(p.aor)
            in_op[i, (p.start - COVER[0]).days : (p.end - COVER[0]).days + 1] = True
            operations.append(
                {
                    "surge_id": s.id,
                    "aor": p.aor,
                    "start": p.start.isoformat(),
                    "end": p.end.isoformat(),
                    "observed": int(p.observed),
                    "expected": round(float(p.expected), 1),
                    "excess": round(float(p.excess), 1),
                }
            )

    # --- national month-of-year and fiscal-year multipliers per class (weekdays only)
    month_mult: dict[str, list[float]] = {}
    fy_mult: dict[str, dict[str, float]] = {}
    fys = sorted(set(fy.tolist()))
    for c, cls in enumerate(CLASSES):
        nat = cube[:, c, :].sum(axis=0)
        sel = normal & (wd < 5)
        m = {}
        for f in fys:
            for mo in range(1, 13):
                k = sel & (fy == f) & (month == mo)
                if k.sum() >= 5:
                    m[(f, mo)] = nat[k].mean()
        mm = np.ones(13)
        lvl = {f: 1.0 for f in fys}
        for _ in range(20):  # alternate the two multiplicative factors to convergence
            for f in fys:
                v = [m[(f, mo)] / mm[mo] for mo in range(1, 13) if (f, mo) in m]
                lvl[f] = float(np.mean(v))
            for mo in range(1, 13):
                v = [m[(f, mo)] / lvl[f] for f in fys if (f, mo) in m]
                mm[mo] = float(np.mean(v))
            mm[1:] /= mm[1:].mean()
        month_mult[cls] = [round(float(x), 4) for x in mm[1:]]
        fy_mult[cls] = {str(f): round(lvl[f] / lvl[2019], 4) for f in fys}

    def season_level(c: int) -> np.ndarray:
        cls = CLASSES[c]
        mmv = np.array(month_mult[cls])[month - 1]
        fyv = np.array([fy_mult[cls][str(f)] for f in fy])
        return mmv * fyv

    # --- rates per AOR, class and weekday at the FY2019 level (FY2018-19 days used)
    rates: dict[str, dict[str, list[float]]] = {}
    recent = (fy >= 2018) & normal
    for i, a in enumerate(aors):
        rates[a] = {}
        for c, cls in enumerate(CLASSES):
            lv = season_level(c)
            ok = recent & ~in_op[i]
            rates[a][cls] = [
                round(float(cube[i, c, ok & (wd == w)].sum() / lv[ok & (wd == w)].sum()), 4)
                for w in range(7)
            ]

    def expected(i: int, c: int) -> np.ndarray:
        r = np.array(rates[aors[i]][CLASSES[c]])
        return r[wd] * season_level(c)

    # --- holiday and year-end factors (national, per class)
    holiday_factor: dict[str, float] = {}
    season_factor: dict[str, float] = {}
    for c, cls in enumerate(CLASSES):
        e = np.array([expected(i, c) for i in range(len(aors))]).sum(axis=0)
        y = cube[:, c, :].sum(axis=0)
        holiday_factor[cls] = round(float(y[is_hol & ~tail].sum() / e[is_hol & ~tail].sum()), 4)
        season_factor[cls] = round(
            float(y[is_season & ~tail].sum() / e[is_season & ~tail].sum()), 4
        )

    # --- overdispersion: icetally's robust baseline fit per AOR and class (its phi is
    # the day-to-day noise around a smooth local trend, which is what the generator adds)
    phi: dict[str, dict[str, float]] = {a: {} for a in aors}
    for c, cls in enumerate(CLASSES):
        rows = [(days[k], a, cube[i, c, k]) for i, a in enumerate(aors) for k in range(n_days)]
        d = {"date": [r[0] for r in rows], "aor": [r[1] for r in rows], "n": [r[2] for r in rows]}
        for a, bl in fit_baselines(d, coverage=COVER).items():
            phi[a][cls] = round(min(float(bl.phi), 0.5), 4)
    for a in aors:
        for cls in CLASSES:
            phi[a].setdefault(cls, 0.0)

    # --- the anchor: the normal at-large week of 21-27 September 2019 set to ~700
    def model_week(c: int) -> float:
        cls = CLASSES[c]
        tot = 0.0
        for k in range((TARGET_WEEK[1] - TARGET_WEEK[0]).days + 1):
            d = TARGET_WEEK[0] + timedelta(k)
            lv = month_mult[cls][d.month - 1] * fy_mult[cls][str(_fy(d))]
            tot += sum(rates[a][cls][d.weekday()] for a in aors) * lv
        return tot

    week_al = model_week(al)
    week_all = sum(model_week(c) for c in range(len(CLASSES)))
    fy19 = fy == 2019
    weeks19 = (~tail & fy19).sum() / 7
    real_week_al = float(cube[:, al, ~tail & fy19].sum() / weeks19)
    real_week_all = float(cube[:, :, ~tail & fy19].sum() / weeks19)

    # --- mixes
    def shares(sql: str, min_n: int = 1) -> dict[str, float]:
        got = [(k, n) for k, n in con.sql(sql).fetchall() if k is not None and n >= min_n]
        tot = sum(n for _, n in got)
        return {k: round(n / tot, 6) for k, n in sorted(got, key=lambda kv: -kv[1])}

    methods = {
        cls: shares(
            f"SELECT method, count(*) FROM a WHERE d >= DATE '2017-10-01' AND cls = '{cls}' "
            "GROUP BY 1",
            min_n=20,
        )
        for cls in CLASSES
    }
    gender = {
        cls: shares(f"SELECT gender, count(*) FROM a WHERE cls = '{cls}' GROUP BY 1")
        for cls in CLASSES
    }
    nat_cit = shares(
        "SELECT citizenship, count(*) FROM a WHERE d >= DATE '2017-10-01' GROUP BY 1", min_n=5
    )
    by_aor_cit: dict[str, dict[str, float]] = {}
    for a in aors:
        top = con.sql(
            "SELECT citizenship, count(*) n FROM a WHERE d >= DATE '2017-10-01' AND aor = ? "
            "GROUP BY 1 ORDER BY n DESC, 1",
            params=[a],
        ).fetchall()
        tot = sum(n for _, n in top)
        keep = top[:30]
        by_aor_cit[a] = {k: round(n / tot, 6) for k, n in keep if k}
    no_aor = con.sql("SELECT avg((aor IS NULL)::INT) FROM a WHERE d >= DATE '2017-10-01'")
    aor_missing_share = round(float(no_aor.fetchall()[0][0]), 5)

    # Detainer outcomes: the Pennsylvania detainers 2007-2015 are the only detainer file
    # with lift reasons here; their mix (empty = still open) stands in for the nation.
    pa = Path(args.shared) / "detainers" / "pa-detainers-2007-2015.csv"
    lift_reasons = shares(
        f"SELECT coalesce(lift_reason, ''), count(*) FROM read_csv('{pa}', all_varchar=true) "
        "GROUP BY 1",
        min_n=30,
    )

    # Criminality: the FY2016-19 files have none. Assumed mixes per method class, chosen
    # so that most arrests are of people with convictions or pending charges and jail
    # transfers (custodial) more so than street arrests (at-large), as ICE's published
    # yearly statistics describe; these are not measurements from the files.
    crim = {
        "custodial": {"convicted": 0.72, "pending_charges": 0.20, "immigration_violator": 0.08},
        "at_large": {"convicted": 0.45, "pending_charges": 0.15, "immigration_violator": 0.40},
        "other": {"convicted": 0.30, "pending_charges": 0.10, "immigration_violator": 0.60},
    }

    out = {
        "about": (
            "Aggregates derived by scripts/calibrate_synth.py from the real national ICE "
            "ERO-LESA arrests FY2016-2019 (FOIA 2019-ICFO-53623): they drive the SYNTHETIC "
            "demo release (icetally.synth.demo). No record is copied; only rates and shares."
        ),
        "source": {
            "files": files,
            "coverage": [COVER[0].isoformat(), COVER[1].isoformat()],
            "rows": int(con.sql("SELECT count(*) FROM a").fetchall()[0][0]),
        },
        "classes": list(CLASSES),
        "rates": rates,
        "rates_note": (
            "arrests per day at the FY2019 level, Monday..Sunday, for a month multiplier of 1; "
            "from FY2018-19 days that are not federal holidays, year-end days, the lagged "
            "last two weeks, or inside an operation found by the detector"
        ),
        "month_mult": month_mult,
        "fy_mult": fy_mult,
        "holiday_factor": holiday_factor,
        "season_factor": season_factor,
        "phi": phi,
        "phi_note": "negative-binomial overdispersion (Var = mu + phi mu^2) from "
        "icetally.analysis.surges.fit_baselines on the real daily series",
        "anchor": {
            "target_at_large_week": TARGET_AT_LARGE_WEEK,
            "week": [TARGET_WEEK[0].isoformat(), TARGET_WEEK[1].isoformat()],
            "model_at_large_week": round(week_al, 1),
            "model_all_week": round(week_all, 1),
            "factor": round(TARGET_AT_LARGE_WEEK / week_al, 4),
            "real_fy2019_at_large_week": round(real_week_al, 1),
            "real_fy2019_all_week": round(real_week_all, 1),
            "note": (
                "all levels are multiplied by `factor` so that the normal national at-large "
                "week of 21-27 September 2019 is 700, the figure the article implies "
                "(nearly 1,300 that week minus the 597 surge arrests); the real FY2019 "
                "records give the at-large and all-method weeks above"
            ),
        },
        "methods": methods,
        "gender": gender,
        "citizenship": {"national": nat_cit, "by_aor": by_aor_cit},
        "aor_missing_share": aor_missing_share,
        "operations": operations,
        "operations_note": (
            "AOR windows of the operations icetally's detector finds in the real at-large "
            "series (threshold 0.01); the generator plants their excess again"
        ),
        "assumptions": {
            "criminality": crim,
            "criminality_note": (
                "ASSUMPTION: the FY2016-19 files have no criminality field. Shares per method "
                "class are assumed (most arrests of people with convictions or pending "
                "charges, custodial more than at-large), not measured"
            ),
            "immigration_only_share_of_convicted": 0.22,
            "immigration_only_note": (
                "ASSUMPTION: share of detainer subjects with a conviction whose most serious "
                "conviction is illegal entry or re-entry (the arrests layout has no charge)"
            ),
            "county": "ASSUMPTION: the files have no county; arrests are spread over an "
            "AOR's counties in proportion to population (shipped counties table)",
            "levels_outside": "ASSUMPTION: before FY2016 the FY2016 level, after 2019-09-01 "
            "the FY2019 level; month multipliers repeat every year",
            "detainers": {
                "per_custodial_arrest": 1.0,
                "lift_reasons": lift_reasons,
                "note": (
                    "ASSUMPTION: about one detainer per custodial arrest; lift-reason mix "
                    "from the Pennsylvania detainers 2007-2015 (the only detainer file "
                    "here); in each AOR of the September 2019 surge the most populous county "
                    "declines about half of its detainers (an illustrative synthetic pattern, "
                    "echoing the article's 'uncooperative jurisdictions')"
                ),
                "declining_county_rate": 0.5,
            },
        },
    }
    Path(args.out).write_text(json.dumps(out, indent=1, sort_keys=False) + "\n")
    print(
        f"wrote {args.out}: {len(aors)} AORs, {len(operations)} AOR operation windows; "
        f"model at-large week {week_al:.0f} (real FY2019 {real_week_al:.0f}), "
        f"all methods {week_all:.0f} (real {real_week_all:.0f}); anchor x{out['anchor']['factor']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
