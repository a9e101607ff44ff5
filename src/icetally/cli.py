"""The `icetally` command: a thin layer over the Python API (icetally.api).

Options that name the vocabulary (filters, --by, --metric, --dataset, --db, --backend,
--json) are declared with ``icetally.vocabulary.cli.options``, never by hand.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from icetally import api
from icetally.api import (
    DEFAULT_MAX_WINDOW,
    DEFAULT_MIN_EXCESS,
    DEFAULT_THRESHOLD,
    BackendError,
    QueryError,
)
from icetally.schema import DATASETS
from icetally.vocabulary import AREAS, PATHWAYS_WORDS
from icetally.vocabulary.cli import Given, options


def user_errors() -> tuple[type[BaseException], ...]:
    """What a command reports as a plain error (exit 2) rather than a traceback. A
    function, so the modules that define them load only when an error is caught (an
    ``except`` clause evaluates its expression then): `icetally --help` stays fast."""
    return (
        api.QueryError,
        api.BackendError,
        api.ClaimsError,
        api.ReportError,
        api.ExportError,
        api.DemoError,
        api.StoreError,
        FileNotFoundError,
    )


app = typer.Typer(
    help="Verifiable answers from US immigration-enforcement records released under FOIA.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)


def _emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")


def _notes(notes: Iterable[str]) -> None:
    """A result's notes, on stderr so that the table on stdout stays clean."""
    for note in notes:
        err.print(f"[yellow]note:[/] {note}")


def _fail(message: str) -> NoReturn:
    """Stop the command with one line (exit 2; JSON with --json): ``Given.fail`` in
    icetally.vocabulary.cli prints it, as it prints every IcetallyError."""
    raise api.UsageError(message)


def _parse_mapping(text: str | None) -> dict[str, str] | None:
    """'date=event_date,city=facility_city' -> {'date': 'event_date', ...}."""
    if not text:
        return None
    from icetally.schema import FIELDS

    # Names users write for canonical fields (Deportation Data Project column names, the
    # issue's own spelling): accepted and mapped to the canonical field.
    aliases = {
        "detainer_lift_reason": "lift_reason",
        "facility_state": "state",
        "apprehension_state": "state",
        "apprehension_county": "county",
        "detention_facility": "facility",
        "detention_facility_code": "facility_code",
        "detainer_prepare_date": "event_date",
        "apprehension_date": "event_date",
        "date": "event_date",
        "apprehension_method": "method",
        "citizenship_country": "citizenship",
        "n": "count",  # a count table's count column (docs/counts.md)
    }
    mapping: dict[str, str] = {}
    for item in text.split(","):
        if "=" not in item:
            _fail(f"--columns item {item!r} is not RAW=FIELD")
        raw, fld = (s.strip() for s in item.split("=", 1))
        fld = aliases.get(fld, fld)
        if fld.startswith("count:"):  # a wide count table's column: count:state...
            if fld.split(":", 1)[1] not in AREAS:
                _fail(f"--columns {raw}={fld}: expected count:KIND, KIND one of {', '.join(AREAS)}")
        elif fld not in FIELDS:
            _fail(f"--columns maps {raw!r} to unknown field {fld!r}; fields: {', '.join(FIELDS)}")
        mapping[raw] = fld
    return mapping


@app.command()
@options("db", "json")
def ingest(
    given: Given,
    paths: list[Path] = typer.Argument(..., help="Release files or folders"),
    dataset: str | None = typer.Option(
        None, "--dataset", help=f"Dataset of a hand-made extract ({', '.join(DATASETS)})"
    ),
    columns: str | None = typer.Option(
        None,
        "--columns",
        help='Column mapping for an extract: "date=event_date,city=facility_city,..."; '
        'a count table\'s count column is "COL=n", a wide one\'s "TEXAS=count:state"',
    ),
) -> None:
    """Load release files into the store (format detected from content).

    Example: icetally ingest ../shared/data/ice-national-fy2016-2019/
    """
    db, as_json = given.db, given.as_json
    mapping = _parse_mapping(columns)
    if mapping is not None and dataset is None:
        _fail("--columns needs --dataset")
    show = not as_json and err.is_terminal
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
        console=err,
        disable=not show,
        transient=True,
    ) as bar:
        task: dict[str, Any] = {}

        def progress(event: str, **kw: Any) -> None:
            if event == "part":
                name = Path(kw["path"]).name + (f" [{kw['sheet']}]" if kw.get("sheet") else "")
                task["id"] = bar.add_task(name, total=kw.get("rows_hint"))
            elif event == "rows" and "id" in task:
                bar.advance(task["id"], kw["n"])
            elif event == "done" and not as_json:
                r = kw["result"]
                colour = {"loaded": "green", "skipped": "yellow"}.get(r.status, "red")
                err.print(
                    f"[{colour}]{r.status:8}[/] {r.path}  "
                    + (
                        f"{r.dataset} ({r.format}): {r.rows_loaded:,} loaded, "
                        f"{r.rows_quarantined:,} quarantined"
                        if r.status != "failed"
                        else f"{r.error}"
                    )
                    + (f"\n         {r.note}" if r.note else "")
                )
                if r.tables:
                    err.print(f"         {len(r.tables)} official tables found by title")
                for u in r.unrecognized:
                    err.print(
                        f"[yellow]warning:[/] unrecognized table title {u['title']!r} "
                        f"({u['sheet']}!{u['cell']}): not loaded"
                    )
                for w in r.warnings:
                    err.print(f"[yellow]warning:[/] {w}")

        try:
            results = api.ingest(paths, db=db, dataset=dataset, mapping=mapping, progress=progress)
        except (ValueError, OSError) as exc:
            # the store cannot be opened (locked, not a store, read-only): one line
            if as_json:
                _emit_json({"error": str(exc), "files": []})
                raise typer.Exit(2) from None
            _fail(str(exc))
    if as_json:
        _emit_json({"files": [r.to_dict() for r in results]})
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)


@app.command()
@options("db", "json")
def releases(given: Given) -> None:
    """List what is in the store: one row per ingested file or sheet."""
    try:
        rows = api.releases(db=given.db)
    except (FileNotFoundError, BackendError) as exc:
        _fail(str(exc))
    if given.emit({"releases": rows}):
        return
    t = Table("release", "file [sheet]", "dataset", "loaded", "quar.", "events", box=None)
    for r in rows:
        t.add_row(
            r["release_id"],
            r["file_name"] + (f" [{r['sheet']}]" if r["sheet"] else ""),
            r["dataset"],
            f"{r['rows_loaded']:,}",
            f"{r['rows_quarantined']:,}",
            f"{r['min_event_date'] or '?'} → {r['max_event_date'] or '?'}",
        )
    out.print(t)


@app.command()
@options("dataset", "area", "store", "json")
def coverage(given: Given) -> None:
    """The days the releases cover, with their gaps, overall and per area.

    Example: icetally coverage --area state
    """
    try:
        result = api.coverage(given.dataset, db=given.db, backend=given.backend, area=given.area)
    except (QueryError, BackendError, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    if given.emit(result):
        return
    spans = ", ".join(f"{s['from']} → {s['to']}" for s in result["spans"]) or "nothing"
    out.print(f"{given.dataset}: covered {spans}")
    for g in result["gaps"]:
        out.print(f"[yellow]gap[/] {g['from']} → {g['to']} (not covered: no records, not zeros)")
    t = Table(result["area"], "first", "last", "runs", "uncovered days", box=None)
    for code, a in result["areas"].items():
        t.add_row(code, a["start"], a["end"], f"{a['runs']:,}", f"{a['uncovered_days']:,}")
    out.print(t)


@app.command()
@options("dataset", "slice", "by", "store", "json")
def count(
    given: Given,
    fmt: str = typer.Option("table", "--format", help="table, csv or json"),
) -> None:
    """Count records in any slice.

    Example: icetally count --dataset arrests --from 2017-09-24 --to 2017-09-27 --by aor
    """
    dataset = given.dataset
    try:
        result = api.count(
            dataset, db=given.db, backend=given.backend, by=given.by, **given.filters
        )
    except (QueryError, BackendError, FileNotFoundError) as exc:
        _fail(str(exc))
    for w in result.warnings:
        err.print(f"[yellow]warning:[/] {w}")
    if given.as_json or fmt == "json":
        _emit_json(result.to_dict())
    elif fmt == "csv":
        sys.stdout.write(api.rows_csv(result.rows))  # formulas neutralized
    elif fmt == "table":
        keys = list(result.rows[0]) if result.rows else ["n"]
        t = Table(*keys, title=f"{dataset}: {result.total:,} records")
        for r in result.rows:
            t.add_row(
                *(f"{v:,}" if isinstance(v, int) and k == "n" else str(v) for k, v in r.items())
            )
        out.print(t)
    else:
        _fail(f"--format must be table, csv or json, not {fmt!r}")


# --- pathways (icetally.analysis.pathways) ---------------------------------------------------


def _print_pathways(d: dict[str, Any]) -> None:
    lr = d["linked_release"]
    out.print(
        f"[bold]{d['persons']:,} people, {d['episodes']:,} arrests[/] "
        f"(linked release {lr['id']}: {lr['label']}, extract date {lr['extract_date']})"
    )
    t = Table("outcome", "n", "share", box=None)
    for name, o in d["outcomes"].items():
        t.add_row(name, f"{o['n']:,}", _pct(o["share"]))
        for r in o.get("by_reason", []):
            t.add_row(f"  {r['reason']}", f"{r['n']:,}", _pct(r["share"]))
    out.print(t)
    for key, label in (("days_detained", "days detained"), ("days_to_removal", "days to removal")):
        q = d[key]
        out.print(
            f"{label}: median {q['median']}, p25 {q['p25']}, p75 {q['p75']}, p90 {q['p90']} "
            f"(n {q['n']:,})"
        )
    m = d["match_rates"]
    out.print(
        "match rates: "
        + ", ".join(
            f"{k.replace('_', ' ')} {_pct(v['rate'])} ({v['n']}/{v['of']})" for k, v in m.items()
        )
    )
    comp = d.get("comparison")
    if comp:
        group = "campaign" if "campaign" in comp else "surge"
        t = Table("", group, "weeks before", "difference", "95% interval", box=None)
        for row in comp["differences"]:
            t.add_row(
                row["figure"],
                str(row["surge"]),
                str(row["before"]),
                str(row["difference"]),
                f"{row['low']} … {row['high']}" if row["low"] is not None else "—",
            )
        out.print(t)


@app.command()
@options(*PATHWAYS_WORDS, "store", "json")
def pathways(
    given: Given,
    surge: str | None = typer.Option(
        None, "--surge", help="A surge id (see surges): against the weeks before"
    ),
    campaign: str | None = typer.Option(
        None, "--campaign", help="A campaign id (see campaigns): against the weeks before"
    ),
    weeks_before: int = typer.Option(
        4, "--weeks-before", help="Weeks before the surge to compare with"
    ),
) -> None:
    """What happened to the people arrested: detained, released, removed (one linked release).

    Example: icetally pathways --from 2024-01-01 --to 2024-12-31 --aor SEA
    """
    try:
        with given.store() as store:
            result = api.pathways(
                store,
                by=given.by,
                surge=surge,
                campaign=campaign,
                weeks_before=weeks_before,
                **given.filters,
            )
    except (QueryError, BackendError, FileNotFoundError, api.StoreError) as exc:
        _fail(str(exc))
    d = result.to_dict()
    for w in d.get("warnings", []):
        err.print(f"[yellow]warning:[/] {w}")
    if not given.emit(d):
        _print_pathways(d)


# --- jurisdictions and cooperation (icetally.analysis.jurisdictions) ----------------------------


def _pct(v: Any) -> str:
    return "" if v is None else f"{v:.1%}"


@app.command()
@options("window", "release", "store", "json")
def cooperation(
    given: Given,
    county: str | None = typer.Option(None, "--county", help="County FIPS or 'Name County, ST'"),
    facility: str | None = typer.Option(None, "--facility", help="Facility name (or part)"),
    aor: str | None = typer.Option(None, "--aor", help="AOR code, e.g. PHI"),
    level: str | None = typer.Option(
        None, "--level", help="Rows per facility, county or aor (default: the selector's)"
    ),
    by: str = typer.Option("month", "--by", help="month, quarter or year"),
    min_detainers: int = typer.Option(
        30, "--min-detainers", help="Fewest detainers on each side of a change point"
    ),
    alpha: float = typer.Option(0.01, "--alpha", help="Significance level of a change point"),
    min_shift: float = typer.Option(
        0.05, "--min-shift", help="Smallest decline-rate shift reported as a change"
    ),
) -> None:
    """Detainer outcomes as a cooperation signal: detainers issued, declined by the
    local agency, booked, lifted; decline rates with 95% Wilson intervals; dated change
    points in a facility's, county's or AOR's decline rate.

    Example: icetally cooperation --county 42101 --by quarter --json
    """
    as_json = given.as_json
    try:
        res = api.cooperation(
            given.db,
            county=county,
            facility=facility,
            aor=aor,
            level=level,
            by=by,
            **given.filters,
            backend=given.backend,
            min_n=min_detainers,
            alpha=alpha,
            min_shift=min_shift,
        )
    except (QueryError, BackendError, FileNotFoundError) as exc:
        _fail(str(exc))
    if as_json:
        _emit_json(res)
        return
    rs = res["resolution"]
    err.print(
        f"{rs['resolved_county']:,} of {rs['detainers']:,} detainers placed in a county "
        f"({_pct(rs['share'])})"
        + (
            "; unresolved: "
            + ", ".join(f"{u['facility']} ({u['city']}) {u['n']}" for u in rs["unresolved"][:5])
            if rs["unresolved"]
            else ""
        )
    )
    name_of = {"facility": "facility", "county": "county", "aor": "aor"}[res["level"]]
    t = Table(
        res["level"],
        "period",
        "detainers",
        "declined",
        "rate",
        "95% CI",
        "booked",
        "lifted",
        title="Detainer outcomes",
    )
    for s in res["series"]:
        t.add_row(
            str(s.get(name_of) or s["jurisdiction"]),
            s["period"],
            f"{s['detainers']:,}",
            f"{s['declined']:,}",
            _pct(s["decline_rate"]),
            f"{_pct(s['low'])}–{_pct(s['high'])}",
            f"{s['booked']:,}",
            f"{s['lifted']:,}",
        )
    out.print(t)
    c = Table(
        res["level"],
        "date",
        "before",
        "after",
        "detainers before/after",
        "p",
        title="Changes in decline practice",
    )
    for ch in res["changes"]:
        c.add_row(
            str(ch.get(name_of) or ch["jurisdiction"]),
            str(ch["date"]),
            _pct(ch["before_rate"]),
            _pct(ch["after_rate"]),
            f"{ch['before_detainers']:,} / {ch['after_detainers']:,}",
            f"{ch['p_value']:.3f}",
        )
    out.print(c)


jurisdictions_app = typer.Typer(
    help="Cooperation status and enforcement intensity per county or AOR; `load` adds "
    "287(g) lists and policy tables.",
    invoke_without_command=True,
    no_args_is_help=False,
)
app.add_typer(jurisdictions_app, name="jurisdictions")


@jurisdictions_app.callback()
@options("store", "json")
def jurisdictions(
    given: Given,
    ctx: typer.Context,
    by_aor: bool = typer.Option(False, "--aor", help="One row per AOR instead of per county"),
    in_aor: str | None = typer.Option(None, "--in-aor", help="Only counties of this AOR"),
    state: str | None = typer.Option(None, "--state", help="Only counties of this state"),
    on: str | None = typer.Option(
        None, "--on", help="Date for agreements and policies in force (default: latest list)"
    ),
    show_all: bool = typer.Option(
        False, "--all", help="Include counties with no agreement, policy, detainer or arrest"
    ),
) -> None:
    """One row per county (or AOR with --aor): 287(g) agreements, policies, detainer
    declines, arrests per 100,000 residents and at-large share.

    Example: icetally jurisdictions --aor --json
    """
    if ctx.invoked_subcommand is not None:
        return
    db, backend, as_json = given.db, given.backend, given.as_json
    try:
        res = api.jurisdictions(
            db,
            level="aor" if by_aor else "county",
            on=on,
            aor=in_aor,
            state=state,
            only_active=not show_all and not by_aor,
            backend=backend,
        )
    except (QueryError, BackendError, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    _notes(res["warnings"])
    if as_json:
        _emit_json(
            {
                "level": res["level"],
                "on": res["on"],
                "rows": res["rows"],
                "warnings": res["warnings"],
            }
        )
        return
    key = "aor" if by_aor else "county"
    t = Table(
        key,
        "population",
        "287(g)",
        "models",
        "policies",
        "detainers",
        "declined",
        "arrests/100k/yr",
        "at-large",
        "status",
    )
    for r in res["rows"]:
        t.add_row(
            str(r[key]),
            f"{r['population']:,}" if r.get("population") else "",
            str(r["g287_agreements"]),
            ",".join(r["g287_models"]),
            "; ".join(r["policies"]),
            f"{r['detainers']:,}",
            _pct(r["decline_rate"]),
            f"{r['arrests_per_100k_per_year']:.1f}" if r["arrests_per_100k_per_year"] else "",
            _pct(r["at_large_share"]),
            r["cooperation"],
        )
    out.print(t)


@jurisdictions_app.command("load")
@options("db", "json")
def jurisdictions_load(
    given: Given,
    paths: list[Path] = typer.Argument(None, help="287(g) list files or folders"),
    policies: Path | None = typer.Option(
        None, "--policies", help="Policy table CSV (docs/jurisdictions.md)"
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Date of the lists (default: a date in the file name)"
    ),
) -> None:
    """Load 287(g) agreement lists (xlsx/csv, detected from their headers) and/or a
    policy table into the store.

    Example: icetally jurisdictions load ../shared/data/287g/ --policies my-policies.csv
    """
    from datetime import date as _date

    db, as_json = given.db, given.as_json
    if not paths and policies is None:
        _fail("give 287(g) list files/folders and/or --policies CSV")
    results = []
    try:
        when = _date.fromisoformat(as_of) if as_of else None
        if paths:
            results += api.load_287g(paths, db, as_of=when)
        if policies is not None:
            results.append(api.load_policies(policies, db))
    except (ValueError, OSError) as exc:
        _fail(str(exc))
    if as_json:
        _emit_json({"files": [r.to_dict() for r in results]})
    else:
        for r in results:
            colour = "green" if r.status == "loaded" else "red"
            err.print(
                f"[{colour}]{r.status:8}[/] {r.path}  "
                + (
                    f"{r.kind}: {r.rows_loaded:,} loaded of {r.rows_read:,} rows "
                    f"({r.rows_blank:,} blank, {r.rows_rejected:,} rejected), "
                    f"{r.resolved_county:,} placed in a county"
                    + (f"; unresolved: {len(r.unresolved)}" if r.unresolved else "")
                    if r.status == "loaded"
                    else str(r.error)
                )
            )
    if any(r.status != "loaded" for r in results):
        raise typer.Exit(1)


@app.command()
@options(
    "dataset",
    "window",
    "metric",
    "store",
    "json",
    defaults={"metric": "at_large"},
    help={"metric": "at_large, custodial, other, all"},
)
def intensity(
    given: Given,
    by_county: bool = typer.Option(False, "--by-county", help="Rows per county, not AOR"),
    by: str = typer.Option("fiscal_year", "--by", help="fiscal_year, year, quarter, month, none"),
    aor: str | None = typer.Option(None, "--aor", help="AOR codes"),
    county: str | None = typer.Option(None, "--county", help="County FIPS or 'Name County, ST'"),
    change: str | None = typer.Option(
        None, "--change", help="With --county: difference in differences around this date"
    ),
    period_days: int = typer.Option(28, "--period-days"),
    window_days: int = typer.Option(365, "--window-days"),
) -> None:
    """Enforcement intensity: arrests per 100,000 residents and at-large / custodial
    shares by AOR (or county) and period; with --county and --change, the difference in
    differences of the county's arrests against the other counties.

    Example: icetally intensity --by fiscal_year --json
    """
    db, backend, as_json = given.db, given.backend, given.as_json
    dataset, metric = given.dataset, given.metric
    date_from, date_to = given.filters.get("date_from"), given.filters.get("date_to")
    try:
        if change:
            if not county:
                _fail("--change needs --county")
            res = api.did(
                db,
                county=county,
                change=change,
                metric=metric,
                dataset=dataset,
                period_days=period_days,
                window_days=window_days,
                backend=backend,
            )
            if as_json:
                _emit_json({"did": res})
            else:
                out.print(
                    f"{res['county']}: {res['metric']} arrests per {period_days} days "
                    f"{res['treated_before']:.1f} → {res['treated_after']:.1f}; comparison "
                    f"{res['control_before']:.1f} → {res['control_after']:.1f}; "
                    f"difference in differences {res['estimate']:+.1f}"
                    + (f" (95% CI {res['low']:+.1f} to {res['high']:+.1f})" if res["se"] else "")
                )
            return
        res = api.intensity(
            db,
            level="county" if by_county or county else "aor",
            by=by,
            dataset=dataset,
            aor=aor,
            county=county,
            date_from=date_from,
            date_to=date_to,
            backend=backend,
        )
    except (QueryError, BackendError, FileNotFoundError) as exc:
        _fail(str(exc))
    if as_json:
        _emit_json(res)
        return
    key = "county" if res["level"] == "county" else "aor"
    t = Table(key, "period", "arrests", "per 100k", "at-large", "custodial")
    for r in res["rows"]:
        t.add_row(
            str(r[key]),
            r["period"],
            f"{r['arrests']:,}",
            f"{r['per_100k']:.1f}" if r["per_100k"] is not None else "",
            _pct(r["at_large_share"]),
            _pct(r["custodial_share"]),
        )
    out.print(t)


# --- check: claims against the records (icetally.analysis.claims) ---------------------

_VERDICT_STYLE = {
    "consistent": "green",
    "overstated": "red",
    "understated": "yellow",
    "exceeds_records": "red",
    "below_excess": "yellow",
    "unverifiable": "dim",
}


def _claim_number(r: dict[str, Any], key: str) -> str:
    v = r.get(key)
    if v is None:
        return ""
    text = f"{v:,.0f}"
    if r.get("measure") == "share" and key in ("stated", "observed"):
        text = f"{v:.0%}" if key == "stated" else f"{v:.1%}"
    if key == "stated":
        text = {"more_than": ">", "fewer_than": "<"}.get(r.get("qualifier") or "", "") + text
    return text


@app.command()
@options("store", "json")
def check(
    given: Given,
    claims_file: Path | None = typer.Argument(None, help="Claims YAML (see docs/claims.md)"),
    text: Path | None = typer.Option(
        None, "--text", help="Press release or news story (plain text): extract, then check"
    ),
    published: str | None = typer.Option(
        None, "--published", help="Publication date YYYY-MM-DD (year for dates without one)"
    ),
    write_claims: Path | None = typer.Option(
        None, "--write-claims", help="With --text: write the extracted claims YAML here"
    ),
    tolerance: float | None = typer.Option(
        None, "--tolerance", help="Default tolerance for claims without one (e.g. 0.1)"
    ),
) -> None:
    """Check a press release's numbers against the records: verdict, observed, baseline.

    Examples: icetally check examples/claims/2018-02-los-angeles.yaml
              icetally check --text release.txt --published 2019-10-07 --write-claims c.yaml
    """
    from datetime import date as _date

    db, backend, as_json = given.db, given.backend, given.as_json
    if (claims_file is None) == (text is None):
        _fail("give a claims file or --text FILE (one of the two)")
    if write_claims is not None and text is None:
        _fail("--write-claims needs --text")
    try:
        if text is not None:
            try:
                if text.stat().st_size > 4 * api.MAX_TEXT_CHARS:  # 4 bytes per character at most
                    raise api.TextTooLong(text.stat().st_size)
                body = text.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                _fail(f"{text}: cannot read: {exc}")
            except api.TextTooLong as exc:
                _fail(f"{text}: {exc}")
            if published:
                try:
                    _date.fromisoformat(published)
                except ValueError:
                    _fail(f"--published must be YYYY-MM-DD, got {published!r}")
            ex, report = api.check_text(
                body,
                db,
                published=published,
                source=str(text),
                backend=backend,
                tolerance=tolerance,
                write_claims=write_claims,
            )
            if write_claims is not None and not as_json:
                err.print(f"wrote {len(ex.claims)} claims to {write_claims}")
            for warning in ex.warnings:
                err.print(f"[yellow]warning:[/] {warning}")
        else:
            assert claims_file is not None
            report = api.check(claims_file, db, backend=backend, tolerance=tolerance)
    except user_errors() as exc:
        _fail(str(exc))
    if as_json:
        result = report.to_dict()
        if text is not None and ex.warnings:
            result["warnings"] = list(ex.warnings)
        _emit_json(result)
        return
    t = Table(title="claims against the records")
    t.add_column("id", overflow="fold", min_width=14)
    t.add_column("measure", no_wrap=True)
    t.add_column("verdict", no_wrap=True)
    for name in ("stated", "observed", "expected", "excess"):
        t.add_column(name, justify="right")
    for r in report.results:
        style = _VERDICT_STYLE.get(r["verdict"], "")
        t.add_row(
            r["id"],
            r["measure"],
            f"[{style}]{r['verdict']}[/]",
            _claim_number(r, "stated"),
            _claim_number(r, "observed"),
            _claim_number(r, "expected"),
            _claim_number(r, "excess"),
        )
    out.print(t)
    for r in report.results:
        style = _VERDICT_STYLE.get(r["verdict"], "")
        out.print(f"[bold]{r['id']}[/] [{style}]{r['verdict']}[/]: {r['explanation']}")


@app.command()
@options("db", "json")
def official(
    given: Given,
    table: str | None = typer.Argument(
        None, help="Official table (book_ins, adp, alos, currently_detained, releases, ...)"
    ),
    fiscal_year: str | None = typer.Option(
        None, "--fiscal-year", help="Fiscal year(s): 2019, 2019,2020 or 2019-2026"
    ),
    snapshot: str = typer.Option(
        "latest", "--snapshot", help="latest (default), all, or a snapshot date YYYY-MM-DD"
    ),
    by: str | None = typer.Option(None, "--by", help="Dimensions: arresting_agency,month,..."),
    agency: str | None = typer.Option(None, "--agency", help="Arresting agency: ICE, CBP, Total"),
    criminality: str | None = typer.Option(None, "--criminality", help="Criminality as printed"),
    month: str | None = typer.Option(None, "--month", help="Month(s) YYYY-MM"),
    facility_type: str | None = typer.Option(None, "--facility-type", help="FRC, FSC, Adult"),
    aor: str | None = typer.Option(None, "--aor", help="AOR code(s)"),
    facility: str | None = typer.Option(None, "--facility", help="Facility name as printed"),
    where: list[str] = typer.Option(  # noqa: B008 - Typer's idiom
        [], "--filter", help="Any dimension: DIM=VALUE[,VALUE] (repeatable)"
    ),
    measure: str | None = typer.Option(None, "--measure", help="Measure (adp, alos, ...)"),
    breakdown: str | None = typer.Option(None, "--breakdown", help="One of the table's breakdowns"),
    placeholders: bool = typer.Option(
        False, "--placeholders", help="Include the zeros printed for months after the data end"
    ),
    run_check: bool = typer.Option(
        False, "--check", help="Check every printed total against its parts"
    ),
    show_revisions: bool = typer.Option(
        False, "--revisions", help="Figures that changed between snapshots"
    ),
) -> None:
    """ICE's published detention statistics: query them, check their totals, list
    their revisions. Without TABLE: the tables, their coverage and snapshots.

    Example: icetally official book_ins --fiscal-year 2019 --by arresting_agency,month
    """
    db, as_json = given.db, given.as_json
    try:
        if run_check:
            report = api.official_check(db=db, fiscal_year=fiscal_year)
            if as_json:
                _emit_json(report.to_dict())
            else:
                _print_official_check(report)
            if report.inconsistencies:
                raise typer.Exit(1)
            return
        if show_revisions:
            revs = api.official_revisions(db=db, table=table, fiscal_year=fiscal_year)
            if as_json:
                _emit_json({"revisions": revs})
            else:
                _print_revisions(revs)
            return
        if table is None:
            listing = api.official(db=db)
            if as_json:
                _emit_json({"tables": listing})
                return
            t = Table("table", "figures", "fiscal years", "months", "snapshots", box=None)
            for e in listing:
                t.add_row(
                    e["table"],
                    f"{e['figures']:,}",
                    "–".join(str(y) for y in dict.fromkeys(e["fiscal_years"])),
                    "–".join(str(m) for m in dict.fromkeys(e["months"]) if m) or "",
                    f"{len(e['snapshots'])}: {e['snapshots'][0]} … {e['snapshots'][-1]}",
                )
            out.print(t)
            return
        filters: dict[str, Any] = {
            "arresting_agency": agency,
            "criminality": criminality,
            "month": month,
            "facility_type": facility_type,
            "aor": aor,
            "facility_name": facility,
        }
        for item in where:
            if "=" not in item:
                _fail(f"--filter {item!r} is not DIM=VALUE")
            k, v = item.split("=", 1)
            filters[k.strip()] = v
        result = api.official(
            table,
            db=db,
            fiscal_year=fiscal_year,
            snapshot=snapshot,
            by=by,
            measure=measure,
            breakdown=breakdown,
            placeholders=placeholders,
            **filters,
        )
    except (api.OfficialQueryError, FileNotFoundError, BackendError) as exc:
        _fail(str(exc))
    if as_json:
        _emit_json(result.to_dict())
        return
    _print_official_rows(result.rows)
    for w in result.warnings:
        err.print(f"[yellow]warning:[/] {w}")


def _fmt_value(v: Any, unit: str | None) -> str:
    if v is None:
        return ""
    if unit == "share":
        return f"{v:.1%}"
    if float(v).is_integer():
        return f"{int(v):,}"
    return f"{v:,.2f}"


def _print_official_rows(rows: list[dict[str, Any]]) -> None:
    fixed = {"table", "breakdown", "measure", "value", "value_text", "unit", "source"}
    dims = list(dict.fromkeys(k for r in rows for k in r if k not in fixed))
    t = Table(*dims, "measure", "value", "unit", "source", box=None)
    for r in rows:
        src = r["source"]
        t.add_row(
            *[str(r.get(d) if r.get(d) is not None else "") for d in dims],
            r["measure"],
            r.get("value_text") or _fmt_value(r["value"], r["unit"]),
            r["unit"],
            f"{src['file']} {src['sheet'].strip()}!{src['cell']}",
        )
    out.print(t)


def _print_official_check(report: Any) -> None:
    out.print(
        f"{len(report.checks):,} printed totals checked against their parts in "
        f"{len(report.files)} workbooks: {len(report.inconsistencies)} inconsistent"
    )
    t = Table("file", "sheet!cell", "rule", "printed", "parts give", "part cells", box=None)
    for c in report.inconsistencies:
        expected = _fmt_value(c.expected, None) if c.expected is not None else f"{c.low}–{c.high}"
        t.add_row(
            c.file,
            f"{c.sheet.strip()}!{c.total_cell}",
            f"{c.rule} over {c.dimension}",
            _fmt_value(c.total, None),
            expected,
            ",".join(c.parts[:14]) + (" …" if len(c.parts) > 14 else ""),
        )
    out.print(t)


def _print_revisions(revs: list[dict[str, Any]]) -> None:
    out.print(f"{len(revs):,} published figures changed between snapshots")
    t = Table("table", "fiscal year", "figure", "versions", box=None)
    skip = {"table", "breakdown", "fiscal_year", "unit", "change", "versions", "measure"}
    for r in revs[:200]:
        figure = ", ".join(f"{k}={v}" for k, v in r.items() if k not in skip)
        versions = "; ".join(
            f"{v['snapshot']}: {_fmt_value(v['value'], r['unit'])} ({v['source']['cell']})"
            for v in r["versions"]
        )
        t.add_row(r["table"], str(r["fiscal_year"]), f"{r['measure']} {figure}", versions)
    out.print(t)


@app.command()
@options("db", "json")
def reconcile(
    given: Given,
    official_table: str = typer.Option("book_ins", "--official", help="Official table"),
    agency: str = typer.Option("ICE", "--agency", help="Arresting agency as printed"),
    records: str = typer.Option("arrests", "--records", help="Records dataset"),
    by: str = typer.Option("month", "--by", help="month"),
    fiscal_year: str | None = typer.Option(None, "--fiscal-year", help="Fiscal year(s)"),
    snapshot: str = typer.Option("latest", "--snapshot", help="latest, or a date"),
) -> None:
    """Records against ICE's official figures, month by month: records, official,
    difference, ratio, status (match within 1%, differs, records_missing,
    official_missing) and the documented reasons the two measures differ.

    Example: icetally reconcile --official book_ins --agency ICE --records arrests --by month
    """
    db, as_json = given.db, given.as_json
    try:
        result = api.reconcile(
            db=db,
            official=official_table,
            agency=agency,
            records=records,
            by=by,
            fiscal_year=fiscal_year,
            snapshot=snapshot,
        )
    except (api.OfficialQueryError, ValueError, FileNotFoundError, BackendError) as exc:
        _fail(str(exc))
    if as_json:
        _emit_json(result.to_dict())
        return
    t = Table(
        "month",
        records,
        f"official {official_table} ({agency})",
        "difference",
        "ratio",
        "status",
        "official cell",
        box=None,
    )
    for r in result.rows:
        src = r.get("source")
        t.add_row(
            r["month"],
            _fmt_value(r["records"], None),
            _fmt_value(r["official"], None),
            _fmt_value(r.get("difference"), None),
            f"{r['ratio']:.3f}" if r.get("ratio") is not None else "",
            r["status"],
            f"{src['file']} {src['sheet'].strip()}!{src['cell']}" if src else "",
        )
    out.print(t)
    out.print("Why the two differ:")
    for reason in result.reasons:
        out.print(f"  - {reason}")


@app.command()
@options("db", "json")
def export(
    given: Given,
    parquet: Path = typer.Option(
        ...,
        "--parquet",
        help="Output directory: new, empty, or an earlier icetally export (replaced)",
    ),
) -> None:
    """Export the store as Parquet, partitioned by dataset and fiscal year, with the
    releases manifest, for Spark (--backend spark --db DIR) or any Parquet reader.

    Example: icetally export --parquet ice-parquet/
    """
    import duckdb

    try:
        manifest = api.export(parquet, given.db)
    except (*user_errors(), duckdb.Error) as exc:
        _fail(str(exc))
    if given.emit(manifest):
        return
    t = Table("table", "rows", "fiscal-year partitions", box=None, title=str(parquet))
    for name, info in manifest["tables"].items():
        t.add_row(name, f"{info['rows']:,}", ", ".join(info["partitions"]) or "-")
    out.print(t)


@app.command()
@options(
    "dataset",
    "metric",
    "area",
    "window",
    "filters",
    "store",
    "json",
    help={
        "dataset": "Any dataset with an event date",
        "date_from": "Report campaigns overlapping this day or later",
        "date_to": "... up to this day (inclusive)",
    },
)
def campaigns(
    given: Given,
    min_weeks: int = typer.Option(2, "--min-weeks", help="Shortest campaign, in weeks"),
    max_weeks: int = typer.Option(
        26, "--max-weeks", help="Longest campaign, in weeks (longer rises are level changes)"
    ),
) -> None:
    """Find campaigns: rises of weeks to months in an area that come back down, with
    the records above the area's normal level; and level changes (rises that stay).

    Example: icetally campaigns --area state --from 2025-08-01
    """
    try:
        with given.store() as store:
            result = api.campaigns(
                given.dataset,
                store,
                metric=given.metric,
                area=given.area,
                min_weeks=min_weeks,
                max_weeks=max_weeks,
                **given.filters,
            )
    except (QueryError, BackendError, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    if given.emit(result.to_dict()):
        return
    _notes(result.notes)
    t = Table(
        "id",
        "area",
        "window",
        "weeks",
        "observed",
        "expected",
        "excess (95%)",
        "ratio",
        title=f"{given.dataset} campaigns by {given.area} ({given.metric}): "
        f"{len(result.campaigns)}",
        box=None,
    )
    for c in result.campaigns:
        t.add_row(
            c.id,
            c.area,
            f"{c.start} → {c.end}" + (" (ongoing)" if c.ongoing else ""),
            f"{c.weeks:g}",
            f"{c.observed:,}",
            f"{c.expected:,.0f}",
            f"{c.excess:,.0f} ({c.excess_low:,.0f}–{c.excess_high:,.0f})",
            f"{c.ratio:.2f}" if c.ratio is not None else "-",
        )
    out.print(t)
    if result.level_changes:
        lt = Table("area", "date", "before /day", "after /day", title="level changes", box=None)
        for ch in result.level_changes:
            lt.add_row(ch.area, str(ch.date), f"{ch.before:,.1f}", f"{ch.after:,.1f}")
        out.print(lt)


@app.command()
@options(
    "dataset",
    "metric",
    "area",
    "window",
    "aor",
    "state",
    "store",
    "json",
    help={
        "dataset": "Any dataset with an event date",
        "date_from": "Report windows from this day",
        "date_to": "... to this day (inclusive)",
        "aor": "AOR codes, e.g. ATL,CHI",
    },
)
def surges(
    given: Given,
    min_excess: float = typer.Option(
        DEFAULT_MIN_EXCESS,
        "--min-excess",
        help="Smallest excess (records above baseline) to report",
    ),
    threshold: float = typer.Option(
        DEFAULT_THRESHOLD,
        "--threshold",
        help="Largest p-value (chance per AOR-year under no surge)",
    ),
    max_window: int = typer.Option(
        DEFAULT_MAX_WINDOW, "--max-window", help="Longest window in days"
    ),
) -> None:
    """Find enforcement operations: multi-day windows above each area's baseline
    (per AOR; --area state or county for count tables or records with those).

    Example: icetally surges --metric at_large --from 2017-02-01 --to 2017-02-28
    """
    dataset, metric = given.dataset, given.metric
    try:
        result = api.surges(
            dataset,
            metric=metric,
            area=given.area,
            db=given.db,
            backend=given.backend,
            **given.filters,
            min_excess=min_excess,
            threshold=threshold,
            max_window=max_window,
        )
    except (QueryError, BackendError, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    if given.emit(result.to_dict()):
        return
    _notes(result.notes)
    t = Table(
        "id",
        "window",
        AREAS[result.area].plural if result.area in AREAS else "areas",
        "observed",
        "expected",
        "excess (95%)",
        "p",
        title=f"{dataset} surges ({metric}): {len(result.surges)}",
        box=None,
    )
    for s in result.surges:
        t.add_row(
            s.id,
            f"{s.start} → {s.end}",
            ", ".join(f"{a.aor} {a.start:%m-%d}→{a.end:%m-%d}" for a in s.aors),
            f"{s.observed:,}",
            f"{s.expected:,.0f}",
            f"{s.excess:,.0f} ({s.excess_low:,.0f}–{s.excess_high:,.0f})",
            f"{s.p_value:.1g}",
        )
    out.print(t)


@app.command()
@options("db")
def serve(
    given: Given,
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to bind (default: this machine only)"
    ),
    port: int = typer.Option(8000, "--port", help="TCP port"),
    warm: bool = typer.Option(
        True, "--warm/--no-warm", help="Compute the overview's surge scan at start-up"
    ),
    workers: int = typer.Option(
        1, "--workers", min=1, max=32, help="Server processes (each with its own caches)"
    ),
    client_timeout: float = typer.Option(
        10.0,
        "--client-timeout",
        min=0.1,
        max=600,
        help="Seconds a client has to send a request's headers, and its body (then 408)",
    ),
) -> None:
    """Serve the dashboard and the JSON API over the store, read-only (docs/web.md).

    Example: icetally serve --db ice.duckdb   then open http://127.0.0.1:8000/
    """
    import os

    db = given.db
    try:
        import uvicorn  # noqa: F401 - the web extra is installed

        from icetally.web import Limits, create_app
        from icetally.web.server import run as run_server
    except ImportError as exc:
        from icetally.install import needs

        _fail(needs("the web server", exc))
    path = api.Store.open(db).path
    assert path is not None
    if not path.exists():
        _fail(f"no store at {path}: run `icetally ingest FILES --db {path}` first")
    if host not in ("127.0.0.1", "localhost", "::1"):
        # Binding elsewhere is allowed but must be a choice: the server has no auth.
        err.print(f"[yellow]warning:[/] listening on {host}: reachable from other machines")
    err.print(f"icetally: serving {path} (read-only) on http://{host}:{port}/")
    # Counts being computed hold the GIL for tens of milliseconds of Ibis compilation;
    # a shorter switch interval lets cached answers on the event loop through sooner.
    sys.setswitchinterval(0.001)
    if workers == 1:
        from icetally.web.app import settle_heap

        web_app = create_app(path, warm=warm, limits=Limits(body_timeout=client_timeout))
        settle_heap()
        # uvicorn with limits on slow and idle clients (icetally.web.server)
        run_server(
            web_app, host=host, port=port, client_timeout_s=client_timeout, log_level="warning"
        )
        return
    # Several processes: each imports the app factory and opens the store read-only
    # itself (DuckDB lets any number of processes read one file).
    os.environ["ICETALLY_DB"] = str(path.resolve())
    os.environ["ICETALLY_WEB_WARM"] = "1" if warm else "0"
    run_server(
        "icetally.web.app:app_from_env",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        client_timeout_s=client_timeout,
        log_level="warning",
    )


@app.command()
@options(
    "window",
    "aor",
    "dataset",
    "metric",
    "store",
    "json",
    help={
        "date_from": "First day of the window",
        "date_to": "Last day of the window (inclusive)",
        "dataset": "Dataset the report is about",
        "metric": "all or at_large (custodial, other)",
    },
)
def report(
    given: Given,
    output: Path = typer.Option(..., "-o", "--output", help="HTML file to write"),
    surge: str | None = typer.Option(None, "--surge", help="A surge id from `icetally surges`"),
    campaign: str | None = typer.Option(
        None, "--campaign", help="A campaign id from `icetally campaigns`"
    ),
    claims: list[Path] | None = typer.Option(
        None, "--claims", help="Claims YAML to check in the report (repeatable)"
    ),
) -> None:
    """Write one self-contained HTML report (offline, printable) for a window or a surge.

    Examples: icetally report --from 2018-02-25 --to 2018-02-28 --aor SFR -o sfr.html
              icetally report --surge 2019-09-21-10aors-d3b85f --metric at_large -o op.html
              icetally report --campaign IL-20250908 -o chicago.html
    """
    date_from, date_to = given.filters.get("date_from"), given.filters.get("date_to")
    if surge and (date_from or date_to):
        _fail("give either --surge ID or --from/--to, not both")
    if campaign and (surge or date_from or date_to):
        _fail("give either --campaign ID, --surge ID or --from/--to")
    try:
        path = api.write_report(
            output,
            given.db,
            date_from=date_from,
            date_to=date_to,
            surge_id=surge,
            campaign_id=campaign,
            aor=given.filters.get("aor"),
            claims=[str(c) for c in claims] if claims else None,
            dataset=given.dataset,
            metric=given.metric,
            backend=given.backend,
        )
    except user_errors() as exc:
        _fail(str(exc))
    if given.emit({"report": str(path), "bytes": path.stat().st_size}):
        return
    out.print(f"wrote {path} ({path.stat().st_size / 1024:,.0f} KiB)")


@app.command()
@options("json")
def demo(
    given: Given,
    directory: Path = typer.Option(Path("icetally-demo"), "--dir", help="Where to write"),
    rows: int | None = typer.Option(
        None,
        "--rows",
        help="Arrest rows to generate (more rows = a longer history at the calibrated "
        "daily volume; ~1.05M+ rows spill onto a second sheet). Default: Oct 2018-Dec 2019",
    ),
    db: str | None = typer.Option(
        None, "--db", help="Store to build (default DIR/demo.duckdb; never a real store)"
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed"),
) -> None:
    """SYNTHETIC demo: write a calibrated synthetic release with the September 2019
    surge planted, ingest it, find surges, check the article's claims, write a report.

    Example: icetally demo --dir icetally-demo
    """
    as_json = given.as_json
    say = (lambda _m: None) if as_json else (lambda m: err.print(m, highlight=False))
    err.print(f"[bold red]{api.DEMO_BANNER}[/]")
    try:
        res = api.run_demo(directory, rows=rows, db=db, seed=seed, say=say)
    except (api.DemoError, ValueError) as exc:
        _fail(str(exc))
    if as_json:
        _emit_json(res.to_dict())
        return
    t = Table(
        "AOR",
        "planted",
        "found",
        "window",
        "observed",
        "expected",
        "excess",
        title="SYNTHETIC: the planted September 21-25, 2019 surge vs what icetally finds",
        box=None,
    )
    for r in res.planted_vs_found():
        t.add_row(
            r["aor"],
            str(r["planted"]),
            "yes" if r["found"] else "[red]no[/]",
            r["window"] or "",
            "" if r["observed"] is None else f"{r['observed']:,}",
            "" if r["expected"] is None else f"{r['expected']:,.1f}",
            "" if r["excess"] is None else f"{r['excess']:,.1f}",
        )
    out.print(t)
    if res.surge is not None:
        s = res.surge
        out.print(
            f"operation {s.id}: {s.start} to {s.end}, observed {s.observed:,}, expected "
            f"{s.expected:,.0f}, excess {s.excess:,.0f} "
            f"({s.excess_low:,.0f}-{s.excess_high:,.0f}); planted 597"
        )
    if res.claims:
        c = Table(
            "claim",
            "verdict",
            "stated",
            "observed",
            "expected",
            "excess",
            box=None,
            title=f"SYNTHETIC: {res.claims_file.name if res.claims_file else 'claims'}",
        )
        for r in res.claims:
            style = _VERDICT_STYLE.get(r["verdict"], "")
            c.add_row(
                r["id"],
                f"[{style}]{r['verdict']}[/]",
                _claim_number(r, "stated"),
                _claim_number(r, "observed"),
                _claim_number(r, "expected"),
                _claim_number(r, "excess"),
            )
        out.print(c)
    if res.original_claims:
        tally: dict[str, int] = {}
        for r in res.original_claims:
            tally[r["verdict"]] = tally.get(r["verdict"], 0) + 1
        week = next((r for r in res.original_claims if r["id"] == "surge-2019-week"), None)
        out.print(
            "examples/claims/2019-09-enforcement-surge.yaml (all methods) on the same data: "
            + ", ".join(f"{n} {v}" for v, n in sorted(tally.items()))
            + (
                f"; 'nearly 1,300 that week' is {week['verdict']} over all methods "
                f"({week['observed']:,} recorded) - it fits at-large arrests"
                if week and week.get("observed") is not None
                else ""
            )
        )
    secs = ", ".join(f"{k} {v:.1f} s" for k, v in res.seconds.items())
    out.print(f"[bold red]{api.DEMO_BANNER}[/] ({secs})")
    out.print(f"report: {res.report}")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
