"""Counts on DuckDB compiled once per query *shape*, not once per query.

Building and compiling the Ibis expressions of a count costs ~12 ms of Python; DuckDB
answers the query itself in ~2 ms. What the SQL depends on is the dataset, the
group-by dimensions and which filters are set; the values only fill slots. So:

- once per such shape, the Ibis expressions (icetally.query.count) are compiled with
  one placeholder value per filter, giving SQL trees (sqlglot) with marked slots;
- once per number of values in each filter, the slots are widened (``IN (x)`` to
  ``IN (x, y)``) on the tree and made twice: the query that runs, rendered with DuckDB
  parameters (``$p0``, ``$p1``...) in the slots, and the tree of the count shown to
  the user (``query.sql``), with numbered placeholders in them;
- per query, the values are bound to the parameters (no value is ever written into
  SQL that runs), and put as SQL literals into the shown tree's slots, which sqlglot
  then renders to the very text ``ibis.to_sql`` gives.

Ibis stays the one definition of every count (tests compare both paths on random
slices, SQL text included); this only saves recompiling it. Shapes it cannot
parameterise (county filters, whose values Ibis rewrites) go the plain Ibis way.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

import sqlglot.expressions as sge

from icetally.query.filters import Slice

# Slice fields whose values reach the SQL as given, through ``column IN (...)``, and
# the kind of their values. (county's are rewritten, zfill and upper: such slices are
# compiled per query.)
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
_OTHER_FIELDS = tuple(
    f.name
    for f in fields(Slice)
    if f.name not in LIST_FILTERS and f.name not in ("dataset", "date_from", "date_to")
)
MAX_VALUES = 1000  # slots per query (the web server allows far fewer values)

# Placeholder k (k < MAX_VALUES): values no real filter holds, each numbered so that
# the compiled SQL says which value goes where.
_STR = "ICETALLYPARAM"
_INT = 987_650_000
_YEAR = 1000  # a placeholder date is (1000 + k)-01-01


def _placeholder(kind: str, k: int) -> Any:
    if kind == "str":
        return f"{_STR}{k:04d}"
    if kind == "int":
        return _INT + k
    return date(_YEAR + k, 1, 1)


def _slot(node: sge.Expression) -> int | None:
    """The placeholder number a SQL node stands for, if it is one."""
    if isinstance(node, sge.Literal):
        if node.is_string:
            text = node.this
            if isinstance(text, str) and text.startswith(_STR) and text[len(_STR) :].isdigit():
                return int(text[len(_STR) :])
            return None
        try:
            n = int(node.this)
        except (TypeError, ValueError):
            return None
        return n - _INT if _INT <= n < _INT + MAX_VALUES else None
    if isinstance(node, sge.DateFromParts):
        parts = [node.args.get(a) for a in ("year", "month", "day")]
        if all(isinstance(p, sge.Literal) and not p.is_string for p in parts):
            y, m, d = (int(p.this) for p in parts)  # type: ignore[union-attr]
            if _YEAR <= y < _YEAR + MAX_VALUES and (m, d) == (1, 1):
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


def _filters_of(slc: Slice) -> list[tuple[str, str, list[Any]]]:
    """(name, kind, values) of every set filter, in slot order: dates, then lists."""
    out: list[tuple[str, str, list[Any]]] = []
    if slc.date_from is not None:
        out.append(("date_from", "date", [slc.date_from]))
    if slc.date_to is not None:
        out.append(("date_to", "date", [slc.date_to]))
    for name, kind in LIST_FILTERS.items():
        values = getattr(slc, name)
        if values:
            out.append((name, kind, list(values)))
    return out


def _supported(slc: Slice) -> bool:
    return not any(getattr(slc, name) for name in _OTHER_FIELDS)


@dataclass(frozen=True)
class _Template:
    """One shape compiled by Ibis: filter i's single placeholder is slot i."""

    detail: sge.Expression
    count: sge.Expression
    dialect: Any


@dataclass(frozen=True)
class PreparedCount:
    """One shape with so many values per filter: the SQL that runs (parameters) and the
    count SQL that is shown (a tree with numbered placeholders)."""

    detail_sql: str
    shown: sge.Expression
    dialect: Any

    @staticmethod
    def params(slc: Slice) -> dict[str, Any]:
        values = [v for _, _, vs in _filters_of(slc) for v in vs]
        return {f"p{k}": v for k, v in enumerate(values)}

    def shown_sql(self, slc: Slice) -> str:
        """The count SQL with this slice's values written in, as Ibis writes them. The
        values are put into the tree, not the text: the pretty-printer's line breaks
        depend on their length."""
        literals = [_literal(kind, v) for _, kind, vs in _filters_of(slc) for v in vs]

        def fill(node: sge.Expression) -> sge.Expression:
            k = _slot(node)
            return literals[k].copy() if k is not None else node

        return self.shown.transform(fill).sql(dialect=self.dialect, pretty=True)


class _Lru:
    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[Any, Any] = OrderedDict()
        self.lock = threading.Lock()

    def get_or_make(self, key: Any, make: Callable[[], Any]) -> Any:
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return self.data[key]
        value = make()  # outside the lock: two threads may both make it, harmlessly
        with self.lock:
            self.data[key] = value
            if len(self.data) > self.size:
                self.data.popitem(last=False)
        return value


_templates = _Lru(1024)
_prepared = _Lru(4096)


def _compile(con: Any, t: Any, slc: Slice, dims: list[str]) -> _Template | None:
    from icetally.query.count import count_expr, detail_expr

    model = Slice(dataset=slc.dataset)
    filters = _filters_of(slc)
    for k, (name, kind, _) in enumerate(filters):
        value = _placeholder(kind, k)
        setattr(model, name, value if kind == "date" else [value])
    compiler = con.compiler
    detail = compiler.to_sqlglot(detail_expr(t, model, dims).unbind())
    count = compiler.to_sqlglot(count_expr(t, model, dims).unbind())
    # Every slot must come out of Ibis as a node of its own, a list filter's as the
    # single item of an IN (it always does today); otherwise compile per query.
    for tree in (detail, count):
        seen = set()
        for node in tree.walk():
            k = _slot(node)
            if k is None:
                continue
            if k >= len(filters):
                return None
            if filters[k][1] != "date":
                parent = node.parent
                if not isinstance(parent, sge.In) or len(parent.expressions) != 1:
                    return None
            seen.add(k)
        if seen != set(range(len(filters))):
            return None
    return _Template(detail=detail, count=count, dialect=compiler.dialect)


def _widen(
    tree: sge.Expression, slots: list[list[int]], node_for: Callable[[int], sge.Expression]
) -> sge.Expression:
    """The tree with template slot i replaced by the nodes of query slots slots[i]."""

    def fill(node: sge.Expression) -> sge.Expression:
        if isinstance(node, sge.In) and len(node.expressions) == 1:
            k = _slot(node.expressions[0])
            if k is not None:
                return sge.In(this=node.this.copy(), expressions=[node_for(j) for j in slots[k]])
        k = _slot(node)
        if k is not None:
            return node_for(slots[k][0])
        return node

    return tree.transform(fill)


def _instance(template: _Template, slc: Slice) -> PreparedCount | None:
    slots: list[list[int]] = []
    kinds: list[str] = []
    for _, kind, values in _filters_of(slc):
        slots.append(list(range(len(kinds), len(kinds) + len(values))))
        kinds.extend(kind for _ in values)

    def parameter(j: int) -> sge.Expression:
        return sge.Parameter(this=sge.Var(this=f"p{j}"))

    def numbered(j: int) -> sge.Expression:
        return _literal(kinds[j], _placeholder(kinds[j], j))

    d = template.dialect
    detail_sql = _widen(template.detail, slots, parameter).sql(dialect=d)
    shown = _widen(template.count, slots, numbered)
    # every slot must be there to fill, and bound
    found = {k for node in shown.walk() if (k := _slot(node)) is not None}
    if found != set(range(len(kinds))) or any(
        f"$p{j}" not in detail_sql for j in range(len(kinds))
    ):
        return None
    return PreparedCount(detail_sql=detail_sql, shown=shown, dialect=d)


def prepare(con: Any, t: Any, slc: Slice, dims: list[str]) -> PreparedCount | None:
    """The compiled count of this slice's shape over table ``t`` of DuckDB backend
    ``con``, or None when the shape must be compiled per query."""
    if not _supported(slc):
        return None
    filters = _filters_of(slc)
    if sum(len(vs) for _, _, vs in filters) >= MAX_VALUES:
        return None
    shape = (slc.dataset, tuple(dims), tuple(name for name, _, _ in filters), t.schema())
    template = _templates.get_or_make(shape, lambda: _compile(con, t, slc, dims))
    if template is None:
        return None
    sizes = tuple(len(vs) for _, _, vs in filters)
    return _prepared.get_or_make((shape, sizes), lambda: _instance(template, slc))
