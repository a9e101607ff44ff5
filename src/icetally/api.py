"""The Python API: what the CLI, the report and the web server call.

import icetally
icetally.ingest(["../shared/data/ice-national-fy2016-2019"], db="ice.duckdb")
icetally.count("arrests", db="ice.duckdb", date_from="2017-02-06",
               date_to="2017-02-10", aor="ATL,CHI", by="aor,date")
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

from icetally.analysis.claims import CheckReport
from icetally.analysis.claims import check as _check
from icetally.analysis.claims import check_text as _check_text
from icetally.analysis.operations import SurgesResult
from icetally.analysis.operations import surges as _surges
from icetally.query.count import CountResult
from icetally.query.count import count as _count
from icetally.store.db import connect
from icetally.store.ingest import FileResult, Progress
from icetally.store.ingest import ingest as _ingest


def ingest(
    paths: Iterable[str | os.PathLike[str]],
    db: str | os.PathLike[str] | None = None,
    *,
    dataset: str | None = None,
    mapping: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> list[FileResult]:
    """Load release files/folders into the store; see icetally.store.ingest."""
    return _ingest(paths, db, dataset=dataset, mapping=mapping, progress=progress)


def count(dataset: str = "arrests", **kwargs: Any) -> CountResult:
    """Count records in a slice; see icetally.query.count.count."""
    return _count(dataset, **kwargs)


def surges(dataset: str = "arrests", **kwargs: Any) -> SurgesResult:
    """Find surges (multi-day operations); see icetally.analysis.operations.surges."""
    return _surges(dataset, **kwargs)


def check(
    claims: Any,
    db: str | os.PathLike[str] | None = None,
    *,
    backend: str | None = None,
    tolerance: float | None = None,
) -> CheckReport:
    """Check a claims file (path, parsed YAML or list of claims) against the records;
    see icetally.analysis.claims and docs/claims.md."""
    return _check(claims, db=db, backend=backend, tolerance=tolerance)


def check_text(
    text: str,
    db: str | os.PathLike[str] | None = None,
    *,
    published: str | None = None,
    source: str | None = None,
    backend: str | None = None,
    tolerance: float | None = None,
) -> tuple[Any, CheckReport]:
    """Extract claims from a press release's text and check them: (extraction, report)."""
    return _check_text(
        text, published=published, source=source, db=db, backend=backend, tolerance=tolerance
    )


def official(
    table: str | None = None,
    db: str | os.PathLike[str] | None = None,
    *,
    store: Any = None,
    fiscal_year: Any = None,
    snapshot: Any = "latest",
    by: Any = None,
    measure: str | None = None,
    breakdown: str | None = None,
    placeholders: bool = False,
    **filters: Any,
) -> Any:
    """ICE's published detention statistics (icetally ingest the workbooks first).
    Without ``table``: the official tables with their coverage and snapshots; with it,
    an ``OfficialResult`` (rows with table, fiscal_year, snapshot, dimensions, value,
    unit and source cell; the query). See icetally.query.official and docs/official.md.

    >>> icetally.official("book_ins", fiscal_year=2019, by="arresting_agency,month")
    """
    from icetally.query import official as q
    from icetally.store.handle import Store

    st = Store.of(store if store is not None else db)
    if table is None:
        return q.tables(st)
    return q.select(
        st,
        table,
        fiscal_year=fiscal_year,
        snapshot=snapshot,
        by=by,
        measure=measure,
        breakdown=breakdown,
        placeholders=placeholders,
        filters=filters,
    )


def official_check(
    db: str | os.PathLike[str] | None = None, *, store: Any = None, fiscal_year: Any = None
) -> Any:
    """Every printed total of the loaded workbooks against its parts; see
    icetally.analysis.official.check."""
    from icetally.analysis.official import check as _official_check

    return _official_check(store if store is not None else db, fiscal_year=fiscal_year)


def official_revisions(
    db: str | os.PathLike[str] | None = None,
    *,
    store: Any = None,
    table: str | None = None,
    fiscal_year: Any = None,
) -> list[dict[str, Any]]:
    """Published figures that changed between snapshots."""
    from icetally.analysis.official import revisions

    return revisions(store if store is not None else db, table=table, fiscal_year=fiscal_year)


def reconcile(db: str | os.PathLike[str] | None = None, *, store: Any = None, **kwargs: Any) -> Any:
    """Records against official figures month by month; see
    icetally.analysis.official.reconcile."""
    from icetally.analysis.official import reconcile as _reconcile

    return _reconcile(store if store is not None else db, **kwargs)


def releases(db: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """The releases manifest, one dict per ingested file or sheet."""
    con = connect(db, read_only=True)
    try:
        cur = con.execute(
            "SELECT * FROM releases ORDER BY dataset, coverage_start, file_name, sheet"
        )
        names = [d[0] for d in cur.description]
        rows = []
        for row in cur.fetchall():
            r = dict(zip(names, row, strict=True))
            for k in ("metadata", "redactions", "unmapped"):
                if isinstance(r.get(k), str):
                    r[k] = json.loads(r[k])
            for k, v in list(r.items()):
                if hasattr(v, "isoformat"):
                    r[k] = v.isoformat()
            rows.append(r)
        return rows
    finally:
        con.close()


# Cooperation and enforcement intensity by jurisdiction (docs/jurisdictions.md).
from icetally.jurisdictions import (  # noqa: E402
    cooperation,
    did,
    g287_counts,
    intensity,
    jurisdictions,
    load_287g,
    load_policies,
)

# The names icetally re-exports lazily (icetally._API), plus the jurisdictions summary,
# which the subpackage of that name shadows at the top level.
__all__ = [
    "check",
    "check_text",
    "cooperation",
    "count",
    "did",
    "g287_counts",
    "ingest",
    "intensity",
    "jurisdictions",
    "load_287g",
    "load_policies",
    "official",
    "official_check",
    "official_revisions",
    "reconcile",
    "releases",
    "surges",
]
