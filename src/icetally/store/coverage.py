"""Coverage: the days a dataset's releases cover, overall and per area, with their gaps.

A day outside coverage has no records, which is not the same as a day with no
arrests: every analysis (surges, claims, the report, the web pages) reads coverage
from here, so a gap between two releases is uncovered everywhere and never counted
as days of zero arrests.

Where coverage comes from: the ``coverage_spans`` table, written at ingest, one row
per covered span of a release::

    coverage_spans(release_id VARCHAR, area VARCHAR, span_start DATE, span_end DATE)

``area`` NULL means the whole release; otherwise ``"<kind>:<code>"`` (``aor:LOS``,
``state:TX``, ``county:42101``) for a span that holds for that area only. Ingest writes
one row per release (its stated coverage, else its first and last event); a reader
that knows better (a count table with days not reported) gives ``Part.coverage_spans``
and ingest writes those instead. A release with no row in the table (a store made
before the table existed) is covered from its ``releases`` columns, as before.

Per area of a kind: an area's spans are the spans its releases give for it (``aor:X``
rows), else those releases' whole-release spans; only releases holding records of the
area count, so an AOR is covered where its releases are.

    from icetally.store.handle import Store
    cov = Store.open("ice.duckdb").coverage("arrests")          # per AOR
    cov.spans, cov.by_area["LOS"], cov.contains(d1, d2), cov.gaps
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import duckdb

from icetally.vocabulary import AREAS, DEFAULT_AREA, as_date

TABLE = "coverage_spans"
DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    release_id VARCHAR NOT NULL,
    area VARCHAR,
    span_start DATE NOT NULL,
    span_end DATE NOT NULL
)
"""
# area kind -> the canonical column naming an area of that kind
AREA_COLUMNS = {name: area.column for name, area in AREAS.items()}  # the vocabulary's
DEFAULT_AREA_KIND = DEFAULT_AREA

Span = tuple[date, date]


def merge(spans: Iterable[Span]) -> tuple[Span, ...]:
    """Sorted spans with overlapping and touching ones joined."""
    out: list[Span] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1] + timedelta(days=1):
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return tuple(out)


def _containing(spans: Sequence[Span], lo: date, hi: date) -> Span | None:
    for a, b in spans:
        if a <= lo and hi <= b:
            return (a, b)
    return None


@dataclass(frozen=True)
class Coverage:
    """Days the releases of a dataset cover: ``spans`` overall (merged, sorted), and
    ``by_area`` per area of ``area_kind`` (``aor`` by default)."""

    dataset: str
    spans: tuple[Span, ...]
    by_area: dict[str, tuple[Span, ...]]
    area_kind: str = DEFAULT_AREA_KIND
    releases: list[dict[str, Any]] = field(default_factory=list)

    @property
    def start(self) -> date | None:
        return self.spans[0][0] if self.spans else None

    @property
    def end(self) -> date | None:
        return self.spans[-1][1] if self.spans else None

    @property
    def gaps(self) -> tuple[Span, ...]:
        """Uncovered days between the first and last covered day."""
        return tuple(
            (a[1] + timedelta(days=1), b[0] - timedelta(days=1))
            for a, b in zip(self.spans, self.spans[1:], strict=False)
        )

    def containing(self, lo: date, hi: date, area: str | None = None) -> Span | None:
        """The covered span holding every day of [lo, hi] (of one area if given)."""
        spans = self.spans if area is None else self.by_area.get(area, ())
        return _containing(spans, lo, hi)

    def contains(self, lo: date, hi: date, area: str | None = None) -> bool:
        return self.containing(lo, hi, area) is not None

    def covered(self, day: date, area: str | None = None) -> bool:
        return self.contains(day, day, area)

    def describe(self) -> str:
        return ", ".join(f"{a} to {b}" for a, b in self.spans) or "nothing"

    def areas_dict(self) -> dict[str, dict[str, Any]]:
        """Per area: its first and last covered day, its covered runs and the days
        between the dataset's first and last covered day it does not cover (a count
        table's cells not reported, days without rows, gaps between releases)."""
        span = (self.end - self.start).days + 1 if self.start and self.end else 0
        out: dict[str, dict[str, Any]] = {}
        for code, spans in self.by_area.items():
            covered = sum((b - a).days + 1 for a, b in spans)
            out[code] = {
                "start": spans[0][0].isoformat() if spans else None,
                "end": spans[-1][1].isoformat() if spans else None,
                "runs": len(spans),
                "uncovered_days": max(span - covered, 0),
                "spans": [{"from": a.isoformat(), "to": b.isoformat()} for a, b in spans],
            }
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "spans": [{"from": a.isoformat(), "to": b.isoformat()} for a, b in self.spans],
            "gaps": [{"from": a.isoformat(), "to": b.isoformat()} for a, b in self.gaps],
            "releases": self.releases,
        }


# --------------------------------------------------------------------------- writing


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def write_spans(
    con: duckdb.DuckDBPyConnection,
    release_id: str,
    spans: Iterable[tuple[str | None, date | None, date | None]],
) -> int:
    """Record a release's covered spans ((area, first, last); area None = the whole
    release); spans without both dates are skipped. Returns the rows written."""
    rows = [(release_id, area, lo, hi) for area, lo, hi in spans if lo and hi]
    for _, area, lo, hi in rows:
        if hi < lo:
            raise ValueError(f"release {release_id}: coverage span {lo} to {hi} ends first")
        if area is not None and area.split(":", 1)[0] not in AREA_COLUMNS:
            raise ValueError(
                f"release {release_id}: coverage area {area!r} is not KIND:CODE with KIND "
                f"one of {', '.join(AREA_COLUMNS)}"
            )
    con.execute(f"DELETE FROM {TABLE} WHERE release_id = ?", [release_id])
    if rows:
        con.executemany(f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?)", rows)
    return len(rows)


def reported_spans(
    con: duckdb.DuckDBPyConnection, dataset: str, release_id: str, kinds: Iterable[str]
) -> list[tuple[str | None, date, date]]:
    """A count table's coverage (sources/counts.py): the runs of consecutive days it
    reports a count on, for the whole release (any area) and per area of each kind.
    A day with no row, or whose cell was not reported (quarantined), is uncovered."""
    from icetally.normalize.rules import OUT_OF_RANGE_FLAG

    where = (
        f'FROM "{dataset}" WHERE release_id = $rid AND event_date IS NOT NULL '
        "AND (date_flag IS NULL OR NOT contains(date_flag, $flag))"
    )

    def runs(area_sql: str) -> list[tuple[str | None, date, date]]:
        # gaps and islands: consecutive days share day - row_number()
        rows = con.execute(
            f"SELECT area, min(d), max(d) FROM (SELECT area, d, "
            f"d - CAST(row_number() OVER (PARTITION BY area ORDER BY d) AS INTEGER) AS g "
            f"FROM (SELECT DISTINCT {area_sql} AS area, event_date AS d {where})) "
            "WHERE area IS NOT NULL OR $whole GROUP BY area, g ORDER BY area, 2",
            {"rid": release_id, "flag": OUT_OF_RANGE_FLAG, "whole": area_sql == "NULL"},
        ).fetchall()
        return [(a, lo, hi) for a, lo, hi in rows]

    out = runs("NULL")
    for kind in kinds:
        col = AREA_COLUMNS[kind]
        out += runs(f"'{kind}:' || \"{col}\"")
    return out


# --------------------------------------------------------------------------- reading


def read_coverage(
    store: Any,
    dataset: str,
    area_kind: str | None = None,
    releases: Sequence[str] = (),
) -> Coverage:
    """The dataset's coverage from the store (a Store): see the module docstring.
    ``releases`` restricts it to some release ids."""
    kind = area_kind or DEFAULT_AREA_KIND
    if kind not in AREA_COLUMNS:
        raise ValueError(f"area kind {kind!r}: expected one of {', '.join(AREA_COLUMNS)}")
    rel = store.table("releases")
    rel = rel.filter(rel.dataset == dataset)
    if releases:
        rel = rel.filter(rel.release_id.isin(list(releases)))
    rows = store.rows(
        rel.select(
            "release_id",
            "file_name",
            "sheet",
            "coverage_start",
            "coverage_end",
            "min_event_date",
            "max_event_date",
        ).order_by("release_id")  # a stable order on every backend
    )
    ids = [r["release_id"] for r in rows]
    whole: dict[str, list[Span]] = {}
    per_area: dict[str, dict[str, list[Span]]] = {}
    if ids and store.has_table(TABLE):
        cs = store.table(TABLE)
        for r in store.rows(cs.filter(cs.release_id.isin(ids))):
            lo, hi = as_date(r["span_start"]), as_date(r["span_end"])
            if lo is None or hi is None:
                continue
            area = r["area"]
            if area is None:
                whole.setdefault(r["release_id"], []).append((lo, hi))
            elif area.startswith(kind + ":"):
                code = area.split(":", 1)[1]
                per_area.setdefault(r["release_id"], {}).setdefault(code, []).append((lo, hi))
    for r in rows:
        if r["release_id"] in whole:
            continue
        # a release without spans (a store from before coverage_spans): its columns
        lo = as_date(r["coverage_start"]) or as_date(r["min_event_date"])
        hi = as_date(r["coverage_end"]) or as_date(r["max_event_date"])
        if lo and hi:
            whole[r["release_id"]] = [(lo, hi)]
    if not whole:
        return Coverage(dataset, (), {}, kind, [])
    # which releases hold records of which area
    t = store.table(dataset)
    col = AREA_COLUMNS[kind]
    t = t.filter(t[col].notnull(), t.release_id.isin(list(whole)))
    pairs = store.rows(t.group_by(["release_id", col]).aggregate(k=t.n.count()))
    area_spans: dict[str, list[Span]] = {}
    for p in pairs:
        rid, code = p["release_id"], p[col]
        own = per_area.get(rid, {}).get(code)
        area_spans.setdefault(code, []).extend(own if own is not None else whole[rid])
    described = [
        {
            "release_id": r["release_id"],
            "file": r["file_name"],
            "sheet": r["sheet"],
            "start": min(a for a, _ in whole[r["release_id"]]).isoformat(),
            "end": max(b for _, b in whole[r["release_id"]]).isoformat(),
            "spans": [
                {"from": a.isoformat(), "to": b.isoformat()}
                for a, b in merge(whole[r["release_id"]])
            ],
        }
        for r in rows
        if r["release_id"] in whole
    ]
    return Coverage(
        dataset=dataset,
        spans=merge(s for spans in whole.values() for s in spans),
        by_area={code: merge(spans) for code, spans in sorted(area_spans.items())},
        area_kind=kind,
        releases=described,
    )
