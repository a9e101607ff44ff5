"""Property-based run of the server's own OpenAPI schema (schemathesis) against the app
over the real FY2016-2019 store, in process (ASGI transport): whatever a client sends
within or outside the schema, the server answers without a server error, with a status
code and content type the schema declares, and a body that matches its schema.

Bounded: a fixed number of examples per operation (ICETALLY_SCHEMA_EXAMPLES, default
50) and a small surge-scan budget, so the run stays within a minute or two.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from icetally.web import Limits, create_app

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("ICETALLY_SCHEMA_EXAMPLES", "50"))

# Not checked: positive_data_acceptance. The schema cannot say which strings are AOR
# codes or that `from` must not be after `to`, so schema-valid requests can be
# refused with a 400 problem, which is the intended answer.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


# The operations, read from the schema itself (building it needs no store).
OPERATIONS = [
    (path, method.upper())
    for path, ops in create_app(None).openapi()["paths"].items()
    for method in ops
]


@pytest.fixture(scope="module")
def web_schema(national_db: Path) -> schemathesis.BaseSchema:
    # Two new surge scans a minute: later distinct scans get a 429 problem, which keeps
    # the run short and exercises the budget.
    app = create_app(national_db, limits=Limits(surge_scans_per_minute=2))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


# schemathesis' own pytest plugin does not run under pytest 9 (it reads a private
# attribute pytest removed), so each operation's Hypothesis strategy is driven here.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_api_has_no_server_errors(
    web_schema: schemathesis.BaseSchema, path: str, method: str, mode: GenerationMode
) -> None:
    operation = web_schema[path][method]
    if mode is GenerationMode.NEGATIVE and not list(operation.iter_parameters()):
        pytest.skip(f"{method} {path} takes no parameters: there is nothing to get wrong")

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,  # the same cases every run: a failure reproduces
        database=None,
    )
    def run(case: schemathesis.Case) -> None:
        statuses.append(case.call_and_validate(checks=CHECKS).status_code)

    statuses: list[int] = []
    run()
    # Not vacuous: the cases reached the server, and valid counts were answered.
    assert statuses
    if path == "/api/count" and mode is GenerationMode.POSITIVE:
        assert 200 in statuses, statuses
    print(f"{method} {path} {mode.value}: {sorted(statuses)}")
