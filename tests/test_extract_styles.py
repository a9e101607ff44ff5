"""Claim extraction across the styles press releases use (issue #16), on the project's
own annotated passages (tests/data/press/*.yaml, one file per style), plus the hostile
inputs of issue #13 that reach the extractor: a 400-digit number (row 12) and a text
past the size limit (row 14).

The expected claims are the annotations in the YAML files, written by hand; the
scorer (benchmarks/claims_eval.py) only pairs them with what the extractor found."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import yaml
from benchmarks.claims_eval import CORPUS, load_corpus, score
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from icetally.analysis.claims import check, parse_claims
from icetally.analysis.extract import (
    MAX_TEXT_CHARS,
    TextTooLong,
    claims_yaml,
    extract_claims,
)
from icetally.cli import app
from icetally.reference import places
from icetally.web import Limits, create_app
from tests.test_claims import write_synthetic_ero

STYLES = sorted(p.stem for p in CORPUS.glob("*.yaml"))


@pytest.fixture(scope="module")
def synthetic_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small store (test_claims' synthetic FY2018 arrests): the checks here only need
    a store to answer, not realistic data."""
    from icetally import ingest

    tmp = tmp_path_factory.mktemp("styles")
    db = tmp / "small.duckdb"
    res = ingest([write_synthetic_ero(tmp / "arrests_fy2018.csv.gz")], db=db)
    assert [r.status for r in res] == ["loaded"]
    return db


def test_corpus_covers_every_style_with_60_passages() -> None:
    assert set(STYLES) >= {
        "lists", "per_area", "field_offices", "towns_counties", "relative_dates", "ranges",
        "datelines", "number_words", "non_arrests", "unresolved",
    }  # fmt: skip
    assert len(load_corpus()) >= 60


@pytest.mark.parametrize("style", STYLES)
def test_each_style_is_extracted_exactly(style: str) -> None:
    passages = [p for p in load_corpus() if p.style == style]
    res = score(passages)
    assert res["misses"] == [], json.dumps(res["misses"], indent=1, default=str)
    for field in ("figure", "window", "aor", "qualifier", "measure"):
        assert res[f"{field}_recall"] == 1.0 and res[f"{field}_precision"] == 1.0


def _claims(text: str, published: str | None = "2025-04-10") -> list[dict]:
    return extract_claims(text, published=published).claims


def test_list_entries_each_placed_and_parts_of_their_total() -> None:
    text = (
        "ICE Enforcement and Removal Operations arrested 30 people in a four-day operation "
        "that ended Jan. 31. Arrests by area:\n- 14 in Newark, New Jersey\n"
        "- 9 in Paterson, New Jersey\n- 7 in Trenton, New Jersey\n"
    )
    claims = _claims(text, "2025-02-06")
    total = next(c for c in claims if c["value"] == 30)
    parts = [c for c in claims if c.get("part_of") == total["id"]]
    assert sorted(c["value"] for c in parts) == [7, 9, 14]
    assert all(c["aor"] == ["NEW"] and c["from"] == date(2025, 1, 28) for c in parts)
    # "City (N)" without a total: each entry is its own claim, placed by its own city
    paren = _claims(
        "During a targeted operation from March 31 to April 4, ERO Atlanta officers made "
        "arrests in these cities: Atlanta (12), Savannah (7), Augusta (5)."
    )
    assert [(c["value"], c["place"], "part_of" in c) for c in paren] == [
        (12, "ERO Atlanta, Atlanta", False),
        (7, "Savannah", False),
        (5, "Augusta", False),
    ]


def test_removal_counts_are_removals_claims_and_other_numbers_are_not_claims() -> None:
    claims = _claims(
        "ICE deported 528 people and arrested 61 in the Houston area from Nov. 10 to 14.",
        "2025-11-20",
    )
    assert [(c["value"], c["dataset"]) for c in claims] == [(528, "removals"), (61, "arrests")]
    for text in (
        "A 34-year-old man from Honduras was arrested in Houston on March 11; he was "
        "sentenced to 10 years in 2019.",
        "Agents seized 12 kilograms of fentanyl and $250,000 in cash during the arrest.",
        "The man, 45, was convicted in 2012 and deported in 2015.",
    ):
        assert _claims(text) == [], text


def test_number_words() -> None:
    got = {
        c["value"]
        for t in (
            "ICE officers arrested seventy people in Memphis from March 3 to 7.",
            "A dozen people were arrested in Des Moines on April 8.",
            "Officers arrested ten (10) people in Albuquerque on June 16.",
            "ICE arrested more than 70 people during a May 19 operation in Omaha.",
            "Seven-hundred and ninety people were arrested in Texas on May 2.",
        )
        for c in _claims(t)
    }
    assert got == {70, 12, 10, "more than 70", 790}


def test_places_field_offices_towns_and_the_current_harlingen_office() -> None:
    def aors(text: str) -> list[tuple[str, tuple[str, ...]]]:
        return [(m.text, m.aors) for m in places.find_places(text)]

    assert aors("ICE Houston arrests 2") == [("ICE Houston", ("HOU",))]
    assert aors("in Conroe and Cleveland, Texas") == [("Conroe", ("HOU",)), ("Cleveland", ("HOU",))]
    assert aors("in Lowell") == [("Lowell", ("BOS",))]  # the largest Lowell by far
    # Cameron County moved from San Antonio to the Harlingen office
    assert aors("in Brownsville, Texas") == [("Brownsville", ("HLG",))]
    assert aors("in the Rio Grande Valley") == [("Rio Grande Valley", ("HLG",))]
    # a state name that only begins another name is not a place
    assert aors("with the Texas Department of Public Safety") == []


def test_unresolved_place_is_unverifiable_with_the_reason(synthetic_db: Path) -> None:
    ex = extract_claims("ICE arrested 12 people in Huntsville on March 12.", published="2025-03-14")
    [claim] = ex.claims
    assert claim["aor"] == [] and claim["note"].startswith("place not resolved: 'Huntsville'")
    [res] = check(ex.document(), db=synthetic_db).results
    assert res["verdict"] == "unverifiable"
    assert res["reasons"][0].startswith("place not resolved: 'Huntsville'")
    # never silently nationwide: an ambiguous county without its state, too
    [c2] = _claims("Officers arrested 20 people in Orange County on April 8.")
    assert c2["aor"] == [] and "place not resolved: 'Orange County'" in c2["note"]


def test_no_date_gives_a_warning_and_a_claim_that_needs_a_date() -> None:
    ex = extract_claims("ICE arrested 40 people in Houston on Tuesday.")
    assert ex.published is None and "no dateline and no --published" in ex.warnings[0]
    [c] = ex.claims
    assert c["from"] is None and c["to"] is None and c["aor"] == ["HOU"]
    assert "needs a date: 'Tuesday'" in c["note"] and c["confidence"] < 0.7
    # the dateline dates it
    dated = extract_claims("March 14, 2025\nHOUSTON - ICE arrested 40 people on Tuesday.\n")
    assert dated.warnings == [] and dated.claims[0]["from"] == date(2025, 3, 11)


def test_spans_point_into_the_pasted_text() -> None:
    # curly quotes, an em dash and Windows line ends change lengths when cleaned
    text = (
        "ICE Boston\u2019s \u201csurge\u201d \u2014 results\r\n"
        "Officers arrested seventy-two people in Lowell, Massachusetts, on April 8.\r\n"
    )
    [c] = _claims(text)
    pieces = [text[a:b] for a, b in c["spans"]]
    assert pieces == ["seventy-two", "Lowell", "Massachusetts", "April 8"]
    assert 0 < c["confidence"] <= 1


def test_write_claims_round_trips(synthetic_db: Path, tmp_path: Path) -> None:
    text = tmp_path / "release.txt"
    text.write_text(
        "ICE arrests 45 during operation in Houston\n"
        "ICE arrested 45 people during a five-day operation that ended Tuesday.\n"
    )
    out = tmp_path / "claims.yaml"
    args = ["check", "--text", str(text), "--published", "2025-03-13", "--db", str(synthetic_db)]
    res = CliRunner().invoke(app, [*args, "--write-claims", str(out), "--json"])
    assert res.exit_code == 0, res.output
    from_text = json.loads(res.stdout)["claims"]
    doc = yaml.safe_load(out.read_text())
    [claim] = doc["claims"]
    assert claim["spans"] and claim["confidence"] and claim["aor"] == ["HOU"]
    assert (claim["from"], claim["to"]) == (date(2025, 3, 7), date(2025, 3, 11))
    res2 = CliRunner().invoke(app, ["check", str(out), "--db", str(synthetic_db), "--json"])
    assert res2.exit_code == 0, res2.output
    assert json.loads(res2.stdout)["claims"] == from_text
    # and the YAML the extractor writes parses back into the same claims
    ex = extract_claims(text.read_text(), published="2025-03-13")
    assert [c.id for c in parse_claims(yaml.safe_load(claims_yaml(ex)))] == [claim["id"]]


# --------------------------------------------------------------- issue #13, rows 12 and 14


def test_400_digit_number_in_text_is_no_claim_and_no_traceback(
    synthetic_db: Path, tmp_path: Path
) -> None:
    body = "ICE arrested " + "9" * 400 + " people in Houston on March 3."
    assert extract_claims(body, published="2025-03-14").claims == []
    f = tmp_path / "digits.txt"
    f.write_text(body)
    res = CliRunner().invoke(app, ["check", "--text", str(f), "--db", str(synthetic_db)])
    said = " ".join(res.output.split())
    assert res.exit_code == 2 and "no checkable claims" in said, res.output
    assert isinstance(res.exception, SystemExit)
    with TestClient(create_app(synthetic_db)) as c:
        r = c.post("/api/check?text=1&published=2025-03-14", content=body.encode())
        assert r.status_code == 422 and r.json()["type"].endswith("no-claims-found")


def test_text_over_the_size_limit_is_one_clear_error(synthetic_db: Path, tmp_path: Path) -> None:
    big = "ICE arrested 12 people in Houston on March 3. " * (MAX_TEXT_CHARS // 40)
    assert len(big) > MAX_TEXT_CHARS
    with pytest.raises(TextTooLong, match="at most 200,000"):
        extract_claims(big)
    f = tmp_path / "big.txt"
    f.write_text(big)
    res = CliRunner().invoke(app, ["check", "--text", str(f), "--db", str(synthetic_db)])
    said = " ".join(res.output.split())
    assert res.exit_code == 2 and "at most 200,000" in said and "Traceback" not in res.output
    limits = Limits(max_body_bytes=4 * MAX_TEXT_CHARS)
    with TestClient(create_app(synthetic_db, limits=limits)) as c:
        r = c.post("/api/check?text=1", content=big.encode())
        assert r.status_code == 413 and r.json()["type"].endswith("request-too-large")
        assert "at most 200,000" in r.json()["detail"]


def test_claims_page_highlights_the_spans(synthetic_db: Path) -> None:
    text = "ICE arrested 45 people in Houston during a five-day operation that ended March 7."
    with TestClient(create_app(synthetic_db)) as c:
        r = c.post(
            "/claims",
            content=f"mode=text&published=2025-03-14&text={text}".replace(" ", "+"),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert r.status_code == 200, r.text[:500]
    html = r.text
    assert 'id="claims-source"' in html
    for piece in ("45", "Houston", "March 7"):
        assert f'">{piece}</mark>' in html
