"""Check stated numbers (a press release's claims) against the records.

``check`` answers every claim of a claims file with a verdict, the observed and
baseline figures, an explanation a reporter can quote and the query behind them.
Three parts, one module each:

* ``parse``: the claims-file format (docs/claims.md): claims, numbers and shares in
  words, validation with errors naming the file and the claim;
* ``verdicts``: what the records show for a claim (counts, baseline, share) and the
  rules that turn that into a verdict;
* ``wording``: the explanation and reasons, written from those figures.

Example (needs a store with the FY2016-2019 national files)::

    report = check("examples/claims/2018-02-northern-california.yaml", db="ice.duckdb")
    report.results[0]["verdict"]   # 'consistent'
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from icetally.analysis.baseline import window_baseline
from icetally.analysis.claims.parse import (
    CLAIM_KEYS,
    DEFAULT_SHARE_TOLERANCE,
    DEFAULT_TOLERANCE,
    FILTER_KEYS,
    MAX_COUNT_BASELINE_DAYS,
    MEASURES,
    NUMERATOR_KEYS,
    QUALIFIERS,
    SHARE_PHRASES,
    TOP_KEYS,
    VERDICTS,
    Claim,
    ClaimsError,
    NoClaimsFound,
    TooManyClaims,
    load_claims,
    loads_claims,
    parse_claims,
    parse_number,
    parse_share,
)
from icetally.analysis.claims.verdicts import (
    FILTER_COLUMNS,
    BaselineFn,
    CheckReport,
    check_claims,
)
from icetally.analysis.claims.wording import DATASET_NOUNS
from icetally.store.handle import Store

__all__ = [
    "CLAIM_KEYS",
    "DATASET_NOUNS",
    "DEFAULT_SHARE_TOLERANCE",
    "DEFAULT_TOLERANCE",
    "FILTER_COLUMNS",
    "FILTER_KEYS",
    "MAX_COUNT_BASELINE_DAYS",
    "MEASURES",
    "NUMERATOR_KEYS",
    "QUALIFIERS",
    "SHARE_PHRASES",
    "TOP_KEYS",
    "VERDICTS",
    "CheckReport",
    "Claim",
    "ClaimsError",
    "NoClaimsFound",
    "TooManyClaims",
    "check",
    "check_claims",
    "check_text",
    "load_claims",
    "loads_claims",
    "parse_claims",
    "parse_number",
    "parse_share",
]


def check(
    claims: str | os.PathLike[str] | Sequence[Mapping[str, Any]] | Mapping[str, Any],
    *,
    store: Store | str | os.PathLike[str] | None = None,
    db: str | os.PathLike[str] | None = None,
    backend: str | None = None,
    con: Any = None,
    tolerance: float | None = None,
    baseline: BaselineFn = window_baseline,
    max_claims: int | None = None,
) -> CheckReport:
    """Check claims (a YAML path, a parsed document, or a list of claim dicts) against
    the store (a Store or a path; ``db`` is the same, by its older name).

    ``tolerance`` overrides the default for claims that do not set their own.
    ``baseline`` is any function with ``window_baseline``'s signature. ``max_claims``
    refuses (TooManyClaims) a document with more claims, before any query.
    """
    from icetally.analysis import official_claims

    # claims on ICE's published statistics (`official: TABLE`) are checked against the
    # workbooks' figures (analysis/official_claims.py); the rest as below
    split = official_claims.split(claims)
    if split is not None:
        rest, items = split
        rest_items = (rest.get("claims") if isinstance(rest, Mapping) else rest) or []
        if max_claims is not None and len(items) + len(rest_items) > max_claims:
            raise TooManyClaims(len(items) + len(rest_items), max_claims)
        top = claims.get("source") if isinstance(claims, Mapping) else None
        with Store.borrow(store, db=db, backend=backend, con=con) as s:
            off = official_claims.check(
                [c for _, c in items], store=s, tolerance=tolerance, source=top
            )
            records = (
                check(rest, store=s, tolerance=tolerance, baseline=baseline)
                if rest
                else CheckReport([])
            )
        merged, pending = [], iter(records.results)
        positions = dict(zip([i for i, _ in items], off, strict=True))
        for i in range(len(items) + len(records.results)):
            merged.append(positions[i] if i in positions else next(pending))
        return CheckReport(merged)
    is_path = isinstance(claims, str | os.PathLike)
    if max_claims is not None and not is_path:
        items = claims.get("claims") if isinstance(claims, Mapping) else claims
        if isinstance(items, list) and len(items) > max_claims:
            raise TooManyClaims(len(items), max_claims)
    parsed = load_claims(claims) if is_path else parse_claims(claims)  # type: ignore[arg-type]
    if max_claims is not None and len(parsed) > max_claims:
        raise TooManyClaims(len(parsed), max_claims)
    if tolerance is not None:
        if not 0 <= tolerance < 1:
            raise ClaimsError(f"tolerance must be from 0 to 1, got {tolerance!r}")
        for c in parsed:
            if c.tolerance is None:
                c.tolerance = tolerance
    with Store.borrow(store, db=db, backend=backend, con=con) as s:
        report = check_claims(parsed, store=s, baseline=baseline)
        backend_name = s.backend_name
    for r in report.results:
        if r.get("query"):
            r["query"]["backend"] = backend_name
    return report


def check_text(
    text: str,
    *,
    published: str | date | None = None,
    source: str | None = None,
    store: Store | str | os.PathLike[str] | None = None,
    db: str | os.PathLike[str] | None = None,
    backend: str | None = None,
    con: Any = None,
    tolerance: float | None = None,
    baseline: BaselineFn = window_baseline,
    max_claims: int | None = None,
    write_claims: str | os.PathLike[str] | None = None,
) -> tuple[Any, CheckReport]:
    """Extract claims from a press text and check them: ``(extraction, report)``.

    The one "extract, then check" of icetally (the CLI's ``check --text`` and the web's
    ``POST /api/check?text=1`` call it). ``extraction`` is an
    ``icetally.analysis.extract.Extraction``; ``write_claims`` writes it as the editable
    claims YAML before the check. Raises ``NoClaimsFound`` when the text holds no
    checkable claim, ``TooManyClaims`` past ``max_claims``.
    """
    from icetally.analysis.extract import claims_yaml, extract_claims

    ex = extract_claims(text, published=published, source=source)
    if not ex.claims:
        raise NoClaimsFound(f"{source or '<text>'}: no checkable claims found in the text", ex)
    if max_claims is not None and len(ex.claims) > max_claims:
        raise TooManyClaims(len(ex.claims), max_claims)
    if write_claims is not None:
        Path(write_claims).write_text(claims_yaml(ex), encoding="utf-8")
    report = check(
        ex.document(),
        store=store,
        db=db,
        backend=backend,
        con=con,
        tolerance=tolerance,
        baseline=baseline,
    )
    return ex, report
