"""The surge scan's default settings, apart from the model (numpy, scipy), so the
command line and the web schema can show them without loading it."""

from __future__ import annotations

# A window is reported when a null AOR would show a window this strong less than once in
# 100 years (p <= 0.01 per AOR-year). Over 26 AORs x 4 years that is ~1 chance surge per
# full national scan, against dozens of real ones; see docs/methods.md.
DEFAULT_THRESHOLD = 0.01
# Two weeks: the longest window scanned (and the lagged tail left out of a scan).
DEFAULT_MAX_WINDOW = 14
# Weekend at-large baselines can be near zero, where a handful of arrests is already
# "significant"; an operation worth reporting stands at least this many records above
# its baseline. Pass min_excess=0 to see every significant window.
DEFAULT_MIN_EXCESS = 10
