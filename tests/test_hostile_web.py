"""A public server meets hostile clients (issue #13): responses never show the server's
paths, interpreter or process ids (row 17); errors are problem details, never a
traceback; unknown filter values are refused with the known ones; CSV downloads cannot
carry spreadsheet formulas; slow clients are cut off. Over a tiny store built here,
through FastAPI's test client or a real server on a free port."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from icetally.store import db as storedb
from icetally.web import create_app
from tests.conftest import ROOT

PROBLEM = "application/problem+json"


def private_words(*paths: Path) -> list[str]:
    """What no response may contain: the folders given, the interpreter, home."""
    words = {str(p) for p in paths} | {str(p.resolve()) for p in paths}
    words |= {sys.executable, os.path.realpath(sys.executable), sys.prefix}
    words.add(os.path.expanduser("~"))
    return sorted(w for w in words if len(w) > 1)


def assert_public(text: str, *paths: Path) -> None:
    for w in private_words(*paths):
        assert w not in text, f"the response shows {w!r}: {text[:500]}"
    assert "PID" not in text and "Traceback" not in text, text[:500]


@pytest.fixture(scope="module")
def client(tiny_store: Path) -> Iterator[TestClient]:
    with TestClient(create_app(tiny_store), raise_server_exceptions=False) as c:
        yield c


# -- row 17: no absolute paths, interpreter or PID in any response ----------------------


def test_row17_releases_health_and_footer_show_file_names_only(
    client: TestClient, tiny_store: Path
) -> None:
    folder = tiny_store.parent  # the store and the ingested csv files live here
    r = client.get("/api/releases")
    assert r.status_code == 200
    rows = r.json()["releases"]
    assert sorted(x["file_name"] for x in rows) == ["a.csv", "b.csv"]
    assert all("path" not in x for x in rows)
    assert_public(r.text, folder)
    h = client.get("/api/health")
    assert h.json()["store"] == "tiny.duckdb"
    assert_public(h.text, folder)
    for page in ("/", "/explore?by=aor", "/claims", "/docs"):
        html = client.get(page)
        assert html.status_code == 200, page
        assert_public(html.text, folder)
    assert "tiny.duckdb" in client.get("/").text  # the footer names the store's file


def _hold_write_lock(db: Path) -> subprocess.Popen[str]:
    """Another process holding the store's write lock (as an ingest does)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, sys, time
                con = duckdb.connect({str(db)!r})
                print("locked", flush=True)
                sys.stdin.read()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_row17_503_shows_no_store_path_interpreter_or_pid(tiny_store: Path, tmp_path: Path) -> None:
    db = tmp_path / "locked.duckdb"
    shutil.copy(tiny_store, db)
    holder = _hold_write_lock(db)
    try:
        with TestClient(create_app(db), raise_server_exceptions=False) as c:
            for url in ("/api/health", "/api/releases", "/api/count?by=aor"):
                r = c.get(url)
                assert r.status_code == 503, r.text
                assert r.headers["content-type"].startswith(PROBLEM)
                assert r.json()["type"] == "/problems/store-unavailable"
                assert "in use by another process" in r.json()["detail"]
                assert_public(r.text, tmp_path, tiny_store.parent)
                assert str(holder.pid) not in r.text
            page = c.get("/")
            assert page.status_code == 503
            assert_public(page.text, tmp_path, tiny_store.parent)
            assert str(holder.pid) not in page.text
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    # a file that is not a store, and no file at all
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"not a database" * 100)
    for path, words in ((junk, "not an icetally store"), (tmp_path / "none.duckdb", "no store")):
        with TestClient(create_app(path), raise_server_exceptions=False) as c:
            r = c.get("/api/count")
            assert r.status_code == 503 and words in r.json()["detail"], r.text
            assert_public(r.text, tmp_path)


def test_row17_problem_text_is_cut_wherever_it_comes_from(tiny_store: Path) -> None:
    """Any problem, whoever raised it with whatever words, loses the server's folders
    and process ids (web/problems.py)."""
    from icetally.web.problems import WebProblem, register_private

    register_private([str(tiny_store.parent)])
    p = WebProblem(
        "invalid-parameter",
        f"{tiny_store}: lock held by {sys.executable} (PID 4242)",
        {"errors": [{"message": f"{tiny_store.parent}/x.csv"}]},
    )
    body = p.body()
    assert body["detail"] == "tiny.duckdb: lock held by python"
    assert body["errors"] == [{"message": "x.csv"}]


# -- minor: CSV downloads neutralize cells a spreadsheet would run as formulas -----------


def test_minor_csv_downloads_neutralize_formulas(tmp_path: Path) -> None:
    import csv
    import io

    from typer.testing import CliRunner

    from icetally import ingest
    from icetally.cli import app

    hostile = ['=HYPERLINK("http://x.invalid","click")', "@SUM(A1:A9)", "+1+1", "-2+3", "MEXICO"]
    lines = ["apprehension_date,apprehension_aor,citizenship,apprehension_method"]
    lines += [f'2019-01-0{i + 1},Los Angeles,"{c.replace(chr(34), 2 * chr(34))}",Located'
              for i, c in enumerate(hostile)]  # fmt: skip
    (tmp_path / "h.csv").write_text("\n".join(lines) + "\n")
    db = tmp_path / "h.duckdb"
    [r] = ingest([tmp_path / "h.csv"], db=db)
    assert r.status == "loaded" and r.rows_loaded == 5, r

    def cells(text: str) -> set[str]:
        # (upper-cased: normalization may change the case of a value, not its start)
        return {row["citizenship"].upper() for row in csv.DictReader(io.StringIO(text))}

    expected = {"'" + c.upper() if c[0] in "=@+-" else c for c in hostile}
    res = CliRunner().invoke(
        app, ["count", "--by", "citizenship", "--format", "csv", "--db", str(db)]
    )
    assert res.exit_code == 0, res.output
    assert cells(res.stdout) == expected
    with TestClient(create_app(db)) as c:
        r = c.get("/api/count?by=citizenship&format=csv")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert cells(r.text) == expected
        # the JSON keeps the values as released: only the spreadsheet format is guarded
        rows = c.get("/api/count?by=citizenship").json()["rows"]
        assert {x["citizenship"].upper() for x in rows} == {h.upper() for h in hostile}


def test_minor_unknown_filter_values_are_400_listing_known(client: TestClient) -> None:
    for query, words in (
        ("release=nope", "unknown release ['nope']"),
        ("continent=Atlantis", "expected Africa, Asia"),
        ("county=99999", "unknown county ['99999']"),
    ):
        r = client.get(f"/api/count?{query}")
        assert r.status_code == 400, r.text
        assert r.json()["type"] == "/problems/invalid-parameter"
        assert words in r.json()["detail"], r.json()


# -- minor: slow clients are timed out ------------------------------------------------------


@pytest.fixture()
def served(tiny_store: Path) -> Iterator[int]:
    """`icetally serve` over the tiny store with a 1-second client time limit; its port."""
    import socket
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "icetally.cli", "serve", "--db", str(tiny_store), "--port",
         str(port), "--no-warm", "--client-timeout", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    raise AssertionError(err) from None
                time.sleep(0.3)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _until_closed(sock: object, drip: bytes = b"", every: float = 0.25) -> tuple[float, bytes]:
    """Send ``drip`` a byte at a time every ``every`` seconds (slowloris) until the
    server closes the connection; (seconds it took, what the server sent)."""
    import time

    t0 = time.monotonic()
    got = b""
    sock.settimeout(every)  # type: ignore[attr-defined]
    i = 0
    while time.monotonic() - t0 < 20:
        try:
            chunk = sock.recv(4096)  # type: ignore[attr-defined]
            if not chunk:
                break
            got += chunk
        except TimeoutError:
            pass
        except ConnectionResetError:
            break
        try:
            if i < len(drip):
                sock.sendall(drip[i : i + 1])  # type: ignore[attr-defined]
                i += 1
        except (BrokenPipeError, ConnectionResetError):
            break
    return time.monotonic() - t0, got


def test_minor_slow_clients_are_timed_out(served: int) -> None:
    import socket

    import httpx

    port = served
    silent = socket.create_connection(("127.0.0.1", port))
    slow_headers = socket.create_connection(("127.0.0.1", port))
    slow_headers.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
    # while two slow clients hold connections, others are answered at once
    assert httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5).status_code == 200
    took, got = _until_closed(silent)
    assert took < 8 and got.startswith(b"HTTP/1.1 408"), (took, got)
    took, got = _until_closed(slow_headers, drip=b"X-Slow: " + b"a" * 200)
    assert took < 8 and b"408" in got.split(b"\r\n")[0], (took, got)
    # a body that stalls: a 408 problem, the connection closed
    body = socket.create_connection(("127.0.0.1", port))
    body.sendall(
        b"POST /api/check HTTP/1.1\r\nHost: x\r\nContent-Type: text/yaml\r\n"
        b"Content-Length: 500\r\n\r\nclaims:\n"
    )
    took, got = _until_closed(body)
    head, _, payload = got.partition(b"\r\n\r\n")
    assert took < 8 and head.startswith(b"HTTP/1.1 408"), (took, got)
    assert b'"type":"/problems/request-timeout"' in payload
    # after a response, an idle keep-alive connection is closed too
    keep = socket.create_connection(("127.0.0.1", port))
    keep.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
    took, got = _until_closed(keep)
    assert got.startswith(b"HTTP/1.1 200") and took < 8, (took, got[:100])
    for s in (silent, slow_headers, body, keep):
        s.close()


# -- row 15: 500 overlapping small releases: short warnings, small answers ------------------


@pytest.fixture(scope="module")
def store_500(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """500 small releases of the same days: one ingested, 499 written as copies of it
    under their own release ids (ingesting 500 files takes minutes; what is under test
    is how count answers over them)."""
    import duckdb

    from icetally import ingest

    d = tmp_path_factory.mktemp("five-hundred")
    rows = [f"2019-01-{1 + k:02d},Los Angeles,MEXICO,Located" for k in range(5)]
    header = "apprehension_date,apprehension_aor,citizenship,apprehension_method"
    (d / "r000.csv").write_text("\n".join([header, *rows]) + "\n")
    db = d / "s.duckdb"
    [r] = ingest([d / "r000.csv"], db=db)
    assert r.status == "loaded", r
    con = duckdb.connect(str(db))
    try:
        con.execute(
            "CREATE TEMP TABLE ids AS SELECT printf('copy%03d', i) AS rid FROM range(1, 500) t(i)"
        )
        # a dataset's rows are written to its table, not to the view readers read
        for table in (storedb.rows_table(con, "arrests"), "releases", "coverage_spans"):
            cols = [c[0] for c in con.execute(f"DESCRIBE {table}").fetchall()]
            pick = ", ".join("ids.rid" if c == "release_id" else f"t.{c}" for c in cols)
            con.execute(f"INSERT INTO {table} SELECT {pick} FROM {table} t, ids")  # noqa: S608
        con.execute("UPDATE releases SET sha256 = release_id || sha256")
        assert con.execute("SELECT count(*) FROM releases").fetchone() == (500,)
    finally:
        con.close()
    return db


def test_row15_500_overlapping_releases_count_stays_small(store_500: Path) -> None:
    from typer.testing import CliRunner

    from icetally.cli import app
    from icetally.query.count import OVERLAP_LISTED

    pairs = 500 * 499 // 2
    res = CliRunner().invoke(app, ["count", "--db", str(store_500), "--by", "aor", "--json"])
    assert res.exit_code == 0, res.output
    body = res.stdout
    out = json.loads(body)
    assert out["total"] == 2_500 and len(out["query"]["releases"]) == 500
    assert len(out["warnings"]) == OVERLAP_LISTED + 1
    assert f"{pairs - OVERLAP_LISTED:,} more overlapping pairs" in out["warnings"][-1]
    assert len(body) < 30_000, "one count's answer is kilobytes, not megabytes"
    # the table form prints the same short warnings on stderr
    res = CliRunner().invoke(app, ["count", "--db", str(store_500)])
    assert res.exit_code == 0 and res.stderr.count("warning:") == OVERLAP_LISTED + 1
    with TestClient(create_app(store_500)) as c:
        r = c.get("/api/count?by=aor")
        assert r.status_code == 200 and len(r.content) < 30_000
        assert r.json()["warnings"] == out["warnings"]
        assert c.get("/api/releases").status_code == 200


def test_unexpected_error_is_a_500_problem_naming_only_its_type(
    tiny_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import icetally.api

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError(f"{tiny_store} exploded in {sys.executable}")

    monkeypatch.setattr(icetally.api, "count", broken)
    with TestClient(create_app(tiny_store), raise_server_exceptions=False) as c:
        r = c.get("/api/count?by=aor&from=2019-01-01")
        assert r.status_code == 500 and r.headers["content-type"].startswith(PROBLEM)
        assert r.json()["type"] == "/problems/internal-error"
        assert r.json()["detail"] == "RuntimeError while serving the request"
        assert "exploded" not in r.text
        assert_public(r.text, tiny_store.parent)
        page = c.get("/explore?by=aor&from=2019-01-02")
        assert page.status_code == 500 and "exploded" not in page.text
        assert_public(page.text, tiny_store.parent)
