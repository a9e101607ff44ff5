"""Release scale (issue #17): a SYNTHETIC release in the Deportation Data Project's 2026
arrests layout, ``ICETALLY_BENCH_RELEASE_ROWS`` rows (default 20,000,000) in several
files, half parquet and half csv, generated once into the benchmark cache (never into
the repository), then, each against a floor measured in the same run:

- **ingest** (``icetally ingest`` of every file into a new store) against DuckDB
  reading the same files into a DuckDB file (parquet as stored, csv all as text);
- **count** (``icetally count --from --to --by aor``) against the same count written
  by hand in DuckDB SQL on the store;
- **surges** (``icetally surges --json``) against DuckDB's daily series by AOR (the
  scan's input) on the store.

Reported: rows, rows/s, each operation's seconds, peak memory and ratio to its floor.

Generation: 100,000 rows from ``icetally.synth.xlsx.ddp_arrests_2026_rows`` (seeded),
repeated by DuckDB into files of equal size; each copy gets its own identifiers, so no
two files hold the same rows.

    python -m benchmarks.bench_release --out bench-results [--rows 20000000] [--files 40]

Files default to one per 500,000 rows (at least 10): ingest stages two files in memory
at once, about 0.8 GB each at that size (1.7 GB peak for the run).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

from benchmarks import procs

SEED = 2026
SAMPLE_ROWS = 100_000
GENERATOR_VERSION = 2  # bump when the files change (2: no helper columns first_copy, copy)
COUNT_ARGS = ["--from", "2025-01-01", "--to", "2025-01-31", "--by", "aor"]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return f"{value.month}/{value.day}/{value.year}"  # as ERO-LESA and DDP csv write
    return str(value)


def generate(rows: int, files: int) -> tuple[Path, list[Path]]:
    """The release folder for ``rows`` rows in ``files`` files (made once, cached)."""
    folder = procs.cache_dir() / f"release-{rows}-f{files}-s{SEED}-g{GENERATOR_VERSION}"
    done = folder / ".complete"
    if done.is_file():
        return folder, sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    shutil.rmtree(folder, ignore_errors=True)
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    import duckdb
    import pyarrow as pa

    from icetally.synth.xlsx import DDP_ARRESTS_2026_COLUMNS, ddp_arrests_2026_rows

    sample = list(ddp_arrests_2026_rows(min(SAMPLE_ROWS, rows), seed=SEED))
    table = pa.table(
        {
            name: pa.array([_text(r[i]) for r in sample], pa.string())
            for i, name in enumerate(DDP_ARRESTS_2026_COLUMNS)
        }
    )
    del sample
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false; SET memory_limit = '2GB'")
    con.register("sample", table)
    per_file = rows // files
    ident = '"Anonymized Identifier"'
    for j in range(files):
        n = per_file if j < files - 1 else rows - per_file * (files - 1)
        first = j * per_file
        # copy k of sample row i is release row first + k * len(sample) + i
        select = (
            f"SELECT * EXCLUDE (first_copy, copy) "
            f"REPLACE ({ident} || '-' || CAST(first_copy + copy AS VARCHAR) AS {ident}) "
            f"FROM (SELECT *, {first // len(table)} AS first_copy FROM sample) s, "
            f"range(0, {n // len(table) + 1}) t(copy) LIMIT {n}"
        )
        kind = "parquet" if j % 2 == 0 else "csv"
        path = partial / f"synthetic-ddp-arrests-2026-part{j:02d}.{kind}"
        fmt = "FORMAT parquet" if kind == "parquet" else "FORMAT csv, HEADER true"
        con.execute(f"COPY ({select}) TO '{path}' ({fmt})")
    con.close()
    (partial / ".complete").write_text(json.dumps({"rows": rows, "files": files}) + "\n")
    partial.rename(folder)
    return folder, sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _floor_ingest(files: list[Path], db: Path) -> list[str]:
    parquet = [str(f) for f in files if f.suffix == ".parquet"]
    csv = [str(f) for f in files if f.suffix == ".csv"]
    script = (
        f"import duckdb; con = duckdb.connect({str(db)!r}); "
        "con.execute('SET enable_progress_bar = false'); "
        f'con.execute("CREATE TABLE p AS SELECT * FROM read_parquet({parquet!r})"); '
        f'con.execute("CREATE TABLE c AS SELECT * FROM read_csv({csv!r}, header=true, '
        'all_varchar=true)"); con.close()'
    )
    return [procs.PYTHON, "-c", script]


def _floor_sql(db: Path, sql: str) -> list[str]:
    script = (
        f"import duckdb; con = duckdb.connect({str(db)!r}, read_only=True); "
        f"print(len(con.execute({sql!r}).fetchall()))"
    )
    return [procs.PYTHON, "-c", script]


def _remove(*paths: Path) -> None:
    for p in paths:
        for q in (p, p.with_name(p.name + ".wal")):
            q.unlink(missing_ok=True)


FILE_ROWS = 500_000  # rows per file by default (memory: two files are staged at once)


def default_files(rows: int) -> int:
    return max(10, -(-rows // FILE_ROWS))


def run(
    out: Path, *, rows: int | None = None, files: int | None = None, repeats: int = 1
) -> dict[str, Any]:
    rows = rows or int(os.environ.get("ICETALLY_BENCH_RELEASE_ROWS", "20000000"))
    files = files or default_files(rows)
    out.mkdir(parents=True, exist_ok=True)
    print(f"[bench_release] generating {rows:,} rows ...", file=sys.stderr, flush=True)
    # in a child: a process's peak memory counts its parent's at the time it was
    # started, so this process stays small
    subprocess.run(
        [procs.PYTHON, "-m", "benchmarks.bench_release", "--generate-only",
         "--rows", str(rows), "--files", str(files)],
        cwd=procs.ROOT,
        env=procs.child_env(),
        check=True,
    )  # fmt: skip
    folder, data = generate(rows, files)  # cached: only lists the files
    sizes = {p.name: p.stat().st_size for p in data}
    tmp = Path(tempfile.mkdtemp(prefix="icetally-bench-release-", dir=procs.cache_dir()))
    store, floor_db = tmp / "release.duckdb", tmp / "floor.duckdb"
    report: dict[str, Any] = {
        "benchmark": "release_scale",
        "release": {
            "layout": "DDP 2026 arrests, SYNTHETIC values",
            "rows": rows,
            "files": {
                "parquet": sum(p.suffix == ".parquet" for p in data),
                "csv": sum(p.suffix == ".csv" for p in data),
            },
            "bytes": sum(sizes.values()),
            "folder": str(folder),
        },
        "machine": procs.machine(),
        "operations": {},
    }
    ops = report["operations"]
    try:
        print("[bench_release] ingest ...", file=sys.stderr, flush=True)
        ops["ingest"] = procs.versus(
            {
                "floor": _floor_ingest(data, floor_db),
                "icetally": [*procs.CLI, "ingest", str(folder), "--db", str(store)],
            },
            floor="floor",
            repeats=repeats,
            warmup=0,
            before={"floor": lambda: _remove(floor_db), "icetally": lambda: _remove(store)},
        )
        import duckdb

        with duckdb.connect(str(store), read_only=True) as con:
            loaded, quarantined = con.execute(
                "SELECT sum(rows_loaded), sum(rows_quarantined) FROM releases"
            ).fetchone()
        ops["ingest"]["rows_loaded"] = int(loaded or 0)
        ops["ingest"]["rows_quarantined"] = int(quarantined or 0)
        ops["ingest"]["rows_per_second"] = round(rows / ops["ingest"]["icetally"]["median_seconds"])
        _remove(floor_db)
        print("[bench_release] count ...", file=sys.stderr, flush=True)
        ops["count"] = procs.versus(
            {
                "floor": _floor_sql(
                    store,
                    "SELECT aor, count(*) FROM arrests WHERE event_date BETWEEN "
                    "DATE '2025-01-01' AND DATE '2025-01-31' GROUP BY aor",
                ),
                "icetally": [*procs.CLI, "count", *COUNT_ARGS, "--db", str(store), "--json"],
            },
            floor="floor",
            repeats=max(repeats, 3),
        )
        print("[bench_release] surges ...", file=sys.stderr, flush=True)
        ops["surges"] = procs.versus(
            {
                "floor": _floor_sql(
                    store, "SELECT aor, event_date, count(*) FROM arrests GROUP BY ALL"
                ),
                "icetally": [*procs.CLI, "surges", "--db", str(store), "--json"],
            },
            floor="floor",
            repeats=repeats,
            warmup=0,
        )
    except (RuntimeError, subprocess.SubprocessError) as exc:
        report["error"] = str(exc)[-2000:]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report["ratios"] = {
        name: op["icetally"].get("ratio_to_floor") for name, op in ops.items() if "icetally" in op
    }
    report["peak_memory_mb"] = {
        name: op["icetally"].get("median_peak_mb") for name, op in ops.items() if "icetally" in op
    }
    (out / "bench-release.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--out", default="bench-results")
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--files", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.generate_only:
        rows = args.rows or 20_000_000
        generate(rows, args.files or default_files(rows))
        return 0
    report = run(Path(args.out), rows=args.rows, files=args.files, repeats=args.repeats)
    brief = {k: report.get(k) for k in ("ratios", "peak_memory_mb", "error") if k in report}
    print(json.dumps(brief, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
