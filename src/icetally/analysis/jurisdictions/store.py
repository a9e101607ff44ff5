"""The ``jurisdictions`` table (287(g) agreements), ``jurisdiction_policies`` (user
policy table) and ``jurisdiction_files`` (one row per loaded list) in the store.

Written through DuckDB's own API like ``icetally.store.db``; one transaction per file,
and loading a file again replaces its rows (keyed by content hash), so a load is
idempotent and a failure leaves the store as it was.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from icetally import __version__, reference
from icetally.analysis.jurisdictions.g287 import Agreement, agency_key, read_list
from icetally.analysis.jurisdictions.resolve import resolver
from icetally.errors import IcetallyError
from icetally.store.db import file_sha256
from icetally.store.handle import Store

JURISDICTIONS_DDL = """
CREATE TABLE IF NOT EXISTS jurisdictions (
    agreement_id VARCHAR,
    status VARCHAR,              -- participating | pending | historical
    scope VARCHAR,               -- county | local | state
    state_abbr VARCHAR,
    county_fips VARCHAR,
    aor VARCHAR,
    resolution VARCHAR,          -- how county_fips was found (resolve.METHODS)
    state_raw VARCHAR,
    county_raw VARCHAR,
    agency VARCHAR,
    agency_key VARCHAR,
    agency_type VARCHAR,
    ori VARCHAR,
    model VARCHAR,               -- jail_enforcement|task_force|warrant_service_officer|unknown
    model_raw VARCHAR,
    start_date DATE,
    start_basis VARCHAR,         -- signed | first_listed
    end_date DATE,               -- last list naming it, when a later list of the file drops it
    first_listed DATE,
    last_listed DATE,
    as_of DATE,                  -- date of the list (latest capture for repeated lists)
    population_policed BIGINT,
    source_kind VARCHAR,
    source_file VARCHAR,
    source_sheet VARCHAR,
    source_row BIGINT,
    sha256 VARCHAR
)
"""

POLICIES_DDL = """
CREATE TABLE IF NOT EXISTS jurisdiction_policies (
    jurisdiction VARCHAR,        -- as written by the user
    scope VARCHAR,               -- county | city | state
    state_abbr VARCHAR,
    county_fips VARCHAR,
    aor VARCHAR,
    resolution VARCHAR,
    policy VARCHAR,
    start_date DATE,
    end_date DATE,
    source VARCHAR,
    note VARCHAR,
    source_file VARCHAR,
    source_row BIGINT,
    sha256 VARCHAR
)
"""

FILES_DDL = """
CREATE TABLE IF NOT EXISTS jurisdiction_files (
    sha256 VARCHAR,
    path VARCHAR,
    file_name VARCHAR,
    kind VARCHAR,
    rows_read BIGINT,
    rows_loaded BIGINT,
    rows_blank BIGINT,
    rows_rejected BIGINT,
    unresolved JSON,
    problems JSON,
    metadata JSON,
    loaded_at TIMESTAMP,
    icetally_version VARCHAR
)
"""

_STATE_AGENCY = re.compile(
    r"\bSTATE\b|HIGHWAY PATROL|DEPARTMENT OF|DEPT\.? OF|BUREAU OF|ATTORNEY GENERAL|"
    r"NATIONAL GUARD|WILDLIFE|COMMISSION|UNIVERSITY|COLLEGE|AUTHORITY",
    re.IGNORECASE,
)


@dataclass
class LoadResult:
    path: str
    kind: str | None = None
    status: str = "failed"  # loaded | failed
    rows_read: int = 0
    rows_loaded: int = 0
    rows_blank: int = 0
    rows_rejected: int = 0
    resolved_county: int = 0
    unresolved: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(JURISDICTIONS_DDL)
    con.execute(POLICIES_DDL)
    con.execute(FILES_DDL)


def _scope(a: Agreement) -> str:
    t = (a.agency_type or "").upper()
    name = a.agency.upper()
    if "STATE" in t or "(005)" in t or t.startswith("(6"):
        return "state"
    if "SHERIFF" in name or "COUNTY" in t or "(001)" in t:
        return "county"
    if _STATE_AGENCY.search(name) and "COUNTY" not in name and "CITY" not in name:
        return "state"
    return "local"


def _row(a: Agreement, kind: str, path: Path, sha: str) -> tuple[Any, ...]:
    st = a.state_abbr
    scope = _scope(a)
    if scope == "state" and not a.county:
        fips, resolution, aor = None, "state", None
    else:
        place = resolver().resolve(a.agency, state=st, county=a.county)
        fips, resolution = place.county_fips, place.method
        aor = place.aor if fips else None
    start, basis = (a.signed, "signed") if a.signed else (a.first_listed, "first_listed")
    if start is None and a.as_of is not None and kind == "participating_xlsx":
        start, basis = None, None
    end = a.last_listed if (a.last_listed and a.as_of and a.last_listed < a.as_of) else None
    ident = "|".join(
        [sha[:16], a.status, agency_key(a.state), agency_key(a.agency), a.model, str(a.source_row)]
    )
    return (
        hashlib.sha1(ident.encode()).hexdigest()[:16],
        a.status,
        scope,
        st,
        fips,
        aor,
        resolution,
        a.state,
        a.county,
        a.agency,
        agency_key(a.agency),
        a.agency_type,
        a.ori,
        a.model,
        a.model_raw,
        start,
        basis,
        end,
        a.first_listed,
        a.last_listed,
        a.as_of,
        a.population_policed,
        kind,
        path.name,
        a.source_sheet,
        a.source_row,
        sha,
    )


def load_lists(
    paths: Iterable[str | os.PathLike[str]],
    store: Store | str | os.PathLike[str] | None = None,
    *,
    db: str | os.PathLike[str] | None = None,
    as_of: date | None = None,
) -> list[LoadResult]:
    """Load 287(g) list files into the ``jurisdictions`` table (folders expand to their
    .csv/.xlsx files). Each file is one transaction; a failed file is reported and the
    others still load."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(
                f for f in p.iterdir() if f.suffix.lower() in (".csv", ".xlsx") and f.is_file()
            )
        else:
            files.append(p)
    results: list[LoadResult] = []
    with Store.borrow(store, db=db, read_only=False) as s:
        con = s.duckdb
        ensure_tables(con)
        for path in files:
            res = LoadResult(path=str(path))
            results.append(res)
            try:
                lf = read_list(path, as_of=as_of)
                sha = file_sha256(path)
            except (ValueError, OSError) as exc:
                res.error = str(exc)
                continue
            res.kind = lf.kind
            res.rows_read, res.rows_blank = lf.rows_read, lf.blank_rows
            res.rows_rejected = len(lf.problems)
            res.metadata = {
                k: (v.isoformat() if isinstance(v, date) else v) for k, v in lf.metadata.items()
            }
            rows = [_row(a, lf.kind, path, sha) for a in lf.agreements]
            unresolved: dict[str, int] = {}
            for a, r in zip(lf.agreements, rows, strict=True):
                if r[4] is None and r[2] != "state":
                    label = f"{a.agency} ({a.state or '?'}; county {a.county or '?'})"
                    unresolved[label] = unresolved.get(label, 0) + 1
            res.unresolved = dict(sorted(unresolved.items(), key=lambda kv: (-kv[1], kv[0])))
            res.resolved_county = sum(1 for r in rows if r[4] is not None)
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute("DELETE FROM jurisdictions WHERE sha256 = ?", [sha])
                con.execute("DELETE FROM jurisdiction_files WHERE sha256 = ?", [sha])
                if rows:
                    con.executemany(
                        f"INSERT INTO jurisdictions VALUES ({', '.join('?' * len(rows[0]))})",
                        rows,
                    )
                con.execute(
                    "INSERT INTO jurisdiction_files VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    [
                        sha,
                        str(path.resolve()),
                        path.name,
                        lf.kind,
                        lf.rows_read,
                        len(rows),
                        lf.blank_rows,
                        len(lf.problems),
                        json.dumps(res.unresolved),
                        json.dumps(lf.problems[:200], default=str),
                        json.dumps(res.metadata, default=str),
                        datetime.now().replace(microsecond=0),
                        __version__,
                    ],
                )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            res.rows_loaded = len(rows)
            res.status = "loaded"
        con.execute("CHECKPOINT")
    return results


# --- user policy table -----------------------------------------------------------------

POLICY_COLUMNS = ("jurisdiction", "state", "policy", "start_date", "end_date", "source", "note")


class PolicyError(IcetallyError, ValueError):
    """The policy table cannot be read; the message names the row and the problem."""


def _iso(text: str | None, what: str, row: int) -> date | None:
    t = (text or "").strip()
    if not t:
        return None
    try:
        return date.fromisoformat(t)
    except ValueError as exc:
        raise PolicyError(f"row {row}: {what} {t!r} is not an ISO date YYYY-MM-DD") from exc


def read_policies(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Parse a policy CSV (see docs/jurisdictions.md). Lines starting with '#' are
    comments. Every row must resolve to a state, county or city, else PolicyError."""
    p = Path(path)
    with p.open(newline="", encoding="utf-8-sig") as fh:
        lines = [ln for ln in fh if not ln.lstrip().startswith("#")]
    reader = csv.DictReader(lines)
    cols = [c.strip().lower() for c in reader.fieldnames or []]
    for need in ("jurisdiction", "policy", "start_date"):
        if need not in cols:
            raise PolicyError(
                f"{p}: the policy table needs a {need!r} column; columns are "
                f"{', '.join(POLICY_COLUMNS)} (state, end_date, source, note optional)"
            )
    out: list[dict[str, Any]] = []
    res = resolver()
    for i, raw in enumerate(reader, start=2):
        r = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        name = r.get("jurisdiction", "")
        if not name:
            continue
        st = reference.state_abbr(r.get("state")) if r.get("state") else None
        scope, fips, how = "county", None, "fips"
        if re.fullmatch(r"\d{5}", name):
            fips = name
            if fips not in res.counties:
                raise PolicyError(f"row {i}: {name} is not a county FIPS code")
        elif re.fullmatch(r"\d{1,2}", name) or (reference.state_abbr(name) and not st):
            scope, st, how = "state", reference.state_abbr(name), "state"
        else:
            if st is None:
                # "Cook County, IL" / "Chicago, IL"
                parts = [x.strip() for x in name.split(",")]
                if len(parts) > 1 and reference.state_abbr(parts[-1]):
                    st = reference.state_abbr(parts[-1])
                    name_part = ",".join(parts[:-1])
                else:
                    raise PolicyError(
                        f"row {i}: {name!r} needs a state (a 'state' column or 'Name, ST')"
                    )
            else:
                name_part = name
            if re.search(r"\b(COUNTY|PARISH|BOROUGH)\b", name_part.upper()):
                fips = res.county_in_state(name_part, st)
                how = "county_name"
            else:
                place = res.resolve(None, city=name_part, state=st)
                fips, how, scope = place.county_fips, place.method, "city"
            if fips is None:
                raise PolicyError(f"row {i}: cannot find {name!r} in {st}")
        c = res.counties.get(fips) if fips else None
        start = _iso(r.get("start_date"), "start_date", i)
        end = _iso(r.get("end_date"), "end_date", i)
        if start is None:
            raise PolicyError(f"row {i}: start_date is required")
        if end is not None and end < start:
            raise PolicyError(f"row {i}: end_date {end} is before start_date {start}")
        out.append(
            {
                "jurisdiction": name,
                "scope": scope,
                "state_abbr": c.state_abbr if c else st,
                "county_fips": fips,
                "aor": c.aor if c else None,
                "resolution": how,
                "policy": r.get("policy") or None,
                "start_date": start,
                "end_date": end,
                "source": r.get("source") or None,
                "note": r.get("note") or None,
                "source_row": i,
            }
        )
    return out


def load_policies(
    path: str | os.PathLike[str],
    store: Store | str | os.PathLike[str] | None = None,
    *,
    db: str | os.PathLike[str] | None = None,
) -> LoadResult:
    """Load (or reload) a user policy table into ``jurisdiction_policies``."""
    p = Path(path)
    res = LoadResult(path=str(p), kind="policies")
    rows = read_policies(p)
    sha = file_sha256(p)
    with Store.borrow(store, db=db, read_only=False) as s:
        con = s.duckdb
        ensure_tables(con)
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(
                "DELETE FROM jurisdiction_policies WHERE sha256 = ? OR source_file = ?",
                [sha, p.name],
            )
            for r in rows:
                con.execute(
                    "INSERT INTO jurisdiction_policies VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    [
                        r["jurisdiction"],
                        r["scope"],
                        r["state_abbr"],
                        r["county_fips"],
                        r["aor"],
                        r["resolution"],
                        r["policy"],
                        r["start_date"],
                        r["end_date"],
                        r["source"],
                        r["note"],
                        p.name,
                        r["source_row"],
                        sha,
                    ],
                )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    res.status = "loaded"
    res.rows_read = res.rows_loaded = len(rows)
    res.resolved_county = sum(1 for r in rows if r["county_fips"])
    return res


def g287_counts(
    store: Store | str | os.PathLike[str] | None = None,
    *,
    db: str | os.PathLike[str] | None = None,
    on: str | date | None = None,
    status: str = "participating",
) -> dict[str, dict[str, int]]:
    """Per state: distinct agencies and agreements (agency x support model) on the 287(g)
    list in force on ``on`` (the latest list dated on or before it; default the latest
    list). Agencies are told apart by name as listed (``g287.agency_key``)."""
    when = date.fromisoformat(on) if isinstance(on, str) else on
    with Store.borrow(store, db=db) as s:
        if not s.has_table("jurisdictions"):
            return {}
        t = s.table("jurisdictions")
        t = t.filter(t.status == status)
        dates = sorted(
            r["as_of"] for r in s.rows(t.filter(t.as_of.notnull()).select("as_of").distinct())
        )
        if when is not None:
            dates = [d for d in dates if d <= when]
        if not dates:
            return {}
        listed = t.filter(t.as_of == dates[-1])
        listed = listed.mutate(st=listed.state_abbr.fill_null(listed.state_raw).fill_null("?"))
        rows = s.rows(
            listed.group_by("st")
            .aggregate(agencies=listed.agency_key.nunique(), agreements=listed.count())
            .order_by("st")
        )
    return {
        r["st"]: {"agencies": int(r["agencies"]), "agreements": int(r["agreements"])} for r in rows
    }
