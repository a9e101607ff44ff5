"""RFC 9457 problem details: every error the server sends, with a stable ``type``.

``type`` is a relative URI under ``/problems/``; the server answers it with a page
saying what the problem means, so a client that meets a new type can look it up.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

PROBLEM_TYPES: dict[str, tuple[int, str, str]] = {
    # slug: (status, title, what it means / what to do)
    "invalid-parameter": (
        400,
        "Invalid parameter",
        "A query parameter or the request body is not valid: an unknown AOR code, a "
        "date that is not YYYY-MM-DD, a window whose start is after its end, an unknown "
        "dimension, an unreadable claims file. The detail names the parameter and what "
        "is accepted.",
    ),
    "not-found": (404, "Not found", "The page, surge or resource does not exist."),
    "method-not-allowed": (
        405,
        "Method not allowed",
        "The resource exists but not with this HTTP method (GET for queries, POST for /api/check).",
    ),
    "request-timeout": (
        408,
        "Request timeout",
        "The request's body did not arrive within the server's time limit (slow or "
        "stalled connection). Send it again at once; see docs/web.md, limits.",
    ),
    "request-too-large": (
        413,
        "Request too large",
        "The request body is larger than the server accepts (see docs/web.md, limits).",
    ),
    "result-too-large": (
        413,
        "Result too large",
        "The query would return more rows than the server sends at once. Narrow the "
        "slice, group by fewer or coarser dimensions (month instead of date), or run "
        "the same query with the `icetally count` command, which has no such limit.",
    ),
    "unsupported-media-type": (
        415,
        "Unsupported media type",
        "POST /api/check takes claims YAML (application/yaml, text/yaml, "
        "application/json) or press-release text (text/plain, or ?text=1).",
    ),
    "query-too-costly": (
        422,
        "Query too costly",
        "The query is valid but exceeds the server's cost limits (group-by dimensions, "
        "daily-series span, number of claims). The detail says which limit.",
    ),
    "query-timeout": (
        422,
        "Query timed out",
        "The query ran longer than the server's time limit and was stopped. Narrow "
        "the slice or use the `icetally` command.",
    ),
    "no-claims-found": (
        422,
        "No claims found",
        "The text holds no number the claim extractor could turn into a checkable claim.",
    ),
    "too-many-requests": (
        429,
        "Too many requests",
        "Surge scans take seconds of CPU each; the server runs a limited number of "
        "new scans per minute. Retry after the number of seconds in Retry-After "
        "(scans already computed are served from the cache at once).",
    ),
    "not-implemented": (
        501,
        "Not implemented",
        "This installation lacks the module that serves this resource.",
    ),
    "store-unavailable": (
        503,
        "Store unavailable",
        "The server has no readable store: the file is missing, or another process "
        "(an ingest) holds its write lock. Ingest, then restart the server.",
    ),
    "internal-error": (
        500,
        "Internal error",
        "An unexpected error. The server log has the traceback; please report it.",
    ),
}


class Problem(BaseModel):
    """The body of every error response (``application/problem+json``)."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None


PROBLEM_MEDIA = "application/problem+json"


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for the given error statuses (their content is
    set to the Problem schema by ``fix_openapi``)."""
    titles = {v[0]: v[1] for v in reversed(PROBLEM_TYPES.values())}
    return {s: {"description": f"{titles.get(s, 'error')} (problem details)"} for s in statuses}


def fix_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Make the schema say what the server sends: every error is problem+json, and
    parameter validation errors are 400 problems (FastAPI documents 422
    HTTPValidationError by default, which this server never sends)."""
    comps = schema.setdefault("components", {}).setdefault("schemas", {})
    comps.pop("HTTPValidationError", None)
    comps.pop("ValidationError", None)
    comps["Problem"] = Problem.model_json_schema()
    ref = {"schema": {"$ref": "#/components/schemas/Problem"}}
    for ops in schema.get("paths", {}).values():
        for op in ops.values():
            responses = op.setdefault("responses", {})
            r422 = responses.get("422")
            if r422 and "HTTPValidationError" in str(r422):
                del responses["422"]
            responses.setdefault("400", {"description": "Invalid parameter (problem details)"})
            responses.setdefault("503", {"description": "Store unavailable (problem details)"})
            for code, resp in responses.items():
                if code[0] in "45":
                    resp["content"] = {PROBLEM_MEDIA: ref}
    return schema


# What no response may show (issue #13, row 17): the folders of the store and of the
# ingested files, the interpreter's, home; process ids. Filled by each WebStore.
_PRIVATE_DIRS: set[str] = set()
_EXECUTABLES = {sys.executable, os.path.realpath(sys.executable)}
_PID = re.compile(r"\s*\(?\bPID[:\s]*\d+\)?", re.IGNORECASE)


def register_private(dirs: Iterable[str]) -> None:
    """Folders whose names a problem's text must not show."""
    _PRIVATE_DIRS.update(d.rstrip("/") for d in dirs if d and d.rstrip("/") not in ("", "."))


def public_text(text: str) -> str:
    """``text`` without the server's paths and process ids: an interpreter becomes
    ``python``, a file under a private folder its name, the folder itself ``…``."""
    for exe in sorted(_EXECUTABLES, key=len, reverse=True):
        text = text.replace(exe, "python")
    for d in sorted(_PRIVATE_DIRS, key=len, reverse=True):
        text = text.replace(d + "/", "").replace(d, "…")
    return _PID.sub("", text)


def _public(value: Any) -> Any:
    if isinstance(value, str):
        return public_text(value)
    return json.loads(public_text(json.dumps(value, default=str)))


@dataclass
class WebProblem(Exception):
    """Raised anywhere in the web layer; rendered as problem+json (API) or HTML (pages)."""

    slug: str
    detail: str
    extra: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Every problem is public: its words lose the server's paths and process ids
        # here, whoever raised it with whatever message.
        self.detail = public_text(self.detail)
        self.extra = {k: _public(v) for k, v in self.extra.items()}
        super().__init__(self.detail)
        if self.slug not in PROBLEM_TYPES:  # pragma: no cover - programming error
            raise ValueError(f"unknown problem type {self.slug!r}")

    @property
    def status(self) -> int:
        return PROBLEM_TYPES[self.slug][0]

    @property
    def title(self) -> str:
        return PROBLEM_TYPES[self.slug][1]

    def body(self, instance: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": f"/problems/{self.slug}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            out["instance"] = instance
        out.update(self.extra)
        return out
