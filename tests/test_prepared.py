"""Counts compiled once per query shape (icetally.query.prepared), and the shapes kept
on disk for the next process (icetally.query.stored), answer exactly as the Ibis
expressions compiled per query: same rows, total, releases, warnings and SQL text, on
random slices of a real and a synthetic store."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import icetally
from icetally.query import count as count_module
from icetally.query import prepared
from icetally.query.filters import Slice
from icetally.store.handle import Store
from icetally.vocabulary import DIMENSIONS, QueryError

# every list filter the compiled path parameterises (county is compiled per query)
FILTERS = tuple(prepared.LIST_FILTERS)


def _values(db: Path, dataset: str) -> dict[str, list[Any]]:
    """Real values of each filter column (so that slices select rows), plus span."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        cols = {
            "aor": "aor",
            "state": "state_abbr",
            "citizenship": "citizenship",
            "continent": "continent",
            "method_class": "method_class",
            "criminality": "criminality",
            "fiscal_year": "fiscal_year",
            "administration": "administration",
            "release": "release_id",
            "program": "program",
        }
        out: dict[str, list[Any]] = {}
        for name, col in cols.items():
            rows = con.execute(
                f'SELECT DISTINCT "{col}" FROM "{dataset}" WHERE "{col}" IS NOT NULL '
                f"ORDER BY 1 LIMIT 40"
            ).fetchall()
            out[name] = [r[0] for r in rows]
        lo, hi = con.execute(f'SELECT min(event_date), max(event_date) FROM "{dataset}"').fetchone()
        out["span"] = [lo, hi]
        return out
    finally:
        con.close()


def _by_ibis(monkeypatch: pytest.MonkeyPatch, **kw: Any) -> dict[str, Any]:
    """The count with every query compiled by Ibis as it stands."""
    with monkeypatch.context() as m:
        m.setattr(count_module, "prepare", lambda *a, **k: None)
        m.setenv("ICETALLY_CACHE_DIR", "")  # nothing from disk either
        return icetally.count(**kw).to_dict()


def _slices(values: dict[str, list[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    lo, hi = values["span"]
    days = (hi - lo).days

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        kw: dict[str, Any] = {}
        if draw(st.booleans()):
            a = draw(st.integers(0, days))
            b = draw(st.integers(a, min(days, a + 400)))
            if draw(st.booleans()):
                kw["date_from"] = (lo + timedelta(days=a)).isoformat()
            if draw(st.booleans()):
                kw["date_to"] = (lo + timedelta(days=b)).isoformat()
        for name in draw(st.sets(st.sampled_from(FILTERS), max_size=4)):
            pool = values[name]
            if name in ("release", "program"):
                # values no row holds, with quotes and SQL in them, as well as real ones
                text = st.text(alphabet="ab'\"; -%_\\", min_size=1, max_size=8)
                pool_st = st.one_of(st.sampled_from(pool), text) if pool else text
            elif not pool:
                continue
            else:
                pool_st = st.sampled_from(pool)
            vals = draw(st.lists(pool_st, min_size=1, max_size=3, unique=True))
            vals = [str(v).strip() for v in vals if str(v).strip() and "," not in str(v)]
            if vals:
                kw[name] = vals
        dims = draw(st.lists(st.sampled_from(tuple(DIMENSIONS)), max_size=2, unique=True))
        if "date" in dims or "county" in dims:
            dims = [d for d in dims if d not in ("date", "county")] or ["week"]
        kw["by"] = dims
        return kw

    return build()


def _compare(db: Path, dataset: str, monkeypatch: pytest.MonkeyPatch, examples: int) -> None:
    values = _values(db, dataset)
    store = Store.open(db)
    con = store.ibis
    used = stored_used = 0

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(_slices(values))
    def check(kw: dict[str, Any]) -> None:
        nonlocal used, stored_used
        # a value the store does not hold (a --release typo) is refused the same way
        # by both paths, before either runs a query
        try:
            fast: Any = icetally.count(dataset, con=con, **kw).to_dict()
        except QueryError as e:
            fast = ("refused", str(e))
        try:
            slow: Any = _by_ibis(monkeypatch, dataset=dataset, con=con, **kw)
        except QueryError as e:
            slow = ("refused", str(e))
        assert fast == slow
        slc = Slice.build(dataset, **{k: v for k, v in kw.items() if k != "by"})
        if prepared.prepare(con, con.table(dataset), slc, kw["by"]) is not None:
            used += 1
        # the shape is on disk now (kept by the first count): what a new process
        # would answer from it, without Ibis, is the same
        if isinstance(slow, dict):
            from_disk = count_module._stored_detail(store, slc, kw["by"])
            if from_disk is not None:
                stored_used += 1
                assert from_disk[1] == slow["query"]["sql"]
                again = count_module.count(dataset, con=con, **kw).to_dict()
                assert again == slow

    check()
    assert used >= examples * 0.9  # the compiled path was the one compared
    # and the shapes kept on disk (not those with a quote in a value, or whose SQL
    # breaks its lines differently as values grow: compiled per process)
    assert stored_used >= examples * 0.3


def test_prepared_equals_ibis_national(national_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _compare(national_db, "arrests", monkeypatch, 150)
    _compare(national_db, "removals", monkeypatch, 40)


def test_prepared_equals_ibis_synthetic(
    synthetic_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _compare(synthetic_db, "arrests", monkeypatch, 150)
    _compare(synthetic_db, "detainers", monkeypatch, 40)


def test_values_are_bound_not_written(national_db: Path) -> None:
    """The executed SQL holds parameters, never the request's values; the shown SQL
    holds the values, quoted as SQL literals."""
    con = Store.open(national_db).ibis
    slc = Slice.build(
        "arrests", date_from="2017-02-01", date_to="2017-02-28", aor="ATL", release="x'); --"
    )
    p = prepared.prepare(con, con.table("arrests"), slc, ["aor"])
    assert p is not None
    assert "ATL" not in p.detail_sql and "2017" not in p.detail_sql and "x'" not in p.detail_sql
    assert "$p0" in p.detail_sql and "$p3" in p.detail_sql
    assert p.params(slc) == {
        "p0": date(2017, 2, 1),
        "p1": date(2017, 2, 28),
        "p2": "ATL",
        "p3": "x'); --",
    }
    shown = p.shown_sql(slc)
    assert "'x''); --'" in shown and "MAKE_DATE(2017, 2, 1)" in shown
    # the shown SQL runs as it stands and gives the count
    res = icetally.count(
        "arrests", db=national_db, date_from="2017-02-01", date_to="2017-02-28", aor="ATL"
    )
    raw = duckdb.connect(str(national_db), read_only=True)
    try:
        assert raw.execute(res.query["sql"]).fetchall()[0][-1] == res.total
        assert res.total > 0
    finally:
        raw.close()


def test_county_slices_compile_per_query(national_db: Path) -> None:
    con = Store.open(national_db).ibis
    slc = Slice.build("arrests", county="King")
    assert prepared.prepare(con, con.table("arrests"), slc, []) is None
    # the national files name no county: a county filter there is an error listing
    # what the store holds (none), not a silent 0 (issue #13)
    with pytest.raises(QueryError, match=r"unknown county \['KING'\] for --county"):
        icetally.count("arrests", con=con, county="King")
