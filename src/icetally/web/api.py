"""The JSON API: the CLI's commands over HTTP, with the CLI's option names as query
parameters and the CLI's ``--json`` output as the body (docs/cli.md, docs/web.md)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from icetally import api
from icetally.schema import DATASETS
from icetally.vocabulary import PATHWAYS_WORDS, parse_date
from icetally.vocabulary.web import DATE_PATTERN, allowed_params, query_params
from icetally.web import service
from icetally.web.problems import WebProblem, problem_responses
from icetally.web.service import CountParams, Limits, SurgeParams

DatasetName = Literal[DATASETS]  # type: ignore[valid-type]
# The vocabulary's parameters of each endpoint (names, help and examples generated)
CountQuery = Annotated[dict[str, Any], Depends(query_params("dataset", "slice", "by"))]
SurgeQuery = Annotated[
    dict[str, Any],
    Depends(
        query_params(
            "dataset",
            "metric",
            "area",
            "window",
            "aor",
            help={
                "dataset": "Dataset",
                "date_from": "Report windows from this day",
                "date_to": "... to this day, inclusive",
            },
        )
    ),
]
CampaignQuery = Annotated[
    dict[str, Any],
    Depends(
        query_params(
            "dataset",
            "metric",
            "area",
            "window",
            "filters",
            help={
                "dataset": "Dataset",
                "date_from": "Report campaigns overlapping this day or later",
                "date_to": "... up to this day, inclusive",
            },
        )
    ),
]
ReportQuery = Annotated[dict[str, Any], Depends(query_params("dataset", "metric", "window", "aor"))]
PathwaysQuery = Annotated[dict[str, Any], Depends(query_params(*PATHWAYS_WORDS))]
REPORT_CSP = (
    # A report is self-contained HTML: it may style and script itself inline but can
    # load nothing from anywhere (no CDN, no beacon).
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src data:; font-src data:; frame-ancestors 'self'"
)


def _aor(description: str) -> Any:
    """One AOR code (two or three letters), for the endpoints that take a single AOR."""
    return Query(max_length=3, pattern=r"^[A-Za-z]{2,3}$", description=description)


def _date(description: str, alias: str) -> Any:
    return Query(
        alias=alias,
        pattern=DATE_PATTERN,
        description=description,
        json_schema_extra={"format": "date"},
        examples=["2017-09-24"],
    )


# endpoint -> every query parameter it takes (from the routes, see build_router)
ALLOWED: dict[str, set[str]] = {}


def reject_unknown(request: Request, endpoint: str) -> None:
    """A misspelt parameter (``form=`` for ``from=``) would silently widen the slice;
    refuse it, as the claims file refuses unknown keys."""
    unknown = sorted(set(request.query_params) - ALLOWED[endpoint])
    if unknown:
        raise WebProblem(
            "invalid-parameter",
            f"unknown query parameter(s) {unknown}; {endpoint} takes "
            f"{', '.join(sorted(ALLOWED[endpoint]))}",
        )


def json_body(obj: Any) -> bytes:
    # default=str as in the CLI's --json: dates and decimals become strings.
    return json.dumps(obj, default=str, separators=(",", ":"), allow_nan=False).encode()


def json_response(obj: Any, status: int = 200) -> Response:
    return Response(json_body(obj), status_code=status, media_type="application/json")


def build_router(limits: Limits) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["api"])

    @router.get(
        "/health",
        summary="Liveness and the store's file name",
        responses=problem_responses(503),
    )
    def health(request: Request) -> dict[str, Any]:
        reject_unknown(request, "/api/health")
        store = request.app.state.store
        info = store.info()
        return {
            "status": "ok",
            "store": Path(info.path).name,  # its name: where it lives is not public
            "releases": len(info.releases),
            "datasets": info.datasets,
            "synthetic": info.synthetic,
            "read_only": True,
            # answers served from memory vs computed, since the store was opened
            "cache": {
                name: {"entries": len(c), "hits": c.hits, "misses": c.misses}
                for name, c in store.caches.items()
            },
        }

    @router.get(
        "/releases",
        summary="What is in the store (icetally releases --json)",
        responses=problem_responses(400, 503),
    )
    def releases(request: Request) -> dict[str, Any]:
        reject_unknown(request, "/api/releases")
        return {"releases": request.app.state.store.info().releases}

    @router.get(
        "/count",
        summary="Count records in any slice (icetally count --json)",
        description=(
            "The same parameters as `icetally count` and the same JSON: "
            '`{"total", "rows": [{..., "n"}], "query": {"dataset", "filters", "by", '
            '"sql", "releases"}}`. `format=csv` or `Accept: text/csv` gives the rows as '
            "CSV. Limits: at most "
            f"{limits.max_by} `by` dimensions, {limits.max_rows} rows, "
            f"{limits.max_daily_span_days} days for by=date, {limits.query_timeout:g} s."
        ),
        responses={
            200: {
                "content": {
                    "application/json": {},
                    "text/csv": {"schema": {"type": "string"}},
                },
                "description": "the count (JSON, or CSV rows)",
            },
            **problem_responses(400, 413, 422, 503),
        },
    )
    async def count(
        request: Request,
        q: CountQuery,
        format: Annotated[
            Literal["json", "csv"] | None, Query(description="json (default) or csv")
        ] = None,
    ) -> Response:
        reject_unknown(request, "/api/count")
        dataset = q.pop("dataset")
        by = q.pop("by")
        params = CountParams.build(dataset, q.pop("date_from"), q.pop("date_to"), q, by, limits)
        store = request.app.state.store
        wants_csv = format == "csv" or (
            format is None and "text/csv" in request.headers.get("accept", "")
        )
        # A cached answer is served from the event loop, already serialized: no thread
        # hand-off, no JSON encoding, no wait behind counts being computed.
        key = ("csv" if wants_csv else "json", params.key)
        body_cache = store.cache("count-body", limits.count_cache_size)
        body = body_cache.get(key)
        if body is None:
            result = service.cached_count(store, params, limits)
            if result is None:
                result = await run_in_threadpool(service.count, store, params, limits)
            body = service.count_csv(result).encode() if wants_csv else json_body(result)
            body_cache.put(key, body)
        if wants_csv:
            name = "-".join(["icetally", dataset, *params.by]) + ".csv"
            return Response(
                body,
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
        return Response(body, media_type="application/json")

    @router.get(
        "/surges",
        summary="Find enforcement surges (icetally surges --json)",
        description=(
            "Multi-day windows above each AOR's baseline. A scan takes seconds; each "
            "distinct scan is computed once and cached. New scans are limited to "
            f"{limits.surge_scans_per_minute} a minute (429 with Retry-After beyond)."
        ),
        responses=problem_responses(400, 422, 429, 503),
    )
    def surges(
        request: Request,
        q: SurgeQuery,
        min_excess: Annotated[
            float, Query(ge=0, le=1e9, description="Smallest excess to report")
        ] = SurgeParams.min_excess,
        threshold: Annotated[
            float,
            Query(gt=0, lt=1, description="Largest p-value (chance per AOR-year)"),
        ] = SurgeParams.threshold,
        max_window: Annotated[
            int, Query(ge=1, le=62, description="Longest window in days")
        ] = SurgeParams.max_window,
    ) -> Response:
        reject_unknown(request, "/api/surges")
        p = SurgeParams(
            dataset=q["dataset"],
            metric=q["metric"],
            date_from=q["date_from"],
            date_to=q["date_to"],
            aor=service.join_param("aor", q["aor"], limits),
            area=q["area"],
            min_excess=float(min_excess),
            threshold=float(threshold),
            max_window=int(max_window),
        )
        return json_response(request.app.state.surge_scans.get(request.app.state.store, p, limits))

    @router.get(
        "/campaigns",
        summary="Find campaigns and level changes (icetally campaigns --json)",
        description=(
            "The same parameters as `icetally campaigns` and the same JSON: "
            '`{"campaigns": [{"id", "area", "start", "end", "ongoing", "weeks", '
            '"peak_week", "observed", "expected", "excess", "excess_low", "excess_high", '
            '"ratio"}], "level_changes": [{"area", "date", "before", "after"}], '
            '"query": {...}}` (docs/methods.md, "Campaign detection"). Each distinct '
            "scan is computed once and cached."
        ),
        responses=problem_responses(400, 422, 503),
    )
    async def campaigns(
        request: Request,
        q: CampaignQuery,
        min_weeks: Annotated[
            int, Query(ge=1, le=52, description="Shortest campaign, in weeks")
        ] = 2,
        max_weeks: Annotated[
            int, Query(ge=1, le=52, description="Longest campaign, in weeks")
        ] = 26,
    ) -> Response:
        reject_unknown(request, "/api/campaigns")
        store = request.app.state.store
        filters = {k: v for k, v in q.items() if v is not None}
        dataset, metric, area = filters.pop("dataset"), filters.pop("metric"), filters.pop("area")
        filters = {
            k: service.join_param(k, v, limits) if isinstance(v, list) else v
            for k, v in filters.items()
        }
        key = (dataset, metric, area, min_weeks, max_weeks, tuple(sorted(filters.items())))
        cache = store.cache("campaigns", limits.surge_cache_size)
        body = cache.get(key)
        if body is None:
            result = await run_in_threadpool(
                service.run_on_store,
                store,
                limits,
                60.0,  # a scan is seconds of numpy; DuckDB work is bounded by this
                lambda s: api.campaigns(
                    dataset,
                    s,
                    metric=metric,
                    area=area,
                    min_weeks=min_weeks,
                    max_weeks=max_weeks,
                    **filters,
                ).to_dict(),
            )
            body = json_body(result)
            cache.put(key, body)
        return Response(body, media_type="application/json")

    @router.post(
        "/check",
        summary="Check claims (icetally check --json; --text for press-release text)",
        description=(
            "The body is a claims file (YAML or JSON, see docs/claims.md) or, with "
            "`text=1` or `Content-Type: text/plain`, the text of a press release: its "
            "claims are extracted (returned under `extraction`, with the editable YAML) "
            f"and checked. At most {limits.max_body_bytes} bytes and "
            f"{limits.max_claims} claims."
        ),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/yaml": {
                        "schema": {"type": "string"},
                        "example": CLAIMS_EXAMPLE,
                    },
                    "text/plain": {
                        "schema": {"type": "string"},
                        "example": TEXT_EXAMPLE,
                    },
                },
            }
        },
        responses=problem_responses(400, 413, 415, 422, 503),
    )
    async def check(
        request: Request,
        text: Annotated[
            bool, Query(description="The body is press-release text, not claims YAML")
        ] = False,
        published: Annotated[
            str | None, _date("Publication date of the text (dates without a year)", "published")
        ] = None,
        source: Annotated[
            str | None, Query(max_length=300, description="Where the text is from")
        ] = None,
        tolerance: Annotated[
            float | None,
            Query(ge=0, lt=1, description="Default tolerance for claims without one"),
        ] = None,
    ) -> Response:
        reject_unknown(request, "/api/check")
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        as_text = text or ctype == "text/plain"
        if ctype and not as_text and ctype not in YAML_TYPES:
            raise WebProblem(
                "unsupported-media-type",
                f"Content-Type {ctype!r}: send claims as application/yaml or "
                "application/json, or text as text/plain",
            )
        body = await read_body(request, limits)
        store = request.app.state.store
        if as_text:
            if published:
                parse_date(published, "published")  # a bad date is a 400 before any work
            result = await run_in_threadpool(
                service.check_text,
                store,
                body,
                limits,
                published=published,
                source=source,
                tolerance=tolerance,
            )
        else:
            result = await run_in_threadpool(
                service.check_yaml, store, body, limits, tolerance=tolerance
            )
        return json_response(result)

    @router.get(
        "/report",
        summary="An HTML report of a window or a surge (icetally report)",
        response_class=HTMLResponse,
        responses={
            200: {"content": {"text/html": {"schema": {"type": "string"}}}},
            **problem_responses(400, 404, 422, 429, 503),
        },
    )
    def report(
        request: Request,
        q: ReportQuery,
        surge: Annotated[
            str | None,
            Query(max_length=80, pattern=r"^[A-Za-z0-9_.-]+$", description="A surge id"),
        ] = None,
    ) -> Response:
        reject_unknown(request, "/api/report")
        html = render_report(
            request,
            limits,
            dataset=q["dataset"],
            metric=q["metric"],
            date_from=q["date_from"],
            date_to=q["date_to"],
            aor=service.join_param("aor", q["aor"], limits),
            surge=surge,
        )
        return HTMLResponse(html, headers={"Content-Security-Policy": REPORT_CSP})

    # --- jurisdictions (docs/jurisdictions.md): the CLI's cooperation, jurisdictions and
    # intensity commands. They read aggregates only; results are small by construction.
    def jurisdiction_call(request: Request, endpoint: str, fn_name: str, **kw: Any) -> Response:
        reject_unknown(request, endpoint)
        store = request.app.state.store
        store.info()  # 503 when there is no store
        fn = getattr(api, fn_name)
        try:
            result = service.run_on_store(store, limits, limits.aggregate_timeout, fn, **kw)
        except WebProblem:
            raise
        except Exception as exc:  # noqa: BLE001 - translated, or re-raised as a 500
            raise service.problem_of(exc) from exc
        return json_response(result)

    @router.get(
        "/cooperation",
        summary="Detainer outcomes and decline-rate changes (icetally cooperation --json)",
        responses=problem_responses(400, 503),
    )
    def cooperation(
        request: Request,
        county: Annotated[
            str | None, Query(max_length=80, description="County FIPS or 'Name County, ST'")
        ] = None,
        facility: Annotated[
            str | None, Query(max_length=120, description="Facility name (or part of it)")
        ] = None,
        aor: Annotated[str | None, _aor("AOR code")] = None,
        level: Annotated[
            Literal["facility", "county", "aor"] | None,
            Query(description="What each series row is about"),
        ] = None,
        by: Annotated[Literal["month", "quarter", "year"], Query(description="Period")] = "month",
        date_from: Annotated[str | None, _date("First day", "from")] = None,
        date_to: Annotated[str | None, _date("Last day", "to")] = None,
    ) -> Response:
        return jurisdiction_call(
            request,
            "/api/cooperation",
            "cooperation",
            county=county,
            facility=facility,
            aor=aor,
            level=level,
            by=by,
            date_from=date_from,
            date_to=date_to,
        )

    @router.get(
        "/jurisdictions",
        summary="Cooperation status and enforcement intensity per county or AOR "
        "(icetally jurisdictions --json)",
        responses=problem_responses(400, 503),
    )
    def jurisdictions(
        request: Request,
        level: Annotated[Literal["county", "aor"], Query(description="Row level")] = "aor",
        aor: Annotated[str | None, _aor("Only this AOR")] = None,
        state: Annotated[str | None, Query(max_length=40, description="Only this state")] = None,
        on: Annotated[str | None, _date("Read 287(g) lists and policies on this day", "on")] = None,
    ) -> Response:
        return jurisdiction_call(
            request,
            "/api/jurisdictions",
            "jurisdictions",
            level=level,
            aor=aor,
            state=state,
            on=on,
            only_active=level == "county",
        )

    @router.get(
        "/intensity",
        summary="Arrests per 100,000 residents, at-large and custodial shares "
        "(icetally intensity --json)",
        responses=problem_responses(400, 503),
    )
    def intensity(
        request: Request,
        level: Annotated[Literal["aor", "county"], Query(description="Row level")] = "aor",
        by: Annotated[
            Literal["fiscal_year", "year", "quarter", "month", "none"], Query(description="Period")
        ] = "fiscal_year",
        dataset: Annotated[DatasetName, Query(description="Dataset")] = "arrests",
        aor: Annotated[str | None, _aor("Only this AOR")] = None,
        date_from: Annotated[str | None, _date("First day", "from")] = None,
        date_to: Annotated[str | None, _date("Last day", "to")] = None,
    ) -> Response:
        return jurisdiction_call(
            request,
            "/api/intensity",
            "intensity",
            level=level,
            by=by,
            dataset=dataset,
            aor=aor,
            date_from=date_from,
            date_to=date_to,
        )

    # --- official statistics (docs/official.md): ICE's published detention figures,
    # each with its workbook cell. Small by construction (at most a table's figures).
    @router.get(
        "/official",
        summary="ICE's published detention statistics with their cells (icetally official --json)",
        description=(
            "Without `table`: the official tables with their coverage and snapshots. With "
            'it: `{"rows": [{"table", "fiscal_year", "snapshot", <dimensions>, '
            '"value", "unit", "source": {"file", "sheet", "cell", '
            '"title"}}], "query"}`. `check=true`: printed totals against their parts; '
            "`revisions=true`: figures changed between snapshots."
        ),
        responses=problem_responses(400, 503),
    )
    def official(
        request: Request,
        table: Annotated[str | None, Query(max_length=40, description="Official table")] = None,
        fiscal_year: Annotated[
            str | None, Query(max_length=40, description="2019, 2019,2020 or 2019-2026")
        ] = None,
        snapshot: Annotated[
            str, Query(max_length=10, description="latest, all or YYYY-MM-DD")
        ] = "latest",
        by: Annotated[str | None, Query(max_length=200, description="Dimensions")] = None,
        agency: Annotated[str | None, Query(max_length=40)] = None,
        criminality: Annotated[str | None, Query(max_length=80)] = None,
        month: Annotated[str | None, Query(max_length=200)] = None,
        facility_type: Annotated[str | None, Query(max_length=40)] = None,
        aor: Annotated[str | None, Query(max_length=80)] = None,
        facility: Annotated[str | None, Query(max_length=120)] = None,
        measure: Annotated[str | None, Query(max_length=60)] = None,
        breakdown: Annotated[str | None, Query(max_length=80)] = None,
        check: Annotated[bool, Query(description="Check printed totals")] = False,
        revisions: Annotated[bool, Query(description="Figures changed between snapshots")] = False,
    ) -> Response:
        reject_unknown(request, "/api/official")
        store = request.app.state.store
        store.info()  # 503 when there is no store

        def answer(s: api.Store) -> Any:
            if check:
                return api.official_check(store=s, fiscal_year=fiscal_year).to_dict()
            if revisions:
                return {
                    "revisions": api.official_revisions(
                        store=s, table=table, fiscal_year=fiscal_year
                    )
                }
            if table is None:
                return {"tables": api.official(store=s)}
            return api.official(
                table,
                store=s,
                fiscal_year=fiscal_year,
                snapshot=snapshot,
                by=by,
                measure=measure,
                breakdown=breakdown,
                arresting_agency=agency,
                criminality=criminality,
                month=month,
                facility_type=facility_type,
                aor=aor,
                facility_name=facility,
            ).to_dict()

        try:
            body = service.run_on_store(store, limits, limits.aggregate_timeout, answer)
        except api.OfficialQueryError as exc:
            raise WebProblem("invalid-parameter", str(exc)) from exc
        except Exception as exc:  # noqa: BLE001 - translated, or re-raised as a 500
            raise service.problem_of(exc) from exc
        return json_response(body)

    # --- pathways (docs/methods.md "Pathways"): what happened to those arrested, in one
    # linked release; the same parameters and JSON as `icetally pathways --json`.
    @router.get(
        "/pathways",
        summary="What happened to the people arrested (icetally pathways --json)",
        description=(
            'The same parameters as `icetally pathways` and the same JSON: `{"persons", '
            '"episodes", "outcomes", "days_detained", "days_to_removal", '
            '"removal_countries", "criminality", "match_rates", "linked_release", '
            '"query"}`; with `surge` or `campaign`, a `comparison` with the weeks before.'
        ),
        responses=problem_responses(400, 422, 503),
    )
    def pathways(
        request: Request,
        q: PathwaysQuery,
        surge: Annotated[
            str | None, Query(max_length=120, description="A surge id: against the weeks before")
        ] = None,
        campaign: Annotated[
            str | None, Query(max_length=120, description="A campaign id: against the weeks before")
        ] = None,
        weeks_before: Annotated[
            int, Query(ge=1, le=52, description="Weeks before the surge to compare with")
        ] = 4,
    ) -> Response:
        reject_unknown(request, "/api/pathways")
        store = request.app.state.store
        store.info()  # 503 when there is no store
        filters = {k: v for k, v in q.items() if v not in (None, "", [])}
        by = filters.pop("by", None)

        def answer(s: api.Store) -> Any:
            return api.pathways(
                s, by=by, surge=surge, campaign=campaign, weeks_before=weeks_before, **filters
            ).to_dict()

        try:
            body = service.run_on_store(store, limits, limits.aggregate_timeout, answer)
        except WebProblem:
            raise
        except Exception as exc:  # noqa: BLE001 - translated, or re-raised as a 500
            raise service.problem_of(exc) from exc
        return json_response(body)

    for route in router.routes:
        ALLOWED[route.path] = allowed_params(route)  # type: ignore[attr-defined]
    return router


CLAIMS_EXAMPLE = """claims:
  - id: la-2018
    text: "212 arrests in a five-day operation"
    from: 2018-02-11
    to: 2018-02-15
    aor: [LOS]
    measure: operation
    value: 212
"""
TEXT_EXAMPLE = (
    "WASHINGTON (February 16, 2018) - ICE officers arrested 212 people during a five-day "
    "operation in the Los Angeles area, from February 11 to 15."
)

YAML_TYPES = {
    "application/yaml",
    "application/x-yaml",
    "text/yaml",
    "text/x-yaml",
    "application/json",
}


async def read_body(request: Request, limits: Limits) -> str:
    """The body as UTF-8 text, refused past the size limit without reading it all."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limits.max_body_bytes:
        raise WebProblem(
            "request-too-large",
            f"the body has {int(declared):,} bytes; the server takes at most "
            f"{limits.max_body_bytes:,}",
        )
    chunks: list[bytes] = []
    size = 0
    try:
        # a client sending its body slowly (or not at all) is cut off, not waited for
        async with asyncio.timeout(limits.body_timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limits.max_body_bytes:
                    raise WebProblem(
                        "request-too-large",
                        f"the body is larger than the {limits.max_body_bytes:,} bytes the "
                        "server takes",
                    )
                chunks.append(chunk)
    except TimeoutError:
        raise WebProblem(
            "request-timeout",
            f"the body did not arrive within {limits.body_timeout:g} s ({size:,} bytes came)",
            headers={"Connection": "close"},
        ) from None
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebProblem("invalid-parameter", f"the body is not UTF-8 text: {exc}") from None


def render_report(request: Request, limits: Limits, **params: Any) -> str:
    """HTML from icetally.api.render_report, on the server's pooled Store under its time
    limit, one report at a time and a few new ones a minute; cached."""
    store = request.app.state.store
    store.info()  # 503 before anything else when there is no store
    surge_id = params.pop("surge", None)
    # Refuse what the report would refuse, before it spends seconds finding out.
    if not surge_id and not (params["date_from"] and params["date_to"]):
        raise WebProblem("invalid-parameter", "give a window (from and to) or a surge")
    api.slice_of(
        params["dataset"],
        date_from=params["date_from"],
        date_to=params["date_to"],
        aor=params["aor"],
    )
    call = {k: v for k, v in {**params, "surge_id": surge_id}.items() if v is not None}
    cache = store.cache("report", limits.report_cache_size)
    key = tuple(sorted((k, str(v)) for k, v in call.items()))
    hit = cache.get(key)
    if hit is not None:
        return hit  # a surge's id was checked when its report was made
    if surge_id:
        # Look the id up in the (cached, budgeted) scan first: an unknown id is a 404
        # without the report running a scan of its own.
        scan = request.app.state.surge_scans.get(
            store, SurgeParams(dataset=params["dataset"], metric=params["metric"]), limits
        )
        if not any(s["id"] == surge_id for s in scan["surges"]):
            raise WebProblem("not-found", f"no surge {surge_id!r} in the {params['metric']} scan")
    # A report runs many queries (and, for a surge, its own scan) on the server's CPU:
    # one at a time, and a few new ones a minute.
    with request.app.state.report_lock:
        hit = cache.get(key)
        if hit is not None:
            return hit
        request.app.state.report_budget.take(limits.reports_per_minute)
        try:
            html = service.run_on_store(
                store, limits, limits.report_timeout, api.render_report, **call
            )
        except WebProblem:
            raise
        except (api.ReportError, ValueError, KeyError) as exc:
            raise WebProblem(
                "invalid-parameter", f"the report could not be made: {exc}".replace("--", "")
            ) from None
    cache.put(key, html)
    return html


def problem_response(problem: WebProblem, instance: str | None = None) -> JSONResponse:
    return JSONResponse(
        problem.body(instance),
        status_code=problem.status,
        media_type="application/problem+json",
        headers=problem.headers or None,
    )
