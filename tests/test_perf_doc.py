"""`make bench` warns when a ratio is more than 20% worse than the figure recorded in
docs/performance.md (benchmarks/perf_doc.py)."""

from __future__ import annotations

from pathlib import Path

from benchmarks import perf_doc

DOC = """# Performance
<!-- recorded-ratios -->
| key | recorded | target | measured |
|---|---|---|---|
| `ingest_csv.ratio` | 2.00 | 2 | a note |
| `startup.ratio.count` | 2.5 | 3 | |
<!-- /recorded-ratios -->
| `not.recorded` | 1.0 | | outside the block |
"""


def test_recorded_figures_are_read_from_the_block(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text(DOC)
    assert perf_doc.recorded(doc) == {"ingest_csv.ratio": 2.0, "startup.ratio.count": 2.5}


def test_only_a_ratio_more_than_20_percent_worse_is_warned(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text(DOC)
    summary = {"ingest_csv": {"ratio": 2.39}, "startup": {"ratio": {"count": 3.01}}}
    lines = perf_doc.regressions(summary, doc)
    assert len(lines) == 1 and lines[0].startswith("startup.ratio.count: 3.01")
    assert perf_doc.regressions({"ingest_csv": {"ratio": 2.41}}, doc)[0].startswith(
        "ingest_csv.ratio"
    )
    assert perf_doc.regressions({"ingest_csv": {"error": "x"}}, doc) == []


def test_the_performance_page_records_every_target() -> None:
    keys = perf_doc.recorded()
    for key in ("ingest_csv.ratio", "ingest_xlsx.ratio", "ingest_xlsx.peak_memory_ratio",
                "startup.ratio.help", "startup.ratio.count"):  # fmt: skip
        assert keys.get(key, 0) > 0, key
