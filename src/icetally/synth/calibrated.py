"""A SYNTHETIC release calibrated on the real FY2016-2019 arrests, with planted operations.

The daily volume of every AOR and apprehension-method class follows the rates, weekday
profile, month-of-year and fiscal-year levels, holiday and year-end dips and
overdispersion measured on the real national arrests (``calibration.json``, written by
``scripts/calibrate_synth.py``); methods, citizenship and gender follow the real mixes.
On top of that normal background the generator plants operations whose size is known:

* the **September 21-25, 2019 enforcement surge** with the ten regional figures of the
  news article of 7 October 2019 (597 arrests in ten AORs);
* the **June 2019 five-day operation**: 299 arrests across 12 states, placed where the
  real records show an operation in June 2019 (2-6 June, Atlanta, Chicago, Philadelphia
  and Phoenix AORs, whose states number 13; Kansas is left out to make 12);
* the operations icetally finds in the real at-large series of the same dates (their
  excess planted again), so the synthetic history looks like the real one.

Nothing here is a real record: every row is drawn at random. The workbooks say so in
their preamble and their title.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from icetally import reference
from icetally.analysis.surges import holiday_season_days
from icetally.synth.xlsx import (
    DDP_ARRESTS_2026_COLUMNS,
    EXCEL_MAX_ROWS,
    Cell,
    SheetSpec,
    synthetic_preamble,
    write_xlsx,
)

CALIBRATION = Path(__file__).with_name("calibration.json")
CLASSES = ("custodial", "at_large", "other")

# The article's ten regional figures, mapped to the ICE field offices covering them.
SEPTEMBER_2019_SURGE: dict[str, int] = {
    "CHI": 97,  # the Midwest
    "NYC": 82,  # New York City, the Hudson Valley and Long Island
    "BOS": 80,  # New England
    "WAS": 57,  # Virginia and Washington, DC
    "NEW": 54,  # New Jersey
    "DET": 46,  # Michigan and Ohio
    "DAL": 49,  # north Texas and Oklahoma
    "SNA": 45,  # south and central Texas
    "PHI": 45,  # Pennsylvania
    "DEN": 42,  # Colorado and Wyoming
}
SEPTEMBER_2019_WINDOW = (date(2019, 9, 21), date(2019, 9, 25))
# 299 split over the AORs in proportion to the excess the detector finds there in the
# real records of 2-6 June 2019 (CHI 111, ATL 61, PHI 32, PHO 10).
JUNE_2019_OPERATION: dict[str, int] = {"CHI": 156, "ATL": 85, "PHI": 44, "PHO": 14}
JUNE_2019_WINDOW = (date(2019, 6, 2), date(2019, 6, 6))
JUNE_2019_STATES = ("GA", "NC", "SC", "IL", "IN", "KY", "MO", "WI", "PA", "DE", "WV", "AZ")

DEFAULT_END = date(2019, 12, 31)
DEFAULT_START = date(2018, 10, 1)  # FY2019: a full year of baseline before the surge
# The shortest span the demo accepts: the June operation needs months of normal days
# before it for a baseline, the September surge weeks after it.
LATEST_START = date(2019, 1, 1)


@cache
def calibration() -> dict[str, Any]:
    """The calibration numbers (see scripts/calibrate_synth.py)."""
    return json.loads(CALIBRATION.read_text())


@dataclass(frozen=True)
class Planted:
    """Arrests added on top of the background in one AOR over some days."""

    operation: str
    aor: str
    start: date
    end: date
    arrests: int
    states: tuple[str, ...] = ()  # postal codes the arrests happen in (default: the AOR's)
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "aor": self.aor,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "arrests": self.arrests,
            "states": list(self.states),
            "source": self.source,
        }


def planted_operations(start: date, end: date) -> list[Planted]:
    """The article's two operations plus the real at-large operations inside [start, end]
    (those overlapping the article's June and September windows are left out: there the
    article's figures are planted instead)."""
    out = [
        Planted(
            "september-2019-surge",
            a,
            *SEPTEMBER_2019_WINDOW,
            n,
            source="news article 2019-10-07: ten regional figures of the 597",
        )
        for a, n in SEPTEMBER_2019_SURGE.items()
    ]
    out += [
        Planted(
            "june-2019-operation",
            a,
            *JUNE_2019_WINDOW,
            n,
            states=tuple(
                s.state_abbr
                for s in reference.aor_states()
                if s.aor == a and s.state_abbr in JUNE_2019_STATES
            ),
            source="news article 2019-10-07: 299 arrests across 12 states in June",
        )
        for a, n in JUNE_2019_OPERATION.items()
    ]
    reserved = [SEPTEMBER_2019_WINDOW, (date(2019, 5, 26), date(2019, 6, 13))]
    for op in calibration()["operations"]:
        s, e = date.fromisoformat(op["start"]), date.fromisoformat(op["end"])
        n = round(op["excess"])
        if n < 10 or e < start or s > end:
            continue
        if any(s <= r1 and r0 <= e for r0, r1 in reserved):
            continue
        out.append(
            Planted(
                f"real-{op['surge_id']}",
                op["aor"],
                s,
                e,
                n,
                source=f"real at-large records: operation {op['surge_id']}",
            )
        )
    return [p for p in out if start <= p.start and p.end <= end]


def _spread(total: int, days: list[date]) -> list[int]:
    """Split ``total`` evenly over ``days``, exactly (largest remainder, earlier days
    first). The article gives no daily figures; an even split assumes nothing more."""
    share = np.full(len(days), total / len(days))
    base = np.floor(share).astype(int)
    rest = total - int(base.sum())
    order = np.argsort(-(share - base), kind="stable")
    base[order[:rest]] += 1
    return base.tolist()


def _planted_days(planted: Iterable[Planted]) -> Iterator[tuple[Planted, date, int]]:
    """(operation, day, arrests) for each day of each planted operation, its arrests
    spread evenly over its days with ``_spread`` (zero days included)."""
    for op in planted:
        days = [op.start + timedelta(k) for k in range((op.end - op.start).days + 1)]
        for d, n in zip(days, _spread(op.arrests, days), strict=True):
            yield op, d, n


def _interp_cyclic_month(mults: Sequence[float], d: date) -> float:
    """Month multipliers sit at mid-month; days in between are interpolated linearly, so
    the synthetic level has no steps at month boundaries (which would look like surges)."""
    mid = date(d.year, d.month, 15)
    if d >= mid:
        nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 15)
        a, b, t0, t1 = mults[d.month - 1], mults[nxt.month - 1], mid, nxt
    else:
        prv = date(d.year - (d.month == 1), (d.month - 2) % 12 + 1, 15)
        a, b, t0, t1 = mults[prv.month - 1], mults[d.month - 1], prv, mid
    f = (d - t0).days / (t1 - t0).days
    return a + (b - a) * f


def _interp_fy(levels: dict[str, float], d: date) -> float:
    """Fiscal-year levels sit at each year's midpoint (1 April) and are interpolated;
    before the first and after the last known year the level is held (an assumption)."""
    pts = sorted((date(int(fy), 4, 1), v) for fy, v in levels.items())
    if d <= pts[0][0]:
        return pts[0][1]
    if d >= pts[-1][0]:
        return pts[-1][1]
    for (t0, a), (t1, b) in zip(pts, pts[1:], strict=False):
        if t0 <= d <= t1:
            return a + (b - a) * (d - t0).days / (t1 - t0).days
    return pts[-1][1]


@dataclass
class DemoPlan:
    """What the synthetic release holds: days, AORs, expected and drawn daily counts."""

    start: date
    end: date
    seed: int
    aors: list[str]
    expected: np.ndarray  # [aor, class, day] background mean
    background: np.ndarray  # [aor, class, day] drawn counts
    detainers: np.ndarray  # [aor, day] drawn detainer counts
    planted: list[Planted] = field(default_factory=list)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def day(self, k: int) -> date:
        return self.start + timedelta(k)

    @property
    def arrest_rows(self) -> int:
        return int(self.background.sum()) + sum(p.arrests for p in self.planted)

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "seed": self.seed,
            "arrest_rows": self.arrest_rows,
            "detainer_rows": int(self.detainers.sum()),
            "planted": [p.to_dict() for p in self.planted],
        }


@cache
def _anchor() -> float:
    """Factor on every level so that the normal national at-large week of 21-27 September
    2019 is the article's ~700 (calibration ``anchor``; about 1.03 on the real rates)."""
    cal = calibration()["anchor"]
    w0, w1 = (date.fromisoformat(x) for x in cal["week"])
    aors = sorted(calibration()["rates"])
    week = _expected(w0, w1, aors, anchor=1.0)[:, CLASSES.index("at_large")].sum()
    return float(cal["target_at_large_week"]) / float(week)


def _expected(
    start: date, end: date, aors: list[str], *, anchor: float | None = None
) -> np.ndarray:
    cal = calibration()
    n = (end - start).days + 1
    days = [start + timedelta(k) for k in range(n)]
    hol = set(reference.federal_holidays(start, end))
    season = set(holiday_season_days(start.year, end.year)) - hol
    out = np.zeros((len(aors), len(CLASSES), n))
    anchor = _anchor() if anchor is None else anchor
    for c, cls in enumerate(CLASSES):
        level = np.array(
            [
                anchor
                * _interp_cyclic_month(cal["month_mult"][cls], d)
                * _interp_fy(cal["fy_mult"][cls], d)
                * (
                    cal["holiday_factor"][cls]
                    if d in hol
                    else cal["season_factor"][cls]
                    if d in season
                    else 1.0
                )
                for d in days
            ]
        )
        wd = np.array([d.weekday() for d in days])
        for i, a in enumerate(aors):
            out[i, c] = np.array(cal["rates"][a][cls])[wd] * level
    return out


def _nb(rng: np.random.Generator, mu: np.ndarray, phi: np.ndarray | float) -> np.ndarray:
    """Negative-binomial counts (Var = mu + phi mu^2) as a gamma-Poisson mixture."""
    phi = np.broadcast_to(np.asarray(phi, dtype=float), mu.shape)
    lam = np.where(
        phi > 1e-9,
        rng.gamma(1.0 / np.maximum(phi, 1e-9), np.maximum(mu, 0) * np.maximum(phi, 1e-9)),
        mu,
    )
    return rng.poisson(np.maximum(lam, 0)).astype(np.int64)


def rows_between(start: date, end: date = DEFAULT_END) -> int:
    """Expected arrest rows of the background between two days (without operations)."""
    aors = sorted(calibration()["rates"])
    return int(round(_expected(start, end, aors).sum()))


def start_for_rows(rows: int, end: date = DEFAULT_END) -> date:
    """The first day such that the span up to ``end`` holds about ``rows`` arrests: more
    rows mean a longer history at the calibrated daily volume, never a higher daily
    volume (which would drown the article's figures and change what they mean)."""
    aors = sorted(calibration()["rates"])
    lo = date(1990, 1, 1)
    per_day = _expected(lo, end, aors).sum(axis=(0, 1))[::-1].cumsum()
    k = int(np.searchsorted(per_day, rows))
    return end - timedelta(min(k, len(per_day) - 1))


def plan(
    rows: int | None = None,
    *,
    start: date | None = None,
    end: date = DEFAULT_END,
    seed: int = 0,
) -> DemoPlan:
    """Draw the daily counts of a synthetic release (rows are generated later)."""
    if start is None:
        start = DEFAULT_START if rows is None else start_for_rows(rows, end)
    if start > LATEST_START:
        need = rows_between(LATEST_START, end)
        raise ValueError(
            f"the demo needs history from {LATEST_START} at least (about {need:,} arrest "
            f"rows at the calibrated volume); asked for {rows or 0:,} rows"
        )
    cal = calibration()
    aors = sorted(cal["rates"])
    rng = np.random.default_rng(seed)
    mu = _expected(start, end, aors)
    phi = np.array([[cal["phi"][a][c] for c in CLASSES] for a in aors])[:, :, None]
    background = _nb(rng, mu, phi)
    det_rate = float(cal["assumptions"]["detainers"]["per_custodial_arrest"])
    detainers = _nb(rng, mu[:, CLASSES.index("custodial")] * det_rate, phi[:, 0])
    for i, a in enumerate(aors):
        if a not in _aor_counties():  # headquarters: no jail of its own, no detainers
            detainers[i] = 0
    return DemoPlan(
        start=start,
        end=end,
        seed=seed,
        aors=aors,
        expected=mu,
        background=background,
        detainers=detainers,
        planted=planted_operations(start, end),
    )


# --------------------------------------------------------------------------- places


@cache
def _aor_counties() -> dict[str, tuple[list[reference.County], np.ndarray]]:
    """Counties of each AOR with population weights (the assumption for county mix)."""
    by: dict[str, list[reference.County]] = {}
    for c in reference.counties():
        if c.population > 0:
            by.setdefault(c.aor, []).append(c)
    out = {}
    for a, cs in by.items():
        w = np.array([c.population for c in cs], dtype=float)
        out[a] = (cs, w / w.sum())
    return out


@cache
def _state_names() -> dict[str, str]:
    return {s.abbr: s.name.upper() for s in reference.states()}


@cache
def _county_city() -> dict[str, str]:
    """A city for each county (its place with the most ZIP codes), for facility cities."""
    best: dict[str, tuple[int, str]] = {}
    with reference.data_path("place_counties.csv").open(newline="") as f:
        for r in csv.DictReader(f):
            if r["kind"] != "primary":
                continue
            z = int(r["zips"] or 0)
            if z > best.get(r["county_fips"], (-1, ""))[0]:
                best[r["county_fips"]] = (z, r["place_key"])
    return {k: v for k, (_z, v) in best.items()}


def declining_counties() -> dict[str, str]:
    """AOR -> FIPS of the county that (in this synthetic world) declines detainers: the
    most populous county of each AOR of the September 2019 surge."""
    out = {}
    for a in SEPTEMBER_2019_SURGE:
        cs, _w = _aor_counties()[a]
        out[a] = max(cs, key=lambda c: c.population).fips
    return out


# --------------------------------------------------------------------------- rows

_CRIM_LABELS = {
    "convicted": "1 Convicted Criminal",
    "pending_charges": "2 Pending Criminal Charges",
    "immigration_violator": "3 Other Immigration Violator",
}
_PROGRAM = {
    "custodial": ("ERO Criminal Alien Program", "287(g) Program"),
    "at_large": ("Fugitive Operations", "Non-Detained Docket Control"),
    "other": ("Detained Docket Control", "Alternatives to Detention"),
}
_CASE_STATUS = (
    ("ACTIVE", 45),
    ("8-Excluded/Removed - Inadmissible", 20),
    ("6-Deported/Removed - Deportability", 20),
    ("A-Proved", 5),
    ("9-VR Witnessed", 3),
    ("B-Relief Granted", 2),
    ("E-Terminated", 5),
)
_CASE_CATEGORY = (
    ("[16] Reinstated Final Order", 20),
    ("[8F] Expedited Removal", 8),
    ("[3] Deportable - Administratively Final Order", 12),
    ("[11] Deportable - Under Adjudication by IJ", 38),
    ("[8C] Excludable / Inadmissible - Administrative Final Order Issued", 8),
    ("[10] Visa Waiver Deportation / Removal", 2),
)
# ASSUMPTION (no charge field in the FY2016-19 files): NCIC-style most-serious-conviction
# labels for detainer subjects with a conviction that is not an immigration offence.
_MSC_CHARGES = (
    ("Driving Under Influence Liquor", 22),
    ("Traffic Offense", 14),
    ("Dangerous Drugs", 14),
    ("Assault", 12),
    ("Larceny", 5),
    ("Burglary", 4),
    ("Fraudulent Activities", 4),
    ("Weapon Offense", 4),
    ("Obstructing Police", 4),
    ("Family Offense", 4),
    ("Robbery", 3),
    ("Sex Assault", 2),
    ("Stolen Vehicle", 2),
    ("Public Peace", 6),
)
_IMMIGRATION_CHARGES = (
    ("Illegal Re-Entry (INA SEC.101(a)(43)(O), 8USC1326)", 70),
    ("Illegal Entry (INA SEC.101(a)(43)(O), 8USC1325)", 30),
)


class _Pick:
    """Vectorised weighted choice among labels."""

    def __init__(self, table: dict[str, float] | Sequence[tuple[str, float]]) -> None:
        items = list(table.items()) if isinstance(table, dict) else list(table)
        self.labels = np.array([k for k, _ in items], dtype=object)
        w = np.array([float(v) for _, v in items])
        self.p = w / w.sum()

    def __call__(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.labels[rng.choice(len(self.labels), size=n, p=self.p)]


@dataclass
class _Mixes:
    method: dict[str, _Pick]
    gender: dict[str, _Pick]
    crim: dict[str, _Pick]
    cit_aor: dict[str, _Pick]
    cit_nat: _Pick
    cit_other_share: dict[str, float]


@cache
def _mixes() -> _Mixes:
    cal = calibration()
    crim = cal["assumptions"]["criminality"]
    cit = cal["citizenship"]
    by_aor = cit["by_aor"]
    return _Mixes(
        method={c: _Pick(cal["methods"][c]) for c in CLASSES},
        gender={c: _Pick(cal["gender"][c]) for c in CLASSES},
        crim={c: _Pick({_CRIM_LABELS[k]: v for k, v in crim[c].items()}) for c in CLASSES},
        cit_aor={a: _Pick(v) for a, v in by_aor.items()},
        cit_nat=_Pick(cit["national"]),
        cit_other_share={a: max(0.0, 1.0 - sum(v.values())) for a, v in by_aor.items()},
    )


def _draw_citizenship(rng: np.random.Generator, aors: np.ndarray) -> np.ndarray:
    """Each AOR's own top countries, the rest from the national mix (which repeats some
    of the AOR's top countries: a slight tilt towards the big ones, accepted)."""
    mx = _mixes()
    out = np.empty(len(aors), dtype=object)
    for a in np.unique(aors):
        sel = np.flatnonzero(aors == a)
        if a not in mx.cit_aor:
            out[sel] = mx.cit_nat(rng, len(sel))
            continue
        other = rng.random(len(sel)) < mx.cit_other_share[a]
        out[sel[~other]] = mx.cit_aor[a](rng, int((~other).sum()))
        out[sel[other]] = mx.cit_nat(rng, int(other.sum()))
    return out


def _draw_counties(
    rng: np.random.Generator, aor: str, n: int, states: Sequence[str] = ()
) -> list[reference.County | None]:
    """Counties for ``n`` arrests in an AOR; None for AORs without counties of their own
    (headquarters)."""
    if aor not in _aor_counties():
        return [None] * n
    cs, w = _aor_counties()[aor]
    if states:
        keep = [i for i, c in enumerate(cs) if c.state_abbr in states]
        cs = [cs[i] for i in keep]
        w = w[keep] / w[keep].sum()
    idx = rng.choice(len(cs), size=n, p=w)
    return [cs[i] for i in idx]


def _aor_label(code: str) -> str:
    name = reference.aor_name(code) or code
    return f"{name} Area of Responsibility"


def arrest_rows(p: DemoPlan) -> Iterator[tuple[Cell, ...]]:
    """Rows in DDP_ARRESTS_2026_COLUMNS order, sorted by date, one day at a time."""
    rng = np.random.default_rng([p.seed, 1])
    mx = _mixes()
    missing = float(calibration()["aor_missing_share"])
    planted_by_day: dict[date, list[tuple[Planted, int]]] = {}
    for op, d, n in _planted_days(p.planted):
        if n:
            planted_by_day.setdefault(d, []).append((op, n))
    state_names = _state_names()
    status = _Pick(_CASE_STATUS)
    category = _Pick(_CASE_CATEGORY)
    ids: list[str] = []
    for k in range(p.days):
        d = p.day(k)
        # (aor, class, state restriction) per row of the day
        groups: list[tuple[str, int, tuple[str, ...], int]] = []
        for i, a in enumerate(p.aors):
            for c in range(len(CLASSES)):
                n = int(p.background[i, c, k])
                if n:
                    groups.append((a, c, (), n))
        for op, n in planted_by_day.get(d, []):
            groups.append((op.aor, CLASSES.index("at_large"), op.states, n))
        n_day = sum(g[3] for g in groups)
        if not n_day:
            continue
        aor_arr = np.array([g[0] for g in groups for _ in range(g[3])], dtype=object)
        cls_arr = np.array([g[1] for g in groups for _ in range(g[3])])
        county_list: list[reference.County] = []
        for a, _c, states, n in groups:
            county_list += _draw_counties(rng, a, n, states)
        n_background = sum(g[3] for g in groups if not g[2]) if groups else 0
        method = np.empty(n_day, dtype=object)
        gender = np.empty(n_day, dtype=object)
        crim = np.empty(n_day, dtype=object)
        for c, cls in enumerate(CLASSES):
            sel = np.flatnonzero(cls_arr == c)
            if sel.size:
                method[sel] = mx.method[cls](rng, sel.size)
                gender[sel] = mx.gender[cls](rng, sel.size)
                crim[sel] = mx.crim[cls](rng, sel.size)
        cit = _draw_citizenship(rng, aor_arr)
        # a small share of released rows carry no AOR (as in the real files); only
        # background rows, so the planted figures stay exact per AOR
        no_aor = rng.random(n_day) < missing
        no_aor[n_background:] = False
        u = rng.random((n_day, 8))
        birth_year = np.clip(d.year - np.round(rng.normal(33, 11, n_day)), d.year - 85, d.year - 15)
        st_pick = status(rng, n_day)
        cat_pick = category(rng, n_day)
        reuse = rng.random(n_day) < 0.08
        new_ids = rng.integers(0, 2**63, n_day)
        for j in range(n_day):
            a = aor_arr[j]
            cls = CLASSES[cls_arr[j]]
            county = county_list[j]
            final_order = u[j, 0] < 0.45
            departed = final_order and u[j, 1] < 0.6
            if reuse[j] and ids:
                person = ids[int(u[j, 2] * len(ids))]
            else:
                person = f"{int(new_ids[j]):016x}"
                if len(ids) < 200_000:
                    ids.append(person)
            cname = county.county_name.upper() if county else None
            where = None if no_aor[j] or county is None else county
            landmark = (
                f"{cname} JAIL"
                if cls == "custodial" and cname
                else f"{a} GENERAL AREA, NON-SPECIFIC"
                if u[j, 3] < 0.7
                else f"{a} FUGITIVE OPERATIONS"
            )
            yield (
                d,
                "Administrative Arrest" if u[j, 4] < 0.97 else "Criminal Arrest",
                state_names.get(where.state_abbr, where.state_abbr) if where else None,
                where.county_name.upper() if where else None,
                None if no_aor[j] else _aor_label(a),
                _PROGRAM[cls][0] if u[j, 5] < 0.8 else _PROGRAM[cls][1],
                "ERO",
                method[j],
                crim[j],
                st_pick[j],
                cat_pick[j],
                cit[j] if departed else None,
                "YES" if final_order else "NO",
                "(b)(6), (b)(7)(C)",
                int(birth_year[j]),
                cit[j],
                gender[j],
                d + timedelta(int(1 + u[j, 6] * 120)) if departed else None,
                d - timedelta(int(u[j, 7] * 3000)) if final_order else None,
                landmark,
                "(b)(7)(E)" if u[j, 3] > 0.95 else None,
                f"{(reference.aor_name(a) or a).upper()} FIELD OFFICE",
                crim[j] if u[j, 5] < 0.9 else None,
                int(1 + u[j, 6] * 3) if u[j, 4] < 0.7 else None,
                person,
            )


DDP_DETAINERS_COLUMNS: tuple[str, ...] = (
    "Detainer Prepare Date",
    "Facility State",
    "Facility AOR",
    "Port of Departure",
    "Departure Country",
    "Departed Date",
    "Case Status",
    "Detainer Criminality",
    "Detainer Facility",
    "Detainer Facility Code",
    "Facility City",
    "Detainer Threat Level",
    "Gender",
    "Citizenship Country",
    "Birth Country",
    "Birth Date",
    "Birth Year",
    "Entry Status",
    "MSC Charge",
    "MSC Sentence Days",
    "MSC Sentence Months",
    "MSC Sentence Years",
    "MSC Charge Code",
    "MSC Charge Date",
    "MSC Conviction Date",
    "Aggravated Felon Yes No",
    "Processing Disposition",
    "Case Category",
    "TOA Case Category",
    "TOA Current Program",
    "Apprehension Method",
    "Final Order Yes No",
    "Final Order Date",
    "Apprehension Date",
    "Entry Date",
    "Prior Felony Yes No",
    "Multiple Prior MISD Yes No",
    "Violent Misdemeanor Yes No",
    "Illegal Entry Yes No",
    "Illegal Reentry Yes No",
    "Immigration Fraud Yes No",
    "Significant Risk Yes No",
    "Other Removal Reason Yes No",
    "Criminal Street Gang Yes No",
    "Aggravated Felony Yes No",
    "Deportation Ordered Yes No",
    "Order to Show Cause Served Yes No",
    "Biometric Match Yes No",
    "Statements Made Yes No",
    "Unlawful Attempt Yes No",
    "Unlawful Entry Yes No",
    "Visa Yes No",
    "Federal Register Notice Yes No",
    "Resume Custody Yes No",
    "Active Investigation Yes No",
    "Notify Release Request Yes No",
    "Detainer Lift Reason",
    "Detainer Lift Reason Code",
    "Arrest Warrant Served Date",
    "Detainer Type",
    "TOD Current Duty Site",
    "EID DTA ID",
    "Anonymized Identifier",
)


def detainer_rows(p: DemoPlan) -> Iterator[tuple[Cell, ...]]:
    """Rows in DDP_DETAINERS_COLUMNS order, sorted by prepare date."""
    rng = np.random.default_rng([p.seed, 2])
    mx = _mixes()
    cal = calibration()["assumptions"]
    lift = _Pick({k: v for k, v in cal["detainers"]["lift_reasons"].items()})
    decl_rate = float(cal["detainers"]["declining_county_rate"])
    imm_share = float(cal["immigration_only_share_of_convicted"])
    declining = set(declining_counties().values())
    msc = _Pick(_MSC_CHARGES)
    imm = _Pick(_IMMIGRATION_CHARGES)
    state_names = _state_names()
    cities = _county_city()
    col = {c: i for i, c in enumerate(DDP_DETAINERS_COLUMNS)}
    width = len(DDP_DETAINERS_COLUMNS)
    for k in range(p.days):
        d = p.day(k)
        for i, a in enumerate(p.aors):
            n = int(p.detainers[i, k])
            if not n:
                continue
            counties = _draw_counties(rng, a, n)
            crim = mx.crim["custodial"](rng, n)
            cit = _draw_citizenship(rng, np.array([a] * n, dtype=object))
            gen = mx.gender["custodial"](rng, n)
            meth = mx.method["custodial"](rng, n)
            reasons = lift(rng, n)
            u = rng.random((n, 6))
            for j in range(n):
                c = counties[j]
                assert c is not None
                row: list[Cell] = [None] * width
                reason = reasons[j]
                if c.fips in declining and u[j, 0] < decl_rate:
                    reason = "Detainer Declined by LEA"
                convicted = crim[j] == _CRIM_LABELS["convicted"]
                row[col["Detainer Prepare Date"]] = d
                row[col["Facility State"]] = state_names.get(c.state_abbr, c.state_abbr)
                row[col["Facility AOR"]] = _aor_label(a)
                row[col["Case Status"]] = "ACTIVE"
                row[col["Detainer Criminality"]] = crim[j]
                row[col["Detainer Facility"]] = f"{c.county_name.upper()} JAIL"
                row[col["Facility City"]] = cities.get(c.fips)
                row[col["Gender"]] = gen[j]
                row[col["Citizenship Country"]] = cit[j]
                row[col["Birth Country"]] = cit[j]
                row[col["Birth Date"]] = "(b)(6), (b)(7)(C)"
                row[col["Birth Year"]] = int(d.year - 18 - u[j, 1] * 50)
                if convicted:
                    row[col["MSC Charge"]] = (
                        imm(rng, 1)[0] if u[j, 2] < imm_share else msc(rng, 1)[0]
                    )
                    row[col["MSC Conviction Date"]] = d - timedelta(int(30 + u[j, 3] * 2000))
                row[col["Apprehension Method"]] = meth[j]
                row[col["Detainer Lift Reason"]] = reason or None
                row[col["Detainer Type"]] = "I247A - Immigration Detainer - Notice of Action"
                row[col["Anonymized Identifier"]] = f"{int(u[j, 4] * 2**52):013x}"
                yield tuple(row)


def _day_boundary_limit(p: DemoPlan, per_sheet: int) -> int:
    """Data rows on each sheet, cut at the end of a day: a sheet then holds whole days
    and two sheets never share a date (which a reader would flag as overlap)."""
    per_day = p.background.sum(axis=(0, 1)).astype(np.int64)
    for _, d, n in _planted_days(p.planted):
        per_day[(d - p.start).days] += n
    cum = np.cumsum(per_day)
    if cum[-1] <= per_sheet:
        return per_sheet
    k = int(np.searchsorted(cum, per_sheet, side="right")) - 1
    limit = int(cum[k]) if k >= 0 else per_sheet
    # with more than two sheets the later cuts may fall inside a day; fine at that size
    return max(limit, 1)


def write_release(
    out_dir: str | Path,
    p: DemoPlan,
    *,
    max_data_rows: int | None = None,
) -> dict[str, Any]:
    """Write the arrests workbook and the detainers workbook of a plan into ``out_dir``;
    returns paths and rows per sheet."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fits = EXCEL_MAX_ROWS - 6 - 1
    limit = _day_boundary_limit(p, max_data_rows or fits)
    arrests = out_dir / "SYNTHETIC-ddp-arrests-2026-layout.xlsx"
    what_a = "ERO Administrative Arrests"
    a_counts = write_xlsx(
        arrests,
        [
            SheetSpec(
                name="Arrests",
                header=DDP_ARRESTS_2026_COLUMNS,
                rows=arrest_rows(p),
                preamble=_preamble(p, what_a),
                max_data_rows=limit,
            )
        ],
        title="SYNTHETIC demo release in the DDP 2026 arrests layout - not real records",
    )
    detainers = out_dir / "SYNTHETIC-ddp-detainers-layout.xlsx"
    d_counts = write_xlsx(
        detainers,
        [
            SheetSpec(
                name="Detainers",
                header=DDP_DETAINERS_COLUMNS,
                rows=detainer_rows(p),
                preamble=_preamble(p, "ICE Detainers"),
            )
        ],
        title="SYNTHETIC demo release in the DDP detainers layout - not real records",
    )
    manifest = {
        "synthetic": True,
        "note": "SYNTHETIC DATA - every row is random; calibrated aggregates only",
        "plan": p.to_dict(),
        "files": {
            "arrests": {"path": str(arrests), "sheets": a_counts},
            "detainers": {"path": str(detainers), "sheets": d_counts},
        },
    }
    (out_dir / "SYNTHETIC-manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _preamble(p: DemoPlan, what: str) -> list[str]:
    lines = synthetic_preamble(6, seed=p.seed, start=p.start, end=p.end, what=what)
    # line 3 says what the values are: calibrated, not uniform random
    lines[2] = (
        "Every row is random, drawn from rates and mixes calibrated on the real FY2016-2019 "
        "national arrests, with planted operations; no person, event or count is real"
    )
    return lines
