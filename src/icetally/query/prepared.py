"""Counts on DuckDB compiled once per query *shape*, not once per query.

Building and compiling the Ibis expressions of a count costs ~10 ms of Python; DuckDB
answers the query itself in ~2 ms. A shape is what the SQL depends on: the dataset,
the group-by dimensions, which filters are set and how many values each holds. For
each shape the Ibis expressions are compiled once with placeholder values, and:

- the query that runs is that SQL with the placeholders turned into DuckDB
  parameters (``$p0``, ``$p1``...), bound to the request's values at execution: no
  value is ever written into executed SQL;
- the SQL shown to the user (``query.sql``) is the compiled count with the
  placeholders replaced by the request's values as SQL literals, on the parsed SQL
  tree, so it is the very text ``ibis.to_sql`` would give for the same slice.

Ibis stays the one definition of every count (tests compare both paths on random
slices); this only saves recompiling it. Shapes it cannot parameterise (county
filters, whose values Ibis rewrites) go the plain Ibis way.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

import sqlglot.expressions as sge

from icetally.query.filters import Slice

# Placeholders: strings, integers and dates no real filter value looks like, each
# numbered so that the compiled SQL says which value goes where.
_STR = "ICETALLYPARAM"
_INT = 987_650_000
_YEAR = 1000  # a placeholder date is 1000+k-01-01; k < 1000


def _placeholder(kind: str, k: int) -> Any:
    if kind == "str":
        return f"{_STR}{k:04d}"
    if kind == "int":
        return _INT + k
    return date(_YEAR + k, 1, 1)


# Slice fields whose values reach the SQL as given (county's are rewritten: zfill,
# upper; such slices are compiled per query).
LIST_FILTERS = {
    "aor": "str",
    "state": "str",
    "citizenship": "str",
    "continent": "str",
    "method_class": "str",
    "criminality": "str",
    "fiscal_year": "int",
    "administration": "str",
    "release": "str",
    "program": "str",
}
_SLICE_FIELDS = tuple(f.name for f in fields(Slice))


def shape_of(slc: Slice) -> tuple[Any, ...] | None:
    """What the compiled SQL of this slice depends on, or None when it cannot be
    parameterised."""
    if slc.county:
        return None
    shape: list[Any] = [slc.dataset, slc.date_from is not None, slc.date_to is not None]
    for name in _SLICE_FIELDS:
        if name in ("dataset", "date_from", "date_to"):
            continue
        if name not in LIST_FILTERS:
            if getattr(slc, name):
                return None  # a filter this module does not know: compile per query
            continue
        shape.append(len(getattr(slc, name)))
    return tuple(shape)


def _values_of(slc: Slice) -> list[tuple[str, Any]]:
    """(kind, value) of every filter value, in the order placeholders are numbered."""
    out: list[tuple[str, Any]] = []
    if slc.date_from is not None:
        out.append(("date", slc.date_from))
    if slc.date_to is not None:
        out.append(("date", slc.date_to))
    for name, kind in LIST_FILTERS.items():
        out.extend((kind, v) for v in getattr(slc, name))
    return out


def _with_placeholders(slc: Slice) -> Slice:
    """A slice of the same shape whose k-th value is placeholder k."""
    out = Slice(dataset=slc.dataset)
    k = 0
    if slc.date_from is not None:
        out.date_from = _placeholder("date", k)
        k += 1
    if slc.date_to is not None:
        out.date_to = _placeholder("date", k)
        k += 1
    for name, kind in LIST_FILTERS.items():
        vals = []
        for _ in getattr(slc, name):
            vals.append(_placeholder(kind, k))
            k += 1
        setattr(out, name, vals)
    return out


def _slot(node: sge.Expression) -> int | None:
    """The placeholder number a SQL node stands for, if it is one."""
    if isinstance(node, sge.Literal):
        if node.is_string and isinstance(node.this, str) and node.this.startswith(_STR):
            digits = node.this[len(_STR) :]
            return int(digits) if digits.isdigit() else None
        if not node.is_string:
            try:
                n = int(node.this)
            except (TypeError, ValueError):
                return None
            return n - _INT if _INT <= n < _INT + 1000 else None
        return None
    if isinstance(node, sge.DateFromParts):
        parts = [node.args.get(a) for a in ("year", "month", "day")]
        if all(isinstance(p, sge.Literal) and not p.is_string for p in parts):
            y, m, d = (int(p.this) for p in parts)  # type: ignore[union-attr]
            if _YEAR <= y < _YEAR + 1000 and (m, d) == (1, 1):
                return y - _YEAR
    return None


def _literal(kind: str, value: Any) -> sge.Expression:
    """A value as the SQL literal Ibis writes for it."""
    if kind == "str":
        return sge.Literal.string(value)
    if kind == "int":
        return sge.Literal.number(value)
    return sge.DateFromParts(
        year=sge.Literal.number(value.year),
        month=sge.Literal.number(value.month),
        day=sge.Literal.number(value.day),
    )


def _slots_in(tree: sge.Expression) -> set[int]:
    found = set()
    for node in tree.walk():
        k = _slot(node)
        if k is not None:
            found.add(k)
    return found


@dataclass(frozen=True)
class PreparedCount:
    """One shape's count, compiled: the parameterised detail query that runs and the
    count SQL (with placeholders) that is shown."""

    detail_sql: str
    count_tree: sge.Expression
    dialect: str
    slots: int

    def params(self, slc: Slice) -> dict[str, Any]:
        return {f"p{k}": v for k, (_, v) in enumerate(_values_of(slc))}

    def shown_sql(self, slc: Slice) -> str:
        """The count SQL with this slice's values written in, as Ibis writes them."""
        values = _values_of(slc)

        def fill(node: sge.Expression) -> sge.Expression:
            k = _slot(node)
            return _literal(*values[k]) if k is not None else node

        return self.count_tree.transform(fill).sql(dialect=self.dialect, pretty=True)


_cache: dict[tuple[Any, ...], PreparedCount | None] = {}
_lock = threading.Lock()
_MAX = 512


def prepare(con: Any, t: Any, slc: Slice, dims: list[str]) -> PreparedCount | None:
    """The compiled count of this slice's shape over table ``t`` of DuckDB backend
    ``con``, or None when the shape must be compiled per query."""
    from icetally.query.count import count_expr, detail_expr

    shape = shape_of(slc)
    if shape is None:
        return None
    key = (shape, tuple(dims), t.schema())
    with _lock:
        if key in _cache:
            return _cache[key]
    model = _with_placeholders(slc)
    n = len(_values_of(slc))
    compiler = con.compiler
    detail = compiler.to_sqlglot(detail_expr(t, model, dims).unbind())
    shown = compiler.to_sqlglot(count_expr(t, model, dims).unbind())
    prepared: PreparedCount | None = None
    # Every placeholder must come out of Ibis as a node of its own (it always does
    # today); if one ever does not, compile such slices per query rather than guess.
    if _slots_in(detail) == set(range(n)) and _slots_in(shown) == set(range(n)):

        def param(node: sge.Expression) -> sge.Expression:
            k = _slot(node)
            return sge.Parameter(this=sge.Var(this=f"p{k}")) if k is not None else node

        prepared = PreparedCount(
            detail_sql=detail.transform(param).sql(dialect=compiler.dialect),
            count_tree=shown,
            dialect=compiler.dialect,
            slots=n,
        )
    with _lock:
        if len(_cache) >= _MAX:
            _cache.pop(next(iter(_cache)))
        _cache[key] = prepared
    return prepared
