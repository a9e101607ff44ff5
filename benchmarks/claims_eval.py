"""Evaluation of claim extraction (``make eval``): per-field precision and recall on
the real ICE newsroom development set and on the project's own annotated corpus.

    python -m benchmarks.claims_eval --out bench-results/claims-eval.json

Sets:

* ``dev``: ``../shared/press/ice-newsroom-2025/dev.csv`` (36 real ICE newsroom items,
  title + summary, annotated by hand; fields in its README). Read in place.
* ``corpus``: ``tests/data/press/*.yaml``, passages written for this project in its own
  words, one file per style, each passage with its expected claims (an empty list when
  the passage states no arrest or removal count).

How a passage is scored. The extractor runs on the passage's text with its publication
date as ``published``. Extracted count and operation claims that are *parts* of
another claim of the passage (their figures add up to its figure: "18 in Bay County,
and three in Leon County" under "21 arrested") and shares are set aside: the
annotations give the headline figures. An extracted claim matches an expected one when
the figures are equal (the first unmatched one of that figure). Per field:

* ``figure``: precision = matched / extracted, recall = matched / expected;
* ``qualifier``, ``window``, ``aor``, ``measure``: a matched pair whose field is right
  counts; precision = right / extracted, recall = right / expected. ``window`` is right
  when both dates equal the annotation (a blank annotation wants no date; an annotation
  with only ``window_to`` is compared on the end date); ``aor`` when the sets are equal
  (blank = no AOR: nationwide or unresolved); ``measure`` when the dataset agrees
  (``arrests`` and ``detained`` are both the arrests dataset).

Targets (issue #16): figure precision and recall >= 0.95, window and AOR recall ("exactly
right") >= 0.9, on each set.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "press" / "ice-newsroom-2025" / "dev.csv"
CORPUS = ROOT / "tests" / "data" / "press"
FIELDS = ("figure", "qualifier", "window", "aor", "measure")
TARGETS = {"figure_precision": 0.95, "figure_recall": 0.95, "window_recall": 0.9,
           "aor_recall": 0.9}  # fmt: skip


@dataclass
class Expected:
    figure: float
    qualifier: str = ""  # about | more_than | fewer_than | "" (exact)
    window_from: date | None = None
    window_to: date | None = None
    aor: frozenset[str] = frozenset()
    measure: str = "arrests"


@dataclass
class Passage:
    id: str
    text: str
    published: date | None
    expected: list[Expected]
    style: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # datasets the annotations cover: the dev set annotates arrests only (its README
    # leaves removals out), so a removals claim found there is neither right nor wrong
    measures: frozenset[str] = frozenset({"arrests", "removals"})


def _date(v: Any) -> date | None:
    if v in (None, ""):
        return None
    return v if isinstance(v, date) else date.fromisoformat(str(v))


def _aors(v: Any) -> frozenset[str]:
    if not v:
        return frozenset()
    if isinstance(v, str):
        v = v.replace(",", ";").split(";")
    return frozenset(str(a).strip() for a in v if str(a).strip())


def load_dev(path: Path = DEV) -> list[Passage]:
    """The development set: one expected claim per item."""
    out = []
    with path.open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            exp = Expected(
                figure=float(r["figure"]),
                qualifier=r["qualifier"] or "",
                window_from=_date(r["window_from"]),
                window_to=_date(r["window_to"]),
                aor=_aors(r["aor"]),
                measure="arrests",  # 'arrests' and 'detained' are both the arrests dataset
            )
            text = f"{r['title']}\n{r['summary']}\n"
            out.append(
                Passage(
                    r["id"],
                    text,
                    _date(r["date_published"]),
                    [exp],
                    "dev",
                    measures=frozenset({"arrests"}),
                )
            )
    return out


def load_corpus(folder: Path = CORPUS) -> list[Passage]:
    """The project's own passages: ``tests/data/press/*.yaml``."""
    out = []
    for f in sorted(folder.glob("*.yaml")):
        doc = yaml.safe_load(f.read_text(encoding="utf-8"))
        for p in doc["passages"]:
            exp = [
                Expected(
                    figure=float(c["figure"]),
                    qualifier=c.get("qualifier") or "",
                    window_from=_date(c.get("from")),
                    window_to=_date(c.get("to")),
                    aor=_aors(c.get("aor")),
                    measure=c.get("measure", "arrests"),
                )
                for c in p.get("claims") or []
            ]
            out.append(Passage(p["id"], p["text"], _date(p.get("published")), exp, f.stem, p))
    return out


@dataclass
class Got:
    figure: float
    qualifier: str
    window_from: date | None
    window_to: date | None
    aor: frozenset[str]
    measure: str
    claim: dict[str, Any]


def extracted(passage: Passage) -> list[Got]:
    """The headline count/operation claims the extractor finds in a passage."""
    from icetally.analysis.claims.parse import parse_number
    from icetally.analysis.extract import extract_claims

    ex = extract_claims(passage.text, published=passage.published)
    out = []
    for c in ex.claims:
        if c.get("measure") not in ("count", "operation") or c.get("part_of"):
            continue
        if c.get("dataset", "arrests") not in passage.measures:
            continue
        value, qual = parse_number(c["value"])
        if isinstance(c["value"], int | float):
            qual = ""
        out.append(
            Got(
                value,
                qual if qual != "about" or isinstance(c["value"], str) else "",
                c.get("from"),
                c.get("to"),
                frozenset(c.get("aor") or ()),
                c.get("dataset", "arrests"),
                c,
            )
        )
    return out


def _window_right(e: Expected, g: Got) -> bool:
    if e.window_from is None and e.window_to is not None:
        return g.window_to == e.window_to
    return (g.window_from, g.window_to) == (e.window_from, e.window_to)


def _shown(x: Expected | Got, field: str) -> Any:
    """A field of an annotation or an extracted claim, as the misses list shows it."""
    if field == "window":
        return [str(x.window_from), str(x.window_to)]
    if field == "aor":
        return sorted(x.aor)
    return getattr(x, field)


def score(passages: Iterable[Passage]) -> dict[str, Any]:
    right = dict.fromkeys(FIELDS, 0)
    n_exp = n_got = 0
    misses: list[dict[str, Any]] = []
    for p in passages:
        got = extracted(p)
        n_exp += len(p.expected)
        n_got += len(got)
        free = list(got)
        for e in p.expected:
            g = next((g for g in free if abs(g.figure - e.figure) < 1e-9), None)
            if g is None:
                misses.append({"id": p.id, "field": "figure", "expected": e.figure,
                               "got": [x.figure for x in got]})  # fmt: skip
                continue
            free.remove(g)
            checks = {
                "figure": True,
                "qualifier": g.qualifier == e.qualifier,
                "window": _window_right(e, g),
                "aor": g.aor == e.aor,
                "measure": g.measure == e.measure,
            }
            for k, ok in checks.items():
                right[k] += ok
                if not ok:
                    note = g.claim.get("note", "")
                    misses.append(
                        {"id": p.id, "field": k, "expected": _shown(e, k), "got": _shown(g, k),
                         "note": note}
                    )  # fmt: skip
        for g in free:
            misses.append({"id": p.id, "field": "figure", "expected": None,
                           "got": g.figure, "text": g.claim.get("text", "")[:120]})  # fmt: skip
    out: dict[str, Any] = {"passages": 0, "expected": n_exp, "extracted": n_got}
    for k in FIELDS:
        out[f"{k}_precision"] = round(right[k] / n_got, 3) if n_got else 1.0
        out[f"{k}_recall"] = round(right[k] / n_exp, 3) if n_exp else 1.0
    out["targets_met"] = all(out[k] >= v for k, v in TARGETS.items())
    out["misses"] = misses
    return out


def linearity(sizes: tuple[int, int] = (19_000, 190_000)) -> dict[str, Any]:
    """Seconds to extract from a text of each size (one press paragraph repeated, every
    sentence full of figures and places), and the ratio against the size ratio: about 1
    for linear work, about 10 for the quadratic extraction issue #13 found (190 KB in
    35 s). Measured in the same run, after a warm-up."""
    from icetally.analysis.extract import extract_claims

    para = (
        "ICE arrested 45 people in Houston and 12 in Dallas during the March 3-7 "
        "operation, including 9 in Austin. "
    )
    extract_claims(para, published="2025-03-14")  # load the gazetteer first
    out: dict[str, Any] = {"sizes": list(sizes), "seconds": []}
    for n in sizes:
        text = (para * (n // len(para) + 1))[:n]
        t0 = time.perf_counter()
        extract_claims(text, published="2025-03-14")
        out["seconds"].append(round(time.perf_counter() - t0, 3))
    a, b = out["seconds"]
    out["time_ratio"] = round(b / a, 2) if a else None
    out["size_ratio"] = sizes[1] / sizes[0]
    out["ratio_to_linear"] = round(out["time_ratio"] / out["size_ratio"], 2) if a else None
    return out


def evaluate() -> dict[str, Any]:
    sets: dict[str, list[Passage]] = {}
    if DEV.exists():
        sets["dev"] = load_dev()
    sets["corpus"] = load_corpus()
    report: dict[str, Any] = {"benchmark": "claim_extraction", "targets": TARGETS, "sets": {}}
    for name, passages in sets.items():
        t0 = time.perf_counter()
        res = score(passages)
        res["passages"] = len(passages)
        res["seconds"] = round(time.perf_counter() - t0, 2)
        report["sets"][name] = res
    if "dev" not in sets:
        report["sets"]["dev"] = {"skipped": f"no development set at {DEV}"}
    report["linearity"] = linearity()
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("bench-results/claims-eval.json"))
    ap.add_argument("--misses", action="store_true", help="print every miss")
    args = ap.parse_args(argv)
    report = evaluate()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    for name, res in report["sets"].items():
        if "skipped" in res:
            print(f"{name}: skipped ({res['skipped']})")
            continue
        figs = "  ".join(
            f"{k} P={res[f'{k}_precision']:.3f} R={res[f'{k}_recall']:.3f}" for k in FIELDS
        )
        print(
            f"{name}: {res['passages']} passages, {res['expected']} expected, "
            f"{res['extracted']} extracted; {figs}; targets met: {res['targets_met']}"
        )
        if args.misses:
            for m in res["misses"]:
                print("   ", json.dumps(m, default=str))
    lin = report["linearity"]
    print(
        f"linearity: {lin['sizes'][0]:,} chars in {lin['seconds'][0]} s, {lin['sizes'][1]:,} "
        f"in {lin['seconds'][1]} s: x{lin['time_ratio']} for x{lin['size_ratio']:.0f} the text"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
