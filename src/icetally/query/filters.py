"""A slice of a dataset: the filters every query command shares, validated once and
applied as Ibis expressions over canonical columns."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import ibis

from icetally import reference
from icetally.normalize.rules import ADMINISTRATIONS
from icetally.schema import DATASETS

METHOD_CLASSES = ("custodial", "at_large", "other")
CRIMINALITY = ("convicted", "pending_charges", "immigration_violator", "unknown")


class QueryError(ValueError):
    """A query parameter is not valid; the message says which and what is accepted."""


def _list(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    return [v.strip() for v in value if v and v.strip()]


def parse_date(value: str | date | None, name: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise QueryError(f"{name} must be an ISO date YYYY-MM-DD, got {value!r}") from exc


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
        if dataset not in DATASETS:
            raise QueryError(f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}")
        s = cls(dataset=dataset)
        s.date_from = parse_date(date_from, "--from")
        s.date_to = parse_date(date_to, "--to")
        if s.date_from and s.date_to and s.date_from > s.date_to:
            raise QueryError(f"--from {s.date_from} is after --to {s.date_to}")
        s.aor = [a.upper() for a in _list(aor)]
        bad = [a for a in s.aor if a not in reference.AOR_CODES]
        if bad:
            raise QueryError(
                f"unknown AOR code(s) {bad}; expected codes such as "
                f"{', '.join(reference.AOR_CODES)}"
            )
        states = []
        for st in _list(state):
            abbr = reference.state_abbr(st)
            if abbr is None:
                raise QueryError(f"unknown state {st!r}; use a postal code (TX) or a name")
            states.append(abbr)
        s.state = states
        s.county = _list(county)
        s.citizenship = [c.upper() for c in _list(citizenship)]
        s.continent = [c.title() for c in _list(continent)]
        s.method_class = [m.lower().replace("-", "_") for m in _list(method_class)]
        bad = [m for m in s.method_class if m not in METHOD_CLASSES]
        if bad:
            raise QueryError(f"unknown method class {bad}; expected {', '.join(METHOD_CLASSES)}")
        s.criminality = [c.lower() for c in _list(criminality)]
        bad = [c for c in s.criminality if c not in CRIMINALITY]
        if bad:
            raise QueryError(f"unknown criminality {bad}; expected {', '.join(CRIMINALITY)}")
        fys: list[int] = []
        raw_fy: Iterable[Any] = (
            [fiscal_year]
            if isinstance(fiscal_year, int)
            else _list(fiscal_year)
            if isinstance(fiscal_year, str)
            else (fiscal_year or [])
        )
        for fy in raw_fy:
            text = str(fy).upper().removeprefix("FY")
            if not text.isdigit():
                raise QueryError(f"fiscal year must look like 2019 or FY2019, got {fy!r}")
            fys.append(int(text))
        s.fiscal_year = fys
        admins = [a for a, _ in ADMINISTRATIONS]
        s.administration = [
            a.lower().replace("-", "").replace(" ", "") for a in _list(administration)
        ]
        bad = [a for a in s.administration if a not in admins]
        if bad:
            raise QueryError(f"unknown administration {bad}; expected {', '.join(admins)}")
        s.release = _list(release)
        s.program = [p.upper() for p in _list(program)]
        return s

    def apply(self, t: Any) -> Any:
        """Filter an Ibis table expression by this slice."""
        preds = []
        if self.date_from:
            preds.append(t.event_date >= ibis.date(self.date_from))
        if self.date_to:
            preds.append(t.event_date <= ibis.date(self.date_to))
        if self.aor:
            preds.append(t.aor.isin(self.aor))
        if self.state:
            preds.append(t.state_abbr.isin(self.state))
        if self.county:
            fips = [c for c in self.county if c.isdigit()]
            names = [c.upper() for c in self.county if not c.isdigit()]
            pred = None
            if fips:
                pred = t.county_fips.isin([c.zfill(5) for c in fips])
            if names:
                by_name = t.county.upper().isin(names)
                pred = by_name if pred is None else (pred | by_name)
            preds.append(pred)
        if self.citizenship:
            preds.append(
                t.citizenship.upper().isin(self.citizenship) | t.country_iso3.isin(self.citizenship)
            )
        if self.continent:
            preds.append(t.continent.isin(self.continent))
        if self.method_class:
            preds.append(t.method_class.isin(self.method_class))
        if self.criminality:
            preds.append(t.criminality.isin(self.criminality))
        if self.fiscal_year:
            preds.append(t.fiscal_year.isin(self.fiscal_year))
        if self.administration:
            preds.append(t.administration.isin(self.administration))
        if self.release:
            preds.append(t.release_id.isin(self.release))
        if self.program:
            preds.append(t.program.upper().isin(self.program))
        return t.filter(*preds) if preds else t

    def to_dict(self) -> dict[str, Any]:
        """The filters as JSON-able values, empty ones left out."""
        out: dict[str, Any] = {}
        for k, v in asdict(self).items():
            if v in (None, [], ""):
                continue
            key = {"date_from": "from", "date_to": "to"}.get(k, k)
            out[key] = v.isoformat() if isinstance(v, date) else v
        return out
