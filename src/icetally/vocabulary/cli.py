"""CLI options generated from the vocabulary.

A command says which words it takes; the options (names, help, defaults) come from
``icetally.vocabulary``, and the command receives them in one ``Given``::

    @app.command()
    @options("dataset", "slice", "by", "store", "json")
    def count(given: Given, fmt: str = typer.Option("table", "--format")) -> None:
        result = api.count(given.dataset, store=given.store(), by=given.by, **given.filters)
        given.emit(result.to_dict()) or print_table(result)

Words: any filter name (``aor``, ``date_from``...) or filter group (``window``,
``filters``, ``slice``, ``claims``; see ``icetally.vocabulary.filter_names``), and
``dataset``, ``by``, ``metric``, ``area``, ``db``, ``backend``, ``store`` (= ``db`` + ``backend``),
``json``. ``help={"date_from": "Report windows from this day"}`` rewords an option
for one command; ``defaults={"by": "month"}`` changes a default.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click
import typer

from icetally.errors import IcetallyError, UsageError, one_line
from icetally.vocabulary import (
    AREAS,
    DATASETS,
    DEFAULT_AREA,
    DIMENSIONS,
    FILTERS,
    METRICS,
    filter_names,
)

F = TypeVar("F", bound=Callable[..., Any])

# Words that are not filters: (parameter name, type, default, option names, help).
_OTHER: dict[str, tuple[str, Any, Any, tuple[str, ...], str]] = {
    "dataset": ("dataset", str, "arrests", ("--dataset",), ", ".join(DATASETS)),
    "by": (
        "by",
        str | None,
        None,
        ("--by",),
        "Dimensions: " + ", ".join(DIMENSIONS),
    ),
    "metric": ("metric", str, "all", ("--metric",), ", ".join(METRICS)),
    "area": (
        "area",
        str,
        DEFAULT_AREA,
        ("--area",),
        "Areas the daily series is per: " + ", ".join(AREAS),
    ),
    "db": (
        "db",
        str | None,
        None,
        ("--db",),
        "Store file (default $ICETALLY_DB, else ./icetally.duckdb)",
    ),
    "backend": (
        "backend",
        str | None,
        None,
        ("--backend",),
        "duckdb (default), spark, or an Ibis URL",
    ),
    "json": ("as_json", bool, False, ("--json",), "Machine-readable JSON on stdout"),
}
_GROUPS = {"store": ("db", "backend")}
# Exceptions by which a command ends with the status it chose (typer's are not click's).
_CHOSEN_EXITS = (
    typer.Exit,
    typer.Abort,
    click.exceptions.Exit,
    click.exceptions.Abort,
    click.ClickException,
)
_TAIL = ("db", "backend", "as_json")


@dataclass
class Given:
    """What a command was given through its vocabulary options."""

    filters: dict[str, Any] = field(default_factory=dict)  # Slice.build keywords, set ones
    dataset: str = "arrests"
    by: str | None = None
    metric: str = "all"
    area: str = DEFAULT_AREA
    db: str | None = None
    backend: str | None = None
    as_json: bool = False

    def store(self, *, read_only: bool = True) -> Any:
        """A Store over ``--db`` with ``--backend``."""
        from icetally.store.handle import Store

        return Store.open(self.db, backend=self.backend, read_only=read_only)

    def emit(self, obj: Any) -> bool:
        """With --json: write ``obj`` as JSON on stdout and return True."""
        if not self.as_json:
            return False
        sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")
        return True

    def fail(self, exc: BaseException) -> None:
        """The one way a command reports an error: one line on stderr (``error: …``),
        or ``{"error": …}`` on stdout with --json; exit 2 for an ``IcetallyError``
        (the command could not run as asked), 1 for anything else (a defect, said so
        in one line; ICETALLY_DEBUG=1 shows the traceback instead)."""
        if isinstance(exc, IcetallyError):
            message, code = one_line(exc), exc.exit_code
        elif isinstance(exc, OSError) and exc.filename is not None:
            # a file named on the command line cannot be read or written
            message, code = f"{exc.filename}: {exc.strerror or one_line(exc)}", 2
        else:
            message = (
                f"unexpected {type(exc).__name__}: {one_line(exc)} (a defect in icetally: "
                "please report it with the command; ICETALLY_DEBUG=1 shows the traceback)"
            )
            code = 1
        kind = type(exc).__name__
        if isinstance(exc, UsageError) and isinstance(exc.__context__, IcetallyError):
            kind = type(exc.__context__).__name__  # a command's `_fail(str(exc))`
        if self.as_json:
            body = {"error": message, "kind": kind}
            sys.stdout.write(json.dumps(body, indent=2) + "\n")
        else:
            sys.stdout.flush()
            sys.stderr.write(f"error: {message}\n")
        raise typer.Exit(code)


def _words(names: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for n in names:
        if n in _GROUPS:
            out.extend(_GROUPS[n])
        elif n in _OTHER:
            out.append(n)
        else:
            out.extend(filter_names(n))
    return list(dict.fromkeys(out))


def _parameter(word: str, help: dict[str, str], defaults: dict[str, Any]) -> inspect.Parameter:
    if word in FILTERS:
        f = FILTERS[word]
        name, kind, default, decls, text = word, str | None, None, (f.option,), f.help
    else:
        name, kind, default, decls, text = _OTHER[word]
    default = defaults.get(word, default)
    option = typer.Option(default, *decls, help=help.get(word, text))
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind)


def options(
    *names: str, help: dict[str, str] | None = None, defaults: dict[str, Any] | None = None
) -> Callable[[F], F]:
    """Add the vocabulary's options ``names`` to a Typer command whose first parameter
    is ``given: Given`` (see the module docstring)."""
    words = _words(names)
    params = [_parameter(w, help or {}, defaults or {}) for w in words]
    injected = {p.name for p in params}

    def decorate(fn: F) -> F:
        sig = inspect.signature(fn)
        own = [p for p in sig.parameters.values() if p.name != "given"]
        clash = injected & {p.name for p in own}
        if clash:
            raise TypeError(f"{fn.__name__}: declares vocabulary options itself: {clash}")

        @functools.wraps(fn)
        def command(**kwargs: Any) -> Any:
            given = Given()
            for name in injected:
                value = kwargs.pop(name)
                if name in FILTERS:
                    if value is not None:
                        given.filters[name] = value
                else:
                    setattr(given, name, value)
            try:
                return fn(given, **kwargs)
            except _CHOSEN_EXITS:
                raise  # typer.Exit and friends: the command chose its status itself
            except Exception as exc:  # noqa: BLE001 - every error leaves through Given.fail
                if os.environ.get("ICETALLY_DEBUG") and not isinstance(exc, IcetallyError):
                    raise
                given.fail(exc)

        # --help lists the vocabulary's words first, the command's own options next,
        # and where the store is and how to answer (--db, --backend, --json) last.
        kw = inspect.Parameter.KEYWORD_ONLY
        own = [p.replace(kind=kw) for p in own]
        head = [p for p in params if p.name not in _TAIL]
        tail = [p for p in params if p.name in _TAIL]
        command.__signature__ = sig.replace(parameters=[*head, *own, *tail])  # type: ignore[attr-defined]
        annotations = {k: v for k, v in fn.__annotations__.items() if k != "given"}
        annotations.update({p.name: p.annotation for p in params})
        command.__annotations__ = annotations
        return command  # type: ignore[return-value]

    return decorate
