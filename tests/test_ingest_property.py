"""Property-based ingest (issue #13): random and mutated release files — bytes, CSV
structure, xlsx parts — never crash ingest. For every input: no traceback escapes,
the file is loaded, skipped or failed with a message naming it, rows loaded +
quarantined = rows read, and after a failure the store opens and is unchanged.
Bounded for CI: a few dozen examples, no shrinking deadline."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from icetally import ingest
from tests.conftest import store_fingerprint
from tests.test_hostile_ingest import HEADER, _xlsx, csv_rows

BASE_CSV = ("\n".join([HEADER, *csv_rows(30)]) + "\n").encode()
PIPE = (
    b'"ERO-LESA Statistical Tracking Unit"|||\n"ERO Administrative Arrests for FY2019"|||\n'
    b'"Area of Responsibility"|"Apprehension Date"|"Apprehension Method"|"Citizenship"\n'
    + b"".join(
        f'"Seattle Area of Responsibility"|1/{i}/2019|"Located"|"MEXICO"\n'.encode()
        for i in range(1, 29)
    )
)
TOKENS = [
    b",",
    b"|",
    b'"',
    b"\n",
    b"\r\n",
    b"",
    b"\x00",
    b"\xff",
    b"(b)(6)",
    b"9999-12-31",
    b"x" * 5000,
]

mutation = st.lists(
    st.tuples(st.integers(0, 10_000), st.integers(0, 40), st.sampled_from(TOKENS)),
    min_size=1,
    max_size=8,
)


def mutate(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    out = bytearray(data)
    for at, cut, token in edits:
        i = at % (len(out) + 1)
        out[i : i + cut] = token
    return bytes(out)


def check(path: Path, db: Path) -> None:
    before = store_fingerprint(db)
    [r] = ingest([path], db=db)  # raises only on a defect: the test fails with it
    assert r.status in ("loaded", "skipped", "failed")
    if r.status == "failed":
        assert r.error and (str(path) in r.error or path.name in r.error), r.error
        assert "Traceback" not in r.error
        assert store_fingerprint(db) == before
    else:
        assert r.rows_loaded + r.rows_quarantined == r.rows_read


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("prop")
    db = root / "s.duckdb"
    (root / "seed.csv").write_bytes(BASE_CSV)
    [r] = ingest([root / "seed.csv"], db=db)
    assert r.status == "loaded"
    return db


LIMITS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@LIMITS
@given(edits=mutation, base=st.sampled_from(["csv", "pipe", "pipe.gz"]))
def test_mutated_delimited_files(store: Path, tmp_path_factory, edits, base) -> None:  # noqa: ANN001
    data = {"csv": BASE_CSV, "pipe": PIPE, "pipe.gz": PIPE}[base]
    data = mutate(data, edits)
    if base == "pipe.gz":
        data = gzip.compress(data)
    p = tmp_path_factory.mktemp("m") / f"release.{'csv.gz' if base == 'pipe.gz' else 'csv'}"
    p.write_bytes(data)
    check(p, store)


@LIMITS
@given(data=st.binary(min_size=0, max_size=4096))
def test_random_bytes(store: Path, tmp_path_factory, data: bytes) -> None:  # noqa: ANN001
    p = tmp_path_factory.mktemp("r") / "random.csv"
    p.write_bytes(data)
    check(p, store)


@LIMITS
@given(
    edits=mutation,
    member=st.sampled_from(
        [
            "xl/worksheets/sheet1.xml",
            "xl/workbook.xml",
            "xl/sharedStrings.xml",
            "[Content_Types].xml",
        ]
    ),
)
def test_mutated_xlsx_parts(store: Path, tmp_path_factory, edits, member: str) -> None:  # noqa: ANN001
    root = tmp_path_factory.mktemp("x")
    src = _xlsx(root / "src.xlsx")
    buf = io.BytesIO()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            blob = zin.read(info.filename)
            if info.filename == member:
                blob = mutate(blob, edits)
            zout.writestr(info.filename, blob)
    p = root / "book.xlsx"
    p.write_bytes(buf.getvalue())
    check(p, store)
