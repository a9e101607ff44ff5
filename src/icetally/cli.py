"""The `icetally` command: a thin layer over the Python API (icetally.api).

Every command takes --db (default $ICETALLY_DB, else ./icetally.duckdb) and --json.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

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
from icetally.query.backend import BackendError
from icetally.query.filters import QueryError
from icetally.schema import DATASETS

app = typer.Typer(
    help="Verifiable answers from US immigration-enforcement records released under FOIA.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

DbOpt = typer.Option(None, "--db", help="Store file (default $ICETALLY_DB, else ./icetally.duckdb)")
JsonOpt = typer.Option(False, "--json", help="Machine-readable JSON on stdout")
BackendOpt = typer.Option(None, "--backend", help="duckdb (default), spark, or an Ibis URL")


def _emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def _parse_mapping(text: str | None) -> dict[str, str] | None:
    """'date=event_date,city=facility_city' -> {'date': 'event_date', ...}."""
    if not text:
        return None
    from icetally.schema import FIELDS

    mapping: dict[str, str] = {}
    for item in text.split(","):
        if "=" not in item:
            _fail(f"--columns item {item!r} is not RAW=FIELD")
        raw, fld = (s.strip() for s in item.split("=", 1))
        if fld not in FIELDS:
            _fail(f"--columns maps {raw!r} to unknown field {fld!r}; fields: {', '.join(FIELDS)}")
        mapping[raw] = fld
    return mapping


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="Release files or folders"),
    db: str | None = DbOpt,
    as_json: bool = JsonOpt,
    dataset: str | None = typer.Option(
        None, "--dataset", help=f"Dataset of a hand-made extract ({', '.join(DATASETS)})"
    ),
    columns: str | None = typer.Option(
        None,
        "--columns",
        help='Column mapping for an extract: "date=event_date,city=facility_city,..."',
    ),
) -> None:
    """Load release files into the store (format detected from content).

    Example: icetally ingest ../shared/data/ice-national-fy2016-2019/
    """
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
                )

        try:
            results = api.ingest(paths, db=db, dataset=dataset, mapping=mapping, progress=progress)
        except (ValueError, OSError) as exc:
            _fail(str(exc))
    if as_json:
        _emit_json({"files": [r.to_dict() for r in results]})
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)


@app.command()
def releases(db: str | None = DbOpt, as_json: bool = JsonOpt) -> None:
    """List what is in the store: one row per ingested file or sheet."""
    try:
        rows = api.releases(db=db)
    except (FileNotFoundError, BackendError) as exc:
        _fail(str(exc))
    if as_json:
        _emit_json({"releases": rows})
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
def count(
    dataset: str = typer.Option("arrests", "--dataset", help=", ".join(DATASETS)),
    date_from: str | None = typer.Option(None, "--from", help="First day, YYYY-MM-DD"),
    date_to: str | None = typer.Option(None, "--to", help="Last day (inclusive)"),
    aor: str | None = typer.Option(None, "--aor", help="AOR codes, e.g. LOS,PHI"),
    state: str | None = typer.Option(None, "--state", help="States, e.g. TX,IL"),
    county: str | None = typer.Option(None, "--county", help="County FIPS or names"),
    citizenship: str | None = typer.Option(
        None, "--citizenship", help="As released (MEXICO) or ISO3 (MEX)"
    ),
    continent: str | None = typer.Option(None, "--continent"),
    method_class: str | None = typer.Option(
        None, "--method-class", help="custodial, at_large, other"
    ),
    criminality: str | None = typer.Option(
        None, "--criminality", help="convicted, pending_charges, immigration_violator, unknown"
    ),
    fiscal_year: str | None = typer.Option(None, "--fiscal-year", help="e.g. 2018 or FY2018"),
    administration: str | None = typer.Option(
        None, "--administration", help="bush, obama, trump1, biden, trump2"
    ),
    release: str | None = typer.Option(None, "--release", help="Release ids (see releases)"),
    by: str | None = typer.Option(
        None, "--by", help="Dimensions: aor, state, month, week, date, fiscal_year, ..."
    ),
    fmt: str = typer.Option("table", "--format", help="table, csv or json"),
    db: str | None = DbOpt,
    backend: str | None = BackendOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Count records in any slice.

    Example: icetally count --dataset arrests --from 2017-09-24 --to 2017-09-27 --by aor
    """
    try:
        result = api.count(
            dataset,
            db=db,
            backend=backend,
            by=by,
            date_from=date_from,
            date_to=date_to,
            aor=aor,
            state=state,
            county=county,
            citizenship=citizenship,
            continent=continent,
            method_class=method_class,
            criminality=criminality,
            fiscal_year=fiscal_year,
            administration=administration,
            release=release,
        )
    except (QueryError, BackendError, FileNotFoundError) as exc:
        _fail(str(exc))
    for w in result.warnings:
        err.print(f"[yellow]warning:[/] {w}")
    if as_json or fmt == "json":
        _emit_json(result.to_dict())
    elif fmt == "csv":
        keys = list(result.rows[0]) if result.rows else ["n"]
        w = csv.DictWriter(sys.stdout, fieldnames=keys)
        w.writeheader()
        w.writerows(result.rows)
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


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
