"""`icetally surges` over the store built from the real national FY2016–2019 files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from icetally import surges
from icetally.cli import app

pytestmark = pytest.mark.slow

PUBLIC_OPERATIONS = [  # data/README.md: operations ICE announced
    ("ATL", date(2017, 2, 6), date(2017, 2, 10)),
    ("CHI", date(2017, 2, 6), date(2017, 2, 10)),
    ("SFR", date(2018, 2, 25), date(2018, 2, 28)),
    ("LOS", date(2018, 2, 11), date(2018, 2, 15)),
]


@pytest.fixture(scope="module")
def at_large(national_db: Path) -> dict:
    res = CliRunner().invoke(
        app, ["surges", "--metric", "at_large", "--json", "--db", str(national_db)]
    )
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_json_contract(at_large: dict) -> None:
    s = at_large["surges"][0]
    assert {"id", "start", "end", "observed", "expected", "excess", "score", "aors"} <= set(s)
    assert {"aor", "start", "end", "observed", "expected", "excess"} <= set(s["aors"][0])
    assert at_large["query"]["metric"] == "at_large"
    assert "SELECT" in at_large["query"]["series_sql"]
    assert at_large["coverage"]["end"] == "2019-08-31"


@pytest.mark.parametrize(("aor", "start", "end"), PUBLIC_OPERATIONS)
def test_public_operations_found(at_large: dict, aor: str, start: date, end: date) -> None:
    hits = [
        a
        for s in at_large["surges"]
        for a in s["aors"]
        if a["aor"] == aor
        and date.fromisoformat(a["start"]) <= end
        and start <= date.fromisoformat(a["end"])
    ]
    assert hits, f"no {aor} surge overlapping {start}..{end}"
    assert all(a["excess"] > 0 and a["observed"] > a["expected"] for a in hits)


def test_february_2017_is_one_multi_aor_operation(at_large: dict) -> None:
    ops = [s for s in at_large["surges"] if s["start"] <= "2017-02-10" and s["end"] >= "2017-02-06"]
    aors = {a["aor"] for s in ops for a in s["aors"]}
    # ICE named Los Angeles, Atlanta, Chicago, San Antonio and New York
    assert {"ATL", "CHI", "LOS", "NYC", "SNA"} <= aors
    assert len([s for s in ops if len(s["aors"]) >= 4]) == 1


def test_no_surge_in_the_incomplete_tail_or_outside_coverage(at_large: dict) -> None:
    assert all(s["end"] <= "2019-08-17" for s in at_large["surges"])
    assert all(s["start"] >= "2015-10-01" for s in at_large["surges"])


def test_window_and_aor_filters(national_db: Path) -> None:
    r = surges(
        "arrests",
        metric="at_large",
        db=national_db,
        date_from="2018-02-20",
        date_to="2018-03-05",
        aor="SFR",
    )
    assert [a.aor for s in r.surges for a in s.aors] == ["SFR"]
    s = r.surges[0]
    assert s.start <= date(2018, 2, 28) and date(2018, 2, 25) <= s.end
    assert s.excess_low <= s.excess <= s.excess_high
