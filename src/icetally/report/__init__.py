"""Self-contained HTML reports: the story a careful reporter would write, every figure
with the query behind it.

    import icetally.report
    html = icetally.report.render("ice.duckdb", date_from="2018-02-25",
                                  date_to="2018-02-28", aor="SFR")
    icetally.report.write("report.html", store="ice.duckdb", surge_id="2019-09-21-10aors-…")

The page needs nothing else to open: charts are inline SVG (Vega-Lite rendered with
vl-convert), no fonts, scripts or styles are fetched. Sections the records cannot
support (e.g. criminality in the FY2016-2019 releases) say so.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from icetally.report.build import ReportError, render

__all__ = ["ReportError", "render", "write"]


def write(path: str | os.PathLike[str], **kwargs: Any) -> Path:
    """Render (same keywords as ``render``) and write the page; returns the path."""
    out = Path(path)
    html = render(**kwargs)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)  # a reader never sees half a page
    return out
