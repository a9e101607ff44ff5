"""Pathways (issue #15): linking inside one release.

- The real WA joined file (UWCHR, 44 people): per-person outcomes, stay lengths and
  departures equal an independent computation written here with the csv module from
  the raw file, following the rules of docs/methods.md ("Pathways").
- A small joined file written here, with every rule's case planted by hand.
- Asking to link across releases is refused with the reason.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import icetally
from icetally.cli import app
from tests.conftest import SHARED

WA = SHARED / "ddp-format-samples" / "detainers-joined-wa.csv"
NA = {"", "NA"}


def _day(text: str) -> date | None:
    text = text.strip()
    return None if text in NA else date.fromisoformat(text[:10])


# ------------------------------------------------------------------ the independent computation


def independent(path: Path) -> dict[str, Any]:
    """Stays, episodes and outcomes from a joined csv, by the documented rules, with
    nothing but the csv module: returns {"stays": {person: [...]}, "episodes": {person:
    [...]}, "extract": date}."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))

    def distinct(suffix: str) -> dict[str, list[dict[str, str]]]:
        cols = [c for c in rows[0] if c.endswith(suffix)]
        seen: dict[str, dict[tuple[str, ...], dict[str, str]]] = defaultdict(dict)
        for r in rows:
            values = tuple(r[c] for c in cols)
            if all(v.strip() in NA for v in values):
                continue
            seen[r["unique_identifier"]][values] = {c[: -len(suffix)]: r[c] for c in cols}
        return {p: list(v.values()) for p, v in seen.items()}

    arrests = distinct(".arrest")
    stints = distinct(".detention")
    detainers = distinct(".detainer")
    encounters = distinct(".encounter")

    # the extract date: the latest date any of the tables' records mention
    extract = max(
        d
        for table, cols in (
            (arrests, ("apprehension_date", "departed_date")),
            (stints, ("book_in_date_time", "detention_book_out_date_time", "departed_date")),
            (detainers, ("detainer_prepare_date", "departed_date")),
            (encounters, ("event_date", "departed_date")),
        )
        for recs in table.values()
        for r in recs
        for c in cols
        if c in r and (d := _day(r[c])) is not None
    )

    # stays: stints in book-in order; one books in after the stay's last book-out + 1 day
    stays: dict[str, list[dict[str, Any]]] = {}
    for person, recs in stints.items():
        far = date.max
        # ties in file order (the first row a record appears on)
        ordered = sorted(
            (
                _day(r["book_in_date_time"]),
                _day(r["detention_book_out_date_time"]) or far,
                i,
                r,
            )
            for i, r in enumerate(recs)
            if _day(r["book_in_date_time"])
        )
        out: list[dict[str, Any]] = []
        for book_in, book_out, _, r in ordered:
            if out and book_in <= out[-1]["_reach"] + timedelta(days=1):
                cur = out[-1]
                cur["stints"] += 1
                if (book_out, book_in) >= cur["_last"]:
                    cur["_last"] = (book_out, book_in)
                    cur["reason"] = r["detention_release_reason"]
                cur["_reach"] = max(cur["_reach"], book_out)
            else:
                out.append(
                    {
                        "book_in": book_in,
                        "_reach": book_out,
                        "_last": (book_out, book_in),
                        "reason": r["detention_release_reason"],
                        "stints": 1,
                    }
                )
        for s in out:
            s["open"] = s["_reach"] == far
            s["book_out"] = None if s["open"] else s["_reach"]
            s["days"] = ((s["book_out"] or extract) - s["book_in"]).days
            s["reason"] = None if s["open"] or s["reason"] in NA else s["reason"]
        stays[person] = out

    # departures: any table's departed date (distinct days per person)
    departures: dict[str, set[date]] = defaultdict(set)
    for table in (arrests, stints, detainers, encounters):
        for person, recs in table.items():
            for r in recs:
                d = _day(r.get("departed_date", ""))
                if d:
                    departures[person].add(d)

    episodes: dict[str, list[dict[str, Any]]] = {}
    for person, recs in arrests.items():
        days = sorted(_day(r["apprehension_date"]) for r in recs if _day(r["apprehension_date"]))
        eps: list[dict[str, Any]] = []
        for d in days:
            if eps and (d - eps[-1]["_last_record"]).days <= 1:
                eps[-1]["records"] += 1
                eps[-1]["_last_record"] = d
            else:
                eps.append({"arrest": d, "records": 1, "_last_record": d})
        episodes[person] = eps

    # a stay goes to its nearest arrest on or up to 7 days before its book-in; an arrest
    # keeps the first stay it gets
    for person, eps in episodes.items():
        for e in eps:
            e["stay"] = None
        for i, s in enumerate(stays.get(person, [])):
            before = [e for e in eps if 0 <= (s["book_in"] - e["arrest"]).days <= 7]
            if before:
                e = max(before, key=lambda e: e["arrest"])
                if e["stay"] is None or s["book_in"] < e["stay"]["book_in"]:
                    e["stay"] = {**s, "n": i + 1}
        for i, e in enumerate(eps):
            nxt = eps[i + 1]["arrest"] if i + 1 < len(eps) else None
            after = [
                d
                for d in departures.get(person, ())
                if d >= e["arrest"] and (nxt is None or d < nxt)
            ]
            e["departed"] = min(after) if after else None
            s = e["stay"]
            removed_reason = s is not None and "REMOV" in (s["reason"] or "").upper()
            if e["departed"] or removed_reason:
                e["outcome"] = "removed"
            elif s is None:
                e["outcome"] = "no_detention"
            elif s["open"]:
                e["outcome"] = "detained"
            else:
                e["outcome"] = "released"
    return {"stays": stays, "episodes": episodes, "extract": extract}


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def wa_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not WA.is_file():
        pytest.skip(f"real data not found at {WA}")
    db = tmp_path_factory.mktemp("wa") / "wa.duckdb"
    res = icetally.ingest([WA], db=db)
    assert [r.status for r in res] == ["loaded"]
    return db


# ------------------------------------------------------------------ the WA joined file


def test_wa_stays_equal_independent(wa_db: Path) -> None:
    want = independent(WA)
    got = icetally.stays(db=wa_db)
    by_person: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in got:
        by_person[r["person_id"]].append(r)
    assert set(by_person) == set(want["stays"])
    for person, stays in want["stays"].items():
        mine = [
            (
                r["book_in"],
                r["book_out"],
                r["open"],
                r["days_detained"],
                r["release_reason"],
                r["stints"],
            )
            for r in by_person[person]
        ]
        theirs = [
            (s["book_in"], s["book_out"], s["open"], s["days"], s["reason"], s["stints"])
            for s in stays
        ]
        assert mine == theirs, person
    # a transfer is not a new stay: fewer stays than stints
    assert len(got) < sum(r["stints"] for r in got) == 103
    assert all(r["facilities"] for r in got)


def test_wa_episodes_outcomes_equal_independent(wa_db: Path) -> None:
    want = independent(WA)
    got = icetally.episodes(db=wa_db)
    by_person: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in got:
        by_person[r["person_id"]].append(r)
    assert set(by_person) == set(want["episodes"])
    assert len(by_person) == 44
    for person, eps in want["episodes"].items():
        mine = [
            (
                r["arrest_date"],
                r["arrest_records"],
                r["outcome"],
                r["book_in"],
                r["days_detained"],
                r["departed_date"],
            )
            for r in by_person[person]
        ]
        theirs = [
            (
                e["arrest"],
                e["records"],
                e["outcome"],
                e["stay"]["book_in"] if e["stay"] else None,
                e["stay"]["days"] if e["stay"] else None,
                e["departed"],
            )
            for e in eps
        ]
        assert mine == theirs, person


def test_wa_pathways_figures(wa_db: Path) -> None:
    want = independent(WA)
    eps = [e for v in want["episodes"].values() for e in v]
    d = icetally.pathways(db=wa_db).to_dict()
    assert d["persons"] == 44
    assert d["episodes"] == len(eps)
    for outcome in ("removed", "released", "detained", "no_detention"):
        n = sum(e["outcome"] == outcome for e in eps)
        assert d["outcomes"][outcome]["n"] == n, outcome
        assert d["outcomes"][outcome]["share"] == round(n / len(eps), 4)
    with_stay = sum(e["stay"] is not None for e in eps)
    assert d["match_rates"]["arrests_with_stay"] == {
        "n": with_stay,
        "of": len(eps),
        "rate": round(with_stay / len(eps), 4),
    }
    all_stays = sum(len(v) for v in want["stays"].values())
    assert d["match_rates"]["stays_with_arrest"]["of"] == all_stays
    assert d["linked_release"]["extract_date"] == want["extract"].isoformat()
    stay_days = sorted(e["stay"]["days"] for e in eps if e["stay"])
    n = len(stay_days)
    mid = (stay_days[(n - 1) // 2] + stay_days[n // 2]) / 2
    assert d["days_detained"]["median"] == mid
    # every step's SQL, each reading the steps before it by name
    sql = d["query"]["sql"]
    assert set(sql) >= {"stays", "departures", "episodes", "pathways"}
    assert '"episodes"' in sql["pathways"] and '"stays"' in sql["episode_stays"]


def test_wa_cli_json_and_by(wa_db: Path) -> None:
    res = CliRunner().invoke(app, ["pathways", "--db", str(wa_db), "--json", "--by", "month"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert sum(r["episodes"] for r in d["rows"]) == d["episodes"]
    assert sum(r["outcomes"]["removed"]["n"] for r in d["rows"]) == d["outcomes"]["removed"]["n"]


def test_episodes_carry_the_columns_a_question_reads(wa_db: Path) -> None:
    """The episodes carry only the arrest columns a question reads (a wide join of
    every arrest was most of the last step's time at 10 million): the columns found
    are the ones each filter and dimension names, and the figures equal those over
    episodes carrying every arrest column."""
    from icetally.analysis.linking import ARREST_COLUMNS, linked, resolve_linked_release
    from icetally.analysis.pathways import _pathways, carried, pathway_dimensions
    from icetally.query.filters import Slice
    from icetally.store.handle import Store

    cases: list[tuple[dict[str, Any], tuple[str, ...]]] = [
        ({}, ("criminality",)),
        ({"citizenship": "MEX"}, ("citizenship", "country_iso3", "criminality")),
        ({"by": "state"}, ("state_abbr", "criminality")),  # the dimension is the USPS code
        ({"aor": "SEA", "by": "program"}, ("aor", "criminality", "program")),
        ({"method_class": "at_large", "by": "month"}, ("method_class", "criminality")),
        ({"county": "53033"}, ("county_fips", "criminality")),
    ]
    with Store(wa_db) as s:
        lr = resolve_linked_release(s)
        with linked(s, lr, ARREST_COLUMNS) as every:
            for case, columns in cases:
                filters = dict(case)
                dims = pathway_dimensions(filters.pop("by", None))
                slc = Slice.build("arrests", **filters)
                assert carried(s, lr, slc, dims) == columns, case
                want = _pathways(s, every, slc, dims).to_dict()
                got = icetally.pathways(s, **case).to_dict()
                for d in (want, got):
                    d["query"].pop("sql")
                assert got == want, case
    # a filter on a column left out is a clear error, not a silent empty answer
    with Store(wa_db) as s:
        lr = resolve_linked_release(s)
        with linked(s, lr, ("criminality",)) as narrow, pytest.raises(Exception, match="aor"):
            _pathways(s, narrow, Slice.build("arrests", aor="SEA"), [])


# ------------------------------------------------------------------ planted cases


HEADER = [
    "unique_identifier",
    "apprehension_date.arrest",
    "apprehension_aor.arrest",
    "apprehension_method.arrest",
    "apprehension_criminality.arrest",
    "departed_date.arrest",
    "departure_country.arrest",
    "book_in_date_time.detention",
    "detention_book_out_date_time.detention",
    "detention_release_reason.detention",
    "detention_facility.detention",
    "departed_date.detention",
    "departure_country.detention",
    "detainer_prepare_date.detainer",
]


def _write_joined(path: Path, people: dict[str, dict[str, list[list[str]]]]) -> None:
    """A joined csv: per person the cross product of its arrests, stints, detainers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for person, t in people.items():
            for a in t["arrests"]:
                for s in t.get("stints") or [["NA"] * 6]:
                    for d in t.get("detainers") or [["NA"]]:
                        w.writerow([person, *a, *s, *d])


PLANTED = {
    # two records a day apart (one arrest), three stints with transfers (one stay) ending
    # in a removal
    "A": {
        "arrests": [
            ["2024-01-10", "Seattle", "Located", "1 Convicted Criminal", "2024-02-20", "MEXICO"],
            ["2024-01-11", "Seattle", "Located", "1 Convicted Criminal", "2024-02-20", "MEXICO"],
        ],
        "stints": [
            [
                "2024-01-10",
                "2024-01-10 18:00:00",
                "Transferred",
                "HOLD ROOM",
                "2024-02-20",
                "MEXICO",
            ],
            ["2024-01-10", "2024-02-01 09:00:00", "Transferred", "CENTER", "2024-02-20", "MEXICO"],
            ["2024-02-02", "2024-02-20 10:00:00", "Removed", "TEXAS", "2024-02-20", "MEXICO"],
        ],
        "detainers": [["2023-12-01"]],
    },
    # never detained
    "B": {
        "arrests": [
            [
                "2024-03-01",
                "Seattle",
                "Non-Custodial Arrest",
                "3 Other Immigration Violator",
                "NA",
                "NA",
            ]
        ]
    },
    # still detained at the extract date
    "C": {
        "arrests": [["2024-03-05", "Seattle", "Located", "2 Pending Criminal Charges", "NA", "NA"]],
        "stints": [["2024-03-06", "NA", "NA", "CENTER", "NA", "NA"]],
    },
    # released on bond; re-arrested later, booked in too late to follow that arrest
    "D": {
        "arrests": [
            ["2024-04-01", "Seattle", "Located", "1 Convicted Criminal", "NA", "NA"],
            ["2024-06-01", "Seattle", "Located", "1 Convicted Criminal", "NA", "NA"],
        ],
        "stints": [
            ["2024-04-01", "2024-04-15 12:00:00", "Released on Bond", "CENTER", "NA", "NA"],
            ["2024-06-20", "2024-06-25 12:00:00", "Paroled", "CENTER", "NA", "NA"],
        ],
        "detainers": [["2024-07-01"]],
    },
}


@pytest.fixture(scope="module")
def planted_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("planted")
    _write_joined(root / "one" / "joined.csv", PLANTED)
    db = root / "p.duckdb"
    assert [r.status for r in icetally.ingest([root / "one" / "joined.csv"], db=db)] == ["loaded"]
    return db


def test_planted_rules(planted_db: Path) -> None:
    eps = {(r["person_id"], r["episode"]): r for r in icetally.episodes(db=planted_db)}
    assert set(eps) == {("A", 1), ("B", 1), ("C", 1), ("D", 1), ("D", 2)}
    a = eps[("A", 1)]
    assert (a["arrest_records"], a["collapsed"], a["outcome"]) == (2, True, "removed")
    assert (a["book_in"], a["book_out"], a["days_detained"]) == (
        date(2024, 1, 10),
        date(2024, 2, 20),
        41,
    )
    assert (a["departed_date"], a["departure_country"], a["days_to_removal"]) == (
        date(2024, 2, 20),
        "MEXICO",
        41,
    )
    assert a["detainers_before"] == 1
    assert eps[("B", 1)]["outcome"] == "no_detention"
    c = eps[("C", 1)]
    # the extract date is the latest date in the release: D's detainer, 2024-07-01
    assert (c["outcome"], c["stay_open"], c["days_detained"]) == ("detained", True, 117)
    d1, d2 = eps[("D", 1)], eps[("D", 2)]
    assert (d1["outcome"], d1["release_reason"], d1["days_detained"]) == (
        "released",
        "Released on Bond",
        14,
    )
    assert d2["outcome"] == "no_detention" and d2["detainers_before"] == 0
    stays = icetally.stays(db=planted_db)
    a_stays = [s for s in stays if s["person_id"] == "A"]
    assert len(a_stays) == 1 and a_stays[0]["stints"] == 3
    assert a_stays[0]["facilities"] == ["HOLD ROOM", "CENTER", "TEXAS"]
    d = icetally.pathways(db=planted_db).to_dict()
    assert d["persons"] == 4 and d["episodes"] == 5
    assert {k: v["n"] for k, v in d["outcomes"].items()} == {
        "removed": 1,
        "released": 1,
        "detained": 1,
        "no_detention": 2,
    }
    assert d["outcomes"]["released"]["by_reason"] == [
        {"reason": "Released on Bond", "n": 1, "share": 1.0}
    ]
    rates = d["match_rates"]
    assert rates["arrests_with_stay"] == {"n": 3, "of": 5, "rate": 0.6}
    assert rates["stays_with_arrest"] == {"n": 3, "of": 4, "rate": 0.75}
    assert rates["removals_with_stay"] == {"n": 1, "of": 1, "rate": 1.0}
    assert d["removal_countries"] == [{"country": "MEXICO", "n": 1, "share": 1.0}]
    assert d["days_to_removal"]["median"] == 41
    # the filters apply to the episode's arrest
    conv = icetally.pathways(db=planted_db, criminality="convicted").to_dict()
    assert conv["episodes"] == 3 and conv["persons"] == 2


def test_never_across_releases(planted_db: Path, tmp_path: Path) -> None:
    other = {"Z": PLANTED["B"]}
    _write_joined(tmp_path / "two" / "joined.csv", other)
    import shutil

    db = tmp_path / "two.duckdb"
    shutil.copy(planted_db, db)
    assert [r.status for r in icetally.ingest([tmp_path / "two" / "joined.csv"], db=db)] == [
        "loaded"
    ]
    linked = icetally.linked_releases(db=db)
    assert len(linked) == 2
    ids = [next(iter(lr["releases"]["arrests"])) for lr in linked]
    with pytest.raises(icetally.LinkingError, match="re-anonymizes"):
        icetally.pathways(db=db, release=",".join(ids))
    res = CliRunner().invoke(app, ["pathways", "--db", str(db), "--release", ",".join(ids)])
    assert res.exit_code == 2 and "cannot link across releases" in res.output
    # one at a time is fine
    one = icetally.pathways(db=db, release=ids[0]).to_dict()
    assert one["linked_release"]["id"] == linked[0]["id"]


def test_unknown_campaign_refused_clearly(planted_db: Path) -> None:
    res = CliRunner().invoke(app, ["pathways", "--db", str(planted_db), "--campaign", "SEA-x"])
    assert res.exit_code == 2 and "no campaign 'SEA-x'" in res.output


# ------------------------------------------------------------------ a surge against the weeks before


def test_newcombe_textbook_value() -> None:
    from icetally.analysis.pathways_compare import newcombe

    # Newcombe (1998), Statistics in Medicine 17:873, example (a): 56/70 - 48/80,
    # method 10 (hybrid score): 0.0524 to 0.3339
    d, low, high = newcombe(56, 70, 48, 80)
    assert round(d, 4) == 0.2 and round(low, 4) == 0.0524 and round(high, 4) == 0.3339


def _surge_release(path: Path, *, days: int = 5, extra: int = 40) -> dict[str, int]:
    """A year of Seattle arrests (5 a day) with a surge of ``days`` days (+``extra`` a
    day) from 2019-09-21 whose people are removed more often (80% against 40%) and
    detained longer; returns the planted counts of the surge and the 4 weeks before."""
    import random

    rng = random.Random(7)
    start, surge_from = date(2019, 1, 1), date(2019, 9, 21)
    surge_to = surge_from + timedelta(days=days - 1)
    before_from = surge_from - timedelta(weeks=4)
    planted = {"surge": 0, "surge_removed": 0, "before": 0, "before_removed": 0}
    people: dict[str, dict[str, list[list[str]]]] = {}
    day = start
    while day <= date(2019, 12, 31):
        in_surge = surge_from <= day <= surge_to
        for _ in range(5 + (extra if in_surge else 0)):
            pid = f"p{len(people):05d}"
            removed = rng.random() < (0.8 if in_surge else 0.4)
            stay_days = rng.randint(20, 40) if in_surge else rng.randint(5, 15)
            out = day + timedelta(days=stay_days)
            arrest = [day.isoformat(), "Seattle", "Located", "1 Convicted Criminal"]
            arrest += [out.isoformat(), "MEXICO"] if removed else ["NA", "NA"]
            stint = [
                day.isoformat(),
                f"{out.isoformat()} 10:00:00",
                "Removed" if removed else "Released on Bond",
                "CENTER",
                out.isoformat() if removed else "NA",
                "MEXICO" if removed else "NA",
            ]
            people[pid] = {"arrests": [arrest], "stints": [stint]}
            if in_surge:
                planted["surge"] += 1
                planted["surge_removed"] += removed
            elif before_from <= day < surge_from:
                planted["before"] += 1
                planted["before_removed"] += removed
        day += timedelta(days=1)
    _write_joined(path, people)
    return planted


def test_surge_against_weeks_before(tmp_path: Path) -> None:
    planted = _surge_release(tmp_path / "linked" / "joined.csv")
    db = tmp_path / "s.duckdb"
    assert [r.status for r in icetally.ingest([tmp_path / "linked" / "joined.csv"], db=db)] == [
        "loaded"
    ]
    found = [s for s in icetally.surges(db=db).surges if s.start.month == 9]
    assert found, "the planted surge is detected"
    res = CliRunner().invoke(app, ["pathways", "--db", str(db), "--surge", found[0].id, "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    comp = d["comparison"]
    assert comp["before"]["weeks"] == 4 and comp["surge"]["id"] == found[0].id
    # the detected window may trim the planted one by a day: counts within the surge
    assert 0.8 * planted["surge"] <= d["episodes"] <= planted["surge"] + 10
    assert comp["before"]["episodes"] == planted["before"]
    assert comp["before"]["outcomes"]["removed"]["n"] == planted["before_removed"]
    diff = {r["figure"]: r for r in comp["differences"]}
    removed = diff["share removed"]
    shares = d["outcomes"]["removed"]["share"], comp["before"]["outcomes"]["removed"]["share"]
    assert abs(removed["difference"] - (shares[0] - shares[1])) < 1e-3
    assert abs(removed["difference"] - (0.8 - 0.4)) < 0.15  # planted: 80% against 40%
    assert removed["low"] > 0.2 and removed["low"] < removed["difference"] < removed["high"]
    longer = diff["median days detained"]
    assert longer["difference"] > 10 and longer["low"] > 5


def test_report_section(wa_db: Path) -> None:
    html = icetally.render_report(db=wa_db, date_from="2024-01-01", date_to="2025-02-15")
    at = html.index('id="pathways"')
    part = html[at : html.index("</section>", at)]
    assert "What happened to those arrested" in part
    d = icetally.pathways(db=wa_db, date_from="2024-01-01", date_to="2025-02-15").to_dict()
    assert f"{d['persons']} people, {d['episodes']} arrests" in part
    removed = d["outcomes"]["removed"]
    assert f'<td>removed</td><td class="num">{removed["n"]}</td>' in part
    assert "pathways: episodes" in part  # the queries behind the figures are on the page


def test_joined_reader_quarantines_a_broken_row(tmp_path: Path) -> None:
    path = tmp_path / "j" / "joined.csv"
    _write_joined(path, {"B": PLANTED["B"], "C": PLANTED["C"]})
    with open(path, "a", newline="") as fh:
        fh.write("X,2024-05-01,Seattle\n")  # 3 fields where the header has 14
    db = tmp_path / "q.duckdb"
    res = icetally.ingest([path], db=db)
    assert [r.status for r in res] == ["loaded"]
    sheets = {s.dataset: s for s in res[0].sheets}
    # 3 joined rows: 2 read into their tables, 1 to the quarantine with the reason
    assert sheets["arrests"].rows_loaded == 2 and sheets["detention_stints"].rows_loaded == 1
    assert sum(s.rows_quarantined for s in res[0].sheets) == 1
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    (reason,) = con.execute("SELECT reason FROM quarantine").fetchone()
    assert "3 fields, 14 expected" in reason


def test_no_detention_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a" / "arrests.csv"
    path.parent.mkdir()
    path.write_text(
        "unique_identifier,apprehension_date.arrest,apprehension_aor.arrest,"
        "detainer_prepare_date.detainer\nP1,2024-01-02,Seattle,2024-01-01\n"
    )
    db = tmp_path / "n.duckdb"
    assert [r.status for r in icetally.ingest([path], db=db)] == ["loaded"]
    with pytest.raises(icetally.LinkingError, match="no detention_stints"):
        icetally.pathways(db=db)


def test_campaign_against_weeks_before(tmp_path: Path) -> None:
    planted = _surge_release(tmp_path / "linked" / "joined.csv", days=28, extra=15)
    db = tmp_path / "c.duckdb"
    assert [r.status for r in icetally.ingest([tmp_path / "linked" / "joined.csv"], db=db)] == [
        "loaded"
    ]
    found = [c for c in icetally.campaigns("arrests", db, area="aor").campaigns]
    assert found, "the planted four-week rise is a campaign"
    c = found[0]
    d = icetally.pathways(db=db, campaign=c.id).to_dict()
    comp = d["comparison"]
    assert comp["campaign"]["id"] == c.id and comp["campaign"]["area"] == "SEA"
    assert comp["before"]["to"] == (c.start - timedelta(days=1)).isoformat()
    diff = {r["figure"]: r for r in comp["differences"]}
    # planted: 80% removed in the rise against 40% before (the detected window may
    # differ from the planted one by days, mixing in some ordinary arrests)
    assert diff["share removed"]["low"] > 0.1
    assert diff["median days detained"]["difference"] > 5
    assert planted["surge"] > 0
