"""`make bench`: every benchmark, each writing JSON into the output folder, and a
summary (`bench-results/summary.json`).

Figures are ratios against a baseline measured in the same run (machines here are
shared and noisy); absolute seconds are reported for context only.

    python -m benchmarks.run --out bench-results \
        [--only ingest_csv,ingest_xlsx,startup,release,official,workbook,surges,campaigns,...]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
NATIONAL = SHARED / "ice-national-fy2016-2019"


def bench_official(out: Path) -> dict[str, Any]:
    """Ingest of ICE's 8 detention statistics workbooks (FY2019-FY2026), against a bare
    fastexcel read of every sheet of the same files in the same run (the floor: cells
    parsed, nothing found, nothing written). Target: under 15 s."""
    import fastexcel

    from icetally import ingest

    folder = SHARED / "detention-stats"
    files = sorted(folder.glob("*.xlsx"))
    if not files:
        return {"skipped": f"no detention statistics workbooks at {folder}"}
    runs = []
    for _ in range(2):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            res = ingest(files, db=Path(tmp) / "bench.duckdb")
            runs.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    cells = 0
    for f in files:
        reader = fastexcel.read_excel(f)
        for name in reader.sheet_names:
            sheet = reader.load_sheet(name, header_row=None, dtypes="string")
            cells += sheet.height * sheet.width
    floor = time.perf_counter() - t0
    best = min(runs)
    report = {
        "benchmark": "ingest_official_workbooks",
        "files": [f.name for f in files],
        "figures": sum(r.rows_loaded for r in res),
        "statuses": sorted({r.status for r in res}),
        "seconds": round(best, 3),
        "seconds_all": [round(r, 3) for r in runs],
        "target_seconds": 15,
        "fastexcel_all_sheets_seconds": round(floor, 3),
        "fastexcel_cells": cells,
        "ratio_to_fastexcel": round(best / floor, 2),
    }
    (out / "bench-official.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def bench_workbook(out: Path) -> dict[str, Any]:
    from benchmarks import bench_workbook

    rows = int(os.environ.get("ICETALLY_BENCH_WORKBOOK_ROWS", "1000000"))
    # openpyxl needs minutes per million rows; measure it on a tenth and scale linearly
    pandas_rows = int(os.environ.get("ICETALLY_BENCH_PANDAS_ROWS", str(max(rows // 10, 1000))))
    return bench_workbook.run(out, rows, pandas_rows=pandas_rows)


def bench_surges(out: Path) -> dict[str, Any]:
    from benchmarks import surge_speed

    report = surge_speed.run(repeats=3)
    (out / "bench-surges.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def bench_campaigns(out: Path) -> dict[str, Any]:
    """Campaigns over 3,000 counties x 3 years of daily counts (target < 30 s), against
    pandas summing the same table to county-weeks in the same run."""
    from benchmarks import campaign_speed

    report = campaign_speed.run(int(os.environ.get("ICETALLY_BENCH_CAMPAIGN_AREAS", "3000")))
    (out / "bench-campaigns.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def _optional(module: str) -> Callable[[Path], dict[str, Any]]:
    def run(out: Path) -> dict[str, Any]:
        try:
            mod = importlib.import_module(module)
        except ImportError as exc:
            return {"skipped": f"{module} not available: {exc}"}
        return mod.run(out)

    return run


def _ingest(out: Path, kind: str) -> dict[str, Any]:
    from benchmarks import bench_ingest

    return bench_ingest.run(out, only=(kind,))[kind]


BENCHES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "official": bench_official,
    "workbook": bench_workbook,
    "surges": bench_surges,
    "campaigns": bench_campaigns,
    "spark": _optional("benchmarks.bench_spark"),
    # issue #17: ingest and start-up against their floors (benchmarks/bench_*.py)
    "ingest_csv": lambda out: _ingest(out, "csv"),
    "ingest_xlsx": lambda out: _ingest(out, "xlsx"),
    "startup": _optional("benchmarks.bench_startup"),
    "release": _optional("benchmarks.bench_release"),
    "web": _optional("benchmarks.bench_web"),
    "pathways": _optional("benchmarks.bench_pathways"),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench-results")
    ap.add_argument("--only", default=",".join(BENCHES))
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {}
    failed = False
    for name in [n for n in args.only.split(",") if n]:
        if name not in BENCHES:
            ap.error(f"unknown benchmark {name!r}; choose from {', '.join(BENCHES)}")
        print(f"== bench {name}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            summary[name] = BENCHES[name](out)
        except Exception as exc:  # noqa: BLE001 - one failed bench must not hide others
            traceback.print_exc()
            summary[name] = {"error": f"{type(exc).__name__}: {exc}"}
            failed = True
        summary[name]["wall_seconds"] = round(time.perf_counter() - t0, 1)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    from benchmarks import perf_doc

    summary["slower_than_recorded"] = perf_doc.warn(summary)  # docs/performance.md
    print(json.dumps(summary, indent=2, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
