"""One vocabulary: each filter, dimension, metric and class is defined once in
icetally.vocabulary, and the CLI, the web API, the query layer, the prepared SQL and
the claims file are generated from it or agree with it."""

from __future__ import annotations

import csv
import dataclasses
import re

import pytest
import typer
from typer.testing import CliRunner

from icetally import vocabulary as V
from icetally.analysis import claims
from icetally.cli import app
from icetally.query import prepared
from icetally.query.filters import QueryError, Slice
from icetally.reference.keys import county_key
from icetally.schema import COLUMN_NAMES
from icetally.vocabulary.cli import Given, options

from .conftest import ROOT

runner = CliRunner()


def _help(*command: str) -> str:
    res = runner.invoke(app, [*command, "--help"], terminal_width=200)
    assert res.exit_code == 0, res.output
    # Rich draws boxes; keep the words
    return re.sub(r"\s+", " ", re.sub(r"[│╭╮╰╯─]", " ", res.output))


def test_slice_has_one_field_per_filter() -> None:
    assert [f.name for f in dataclasses.fields(Slice)] == ["dataset", *V.FILTERS]


def test_every_filter_and_dimension_names_a_canonical_column() -> None:
    for f in V.FILTERS.values():
        assert f.column in COLUMN_NAMES, f.name
    for d in V.DIMENSIONS.values():
        assert d.column in COLUMN_NAMES, d.name
    assert set(V.TIME_BUCKETS) == {"date", "week", "month", "quarter", "year"}


def test_classes_match_the_shipped_reference_tables() -> None:
    # read the CSVs directly: the tables the normalizer maps to, not the constants
    data = ROOT / "src" / "icetally" / "reference" / "data"
    with open(data / "methods.csv", newline="") as fh:
        method_classes = {r["method_class"] for r in csv.DictReader(fh)}
    with open(data / "criminality.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert method_classes <= set(V.METHOD_CLASSES)
    assert {r["criminality"] for r in rows} <= set(V.CRIMINALITY)
    assert {m.method_class for m in V.METRICS.values()} - {None} == set(V.METHOD_CLASSES)


def test_prepared_counts_bind_exactly_the_filters_matched_as_given() -> None:
    assert set(prepared.LIST_FILTERS) == {n for n, f in V.FILTERS.items() if f.prepared}
    assert prepared.LIST_FILTERS["fiscal_year"] == "int"
    assert "county" not in prepared.LIST_FILTERS  # county values are rewritten
    slots = [name for name, _ in prepared.FILTER_SLOTS]
    assert slots == [n for n in V.FILTERS if n in prepared.LIST_FILTERS or "date" in n]


def test_claims_file_filters_are_the_vocabulary_claims_group() -> None:
    assert V.filter_names("claims") == claims.FILTER_KEYS
    assert set(claims.FILTER_KEYS) <= claims.CLAIM_KEYS
    assert "fiscal_year" not in claims.FILTER_KEYS
    with pytest.raises(claims.ClaimsError, match="unknown method class"):
        claims.parse_claims(
            [{"id": "x", "measure": "count", "value": 3, "method_class": ["on_foot"]}]
        )


@pytest.mark.parametrize("name", [n for n, f in V.FILTERS.items() if f.allowed])
def test_closed_filters_refuse_values_outside_their_class(name: str) -> None:
    flt = V.FILTERS[name]
    with pytest.raises(QueryError) as exc:
        Slice.build("arrests", **{name: "not-a-value"})
    for v in flt.allowed or ():
        assert v in str(exc.value)
    # the same error from the command line, under the vocabulary's option name
    res = runner.invoke(app, ["count", flt.option, "not-a-value", "--db", "/nonexistent"])
    assert res.exit_code == 2 and "not" in res.output


def test_count_help_lists_every_filter_and_dimension_with_its_help() -> None:
    text = _help("count")
    for f in V.FILTERS.values():
        assert f.option in text, f.option
        assert " ".join(f.help.split()[:2]) in text, f.name
    for d in V.DIMENSIONS:
        assert d in text


def test_surges_and_report_take_the_vocabulary_window_and_metric() -> None:
    for cmd in ("surges", "report"):
        text = _help(cmd)
        for opt in ("--from", "--to", "--aor", "--metric", "--dataset", "--db", "--json"):
            assert opt in text, (cmd, opt)


def test_web_count_parameters_are_the_vocabulary() -> None:
    from fastapi.testclient import TestClient

    from icetally.web import create_app

    with TestClient(create_app("/nonexistent.duckdb")) as c:
        spec = c.get("/openapi.json").json()
    params = {p["name"]: p for p in spec["paths"]["/api/count"]["get"]["parameters"]}
    expected = {f.param for f in V.FILTERS.values()} | {"dataset", "by", "format"}
    assert set(params) == expected
    assert params["method_class"]["description"].startswith(V.FILTERS["method_class"].help)
    surge = {p["name"] for p in spec["paths"]["/api/surges"]["get"]["parameters"]}
    assert {"from", "to", "aor", "metric", "dataset"} <= surge
    metric = next(
        p for p in spec["paths"]["/api/surges"]["get"]["parameters"] if p["name"] == "metric"
    )
    assert set(metric["schema"]["enum"]) == set(V.METRICS)


def test_a_new_command_declares_its_words_in_one_line() -> None:
    seen: list[Given] = []
    demo = typer.Typer()

    @demo.command()
    @options("window", "aor", "by", "store", "json")
    def campaigns(given: Given, min_days: int = typer.Option(3, "--min-days")) -> None:
        seen.append(given)
        assert min_days == 5

    res = runner.invoke(
        demo,
        ["--from", "2019-09-01", "--aor", "LOS,PHI", "--by", "aor", "--min-days", "5", "--json"],
    )
    assert res.exit_code == 0, res.output
    g = seen[0]
    assert g.filters == {"date_from": "2019-09-01", "aor": "LOS,PHI"}
    assert (g.by, g.as_json, g.db, g.backend) == ("aor", True, None, None)
    # what the options feed is what Slice.build takes
    assert Slice.build("arrests", **g.filters).aor == ["LOS", "PHI"]


def test_one_county_key() -> None:
    import importlib

    from icetally.normalize import codes

    resolve = importlib.import_module("icetally.analysis.jurisdictions.resolve")

    assert resolve.county_key is county_key and codes.county_key is county_key
    assert county_key("St. Louis County") == county_key("SAINT LOUIS") == "STLOUIS"
    assert county_key("De Kalb") == county_key("DeKalb County")
    assert county_key("Baltimore city") != county_key("Baltimore County")
    assert codes.county_fips("NM", "Doña Ana") == codes.county_fips("NM", "DONA ANA County")
