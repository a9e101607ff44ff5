"""The one YAML loader for what people send icetally (claims files, ``POST /api/check``
bodies): bounded, so a small document cannot cost large memory or time.

``yaml.safe_load`` builds no arbitrary objects, but it still

- shares aliased values: a 470-byte "billion laughs" document (``&a [*a, *a, …]`` nested)
  is a few KB parsed and hundreds of MB once anything walks or serializes it;
- recurses once per nesting level: ``[[[[…]]]]`` a few thousand deep is a
  ``RecursionError`` (a traceback, not a YAML error);
- raises ``ValueError`` (not ``YAMLError``) for ``2018-02-30`` read as a date and for
  an integer of more than 4,300 digits.

``load`` refuses text longer than ``max_chars``, and a document that, its aliases
expanded, would nest deeper than ``max_depth``, hold more than ``max_nodes`` values or
more than ``max_chars`` characters (aliases are bounded, not refused: ``yaml.dump``
writes them for shared values), before building anything; a date or integer YAML
cannot build is kept as the text it was written as, so the claims parser says what is
wrong with it (naming the claim). Every refusal is a
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


def _check_events(text: str, origin: str, max_depth: int, max_nodes: int, max_chars: int) -> None:
    """Walk the parser's events (no document is built) and refuse a document that,
    with its aliases expanded, would nest deeper than ``max_depth``, hold more than
    ``max_nodes`` values or more than ``max_chars`` characters of text: the limits of
    a document written out in full. An alias costs what its anchor holds, so an alias
    bomb is refused after a few thousand events; an alias to an anchor that is still
    open (a document that contains itself) is refused too."""
    depth = nodes = chars = 0
    # per anchor: (values, characters, depth below it), once its node is complete
    sizes: dict[str, tuple[int, int, int]] = {}
    # per open collection: (anchor, values, characters at its start, depth, deepest)
    frames: list[list[Any]] = []

    def reached(level: int) -> None:
        if level > max_depth:
            raise _refuse(origin, event, f"nested more than {max_depth} levels deep")
        for frame in frames:
            frame[4] = max(frame[4], level)

    for event in yaml.parse(text, Loader=_BaseLoader):
        if isinstance(event, yaml.AliasEvent):
            if event.anchor not in sizes:
                raise _refuse(origin, event, f"alias *{event.anchor} refers to itself")
            n, c, d = sizes[event.anchor]
            nodes, chars = nodes + n, chars + c
            reached(depth + d)
        elif isinstance(event, yaml.ScalarEvent):
            nodes, chars = nodes + 1, chars + len(event.value)
            if event.anchor:
                sizes[event.anchor] = (1, len(event.value), 0)
        elif isinstance(event, _OPEN):
            nodes += 1
            depth += 1
            frames.append([event.anchor, nodes - 1, chars, depth, depth])
            reached(depth)
        elif isinstance(event, _CLOSE):
            anchor, n0, c0, d0, deepest = frames.pop()
            if anchor:
                sizes[anchor] = (nodes - n0, chars - c0, deepest - d0 + 1)
            depth -= 1
        if nodes > max_nodes:
            raise _refuse(
                origin, event, f"more than {max_nodes:,} values (aliases expanded); split it"
            )
        if chars > max_chars:
            raise _refuse(
                origin,
                event,
                f"more than {max_chars:,} characters of text (aliases expanded); split it",
            )


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
        _check_events(text, origin, max_depth, max_nodes, max_chars)
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
