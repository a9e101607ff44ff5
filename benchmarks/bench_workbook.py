"""Workbook benchmark: a generated 1,000,000-row workbook in the DDP 2026 arrests layout
(25 columns, SYNTHETIC values), read four ways, each in its own process so wall time
and peak RSS (the child's VmHWM / ru_maxrss) are its own:

1. ``pandas.read_excel(engine="openpyxl")`` - the baseline newsrooms use;
2. bare fastexcel: ``load_sheet(...).to_arrow()`` of each sheet - the memory floor of
   any calamine-based reader (one whole sheet in memory);
3. icetally's workbook reader: every part and batch;
4. icetally's full ingest into a temporary DuckDB file.

Targets (issue 2): pandas time / icetally ingest time >= 10, icetally ingest peak RSS /
bare fastexcel peak RSS <= 1.25.

    python -m benchmarks.bench_workbook --out bench-results [--rows 1000000]
        [--pandas-rows 200000]   # run the slow baseline on a smaller workbook, scaled

The workbook is cached (``$ICETALLY_BENCH_CACHE`` or the temp dir), keyed by rows, seed
and writer version, so reruns skip generation.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("icetally") is None:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT / "src"))
SEED = 2026
WRITER_VERSION = 1  # bump when icetally.synth.xlsx output changes
PREAMBLE = 6
SPEED_TARGET = 10.0
MEMORY_TARGET = 1.25
VARIANTS = ("pandas", "fastexcel", "icetally_read", "icetally_ingest")


def cache_dir() -> Path:
    d = Path(
        os.environ.get("ICETALLY_BENCH_CACHE") or Path(tempfile.gettempdir()) / "icetally-bench"
    )
    d.mkdir(parents=True, exist_ok=True)
    return d


def workbook(rows: int) -> tuple[Path, float | None]:
    """The cached benchmark workbook for ``rows`` rows; (path, seconds to generate or
    None when it was cached)."""
    from icetally.synth.xlsx import write_ddp_arrests_2026

    path = cache_dir() / f"ddp-arrests-2026-synthetic-{rows}-s{SEED}-w{WRITER_VERSION}.xlsx"
    if path.is_file():
        return path, None
    t0 = time.perf_counter()
    write_ddp_arrests_2026(path, rows, seed=SEED, preamble=PREAMBLE)
    return path, time.perf_counter() - t0


# -- the variants, run inside the child process ------------------------------------------


def _peak_mb() -> float:
    """This process's peak RSS (VmHWM), in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kb / 1024


def _variant_pandas(path: Path) -> int:
    import pandas as pd

    frames = pd.read_excel(path, sheet_name=None, header=PREAMBLE, engine="openpyxl")
    return sum(len(f) for f in frames.values())


def _variant_fastexcel(path: Path) -> int:
    import fastexcel

    reader = fastexcel.read_excel(str(path))
    n = 0
    for name in reader.sheet_names:
        rb = reader.load_sheet(name, header_row=PREAMBLE).to_arrow()
        n += rb.num_rows
        del rb  # one sheet at a time, like the reader under test
    return n


def _variant_icetally_read(path: Path) -> int:
    from icetally.sources.workbook import WorkbookReader

    n = 0
    for part in WorkbookReader().read(path):
        for batch in part.batches:
            n += batch.num_rows
    return n


def _variant_icetally_ingest(path: Path) -> int:
    from icetally.store.ingest import ingest

    with tempfile.TemporaryDirectory(prefix="icetally-bench-") as tmp:
        [result] = ingest([path], db=Path(tmp) / "bench.duckdb")
        if result.status != "loaded":
            raise RuntimeError(f"ingest failed: {result.error}")
        return int(result.rows_loaded + result.rows_quarantined)


def child(variant: str, path: Path) -> dict[str, Any]:
    base = _peak_mb()
    fn = {
        "pandas": _variant_pandas,
        "fastexcel": _variant_fastexcel,
        "icetally_read": _variant_icetally_read,
        "icetally_ingest": _variant_icetally_ingest,
    }[variant]
    t0 = time.perf_counter()
    rows = fn(path)  # imports of the library under test are timed too
    seconds = time.perf_counter() - t0
    return {
        "variant": variant,
        "rows": rows,
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(_peak_mb(), 1),
        "start_rss_mb": round(base, 1),
    }


# -- the parent ----------------------------------------------------------------------------


def measure(variant: str, path: Path) -> dict[str, Any]:
    """Run one variant in a fresh interpreter and return its measurements."""
    env = dict(os.environ)
    src = str(ROOT / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.bench_workbook",
            "--child",
            variant,
            "--path",
            str(path),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{variant} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_seconds"] = round(wall, 3)
    return out


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("fastexcel", "pandas", "openpyxl", "pyarrow", "duckdb"):
        with contextlib.suppress(PackageNotFoundError):
            out[pkg] = version(pkg)
    return out


def run(
    out_dir: str | Path,
    rows: int = 1_000_000,
    *,
    pandas_rows: int | None = None,
    variants: tuple[str, ...] = VARIANTS,
) -> dict[str, Any]:
    """Generate (or reuse) the workbook, measure each variant, write
    ``bench-workbook.json`` in ``out_dir`` and return the same dict.

    ``pandas_rows`` runs the pandas baseline on a smaller generated workbook and scales
    its time linearly to ``rows`` (openpyxl's cost is linear in cells); the JSON says so.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path, gen_seconds = workbook(rows)
    report: dict[str, Any] = {
        "benchmark": "workbook",
        "workbook": {
            "layout": "DDP 2026 arrests, 25 columns, SYNTHETIC values",
            "rows": rows,
            "path": str(path),
            "bytes": path.stat().st_size,
            "generate_seconds": round(gen_seconds, 3) if gen_seconds is not None else None,
        },
        "machine": {"cpus": os.cpu_count(), **_versions()},
        "results": {},
    }
    results: dict[str, dict[str, Any]] = report["results"]
    for variant in variants:
        target = path
        if variant == "pandas" and pandas_rows and pandas_rows < rows:
            target, _ = workbook(pandas_rows)
        print(f"[bench_workbook] {variant} on {target.name} ...", file=sys.stderr, flush=True)
        r = measure(variant, target)
        if target != path:
            r["scaled_from_rows"] = pandas_rows
            r["measured_seconds"] = r["seconds"]
            r["seconds"] = round(r["seconds"] * rows / pandas_rows, 3)  # type: ignore[operator]
        results[variant] = r
        print(f"[bench_workbook]   {json.dumps(r)}", file=sys.stderr, flush=True)

    def get(v: str, key: str) -> float | None:
        val = results.get(v, {}).get(key)
        return float(val) if isinstance(val, int | float) else None

    icetally = "icetally_ingest" if get("icetally_ingest", "seconds") else "icetally_read"
    ratios: dict[str, Any] = {"icetally_variant": icetally}
    pandas_t, fe_peak = get("pandas", "seconds"), get("fastexcel", "peak_rss_mb")
    for v in ("icetally_read", "icetally_ingest"):
        t, peak = get(v, "seconds"), get(v, "peak_rss_mb")
        if pandas_t and t:
            ratios[f"speedup_vs_pandas_{v}"] = round(pandas_t / t, 2)
        if fe_peak and peak:
            ratios[f"peak_rss_vs_fastexcel_{v}"] = round(peak / fe_peak, 3)
    speed = ratios.get(f"speedup_vs_pandas_{icetally}")
    memory = ratios.get(f"peak_rss_vs_fastexcel_{icetally}")
    ratios["speedup_vs_pandas"] = speed
    ratios["peak_rss_vs_fastexcel"] = memory
    report["ratios"] = ratios
    report["targets"] = {
        "speedup_vs_pandas": {
            "target": f">= {SPEED_TARGET}",
            "met": None if speed is None else speed >= SPEED_TARGET,
        },
        "peak_rss_vs_fastexcel": {
            "target": f"<= {MEMORY_TARGET}",
            "met": None if memory is None else memory <= MEMORY_TARGET,
        },
    }
    (out_dir / "bench-workbook.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--out", default="bench-results", help="folder for bench-workbook.json")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument(
        "--pandas-rows",
        type=int,
        default=None,
        help="run pandas on a smaller workbook and scale its time",
    )
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, Path(args.path))))
        return 0
    variants = tuple(v for v in args.variants.split(",") if v)
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        ap.error(f"unknown variants {sorted(unknown)}; choose from {', '.join(VARIANTS)}")
    report = run(args.out, args.rows, pandas_rows=args.pandas_rows, variants=variants)
    print(json.dumps({"ratios": report["ratios"], "targets": report["targets"]}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
