"""The one YAML loader for what people send icetally (claims files, ``POST /api/check``
bodies): bounded, so a small document cannot cost large memory or time.

``yaml.safe_load`` builds no arbitrary objects, but it still

- expands aliases: a 470-byte "billion laughs" document (``&a [*a, *a, …]`` nested)
  is a few KB parsed and hundreds of MB once anything walks or serializes it;
- recurses once per nesting level: ``[[[[…]]]]`` a few thousand deep is a
  ``RecursionError`` (a traceback, not a YAML error);
- raises ``ValueError`` (not ``YAMLError``) for ``2018-02-30`` read as a date and for
  an integer of more than 4,300 digits.

``load`` refuses aliases and anchors, nesting deeper than ``max_depth``, more than
``max_nodes`` values and text longer than ``max_chars``, before building anything
big; a date or integer YAML cannot build is kept as the text it was written as, so
the claims parser says what is wrong with it (naming the claim). Every refusal is a
``YamlError`` whose message names the document, the line and what to do.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from icetally.errors import IcetallyError

__all__ = ["MAX_CHARS", "MAX_DEPTH", "MAX_NODES", "YamlError", "load", "load_file"]

# Claims files are a few KB; 2 MB is a thousand claims with their text.
MAX_CHARS = 2_000_000
# A claims document nests four deep (claims → claim → numerator → list).
MAX_DEPTH = 32
# Scalars, lists and mappings together: ~15 per claim.
MAX_NODES = 200_000


class YamlError(IcetallyError, ValueError):
    """A document is not YAML icetally reads, or exceeds a limit (message: one line
    naming the document and the line)."""


# libyaml when PyYAML was built with it (6x faster than the pure-Python parser: a
# 200 KB body in 0.8 s instead of 5 s), else the pure-Python classes.
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """The safe loader, keeping a date or integer it cannot build as its text."""


def _lenient(tag: str) -> Any:
    """The safe constructor for ``tag``, keeping the scalar's text when it cannot be
    built (``2018-02-30``; an integer past Python's 4,300-digit limit)."""
    strict = _Loader.yaml_constructors[tag]

    def construct(loader: Any, node: yaml.Node) -> Any:
        try:
            return strict(loader, node)
        except (ValueError, OverflowError):
            return loader.construct_scalar(node)

    return construct


for _tag in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:int"):
    _Loader.add_constructor(_tag, _lenient(_tag))

_OPEN = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSE = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
_NODE = (yaml.ScalarEvent, *_OPEN)


def _refuse(origin: str, event: Any, what: str) -> YamlError:
    mark = getattr(event, "start_mark", None)
    line = f" line {mark.line + 1}:" if mark is not None else ""
    return YamlError(f"{origin}:{line} {what}")


def _check_events(text: str, origin: str, max_depth: int, max_nodes: int) -> None:
    """Walk the parser's events (no document is built): refuse aliases and anchors,
    nesting past ``max_depth`` and more than ``max_nodes`` values."""
    depth = nodes = 0
    for event in yaml.parse(text, Loader=_BaseLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _refuse(
                origin,
                event,
                "YAML anchors and aliases (&name, *name) are not accepted: write the values out",
            )
        if isinstance(event, _NODE):
            nodes += 1
            if nodes > max_nodes:
                raise _refuse(origin, event, f"more than {max_nodes:,} values; split it")
        if isinstance(event, _OPEN):
            depth += 1
            if depth > max_depth:
                raise _refuse(origin, event, f"nested more than {max_depth} levels deep")
        elif isinstance(event, _CLOSE):
            depth -= 1


def load(
    text: str,
    origin: str = "<yaml>",
    *,
    max_chars: int = MAX_CHARS,
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_NODES,
) -> Any:
    """Parse one YAML (or JSON) document within the limits; ``YamlError`` otherwise."""
    if len(text) > max_chars:
        raise YamlError(
            f"{origin}: {len(text):,} characters; at most {max_chars:,} characters are read "
            "(split the document)"
        )
    try:
        _check_events(text, origin, max_depth, max_nodes)
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}:" if mark is not None else ""
        at = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        if "nesting depth" in str(problem):  # libyaml's own limit (1,000), met first
            raise YamlError(f"{origin}:{line} nested more than {max_depth} levels deep") from None
        raise YamlError(f"{origin}: not valid YAML{at}: {' '.join(str(problem).split())}") from None


def load_file(path: str | os.PathLike[str], **limits: Any) -> Any:
    """``load`` of a UTF-8 file, refusing one larger than the limit before reading it."""
    p = Path(path)
    max_chars = limits.get("max_chars", MAX_CHARS)
    try:
        # UTF-8 has at most 4 bytes a character: a larger file has too many characters
        if p.stat().st_size > 4 * max_chars:
            raise YamlError(
                f"{p}: {p.stat().st_size:,} bytes; at most {max_chars:,} characters are read"
            )
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlError(f"{p}: not UTF-8 text (byte {exc.start})") from None
    return load(text, str(p), **limits)
