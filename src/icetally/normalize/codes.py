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
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from icetally import reference
from icetally.reference.keys import county_key

if TYPE_CHECKING:
    import pyarrow as pa


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
    import pyarrow as pa
    import pyarrow.compute as pc

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
    import pyarrow.compute as pc

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
    if "state" in present or "county" in present:
        out.add("_code_state_abbr")
        if "county" in present:
            out.add("_code_county_fips")
    return out


# --------------------------------------------------------------------------------------
# The same lookups for a staged table (store/ingest.py): DuckDB groups the cleaned text of
# each coded field in one pass, the reference functions map each distinct value here,
# and the resulting small tables are joined back in the SQL that writes the rows.


@dataclass(frozen=True)
class CodeKey:
    """One lookup: the cleaned batch columns it is keyed on, the ``_code_*`` columns it
    gives, and how to compute them from the key values."""

    name: str
    columns: tuple[str | None, ...]  # batch columns (cleaned), None where absent
    codes: tuple[str, ...]
    fn: Callable[..., tuple[str | None, ...]] | None
    # codes computed in SQL from the key ``k0`` instead (e.g. a date parsed once per
    # distinct text): code column -> SQL expression
    sql: tuple[tuple[str, str], ...] = ()

    def key_sql(self, clean: Callable[[str], str]) -> list[str]:
        """SQL of each key part over the stage (``clean(column)`` gives its text)."""
        if self.name == "criminality":
            parts = [clean(c) for c in self.columns if c is not None]
            return [parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"]
        return [clean(c) if c is not None else "CAST(NULL AS VARCHAR)" for c in self.columns]

    def table(self, groups: list[tuple[tuple[str | None, ...], int]]) -> pa.Table:
        """The lookup table: key parts k0.., the codes, and n (rows with that key)."""
        import pyarrow as pa

        cols = self.columns_of(groups)
        return pa.table(
            {c: pa.array(v, pa.int64() if c == "n" else pa.string()) for c, v in cols.items()}
        )

    def create_sql(
        self, name: str, groups: list[tuple[tuple[str | None, ...], int]]
    ) -> tuple[str, list[list[Any]]]:
        """(SQL, parameters) making the lookup table (``table``) as a DuckDB temporary
        table ``name`` from Python lists: no Arrow array built from Python objects,
        which imports pandas (a third of a second of a command's start-up)."""
        cols = self.columns_of(groups)
        select = ", ".join(
            f'unnest(?::{"BIGINT" if c == "n" else "VARCHAR"}[]) AS "{c}"' for c in cols
        )
        return f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {select}", list(cols.values())

    def columns_of(self, groups: list[tuple[tuple[str | None, ...], int]]) -> dict[str, list[Any]]:
        """The lookup table's columns as lists: k0.., the codes, n."""
        width = len(self.key_parts())
        keys: list[list[str | None]] = [[] for _ in range(width)]
        py_codes = self.codes if self.fn is not None else ()
        codes: list[list[str | None]] = [[] for _ in py_codes]
        counts: list[int] = []
        for key, n in groups:
            if self.fn is None:
                found: tuple[str | None, ...] = ()
            elif any(k is not None for k in key):
                found = self.fn(*key)
            else:
                found = (None,) * len(self.codes)
            for i in range(width):
                keys[i].append(key[i])
            for i, v in enumerate(found):
                codes[i].append(v)
            counts.append(n)
        cols: dict[str, list[Any]] = {f"k{i}": k for i, k in enumerate(keys)}
        cols |= dict(zip(py_codes, codes, strict=True))
        cols["n"] = counts
        return cols

    def key_parts(self) -> tuple[int, ...]:
        return (0,) if self.name == "criminality" else tuple(range(len(self.columns)))


def _aor(text: str | None) -> tuple[str | None]:
    return (reference.aor_code(text) if text else None,)


def _citizenship(text: str | None) -> tuple[str | None, str | None]:
    found = reference.country(text) if text else None
    return (found[0], found[1]) if found else (None, None)


def _method(text: str | None) -> tuple[str | None]:
    return (reference.method_class(text) if text else None,)


def _criminality(text: str | None) -> tuple[str | None]:
    return (reference.criminality(text) if text else None,)


@cache
def _fips_states() -> dict[str, str]:
    return {c.fips: c.state_abbr for c in reference.counties()}


def _place(state: str | None, county: str | None) -> tuple[str | None, str | None]:
    abbr = reference.state_abbr(state) if state else None
    if county and county.strip().isdigit() and len(county.strip()) == 4:
        county = county.strip().zfill(5)  # a FIPS code read as a number: 6037
    if abbr is None and county and county.strip() in _fips_states():
        # a county given by its FIPS code alone (a county count table) names its state
        abbr = _fips_states()[county.strip()]
    return abbr, county_fips(abbr, county)


def _county_only(county: str | None) -> tuple[str | None, str | None]:
    return _place(None, county)


def date_key(column: str, code: str) -> CodeKey:
    """A date column parsed once per distinct text (``it_ts``), not once per row."""
    return CodeKey(
        name=code.strip("_"), columns=(column,), codes=(code,), fn=None, sql=((code, "it_ts(k0)"),)
    )


def code_keys(fields: dict[str, str]) -> list[CodeKey]:
    """The lookups a table with these fields (batch column -> canonical field) needs;
    their codes are exactly ``code_names(fields)``."""
    by_field: dict[str, str] = {}
    for column, fld in fields.items():
        by_field.setdefault(fld, column)
    out: list[CodeKey] = []
    if "aor" in by_field:
        out.append(CodeKey("aor", (by_field["aor"],), ("_code_aor",), _aor))
    if "citizenship" in by_field:
        out.append(
            CodeKey(
                "citizenship",
                (by_field["citizenship"],),
                ("_code_iso3", "_code_continent"),
                _citizenship,
            )
        )
    if "method" in by_field:
        out.append(CodeKey("method", (by_field["method"],), ("_code_method_class",), _method))
    if "criminality" in by_field or "case_criminality" in by_field:
        out.append(
            CodeKey(
                "criminality",
                (by_field.get("criminality"), by_field.get("case_criminality")),
                ("_code_criminality",),
                _criminality,
            )
        )
    if "county" in by_field and "state" not in by_field:
        # counties by FIPS code alone (the lookup's first key part must be present)
        out.append(
            CodeKey(
                "place",
                (by_field["county"],),
                ("_code_state_abbr", "_code_county_fips"),
                _county_only,
            )
        )
    elif "state" in by_field:
        codes = ("_code_state_abbr", "_code_county_fips") if "county" in by_field else None
        out.append(
            CodeKey(
                "place",
                (by_field["state"], by_field.get("county")),
                codes or ("_code_state_abbr",),
                _place if codes else (lambda s, _c: _place(s, None)[:1]),
            )
        )
    return out
