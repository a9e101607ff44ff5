"""Claims from the plain text of a press release or news story (``check --text``).

The pieces, in the order text flows through them:

* ``text``: the size limit, line cleaning and sentence splitting, with every cleaned
  character mapped back to its offset in the pasted text (claims carry spans);
* ``numbers``: figures written in words ("seventy", "a dozen", "ten (10)");
* ``dates``: days, ranges, months, fiscal years and durations in a sentence, with
  ``relative`` for weekday and relative dates ("ended Tuesday", "over the weekend");
* ``core``: figures, windows, places and shares turned into claims
  (``icetally.reference.places`` resolves places to AORs).

Work is linear in the text: the text is refused past ``MAX_TEXT_CHARS`` and every
sentence is cut at ``MAX_SENTENCE_CHARS``, so each regular expression runs over a
bounded string.
"""

from icetally.analysis.extract.core import (
    Extraction,
    claims_yaml,
    detect_published,
    extract_claims,
    find_dates,
    split_sentences,
)
from icetally.analysis.extract.text import MAX_SENTENCE_CHARS, MAX_TEXT_CHARS, TextTooLong

__all__ = [
    "Extraction",
    "MAX_SENTENCE_CHARS",
    "MAX_TEXT_CHARS",
    "TextTooLong",
    "claims_yaml",
    "detect_published",
    "extract_claims",
    "find_dates",
    "split_sentences",
]
