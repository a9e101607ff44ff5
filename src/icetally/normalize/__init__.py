"""Raw release fields -> canonical columns.

Normalization runs one Arrow batch at a time: its cells are cleaned in Arrow
(``clean.py``), its AOR, country, method, criminality, state and county text is looked
up in the shipped reference tables once per distinct value (``codes.py``), and the
batch is registered as a DuckDB view that a single ``INSERT ... SELECT`` turns into
typed canonical columns. Rows that cannot be loaded (an event date present but
unreadable, a CBP count that is not a number) go to ``quarantine`` with their reason
and raw values; nothing is dropped.

Rules (documented in docs/normalization.md):

- every redaction variant (``b(6), b(7)c``, ``(B)(7)(E) ``, ``(b)(6),(b)(7)c)`` ...)
  and the empty/NA tokens become NULL; redactions are counted per column;
- dates accept M/D/YYYY, ISO dates and timestamps; absurd years (before 1900 or more
  than a year ahead) are kept and flagged in ``date_flag``;
- AOR text -> code through ``aor_aliases`` (raw text kept in ``aor_raw``);
- citizenship -> ISO3 + continent through ``countries`` (unmapped names reported);
- ``method_class`` from the one ``methods`` table; criminality from ``criminality``;
- fiscal year starts Oct 1; administrations change on inauguration day.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import duckdb

from icetally.normalize.codes import CodeKey
from icetally.normalize.rules import (
    ADMINISTRATIONS,
    DATE_FORMATS,
    EVENT_DATE_AHEAD_DAYS,
    EVENT_DATE_FIRST,
    NOT_REPORTED,
    NULL_TOKENS,
    OUT_OF_RANGE_FLAG,
    REDACTION_PATTERN,
    WHITESPACE,
)
from icetally.schema import COLUMN_NAMES

__all__ = [
    "ADMINISTRATIONS",
    "REDACTION_PATTERN",
    "install",
    "select_sql",
    "canonical_fields",
    "clean_view_sql",
    "event_field",
    "keys_sql",
]

# Fields stored as text in a canonical column of the same name.
TEXT_FIELDS = (
    "event_time",
    "state",
    "county",
    "citizenship",
    "method",
    "landmark",
    "operation",
    "processing_disposition",
    "gender",
    "person_id",
    "program",
    "case_status",
    "case_category",
    "threat_level",
    "arresting_agency",
    "departure_country",
    "final_order",
    "final_charge",
    "port_of_departure",
    "msc_charge",
    "msc_charge_code",
    "facility",
    "facility_code",
    "facility_city",
    "detainer_type",
    "lift_reason",
    "event_type",
    "release_reason",
    "component",
    "land_border_region",
    "demographic",
    "title_of_authority",
    "encounter_type",
)
DATE_FIELDS = (
    "departed_date",
    "removal_date",
    "final_order_date",
    "msc_conviction_date",
    "book_out_date",
)
# Fields normalization consumes into derived columns.
DERIVED_FIELDS = (
    "event_date",
    "aor",
    "criminality",
    "birth_year",
    "duplicate_likely",
    "encounter_count",
    "count",
    "fiscal_year",
    "month",
)


def canonical_fields() -> set[str]:
    """Fields whose value lands in a canonical column; any other header is kept raw."""
    return {*TEXT_FIELDS, *DATE_FIELDS, *DERIVED_FIELDS}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _null_tokens() -> list[str]:
    """The empty tokens in the case variants releases use (so no cell is upper-cased)."""
    return sorted(
        {v for t in NULL_TOKENS if t for v in (t, t.lower(), t.title(), t.capitalize())}
        | {"NaN", "#n/a"}
    )


def _re_char(c: str) -> str:
    """One character inside an RE2 character class."""
    return f"\\x{{{ord(c):x}}}"


def install(con: duckdb.DuckDBPyConnection) -> None:
    """Create the temporary macros normalization uses on this connection.

    ``it_redacted(x)``: the cell holds a FOIA exemption code (counted, then NULL);
    ``it_clean(x)``: the cell's text trimmed of white space (runs of spaces collapsed),
    NULL for redactions and empty tokens. Both are plain SQL so DuckDB runs them on
    every core in the one pass that also writes the rows.
    """
    formats = "[" + ", ".join(_lit(f) for f in DATE_FORMATS) + "]"
    # list_contains, not IN: DuckDB turns a long IN list into a join per column
    tokens = "[" + ", ".join(_lit(t) for t in _null_tokens()) + "]"
    longest = max(len(t) for t in _null_tokens())
    space = "[" + "".join(_re_char(c) for c in WHITESPACE) + "]"
    # cheap tests first: a cell's first code point, and the last characters white space
    # is in practice (a trailing space ends ERO-LESA redactions); only a cell that has
    # white space at an edge pays for the regular expression that trims it
    first = "list_contains([" + ", ".join(str(ord(c)) for c in WHITESPACE) + "], ascii(x))"
    last = " OR ".join(f"suffix(x, chr({ord(c)}))" for c in " \t\r\n\xa0")
    redaction = _lit(REDACTION_PATTERN.removeprefix("(?i)"))
    con.execute(
        f"""
        CREATE OR REPLACE TEMP MACRO it_redacted(x) AS
            contains(x, '(') AND regexp_matches(x, {redaction}, 'i');
        CREATE OR REPLACE TEMP MACRO it_trim(x) AS
            CASE WHEN {last} OR {first}
                 THEN regexp_replace(x, '^{space}+|{space}+$', '', 'g') ELSE x END;
        CREATE OR REPLACE TEMP MACRO it_collapse(t) AS
            CASE WHEN contains(t, '  ') THEN regexp_replace(t, '\\s+', ' ', 'g') ELSE t END;
        CREATE OR REPLACE TEMP MACRO it_tidy(t) AS
            CASE WHEN t = '' OR (strlen(t) <= {longest} AND list_contains({tokens}, t)) THEN NULL
                 ELSE it_collapse(t) END;
        CREATE OR REPLACE TEMP MACRO it_clean(x) AS
            CASE WHEN x IS NULL OR it_redacted(x) THEN NULL ELSE it_tidy(it_trim(x)) END;
        CREATE OR REPLACE TEMP MACRO it_ts(x) AS
            coalesce(TRY_CAST(x AS TIMESTAMP), try_strptime(x, {formats}));
        CREATE OR REPLACE TEMP MACRO it_key(x) AS
            trim(regexp_replace(upper(strip_accents(x)), '\\s+', ' ', 'g'));
        CREATE OR REPLACE TEMP MACRO it_event_out_of_range(d) AS
            d IS NOT NULL AND (d < DATE {_lit(EVENT_DATE_FIRST)}
                               OR d > current_date + INTERVAL {EVENT_DATE_AHEAD_DAYS} DAY);
        CREATE OR REPLACE TEMP MACRO it_flag_date(d) AS
            d IS NOT NULL AND (year(d) < 1900 OR d > current_date + INTERVAL 366 DAY);
        """
    )


def _administration(d: str) -> str:
    cases = " ".join(
        f"WHEN {d} >= DATE {_lit(start)} THEN {_lit(code)}"
        for code, start in reversed(ADMINISTRATIONS)
    )
    return f"CASE WHEN {d} IS NULL THEN NULL {cases} ELSE NULL END"


def event_field(dataset: str, present: set[str]) -> str:
    """The field a dataset's event date is read from: ``event_date``, or a removal's
    ``removal_date`` when the table has no departure date."""
    if dataset == "removals" and "event_date" not in present and "removal_date" in present:
        return "removal_date"
    return "event_date"


def select_sql(
    *,
    dataset: str,
    fields: dict[str, str],
    raw_columns: dict[str, str],
    release_id: str,
    source_file: str,
    source_sheet: str | None,
    immigration_pattern: str | None,
    default_aor: tuple[str, str] | None = None,
    labels: dict[str, str] | None = None,
    codes: Iterable[str] = (),
    view: str = "batch",
    raw_view: str = "batch_raw",
    event_ts: str | None = None,
    row_key: str | None = None,
) -> tuple[str, str, tuple[str, ...]]:
    """SQL for one batch view: (insert-select of loadable rows, quarantine select, the
    canonical columns the insert fills: the others are NULL in every row).

    ``fields``: raw header -> canonical field; ``raw_columns``: raw header -> the
    ``raw_*`` column that keeps it. ``default_aor``: (code, text) for releases that name
    their AOR only in the title ("... for the Seattle Area of Responsibility").
    ``labels``: batch column -> original header, for the quarantine's raw values.
    ``view`` holds the cleaned batch (normalize/clean.py), ``raw_view`` the batch as read.
    ``codes``: the ``_code_*`` columns of the view (normalize/codes.py).
    ``event_ts``: a column of the view holding the event date already parsed
    (``it_ts`` once per distinct text, see ``codes.date_key``).
    ``row_key``: a batch column that tells apart rows of one line (a wide count
    table's area: each cell of a line is a row), so a quarantined row's raw values are
    its own.
    """
    by_field: dict[str, str] = {}
    for header, fld in fields.items():
        by_field.setdefault(fld, header)

    codes = set(codes)

    def code(name: str) -> str:
        """A looked-up code (normalize/codes.py), or NULL when the batch has none."""
        col = f"_code_{name}"
        return col if col in codes else "CAST(NULL AS VARCHAR)"

    def f(name: str) -> str:
        """Cleaned text of a field, or NULL when the table lacks it."""
        header = by_field.get(name)
        if header is None:
            return "CAST(NULL AS VARCHAR)"
        return f"b.{_q(header)}"  # cleaned already (normalize/clean.py)

    # --- stage 1: cleaned text of every field + raw columns
    stage = ["b.source_row AS _source_row"]
    # fields read below whether or not the table has them (NULL when it lacks them)
    always = {"event_date", "aor", "criminality", "citizenship", "state", "county", "method"}
    for name in sorted(set(by_field) | always):
        stage.append(f"{f(name)} AS {_q('f_' + name)}")
    for header, col in raw_columns.items():
        stage.append(f"b.{_q(header)} AS {_q(col)}")
    for name in sorted(codes):
        stage.append(f"b.{_q(name)}")
    if event_ts:
        stage.append(f"b.{_q(event_ts)}")
    if row_key:
        stage.append(f"b.{_q(row_key)} AS _row_key")
    # the raw values of a quarantined row, as released, under their original headers
    labels = labels or {}
    pairs = [
        f"{_lit(labels.get(h, h))}, CAST(r.{_q(h)} AS VARCHAR)" for h in [*fields, *raw_columns]
    ]
    raw_json = f"CAST(json_object({', '.join(pairs)}) AS VARCHAR)" if pairs else "'{}'"

    has_crim = "criminality" in by_field or "case_criminality" in by_field
    is_cbp = dataset == "cbp_encounters"
    is_count = "count" in by_field and not is_cbp
    event_src = "f_" + event_field(dataset, set(by_field))

    # --- stage 2: parsed values
    parsed = ["s.*"]
    if is_cbp:
        parsed.append(
            "list_position(['JAN','FEB','MAR','APR','MAY','JUN','JUL','AUG','SEP','OCT',"
            "'NOV','DEC'], upper(left(f_month, 3))) AS _month"
        )
        parsed.append("TRY_CAST(TRY_CAST(f_fiscal_year AS DOUBLE) AS INTEGER) AS _fy")
        parsed.append(
            "TRY_CAST(TRY_CAST(replace(f_encounter_count, ',', '') AS DOUBLE) AS BIGINT) AS _n"
        )
        parsed.append("CAST(NULL AS TIMESTAMP) AS _ts")
    else:
        parsed.append(f"{_q(event_ts)} AS _ts" if event_ts else f"it_ts({event_src}) AS _ts")
    if is_count:
        # whole numbers only ("12", "1,204", "12.0" as a spreadsheet writes it)
        parsed.append(
            "CASE WHEN regexp_full_match(replace(f_count, ',', ''), '[0-9]+(\\.0*)?') "
            "THEN TRY_CAST(TRY_CAST(replace(f_count, ',', '') AS DECIMAL(38, 6)) AS BIGINT) "
            "END AS _n"
        )
    # secondary dates parsed once here, read several times below
    for name in DATE_FIELDS:
        if name in by_field:
            parsed.append(f"CAST(it_ts(f_{name}) AS DATE) AS _d_{name}")
    parsed_sql = ", ".join(parsed)

    if is_cbp:
        event_date = (
            "CASE WHEN _month IS NULL OR _fy IS NULL THEN NULL ELSE "
            "make_date(CASE WHEN _month >= 10 THEN _fy - 1 ELSE _fy END, _month, 1) END"
        )
        bad = (
            "CASE WHEN _fy IS NULL THEN 'fiscal year is not a year: ' "
            "|| coalesce(f_fiscal_year, '∅') "
            "WHEN _month IS NULL THEN 'month is not a month name: ' || coalesce(f_month, '∅') "
            "WHEN _n IS NULL OR _n < 0 THEN 'encounter count is not a whole number: ' "
            "|| coalesce(f_encounter_count, '∅') END"
        )
    else:
        event_date = "CAST(_ts AS DATE)"
        bad = (
            f"CASE WHEN {event_src} IS NOT NULL AND _ts IS NULL "
            f"THEN 'unreadable event date: ' || {event_src} END"
        )
        if is_count:
            # a count table's row: its count is n; a cell not reported (NA, blank) is
            # not zero and not loaded (the day is outside that area's coverage)
            bad = (
                f"CASE WHEN {event_src} IS NULL THEN 'count table row without a date' "
                f"WHEN _ts IS NULL THEN 'unreadable event date: ' || {event_src} "
                f"WHEN f_count IS NULL THEN {_lit(NOT_REPORTED)} "
                "WHEN _n IS NULL THEN 'count is not a whole number >= 0: ' || f_count END"
            )

    flags = [
        f"CASE WHEN {event_src} IS NULL THEN 'event_date:missing' END"
        if not is_cbp
        else "CAST(NULL AS VARCHAR)",
        f"CASE WHEN it_flag_date({event_date}) THEN 'event_date:absurd_year' END",
        f"CASE WHEN it_event_out_of_range({event_date}) THEN {_lit(OUT_OF_RANGE_FLAG)} END"
        if not is_cbp
        else "CAST(NULL AS VARCHAR)",
    ]
    cols: dict[str, str] = {}
    for name in DATE_FIELDS:
        if name in by_field:
            cols[name] = f"_d_{name}"
            flags.append(
                f"CASE WHEN f_{name} IS NOT NULL AND _d_{name} IS NULL "
                f"THEN '{name}:unreadable=' || f_{name} "
                f"WHEN it_flag_date(_d_{name}) THEN '{name}:absurd_year' END"
            )
        else:
            cols[name] = "CAST(NULL AS DATE)"
    if dataset == "removals":
        cols["departed_date"] = event_date  # a removal's event is its departure

    cols["event_date"] = event_date
    cols["date_flag"] = f"nullif(concat_ws(';', {', '.join(flags)}), '')"
    cols["aor_raw"] = "f_aor"
    cols["aor"] = "CAST(NULL AS VARCHAR)" if is_cbp else code("aor")
    if default_aor and "aor" not in by_field and not is_cbp:
        cols["aor"] = _lit(default_aor[0])
        cols["aor_raw"] = _lit(default_aor[1])
    for name in TEXT_FIELDS:
        cols[name] = f"f_{name}" if name in by_field else "CAST(NULL AS VARCHAR)"
    cols["state_abbr"] = code("state_abbr")
    cols["county_fips"] = code("county_fips")
    cols["country_iso3"] = code("iso3")
    cols["continent"] = code("continent")
    cols["method_class"] = code("method_class")
    crim_raw = "f_criminality"
    if "case_criminality" in by_field:
        crim_raw = "coalesce(f_criminality, f_case_criminality)"
    cols["criminality_raw"] = crim_raw if has_crim else "CAST(NULL AS VARCHAR)"
    cols["criminality"] = (
        f"coalesce({code('criminality')}, 'unknown')" if has_crim else "CAST(NULL AS VARCHAR)"
    )
    if immigration_pattern and ("msc_charge" in by_field or "msc_charge_code" in by_field):
        text = (
            "concat_ws(' ', f_msc_charge, f_msc_charge_code)"
            if ("msc_charge" in by_field and "msc_charge_code" in by_field)
            else ("f_msc_charge" if "msc_charge" in by_field else "f_msc_charge_code")
        )
        cols["immigration_only_conviction"] = (
            f"CASE WHEN coalesce({code('criminality')}, '') <> 'convicted' OR {text} IS NULL "
            f"OR {text} = '' THEN NULL "
            f"ELSE regexp_matches({text}, {_lit(immigration_pattern or '$^')}) END"
        )
    else:
        cols["immigration_only_conviction"] = "CAST(NULL AS BOOLEAN)"
    if is_cbp:
        cols["fiscal_year"] = "_fy"
    else:
        cols["fiscal_year"] = (
            f"CAST(year({event_date}) + CASE WHEN month({event_date}) >= 10 THEN 1 ELSE 0 END "
            "AS INTEGER)"
        )
    cols["administration"] = _administration(event_date)
    if "birth_year" in by_field:
        cols["birth_year"] = "TRY_CAST(TRY_CAST(f_birth_year AS DOUBLE) AS INTEGER)"
    elif "birth_date" in by_field:
        cols["birth_year"] = "CAST(year(it_ts(f_birth_date)) AS INTEGER)"
    else:
        cols["birth_year"] = "CAST(NULL AS INTEGER)"
    cols["n"] = "_n" if (is_cbp or is_count) else "CAST(1 AS BIGINT)"
    cols["duplicate_likely"] = (
        "coalesce(TRY_CAST(f_duplicate_likely AS BOOLEAN), false)"
        if "duplicate_likely" in by_field
        else "false"
    )
    cols["release_id"] = _lit(release_id)
    cols["source_file"] = _lit(source_file)
    cols["source_sheet"] = _lit(source_sheet) if source_sheet else "CAST(NULL AS VARCHAR)"
    cols["source_row"] = "_source_row"
    missing = set(COLUMN_NAMES) - set(cols)
    assert not missing, f"normalization lacks {missing}"

    # a column no row of this batch can fill is left out (the table's default, NULL):
    # a dataset's table holds only the columns its releases fill (store/db.py)
    filled = tuple(c for c in COLUMN_NAMES if not _NULL_CAST.fullmatch(cols[c]))
    out = [f"{cols[c]} AS {_q(c)}" for c in filled]
    out += [_q(c) for c in raw_columns.values()]
    base = f"""
        WITH s AS (SELECT {", ".join(stage)} FROM {view} b),
             p AS (SELECT {parsed_sql}, {bad} AS _bad FROM s)
    """
    insert = f"{base} SELECT {', '.join(out)} FROM p WHERE p._bad IS NULL"
    same = f" AND it_clean(r.{_q(row_key)}) IS NOT DISTINCT FROM p._row_key" if row_key else ""
    quarantine = (
        f"{base} SELECT {_lit(release_id)} AS release_id, {_lit(source_file)} AS source_file, "
        f"{_lit(source_sheet) if source_sheet else 'CAST(NULL AS VARCHAR)'} AS source_sheet, "
        f"_source_row AS source_row, _bad AS reason, "
        f"(SELECT {raw_json} FROM {raw_view} r WHERE r.source_row = p._source_row{same}) AS raw "
        f"FROM p WHERE _bad IS NOT NULL"
    )
    return insert, quarantine, filled


_NULL_CAST = re.compile(r"CAST\(NULL AS [A-Z]+\)")


def cleaned_sql(relation: str, width: int, *, precleaned: bool = False) -> str:
    """The staged rows (text columns c0..c{width-1}, source_row) with every cell
    cleaned, plus ``r0``.. (the cell was a redaction). ``precleaned``: the relation
    carries ``x0``.. and ``r0``.. already (staged text, see store/stage.py)."""
    if precleaned:
        cols = ", ".join(f"x{i} AS c{i}, r{i}" for i in range(width))
        return f"SELECT {cols}{', ' if width else ''}source_row FROM {relation}"
    inner = ", ".join(f"it_redacted(c{i}) AS r{i}, it_trim(c{i}) AS t{i}" for i in range(width))
    outer = ", ".join(
        f"CASE WHEN r{i} THEN NULL ELSE it_tidy(t{i}) END AS c{i}, r{i}" for i in range(width)
    )
    sep = ", " if width else ""
    return f"SELECT {outer}{sep}source_row FROM (SELECT {inner}{sep}source_row FROM {relation})"


def keys_sql(
    relation: str, width: int, keys: Iterable[CodeKey], *, precleaned: bool = False
) -> str:
    """One pass over a staged relation (text columns c0..c{width-1}): its row count,
    the redacted cells of every column (``r0``..), and the distinct cleaned values of
    every coded field with their counts, as grouping sets (``g_<key>`` is 0 on the
    rows of that key's set)."""
    keys = list(keys)
    exprs: list[str] = []
    sets: list[str] = []
    flags: list[str] = []
    for key in keys:
        names = []
        for i, sql in enumerate(key.key_sql(lambda c: c)):
            name = _q(f"k_{key.name}_{i}")
            exprs.append(f"{sql} AS {name}")
            names.append(name)
        sets.append("(" + ", ".join(names) + ")")
        flags.append(f"grouping({names[0]}) AS {_q('g_' + key.name)}")
    # a hash of every row's cells and line, summed (order-free): the content
    # fingerprint that finds the same rows in other bytes
    row_hash = f"hash({', '.join([*(f'c{i}' for i in range(width)), 'source_row'])}) AS h"
    inner = ", ".join([*exprs, *(f"r{i}" for i in range(width)), row_hash])
    outer = [
        *flags,
        *(e.rsplit(" AS ", 1)[1] for e in exprs),
        "count(*) AS n",
        *(f"count_if(r{i}) AS r{i}" for i in range(width)),
        "CAST(sum(h) % 18446744073709551616 AS UBIGINT) AS h",
    ]
    return (
        f"WITH k AS (SELECT {inner} FROM ({cleaned_sql(relation, width, precleaned=precleaned)})) "
        f"SELECT {', '.join(outer)} FROM k GROUP BY GROUPING SETS ({', '.join([*sets, '()'])})"
    )


def clean_view_sql(
    relation: str,
    width: int,
    keys: Iterable[CodeKey],
    tables: dict[str, str],
    *,
    precleaned: bool = False,
) -> str:
    """The staged rows with every cell cleaned and the codes of each lookup joined
    from its table (``tables``: key name -> registered table)."""
    cols = ", ".join([*(f"c{i}" for i in range(width)), "source_row"])
    select = ["b.*"]
    joins = []
    for j, key in enumerate(keys):
        alias = f"k{j}"
        parts = key.key_sql(lambda c: f"b.{c}")
        conds = []
        for i, sql in enumerate(parts):
            op = "=" if i == 0 else "IS NOT DISTINCT FROM"
            conds.append(f"{alias}.k{i} {op} {sql}")
        joins.append(f"LEFT JOIN {tables[key.name]} {alias} ON {' AND '.join(conds)}")
        select += [f"{alias}.{_q(c)}" for c in key.codes]
    return (
        f"SELECT {', '.join(select)} FROM (SELECT {cols} FROM "
        f"({cleaned_sql(relation, width, precleaned=precleaned)})) b " + " ".join(joins)
    )
