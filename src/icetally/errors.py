"""``IcetallyError``: the one base of every error icetally reports to a person.

An ``IcetallyError``'s message is one line naming the file (sheet, row) or the
parameter and what to do. The command line prints it as ``error: …`` (or
``{"error": …}`` with ``--json``) and exits with ``exit_code``; the web server answers
the problem type ``problem`` (icetally.web.problems), with paths and process ids
removed. Anything else that escapes is a defect: the CLI says so in one line (exit 1)
and the server answers a 500 problem without a trace (the log has it).

Each error keeps its older base too (``QueryError`` is a ``ValueError``, ``StoreError``
an ``OSError``), so code that caught those still does.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = ["IcetallyError", "UsageError", "one_line"]


class IcetallyError(Exception):
    """An error for the person using icetally (bad input, a store that cannot be used).

    ``exit_code``: the CLI's exit status (2: the command could not run as asked).
    ``problem``: the web problem type (``invalid-parameter`` → 400,
    ``request-too-large`` → 413, ``query-too-costly`` → 422, ``store-unavailable`` → 503).
    """

    exit_code: ClassVar[int] = 2
    problem: ClassVar[str] = "invalid-parameter"


class UsageError(IcetallyError, ValueError):
    """A command was given options that do not go together (the CLI's own checks)."""


def one_line(exc: BaseException) -> str:
    """The message of an error on one line (the first line, else the type's name)."""
    text = " ".join(str(exc).split()) if str(exc).strip() else type(exc).__name__
    return text
