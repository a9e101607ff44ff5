"""The claims baseline (same weekday, 8 weeks each side) and the surge model baseline
give the same verdicts on the public operations, with expectations within 15%."""

from __future__ import annotations

from pathlib import Path

import pytest

from icetally.analysis.baseline import model_window_baseline
from icetally.analysis.claims import check
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

EXAMPLES = sorted((ROOT / "examples" / "claims").glob("201[78]-*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_model_and_weekday_baselines_agree(national_db: Path, path: Path) -> None:
    weekday = check(path, db=national_db).to_dict()["claims"]
    model = check(path, db=national_db, baseline=model_window_baseline).to_dict()["claims"]
    assert len(weekday) == len(model) > 0
    for a, b in zip(weekday, model, strict=True):
        assert a["verdict"] == b["verdict"] == "consistent", (a["id"], a, b)
        assert b["expected"] == pytest.approx(a["expected"], rel=0.15), a["id"]
        assert "negative-binomial" in b["baseline"]["method"]
