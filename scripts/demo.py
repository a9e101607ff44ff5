"""`make demo`: the SYNTHETIC demo, end to end, from a fresh clone.

Writes a synthetic release calibrated on the real FY2016-2019 arrests (with the
September 2019 surge of the news article planted), ingests it, finds the surge, checks
the article's claims, writes the HTML report and prints its path. Thin wrapper over
`icetally demo` so `make demo` and the command behave the same. The real-data demo is
`make demo-real` (scripts/demo_real.py).
"""

from __future__ import annotations

import argparse
import sys
import time

from icetally.cli import app


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default="icetally-demo")
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    cmd = ["demo", "--dir", args.dir, "--seed", str(args.seed)]
    if args.rows:
        cmd += ["--rows", str(args.rows)]
    print("$ icetally " + " ".join(cmd), flush=True)
    t = time.perf_counter()
    try:  # in-process, so progress lines appear as they happen
        app(cmd, prog_name="icetally")
    except SystemExit as exc:
        if exc.code:
            return int(exc.code) if isinstance(exc.code, int) else 1
    print(f"demo finished in {time.perf_counter() - t:.0f} s (SYNTHETIC DATA - not real records)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
