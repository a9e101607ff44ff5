"""A slice of a dataset: the filters every query command shares, validated once and
applied as Ibis expressions over canonical columns.

The filters themselves (names, columns, allowed values, how each is matched) are
defined in ``icetally.vocabulary``; ``Slice`` holds one field per filter (a test checks
that the two agree) and applies each the way the vocabulary says.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from typing import Any

from icetally.schema import DATASETS
from icetally.vocabulary import FILTERS, QueryError, check_known, parse_date

__all__ = ["QueryError", "Slice", "parse_date"]


@dataclass
class Slice:
    dataset: str = "arrests"
    date_from: date | None = None
    date_to: date | None = None
    aor: list[str] = field(default_factory=list)
    state: list[str] = field(default_factory=list)
    county: list[str] = field(default_factory=list)
    citizenship: list[str] = field(default_factory=list)
    continent: list[str] = field(default_factory=list)
    method_class: list[str] = field(default_factory=list)
    criminality: list[str] = field(default_factory=list)
    fiscal_year: list[int] = field(default_factory=list)
    administration: list[str] = field(default_factory=list)
    release: list[str] = field(default_factory=list)
    program: list[str] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        dataset: str = "arrests",
        *,
        date_from: str | date | None = None,
        date_to: str | date | None = None,
        aor: str | Iterable[str] | None = None,
        state: str | Iterable[str] | None = None,
        county: str | Iterable[str] | None = None,
        citizenship: str | Iterable[str] | None = None,
        continent: str | Iterable[str] | None = None,
        method_class: str | Iterable[str] | None = None,
        criminality: str | Iterable[str] | None = None,
        fiscal_year: str | int | Iterable[str | int] | None = None,
        administration: str | Iterable[str] | None = None,
        release: str | Iterable[str] | None = None,
        program: str | Iterable[str] | None = None,
    ) -> Slice:
        """Validate user input into a Slice (raises QueryError with a clear message)."""
        given = locals()
        if dataset not in DATASETS:
            raise QueryError(f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}")
        s = cls(dataset=dataset)
        for name, flt in FILTERS.items():
            setattr(s, name, flt.values(given[name]))
        if s.date_from and s.date_to and s.date_from > s.date_to:
            raise QueryError(f"--from {s.date_from} is after --to {s.date_to}")
        return s

    def apply(self, t: Any) -> Any:
        """Filter an Ibis table expression by this slice: one predicate per set filter,
        in the vocabulary's order."""
        import ibis  # here: a count served from icetally.query.stored needs no Ibis

        preds = []
        for name, flt in FILTERS.items():
            value = getattr(self, name)
            if value is None or value == []:
                continue
            col = t[flt.column]
            if flt.match == "from":
                preds.append(col >= ibis.date(value))
            elif flt.match == "to":
                preds.append(col <= ibis.date(value))
            elif flt.match == "in":
                preds.append(col.isin(value))
            elif flt.match == "upper_in":
                preds.append(col.upper().isin(value))
            elif flt.match == "citizenship":
                # as released (MEXICO) or as ISO3 (MEX)
                preds.append(t.citizenship.upper().isin(value) | t.country_iso3.isin(value))
            elif flt.match == "county":
                preds.append(_county_predicate(t, value))
            else:  # pragma: no cover - a filter the vocabulary added without a match
                raise AssertionError(f"filter {name}: no predicate for match {flt.match!r}")
        return t.filter(*preds) if preds else t

    def check_known(self, store: Any) -> None:
        """Refuse values the store cannot match (QueryError listing the known ones):
        ``release`` ids and ``county`` names or FIPS codes, which only the store knows
        (the vocabulary's ``known_in_store`` filters). Known values are read once per
        open store."""
        for name, flt in FILTERS.items():
            values = getattr(self, name)
            if not flt.known_in_store or not values:
                continue
            if name == "release":
                known = store.cached(("known", "release"), _release_ids(store))
                check_known(flt, values, known)
            elif name == "county":
                fips = [v.zfill(5) for v in values if v.isdigit()]
                names = [v.upper() for v in values if not v.isdigit()]
                if fips:
                    check_known(flt, fips, _distinct(store, self.dataset, "county_fips"))
                if names:
                    known = _distinct(store, self.dataset, "county", upper=True)
                    check_known(flt, names, known)

    def to_dict(self) -> dict[str, Any]:
        """The filters as JSON-able values, empty ones left out (keys as the HTTP API
        and the claims file name them: ``from``, ``to``, ``aor``...)."""
        out: dict[str, Any] = {}
        for k, v in asdict(self).items():
            if v in (None, [], ""):
                continue
            key = FILTERS[k].param if k in FILTERS else k
            out[key] = v.isoformat() if isinstance(v, date) else v
        return out

    def replace(self, **changes: Any) -> Slice:
        """A copy with some fields set to already canonical values."""
        out = Slice(**{f.name: getattr(self, f.name) for f in fields(self)})
        for k, v in changes.items():
            setattr(out, k, v)
        return out


def _release_ids(store: Any) -> Any:
    return lambda: [r["release_id"] for r in store.releases()]


def _distinct(store: Any, dataset: str, column: str, *, upper: bool = False) -> list[str]:
    """The distinct non-null values of a column (upper-cased), once per open store."""

    def read() -> list[str]:
        col = store.table(dataset)[column]
        col = col.upper() if upper else col
        return [
            str(v)
            for v in col.name("v").as_table().distinct().to_pyarrow()["v"].to_pylist()
            if v is not None
        ]

    return store.cached(("known", dataset, column, upper), read)


def _county_predicate(t: Any, values: list[str]) -> Any:
    """County FIPS (zero-padded) or county names as released."""
    fips = [c for c in values if c.isdigit()]
    names = [c.upper() for c in values if not c.isdigit()]
    pred = None
    if fips:
        pred = t.county_fips.isin([c.zfill(5) for c in fips])
    if names:
        by_name = t.county.upper().isin(names)
        pred = by_name if pred is None else (pred | by_name)
    return pred
