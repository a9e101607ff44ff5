"""Ingest speed against the reader (issue #17), each a ratio to a floor measured in the
same run:

- **csv**: ``icetally ingest`` of the FY2016-19 national arrests (pipe-delimited,
  gzipped) against DuckDB's ``read_csv`` of the same files, all columns as text,
  materialized in a table (the floor: reading, nothing cleaned, nothing written).
  Target <= 2.
- **xlsx**: ingest of a generated 1,000,000-row workbook in the DDP 2026 arrests layout
  (SYNTHETIC values) against a bare fastexcel parse of every sheet to Arrow. Targets:
  time <= 1.5, peak memory <= 1.25.

    python -m benchmarks.bench_ingest --out bench-results [--only csv,xlsx] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import procs

CSV_TARGET = 2.0
XLSX_TARGET = 1.5
XLSX_MEMORY_TARGET = 1.25


def national_arrests() -> list[Path]:
    return sorted(procs.NATIONAL.glob("EROArrests_FY20*.csv.gz"))


def read_csv_floor(files: list[Path], *, delim: str = "|", skip: int = 5) -> list[str]:
    """DuckDB's own reader: every column as text, materialized, nothing else."""
    script = (
        "import duckdb, sys; con = duckdb.connect(); "
        f'con.execute("CREATE TABLE t AS SELECT * FROM read_csv({[str(f) for f in files]!r}, '
        f"delim='{delim}', skip={skip}, header=true, all_varchar=true)\"); "
        "print(con.execute('SELECT count(*) FROM t').fetchone()[0])"
    )
    return [procs.PYTHON, "-c", script]


def ingest_command(files: list[Path], db: Path) -> list[str]:
    return [*procs.CLI, "ingest", *map(str, files), "--db", str(db)]


def bench_csv(out: Path, *, repeats: int = 3) -> dict[str, Any]:
    files = national_arrests()
    if not files:
        return {"skipped": f"no national arrests at {procs.NATIONAL}"}
    tmp = Path(tempfile.mkdtemp(prefix="icetally-bench-csv-"))
    db = tmp / "bench.duckdb"
    try:
        results = procs.versus(
            {"read_csv": read_csv_floor(files), "icetally_ingest": ingest_command(files, db)},
            floor="read_csv",
            repeats=repeats,
            before={"icetally_ingest": lambda: _remove(db)},
        )
        import duckdb

        with duckdb.connect(str(db), read_only=True) as con:
            rows, quarantined = con.execute(
                "SELECT sum(rows_loaded), sum(rows_quarantined) FROM releases"
            ).fetchone()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ratio = results["icetally_ingest"]["ratio_to_floor"]
    seconds = results["icetally_ingest"]["median_seconds"]
    report = {
        "benchmark": "ingest_csv",
        "what": "icetally ingest of the FY2016-19 national arrests (pipe, gzip)",
        "floor": "DuckDB read_csv of the same files, all_varchar, materialized",
        "files": [f.name for f in files],
        "rows_loaded": int(rows),
        "rows_quarantined": int(quarantined),
        "rows_per_second": round(int(rows) / seconds),
        "results": results,
        "ratio": ratio,
        "targets": {"ratio": procs.target(ratio, CSV_TARGET)},
        "machine": procs.machine(),
    }
    (out / "bench-ingest-csv.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def bench_xlsx(out: Path, *, repeats: int = 3, rows: int | None = None) -> dict[str, Any]:
    """fastexcel's parse and icetally's ingest of the same workbook, each in its own
    process (benchmarks.bench_workbook's variants), interleaved."""
    from benchmarks import bench_workbook

    rows = rows or int(os.environ.get("ICETALLY_BENCH_WORKBOOK_ROWS", "1000000"))
    path, gen_seconds = bench_workbook.workbook(rows)
    variants = ("fastexcel", "icetally_ingest")
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    for _ in range(repeats):
        for v in variants:
            runs[v].append(bench_workbook.measure(v, path))
    results: dict[str, Any] = {}
    for v, rs in runs.items():
        results[v] = {
            "median_seconds": round(statistics.median(r["seconds"] for r in rs), 3),
            "median_peak_mb": round(statistics.median(r["peak_rss_mb"] for r in rs), 1),
            "seconds_all": [r["seconds"] for r in rs],
            "rows": rs[0]["rows"],
        }
    pairs = list(zip(runs["icetally_ingest"], runs["fastexcel"], strict=True))
    ratio = round(statistics.median(a["seconds"] / b["seconds"] for a, b in pairs), 2)
    memory = round(statistics.median(a["peak_rss_mb"] / b["peak_rss_mb"] for a, b in pairs), 3)
    report = {
        "benchmark": "ingest_xlsx",
        "what": f"icetally ingest of a {rows:,}-row DDP 2026 arrests workbook (SYNTHETIC)",
        "floor": "fastexcel load_sheet(...).to_arrow() of every sheet, same workbook",
        "workbook": {
            "rows": rows,
            "bytes": path.stat().st_size,
            "generate_seconds": None if gen_seconds is None else round(gen_seconds, 1),
        },
        "rows_per_second": round(rows / results["icetally_ingest"]["median_seconds"]),
        "results": results,
        "ratio": ratio,
        "peak_memory_ratio": memory,
        "targets": {
            "ratio": procs.target(ratio, XLSX_TARGET),
            "peak_memory_ratio": procs.target(memory, XLSX_MEMORY_TARGET),
        },
        "machine": procs.machine(),
    }
    (out / "bench-ingest-xlsx.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def _remove(db: Path) -> None:
    for p in (db, db.with_name(db.name + ".wal")):
        p.unlink(missing_ok=True)


def run(out: Path, *, only: tuple[str, ...] = ("csv", "xlsx"), repeats: int = 3) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {}
    if "csv" in only:
        print("[bench_ingest] csv ...", file=sys.stderr, flush=True)
        report["csv"] = bench_csv(out, repeats=repeats)
    if "xlsx" in only:
        print("[bench_ingest] xlsx ...", file=sys.stderr, flush=True)
        report["xlsx"] = bench_xlsx(out, repeats=repeats)
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--out", default="bench-results")
    ap.add_argument("--only", default="csv,xlsx")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    only = tuple(x for x in args.only.split(",") if x)
    report = run(Path(args.out), only=only, repeats=args.repeats)
    brief = {k: {"ratio": v.get("ratio"), "targets": v.get("targets")} for k, v in report.items()}
    print(json.dumps(brief, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
