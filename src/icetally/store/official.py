"""Official figures in the store: the ``official`` table (one row per figure ICE
published in a detention statistics workbook) and its loading.

It is not a records dataset (no ``event_date``, nothing to count): it has its own
columns (``sources.detention_fields.FIGURE_FIELDS`` plus ``release_id`` and
``figure_key``). A workbook goes through the same ``icetally ingest`` path as every
release: detected by content, one transaction per file, skipped when its sha256 is
already in ``releases``, and one ``releases`` row with its provenance (snapshot and
where it came from, data-through date, tables found, unrecognized titles, footnotes).
"""

from __future__ import annotations

import json
from calendar import monthrange
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from icetally import __version__
from icetally.sources.detention_fields import DIMENSIONS, FIGURE_FIELDS
from icetally.store import coverage

if TYPE_CHECKING:
    import pyarrow as pa

    from icetally.sources import detention_stats

TABLE = "official"

COLUMNS: tuple[tuple[str, str], ...] = (
    ("release_id", "VARCHAR"),
    *FIGURE_FIELDS,
    ("figure_key", "VARCHAR"),
)

DDL = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (\n    "
    + ",\n    ".join(f'"{n}" {t}' for n, t in COLUMNS)
    + "\n)"
)

# The identity of a published figure across snapshots: the same table, breakdown,
# fiscal year, measure and dimensions. Two snapshots' rows with one key are two
# versions of one figure (revisions).
KEY_PARTS: tuple[str, ...] = ("table_name", "breakdown", "fiscal_year", "measure", *DIMENSIONS)
FIGURE_KEY_SQL = (
    "concat_ws('|', "
    + ", ".join(f"coalesce(CAST(\"{c}\" AS VARCHAR), '')" for c in KEY_PARTS)
    + ")"
)


def __getattr__(name: str) -> Any:
    """``detention_stats``, the workbook reader, imported on first use (PEP 562): every
    ingest imports this module, and only a workbook needs the reader's 56 title
    patterns compiled."""
    if name == "detention_stats":
        from icetally.sources import detention_stats

        return detention_stats
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def claims(path: Path) -> bool:
    """Is this file an ICE detention statistics workbook (by content)?"""
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return False  # (every ingest asks: a delimited file never loads the reader)
    from icetally.sources import detention_stats

    return detention_stats.sniff(path)


def _coverage(figures: pa.Table) -> tuple[date | None, date | None]:
    months = [m for m in figures.column("month").to_pylist() if m]
    if not months:
        return None, None
    lo, hi = min(months), max(months)
    y, m = int(hi[:4]), int(hi[5:7])
    return date(int(lo[:4]), int(lo[5:7]), 1), date(y, m, monthrange(y, m)[1])


def load(
    con: duckdb.DuckDBPyConnection, path: Path, *, sha: str
) -> tuple[detention_stats.OfficialWorkbook, str]:
    """Read one workbook and insert its figures and its releases row. The caller holds
    the transaction. Returns (the workbook read, release_id)."""
    import pyarrow as pa

    from icetally.sources import detention_stats

    ensure_table(con)
    wb = detention_stats.read(path)
    release_id = sha[:16]
    fig = wb.figures.append_column(
        "release_id", pa.array([release_id] * wb.figures.num_rows, pa.string())
    )
    con.register("official_batch", fig)
    try:
        names = ", ".join(f'"{name}"' for name, _ in FIGURE_FIELDS)
        con.execute(
            f"INSERT INTO {TABLE} (release_id, {names}, figure_key) "
            f"SELECT release_id, {names}, {FIGURE_KEY_SQL} FROM official_batch"
        )
    finally:
        con.unregister("official_batch")
    start, end = _coverage(wb.figures)
    metadata: dict[str, Any] = {
        "kind": "official",
        "fiscal_year": wb.fiscal_year,
        "snapshot": wb.snapshot.isoformat(),
        "snapshot_source": wb.snapshot_source,
        "data_through": {k: v.isoformat() for k, v in wb.data_through.items()},
        "tables": [
            {
                "id": t.id,
                "table": t.table,
                "title": t.title,
                "sheet": t.sheet,
                "cell": t.cell,
                "fiscal_year": t.fiscal_year,
                "figures": t.figures,
            }
            for t in wb.tables
        ],
        "unrecognized_titles": wb.unrecognized,
        "warnings": wb.warnings,
        "footnotes": wb.footnotes,
    }
    n = wb.figures.num_rows
    con.execute(
        "INSERT INTO releases (release_id, sha256, path, file_name, sheet, format, dataset,"
        " rows_read, rows_loaded, rows_quarantined, coverage_start, coverage_end,"
        " min_event_date, max_event_date, title, metadata, redactions, unmapped,"
        " ingested_at, icetally_version)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            release_id,
            sha,
            str(path.resolve()),
            path.name,
            None,
            detention_stats.FORMAT,
            detention_stats.DATASET,
            n,
            n,
            0,
            start,
            end,
            start,
            end,
            f"ICE detention statistics FY{wb.fiscal_year} (snapshot {wb.snapshot.isoformat()})",
            json.dumps(metadata, default=str),
            json.dumps({}),
            json.dumps({"titles": wb.unrecognized} if wb.unrecognized else {}),
            datetime.now().replace(microsecond=0),
            __version__,
        ],
    )
    coverage.write_spans(con, release_id, [(None, start, end)])
    return wb, release_id
