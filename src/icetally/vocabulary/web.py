"""HTTP query parameters generated from the vocabulary, as a FastAPI dependency.

    from icetally.vocabulary.web import query_params

    @router.get("/count")
    def count(q: Annotated[dict[str, Any], Depends(query_params("dataset", "slice", "by"))]):
        q["aor"]        # ['LOS,PHI'] or ['LOS', 'PHI'] or None: as the client sent it

The parameters carry the CLI's names (``from``, ``to``, ``aor``, ``method_class``...),
its help as their description, and their examples; list parameters take commas or a
repeated parameter. The words are those of ``icetally.vocabulary.cli.options``
(``dataset``, ``metric``, ``area``, ``by``, filter names and groups). ``allowed_params(route)``
gives every parameter a route takes, so unknown ones can be refused.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import Query

from icetally.vocabulary import (
    AREAS,
    DATASETS,
    DEFAULT_AREA,
    DIMENSIONS,
    FILTERS,
    METRICS,
    filter_names,
)

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
LIST_NOTE = " Comma-separated, or the parameter repeated."


def _date(description: str, alias: str, example: str | None) -> Any:
    return Query(
        alias=alias,
        pattern=DATE_PATTERN,
        description=description,
        json_schema_extra={"format": "date"},
        examples=[example] if example else None,
    )


def _list(description: str, example: str | None, alias: str | None = None) -> Any:
    return Query(
        alias=alias,
        description=description + LIST_NOTE,
        examples=[example] if example else None,
    )


def _parameter(word: str, help: dict[str, str]) -> inspect.Parameter:
    kw = inspect.Parameter.KEYWORD_ONLY
    if word == "dataset":
        ann = Annotated[
            Literal[DATASETS],  # type: ignore[valid-type]
            Query(description=help.get(word, "Dataset (table)")),
        ]
        return inspect.Parameter(word, kw, default="arrests", annotation=ann)
    if word == "metric":
        ann = Annotated[
            Literal[tuple(METRICS)],  # type: ignore[valid-type]
            Query(description=help.get(word, "all records, or one arrest method class")),
        ]
        return inspect.Parameter(word, kw, default="all", annotation=ann)
    if word == "area":
        ann = Annotated[
            Literal[tuple(AREAS)],  # type: ignore[valid-type]
            Query(description=help.get(word, "Areas the daily series is per")),
        ]
        return inspect.Parameter(word, kw, default=DEFAULT_AREA, annotation=ann)
    if word == "by":
        text = help.get(word, "Dimensions: " + ", ".join(DIMENSIONS))
        ann = Annotated[list[str] | None, _list(text, "aor,month")]
        return inspect.Parameter(word, kw, default=None, annotation=ann)
    f = FILTERS[word]
    text = help.get(word, f.help)
    if f.is_window:
        ann = Annotated[str | None, _date(text, f.param, f.example)]
    else:
        ann = Annotated[list[str] | None, _list(text, f.example, f.param)]
    return inspect.Parameter(word, kw, default=None, annotation=ann)


def query_params(*names: str, help: dict[str, str] | None = None) -> Callable[..., dict[str, Any]]:
    """A dependency taking the vocabulary's parameters ``names`` and returning them as
    ``{name: value}`` (Python names: ``date_from``, not ``from``)."""
    words: list[str] = []
    for n in names:
        words.extend([n] if n in ("dataset", "metric", "area", "by") else filter_names(n))
    params = [_parameter(w, help or {}) for w in dict.fromkeys(words)]

    def dependency(**kwargs: Any) -> dict[str, Any]:
        return kwargs

    dependency.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return dependency


def allowed_params(route: Any) -> set[str]:
    """Every query parameter a route takes, its dependencies' included."""
    out: set[str] = set()
    todo = [route.dependant]
    while todo:
        dep = todo.pop()
        out.update(p.alias for p in dep.query_params)
        todo.extend(dep.dependencies)
    return out
