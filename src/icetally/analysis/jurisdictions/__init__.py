"""Jurisdictions: local cooperation with ICE (287(g) agreements, user policy tables,
detainer outcomes) and enforcement intensity by county and AOR.

Python API (the CLI commands ``icetally cooperation`` and ``icetally jurisdictions``
call these)::

    from icetally.analysis import jurisdictions as j
    j.load_287g(["../shared/data/287g/"], db="ice.duckdb")
    j.load_policies("examples/policies/example-policies.csv", db="ice.duckdb")
    j.cooperation(db="ice.duckdb", county="42101", by="quarter")
    j.jurisdictions(db="ice.duckdb", level="aor")
    j.intensity(db="ice.duckdb", level="aor", by="fiscal_year")
    j.did(db="ice.duckdb", county="42101", change="2014-04-16")
    j.resolve("HARRIS COUNTY JAIL, HOUSTON, TX")
"""

from __future__ import annotations

from typing import Any

from icetally.analysis.jurisdictions.cooperation import cooperation
from icetally.analysis.jurisdictions.intensity import did, intensity
from icetally.analysis.jurisdictions.resolve import Place, resolver
from icetally.analysis.jurisdictions.store import (
    LoadResult,
    PolicyError,
    g287_counts,
    load_policies,
)
from icetally.analysis.jurisdictions.store import (
    load_lists as load_287g,
)
from icetally.analysis.jurisdictions.summary import jurisdictions

__all__ = [
    "LoadResult",
    "Place",
    "PolicyError",
    "cooperation",
    "did",
    "g287_counts",
    "intensity",
    "jurisdictions",
    "load_287g",
    "load_policies",
    "resolve",
]


def resolve(name: str | None = None, **kwargs: Any) -> Place:
    """County FIPS and AOR of a facility, landmark, agency or city name (see
    icetally.analysis.jurisdictions.resolve.Resolver.resolve for the keyword arguments)."""
    return resolver().resolve(name, **kwargs)
