"""Pathways on the web: /api/pathways answers what icetally.pathways answers (the CLI's
--json), errors are problem details, and in a real browser (Debian's Chromium driven by
Playwright, as tests/test_web_browser.py) the /pathways page shows the API's figures and
its filters give the API's answer, with no error in the browser. Over the real WA
joined file."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

import icetally
from icetally.web import create_app
from tests import _browser
from tests.conftest import SHARED

WA = SHARED / "ddp-format-samples" / "detainers-joined-wa.csv"


@pytest.fixture(scope="module")
def wa_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not WA.is_file():
        pytest.skip(f"real data not found at {WA}")
    db = tmp_path_factory.mktemp("wa-web") / "wa.duckdb"
    assert [r.status for r in icetally.ingest([WA], db=db)] == ["loaded"]
    return db


def roundtrip(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))


def test_api_pathways_equals_the_python_api(wa_db: Path) -> None:
    with TestClient(create_app(wa_db)) as c:
        r = c.get("/api/pathways", params={"criminality": "convicted", "by": "month"})
        assert r.status_code == 200
        want = icetally.pathways(db=wa_db, criminality="convicted", by="month").to_dict()
        assert r.json() == roundtrip(want)
        assert r.json()["episodes"] == 40
        bad = c.get("/api/pathways", params={"criminality": "saints"})
        assert bad.status_code == 400 and bad.headers["content-type"].startswith(
            "application/problem+json"
        )
        assert c.get("/api/pathways", params={"nonsense": "1"}).status_code == 400
        refused = c.get("/api/pathways", params={"campaign": "SEA-x"})
        assert refused.status_code == 400 and "no campaign 'SEA-x'" in refused.text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(wa_db: Path) -> Iterator[str]:
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(create_app(wa_db), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, name="icetally-pathways-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not srv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from _browser.browser()


@pytest.mark.browser
@pytest.mark.slow
def test_pathways_page_shows_the_api(server: str, browser: Any) -> None:
    ctx = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
    try:
        pg.goto(server + "/pathways", wait_until="networkidle", timeout=120_000)
        assert pg.title() == "Pathways · icetally"
        whole = httpx.get(server + "/api/pathways", timeout=120).json()
        head = pg.locator("#pathways-headline")
        assert head.get_attribute("data-persons") == str(whole["persons"]) == "44"
        assert head.get_attribute("data-episodes") == str(whole["episodes"])
        for name, o in whole["outcomes"].items():
            cell = pg.locator(f'tr[data-outcome="{name}"] td[data-n]')
            assert cell.get_attribute("data-n") == str(o["n"]), name
        # the filter goes through the URL and gives the API's answer
        pg.select_option("select[name=criminality]", "convicted")
        with pg.expect_navigation():
            pg.click("#pathways-form button[type=submit]")
        assert "criminality=convicted" in pg.url
        conv = httpx.get(server + "/api/pathways?criminality=convicted", timeout=120).json()
        assert head.get_attribute("data-episodes") == str(conv["episodes"]) == "40"
        assert pg.locator('tr[data-outcome="removed"] td[data-n]').get_attribute("data-n") == str(
            conv["outcomes"]["removed"]["n"]
        )
        assert pg.locator("#api-link").get_attribute("href").endswith("criminality=convicted")
        assert pg.locator("details.query pre.sql").count() == 1
        assert errors == [], errors
    finally:
        ctx.close()
