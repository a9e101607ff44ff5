"""Readers for 287(g) agreement lists: ICE's participating and pending agency
workbooks, the 2025 scraped list with agency identifiers, the 2007-08 partner lists, and
the list of archived snapshots of ICE's 287(g) page.

Each reader yields ``Agreement`` rows (one per agency x support model x list) with the
source row they came from; the format is detected from the header, never the file name.
Rows that cannot be used (no agency name) are returned as problems, not dropped.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from icetally import reference

# Support model, normalized. ICE's list spells these with variants and trailing spaces
# ("Warrant Services Officer", "Warrant Service Office", "Jail Enforcement Model ").
MODELS = ("jail_enforcement", "task_force", "warrant_service_officer", "unknown")


def model_of(text: str | None) -> str:
    t = " ".join((text or "").upper().split())
    if "JAIL" in t:
        return "jail_enforcement"
    if "TASK" in t:
        return "task_force"
    if "WARRANT" in t:
        return "warrant_service_officer"
    return "unknown"


def agency_key(name: str | None) -> str:
    """Agencies are identified within a state by their name as listed, case and spacing
    ignored (ICE's list keeps 'Sheriff's Office' and 'Sheriffs Office' apart, and so do we:
    merging them would make our counts differ from the list's)."""
    return " ".join((name or "").split()).casefold()


@dataclass
class Agreement:
    status: str  # participating | pending | historical
    state: str | None
    agency: str
    model_raw: str | None = None
    county: str | None = None
    agency_type: str | None = None
    ori: str | None = None
    signed: date | None = None
    first_listed: date | None = None
    last_listed: date | None = None
    as_of: date | None = None
    population_policed: int | None = None
    source_row: int = 0
    source_sheet: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> str:
        return model_of(self.model_raw)

    @property
    def state_abbr(self) -> str | None:
        return reference.state_abbr((self.state or "").strip())


@dataclass
class ListFile:
    path: Path
    kind: str  # participating_xlsx | pending_xlsx | scraped_csv | historical_csv | snapshots
    rows_read: int = 0
    blank_rows: int = 0
    agreements: list[Agreement] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


_DATE_IN_NAME = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def _as_of_from_name(path: Path) -> date | None:
    m = _DATE_IN_NAME.search(path.name)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


_NA = {"#N/A", "#NA", "NA", "N/A", "NULL", "NONE", "-"}


def _text(v: Any) -> str | None:
    """Cell text with spacing collapsed; spreadsheet error/NA tokens are empty."""
    if v is None:
        return None
    s = " ".join(str(v).split())
    return s if s and s.upper() not in _NA else None


def _date(v: Any) -> date | None:
    if v is None or v == "":
        return None
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    s = str(v).strip()
    # '2025-05-16 am' (capture time of day), '2025-09-22 00:00:00', '9/22/2025'
    m = re.match(r"(\d{4})-(\d{1,2})-(\d{1,2})", s) or re.match(r"(\d{1,2})/(\d{1,2})/(\d{4})", s)
    if not m:
        return None
    a, b, c = (int(x) for x in m.groups())
    try:
        return date(a, b, c) if a > 31 else date(c, a, b)
    except ValueError:
        return None


def _norm_header(h: Any) -> str:
    return " ".join(str(h or "").upper().split())


def _read_workbook(path: Path, as_of: date | None) -> ListFile:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        for ws in wb.worksheets:
            rows = ws.iter_rows(values_only=True)
            header: list[str] | None = None
            # ICE's workbooks may carry title rows above the header: find it.
            for i, row in enumerate(rows, start=1):
                cells = [_norm_header(c) for c in row]
                if "SNAPSHOT DATE" in cells:
                    return _read_snapshots(path, cells, rows, i)
                if "STATE" in cells and any("AGENCY" in c for c in cells):
                    header = cells
                    header_row = i
                    break
                if i > 20:
                    break
            if header is None:
                continue
            col = {name: header.index(name) for name in header if name}
            agency_col = next(j for j, c in enumerate(header) if "AGENCY" in c)
            kind = "participating_xlsx" if "SIGNED" in col else "pending_xlsx"
            status = "participating" if kind == "participating_xlsx" else "pending"
            out = ListFile(path=path, kind=kind, metadata={"sheet": ws.title, "as_of": as_of})

            def get(row: tuple[Any, ...], name: str, col: dict[str, int] = col) -> Any:
                j = col.get(name)
                return row[j] if j is not None and j < len(row) else None

            for i, row in enumerate(rows, start=header_row + 1):
                out.rows_read += 1
                if not any(c not in (None, "") for c in row):
                    out.blank_rows += 1
                    continue
                agency = _text(row[agency_col] if agency_col < len(row) else None)
                if not agency:
                    out.problems.append(
                        {"source_row": i, "reason": "no agency name", "raw": repr(row)}
                    )
                    continue
                out.agreements.append(
                    Agreement(
                        status=status,
                        state=_text(get(row, "STATE")),
                        agency=agency,
                        model_raw=_text(get(row, "SUPPORT TYPE")),
                        county=_text(get(row, "COUNTY")),
                        agency_type=_text(get(row, "TYPE")),
                        signed=_date(get(row, "SIGNED")),
                        as_of=as_of,
                        source_row=i,
                        source_sheet=ws.title,
                    )
                )
            return out
    finally:
        wb.close()
    raise ValueError(
        f"{path}: no 287(g) agency list found (expected a header with STATE and "
        f"LAW ENFORCEMENT AGENCY, or Snapshot Date)"
    )


def _read_snapshots(
    path: Path, header: list[str], rows: Iterator[Any], header_row: int
) -> ListFile:
    """The list of archived captures of ICE's 287(g) page: dates only, no agencies. Kept
    as file metadata so a user can see which list dates exist."""
    out = ListFile(path=path, kind="snapshots")
    j = header.index("SNAPSHOT DATE")
    dates: list[date] = []
    for row in rows:
        out.rows_read += 1
        d = _date(row[j] if j < len(row) else None)
        if d is None:
            out.blank_rows += 1
            continue
        dates.append(d)
    out.metadata = {
        "snapshots": len(dates),
        "first": min(dates).isoformat() if dates else None,
        "last": max(dates).isoformat() if dates else None,
        "header_row": header_row,
    }
    return out


def _read_csv(path: Path, as_of: date | None) -> ListFile:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        cols = {c.strip().lower() for c in reader.fieldnames or []}
        if {"agency", "state", "type", "date"} <= cols:
            return _read_scraped(path, reader)
        if {"agency", "state", "as_of"} <= cols:
            return _read_historical(path, reader)
    raise ValueError(
        f"{path}: not a 287(g) list (expected columns date,state,county,agency,ori,type or "
        f"source,as_of,state,agency); found {sorted(cols)}"
    )


def _dated_rows(
    out: ListFile, reader: csv.DictReader[str], date_col: str, bad_date: str
) -> Iterator[tuple[int, dict[str, Any], str, date]]:
    """(source row, row with lower-case keys, agency, date) per readable CSV row; rows
    without an agency or a readable ``date_col`` go to ``out.problems`` (``bad_date`` is
    the reason given for the latter). Counts ``out.rows_read``."""
    for i, r in enumerate(reader, start=2):
        out.rows_read += 1
        r = {k.strip().lower(): v for k, v in r.items() if k}
        agency = _text(r.get("agency"))
        d = _date(r.get(date_col))
        if not agency or d is None:
            out.problems.append(
                {
                    "source_row": i,
                    "reason": "no agency name" if not agency else bad_date,
                    "raw": repr(r),
                }
            )
            continue
        yield i, r, agency, d


def _read_scraped(path: Path, reader: csv.DictReader[str]) -> ListFile:
    """Repeated captures of ICE's list (May-July 2025), one row per agency x model x
    capture. Collapsed to one agreement per agency x model with the first and last
    capture that listed it; an agreement missing from the last capture has ended."""
    out = ListFile(path=path, kind="scraped_csv")
    seen: dict[tuple[str, str, str], Agreement] = {}
    captures: set[date] = set()
    for i, r, agency, d in _dated_rows(out, reader, "date", "unreadable date"):
        captures.add(d)
        state = _text(r.get("state"))
        key = (agency_key(state), agency_key(agency), model_of(r.get("type")))
        a = seen.get(key)
        if a is None:
            pop = r.get("population_policed")
            a = Agreement(
                status="participating",
                state=state,
                agency=agency,
                model_raw=_text(r.get("type")),
                county=_text(r.get("county")),
                agency_type=_text(r.get("agency_type")),
                ori=_text(r.get("ori")),
                first_listed=d,
                last_listed=d,
                population_policed=int(pop) if pop and pop.isdigit() else None,
                source_row=i,
                extra={"zip": _text(r.get("zip")), "agency_id": _text(r.get("agency_id"))},
            )
            seen[key] = a
        else:
            a.first_listed = min(a.first_listed or d, d)
            a.last_listed = max(a.last_listed or d, d)
    last = max(captures) if captures else None
    for a in seen.values():
        a.as_of = last
    out.agreements = list(seen.values())
    out.metadata = {
        "captures": len(captures),
        "first_capture": min(captures).isoformat() if captures else None,
        "last_capture": last.isoformat() if last else None,
    }
    return out


def _read_historical(path: Path, reader: csv.DictReader[str]) -> ListFile:
    """ICE's 2007-08 partner lists (two captures). One agreement per agency with the
    first and last list date naming it; the lists give no support model."""
    out = ListFile(path=path, kind="historical_csv")
    seen: dict[tuple[str, str], Agreement] = {}
    lists: set[date] = set()
    for i, r, agency, d in _dated_rows(out, reader, "as_of", "unreadable as_of date"):
        lists.add(d)
        state = _text(r.get("state_abbr")) or _text(r.get("state"))
        key = (agency_key(state), agency_key(agency))
        a = seen.get(key)
        if a is None:
            seen[key] = Agreement(
                status="historical",
                state=state,
                agency=agency,
                first_listed=d,
                last_listed=d,
                source_row=i,
                extra={"source": _text(r.get("source"))},
            )
        else:
            a.first_listed = min(a.first_listed or d, d)
            a.last_listed = max(a.last_listed or d, d)
    last = max(lists) if lists else None
    for a in seen.values():
        a.as_of = last
    out.agreements = list(seen.values())
    out.metadata = {"lists": sorted(x.isoformat() for x in lists)}
    return out


def read_list(path: str | Path, *, as_of: date | None = None) -> ListFile:
    """Read one 287(g) list file (xlsx or csv, detected from its header). ``as_of``
    defaults to a YYYY-MM-DD date in the file name (ICE's workbooks carry no date)."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{p}: no such file")
    with p.open("rb") as fh:
        magic = fh.read(4)
    as_of = as_of or _as_of_from_name(p)
    if magic[:2] == b"PK":
        return _read_workbook(p, as_of)
    return _read_csv(p, as_of)
