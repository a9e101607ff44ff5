"""Hostile claims documents (issue #13, rows 12 and 13): impossible dates, infinite
values, deep nesting, YAML alias bombs and oversized documents, sent to `icetally
check` and to `POST /api/check`. Each gives one clear line naming the document and the
claim (CLI: exit 2, JSON with --json) or a 400/413 problem (web): never a traceback, a
500, or memory and time out of proportion to the input."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from icetally import safeyaml
from icetally.cli import app
from icetally.web import Limits, create_app
from tests.conftest import ROOT, run_limited

PROBLEM = "application/problem+json"

# An alias bomb of the kind (it sent 470 bytes): nine levels of nine aliases,
# 9**9 (387 million) strings once expanded, under `claims:` as a claims file would be.
BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{b}: &{b} [{','.join([f'*{a}'] * 9)}]\n"
        for a, b in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "claims: *i\n"
)
CLAIM = "claims:\n  - id: {id}\n    measure: count\n    from: {frm}\n    to: 2019-01-10\n    value: {value}\n"
# Each hostile document, and words its error must contain.
HOSTILE: dict[str, tuple[str, tuple[str, ...]]] = {
    "impossible_date": (
        CLAIM.format(id="feb30", frm="2018-02-30", value=3),
        ("claim 'feb30'", "from must be an ISO date", "2018-02-30"),
    ),
    "infinite_value": (
        CLAIM.format(id="inf", frm="2019-01-01", value=".inf"),
        ("claim 'inf'", "finite number"),
    ),
    "nan_value": (
        CLAIM.format(id="nan", frm="2019-01-01", value=".nan"),
        ("claim 'nan'", "finite number"),
    ),
    "400_digit_value": (
        CLAIM.format(id="big", frm="2019-01-01", value="9" * 400),
        ("claim 'big'",),
    ),
    "5000_digit_value": (  # past Python's int-to-text limit: kept as text by the loader
        CLAIM.format(id="huge", frm="2019-01-01", value="9" * 5000),
        ("claim 'huge'", "finite number", "5000 chars"),
    ),
    "deep_nesting": ("claims: " + "[" * 5000 + "]" * 5000 + "\n", ("levels deep",)),
    "nested_claim": ("claims:\n  - " + "[" * 20 + "]" * 20 + "\n", ("claim #1", "not a mapping")),
    "alias_bomb": (BOMB, ("more than 200,000 values (aliases expanded)", "line 6")),
    "alias_text_bomb": (  # 3,000 aliases of a 1,000-character text: 3 MB expanded
        "t: &t '" + "x" * 1000 + "'\nclaims: [" + ",".join(["*t"] * 3000) + "]\n",
        ("more than 2,000,000 characters of text (aliases expanded)",),
    ),
    "alias_to_itself": ("claims: &a [*a]\n", ("alias *a refers to itself",)),
    "python_tag": ("claims: !!python/object/apply:os.system [echo hi]\n", ("not valid YAML",)),
    "two_documents": ("claims: []\n---\nclaims: []\n", ("not valid YAML", "line 2")),
}


def test_bomb_is_small() -> None:
    assert len(BOMB) < 500


# ------------------------------------------------------------------------- the loader


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_loader_or_parser_refuses_with_the_line(name: str) -> None:
    from icetally.analysis.claims import ClaimsError, loads_claims

    text, words = HOSTILE[name]
    t0 = time.perf_counter()
    with pytest.raises(ClaimsError) as exc:
        loads_claims(text, "doc.yaml")
    message = str(exc.value)
    assert message.startswith("doc.yaml"), message
    for w in words:
        assert w in message, (w, message)
    assert "\n" not in " ".join(message.split("\n"))  # the CLI makes it one line
    assert time.perf_counter() - t0 < 10, "each of these is refused at once"


def test_loader_bounds_aliases_without_refusing_them() -> None:
    """yaml.dump writes anchors for shared values: such a document still loads."""
    import yaml

    shared = ["LOS", "PHI"]
    doc = {"claims": [{"id": i, "aor": shared} for i in ("a", "b")]}
    text = yaml.dump(doc)
    assert "&" in text and "*" in text
    assert safeyaml.load(text) == doc


def test_loader_limits_and_what_it_keeps() -> None:
    # dates and integers it cannot build are kept as text (the parser names the claim)
    doc = safeyaml.load("a: 2018-02-30\nb: 2019-01-05\nc: 12\n")
    assert doc["a"] == "2018-02-30" and str(doc["b"]) == "2019-01-05" and doc["c"] == 12
    with pytest.raises(safeyaml.YamlError, match="at most 100 characters"):
        safeyaml.load("x" * 101, max_chars=100)
    with pytest.raises(safeyaml.YamlError, match="more than 10 values"):
        safeyaml.load(str(list(range(20))), max_nodes=10)
    with pytest.raises(safeyaml.YamlError, match="nested more than 3 levels"):
        safeyaml.load("[[[[1]]]]", max_depth=3)
    assert safeyaml.load("[[[1]]]", max_depth=3) == [[[1]]]
    # JSON is YAML: the web's application/json bodies use the same loader
    assert safeyaml.load('{"claims": [{"id": "x"}]}') == {"claims": [{"id": "x"}]}


def test_every_yaml_entry_point_uses_the_bounded_loader() -> None:
    """No module reads YAML with PyYAML directly but icetally.safeyaml."""
    offenders = []
    for path in (ROOT / "src" / "icetally").rglob("*.py"):
        if path.name == "safeyaml.py":
            continue
        for call in re.findall(r"(?<![\w.])yaml\.\w*load\w*\(", path.read_text()):
            offenders.append(f"{path.relative_to(ROOT)}: {call}")
    assert not offenders, offenders


# ------------------------------------------------------------------------- the CLI


@pytest.mark.parametrize(
    "name", ["impossible_date", "infinite_value", "deep_nesting", "alias_bomb"]
)
def test_row12_13_cli_check_one_line_exit_2(name: str, tiny_store: Path, tmp_path: Path) -> None:
    text, words = HOSTILE[name]
    f = tmp_path / f"{name}.yaml"
    f.write_text(text)
    res = CliRunner().invoke(app, ["check", str(f), "--db", str(tiny_store)])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {f}"), res.stderr
    for w in words:
        assert w in lines[0]
    res = CliRunner().invoke(app, ["check", str(f), "--db", str(tiny_store), "--json"])
    assert res.exit_code == 2
    body = json.loads(res.stdout)
    assert body["error"].startswith(str(f)) and body["kind"] == "ClaimsError"


def test_row13_cli_alias_bomb_and_oversized_file_under_a_memory_limit(
    tiny_store: Path, tmp_path: Path
) -> None:
    """`icetally check` in a fresh interpreter capped at 1.5 GB of address space: the
    bomb (and one level more, ~14 GB if expanded) and a 10 MB claims file are refused
    in one line each."""
    bigger = BOMB.replace("claims: *i", "j: &j [" + ",".join(["*i"] * 9) + "]\nclaims: *j")
    files = {"bomb.yaml": BOMB, "bigger.yaml": bigger}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    big = tmp_path / "big.yaml"
    with big.open("w") as fh:
        fh.write("claims:\n")
        line = "  - {id: c, measure: count, value: 1, text: '" + "x" * 1000 + "'}\n"
        for _ in range(10_000):
            fh.write(line)
    code = f"""
        import sys
        from icetally.cli import app
        sys.argv = ["icetally", "check", sys.argv[1], "--db", {str(tiny_store)!r}]
        app()
        """
    for f in [tmp_path / n for n in files] + [big]:
        proc = run_limited(code, args=[str(f)])
        assert proc.returncode == 2, (f, proc.stderr[-2000:])
        assert "Traceback" not in proc.stderr and "MemoryError" not in proc.stderr
        [line] = proc.stderr.strip().splitlines()
        assert line.startswith(f"error: {f}"), line
        assert ("aliases" in line) if f != big else ("at most 2,000,000 characters" in line)


# ------------------------------------------------------------------------- the web


@pytest.fixture(scope="module")
def client(tiny_store: Path) -> Iterator[TestClient]:
    with TestClient(create_app(tiny_store), raise_server_exceptions=False) as c:
        yield c


def assert_problem(r, status: int, slug: str) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["type"] == f"/problems/{slug}" and body["status"] == status
    assert "Traceback" not in r.text and 'File "' not in r.text
    return body


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_row12_13_web_check_400_problem(name: str, client: TestClient) -> None:
    text, words = HOSTILE[name]
    t0 = time.perf_counter()
    r = client.post("/api/check", content=text, headers={"content-type": "application/yaml"})
    body = assert_problem(r, 400, "invalid-parameter")
    for w in words:
        assert w in body["detail"], (w, body["detail"])
    assert body["detail"].startswith("the request body")
    assert len(r.content) < 5_000, "a refusal is a short answer"
    assert time.perf_counter() - t0 < 10


def test_row12_13_web_documents_its_problems(client: TestClient) -> None:
    """The OpenAPI schema lists the problems POST /api/check answers, as problem+json."""
    op = client.get("/openapi.json").json()["paths"]["/api/check"]["post"]
    for code in ("400", "413", "415", "422", "503"):
        assert PROBLEM in op["responses"][code]["content"], code


def test_row13_web_oversized_body_413(tiny_store: Path) -> None:
    limits = Limits(max_body_bytes=10_000)
    with TestClient(create_app(tiny_store, limits=limits)) as c:
        r = c.post(
            "/api/check",
            content="claims: []\n" + "#" * 20_000,
            headers={"content-type": "text/yaml"},
        )
        assert_problem(r, 413, "request-too-large")
        # a body sent without a length (chunked) is cut at the limit too
        r = c.post(
            "/api/check",
            content=iter([b"claims:\n", b"#" * 6_000 + b"\n", b"#" * 6_000 + b"\n"]),
            headers={"content-type": "text/yaml"},
        )
        assert_problem(r, 413, "request-too-large")


def test_row13_web_alias_bomb_under_a_memory_limit(tiny_store: Path) -> None:
    """The server in a fresh interpreter capped at 1.5 GB: the bomb and one level more
    are answered 400 at once, and the server still answers afterwards."""
    bigger = BOMB.replace("claims: *i", "j: &j [" + ",".join(["*i"] * 9) + "]\nclaims: *j")
    proc = run_limited(
        f"""
        import json
        from fastapi.testclient import TestClient
        from icetally.web import create_app
        out = []
        with TestClient(create_app({str(tiny_store)!r}), raise_server_exceptions=False) as c:
            for body in ({BOMB!r}, {bigger!r}):
                r = c.post("/api/check", content=body, headers={{"content-type": "text/yaml"}})
                out.append([r.status_code, len(r.content), r.json()["detail"]])
            out.append([c.get("/api/health").status_code, 0, ""])
        print(json.dumps(out))
        """
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [o[0] for o in out] == [400, 400, 200]
    assert all(o[1] < 2_000 and "aliases" in o[2] for o in out[:2])
