"""DuckDB vs Spark (local mode) on the same questions over a large synthetic arrests
table: ``count --by aor,month`` and ``surges``, timed in one run, as a ratio.

    python -m benchmarks.bench_spark --out bench-results [--rows 20000000] [--repeats 3]

The table (SYNTHETIC values, canonical schema) is built straight in DuckDB with SQL
over ``range(rows)``: dates uniform over FY2016-FY2026, AOR codes skewed the way real
AOR volumes are (a few large AORs, a long tail), method classes weighted 70/25/5
(custodial/at-large/other), citizenship from a short weighted list. The demo generator
writes xlsx, which at 20 million rows would take far longer than the queries measured
here. The store is cached (``$ICETALLY_BENCH_CACHE`` or the temp dir) keyed by rows,
seed and table version.

Both backends answer through the same ``icetally.count`` / ``icetally.surges`` calls on
an open connection. Spark reads a Parquet export of the store (its time is reported,
not included); its session start is reported separately too. Each count is run once
to warm up (JIT, file caches) and then ``repeats`` times; the ratio is of the medians.
Surges are timed once per backend after the counts (the detector itself runs in
Python on the daily series either way; ``series_*`` times the backend's part alone).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.bench_workbook import cache_dir

ROOT = Path(__file__).resolve().parents[1]
SEED = 2026
TABLE_VERSION = 1  # bump when the SQL below changes
FY_START = "2015-10-01"  # FY2016
FY_DAYS = 4018  # through 2026-09-30, the end of FY2026

# Rough shares of arrests by AOR (a few large AORs, a long tail); any skew will do,
# uniform would flatter hash aggregation.
AOR_WEIGHTS: dict[str, int] = {
    "HOU": 10, "SNA": 9, "DAL": 9, "ATL": 8, "LOS": 6, "PHO": 6, "MIA": 6, "NOL": 5,
    "CHI": 5, "SND": 4, "NYC": 4, "ELP": 4, "SFR": 3, "SEA": 3, "SLC": 3, "DEN": 3,
    "WAS": 3, "NEW": 2, "SPM": 2, "PHI": 2, "BAL": 1, "BOS": 1, "BUF": 1, "DET": 1,
    "HLG": 2,
}  # fmt: skip
COUNTRIES: list[tuple[str, str, str, int]] = [
    ("MEXICO", "MEX", "North America", 55),
    ("GUATEMALA", "GTM", "North America", 14),
    ("HONDURAS", "HND", "North America", 12),
    ("EL SALVADOR", "SLV", "North America", 7),
    ("DOMINICAN REPUBLIC", "DOM", "North America", 2),
    ("ECUADOR", "ECU", "South America", 2),
    ("COLOMBIA", "COL", "South America", 2),
    ("VENEZUELA", "VEN", "South America", 2),
    ("INDIA", "IND", "Asia", 1),
    ("CHINA, PEOPLES REPUBLIC OF", "CHN", "Asia", 1),
    ("HAITI", "HTI", "North America", 1),
    ("NIGERIA", "NGA", "Africa", 1),
]


def _pick(weights: list[int], u: str) -> str:
    """SQL: the 1-based index chosen by uniform ``u`` in [0,1) under ``weights``."""
    total = sum(weights)
    cases, acc = [], 0
    for i, w in enumerate(weights[:-1], start=1):
        acc += w
        cases.append(f"WHEN {u} < {acc / total!r} THEN {i}")
    return f"CASE {' '.join(cases)} ELSE {len(weights)} END"


def build_store(path: Path, rows: int) -> None:
    """The synthetic arrests table, canonical schema, ``rows`` rows."""
    from icetally.store.db import connect, writable

    aors = list(AOR_WEIGHTS)
    aor_list = "[" + ", ".join(f"'{a}'" for a in aors) + "]"
    c_names = "[" + ", ".join("'" + c[0].replace("'", "''") + "'" for c in COUNTRIES) + "]"
    c_iso = "[" + ", ".join(f"'{c[1]}'" for c in COUNTRIES) + "]"
    c_cont = "[" + ", ".join(f"'{c[2]}'" for c in COUNTRIES) + "]"
    # hash(i, salt) gives independent, reproducible uniforms whatever the thread count
    # (random() with setseed is not reproducible under parallel execution).
    u = "((hash(i, {s}) % 1000000007) / 1000000007.0)"
    tmp = path.with_suffix(".partial")
    tmp.unlink(missing_ok=True)
    con = connect(tmp)
    try:
        con.execute("SET enable_progress_bar = false")
        columns = [
            *("event_date", "aor", "aor_raw", "citizenship", "country_iso3", "continent"),
            *("method", "method_class", "criminality", "fiscal_year", "administration"),
            *("gender", "n", "duplicate_likely", "release_id", "source_file", "source_row"),
        ]
        con.execute(
            f"""
            INSERT INTO {writable(con, "arrests", columns)} ({", ".join(columns)})
            SELECT d, aor, aor, list_element({c_names}, ci), list_element({c_iso}, ci),
                list_element({c_cont}, ci),
                CASE mc WHEN 1 THEN 'CAP Local Incarceration' WHEN 2 THEN 'Located'
                        ELSE 'Other efforts' END,
                CASE mc WHEN 1 THEN 'custodial' WHEN 2 THEN 'at_large' ELSE 'other' END,
                NULL,
                CAST(year(d + INTERVAL 3 MONTH) AS INTEGER),
                CASE WHEN d < DATE '2017-01-20' THEN 'obama'
                     WHEN d < DATE '2021-01-20' THEN 'trump1'
                     WHEN d < DATE '2025-01-20' THEN 'biden' ELSE 'trump2' END,
                CASE WHEN {u.format(s=5)} < 0.88 THEN 'Male' ELSE 'Female' END,
                1, false, 'synthetic-' || CAST(year(d + INTERVAL 3 MONTH) AS VARCHAR),
                'synthetic-arrests.parquet', i + 1
            FROM (
                SELECT i,
                    DATE '{FY_START}' + CAST(floor({u.format(s=1)} * {FY_DAYS}) AS INTEGER)
                        AS d,
                    list_element({aor_list}, {_pick(list(AOR_WEIGHTS.values()), u.format(s=2))})
                        AS aor,
                    {_pick([70, 25, 5], u.format(s=3))} AS mc,
                    {_pick([c[3] for c in COUNTRIES], u.format(s=4))} AS ci
                FROM range({rows}) r(i)
            )
            """
        )
        # A releases row per synthetic fiscal year, so coverage (surges) has spans.
        con.execute(
            f"""
            INSERT INTO releases (release_id, sha256, file_name, format, dataset,
                rows_read, rows_loaded, rows_quarantined, coverage_start, coverage_end,
                min_event_date, max_event_date, title, ingested_at, icetally_version)
            SELECT release_id, sha256(release_id), 'synthetic-arrests.parquet', 'synthetic',
                'arrests', count(*), count(*), 0, min(event_date), max(event_date),
                min(event_date), max(event_date), 'SYNTHETIC benchmark table (seed {SEED})',
                now()::TIMESTAMP, 'bench'
            FROM arrests GROUP BY release_id
            """
        )
        con.execute("CHECKPOINT")
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        raise
    con.close()
    tmp.replace(path)


def store(rows: int) -> tuple[Path, float | None]:
    """The cached synthetic store; (path, seconds to build or None when cached)."""
    path = cache_dir() / f"arrests-synthetic-{rows}-s{SEED}-v{TABLE_VERSION}.duckdb"
    if path.is_file():
        return path, None
    t0 = time.perf_counter()
    build_store(path, rows)
    return path, time.perf_counter() - t0


def _time(fn: Callable[[], Any], repeats: int, warmup: bool = True) -> dict[str, Any]:
    first = None
    if warmup:
        t0 = time.perf_counter()
        fn()
        first = time.perf_counter() - t0
    runs = []
    result = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - t0)
    return {
        "first_seconds": round(first, 3) if first is not None else None,
        "seconds_all": [round(r, 3) for r in runs],
        "seconds_median": round(statistics.median(runs), 3),
        "result": result,
    }


def _without_query(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "query"}


def run(out_dir: str | os.PathLike[str], rows: int = 20_000_000, repeats: int = 3) -> dict:
    """Time both backends in one run; write ``bench-spark.json`` into ``out_dir``."""
    import ibis

    from icetally.api import surges
    from icetally.query.count import count
    from icetally.query.filters import Slice
    from icetally.query.series import daily_series

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    try:
        from icetally.query import spark as icespark
    except ImportError as exc:
        report: dict[str, Any] = {"skipped": f"the spark extra is not installed: {exc}"}
        (out / "bench-spark.json").write_text(json.dumps(report, indent=2) + "\n")
        return report
    from icetally.store.export import export_parquet

    db, built = store(rows)
    report = {
        "benchmark": "duckdb_vs_spark_local",
        "rows": rows,
        "table": "SYNTHETIC arrests, FY2016-FY2026, built in DuckDB SQL",
        "store": str(db),
        "store_mb": round(db.stat().st_size / 2**20, 1),
        "build_seconds": round(built, 1) if built is not None else "cached",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "spark_master": os.environ.get(icespark.ENV_MASTER) or icespark.DEFAULT_MASTER,
    }
    duck = ibis.duckdb.connect(str(db), read_only=True)
    with tempfile.TemporaryDirectory(prefix="icetally-bench-spark-", dir=cache_dir()) as tmp:
        t0 = time.perf_counter()
        export_parquet(db, Path(tmp) / "export")
        report["export_seconds"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        spark = icespark.backend(Path(tmp) / "export")
        report["spark_connect_seconds"] = round(time.perf_counter() - t0, 2)
        report["spark_version"] = spark.version

        def count_on(con: Any, name: str) -> Callable[[], Any]:
            return lambda: count("arrests", con=con, backend=name, by="aor,month")

        d = _time(count_on(duck, "duckdb"), repeats)
        s = _time(count_on(spark, "spark"), repeats)
        same = d["result"].rows == s["result"].rows and d["result"].total == s["result"].total
        report["count_aor_month"] = {
            "groups": len(d["result"].rows),
            "total": d["result"].total,
            "identical": same,
            "duckdb": {k: v for k, v in d.items() if k != "result"},
            "spark": {k: v for k, v in s.items() if k != "result"},
            "ratio_spark_to_duckdb": round(s["seconds_median"] / d["seconds_median"], 1),
        }

        slc = Slice.build("arrests")
        ds = _time(lambda: len(daily_series(duck, slc)), 1, warmup=False)
        ss = _time(lambda: len(daily_series(spark, slc)), 1, warmup=False)
        dsur = _time(lambda: surges("arrests", con=duck).to_dict(), 1, warmup=False)
        ssur = _time(lambda: surges("arrests", con=spark, backend="spark").to_dict(), 1, False)
        report["surges"] = {
            "surges_found": len(dsur["result"]["surges"]),
            "identical": _without_query(dsur["result"]) == _without_query(ssur["result"]),
            "duckdb_seconds": dsur["seconds_median"],
            "spark_seconds": ssur["seconds_median"],
            "ratio_spark_to_duckdb": round(ssur["seconds_median"] / dsur["seconds_median"], 1),
            "series_rows": ds["result"],
            "series_duckdb_seconds": ds["seconds_median"],
            "series_spark_seconds": ss["seconds_median"],
            "series_ratio_spark_to_duckdb": round(ss["seconds_median"] / ds["seconds_median"], 1),
        }
        icespark.reset()
    duck.disconnect()
    (out / "bench-spark.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench-results")
    ap.add_argument("--rows", type=int, default=20_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args(argv)
    report = run(a.out, a.rows, a.repeats)
    print(json.dumps(report, indent=2, default=str))
    c = report.get("count_aor_month")
    if c:
        print(
            f"count --by aor,month over {a.rows:,} rows: DuckDB {c['duckdb']['seconds_median']} s, "
            f"Spark local {c['spark']['seconds_median']} s, ratio {c['ratio_spark_to_duckdb']}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
