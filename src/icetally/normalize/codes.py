"""Codes from released text — AOR, ISO3 + continent, method class, criminality class,
state and county FIPS — looked up once per distinct value of a batch.

A column of a million arrests holds a few dozen distinct AOR names and a few hundred
country names, so the batch is dictionary-encoded, the reference functions of
``icetally.reference`` (the single source of these rules) map each distinct value, and
the result is spread back with a take. The lookups add columns prefixed ``_code_``
that the SQL pass reads.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import pyarrow as pa
import pyarrow.compute as pc

from icetally import reference
from icetally.reference.keys import county_key


@cache
def _county_index() -> dict[tuple[str, str], str]:
    """(state_abbr, county key) -> FIPS; on a clash (Baltimore city vs county) the
    county wins, as the name without 'city' is what releases write."""
    out: dict[tuple[str, str], str] = {}
    for c in sorted(reference.counties(), key=lambda c: ("city" in c.county_name.lower(), c.fips)):
        out.setdefault((c.state_abbr, county_key(c.county_name)), c.fips)
    return out


def county_fips(state_abbr: str | None, county: str | None) -> str | None:
    if not state_abbr or not county:
        return None
    text = county.strip()
    if text.isdigit() and len(text) in (3, 5):
        return text if len(text) == 5 else None
    return _county_index().get((state_abbr, county_key(text)))


def _map(col: pa.Array, fn: Callable[[str], str | None]) -> pa.Array:
    """fn applied to each distinct non-null value; nulls stay null."""
    if len(col) == 0 or col.null_count == len(col):
        return pa.nulls(len(col), pa.string())
    enc = pc.dictionary_encode(col)
    mapped = pa.array([fn(v) for v in enc.dictionary.to_pylist()], type=pa.string())
    return mapped.take(enc.indices)


def _country_part(i: int) -> Callable[[str], str | None]:
    def fn(name: str) -> str | None:
        found = reference.country(name)
        return found[i] if found else None

    return fn


def code_columns(batch: pa.RecordBatch, fields: dict[str, str]) -> dict[str, pa.Array]:
    """``_code_*`` arrays for the fields present in ``fields`` (batch column ->
    canonical field) of a cleaned batch."""
    by_field: dict[str, str] = {}
    for column, fld in fields.items():
        by_field.setdefault(fld, column)

    def col(fld: str) -> pa.Array | None:
        name = by_field.get(fld)
        return batch.column(name) if name is not None else None

    out: dict[str, pa.Array] = {}
    if (aor := col("aor")) is not None:
        out["_code_aor"] = _map(aor, reference.aor_code)
    if (cit := col("citizenship")) is not None:
        out["_code_iso3"] = _map(cit, _country_part(0))
        out["_code_continent"] = _map(cit, _country_part(1))
    if (method := col("method")) is not None:
        out["_code_method_class"] = _map(method, reference.method_class)
    crim = col("criminality")
    case = col("case_criminality")
    if crim is not None or case is not None:
        label = crim if case is None else (case if crim is None else pc.coalesce(crim, case))
        out["_code_criminality"] = _map(label, reference.criminality)
    if (state := col("state")) is not None:
        abbr = _map(state, reference.state_abbr)
        out["_code_state_abbr"] = abbr
        if (county := col("county")) is not None:
            pair = pc.binary_join_element_wise(abbr, county, "|")
            out["_code_county_fips"] = _map(pair, lambda s: county_fips(*s.split("|", 1)))
    return out


def code_names(fields: dict[str, str]) -> set[str]:
    """The ``_code_*`` columns ``code_columns`` makes for these fields."""
    present = set(fields.values())
    out: set[str] = set()
    if "aor" in present:
        out.add("_code_aor")
    if "citizenship" in present:
        out |= {"_code_iso3", "_code_continent"}
    if "method" in present:
        out.add("_code_method_class")
    if present & {"criminality", "case_criminality"}:
        out.add("_code_criminality")
    if "state" in present:
        out.add("_code_state_abbr")
        if "county" in present:
            out.add("_code_county_fips")
    return out
