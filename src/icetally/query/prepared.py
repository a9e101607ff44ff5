"""Counts on DuckDB compiled once per group-by, not once per query.

Building and compiling the Ibis expressions of a count costs ~9 ms of Python; DuckDB
answers the query itself in ~2 ms. What the SQL depends on is the dataset and the
group-by dimensions; the filters only add terms to one WHERE, and their values fill
slots. So:

- once per dataset and group-by, the Ibis expressions (icetally.query.count) are
  compiled with every filter set to one placeholder value (and once with none),
  giving SQL trees (sqlglot) with one WHERE term per filter and numbered slots;
- once per set of filters and number of values in each, the terms of unset filters
  are dropped and the slots widened (``IN (x)`` to ``IN (x, y)``) on the tree, which
  is made twice: the query that runs, rendered with DuckDB parameters (``$p0``,
  ``$p1``...) in the slots, and the tree of the count shown to the user
  (``query.sql``), with numbered placeholders in them;
- per query, the values are bound to the parameters (no value is ever written into
  SQL that runs), and put as SQL literals into the shown tree's slots, which sqlglot
  then renders to the very text ``ibis.to_sql`` gives.

Ibis stays the one definition of every count (tests compare both paths on random
slices, SQL text included); this only saves recompiling it. What it cannot
parameterise (county filters, whose values Ibis rewrites) goes the plain Ibis way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlglot.expressions as sge

from icetally.cache import LruCache
from icetally.query import stored
from icetally.query.expr import count_expr, detail_expr
from icetally.query.filters import Slice

# the slots of a compiled count (what the values of a slice fill), shared with the
# counts kept on disk (icetally.query.stored), which need no sqlglot
LIST_FILTERS = stored.LIST_FILTERS
_OTHER_FIELDS = stored.OTHER_FIELDS
MAX_VALUES = stored.MAX_VALUES

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


FILTER_SLOTS = stored.FILTER_SLOTS
_filters_of = stored.filters_of
_supported = stored.supported


@dataclass(frozen=True)
class _Template:
    """A count compiled by Ibis with every filter set (slot i: filter i's single
    placeholder, one WHERE term per filter), or with none."""

    detail: sge.Expression
    count: sge.Expression
    dialect: Any


class PreparedCount:
    """One shape with so many values per filter: the SQL that runs (parameters) and the
    count SQL that is shown (a tree with numbered placeholders)."""

    def __init__(
        self, detail_sql: str, shown: sge.Expression, dialect: Any, kinds: list[str] | None = None
    ) -> None:
        self.detail_sql = detail_sql
        self.dialect = dialect
        self.kinds = kinds or []
        self._shown = shown
        # where each value goes: (placeholder number, parent node, arg, index)
        self._places = [
            (k, node.parent, node.arg_key, node.index)
            for node in list(shown.walk())
            if (k := _slot(node)) is not None
        ]
        self._lock = threading.Lock()

    @staticmethod
    def params(slc: Slice) -> dict[str, Any]:
        return stored.params(slc)

    def stored(self) -> stored.StoredCount | None:
        """This shape as kept on disk (icetally.query.stored): the shown SQL as text
        around its literals, kept for the values whose literals are no longer than the
        longest with which that text is the same as with every value at its shortest
        (found by bisection: the printer's line breaks only depend on how wide a list
        grows); None when no such text exists (compiled per process)."""
        kinds = self.kinds

        def render(values: list[Any]) -> str:
            for k, parent, arg, index in self._places:
                parent.set(arg, _literal(kinds[k], values[k]), index)
            return self._shown.sql(dialect=self.dialect, pretty=True)

        with self._lock:
            marked = render([_placeholder(kind, j) for j, kind in enumerate(kinds)])
            pieces: list[str] = []
            rest = marked
            for j, kind in enumerate(kinds):
                mark = stored.literal(kind, _placeholder(kind, j))
                if mark is None or rest.count(mark) != 1:
                    return None
                before, rest = rest.split(mark)
                pieces.append(before)
            pieces.append(rest)

            def holds(which: int, str_longest: int) -> bool:
                values = [stored.extremes(kind, str_longest)[which] for kind in kinds]
                literals = [stored.literal(k, v) for k, v in zip(kinds, values, strict=True)]
                if any(lit is None for lit in literals):
                    return False
                joined = pieces[0] + "".join(
                    f"{lit}{after}" for lit, after in zip(literals, pieces[1:], strict=True)
                )
                return joined == render(values)

            lo, hi = stored.STR_SHORTEST, stored.STR_LONGEST
            if not holds(0, hi) or not holds(1, lo):
                return None
            while lo < hi:  # the longest string literal that keeps the text
                mid = (lo + hi + 1) // 2
                lo, hi = (mid, hi) if holds(1, mid) else (lo, mid - 1)
        return stored.StoredCount(
            detail_sql=self.detail_sql, shown=pieces, kinds=list(kinds), str_longest=lo
        )

    def shown_sql(self, slc: Slice) -> str:
        """The count SQL with this slice's values written in, as Ibis writes them. The
        values are put into the tree, not the text: the pretty-printer's line breaks
        depend on their length. (Set in place, under a lock: copying the tree per
        query cost as much as rendering it.)"""
        literals = [_literal(kind, v) for _, kind, vs in _filters_of(slc) for v in vs]
        with self._lock:
            for k, parent, arg, index in self._places:
                parent.set(arg, literals[k].copy(), index)
            return self._shown.sql(dialect=self.dialect, pretty=True)


# ~25 KB each: a few tens of MB at most, whatever clients ask for
_templates = LruCache(256)
_prepared = LruCache(1024)


def _compile(con: Any, t: Any, dataset: str, dims: list[str], filtered: bool) -> _Template | None:
    model = Slice(dataset=dataset)
    if filtered:
        for k, (name, kind) in enumerate(FILTER_SLOTS):
            value = _placeholder(kind, k)
            setattr(model, name, value if kind == "date" else [value])
    compiler = con.compiler
    detail = compiler.to_sqlglot(detail_expr(t, model, dims).unbind())
    count = compiler.to_sqlglot(count_expr(t, model, dims).unbind())
    # What pruning and widening rely on (true of Ibis today; if it ever is not, such
    # counts are compiled per query): one WHERE, made of one term per filter holding
    # that filter's slot and no other, a list filter's as the single item of an IN.
    for tree in (detail, count):
        wheres = list(tree.find_all(sge.Where))
        if not filtered:
            if wheres or any(_slot(node) is not None for node in tree.walk()):
                return None
            continue
        if len(wheres) != 1:
            return None
        terms = [_slots_in(term) for term in _terms(wheres[0])]
        if terms != [{k} for k in range(len(FILTER_SLOTS))]:
            return None
        for node in tree.walk():
            k = _slot(node)
            if k is None or FILTER_SLOTS[k][1] == "date":
                continue
            parent = node.parent
            if not isinstance(parent, sge.In) or len(parent.expressions) != 1:
                return None
        if _slots_in(tree) != _slots_in(wheres[0]):
            return None
    return _Template(detail=detail, count=count, dialect=compiler.dialect)


def _slots_in(tree: sge.Expression) -> set[int]:
    return {k for node in tree.walk() if (k := _slot(node)) is not None}


def _terms(where: sge.Where) -> list[sge.Expression]:
    """The ANDed terms of a WHERE, in order (a parenthesised OR stays one term)."""
    return (
        list(where.this.flatten(unnest=False)) if isinstance(where.this, sge.And) else [where.this]
    )


def _prune(tree: sge.Expression, keep: set[int]) -> sge.Expression:
    """The tree with the WHERE terms of the filters not in ``keep`` left out, ANDed
    left to right as Ibis writes them."""
    tree = tree.copy()
    for where in tree.find_all(sge.Where):
        kept = [t for t in _terms(where) if _slots_in(t) <= keep]
        if len(kept) == 1 and isinstance(kept[0], sge.Paren):
            kept[0] = kept[0].this  # an OR is parenthesised only inside an AND
        cond = kept[0]
        for term in kept[1:]:
            cond = sge.And(this=cond, expression=term)
        where.set("this", cond)
    return tree


def _widen(
    tree: sge.Expression, slots: dict[int, list[int]], node_for: Callable[[int], sge.Expression]
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
    filters = _filters_of(slc)
    slots: dict[int, list[int]] = {}
    kinds: list[str] = []
    for k, kind, values in filters:
        slots[k] = list(range(len(kinds), len(kinds) + len(values)))
        kinds.extend(kind for _ in values)

    def parameter(j: int) -> sge.Expression:
        return sge.Parameter(this=sge.Var(this=f"p{j}"))

    def numbered(j: int) -> sge.Expression:
        return _literal(kinds[j], _placeholder(kinds[j], j))

    d = template.dialect
    detail, count = template.detail, template.count
    if filters:
        detail, count = _prune(detail, set(slots)), _prune(count, set(slots))
    detail_sql = _widen(detail, slots, parameter).sql(dialect=d)
    shown = _widen(count, slots, numbered)
    # every value must have its place, and be bound
    if _slots_in(shown) != set(range(len(kinds))) or any(
        f"$p{j}" not in detail_sql for j in range(len(kinds))
    ):
        return None
    return PreparedCount(detail_sql=detail_sql, shown=shown, dialect=d, kinds=kinds)


def prepare(con: Any, t: Any, slc: Slice, dims: list[str]) -> PreparedCount | None:
    """The compiled count of this slice's shape over table ``t`` of DuckDB backend
    ``con``, or None when it must be compiled per query."""
    if not _supported(slc):
        return None
    filters = _filters_of(slc)
    if sum(len(vs) for _, _, vs in filters) >= MAX_VALUES:
        return None
    key = (slc.dataset, tuple(dims), t.schema(), bool(filters))
    template = _templates.get_or_make(
        key, lambda: _compile(con, t, slc.dataset, dims, bool(filters))
    )
    if template is None:
        return None
    sizes = tuple((k, len(vs)) for k, _, vs in filters)
    return _prepared.get_or_make((key, sizes), lambda: _instance(template, slc))
