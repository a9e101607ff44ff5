"""Pathways on Spark: the same questions asked of DuckDB and of PySpark (local mode)
over the real WA joined file and the planted cases of tests/test_pathways.py get
identical answers — every figure, the rows per group, the stays and the episodes.
Only the backend's name and its SQL dialect differ (as in tests/test_spark.py)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
    pytest.mark.filterwarnings("ignore:The 'future.infer_string' option is deprecated"),
    pytest.mark.filterwarnings("ignore:fetch_arrow_table\\(\\) is deprecated"),
]

pytest.importorskip("pyspark", reason="the spark extra is not installed (pip install .[spark])")
pytest.importorskip(
    "ibis.backends.pyspark", reason="ibis-framework[pyspark] is not installed (the spark extra)"
)
if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
    pytest.skip(
        "Java 17+ is needed to run Spark locally (no java on PATH)", allow_module_level=True
    )

import icetally  # noqa: E402
from icetally.analysis import linking  # noqa: E402
from icetally.query import spark as icespark  # noqa: E402
from icetally.store.handle import Store  # noqa: E402
from tests.conftest import SHARED  # noqa: E402
from tests.test_pathways import PLANTED, _write_joined  # noqa: E402

WA = SHARED / "ddp-format-samples" / "detainers-joined-wa.csv"


@pytest.fixture(scope="module")
def linked_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The WA joined file and the planted cases, each its own linked release."""
    root = tmp_path_factory.mktemp("pathways-spark")
    _write_joined(root / "planted" / "joined.csv", PLANTED)
    files = [root / "planted" / "joined.csv"]
    if WA.is_file():
        files.append(WA)
    db = root / "linked.duckdb"
    assert {r.status for r in icetally.ingest(files, db=db)} == {"loaded"}
    return db


@pytest.fixture(scope="module")
def spark(linked_db: Path) -> Iterator[Any]:
    con = icespark.backend(linked_db)
    yield con
    icespark.reset()
    con._session.sparkContext.stop()


def _plain(d: dict[str, Any]) -> dict[str, Any]:
    """The answer without what names the engine: the backend and its SQL text."""
    out = json.loads(json.dumps(d, default=str))
    out["query"].pop("backend")
    out["query"].pop("sql")
    return out


# Spark runs each of a question's ~20 small queries as a job: a few questions suffice
QUESTIONS: list[dict[str, Any]] = [
    {"by": "month"},
    {"criminality": "convicted", "date_from": "2024-03-01", "date_to": "2024-12-31"},
]


@pytest.mark.timeout(3000)
def test_pathways_identical_on_spark(linked_db: Path, spark: Any) -> None:
    with Store.open(linked_db) as duck:
        releases = [lr.id for lr in linking.linked_releases(duck)]
    assert len(releases) == (2 if WA.is_file() else 1)
    for release in releases:
        for q in QUESTIONS:
            a = icetally.pathways(db=linked_db, release=release, **q).to_dict()
            b = icetally.pathways(Store.of(linked_db, con=spark), release=release, **q).to_dict()
            assert b["query"]["backend"] == "spark"
            assert _plain(a) == _plain(b), (release, q)
    # the tables themselves, row for row
    with Store.open(linked_db) as duck:
        sp = Store.of(linked_db, con=spark)
        for release in releases:
            assert linking.stay_rows(duck, release) == linking.stay_rows(sp, release)
            assert linking.episode_rows(duck, release=release) == linking.episode_rows(
                sp, release=release
            )
