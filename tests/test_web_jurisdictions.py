"""/api/cooperation, /api/jurisdictions and /api/intensity answer what the Python API
answers, over a store with real detainers (PA, 2007–2015) and real arrests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from icetally import api, ingest
from icetally.web import create_app
from tests.conftest import SHARED, need_shared

PA_MAPPING = {
    "date": "event_date",
    "lift_reason": "lift_reason",
    "det_facility": "facility",
    "city": "facility_city",
    "state": "state",
    "detainer_type": "detainer_type",
}


@pytest.fixture(scope="module")
def pa_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need_shared()
    db = tmp_path_factory.mktemp("webjur") / "pa.duckdb"
    res = ingest(
        [SHARED / "detainers" / "pa-detainers-2007-2015.csv"],
        db=db,
        dataset="detainers",
        mapping=PA_MAPPING,
    )
    assert res[0].status == "loaded", res[0].error
    return db


@pytest.fixture(scope="module")
def client(pa_db: Path) -> Iterator[TestClient]:
    with TestClient(create_app(pa_db)) as c:
        yield c


def test_cooperation_equals_python_api(client: TestClient, pa_db: Path) -> None:
    r = client.get("/api/cooperation", params={"county": "42101", "by": "quarter"})
    assert r.status_code == 200, r.text
    got = r.json()
    want = api.cooperation(pa_db, county="42101", by="quarter")
    # the API's JSON is the Python result serialized as the CLI does (dates as text)
    assert got["series"] == json.loads(json.dumps(want["series"], default=str))
    assert got["series"] and {"period", "detainers", "declined", "decline_rate"} <= set(
        got["series"][0]
    )


def test_jurisdictions_and_intensity(national_db: Path) -> None:
    with TestClient(create_app(national_db)) as c:
        r = c.get("/api/intensity", params={"level": "aor", "by": "fiscal_year"})
        assert r.status_code == 200, r.text
        rows = r.json()["rows"]
        want = api.intensity(national_db, level="aor", by="fiscal_year")["rows"]
        assert len(rows) == len(want) > 50
        r = c.get("/api/jurisdictions", params={"level": "aor"})
        assert r.status_code == 200, r.text
        assert len(r.json()["rows"]) >= 24


def test_bad_parameters_are_problems(client: TestClient) -> None:
    r = client.get("/api/cooperation", params={"by": "decade"})
    assert r.status_code in (400, 422)
    assert r.headers["content-type"].startswith("application/problem+json")
    r = client.get("/api/cooperation", params={"countyy": "42101"})
    assert r.status_code == 400 and "unknown query parameter" in r.json()["detail"]
