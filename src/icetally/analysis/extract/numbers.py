"""Figures written in words: "seventy", "twenty-one", "a dozen", "two hundred",
"Seven-hundred and ninety", "ten (10)".

``word_numbers`` scans a sentence once (one regular expression over its words, then a
left-to-right fold), so it is linear in the sentence.

>>> [(n.text, n.value) for n in word_numbers("ICE arrested seventy-two people and a dozen more")]
[('seventy-two', 72), ('a dozen', 12)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["WordNumber", "word_numbers", "UNITS", "TENS"]

UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19,
}  # fmt: skip
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1_000}
_WORD = re.compile(
    r"\b(?:(?P<dozen>(?:a|one|two|three|half\s+a)\s+dozen|dozens)|"
    r"(?P<w>" + "|".join([*UNITS, *TENS, *_SCALES]) + r"))\b",
    re.IGNORECASE,
)
_JOIN = re.compile(r"^(?:\s*-\s*|\s+and\s+|\s+)$", re.IGNORECASE)
_PAREN_DIGITS = re.compile(r"^\s*\((\d{1,3}(?:,\d{3})*|\d+)\)")


@dataclass
class WordNumber:
    start: int
    end: int
    value: int
    text: str


def _dozen(phrase: str) -> int | None:
    p = " ".join(phrase.lower().split())
    if p == "dozens":
        return None  # "dozens of": no figure
    return {"a dozen": 12, "one dozen": 12, "two dozen": 24, "three dozen": 36,
            "half a dozen": 6}[p]  # fmt: skip


def word_numbers(sentence: str) -> list[WordNumber]:
    """Number words in a sentence, compounds folded ("seven hundred and ninety" = 790).
    A figure written both ways ("ten (10)") is one number whose span covers both."""
    out: list[WordNumber] = []
    cur: WordNumber | None = None
    total = 0
    group = 0

    def close() -> None:
        nonlocal cur, total, group
        if cur is not None:
            cur.value = total + group
            out.append(cur)
        cur, total, group = None, 0, 0

    for m in _WORD.finditer(sentence):
        if m.group("dozen"):
            close()
            v = _dozen(m.group("dozen"))
            if v is not None:
                out.append(WordNumber(m.start(), m.end(), v, m.group(0)))
            continue
        w = m.group("w").lower()
        if cur is not None and not _JOIN.match(sentence[cur.end : m.start()]):
            close()
        if cur is None:
            if w in _SCALES:
                continue  # "hundreds of", "thousands of": no figure
            cur = WordNumber(m.start(), m.end(), 0, "")
        if w in UNITS:
            if group % 10 or (group and group < 20 and w in UNITS):
                close()
                cur = WordNumber(m.start(), m.end(), 0, "")
            group += UNITS[w]
        elif w in TENS:
            if group % 100:
                close()
                cur = WordNumber(m.start(), m.end(), 0, "")
            group += TENS[w]
        elif w == "hundred":
            group = (group or 1) * 100
        else:  # thousand
            total += (group or 1) * 1000
            group = 0
        cur.end = m.end()
        cur.text = sentence[cur.start : cur.end]
    close()
    # "ten (10)": the digits restate the words
    for n in out:
        pm = _PAREN_DIGITS.match(sentence[n.end :])
        if pm and int(pm.group(1).replace(",", "")) == n.value:
            n.end += pm.end()
            n.text = sentence[n.start : n.end]
    return [n for n in out if n.value > 0 or n.text.lower().startswith("zero")]
