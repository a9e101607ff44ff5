"""SYNTHETIC linked releases: one Deportation Data Project-style release whose arrests,
detention stints, removals and detainers share an anonymized ``unique_identifier``.

The arrests follow a calibrated ``DemoPlan`` (the demo's daily counts per AOR and
method class, with the planted September 2019 surge), so the surge detector finds the
same operations in a linked release as in the demo's workbook. For every arrest the
generator draws what happened next -- a detention stay made of about two stints
(transfers), then removal or release, or no detention at all -- and the detainers
lodged before custodial arrests. It also writes stays, removals and detainers of people
the release never shows arrested (book-ins after CBP arrests, detainers never acted
on), so the match rates are below one as in real releases.

Every rate and its source is in ``PATHWAY_RATES`` (docs/synthetic.md). The September
2019 surge's arrests are planted with different outcomes (``SURGE_EFFECT``): more are
detained and removed, and they are detained longer.

The generator records its plan independently of any linking code: the episodes (one
per arrest, same-day duplicate rows collapsed), the stays with their stints, and the
match rates, computed from the draws themselves (``*-plan-*.parquet`` and the
manifest). Output is streamed in chunks of days, Parquet or CSV, so ten million arrests
fit in bounded memory.
"""

from __future__ import annotations

import binascii
import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from icetally import reference
from icetally.synth.calibrated import (
    _CASE_CATEGORY,
    _CRIM_LABELS,
    _PROGRAM,
    CLASSES,
    DEFAULT_START,
    DemoPlan,
    Planted,
    _aor_counties,
    _aor_label,
    _mixes,
    _planted_days,
    _state_names,
    plan,
)
from icetally.synth.calibrated import DDP_DETAINERS_COLUMNS as _DETAINER_TITLES
from icetally.synth.xlsx import DDP_ARRESTS_2026_COLUMNS as _ARREST_TITLES

SURGE_OPERATION = "september-2019-surge"
BANNER = "SYNTHETIC DATA - NOT REAL ENFORCEMENT RECORDS"
DAY_S = 86_400
EPOCH = date(1970, 1, 1)

OUTCOMES = ("removed", "released", "detained", "no_detention")


@dataclass(frozen=True)
class PathwayRates:
    """What happens after an arrest. Each figure names its source (docs/synthetic.md)."""

    # Share of arrests followed by a detention stay. "81-85% of arrest identifiers
    # appear in detention" (peers' caveat on the DDP 2023-2025 releases, issue #15).
    stay_share: float = 0.83
    # Days from arrest to book-in (0, 1, 2): ASSUMPTION (most book-ins the same day).
    book_in_lag: tuple[float, float, float] = (0.75, 0.20, 0.05)
    # Of closed stays after an ICE arrest, the share ending in removal. ICE FY2019: about
    # 137,084 initial book-ins of ICE arrests and ICE average daily population 20,115
    # with a 54.5-day stay, so about 134,700 exits; ERO reported 85,958 removals of
    # people it arrested in the interior -> 0.64. Rounded down for releases to ATD.
    removed_share_of_stays: float = 0.62
    # Mean days detained after an ICE arrest: ICE FY2019 average length of stay of
    # ICE-arrested people, 54.5 days (FY19-detentionstats.xlsx, "ICE Average Length of
    # Stay by Arresting Agency"). Lognormal spread: ASSUMPTION.
    mean_days: float = 54.5
    days_sigma: float = 0.9
    # Stints per stay 1..5: "counting detention rows overstates stays about twofold"
    # (issue #15): the mean is 2.08. The shape is an ASSUMPTION.
    stints_per_stay: tuple[float, ...] = (0.40, 0.30, 0.17, 0.08, 0.05)
    # Release reasons of ICE final releases FY2019 of people with a conviction or
    # pending charges (FY19-detentionstats.xlsx, "ICE Final Releases by Release Reason
    # and Criminality": convicted + pending columns).
    release_reasons: tuple[tuple[str, float], ...] = (
        ("Bonded Out", 22277),
        ("Order of Recognizance", 4607),
        ("Order of Supervision", 6262),
        ("Paroled", 711),
        ("Prosecutorial Discretion", 558),
    )
    # Arrests without a stay that still end in a departure (stipulated removal,
    # voluntary departure): ASSUMPTION.
    removed_without_stay: float = 0.05
    # Book-ins of people the release shows no ICE arrest for, as a share of all stays.
    # The real share is 0.73 (CBP 373,770 of 510,854 initial book-ins in FY2019); kept at
    # 0.25 so the tables stay about ICE's own arrests and 10M arrests fit the bench.
    stays_without_arrest: float = 0.25
    # Removals of people with no stay in the release (removed at once after a CBP
    # encounter), as a share of all removals: ASSUMPTION.
    removals_without_stay: float = 0.02
    # Custodial arrests with a detainer lodged beforehand (1-60 days): ASSUMPTION, in
    # line with the demo's one detainer per custodial arrest.
    detainer_share_custodial: float = 0.70
    detainer_lag_days: int = 60
    # Detainers never followed by an arrest in the release, per linked detainer: the
    # Pennsylvania 2007-2015 detainers lift reasons leave 34% without a lift (see
    # calibration.json); ASSUMPTION of 0.4.
    unlinked_detainers_per_linked: float = 0.4
    # Released people arrested again 30-300 days later: ASSUMPTION.
    rearrest_share: float = 0.03
    # Arrest rows duplicated the same day (same person): DDP cleaned files flag about
    # 1-2% of arrest rows as likely duplicates; ASSUMPTION 0.015.
    duplicate_share: float = 0.015


@dataclass(frozen=True)
class SurgeEffect:
    """The planted difference for the September 2019 surge's arrests (illustrative)."""

    stay_share: float = 0.92
    removed_share_of_stays: float = 0.85
    days_factor: float = 1.6


PATHWAY_RATES = PathwayRates()
SURGE_EFFECT = SurgeEffect()

# ---------------------------------------------------------------- output columns


def _snake(title: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", title.lower()).strip("_")


def _cleaned(titles: tuple[str, ...]) -> tuple[str, ...]:
    """The DDP cleaned files' names: snake_case, the identifier as unique_identifier."""
    return tuple("unique_identifier" if t == "Anonymized Identifier" else _snake(t) for t in titles)


ARREST_COLUMNS = _cleaned(_ARREST_TITLES)
DETAINER_COLUMNS = _cleaned(_DETAINER_TITLES)
STINT_COLUMNS: tuple[str, ...] = (
    "stay_book_in_date_time",
    "book_in_date_time",
    "detention_facility",
    "book_out_date_time",
    "stay_book_out_date_time",
    "detention_release_reason",
    "stay_book_out_date",
    "stay_release_reason",
    "gender",
    "birth_year",
    "citizenship_country",
    "case_status",
    "case_category",
    "final_order_yes_no",
    "case_threat_level",
    "departed_date",
    "departure_country",
    "detention_facility_code",
    "book_in_criminality",
    "apprehension_final_program",
    "book_in_aor",
    "unique_identifier",
)
REMOVAL_COLUMNS: tuple[str, ...] = (
    "departed_date",
    "port_of_departure",
    "departure_country",
    "case_aor",
    "state",
    "county",
    "case_status",
    "gender",
    "birth_year",
    "citizenship_country",
    "case_criminality",
    "case_threat_level",
    "processing_disposition",
    "case_category",
    "final_program",
    "arresting_agency",
    "latest_apprehension_date",
    "final_order_yes_no",
    "final_charge_section",
    "prior_deport_yes_no",
    "unique_identifier",
)
TABLES = ("arrests", "detention_stints", "removals", "detainers")
COLUMNS_OF = {
    "arrests": ARREST_COLUMNS,
    "detention_stints": STINT_COLUMNS,
    "removals": REMOVAL_COLUMNS,
    "detainers": DETAINER_COLUMNS,
}

# ---------------------------------------------------------------- places


@dataclass(frozen=True)
class _Places:
    aors: list[str]  # the plan's AOR order
    aor_labels: pa.Array
    county_names: pa.Array  # all counties, upper case
    county_states: pa.Array  # state names of the counties
    by_aor: list[tuple[np.ndarray, np.ndarray] | None]  # county indices, weights
    fac_names: pa.Array
    fac_codes: pa.Array
    fac_aors: np.ndarray  # AOR index of each facility
    fac_by_aor: list[np.ndarray]
    jails: pa.Array  # "<COUNTY> JAIL" per county
    cities: pa.Array  # facility city per county


@cache
def _facilities() -> list[tuple[str, str, str]]:
    """(name, code, AOR) of the ICE facilities in the shipped facility table."""
    out = []
    with reference.data_path("facility_counties.csv").open(newline="") as f:
        for r in csv.DictReader(f):
            m = re.search(r"\(([A-Z0-9]+);", r["source"])
            if m and len(r["aor"]) in (2, 3) and r["aor"].isalpha():
                out.append((r["name"], m.group(1), r["aor"]))
    return out


def _places(aors: list[str]) -> _Places:
    from icetally.synth.calibrated import _county_city

    counties: list[reference.County] = []
    by_aor: list[tuple[np.ndarray, np.ndarray] | None] = []
    for a in aors:
        got = _aor_counties().get(a)
        if got is None:
            by_aor.append(None)
            continue
        cs, w = got
        idx = np.arange(len(counties), len(counties) + len(cs))
        counties += cs
        by_aor.append((idx, w))
    states = _state_names()
    cities = _county_city()
    facs = _facilities()
    aor_index = {a: i for i, a in enumerate(aors)}
    fac_aors = np.array([aor_index.get(a, -1) for _n, _c, a in facs])
    everywhere = np.arange(len(facs))
    fac_by_aor = []
    for i in range(len(aors)):
        own = np.flatnonzero(fac_aors == i)
        fac_by_aor.append(own if own.size else everywhere)
    return _Places(
        aors=aors,
        aor_labels=pa.array([_aor_label(a) for a in aors]),
        county_names=pa.array([c.county_name.upper() for c in counties]),
        county_states=pa.array([states.get(c.state_abbr, c.state_abbr) for c in counties]),
        by_aor=by_aor,
        fac_names=pa.array([n for n, _c, _a in facs]),
        fac_codes=pa.array([c for _n, c, _a in facs]),
        fac_aors=fac_aors,
        fac_by_aor=fac_by_aor,
        jails=pa.array([f"{c.county_name.upper()} JAIL" for c in counties]),
        cities=pa.array([cities.get(c.fips) for c in counties]),
    )


# ---------------------------------------------------------------- vector helpers


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer: a bijection on uint64, so distinct sequence numbers give
    distinct identifiers that look random."""
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _ids(seq: np.ndarray, salt: int) -> pa.Array:
    """32-hex-digit anonymized identifiers for person sequence numbers (re-drawn per
    release through ``salt``, as the DDP re-anonymizes every release)."""
    seq = seq.astype(np.uint64)
    with np.errstate(over="ignore"):
        hi = _mix64(seq ^ np.uint64(salt & 0xFFFFFFFFFFFFFFFF))
        lo = _mix64(hi ^ np.uint64(0x5DEECE66D))
    words = np.empty((len(seq), 2), dtype=">u8")
    words[:, 0] = hi
    words[:, 1] = lo
    hexed = binascii.hexlify(words.tobytes())
    offsets = np.arange(0, 32 * (len(seq) + 1), 32, dtype=np.int32)
    return pa.StringArray.from_buffers(len(seq), pa.py_buffer(offsets), pa.py_buffer(hexed))


def _take(labels: pa.Array | list[str | None], idx: np.ndarray) -> pa.Array:
    """labels[idx] as a string array; idx -1 gives null."""
    arr = labels if isinstance(labels, pa.Array) else pa.array(labels, pa.string())
    mask = idx < 0
    return pc.take(arr, pa.array(np.where(mask, 0, idx), mask=mask))


def _ts_text(seconds: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Epoch seconds as 'YYYY-MM-DD HH:MM:SS' (no time zone, as released)."""
    ts = pa.array(seconds.astype(np.int64), type=pa.timestamp("s"), mask=mask)
    return pc.strftime(ts, format="%Y-%m-%d %H:%M:%S")


def _date_text(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Days since 1970-01-01 as 'YYYY-MM-DD'."""
    ts = pa.array(days.astype(np.int64) * DAY_S, type=pa.timestamp("s"), mask=mask)
    return pc.strftime(ts, format="%Y-%m-%d")


def _pick(rng: np.random.Generator, weights: np.ndarray | list[float], n: int) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), size=n, p=w / w.sum())


def _nulls(n: int) -> pa.Array:
    return pa.nulls(n, pa.string())


def _table(columns: tuple[str, ...], values: dict[str, pa.Array], n: int) -> pa.Table:
    return pa.table({c: values.get(c, _nulls(n)) for c in columns})


# ---------------------------------------------------------------- the episodes


@dataclass
class _Episodes:
    """One arrest (after collapsing same-day duplicates) and what followed, as arrays."""

    person: np.ndarray  # person sequence number
    day: np.ndarray  # arrest day (days since epoch)
    aor: np.ndarray  # AOR index
    cls: np.ndarray  # method class index
    op: np.ndarray  # planted operation index, -1 for background
    crim: np.ndarray  # criminality index into _CRIM_LABELS order
    cit: np.ndarray  # citizenship index into the plan's country list
    gender: np.ndarray  # 0 male 1 female
    county: np.ndarray  # county index (-1 none)
    birth_year: np.ndarray
    method: np.ndarray  # method label index per class (into method labels of the class)
    rearrest: np.ndarray  # bool: a released person's later arrest

    def __len__(self) -> int:
        return len(self.person)


@dataclass
class _Stays:
    person: np.ndarray
    episode: np.ndarray  # episode id (-1 for stays without an arrest)
    book_in: np.ndarray  # epoch seconds
    book_out: np.ndarray  # epoch seconds (meaningless when open)
    open: np.ndarray
    removed: np.ndarray
    reason: np.ndarray  # release reason index, -1 removed/open
    n_stints: np.ndarray
    aor: np.ndarray
    cit: np.ndarray
    gender: np.ndarray
    crim: np.ndarray
    birth_year: np.ndarray


@dataclass
class LinkedManifest:
    """What a linked release holds and what was planted (figures from the draws)."""

    out_dir: Path
    files: dict[str, str]
    plan_files: dict[str, str]
    rows: dict[str, int]
    planted: dict[str, Any]
    extract_date: date
    seed: int
    fmt: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "synthetic": True,
            "note": BANNER,
            "dir": str(self.out_dir),
            "format": self.fmt,
            "seed": self.seed,
            "extract_date": self.extract_date.isoformat(),
            "files": self.files,
            "plan_files": self.plan_files,
            "rows": self.rows,
            "planted": self.planted,
            "rates": {
                "background": PATHWAY_RATES.__dict__,
                "surge": {"operation": SURGE_OPERATION, **SURGE_EFFECT.__dict__},
            },
        }


@dataclass
class _Tally:
    """Running counts for the manifest's planted figures."""

    arrest_rows: int = 0
    episodes: int = 0
    episodes_with_stay: int = 0
    stays: int = 0
    stays_with_arrest: int = 0
    stints: int = 0
    removals: int = 0
    removals_with_stay: int = 0
    detainers: int = 0
    detainers_with_arrest: int = 0
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)

    def add_outcomes(self, group: str, outcome: np.ndarray) -> None:
        got = self.outcomes.setdefault(group, dict.fromkeys(OUTCOMES, 0))
        for i, o in enumerate(OUTCOMES):
            got[o] += int((outcome == i).sum())


class _Writer:
    """One output file per table, appended chunk by chunk (Parquet row groups or CSV)."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path, self.fmt = path, fmt
        self.writer: pq.ParquetWriter | pacsv.CSVWriter | None = None
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if self.writer is None:
            if self.fmt == "parquet":
                self.writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
            else:
                self.writer = pacsv.CSVWriter(self.path, table.schema)
        self.writer.write_table(table)
        self.rows += table.num_rows

    def close(self, empty_schema: pa.Schema) -> None:
        if self.writer is None:  # no rows at all: still a file with its header
            self.write(empty_schema.empty_table())
        assert self.writer is not None
        self.writer.close()


# ---------------------------------------------------------------- the generator


class LinkedRelease:
    """Draws and writes one linked release from a ``DemoPlan``'s daily counts."""

    def __init__(
        self,
        p: DemoPlan,
        *,
        extract_date: date | None = None,
        rates: PathwayRates = PATHWAY_RATES,
        surge: SurgeEffect = SURGE_EFFECT,
        seed: int | None = None,
    ) -> None:
        self.p = p
        self.rates = rates
        self.surge = surge
        self.seed = p.seed if seed is None else seed
        self.extract = extract_date or p.end
        # the release's extract: everything after the end of this day is unknown
        self.extract_s = ((self.extract - EPOCH).days + 1) * DAY_S - 1
        self.rng = np.random.default_rng([self.seed, 15])
        self.salt = int(np.random.default_rng([self.seed, 16]).integers(0, 2**63))
        self.places = _places(p.aors)
        mx = _mixes()
        self.countries = sorted(
            set(mx.cit_nat.labels) | {c for m in mx.cit_aor.values() for c in m.labels}
        )
        cidx = {c: i for i, c in enumerate(self.countries)}
        self.cit_nat = (np.array([cidx[c] for c in mx.cit_nat.labels]), mx.cit_nat.p)
        self.cit_aor = [
            (
                np.array([cidx[c] for c in mx.cit_aor[a].labels]),
                mx.cit_aor[a].p,
                mx.cit_other_share[a],
            )
            if a in mx.cit_aor
            else None
            for a in p.aors
        ]
        crim_order = list(_CRIM_LABELS.values())
        self.crim_p = [
            np.array([mx.crim[c].p[list(mx.crim[c].labels).index(lbl)] for lbl in crim_order])
            for c in CLASSES
        ]
        self.methods = [pa.array(list(mx.method[c].labels)) for c in CLASSES]
        # every class's methods in one list: a row's label is offset[class] + its index
        self.all_methods = pa.concat_arrays(self.methods)
        self.method_offset = np.cumsum([0, *(len(m) for m in self.methods[:-1])])
        self.method_p = [mx.method[c].p for c in CLASSES]
        self.gender_labels = pa.array(["Male", "Female"])
        self.female_p = [
            float(mx.gender[c].p[list(mx.gender[c].labels).index("Female")])
            if "Female" in list(mx.gender[c].labels)
            else 0.1
            for c in CLASSES
        ]
        self.ops = sorted({op.operation for op in p.planted})
        self.surge_op = self.ops.index(SURGE_OPERATION) if SURGE_OPERATION in self.ops else -2
        self.next_person = 0
        self.next_episode = 0
        self.tally = _Tally()

    # -- arrests of a chunk of days

    def _day_chunks(self, chunk_rows: int) -> Iterator[tuple[int, int]]:
        per_day = self.p.background.sum(axis=(0, 1)).astype(np.int64)
        for _op, d, n in _planted_days(self.p.planted):
            per_day[(d - self.p.start).days] += n
        k0, acc = 0, 0
        for k in range(self.p.days):
            acc += int(per_day[k])
            if acc >= chunk_rows:
                yield k0, k + 1
                k0, acc = k + 1, 0
        if k0 < self.p.days:
            yield k0, self.p.days

    def _arrest_cells(self, k0: int, k1: int) -> tuple[np.ndarray, ...]:
        """(day, aor, class, op) per arrest of days [k0, k1)."""
        bg = self.p.background[:, :, k0:k1]
        a_i, c_i, d_i = np.nonzero(bg)
        n = bg[a_i, c_i, d_i]
        day = np.repeat(d_i + k0, n)
        aor = np.repeat(a_i, n)
        cls = np.repeat(c_i, n)
        op = np.full(len(day), -1)
        extra = [
            (k, self.p.aors.index(o.aor), self.ops.index(o.operation), m)
            for o, d, m in _planted_days(self.p.planted)
            if m and k0 <= (k := (d - self.p.start).days) < k1
        ]
        if extra:
            ek, ea, eo, em = (np.array(x) for x in zip(*extra, strict=True))
            day = np.concatenate([day, np.repeat(ek, em)])
            aor = np.concatenate([aor, np.repeat(ea, em)])
            cls = np.concatenate([cls, np.full(int(em.sum()), CLASSES.index("at_large"))])
            op = np.concatenate([op, np.repeat(eo, em)])
        start = (self.p.start - EPOCH).days
        return day + start, aor, cls, op

    def _people(self, day: np.ndarray, aor: np.ndarray, cls: np.ndarray) -> dict[str, np.ndarray]:
        rng, n = self.rng, len(day)
        crim = np.empty(n, dtype=np.int64)
        method = np.empty(n, dtype=np.int64)
        female = np.zeros(n, dtype=bool)
        for c in range(len(CLASSES)):
            sel = np.flatnonzero(cls == c)
            crim[sel] = _pick(rng, self.crim_p[c], sel.size)
            method[sel] = _pick(rng, self.method_p[c], sel.size)
            female[sel] = rng.random(sel.size) < self.female_p[c]
        cit = np.empty(n, dtype=np.int64)
        county = np.full(n, -1, dtype=np.int64)
        for a in np.unique(aor):
            sel = np.flatnonzero(aor == a)
            own = self.cit_aor[a]
            nat_idx, nat_p = self.cit_nat
            if own is None:
                cit[sel] = nat_idx[_pick(rng, nat_p, sel.size)]
            else:
                idx, p, other = own
                use_nat = rng.random(sel.size) < other
                cit[sel[~use_nat]] = idx[_pick(rng, p, int((~use_nat).sum()))]
                cit[sel[use_nat]] = nat_idx[_pick(rng, nat_p, int(use_nat.sum()))]
            cw = self.places.by_aor[a]
            if cw is not None:
                county[sel] = cw[0][_pick(rng, cw[1], sel.size)]
        year = (day // 365.25 + 1970).astype(np.int64)
        birth = np.clip(year - np.round(rng.normal(33, 11, n)), year - 85, year - 15)
        return {
            "crim": crim,
            "method": method,
            "gender": female.astype(np.int64),
            "cit": cit,
            "county": county,
            "birth_year": birth.astype(np.int64),
        }

    def _episodes(self, k0: int, k1: int) -> _Episodes:
        day, aor, cls, op = self._arrest_cells(k0, k1)
        who = self._people(day, aor, cls)
        n = len(day)
        person = np.arange(self.next_person, self.next_person + n)
        self.next_person += n
        return _Episodes(
            person=person,
            day=day,
            aor=aor,
            cls=cls,
            op=op,
            rearrest=np.zeros(n, dtype=bool),
            **who,
        )

    # -- what followed

    def _follow(self, ep: _Episodes) -> dict[str, np.ndarray]:
        """Stay, removal and detainer of each episode (vectorized)."""
        r, s, rng, n = self.rates, self.surge, self.rng, len(ep)
        surge = ep.op == self.surge_op
        stay_p = np.where(surge, s.stay_share, r.stay_share)
        has_stay = rng.random(n) < stay_p
        lag = _pick(rng, r.book_in_lag, n)
        book_in = (ep.day + lag) * DAY_S + rng.integers(6 * 3600, 22 * 3600, n)
        mean = np.where(surge, r.mean_days * s.days_factor, r.mean_days)
        mu = np.log(mean) - r.days_sigma**2 / 2
        days = rng.lognormal(mu, r.days_sigma)
        book_out = book_in + np.maximum(np.round(days * DAY_S), 3600).astype(np.int64)
        removed_p = np.where(surge, s.removed_share_of_stays, r.removed_share_of_stays)
        ends_removed = rng.random(n) < removed_p
        has_stay &= book_in <= self.extract_s  # a book-in after the extract is not in it
        open_ = has_stay & (book_out > self.extract_s)
        reason = np.where(
            has_stay & ~open_ & ~ends_removed,
            _pick(rng, [w for _r, w in r.release_reasons], n),
            -1,
        )
        # removal without a stay: departure 1-30 days after the arrest
        dep_no_stay = (ep.day + rng.integers(1, 31, n)) * DAY_S
        removed_no_stay = ~has_stay & (rng.random(n) < r.removed_without_stay)
        removed_no_stay &= dep_no_stay <= self.extract_s
        removed = (has_stay & ~open_ & ends_removed) | removed_no_stay
        departed_day = np.where(has_stay, book_out // DAY_S, dep_no_stay // DAY_S)
        outcome = np.where(
            removed,
            0,
            np.where(has_stay & ~open_, 1, np.where(open_, 2, 3)),
        )
        # detainers before custodial arrests
        custodial = ep.cls == CLASSES.index("custodial")
        has_det = custodial & ~ep.rearrest & (rng.random(n) < r.detainer_share_custodial)
        det_day = ep.day - rng.integers(1, r.detainer_lag_days + 1, n)
        return {
            "has_stay": has_stay,
            "book_in": book_in,
            "book_out": book_out,
            "open": open_,
            "removed": removed,
            "removed_no_stay": removed_no_stay,
            "reason": reason,
            "departed_day": departed_day,
            "outcome": outcome,
            "has_det": has_det,
            "det_day": det_day,
            "n_stints": np.where(has_stay, _pick(rng, r.stints_per_stay, n) + 1, 0),
        }

    def _rearrests(self, ep: _Episodes, f: dict[str, np.ndarray]) -> _Episodes | None:
        """Released people arrested again 30-300 days after release (same AOR, at large)."""
        rng = self.rng
        sel = np.flatnonzero(
            (f["outcome"] == 1) & (rng.random(len(ep)) < self.rates.rearrest_share)
        )
        day = f["book_out"][sel] // DAY_S + rng.integers(30, 301, sel.size)
        keep = day * DAY_S <= self.extract_s
        sel, day = sel[keep], day[keep]
        if not sel.size:
            return None
        at_large = CLASSES.index("at_large")
        n = sel.size
        return _Episodes(
            person=ep.person[sel],
            day=day,
            aor=ep.aor[sel],
            cls=np.full(n, at_large),
            op=np.full(n, -1),
            crim=ep.crim[sel],
            cit=ep.cit[sel],
            gender=ep.gender[sel],
            county=ep.county[sel],
            birth_year=ep.birth_year[sel],
            method=_pick(rng, self.method_p[at_large], n),
            rearrest=np.ones(n, dtype=bool),
        )

    # -- stints of stays

    def _stints(self, st: _Stays) -> dict[str, np.ndarray]:
        """One row per facility segment: transfers cut the stay at random times; a stay
        open at the extract keeps only the stints begun by then, the last one open."""
        rng = self.rng
        k = st.n_stints
        stay_of = np.repeat(np.arange(len(k)), k)
        pos = np.arange(len(stay_of)) - np.repeat(np.cumsum(k) - k, k)
        length = (st.book_out - st.book_in)[stay_of]
        # cut points: sorted uniform fractions per stay (the first stint starts at 0)
        frac = rng.random(len(stay_of))
        frac[pos == 0] = 0.0
        order = np.lexsort((frac, stay_of))
        frac = frac[order]
        start = st.book_in[stay_of] + np.round(frac * length).astype(np.int64)
        nxt = np.append(start[1:], 0)
        last = pos == (k[stay_of] - 1)
        end = np.where(last, st.book_out[stay_of], nxt)
        begun = start <= self.extract_s
        stay_open = st.open[stay_of]
        # a stint still running at the extract is open (no book-out); later ones unseen
        stint_open = stay_open & begun & ((end > self.extract_s) | last)
        keep = begun
        facility = np.empty(len(stay_of), dtype=np.int64)
        first = pos == 0
        for a in np.unique(st.aor):
            sel = np.flatnonzero(first & (st.aor[stay_of] == a))
            pool = self.places.fac_by_aor[a]
            facility[sel] = pool[rng.integers(0, pool.size, sel.size)]
        moved = np.flatnonzero(~first)
        facility[moved] = rng.integers(0, len(self.places.fac_aors), moved.size)
        return {
            "stay": stay_of[keep],
            "start": start[keep],
            "end": end[keep],
            "last": (last | stint_open)[keep],
            "open": stint_open[keep],
            "facility": facility[keep],
        }

    # -- one chunk

    def _chunk(self, k0: int, k1: int) -> dict[str, pa.Table]:
        rng, r = self.rng, self.rates
        ep = self._episodes(k0, k1)
        f = self._follow(ep)
        again = self._rearrests(ep, f)
        if again is not None:
            g = self._follow(again)
            ep = _Episodes(
                **{k: np.concatenate([getattr(ep, k), getattr(again, k)]) for k in ep.__dict__}
            )
            f = {k: np.concatenate([f[k], g[k]]) for k in f}
        n = len(ep)
        episode = np.arange(self.next_episode, self.next_episode + n)
        self.next_episode += n

        # stays: those after arrests, plus stays of people never arrested in the release
        linked = np.flatnonzero(f["has_stay"])
        share = r.stays_without_arrest
        n_free = int(rng.poisson(linked.size * share / (1 - share))) if linked.size else 0
        free = self._free_people(n_free, k0, k1)
        free_f = self._free_follow(free)
        st = _Stays(
            person=np.concatenate([ep.person[linked], free["person"]]),
            episode=np.concatenate([episode[linked], np.full(n_free, -1)]),
            book_in=np.concatenate([f["book_in"][linked], free_f["book_in"]]),
            book_out=np.concatenate([f["book_out"][linked], free_f["book_out"]]),
            open=np.concatenate([f["open"][linked], free_f["open"]]),
            removed=np.concatenate([f["removed"][linked], free_f["removed"]]),
            reason=np.concatenate([f["reason"][linked], free_f["reason"]]),
            n_stints=np.concatenate([f["n_stints"][linked], free_f["n_stints"]]),
            aor=np.concatenate([ep.aor[linked], free["aor"]]),
            cit=np.concatenate([ep.cit[linked], free["cit"]]),
            gender=np.concatenate([ep.gender[linked], free["gender"]]),
            crim=np.concatenate([ep.crim[linked], free["crim"]]),
            birth_year=np.concatenate([ep.birth_year[linked], free["birth_year"]]),
        )
        stints = self._stints(st)
        out = {
            "arrests": self._arrest_table(ep, f, episode),
            "detention_stints": self._stint_table(st, stints),
            "removals": self._removal_table(ep, f, st),
            "detainers": self._detainer_table(ep, f, k0, k1),
            "plan_episodes": self._plan_episodes(ep, f, episode),
            "plan_stays": self._plan_stays(st, stints),
        }
        t = self.tally
        t.episodes += n
        t.episodes_with_stay += int(f["has_stay"].sum())
        t.stays += len(st.person)
        t.stays_with_arrest += linked.size
        t.stints += out["detention_stints"].num_rows
        surge_group = ep.op == self.surge_op
        t.add_outcomes("all", f["outcome"])
        t.add_outcomes("surge_planted", f["outcome"][surge_group])
        t.add_outcomes("background", f["outcome"][~surge_group])
        return out

    def _free_people(self, n: int, k0: int, k1: int) -> dict[str, np.ndarray]:
        """People of stays without an arrest in the release (book-ins after CBP arrests)."""
        rng = self.rng
        start = (self.p.start - EPOCH).days
        day = rng.integers(k0, k1, n) + start
        aor = rng.integers(0, len(self.p.aors), n)
        cls = np.full(n, CLASSES.index("other"))
        who = self._people(day, aor, cls)
        person = np.arange(self.next_person, self.next_person + n)
        self.next_person += n
        return {"person": person, "day": day, "aor": aor, **who}

    def _free_follow(self, free: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        r, rng, n = self.rates, self.rng, len(free["day"])
        book_in = free["day"] * DAY_S + rng.integers(0, DAY_S, n)
        mu = np.log(r.mean_days) - r.days_sigma**2 / 2
        book_out = book_in + np.maximum(
            np.round(rng.lognormal(mu, r.days_sigma, n) * DAY_S), 3600
        ).astype(np.int64)
        open_ = book_out > self.extract_s
        removed = ~open_ & (rng.random(n) < r.removed_share_of_stays)
        reason = np.where(~open_ & ~removed, _pick(rng, [w for _r, w in r.release_reasons], n), -1)
        return {
            "book_in": book_in,
            "book_out": book_out,
            "open": open_,
            "removed": removed,
            "reason": reason,
            "n_stints": _pick(rng, r.stints_per_stay, n) + 1,
        }

    # -- tables

    def _arrest_table(
        self, ep: _Episodes, f: dict[str, np.ndarray], episode: np.ndarray
    ) -> pa.Table:
        rng, pl = self.rng, self.places
        dup = rng.random(len(ep)) < self.rates.duplicate_share
        rows = np.concatenate([np.arange(len(ep)), np.flatnonzero(dup)])
        self.tally.arrest_rows += rows.size
        self._dup = dup
        n = rows.size
        cls = ep.cls[rows]
        method = _take(self.all_methods, self.method_offset[cls] + ep.method[rows])
        removed = f["removed"][rows]
        county = ep.county[rows]
        program = np.array([_PROGRAM[c][0] for c in CLASSES] + [_PROGRAM[c][1] for c in CLASSES])
        prog_idx = cls + len(CLASSES) * (rng.random(n) < 0.2)
        values = {
            "apprehension_date": _date_text(ep.day[rows]),
            "apprehension_type": pa.array(
                np.where(rng.random(n) < 0.97, "Administrative Arrest", "Criminal Arrest")
            ),
            "state": _take(pl.county_states, county),
            "county": _take(pl.county_names, county),
            "toa_current_duty_aor": _take(pl.aor_labels, ep.aor[rows]),
            "apprehension_final_program": pa.array(program[prog_idx]),
            "arresting_agency": pa.array(np.full(n, "ERO")),
            "apprehension_method": method,
            "apprehension_criminality": _take(list(_CRIM_LABELS.values()), ep.crim[rows]),
            "case_status": _take(
                ["ACTIVE", "6-Deported/Removed - Deportability"], removed.astype(np.int64)
            ),
            "case_category": _take(
                [c for c, _w in _CASE_CATEGORY], _pick(rng, [w for _c, w in _CASE_CATEGORY], n)
            ),
            "departure_country": _take(self.countries, np.where(removed, ep.cit[rows], -1)),
            "final_order_yes_no": _take(["NO", "YES"], removed.astype(np.int64)),
            "birth_date": pa.array(np.full(n, "(b)(6), (b)(7)(C)")),
            "birth_year": pa.array(ep.birth_year[rows].astype(str)),
            "citizenship_country": _take(self.countries, ep.cit[rows]),
            "gender": _take(self.gender_labels, ep.gender[rows]),
            "departed_date": _date_text(f["departed_day"][rows], mask=~removed),
            "apprehension_site_landmark": _take(
                [f"{a} GENERAL AREA, NON-SPECIFIC" for a in self.p.aors], ep.aor[rows]
            ),
            "toa_current_duty_site": _take(
                [f"{(reference.aor_name(a) or a).upper()} FIELD OFFICE" for a in self.p.aors],
                ep.aor[rows],
            ),
            "case_criminality": _take(list(_CRIM_LABELS.values()), ep.crim[rows]),
            "unique_identifier": _ids(ep.person[rows], self.salt),
        }
        return _table(ARREST_COLUMNS, values, n)

    def _stint_table(self, st: _Stays, s: dict[str, np.ndarray]) -> pa.Table:
        pl = self.places
        stay = s["stay"]
        n = stay.size
        closed = ~st.open[stay]
        removed = st.removed[stay]
        reasons = [x for x, _w in self.rates.release_reasons]
        stay_reason = np.where(removed, len(reasons), st.reason[stay])
        reason_labels = [*reasons, "Removed"]
        stint_reason = np.where(s["open"], -1, np.where(s["last"], stay_reason, len(reasons) + 1))
        values = {
            "stay_book_in_date_time": _ts_text(st.book_in[stay]),
            "book_in_date_time": _ts_text(s["start"]),
            "detention_facility": _take(pl.fac_names, s["facility"]),
            "book_out_date_time": _ts_text(s["end"], mask=s["open"]),
            "stay_book_out_date_time": _ts_text(st.book_out[stay], mask=~closed),
            "detention_release_reason": _take([*reason_labels, "Transferred"], stint_reason),
            "stay_book_out_date": _date_text(st.book_out[stay] // DAY_S, mask=~closed),
            "stay_release_reason": _take(reason_labels, np.where(closed, stay_reason, -1)),
            "gender": _take(self.gender_labels, st.gender[stay]),
            "birth_year": pa.array(st.birth_year[stay].astype(str)),
            "citizenship_country": _take(self.countries, st.cit[stay]),
            "case_status": _take(
                ["ACTIVE", "6-Deported/Removed - Deportability"], removed.astype(np.int64)
            ),
            "final_order_yes_no": _take(["NO", "YES"], removed.astype(np.int64)),
            "departed_date": _date_text(st.book_out[stay] // DAY_S, mask=~removed),
            "departure_country": _take(self.countries, np.where(removed, st.cit[stay], -1)),
            "detention_facility_code": _take(pl.fac_codes, s["facility"]),
            "book_in_criminality": _take(list(_CRIM_LABELS.values()), st.crim[stay]),
            "book_in_aor": _take(
                pl.aor_labels,
                np.where(pl.fac_aors[s["facility"]] >= 0, pl.fac_aors[s["facility"]], st.aor[stay]),
            ),
            "unique_identifier": _ids(st.person[stay], self.salt),
        }
        return _table(STINT_COLUMNS, values, n)

    def _removal_table(self, ep: _Episodes, f: dict[str, np.ndarray], st: _Stays) -> pa.Table:
        """Removals after the episodes' stays or without a stay, removals after stays
        without an arrest, and a few removals of people seen nowhere else."""
        rng, pl, r = self.rng, self.places, self.rates
        e = np.flatnonzero(f["removed"])
        free = np.flatnonzero((st.episode < 0) & st.removed)
        with_stay = int(f["has_stay"][e].sum()) + free.size
        n_none = int(round(with_stay * r.removals_without_stay / (1 - r.removals_without_stay)))
        n_none = max(0, n_none - int(f["removed_no_stay"][e].sum()))
        start = (self.p.start - EPOCH).days
        none_day = rng.integers(0, self.p.days, n_none) + start
        none_aor = rng.integers(0, len(self.p.aors), n_none)
        none_who = self._people(none_day, none_aor, np.full(n_none, CLASSES.index("other")))
        none_person = np.arange(self.next_person, self.next_person + n_none)
        self.next_person += n_none
        person = np.concatenate([ep.person[e], st.person[free], none_person])
        day = np.concatenate([f["departed_day"][e], st.book_out[free] // DAY_S, none_day])
        aor = np.concatenate([ep.aor[e], st.aor[free], none_aor])
        cit = np.concatenate([ep.cit[e], st.cit[free], none_who["cit"]])
        gender = np.concatenate([ep.gender[e], st.gender[free], none_who["gender"]])
        crim = np.concatenate([ep.crim[e], st.crim[free], none_who["crim"]])
        birth = np.concatenate([ep.birth_year[e], st.birth_year[free], none_who["birth_year"]])
        county = np.concatenate([ep.county[e], np.full(free.size, -1), none_who["county"]])
        appr = np.concatenate([ep.day[e], np.full(free.size + n_none, -1)])
        n = person.size
        t = self.tally
        t.removals += n
        t.removals_with_stay += with_stay
        self._removal_plan = (person, day)
        values = {
            "departed_date": _date_text(day),
            "port_of_departure": _take(
                ["Brownsville, TX", "Houston, TX", "Alexandria, LA", "San Ysidro, CA"],
                rng.integers(0, 4, n),
            ),
            "departure_country": _take(self.countries, cit),
            "case_aor": _take(pl.aor_labels, aor),
            "state": _take(pl.county_states, county),
            "county": _take(pl.county_names, county),
            "case_status": pa.array(np.full(n, "6-Deported/Removed - Deportability")),
            "gender": _take(self.gender_labels, gender),
            "birth_year": pa.array(birth.astype(str)),
            "citizenship_country": _take(self.countries, cit),
            "case_criminality": _take(list(_CRIM_LABELS.values()), crim),
            "processing_disposition": pa.array(np.full(n, "Warrant of Arrest/Notice to Appear")),
            "case_category": pa.array(np.full(n, "[11] Deportable - Under Adjudication by IJ")),
            "final_program": pa.array(np.full(n, "ERO Criminal Alien Program")),
            "arresting_agency": _take(["ERO", "Border Patrol"], (appr < 0).astype(np.int64)),
            "latest_apprehension_date": _date_text(appr, mask=appr < 0),
            "final_order_yes_no": pa.array(np.full(n, "YES")),
            "final_charge_section": pa.array(np.full(n, "212a6Ai")),
            "prior_deport_yes_no": _take(["NO", "YES"], (rng.random(n) < 0.2).astype(np.int64)),
            "unique_identifier": _ids(person, self.salt),
        }
        return _table(REMOVAL_COLUMNS, values, n)

    def _detainer_table(
        self, ep: _Episodes, f: dict[str, np.ndarray], k0: int, k1: int
    ) -> pa.Table:
        rng, pl, r = self.rng, self.places, self.rates
        e = np.flatnonzero(f["has_det"])
        n_free = int(rng.poisson(e.size * r.unlinked_detainers_per_linked)) if e.size else 0
        start = (self.p.start - EPOCH).days
        free_day = rng.integers(k0, k1, n_free) + start
        free_aor = rng.integers(0, len(self.p.aors), n_free)
        free_who = self._people(free_day, free_aor, np.full(n_free, CLASSES.index("custodial")))
        free_person = np.arange(self.next_person, self.next_person + n_free)
        self.next_person += n_free
        person = np.concatenate([ep.person[e], free_person])
        day = np.concatenate([f["det_day"][e], free_day])
        aor = np.concatenate([ep.aor[e], free_aor])
        county = np.concatenate([ep.county[e], free_who["county"]])
        # a jail of the county when the AOR has counties, else a facility of the AOR
        cit = np.concatenate([ep.cit[e], free_who["cit"]])
        crim = np.concatenate([ep.crim[e], free_who["crim"]])
        gender = np.concatenate([ep.gender[e], free_who["gender"]])
        birth = np.concatenate([ep.birth_year[e], free_who["birth_year"]])
        removed = np.concatenate([f["removed"][e], np.zeros(n_free, dtype=bool)])
        dep = np.concatenate([f["departed_day"][e], np.zeros(n_free, dtype=np.int64)])
        lift = np.concatenate(
            [np.where(f["has_stay"][e], 0, 1), np.where(rng.random(n_free) < 0.5, 2, -1)]
        )
        n = person.size
        self.tally.detainers += n
        self.tally.detainers_with_arrest += e.size
        custodial = CLASSES.index("custodial")
        values = {
            "detainer_prepare_date": _date_text(day),
            "facility_state": _take(pl.county_states, county),
            "facility_aor": _take(pl.aor_labels, aor),
            "departure_country": _take(self.countries, np.where(removed, cit, -1)),
            "departed_date": _date_text(dep, mask=~removed),
            "case_status": pa.array(np.full(n, "ACTIVE")),
            "detainer_criminality": _take(list(_CRIM_LABELS.values()), crim),
            "detainer_facility": _take(pl.jails, county),
            "facility_city": _take(pl.cities, county),
            "gender": _take(self.gender_labels, gender),
            "citizenship_country": _take(self.countries, cit),
            "birth_country": _take(self.countries, cit),
            "birth_date": pa.array(np.full(n, "(b)(6), (b)(7)(C)")),
            "birth_year": pa.array(birth.astype(str)),
            "apprehension_method": _take(
                self.methods[custodial], _pick(rng, self.method_p[custodial], n)
            ),
            "detainer_lift_reason": _take(
                ["Booked into Detention", "Case Closed", "Detainer Declined by LEA"], lift
            ),
            "detainer_type": pa.array(
                np.full(n, "I247A - Immigration Detainer - Notice of Action")
            ),
            "unique_identifier": _ids(person, self.salt),
        }
        return _table(DETAINER_COLUMNS, values, n)

    # -- the plan (independent of any linking code)

    def _plan_episodes(
        self, ep: _Episodes, f: dict[str, np.ndarray], episode: np.ndarray
    ) -> pa.Table:
        has = f["has_stay"]
        reasons = [x for x, _w in self.rates.release_reasons]
        days = (np.minimum(f["book_out"], self.extract_s) - f["book_in"]) / DAY_S
        return pa.table(
            {
                "episode_id": pa.array(episode),
                "person_id": _ids(ep.person, self.salt),
                "arrest_date": pa.array(ep.day.astype(np.int32), type=pa.date32()),
                "arrest_rows": pa.array(1 + self._dup.astype(np.int64)),
                "aor": _take(self.p.aors, ep.aor),
                "method_class": _take(list(CLASSES), ep.cls),
                "criminality": _take(list(_CRIM_LABELS.values()), ep.crim),
                "planted_op": _take(self.ops, ep.op),
                "rearrest": pa.array(ep.rearrest),
                "outcome": _take(list(OUTCOMES), f["outcome"]),
                "release_reason": _take(reasons, f["reason"]),
                "has_stay": pa.array(has),
                "stay_book_in": pa.array(
                    np.where(has, f["book_in"], 0), type=pa.timestamp("s"), mask=~has
                ),
                "stay_book_out": pa.array(
                    np.where(has, f["book_out"], 0), type=pa.timestamp("s"), mask=~has | f["open"]
                ),
                "days_detained": pa.array(np.where(has, days, np.nan), mask=~has),
                "stay_open": pa.array(f["open"]),
                "n_stints": pa.array(f["n_stints"]),
                "removal_date": pa.array(
                    f["departed_day"].astype(np.int32), type=pa.date32(), mask=~f["removed"]
                ),
                "detainer_date": pa.array(
                    f["det_day"].astype(np.int32), type=pa.date32(), mask=~f["has_det"]
                ),
            }
        )

    def _plan_stays(self, st: _Stays, s: dict[str, np.ndarray]) -> pa.Table:
        """One row per stay as planted: first book-in, last book-out (null when open at
        the extract), stints actually written, facilities in order, release reason."""
        stay = s["stay"]
        seen = np.bincount(stay, minlength=len(st.person))
        fac = pc.take(self.places.fac_names, pa.array(s["facility"]))
        # facilities in order, joined: stints are already grouped by stay, in time order
        offsets = np.concatenate([[0], np.cumsum(seen)]).astype(np.int32)
        facilities = pa.ListArray.from_arrays(pa.array(offsets), fac)
        reasons = [x for x, _w in self.rates.release_reasons]
        reason = np.where(st.removed, len(reasons), st.reason)
        return pa.table(
            {
                "person_id": _ids(st.person, self.salt),
                "episode_id": pa.array(st.episode, mask=st.episode < 0),
                "stay_book_in": pa.array(st.book_in, type=pa.timestamp("s")),
                "stay_book_out": pa.array(st.book_out, type=pa.timestamp("s"), mask=st.open),
                "stay_open": pa.array(st.open),
                "release_reason": _take([*reasons, "Removed"], np.where(st.open, -1, reason)),
                "stints": pa.array(seen),
                "facilities": facilities,
            }
        )

    # -- write

    def write(
        self, out_dir: str | Path, *, fmt: str = "parquet", chunk_rows: int = 100_000
    ) -> LinkedManifest:
        if fmt not in ("parquet", "csv"):
            raise ValueError(f"format must be parquet or csv, not {fmt!r}")
        out = Path(out_dir)
        # the release's tables in a folder of their own (icetally links one folder as
        # one release); the plan beside it, so ingesting the folder never reads it
        tables_dir, plan_dir = out / "release", out / "plan"
        tables_dir.mkdir(parents=True, exist_ok=True)
        plan_dir.mkdir(parents=True, exist_ok=True)
        ext = "parquet" if fmt == "parquet" else "csv"
        label = f"SYNTHETIC-linked-{self.p.start:%Y%m%d}-{self.extract:%Y%m%d}-seed{self.seed}"
        writers = {t: _Writer(tables_dir / f"{label}-{t}.{ext}", fmt) for t in TABLES}
        plans = {
            t: _Writer(plan_dir / f"{label}-{t}.parquet", "parquet")
            for t in ("plan_episodes", "plan_stays")
        }
        schemas: dict[str, pa.Schema] = {}
        try:
            for k0, k1 in self._day_chunks(chunk_rows):
                tables = self._chunk(k0, k1)
                for name, table in tables.items():
                    schemas[name] = table.schema
                    (writers.get(name) or plans[name]).write(table)
        finally:
            for name, w in {**writers, **plans}.items():
                w.close(
                    schemas.get(
                        name, pa.schema([(c, pa.string()) for c in COLUMNS_OF.get(name, ("x",))])
                    )
                )
        t = self.tally
        planted = {
            "arrest_rows": t.arrest_rows,
            "episodes": t.episodes,
            "duplicate_arrest_rows": t.arrest_rows - t.episodes,
            "stays": t.stays,
            "stints": t.stints,
            "removals": t.removals,
            "detainers": t.detainers,
            "outcomes": t.outcomes,
            "match_rates": {
                "arrests_with_stay": t.episodes_with_stay / max(t.episodes, 1),
                "stays_with_arrest": t.stays_with_arrest / max(t.stays, 1),
                "removals_with_stay": t.removals_with_stay / max(t.removals, 1),
                "detainers_with_arrest": t.detainers_with_arrest / max(t.detainers, 1),
            },
        }
        m = LinkedManifest(
            out_dir=tables_dir,
            files={t: str(w.path) for t, w in writers.items()},
            plan_files={t.removeprefix("plan_"): str(w.path) for t, w in plans.items()},
            rows={t: w.rows for t, w in writers.items()},
            planted=planted,
            extract_date=self.extract,
            seed=self.seed,
            fmt=fmt,
        )
        (plan_dir / "manifest.json").write_text(
            json.dumps(m.to_dict(), indent=1, default=str) + "\n"
        )
        return m


def scaled_plan(arrests: int, *, seed: int = 0, start: date = DEFAULT_START) -> DemoPlan:
    """The demo's plan with every daily count (and planted operation) scaled so the
    release holds about ``arrests`` arrests over the same days: for benchmarks, where a
    longer history would leave the calibrated span."""
    base = plan(start=start, seed=seed)
    factor = arrests / max(base.arrest_rows, 1)
    rng = np.random.default_rng([seed, 17])
    planted = [replace(op, arrests=round(op.arrests * factor)) for op in base.planted]
    mu = base.expected * factor
    return replace(
        base,
        expected=mu,
        background=rng.poisson(mu).astype(np.int64),
        detainers=np.zeros_like(base.detainers),
        planted=planted,
    )


def window_plan(p: DemoPlan, start: date) -> DemoPlan:
    """The plan's days from ``start`` on (the same draws, a shorter release): the demo's
    linked release needs only the surge's months, not the whole history."""
    k = max(0, (start - p.start).days)
    return replace(
        p,
        start=p.start + timedelta(k),
        expected=p.expected[:, :, k:],
        background=p.background[:, :, k:],
        detainers=p.detainers[:, k:],
        planted=[op for op in p.planted if op.start >= p.start + timedelta(k)],
    )


def write_linked_release(
    out_dir: str | Path,
    p: DemoPlan | None = None,
    *,
    arrests: int | None = None,
    fmt: str = "parquet",
    seed: int = 0,
    extract_date: date | None = None,
    chunk_rows: int = 100_000,
) -> LinkedManifest:
    """Write a SYNTHETIC linked release (arrests, detention stints, removals, detainers
    sharing ``unique_identifier``) and its plan into ``out_dir``.

    ``p`` defaults to the demo's plan; ``arrests=N`` scales it to about N arrests."""
    if p is None:
        p = scaled_plan(arrests, seed=seed) if arrests else plan(seed=seed)
    return LinkedRelease(p, extract_date=extract_date, seed=seed).write(
        out_dir, fmt=fmt, chunk_rows=chunk_rows
    )


__all__ = [
    "ARREST_COLUMNS",
    "DETAINER_COLUMNS",
    "OUTCOMES",
    "PATHWAY_RATES",
    "REMOVAL_COLUMNS",
    "STINT_COLUMNS",
    "SURGE_EFFECT",
    "SURGE_OPERATION",
    "LinkedManifest",
    "LinkedRelease",
    "PathwayRates",
    "Planted",
    "SurgeEffect",
    "scaled_plan",
    "window_plan",
    "write_linked_release",
]
