"""icetally: verifiable answers from US immigration-enforcement records released under FOIA.

    import icetally
    icetally.ingest(["releases/"], db="ice.duckdb")
    icetally.count("arrests", db="ice.duckdb", by="aor,month")
    icetally.surges("arrests", metric="at_large", db="ice.duckdb")
    icetally.campaigns("arrests", "ice.duckdb", area="state")
    icetally.check("claims.yaml", db="ice.duckdb")

The API is imported lazily, so reading a file with icetally.sources stays cheap.
Every name below is a function of icetally.api (``icetally.jurisdictions`` is the
summary function; the analysis lives in icetally.analysis.jurisdictions).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = (
    "Store",
    "campaigns",
    "check",
    "check_text",
    "cooperation",
    "count",
    "did",
    "episodes",
    "export",
    "g287_counts",
    "ingest",
    "intensity",
    "jurisdictions",
    "linked_releases",
    "LinkingError",
    "load_287g",
    "load_policies",
    "official",
    "official_check",
    "official_revisions",
    "pathways",
    "reconcile",
    "releases",
    "render_report",
    "stays",
    "surges",
    "write_report",
)

__all__ = [*_API, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _API:
        from icetally import api

        return getattr(api, name)
    raise AttributeError(f"module 'icetally' has no attribute {name!r}")
