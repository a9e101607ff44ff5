"""Cell cleaning with Arrow compute kernels, before a batch reaches DuckDB.

Every cell is turned into text, trimmed, its runs of white space collapsed; FOIA
redactions and empty tokens become NULL. Doing this column-at-a-time in Arrow's C++
kernels costs a few nanoseconds a cell, several times less than the same rules as SQL
expressions per row, and gives the redaction counts for free.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from icetally.normalize.rules import NULL_TOKENS, REDACTION_PATTERN

if TYPE_CHECKING:
    import pyarrow as pa


def _fit_capped_address_space() -> None:
    """Arrow's default allocator (mimalloc) reserves about 1 GB of address space on its
    first allocation; under an address-space cap (``ulimit -v``) that reservation
    leaves too little for DuckDB and the reader, and which of them fails depended on
    import order. Under a cap, Arrow allocates with the system's malloc instead."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return  # no cap: pyarrow is imported where it is used (a text ingest never is)
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())


_fit_capped_address_space()  # before this module's first Arrow allocation, below

# Arrow's RE2 takes no inline (?i) flag through match_substring_regex's ignore_case.
_REDACTION = REDACTION_PATTERN.removeprefix("(?i)")


@functools.cache
def _tokens() -> pa.Array:
    """The empty tokens in the case variants releases use, so no upper-casing of every
    cell is needed (made on first use: an Arrow array from Python objects imports
    pandas, which a delimited-text ingest never needs)."""
    import pyarrow as pa

    return pa.array(
        sorted(
            {v for t in NULL_TOKENS if t for v in (t, t.lower(), t.title(), t.capitalize())}
            | {"NaN", "#n/a"}
        ),
        type=pa.string(),
    )


def as_text(col: pa.ChunkedArray | pa.Array) -> pa.Array | pa.ChunkedArray:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        return col
    if pa.types.is_timestamp(col.type):
        return pc.strftime(col, format="%Y-%m-%d %H:%M:%S")
    return pc.cast(col, pa.string())


def clean_column(col: pa.Array | pa.ChunkedArray) -> tuple[pa.Array | pa.ChunkedArray, int]:
    """(cleaned text column, number of redacted cells)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = as_text(col)
    if len(text) == 0 or text.null_count == len(text):
        return text, 0
    has_paren = pc.match_substring(text, "(")
    redacted_n = 0
    redacted = None
    if pc.any(has_paren).as_py():
        redacted = pc.and_kleene(
            has_paren, pc.match_substring_regex(text, _REDACTION, ignore_case=True)
        )
        redacted_n = int(pc.sum(redacted).as_py() or 0)
    out = pc.utf8_trim_whitespace(text)
    # collapse runs of spaces only where there are any (rare); a tab or line break
    # inside a value is kept as released
    if pc.any(pc.match_substring(out, "  ")).as_py():
        out = pc.replace_substring_regex(out, r"\s+", " ")
    empty = pc.or_kleene(
        pc.equal(out, ""),
        pc.is_in(out, value_set=_tokens()),
    )
    drop = empty if redacted is None else pc.or_kleene(empty, redacted)
    out = pc.if_else(pc.fill_null(drop, False), pa.scalar(None, pa.string()), out)
    return out, redacted_n


def clean_batch(
    batch: pa.RecordBatch, keep: tuple[str, ...] = ("source_row",)
) -> tuple[pa.RecordBatch, list[int]]:
    """Clean every column except ``keep``; return the batch and the redactions per
    cleaned column, in column order."""
    import pyarrow as pa

    arrays = []
    counts = []
    for name, col in zip(batch.schema.names, batch.columns, strict=True):
        if name in keep:
            arrays.append(col)
            continue
        cleaned, n = clean_column(col)
        arrays.append(cleaned)
        counts.append(n)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names), counts
