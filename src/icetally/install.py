"""What to install when a part of icetally cannot be imported.

``pip install icetally`` gives everything a reporter needs: reports with charts, the
web server and the dashboard. The one optional part is the cluster engine, installed
with ``pip install 'icetally[spark]'``. Every "needs X" message comes from here, so
each one names the exact thing to install.
"""

from __future__ import annotations

# extra name -> what it adds (pyproject.toml [project.optional-dependencies])
EXTRAS: dict[str, str] = {"spark": "the Spark backend (PySpark and Ibis's PySpark backend)"}


def needs(what: str, exc: ImportError, *, extra: str | None = None) -> str:
    """The message for ``what`` (e.g. "the spark backend") failing to import a module:
    the extra to install, or, for a part of the one install, how to repair it."""
    missing = exc.name or str(exc)
    if extra is not None:
        if extra not in EXTRAS:  # pragma: no cover - programming error
            raise ValueError(f"no extra {extra!r}; extras: {', '.join(EXTRAS)}")
        return (
            f"{what} needs the '{extra}' extra: pip install 'icetally[{extra}]' "
            f"({missing} is missing)"
        )
    return (
        f"{what} needs {missing}, which `pip install icetally` installs; this installation "
        f"lacks it: pip install --force-reinstall icetally"
    )
