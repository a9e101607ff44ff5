"""Claims: the words. Every sentence a check result carries (its ``explanation`` and
``reasons``) is written here, from figures and verdicts decided in ``verdicts.py``.
Nothing here queries or decides."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from icetally import reference
from icetally.analysis.claims.parse import _PCT, Claim
from icetally.vocabulary import label_of

DATASET_NOUNS = {
    "arrests": "arrests",
    "encounters": "encounters",
    "detainers": "detainers",
    "detention_stints": "detention book-ins",
    "removals": "removals",
    "cbp_encounters": "CBP encounters",
}
_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                 "nine", "ten", "eleven", "twelve", "thirteen", "fourteen")  # fmt: skip


# --------------------------------------------------------------------------- pieces


def fmt_n(x: float | None) -> str:
    if x is None:
        return "?"
    return f"{round(x):,}"


def fmt_pct(x: float) -> str:
    v = x * 100
    return f"{v:.0f}%" if abs(v - round(v)) < 0.05 else f"{v:.1f}%"


def days_words(n: int) -> str:
    return f"{_NUMBER_WORDS[n]} days" if n < len(_NUMBER_WORDS) else f"{n} days"


def join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def noun(claim: Claim) -> str:
    return DATASET_NOUNS[claim.dataset]


def where(claim: Claim) -> str:
    f = claim.filters
    parts = []
    if f.get("aor"):
        codes = f["aor"]
        parts.append(f"in the {join(codes)} AOR{'s' if len(codes) > 1 else ''}")
    if f.get("state"):
        parts.append(f"in {join(f['state'])}")
    if f.get("county"):
        parts.append(f"in county {join(f['county'])}")
    if not (f.get("aor") or f.get("state") or f.get("county")):
        parts.append("nationwide")
    if f.get("method_class"):
        parts.append(f"by method {' or '.join(m.replace('_', '-') for m in f['method_class'])}")
    if f.get("citizenship"):
        parts.append(f"of citizens of {join(f['citizenship'])}")
    if f.get("continent"):
        parts.append(f"of citizens of {join(f['continent'])}")
    if f.get("criminality"):
        parts.append(f"classed {' or '.join(c.replace('_', ' ') for c in f['criminality'])}")
    return " ".join(parts)


def window(claim: Claim) -> str:
    if claim.date_from == claim.date_to:
        return f"on {claim.date_from}"
    return f"from {claim.date_from} to {claim.date_to}"


def country_names(values: Iterable[str]) -> list[str]:
    """ISO3 codes -> readable names ('MEX' -> 'Mexico'); other values as given."""
    names: dict[str, str] = {}
    for c in reference.countries():
        if c.iso3 and (c.iso3 not in names or len(c.name) < len(names[c.iso3])):
            names[c.iso3] = c.name
    out = []
    for v in values:
        name = names.get(v.upper())
        out.append(name.title() if name else v)
    return out


def numerator_words(num: Mapping[str, Any]) -> str:
    parts = []
    if num.get("criminality"):
        words = " or ".join(
            {"pending_charges": "facing pending charges"}.get(c, c.replace("_", " "))
            for c in num["criminality"]
        )
        parts.append(words)
    if num.get("exclude_immigration_only"):
        parts.append("(convictions for immigration offences alone, such as illegal entry, "
                     "not counted)")  # fmt: skip
    if num.get("citizenship"):
        parts.append(f"citizens of {join(country_names(num['citizenship']))}")
    if num.get("continent"):
        parts.append(f"from {join(num['continent'])}")
    if num.get("method_class"):
        parts.append(f"arrested {' or '.join(m.replace('_', '-') for m in num['method_class'])}")
    return " ".join(parts)


def stated_share(claim: Claim) -> str:
    if claim.value_text and not _PCT.match(claim.value_text):
        return f"'{claim.value_text}'"
    if claim.qualifier == "more_than":
        return f"more than {fmt_pct(claim.value)}"
    if claim.qualifier == "fewer_than":
        return f"fewer than {fmt_pct(claim.value)}"
    return fmt_pct(claim.value)


def unverifiable(reasons: list[str], lead: str | None = None) -> str:
    head = lead or "This claim cannot be checked against the records"
    return f"{head}: " + "; also, ".join(reasons) + "."


# --------------------------------------------------------------------------- reasons


def unknown_days(claim: Claim, tail: str = "") -> str:
    length = f"{days_words(claim.days)} " if claim.days else ""
    return (
        f"the text does not say which {length}days between {claim.date_from} and "
        f"{claim.date_to}{tail}"
    )


def share_of_unknown_days(claim: Claim) -> str:
    return unknown_days(claim, ", so the arrests the share is of cannot be picked out")


def unplaced(claim: Claim) -> str:
    for part in (claim.note or "").split("; "):
        if part.startswith("place not resolved:"):
            return part  # the extractor's own words: which place, and why
    place = f"'{claim.place}'" if claim.place else "the claim's place"
    why = f": {claim.note}" if claim.note else ""
    return f"{place} maps to no ICE area of responsibility (aor is empty{why})"


NO_DATES = "the claim gives no date range"


def coverage_reason(claim: Claim, problem: tuple[str, Any]) -> str:
    """The window against the releases' coverage; ``problem`` from
    verdicts.coverage_problem: ("none",), ("after", last), ("before", first) or
    ("partial", coverage description)."""
    kind, value = problem
    n = noun(claim)
    if kind == "none":
        return f"the store holds no {n} release"
    span = f"{claim.date_from} to {claim.date_to}"
    if kind == "after":
        return f"the window {span} lies after the end of the {n} releases' coverage ({value})"
    if kind == "before":
        return f"the window {span} lies before the start of the {n} releases' coverage ({value})"
    return f"the window {span} is not wholly inside the {n} releases' coverage ({value})"


def field_scope(claim: Claim, covered: bool) -> str:
    return "these records" if covered else f"any {noun(claim)} release"


def absent_field(column: str, scope: str) -> str:
    return f"the {label_of(column)} field is absent from {scope} (no values to test)"


def absent_charge(scope: str) -> str:
    return (
        f"the most-serious-conviction charge is absent from {scope}, so "
        "immigration-only convictions cannot be told apart"
    )


def no_records_around(claim: Claim) -> str:
    return (
        f"no {noun(claim)} at all {where(claim)} in the weeks around the window: the releases "
        f"may not cover this place or slice"
    )


# --------------------------------------------------------------------------- numbers


def records_opening(claim: Claim, total: int) -> str:
    return f"The records show {total:,} {noun(claim)} {where(claim)} {window(claim)}"


def inexact_exceeds(claim: Claim, total: int) -> str:
    return (
        f"{records_opening(claim, total)}, the whole span the text allows; the "
        f"{fmt_n(claim.value)} stated is above that even allowing {claim.tol:.0%}, so it "
        f"exceeds the records whichever days are meant."
    )


def inexact_unverifiable(claim: Claim, total: int) -> str:
    opening = records_opening(claim, total)
    length = f"{days_words(claim.days)} " if claim.days else ""
    return (
        f"the text does not say which {length}days, so the operation cannot be told apart "
        f"from the normal baseline ({opening.lower()[0]}{opening[1:]}, the whole span the "
        f"text allows)"
    )


def against_baseline(
    claim: Claim, total: int, expected: float | None, low: float, high: float
) -> str:
    """'The records show N ... , against about E in a normal five days (L to H)'."""
    opening = records_opening(claim, total)
    if expected is None:
        return opening
    n_days = (claim.date_to - claim.date_from).days + 1  # type: ignore[operator]
    spread = f" ({fmt_n(low)} to {fmt_n(high)})" if round(low) != round(high) else ""
    return f"{opening}, against about {fmt_n(expected)} in a normal {days_words(n_days)}{spread}"


def count_detail(claim: Claim, total: int, reason: str) -> str:
    """The count verdict's reason (verdicts.count_verdict) in words."""
    s_txt, tol_txt = fmt_n(claim.value), f"{claim.tol:.0%}"
    rel = abs(claim.value - total) / total if total else float("inf")
    return {
        "more_than_fits": f"'more than {s_txt}' fits the {total:,} recorded",
        "more_than_above": (
            f"'more than {s_txt}' is above the {total:,} recorded even allowing {tol_txt}"
        ),
        "fewer_than_fits": f"'fewer than {s_txt}' fits the {total:,} recorded",
        "fewer_than_below": (
            f"'fewer than {s_txt}' is below the {total:,} recorded even allowing {tol_txt}"
        ),
        "within": f"the {s_txt} stated is within {tol_txt} of the {total:,} recorded",
        "above": (
            f"the {s_txt} stated is {f'{rel:.0%}' if total else 'infinitely'} above the "
            f"{total:,} recorded (more than {tol_txt})"
        ),
        "below": (
            f"the {s_txt} stated is {rel:.0%} below the {total:,} recorded (more than {tol_txt})"
        ),
    }[reason]


def count_explanation(opening: str, detail: str, verdict: str) -> str:
    return f"{opening}; {detail}, so it is {verdict}."


def operation_without_baseline(claim: Claim, opening: str, total: int) -> str:
    return (
        f"{opening}. The {fmt_n(claim.value)} stated is above the {total:,} recorded "
        f"(even allowing {claim.tol:.0%}), so it exceeds the records."
    )


def operation_explanation(
    claim: Claim, opening: str, total: int, excess: float, reason: str
) -> str:
    """The operation verdict (verdicts.operation_verdict) in words."""
    s_txt, tol_txt = fmt_n(claim.value), f"{claim.tol:.0%}"
    opening = (
        f"{opening}, an excess of about {fmt_n(excess)}" if excess > 0 else f"{opening}, no excess"
    )
    detail = {
        "exceeds": (
            f"The {s_txt} stated is above the {total:,} recorded (even allowing {tol_txt}), "
            f"so it exceeds the records"
        ),
        "more_than": f"'More than {s_txt}' fits the {total:,} recorded, so it is consistent",
        "below_excess": (
            f"The {s_txt} stated is below that excess (even allowing {tol_txt}): the records "
            f"show more extra {noun(claim)} in the window than the operation figure accounts "
            f"for, so it is below the excess"
        ),
        "between": (
            f"The {s_txt} stated lies between that excess and the {total:,} recorded "
            f"(allowing {tol_txt}), so it is consistent with the records: the operation can "
            f"account for it"
        ),
    }[reason]
    return f"{opening}. {detail}."


# --------------------------------------------------------------------------- shares


def no_share_base(claim: Claim) -> str:
    return f"there are no {noun(claim)} {where(claim)} {window(claim)} to take a share of"


def share_opening(claim: Claim, total: int, n_in: int, n_unk: int, q_lo: float, q_hi: float) -> str:
    observed = fmt_pct(q_lo)
    if n_unk:
        observed = f"between {fmt_pct(q_lo)} and {fmt_pct(q_hi)} ({n_unk:,} records' class unknown)"
    who = numerator_words(claim.numerator)
    return (
        f"Of the {total:,} {noun(claim)} {where(claim)} {window(claim)}, {n_in:,} were "
        f"{who}: {observed}"
    )


def share_undecided(claim: Claim, n_unk: int) -> str:
    side = "above" if claim.qualifier == "more_than" else "below"
    return (
        f"whether the share is {side} {fmt_pct(claim.value)} depends on the {n_unk:,} records "
        f"whose class is unknown"
    )


def share_detail(claim: Claim, reason: str) -> str:
    stated = stated_share(claim)
    points = f"{claim.tol * 100:.0f} points"
    return {
        "holds": f"the stated {stated} holds",
        "does_not_hold": f"the stated {stated} does not hold",
        "below_records": f"the stated {stated} is below the records",
        "above": f"the stated {stated} is above that by more than {points}",
        "below": f"the stated {stated} is below that by more than {points}",
        "within": f"the stated {stated} is within {points} of that",
    }[reason]
