"""The FastAPI application: JSON API, dashboard pages, local API docs.

    from icetally.web import create_app
    app = create_app("ice.duckdb")          # then: uvicorn.run(app, host="127.0.0.1")

Nothing is loaded from outside the server: the docs UI's assets come from the
``fastapi-offline`` package, charts are rendered server-side to SVG, and a
Content-Security-Policy forbids any other origin.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from icetally.api import ClaimsError, IcetallyError, QueryError
from icetally.web import api, pages
from icetally.web.problems import PROBLEM_TYPES, WebProblem, fix_openapi
from icetally.web.service import Budget, Limits, SurgeScans, problem_of
from icetally.web.store import QueryTimeout, StoreUnavailable, WebStore

log = logging.getLogger("icetally.web")
HERE = Path(__file__).parent

PAGE_CSP = (
    # Our own scripts and styles only; inline style attributes are allowed because
    # the server-rendered SVG charts carry them. No other origin, ever.
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)


def _swagger_assets() -> Path | None:
    """Swagger UI 5 (OpenAPI 3.1) as shipped inside the fastapi-offline wheel."""
    try:
        import fastapi_offline
    except ImportError:
        return None
    path = Path(fastapi_offline.__file__).parent / "static"
    return path if (path / "swagger-ui-bundle.js").exists() else None


def create_app(
    db: str | os.PathLike[str] | None = None,
    *,
    read_only: bool = True,
    limits: Limits | None = None,
    warm: bool = False,
) -> FastAPI:
    """The icetally web app over the store ``db`` (default $ICETALLY_DB, else
    ./icetally.duckdb). The store is opened read-only on the first request, so the
    app starts (and answers 503 problems) even before the store exists."""
    if not read_only:
        # The server never writes; there is no write mode to ask for.
        raise ValueError("the icetally web server only opens the store read-only")
    limits = limits or Limits()
    store = WebStore(db)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if warm:
            # The overview shows the default surge scan; compute it before the first
            # visitor asks (seconds of CPU), in the background so startup is instant.
            threading.Thread(target=_warm, args=(app,), daemon=True).start()
        yield
        store.close()

    app = FastAPI(
        lifespan=lifespan,
        title="icetally",
        version=_version(),
        summary="Verifiable answers from US immigration-enforcement records (FOIA releases)",
        description=(
            "The `icetally` command's queries over HTTP: the same option names as "
            "query parameters and the same JSON. Errors are RFC 9457 problem details "
            "(`application/problem+json`). See docs/web.md."
        ),
        docs_url=None,  # our own /docs page serves local assets
        redoc_url=None,
    )
    app.state.store = store
    app.state.limits = limits
    app.state.surge_scans = SurgeScans()
    app.state.report_lock = threading.Lock()
    app.state.report_budget = Budget("reports")

    _install_handlers(app)

    app.add_middleware(SecurityHeaders)

    app.include_router(api.build_router(limits))
    app.include_router(pages.build_router(limits))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    assets = _swagger_assets()
    if assets is not None:
        app.mount("/swagger-ui", StaticFiles(directory=assets), name="swagger")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        # Browsers ask for it on every first visit; answer rather than log a 404.
        return Response(status_code=204)

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        return pages.render(
            request, "docs.html", {"swagger": assets is not None}, title="API documentation"
        )

    @app.get("/problems/{slug}", include_in_schema=False)
    def problem_doc(request: Request, slug: str) -> HTMLResponse:
        if slug not in PROBLEM_TYPES:
            raise WebProblem("not-found", f"no problem type {slug!r}")
        status, title, text = PROBLEM_TYPES[slug]
        return pages.render(
            request,
            "problem_type.html",
            {"slug": slug, "status": status, "ptitle": title, "text": text},
            title=title,
        )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = fix_openapi(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    summary=app.summary,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


class SecurityHeaders:
    """Adds the CSP and friends to every response that does not set its own.

    A plain ASGI middleware: Starlette's ``@app.middleware("http")`` runs each request
    through an extra task and stream, which cost a third of a cached answer's time."""

    DEFAULTS = (
        (b"content-security-policy", PAGE_CSP.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.extend((k, v) for k, v in self.DEFAULTS if k not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def settle_heap() -> None:
    """For a server process, before it serves: import what requests will use, then
    exempt everything alive from the cyclic garbage collector (gc.freeze, as CPython's
    docs advise). Process-wide, so `icetally serve` calls it, create_app does not.

    The libraries' objects (~200,000: Ibis, sqlglot, pyarrow, FastAPI) never die, yet
    every full collection walked them all: pauses of 100-170 ms under load, in which no
    request is answered. Objects made later are still collected as usual."""
    import ibis.backends.duckdb  # noqa: F401

    import icetally.query.count  # noqa: F401 - imported for its side effect
    import icetally.query.prepared  # noqa: F401

    gc.collect()
    gc.freeze()
    # With the libraries frozen, the long-lived heap is small and a full collection
    # would run whenever it grew by a quarter (the caches filling): every 100th
    # middle-generation collection at most instead of every 10th.
    gc.set_threshold(700, 10, 100)


def app_from_env() -> FastAPI:
    """The app for ``uvicorn --factory`` (several worker processes each build their
    own): the store from $ICETALLY_DB, warm-up when $ICETALLY_WEB_WARM is 1."""
    app = create_app(os.environ.get("ICETALLY_DB"), warm=os.environ.get("ICETALLY_WEB_WARM") == "1")
    settle_heap()
    return app


def _warm(app: FastAPI) -> None:
    from icetally.web.service import SurgeParams

    try:
        app.state.surge_scans.get(app.state.store, SurgeParams(), app.state.limits)
    except Exception as exc:  # noqa: BLE001 - a cold cache is not an error
        log.info("surge warm-up skipped: %s", exc)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("icetally")
    except Exception:  # noqa: BLE001 - running from a checkout without metadata
        return "0"


def _wants_html(request: Request) -> bool:
    """Pages get an HTML error page; the API (and anything under /api) problem+json."""
    path = request.url.path
    return not (path == "/api" or path.startswith("/api/") or path == "/openapi.json")


def _problem(request: Request, problem: WebProblem) -> Response:
    if _wants_html(request):
        return pages.error_page(request, problem)
    return api.problem_response(problem, request.url.path)


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(WebProblem)
    async def on_problem(request: Request, exc: WebProblem) -> Response:
        return _problem(request, exc)

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> Response:
        errors = []
        for e in exc.errors():
            loc = [str(x) for x in e.get("loc", ()) if x not in ("query", "body")]
            errors.append({"parameter": ".".join(loc), "message": e.get("msg", "")})
        detail = "; ".join(f"{e['parameter']}: {e['message']}" for e in errors)
        return _problem(request, WebProblem("invalid-parameter", detail, {"errors": errors}))

    @app.exception_handler(IcetallyError)  # QueryError, ClaimsError, StoreError...
    @app.exception_handler(QueryError)
    @app.exception_handler(ClaimsError)
    @app.exception_handler(StoreUnavailable)
    @app.exception_handler(QueryTimeout)
    async def on_icetally_error(request: Request, exc: Exception) -> Response:
        return _problem(request, problem_of(exc))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        slug = {404: "not-found", 405: "method-not-allowed", 413: "request-too-large"}.get(
            exc.status_code
        )
        if slug is None:
            return JSONResponse(
                {
                    "type": "about:blank",
                    "title": str(exc.detail),
                    "status": exc.status_code,
                    "detail": str(exc.detail),
                },
                status_code=exc.status_code,
                media_type="application/problem+json",
            )
        detail = "not found" if exc.status_code == 404 else str(exc.detail)
        problem = WebProblem(slug, f"{request.method} {request.url.path}: {detail}")
        return _problem(request, problem)

    @app.exception_handler(Exception)
    async def on_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return _problem(
            request,
            WebProblem("internal-error", f"{type(exc).__name__} while serving the request"),
        )
