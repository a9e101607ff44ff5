"""Claims: verdicts on constructed data with known truth, the three public operations
and the September 2019 article on the real national files, claim extraction from the
real article, and the `icetally check` command end to end."""

from __future__ import annotations

import csv
import gzip
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from icetally import ingest
from icetally.analysis.baseline import BaselineError, interquartile_mean, window_baseline
from icetally.analysis.claims import (
    DEFAULT_TOLERANCE,
    ClaimsError,
    check,
    load_claims,
    parse_claims,
    parse_share,
)
from icetally.analysis.extract import claims_yaml, extract_claims, find_dates
from icetally.cli import app
from icetally.reference import places
from tests.conftest import PRESS, ROOT

EXAMPLES = ROOT / "examples" / "claims"
ARTICLE = PRESS / "2019-10-07-ice-enforcement-surge-article.txt"

# --------------------------------------------------------------------------- synthetic

# A flat baseline of BASE arrests a day in CHI (custodial) and 5 a day in ATL, with a
# planted operation in CHI: EXTRA at-large arrests a day on Mon 2018-02-05 .. Fri 02-09.
COVER = (date(2017, 10, 1), date(2018, 3, 31))
OP = (date(2018, 2, 5), date(2018, 2, 9))
BASE, EXTRA = 10, 40
OP_TOTAL = 5 * (BASE + EXTRA)  # 250 recorded in the window
OP_EXPECTED = 5 * BASE  # 50 normal
OP_EXCESS = OP_TOTAL - OP_EXPECTED  # 200 planted


def _ero_row(aor: str, day: date, method: str) -> str:
    d = f"{day.month}/{day.day}/{day.year}"
    return (
        f'"{aor} Area of Responsibility"|{d}|"{method}"|"LANDMARK"||"Bag and Baggage"|'
        f'"(B)(6);(B)(7)(C) "|"MEXICO"|"Male"\n'
    )


def write_synthetic_ero(path: Path) -> Path:
    lines = [
        '"ERO-LESA Statistical Tracking Unit"||||||||\n',
        '"For Official Use Only (FOUO)/Pre-decisional"||||||||\n',
        '"2019-ICFO-53623"||||||||\n',
        "||||||||\n",
        '"ERO Administrative Arrests for FY2018 (10/1/2017 - 3/31/2018)"||||||||\n',
        '"Area of Responsibility"|"Apprehension Date"|"Apprehension Method"|'
        '"Apprehension Landmark"|"Operation"|"Processing Disposition"|"Birth Date"|'
        '"Citizenship"|"Gender"\n',
    ]
    day = COVER[0]
    while day <= COVER[1]:
        lines += [_ero_row("Chicago", day, "CAP Local Incarceration")] * BASE
        lines += [_ero_row("Atlanta", day, "CAP Local Incarceration")] * 5
        if OP[0] <= day <= OP[1]:
            lines += [_ero_row("Chicago", day, "Non-Custodial Arrest")] * EXTRA
        day += timedelta(days=1)
    with gzip.open(path, "wt") as fh:
        fh.writelines(lines)
    return path


# DDP-style snake_case arrests with criminality and most-serious-conviction charges, in
# LOS on 2024-03-04..08: 100 people: 50 convicted (30 of them for illegal entry or
# re-entry only), 10 pending charges, 35 other immigration violators, 5 unknown. In SFR,
# 10 people: 4 convicted, 4 violators, 2 unknown (so "a majority" depends on them).
SHARE_ROWS: list[tuple[str, str, str]] = (
    [("LOS", "1 Convicted Criminal", "ILLEGAL ENTRY (8 USC 1325)")] * 20
    + [("LOS", "1 Convicted Criminal", "ILLEGAL RE-ENTRY (8 USC 1326)")] * 10
    + [("LOS", "1 Convicted Criminal", "ASSAULT")] * 20
    + [("LOS", "2 Pending Criminal Charges", "")] * 10
    + [("LOS", "3 Other Immigration Violator", "")] * 35
    + [("LOS", "", "")] * 5
    + [("SFR", "1 Convicted Criminal", "BURGLARY")] * 4
    + [("SFR", "3 Other Immigration Violator", "")] * 4
    + [("SFR", "", "")] * 2
)


def write_share_csv(path: Path) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "apprehension_date",
                "apprehension_aor",
                "apprehension_method",
                "apprehension_criminality",
                "most_serious_conviction_charge",
                "citizenship_country",
            ]
        )
        for i, (aor, crim, charge) in enumerate(SHARE_ROWS):
            day = date(2024, 3, 4) + timedelta(days=i % 5)
            w.writerow([day.isoformat(), aor, "Non-Custodial Arrest", crim, charge, "MEXICO"])
    return path


@pytest.fixture(scope="module")
def synth_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("claims")
    db = tmp / "synth.duckdb"
    res = ingest([write_synthetic_ero(tmp / "arrests_fy2018.csv.gz")], db=db)
    assert [r.status for r in res] == ["loaded"], res[0].error
    return db


@pytest.fixture(scope="module")
def share_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("shares")
    db = tmp / "shares.duckdb"
    res = ingest([write_share_csv(tmp / "arrests-ddp.csv")], db=db)
    assert [r.status for r in res] == ["loaded"], res[0].error
    return db


def op_claim(cid: str, value: Any, **kw: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "from": OP[0],
        "to": OP[1],
        "aor": ["CHI"],
        "measure": "operation",
        "value": value,
        **kw,
    }


def by_id(report: Any) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in report.results}


# --------------------------------------------------------------------------- baseline


def test_window_baseline_flat_series_is_exact() -> None:
    daily = {COVER[0] + timedelta(i): 10 for i in range(182)}
    b = window_baseline(daily, OP[0], OP[1], coverage=COVER)
    assert (b.expected, b.low, b.high) == (50.0, 50.0, 50.0)
    # eight weeks before; after, coverage ends on 2018-03-31: seven weeks for each day
    assert b.days_used == 5 * (8 + 7)


def test_window_baseline_skips_window_holidays_and_uncovered_days() -> None:
    start, end = date(2018, 2, 19), date(2018, 2, 19)  # a Monday
    daily = {COVER[0] + timedelta(i): 10 for i in range(182)}
    daily[start] = 500  # the window itself never enters its own baseline
    daily[date(2018, 1, 15)] = 0  # MLK day: skipped, so it cannot pull the baseline down
    b = window_baseline(daily, start, end, coverage=COVER, holidays=[date(2018, 1, 15)])
    assert b.expected == 10.0
    # 8 Mondays before (the search steps past MLK day) + the 5 after, to 2018-03-31.
    assert b.days_used == 13
    with pytest.raises(BaselineError):
        window_baseline(
            daily,
            date(2017, 10, 2),
            date(2017, 10, 2),
            coverage=(date(2017, 10, 1), date(2017, 10, 9)),
        )


def test_interquartile_mean_ignores_an_outlier_week() -> None:
    assert interquartile_mean([10, 10, 10, 10, 10, 10, 10, 400]) == 10.0
    assert interquartile_mean([1, 2, 3, 4]) == 2.5


# --------------------------------------------------------------------------- verdicts


def test_every_number_verdict_on_constructed_data(synth_db: Path) -> None:
    claims = [
        op_claim("op-consistent", 220),
        op_claim("op-exceeds", 300),  # above 250 * 1.1
        op_claim("op-below-excess", 100),  # under 200 * 0.9
        op_claim("op-more-than", "more than 200"),
        {"id": "count-consistent", "from": OP[0], "to": OP[1], "aor": "CHI",
         "measure": "count", "value": 260},
        {"id": "count-overstated", "from": OP[0], "to": OP[1], "aor": "CHI",
         "measure": "count", "value": 300},
        {"id": "count-understated", "from": OP[0], "to": OP[1], "aor": "CHI",
         "measure": "count", "value": 200},
        {"id": "count-at-large", "from": OP[0], "to": OP[1], "aor": "CHI",
         "method_class": "at_large", "measure": "count", "value": 200},
    ]  # fmt: skip
    res = by_id(check({"claims": claims}, db=synth_db))
    assert {k: v["verdict"] for k, v in res.items()} == {
        "op-consistent": "consistent",
        "op-exceeds": "exceeds_records",
        "op-below-excess": "below_excess",
        "op-more-than": "consistent",
        "count-consistent": "consistent",
        "count-overstated": "overstated",
        "count-understated": "understated",
        "count-at-large": "consistent",
    }
    r = res["op-consistent"]
    assert (r["observed"], r["expected"], r["excess"]) == (OP_TOTAL, OP_EXPECTED, OP_EXCESS)
    assert (r["low"], r["high"], r["tolerance"]) == (50.0, 50.0, DEFAULT_TOLERANCE)
    assert r["stated"] == 220
    for key in ("id", "verdict", "stated", "observed", "expected", "excess", "explanation"):
        assert key in r
    q = r["query"]
    assert q["dataset"] == "arrests" and q["filters"]["aor"] == ["CHI"]
    assert "SELECT" in q["sql"] and len(q["releases"]) == 1
    assert "250 arrests in the CHI AOR from 2018-02-05 to 2018-02-09" in r["explanation"]
    assert "about 50 in a normal five days" in r["explanation"]
    assert "exceeds the records" in res["op-exceeds"]["explanation"]
    assert "below that excess" in res["op-below-excess"]["explanation"]
    assert "20% above the 250 recorded" in res["count-overstated"]["explanation"]


def test_unverifiable_reasons(synth_db: Path) -> None:
    claims = [
        {"id": "after-coverage", "from": "2018-05-01", "to": "2018-05-05", "aor": ["CHI"],
         "measure": "operation", "value": 100},
        {"id": "straddles", "from": "2018-03-29", "to": "2018-04-02", "aor": ["CHI"],
         "measure": "count", "value": 50},
        {"id": "no-aor", "from": OP[0], "to": OP[1], "aor": [], "place": "the Ozarks",
         "measure": "operation", "value": 100},
        {"id": "no-criminality", "from": OP[0], "to": OP[1], "aor": ["CHI"],
         "measure": "share", "value": "a majority",
         "numerator": {"criminality": ["convicted", "pending_charges"]}},
        {"id": "criminality-filter", "from": OP[0], "to": OP[1], "aor": ["CHI"],
         "criminality": ["convicted"], "measure": "count", "value": 10},
        {"id": "month-only", "from": "2018-02-01", "to": "2018-02-28", "days": 5,
         "aor": ["CHI"], "measure": "operation", "value": 200},
        {"id": "month-only-too-big", "from": "2018-02-01", "to": "2018-02-28", "days": 5,
         "aor": ["CHI"], "measure": "operation", "value": 5000},
        {"id": "other-dataset", "dataset": "removals", "from": OP[0], "to": OP[1],
         "measure": "count", "value": 10},
    ]  # fmt: skip
    res = by_id(check(claims, db=synth_db))
    verdicts = {k: v["verdict"] for k, v in res.items()}
    assert verdicts == {
        "after-coverage": "unverifiable",
        "straddles": "unverifiable",
        "no-aor": "unverifiable",
        "no-criminality": "unverifiable",
        "criminality-filter": "unverifiable",
        "month-only": "unverifiable",
        "month-only-too-big": "exceeds_records",  # above everything in February
        "other-dataset": "unverifiable",
    }
    assert (
        "lies after the end of the arrests releases' coverage (2018-03-31)"
        in (res["after-coverage"]["explanation"])
    )
    assert "not wholly inside" in res["straddles"]["explanation"]
    assert "'the Ozarks' maps to no ICE area of responsibility" in res["no-aor"]["explanation"]
    assert "criminality field is absent" in res["no-criminality"]["explanation"]
    assert "criminality field is absent" in res["criminality-filter"]["explanation"]
    assert "does not say which five days" in res["month-only"]["explanation"]
    assert res["month-only"]["observed"] == 28 * BASE + 5 * EXTRA
    assert "no removals release" in res["other-dataset"]["explanation"]
    for r in res.values():
        assert r["explanation"].endswith(".")


def test_share_verdicts_with_and_without_immigration_only(share_db: Path) -> None:
    crim = ["convicted", "pending_charges"]
    win = {"from": "2024-03-04", "to": "2024-03-08"}
    claims = [
        {"id": "majority", **win, "aor": "LOS", "measure": "share", "value": "a majority",
         "numerator": {"criminality": crim}},
        {"id": "majority-without-immigration", **win, "aor": "LOS", "measure": "share",
         "value": "a significant majority",
         "numerator": {"criminality": crim, "exclude_immigration_only": True}},
        {"id": "pct-consistent", **win, "aor": "LOS", "measure": "share", "value": "62%",
         "numerator": {"criminality": crim}},
        {"id": "pct-overstated", **win, "aor": "LOS", "measure": "share", "value": 0.9,
         "numerator": {"criminality": crim}},
        {"id": "pct-understated", **win, "aor": "LOS", "measure": "share", "value": "40 percent",
         "numerator": {"criminality": crim}},
        {"id": "unknown-decides", **win, "aor": "SFR", "measure": "share", "value": "most",
         "numerator": {"criminality": ["convicted"]}},
        {"id": "citizenship", **win, "measure": "share", "value": "nearly all",
         "numerator": {"citizenship": ["MEX"]}},
    ]  # fmt: skip
    res = by_id(check(claims, db=share_db))
    assert {k: v["verdict"] for k, v in res.items()} == {
        "majority": "consistent",
        "majority-without-immigration": "overstated",
        "pct-consistent": "consistent",
        "pct-overstated": "overstated",
        "pct-understated": "understated",
        "unknown-decides": "unverifiable",
        "citizenship": "consistent",
    }
    m = res["majority"]
    # 60 of 100 in the numerator; 5 of unknown class could go either way
    assert (m["low"], m["high"], m["denominator"], m["unknown"]) == (0.6, 0.65, 100, 5)
    w = res["majority-without-immigration"]
    assert (w["low"], w["high"]) == (0.3, 0.35)
    assert "immigration offences alone" in w["explanation"]
    assert "only 'more than half' is tested" in w["note"]
    assert "depends on the 2 records" in res["unknown-decides"]["explanation"]
    assert res["majority"]["query"]["by"] == ["criminality"]


def test_operation_and_count_with_real_weekday_baseline(share_db: Path) -> None:
    # one week of data only: too few reference days for a baseline
    res = check(
        [
            {
                "id": "x",
                "from": "2024-03-05",
                "to": "2024-03-05",
                "aor": "LOS",
                "measure": "operation",
                "value": 10,
            }
        ],  # fmt: skip
        db=share_db,
    )
    r = res.results[0]
    assert r["verdict"] == "unverifiable" and "no baseline" in r["explanation"]


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("claim", "message"),
    [
        (
            {"measure": "count", "value": 3, "from": "2018-01-01", "to": "2018-01-02"},
            "needs an `id`",
        ),
        ({"id": "a", "measure": "tally", "value": 3}, "`measure` must be one of"),
        (
            {
                "id": "a",
                "measure": "count",
                "value": 3,
                "aor": ["XYZ"],
                "from": "2018-01-01",
                "to": "2018-01-02",
            },
            "aor 'XYZ' is not an AOR code",
        ),
        ({"id": "a", "measure": "count", "value": "lots"}, "cannot read a number"),
        (
            {"id": "a", "measure": "count", "value": 3, "from": "2018-02-01", "to": "2018-01-01"},
            "is after `to`",
        ),
        (
            {"id": "a", "measure": "count", "value": 3, "form": "2018-01-01"},
            "unknown key(s) ['form']",
        ),
        (
            {
                "id": "a",
                "measure": "share",
                "value": 1.5,
                "numerator": {"criminality": ["convicted"]},
            },
            "between 0 and 1",
        ),
        ({"id": "a", "measure": "share", "value": 0.5}, "needs a `numerator`"),
        (
            {"id": "a", "measure": "count", "value": 3, "method_class": "street"},
            "unknown method class",
        ),
    ],  # fmt: skip
)
def test_invalid_claims_name_file_and_claim(claim: dict[str, Any], message: str) -> None:
    with pytest.raises(ClaimsError) as err:
        parse_claims({"claims": [claim]}, "my-claims.yaml")
    text = str(err.value)
    assert text.startswith("my-claims.yaml: claim ")
    assert message in text
    if "id" in claim:
        assert f"claim {claim['id']!r}" in text


def test_duplicate_ids_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ClaimsError, match="used twice"):
        parse_claims([{"id": "a", "measure": "count", "value": 1}] * 2, "f.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("claims: [\n")
    with pytest.raises(ClaimsError, match=f"{bad}: not valid YAML"):
        load_claims(bad)
    with pytest.raises(ClaimsError, match="cannot read claims file"):
        load_claims(tmp_path / "missing.yaml")


def test_parse_share_phrases() -> None:
    assert parse_share("a significant majority")[:2] == (0.5, "more_than")
    assert parse_share("63 percent")[:2] == (0.63, "about")
    assert parse_share("two-thirds")[0] == pytest.approx(2 / 3)
    assert parse_share(0.25)[:2] == (0.25, "about")


# --------------------------------------------------------------------------- places


def test_places_resolve_regions_and_drop_container_states() -> None:
    def aors(text: str) -> list[str]:
        return sorted({a for m in places.find_places(text) for a in m.aors})

    assert aors("82 in New York City, the Hudson Valley, and Long Island in New York") == ["NYC"]
    assert aors("57 in Virginia and Washington, DC") == ["WAS"]
    assert aors("49 in north Texas and Oklahoma") == ["DAL"]
    assert aors("in Washington state") == ["SEA"]
    assert aors("the Chicago field office") == ["CHI"]
    assert aors("Harris County, Texas") == ["HOU"]
    assert aors("in Texas") == ["DAL", "ELP", "HLG", "HOU", "SNA"]
    assert places.unnamed_states("across 12 states") == "12 states"
    # Region AORs agree with the shipped county table where it can say.
    from icetally import reference

    county_aor = {c.fips: c.aor for c in reference.counties()}
    for fips in ("36059", "36103", "36119", "36071", "36027"):  # Long Island, Hudson Valley
        assert county_aor[fips] == "NYC"
    assert places.resolve("Long Island").aors == ("NYC",)


# --------------------------------------------------------------------------- real data


def test_three_public_operations_are_consistent(national_db: Path) -> None:
    expected_observed = {
        "cross-check-2017-total": 1167,
        "cross-check-2017-los-angeles": 272,
        "cross-check-2017-atlanta": 405,
        "cross-check-2017-chicago": 254,
        "cross-check-2017-new-york": 70,
        "northern-california-2018": 269,
        "los-angeles-2018": 317,
    }
    seen = {}
    for name in (
        "2017-02-operation-cross-check",
        "2018-02-northern-california",
        "2018-02-los-angeles",
    ):
        for r in check(EXAMPLES / f"{name}.yaml", db=national_db).results:
            seen[r["id"]] = r
            assert r["verdict"] == "consistent", r["explanation"]
            # the stated figure lies between the excess and the total (with tolerance)
            t = r["tolerance"]
            assert r["excess"] * (1 - t) <= r["stated"] <= r["observed"] * (1 + t)
            assert r["excess"] > 0 and r["expected"] > 0
    assert {k: v["observed"] for k, v in seen.items()} == expected_observed
    # The operations stand well above their baselines: the excess is at least a third
    # of the stated figure everywhere.
    for r in seen.values():
        assert r["excess"] >= r["stated"] / 3


def test_september_2019_claims_are_unverifiable(national_db: Path) -> None:
    report = check(EXAMPLES / "2019-09-enforcement-surge.yaml", db=national_db)
    assert len(report.results) == 15
    for r in report.results:
        assert r["verdict"] == "unverifiable", r["id"]
        if r["id"].startswith("surge-2019"):
            assert (
                "after the end of the arrests releases' coverage (2019-08-31)" in (r["explanation"])
            )
    june = by_id(report)["june-2019-operation"]
    assert "maps to no ICE area of responsibility" in june["explanation"]
    assert "which five days" in june["explanation"]
    share = by_id(report)["surge-2019-criminal-share"]
    assert "criminality field is absent" in share["explanation"]


def test_article_claims_check(national_db: Path) -> None:
    ex = extract_claims(ARTICLE.read_text(encoding="utf-8"), source=str(ARTICLE))
    res = by_id(check(ex.document(), db=national_db))
    context = {"2016-10-01-count-nationwide", "2011-01-01-count-nationwide",
               "2016-10-01-count-nationwide-2"}  # fmt: skip
    for cid, r in res.items():
        if cid not in context:
            assert r["verdict"] == "unverifiable", (cid, r["explanation"])
    # The yearly context figures: 2011 and CBP cannot be checked; the FY2017-to-March-2019
    # ERO figure is inside the coverage and the records hold more arrests than it says.
    assert res["2011-01-01-count-nationwide"]["verdict"] == "unverifiable"
    assert "no CBP encounters release" in res["2016-10-01-count-nationwide-2"]["explanation"]
    fy = res["2016-10-01-count-nationwide"]
    assert (fy["verdict"], fy["stated"], fy["observed"]) == ("understated", 326876, 374346)


def test_extraction_from_the_real_article() -> None:
    ex = extract_claims(ARTICLE.read_text(encoding="utf-8"))
    assert ex.published == date(2019, 10, 7)  # from the dateline
    claims = ex.claims
    ops = {
        c["value"]: c
        for c in claims
        if c["measure"] == "operation" and c["from"] == date(2019, 9, 21)
    }
    total = ops[597]
    assert (total["from"], total["to"]) == (date(2019, 9, 21), date(2019, 9, 25))
    regions = {
        97: ["CHI"], 82: ["NYC"], 80: ["BOS"], 57: ["WAS"], 54: ["NEW"], 46: ["DET"],
        49: ["DAL"], 42: ["DEN"],
    }  # fmt: skip
    for value, aor in regions.items():
        assert ops[value]["aor"] == aor, ops[value]
        assert ops[value]["to"] == date(2019, 9, 25)
    fortyfive = sorted(
        (c["place"], c["aor"]) for c in claims if c["value"] == 45 and c["measure"] == "operation"
    )
    assert fortyfive == [("Pennsylvania", ["PHI"]), ("south and central Texas", ["HLG", "SNA"])]
    regional = [c for c in claims if c["measure"] == "operation" and c.get("place")
                and c["from"] == date(2019, 9, 21)]  # fmt: skip
    assert len(regional) == 10 and sum(c["value"] for c in regional) == 597
    assert set(total["aor"]) == {a for c in regional for a in c["aor"]}

    week = next(c for c in claims if "1,300" in str(c["value"]))
    assert week["measure"] == "count" and week["value"] == "nearly 1,300"
    assert (week["from"], week["to"]) == (date(2019, 9, 21), date(2019, 9, 27))
    assert "aor" not in week  # nationwide

    june = next(c for c in claims if c["value"] == 299)
    assert june["measure"] == "operation"
    assert (june["from"], june["to"], june["days"]) == (date(2019, 6, 1), date(2019, 6, 30), 5)
    assert june["exact_window"] is False and june["aor"] == []
    assert "12 states" in june["note"]

    shares = [c for c in claims if c["measure"] == "share"]
    crim = [c for c in shares if "criminality" in c["numerator"]]
    assert {c["value"] for c in crim} == {"a significant majority"}
    assert [c["numerator"].get("exclude_immigration_only", False) for c in crim] == [False, True]
    assert all(c["from"] == date(2019, 9, 21) and c["aor"] == total["aor"] for c in crim)
    cit = next(c for c in shares if "citizenship" in c["numerator"])
    assert {"MEX", "GTM", "HND", "SLV"} <= set(cit["numerator"]["citizenship"])
    # the writer's own arithmetic is not a claim
    assert any(s["number"] == "700" for s in ex.skipped)
    assert not any(c["value"] == 700 for c in claims)

    # the YAML is editable and loads back into the same claims
    doc = yaml.safe_load(claims_yaml(ex))
    assert "&id" not in claims_yaml(ex)
    parsed = parse_claims(doc, "extracted.yaml")
    assert [c.id for c in parsed] == [c["id"] for c in claims]


def test_extraction_dates_and_published_year() -> None:
    def span(text: str, published: str = "2019-10-07") -> tuple[Any, Any]:
        d = find_dates(text, date.fromisoformat(published))[0]
        return d.date_from, d.date_to

    assert span("from Sept. 21-25") == (date(2019, 9, 21), date(2019, 9, 25))
    assert span("Sept. 30 to Oct. 3") == (date(2019, 9, 30), date(2019, 10, 3))
    assert span("between Feb. 6 and 10, 2017") == (date(2017, 2, 6), date(2017, 2, 10))
    assert span("in December", "2019-10-07") == (date(2018, 12, 1), date(2018, 12, 31))
    assert span("last month") == (date(2019, 9, 1), date(2019, 9, 30))
    ex = extract_claims(
        "ICE officers arrested more than 200 people in Los Angeles during a five-day "
        "operation, Feb. 11-15. Of the 212 arrested, 180 had criminal convictions.",
        published="2018-02-20",
    )
    op = ex.claims[0]
    assert (op["aor"], op["value"], op["from"]) == (["LOS"], "more than 200", date(2018, 2, 11))
    share = next(c for c in ex.claims if c["measure"] == "share")
    assert share["value"] == pytest.approx(180 / 212, abs=1e-4)
    assert share["numerator"] == {"criminality": ["convicted"]}


def test_extraction_operation_dated_by_one_day() -> None:
    """A several-day operation dated by one day: ended on it, began on it, or (when the
    text does not say) some run of that many days including it, marked inexact."""

    def window(text: str) -> tuple[Any, ...]:
        c = extract_claims(text, published="2018-02-20").claims[0]
        return c["from"], c["to"], c.get("exact_window", True), c.get("days")

    lead = "ICE arrested 212 people in the Los Angeles area in a five-day operation "
    assert window(lead + "that ended Feb. 15.") == (
        date(2018, 2, 11),
        date(2018, 2, 15),
        True,
        None,
    )
    assert window(lead + "that concluded on Feb. 15.") == (
        date(2018, 2, 11),
        date(2018, 2, 15),
        True,
        None,
    )
    assert window(lead + "that began Feb. 11.") == (
        date(2018, 2, 11),
        date(2018, 2, 15),
        True,
        None,
    )
    assert window(lead + "on Feb. 15.") == (date(2018, 2, 11), date(2018, 2, 19), False, 5)
    # a one-day operation keeps its day
    one = "ICE arrested 40 people in Los Angeles in a one-day operation on Feb. 15."
    assert window(one) == (date(2018, 2, 15), date(2018, 2, 15), True, None)


def test_extraction_places_each_figure_of_a_list() -> None:
    ex = extract_claims(
        "ICE officers arrested 232 people during a four-day operation Feb. 25-28 in "
        "Northern California. In Los Angeles, officers arrested 212 people in a five-day "
        "operation from Feb. 11 to 15, including 45 in Orange County and 12 in Riverside "
        "County.",
        published="2018-03-02",
    )
    got = {c["value"]: (c.get("aor"), c.get("county")) for c in ex.claims}
    assert got == {
        232: (["SFR"], None),
        212: (["LOS"], None),
        45: (["LOS"], ["06059"]),  # Orange County, California (the sentence is in CA)
        12: (["LOS"], ["06065"]),
    }


# --------------------------------------------------------------------------- CLI


def test_cli_check_json_and_table(synth_db: Path, tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text(
        yaml.safe_dump(
            {
                "claims": [
                    op_claim("op", 300),
                    op_claim("ok", 220),
                    {
                        "id": "late",
                        "from": "2019-01-01",
                        "to": "2019-01-02",
                        "measure": "count",
                        "value": 3,
                    },
                ]
            },  # fmt: skip
            sort_keys=False,
        )
    )
    runner = CliRunner()
    res = runner.invoke(app, ["check", str(f), "--db", str(synth_db), "--json"])
    assert res.exit_code == 0, res.output  # an overstated claim is a verdict, not an error
    out = json.loads(res.stdout)["claims"]
    assert [c["verdict"] for c in out] == ["exceeds_records", "consistent", "unverifiable"]
    for c in out:
        for key in ("id", "verdict", "stated", "observed", "expected", "excess",
                    "explanation", "query"):  # fmt: skip
            assert key in c
    res = runner.invoke(app, ["check", str(f), "--db", str(synth_db)])
    assert res.exit_code == 0 and "exceeds_records" in res.stdout and "consistent" in res.stdout


def test_cli_check_text_writes_editable_claims(synth_db: Path, tmp_path: Path) -> None:
    text = tmp_path / "release.txt"
    text.write_text(
        "CHICAGO - ICE officers arrested 220 people in the Chicago area during a five-day "
        "operation from Feb. 5 to 9.\n"
    )
    out_yaml = tmp_path / "claims.yaml"
    res = CliRunner().invoke(
        app,
        [
            "check",
            "--text",
            str(text),
            "--published",
            "2018-02-14",
            "--write-claims",
            str(out_yaml),
            "--db",
            str(synth_db),
            "--json",
        ],  # fmt: skip
    )
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)["claims"]
    assert [(c["verdict"], c["stated"], c["observed"]) for c in got] == [
        ("consistent", 220, OP_TOTAL)
    ]
    written = load_claims(out_yaml)
    assert written[0].filters["aor"] == ["CHI"] and written[0].date_from == OP[0]
    # the written file checks the same way
    res2 = CliRunner().invoke(app, ["check", str(out_yaml), "--db", str(synth_db), "--json"])
    assert json.loads(res2.stdout)["claims"][0]["verdict"] == "consistent"


def test_cli_check_bad_input_exits_2(synth_db: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    bad = tmp_path / "bad.yaml"
    bad.write_text("claims:\n  - id: x\n    measure: count\n    value: 3\n    aor: [NOWHERE]\n")
    res = runner.invoke(app, ["check", str(bad), "--db", str(synth_db)])
    assert res.exit_code == 2
    said = " ".join(res.output.split())  # Rich wraps long lines
    assert "bad.yaml: claim 'x'" in said and "NOWHERE" in said
    assert runner.invoke(app, ["check", "--db", str(synth_db)]).exit_code == 2
    assert (
        runner.invoke(app, ["check", str(tmp_path / "none.yaml"), "--db", str(synth_db)]).exit_code
        == 2
    )
    t = tmp_path / "t.txt"
    t.write_text("Nothing to see here.\n")
    assert runner.invoke(app, ["check", "--text", str(t), "--db", str(synth_db)]).exit_code == 2
    good = tmp_path / "good.yaml"
    good.write_text("claims:\n  - id: x\n    measure: count\n    value: 3\n")
    res = runner.invoke(app, ["check", str(good), "--db", str(tmp_path / "no-store.duckdb")])
    assert res.exit_code == 2 and "no store at" in " ".join(res.output.split())
