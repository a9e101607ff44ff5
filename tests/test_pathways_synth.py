"""icetally.pathways on a SYNTHETIC linked release recovers what the generator planted.

The expected figures come from the generator's plan (icetally.synth.linked writes the
episodes and stays it drew, before and apart from any linking code), summed here in
plain DuckDB SQL; the linking code only sees the release's files through the store.
Done-when of issue #15: planted outcome shares within 2 percentage points, planted
match rates within 1 point, merged stays equal to the planted stays."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from icetally import api
from icetally.synth.calibrated import SEPTEMBER_2019_SURGE, SEPTEMBER_2019_WINDOW
from icetally.synth.linked import OUTCOMES, scaled_plan, write_linked_release

ARRESTS = 20_000


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("pathways-synth")
    m = write_linked_release(out / "synthetic", scaled_plan(ARRESTS, seed=11), seed=11)
    db = out / "linked.duckdb"
    results = api.ingest([m.out_dir], db=db)
    assert {r.dataset for r in results} == {"arrests", "detention_stints", "removals", "detainers"}
    plan = duckdb.connect()
    for t, path in m.plan_files.items():
        plan.execute(f"CREATE VIEW plan_{t} AS SELECT * FROM read_parquet('{path}')")
    # computed once: every test below reads the same result
    overall = api.pathways(db=db).to_dict()
    return {"db": db, "plan": plan, "manifest": m, "overall": overall}


def _planted_shares(plan: duckdb.DuckDBPyConnection, where: str = "true") -> dict[str, float]:
    n, *counts = plan.execute(
        "SELECT count(*), "
        + ", ".join(f"count(*) FILTER (WHERE outcome = '{o}')" for o in OUTCOMES)
        + f" FROM plan_episodes WHERE {where}"
    ).fetchone()
    return {o: c / n for o, c in zip(OUTCOMES, counts, strict=True)}


def test_outcome_shares_recovered_within_two_points(linked: dict) -> None:
    got = linked["overall"]
    planted = _planted_shares(linked["plan"])
    for o in OUTCOMES:
        assert abs(got["outcomes"][o]["share"] - planted[o]) <= 0.02, o
    # released, by reason
    reasons = dict(
        linked["plan"]
        .execute(
            "SELECT release_reason, count(*) / (SELECT count(*) FROM plan_episodes) "
            "FROM plan_episodes WHERE outcome = 'released' GROUP BY 1"
        )
        .fetchall()
    )
    by_reason = {r["reason"]: r["n"] for r in got["outcomes"]["released"]["by_reason"]}
    total = got["episodes"]
    for reason, share in reasons.items():
        assert abs(by_reason.get(reason, 0) / total - share) <= 0.02, reason


def test_surge_window_shares_recovered(linked: dict) -> None:
    """The surge's areas and days: the planted operation's outcomes differ, and the
    linking recovers the group's shares."""
    w0, w1 = SEPTEMBER_2019_WINDOW
    aors = sorted(SEPTEMBER_2019_SURGE)
    got = api.pathways(db=linked["db"], date_from=w0, date_to=w1, aor=aors).to_dict()
    where = (
        f"arrest_date BETWEEN DATE '{w0}' AND DATE '{w1}' AND aor IN "
        f"({', '.join(repr(a) for a in aors)})"
    )
    planted = _planted_shares(linked["plan"], where)
    n = linked["plan"].execute(f"SELECT count(*) FROM plan_episodes WHERE {where}").fetchone()[0]
    assert got["episodes"] == n
    for o in OUTCOMES:
        assert abs(got["outcomes"][o]["share"] - planted[o]) <= 0.02, o
    before = _planted_shares(
        linked["plan"],
        f"arrest_date BETWEEN DATE '{w0}' - 28 AND DATE '{w0}' - 1 AND aor IN "
        f"({', '.join(repr(a) for a in aors)})",
    )
    # the planted difference: more of the surge's arrests still detained at the extract
    assert planted["detained"] > before["detained"] + 0.05


def test_match_rates_recovered_within_one_point(linked: dict) -> None:
    got = linked["overall"]["match_rates"]
    plan = linked["plan"]
    expected = {
        "arrests_with_stay": "SELECT avg(has_stay::INT) FROM plan_episodes",
        "stays_with_arrest": "SELECT avg((episode_id IS NOT NULL)::INT) FROM plan_stays",
    }
    for name, sql in expected.items():
        assert abs(got[name]["rate"] - plan.execute(sql).fetchone()[0]) <= 0.01, name
    planted = linked["manifest"].planted["match_rates"]
    assert abs(got["removals_with_stay"]["rate"] - planted["removals_with_stay"]) <= 0.01


def test_merged_stays_equal_planted_stays(linked: dict) -> None:
    merged = api.stays(db=linked["db"])
    got = sorted(
        (
            s["person_id"],
            s["book_in"],
            s["book_out"],
            s["stints"],
            s["release_reason"],
            s["first_facility"],
            s["last_facility"],
        )
        for s in merged
    )
    planted = sorted(
        (
            pid,
            b_in.date(),
            b_out.date() if b_out else None,
            stints,
            reason,
            facs[0],
            facs[-1],
        )
        for pid, b_in, b_out, stints, reason, facs in linked["plan"]
        .execute(
            "SELECT person_id, stay_book_in, stay_book_out, stints, release_reason, facilities "
            "FROM plan_stays"
        )
        .fetchall()
    )
    assert len(got) == len(planted)
    assert got == planted


def test_days_detained_recovered(linked: dict) -> None:
    got = linked["overall"]["days_detained"]
    median = (
        linked["plan"]
        .execute(
            "SELECT median(date_diff('day', stay_book_in::DATE, "
            "coalesce(stay_book_out::DATE, DATE '2019-12-31'))) FROM plan_episodes "
            "WHERE has_stay"
        )
        .fetchone()[0]
    )
    assert abs(got["median"] - median) <= 1
    assert isinstance(got["p90"], (int, float)) and got["p90"] > got["median"]


def test_a_second_synthetic_release_is_not_linked_to_the_first(
    linked: dict, tmp_path: Path
) -> None:
    """Each synthetic release re-draws its identifiers (like the DDP's re-anonymization):
    the same plan with another seed shares no identifier with the first."""
    m2 = write_linked_release(tmp_path / "other", scaled_plan(2000, seed=12), seed=12)
    con = duckdb.connect()
    first = linked["manifest"].files["arrests"]
    shared = con.execute(
        f"SELECT count(*) FROM (SELECT unique_identifier FROM read_parquet('{first}') "
        f"INTERSECT SELECT unique_identifier FROM read_parquet('{m2.files['arrests']}'))"
    ).fetchone()[0]
    assert shared == 0
    assert date.fromisoformat(m2.to_dict()["extract_date"]) == date(2019, 12, 31)


def test_demo_shows_the_planted_difference(tmp_path: Path) -> None:
    """The demo's pathways step: the surge's arrests against the same AORs' weeks
    before, as icetally.pathways finds them, equal to the plan and showing the planted
    difference (more still detained at the extract, detained longer)."""
    from icetally.synth.demo import demo_pathways

    lines: list[str] = []
    shown = demo_pathways(tmp_path, scaled_plan(60_000, seed=2), seed=2, say=lines.append)
    surge, before = shown["surge"], shown["weeks_before"]
    for g in (surge, before):
        assert g["episodes"] == g["planted"]["episodes"] > 100
        for o in OUTCOMES:
            assert abs(g["shares"][o] - g["planted"]["shares"][o]) <= 0.02, o
    assert surge["shares"]["detained"] > before["shares"]["detained"] + 0.05
    assert surge["median_days_detained"] > before["median_days_detained"]
    text = "\n".join(lines)
    assert "SYNTHETIC" in text and "pathways, surge 21-25 Sep 2019" in text
    assert "4 weeks before" in text
