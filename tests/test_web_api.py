"""The web server's JSON API and pages over the real FY2016-2019 store: every endpoint
answers what the Python API answers, errors are RFC 9457 problem details, the limits
hold, and the store is never written."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from fastapi.testclient import TestClient

import icetally
from icetally.store import db as storedb
from icetally.web import Limits, create_app
from icetally.web import service as web_service
from tests.conftest import PRESS, ROOT

pytestmark = pytest.mark.slow

ARTICLE = PRESS / "2019-10-07-ice-enforcement-surge-article.txt"
EXAMPLES = ROOT / "examples" / "claims"
PROBLEM = "application/problem+json"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def store_hash(national_db: Path) -> Iterator[str]:
    """The store's bytes before the module's requests; checked unchanged after."""
    before = sha256(national_db)
    yield before
    assert sha256(national_db) == before, "the web server changed the store file"


@pytest.fixture(scope="module")
def client(national_db: Path, store_hash: str) -> Iterator[TestClient]:
    with TestClient(create_app(national_db)) as c:
        yield c


def roundtrip(obj: Any) -> Any:
    """What the CLI's --json prints, parsed back (dates become strings)."""
    return json.loads(json.dumps(obj, default=str))


def assert_problem(r: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["type"] == f"/problems/{slug}"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


# ------------------------------------------------------------------------ endpoints


def test_health_and_releases(client: TestClient, national_db: Path) -> None:
    h = client.get("/api/health").json()
    assert h["status"] == "ok" and h["read_only"] is True
    assert h["releases"] == 11 and h["synthetic"] is False
    assert set(h["datasets"]) == {"arrests", "encounters", "removals"}
    r = client.get("/api/releases")
    assert r.status_code == 200
    # the CLI's rows without the files' paths: where they were read from is not public
    public = [
        {k: v for k, v in rel.items() if k != "path"} for rel in icetally.releases(national_db)
    ]
    assert r.json() == roundtrip({"releases": public})


COUNT_CASES = [
    # (query string, icetally.count keyword arguments)
    (
        "from=2017-09-24&to=2017-09-27&aor=LOS,PHI&by=aor",
        {"date_from": "2017-09-24", "date_to": "2017-09-27", "aor": "LOS,PHI", "by": "aor"},
    ),
    (
        "aor=ATL&aor=CHI&from=2017-02-01&to=2017-02-28&method_class=at_large&by=aor,date",
        {
            "aor": "ATL,CHI",
            "date_from": "2017-02-01",
            "date_to": "2017-02-28",
            "method_class": "at_large",
            "by": "aor,date",
        },
    ),
    ("by=fiscal_year,method_class", {"by": "fiscal_year,method_class"}),
    (
        "citizenship=MEX&administration=trump1&by=month",
        {"citizenship": "MEX", "administration": "trump1", "by": "month"},
    ),
    (
        "dataset=removals&fiscal_year=FY2018&by=continent",
        {"by": "continent", "fiscal_year": "2018"},
    ),
    (
        "state=TX&from=2018-01-01&to=2018-01-31",
        {"state": "TX", "date_from": "2018-01-01", "date_to": "2018-01-31"},
    ),
    ("by=program&fiscal_year=2017", {"by": "program", "fiscal_year": "2017"}),
    ("program=287G&by=aor", {"program": "287G", "by": "aor"}),
    ("", {}),
]


@pytest.mark.parametrize(("qs", "kwargs"), COUNT_CASES)
def test_count_equals_python_api(
    client: TestClient, national_db: Path, qs: str, kwargs: dict[str, Any]
) -> None:
    dataset = "removals" if "dataset=removals" in qs else "arrests"
    r = client.get(f"/api/count?{qs}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    expected = roundtrip(icetally.count(dataset, db=national_db, **kwargs).to_dict())
    got = r.json()
    # overlap warnings come in no fixed order when two releases start the same day
    for d in (got, expected):
        d["warnings"] = sorted(d.get("warnings", []))
    assert got == expected
    # the same answer again, from the cache
    assert client.get(f"/api/count?{qs}").json() == r.json()


def test_count_canonical_params_share_an_answer(client: TestClient) -> None:
    a = client.get("/api/count?aor=los,PHI&from=2017-09-24&to=2017-09-27&by=aor").json()
    b = client.get("/api/count?aor=PHI&aor=LOS&to=2017-09-27&from=2017-09-24&by=aor").json()
    assert a["total"] == b["total"] == sum(r["n"] for r in a["rows"])
    assert {r["aor"] for r in a["rows"]} == {"LOS", "PHI"}


def test_count_csv(client: TestClient) -> None:
    qs = "from=2017-09-24&to=2017-09-27&by=aor,method_class"
    js = client.get(f"/api/count?{qs}").json()
    for r in (
        client.get(f"/api/count?{qs}&format=csv"),
        client.get(f"/api/count?{qs}", headers={"Accept": "text/csv"}),
    ):
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/csv")
        assert (
            'filename="icetally-arrests-aor-method_class.csv"' in (r.headers["content-disposition"])
        )
        lines = r.text.splitlines()
        assert lines[0] == "aor,method_class,n"
        assert len(lines) == len(js["rows"]) + 1
        assert sum(int(line.rsplit(",", 1)[1]) for line in lines[1:]) == js["total"]
    # format=json wins over the Accept header
    r = client.get(f"/api/count?{qs}&format=json", headers={"Accept": "text/csv"})
    assert r.headers["content-type"] == "application/json"


def test_surges_equal_python_api(client: TestClient, national_db: Path) -> None:
    qs = "metric=at_large&from=2017-02-01&to=2017-02-28"
    r = client.get(f"/api/surges?{qs}")
    assert r.status_code == 200, r.text
    expected = icetally.surges(
        "arrests", metric="at_large", date_from="2017-02-01", date_to="2017-02-28", db=national_db
    ).to_dict()
    assert r.json() == roundtrip(expected)
    assert r.json()["surges"], "the February 2017 operations are found"
    t0 = time.perf_counter()
    assert client.get(f"/api/surges?{qs}").json() == r.json()
    assert time.perf_counter() - t0 < 1.0, "a repeated scan comes from the cache"


def test_check_claims_yaml_equals_python_api(client: TestClient, national_db: Path) -> None:
    path = EXAMPLES / "2017-02-operation-cross-check.yaml"
    text = path.read_text(encoding="utf-8")
    r = client.post("/api/check", content=text, headers={"Content-Type": "application/yaml"})
    assert r.status_code == 200, r.text
    assert r.json() == roundtrip(icetally.check(path, db=national_db).to_dict())
    # JSON is YAML: a claims document as JSON gives the same answer
    import yaml

    doc = yaml.safe_load(text)
    r2 = client.post(
        "/api/check",
        content=json.dumps(doc, default=str),
        headers={"Content-Type": "application/json"},
    )
    assert r2.json() == r.json()
    # a per-request default tolerance
    r3 = client.post(
        "/api/check?tolerance=0.5", content=text, headers={"Content-Type": "application/yaml"}
    )
    assert r3.status_code == 200


def test_check_press_text(client: TestClient, national_db: Path) -> None:
    if not ARTICLE.exists():
        pytest.skip(f"no press text at {ARTICLE}")
    text = ARTICLE.read_text(encoding="utf-8")
    r = client.post("/api/check?text=1", content=text.encode())
    assert r.status_code == 200, r.text
    body = r.json()
    _, report = icetally.check_text(text, db=national_db)
    assert body["claims"] == roundtrip(report.to_dict()["claims"])
    ex = body["extraction"]
    assert ex["published"] == "2019-10-07"
    assert any(c["value"] == 597 and c["measure"] == "operation" for c in ex["claims"])
    assert ex["claims_yaml"].lstrip().startswith("#") and "claims:" in ex["claims_yaml"]
    # Content-Type text/plain means text too
    r2 = client.post(
        "/api/check", content=text.encode(), headers={"Content-Type": "text/plain; charset=utf-8"}
    )
    assert r2.json()["claims"] == body["claims"]


def test_report_runs_on_the_servers_pooled_store(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report is rendered by icetally.api on the server's own read-only cursor (a
    pooled Store that does not own its connection), never on a connection of its own."""
    import icetally.api

    seen: dict[str, Any] = {}

    def fake_render(store: Any, **kwargs: Any) -> str:
        seen.update(kwargs, store=store)
        return "<!doctype html><title>r</title><p>report</p>"

    monkeypatch.setattr(icetally.api, "render_report", fake_render)
    r = client.get("/api/report?from=2017-02-01&to=2017-02-28&aor=LOS")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert seen["date_from"] == "2017-02-01" and seen["aor"] == "LOS"
    store = seen["store"]
    assert isinstance(store, icetally.api.Store) and store.read_only
    assert not store._owns_connection  # the server's cursor, closed by the server
    assert_problem(client.get("/api/report?surge=no-such-surge"), 404, "not-found")
    surge = client.get("/api/surges").json()["surges"][0]["id"]
    seen.clear()
    assert client.get(f"/api/report?surge={surge}").status_code == 200
    assert seen["surge_id"] == surge and "date_from" not in seen


# ------------------------------------------------------------------------ problems


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("/api/count?aor=XYZ", "unknown AOR code"),
        ("/api/count?from=2017-13-01", "ISO date"),
        ("/api/count?from=2017-02-01&to=2017-01-01", "after"),
        ("/api/count?from=yesterday", "from"),
        ("/api/count?dataset=tweets", "dataset"),
        ("/api/count?by=shoe_size", "cannot group by"),
        ("/api/count?by=aor,aor", "twice"),
        ("/api/count?method_class=violent", "method class"),
        ("/api/count?criminality=bad", "criminality"),
        ("/api/count?fiscal_year=next", "fiscal year"),
        ("/api/count?administration=lincoln", "administration"),
        ("/api/count?state=Atlantis", "state"),
        ("/api/count?form=2017-01-01", "unknown query parameter"),
        ("/api/count?format=xml", "format"),
        ("/api/surges?metric=sideways", "metric"),
        ("/api/surges?threshold=2", "threshold"),
        ("/api/surges?max_window=0", "max_window"),
        ("/api/surges?aor=XYZ", "AOR"),
        ("/api/releases?x=1", "unknown query parameter"),
    ],
)
def test_invalid_parameters_are_400_problems(client: TestClient, url: str, needle: str) -> None:
    body = assert_problem(client.get(url), 400, "invalid-parameter")
    assert needle.lower() in body["detail"].lower()
    assert body["instance"] == url.split("?")[0]


def test_other_problems(client: TestClient) -> None:
    assert_problem(client.get("/api/nothing-here"), 404, "not-found")
    assert_problem(client.post("/api/count"), 405, "method-not-allowed")
    assert_problem(
        client.post("/api/check", content="<claims/>", headers={"Content-Type": "application/xml"}),
        415,
        "unsupported-media-type",
    )
    assert_problem(client.post("/api/check", content="claims: ["), 400, "invalid-parameter")
    body = assert_problem(
        client.post("/api/check", content="claims:\n  - id: a\n    form: 2017-01-01\n"),
        400,
        "invalid-parameter",
    )
    assert "form" in body["detail"]
    assert_problem(
        client.post("/api/check?text=1", content=b"Nothing to count here."), 422, "no-claims-found"
    )
    assert_problem(
        client.post("/api/check?text=1&published=2019-02-30", content=b"597 arrested."),
        400,
        "invalid-parameter",
    )
    # the type URI resolves to a page saying what it means
    page = client.get("/problems/result-too-large")
    assert page.status_code == 200 and "Result too large" in page.text


def test_missing_store_is_503(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path / "absent.duckdb")) as c:
        for url in ("/api/health", "/api/releases", "/api/count", "/api/surges"):
            body = assert_problem(c.get(url), 503, "store-unavailable")
            assert "absent.duckdb" in body["detail"]
        assert_problem(
            c.post("/api/check?text=1", content=b"597 arrested on Sept. 21."),
            503,
            "store-unavailable",
        )
        page = c.get("/")
        assert page.status_code == 503 and "Store unavailable" in page.text
    assert not (tmp_path / "absent.duckdb").exists(), "a missing store is not created"


# ------------------------------------------------------------------------ limits


def test_limits(national_db: Path) -> None:
    limits = Limits(max_rows=100, max_daily_span_days=60, max_body_bytes=2000, max_claims=2)
    with TestClient(create_app(national_db, limits=limits)) as c:
        body = assert_problem(
            c.get("/api/count?by=aor,month,method_class,criminality"), 422, "query-too-costly"
        )
        assert body["limit"] == "max_by"
        body = assert_problem(c.get("/api/count?by=aor,month"), 413, "result-too-large")
        assert body["rows"] > 100 and body["max_rows"] == 100
        assert c.get("/api/count?by=aor").status_code == 200
        body = assert_problem(
            c.get("/api/count?by=date&from=2017-01-01&to=2017-03-31"), 422, "query-too-costly"
        )
        assert body["limit"] == "max_daily_span_days"
        assert c.get("/api/count?by=date&from=2017-01-01&to=2017-02-15").status_code == 200
        assert_problem(c.post("/api/check?text=1", content=b"x" * 2001), 413, "request-too-large")
        claims = "claims:\n" + "".join(
            f"  - {{id: c{i}, from: 2017-02-06, to: 2017-02-10, measure: count, value: 5}}\n"
            for i in range(3)
        )
        body = assert_problem(c.post("/api/check", content=claims), 422, "query-too-costly")
        assert body["limit"] == "max_claims"


def test_count_time_limit(national_db: Path) -> None:
    with TestClient(create_app(national_db, limits=Limits(query_timeout=0.001))) as c:
        body = assert_problem(c.get("/api/count?by=citizenship,aor"), 422, "query-timeout")
        assert "limit" in body["detail"]
        # a timed-out query is not cached as an answer
        assert_problem(c.get("/api/count?by=citizenship,aor"), 422, "query-timeout")


def test_watchdog_interrupts_a_long_query(national_db: Path) -> None:
    from icetally.web.store import QueryTimeout, WebStore, run_limited

    store = WebStore(national_db)
    with store.cursor() as cur:
        # a deliberately slow query (a large cross join): stopped long before it ends
        t0 = time.perf_counter()
        with pytest.raises(QueryTimeout):
            run_limited(
                lambda: cur.execute(
                    "SELECT count(*) FROM range(100000000) a, range(1000) b WHERE a.range + "
                    "b.range = -1"
                ).fetchall(),
                cur,
                0.2,
            )
        assert time.perf_counter() - t0 < 5
    store.close()


def test_watchdog_times_each_query_by_its_own_deadline(national_db: Path) -> None:
    """One watchdog serves every query: a short limit stops its own query only, and a
    query that ends in time is not touched by another's deadline."""
    import threading

    from icetally.web.store import QueryTimeout, WebStore, run_limited

    slow = "SELECT count(*) FROM range(100000000) a, range(1000) b WHERE a.range + b.range = -1"
    store = WebStore(national_db)
    outcome: dict[str, object] = {}

    def long_limit() -> None:
        with store.cursor() as cur:
            outcome["long"] = run_limited(
                lambda: (time.sleep(0.6), cur.execute("SELECT 42").fetchall())[1], cur, 30
            )

    t = threading.Thread(target=long_limit)
    t.start()
    with store.cursor() as cur:
        with pytest.raises(QueryTimeout):
            run_limited(lambda: cur.execute(slow).fetchall(), cur, 0.2)
        # the cursor answers again once its query has been stopped
        assert run_limited(lambda: cur.execute("SELECT 1").fetchall(), cur, 5) == [(1,)]
    t.join(10)
    assert outcome["long"] == [(42,)]
    store.close()


def test_compute_slots_serve_the_waiting_in_arrival_order() -> None:
    """A freed slot goes to the thread already waiting, not to one arriving as it frees
    (which threading.Semaphore allows)."""
    import threading

    from icetally.web.service import FairSlots

    slots = FairSlots(1)
    order: list[str] = []

    def waiter() -> None:
        with slots:
            order.append("waiting first")

    slots.__enter__()
    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.2)  # the waiter is queued
    slots.__exit__(None, None, None)
    with slots:  # arrives as the slot frees
        order.append("arrived later")
    t.join(5)
    assert order == ["waiting first", "arrived later"]


def test_surge_scan_budget(national_db: Path) -> None:
    with TestClient(create_app(national_db, limits=Limits(surge_scans_per_minute=1))) as c:
        assert c.get("/api/surges?aor=LOS&metric=at_large").status_code == 200
        # the same scan again is cached, so it costs nothing
        assert c.get("/api/surges?aor=LOS&metric=at_large").status_code == 200
        r = c.get("/api/surges?aor=PHI&metric=at_large")
        assert_problem(r, 429, "too-many-requests")
        assert int(r.headers["retry-after"]) > 0
        # invalid parameters are refused before they use up the budget
        assert_problem(c.get("/api/surges?aor=XYZ"), 400, "invalid-parameter")


# ------------------------------------------------------------------------ safety


def test_report_budget(national_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import icetally.api

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(
        icetally.api, "render_report", lambda store, **kw: calls.append(kw) or "<p>r</p>"
    )
    with TestClient(create_app(national_db, limits=Limits(reports_per_minute=1))) as c:
        assert c.get("/api/report?from=2017-02-01&to=2017-02-10").status_code == 200
        assert c.get("/api/report?from=2017-02-01&to=2017-02-10").status_code == 200  # cached
        assert_problem(c.get("/api/report?from=2017-03-01&to=2017-03-10"), 429, "too-many-requests")
        # refused before rendering: no window, a reversed window
        assert_problem(c.get("/api/report"), 400, "invalid-parameter")
        assert_problem(c.get("/api/report?from=2017-03-10&to=2017-03-01"), 400, "invalid-parameter")
    assert len(calls) == 1


def test_store_connection_is_read_only(client: TestClient) -> None:
    store = client.app.state.store  # type: ignore[attr-defined]
    with store.cursor() as cur:
        for sql in (
            "CREATE TABLE web_probe (a INTEGER)",
            f"DELETE FROM {storedb.rows_table(cur, 'arrests')}",  # the rows, not the view
            "UPDATE releases SET title = 'x'",
        ):
            with pytest.raises(duckdb.Error, match="read-only"):
                cur.execute(sql)


def test_concurrent_counts_are_correct(national_db: Path) -> None:
    """Cursors per request: counts run at once from many threads give the answers they
    give one at a time (no cache, so every call queries)."""
    from icetally.web.store import WebStore

    store = WebStore(national_db)
    limits = Limits(count_cache_size=0)
    aors = ["LOS", "PHI", "ATL", "CHI", "NYC", "SEA", "HOU", "DAL"]
    params = [
        web_service.CountParams.build("arrests", None, None, {"aor": a}, "fiscal_year", limits)
        for a in aors
    ]
    serial = [web_service.count(store, p, limits) for p in params]
    with ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(lambda p: web_service.count(store, p, limits), params * 3))
    assert parallel == serial * 3
    store.close()


def test_pages_link_nothing_outside(client: TestClient) -> None:
    for url in ("/", "/explore?by=aor", "/surges", "/claims", "/docs"):
        r = client.get(url)
        assert r.status_code == 200, url
        assert "default-src 'self'" in r.headers["content-security-policy"]
        external = re.findall(r'(?:src|href)="(?:https?:)?//[^"]+"', r.text)
        assert not external, (url, external)
    docs = client.get("/docs").text
    try:
        import fastapi_offline  # noqa: F401 - ships Swagger UI's files
    except ImportError:
        # without it /docs says so and points to /openapi.json: still nothing remote
        assert "/openapi.json" in docs and "fastapi-offline" in docs
    else:
        assert "/swagger-ui/swagger-ui-bundle.js" in docs
        assert client.get("/swagger-ui/swagger-ui-bundle.js").status_code == 200
    schema = client.get("/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    assert {"/api/count", "/api/surges", "/api/check", "/api/releases", "/api/report"} <= set(
        schema["paths"]
    )
    assert "HTTPValidationError" not in json.dumps(schema)


# ------------------------------------------------------------------------ pages


def test_explore_page_shows_the_api_answer(client: TestClient) -> None:
    qs = "aor=LOS&from=2017-02-01&to=2017-02-28&method_class=at_large&by=date"
    api = client.get(f"/api/count?{qs}").json()
    page = client.get(f"/explore?{qs}")
    assert page.status_code == 200
    assert f'data-total="{api["total"]}"' in page.text
    assert [int(n) for n in re.findall(r'data-n="(\d+)"', page.text)] == [
        r["n"] for r in api["rows"]
    ]
    assert "<svg" in page.text
    assert 'href="/api/count?' in page.text and "format=csv" in page.text
    bad = client.get("/explore?aor=XYZ")
    assert bad.status_code == 400 and "unknown AOR code" in bad.text


def test_overview_surges_and_claims_pages(client: TestClient) -> None:
    home = client.get("/")
    assert home.status_code == 200
    assert home.text.count("<svg") >= 2
    total = client.get("/api/count").json()["total"]
    assert f'data-total="{total}"' in home.text
    assert "SYNTHETIC" not in home.text
    listing = client.get("/surges")
    links = re.findall(r'href="(/surges/[^"?]+)\?', listing.text)
    assert links
    detail = client.get(links[0])
    assert detail.status_code == 200 and "<svg" in detail.text
    assert client.get("/surges/not-a-surge").status_code == 404
    form = client.get("/claims")
    assert form.status_code == 200 and "<textarea" in form.text
    if ARTICLE.exists():
        r = client.post("/claims", data={"mode": "text", "text": ARTICLE.read_text()})
        assert r.status_code == 200
        assert "597" in r.text and 'id="verdict-table"' in r.text


def _write_synthetic_release(path: Path) -> Path:
    """A tiny ERO-LESA file whose title says SYNTHETIC, as the demo's releases do."""
    lines = [
        '"ERO-LESA Statistical Tracking Unit"||||||||\n',
        '"For Official Use Only (FOUO)/Pre-decisional"||||||||\n',
        '"SYNTHETIC-0001"||||||||\n',
        "||||||||\n",
        '"SYNTHETIC ERO Administrative Arrests for FY2018 (10/1/2017 - 11/30/2017)"||||||||\n',
        '"Area of Responsibility"|"Apprehension Date"|"Apprehension Method"|'
        '"Apprehension Landmark"|"Operation"|"Processing Disposition"|"Birth Date"|'
        '"Citizenship"|"Gender"\n',
    ]
    day = date(2017, 10, 1)
    while day <= date(2017, 11, 30):
        d = f"{day.month}/{day.day}/{day.year}"
        lines += [
            f'"Chicago Area of Responsibility"|{d}|"Located"|"X"||"Y"|"(B)(6)"|"MEXICO"|"Male"\n'
        ] * 3
        day += timedelta(days=1)
    with gzip.open(path, "wt") as fh:
        fh.writelines(lines)
    return path


def test_synthetic_store_is_labelled(tmp_path: Path) -> None:
    db = tmp_path / "synthetic.duckdb"
    res = icetally.ingest([_write_synthetic_release(tmp_path / "arrests.csv.gz")], db=db)
    assert [r.status for r in res] == ["loaded"]
    with TestClient(create_app(db)) as c:
        assert c.get("/api/health").json()["synthetic"] is True
        for url in ("/", "/explore", "/claims"):
            assert 'id="synthetic-banner"' in c.get(url).text, url


def _listening_addresses(port: int) -> set[str]:
    """IPv4 addresses listening on ``port``, from the kernel's socket table."""
    out = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        addr, p = local.split(":")
        if int(p, 16) == port and state == "0A":  # 0A = LISTEN
            out.add(".".join(str(int(addr[i : i + 2], 16)) for i in (6, 4, 2, 0)))
    return out


def test_serve_command_binds_loopback(national_db: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "icetally.cli",
            "serve",
            "--db",
            str(national_db),
            "--port",
            str(port),
            "--no-warm",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        proc.stderr.read().decode() if proc.stderr else ""
                    ) from None
                time.sleep(0.3)
        assert r.json()["status"] == "ok"
        assert _listening_addresses(port) == {"127.0.0.1"}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_serve_command_refuses_a_missing_store(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "icetally.cli", "serve", "--db", str(tmp_path / "none.duckdb")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "no store" in r.stderr


def test_report_module_probe_is_lazy() -> None:
    """The web package imports without the report module's dependencies."""
    code = (
        "import sys, icetally.web; "
        "assert 'vl_convert' not in sys.modules, 'charts import vl-convert lazily'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
