"""`make demo-real`: ingest real releases and show a count by AOR.

Uses the files named by --data, else the national FY2016–2019 files in ../shared/data.
When there is no data it says how to get it instead of failing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from typer.testing import CliRunner

from icetally.cli import app


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default="icetally.duckdb")
    ap.add_argument("--shared", default="../shared/data")
    ap.add_argument("--data", nargs="*", default=None)
    args = ap.parse_args()
    if args.data:
        paths = [Path(p) for p in " ".join(args.data).split()]
    else:
        paths = [Path(args.shared) / "ice-national-fy2016-2019"]
    missing = [p for p in paths if not p.exists()]
    if missing:
        print(
            "No release files found at: " + ", ".join(map(str, missing)) + "\n"
            "Put real releases there, or name them: make demo DATA='path/to/file.csv.gz ...'\n"
            "The national FY2016-2019 ICE files (FOIA 2019-ICFO-53623) are published by the\n"
            "University of Washington Center for Human Rights (repository UWCHR/ice-enforce,\n"
            "us/import/frozen/); Deportation Data Project releases at deportationdata.org."
        )
        return 0
    runner = CliRunner()
    for cmd in (
        ["ingest", *map(str, paths), "--db", args.db],
        ["releases", "--db", args.db],
        ["count", "--dataset", "arrests", "--by", "aor", "--db", args.db],
    ):
        print("$ icetally " + " ".join(cmd), flush=True)
        res = runner.invoke(app, cmd)
        sys.stdout.write(res.stdout)
        if res.exit_code not in (0, 1):
            return res.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
