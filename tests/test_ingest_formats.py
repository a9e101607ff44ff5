"""Every real release format loads through `icetally ingest` with the right datasets."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from icetally import count, ingest
from icetally.cli import app
from tests.conftest import SHARED, need_shared

SEATTLE = SHARED / "ice-seattle-xlsx"
DDP = SHARED / "ddp-format-samples"


@pytest.fixture(scope="module")
def formats_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need_shared()
    db = tmp_path_factory.mktemp("formats") / "f.duckdb"
    res = CliRunner().invoke(
        app, ["ingest", str(SEATTLE), str(DDP), str(SHARED / "cbp"), "--db", str(db), "--json"]
    )
    assert res.exit_code == 0, res.output
    files = json.loads(res.stdout)["files"]
    assert all(f["status"] == "loaded" for f in files), files
    return db


def test_seattle_workbooks_one_release_per_sheet(formats_db: Path) -> None:
    con = duckdb.connect(str(formats_db), read_only=True)
    sheets = dict(
        con.execute(
            "SELECT sheet, dataset FROM releases WHERE file_name LIKE 'seattle%'"
        ).fetchall()
    )
    assert sheets == {
        "Arrests": "arrests",
        "Book Ins": "detention_stints",
        "Expedited Removals": "removals",
        "Other Removals": "removals",
        "FY2017 Arrests": "arrests",
        "FY2017 Encounters": "encounters",
        "FY2017 Removals": "removals",
        "FY2018 Arrests": "arrests",
        "FY2018 Encounters": "encounters",
        "FY2018 Removals": "removals",
    }
    # Summary and Footnotes are release metadata, not records
    meta = json.loads(
        con.execute("SELECT metadata FROM releases WHERE sheet = 'Arrests'").fetchall()[0][0]
    )
    assert "footnotes" in json.dumps(meta).lower()
    # the workbook names its AOR only in the title: rows still get SEA
    aors = con.execute(
        "SELECT DISTINCT aor FROM arrests WHERE source_file LIKE 'seattle%'"
    ).fetchall()
    assert aors == [("SEA",)]
    # every row accounted for
    bad = con.execute(
        "SELECT count(*) FROM releases WHERE rows_read <> rows_loaded + rows_quarantined"
    ).fetchall()[0][0]
    assert bad == 0
    n = con.execute(
        "SELECT sum(rows_loaded) FROM releases WHERE file_name = "
        "'seattle-aor-fy2012-2019ytd.xlsx' AND sheet = 'Arrests'"
    ).fetchall()[0][0]
    assert 32_000 < n < 33_000


def test_malformed_workbook_loads(formats_db: Path) -> None:
    con = duckdb.connect(str(formats_db), read_only=True)
    rows = con.execute(
        "SELECT sheet, rows_loaded, coverage_end FROM releases "
        "WHERE file_name = 'seattle-2018-ICFO-36170-fy2017-2018.xlsx' ORDER BY sheet"
    ).fetchall()
    assert len(rows) == 6 and all(r[1] > 1000 for r in rows)
    # its redactions '(b)(7)(E )' and '(b)(6),(b)(7)(c )' are nulls, counted
    red = json.loads(
        con.execute("SELECT redactions FROM releases WHERE sheet = 'FY2018 Arrests'").fetchall()[0][
            0
        ]
    )
    assert red == {"Event Number": 1410, "Date of Birth": 1410}


def test_cbp_total_equals_encounter_count_sum(formats_db: Path) -> None:
    f = SHARED / "cbp" / "cbp-nationwide-encounters-fy20-fy23-state.csv"
    expected = (
        duckdb.connect()
        .execute(f"SELECT sum(\"Encounter Count\") FROM read_csv('{f}', header=true)")
        .fetchall()[0][0]
    )
    got = count("cbp_encounters", db=formats_db, release=_release(formats_db, f.name))
    assert got.total == expected > 1_000_000
    by_fy = count(
        "cbp_encounters", db=formats_db, by="fiscal_year", release=_release(formats_db, f.name)
    )
    independent = dict(
        duckdb.connect()
        .execute(
            f'SELECT "Fiscal Year", sum("Encounter Count") FROM read_csv(\'{f}\', header=true) '
            "GROUP BY 1"
        )
        .fetchall()
    )
    assert {r["fiscal_year"]: r["n"] for r in by_fy.rows} == independent


def _release(db: Path, name: str) -> str:
    con = duckdb.connect(str(db), read_only=True)
    return con.execute("SELECT release_id FROM releases WHERE file_name = ?", [name]).fetchall()[0][
        0
    ]


def test_ddp_samples_normalize(formats_db: Path) -> None:
    con = duckdb.connect(str(formats_db), read_only=True)
    det = con.execute(
        "SELECT aor, criminality, count(*) FROM detainers "
        "WHERE source_file = 'detainers-2026-release-st-cloud-denied.csv' GROUP BY 1, 2"
    ).fetchall()
    assert {a for a, _, _ in det} == {"SPM"}
    assert sum(n for *_, n in det) == 22
    assert {c for _, c, _ in det} <= {
        "convicted",
        "pending_charges",
        "immigration_violator",
        "unknown",
    }
    # the joined WA file is split back into its tables: each person's distinct
    # records of each table (the 235 joined rows are a cross product of them)
    with open(DDP / "detainers-joined-wa.csv", newline="") as fh:
        joined = list(csv.DictReader(fh))
    for dataset, suffix in (("detainers", ".detainer"), ("arrests", ".arrest")):
        distinct = {
            (r["unique_identifier"], *(v for k, v in r.items() if k.endswith(suffix)))
            for r in joined
        }
        got = con.execute(
            f"SELECT count(*), count(DISTINCT person_id), count(event_date) FROM {dataset} "
            "WHERE source_file = 'detainers-joined-wa.csv'"
        ).fetchall()[0]
        assert len(joined) == 235
        assert got == (len(distinct), 44, len(distinct)), dataset
    la = con.execute(
        "SELECT count(*), count(method_class), count(person_id) FROM arrests "
        "WHERE source_file = 'arrests-derived-la-head.csv'"
    ).fetchall()[0]
    assert la == (12, 12, 12)


def test_parquet_release_loads_like_its_csv(tmp_path: Path) -> None:
    need_shared()
    src = DDP / "detainers-2026-release-st-cloud-denied.csv"
    table = pacsv.read_csv(src)
    pq.write_table(table, tmp_path / "detainers.parquet")
    res = ingest([tmp_path / "detainers.parquet", src], db=tmp_path / "p.duckdb")
    assert [r.status for r in res] == ["loaded", "loaded"]
    assert res[0].format == "ddp_clean_parquet"
    con = duckdb.connect(str(tmp_path / "p.duckdb"), read_only=True)
    per_file = con.execute(
        "SELECT source_file, count(*), count(DISTINCT event_date), any_value(aor) "
        "FROM detainers GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert per_file[0][1:] == per_file[1][1:] == (22, per_file[0][2], "SPM")
