"""The SYNTHETIC demo: the planted September 2019 surge is found where and as large as it
was planted, the article's claims come out consistent, every output says SYNTHETIC, and
the report opens in headless Chromium with the same figures as icetally.count.

One demo run (default span Oct 2018 - Dec 2019, ~186,000 arrest rows, seed 0) serves the
whole module; its arrests workbook is split into two sheets at 100,000 rows so that the
multi-sheet path (as past Excel's 1,048,575 rows) is exercised too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import fastexcel
import numpy as np
import pytest
from typer.testing import CliRunner

import icetally
from icetally.cli import app
from icetally.synth import calibrated
from icetally.synth.calibrated import DDP_DETAINERS_COLUMNS, SEPTEMBER_2019_SURGE
from icetally.synth.demo import DemoError, DemoResult, run_demo
from icetally.synth.xlsx import DDP_ARRESTS_2026_COLUMNS
from tests import _browser

# The detector reports each AOR over its own refined window, which can leave out an edge
# day of the operation; with count noise that moved the total excess between 503 and 625
# over six seeds (planted 597). 15% (507-687) allows for both.
EXCESS_TOLERANCE = 0.15


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    out = tmp_path_factory.mktemp("demo")
    return run_demo(out, max_sheet_rows=100_000, say=lambda _m: None)


def test_planted_september_surge_is_found(demo: DemoResult) -> None:
    s = demo.surge
    assert s is not None, "the planted September 2019 surge was not found"
    assert {a.aor for a in s.aors} == set(SEPTEMBER_2019_SURGE)
    assert abs(s.excess - 597) <= EXCESS_TOLERANCE * 597, s.excess
    for a in s.aors:  # every AOR's window lies on the operation (a day early at most)
        assert date(2019, 9, 20) <= a.start <= date(2019, 9, 25) and a.end <= date(2019, 9, 25)
    assert s.excess_low <= 597 <= s.excess_high + 40
    # the June operation (299 planted in ATL, CHI, PHI, PHO) is found too
    june = [
        x for x in demo.surges.surges if x.start <= date(2019, 6, 6) and x.end >= date(2019, 6, 2)
    ]
    assert june and {a.aor for a in june[0].aors} <= {"ATL", "CHI", "PHI", "PHO"}
    assert {"CHI", "ATL"} <= {a.aor for a in june[0].aors}


def test_article_claims_are_consistent_on_the_demo(demo: DemoResult) -> None:
    v = {r["id"]: r for r in demo.claims}
    assert len(v) == 15
    for cid, r in v.items():
        if cid == "surge-2019-criminal-share-without-immigration-only":
            # the DDP 2026 arrests layout has no most-serious-conviction charge
            assert r["verdict"] == "unverifiable" and "conviction charge" in r["explanation"]
        else:
            assert r["verdict"] == "consistent", (cid, r["verdict"], r["explanation"])
    assert abs(v["surge-2019-total"]["excess"] - 597) < 0.15 * 597
    assert 1170 <= v["surge-2019-week"]["observed"] <= 1430  # "nearly 1,300", at-large
    # the original file reads the week over all methods: understated on realistic volumes
    orig = {r["id"]: r for r in demo.original_claims}
    assert orig["surge-2019-week"]["verdict"] == "understated"
    assert orig["surge-2019-total"]["verdict"] == "consistent"
    assert orig["june-2019-operation"]["verdict"] == "unverifiable"  # states not named


def test_release_layout_and_synthetic_labels(demo: DemoResult) -> None:
    files = demo.manifest["files"]
    wb = fastexcel.read_excel(files["arrests"]["path"])
    assert wb.sheet_names == ["Arrests", "Arrests (2)"]
    for name in wb.sheet_names:
        sheet = wb.load_sheet(name, header_row=None, n_rows=7)
        rows = [list(r.values()) for r in sheet.to_arrow().to_pylist()]
        assert "SYNTHETIC" in str(rows[0][0])  # six preamble rows, the first says so
        assert "SYNTHETIC" in str(rows[5][0])  # and the title stating coverage
        assert tuple(rows[6]) == DDP_ARRESTS_2026_COLUMNS  # the 25 columns
    assert sum(files["arrests"]["sheets"].values()) == demo.manifest["plan"]["arrest_rows"]
    det = fastexcel.read_excel(files["detainers"]["path"])
    sheet = det.load_sheet(det.sheet_names[0], header_row=None, n_rows=7)
    rows = [list(r.values()) for r in sheet.to_arrow().to_pylist()]
    assert "SYNTHETIC" in str(rows[0][0]) and tuple(rows[6]) == DDP_DETAINERS_COLUMNS
    manifest = json.loads((demo.out_dir / "SYNTHETIC-manifest.json").read_text())
    assert manifest["synthetic"] is True
    html = demo.report.read_text()
    assert 'id="synthetic-banner"' in html and html.count("SYNTHETIC DATA") >= 3


def test_sheets_split_on_day_boundaries_and_all_rows_load(demo: DemoResult) -> None:
    rel = [r for r in icetally.releases(demo.db) if r["dataset"] == "arrests"]
    assert len(rel) == 2
    a, b = sorted(rel, key=lambda r: r["min_event_date"])
    assert a["max_event_date"] < b["min_event_date"]  # no day on two sheets
    total = icetally.count("arrests", db=demo.db).total
    assert total == demo.manifest["plan"]["arrest_rows"]
    assert icetally.count("detainers", db=demo.db).total == demo.manifest["plan"]["detainer_rows"]


def test_counts_follow_the_plan(demo: DemoResult) -> None:
    """The store holds exactly the planted figures on top of the background."""
    p = calibrated.plan()  # same seed and span as the demo
    k = (date(2019, 9, 21) - p.start).days
    chi = p.aors.index("CHI")
    bg = int(p.background[chi, 1, k : k + 5].sum())
    got = icetally.count(
        "arrests",
        db=demo.db,
        date_from="2019-09-21",
        date_to="2019-09-25",
        aor="CHI",
        method_class="at_large",
    ).total
    # rows without an AOR come only from the background, so CHI holds at most the plan
    assert bg + 97 - 5 <= got <= bg + 97


def test_calibration_anchor_and_rows() -> None:
    p = calibrated.plan()
    k = (date(2019, 9, 21) - p.start).days
    assert p.expected[:, 1, k : k + 7].sum() == pytest.approx(700, rel=1e-6)
    # more rows = longer history at the same daily volume
    s1 = calibrated.start_for_rows(300_000)
    s2 = calibrated.start_for_rows(1_200_000)
    assert s2 < s1 < date(2018, 10, 1)
    assert calibrated.rows_between(s2) == pytest.approx(1_200_000, rel=0.01)
    with pytest.raises(ValueError, match="history"):
        calibrated.plan(50_000)
    # weekday and holiday patterns: Labor Day 2019 is far below a Monday
    labor = (date(2019, 9, 2) - p.start).days
    monday = (date(2019, 9, 9) - p.start).days
    assert p.expected[:, :, labor].sum() < 0.5 * p.expected[:, :, monday].sum()
    sat = (date(2019, 9, 14) - p.start).days
    assert p.expected[:, 1, sat].sum() < 0.1 * p.expected[:, 1, monday].sum()


def test_planted_operations_in_twelve_states() -> None:
    june = [
        x
        for x in calibrated.planted_operations(date(2018, 10, 1), date(2019, 12, 31))
        if x.operation == "june-2019-operation"
    ]
    assert sum(x.arrests for x in june) == 299
    assert len({s for x in june for s in x.states}) == 12
    sept = [
        x
        for x in calibrated.planted_operations(date(2018, 10, 1), date(2019, 12, 31))
        if x.operation == "september-2019-surge"
    ]
    assert sum(x.arrests for x in sept) == 597
    days = [date(2019, 9, 21) + timedelta(i) for i in range(5)]
    assert sum(calibrated._spread(97, days)) == 97 and np.ptp(calibrated._spread(97, days)) <= 1


def test_demo_never_writes_into_a_real_store(national_db: Path, tmp_path: Path) -> None:
    with pytest.raises(DemoError, match="not synthetic"):
        run_demo(tmp_path / "d", db=national_db, say=lambda _m: None)


def test_cli_demo_says_synthetic(demo: DemoResult, tmp_path: Path) -> None:
    # the fast part of the CLI: its output for an existing demo result (the full run is
    # the module fixture; `make demo` runs the command itself)
    res = CliRunner().invoke(app, ["demo", "--help"])
    assert res.exit_code == 0 and "SYNTHETIC" in res.stdout
    summary = demo.to_dict()
    assert summary["synthetic"] is True and "SYNTHETIC" in summary["note"]
    assert all(r["found"] for r in summary["planted_vs_found"])


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    yield from _browser.browser()


@pytest.mark.browser
def test_demo_report_in_chromium(demo: DemoResult, chromium: Any) -> None:
    page, problems = _browser.open_page(chromium, demo.report)
    assert "SYNTHETIC DATA" in page.locator("#synthetic-banner").inner_text()
    assert page.title().startswith("SYNTHETIC DATA")
    s = demo.surge
    aors = ",".join(sorted(a.aor for a in s.aors))
    n = icetally.count(
        "arrests",
        db=demo.db,
        date_from=s.start.isoformat(),
        date_to=s.end.isoformat(),
        aor=aors,
        method_class="at_large",
    ).total
    assert int(page.locator('[data-figure="records"]').get_attribute("data-value")) == n
    every = icetally.count(
        "arrests", db=demo.db, date_from=s.start.isoformat(), date_to=s.end.isoformat(), aor=aors
    ).total
    assert (
        int(page.locator('[data-figure="records_all_methods"]').get_attribute("data-value"))
        == every
    )
    assert float(page.locator('[data-figure="surge_excess"]').get_attribute("data-value")) == round(
        s.excess, 1
    )
    # the claims table shows the verdicts of the check
    for r in demo.claims:
        assert page.locator(f'[data-claim="{r["id"]}"]').inner_text() == r["verdict"]
    # the cooperation section has the synthetic detainers
    assert "Detainer Declined by LEA" in page.locator("#cooperation").inner_text()
    assert problems == []


def test_demo_shows_the_surge_pathways_against_the_weeks_before(demo: DemoResult) -> None:
    """The demo's linked release: the surge's arrests, as icetally.pathways finds them,
    equal the plan and show the planted difference (more still detained, longer)."""
    shown = demo.pathways
    assert shown is not None and shown["synthetic"] is True
    surge, before = shown["surge"], shown["weeks_before"]
    assert surge["episodes"] == surge["planted"]["episodes"] > 597
    for g in (surge, before):
        for o, share in g["planted"]["shares"].items():
            assert abs(g["shares"][o] - share) <= 0.02, o
    assert surge["shares"]["detained"] > before["shares"]["detained"] + 0.05
    assert surge["median_days_detained"] > before["median_days_detained"]
    assert demo.to_dict()["pathways"]["surge"]["from"] == "2019-09-21"
