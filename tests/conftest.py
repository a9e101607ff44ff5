"""Shared fixtures. Real data is read from ../shared/data beside the repository."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
NATIONAL = SHARED / "ice-national-fy2016-2019"
PRESS = ROOT.parent / "shared" / "press"

# The AOR names of the national files, written out here so tests check the shipped
# reference tables against an independent list.
AOR_NAMES = {
    "Atlanta": "ATL",
    "Baltimore": "BAL",
    "Boston": "BOS",
    "Buffalo": "BUF",
    "Chicago": "CHI",
    "Dallas": "DAL",
    "Denver": "DEN",
    "Detroit": "DET",
    "El Paso": "ELP",
    "Houston": "HOU",
    "Los Angeles": "LOS",
    "Miami": "MIA",
    "Newark": "NEW",
    "New Orleans": "NOL",
    "New York City": "NYC",
    "Philadelphia": "PHI",
    "Phoenix": "PHO",
    "Seattle": "SEA",
    "San Francisco": "SFR",
    "Salt Lake City": "SLC",
    "San Antonio": "SNA",
    "San Diego": "SND",
    "St. Paul": "SPM",
    "Washington": "WAS",
    "Harlingen": "HLG",
    "Headquarters": "HQ",
}


@pytest.fixture(autouse=True, scope="session")
def _count_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Compiled counts kept on disk (icetally.query.stored) go to a folder of this run,
    never the user's cache (subprocesses inherit it)."""
    os.environ["ICETALLY_CACHE_DIR"] = str(tmp_path_factory.mktemp("icetally-cache"))


def need_shared() -> None:
    if not NATIONAL.is_dir():
        pytest.skip(f"real data not found at {SHARED}; clone the project beside ../shared")


def raw_national(pattern: str) -> str:
    """DuckDB read_csv over raw national files, independent of icetally's readers."""
    files = sorted(str(p) for p in NATIONAL.glob(pattern))
    return (
        f"read_csv({files!r}, delim='|', skip=5, header=true, all_varchar=true, "
        f"quote='\"', filename=true)"
    )


def store_fingerprint(db: Path) -> dict[str, tuple[int, int]]:
    """(rows, order-independent hash) of every table: equal fingerprints mean equal
    table contents."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema='main'"
            ).fetchall()
        ]
        return {
            n: tuple(
                con.execute(
                    f'SELECT count(*), coalesce(sum(hash(_r)), 0) FROM "{n}" _r'
                ).fetchall()[0]
            )
            for n in sorted(names)
        }
    finally:
        con.close()


@pytest.fixture(scope="session")
def national_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding all 11 national FY2016–2019 files (built once per run)."""
    need_shared()
    from icetally import ingest

    db = tmp_path_factory.mktemp("national") / "national.duckdb"
    results = ingest([NATIONAL], db=db)
    failed = [r for r in results if r.status != "loaded"]
    assert not failed, failed
    return db


@pytest.fixture(scope="session")
def synthetic_release(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A small SYNTHETIC release (2019 arrests and detainers workbooks, the September
    2019 surge planted), written once per run: tests that need a realistic store but
    not ../shared use it. Returns the generator's manifest (paths and rows)."""
    from icetally.synth.calibrated import LATEST_START, plan, write_release

    out = tmp_path_factory.mktemp("synthetic-release")
    return write_release(out, plan(start=LATEST_START, seed=5))


@pytest.fixture(scope="session")
def synthetic_db(synthetic_release: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic release ingested into a store (built once per run; read it, or
    copy it before writing)."""
    from icetally import ingest

    db = tmp_path_factory.mktemp("synthetic-store") / "synthetic.duckdb"
    files = [synthetic_release["files"][k]["path"] for k in ("arrests", "detainers")]
    res = ingest(files, db=db)
    assert all(r.status == "loaded" for r in res), res
    return db


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of 40 arrests in two releases (20 in LOS, 20 in PHI, January 2019),
    ingested from csv files written here: for tests of errors and limits that need a
    real store but no real data. Read it; copy it before writing."""
    from icetally import ingest

    d = tmp_path_factory.mktemp("tiny")
    header = "apprehension_date,apprehension_aor,citizenship,apprehension_method"
    for aor, name in (("Los Angeles", "a.csv"), ("Philadelphia", "b.csv")):
        lines = [header] + [f"2019-01-{1 + i % 28:02d},{aor},MEXICO,Located" for i in range(20)]
        (d / name).write_text("\n".join(lines) + "\n")
    db = d / "tiny.duckdb"
    res = ingest([d / "a.csv", d / "b.csv"], db=db)
    assert [r.status for r in res] == ["loaded", "loaded"], res
    return db


def run_limited(
    code: str, limit_bytes: int = 1_500 << 20, args: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """Run Python code (dedented; ``sys.argv[1:]`` = ``args``) in a fresh interpreter
    whose address space is capped at ``limit_bytes``: a test of bounded memory."""
    pre = textwrap.dedent(
        f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, ({limit_bytes}, {limit_bytes}))
        """
    )
    return subprocess.run(
        [sys.executable, "-c", pre + textwrap.dedent(code), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
