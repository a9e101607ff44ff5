"""HTML building blocks of the report: one self-contained page, no external resources.

Small functions returning escaped HTML strings; the page's CSS and its only script
(open every <details> before printing, so the queries are on paper too) are inline.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from icetally.render import render, shared

if TYPE_CHECKING:
    from icetally.report.context import ReportContext, Section

CSS = """
:root { --ink:#1a202c; --muted:#4a5568; --line:#e2e8f0; --accent:#2b6cb0; --warn:#c53030;
        --bg:#ffffff; --soft:#f7fafc; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin:0; color:var(--ink); background:var(--bg);
       font: 16px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
main { max-width: 960px; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6rem; line-height:1.25; margin: .5rem 0 .25rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .5rem; padding-top:.5rem;
     border-top: 2px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.2rem 0 .4rem; }
p, li { max-width: 70ch; }
.sub { color: var(--muted); margin-top: 0; }
.banner { background: #fff5f5; border: 3px solid var(--warn); color: #742a2a; padding: .75rem 1rem;
          font-weight: 700; margin: .5rem 0 1rem; }
.banner p { margin: .25rem 0; font-weight: 400; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr));
           gap: .75rem; }
.figure { border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem;
          background: var(--soft); }
.figure .value { display:block; font-size: 1.6rem; font-weight: 700;
                 font-variant-numeric: tabular-nums; }
.figure .label { display:block; color: var(--muted); font-size: .9rem; }
.figure .fnote { display:block; font-size: .8rem; color: var(--muted); }
.figure a { font-size: .8rem; }
.table-wrap { overflow-x: auto; -webkit-overflow-scrolling: touch; margin: .5rem 0; }
table { border-collapse: collapse; font-size: .9rem; min-width: 50%; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .5rem; text-align: left;
         vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.hl td { background: #fffaf0; }
figure { margin: .75rem 0; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: .85rem; }
.unsupported { border-left: 4px solid var(--warn); background:#fff5f5; padding: .5rem .75rem; }
.note { border-left: 4px solid var(--accent); background:#ebf8ff; padding: .5rem .75rem; }
details { margin: .5rem 0; border: 1px solid var(--line); border-radius: 4px;
          padding: .25rem .5rem; }
details summary { cursor: pointer; color: var(--accent); font-size: .9rem; }
pre { white-space: pre-wrap; word-break: break-word; font-size: .78rem; background: var(--soft);
      padding: .5rem; margin: .25rem 0; }
.verdict { font-weight: 700; white-space: nowrap; }
.v-consistent { color: #276749; } .v-overstated, .v-exceeds_records { color: var(--warn); }
.v-understated, .v-below_excess { color: #975a16; } .v-unverifiable { color: var(--muted); }
nav.toc ol { columns: 2; font-size: .9rem; }
footer { color: var(--muted); font-size: .8rem; margin: 2rem 0; }
@media (max-width: 600px) {
  body { font-size: 15px; } main { padding: .6rem; } nav.toc ol { columns: 1; }
  .figure .value { font-size: 1.35rem; }
}
@media print {
  body { font-size: 11pt; } main { max-width: none; padding: 0; }
  a { color: inherit; text-decoration: none; }
  h2 { break-after: avoid; } figure, table, .figure { break-inside: avoid; }
  details { border: none; padding: 0; } details summary { color: var(--ink); }
  nav.toc { display: none; }
  .banner { border-width: 2px; }
}
"""

# Printing a collapsed <details> prints only its summary: open them all before print.
SCRIPT = """
window.addEventListener('beforeprint', function () {
  document.querySelectorAll('details').forEach(function (d) { d.open = true; });
});
"""


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def fmt_int(v: Any) -> str:
    if v is None:
        return "–"
    try:
        return f"{round(float(v)):,}"
    except (TypeError, ValueError):
        return esc(v)


def fmt_pct(v: float | None, digits: int = 0) -> str:
    return "–" if v is None else f"{v:.{digits}%}"


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    numeric: Iterable[int] = (),
    highlight: Iterable[int] = (),
    caption: str | None = None,
    raw: Iterable[int] = (),
) -> str:
    """A table; cells are escaped unless their column is in ``raw`` (pre-built HTML)."""
    num = set(numeric)
    hl = set(highlight)
    raw_cols = set(raw)
    head = "".join(
        f'<th class="num" scope="col">{esc(h)}</th>'
        if i in num
        else f'<th scope="col">{esc(h)}</th>'
        for i, h in enumerate(headers)
    )
    body = []
    for r_i, row in enumerate(rows):
        cells = []
        for i, v in enumerate(row):
            text = v if i in raw_cols else esc(v)
            cells.append(f'<td class="num">{text}</td>' if i in num else f"<td>{text}</td>")
        cls = ' class="hl"' if r_i in hl else ""
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (
        f'<div class="table-wrap"><table>{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def figure_card(
    key: str,
    label: str,
    value: float | int | None,
    display: str,
    *,
    query: str | None,
    note: str = "",
) -> str:
    """A headline figure. ``data-figure``/``data-value`` let tests and scripts read it."""
    val = "" if value is None else (str(int(value)) if float(value).is_integer() else f"{value}")
    q = f' <a href="#{esc(query)}">query</a>' if query else ""
    n = f'<span class="fnote">{esc(note)}</span>' if note else ""
    return (
        f'<div class="figure" data-figure="{esc(key)}" data-value="{esc(val)}">'
        f'<span class="value">{esc(display)}</span><span '
        f'class="label">{esc(label)}{q}</span>{n}</div>'
    )


def svg_figure(svg: str | None, caption: str, alt: str) -> str:
    if not svg:
        return (
            f'<p class="note">Chart not drawn: {esc(caption)} (the note at the top says why; '
            "the table gives the same figures).</p>"
        )
    return str(shared().svg_figure(Markup(svg), caption, alt))


def unsupported(text: str) -> str:
    return f'<p class="unsupported"><strong>Not in these records.</strong> {esc(text)}</p>'


def note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def query_details(q: dict[str, Any]) -> str:
    """One query: the SQL, its filters and the releases it read (the shared macro the
    web's explorer uses too)."""
    shown = {
        **q,
        "filters_json": json.dumps(q.get("filters") or {}, default=str, sort_keys=True),
        "releases_text": ", ".join(q.get("releases") or []) or "none",
    }
    return str(shared().query_details(shown))


def section(s: Section) -> Markup:
    qs = "".join(query_details(q) for q in s.queries)
    return Markup(
        f'<section id="{esc(s.id)}" data-supported="{str(s.supported).lower()}">'
        f"<h2>{esc(s.title)}</h2>{''.join(s.body)}{qs}</section>"
    )


def page(ctx: ReportContext) -> str:
    """The whole page (templates/report.html of icetally.render): banner, title,
    contents, notes, the sections, footer."""
    title = (
        f"{ctx.metric_words().capitalize()} in {ctx.where()}, "
        f"{ctx.start:%d %b %Y} – {ctx.end:%d %b %Y}"
    )
    subtitle = (
        f"icetally report · dataset {ctx.dataset} · metric {ctx.metric} · "
        f"coverage {ctx.cov.start} – {ctx.cov.end}"
    )
    if ctx.surge is not None:
        subtitle += f" · operation {ctx.surge.id}"
    html_page = render(
        "report.html",
        title=title,
        subtitle=subtitle,
        synthetic=ctx.store.synthetic,
        sections=ctx.sections,
        missing=[x.title for x in ctx.sections if not x.supported],
        notes=ctx.notes,
        css=Markup(CSS),
        script=Markup(SCRIPT),
    )
    return html_page + "\n"
