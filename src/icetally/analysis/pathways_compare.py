"""Pathways of a surge's arrests against the same areas' arrests in the weeks before.

The surge group is the episodes whose arrest falls in a detected surge's window in
one of its AORs (each AOR its own window); the comparison group the episodes in the
same AORs in the ``weeks_before`` weeks before the surge starts. Both come from the
same linked release. Differences in shares carry Newcombe's hybrid score interval
(method 10: from the two Wilson intervals); differences in medians a percentile
bootstrap interval (2,000 resamples of each group's days, fixed seed). See
docs/methods.md ("Pathways: a surge against the weeks before").
"""

from __future__ import annotations

import math
import os
from datetime import timedelta
from typing import Any

import numpy as np

from icetally.analysis.linking import OUTCOMES, linked, resolve_linked_release
from icetally.analysis.pathways import (
    PathwaysResult,
    _pathways,
    carried,
    pathway_dimensions,
    require_detention,
)
from icetally.query.filters import Slice
from icetally.store.handle import Store
from icetally.vocabulary import QueryError

__all__ = ["compare_surge", "newcombe", "wilson"]

Z95 = 1.959963984540054
BOOTSTRAP = 2000
SEED = 0


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def newcombe(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float, float] | None:
    """p1 - p2 and Newcombe's hybrid score 95% interval (method 10), or None when a
    group is empty."""
    if not n1 or not n2:
        return None
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1)
    l2, u2 = wilson(k2, n2)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, low, high


def _median_difference(a: dict[int, int], b: dict[int, int]) -> tuple[float, float, float] | None:
    """Median of a minus median of b, with a percentile bootstrap 95% interval."""
    if not a or not b:
        return None
    rng = np.random.default_rng(SEED)

    def values(h: dict[int, int]) -> np.ndarray:
        return np.repeat(np.array(list(h), dtype=float), np.array(list(h.values())))

    va, vb = values(a), values(b)
    d = float(np.median(va) - np.median(vb))
    ia = rng.integers(0, len(va), size=(BOOTSTRAP, len(va)))
    ib = rng.integers(0, len(vb), size=(BOOTSTRAP, len(vb)))
    diffs = np.median(va[ia], axis=1) - np.median(vb[ib], axis=1)
    low, high = np.percentile(diffs, [2.5, 97.5])
    return d, float(low), float(high)


def _differences(surge: PathwaysResult, before: PathwaysResult) -> list[dict[str, Any]]:
    s, b = surge.summary, before.summary
    out: list[dict[str, Any]] = []
    for o in OUTCOMES:
        r = newcombe(s["outcomes"][o]["n"], s["episodes"], b["outcomes"][o]["n"], b["episodes"])
        out.append(
            {
                "figure": f"share {o}",
                "surge": s["outcomes"][o]["share"],
                "before": b["outcomes"][o]["share"],
                "difference": round(r[0], 4) if r else None,
                "low": round(r[1], 4) if r else None,
                "high": round(r[2], 4) if r else None,
                "method": "Newcombe hybrid score (Wilson) 95% interval",
            }
        )
    for key in ("days_detained", "days_to_removal"):
        r = _median_difference(surge.histograms.get(key, {}), before.histograms.get(key, {}))
        out.append(
            {
                "figure": f"median {key.replace('_', ' ')}",
                "surge": s[key]["median"],
                "before": b[key]["median"],
                "difference": round(r[0], 2) if r else None,
                "low": round(r[1], 2) if r else None,
                "high": round(r[2], 2) if r else None,
                "method": f"percentile bootstrap 95% interval ({BOOTSTRAP} resamples)",
            }
        )
    return out


def _checked(weeks_before: int, what: str, filters: dict[str, Any]) -> tuple[Any, Slice]:
    """(release, slice) of a comparison's filters; the group sets the window."""
    if not 1 <= weeks_before <= 52:
        raise QueryError("--weeks-before must be between 1 and 52")
    if filters.get("date_from") or filters.get("date_to"):
        raise QueryError(f"--{what} sets the window: give no --from/--to with it")
    release = filters.pop("release", None)
    return release, Slice.build("arrests", **filters)


def _attach(
    result: PathwaysResult,
    prior: PathwaysResult,
    what: str,
    group: dict[str, Any],
    before: dict[str, Any],
) -> PathwaysResult:
    """The group's result with ``comparison``: the group, the weeks before (the same
    figures) and the differences."""
    result.comparison = {
        what: group,
        "before": {**before, **prior.to_dict()},
        "differences": _differences(result, prior),
    }
    result.comparison["before"].pop("linked_release", None)
    result.comparison["before"].pop("rules", None)
    result.query[what] = group["id"]
    result.warnings.extend(f"weeks before: {w}" for w in prior.warnings)
    return result


def compare_surge(
    store: Store | str | os.PathLike[str] | None,
    surge_id: str,
    *,
    weeks_before: int = 4,
    db: str | os.PathLike[str] | None = None,
    backend: str | None = None,
    by: str | list[str] | None = None,
    con: Any = None,
    detected: Any = None,
    **filters: Any,
) -> PathwaysResult:
    """The surge's pathways (the result's own figures) with ``comparison``: the weeks
    before, side by side, and the differences with their intervals. ``detected``: the
    Surge itself, when the caller has it (the report), to skip the scan."""
    from icetally.analysis.operations import surges as find_surges

    release, slc = _checked(weeks_before, "surge", filters)
    dims = pathway_dimensions(by)
    with Store.borrow(store, db=db, backend=backend, con=con) as s:
        found = (
            [detected]
            if detected is not None and detected.id == surge_id
            else [x for x in find_surges("arrests", store=s).surges if x.id == surge_id]
        )
        if not found:
            raise QueryError(f"no surge {surge_id!r} in the arrests records; see `icetally surges`")
        surge = found[0]
        windows = [(a.aor, a.start, a.end) for a in surge.aors if not slc.aor or a.aor in slc.aor]
        if not windows:
            raise QueryError(f"surge {surge_id} has none of the AORs {', '.join(slc.aor)}")
        aors = [w[0] for w in windows]
        first = min(w[1] for w in windows)
        b_from, b_to = first - timedelta(weeks=weeks_before), first - timedelta(days=1)

        def in_surge(e: Any) -> Any:
            pred = None
            for aor, lo, hi in windows:
                one = (e.aor == aor) & e.arrest_date.between(lo, hi)
                pred = one if pred is None else (pred | one)
            return pred

        def before(e: Any) -> Any:
            return e.aor.isin(aors) & e.arrest_date.between(b_from, b_to)

        lr = resolve_linked_release(s, release)
        require_detention(lr)
        with linked(s, lr, carried(s, lr, slc, dims, in_surge, before), person_ids=False) as tables:
            result = _pathways(s, tables, slc, dims, where=in_surge)
            prior = _pathways(s, tables, slc, dims, where=before)
    group = {
        "id": surge.id,
        "start": surge.start.isoformat(),
        "end": surge.end.isoformat(),
        "aors": [
            {"aor": a, "start": lo.isoformat(), "end": hi.isoformat()} for a, lo, hi in windows
        ],
    }
    before = {"from": b_from.isoformat(), "to": b_to.isoformat(), "weeks": weeks_before}
    return _attach(result, prior, "surge", group, {**before, "aors": aors})


def compare_campaign(
    store: Store | str | os.PathLike[str] | None,
    campaign_id: str,
    *,
    weeks_before: int = 4,
    db: str | os.PathLike[str] | None = None,
    backend: str | None = None,
    by: str | list[str] | None = None,
    con: Any = None,
    **filters: Any,
) -> PathwaysResult:
    """A campaign's pathways (icetally.campaigns: one area, weeks long) against the
    same area's arrests in the ``weeks_before`` weeks before it; as compare_surge."""
    from icetally.analysis.campaigns_store import area_kind_of
    from icetally.analysis.campaigns_store import campaigns as find_campaigns

    release, slc = _checked(weeks_before, "campaign", filters)
    dims = pathway_dimensions(by)
    try:
        kind = area_kind_of(campaign_id)
    except Exception as exc:  # noqa: BLE001 - a malformed id: say which
        raise QueryError(f"no campaign {campaign_id!r}: {exc}") from exc
    with Store.borrow(store, db=db, backend=backend, con=con) as s:
        found = find_campaigns("arrests", area=kind, store=s).find(campaign_id)
        if found is None:
            raise QueryError(
                f"no campaign {campaign_id!r} in the arrests records by {kind}; see "
                "`icetally campaigns` for the ids"
            )
        area = Slice.build("arrests", **{kind: found.area})
        b_from = found.start - timedelta(weeks=weeks_before)
        b_to = found.start - timedelta(days=1)

        def in_campaign(e: Any) -> Any:
            return area.apply(e).filter(e.arrest_date.between(found.start, found.end))

        def before(e: Any) -> Any:
            return area.apply(e).filter(e.arrest_date.between(b_from, b_to))

        lr = resolve_linked_release(s, release)
        require_detention(lr)
        with linked(
            s, lr, carried(s, lr, slc, dims, in_campaign, before), person_ids=False
        ) as tables:
            result = _pathways(s, tables, slc, dims, subset=in_campaign)
            prior = _pathways(s, tables, slc, dims, subset=before)
    group = {
        "id": found.id,
        "area": found.area,
        "area_kind": kind,
        "start": found.start.isoformat(),
        "end": found.end.isoformat(),
    }
    before = {"from": b_from.isoformat(), "to": b_to.isoformat(), "weeks": weeks_before}
    return _attach(result, prior, "campaign", group, {**before, "area": found.area})
