"""The Python API: what the CLI, the web server and scripts call.

    import icetally
    icetally.ingest(["../shared/data/ice-national-fy2016-2019"], db="ice.duckdb")
    icetally.count("arrests", db="ice.duckdb", date_from="2017-02-06",
                   date_to="2017-02-10", aor="ATL,CHI", by="aor,date")

Every function that reads the store takes ``store=``: a ``Store``
(``icetally.store.handle``) or a path; ``db=`` is the same, by its older name. A path
is opened for the call and closed after it; a Store is left open for its owner (so a
script, or the web server, opens it once and passes it to every call). The filters,
dimensions and metrics are the vocabulary's (``icetally.vocabulary``).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from icetally.analysis.defaults import DEFAULT_MAX_WINDOW, DEFAULT_MIN_EXCESS, DEFAULT_THRESHOLD
from icetally.errors import IcetallyError, UsageError
from icetally.query.backend import BackendError
from icetally.vocabulary import QueryError

if TYPE_CHECKING:
    from icetally.analysis.campaigns_store import CampaignsResult
    from icetally.analysis.claims import CheckReport
    from icetally.analysis.operations import SurgesResult
    from icetally.analysis.pathways import PathwaysResult
    from icetally.query.count import CountResult
    from icetally.query.filters import Slice
    from icetally.store.handle import Store
    from icetally.store.ingest import FileResult, Progress
    from icetally.synth.demo import DemoResult

# Every other name is imported on first use (PEP 562), so `icetally --help` and a small
# `count` never load scipy, pandas or the report (issue #17; tests/test_startup.py): add
# a new re-exported name here, and import inside a new function's body.
_LAZY: dict[str, tuple[str, str]] = {
    "CampaignsResult": ("icetally.analysis.campaigns_store", "CampaignsResult"),
    "DEFAULT_TOLERANCE": ("icetally.analysis.claims", "DEFAULT_TOLERANCE"),
    "CheckReport": ("icetally.analysis.claims", "CheckReport"),
    "ClaimsError": ("icetally.analysis.claims", "ClaimsError"),
    "NoClaimsFound": ("icetally.analysis.claims", "NoClaimsFound"),
    "TooManyClaims": ("icetally.analysis.claims", "TooManyClaims"),
    "MAX_TEXT_CHARS": ("icetally.analysis.extract.text", "MAX_TEXT_CHARS"),
    "TextTooLong": ("icetally.analysis.extract.text", "TextTooLong"),
    "cooperation": ("icetally.analysis.jurisdictions", "cooperation"),
    "did": ("icetally.analysis.jurisdictions", "did"),
    "g287_counts": ("icetally.analysis.jurisdictions", "g287_counts"),
    "intensity": ("icetally.analysis.jurisdictions", "intensity"),
    "jurisdictions": ("icetally.analysis.jurisdictions", "jurisdictions"),
    "load_287g": ("icetally.analysis.jurisdictions", "load_287g"),
    "load_policies": ("icetally.analysis.jurisdictions", "load_policies"),
    "LinkingError": ("icetally.analysis.linking", "LinkingError"),
    "SurgesResult": ("icetally.analysis.operations", "SurgesResult"),
    "PathwaysResult": ("icetally.analysis.pathways", "PathwaysResult"),
    "CountResult": ("icetally.query.count", "CountResult"),
    "count_groups": ("icetally.query.count", "count_groups"),
    "rows_csv": ("icetally.query.count", "rows_csv"),
    "Slice": ("icetally.query.filters", "Slice"),
    "OfficialQueryError": ("icetally.query.official", "OfficialQueryError"),
    "ReportError": ("icetally.report", "ReportError"),
    "YamlError": ("icetally.safeyaml", "YamlError"),
    "load_yaml": ("icetally.safeyaml", "load"),
    "ExportError": ("icetally.store.export", "ExportError"),
    "Store": ("icetally.store.handle", "Store"),
    "StoreError": ("icetally.store.handle", "StoreError"),
    "FileResult": ("icetally.store.ingest", "FileResult"),
    "Progress": ("icetally.store.ingest", "Progress"),
    "DemoError": ("icetally.synth.demo", "DemoError"),
    "DemoResult": ("icetally.synth.demo", "DemoResult"),
    "DEMO_BANNER": ("icetally.synth.demo", "BANNER"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attr = _LAZY[name]
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value  # once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


PathLike = str | os.PathLike[str]

__all__ = [
    "DEFAULT_MAX_WINDOW",
    "DEFAULT_MIN_EXCESS",
    "DEFAULT_THRESHOLD",
    "BackendError",
    "IcetallyError",
    "QueryError",
    "UsageError",
    "campaigns",
    "check",
    "check_text",
    "count",
    "coverage",
    "episodes",
    "linked_releases",
    "export",
    "extraction_dict",
    "ingest",
    "official",
    "official_check",
    "official_revisions",
    "pathways",
    "reconcile",
    "releases",
    "render_report",
    "run_demo",
    "slice_of",
    "stays",
    "surges",
    "write_report",
]
# re-exported, imported on first use
__all__ += [name for name in _LAZY if name not in ("FileResult", "Progress", "Slice")]


def ingest(
    paths: Iterable[PathLike],
    store: Store | PathLike | None = None,
    *,
    db: PathLike | None = None,
    dataset: str | None = None,
    mapping: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> list[FileResult]:
    """Load release files/folders into the store; see icetally.store.ingest."""
    from icetally.store.ingest import ingest as _ingest

    return _ingest(paths, store, db=db, dataset=dataset, mapping=mapping, progress=progress)


def releases(store: Store | PathLike | None = None, *, db: PathLike | None = None) -> list[dict]:
    """The releases manifest, one dict per ingested file or sheet."""
    from icetally.store.handle import Store

    with Store.borrow(store, db=db) as s:
        return s.releases()


def count(dataset: str = "arrests", **kwargs: Any) -> CountResult:
    """Count records in a slice (filters: the vocabulary's; ``by``: dimensions);
    see icetally.query.count.count."""
    from icetally.query.count import count as _count

    return _count(dataset, **kwargs)


def slice_of(dataset: str = "arrests", **filters: Any) -> Slice:
    """Validate filters into a Slice without running anything (QueryError if not valid)."""
    from icetally.query.filters import Slice

    return Slice.build(dataset, **filters)


def coverage(
    dataset: str = "arrests",
    store: Store | PathLike | None = None,
    *,
    db: PathLike | None = None,
    backend: str | None = None,
    area: str | None = None,
) -> dict[str, Any]:
    """The days the dataset's releases cover, with their gaps, overall and per area of
    kind ``area`` (aor by default, state, county): ``{"dataset", "area", "start",
    "end", "spans", "gaps", "releases", "areas": {code: {"start", "end", "runs",
    "uncovered_days", "spans"}}}``. A day outside coverage is not a day of zero
    records (docs/counts.md); see icetally.store.coverage."""
    from icetally.store.handle import Store
    from icetally.vocabulary import parse_area

    kind = parse_area(area)
    with Store.borrow(store, db=db, backend=backend) as s:
        cov = s.coverage(dataset, kind)
    return {"dataset": dataset, "area": kind, **cov.to_dict(), "areas": cov.areas_dict()}


def surges(dataset: str = "arrests", **kwargs: Any) -> SurgesResult:
    """Find surges (multi-day operations); see icetally.analysis.operations.surges."""
    from icetally.analysis.operations import surges as _surges

    return _surges(dataset, **kwargs)


def campaigns(
    dataset: str = "arrests",
    store: Store | PathLike | None = None,
    **kwargs: Any,
) -> CampaignsResult:
    """Find campaigns (sustained rises of 2-26 weeks that come back down) and level
    changes per area (``area="aor"|"state"|"county"``); see
    icetally.analysis.campaigns_store and docs/methods.md.

    >>> icetally.campaigns("arrests", store, area="state", date_from="2025-08-01")
    """
    from icetally.analysis.campaigns_store import campaigns as _campaigns

    return _campaigns(dataset, store=store, **kwargs)


def check(
    claims: Any,
    store: Store | PathLike | None = None,
    *,
    db: PathLike | None = None,
    backend: str | None = None,
    tolerance: float | None = None,
    max_claims: int | None = None,
    baseline: Any = None,
) -> CheckReport:
    """Check a claims file (path, parsed YAML or list of claims) against the records;
    see icetally.analysis.claims and docs/claims.md. ``baseline``: any function with
    ``icetally.analysis.baseline.window_baseline``'s signature (the default)."""
    from icetally.analysis.claims import check as _check

    extra = {"baseline": baseline} if baseline is not None else {}
    return _check(
        claims,
        store=store,
        db=db,
        backend=backend,
        tolerance=tolerance,
        max_claims=max_claims,
        **extra,
    )


def check_text(
    text: str,
    store: Store | PathLike | None = None,
    *,
    db: PathLike | None = None,
    published: str | None = None,
    source: str | None = None,
    backend: str | None = None,
    tolerance: float | None = None,
    max_claims: int | None = None,
    write_claims: PathLike | None = None,
) -> tuple[Any, CheckReport]:
    """Extract claims from a press release's text and check them: (extraction, report).
    ``write_claims`` writes the extracted claims as editable YAML first; NoClaimsFound
    when the text holds none."""
    from icetally.analysis.claims import check_text as _check_text

    return _check_text(
        text,
        published=published,
        source=source,
        store=store,
        db=db,
        backend=backend,
        tolerance=tolerance,
        max_claims=max_claims,
        write_claims=write_claims,
    )


def extraction_dict(extraction: Any) -> dict[str, Any]:
    """An extraction (``check_text``'s first result) as JSON: the claims found, the
    numbers skipped and the claims as YAML a person can edit."""
    import json

    from icetally.analysis.extract import claims_yaml

    def plain(obj: Any) -> Any:
        return json.loads(json.dumps(obj, default=str))

    return {
        "published": extraction.published.isoformat() if extraction.published else None,
        "source": extraction.source,
        "claims": plain(extraction.claims),
        "skipped": plain(extraction.skipped),
        "warnings": list(getattr(extraction, "warnings", [])),
        "claims_yaml": claims_yaml(extraction),
    }


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

    with Store.borrow(store, db=db) as st:
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


def render_report(store: Store | PathLike | None = None, **kwargs: Any) -> str:
    """One self-contained HTML report of a window or a surge; see icetally.report."""
    from icetally.report import render as _render

    return _render(store, **kwargs)


def write_report(path: PathLike, store: Store | PathLike | None = None, **kwargs: Any) -> Path:
    """Render the report and write it to ``path`` (atomically); returns the path."""
    from icetally.report import write as _write

    return _write(path, store=store, **kwargs)


def export(out_dir: PathLike, store: Store | PathLike | None = None, **kwargs: Any) -> dict:
    """Export the store as Parquet for Spark; returns the manifest (docs/spark.md)."""
    from icetally.store.export import export_parquet

    return export_parquet(store, out_dir, **kwargs)


def run_demo(out_dir: PathLike = "icetally-demo", **kwargs: Any) -> DemoResult:
    """The SYNTHETIC end-to-end demo; see icetally.synth.demo.run_demo."""
    from icetally.synth.demo import run_demo as _run_demo

    return _run_demo(out_dir, **kwargs)


def pathways(
    store: Store | PathLike | None = None,
    *,
    db: PathLike | None = None,
    backend: str | None = None,
    by: str | list[str] | None = None,
    surge: str | None = None,
    campaign: str | None = None,
    weeks_before: int = 4,
    **filters: Any,
) -> PathwaysResult:
    """What happened to the people arrested in a slice of one linked release:
    outcomes, days detained, days to removal, removal countries, criminality and match
    rates (see icetally.analysis.pathways and docs/methods.md). ``surge`` (an id from
    ``surges``) or ``campaign``: the surge's arrests against the same areas' arrests
    in the ``weeks_before``, with the differences and their uncertainty."""
    from icetally.analysis import pathways as pw

    return pw.run(
        store,
        db=db,
        backend=backend,
        by=by,
        surge=surge,
        campaign=campaign,
        weeks_before=weeks_before,
        **filters,
    )


def stays(
    store: Store | PathLike | None = None,
    *,
    db: PathLike | None = None,
    backend: str | None = None,
    release: str | None = None,
) -> list[dict[str, Any]]:
    """One linked release's detention stays (stints merged; keys: STAY_COLUMNS of
    icetally.analysis.linking, plus ``facilities`` in order), by person and stay."""
    from icetally.analysis import linking
    from icetally.store.handle import Store

    with Store.borrow(store, db=db, backend=backend) as s:
        return linking.stay_rows(s, release)


def episodes(
    store: Store | PathLike | None = None,
    *,
    db: PathLike | None = None,
    backend: str | None = None,
    **filters: Any,
) -> list[dict[str, Any]]:
    """One linked release's episodes (arrest, stay, departure, outcome; keys:
    EPISODE_COLUMNS of icetally.analysis.linking) in a slice, by person and episode."""
    from icetally.analysis import linking
    from icetally.store.handle import Store

    with Store.borrow(store, db=db, backend=backend) as s:
        return linking.episode_rows(s, **filters)


def linked_releases(
    store: Store | PathLike | None = None, *, db: PathLike | None = None
) -> list[dict[str, Any]]:
    """The store's linked releases (releases whose identifiers link), latest first."""
    from icetally.analysis import linking
    from icetally.store.handle import Store

    with Store.borrow(store, db=db) as s:
        return [lr.to_dict() for lr in linking.linked_releases(s)]
