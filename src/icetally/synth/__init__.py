"""Synthetic release files for tests, benchmarks and the demo.

Everything written here is random and says so in its preamble: these files imitate
the *layout* of real releases, never their content.
"""

from __future__ import annotations

from icetally.synth.xlsx import (
    DDP_ARRESTS_2026_COLUMNS,
    EXCEL_MAX_ROWS,
    SheetSpec,
    ddp_arrests_2026_rows,
    write_ddp_arrests_2026,
    write_xlsx,
)

__all__ = [
    "DDP_ARRESTS_2026_COLUMNS",
    "EXCEL_MAX_ROWS",
    "SheetSpec",
    "ddp_arrests_2026_rows",
    "write_ddp_arrests_2026",
    "write_xlsx",
]
