"""Speed of a full surge scan: 26 AORs x 1,432 days (FY2016-FY2019), windows 1-14 days.

    .venv/bin/python -m benchmarks.surge_speed [--out FILE.json] [--repeats 3]

Times ``detect_surges`` end to end on one synthetic dataset of the evaluation harness
(baseline fits, both passes, the Monte Carlo nulls, the joint multi-AOR scan). ``run()``
returns the figures for a benchmark runner.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.surge_eval import speed


def run(repeats: int = 3) -> dict[str, Any]:
    return {"surge_scan": speed(repeats=repeats)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args(argv)
    res = run(a.repeats)
    s = res["surge_scan"]
    print(
        f"full surge scan, {s['aors']} AORs x {s['days']} days, windows 1-{s['max_window']}: "
        f"best {s['seconds_best']} s of {s['seconds_all']}"
    )
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
