"""`icetally demo`: a SYNTHETIC release -> ingest -> surges -> claims -> report.

Everything it writes and prints says the data are synthetic. The store it builds holds
only the demo's files: it refuses to add synthetic rows to a store with real releases.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from icetally.errors import IcetallyError
from icetally.synth.calibrated import (
    SEPTEMBER_2019_SURGE,
    SEPTEMBER_2019_WINDOW,
    plan,
    write_release,
)

BANNER = "SYNTHETIC DATA - NOT REAL ENFORCEMENT RECORDS"
ROOT = Path(__file__).resolve().parents[3]  # the checkout, when run from one
DEMO_CLAIMS = "demo-2019-09-enforcement-surge.yaml"
ORIGINAL_CLAIMS = "2019-09-enforcement-surge.yaml"


class DemoError(IcetallyError, RuntimeError):
    pass


@dataclass
class DemoResult:
    out_dir: Path
    db: Path
    report: Path
    manifest: dict[str, Any]
    seconds: dict[str, float]
    surge: Any  # icetally.analysis.surges.Surge or None
    surges: Any  # SurgesResult
    claims: list[dict[str, Any]] = field(default_factory=list)
    original_claims: list[dict[str, Any]] = field(default_factory=list)
    claims_file: Path | None = None
    pathways: dict[str, Any] | None = None  # the linked release's surge vs weeks before

    def planted_vs_found(self) -> list[dict[str, Any]]:
        """Per planted AOR of the September surge: what the detector found there."""
        found = {a.aor: a for a in (self.surge.aors if self.surge else [])}
        # the planted AORs, then any AOR the detector found outside them (planted 0)
        extra = [(a, 0) for a in found if a not in SEPTEMBER_2019_SURGE]
        rows = []
        for a, n in [*SEPTEMBER_2019_SURGE.items(), *extra]:
            f = found.get(a)
            rows.append(
                {
                    "aor": a,
                    "planted": n,
                    "found": f is not None,
                    "window": f"{f.start:%m-%d}..{f.end:%m-%d}" if f else None,
                    "observed": int(f.observed) if f else None,
                    "expected": round(float(f.expected), 1) if f else None,
                    "excess": round(float(f.excess), 1) if f else None,
                }
            )
        return rows

    def to_dict(self) -> dict[str, Any]:
        s = self.surge
        return {
            "synthetic": True,
            "note": BANNER,
            "dir": str(self.out_dir),
            "db": str(self.db),
            "report": str(self.report),
            "rows": self.manifest["plan"]["arrest_rows"],
            "detainer_rows": self.manifest["plan"]["detainer_rows"],
            "span": [self.manifest["plan"]["start"], self.manifest["plan"]["end"]],
            "sheets": self.manifest["files"]["arrests"]["sheets"],
            "seconds": self.seconds,
            "surge": s.to_dict() if s else None,
            "planted_vs_found": self.planted_vs_found(),
            "claims_file": str(self.claims_file) if self.claims_file else None,
            "claims": [
                {k: r.get(k) for k in ("id", "verdict", "stated", "observed", "expected", "excess")}
                for r in self.claims
            ],
            "original_claims": [
                {k: r.get(k) for k in ("id", "verdict", "stated", "observed", "expected", "excess")}
                for r in self.original_claims
            ],
            "pathways": self.pathways,
        }


def _claims_dir() -> Path | None:
    d = ROOT / "examples" / "claims"
    return d if (d / DEMO_CLAIMS).is_file() else None


def _is_demo_store(db: Path) -> bool:
    """True when every release in the store is a synthetic one (so it may be replaced)."""
    import duckdb

    from icetally.query.backend import BackendError
    from icetally.store.handle import Store, StoreError

    try:
        with Store.open(db) as store:
            return store.only_synthetic
    except (duckdb.Error, BackendError, StoreError):
        return False


def run_demo(
    out_dir: str | os.PathLike[str] = "icetally-demo",
    *,
    rows: int | None = None,
    db: str | os.PathLike[str] | None = None,
    seed: int = 0,
    start: date | None = None,
    max_sheet_rows: int | None = None,
    pathways: bool = True,
    say: Callable[[str], None] = print,
) -> DemoResult:
    """Write the synthetic release into ``out_dir``, load it into ``db`` (default
    ``out_dir/demo.duckdb``), find the September 2019 surge, check the article's claims
    and write ``out_dir/report.html``. ``max_sheet_rows`` splits the arrests workbook
    into sheets earlier than Excel's limit (tests exercise the multi-sheet path with it).
    ``pathways``: also write a linked release of the surge's months into
    ``out_dir/linked`` with its own store, and show what happened to the surge's
    arrests against the weeks before (``demo_pathways``)."""
    import icetally
    from icetally import report as report_mod
    from icetally.analysis.claims import check

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    store = Path(db) if db else out / "demo.duckdb"
    if store.exists():
        if not _is_demo_store(store):
            raise DemoError(
                f"{store} holds releases that are not synthetic; the demo will not mix its "
                "synthetic rows into it. Give another --db."
            )
        store.unlink()
        for extra in (store.with_name(store.name + ".wal"),):
            extra.unlink(missing_ok=True)
    seconds: dict[str, float] = {}

    t = time.perf_counter()
    p = plan(rows, start=start, seed=seed)
    say(
        f"[{BANNER}] writing a synthetic release: {p.arrest_rows:,} arrest rows "
        f"({p.start} to {p.end}) and {int(p.detainers.sum()):,} detainer rows"
    )
    manifest = write_release(out, p, max_data_rows=max_sheet_rows)
    seconds["write"] = round(time.perf_counter() - t, 2)
    sheets = manifest["files"]["arrests"]["sheets"]
    say(
        f"  wrote {manifest['files']['arrests']['path']} "
        f"({', '.join(f'{k}: {v:,}' for k, v in sheets.items())}) and "
        f"{manifest['files']['detainers']['path']} in {seconds['write']:.1f} s"
    )

    t = time.perf_counter()
    results = icetally.ingest(
        [manifest["files"]["arrests"]["path"], manifest["files"]["detainers"]["path"]], db=store
    )
    seconds["ingest"] = round(time.perf_counter() - t, 2)
    bad = [r for r in results if r.status == "failed"]
    if bad:
        raise DemoError(f"ingest failed: {bad}")
    say(
        f"  ingested into {store}: "
        + ", ".join(f"{r.dataset} {r.rows_loaded:,}" for r in results)
        + f" in {seconds['ingest']:.1f} s"
    )

    t = time.perf_counter()
    found = icetally.surges("arrests", metric="at_large", db=store)
    seconds["surges"] = round(time.perf_counter() - t, 2)
    w0, w1 = SEPTEMBER_2019_WINDOW
    hits = [s for s in found.surges if s.start <= w1 and s.end >= w0]
    surge = max(hits, key=lambda s: s.excess) if hits else None
    say(
        f"  surge detector (at-large arrests): {len(found.surges)} operations in the release"
        + (
            f"; September 2019: {surge.id}, {len(surge.aors)} AORs, excess {surge.excess:,.0f} "
            f"(planted: 597 in 10 AORs)"
            if surge
            else "; the planted September 2019 surge was NOT found"
        )
    )

    t = time.perf_counter()
    cdir = _claims_dir()
    claims: list[dict[str, Any]] = []
    original: list[dict[str, Any]] = []
    claims_file = None
    if cdir is None:
        say("  claims: examples/claims not found (run from a checkout to check the article)")
    else:
        claims_file = cdir / DEMO_CLAIMS
        claims = check(claims_file, db=store).results
        original = check(cdir / ORIGINAL_CLAIMS, db=store).results
    seconds["claims"] = round(time.perf_counter() - t, 2)

    t = time.perf_counter()
    report = out / "report.html"
    report_mod.write(
        report,
        db=store,
        surge_id=surge.id if surge else None,
        date_from=None if surge else w0,
        date_to=None if surge else w1,
        claims=str(claims_file) if claims_file else None,
        metric="at_large",
    )
    seconds["report"] = round(time.perf_counter() - t, 2)

    shown = None
    if pathways:
        t = time.perf_counter()
        shown = demo_pathways(out, p, seed=seed, say=say)
        seconds["pathways"] = round(time.perf_counter() - t, 2)
    return DemoResult(
        out_dir=out,
        db=store,
        report=report,
        manifest=manifest,
        seconds=seconds,
        surge=surge,
        surges=found,
        claims=claims,
        original_claims=original,
        claims_file=claims_file,
        pathways=shown,
    )


# The linked release starts this many weeks before the surge: the weeks-before group
# (4 weeks) and the stays running into it, without the whole history's minutes.
LINKED_WEEKS_BEFORE = 8
COMPARE_WEEKS = 4


def demo_pathways(
    out: Path,
    p: Any,
    *,
    seed: int = 0,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Write a SYNTHETIC linked release (arrests, stints, removals, detainers sharing an
    identifier) of the plan's days from ``LINKED_WEEKS_BEFORE`` weeks before the
    September 2019 surge, load it into ``out/linked.duckdb`` (a store of its own: its
    arrests are other draws of the same days, and must not add to the workbook's), and
    compare the pathways of the surge's arrests (its days, its ten AORs) with the same
    AORs' arrests in the four weeks before -- as icetally.pathways finds them from the
    files, beside what the generator planted."""
    from datetime import timedelta

    import duckdb

    import icetally
    from icetally.synth.linked import OUTCOMES, window_plan, write_linked_release

    w0, w1 = SEPTEMBER_2019_WINDOW
    aors = sorted(SEPTEMBER_2019_SURGE)
    b0, b1 = w0 - timedelta(weeks=COMPARE_WEEKS), w0 - timedelta(days=1)
    sub = window_plan(p, w0 - timedelta(weeks=LINKED_WEEKS_BEFORE))
    linked_dir = out / "linked"
    store = out / "linked.duckdb"
    for old in (store, store.with_name(store.name + ".wal")):
        old.unlink(missing_ok=True)
    m = write_linked_release(linked_dir, sub, seed=seed)
    icetally.ingest([m.out_dir], db=store)
    say(
        f"  linked release ({sub.start} to {sub.end}, {BANNER}): "
        + ", ".join(f"{k} {v:,}" for k, v in m.rows.items())
        + f" in {m.out_dir}, loaded into {store}"
    )
    groups = {
        "surge": {"date_from": w0, "date_to": w1},
        "weeks_before": {"date_from": b0, "date_to": b1},
    }
    plan = duckdb.connect()
    plan.execute(f"CREATE VIEW ep AS SELECT * FROM read_parquet('{m.plan_files['episodes']}')")
    aor_list = ", ".join(f"'{a}'" for a in aors)
    shown: dict[str, Any] = {
        "synthetic": True,
        "db": str(store),
        "release": str(m.out_dir),
        "aors": aors,
    }
    for name, window in groups.items():
        got = icetally.pathways(db=store, aor=aors, **window).to_dict()
        n, *counts, median = plan.execute(
            "SELECT count(*), "
            + ", ".join(f"count(*) FILTER (WHERE outcome = '{o}')" for o in OUTCOMES)
            + ", median(date_diff('day', stay_book_in::DATE, coalesce(stay_book_out::DATE, "
            f"DATE '{m.extract_date}'))) FILTER (WHERE has_stay) FROM ep "
            f"WHERE arrest_date BETWEEN DATE '{window['date_from']}' AND "
            f"DATE '{window['date_to']}' AND aor IN ({aor_list})"
        ).fetchone()
        shown[name] = {
            "from": window["date_from"].isoformat(),
            "to": window["date_to"].isoformat(),
            "episodes": got["episodes"],
            "shares": {o: got["outcomes"][o]["share"] for o in OUTCOMES},
            "median_days_detained": got["days_detained"]["median"],
            "planted": {
                "episodes": n,
                "shares": {
                    o: round(c / n, 4) if n else None for o, c in zip(OUTCOMES, counts, strict=True)
                },
                "median_days_detained": median,
            },
            "query": got.get("query"),
        }
    s, b = shown["surge"], shown["weeks_before"]

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.0f}%"

    for label, g in (("surge 21-25 Sep 2019", s), (f"{COMPARE_WEEKS} weeks before", b)):
        say(
            f"  pathways, {label} ({len(aors)} AORs): {g['episodes']:,} arrests; "
            + ", ".join(f"{o} {pct(g['shares'][o])}" for o in OUTCOMES)
            + f"; median {g['median_days_detained']} days detained"
            + " (planted: "
            + ", ".join(f"{o} {pct(g['planted']['shares'][o])}" for o in OUTCOMES)
            + f"; median {g['planted']['median_days_detained']})"
        )
    return shown
