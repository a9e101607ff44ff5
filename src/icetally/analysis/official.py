"""What the official figures say about themselves and about the records.

- ``check``: every total a workbook prints (Total rows and columns, "FY Overall",
  group rows such as "CBP Average", "Grand Total", shares) against its loaded parts.
  Counts add up (people, placements, dollars, ADP across agencies or facility types);
  an ADP "FY Overall" is the day-weighted mean of its months (days counted to the
  date the footnotes say the data run through); averages of lengths (ALOS, ALIP,
  ICLOS, days in segregation) are weighted by counts ICE does not print, so their
  total can only be checked to lie between its parts; a printed share is checked
  against its count and total. A total that does not equal its parts is an
  inconsistency in the published table, reported with its cells.
- ``revisions``: figures printed in several snapshots with different values.
- ``reconcile``: an official monthly series against the records' monthly counts.
"""

from __future__ import annotations

import calendar
import os
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from icetally.query.official import all_figures, is_total_value, select
from icetally.sources.detention_stats import DIMENSIONS, UNLABELED
from icetally.sources.detention_titles import ADDITIVE_UNITS, ADP, DAYS, SHARE
from icetally.store.handle import Store

# Breakdowns whose rows are not parts of a printed total: the facility list prints no
# totals; the removals table's second row ("Removals with an FRC Detention / a FAMU
# Identifier") is a subset of its Total, not a part of it.
NOT_PARTITIONS: dict[str, tuple[str, ...]] = {
    "facilities": tuple(DIMENSIONS),
    "removals": ("population",),
    "bond_monthly": tuple(DIMENSIONS),
}
# Labels that describe a row rather than classify it (never part of a grouping key):
# a facility's code, address... go with its name.
DESCRIPTIVE = frozenset(
    {
        "category",
        "period",
        "facility_code",
        "facility_address",
        "facility_city",
        "facility_state",
        "facility_zip",
        "facility_type_detailed",
        "facility_gender",
    }
)
# Ratios a workbook prints next to their counts: (breakdown, share dimension).
SHARE_OF = {
    "currently_detained_by_criminality_agency": "arresting_agency",
    "atd_court_appearance": "court_outcome",
}


@dataclass
class Check:
    file: str
    sheet: str
    table: str
    breakdown: str
    title: str
    rule: str
    dimension: str
    total_cell: str
    total: float
    expected: float | None
    low: float | None
    high: float | None
    parts: list[str]
    consistent: bool
    fiscal_year: int | None
    snapshot: str

    @property
    def difference(self) -> float | None:
        return None if self.expected is None else self.total - self.expected

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sheet": self.sheet,
            "table": self.table,
            "breakdown": self.breakdown,
            "title": self.title,
            "fiscal_year": self.fiscal_year,
            "snapshot": self.snapshot,
            "rule": self.rule,
            "dimension": self.dimension,
            "total_cell": self.total_cell,
            "total": self.total,
            "expected": self.expected,
            "difference": self.difference,
            "bounds": None if self.low is None else [self.low, self.high],
            "part_cells": self.parts,
            "status": "consistent" if self.consistent else "inconsistent",
        }


@dataclass
class CheckReport:
    checks: list[Check]
    files: list[str] = field(default_factory=list)

    @property
    def inconsistencies(self) -> list[Check]:
        return [c for c in self.checks if not c.consistent]

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "checks": len(self.checks),
            "consistent": len(self.checks) - len(self.inconsistencies),
            "inconsistencies": [c.to_dict() for c in self.inconsistencies],
        }


def _days_in(month: str, through: date | None) -> int:
    y, m = int(month[:4]), int(month[5:7])
    days = calendar.monthrange(y, m)[1]
    if through is not None:
        if (y, m) > (through.year, through.month):
            return 0
        if (y, m) == (through.year, through.month):
            return through.day
    return days


def _close(total: float, expected: float, unit: str, rule: str) -> bool:
    diff = abs(total - expected)
    if unit == SHARE:
        return diff <= 0.0015
    if rule == "sum" and unit not in (ADP,) and float(total).is_integer():
        return diff < 0.5
    # ADP and money are printed with decimals, some rounded to 5 places
    return diff <= 0.01 + 1e-9 * abs(total)


def _check_block(rows: list[dict[str, Any]], through: date | None) -> list[Check]:
    breakdown = rows[0]["breakdown"]
    skip = set(NOT_PARTITIONS.get(breakdown, ()))
    # figures, not text; not the zeros printed for months after the data's end; not a
    # row the workbook prints without a label (FY2021 ATD row 115): no one knows
    # what it is a part of
    nums = [
        r
        for r in rows
        if r["value"] is not None
        and not r["placeholder"]
        and not any(r[d] == UNLABELED for d in DIMENSIONS)
    ]
    dims = [d for d in DIMENSIONS if d not in DESCRIPTIVE and any(r[d] is not None for r in nums)]
    out: list[Check] = []
    for d in dims:
        if d in skip:
            continue
        others = [x for x in dims if x != d]
        groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for r in nums:
            key = (r["measure"], r["fiscal_year"], *(r[x] for x in others))
            groups.setdefault(key, []).append(r)
        for members in groups.values():
            if members[0]["unit"] == SHARE:
                continue  # shares are checked against their counts (_shares)
            totals = [r for r in members if is_total_value(d, r[d])]
            parts = [r for r in members if not is_total_value(d, r[d])]
            if not totals or not parts:
                continue
            for tot in totals:
                out.append(_one(tot, parts, d, through))
    share_dim = SHARE_OF.get(breakdown)
    if share_dim:
        out.extend(_shares(nums, share_dim))
    return out


def _one(tot: dict[str, Any], parts: list[dict[str, Any]], d: str, through: date | None) -> Check:
    unit = tot["unit"]
    values = [p["value"] for p in parts]
    expected = low = high = None
    if unit == ADP and d == "month":
        weights = [_days_in(p["month"], through) for p in parts]
        total_days = sum(weights)
        rule = "day_weighted_mean"
        expected = (
            sum(v * w for v, w in zip(values, weights, strict=True)) / total_days
            if total_days
            else None
        )
        ok = expected is not None and _close(tot["value"], expected, unit, rule)
    elif unit in ADDITIVE_UNITS:
        rule = "sum"
        expected = sum(values)
        ok = _close(tot["value"], expected, unit, rule)
    elif unit == DAYS:
        rule = "between_parts"
        low, high = min(values), max(values)
        ok = low - 0.01 <= tot["value"] <= high + 0.01
    else:
        rule = "sum"
        expected = sum(values)
        ok = _close(tot["value"], expected, unit, rule)
    return Check(
        file=tot["source_file"],
        sheet=tot["source_sheet"],
        table=tot["table_name"],
        breakdown=tot["breakdown"],
        title=tot["title"],
        rule=rule,
        dimension=d,
        total_cell=tot["source_cell"],
        total=tot["value"],
        expected=expected,
        low=low,
        high=high,
        parts=[p["source_cell"] for p in parts],
        consistent=bool(ok),
        fiscal_year=tot["fiscal_year"],
        snapshot=tot["snapshot"].isoformat(),
    )


def _shares(nums: list[dict[str, Any]], dim: str) -> list[Check]:
    """A printed share against its count over the total's count."""
    out = []
    counts = {}
    for r in nums:
        if r["unit"] != SHARE:
            key = tuple(r[x] for x in DIMENSIONS if x not in DESCRIPTIVE)
            counts[key] = r
    for r in nums:
        if r["unit"] != SHARE:
            continue
        key = tuple(r[x] for x in DIMENSIONS if x not in DESCRIPTIVE)
        num = counts.get(key)
        total_key = tuple(
            ("Total" if x == dim else r[x]) for x in DIMENSIONS if x not in DESCRIPTIVE
        )
        den = counts.get(total_key)
        if num is None or den is None or not den["value"]:
            continue
        expected = num["value"] / den["value"]
        out.append(
            Check(
                file=r["source_file"],
                sheet=r["source_sheet"],
                table=r["table_name"],
                breakdown=r["breakdown"],
                title=r["title"],
                rule="share_of_total",
                dimension=dim,
                total_cell=r["source_cell"],
                total=r["value"],
                expected=expected,
                low=None,
                high=None,
                parts=[num["source_cell"], den["source_cell"]],
                consistent=abs(r["value"] - expected) <= 0.0006,
                fiscal_year=r["fiscal_year"],
                snapshot=r["snapshot"].isoformat(),
            )
        )
    return out


def check(
    store: Store | str | os.PathLike[str] | None = None,
    *,
    db: Any = None,
    fiscal_year: Any = None,
    files: list[str] | None = None,
) -> CheckReport:
    """Every printed total of every loaded workbook against its parts."""
    from icetally.query.official import parse_fiscal_years

    with Store.borrow(store, db=db) as st:
        rows = all_figures(st)
        through = _through_by_release(st)
        blocks: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for r in rows:
            blocks.setdefault((r["release_id"], r["source_sheet"], r["title_cell"]), []).append(r)
        years = set(parse_fiscal_years(fiscal_year))
        out: list[Check] = []
        for (release_id, _sheet, _cell), members in sorted(blocks.items()):
            if files and members[0]["source_file"] not in files:
                continue
            checks = _check_block(members, through.get(release_id))
            if years:
                checks = [c for c in checks if c.fiscal_year in years]
            out.extend(checks)
        names = sorted({r["source_file"] for r in rows})
        return CheckReport(checks=out, files=names)


def _through_by_release(st: Store) -> dict[str, date]:
    out = {}
    for r in st.releases("official"):
        meta = r.get("metadata") or {}
        adp = (meta.get("data_through") or {}).get("adp")
        if adp:
            out[r["release_id"]] = date.fromisoformat(adp)
    return out


# ---------------------------------------------------------------------------- revisions


def revisions(
    store: Store | str | os.PathLike[str] | None = None,
    *,
    db: Any = None,
    table: str | None = None,
    fiscal_year: Any = None,
) -> list[dict[str, Any]]:
    """Figures printed in several snapshots with different values (ICE revises
    earlier months and years): one entry per figure with every version."""
    from icetally.query.official import parse_fiscal_years

    with Store.borrow(store, db=db) as st:
        where, params = "WHERE value IS NOT NULL AND NOT placeholder", []
        if table:
            where += " AND table_name = ?"
            params.append(table)
        years = parse_fiscal_years(fiscal_year)
        if years:
            where += f" AND fiscal_year IN ({', '.join('?' * len(years))})"
            params.extend(years)
        rows = all_figures(st, where + " ORDER BY figure_key, snapshot", params)
        by_key: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            by_key.setdefault(r["figure_key"], []).append(r)
        out = []
        for versions in by_key.values():
            snaps = {v["snapshot"] for v in versions}
            values = {round(v["value"], 9) for v in versions}
            if len(snaps) < 2 or len(values) < 2:
                continue
            first = versions[0]
            out.append(
                {
                    "table": first["table_name"],
                    "breakdown": first["breakdown"],
                    "fiscal_year": first["fiscal_year"],
                    "measure": first["measure"],
                    **{d: first[d] for d in DIMENSIONS if first[d] is not None},
                    "unit": first["unit"],
                    "change": versions[-1]["value"] - versions[0]["value"],
                    "versions": [
                        {
                            "snapshot": v["snapshot"].isoformat(),
                            "value": v["value"],
                            "source": {
                                "file": v["source_file"],
                                "sheet": v["source_sheet"],
                                "cell": v["source_cell"],
                                "title": v["title"],
                            },
                        }
                        for v in versions
                    ],
                }
            )
        return out


# ---------------------------------------------------------------------------- reconcile

MATCH_TOLERANCE = 0.01

# Why an arrest count and an initial book-in count differ (docs/official.md).
REASONS = (
    "An administrative arrest is not always a book-in: people arrested and released "
    "(on recognizance, ATD, voluntary return or a notice to appear) are never booked "
    "into detention.",
    "An ICE initial book-in counts a person's first book-in of a detention stay, "
    "including people arrested by CBP who are attributed to ICE programs, and people "
    "arrested in an earlier month.",
    "ICE attributes book-ins to programs by 'Current Program' (footnotes), the arrest "
    "records by the arresting office; HSI arrests are in book-ins as ICE and may be "
    "absent from ERO arrest records.",
    "The workbook is a snapshot; ICE revises its figures until a fiscal year is locked.",
)

RECORD_DATASETS = {"arrests": "arrests", "book_ins": "detention_stints", "removals": "removals"}


@dataclass
class ReconcileResult:
    rows: list[dict[str, Any]]
    query: dict[str, Any]
    reasons: tuple[str, ...] = REASONS

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "query": self.query, "reasons": list(self.reasons)}


def reconcile(
    store: Store | str | os.PathLike[str] | None = None,
    *,
    db: Any = None,
    official: str = "book_ins",
    agency: str = "ICE",
    records: str = "arrests",
    by: str = "month",
    fiscal_year: Any = None,
    snapshot: str = "latest",
) -> ReconcileResult:
    """An official monthly series (``book_ins`` by arresting agency and month) against
    the records' monthly counts: records, official, difference, ratio and status
    (``match`` within 1%, ``differs``, ``records_missing``, ``official_missing``)."""
    import icetally

    if by != "month":
        raise ValueError("reconcile compares monthly figures: --by month")
    with Store.borrow(store, db=db) as st:
        off = select(
            st,
            official,
            fiscal_year=fiscal_year,
            snapshot=snapshot,
            by="month",
            filters={"arresting_agency": agency},
        )
        official_by_month: dict[str, dict[str, Any]] = {}
        for r in off.rows:
            if r.get("month") and r["value"] is not None:
                official_by_month[r["month"]] = r
        cov = st.coverage(records)
        if cov.start is None:
            raise ValueError(f"no {records} records in the store: ingest a release of them first")
        months = sorted(official_by_month)
        years = sorted({int(m[:4]) + (1 if int(m[5:]) >= 10 else 0) for m in months})
        lo = date(min(years) - 1, 10, 1) if years else cov.start
        hi = date(max(years), 9, 30) if years else cov.end
        counted = icetally.count(
            records, store=st, by="month", date_from=lo.isoformat(), date_to=hi.isoformat()
        )
        rec_by_month = {str(r["month"])[:7]: int(r["n"]) for r in counted.rows if r.get("month")}
        all_months = sorted(set(months) | {m for m in rec_by_month if lo.isoformat()[:7] <= m})
        rows = []
        for m in all_months:
            y, mo = int(m[:4]), int(m[5:7])
            first, last = date(y, mo, 1), date(y, mo, calendar.monthrange(y, mo)[1])
            covered = cov.contains(first, last)
            o = official_by_month.get(m)
            n = rec_by_month.get(m, 0)
            row: dict[str, Any] = {
                "month": m,
                "records": n if (covered or n) else None,
                "official": o["value"] if o else None,
            }
            if o is None:
                status = "official_missing"
            elif not covered:
                status = "records_missing"
                row["note"] = f"the {records} records cover {cov.describe()}"
            else:
                ratio = n / o["value"] if o["value"] else None
                row["difference"] = n - o["value"]
                row["ratio"] = ratio
                status = (
                    "match"
                    if ratio is not None and abs(ratio - 1) <= MATCH_TOLERANCE
                    else "differs"
                )
            row["status"] = status
            if o:
                row["source"] = o["source"]
                row["snapshot"] = o["snapshot"]
            rows.append(row)
        query = {
            "official": official,
            "agency": agency,
            "records": records,
            "by": by,
            "fiscal_year": off.query["fiscal_year"],
            "snapshot": snapshot,
            "match_tolerance": MATCH_TOLERANCE,
            "official_query": off.query,
            "records_query": counted.query,
            "records_coverage": cov.to_dict(),
        }
        return ReconcileResult(rows=rows, query=query)
