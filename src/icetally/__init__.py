"""icetally: verifiable answers from US immigration-enforcement records released under FOIA."""

from __future__ import annotations

__version__ = "0.1.0"

from icetally.api import count, ingest, releases, surges  # noqa: E402

__all__ = ["count", "ingest", "releases", "surges", "__version__"]
