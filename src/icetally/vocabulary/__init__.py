"""icetally's vocabulary: every filter, dimension, metric and class, defined once.

A *filter* narrows a slice of a dataset (``--aor LOS``, ``aor=LOS``, ``aor: [LOS]``), a
*dimension* is something a count groups by (``--by aor,month``), a *metric* picks the
records a surge scan counts (``--metric at_large``), a *class* is a closed set of
canonical values (method classes, criminality classes, administrations).

Everything that speaks this vocabulary is generated from, or checked against, these
definitions: the CLI options (``icetally.vocabulary.cli``), the web API's query
parameters (``icetally.vocabulary.web``), the query layer's ``Slice`` (its fields, its
validation and its predicates), the prepared SQL's parameter slots, the claims file's
filter keys and the docs (tests/test_vocabulary.py, tests/test_docs.py).

    from icetally import vocabulary as V
    V.FILTERS["method_class"].allowed      # ('custodial', 'at_large', 'other')
    V.filter_names("slice")                # ('date_from', 'date_to', 'aor', ...)
    V.DIMENSIONS["month"].bucket           # 'M'
    V.METRICS["at_large"].method_class     # 'at_large'

This module imports nothing heavy (no Ibis, Typer or FastAPI): the readers, the web
server and the command line all import it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from icetally.errors import IcetallyError
from icetally.schema import DATASETS

__all__ = [
    "ADMINISTRATIONS",
    "AREAS",
    "DEFAULT_AREA",
    "Area",
    "parse_area",
    "ADMINISTRATION_STARTS",
    "CRIMINALITY",
    "DATASETS",
    "DIMENSIONS",
    "FILTERS",
    "METHOD_CLASSES",
    "METRICS",
    "TIME_BUCKETS",
    "Dimension",
    "Filter",
    "Metric",
    "QueryError",
    "as_date",
    "check_known",
    "dimension_names",
    "filter_names",
    "label_of",
    "parse_by",
    "parse_date",
    "split_values",
]


class QueryError(IcetallyError, ValueError):
    """A query parameter is not valid (a value outside the vocabulary, a malformed
    date...); the message says which and what is accepted."""


# --------------------------------------------------------------------------- classes

METHOD_CLASSES: tuple[str, ...] = ("custodial", "at_large", "other")
CRIMINALITY: tuple[str, ...] = ("convicted", "pending_charges", "immigration_violator", "unknown")
# Administrations by inauguration day (code, first day); normalization derives the
# ``administration`` column from these.
ADMINISTRATION_STARTS: tuple[tuple[str, str], ...] = (
    ("bush", "2001-01-20"),
    ("obama", "2009-01-20"),
    ("trump1", "2017-01-20"),
    ("biden", "2021-01-20"),
    ("trump2", "2025-01-20"),
)
ADMINISTRATIONS: tuple[str, ...] = tuple(code for code, _ in ADMINISTRATION_STARTS)


# --------------------------------------------------------------------------- values


def split_values(value: str | Iterable[Any] | None) -> list[str]:
    """'LOS, PHI' or ['LOS', 'PHI'] -> ['LOS', 'PHI'] (blanks dropped)."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    return [str(v).strip() for v in value if v is not None and str(v).strip()]


def parse_date(value: str | date | None, name: str) -> date | None:
    """An ISO date, or None for an empty value; ``name`` is how the user wrote it."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise QueryError(f"{name} must be an ISO date YYYY-MM-DD, got {value!r}") from exc


def as_date(value: Any) -> date | None:
    """A date from a query result (date, datetime, pandas Timestamp, ISO text)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if hasattr(value, "date"):  # pandas / numpy timestamps
        return value.date()
    return date.fromisoformat(str(value)[:10])


def _closed(noun: str, allowed: Sequence[str], fold: Callable[[str], str]) -> Callable[..., list]:
    def parse(values: list[str]) -> list[str]:
        out = [fold(v) for v in values]
        bad = [v for v in out if v not in allowed]
        if bad:
            raise QueryError(f"unknown {noun} {bad}; expected {', '.join(allowed)}")
        return out

    return parse


def _aor(values: list[str]) -> list[str]:
    from icetally import reference

    out = [a.upper() for a in values]
    bad = [a for a in out if a not in reference.AOR_CODES]
    if bad:
        raise QueryError(
            f"unknown AOR code(s) {bad}; expected codes such as {', '.join(reference.AOR_CODES)}"
        )
    return out


def _state(values: list[str]) -> list[str]:
    from icetally import reference

    out = []
    for st in values:
        abbr = reference.state_abbr(st)
        if abbr is None:
            raise QueryError(f"unknown state {st!r}; use a postal code (TX) or a name")
        out.append(abbr)
    return out


def _continent(values: list[str]) -> list[str]:
    from icetally import reference

    known = sorted({c.continent for c in reference.countries() if c.continent})
    out = [" ".join(v.split()).title() for v in values]
    bad = [v for v in out if v not in known]
    if bad:
        raise QueryError(f"unknown continent(s) {bad}; expected {', '.join(known)}")
    return out


def check_known(flt: Filter, values: Sequence[str], known: Iterable[str]) -> None:
    """Refuse values a filter cannot match because the store holds none like them
    (``--release`` ids, county names and FIPS codes): a typo would otherwise count 0
    in silence. The message lists the known values (the first 30)."""
    have = set(known)
    bad = [v for v in values if v not in have]
    if not bad:
        return
    shown = sorted(have)
    listing = ", ".join(shown[:30]) + (f" … ({len(shown):,} in all)" if len(shown) > 30 else "")
    raise QueryError(
        f"unknown {flt.label} {bad} for {flt.option}; the store holds "
        + (listing if shown else "none")
    )


def _fiscal_year(values: list[str]) -> list[int]:
    out = []
    for fy in values:
        text = str(fy).upper().removeprefix("FY")
        if not text.isdigit():
            raise QueryError(f"fiscal year must look like 2019 or FY2019, got {fy!r}")
        out.append(int(text))
    return out


def _as_given(values: list[str]) -> list[str]:
    return list(values)


# --------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class Filter:
    """One filter of a slice.

    ``name`` is the keyword everywhere in Python (``Slice`` field, ``icetally.count``
    keyword, claims-file key); ``option`` the CLI option; ``param`` the HTTP query
    parameter. ``column`` is the canonical column it tests and ``match`` how: ``in``
    (``column IN values``), ``upper_in`` (``upper(column) IN values``), ``citizenship``
    (as released or ISO3), ``county`` (FIPS or name), ``from``/``to`` (event-date
    bounds). ``kind`` is the type of its values in SQL (``str``, ``int`` or ``date``).
    """

    name: str
    column: str
    help: str
    label: str
    kind: str = "str"
    match: str = "in"
    allowed: tuple[str, ...] | None = None
    example: str | None = None
    option: str = ""
    param: str = ""
    in_claims: bool = True
    parse: Callable[[list[str]], list[Any]] = field(default=_as_given, repr=False, compare=False)
    # Values known only to the store (release ids, county names): the query layer
    # checks them against it (Slice.check_known) with ``check_known`` below.
    known_in_store: bool = False

    def __post_init__(self) -> None:
        if not self.option:
            object.__setattr__(self, "option", "--" + self.name.replace("_", "-"))
        if not self.param:
            object.__setattr__(self, "param", self.name)

    @property
    def is_window(self) -> bool:
        return self.match in ("from", "to")

    @property
    def prepared(self) -> bool:
        """Whether its values reach SQL as given (``column IN (...)``): only such
        filters are bound as parameters of a compiled count (icetally.query.prepared)."""
        return self.match in ("in", "upper_in")

    def values(self, raw: Any) -> Any:
        """User input -> the canonical values a ``Slice`` holds (QueryError if
        not valid): a date for a window bound, else a list."""
        if self.is_window:
            return parse_date(raw, self.option)
        if self.kind == "int" and isinstance(raw, int):
            raw = [raw]
        return self.parse(split_values(raw))


def _filters(*items: Filter) -> dict[str, Filter]:
    return {f.name: f for f in items}


# In the order of a count's WHERE terms (the prepared counts' slots rely on it).
FILTERS: dict[str, Filter] = _filters(
    Filter(
        "date_from",
        "event_date",
        "First day, YYYY-MM-DD",
        "first day",
        kind="date",
        match="from",
        example="2017-09-24",
        option="--from",
        param="from",
        in_claims=False,
    ),
    Filter(
        "date_to",
        "event_date",
        "Last day (inclusive)",
        "last day",
        kind="date",
        match="to",
        example="2017-09-27",
        option="--to",
        param="to",
        in_claims=False,
    ),
    Filter(
        "aor",
        "aor",
        "AOR codes, e.g. LOS,PHI",
        "area of responsibility",
        example="LOS,PHI",
        parse=_aor,
    ),
    Filter("state", "state_abbr", "States, e.g. TX,IL", "state", example="TX", parse=_state),
    Filter(
        "county",
        "county_fips",
        "County FIPS or names",
        "county",
        match="county",
        known_in_store=True,
    ),
    Filter(
        "citizenship",
        "citizenship",
        "As released (MEXICO) or ISO3 (MEX)",
        "citizenship",
        match="citizenship",
        example="MEX",
        parse=lambda vs: [c.upper() for c in vs],
    ),
    Filter(
        "continent",
        "continent",
        "Continents of citizenship, e.g. Africa",
        "citizenship (continent)",
        example="Africa",
        parse=_continent,
    ),
    Filter(
        "method_class",
        "method_class",
        ", ".join(METHOD_CLASSES),
        "apprehension method",
        allowed=METHOD_CLASSES,
        example="at_large",
        parse=_closed("method class", METHOD_CLASSES, lambda m: m.lower().replace("-", "_")),
    ),
    Filter(
        "criminality",
        "criminality",
        ", ".join(CRIMINALITY),
        "criminality",
        allowed=CRIMINALITY,
        example="convicted",
        parse=_closed("criminality", CRIMINALITY, str.lower),
    ),
    Filter(
        "fiscal_year",
        "fiscal_year",
        "e.g. 2018 or FY2018",
        "fiscal year",
        kind="int",
        example="2018",
        in_claims=False,
        parse=_fiscal_year,
    ),
    Filter(
        "administration",
        "administration",
        ", ".join(ADMINISTRATIONS),
        "administration",
        allowed=ADMINISTRATIONS,
        example="trump1",
        in_claims=False,
        parse=_closed(
            "administration",
            ADMINISTRATIONS,
            lambda a: a.lower().replace("-", "").replace(" ", ""),
        ),
    ),
    Filter(
        "release",
        "release_id",
        "Release ids (see releases)",
        "release",
        known_in_store=True,
    ),
    Filter(
        "program",
        "program",
        "Program as released, e.g. 'Fugitive Operations'",
        "program",
        match="upper_in",
        example="287G",
        in_claims=False,
        parse=lambda vs: [p.upper() for p in vs],
    ),
)

# Named groups of filters, for commands that take several at once.
FILTER_GROUPS: dict[str, tuple[str, ...]] = {
    "window": ("date_from", "date_to"),
    "filters": tuple(n for n, f in FILTERS.items() if not f.is_window),
    "slice": tuple(FILTERS),
    "claims": tuple(n for n, f in FILTERS.items() if f.in_claims),
}


def filter_names(*names: str) -> tuple[str, ...]:
    """Filter names, group names (``window``, ``filters``, ``slice``, ``claims``)
    expanded, in vocabulary order. No argument: every filter."""
    if not names:
        return tuple(FILTERS)
    wanted: set[str] = set()
    for n in names:
        if n in FILTER_GROUPS:
            wanted.update(FILTER_GROUPS[n])
        elif n in FILTERS:
            wanted.add(n)
        else:
            raise KeyError(f"no filter or filter group {n!r}")
    return tuple(n for n in FILTERS if n in wanted)


# --------------------------------------------------------------------------- dimensions


@dataclass(frozen=True)
class Dimension:
    """Something a count groups by. ``bucket`` is the Ibis truncation unit of a time
    bucket (``date`` is the day itself); ``max_values`` bounds how many values it can
    take in any store (a null included), ``days`` how many days one value spans."""

    name: str
    column: str
    help: str
    label: str
    bucket: str | None = None
    max_values: int | None = None
    days: int | None = None

    @property
    def is_time(self) -> bool:
        return self.days is not None


def _dimensions(*items: Dimension) -> dict[str, Dimension]:
    return {d.name: d for d in items}


DIMENSIONS: dict[str, Dimension] = _dimensions(
    Dimension("date", "event_date", "the event's day", "day", days=1),
    Dimension("week", "event_date", "week starting Monday", "week", bucket="W", days=7),
    Dimension("month", "event_date", "calendar month", "month", bucket="M", days=28),
    Dimension("quarter", "event_date", "calendar quarter", "quarter", bucket="Q", days=89),
    Dimension("year", "event_date", "calendar year", "year", bucket="Y", days=365),
    Dimension("fiscal_year", "fiscal_year", "US fiscal year", "fiscal year", days=365),
    Dimension(
        "administration",
        "administration",
        "presidential administration",
        "administration",
        max_values=len(ADMINISTRATIONS) + 1,
    ),
    Dimension("aor", "aor", "AOR code", "area of responsibility", max_values=30),
    Dimension("state", "state_abbr", "state (postal code, e.g. TX)", "state"),
    Dimension("state_raw", "state", "state as released", "state (as released)"),
    Dimension("county", "county", "county as released", "county"),
    Dimension("county_fips", "county_fips", "county FIPS", "county"),
    Dimension("citizenship", "citizenship", "citizenship as released", "citizenship"),
    Dimension("country_iso3", "country_iso3", "ISO3 of citizenship", "citizenship"),
    Dimension(
        "continent",
        "continent",
        "continent of citizenship",
        "citizenship (continent)",
        max_values=10,
    ),
    Dimension("method", "method", "apprehension method as released", "apprehension method"),
    Dimension(
        "method_class",
        "method_class",
        ", ".join(METHOD_CLASSES),
        "apprehension method",
        max_values=len(METHOD_CLASSES) + 1,
    ),
    Dimension(
        "criminality",
        "criminality",
        ", ".join(CRIMINALITY),
        "criminality",
        max_values=len(CRIMINALITY) + 1,
    ),
    Dimension(
        "immigration_only_conviction",
        "immigration_only_conviction",
        "most serious conviction is an immigration offence",
        "most-serious-conviction charge",
        max_values=3,
    ),
    Dimension("gender", "gender", "gender as released", "gender"),
    Dimension("program", "program", "program as released", "program"),
    Dimension("facility", "facility", "facility as released", "facility"),
    Dimension("detainer_type", "detainer_type", "detainer type", "detainer type"),
    Dimension("lift_reason", "lift_reason", "detainer lift reason", "lift reason"),
    Dimension("release_id", "release_id", "the release a record came from", "release"),
)

TIME_BUCKETS: tuple[str, ...] = tuple(n for n, d in DIMENSIONS.items() if d.column == "event_date")


def dimension_names() -> tuple[str, ...]:
    return tuple(DIMENSIONS)


def parse_by(by: str | Iterable[str] | None) -> list[str]:
    """'aor,month' -> ['aor', 'month'], every name a dimension, none twice."""
    dims = split_values(by)
    bad = [d for d in dims if d not in DIMENSIONS]
    if bad:
        raise QueryError(f"cannot group by {bad}; expected any of {', '.join(DIMENSIONS)}")
    if len(set(dims)) != len(dims):
        raise QueryError(f"--by names a dimension twice: {dims}")
    return dims


def label_of(column: str) -> str:
    """Words for a canonical column, as explanations use them ('apprehension method')."""
    for f in FILTERS.values():
        if f.column == column:
            return f.label
    for d in DIMENSIONS.values():
        if d.column == column:
            return d.label
    return column


# --------------------------------------------------------------------------- areas


@dataclass(frozen=True)
class Area:
    """A kind of area a daily series is built per (``--area state``): the surge model
    and the coverage (``Store.coverage(dataset, area_kind)``) work per area of a kind.
    ``column`` holds the area's code; coverage rows name one area as ``name:code``."""

    name: str
    column: str
    help: str
    label: str
    plural: str


AREAS: dict[str, Area] = {
    "aor": Area("aor", "aor", "ICE area of responsibility (AOR code)", "AOR", "AORs"),
    "state": Area("state", "state_abbr", "state (postal code)", "state", "states"),
    "county": Area("county", "county_fips", "county (5-digit FIPS code)", "county", "counties"),
}
DEFAULT_AREA = "aor"


def parse_area(value: str | None) -> str:
    """'state' -> 'state' (None -> the default, aor); QueryError for another word."""
    if value is None or value == "":
        return DEFAULT_AREA
    name = str(value).strip().lower()
    if name not in AREAS:
        raise QueryError(f"unknown --area {value!r}; expected one of {', '.join(AREAS)}")
    return name


# --------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class Metric:
    """What a surge scan (or a report) counts: all records, or one method class."""

    name: str
    method_class: str | None
    help: str
    words: str  # how an arrests report names the records


METRICS: dict[str, Metric] = {
    "all": Metric("all", None, "all records", "arrests of all apprehension methods"),
    "at_large": Metric("at_large", "at_large", "at-large arrests", "at-large arrests"),
    "custodial": Metric("custodial", "custodial", "custodial arrests", "custodial arrests"),
    "other": Metric("other", "other", "arrests by other methods", "arrests by other methods"),
}
assert all(m.method_class in (None, *METHOD_CLASSES) for m in METRICS.values())


# The words `icetally pathways` and /api/pathways take: its slice filters and --by.
PATHWAYS_WORDS: tuple[str, ...] = (
    "window",
    "aor",
    "state",
    "county",
    "method_class",
    "criminality",
    "citizenship",
    "release",
    "by",
)
