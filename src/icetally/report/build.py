"""Build the report: one ReportContext (icetally.report.context), every section of
icetally.report.sections in page order, and the page layout (icetally.report.page).

Every figure comes from ``icetally.count`` (or the surge model's windows,
icetally.analysis.windows) and keeps its query: SQL, filters and releases are printed
in a <details> next to the section that uses them. A section the records cannot
support says so instead of disappearing.
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

from icetally.report import page as P
from icetally.report.context import ReportContext, ReportError
from icetally.report.sections import CAMPAIGN_SECTIONS, SECTIONS
from icetally.store.handle import Store

__all__ = ["ReportError", "render"]


def render(
    store: Store | str | os.PathLike[str] | None = None,
    *,
    db: str | os.PathLike[str] | None = None,
    date_from: str | date | None = None,
    date_to: str | date | None = None,
    surge_id: str | None = None,
    aor: str | list[str] | None = None,
    claims: Any = None,
    dataset: str = "arrests",
    metric: str = "all",
    backend: str | None = None,
    campaign_id: str | None = None,
) -> str:
    """One self-contained HTML page for a window (``date_from``/``date_to``), a detected
    operation (``surge_id``) or a campaign (``campaign_id``), optionally restricted to
    AORs and with a claims file.
    ``store`` is a Store or a path (``db`` is the same, by its older name)."""
    with Store.borrow(store, db=db, backend=backend) as s:
        ctx = ReportContext(
            s,
            date_from=date_from,
            date_to=date_to,
            surge_id=surge_id,
            aor=aor,
            claims=claims,
            dataset=dataset,
            metric=metric,
            campaign_id=campaign_id,
        )
        # a campaign's page: what happened, day by day, then methods and releases
        for build_section in CAMPAIGN_SECTIONS if ctx.campaign is not None else SECTIONS:
            build_section(ctx)
        return P.page(ctx)
