"""One store handle: every entry point takes a Store (or a path), a Store passed in
is used and left open, a path is opened for the call and closed after it."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

import icetally
from icetally import api
from icetally.store.handle import Store, StoreError, is_synthetic_release


def _writable_again(db: Path) -> None:
    """Nothing of this process still holds the file: a read-write connection, which
    DuckDB refuses beside an open read-only one, opens."""
    con = duckdb.connect(str(db))
    con.close()


def test_one_store_serves_every_entry_point(synthetic_db: Path, tmp_path: Path) -> None:
    with Store.open(synthetic_db) as store:
        raw = store.duckdb
        by_store = api.count("arrests", store=store, by="aor")
        assert by_store.to_dict() == api.count("arrests", db=synthetic_db, by="aor").to_dict()
        assert by_store.total == raw.execute("SELECT sum(n) FROM arrests").fetchall()[0][0]
        surges = api.surges("arrests", store=store, metric="at_large")
        assert surges.surges, "the planted September 2019 surge"
        checked = api.check(
            [
                {
                    "id": "sept",
                    "measure": "count",
                    "value": 100,
                    "from": "2019-09-21",
                    "to": "2019-09-25",
                }
            ],
            store,
        )
        assert (
            checked.results[0]["observed"]
            == api.count("arrests", store=store, date_from="2019-09-21", date_to="2019-09-25").total
        )
        assert api.releases(store) == api.releases(db=synthetic_db)
        coop = api.cooperation(store, level="aor", by="year")
        assert coop["series"]
        inten = api.intensity(store, by="fiscal_year")
        assert sum(r["arrests"] for r in inten["rows"]) == by_store.total
        summary = api.jurisdictions(store, level="aor")
        assert summary["rows"]
        html = api.render_report(store, date_from="2019-09-21", date_to="2019-09-25", aor="LOS")
        assert "SYNTHETIC" in html and "<svg" in html
        manifest = api.export(tmp_path / "parquet", store)
        assert manifest["row_counts"]["arrests"] == by_store.total
        # the handle was used, not reopened or closed, by all of them
        assert store.duckdb is raw
        assert raw.execute("SELECT 1").fetchall() == [(1,)]
    _writable_again(synthetic_db)


def test_a_path_is_opened_and_closed_by_the_call(synthetic_db: Path) -> None:
    icetally.count("arrests", db=synthetic_db, by="month")
    icetally.surges("arrests", store=synthetic_db, metric="at_large", date_from="2019-09-01")
    icetally.jurisdictions(synthetic_db, level="aor")
    _writable_again(synthetic_db)


def test_writes_need_a_writable_store(synthetic_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "copy.duckdb"
    shutil.copy(synthetic_db, db)
    with Store.open(db) as ro, pytest.raises(StoreError, match="read_only=False"):
        api.ingest([tmp_path / "nothing.csv"], ro)
    with Store.open(db, read_only=False) as rw:
        res = api.ingest([tmp_path / "missing.csv"], rw)
        assert [r.status for r in res] == ["failed"]
        assert rw.releases() == api.releases(db=synthetic_db)


def test_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "none.duckdb"
    with pytest.raises(StoreError, match="no store at"):
        icetally.count("arrests", db=missing)
    assert not missing.exists()  # a read never creates a store


def test_synthetic_is_one_test(synthetic_db: Path) -> None:
    with Store.open(synthetic_db) as store:
        rels = store.releases()
        assert store.synthetic and store.only_synthetic
        assert all(is_synthetic_release(r) for r in rels)
        assert store.datasets == ["arrests", "detainers"]
    assert not is_synthetic_release({"title": "ICE arrests FY2019", "metadata": {}})


def test_jurisdictions_is_the_function_not_a_package() -> None:
    assert callable(icetally.jurisdictions)
    assert icetally.jurisdictions is api.jurisdictions
    with pytest.raises(ModuleNotFoundError):
        __import__("icetally.jurisdictions")


def test_count_and_prepared_do_not_import_each_other() -> None:
    import ast
    import inspect

    from icetally.query import count, prepared

    def imports(mod: object) -> set[str]:
        tree = ast.parse(inspect.getsource(mod))  # type: ignore[arg-type]
        return {
            n.module or ""
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("icetally")
        }

    assert "icetally.query.count" not in imports(prepared)
    assert "icetally.query.prepared" in imports(count)


def test_cli_and_web_service_call_only_the_public_api() -> None:
    """cli.py and web/service.py import icetally.api, the vocabulary and definitions,
    never an analysis or query module."""
    import ast

    from .conftest import ROOT

    allowed = (
        "icetally.api",
        "icetally.vocabulary",
        "icetally.schema",
        "icetally.install",
        "icetally.web",
        "icetally.cache",
        "icetally.report",  # presentation the pages share with the report
        "icetally.render",
    )
    for rel in ("src/icetally/cli.py", "src/icetally/web/service.py", "src/icetally/web/api.py",
                "src/icetally/web/pages.py"):  # fmt: skip
        tree = ast.parse((ROOT / rel).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                mod = node.module
                if mod == "icetally":
                    names = {a.name for a in node.names}
                    assert names <= {"api", "reference"}, (rel, names)
                elif mod.startswith("icetally"):
                    assert mod.startswith(allowed), (rel, mod)
