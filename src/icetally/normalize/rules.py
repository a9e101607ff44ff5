"""Constants of normalization, kept in one place so they can be audited."""

from __future__ import annotations

# Any value made only of FOIA exemption codes — b(6), (b)(7)(C), (B)(7)(E) , b(7)(e),
# (b)(6),(b)(7)c) ... — is withheld, not a value. RE2 syntax (DuckDB) and Python re.
REDACTION_PATTERN = (
    r"(?i)\s*(\(?\s*b\s*\)?\s*\(\s*\d+\s*\)\s*(\(\s*[a-z]\s*\)|[a-z]\s*\)?)?\s*\)?\s*[,;]?\s*)+"
)

# Tokens that mean "no value" in released files (R's NA, blank cells, etc.).
NULL_TOKENS = ("", "NA", "N/A", "NULL", "NAN", "NONE", "#N/A")

# Date and timestamp layouts seen in releases, tried in order.
DATE_FORMATS = (
    "%m/%d/%Y",
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%y",
    "%d-%b-%Y",
    "%d-%b-%y",
)

# Administrations by inauguration day (code, first day): a class of the vocabulary.
from icetally.vocabulary import ADMINISTRATION_STARTS as ADMINISTRATIONS  # noqa: E402, F401
