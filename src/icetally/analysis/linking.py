"""Linking a person's records inside one release: stays, episodes and outcomes.

The Deportation Data Project's releases carry an anonymized identifier
(``person_id``) that links one person's arrests, detainers, encounters, detention
stints and removals **within that release**; each release re-anonymizes it, so the
same identifier in two releases is not the same person. This module groups the
store's releases into *linked releases* and builds, from one of them, as Ibis
expressions (the same on DuckDB and Spark):

- ``stays``: detention stints merged into stays (a transfer is not a new stay);
- ``departures``: every recorded departure of a person (removals table, and the
  departed date the arrest, detention and detainer records carry);
- ``episodes``: an arrest (arrests of one person a day apart collapse into one), the
  stay that follows it, the departure after it, the detainers lodged before it and
  its outcome: ``removed``, ``released``, ``detained`` or ``no_detention``.

The rules, their windows and their failure modes are in docs/methods.md
("Pathways"). Nothing here reads a raw column.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import PurePath
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from icetally.store.handle import Store
from icetally.vocabulary import QueryError

# Each materialized step's wall seconds, at DEBUG (benchmarks/bench_pathways.py reads
# them into its JSON): where a large release's time goes.
log = logging.getLogger("icetally.linking")

__all__ = [
    "ARREST_COLUMNS",
    "COLLAPSE_DAYS",
    "EPISODE_COLUMNS",
    "LINKED_DATASETS",
    "OUTCOMES",
    "STAY_COLUMNS",
    "STAY_WINDOW_DAYS",
    "TRANSFER_GAP_DAYS",
    "LinkedRelease",
    "LinkingError",
    "columns_read",
    "departures_expr",
    "episode_rows",
    "episodes_expr",
    "linked",
    "linked_releases",
    "resolve_linked_release",
    "stay_rows",
    "stays_expr",
]

# The person-level tables a release links.
LINKED_DATASETS = ("arrests", "detention_stints", "removals", "detainers", "encounters")
# A stint that books in no later than this many days after the stay's last book-out
# continues the stay (a transfer books out of one facility and in at the next, the
# same day or, overnight, the next).
TRANSFER_GAP_DAYS = 1
# Arrest records of one person this many days apart or less are one arrest (the same
# event recorded twice; dates carry no reliable time, so "within 24 hours" is "the
# same or the next day").
COLLAPSE_DAYS = 1
# A stay follows an arrest when it books in on the arrest's day or up to this many
# days after.
STAY_WINDOW_DAYS = 7
OUTCOMES = ("removed", "released", "detained", "no_detention")
# Where departures are recorded, in the order their country is preferred: the
# removals table, then the departed date every other table carries for the case.
DEPARTURE_SOURCES = ("removals", "detention_stints", "arrests", "detainers", "encounters")
# Release reasons that mean the stay ended in a removal (upper-cased, substring).
REMOVAL_REASONS = ("REMOV", "DEPORT", "VOLUNTARY DEPARTURE", "VOLUNTARY RETURN", "EXCLU")
_OPEN = date(9999, 12, 31)  # an open stint's book-out, for the running maximum
_COUNTRY_CODES = 2**32  # more distinct departure countries than a release can hold

# The shapes callers rely on (icetally.stays / icetally.episodes return these keys).
STAY_COLUMNS = (
    "person_id",
    "stay",  # 1, 2, ... per person, in book-in order
    "book_in",
    "book_out",  # None while open at the extract date
    "open",
    "days_detained",  # to book_out, or to the extract date when open
    "release_reason",  # the last stint's (None while open)
    "stints",
    "first_facility",
    "last_facility",
    "departed_date",  # the last stint's departed date, as released
    "departure_country",
)
EPISODE_COLUMNS = (
    "person_id",
    "episode",  # 1, 2, ... per person, in arrest order
    "arrest_date",
    "arrest_records",  # arrest records collapsed into this episode
    "collapsed",  # arrest_records > 1
    "event_date",  # = arrest_date (so the vocabulary's filters apply)
    "aor",
    "state",
    "state_abbr",
    "county",
    "county_fips",
    "citizenship",
    "country_iso3",
    "continent",
    "method",
    "method_class",
    "criminality",
    "fiscal_year",
    "administration",
    "program",
    "release_id",
    "source_row",
    "stay",  # the stay that follows (None: no stay within the window)
    "book_in",
    "book_out",
    "stay_open",
    "days_detained",
    "release_reason",
    "departed_date",  # the first departure after the arrest (before the next one)
    "departure_country",
    "days_to_removal",
    "detainers_before",  # detainers lodged after the previous arrest, up to this one
    "outcome",
)
# The arrest's own columns an episode carries (from its first record); the release
# and the source row it always carries (they are the episode's own).
ARREST_COLUMNS = EPISODE_COLUMNS[6:22]
_OWN = ("release_id", "source_row")


class LinkingError(QueryError):
    """Linking asked across releases, or of a store without linked records; the
    message says why."""


@dataclass(frozen=True)
class LinkedRelease:
    """Releases whose identifiers link: the tables of one Deportation Data Project
    release (one folder of files, or one pre-joined file)."""

    id: str
    label: str
    release_ids: dict[str, list[str]]  # dataset -> release ids
    extract_date: date | None
    extract_date_source: str  # "stated coverage" or "latest date in the release"
    notes: list[str] = field(default_factory=list)

    @property
    def all_release_ids(self) -> list[str]:
        return sorted(r for ids in self.release_ids.values() for r in ids)

    def has(self, dataset: str) -> bool:
        return bool(self.release_ids.get(dataset))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "releases": {k: sorted(v) for k, v in self.release_ids.items()},
            "extract_date": self.extract_date.isoformat() if self.extract_date else None,
            "extract_date_source": self.extract_date_source,
        }


def _group_key(release: dict[str, Any]) -> tuple[str, str]:
    """(key, label) of the linked release a file belongs to: the one a reader stated
    (a pre-joined file), else the folder it was ingested from."""
    meta = release.get("metadata") or {}
    stated = meta.get("linked_release") if isinstance(meta, dict) else None
    if stated:
        return str(stated), str(release.get("file_name") or stated)
    folder = str(PurePath(str(release.get("path") or release.get("file_name") or "")).parent)
    return "folder:" + folder, folder


def _with_person_ids(s: Store) -> dict[str, dict[str, tuple[Any, Any, Any]]]:
    """dataset -> release id -> (first event, last event, last date of any kind) of
    releases whose records carry a person identifier: one query over every table."""

    def compute() -> dict[str, dict[str, tuple[Any, Any, Any]]]:
        parts = []
        for ds in LINKED_DATASETS:
            if not any(r.get("dataset") == ds for r in s.releases()):
                continue
            t = s.table(ds)
            t = t.filter(t.person_id.notnull())
            parts.append(
                t.group_by(t.release_id).aggregate(
                    dataset=ibis.literal(ds),
                    lo=t.event_date.min(),
                    hi=t.event_date.max(),
                    departed=t.departed_date.max(),
                    book_out=t.book_out_date.max(),
                )
            )
        out: dict[str, dict[str, tuple[Any, Any, Any]]] = {}
        if not parts:
            return out
        q = parts[0]
        for p in parts[1:]:
            q = q.union(p, distinct=False)
        for r in s.rows(q):
            days = [_as_date(r[k]) for k in ("hi", "departed", "book_out")]
            latest = max((d for d in days if d is not None), default=None)
            out.setdefault(r["dataset"], {})[r["release_id"]] = (
                _as_date(r["lo"]),
                _as_date(r["hi"]),
                latest,
            )
        return out

    return s.cached(("linking", "with_person_ids"), compute)


def _as_date(v: Any) -> date | None:
    if v is None or (isinstance(v, date) and not hasattr(v, "hour")):
        return v
    return v.date() if hasattr(v, "date") else v


def linked_releases(s: Store) -> list[LinkedRelease]:
    """The store's linked releases, latest extract date first."""

    def compute() -> list[LinkedRelease]:
        spans = _with_person_ids(s)
        by_id = {r["release_id"]: r for r in s.releases()}
        groups: dict[str, dict[str, Any]] = {}
        for ds, rels in spans.items():
            for rid, (lo, hi, _) in rels.items():
                key, label = _group_key(by_id.get(rid, {"release_id": rid}))
                g = groups.setdefault(key, {"label": label, "ids": {}, "spans": []})
                g["ids"].setdefault(ds, []).append(rid)
                g["spans"].append((ds, rid, lo, hi))
        out = []
        for key, g in groups.items():
            stated = [by_id[r].get("coverage_end") for ids in g["ids"].values() for r in ids]
            stated = [date.fromisoformat(d) for d in stated if d]
            if stated:
                extract, source = max(stated), "stated coverage"
            else:
                extract = max(
                    (
                        spans[ds][r][2]
                        for ds, ids in g["ids"].items()
                        for r in ids
                        if spans[ds][r][2]
                    ),
                    default=None,
                )
                source = "latest date in the release"
            lid = "L" + hashlib.sha1(key.encode()).hexdigest()[:10]
            out.append(
                LinkedRelease(
                    id=lid,
                    label=g["label"],
                    release_ids={k: sorted(v) for k, v in g["ids"].items()},
                    extract_date=extract,
                    extract_date_source=source,
                    notes=_overlaps(g["spans"]),
                )
            )
        return sorted(out, key=lambda r: (r.extract_date or date.min, r.id), reverse=True)

    return s.cached(("linking", "linked_releases"), compute)


def _overlaps(spans: list[tuple[str, str, Any, Any]]) -> list[str]:
    """Two tables of one dataset covering the same days in one linked release are two
    releases put in one folder (or one release ingested twice): refuse to guess."""
    out = []
    ordered = sorted(spans, key=lambda x: (x[0], x[2] or date.min))
    for (ds_a, ra, _, ahi), (ds_b, rb, blo, _) in zip(ordered, ordered[1:], strict=False):
        if ds_a == ds_b and ahi and blo and blo <= ahi:
            out.append(
                f"{ds_a}: releases {ra} and {rb} cover the same days; two releases in one "
                "folder cannot be linked (identifiers are re-anonymized in each release): "
                "ingest each release from its own folder"
            )
    return out


def resolve_linked_release(s: Store, release: list[str] | str | None = None) -> LinkedRelease:
    """The one linked release a question is about. ``release``: release ids (as
    ``icetally releases`` lists them) or a linked release's id; none: the latest.
    Ids from two linked releases are refused: identifiers do not link across them."""
    found = linked_releases(s)
    if not found:
        raise LinkingError(
            "no linked records in this store: pathways need a Deportation Data Project "
            "release whose tables carry its anonymized identifier (unique_identifier)"
        )
    wanted = [release] if isinstance(release, str) else list(release or [])
    wanted = [w.strip() for item in wanted for w in str(item).split(",") if w.strip()]
    if not wanted:
        chosen = found[0]
    else:
        hit: dict[str, LinkedRelease] = {}
        for w in wanted:
            owners = [lr for lr in found if w == lr.id or w in lr.all_release_ids]
            if not owners:
                raise LinkingError(
                    f"release {w!r} holds no linked records (see `icetally releases`; linked "
                    f"releases: {', '.join(lr.id for lr in found)})"
                )
            hit[w] = owners[0]
        distinct = {lr.id: lr for lr in hit.values()}
        if len(distinct) > 1:
            named = "; ".join(f"{lr.id} ({lr.label}): {w}" for w, lr in hit.items())
            raise LinkingError(
                "cannot link across releases: each release re-anonymizes its identifiers, "
                "so the same identifier in two releases is not the same person "
                f"({named}); ask for one release at a time"
            )
        chosen = next(iter(distinct.values()))
    if chosen.notes:
        raise LinkingError(chosen.notes[0])
    return chosen


# ---------------------------------------------------------------------- expressions


def _records(
    s: Store, lr: LinkedRelease, dataset: str, columns: tuple[str, ...], *, key: bool = True
) -> Any:
    """The linked release's records of one dataset with a person identifier: the
    identifier, source row, release as a number (``_rel``), ``columns`` and, with
    ``key``, the person key (``_pk``). Columns are chosen before the filter, so two
    readings of one table with different columns in one query are two scans, not one
    shared subquery (DuckDB would materialize it, every column of every row)."""
    t = s.table(dataset)
    keep = dict.fromkeys(("person_id", "release_id", "source_row", *columns))
    t = t.select(*[c for c in keep if c in t.columns])
    t = t.filter(t.release_id.isin(lr.release_ids[dataset]), t.person_id.notnull())
    # a record is (source_row, _rel), and sorts and joins on it carry no text
    ids = _numbered_releases(lr, dataset)
    rel = (
        ibis.cases(*((t.release_id == rid, i) for i, rid in enumerate(ids)))
        if len(ids) > 1
        else ibis.literal(0)
    )
    t = t.mutate(_rel=rel.cast("int64"))
    return t.mutate(_pk=_person_key(s, t.person_id)) if key else t


def _numbered_releases(lr: LinkedRelease, dataset: str) -> list[str]:
    """A dataset's release ids in the order that numbers them: a record's ``_rel`` is
    its release's place here."""
    return sorted(lr.release_ids[dataset])


@ibis.udf.scalar.builtin(name="md5_number")
def _md5_number(value: str) -> dt.uint64:  # DuckDB's is a UHUGEINT: shifted before use
    ...


def _person_key(s: Store, person_id: Any) -> Any:
    """What a person's records are grouped, sorted and joined by. On DuckDB the
    identifier's MD5 as a number (126 of its 128 bits, a DECIMAL(38,0)): a fixed-width
    key sorts three times as fast as the identifier's text, and two identifiers
    share it only if their MD5s agree in 126 bits (docs/methods.md, "Person key").
    Elsewhere the identifier itself."""
    if not s.is_duckdb:
        return person_id
    # a shift, not a division: dividing a UHUGEINT is 30 times slower than the MD5
    return (_md5_number(person_id) >> 2).cast("decimal(38,0)")


def _days(later: Any, earlier: Any) -> Any:
    return later.delta(earlier, unit="day").cast("int64")


def _record_key(source_row: Any, rel: Any, releases: int) -> Any:
    """A record as one number: its source row and its release (one row per both)."""
    return (source_row * releases + rel).cast("int64")


_DAY = ibis.date(1, 1, 1)  # day numbers count from here, offset by 2**31: never below 0


def _last_stint_key(out: Any, book_in: Any, source_row: Any, rel: Any, releases: int) -> Any:
    """(book-out, book-in, source row, release) as one DECIMAL(38,0) that orders as
    the tuple does: 32 bits a day number (any date), 62 bits the row and release."""
    big = "decimal(38,0)"

    def day(d: Any) -> Any:
        return (_days(d, _DAY) + 2**31).cast(big)

    row = _record_key(source_row, rel, releases).cast(big)
    return day(out) * ibis.literal(2**94, big) + day(book_in) * ibis.literal(2**62, big) + row


# The stay columns episodes and match rates read (``linked`` keeps only these: the
# last stint's facility and departure, text carried through a join, are for stay_rows).
_STAYS_LINKED = ("_pk", "stay", "book_in", "book_out", "open", "days_detained", "release_reason")


def stays_expr(s: Store, lr: LinkedRelease, columns: tuple[str, ...] | None = None) -> Any:
    """One row per stay (columns: STAY_COLUMNS but ``first_facility``, which
    ``stay_rows`` adds: one sort fewer over every stint; ``columns``: only these), or
    None if the release has no detention stints."""
    if not lr.has("detention_stints"):
        return None
    full = _records(s, lr, "detention_stints", ("event_date", "book_out_date"))
    full = full.filter(full.event_date.notnull())
    # the windows sort only the keys (a window sorts every column it carries: the
    # stints' text columns made each sort several times slower); the last stint's
    # other columns are joined back by its row (source row and release)
    t = full.select(
        "_pk",
        "event_date",
        "source_row",
        "_rel",
        _out=full.book_out_date.fill_null(ibis.date(_OPEN)),
    )
    # gaps and islands in two passes over one sort order: the latest book-out of the
    # stints before (a running maximum, not the previous stint's: a long stint can
    # cover shorter ones booked in after it), then a running count of new stays
    order = ["event_date", "_out", "source_row", "_rel"]
    before = ibis.window(group_by="_pk", order_by=order, rows=(None, -1))
    whole = ibis.window(group_by="_pk", order_by=order, rows=(None, None))
    t = t.mutate(_prev=t._out.max().over(before), _n=t.event_date.count().over(whole))
    new = t._prev.isnull() | (
        t.event_date > t._prev + ibis.interval(days=TRANSFER_GAP_DAYS)
    ).fill_null(True)
    t = t.mutate(_new=new.cast("int64"))
    # the running count sorts the stints of people with more than one only (a
    # person's only stint is stay 1)
    running = ibis.window(group_by="_pk", order_by=order, rows=(None, 0))
    single = t.filter(t._n == 1).mutate(stay=ibis.literal(1, "int64"))
    several = t.filter(t._n > 1)
    several = several.mutate(stay=several._new.sum().over(running).cast("int64"))
    t = single.union(several.select(*single.columns), distinct=False)
    # the stay's last stint (latest book-out, then book-in, then source row, then
    # release: one row) by one grouped maximum of one number that orders stints so
    # (a struct compared field by field gave the same, at four times the grouping's
    # cost); its other columns are joined back on the same number
    releases = len(lr.release_ids["detention_stints"])
    g = t.group_by(["_pk", "stay"]).aggregate(
        _book_in=t.event_date.min(),
        _reach_max=t._out.max(),
        stints=t.event_date.count().cast("int64"),
        _last=_last_stint_key(t._out, t.event_date, t.source_row, t._rel, releases).max(),
    )
    wanted = STAY_COLUMNS if columns is None else columns
    # the last stint's columns joined back (text: only those asked for)
    last = {"person_id": "person_id", "last_facility": "facility"}
    last |= {"release_reason": "release_reason"}
    last |= {"departed_date": "departed_date", "departure_country": "departure_country"}
    read = tuple(src for out, src in last.items() if out in wanted)
    full = _records(s, lr, "detention_stints", ("event_date", "book_out_date", *read), key=False)
    full = full.filter(full.event_date.notnull())
    f = full.select(
        _fkey=_last_stint_key(
            full.book_out_date.fill_null(ibis.date(_OPEN)),
            full.event_date,
            full.source_row,
            full._rel,
            releases,
        ),
        **{out: full[src] for out, src in last.items() if out in wanted},
    )
    t = g.join(f, g._last == f._fkey)
    is_open = t._reach_max == ibis.date(_OPEN)
    book_out = ibis.ifelse(is_open, ibis.null("date"), t._reach_max)
    end = book_out.fill_null(ibis.date(lr.extract_date or _OPEN))
    out = {
        "_pk": lambda: t._pk,
        "person_id": lambda: t.person_id,
        "stay": lambda: t.stay,
        "book_in": lambda: t._book_in,
        "book_out": lambda: book_out,
        "open": lambda: is_open,
        "days_detained": lambda: _days(end, t._book_in),
        "release_reason": lambda: ibis.ifelse(is_open, ibis.null("string"), t.release_reason),
        "stints": lambda: t.stints,
        "last_facility": lambda: t.last_facility,
        "departed_date": lambda: t.departed_date,
        "departure_country": lambda: t.departure_country,
    }
    return t.select(**{c: out[c]() for c in ("_pk", *STAY_COLUMNS) if c in wanted and c in out})


def departures_expr(s: Store, lr: LinkedRelease, person: str = "person_id") -> Any:
    """Every recorded departure: one row per person and departure day, with the
    country (the first source of DEPARTURE_SOURCES that names one), or None if the
    release records none. ``person``: the person's column, ``person_id`` or the
    person key ``_pk`` (what ``linked`` joins on)."""
    parts = []
    for rank, ds in enumerate(DEPARTURE_SOURCES):
        if not lr.has(ds):
            continue
        day_column = "event_date" if ds == "removals" else "departed_date"
        t = _records(s, lr, ds, (day_column, "departure_country"), key=person == "_pk")
        day = t[day_column]
        t = t.filter(day.notnull())
        parts.append(
            t.select(
                **{person: t[person]},
                departed_date=day,
                departure_country=t.departure_country,
                from_removals=ibis.literal(ds == "removals"),
                _rank=ibis.literal(rank),
            )
        )
    if not parts:
        return None
    u = parts[0]
    for p in parts[1:]:
        u = u.union(p, distinct=False)
    # one grouped pass, not a ranked window: per source, its smallest country; the
    # first source that names one wins. Countries go through the grouping as numbers
    # (their position in the sorted list of the release's countries): a text
    # minimum per source and group made this pass 20 times slower at 10 million
    # people than at one million
    # (the countries are read on their own, not from the union: a second reader of
    # the union would have it materialized, every departure of every source)
    named = None
    for ds in DEPARTURE_SOURCES:
        if lr.has(ds):
            t = s.table(ds)
            t = t.filter(t.release_id.isin(lr.release_ids[ds]), t.departure_country.notnull())
            t = t.select(_country=t.departure_country).distinct()
            named = t if named is None else named.union(t, distinct=True)
    countries = named.mutate(
        _code=ibis.row_number().over(ibis.window(order_by=named._country)).cast("int64")
    )
    coded = u.left_join(countries, u.departure_country == countries._country)
    g = coded.group_by([person, "departed_date"]).aggregate(
        _removals=coded.from_removals.cast("int64").max(),
        # the first source naming a country, then its smallest: one number
        _pick=(coded._rank.cast("int64") * _COUNTRY_CODES + coded._code).min(),
    )
    g = g.left_join(countries, g._pick % _COUNTRY_CODES == countries._code)
    return g.select(
        **{person: g[person]},
        departed_date=g.departed_date,
        departure_country=g._country,
        in_removals=g._removals == 1,
    )


def _removal_reason(reason: Any) -> Any:
    up = reason.upper()
    hit = None
    for word in REMOVAL_REASONS:
        cond = up.contains(word)
        hit = cond if hit is None else (hit | cond)
    return hit.fill_null(False)


def _same(expr: Any, name: str) -> Any:
    return expr


def episodes_expr(
    s: Store,
    lr: LinkedRelease,
    *,
    keep: Callable[[Any, str], Any] = _same,
    stays: Any = None,
    departures: Any = None,
    carry: tuple[str, ...] = ARREST_COLUMNS,
    person_ids: bool = True,
    finish: bool = True,
) -> Any:
    """One row per episode (columns: EPISODE_COLUMNS); see the module docstring.

    ``keep(expr, name)`` is called on each intermediate table (``linked`` passes one
    that materializes it, so no step's SQL repeats another's); ``stays`` and
    ``departures``: the tables, when already built; ``carry``: the arrest columns
    (of ARREST_COLUMNS) the episodes carry, the others left out; ``person_ids``:
    whether they carry the identifier's text (the person key ``_pk`` they always
    carry); ``finish``: False gives the columns ``finish_episodes`` derives the rest
    from (``linked`` materializes those only)."""
    if not lr.has("arrests"):
        raise LinkingError(
            f"linked release {lr.id} ({lr.label}) has no arrests with identifiers: "
            "episodes start at an arrest"
        )
    full = _records(s, lr, "arrests", ("event_date",))
    full = full.filter(full.event_date.notnull())
    releases = len(lr.release_ids["arrests"])
    # the windows sort only the keys; the episode's arrest columns are joined back by
    # its first record's row (source row and release)
    a = full.select("_pk", "event_date", "source_row", "_rel")
    # one sort of the arrests: a record more than COLLAPSE_DAYS after the person's
    # previous one starts an episode; its position and the person's record count
    # give each episode's record count without another pass over every record
    order = ["event_date", "source_row", "_rel"]
    w = ibis.window(group_by="_pk", order_by=order)
    whole = ibis.window(group_by="_pk", order_by=order, rows=(None, None))
    a = a.mutate(
        _prev=a.event_date.lag().over(w),
        _pos=ibis.row_number().over(w),
        _records=a.event_date.count().over(whole),
    )
    e = a.filter(a._prev.isnull() | (_days(a.event_date, a._prev) > COLLAPSE_DAYS))
    # the second sort is over the episodes' first records of people with more than
    # one arrest record only: a person's only record is episode 1 with none before or
    # after it (most people are arrested once: 98% of them in the synthetic release)
    nxt = ibis.window(group_by="_pk", order_by=order)
    once = e._records == 1
    single = e.filter(once).mutate(
        episode=ibis.literal(1, "int64"),
        _next_pos=ibis.null("int64"),
        _next=ibis.null("date"),
        _before=ibis.null("date"),
    )
    several = e.filter(~once)
    several = several.mutate(
        episode=(ibis.row_number().over(nxt) + 1).cast("int64"),
        _next_pos=several._pos.lead().over(nxt).cast("int64"),
        _next=several.event_date.lead().over(nxt),
        _before=several.event_date.lag().over(nxt),
    )
    e = single.union(several.select(*single.columns), distinct=False)
    e = e.mutate(
        arrest_records=(e._next_pos.fill_null(e._records) - e._pos).cast("int64"),
    )
    e = e.select(
        "_pk",
        "episode",
        "arrest_records",
        "_next",
        "_before",
        "_rel",
        _row=e.source_row,
        # the episode as one number (its first record: source row and release), so
        # the steps after join on a number rather than on person and episode
        _eid=_record_key(e.source_row, e._rel, releases),
        arrest_date=e.event_date,
    )
    e = keep(e, "arrest_episodes")

    # the stay: book-in within the window after the arrest; a stay goes to its
    # nearest earlier arrest, an arrest gets its first such stay
    if stays is None:
        stays = stays_expr(s, lr, _STAYS_LINKED)
    if stays is not None:
        st = stays.select(
            _sp=stays._pk,
            stay=stays.stay,
            book_in=stays.book_in,
            book_out=stays.book_out,
            stay_open=stays.open,
            days_detained=stays.days_detained,
            release_reason=stays.release_reason,
        )
        ev = e.select(_ep=e._pk, _eno=e.episode, _ad=e.arrest_date)
        pairs = ev.join(
            st,
            [
                ev._ep == st._sp,
                st.book_in >= ev._ad,
                st.book_in <= ev._ad + ibis.interval(days=STAY_WINDOW_DAYS),
            ],
        )
        # grouped minima and maxima, not ranked windows: episodes are numbered in
        # arrest order (their dates are days apart) and stays in book-in order
        nearest = pairs.group_by(["_sp", "stay"]).aggregate(_eno=pairs._eno.max())
        first = nearest.group_by(["_sp", "_eno"]).aggregate(_st=nearest.stay.min())
        pairs = first.join(st, [first._sp == st._sp, first._st == st.stay]).select(
            _ep=first._sp, _eno=first._eno, **{c: st[c] for c in st.columns if c != "_sp"}
        )
        pairs = keep(pairs, "episode_stays")
        e = e.left_join(pairs, [e._pk == pairs._ep, e.episode == pairs._eno]).drop("_ep", "_eno")
    else:
        e = e.mutate(
            stay=ibis.null("int64"),
            book_in=ibis.null("date"),
            book_out=ibis.null("date"),
            stay_open=ibis.null("boolean"),
            days_detained=ibis.null("int64"),
            release_reason=ibis.null("string"),
        )

    # the departure: the first on or after the arrest and before the next arrest
    deps = departures if departures is not None else departures_expr(s, lr, "_pk")
    if deps is not None:
        d = deps.select(_dp=deps._pk, _dd=deps.departed_date, _dc=deps.departure_country)
        k = e.select(_kp=e._pk, _ke=e._eid, _ka=e.arrest_date, _kn=e._next)
        j = k.join(
            d,
            [
                k._kp == d._dp,
                d._dd >= k._ka,
                k._kn.isnull() | (d._dd < k._kn),
            ],
        )
        # the first departure's day and its country (one departure per person and day:
        # the day picks one)
        j = j.group_by("_ke").aggregate(
            departed_date=j._dd.min(), departure_country=j._dc.argmin(j._dd)
        )
        j = keep(j, "episode_departures")
        e = e.left_join(j, e._eid == j._ke).drop("_ke")
    else:
        e = e.mutate(departed_date=ibis.null("date"), departure_country=ibis.null("string"))

    # detainers lodged after the previous arrest, up to this one
    if lr.has("detainers"):
        lodged = _records(s, lr, "detainers", ("event_date",))
        lodged = lodged.filter(lodged.event_date.notnull())
        lodged = lodged.select(_tp=lodged._pk, _td=lodged.event_date)
        k = e.select(_kp=e._pk, _ke=e._eid, _ka=e.arrest_date, _kb=e._before)
        j = k.join(
            lodged,
            [k._kp == lodged._tp, lodged._td <= k._ka, k._kb.isnull() | (lodged._td > k._kb)],
        )
        j = j.group_by("_ke").aggregate(detainers_before=j._td.count().cast("int64"))
        j = keep(j, "episode_detainers")
        e = e.left_join(j, e._eid == j._ke).drop("_ke")
        e = e.mutate(detainers_before=e.detainers_before.fill_null(0))
    else:
        e = e.mutate(detainers_before=ibis.literal(0, "int64"))

    # the arrest's columns, from its first record, joined once at the end (only those
    # asked for: a wide join of every arrest is most of this step's time); the
    # release and the source row are the episode's own
    unknown = [c for c in carry if c not in ARREST_COLUMNS]
    if unknown:
        raise LinkingError(f"episodes carry only arrest columns ({unknown} are not)")
    joined = ["person_id"] if person_ids else []
    joined += [c for c in carry if c not in _OWN]
    if joined:
        full = _records(s, lr, "arrests", ("event_date", *joined), key=False)
        full = full.filter(full.event_date.notnull())
        f = full.select(*joined, _feid=_record_key(full.source_row, full._rel, releases))
        e = e.join(f, e._eid == f._feid)
    e = e.select(
        "_pk",
        *joined,
        "episode",
        "arrest_date",
        "arrest_records",
        "_rel",
        "_row",
        *_EPISODE_OWN,
    )
    return finish_episodes(e, lr) if finish else e


# The episode's own columns ``finish_episodes`` reads, besides the arrest's.
_EPISODE_OWN = (
    "stay",
    "book_in",
    "book_out",
    "stay_open",
    "days_detained",
    "release_reason",
    "departed_date",
    "departure_country",
    "detainers_before",
)


def finish_episodes(e: Any, lr: LinkedRelease) -> Any:
    """The episodes' columns (EPISODE_COLUMNS, those ``e`` carries, and the person key
    ``_pk``) from what ``episodes_expr(finish=False)`` gives: the outcome, days to
    removal and the arrest's release and row are computed, not stored (each is a
    cheap expression over the stored columns)."""
    ids = _numbered_releases(lr, "arrests")
    e = e.mutate(
        event_date=e.arrest_date,
        source_row=e._row,
        release_id=ibis.cases(*((e._rel == i, rid) for i, rid in enumerate(ids)))
        if len(ids) > 1
        else ibis.literal(ids[0]),
    )
    removed_stay = _removal_reason(e.release_reason) & e.stay.notnull()
    removed = e.departed_date.notnull() | removed_stay
    outcome = ibis.cases(
        (removed, "removed"),
        (e.stay.isnull(), "no_detention"),
        (e.stay_open, "detained"),
        else_="released",
    )
    removal_day = e.departed_date.fill_null(
        ibis.ifelse(removed_stay, e.book_out, ibis.null("date"))
    )
    e = e.mutate(
        outcome=outcome,
        collapsed=e.arrest_records > 1,
        days_to_removal=ibis.ifelse(removed, _days(removal_day, e.arrest_date), ibis.null("int64")),
    )
    return e.select(*[c for c in EPISODE_COLUMNS if c in e.columns], "_pk")


def columns_read(s: Store, lr: LinkedRelease, *uses: Callable[[Any], Any]) -> tuple[str, ...]:
    """The arrest columns (of ARREST_COLUMNS) that ``uses`` read: each is called on
    an unbound table with the episodes' schema (a filter, a dimension, a predicate)
    and the columns its expression references are collected, so ``linked`` carries
    just those and no question can ask for a column left out."""
    import ibis.expr.operations as ops

    t = ibis.table(episodes_expr(s, lr).schema(), name="episodes")
    read: set[str] = set()
    for use in uses:
        expr = use(t)
        read |= {f.name for f in expr.op().find(ops.Field) if f.rel == t.op()}
    return tuple(c for c in ARREST_COLUMNS if c in read)


def stay_rows(s: Store, release: list[str] | str | None = None) -> list[dict[str, Any]]:
    """A linked release's stays as dicts (STAY_COLUMNS plus ``facilities``: the
    stints' facilities in book-in order, a facility repeated only when left and
    re-entered)."""
    lr = resolve_linked_release(s, release)
    expr = stays_expr(s, lr)
    if expr is None:
        return []
    rows = s.rows(expr.order_by(["person_id", "stay"]))
    t = _records(s, lr, "detention_stints", ("event_date", "book_out_date", "facility"), key=False)
    t = t.filter(t.event_date.notnull())
    stints = s.rows(
        t.select("person_id", "event_date", "book_out_date", "source_row", "release_id", "facility")
    )
    by_person: dict[str, list[dict[str, Any]]] = {}
    # the stays' own order: book-in, book-out (open last), source row, release
    for st in sorted(
        stints,
        key=lambda x: (
            x["event_date"],
            x["book_out_date"] or _OPEN,
            x["source_row"],
            x["release_id"],
        ),
    ):
        by_person.setdefault(st["person_id"], []).append(st)
    for r in rows:
        end = r["book_out"] or date.max
        inside = [
            st
            for st in by_person.get(r["person_id"], [])
            if r["book_in"] <= st["event_date"] <= end
        ]
        names: list[str] = []
        for st in inside:
            if st["facility"] and (not names or names[-1] != st["facility"]):
                names.append(st["facility"])
        r["first_facility"] = inside[0]["facility"] if inside else None
        r["facilities"] = names
    return [{k: r.get(k) for k in (*STAY_COLUMNS, "facilities")} for r in rows]


def episode_rows(s: Store, **filters: Any) -> list[dict[str, Any]]:
    """A linked release's episodes in a slice (``release`` picks the linked release;
    the other filters are the vocabulary's, applied to the episode's arrest)."""
    from icetally.query.filters import Slice

    release = filters.pop("release", None)
    slc = Slice.build("arrests", **filters)
    lr = resolve_linked_release(s, release)
    with linked(s, lr) as tables:
        e = slc.apply(tables.episodes)
        return s.rows(e.select(*EPISODE_COLUMNS).order_by(["person_id", "episode"]))


@dataclass
class Linked:
    """One linked release's tables, materialized for the duration of a question:
    ``stays`` (None without stints; the columns episodes and match rates read, with
    the person key ``_pk``), ``departures`` (None without any; by ``_pk``),
    ``episodes`` (the arrest columns ``linked`` was asked to carry); ``sql``: the SQL
    of each step, each reading the steps before it by name."""

    release: LinkedRelease
    stays: Any
    departures: Any
    episodes: Any
    sql: dict[str, str]
    temps: dict[str, str] = field(default_factory=dict)  # step -> its temporary table


_KEPT = ("stays", "departures", "episodes")  # the steps a question reads


@contextmanager
def linked(
    s: Store,
    lr: LinkedRelease,
    carry: tuple[str, ...] = ARREST_COLUMNS,
    *,
    person_ids: bool = True,
) -> Iterator[Linked]:
    """Build the linked tables once as temporary tables (a DuckDB temp table; on
    other backends Ibis's ``cache``) and drop them afterwards. Without this, every
    query over episodes would repeat the whole chain of joins and windows.
    ``carry``: the arrest columns the episodes need (``columns_read`` finds them);
    ``person_ids``: whether they carry the identifier's text (figures count people
    by the person key); the stays keep the columns episodes and match rates read.
    The episodes' derived columns (outcome, days to removal, ...) are computed over
    the stored ones by each query (``finish_episodes``)."""
    held: list[tuple[str, Any, str | None]] = []
    sql: dict[str, str] = {}
    tag = uuid.uuid4().hex[:8]

    def keep(expr: Any, name: str) -> Any:
        compiled = str(ibis.to_sql(expr))
        text = compiled
        for known, _, temp in held:  # readable names for the steps already built
            if temp:
                text = text.replace(temp, known)
        sql[name] = text
        started = time.perf_counter()
        if s.is_duckdb:
            temp = f"_linked_{tag}_{name}"
            s.duckdb.execute(f'CREATE TEMP TABLE "{temp}" AS {compiled}')
            table = s.ibis.table(temp)
        else:
            table = expr.cache()
            temp = table.get_name()
        log.debug("step %s %.3f", name, time.perf_counter() - started)
        held.append((name, table, temp))
        return table

    def drop(table: Any, temp: str | None) -> None:
        try:
            if s.is_duckdb:
                s.duckdb.execute(f'DROP TABLE IF EXISTS "{temp}"')
            else:
                table.release()
        except Exception:  # noqa: BLE001, S110 - cleanup must not mask the real error
            pass

    try:
        st = stays_expr(s, lr, _STAYS_LINKED)
        st = keep(st, "stays") if st is not None else None
        dep = departures_expr(s, lr, "_pk")
        dep = keep(dep, "departures") if dep is not None else None
        core = episodes_expr(
            s,
            lr,
            keep=keep,
            stays=st,
            departures=dep,
            carry=carry,
            person_ids=person_ids,
            finish=False,
        )
        eps = finish_episodes(keep(core, "episodes"), lr)
        if s.is_duckdb:
            # the episodes' intermediate steps are done with: free their memory now
            # (at 10 million arrests they push the tables in use out to disk). Spark
            # keeps its cached steps to the end: its cache fills lazily
            for _, table, temp in [h for h in held if h[0] not in _KEPT]:
                drop(table, temp)
            held[:] = [h for h in held if h[0] in _KEPT]
        temps = {name: temp for name, _, temp in held if temp}
        yield Linked(release=lr, stays=st, departures=dep, episodes=eps, sql=sql, temps=temps)
    finally:
        for _, table, temp in reversed(held):
            drop(table, temp)
