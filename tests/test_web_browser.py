"""The dashboard in a real browser: Debian's Chromium driven by Playwright against a
uvicorn server on 127.0.0.1 over the real FY2016-2019 store. What a person sees (the
figures, the chart, the surge, the extracted claims) is what the JSON API answers, and
the browser logs no error."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PRESS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
# docs: /work/shared/docs/ENVIRONMENT.md (Playwright cannot download its own browsers)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTICLE = PRESS / "2019-10-07-ice-enforcement-surge-article.txt"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(national_db: Path) -> Iterator[str]:
    """uvicorn in a thread on a free loopback port; stopped after the module."""
    import uvicorn

    from icetally.web import create_app

    port = _free_port()
    config = uvicorn.Config(
        create_app(national_db, warm=True), host="127.0.0.1", port=port, log_level="warning"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, name="icetally-web-test", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not srv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield base
    srv.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} not found: install Debian's chromium (scripts/setup_browser.sh, "
            "or apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


class Page:
    """A page that records console errors, failed requests and uncaught exceptions."""

    def __init__(self, browser: Any, **context: Any) -> None:
        self.ctx = browser.new_context(**context)
        self.page = self.ctx.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url}"))

    def close(self) -> None:
        self.ctx.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    p = Page(browser, viewport={"width": 1200, "height": 900})
    yield p
    assert p.errors == [], p.errors
    p.close()


def api(server: str, path: str) -> Any:
    r = httpx.get(server + path, timeout=120)
    r.raise_for_status()
    return r.json()


def test_overview(server: str, page: Page) -> None:
    pg = page.page
    pg.goto(server + "/", wait_until="networkidle", timeout=120_000)
    assert pg.title() == "Overview · icetally"
    assert pg.locator("#national-chart svg").count() == 1
    assert pg.locator("#aor-chart svg").count() == 1
    total = api(server, "/api/count")["total"]
    assert pg.locator("#total").get_attribute("data-total") == str(total)
    assert pg.locator("#total").inner_text() == f"{total:,}"
    surges = api(server, "/api/surges")["surges"]
    assert pg.locator("#n-surges").inner_text() == str(len(surges))
    # the largest surge is listed with its figures
    top = max(surges, key=lambda s: s["excess"])
    first = pg.locator("#top-surges tbody tr").first
    assert f"{top['start']} → {top['end']}" in first.inner_text()
    assert f"{top['observed']:,}" in first.inner_text()
    # surge markers in the per-AOR charts are links to this server's surge pages
    hrefs = pg.locator("#aor-chart svg a").evaluate_all(
        "els => els.map(e => e.getAttribute('href') || e.getAttribute('xlink:href'))"
    )
    assert hrefs and all(h.startswith("/surges/") for h in hrefs)
    assert pg.locator("#coverage tbody tr").count() == 3


def test_explore_filters_equal_the_api(server: str, page: Page) -> None:
    pg = page.page
    pg.goto(server + "/explore", wait_until="networkidle")
    pg.select_option("select[name=aor]", ["LOS"])
    pg.fill("input[name=from]", "2017-02-01")
    pg.fill("input[name=to]", "2017-02-28")
    pg.select_option("select[name=method_class]", "at_large")
    pg.locator("select[name=by]").first.select_option("date")
    with pg.expect_navigation():
        pg.click("#apply")
    # the view lives in the URL, without the empty fields
    url = pg.url
    for part in ("aor=LOS", "from=2017-02-01", "to=2017-02-28", "method_class=at_large", "by=date"):
        assert part in url, url
    assert "state=" not in url
    answer = api(
        server, "/api/count?aor=LOS&from=2017-02-01&to=2017-02-28&method_class=at_large&by=date"
    )
    assert pg.locator("#total").get_attribute("data-total") == str(answer["total"])
    shown = [
        int(n)
        for n in pg.locator("#rows td[data-n]").evaluate_all("els => els.map(e => e.dataset.n)")
    ]
    assert shown == [r["n"] for r in answer["rows"]]
    dates = pg.locator("#rows tbody tr td:first-child").all_inner_texts()
    assert dates == [r["date"] for r in answer["rows"]]
    assert pg.locator("#count-chart svg").count() == 1
    # the chart's title carries the same figure
    assert f"{answer['total']:,} records" in pg.locator("#count-chart svg").text_content()
    # the CSV link downloads the same rows
    csv_href = pg.locator("#csv-link").get_attribute("href")
    csv = httpx.get(server + csv_href).text.splitlines()
    assert csv[0] == "date,n" and len(csv) == len(answer["rows"]) + 1
    # the share link reproduces the view in a fresh page
    share = pg.locator("#share-link").get_attribute("href")
    pg.goto(server + share, wait_until="networkidle")
    assert pg.locator("#total").get_attribute("data-total") == str(answer["total"])
    assert pg.locator("select[name=aor]").evaluate(
        "s => Array.from(s.selectedOptions).map(o => o.value)"
    ) == ["LOS"]
    assert pg.locator("select[name=method_class]").input_value() == "at_large"


def test_explore_error_is_shown(server: str, browser: Any) -> None:
    p = Page(browser)
    resp = p.page.goto(server + "/explore?aor=XYZ&by=aor")
    assert resp is not None and resp.status == 400
    assert "unknown AOR code" in p.page.locator(".problem").inner_text()
    # the only console message is the browser reporting the 400 document itself
    assert all("400" in e for e in p.errors), p.errors
    p.close()


def test_open_a_surge(server: str, page: Page) -> None:
    pg = page.page
    pg.goto(server + "/surges", wait_until="networkidle", timeout=120_000)
    link = pg.locator("a.surge-link").first
    surge_id = link.inner_text()
    with pg.expect_navigation():
        link.click()
    assert surge_id in pg.url
    surge = next(s for s in api(server, "/api/surges")["surges"] if s["id"] == surge_id)
    assert pg.locator("#observed").inner_text() == f"{surge['observed']:,}"
    assert pg.locator("#surge-chart svg").count() == 1
    assert pg.locator("#surge-aors tbody tr").count() == len(surge["aors"])
    # the report for the surge, when the report module is installed, in the page
    if pg.locator("#report-link").count():
        frame = pg.frame_locator("iframe.report")
        frame.locator("h1").first.wait_for(timeout=120_000)
        assert frame.locator("svg").count() > 0
    else:
        assert pg.locator("#no-report").count() == 1
    # the window's count links to the explorer with the same slice
    total = pg.locator("#window-total").inner_text()
    with pg.expect_navigation():
        pg.click("text=explore this slice")
    assert f"{int(pg.locator('#total').get_attribute('data-total')):,}" == total


def test_claims_checker_extracts_the_2019_article(server: str, page: Page) -> None:
    if not ARTICLE.exists():
        pytest.skip(f"no press text at {ARTICLE}")
    text = ARTICLE.read_text(encoding="utf-8")
    pg = page.page
    pg.goto(server + "/claims", wait_until="networkidle")
    pg.fill("textarea[name=text]", text)
    with pg.expect_navigation(timeout=120_000):
        pg.click("#check")
    answer = httpx.post(server + "/api/check?text=1", content=text.encode(), timeout=120).json()
    rows = pg.locator("#extracted-claims tbody tr")
    assert rows.count() == len(answer["extraction"]["claims"]) > 0
    table = pg.locator("#extracted-claims").inner_text()
    assert "597" in table and "2019-09-21" in table
    ids = pg.locator("#verdict-table tbody tr td:first-child").all_inner_texts()
    assert ids == [c["id"] for c in answer["claims"]]
    verdicts = pg.locator("#verdict-table .badge").all_inner_texts()
    assert verdicts == [c["verdict"] for c in answer["claims"]]


def test_phone_layout(server: str, browser: Any) -> None:
    p = Page(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    for path in ("/", "/explore?by=month&by=aor", "/surges", "/claims"):
        p.page.goto(server + path, wait_until="networkidle", timeout=120_000)
        width = p.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
    assert p.errors == [], p.errors
    p.close()
