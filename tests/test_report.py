"""The HTML report on the real national FY2016-2019 store: every section the data
support is there with its query, the ones they cannot support say so, the page is
self-contained, and headless Chromium shows the same headline figures as icetally.count."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import icetally
from icetally.cli import app
from icetally.render.svg import _uniquify
from icetally.report import ReportError, render, tiles
from tests import _browser

SECTIONS = (
    "headline",
    "aors",
    "daily",
    "week",
    "earlier",
    "citizenship",
    "method",
    "criminality",
    "claims",
    "cooperation",
    "methods",
)


def _section(html: str, sid: str) -> str:
    m = re.search(rf'<section id="{sid}" data-supported="(true|false)">(.*?)</section>', html, re.S)
    assert m, f"section {sid} missing"
    return m.group(0)


@pytest.fixture(scope="module")
def sfr_html(national_db: Path) -> str:
    return render(national_db, date_from="2018-02-25", date_to="2018-02-28", aor="SFR")


@pytest.fixture(scope="module")
def sfr_file(sfr_html: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("report") / "sfr.html"
    p.write_text(sfr_html, encoding="utf-8")
    return p


def test_sfr_report_sections_and_what_the_data_cannot_support(sfr_html: str) -> None:
    html = sfr_html
    for sid in SECTIONS:
        _section(html, sid)
    # supported by the FY2016-19 arrests
    for sid in ("headline", "aors", "daily", "week", "earlier", "citizenship", "method", "methods"):
        assert 'data-supported="true"' in _section(html, sid)[:80], sid
    # not supported, and saying why
    crim = _section(html, "criminality")
    assert 'data-supported="false"' in crim
    assert "no criminality field" in crim and "EROArrests_FY2018.csv.gz" in crim
    coop = _section(html, "cooperation")
    assert 'data-supported="false"' in coop and "no detainers and no 287(g) lists" in coop
    assert "The records cannot support: Criminality" in html
    # the public Feb 2018 operation is the surge the window overlaps
    assert "2018-02-25-SFR" in html
    # charts are inline SVG: the tile map, the daily series, the week, two bar charts
    assert html.count("<svg ") >= 5
    # not synthetic data: no banner
    assert "SYNTHETIC" not in html


def test_sfr_report_figures_match_count_and_carry_queries(sfr_html: str, national_db: Path) -> None:
    html = sfr_html
    n = icetally.count(
        "arrests", db=national_db, date_from="2018-02-25", date_to="2018-02-28", aor="SFR"
    ).total
    m = re.search(r'data-figure="records" data-value="(\d+)"', html)
    assert m and int(m.group(1)) == n == 269
    # every section with figures has its queries (SQL, filters, releases) in <details>
    for sid in ("headline", "aors", "daily", "week", "citizenship", "method", "criminality"):
        sec = _section(html, sid)
        assert '<details id="q' in sec and "SELECT" in sec, sid
    # the headline's query names the release it read
    head = _section(html, "headline")
    assert '"aor": ["SFR"]' in unescape(head)
    # Mexico leads citizenship in the window, as a direct count says
    top = icetally.count(
        "arrests",
        db=national_db,
        date_from="2018-02-25",
        date_to="2018-02-28",
        aor="SFR",
        by="citizenship",
    )
    best = max(top.rows, key=lambda r: r["n"])
    assert f'<td>{best["citizenship"]}</td><td class="num">{best["n"]:,}</td>' in _section(
        html, "citizenship"
    )


def test_report_is_self_contained(sfr_html: str) -> None:
    html = sfr_html
    assert "<link" not in html
    assert not re.search(r"<script[^>]+src=", html)
    assert not re.search(r'(src|href)="https?:', html)
    assert "@import" not in html and "url(http" not in html
    assert '<meta name="viewport"' in html and "@media print" in html


def test_report_errors_are_plain(national_db: Path) -> None:
    with pytest.raises(ReportError, match="--surge"):
        render(national_db, aor="SFR")
    with pytest.raises(ReportError, match="no surge"):
        render(national_db, surge_id="1999-01-01-XYZ")


def test_report_outside_coverage_says_so(national_db: Path) -> None:
    html = unescape(render(national_db, date_from="2019-09-21", date_to="2019-09-25", aor="CHI"))
    assert "The window runs outside the releases' coverage (2015-10-01 to 2019-08-31)" in html
    assert "The week from 2019-09-21 lies after the releases' coverage" in html


def test_cli_report(national_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    res = CliRunner().invoke(
        app,
        [
            "report",
            "--from",
            "2018-02-25",
            "--to",
            "2018-02-28",
            "--aor",
            "SFR",
            "--metric",
            "at_large",
            "-o",
            str(out),
            "--db",
            str(national_db),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    html = out.read_text()
    assert 'data-figure="records_all_methods"' in html
    at_large = icetally.count(
        "arrests",
        db=national_db,
        date_from="2018-02-25",
        date_to="2018-02-28",
        aor="SFR",
        method_class="at_large",
    ).total
    assert f'data-figure="records" data-value="{at_large}"' in html


def test_tile_grid_covers_50_states_and_dc() -> None:
    assert len(tiles.TILES) == 51 and len(set(tiles.TILES.values())) == 51
    rows = tiles.tile_rows({"SFR": 10, "LOS": 5}, {"SFR"}, any_aor=True)
    by = {r["state"]: r for r in rows}
    assert by["HI"]["aor"] == "SFR" and by["HI"]["total"] == 10 and by["HI"]["highlight"]
    assert by["CA"]["aor"] == "LOS" and by["CA"]["split"] and by["CA"]["highlight"]
    assert all(r["aor"] for r in rows)


def test_svg_ids_are_made_unique() -> None:
    svg = '<svg><clipPath id="clip1"/><g clip-path="url(#clip1)"/><use href="#clip1"/></svg>'
    out = _uniquify(svg, "c7-")
    assert 'id="c7-clip1"' in out and "url(#c7-clip1)" in out and 'href="#c7-clip1"' in out


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    yield from _browser.browser()


@pytest.mark.browser
def test_sfr_report_in_chromium(sfr_file: Path, national_db: Path, chromium: Any) -> None:
    page, problems = _browser.open_page(chromium, sfr_file)
    value = page.locator('[data-figure="records"]').get_attribute("data-value")
    shown = page.locator('[data-figure="records"] .value').inner_text()
    n = icetally.count(
        "arrests", db=national_db, date_from="2018-02-25", date_to="2018-02-28", aor="SFR"
    ).total
    assert int(value) == n and shown.replace(",", "") == str(n)
    expected = page.locator('[data-figure="expected"]').get_attribute("data-value")
    assert 0 < float(expected) < n
    # the charts render as inline SVG with real size
    assert page.locator("figure svg").count() >= 5
    box = page.locator("#aors figure svg").bounding_box()
    assert box and box["width"] > 200 and box["height"] > 100
    # the "not supported" statements are visible text
    assert "no criminality field" in page.locator("#criminality").inner_text()
    # a phone-width viewport: no horizontal overflow of the page itself
    page.set_viewport_size({"width": 390, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 392
    # printing opens the query details (the only script in the page)
    page.emulate_media(media="print")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert page.locator("details[open]").count() == page.locator("details").count()
    assert problems == []
