"""Dashboard pages: server-rendered HTML (Jinja2, autoescaped) over the same service
functions as the JSON API, so a page's figures are the API's figures.

Every page's state is in its query string: a page's URL reproduces the view.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from icetally import api, reference
from icetally.api import DEFAULT_TOLERANCE
from icetally.render import environment, render_svg
from icetally.vocabulary import (
    ADMINISTRATIONS,
    CRIMINALITY,
    DIMENSIONS,
    METHOD_CLASSES,
    parse_date,
)
from icetally.vocabulary import METRICS as _METRICS
from icetally.web import charts, service
from icetally.web.problems import PROBLEM_TYPES, WebProblem
from icetally.web.service import CountParams, Limits, SurgeParams

HERE = Path(__file__).parent
# The pages' templates, with the macros they share with the report (icetally.render).
ENV = environment(HERE / "templates")
METRICS = tuple(_METRICS)
NATIONAL_SURGES = 20


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return "" if v is None else str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 10 else f"{v:,.2f}".rstrip("0").rstrip(".")
    return str(v)


ENV.filters["n"] = _fmt
ENV.filters["qs"] = lambda d: urlencode(
    [
        (k, v)
        for k, vs in d.items()
        for v in (vs if isinstance(vs, list) else [vs])
        if v not in (None, "")
    ],
    doseq=False,
)


def render(
    request: Request, template: str, ctx: dict[str, Any], *, title: str, status: int = 200
) -> HTMLResponse:
    store = request.app.state.store
    try:
        info = store.info()
        synthetic = info.synthetic
    except WebProblem:
        raise
    except Exception:  # noqa: BLE001 - the error page itself must render without a store
        synthetic = False
    store_path = store.path.name  # the file's name only: its folder is not public
    html = ENV.get_template(template).render(
        title=title,
        synthetic=synthetic,
        store_path=store_path,
        path=request.url.path,
        **ctx,
    )
    return HTMLResponse(html, status_code=status)


def error_page(request: Request, problem: WebProblem) -> HTMLResponse:
    resp = render(
        request,
        "error.html",
        {"problem": problem.body(request.url.path)},
        title=problem.title,
        status=problem.status,
    )
    for k, v in problem.headers.items():
        resp.headers[k] = v
    return resp


def _one(request: Request, name: str, default: str = "") -> str:
    return request.query_params.get(name, default).strip()


def _many(request: Request, name: str) -> list[str]:
    out: list[str] = []
    for v in request.query_params.getlist(name):
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def _datasets(request: Request) -> list[str]:
    return request.app.state.store.info().datasets or ["arrests"]


def _dataset(request: Request) -> str:
    datasets = _datasets(request)
    ds = _one(request, "dataset") or ("arrests" if "arrests" in datasets else datasets[0])
    if ds not in datasets:
        raise WebProblem("invalid-parameter", f"dataset {ds!r}: the store holds {datasets}")
    return ds


def _metric(request: Request) -> str:
    metric = _one(request, "metric") or "all"
    if metric not in METRICS:
        raise WebProblem("invalid-parameter", f"metric {metric!r}: expected one of {METRICS}")
    return metric


def _float(request: Request, name: str, default: float, lo: float, hi: float) -> float:
    text = _one(request, name)
    if not text:
        return default
    try:
        v = float(text)
    except ValueError:
        raise WebProblem("invalid-parameter", f"{name} must be a number, got {text!r}") from None
    if not lo <= v <= hi or v != v:
        raise WebProblem("invalid-parameter", f"{name} must be between {lo:g} and {hi:g}")
    return v


def _surge_params(request: Request, limits: Limits) -> SurgeParams:
    aor = service.join_param("aor", _many(request, "aor"), limits)
    p = SurgeParams(
        dataset=_dataset(request),
        metric=_metric(request),
        date_from=_one(request, "from") or None,
        date_to=_one(request, "to") or None,
        aor=aor,
        min_excess=_float(request, "min_excess", SurgeParams.min_excess, 0, 1e9),
    )
    return p


def _coverage(store: Any, limits: Limits) -> list[dict[str, Any]]:
    """Per dataset: first and last day covered, the gaps between releases, releases
    and rows (Store.coverage: the one coverage every analysis uses)."""
    info = store.info()

    def read(s: Any) -> list[dict[str, Any]]:
        out = []
        for d in info.datasets:
            cov = s.coverage(d)
            rels = [r for r in info.releases if r["dataset"] == d]
            out.append(
                {
                    "dataset": d,
                    "start": cov.start,
                    "end": cov.end,
                    "gaps": ", ".join(f"{a} to {b}" for a, b in cov.gaps),
                    "releases": len(rels),
                    "rows": sum(r.get("rows_loaded") or 0 for r in rels),
                }
            )
        return out

    return service.run_on_store(store, limits, limits.query_timeout, read)


def _internal(limits: Limits) -> Limits:
    """The overview's own queries are fixed by the server, not by a visitor, and may
    return more rows than a public request (26 AORs x 4 years of weeks)."""
    return dataclasses.replace(limits, max_rows=100_000, max_daily_span_days=100_000)


def _campaigns(
    request: Request, dataset: str, metric: str, limits: Limits
) -> tuple[list[dict[str, Any]], str | None]:
    """The campaigns per AOR (icetally campaigns --json), once per open store."""
    store = request.app.state.store
    cache = store.cache("campaigns-overview", 8)
    key = (dataset, metric)
    hit = cache.get(key)
    if hit is None:
        try:
            hit = service.run_on_store(
                store,
                limits,
                60.0,
                lambda s: api.campaigns(dataset, s, metric=metric).to_dict()["campaigns"],
            )
        except WebProblem as exc:
            return [], exc.detail
        cache.put(key, hit)
    return hit, None


def build_router(limits: Limits) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    def overview(request: Request) -> HTMLResponse:
        store = request.app.state.store
        info = store.info()
        dataset = _dataset(request)
        metric = _metric(request)
        inner = _internal(limits)
        method = None if metric == "all" else metric
        flt = {"method_class": method}
        national = service.count(
            store, CountParams.build(dataset, None, None, flt, "week", inner), inner
        )
        per_aor = service.count(
            store, CountParams.build(dataset, None, None, flt, "week,aor", inner), inner
        )
        scan_params = SurgeParams(dataset=dataset, metric=metric)
        surge_error = None
        try:
            scan = request.app.state.surge_scans.get(store, scan_params, limits)
            surges = scan["surges"]
        except WebProblem as exc:
            surges, surge_error = [], exc.detail
        campaigns, campaign_error = _campaigns(request, dataset, metric, limits)
        link = "/surges/{id}?" + urlencode(scan_params.query())
        # All surges would shade most of a four-year national chart; the largest
        # ones are the national story (every surge is in the per-AOR charts).
        top = sorted(surges, key=lambda s: -s["excess"])[:NATIONAL_SURGES]
        national_svg = render_svg(
            charts.series_with_surges(
                [r for r in national["rows"] if r["week"]],
                top,
                link=link,
                title=f"{dataset} per week, all AORs ({metric}); "
                f"shaded: the {len(top)} largest surges, and campaigns (light)",
                campaigns=campaigns,
            )
        )
        aor_rows = [r for r in per_aor["rows"] if r["week"] and r["aor"]]
        aor_svg = render_svg(
            charts.aor_small_multiples(aor_rows, surges, link=link, campaigns=campaigns)
        )
        recent = sorted(info.releases, key=lambda r: r.get("ingested_at") or "", reverse=True)
        return render(
            request,
            "overview.html",
            {
                "dataset": dataset,
                "datasets": info.datasets,
                "metric": metric,
                "metrics": METRICS,
                "total": national["total"],
                "national_svg": Markup(national_svg),
                "aor_svg": Markup(aor_svg),
                "surges": top[:10],
                "n_surges": len(surges),
                "surge_error": surge_error,
                "campaigns": campaigns,
                "campaign_error": campaign_error,
                "campaigns_api": "/api/campaigns?"
                + urlencode({"dataset": dataset, "metric": metric}),
                "scan_query": scan_params.query(),
                "releases": recent[:12],
                "coverage": _coverage(store, limits),
            },
            title="Overview",
        )

    @router.get("/explore", response_class=HTMLResponse)
    def explore(request: Request) -> HTMLResponse:
        form = {
            "dataset": _one(request, "dataset"),
            "from": _one(request, "from"),
            "to": _one(request, "to"),
            **{name: _many(request, name) for name in service.FILTERS},
            "by": _many(request, "by"),
        }
        ctx: dict[str, Any] = {
            "form": form,
            "datasets": _datasets(request),
            "aors": reference.AOR_CODES,
            "method_classes": METHOD_CLASSES,
            "criminalities": CRIMINALITY,
            "administrations": ADMINISTRATIONS,
            "dimensions": tuple(DIMENSIONS),
            "max_by": limits.max_by,
            "result": None,
            "problem": None,
        }
        status = 200
        try:
            params = CountParams.build(
                _dataset(request),
                form["from"] or None,
                form["to"] or None,
                {name: form[name] for name in service.FILTERS},
                form["by"],
                limits,
            )
            result = service.count(request.app.state.store, params, limits)
            query = {k: v for k, v in form.items() if v not in ("", [], None)}
            query["dataset"] = params.dataset
            api_qs = urlencode(
                {k: ",".join(v) if isinstance(v, list) else v for k, v in query.items()}
            )
            spec = charts.count_chart(
                result["rows"], list(params.by), f"{params.dataset}: {result['total']:,} records"
            )
            ctx.update(
                result=result,
                by=list(params.by),
                chart=Markup(render_svg(spec)) if spec else None,
                csv_url=f"/api/count?{api_qs}&format=csv",
                json_url=f"/api/count?{api_qs}",
                share_url=f"/explore?{api_qs}",
            )
        except WebProblem as exc:
            ctx["problem"] = exc.body(request.url.path)
            status = exc.status
        return render(request, "explore.html", ctx, title="Explore", status=status)

    @router.get("/surges", response_class=HTMLResponse)
    def surge_list(request: Request) -> HTMLResponse:
        store = request.app.state.store
        p = _surge_params(request, limits)
        scan = request.app.state.surge_scans.get(store, p, limits)
        link_qs = urlencode(
            dataclasses.replace(
                p, date_from=None, date_to=None, aor=None, min_excess=SurgeParams.min_excess
            ).query()
        )
        return render(
            request,
            "surges.html",
            {
                "p": p,
                "form": {
                    "from": p.date_from or "",
                    "to": p.date_to or "",
                    "aor": p.aor or "",
                    "min_excess": _one(request, "min_excess"),
                },
                "datasets": store.info().datasets,
                "metrics": METRICS,
                "scan": scan,
                "link_qs": link_qs,
                "api_url": "/api/surges?" + urlencode(p.query()),
            },
            title="Surges",
        )

    @router.get("/surges/{surge_id}", response_class=HTMLResponse)
    def surge_detail(request: Request, surge_id: str) -> HTMLResponse:
        store = request.app.state.store
        # A surge id names a window found by one scan; the detail page looks it up in
        # the scan named by the query string (by default, the default scan).
        p = dataclasses.replace(
            _surge_params(request, limits),
            date_from=None,
            date_to=None,
            aor=None,
            min_excess=SurgeParams.min_excess,
        )
        scan = request.app.state.surge_scans.get(store, p, limits)
        surge = next((s for s in scan["surges"] if s["id"] == surge_id), None)
        if surge is None:
            raise WebProblem("not-found", f"no surge {surge_id!r} in the {p.metric} scan")
        start, end = date.fromisoformat(surge["start"]), date.fromisoformat(surge["end"])
        lo, hi = start - timedelta(days=28), end + timedelta(days=28)
        aors = sorted({a["aor"] for a in surge["aors"]})
        method = None if p.metric == "all" else p.metric
        inner = _internal(limits)
        daily = service.count(
            store,
            CountParams.build(
                p.dataset,
                lo.isoformat(),
                hi.isoformat(),
                {"aor": aors, "method_class": method},
                "date,aor",
                inner,
            ),
            inner,
        )
        window = service.count(
            store,
            CountParams.build(
                p.dataset,
                surge["start"],
                surge["end"],
                {"aor": aors, "method_class": method},
                "aor",
                inner,
            ),
            inner,
        )
        svg = render_svg(
            charts.surge_detail_chart(
                [r for r in daily["rows"] if r["date"]],
                surge,
                title=f"{p.dataset} per day, {lo} to {hi}; shaded: the surge in each AOR",
            )
        )
        explore_q: dict[str, Any] = {
            "dataset": p.dataset,
            "from": surge["start"],
            "to": surge["end"],
            "aor": ",".join(aors),
            "by": "aor,date",
        }
        if method:
            explore_q["method_class"] = method
        report_q = {"surge": surge_id, **p.query()}
        return render(
            request,
            "surge.html",
            {
                "surge": surge,
                "p": p,
                "chart": Markup(svg),
                "window": window,
                "explore_url": "/explore?" + urlencode(explore_q),
                "report_url": "/api/report?" + urlencode(report_q),
                "scan_url": "/surges?" + urlencode(p.query()),
            },
            title=f"Surge {surge_id}",
        )

    @router.get("/detention", response_class=HTMLResponse)
    def detention_page(request: Request) -> HTMLResponse:
        """ICE's published detention statistics (report/detention.py)."""
        from icetally.report import detention

        store = request.app.state.store
        store.info()  # 503 when there is no store
        agency = _one(request, "agency", "Total")
        if agency not in detention.AGENCY_ORDER:
            raise WebProblem("invalid-parameter", f"agency must be one of {detention.AGENCY_ORDER}")
        ctx: dict[str, Any] = {"agency": agency, "agencies": detention.AGENCY_ORDER}

        def figures(st: Any) -> None:
            ctx["has_data"] = detention.has_official(st)
            if ctx["has_data"]:
                series, _ = detention.adp_series(st)
                ctx["chart_svg"] = Markup(render_svg(detention.adp_chart_spec(series)))
                latest: dict[str, dict[str, Any]] = {}
                for r in series:
                    if r["arresting_agency"] == agency and (
                        r["month"] not in latest or r["snapshot"] > latest[r["month"]]["snapshot"]
                    ):
                        latest[r["month"]] = r
                ctx["months"] = [
                    {**r, "cell": detention.cell_ref(r["source"]), "link": detention.api_link(r)}
                    for _, r in sorted(latest.items(), reverse=True)
                ]
                last = max(latest) if latest else None
                ctx["latest_month"] = last
                crim, _ = detention.adp_by_criminality(st, [last] if last else [])
                ctx["criminality"] = [
                    {**r, "cell": detention.cell_ref(r["source"]), "link": detention.api_link(r)}
                    for r in crim
                ]
                fac, _ = detention.largest_facilities(st)
                for f in fac:
                    f["link"] = "/api/official?" + urlencode(
                        {
                            "table": "facilities",
                            "fiscal_year": f["fiscal_year"],
                            "facility": f["facility_name"],
                            "measure": "adp",
                            "by": "facility_name,gender,criminality",
                        }
                    )
                ctx["facilities"] = fac
                ctx["checks"] = api.official_check(store=st).to_dict()

        service.run_on_store(store, limits, limits.aggregate_timeout, figures)
        return render(request, "detention.html", ctx, title="Detention")

    @router.get("/pathways", response_class=HTMLResponse)
    def pathways_page(request: Request) -> HTMLResponse:
        """What happened to those arrested (analysis/pathways.py), as /api/pathways."""
        import json

        store = request.app.state.store
        store.info()  # 503 when there is no store
        names = ("from", "to", "aor", "criminality", "method_class", "release", "surge", "campaign")
        form = {k: _one(request, k) for k in names}
        filters = {
            "date_from": form["from"] or None,
            "date_to": form["to"] or None,
            "aor": _many(request, "aor") or None,
            "criminality": _many(request, "criminality") or None,
            "method_class": _many(request, "method_class") or None,
            "release": form["release"] or None,
        }
        filters = {k: v for k, v in filters.items() if v}
        ctx: dict[str, Any] = {"form": form, "result": None, "error": None}

        def figures(st: Any) -> None:
            try:
                res = api.pathways(
                    st,
                    surge=form["surge"] or None,
                    campaign=form["campaign"] or None,
                    **filters,
                ).to_dict()
            except api.LinkingError as exc:  # no linked records: say so on the page
                ctx["error"] = str(exc)
                return
            ctx["result"] = res
            steps = res["query"]["sql"]
            ctx["query"] = {
                "dataset": "arrests (episodes of one linked release)",
                "filters_json": json.dumps(res["query"]["filters"]),
                "releases_text": ", ".join(res["query"]["releases"]),
                "sql": "\n\n".join(f"-- {k}\n{v}" for k, v in steps.items()),
            }

        service.run_on_store(store, limits, limits.aggregate_timeout, figures)
        ctx["api_url"] = "/api/pathways?" + urlencode({k: v for k, v in form.items() if v})
        return render(request, "pathways.html", ctx, title="Pathways")

    @router.get("/claims", response_class=HTMLResponse)
    def claims_form(request: Request) -> HTMLResponse:
        return render(
            request,
            "claims.html",
            {
                "form": {"mode": "text", "text": "", "published": ""},
                "result": None,
                "tolerance": DEFAULT_TOLERANCE,
            },
            title="Check claims",
        )

    @router.post("/claims", response_class=HTMLResponse)
    async def claims_check(request: Request) -> HTMLResponse:
        from icetally.web.api import read_body

        body = await read_body(request, limits)
        # A urlencoded form, parsed here: python-multipart is not needed for this.
        fields = {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}
        form = {
            "mode": fields.get("mode", "text"),
            "text": fields.get("text", ""),
            "published": fields.get("published", "").strip(),
        }
        ctx: dict[str, Any] = {
            "form": form,
            "result": None,
            "problem": None,
            "tolerance": DEFAULT_TOLERANCE,
        }
        status = 200
        store = request.app.state.store
        try:
            if not form["text"].strip():
                raise WebProblem("invalid-parameter", "paste a press release or a claims file")
            if form["mode"] == "yaml":
                result = await run_in_threadpool(service.check_yaml, store, form["text"], limits)
            else:
                if form["published"]:
                    parse_date(form["published"], "published")
                result = await run_in_threadpool(
                    service.check_text,
                    store,
                    form["text"],
                    limits,
                    published=form["published"] or None,
                    source="pasted text",
                )
            ctx["result"] = result
            if result.get("extraction"):
                ctx["highlighted"] = highlight_spans(form["text"], result["extraction"]["claims"])
        except WebProblem as exc:
            ctx["problem"] = exc.body(request.url.path)
            status = exc.status
        except ValueError as exc:  # QueryError from the published date
            ctx["problem"] = WebProblem("invalid-parameter", str(exc)).body(request.url.path)
            status = 400
        return render(request, "claims.html", ctx, title="Check claims", status=status)

    return router


def highlight_spans(text: str, claims: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The pasted text cut into pieces, each marked with the claims whose spans cover it
    (the extractor's character offsets), for the claims page to highlight."""
    cuts = {0, len(text)}
    spans = []
    for c in claims:
        for a, b in c.get("spans") or []:
            if 0 <= a < b <= len(text):
                spans.append((a, b, c["id"]))
                cuts |= {a, b}
    points = sorted(cuts)
    out = []
    for a, b in zip(points, points[1:], strict=False):
        ids = [cid for x, y, cid in spans if x <= a and b <= y]
        out.append({"text": text[a:b], "claims": " ".join(dict.fromkeys(ids))})
    return out


__all__ = ["build_router", "error_page", "highlight_spans", "render", "PROBLEM_TYPES"]
