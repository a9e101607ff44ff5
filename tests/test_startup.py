"""Heavy imports only where they are used (issue #17): `icetally --help` loads none of
scipy, pandas, Ibis or numpy, and a `count` loads neither scipy nor pandas, nor
pydantic (Typer 0.29 coerces every option through pydantic, 0.25 s a command: Typer
is kept below it, pyproject.toml). (The time itself is a benchmark,
benchmarks/bench_startup.py, never asserted here.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# runs the CLI as its console script does, then prints the top-level modules loaded
PROBE = """
import json, sys
from icetally.cli import app
try:
    app()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
sys.stderr.write("MODULES " + json.dumps(sorted({m.split('.')[0] for m in sys.modules})) + "\\n")
sys.stderr.write(f"EXIT {code}\\n")
"""


def loaded_modules(*args: str) -> tuple[set[str], str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    lines = proc.stderr.splitlines()
    mods = next(line for line in lines if line.startswith("MODULES "))
    code = next(line for line in lines if line.startswith("EXIT "))
    return set(json.loads(mods[len("MODULES ") :])), code, proc.stdout


def test_help_loads_no_analysis_library() -> None:
    mods, code, out = loaded_modules("--help")
    assert code in ("EXIT 0", "EXIT None")
    assert "count" in out and "ingest" in out  # the help was printed
    assert not mods & {"scipy", "pandas", "ibis", "numpy", "sqlglot"}, mods


def test_subcommand_help_loads_no_analysis_library() -> None:
    mods, code, out = loaded_modules("surges", "--help")
    assert code in ("EXIT 0", "EXIT None")
    assert "--max-window" in out
    assert not mods & {"scipy", "pandas", "ibis"}, mods


def test_count_loads_neither_scipy_nor_pandas(synthetic_db: Path) -> None:
    mods, code, out = loaded_modules(
        "count", "--from", "2019-01-01", "--to", "2019-01-31", "--by", "aor", "--db",
        str(synthetic_db), "--json",
    )  # fmt: skip
    assert code in ("EXIT 0", "EXIT None"), out
    assert json.loads(out)["total"] > 0
    assert not mods & {"scipy", "pandas", "pydantic"}, mods


def test_second_count_of_a_shape_loads_no_ibis(synthetic_db: Path) -> None:
    """The first count of a shape compiles it with Ibis and keeps it on disk
    (icetally.query.stored); the next process answers from it without Ibis or sqlglot,
    with the same output."""
    args = ["count", "--from", "2019-02-01", "--to", "2019-02-28", "--by", "aor"]
    args += ["--aor", "LOS,SEA", "--db", str(synthetic_db), "--json"]
    first_mods, code, first = loaded_modules(*args)
    assert code in ("EXIT 0", "EXIT None"), first
    mods, code, out = loaded_modules(*args)
    assert code in ("EXIT 0", "EXIT None"), out
    assert json.loads(out) == json.loads(first) and json.loads(out)["total"] > 0
    assert not mods & {"ibis", "sqlglot", "scipy", "pandas"}, mods
    # other values in the same shape are served from disk too
    mods, code, out = loaded_modules(*[a.replace("2019-02-28", "2019-03-15") for a in args])
    assert code in ("EXIT 0", "EXIT None") and json.loads(out)["total"] > 0, out
    assert not mods & {"ibis", "sqlglot"}, mods


@pytest.mark.parametrize("name", ["ClaimsError", "ReportError", "StoreError", "DemoError"])
def test_api_names_resolve_on_first_use(name: str) -> None:
    import icetally.api as api

    assert issubclass(getattr(api, name), Exception)
    assert name in api.__all__


def test_delimited_ingest_loads_no_arrow(tmp_path: Path) -> None:
    """An ERO-LESA text file is read by DuckDB's own CSV reader: its ingest loads
    neither pyarrow nor numpy nor fastexcel (about 0.35 CPU s of imports), and the
    rows still load."""
    path = tmp_path / "EROArrests_small.csv"
    path.write_text(
        '"ERO-LESA Statistical Tracking Unit"||||\n'
        '"ERO Administrative Arrests for FY2017"||||\n'
        '"Area of Responsibility"|"Apprehension Date"|"Apprehension Method"|"Citizenship"|'
        '"Birth Date"\n'
        '"Seattle Area of Responsibility"|10/1/2016|"Located"|"MEXICO"|"(b)(6)"\n'
        '"Miami Area of Responsibility"|10/2/2016|"CAP Local Incarceration"|"CUBA"|""\n'
    )
    db = tmp_path / "s.duckdb"
    mods, code, out = loaded_modules("ingest", str(path), "--db", str(db), "--json")
    assert code in ("EXIT 0", "EXIT None"), out
    [result] = json.loads(out)["files"]
    assert result["status"] == "loaded" and result["rows_loaded"] == 2, result
    assert not mods & {"pyarrow", "numpy", "fastexcel", "pandas", "pydantic"}, mods
