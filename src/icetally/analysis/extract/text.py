"""A pasted text as sentences, each character mapped back to its offset in the text.

Cleaning (curly quotes, dashes, Markdown escapes, "Enforcement and Removal Operations"
shortened) changes lengths, so every cleaned string carries ``pos``: the offset in the
original text of each of its characters. A claim's span is then exact in what the
person pasted, which is what the web page highlights.

Lines are classified once: Markdown headings, links, bylines and datelines are not
prose (joined into the next sentence they would hand it a wrong date or place); a
headline (a line without closing punctuation followed by a capitalised line) ends its
own sentence; bullet lines and table rows are list items, read with the sentence that
leads into them ("ICE arrested 120 people in four cities:").

Everything here is linear: the text is refused past ``MAX_TEXT_CHARS`` and a sentence is
cut at ``MAX_SENTENCE_CHARS`` (no press sentence is that long; a pasted table without
line breaks would be), so later regular expressions always run over bounded strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from icetally.analysis.claims.parse import ClaimsError

__all__ = [
    "MAX_SENTENCE_CHARS",
    "MAX_TEXT_CHARS",
    "Line",
    "Sentence",
    "TextTooLong",
    "check_size",
    "clean_lines",
    "sentences",
]

MAX_TEXT_CHARS = 200_000
MAX_SENTENCE_CHARS = 2_000


class TextTooLong(ClaimsError):
    """The pasted text is over the extractor's size limit (the web answers 413)."""

    def __init__(self, n: int, limit: int = MAX_TEXT_CHARS) -> None:
        super().__init__(
            f"the text has {n:,} characters; claim extraction reads at most {limit:,} "
            "(paste the press release itself, not a whole page or feed)"
        )
        self.n = n
        self.limit = limit


def check_size(text: str, limit: int = MAX_TEXT_CHARS) -> None:
    if len(text) > limit:
        raise TextTooLong(len(text), limit)


@dataclass
class Mapped:
    """A string and, per character, its offset in the original text."""

    text: str
    pos: list[int]

    def sub(self, pattern: re.Pattern[str], repl: str) -> Mapped:
        """``re.sub`` keeping the map: replacement characters map into the match."""
        out: list[str] = []
        opos: list[int] = []
        last = 0
        for m in pattern.finditer(self.text):
            out.append(self.text[last : m.start()])
            opos.extend(self.pos[last : m.start()])
            r = m.expand(repl)
            out.append(r)
            width = max(1, m.end() - m.start())
            opos.extend(self.pos[m.start() + min(i, width - 1)] for i in range(len(r)))
            last = m.end()
        out.append(self.text[last:])
        opos.extend(self.pos[last:])
        return Mapped("".join(out), opos)

    def strip(self) -> Mapped:
        s = self.text
        a = len(s) - len(s.lstrip())
        b = len(s.rstrip())
        return Mapped(s[a:b], self.pos[a:b])

    def __add__(self, other: Mapped) -> Mapped:
        return Mapped(self.text + other.text, self.pos + other.pos)

    def slice(self, a: int, b: int) -> Mapped:
        return Mapped(self.text[a:b], self.pos[a:b])


_QUOTE_CHARS = re.compile("[“”‘’–]")
_QUOTE_MAP = {"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-"}
_EM_DASH = re.compile("—")
_ESC_DOLLAR = re.compile(r"\\\$")
_BACKSLASH = re.compile(r"\\")
_ERO_NAME = re.compile(r"Enforcement\s+and\s+Removal\s+Operations", re.IGNORECASE)
_BULLET = re.compile(r"^(?:[-*•·▪◦]|\d{1,2}[.)])\s+")
_TABLE_ROW = re.compile(r"\t|\s\|\s|^\||\S {3,}\S")
_ARREST_HINT = re.compile(r"arrest|apprehen|detain|custody|remov|deport", re.IGNORECASE)
_NUMBERISH = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozen|"
    r"twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred)\b",
    re.IGNORECASE,
)


_DATE_ONLY = re.compile(r"^[\w ,.]*\b(?:19|20)\d\d$")


def _clean(m: Mapped) -> Mapped:
    t = m.text.translate(str.maketrans(_QUOTE_MAP))  # one character for one
    m = Mapped(t, m.pos)
    m = m.sub(_EM_DASH, " - ")
    m = m.sub(_ESC_DOLLAR, "$")
    return m.sub(_BACKSLASH, "")


@dataclass
class Line:
    text: Mapped
    kind: str  # prose | headline | item | loose


def clean_lines(text: str) -> list[Line]:
    """The text's non-blank lines, cleaned and classified."""
    out: list[Line] = []
    offset = 0
    raw_lines = text.replace("\r\n", "\n ").replace("\r", "\n").split("\n")
    for raw in raw_lines:
        start = offset
        offset += len(raw) + 1
        m = Mapped(raw, list(range(start, start + len(raw)))).strip()
        if not m.text:
            continue
        m = _clean(m).strip()
        s = m.text
        if s.startswith("#") or re.fullmatch(r"[*_]*\[.*\]\(.*\)[*_]*", s[:500]):
            out.append(Line(m.sub(re.compile(r"^#+\s*"), ""), "loose"))
            continue
        if _BULLET.match(s) or (_TABLE_ROW.search(s[:300]) and len(s) < 300):
            out.append(Line(m, "item"))
            continue
        short = len(s.split()) <= 8 and not re.search(r"[.!?:;,\"']$", s)
        # the first line of a release is its headline unless it is a date or a name
        headline = not out and len(s.split()) >= 4 and not _DATE_ONLY.match(s)
        if short and not headline and not (_ARREST_HINT.search(s) and _NUMBERISH.search(s)):
            out.append(Line(m, "loose"))  # a byline or dateline
            continue
        out.append(Line(m, "prose"))
    return out


@dataclass
class Sentence:
    """A sentence (or list item) of cleaned text with its offsets in the original."""

    text: str
    pos: list[int]
    kind: str = "prose"  # prose | headline | item
    lead: int | None = None  # for an item: the index of the sentence leading into it
    index: int = 0
    extra: dict[str, object] = field(default_factory=dict)

    def span(self, a: int, b: int) -> tuple[int, int]:
        """Original-text span of cleaned characters ``a:b``."""
        if not self.pos:
            return 0, 0
        a = max(0, min(a, len(self.pos) - 1))
        b = max(a + 1, min(b, len(self.pos)))
        return self.pos[a], self.pos[b - 1] + 1


_ABBREV = {
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "mr", "mrs", "ms", "dr", "st", "no", "vs", "jr", "sr", "inc", "gov", "sen", "rep",
    "lt", "gen", "col", "sgt", "u.s", "d.c", "e.g", "i.e", "a.m", "p.m", "ft", "mt",
}  # fmt: skip
_END = re.compile(r'[.!?]["\')]?\s+(?=["\'(]?[A-Z0-9$])')
_LAST_WORD = re.compile(r"([\w.]+)\.$")


def _split(m: Mapped) -> list[Mapped]:
    out = []
    start = 0
    s = m.text
    for e in _END.finditer(s):
        before = s[max(start, e.start() - 40) : e.start() + 1]
        word = _LAST_WORD.search(before)
        if word and (word.group(1).lower() in _ABBREV or re.fullmatch(r"[A-Z]", word.group(1))):
            continue
        out.append(m.slice(start, e.end()).strip())
        start = e.end()
    tail = m.slice(start, len(s)).strip()
    if tail.text:
        out.append(tail)
    # bound the work per sentence: a pasted table without line breaks is cut in pieces
    bounded = []
    for piece in out:
        for a in range(0, len(piece.text), MAX_SENTENCE_CHARS):
            bounded.append(piece.slice(a, a + MAX_SENTENCE_CHARS))
    return bounded


def sentences(text: str, *, ero_short: bool = False) -> list[Sentence]:
    """Sentences of the prose and list items, in order. Prose lines are joined first
    (a paragraph broken mid-sentence reads as one sentence); a line with no closing
    punctuation followed by a capitalised line is a headline and ends there."""
    check_size(text)
    lines = clean_lines(text)
    out: list[Sentence] = []
    para: list[Mapped] | None = None  # the lines of the paragraph being read
    first_prose = True

    def flush() -> None:
        nonlocal para
        if para is None:
            return
        joined: list[str] = []
        jpos: list[int] = []
        for k, line in enumerate(para):
            if k:
                joined.append(" ")
                jpos.append(jpos[-1] + 1)
            joined.append(line.text)
            jpos.extend(line.pos)
        for piece in _split(Mapped("".join(joined), jpos)):
            if ero_short:
                piece = piece.sub(_ERO_NAME, "ERO")
            out.append(Sentence(piece.text, piece.pos, "prose", index=len(out)))
        para = None

    last_lead: int | None = None
    for i, line in enumerate(lines):
        if line.kind == "loose":
            continue
        if line.kind == "item":
            flush()
            piece = line.text.sub(_BULLET, "")
            if ero_short:
                piece = piece.sub(_ERO_NAME, "ERO")
            if last_lead is None and out:
                last_lead = len(out) - 1
            out.append(Sentence(piece.text, piece.pos, "item", lead=last_lead, index=len(out)))
            continue
        last_lead = None
        m = line.text
        nxt = next((ln for ln in lines[i + 1 :] if ln.kind != "loose"), None)
        starts_next = nxt is not None and bool(re.match(r"[\"'(]?[A-Z0-9$]", nxt.text.text))
        is_headline = (
            nxt is not None
            and nxt.kind == "prose"
            and starts_next
            and (
                not re.search(r"[.!?:;\"')]$", m.text)
                # the first line of a release is its headline, closing stop or not
                or (first_prose and para is None and len(m.text.split()) <= 30)
            )
        )
        if para is None:
            para = [m]
        else:
            para.append(m)
        if is_headline:
            n0 = len(out)
            flush()
            if first_prose:
                for s in out[n0:]:
                    s.kind = "headline"
        first_prose = False
        if m.text.endswith(":"):
            flush()
            last_lead = len(out) - 1 if out else None
    flush()
    return out
