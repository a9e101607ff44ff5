"""Export the store as Parquet, for Spark and any other engine that reads Parquet.

Layout (hive-style partitions, readable by Spark, DuckDB, Arrow, Polars, Trino)::

    OUT/manifest.json                          what was exported, row counts, schemas
    OUT/releases.parquet                       the releases manifest table
    OUT/quarantine.parquet                     quarantined rows
    OUT/arrests/fiscal_year=2018/part-0.parquet
    OUT/arrests/fiscal_year=__HIVE_DEFAULT_PARTITION__/part-0.parquet   (NULL fiscal year)
    OUT/detainers/part-0.parquet               an empty dataset: one zero-row file

DuckDB writes the files (``COPY ... TO ... (FORMAT parquet, PARTITION_BY ...)``), so
column types stay what the store holds: DATE is date32, BIGINT int64, INTEGER int32,
TIMESTAMP timestamp[us], JSON a string with the JSON annotation. The partition column
is not stored inside the partitioned files (that is the hive convention); its type is
in ``manifest.json`` so readers restore it instead of guessing from directory names.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from icetally import __version__
from icetally.errors import IcetallyError
from icetally.schema import DATASETS
from icetally.store.handle import Store

FORMAT_NAME = "icetally-parquet"
FORMAT_VERSION = 1
PARTITION_COLUMN = "fiscal_year"
# Tables exported whole (small; not partitioned).
PLAIN_TABLES: tuple[str, ...] = ("releases", "quarantine", "coverage_spans", "official")
MANIFEST = "manifest.json"
# Written last into every export: the files icetally wrote there. Only a folder whose
# every file is listed in it is ever replaced (issue #13, row 1).
OWNER_MARKER = ".icetally-export.json"
# Spark, Hive and DuckDB all read this directory name as a NULL partition value.
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"


class ExportError(IcetallyError, RuntimeError):
    pass


def _sql_str(value: str | os.PathLike[str]) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[dict[str, str]]:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return [{"name": n, "type": t} for n, t in rows]


def _write_dataset(
    con: duckdb.DuckDBPyConnection, table: str, columns: list[dict[str, str]], out: Path
) -> dict[str, Any]:
    total = con.execute(f"SELECT count(*) FROM {_ident(table)}").fetchall()[0][0]
    names = {c["name"] for c in columns}
    if total == 0 or PARTITION_COLUMN not in names:
        # PARTITION_BY writes no file at all for an empty table; a zero-row file keeps
        # the schema, so every engine can still register (and count) the table.
        out.mkdir(parents=True)
        con.execute(
            f"COPY (SELECT * FROM {_ident(table)}) TO {_sql_str(out / 'part-0.parquet')} "
            "(FORMAT parquet)"
        )
        return {"rows": int(total), "partition_by": [], "partitions": {}}
    con.execute(
        f"COPY (SELECT * FROM {_ident(table)}) TO {_sql_str(out)} "
        f"(FORMAT parquet, PARTITION_BY ({_ident(PARTITION_COLUMN)}), "
        "FILENAME_PATTERN 'part-{i}')"
    )
    parts = con.execute(
        f"SELECT {_ident(PARTITION_COLUMN)}, count(*) FROM {_ident(table)} GROUP BY 1 ORDER BY 1"
    ).fetchall()
    return {
        "rows": int(total),
        "partition_by": [PARTITION_COLUMN],
        # JSON keys are text: the directory value, "null" for the NULL partition.
        "partitions": {("null" if fy is None else str(fy)): int(n) for fy, n in parts},
    }


def export_parquet(
    store: Store | str | os.PathLike[str] | None,
    out_dir: str | os.PathLike[str],
    *,
    overwrite: bool = True,
) -> dict[str, Any]:
    """Write every canonical table of the store (a Store or a path) as Parquet under
    ``out_dir`` and return the manifest (also written as ``out_dir/manifest.json``).

    The export is built in a sibling temporary directory and moved into place at the
    end, so a reader never sees half an export. An existing ``out_dir`` is replaced
    only if it is empty or an earlier icetally export holding nothing but the files
    that export wrote (listed in its ``.icetally-export.json``): nothing else is ever
    deleted.
    """
    with Store.borrow(store) as s:
        return _export(s, Path(out_dir), overwrite=overwrite)


def _export(store: Store, out: Path, *, overwrite: bool) -> dict[str, Any]:
    con = store.duckdb  # no store there: StoreError, before anything is written
    path = store.path
    assert path is not None
    if out.is_symlink():
        raise ExportError(f"{out} is a symbolic link; give the real folder or a new one")
    if out.exists():
        if not out.is_dir():
            raise ExportError(f"{out} exists and is not a directory; choose a new directory")
        _check_owned(out, overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    stage.mkdir()
    stat = path.stat()
    try:
        # the store's own connection, closed by its owner
        # DuckDB draws a progress bar on stderr for long COPYs; a library must not.
        con.execute("SET enable_progress_bar = false")
        present = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema='main'"
            ).fetchall()
        }
        tables: dict[str, Any] = {}
        for name in DATASETS:
            if name not in present:
                continue
            cols = _columns(con, name)
            info = _write_dataset(con, name, cols, stage / name)
            tables[name] = {"path": name, "kind": "dataset", "columns": cols, **info}
        for name in PLAIN_TABLES:
            if name not in present:
                continue
            cols = _columns(con, name)
            con.execute(
                f"COPY (SELECT * FROM {_ident(name)}) TO "
                f"{_sql_str(stage / (name + '.parquet'))} (FORMAT parquet)"
            )
            rows = con.execute(f"SELECT count(*) FROM {_ident(name)}").fetchall()[0][0]
            tables[name] = {
                "path": name + ".parquet",
                "kind": "table",
                "columns": cols,
                "rows": int(rows),
                "partition_by": [],
                "partitions": {},
            }
        manifest: dict[str, Any] = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "icetally_version": __version__,
            "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "source": {
                "db": str(path.resolve()),
                "size": stat.st_size,
                "mtime": datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(),
            },
            "row_counts": {name: t["rows"] for name, t in tables.items()},
            "tables": tables,
        }
        (stage / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        _write_marker(stage)
        _replace(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return manifest


def _files_under(root: Path) -> list[str]:
    """Every file (and symbolic link) under ``root``, relative, without following links."""
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        # a link to a folder is listed among dirnames but never walked into
        links = [d for d in dirnames if (here / d).is_symlink()]
        for name in [*filenames, *links]:
            found.append((here / name).relative_to(root).as_posix())
    return sorted(found)


def _write_marker(stage: Path) -> None:
    files = _files_under(stage)
    marker = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "files": files}
    (stage / OWNER_MARKER).write_text(json.dumps(marker, indent=1) + "\n")


def _check_owned(out: Path, *, overwrite: bool) -> None:
    """An existing ``out`` is replaced only when it is empty, or when every file in it
    is one an icetally export wrote (listed in its marker): anything else there (a
    forged ``manifest.json``, a file added later) means the folder is someone's."""
    present = _files_under(out)
    if not present and not any(out.iterdir()):
        return
    marker_path = out / OWNER_MARKER
    written: set[str] = set()
    if marker_path.is_file() and not marker_path.is_symlink():
        try:
            marker = json.loads(marker_path.read_text(encoding="utf-8"))
            if isinstance(marker, dict) and marker.get("format") == FORMAT_NAME:
                written = {str(f) for f in marker.get("files", []) if isinstance(f, str)}
                written.add(OWNER_MARKER)
        except (OSError, ValueError):
            written = set()
    if not written:
        raise ExportError(
            f"{out} is not empty and not an icetally export (no {OWNER_MARKER}); "
            "choose a new or empty directory (nothing was written or deleted)"
        )
    foreign = [f for f in present if f not in written]
    if foreign:
        shown = ", ".join(foreign[:3]) + (
            f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        )
        raise ExportError(
            f"{out} holds files an icetally export did not write ({shown}); move them or "
            "choose a new directory (nothing was written or deleted)"
        )
    if not overwrite:
        raise ExportError(f"{out} holds an earlier export (pass overwrite); choose a new directory")


def _replace(stage: Path, out: Path) -> None:
    """Move the finished export into place; the old one (if any) is removed after."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        out.rename(old)
    stage.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_manifest(out_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a local export directory."""
    p = Path(out_dir) / MANIFEST
    if not p.is_file():
        raise ExportError(f"{out_dir} is not an icetally Parquet export (no {MANIFEST})")
    manifest = json.loads(p.read_text())
    if manifest.get("format") != FORMAT_NAME:
        raise ExportError(f"{p} is not an icetally export manifest")
    return manifest
