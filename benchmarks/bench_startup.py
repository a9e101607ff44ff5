"""Start-up time (issue #17): a reporter runs dozens of small commands, so the command
line must answer at about the pace of Python importing the libraries it needs.

Floor: ``python -c "import duckdb, pyarrow, typer, rich"``. Measured against it, in
the same run, interleaved, median of 5:

- ``icetally --help`` (target <= 1.5x);
- ``icetally count --from 2017-09-24 --to 2017-09-27 --by aor`` on the national store
  (every FY2016-19 national file ingested once into the benchmark cache; target <= 3x).

    python -m benchmarks.bench_startup --out bench-results [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks import procs

HELP_TARGET = 1.5
COUNT_TARGET = 3.0
FLOOR = [procs.PYTHON, "-c", "import duckdb, pyarrow, typer, rich"]
COUNT_ARGS = ["count", "--from", "2017-09-24", "--to", "2017-09-27", "--by", "aor"]


def national_store() -> Path:
    """The national store (built once into the benchmark cache; a failed build leaves
    no file behind, so the next run builds it again)."""
    db = procs.cache_dir() / "national.duckdb"
    if db.is_file():
        return db
    partial = db.with_name("national-partial.duckdb")
    for p in (partial, partial.with_name(partial.name + ".wal")):
        p.unlink(missing_ok=True)
    subprocess.run(
        [*procs.CLI, "ingest", str(procs.NATIONAL), "--db", str(partial)],
        cwd=procs.ROOT,
        env=procs.child_env(),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    partial.rename(db)
    return db


def run(out: Path, *, repeats: int = 5) -> dict[str, Any]:
    if not procs.NATIONAL.is_dir():
        return {"skipped": f"no national files at {procs.NATIONAL}"}
    out.mkdir(parents=True, exist_ok=True)
    db = national_store()
    results = procs.versus(
        {
            "import_floor": FLOOR,
            "help": [*procs.CLI, "--help"],
            "count": [*procs.CLI, *COUNT_ARGS, "--db", str(db)],
        },
        floor="import_floor",
        repeats=repeats,
    )
    help_ratio = results["help"]["ratio_to_floor"]
    count_ratio = results["count"]["ratio_to_floor"]
    report = {
        "benchmark": "startup",
        "floor": " ".join(FLOOR[1:]),
        "commands": {"help": "icetally --help", "count": "icetally " + " ".join(COUNT_ARGS)},
        "store": str(db),
        "results": results,
        "ratio": {"help": help_ratio, "count": count_ratio},
        "targets": {
            "help": procs.target(help_ratio, HELP_TARGET),
            "count": procs.target(count_ratio, COUNT_TARGET),
        },
        "machine": procs.machine(),
    }
    (out / "bench-startup.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--out", default="bench-results")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    report = run(Path(args.out), repeats=args.repeats)
    print(json.dumps({"ratio": report.get("ratio"), "targets": report.get("targets")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
