"""Select published figures from the ``official`` table (Ibis expressions, so the
selection runs on any backend the store has).

Official figures are published numbers, never recomputed: a query selects figures, it
does not add them up. A dimension the caller neither groups by (``by``) nor filters
is set to its printed total ("Total", or null for criminality and month) wherever the
table prints one; where the table prints no total for it, its values are listed.

``snapshot``: ``latest`` (per figure, the latest workbook that prints it), ``all``
(every version: ICE revises earlier months and years), or a date (``YYYY-MM-DD``,
the workbook of that snapshot).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from icetally.errors import IcetallyError
from icetally.sources.detention_stats import DIMENSIONS, TOTAL_AS_NULL
from icetally.store.handle import Store

TABLE = "official"
# Filter names the API/CLI accept (besides the dimensions themselves).
ALIASES = {"agency": "arresting_agency"}


class OfficialQueryError(IcetallyError, ValueError):
    """A bad official-figures query (unknown table, dimension or snapshot)."""


@dataclass
class OfficialResult:
    rows: list[dict[str, Any]]
    query: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rows": self.rows, "query": self.query}
        if self.warnings:
            out["warnings"] = self.warnings
        return out


def _split(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, int | float):
        return [str(int(value))]
    return [str(v) for v in value]


def parse_fiscal_years(value: Any) -> list[int]:
    """'2019', '2019,2020', '2019-2021' or ints -> a list of fiscal years."""
    out: list[int] = []
    for part in _split(value):
        if "-" in part:
            lo, hi = part.split("-", 1)
            out.extend(range(int(lo), int(hi) + 1))
        else:
            out.append(int(part))
    return out


def is_total_value(dim: str, value: Any) -> bool:
    return value is None or (dim not in TOTAL_AS_NULL and str(value) == "Total")


def tables(store: Store) -> list[dict[str, Any]]:
    """The official tables in the store, with their coverage and snapshots."""
    t = store.table(TABLE)
    agg = (
        t.group_by(["table_name", "breakdown"])
        .aggregate(
            figures=t.count(),
            fy_min=t.fiscal_year.min(),
            fy_max=t.fiscal_year.max(),
            month_min=t.month.min(),
            month_max=t.month.max(),
        )
        .order_by(["table_name", "breakdown"])
        .to_pyarrow()
        .to_pylist()
    )
    snaps = (
        (t.select("table_name", "snapshot").distinct().order_by(["table_name", "snapshot"]))
        .to_pyarrow()
        .to_pylist()
    )
    by_table: dict[str, dict[str, Any]] = {}
    for r in agg:
        e = by_table.setdefault(
            r["table_name"],
            {
                "table": r["table_name"],
                "breakdowns": [],
                "figures": 0,
                "fiscal_years": [r["fy_min"], r["fy_max"]],
                "months": [r["month_min"], r["month_max"]],
                "snapshots": [],
            },
        )
        e["breakdowns"].append(r["breakdown"])
        e["figures"] += int(r["figures"])
        lo, hi = e["fiscal_years"]
        e["fiscal_years"] = [_min(lo, r["fy_min"]), _max(hi, r["fy_max"])]
        mlo, mhi = e["months"]
        e["months"] = [_min(mlo, r["month_min"]), _max(mhi, r["month_max"])]
    for r in snaps:
        by_table[r["table_name"]]["snapshots"].append(r["snapshot"].isoformat())
    return list(by_table.values())


def _min(a: Any, b: Any) -> Any:
    return b if a is None else a if b is None else min(a, b)


def _max(a: Any, b: Any) -> Any:
    return b if a is None else a if b is None else max(a, b)


def select(
    store: Store,
    table: str,
    *,
    fiscal_year: Any = None,
    snapshot: str | date | None = "latest",
    by: Any = None,
    breakdown: str | None = None,
    measure: str | None = None,
    filters: dict[str, Any] | None = None,
    placeholders: bool = False,
) -> OfficialResult:
    """Published figures of one official table (see the module docstring)."""
    import ibis

    t = store.table(TABLE)
    known = {r["table"] for r in tables(store)}
    if table not in known:
        raise OfficialQueryError(
            f"no official table {table!r} in the store; tables: "
            f"{', '.join(sorted(known)) or 'none'} (ingest ICE's detention statistics "
            "workbooks first)"
        )
    dims_by = [ALIASES.get(d, d) for d in _split(by)]
    for d in dims_by:
        if d not in DIMENSIONS:
            raise OfficialQueryError(
                f"unknown dimension {d!r} in --by; dimensions: {', '.join(DIMENSIONS)}"
            )
    wanted: dict[str, list[str]] = {}
    for k, v in (filters or {}).items():
        k = ALIASES.get(k, k)
        if v is None or v == [] or v == "":
            continue
        if k not in DIMENSIONS:
            raise OfficialQueryError(f"unknown filter {k!r}; dimensions: {', '.join(DIMENSIONS)}")
        wanted[k] = _split(v)
    expr = t.filter(t.table_name == table)
    if breakdown:
        expr = expr.filter(expr.breakdown == breakdown)
    if measure:
        expr = expr.filter(expr.measure == measure)
    years = parse_fiscal_years(fiscal_year)
    if years:
        expr = expr.filter(expr.fiscal_year.isin(years))
    for k, values in wanted.items():
        col = expr[k]
        lowered = [v.lower() for v in values]
        expr = expr.filter(col.lower().isin(lowered))
    if not placeholders:
        expr = expr.filter(~expr.placeholder)
    snap = "latest" if snapshot in (None, "") else snapshot
    if snap == "latest":
        w = ibis.window(group_by=expr.figure_key)
        expr = expr.mutate(_latest=expr.snapshot.max().over(w))
        expr = expr.filter(expr.snapshot == expr._latest).drop("_latest")
    elif snap != "all":
        try:
            day = snap if isinstance(snap, date) else date.fromisoformat(str(snap))
        except ValueError as exc:
            raise OfficialQueryError(
                f"--snapshot takes latest, all or a date YYYY-MM-DD, not {snap!r}"
            ) from exc
        expr = expr.filter(expr.snapshot == day)
    expr = expr.order_by(["snapshot", "source_file", "source_sheet", "title_cell", "source_cell"])
    sql = str(ibis.to_sql(expr))
    raw = expr.to_pyarrow().to_pylist()
    # only the breakdowns that have every dimension asked for (book-ins by agency and
    # month, not book-ins by facility type, for --by arresting_agency,month)
    if dims_by:
        has: dict[str, set[str]] = {}
        for r in raw:
            has.setdefault(r["breakdown"], set()).update(d for d in dims_by if r[d] is not None)
        fitting = {b for b, ds in has.items() if ds >= set(dims_by)}
        if fitting:
            raw = [r for r in raw if r["breakdown"] in fitting]
    # dimensions neither grouped by nor filtered: their printed total, where printed
    free = [d for d in DIMENSIONS if d not in dims_by and d not in wanted]
    for d in free:
        if any(is_total_value(d, r[d]) for r in raw) and any(r[d] is not None for r in raw):
            raw = [r for r in raw if is_total_value(d, r[d])]
    shown = [d for d in DIMENSIONS if d in dims_by or any(r[d] is not None for r in raw)]
    rows = [_row(r, shown) for r in raw]
    releases = sorted({r["release_id"] for r in raw})
    query = {
        "table": table,
        "breakdown": breakdown,
        "measure": measure,
        "fiscal_year": years,
        "snapshot": snap if isinstance(snap, str) else snap.isoformat(),
        "by": dims_by,
        "filters": wanted,
        "placeholders": placeholders,
        "sql": sql,
        "releases": releases,
    }
    warnings = []
    if not rows:
        warnings.append("no published figure matches; see `icetally official` for the tables")
    return OfficialResult(rows=rows, query=query, warnings=warnings)


def _row(r: dict[str, Any], dims: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "table": r["table_name"],
        "breakdown": r["breakdown"],
        "fiscal_year": r["fiscal_year"],
        "snapshot": r["snapshot"].isoformat() if r["snapshot"] else None,
    }
    for d in dims:
        out[d] = r[d]
    out["measure"] = r["measure"]
    out["value"] = r["value"]
    if r["value_text"] is not None:
        out["value_text"] = r["value_text"]
    out["unit"] = r["unit"]
    if r["placeholder"]:
        out["placeholder"] = True
    out["source"] = {
        "file": r["source_file"],
        "sheet": r["source_sheet"],
        "cell": r["source_cell"],
        "title": r["title"],
    }
    return out


def all_figures(
    store: Store, where: str = "", params: list[Any] | None = None
) -> list[dict[str, Any]]:
    """Every stored figure (DuckDB), for the checks and revisions (small table)."""
    cur = store.duckdb.execute(f"SELECT * FROM {TABLE} {where}", params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
