"""The report's sections, one module each, in page order.

A section is a function ``build(ctx: ReportContext) -> None`` that appends its
``Section`` (``ctx.section(id, title)``) and fills it: HTML fragments from
``icetally.report.page``, charts from ``icetally.report.charts`` via ``ctx.chart``,
figures from ``ctx.count`` (which keeps each query for the page) or the model's
``ctx.model_window``. A section the records cannot support says so
(``section.supported = False`` and ``P.unsupported(...)``) rather than vanish; one
that does not apply at all (no official figures in the store) appends nothing.

To add a section (campaigns, pathways...): write ``sections/my_section.py`` with its
``build`` and insert it in ``SECTIONS`` where it belongs on the page.
"""

from __future__ import annotations

from collections.abc import Callable

from icetally.report.context import ReportContext
from icetally.report.sections import (
    aors,
    campaign,
    citizenship,
    claims,
    cooperation,
    criminality,
    daily,
    detention,
    earlier,
    headline,
    method,
    methods,
    pathways,
    week,
)

SECTIONS: list[Callable[[ReportContext], None]] = [
    headline.build,
    aors.build,
    daily.build,
    week.build,
    earlier.build,
    citizenship.build,
    method.build,
    criminality.build,
    pathways.build,
    claims.build,
    cooperation.build,
    detention.build,
    methods.build,
]

# `icetally report --campaign ID`: the campaign, then the methods and releases
CAMPAIGN_SECTIONS: list[Callable[[ReportContext], None]] = [campaign.build, methods.build]

__all__ = ["CAMPAIGN_SECTIONS", "SECTIONS"]
