"""The ratios recorded in docs/performance.md, and the check `make bench` runs against
them: a ratio more than 20% worse than its recorded figure is warned about (a ratio to
a floor measured in the same run, so a slower machine alone does not trip it).

The recorded figures are the rows of the table between ``<!-- recorded-ratios -->``
and ``<!-- /recorded-ratios -->``: ``| key | recorded | target | ... |``, where the key
is the figure's path in bench-results/summary.json (``ingest_csv.ratio``)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[1] / "docs" / "performance.md"
TOLERANCE = 1.20  # worse than recorded by more than this factor: a warning
_BLOCK = re.compile(r"<!-- recorded-ratios -->(.*?)<!-- /recorded-ratios -->", re.S)


def recorded(doc: Path = DOC) -> dict[str, float]:
    """key -> recorded ratio (lower is better)."""
    if not doc.is_file():
        return {}
    m = _BLOCK.search(doc.read_text(encoding="utf-8"))
    if not m:
        return {}
    out: dict[str, float] = {}
    for line in m.group(1).splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) < 2:
            continue
        try:
            out[cells[0]] = float(cells[1].rstrip("×x"))
        except ValueError:
            continue  # the header and its rule
    return out


def lookup(summary: dict[str, Any], key: str) -> float | None:
    node: Any = summary
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return float(node) if isinstance(node, int | float) else None


def regressions(
    summary: dict[str, Any], doc: Path = DOC, tolerance: float = TOLERANCE
) -> list[str]:
    """One line per measured ratio more than ``tolerance`` times its recorded figure."""
    out = []
    for key, was in recorded(doc).items():
        now = lookup(summary, key)
        if now is not None and was > 0 and now > was * tolerance:
            out.append(
                f"{key}: {now:.2f}, recorded {was:.2f} in {doc.name} "
                f"({now / was - 1:+.0%}, more than {tolerance - 1:.0%} worse)"
            )
    return out


def warn(summary: dict[str, Any], doc: Path = DOC) -> list[str]:
    lines = regressions(summary, doc)
    for line in lines:
        print(f"WARNING: slower than recorded: {line}", file=sys.stderr)
    return lines
