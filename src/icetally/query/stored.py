"""Compiled counts kept on disk between processes, so a ``count`` on the command line
needs neither Ibis nor sqlglot (issue #17: importing them costs ~1.3 CPU seconds, ten
times the query).

``icetally.query.prepared`` compiles a count once per *shape* (dataset, group-by,
which filters are set and how many values each holds) into the SQL that runs, with
DuckDB parameters, and the SQL shown to the user, a tree into which the values are
put as literals. A process compiles a shape once; this module keeps the result in
``$ICETALLY_CACHE_DIR`` (default ``~/.cache/icetally``) as:

- the SQL that runs, as compiled (values are bound as parameters, never written in);
- the shown SQL as text, with a marker where each value's literal goes, kept only
  when the text around the literals is the same whatever their lengths within the
  stored bounds (sqlglot's pretty-printer breaks a line when a list grows too wide:
  the shape is rendered with every value at its shortest and at its longest, and
  kept only when both give the same text around the values).

A value outside its bounds, or text the literal writer here does not write exactly
as sqlglot (a quote, a backslash, a control character), goes the compiled way. The
key holds everything the SQL depends on: icetally's, Ibis's and sqlglot's versions,
the source of the modules that define counts, the table's columns and the shape.
``tests/test_prepared.py`` compares this path with Ibis's, SQL text included.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, fields
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any

from icetally.query.filters import Slice
from icetally.vocabulary import FILTERS

CACHE_ENV = "ICETALLY_CACHE_DIR"
FORMAT = 2  # bump when the stored JSON changes

# Slice fields whose values reach the SQL as given, through ``column IN (...)``, and
# the kind of their values, from the vocabulary. (county's are rewritten, zfill and
# upper: such slices are compiled per query.)
LIST_FILTERS = {n: f.kind for n, f in FILTERS.items() if f.prepared}
OTHER_FIELDS = tuple(
    f.name
    for f in fields(Slice)
    if f.name not in LIST_FILTERS and f.name not in ("dataset", "date_from", "date_to")
)
MAX_VALUES = 1000  # slots per query (the web server allows far fewer values)

# Every filter a compiled count can hold, in slot order: filter i's single placeholder
# in a template is slot i.
FILTER_SLOTS: tuple[tuple[str, str], ...] = tuple(
    (n, f.kind) for n, f in FILTERS.items() if f.is_window or f.prepared
)


def filters_of(slc: Slice) -> list[tuple[int, str, list[Any]]]:
    """(template slot, kind, values) of every set filter, in slot order."""
    out: list[tuple[int, str, list[Any]]] = []
    for k, (name, kind) in enumerate(FILTER_SLOTS):
        value = getattr(slc, name)
        if kind == "date":
            if value is not None:
                out.append((k, kind, [value]))
        elif value:
            out.append((k, kind, list(value)))
    return out


def supported(slc: Slice) -> bool:
    return not any(getattr(slc, name) for name in OTHER_FIELDS)


def params(slc: Slice) -> dict[str, Any]:
    """The DuckDB parameters of a compiled count, in slot order."""
    values = [v for _, _, vs in filters_of(slc) for v in vs]
    return {f"p{k}": v for k, v in enumerate(values)}


def sizes_of(slc: Slice) -> tuple[tuple[int, int], ...]:
    return tuple((k, len(vs)) for k, _, vs in filters_of(slc))


# --- literals, as sqlglot's DuckDB dialect writes them ------------------------------------

# the lengths a stored shape is checked with, per kind (rendered text, quotes included);
# a string's longest is searched per shape, up to STR_LONGEST
STR_SHORTEST, STR_LONGEST = 2, 66  # '' .. a 64-character value
INT_DIGITS = (1, 6)
_SAFE_TEXT = re.compile(r"[^'\\\x00-\x1f\x7f]*")


def literal(kind: str, value: Any) -> str | None:
    """A value's SQL literal as sqlglot writes it (DuckDB), or None when this writer
    cannot vouch for it (then the count is compiled)."""
    if kind == "str":
        if not isinstance(value, str) or not _SAFE_TEXT.fullmatch(value):
            return None
        return f"'{value}'"
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return None
        return str(value)
    if isinstance(value, date) and 1000 <= value.year <= 9999:
        return f"MAKE_DATE({value.year}, {value.month}, {value.day})"
    return None


def bounds(kind: str, str_longest: int = STR_LONGEST) -> tuple[int, int]:
    """Shortest and longest literal text a stored shape holds for a kind."""
    if kind == "str":
        return STR_SHORTEST, str_longest
    if kind == "int":
        return INT_DIGITS
    return (len("MAKE_DATE(1000, 1, 1)"), len("MAKE_DATE(1000, 12, 31)"))


def extremes(kind: str, str_longest: int = STR_LONGEST) -> tuple[Any, Any]:
    """A value of a kind with the shortest and one with the longest literal kept."""
    if kind == "str":
        return "", "q" * (str_longest - 2)
    if kind == "int":
        return 0, 10 ** (INT_DIGITS[1] - 1)
    return date(1000, 1, 1), date(1000, 12, 31)


# --- the store on disk --------------------------------------------------------------------


@dataclass(frozen=True)
class StoredCount:
    """A compiled count shape as kept on disk."""

    detail_sql: str
    shown: list[str]  # text between the literals: len(kinds) + 1 pieces
    kinds: list[str]
    str_longest: int = STR_LONGEST  # a string value's longest literal, quotes included

    def shown_sql(self, slc: Slice) -> str | None:
        values = [(kind, v) for _, kind, vs in filters_of(slc) for v in vs]
        if [k for k, _ in values] != self.kinds:
            return None
        out = [self.shown[0]]
        for (kind, v), after in zip(values, self.shown[1:], strict=True):
            text = literal(kind, v)
            lo, hi = bounds(kind, self.str_longest)
            if text is None or not lo <= len(text) <= hi:
                return None
            out += [text, after]
        return "".join(out)


def cache_dir() -> Path | None:
    """Where compiled counts are kept; None when disabled (``ICETALLY_CACHE_DIR=``)."""
    given = os.environ.get(CACHE_ENV)
    if given is not None:
        return Path(given) / "counts" if given else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "icetally" / "counts"


_code_hash: str | None = None

# the modules whose source decides a count's SQL
_DEFINING = ("query/expr.py", "query/filters.py", "query/prepared.py", "query/stored.py")


def _code() -> str:
    global _code_hash
    if _code_hash is None:
        import icetally
        from icetally import vocabulary

        h = hashlib.sha256(f"{FORMAT}:{icetally.__version__}".encode())
        for dist in ("ibis-framework", "sqlglot", "duckdb"):
            with contextlib.suppress(metadata.PackageNotFoundError):
                h.update(f"{dist}={metadata.version(dist)}".encode())
        root = Path(icetally.__file__).parent
        for rel in (*_DEFINING, "schema.py"):
            h.update((root / rel).read_bytes())
        h.update(Path(vocabulary.__file__).read_bytes())
        _code_hash = h.hexdigest()
    return _code_hash


def key(dataset: str, dims: list[str], columns: list[tuple[str, str]], slc: Slice) -> str:
    """The file name of a shape: everything its SQL depends on."""
    text = json.dumps([_code(), dataset, dims, columns, sizes_of(slc)], default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def load(name: str) -> StoredCount | None:
    folder = cache_dir()
    if folder is None:
        return None
    try:
        d = json.loads((folder / f"{name}.json").read_text())
        stored = StoredCount(
            detail_sql=d["detail_sql"],
            shown=d["shown"],
            kinds=d["kinds"],
            str_longest=int(d["str_longest"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if len(stored.shown) != len(stored.kinds) + 1:
        return None
    return stored


def save(name: str, stored: StoredCount) -> None:
    """Keep a shape (atomically: a reader never sees half a file); a cache that cannot
    be written is no error."""
    folder = cache_dir()
    if folder is None:
        return
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(asdict(stored), fh)
            os.replace(tmp, folder / f"{name}.json")
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def columns_of(con: Any, dataset: str) -> list[tuple[str, str]]:
    """The table's columns and types (part of a shape's key)."""
    return [
        (str(n), str(t))
        for n, t in con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = ? AND table_schema = 'main' "
            "AND table_catalog = current_database() ORDER BY ordinal_position",
            [dataset],
        ).fetchall()
    ]
