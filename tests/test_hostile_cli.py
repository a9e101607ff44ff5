"""Hostile input at the command line (issue #13): each test makes the input, runs the
`icetally` command in a fresh interpreter (so a traceback would show on stderr) and
asserts the new behaviour: one clear line, exit status 1 or 2, JSON with --json, and
nothing deleted or changed that icetally did not write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from icetally import api
from icetally.cli import app
from tests.conftest import ROOT, store_fingerprint


def run_cli(*args: str) -> tuple[int, str, str]:
    """The command in this process (Click's runner): exit status, stdout, stderr. An
    exception that escaped the command would be a traceback: it fails the test here."""
    res = CliRunner().invoke(app, list(args))
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise AssertionError(f"the command raised {res.exception!r}") from res.exception
    return res.exit_code, res.stdout, res.stderr


def run_cli_process(*args: str, timeout: float = 300) -> tuple[int, str, str]:
    """The command in a fresh interpreter, as a user runs it."""
    proc = subprocess.run(
        [sys.executable, "-m", "icetally.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "200"},
    )
    return proc.returncode, proc.stdout, proc.stderr


def one_error_line(code: int, stdout: str, stderr: str, *, expect: int = 2) -> str:
    """The command failed with one line on stderr and no traceback."""
    assert code == expect, (code, stdout, stderr)
    assert "Traceback" not in stderr + stdout, stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


def json_error(code: int, stdout: str, stderr: str, *, expect: int = 2) -> str:
    """With --json: exit status, no traceback, and an `error` key on stdout."""
    assert code == expect, (code, stdout, stderr)
    assert "Traceback" not in stderr + stdout, stderr
    body = json.loads(stdout)
    assert isinstance(body["error"], str) and "\n" not in body["error"]
    return body["error"]


# -- row 1: export writes only into an empty or icetally-owned folder ---------------------


def test_row1_export_never_deletes_what_it_did_not_write(tiny_store: Path, tmp_path: Path) -> None:
    # A folder that merely holds a manifest.json (someone's) plus their own files.
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "manifest.json").write_text('{"format": "icetally-parquet"}')
    (theirs / "thesis.tex").write_text("three years of work")
    msg = one_error_line(
        *run_cli_process("export", "--parquet", str(theirs), "--db", str(tiny_store))
    )
    assert str(theirs) in msg and "not an icetally export" in msg
    assert sorted(p.name for p in theirs.iterdir()) == ["manifest.json", "thesis.tex"]
    assert (theirs / "thesis.tex").read_text() == "three years of work"

    # An empty folder is written into; the export marks the files it wrote.
    out = tmp_path / "out"
    out.mkdir()
    code, stdout, stderr = run_cli(
        "export", "--parquet", str(out), "--db", str(tiny_store), "--json"
    )
    assert code == 0, stderr
    assert json.loads(stdout)["row_counts"]["arrests"] == 40
    marker = json.loads((out / ".icetally-export.json").read_text())
    assert "manifest.json" in marker["files"] and "releases.parquet" in marker["files"]

    # Its own earlier export is replaced...
    code, _, stderr = run_cli("export", "--parquet", str(out), "--db", str(tiny_store))
    assert code == 0, stderr
    # ...but not once someone put a file into it, even deep inside a partition.
    extra = next(out.glob("arrests/*/")) / "notes.txt"
    extra.write_text("mine")
    msg = one_error_line(*run_cli("export", "--parquet", str(out), "--db", str(tiny_store)))
    assert "did not write" in msg and "notes.txt" in msg
    assert extra.read_text() == "mine"
    # --json: the same message as JSON, exit 2.
    err = json_error(*run_cli("export", "--parquet", str(out), "--db", str(tiny_store), "--json"))
    assert "notes.txt" in err
    # A file where the folder should be is not touched either.
    f = tmp_path / "a-file"
    f.write_text("x")
    msg = one_error_line(*run_cli("export", "--parquet", str(f), "--db", str(tiny_store)))
    assert "not a directory" in msg and f.read_text() == "x"
    # Nothing was left behind beside the folders (no partial exports).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "out", "theirs"]
    assert store_fingerprint(tiny_store)  # the store still opens


# -- minor: unknown --release, --continent, --county: an error listing the known values --


def test_minor_unknown_release_continent_county_list_known_values(tiny_store: Path) -> None:
    ids = sorted(r["release_id"] for r in api.releases(tiny_store))
    cases = {
        ("--release", "nope"): ["unknown release ['nope']", *ids],
        ("--continent", "Atlantis"): ["unknown continent(s) ['Atlantis']", "Africa", "Oceania"],
        ("--county", "99999"): ["unknown county ['99999']", "holds none"],
        ("--county", "Nowhere County"): ["unknown county ['NOWHERE COUNTY']"],
    }
    for (option, value), words in cases.items():
        msg = one_error_line(*run_cli("count", option, value, "--db", str(tiny_store)))
        for w in words:
            assert w in msg, (option, w, msg)
        err = json_error(*run_cli("count", option, value, "--db", str(tiny_store), "--json"))
        assert words[0] in err
    # a known value still counts (and a differently written continent is the same one)
    code, stdout, _ = run_cli("count", "--release", ids[0], "--db", str(tiny_store), "--json")
    assert code == 0 and json.loads(stdout)["total"] == 20
    code, stdout, _ = run_cli("count", "--continent", "north  AMERICA", "--db", str(tiny_store))
    assert code == 0


# -- one error path: every error one line, exit 1/2, JSON with --json ---------------------


def test_one_error_path_for_every_command(
    tiny_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an IcetallyError from deep inside: exit 2, its words, JSON with --json
    cases = [
        (["count", "--from", "2019-02-30", "--db", str(tiny_store)], "--from must be an ISO date"),
        (["count", "--db", str(tmp_path / "none.duckdb")], "no store at"),
        (["surges", "--aor", "XYZ", "--db", str(tiny_store)], "unknown AOR code(s) ['XYZ']"),
        (["releases", "--db", str(tmp_path / "none.duckdb")], "no store at"),
        (["export", "--parquet", str(tmp_path / "x"), "--db", str(tmp_path / "n.duckdb")],
         "no store at"),
    ]  # fmt: skip
    for argv, words in cases:
        msg = one_error_line(*run_cli(*argv))
        assert words in msg, (argv, msg)
        if argv[0] != "serve":
            assert words in json_error(*run_cli(*argv, "--json"))
    # a defect (an exception icetally did not word): one line saying so, exit 1
    import icetally.api

    def broken(*_a: object, **_k: object) -> None:
        raise KeyError("surprise")

    monkeypatch.setattr(icetally.api, "count", broken)
    msg = one_error_line(*run_cli("count", "--db", str(tiny_store)), expect=1)
    assert "unexpected KeyError" in msg and "please report it" in msg
    assert "surprise" in json_error(*run_cli("count", "--db", str(tiny_store), "--json"), expect=1)


def test_a_status_a_command_chose_is_kept(tiny_store: Path, tmp_path: Path) -> None:
    """`ingest` exits 1 when a file failed, with its own JSON and nothing else."""
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\x00\x01 not a release")
    db = tmp_path / "s.duckdb"
    code, stdout, stderr = run_cli("ingest", str(bad), "--db", str(db), "--json")
    assert code == 1, (stdout, stderr)
    [f] = json.loads(stdout)["files"]
    assert f["status"] == "failed" and str(bad) in f["error"]
    code, _, stderr = run_cli("ingest", str(bad), "--db", str(db))
    assert code == 1 and "unexpected" not in stderr
