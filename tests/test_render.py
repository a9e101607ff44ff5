"""One SVG renderer and shared templates for the report and the web pages."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

import icetally
from icetally.render import shared, svg
from icetally.web import create_app


def test_report_and_pages_share_banner_figures_and_renderer(
    synthetic_db: Path, monkeypatch
) -> None:
    drawn: list[dict] = []
    real = svg.render_svg

    def counting(spec: dict) -> str:
        drawn.append(spec)
        return real(spec)

    # both the report's charts and the pages' charts go through this one function
    monkeypatch.setattr(svg, "render_svg", counting)
    monkeypatch.setattr("icetally.render.render_svg", counting)
    monkeypatch.setattr("icetally.web.pages.render_svg", counting)
    banner = str(shared().synthetic_banner())
    html = icetally.render_report(synthetic_db, date_from="2019-09-21", date_to="2019-09-25")
    in_report = len(drawn)
    assert in_report >= 4 and banner in html
    with TestClient(create_app(synthetic_db)) as c:
        page = c.get("/explore?dataset=arrests&by=month").text
    assert len(drawn) > in_report, "the explorer's chart used the same renderer"
    assert banner in page
    # the query behind a figure: the same <details> block in both
    assert re.search(r'<details id="query" class="query"><summary>The query', page)
    assert '<details id="q1" class="query"><summary>Query: ' in html
    # several charts in one page never share element ids
    ids = re.findall(r"<svg[^>]*>.*?</svg>", html, flags=re.S)
    seen: set[str] = set()
    for chart in ids:
        own = set(re.findall(r'\bid="([^"]+)"', chart))
        assert not own & seen
        seen |= own


def test_the_verdict_badge_is_one_macro() -> None:
    out = str(shared().verdict("overstated", "la-2018"))
    assert out == (
        '<span class="verdict v-overstated badge overstated" data-claim="la-2018">overstated</span>'
    )
