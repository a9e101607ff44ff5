"""Spark conformance: the same questions asked of DuckDB and of PySpark (local[2]) over
the real national FY2016-2019 store must get identical answers — totals, rows (values,
types as JSON, order including where NULL groups sort), warnings, the releases behind
them; the surges found; the verdicts of the example claims. Plus the Parquet export
the Spark backend reads.

One Spark session serves the whole module (starting the JVM costs ~10 s); the national
store is built once per test run (conftest.national_db).
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [
    pytest.mark.spark,
    # PySpark 4.0 and Ibis 12 call pandas APIs that pandas 3 deprecates; not ours to fix.
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

import duckdb  # noqa: E402
import ibis  # noqa: E402
import pyarrow.dataset as pads  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from icetally import count  # noqa: E402
from icetally.query import spark as icespark  # noqa: E402
from icetally.schema import DATASETS  # noqa: E402
from icetally.vocabulary import DIMENSIONS, TIME_BUCKETS  # noqa: E402

BY_DIMENSIONS = tuple(DIMENSIONS)
from icetally.store import db as storedb  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# Datasets the national FY2016-2019 files fill.
NATIONAL_DATASETS = ("arrests", "encounters", "removals")


@pytest.fixture(scope="module")
def spark_backend(national_db: Path) -> Iterator[Any]:
    """The Spark backend over the national store (exported to its Parquet cache),
    shared by every test here; the local session is stopped at the end."""
    con = icespark.backend(national_db)
    yield con
    icespark.reset()
    con._session.sparkContext.stop()


@pytest.fixture(scope="module")
def with_data(national_db: Path) -> dict[str, set[str]]:
    """Per dataset, the --by dimensions that have at least one non-NULL value."""
    con = duckdb.connect(str(national_db), read_only=True)
    try:
        out: dict[str, set[str]] = {}
        for ds in NATIONAL_DATASETS:
            dims = set()
            for d in BY_DIMENSIONS:
                col = DIMENSIONS[d].column
                if con.execute(f'SELECT count("{col}") FROM "{ds}"').fetchall()[0][0]:
                    dims.add(d)
            out[ds] = dims
        return out
    finally:
        con.close()


def both(national_db: Path, dataset: str, **kw: Any) -> tuple[Any, Any]:
    duck = count(dataset, db=national_db, **kw)
    spark = count(dataset, db=national_db, backend="spark", **kw)
    return duck, spark


def assert_same(duck: Any, spark: Any) -> None:
    assert spark.total == duck.total
    assert spark.rows == duck.rows
    assert spark.warnings == duck.warnings
    for key in ("dataset", "filters", "by", "releases"):
        assert spark.query[key] == duck.query[key], key
    assert spark.query["backend"] == "spark"
    assert "`" in spark.query["sql"], "the query shown should be Spark SQL"
    # JSON text equal too: no date-vs-timestamp or int-vs-float drift in the output.
    assert json.dumps(spark.rows) == json.dumps(duck.rows)


def test_session_is_local_and_small(spark_backend: Any) -> None:
    conf = spark_backend._session.sparkContext.getConf()
    assert conf.get("spark.master") == "local[2]"
    assert conf.get("spark.ui.enabled") == "false"
    assert spark_backend._session.conf.get("spark.sql.shuffle.partitions") == "4"
    assert spark_backend._session.conf.get("spark.sql.session.timeZone") == "UTC"
    assert {"arrests", "releases", "quarantine", "detainers"} <= set(spark_backend.list_tables())


@pytest.mark.parametrize("dim", BY_DIMENSIONS)
def test_count_by_every_dimension(
    national_db: Path, spark_backend: Any, with_data: dict[str, set[str]], dim: str
) -> None:
    # Every dataset with data in the dimension; the fine time buckets only on arrests
    # (the same truncation code runs for every dataset, and each costs a Spark job).
    datasets = [
        ds
        for ds in NATIONAL_DATASETS
        if dim in with_data[ds] and (ds == "arrests" or dim not in ("date", "week", "quarter"))
    ]
    if not datasets:
        pytest.skip(f"no {dim} values in the national FY2016-2019 files")
    for ds in datasets:
        duck, spark = both(national_db, ds, by=dim)
        assert duck.total > 0
        assert len(duck.rows) >= 1
        assert_same(duck, spark)


def test_dimensions_covered(with_data: dict[str, set[str]]) -> None:
    """The national files fill these; if normalization stopped filling one, the
    conformance above would quietly skip it."""
    expected = {
        *TIME_BUCKETS,
        "fiscal_year",
        "administration",
        "aor",
        "citizenship",
        "country_iso3",
        "continent",
        "method",
        "method_class",
        "gender",
        "release_id",
    }
    assert expected <= with_data["arrests"]


COMBOS = [
    ("arrests", "aor,month"),
    ("arrests", "fiscal_year,method_class"),
    ("arrests", "aor,week"),
    ("arrests", "continent,quarter"),
    ("arrests", "administration,method_class,gender"),
    ("encounters", "aor,fiscal_year"),
    ("removals", "fiscal_year,continent"),
]


@pytest.mark.parametrize(("dataset", "by"), COMBOS)
def test_count_combinations(national_db: Path, spark_backend: Any, dataset: str, by: str) -> None:
    duck, spark = both(national_db, dataset, by=by)
    assert len(duck.rows) > 1
    assert_same(duck, spark)


FILTERS: list[tuple[str, dict[str, Any]]] = [
    ("window", {"date_from": "2017-09-24", "date_to": "2017-09-27", "by": "aor,date"}),
    ("aor list", {"aor": "LOS,PHI", "by": "month"}),
    ("at_large", {"method_class": "at_large", "by": "aor,month"}),
    ("citizenship iso3", {"citizenship": "MEX,GTM", "by": "country_iso3,fiscal_year"}),
    ("citizenship as released", {"citizenship": "MEXICO", "by": "citizenship"}),
    ("fiscal year", {"fiscal_year": "FY2018", "by": "method_class"}),
    ("fiscal years", {"fiscal_year": "2016,2019", "by": "fiscal_year,aor"}),
    ("administration", {"administration": "trump1", "by": "month"}),
    ("continent", {"continent": "Africa", "by": "country_iso3"}),
    (
        "everything at once",
        {
            "date_from": "2017-02-06",
            "date_to": "2017-02-10",
            "aor": "ATL,CHI,LOS,NYC,SNA",
            "method_class": "at_large",
            "administration": "trump1",
            "by": "aor,date",
        },
    ),
    ("empty slice", {"state": "TX", "by": "aor"}),
]


@pytest.mark.parametrize(("label", "kw"), FILTERS, ids=[f[0] for f in FILTERS])
def test_count_filters(national_db: Path, spark_backend: Any, label: str, kw: dict) -> None:
    duck, spark = both(national_db, "arrests", **kw)
    if label == "empty slice":
        assert duck.total == 0  # the national files hold no state
    else:
        assert duck.total > 0
    assert_same(duck, spark)


def test_count_by_release_on_one_release(national_db: Path, spark_backend: Any) -> None:
    rel = count("arrests", db=national_db, by="release_id").rows[1]["release_id"]
    duck, spark = both(national_db, "arrests", release=rel, by="aor,quarter")
    assert duck.query["releases"] == [rel]
    assert_same(duck, spark)


def _without_backend(d: dict[str, Any]) -> dict[str, Any]:
    q = {k: v for k, v in d["query"].items() if k not in ("backend", "series_sql")}
    return {**d, "query": q}


@pytest.mark.parametrize(
    "kw",
    [
        {"date_from": "2017-01-01", "date_to": "2017-12-31"},
        {"metric": "at_large", "aor": "LOS,NYC,CHI,ATL", "date_from": "2018-01-01"},
    ],
    ids=["all-2017", "at_large-4aors"],
)
def test_surges_identical(national_db: Path, spark_backend: Any, kw: dict) -> None:
    from icetally import api

    duck = api.surges("arrests", db=national_db, **kw).to_dict()
    spark = api.surges("arrests", db=national_db, backend="spark", **kw).to_dict()
    assert duck["surges"], "the national files hold surges in these windows"
    assert spark["query"]["backend"] == "spark"
    assert _without_backend(spark) == _without_backend(duck)


@pytest.mark.parametrize(
    "claims", sorted((ROOT / "examples" / "claims").glob("*.yaml")), ids=lambda p: p.stem
)
def test_check_identical(national_db: Path, spark_backend: Any, claims: Path) -> None:
    from icetally.analysis.claims import check

    duck = check(claims, db=national_db).to_dict()["claims"]
    spark = check(claims, db=national_db, backend="spark").to_dict()["claims"]
    assert duck
    strip = [{**c, "query": _strip_sql(c.get("query"))} for c in duck]
    assert [{**c, "query": _strip_sql(c.get("query"))} for c in spark] == strip


def _strip_sql(q: Any) -> Any:
    if not isinstance(q, dict):
        return q
    return {k: v for k, v in q.items() if k != "backend" and "sql" not in k}


# ---------------------------------------------------------------------------- export


def test_export_matches_store(national_db: Path, tmp_path: Path) -> None:
    """`icetally export --parquet`: row counts per dataset and fiscal year, read back
    from the files (not from the manifest), equal the store's; types are kept."""
    from icetally.cli import app

    out = tmp_path / "parquet"
    res = CliRunner().invoke(
        app, ["export", "--parquet", str(out), "--db", str(national_db), "--json"]
    )
    assert res.exit_code == 0, res.output
    manifest = json.loads(res.stdout)
    assert manifest == json.loads((out / "manifest.json").read_text())
    assert manifest["icetally_version"]
    assert manifest["exported_at"]

    con = duckdb.connect(str(national_db), read_only=True)
    try:
        for ds in DATASETS:
            store = dict(
                con.execute(f'SELECT fiscal_year, count(*) FROM "{ds}" GROUP BY 1').fetchall()
            )
            # Hive partitioning reads fiscal_year from the directory names
            # (__HIVE_DEFAULT_PARTITION__ as NULL), or from the file of an empty dataset.
            files = pads.dataset(out / ds, format="parquet", partitioning="hive")
            got = Counter(files.to_table(columns=["fiscal_year"]).column(0).to_pylist())
            assert got == store, ds
            assert manifest["row_counts"][ds] == sum(store.values())
        for name in ("releases", "quarantine"):
            n = con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
            assert pads.dataset(out / f"{name}.parquet").count_rows() == n
            assert manifest["row_counts"][name] == n
    finally:
        con.close()

    # Partition layout and column types as the store has them.
    assert (out / "arrests" / "fiscal_year=2018" / "part-0.parquet").is_file()
    schema = pads.dataset(out / "arrests" / "fiscal_year=2018").schema
    assert str(schema.field("event_date").type) == "date32[day]"
    assert str(schema.field("n").type) == "int64"
    assert str(schema.field("source_row").type) == "int64"
    assert str(schema.field("birth_year").type) == "int32"
    assert str(schema.field("duplicate_likely").type) == "bool"
    assert "fiscal_year" not in schema.names  # it is the directory
    rel = pads.dataset(out / "releases.parquet").schema
    assert str(rel.field("ingested_at").type) == "timestamp[us]"
    assert str(rel.field("coverage_start").type) == "date32[day]"
    # An empty dataset is one zero-row file with the full schema.
    empty = [ds for ds in DATASETS if manifest["row_counts"][ds] == 0]
    for ds in empty:
        assert pads.dataset(out / ds).count_rows() == 0
        assert "fiscal_year" in pads.dataset(out / ds).schema.names

    # Exporting again over an earlier export replaces it; over other files it refuses.
    res = CliRunner().invoke(app, ["export", "--parquet", str(out), "--db", str(national_db)])
    assert res.exit_code == 0, res.output
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    res = CliRunner().invoke(
        app, ["export", "--parquet", str(tmp_path / "other"), "--db", str(national_db)]
    )
    assert res.exit_code == 2
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"


def test_null_fiscal_year_partition(tmp_path: Path, spark_backend: Any) -> None:
    """A row without a date has no fiscal year: it goes to the NULL partition, and
    both engines read it back as NULL (typed INT on Spark, sorted last on both)."""
    from icetally.store.export import export_parquet

    db = tmp_path / "small.duckdb"
    con = storedb.connect(db)
    cols = ["event_date", "aor", "fiscal_year", "administration", "method_class", "n"]
    table = storedb.writable(con, "arrests", cols)
    con.execute(
        f"""
        INSERT INTO {table} ({", ".join(cols)}, release_id)
        VALUES (DATE '2018-01-02', 'LOS', 2018, 'trump1', 'at_large', 1, 'r1'),
               (DATE '2018-11-20', 'PHI', 2019, 'trump1', NULL, 1, 'r1'),
               (NULL, 'LOS', NULL, NULL, 'custodial', 1, 'r1'),
               (NULL, NULL, NULL, NULL, NULL, 1, 'r1')
        """
    )
    con.close()
    out = tmp_path / "export"
    manifest = export_parquet(db, out)
    assert manifest["tables"]["arrests"]["partitions"] == {"2018": 1, "2019": 1, "null": 2}
    assert (out / "arrests" / "fiscal_year=__HIVE_DEFAULT_PARTITION__").is_dir()

    spark = icespark.backend(out)
    assert spark is not spark_backend  # its own session: its own views
    assert str(spark.table("arrests").schema()["fiscal_year"]) == "int32"
    for by in ("fiscal_year", "aor,month", "method_class,administration", "week"):
        duck = count("arrests", con=ibis.duckdb.connect(str(db), read_only=True), by=by)
        other = count("arrests", con=spark, backend="spark", by=by)
        assert other.rows == duck.rows, by
    assert count("arrests", con=spark, by="fiscal_year").rows[-1] == {"fiscal_year": None, "n": 2}
    # The national backend still sees the national views.
    assert count("arrests", con=spark_backend).total > 1000


def test_store_cache_follows_the_store(tmp_path: Path, spark_backend: Any) -> None:
    """A .duckdb store is exported once to a cache beside it, and again when it changes."""
    db = tmp_path / "c.duckdb"
    con = storedb.connect(db)
    con.execute(
        f"INSERT INTO {storedb.writable(con, 'arrests', ['event_date', 'aor', 'fiscal_year', 'n'])} "
        "(event_date, aor, fiscal_year, n, release_id) "
        "VALUES (DATE '2018-01-02', 'LOS', 2018, 1, 'r1')"
    )
    con.execute("CHECKPOINT")
    con.close()
    first = icespark.backend(db)
    assert icespark.backend(db) is first
    assert count("arrests", con=first).total == 1
    con = storedb.connect(db)
    con.execute(
        f"INSERT INTO {storedb.writable(con, 'arrests', ['event_date', 'aor', 'fiscal_year', 'n'])} "
        "(event_date, aor, fiscal_year, n, release_id) "
        "VALUES (DATE '2018-01-03', 'LOS', 2018, 1, 'r1')"
    )
    con.execute("CHECKPOINT")
    con.close()
    second = icespark.backend(db)
    assert second is not first
    assert count("arrests", con=second).total == 2
    cache = tmp_path / "c.duckdb.spark-cache"
    assert len(list(cache.iterdir())) == 2, "the older export is kept for a grace period"
    # Once the older export is stale, the next look-up removes it.
    for d in cache.iterdir():
        if d != icespark.exported(db):
            os.utime(d, (1, 1))
    icespark.exported(db)
    assert len(list(cache.iterdir())) == 1


@pytest.mark.skipif(
    not os.environ.get("ICETALLY_TEST_SPARK_REMOTE"),
    reason="set ICETALLY_TEST_SPARK_REMOTE=sc://host:15002 (a server that can read this "
    "machine's temp dir) to run the Spark Connect check",
)
def test_spark_connect_matches(
    national_db: Path, monkeypatch: pytest.MonkeyPatch, spark_backend: Any
) -> None:
    """Through Spark Connect: the same answers (the server reads the cached export)."""
    monkeypatch.setenv(icespark.ENV_REMOTE, os.environ["ICETALLY_TEST_SPARK_REMOTE"])
    for kw in ({"by": "aor,month"}, {"by": "week", "method_class": "at_large", "aor": "LOS"}):
        duck, remote = both(national_db, "arrests", **kw)
        assert_same(duck, remote)
    con = icespark.backend(national_db)
    assert "connect" in type(con._session).__module__


# --- every dimension, on a store that fills them -------------------------------------
# The national files have no state, county, criminality, program or detainer columns, so
# the conformance above skips those dimensions; a small synthetic release in the DDP
# layouts (calibrated demo generator) fills all of them.

SYNTHETIC_DATASETS = ("arrests", "detainers")


@pytest.fixture(scope="module")
def synthetic_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from icetally import ingest
    from icetally.synth.calibrated import LATEST_START, plan, write_release

    out = tmp_path_factory.mktemp("synthetic-spark")
    manifest = write_release(out, plan(start=LATEST_START, seed=3))
    db = out / "synthetic.duckdb"
    files = [manifest["files"][k]["path"] for k in ("arrests", "detainers")]
    res = ingest(files, db=db)
    assert all(r.status == "loaded" for r in res), res
    return db


@pytest.mark.parametrize("dim", BY_DIMENSIONS)
def test_count_by_every_dimension_synthetic(
    synthetic_db: Path, spark_backend: Any, dim: str
) -> None:
    compared = 0
    con = duckdb.connect(str(synthetic_db), read_only=True)
    try:
        for ds in SYNTHETIC_DATASETS:
            col = DIMENSIONS[dim].column
            if not con.execute(f'SELECT count("{col}") FROM "{ds}"').fetchall()[0][0]:
                continue
            duck, spark = both(synthetic_db, ds, by=dim)
            assert duck.total > 0
            assert_same(duck, spark)
            compared += 1
    finally:
        con.close()
    assert compared, f"the synthetic release fills no {dim}"
